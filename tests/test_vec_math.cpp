// nnlite::vec: the vectorised float sigmoid/tanh of the LSTM gate kernels against the
// double-precision functions, over the whole line (including where exp saturates and the
// tanh branch switches), and exactness of the generic (double) versions.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nnlite/backend/cpu/vec_math.hpp>
#include <vector>

namespace {

std::vector<float> probe_points() {
    std::vector<float> x;
    for (double v = -120.0; v <= 120.0; v += 0.000731) x.push_back(static_cast<float>(v));
    for (float v : {0.f, -0.f, 1e-30f, -1e-30f, 1e-8f, 0.625f, -0.625f, 0.62499f, 87.3f, -87.3f,
                    88.3f, -88.3f, 1e6f, -1e6f, std::numeric_limits<float>::max(),
                    -std::numeric_limits<float>::max()})
        x.push_back(v);
    return x;
}

}  // namespace

TEST_CASE("vec::sigmoid and vec::tanh (float) are within a few ulp of the exact functions") {
    const auto x = probe_points();
    std::vector<float> s(x.size()), t(x.size());
    nnlite::vec::sigmoid(s.data(), x.data(), x.size());
    nnlite::vec::tanh(t.data(), x.data(), x.size());
    double abs_s = 0, rel_s = 0, abs_t = 0, rel_t = 0;
    std::size_t out_of_range = 0;  // non-finite, or outside [0, 1] / [-1, 1]
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double xi = x[i];
        const double es = 1.0 / (1.0 + std::exp(-xi)), et = std::tanh(xi);
        if (!(s[i] >= 0.f && s[i] <= 1.f && std::abs(t[i]) <= 1.f)) ++out_of_range;
        abs_s = std::max(abs_s, std::abs(s[i] - es));
        abs_t = std::max(abs_t, std::abs(t[i] - et));
        if (es > 1e-30) rel_s = std::max(rel_s, std::abs(s[i] - es) / es);
        if (et != 0) rel_t = std::max(rel_t, std::abs(t[i] - et) / std::abs(et));
    }
    CHECK(out_of_range == 0);
    CHECK(abs_s < 2e-7);
    CHECK(rel_s < 5e-7);
    CHECK(abs_t < 2e-7);
    CHECK(rel_t < 5e-7);
    // Exact at the symmetric points the LSTM relies on.
    const float zero = 0.f;
    float out = 1.f;
    nnlite::vec::tanh(&out, &zero, 1);
    CHECK(out == 0.f);
    nnlite::vec::sigmoid(&out, &zero, 1);
    CHECK(out == doctest::Approx(0.5f).epsilon(1e-7));
}

TEST_CASE("vec::sigmoid and vec::tanh work in place and on lengths that are not a vector width") {
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{3}, std::size_t{17}}) {
        std::vector<float> a(n), expect_s(n), expect_t(n);
        for (std::size_t i = 0; i < n; ++i) {
            a[i] = static_cast<float>(i) * 0.7f - 5.f;
            expect_s[i] = static_cast<float>(1.0 / (1.0 + std::exp(-double(a[i]))));
            expect_t[i] = static_cast<float>(std::tanh(double(a[i])));
        }
        auto b = a;
        nnlite::vec::sigmoid(a.data(), a.data(), n);
        nnlite::vec::tanh(b.data(), b.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            CHECK(a[i] == doctest::Approx(expect_s[i]).epsilon(1e-6));
            CHECK(b[i] == doctest::Approx(expect_t[i]).epsilon(1e-6));
        }
    }
}

TEST_CASE("vec functions for double are the exact libm values") {
    const std::vector<double> x{-800.0, -30.0, -1.0, -1e-12, 0.0, 0.3, 2.0, 40.0, 800.0};
    std::vector<double> s(x.size()), t(x.size());
    nnlite::vec::sigmoid(s.data(), x.data(), x.size());
    nnlite::vec::tanh(t.data(), x.data(), x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double e =
            x[i] >= 0 ? 1.0 / (1.0 + std::exp(-x[i])) : std::exp(x[i]) / (1.0 + std::exp(x[i]));
        CHECK(s[i] == e);
        CHECK(t[i] == std::tanh(x[i]));
    }
}

TEST_CASE("vec::sigmoid and vec::tanh pass NaN through and saturate at +-inf") {
    // A diverging run feeds NaN and inf into the gates: they must come out as NaN and as the
    // limits, without undefined behaviour on the way (UBSan checks this in the asan build).
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x{std::numeric_limits<float>::quiet_NaN(), inf, -inf, 1e30f, -1e30f};
    std::vector<float> s(x.size()), t(x.size());
    nnlite::vec::sigmoid(s.data(), x.data(), x.size());
    nnlite::vec::tanh(t.data(), x.data(), x.size());
    CHECK(std::isnan(s[0]));
    CHECK(std::isnan(t[0]));
    CHECK(s[1] == 1.0f);
    CHECK(s[2] == doctest::Approx(0.0f));
    CHECK(s[3] == 1.0f);
    CHECK(s[4] == doctest::Approx(0.0f));
    CHECK(t[1] == 1.0f);
    CHECK(t[2] == -1.0f);
    CHECK(t[3] == 1.0f);
    CHECK(t[4] == -1.0f);
}
