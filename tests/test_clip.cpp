// clip_grad_norm / clip_grad_value: PyTorch golden (2-norm and inf-norm), no scaling below
// the threshold, non-finite norms reported (not applied) or thrown, skipped parameters.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/clip.hpp>

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
