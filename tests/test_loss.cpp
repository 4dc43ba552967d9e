// ops/loss.hpp: bce_with_logits (stable at |x| = 100), cross_entropy and mse, each with
// the three reductions, gradients, and shape/index errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;
using ops::Reduction;

TEST_CASE_TEMPLATE("bce_with_logits matches PyTorch for every reduction, |x| = 100 included", T,
                   float, double) {
    // Reference: torch.nn.functional.binary_cross_entropy_with_logits in float64.
    auto x = make<T>({-100, -1, 0, 0.5, 3, 100}, {2, 3});
    auto y = make<T>({1, 0, 0.5, 1, 0, 0}, {2, 3});
    check_values(ops::bce_with_logits(x, y, Reduction::none), {2, 3},
                 {100.0, 0.31326168751822286, 0.6931471805599453, 0.4740769841801067,
                  3.048587351573742, 100.0});
    check_values(ops::bce_with_logits(x, y, Reduction::sum), {}, {204.52907320383204});
    check_values(ops::bce_with_logits(x, y), {}, {34.08817886730534});  // mean is the default
    // A confident right answer costs ~0, not NaN or -0 garbage.
    auto good =
        ops::bce_with_logits(make<T>({100, -100}, {2}), make<T>({1, 0}, {2}), Reduction::none)
            .to_vector();
    for (auto v : good) {
        CHECK(std::isfinite(v));
        CHECK(v >= T(0));
        CHECK(v < T(1e-30));
    }
}

TEST_CASE("bce_with_logits gradient matches PyTorch and is finite at |x| = 100") {
    auto x = make<double>({-100, -1, 0, 0.5, 3, 100}, {6}).requires_grad_();
    auto y = make<double>({1, 0, 0.5, 1, 0, 0}, {6});
    ops::bce_with_logits(x, y).backward();
    // PyTorch float64 x.grad after .backward() of the mean loss: (sigmoid(x) - y) / 6.
    check_values(x.grad(), {6},
                 {-0.16666666666666666, 0.04482357022833252, 0.0, -0.0629234447996909,
                  0.15876235447040557, 0.16666666666666666});
    CHECK_FALSE(y.grad().defined());
}

TEST_CASE_TEMPLATE("cross_entropy equals -log softmax of the target class", T, float, double) {
    const std::vector<double> lv = {2, 1, 0.1, 0.5, 2.5, -1, 0, 0, 0};
    auto logits = make<T>(lv, {3, 3});
    auto targets = Tensor<std::int64_t>::from({0, 1, 2});
    // Hand computation: loss_n = log(sum_c exp(z_nc)) - z_n,target.
    std::vector<double> expected;
    const int tgt[] = {0, 1, 2};
    for (int n = 0; n < 3; ++n) {
        double s = 0;
        for (int c = 0; c < 3; ++c) s += std::exp(lv[static_cast<std::size_t>(3 * n + c)]);
        expected.push_back(std::log(s) - lv[static_cast<std::size_t>(3 * n + tgt[n])]);
    }
    // The same numbers from PyTorch (F.cross_entropy(reduction='none'), float64).
    CHECK(expected[0] == doctest::Approx(0.41703001627783354).epsilon(1e-14));
    CHECK(expected[1] == doctest::Approx(0.15317820712228827).epsilon(1e-14));
    CHECK(expected[2] == doctest::Approx(1.0986122886681098).epsilon(1e-14));
    check_values(ops::cross_entropy(logits, targets, Reduction::none), {3}, expected);
    check_values(ops::cross_entropy(logits, targets, Reduction::sum), {},
                 {expected[0] + expected[1] + expected[2]});
    check_values(ops::cross_entropy(logits, targets), {}, {0.5562735040227439});
    // int32 targets give the same loss.
    check_values(ops::cross_entropy(logits, Tensor<std::int32_t>::from({0, 1, 2})), {},
                 {0.5562735040227439});
}

TEST_CASE("cross_entropy gradient is (softmax - onehot) / N") {
    auto logits = make<double>({2, 1, 0.1, 0.5, 2.5, -1, 0, 0, 0}, {3, 3}).requires_grad_();
    ops::cross_entropy(logits, Tensor<std::int64_t>::from({0, 1, 2})).backward();
    // PyTorch float64 logits.grad.
    check_values(logits.grad(), {3, 3},
                 {-0.1136662870380107, 0.08081099023490462, 0.03285529680310606,
                  0.03870484489138038, -0.04734106313051426, 0.00863621823913384,
                  0.1111111111111111, 0.1111111111111111, -0.2222222222222222});
}

TEST_CASE_TEMPLATE("mse for every reduction", T, float, double) {
    auto a = make<T>({1, 2, 3}, {3});
    auto b = make<T>({2, 2, 5}, {3});
    check_values(ops::mse(a, b, Reduction::none), {3}, {1, 0, 4});
    check_values(ops::mse(a, b, Reduction::sum), {}, {5});
    check_values(ops::mse(a, b), {}, {5.0 / 3.0});
}

TEST_CASE("mse gradient flows to both operands") {
    auto a = make<double>({1, 2, 3}, {3}).requires_grad_();
    auto b = make<double>({2, 2, 5}, {3}).requires_grad_();
    ops::mse(a, b).backward();
    // d/da mean((a-b)^2) = 2(a-b)/3
    check_values(a.grad(), {3}, {-2.0 / 3, 0, -4.0 / 3});
    check_values(b.grad(), {3}, {2.0 / 3, 0, 4.0 / 3});
}

TEST_CASE("gradcheck: losses with every reduction") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({4, 3}, 71, -4.0, 4.0);
    auto y = random_tensor({4, 3}, 72, 0.0, 1.0);
    auto targets = Tensor<std::int64_t>::from({2, 0, 1, 2});
    for (auto r : {Reduction::none, Reduction::sum, Reduction::mean}) {
        CAPTURE(static_cast<int>(r));
        check_gradients([y, r](const V& a) { return ops::bce_with_logits(a[0], y, r); }, {x});
        check_gradients([targets, r](const V& a) { return ops::cross_entropy(a[0], targets, r); },
                        {x});
        check_gradients([r](const V& a) { return ops::mse(a[0], a[1], r); }, {x, y});
    }
}

TEST_CASE("loss shape and index errors") {
    auto x = Tensor<float>::zeros({4, 3});
    CHECK_THROWS_WITH_AS(ops::bce_with_logits(x, Tensor<float>::zeros({4})),
                         doctest::Contains("logits shape [4,3] differs from targets shape [4]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::mse(x, Tensor<float>::zeros({3, 4})),
                         doctest::Contains("input shape [4,3] differs from target shape [3,4]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(x, Tensor<std::int64_t>::zeros({3})),
                         doctest::Contains("targets shape [3] does not match logits shape [4,3]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::cross_entropy(Tensor<float>::zeros({4}), Tensor<std::int64_t>::zeros({4})),
        doctest::Contains("logits must be [N, C], got [4]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::cross_entropy(x, Tensor<std::int64_t>::from({0, 1, 3, 2})),
        doctest::Contains("cross_entropy: target 3 at position 2 is out of range [0, 3)"),
        IndexError);
    CHECK_THROWS_WITH_AS(ops::cross_entropy(x, Tensor<std::int32_t>::from({0, -1, 0, 0})),
                         doctest::Contains("target -1 at position 1"), IndexError);
    // A mean over nothing has no value.
    CHECK_THROWS_WITH_AS(ops::bce_with_logits(Tensor<float>::zeros({0}), Tensor<float>::zeros({0})),
                         doctest::Contains("is empty"), ValueError);
}
