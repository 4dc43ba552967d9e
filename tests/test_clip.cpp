// clip_grad_norm / clip_grad_value: PyTorch golden (2-norm and inf-norm), no scaling below
// the threshold, non-finite norms reported (not applied) or thrown, skipped parameters.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/clip.hpp>
#include <vector>

#include "test_util.hpp"

using namespace nnlite;
using nnlite::testing::check_close;
using nnlite::testing::fixture_path;

namespace {
Tensor<float> param_with_grad(const Tensor<float>& g) {
    auto p = Tensor<float>::zeros(g.shape()).requires_grad_();
    p.set_grad(g.clone());
    return p;
}
}  // namespace

TEST_CASE("clip_grad_norm matches PyTorch: total norm and clipped gradients") {
    const auto f = io::SafetensorsFile::open(fixture_path("layers_optim.safetensors"));
    const double inf = std::numeric_limits<double>::infinity();
    for (const auto& [prefix, norm_type] : {std::pair<std::string, double>{"clip", 2.0},
                                            std::pair<std::string, double>{"clip_inf", inf}}) {
        CAPTURE(prefix);
        std::vector<Tensor<float>> params{param_with_grad(f.get<float>(prefix + ".grad0")),
                                          param_with_grad(f.get<float>(prefix + ".grad1"))};
        const double max_norm = f.get<float>(prefix + ".max_norm").item();
        const double total = nn::clip_grad_norm(params, max_norm, norm_type);
        CHECK(total == doctest::Approx(f.get<float>(prefix + ".total_norm").item()).epsilon(1e-6));
        CHECK(total > max_norm);  // the fixture exercises actual clipping
        check_close(params[0].grad(), f.get<float>(prefix + ".clipped0"), 1e-5, 1e-7,
                    prefix + ".clipped0");
        check_close(params[1].grad(), f.get<float>(prefix + ".clipped1"), 1e-5, 1e-7,
                    prefix + ".clipped1");
    }
}

TEST_CASE("clip_grad_norm: known values, other orders, no-op below max_norm") {
    auto a = param_with_grad(Tensor<float>::from({3, 0}));
    auto b = param_with_grad(Tensor<float>::from({-4}));
    auto frozen = Tensor<float>::zeros({2});  // no grad: skipped
    std::vector<Tensor<float>> ps{a, frozen, b};
    CHECK(nn::clip_grad_norm(ps, 10.0) == doctest::Approx(5.0));
    CHECK(a.grad().to_vector() == std::vector<float>{3, 0});  // unchanged
    CHECK(nn::clip_grad_norm(ps, 100.0, 1.0) == doctest::Approx(7.0));
    CHECK(nn::clip_grad_norm(ps, 100.0, 3.0) == doctest::Approx(std::cbrt(27.0 + 64.0)));
    const double total = nn::clip_grad_norm(ps, 1.0);
    CHECK(total == doctest::Approx(5.0));
    const float coef = static_cast<float>(1.0 / (5.0 + 1e-6));
    CHECK(a.grad().at({0}) == doctest::Approx(3 * coef));
    CHECK(b.grad().at({0}) == doctest::Approx(-4 * coef));
    CHECK(nn::clip_grad_norm(std::vector<Tensor<float>>{frozen}, 1.0) == 0.0);
}

TEST_CASE("clip_grad_norm reports a non-finite norm without scaling, or throws on request") {
    const float inf = std::numeric_limits<float>::infinity();
    auto a = param_with_grad(Tensor<float>::from({1, inf}));
    auto b = param_with_grad(Tensor<float>::from({2, 2}));
    std::vector<Tensor<float>> ps{a, b};
    CHECK(std::isinf(nn::clip_grad_norm(ps, 1.0)));
    CHECK(b.grad().to_vector() == std::vector<float>{2, 2});  // untouched
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm(ps, 1.0, 2.0, true),
                         doctest::Contains("of the gradients is inf"), ValueError);

    auto n = param_with_grad(Tensor<float>::from({std::nanf(""), 1e30f}));
    std::vector<Tensor<float>> pn{n, b};
    CHECK(std::isnan(nn::clip_grad_norm(pn, 1.0)));
    CHECK(std::isnan(nn::clip_grad_norm(pn, 1.0, std::numeric_limits<double>::infinity())));
    CHECK(b.grad().to_vector() == std::vector<float>{2, 2});
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm(pn, 1.0, 2.0, true), doctest::Contains("is nan"),
                         ValueError);
}

TEST_CASE("clip_grad_value clamps each element") {
    auto a = param_with_grad(Tensor<float>::from({-3, -0.5f, 0, 0.7f, 9}));
    nn::clip_grad_value(std::vector<Tensor<float>>{a, Tensor<float>::zeros({1})}, 1.0);
    CHECK(a.grad().to_vector() == std::vector<float>{-1, -0.5f, 0, 0.7f, 1});
}

TEST_CASE("clipping rejects bad arguments") {
    std::vector<Tensor<float>> ps{param_with_grad(Tensor<float>::ones({2}))};
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm(ps, -1.0), doctest::Contains("max_norm must be >= 0"),
                         ValueError);
    CHECK_THROWS_WITH_AS(nn::clip_grad_norm(ps, 1.0, 0.0),
                         doctest::Contains("norm_type must be > 0"), ValueError);
    CHECK_THROWS_AS(nn::clip_grad_value(ps, -0.5), ValueError);
}

TEST_CASE("clip_grad_norm over many blocks: exact sums, the same for any thread count") {
    // Five full blocks of the CPU reduction and a partial one, values of both signs and
    // spread magnitudes; reference sums in long double, element by element.
    const std::size_t n = 5 * (std::size_t{1} << 14) + 37;
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) *
                                  std::exp(static_cast<double>(i % 23) - 11.0));
    const double inf = std::numeric_limits<double>::infinity();
    for (const double q : {2.0, 1.0, 3.0, inf}) {
        CAPTURE(q);
        long double ref = 0;
        for (const float x : v) {
            const long double a = std::fabs(static_cast<long double>(x));
            ref = std::isinf(q) ? std::max(ref, a) : ref + std::pow(a, static_cast<long double>(q));
        }
        if (!std::isinf(q)) ref = std::pow(ref, 1.0L / static_cast<long double>(q));
        double by_threads[2] = {};
        const int before = num_threads();
        for (const int threads : {1, 2}) {
            set_num_threads(threads);
            auto p = param_with_grad(Tensor<float>::from(v, {n}));
            by_threads[threads - 1] = nn::clip_grad_norm(std::vector<Tensor<float>>{p}, inf, q);
        }
        set_num_threads(before);
        CHECK(by_threads[0] == doctest::Approx(static_cast<double>(ref)).epsilon(1e-12));
        CHECK(by_threads[0] == by_threads[1]);
    }
    // A NaN in the last, partial block and an inf in the middle one, at every order.
    for (const std::size_t at : {n - 1, n / 2}) {
        for (const double q : {2.0, 1.0, inf}) {
            CAPTURE(at);
            CAPTURE(q);
            std::vector<float> w = v;
            w[at] = std::nanf("");
            w[at / 3] = std::numeric_limits<float>::infinity();
            auto p = param_with_grad(Tensor<float>::from(w, {n}));
            CHECK(std::isnan(nn::clip_grad_norm(std::vector<Tensor<float>>{p}, 1.0, q)));
            w[at] = 1.f;
            auto r = param_with_grad(Tensor<float>::from(w, {n}));
            CHECK(std::isinf(nn::clip_grad_norm(std::vector<Tensor<float>>{r}, 1.0, q)));
        }
    }
}
