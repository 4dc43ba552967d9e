// Shared helpers for the doctest suites: element-wise closeness with a useful failure
// message (first mismatching index, both values, and how many elements differ), and the
// path of a committed fixture.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <nnlite/tensor/tensor.hpp>

namespace nnlite::testing {

/// Checks |a - e| <= atol + rtol * |e| for every element (NaN matches only NaN) and that
/// the shapes agree; on failure reports the first mismatch.
template <class T>
bool check_close(const std::vector<T>& actual, const std::vector<T>& expected, double rtol = 1e-5,
                 double atol = 1e-6, const std::string& what = "") {
    std::ostringstream msg;
    bool ok = actual.size() == expected.size();
    if (!ok) {
        msg << what << (what.empty() ? "" : ": ") << "size " << actual.size() << " vs expected "
            << expected.size();
    } else {
        std::size_t bad = 0, first = 0;
        for (std::size_t i = 0; i < actual.size(); ++i) {
            const double a = static_cast<double>(actual[i]), e = static_cast<double>(expected[i]);
            const bool same = (std::isnan(a) && std::isnan(e)) || a == e ||
                              std::abs(a - e) <= atol + rtol * std::abs(e);
            if (!same && bad++ == 0) first = i;
        }
        if (bad) {
            ok = false;
            msg.precision(9);
            msg << what << (what.empty() ? "" : ": ") << bad << " of " << actual.size()
                << " elements differ; first at index " << first << ": actual "
                << static_cast<double>(actual[first]) << " vs expected "
                << static_cast<double>(expected[first]) << " (rtol " << rtol << ", atol " << atol
                << ")";
        }
    }
    CHECK_MESSAGE(ok, msg.str());
    return ok;
}

template <class T, class B>
bool check_close(const Tensor<T, B>& actual, const Tensor<T, B>& expected, double rtol = 1e-5,
                 double atol = 1e-6, const std::string& what = "") {
    const bool same_shape = actual.shape() == expected.shape();
    CHECK_MESSAGE(same_shape, what, (what.empty() ? "" : ": "), "shape ", to_string(actual.shape()),
                  " vs expected ", to_string(expected.shape()));
    if (!same_shape) return false;
    return check_close(actual.to_vector(), expected.to_vector(), rtol, atol, what);
}

/// Absolute path of a file in tests/fixtures.
inline std::string fixture_path(const std::string& name) {
    return std::string(NNLITE_FIXTURES_DIR) + "/" + name;
}

}  // namespace nnlite::testing
