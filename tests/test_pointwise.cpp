// ops/pointwise.hpp: exp, log, sigmoid, tanh, relu — values, behaviour at the extremes,
// and backward against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE_TEMPLATE("pointwise functions match PyTorch", T, float, double) {
    // Reference values from PyTorch 1.13 in float64 (torch.exp/sigmoid/tanh/relu/log).
    auto x = make<T>({-2.0, -0.5, 0.0, 0.5, 2.0}, {5});
    check_values(
        ops::exp(x), {5},
        {0.1353352832366127, 0.6065306597126334, 1.0, 1.6487212707001282, 7.38905609893065});
    check_values(
        ops::sigmoid(x), {5},
        {0.11920292202211755, 0.3775406687981454, 0.5, 0.6224593312018546, 0.8807970779778823});
    check_values(
        ops::tanh(x), {5},
        {-0.9640275800758169, -0.46211715726000974, 0.0, 0.46211715726000974, 0.9640275800758169});
    check_values(ops::relu(x), {5}, {0.0, 0.0, 0.0, 0.5, 2.0});
    auto p = make<T>({0.5, 1.0, 2.0, 10.0}, {2, 2});
    check_values(ops::log(p), {2, 2},
                 {-0.6931471805599453, 0.0, 0.6931471805599453, 2.302585092994046});
}

TEST_CASE_TEMPLATE("sigmoid and tanh saturate exactly and stay finite at +-100", T, float, double) {
    auto x = make<T>({-100.0, 100.0}, {2}).requires_grad_();
    auto s = ops::sigmoid(x);
    const auto v = s.to_vector();
    CHECK(v[1] == T(1));  // exactly 1, not 1 - epsilon or NaN
    CHECK(std::isfinite(v[0]));
    CHECK(v[0] >= T(0));
    if constexpr (std::is_same_v<T, double>) {
        // PyTorch float64: torch.sigmoid(torch.tensor(-100.)) = 3.7200759760208356e-44
        CHECK(v[0] == doctest::Approx(3.7200759760208356e-44).epsilon(1e-12).scale(0));
    } else {
        CHECK(v[0] < T(1e-40));
    }
    ops::sum(s).backward();
    const auto g = x.grad().to_vector();
    CHECK(std::isfinite(g[0]));
    CHECK(std::isfinite(g[1]));
    CHECK(g[1] == T(0));  // s(1 - s) with s == 1
    CHECK(g[0] >= T(0));
    CHECK(g[0] < T(1e-40));

    auto t = ops::tanh(make<T>({-100.0, 100.0}, {2})).to_vector();
    CHECK(t[0] == T(-1));
    CHECK(t[1] == T(1));
}

TEST_CASE("log at the edge of its domain follows IEEE like PyTorch") {
    auto v = ops::log(make<double>({0.0, -1.0}, {2})).to_vector();
    CHECK(v[0] == -std::numeric_limits<double>::infinity());
    CHECK(std::isnan(v[1]));
}

TEST_CASE("pointwise backward known values") {
    auto x = make<double>({-1.0, 0.0, 2.0}, {3}).requires_grad_();
    ops::sum(ops::relu(x)).backward();
    // PyTorch's relu gradient at exactly 0 is 0.
    check_values(x.grad(), {3}, {0, 0, 1});
    x.set_grad({});
    ops::sum(ops::exp(x)).backward();
    check_values(x.grad(), {3}, {std::exp(-1.0), 1.0, std::exp(2.0)});
    x.set_grad({});
    ops::sum(ops::tanh(x)).backward();
    const double t2 = std::tanh(2.0), t1 = std::tanh(-1.0);
    check_values(x.grad(), {3}, {1 - t1 * t1, 1.0, 1 - t2 * t2});
    auto p = make<double>({0.5, 4.0}, {2}).requires_grad_();
    ops::sum(ops::log(p)).backward();
    check_values(p.grad(), {2}, {2.0, 0.25});
}

TEST_CASE("gradcheck: pointwise functions") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({3, 4}, 11, -3.0, 3.0);
    auto pos = random_tensor({3, 4}, 12, 0.1, 5.0);
    check_gradients([](const V& a) { return ops::exp(a[0]); }, {x});
    check_gradients([](const V& a) { return ops::log(a[0]); }, {pos});
    check_gradients([](const V& a) { return ops::sigmoid(a[0]); }, {x});
    check_gradients([](const V& a) { return ops::tanh(a[0]); }, {x});
    // relu: inputs kept away from the kink at 0, where the derivative is not defined.
    auto away = make<double>({-2.0, -0.3, 0.4, 1.5, -0.7, 2.2}, {2, 3});
    check_gradients([](const V& a) { return ops::relu(a[0]); }, {away});
    // A composition: sigmoid(exp(x) * tanh(x)).
    check_gradients([](const V& a) { return ops::sigmoid(ops::exp(a[0]) * ops::tanh(a[0])); }, {x});
}

TEST_CASE("pointwise functions keep the shape, including 0-d and empty") {
    check_values(ops::exp(Tensor<float>::scalar(0.f)), {}, {1.0});
    auto e = ops::sigmoid(Tensor<float>::zeros({0, 5}));
    CHECK(e.shape() == Shape{0, 5});
}
