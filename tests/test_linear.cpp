// nn::Linear and ops::linear: PyTorch golden values (forward and all gradients, 2-D and
// 3-D input), default initialisation, gradcheck, bad shapes. Also the classifier head's
// loss, bce_with_logits, against PyTorch (logits up to +-30).
#include <doctest/doctest.h>

#include <cmath>
#include <nnlite/autograd/gradcheck.hpp>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/linear.hpp>
#include <nnlite/ops/arithmetic.hpp>
#include <nnlite/ops/loss.hpp>
#include <nnlite/ops/reduction.hpp>

#include "test_util.hpp"

using namespace nnlite;
using nnlite::testing::check_close;
using nnlite::testing::fixture_path;

namespace {
io::SafetensorsFile golden() {
    return io::SafetensorsFile::open(fixture_path("layers_optim.safetensors"));
}
}  // namespace

TEST_CASE("Linear matches PyTorch: output and gradients of weight, bias and input") {
    const auto f = golden();
    for (const std::string c : {"linear2d", "linear3d"}) {
        SUBCASE(c.c_str()) {
            nn::Linear<float> lin(5, 4);
            lin.load_state_dict(
                {{"weight", f.get<float>(c + ".weight")}, {"bias", f.get<float>(c + ".bias")}});
            auto x = f.get<float>(c + ".input").requires_grad_();
            auto y = lin(x);
            check_close(y, f.get<float>(c + ".output"), 1e-5, 1e-6, c + ".output");
            ops::sum(ops::mul(y, f.get<float>(c + ".w_out"))).backward();
            check_close(lin.weight.grad(), f.get<float>(c + ".grad.weight"), 1e-5, 1e-6,
                        c + ".grad.weight");
            check_close(lin.bias.grad(), f.get<float>(c + ".grad.bias"), 1e-5, 1e-6,
                        c + ".grad.bias");
            check_close(x.grad(), f.get<float>(c + ".grad.input"), 1e-5, 1e-6, c + ".grad.input");
        }
    }
}

TEST_CASE("bce_with_logits matches PyTorch, including logits of +-30") {
    const auto f = golden();
    auto logits = f.get<float>("bce.logits").requires_grad_();
    auto loss = ops::bce_with_logits(logits, f.get<float>("bce.targets"));
    check_close(loss, f.get<float>("bce.loss"), 1e-5, 1e-7, "bce.loss");
    loss.backward();
    check_close(logits.grad(), f.get<float>("bce.grad.logits"), 1e-5, 1e-8, "bce.grad");
}

TEST_CASE("Linear has PyTorch's parameter layout, names and default init") {
    Generator gen(7);
    nn::Linear<double> lin(nn::LinearOptions(16, 3), gen);
    CHECK(lin.weight.shape() == Shape{3, 16});
    CHECK(lin.bias.shape() == Shape{3});
    const auto sd = lin.state_dict();
    CHECK(sd.size() == 2);
    CHECK(sd.count("weight") == 1);
    CHECK(sd.count("bias") == 1);
    CHECK(lin.parameter_count() == 51);
    // U(-1/sqrt(16), 1/sqrt(16)) = U(-0.25, 0.25) for both weight and bias.
    double wmax = 0;
    for (double v : lin.weight.to_vector()) wmax = std::max(wmax, std::abs(v));
    for (double v : lin.bias.to_vector()) CHECK(std::abs(v) < 0.25);
    CHECK(wmax < 0.25);
    CHECK(wmax > 0.2);  // 48 draws: the largest is close to the bound

    // Same seed, same values (bitwise); weight drawn first, then bias.
    Generator a(7), b(7);
    nn::Linear<double> l1(16, 3, a), l2(16, 3, b);
    CHECK(l1.weight.to_vector() == l2.weight.to_vector());
    CHECK(l1.bias.to_vector() == l2.bias.to_vector());
    Generator c(7);
    auto expected_w = Tensor<double>::uniform({3, 16}, -0.25, 0.25, c).to_vector();
    check_close(lin.weight.to_vector(), expected_w, 1e-15, 1e-15, "weight vs U(-.25,.25)");

    nn::Linear<float> nobias(nn::LinearOptions(4, 2).bias(false));
    CHECK_FALSE(nobias.bias.defined());
    CHECK(nobias.state_dict().size() == 1);
    auto y = nobias(Tensor<float>::ones({3, 4}));
    CHECK(y.shape() == Shape{3, 2});
    for (std::size_t r = 0; r < 3; ++r)
        for (std::size_t o = 0; o < 2; ++o) {
            float expect = 0;
            for (std::size_t i = 0; i < 4; ++i) expect += nobias.weight.at({o, i});
            CHECK(y.at({r, o}) == doctest::Approx(expect));
        }
}

