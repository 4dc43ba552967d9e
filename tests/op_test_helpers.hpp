// Shared helpers for the op suites: element-wise comparison against known values with a
// tolerance suited to the element type, and a gradcheck wrapper that reports failures.
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <nnlite/nnlite.hpp>
#include <string>
#include <type_traits>
#include <vector>

namespace nnlite_test {

using nnlite::cpu;
using nnlite::Tensor;

/// Relative-plus-absolute tolerance: float keeps ~7 significant digits, double ~16, and
/// the ops chain a few roundings, so leave two digits of slack.
template <class T>
constexpr double tolerance() {
    return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

/// Checks shape and every element of `t` against `expected` (given in double).
template <class T>
void check_values(const Tensor<T>& t, const nnlite::Shape& shape,
                  const std::vector<double>& expected, double tol = tolerance<T>()) {
    REQUIRE(nnlite::to_string(t.shape()) == nnlite::to_string(shape));
    const auto v = t.to_vector();
    REQUIRE(v.size() == expected.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        INFO("element " << i);
        CHECK(static_cast<double>(v[i]) == doctest::Approx(expected[i]).epsilon(tol));
    }
}

/// A tensor of type T from values written in double (test literals).
template <class T>
Tensor<T> make(const std::vector<double>& values, const nnlite::Shape& shape) {
    std::vector<T> v(values.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<T>(values[i]);
    return Tensor<T>::from(v, shape);
}

using DoubleFn = std::function<Tensor<double>(const std::vector<Tensor<double>>&)>;

/// Backward of f against central finite differences in double precision.
inline void check_gradients(const DoubleFn& f, std::vector<Tensor<double>> inputs) {
    const auto r = nnlite::autograd::gradcheck<double, cpu>(f, std::move(inputs));
    INFO("gradcheck report:\n" << r.report);
    CHECK(r.ok);
    CHECK(r.max_abs_error < 1e-6);
}

/// Uniform random double tensor in [lo, hi) from a fixed seed.
inline Tensor<double> random_tensor(const nnlite::Shape& shape, std::uint64_t seed,
                                    double lo = -1.0, double hi = 1.0) {
    nnlite::Generator gen(seed);
    return Tensor<double>::uniform(shape, lo, hi, gen);
}

}  // namespace nnlite_test
