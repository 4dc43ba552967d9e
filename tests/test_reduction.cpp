// ops/reduction.hpp: sum and mean over everything or along a dim (keepdim), max along a
// dim with arg-max indices and its gradient, and empty inputs.
#include <doctest/doctest.h>

#include <cstdint>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE_TEMPLATE("sum and mean over everything and along each dim", T, float, double) {
    auto x = make<T>({1, 5, 3, 4, 2, 6}, {2, 3});
    check_values(ops::sum(x), {}, {21});
    check_values(ops::sum(x, 0), {3}, {5, 7, 9});
    check_values(ops::sum(x, 1), {2}, {9, 12});
    check_values(ops::sum(x, -1, true), {2, 1}, {9, 12});
    check_values(ops::sum(x, 0, true), {1, 3}, {5, 7, 9});
    check_values(ops::mean(x), {}, {3.5});
    check_values(ops::mean(x, 0), {3}, {2.5, 3.5, 4.5});
    check_values(ops::mean(x, 1, true), {2, 1}, {3, 4});
    // 3-D, middle dim: x[i,j,k] = 12i + 4j + k, so sum_j = 36i + 12 + 3k.
    auto y = ops::reshape(Tensor<T>::arange(24), {2, 3, 4});
    check_values(ops::sum(y, 1), {2, 4}, {12, 15, 18, 21, 48, 51, 54, 57});
    check_values(ops::mean(y, 1, true), {2, 1, 4}, {4, 5, 6, 7, 16, 17, 18, 19});
    check_values(ops::sum(Tensor<T>::scalar(T(2.5))), {}, {2.5});
}

TEST_CASE_TEMPLATE("max along a dim returns values and arg-max indices", T, float, double) {
    auto x = make<T>({1, 5, 3, 4, 2, 6}, {2, 3});
    auto [v1, i1] = ops::max(x, 1);
    check_values(v1, {2}, {5, 6});
    CHECK(i1.to_vector() == std::vector<std::int64_t>{1, 2});
    auto [v0, i0] = ops::max(x, 0, true);
    check_values(v0, {1, 3}, {4, 5, 6});
    CHECK(i0.shape() == Shape{1, 3});
    CHECK(i0.to_vector() == std::vector<std::int64_t>{1, 0, 1});
    auto [vn, in] = ops::max(make<T>({-3, -1, -2}, {3}), -1);
    check_values(vn, {}, {-1});
    CHECK(in.item() == 1);
}

TEST_CASE("reduction backward known values") {
    auto x = make<double>({1, 5, 3, 4, 2, 6}, {2, 3}).requires_grad_();
    ops::sum(ops::mean(x, 1) * make<double>({3, 6}, {2})).backward();
    check_values(x.grad(), {2, 3}, {1, 1, 1, 2, 2, 2});
    x.set_grad({});
    ops::mean(x).backward();
    check_values(x.grad(), {2, 3}, std::vector<double>(6, 1.0 / 6.0));
    x.set_grad({});
    // The gradient of max goes to the arg-max position only.
    auto [v, idx] = ops::max(x, 0);
    ops::sum(v * make<double>({10, 20, 30}, {3})).backward();
    check_values(x.grad(), {2, 3}, {0, 20, 0, 10, 0, 30});
    x.set_grad({});
    ops::sum(ops::max(x, 1, true).first).backward();
    check_values(x.grad(), {2, 3}, {0, 1, 0, 0, 0, 1});
}

TEST_CASE("gradcheck: reductions") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({2, 3, 4}, 51);  // continuous random values: no ties for max
    check_gradients([](const V& a) { return ops::sum(a[0]); }, {x});
    check_gradients([](const V& a) { return ops::sum(a[0], 1); }, {x});
    check_gradients([](const V& a) { return ops::sum(a[0], -1, true); }, {x});
    check_gradients([](const V& a) { return ops::mean(a[0]); }, {x});
    check_gradients([](const V& a) { return ops::mean(a[0], 0); }, {x});
    check_gradients([](const V& a) { return ops::mean(a[0], 2, true); }, {x});
    check_gradients([](const V& a) { return ops::max(a[0], 0).first; }, {x});
    check_gradients([](const V& a) { return ops::max(a[0], 1, true).first; }, {x});
    check_gradients([](const V& a) { return ops::max(a[0], 2).first; }, {x});
}

TEST_CASE("empty inputs: sum is 0, mean and max have no value") {
    check_values(ops::sum(Tensor<float>::zeros({0})), {}, {0});
    check_values(ops::sum(Tensor<float>::zeros({0, 3}), 0), {3}, {0, 0, 0});
    CHECK(ops::mean(Tensor<float>::zeros({0, 3}), 1).shape() == Shape{0});
    CHECK_THROWS_WITH_AS(ops::mean(Tensor<float>::zeros({2, 0})),
                         doctest::Contains("mean: tensor of shape [2,0] is empty"), ValueError);
    CHECK_THROWS_WITH_AS(ops::mean(Tensor<float>::zeros({2, 0}), 1),
                         doctest::Contains("mean: dim 1 of shape [2,0] is empty"), ValueError);
    CHECK_THROWS_WITH_AS(ops::max(Tensor<float>::zeros({0, 2}), 0),
                         doctest::Contains("max: dim 0 of shape [0,2] is empty"), ValueError);
}

TEST_CASE("a reduction dim out of range is IndexError") {
    auto x = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(ops::sum(x, 2),
                         doctest::Contains("sum: dim 2 is out of range for a tensor of rank 2"),
                         IndexError);
    CHECK_THROWS_AS(ops::mean(x, -3), IndexError);
    CHECK_THROWS_AS(ops::max(x, 5), IndexError);
}