TEST_CASE("Linear computes x W^T + b (known values)") {
    nn::Linear<float> lin(2, 3);
    lin.load_state_dict({{"weight", Tensor<float>::from({1, 2, 3, 4, 5, 6}, {3, 2})},
                         {"bias", Tensor<float>::from({0.5f, -1.f, 2.f})}});
    auto y = lin(Tensor<float>::from({1, -1, 2, 0.5f}, {2, 2}));
    CHECK(y.to_vector() == std::vector<float>{-0.5f, -2.f, 1.f, 3.5f, 7.f, 15.f});
    // A 4-D input keeps its leading dims.
    auto y4 = lin(Tensor<float>::ones({2, 1, 3, 2}));
    CHECK(y4.shape() == Shape{2, 1, 3, 3});
    CHECK(y4.at({1, 0, 2, 2}) == doctest::Approx(13.f));
    // An empty batch gives an empty output and no BLAS call.
    CHECK(lin(Tensor<float>::zeros({0, 2})).shape() == Shape{0, 3});
}

TEST_CASE("ops::linear passes gradcheck for weight, bias and input (double)") {
    Generator gen(3);
    auto x = Tensor<double>::normal({2, 3, 4}, 0.0, 1.0, gen);
    auto w = Tensor<double>::normal({5, 4}, 0.0, 1.0, gen);
    auto b = Tensor<double>::normal({5}, 0.0, 1.0, gen);
    auto res = autograd::gradcheck<double, cpu>(
        [](const std::vector<Tensor<double>>& in) { return ops::linear(in[0], in[1], in[2]); },
        {x, w, b});
    CHECK_MESSAGE(res.ok, res.report);
    CHECK(res.max_abs_error < 1e-7);
    auto res_nobias = autograd::gradcheck<double, cpu>(
        [](const std::vector<Tensor<double>>& in) { return ops::linear(in[0], in[1]); }, {x, w});
    CHECK_MESSAGE(res_nobias.ok, res_nobias.report);
}

TEST_CASE("Linear: only the inputs that require grad receive one") {
    nn::Linear<float> lin(3, 2);
    auto x = Tensor<float>::ones({4, 3});  // no requires_grad
    ops::sum(lin(x)).backward();
    CHECK(lin.weight.grad().defined());
    // d sum / d b = number of rows
    CHECK(lin.bias.grad().to_vector() == std::vector<float>{4.f, 4.f});
    CHECK_FALSE(x.grad().defined());
    NoGradGuard no_grad;
    CHECK_FALSE(lin(x).requires_grad());
}

TEST_CASE("Linear rejects an input whose last dim is not in_features") {
    nn::Linear<float> lin(5, 4);
    CHECK_THROWS_WITH_AS(lin(Tensor<float>::zeros({3, 7})),
                         doctest::Contains("input of shape [3,7] has last dim 7, expected "
                                           "in_features = 5"),
                         ShapeError);
    CHECK_THROWS_AS(lin(Tensor<float>::scalar(1.f)), ShapeError);
    CHECK_THROWS_WITH_AS(ops::linear(Tensor<float>::zeros({2, 5}), Tensor<float>::zeros({4, 5}),
                                     Tensor<float>::zeros({3})),
                         doctest::Contains("bias of shape [3] does not match out_features = 4"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(lin.load_state_dict({{"weight", Tensor<float>::zeros({4, 6})},
                                              {"bias", Tensor<float>::zeros({4})}}),
                         doctest::Contains("'weight' has shape [4,6]"), ShapeError);
}
