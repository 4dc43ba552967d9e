// ops/shape.hpp: reshape/view (aliasing), transpose, t, narrow, slice, concat, stack,
// squeeze/unsqueeze — values, storage sharing, gradients, and errors.
#include <doctest/doctest.h>

#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

namespace {
using FL = std::vector<Tensor<float>>;
using DL = std::vector<Tensor<double>>;
std::vector<double> iota(std::size_t n) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i);
    return v;
}
}  // namespace

TEST_CASE_TEMPLATE("reshape and view keep the data, infer -1, and alias storage", T, float,
                   double) {
    auto x = Tensor<T>::arange(12);
    auto r = ops::reshape(x, {3, 4});
    check_values(r, {3, 4}, iota(12));
    check_values(ops::reshape(x, {2, -1, 3}), {2, 2, 3}, iota(12));
    check_values(ops::view(x, {-1, 6}), {2, 6}, iota(12));
    check_values(ops::reshape(Tensor<T>::scalar(T(5)), {1, 1}), {1, 1}, {5});
    check_values(ops::reshape(Tensor<T>::from({T(5)}), {}), {}, {5});
    // Alias: a write through the reshaped tensor shows in the original, like PyTorch's view.
    CHECK(r.shares_storage_with(x));
    r.data()[5] = T(-1);
    CHECK(x.at({5}) == T(-1));
    CHECK(ops::view(x, {4, 3}).at({1, 2}) == T(-1));
    // The original's shape is untouched.
    CHECK(x.shape() == Shape{12});
}

TEST_CASE("reshape errors name the shapes") {
    auto x = Tensor<float>::zeros({2, 3});
    CHECK_THROWS_WITH_AS(ops::reshape(x, {4, 2}),
                         doctest::Contains("shape [2,3] (6 elements) cannot be viewed as [4,2]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::reshape(x, {-1, -1}), doctest::Contains("more than one -1"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::reshape(x, {4, -1}),
                         doctest::Contains("cannot infer -1 reshaping [2,3]"), ShapeError);
    CHECK_THROWS_WITH_AS(ops::reshape(x, {-2, 3}), doctest::Contains("negative extent -2"),
                         ShapeError);
    CHECK_THROWS_AS(ops::view(Tensor<float>::zeros({0, 3}), {0, -1}), ShapeError);
}

TEST_CASE_TEMPLATE("transpose of a 3-D tensor and t of a matrix", T, float, double) {
    auto x = ops::reshape(Tensor<T>::arange(24), {2, 3, 4});  // x[i,j,k] = 12i + 4j + k
    std::vector<double> e02, e12;
    for (int k = 0; k < 4; ++k)
        for (int j = 0; j < 3; ++j)
            for (int i = 0; i < 2; ++i) e02.push_back(12 * i + 4 * j + k);
    check_values(ops::transpose(x, 0, 2), {4, 3, 2}, e02);
    for (int i = 0; i < 2; ++i)
        for (int k = 0; k < 4; ++k)
            for (int j = 0; j < 3; ++j) e12.push_back(12 * i + 4 * j + k);
    check_values(ops::transpose(x, -1, -2), {2, 4, 3}, e12);
    check_values(ops::transpose(x, 1, 1), {2, 3, 4}, iota(24));
    auto m = make<T>({1, 2, 3, 4, 5, 6}, {2, 3});
    check_values(ops::t(m), {3, 2}, {1, 4, 2, 5, 3, 6});
    CHECK_FALSE(ops::t(m).shares_storage_with(m));  // transpose copies into the new layout
}

TEST_CASE("transpose and t errors") {
    CHECK_THROWS_WITH_AS(ops::t(Tensor<float>::zeros({2, 3, 4})),
                         doctest::Contains("t: expects a 2-D tensor, got [2,3,4]"), ShapeError);
    CHECK_THROWS_WITH_AS(ops::transpose(Tensor<float>::zeros({2, 3}), 0, 2),
                         doctest::Contains("dim 2 is out of range for a tensor of rank 2"),
                         IndexError);
}

TEST_CASE_TEMPLATE("narrow and slice", T, float, double) {
    auto x = ops::reshape(Tensor<T>::arange(12), {3, 4});
    check_values(ops::narrow(x, 1, 1, 2), {3, 2}, {1, 2, 5, 6, 9, 10});
    check_values(ops::narrow(x, 0, 2, 1), {1, 4}, {8, 9, 10, 11});
    check_values(ops::narrow(x, -1, 3, 0), {3, 0}, {});
    check_values(ops::slice(x, 0, 1, 3), {2, 4}, {4, 5, 6, 7, 8, 9, 10, 11});
    check_values(ops::slice(x, 1, 2, 100), {3, 2}, {2, 3, 6, 7, 10, 11});  // end clamps
    check_values(ops::slice(x, 1, 4, 4), {3, 0}, {});
}

TEST_CASE("narrow and slice out of range throw IndexError with the range") {
    auto x = Tensor<float>::zeros({3, 4});
    CHECK_THROWS_WITH_AS(
        ops::narrow(x, 1, 3, 2),
        doctest::Contains("range [3, 5) is out of bounds for dim 1 of shape [3,4]"), IndexError);
    CHECK_THROWS_WITH_AS(ops::slice(x, 0, 5, 10),
                         doctest::Contains("slice: start 5 is past end 3 for dim 0 of shape [3,4]"),
                         IndexError);
    CHECK_THROWS_AS(ops::narrow(x, 2, 0, 1), IndexError);
}

TEST_CASE_TEMPLATE("concat, including different lengths along the dim", T, float, double) {
    using TL = std::vector<Tensor<T>>;
    auto a = make<T>({1, 2, 3, 4}, {2, 2});
    auto b = make<T>({5, 6, 7, 8, 9, 10}, {2, 3});
    check_values(ops::concat(TL{a, b}, 1), {2, 5}, {1, 2, 5, 6, 7, 3, 4, 8, 9, 10});
    check_values(ops::concat(TL{a, b}, -1), {2, 5}, {1, 2, 5, 6, 7, 3, 4, 8, 9, 10});
    auto c = make<T>({9, 9}, {1, 2});
    check_values(ops::concat(TL{a, c, a}, 0), {5, 2}, {1, 2, 3, 4, 9, 9, 1, 2, 3, 4});
    check_values(ops::concat(TL{a}, 0), {2, 2}, {1, 2, 3, 4});
    check_values(ops::concat(TL{a, Tensor<T>::zeros({0, 2})}, 0), {2, 2}, {1, 2, 3, 4});
}

TEST_CASE("concat errors") {
    auto a = Tensor<float>::zeros({2, 2});
    CHECK_THROWS_WITH_AS(ops::concat(FL{a, Tensor<float>::zeros({3, 3})}, 1),
                         doctest::Contains("tensor 1 has shape [3,3], tensor 0 has shape [2,2]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::concat(FL{a, Tensor<float>::zeros({2, 2, 1})}, 0),
                         doctest::Contains("ranks differ"), ShapeError);
    CHECK_THROWS_WITH_AS(ops::concat(FL{}, 0), doctest::Contains("at least one tensor"),
                         ValueError);
    CHECK_THROWS_AS(ops::concat(FL{a, a}, 2), IndexError);
}

TEST_CASE_TEMPLATE("stack along a new dim", T, float, double) {
    using TL = std::vector<Tensor<T>>;
    auto a = make<T>({1, 2, 3}, {3});
    auto b = make<T>({4, 5, 6}, {3});
    check_values(ops::stack(TL{a, b}, 0), {2, 3}, {1, 2, 3, 4, 5, 6});
    check_values(ops::stack(TL{a, b}, 1), {3, 2}, {1, 4, 2, 5, 3, 6});
    check_values(ops::stack(TL{a, b}, -1), {3, 2}, {1, 4, 2, 5, 3, 6});
    check_values(ops::stack(TL{a, b, a}, -2), {3, 3}, {1, 2, 3, 4, 5, 6, 1, 2, 3});
    CHECK_THROWS_WITH_AS(ops::stack(TL{a, make<T>({1, 2}, {2})}, 0),
                         doctest::Contains("tensor 1 has shape [2], tensor 0 has shape [3]"),
                         ShapeError);
    CHECK_THROWS_AS(ops::stack(TL{}, 0), ValueError);
}

TEST_CASE("squeeze and unsqueeze change only the shape and share storage") {
    auto x = make<float>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto u0 = ops::unsqueeze(x, 0), u2 = ops::unsqueeze(x, 2), un = ops::unsqueeze(x, -1);
    CHECK(u0.shape() == Shape{1, 2, 3});
    CHECK(u2.shape() == Shape{2, 3, 1});
    CHECK(un.shape() == Shape{2, 3, 1});
    CHECK(u0.shares_storage_with(x));
    auto s = ops::squeeze(u0, 0);
    check_values(s, {2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(ops::squeeze(u2, -1).shape() == Shape{2, 3});
    CHECK_THROWS_WITH_AS(ops::squeeze(x, 1),
                         doctest::Contains("squeeze: dim 1 of shape [2,3] is not 1"), ShapeError);
    CHECK_THROWS_AS(ops::unsqueeze(x, 3), IndexError);
}

TEST_CASE("shape op backward known values") {
    auto x = make<double>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
    auto w = make<double>({10, 20, 30, 40, 50, 60}, {3, 2});
    ops::sum(ops::t(x) * w).backward();
    check_values(x.grad(), {2, 3}, {10, 30, 50, 20, 40, 60});
    x.set_grad({});
    ops::sum(ops::narrow(x, 1, 1, 2)).backward();
    check_values(x.grad(), {2, 3}, {0, 1, 1, 0, 1, 1});
    x.set_grad({});
    auto y = make<double>({7, 8}, {1, 2}).requires_grad_();
    auto cat = ops::concat(DL{ops::narrow(x, 1, 0, 2), y}, 0);  // [3,2]
    ops::sum(cat * make<double>({1, 2, 3, 4, 5, 6}, {3, 2})).backward();
    check_values(x.grad(), {2, 3}, {1, 2, 0, 3, 4, 0});
    check_values(y.grad(), {1, 2}, {5, 6});
}

TEST_CASE("gradcheck: shape ops") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({2, 3, 4}, 31);
    check_gradients([](const V& a) { return ops::reshape(a[0], {4, -1}); }, {x});
    check_gradients([](const V& a) { return ops::view(a[0], {24}) * 2.0; }, {x});
    check_gradients([](const V& a) { return ops::transpose(a[0], 0, 2); }, {x});
    check_gradients([](const V& a) { return ops::transpose(a[0], 1, 2); }, {x});
    check_gradients([](const V& a) { return ops::t(a[0]); }, {random_tensor({3, 5}, 32)});
    check_gradients([](const V& a) { return ops::narrow(a[0], 1, 1, 2); }, {x});
    check_gradients([](const V& a) { return ops::slice(a[0], 2, 1, 3); }, {x});
    check_gradients(
        [](const V& a) {
            return ops::concat(DL{a[0], a[1], a[0]}, 1);
        },
        {x, random_tensor({2, 1, 4}, 33)});
    check_gradients(
        [](const V& a) {
            return ops::stack(DL{a[0], a[1]}, 1);
        },
        {random_tensor({3, 2}, 34), random_tensor({3, 2}, 35)});
    check_gradients([](const V& a) { return ops::squeeze(ops::unsqueeze(a[0], 1), 1); },
                    {random_tensor({3, 2}, 36)});
    check_gradients([](const V& a) { return ops::unsqueeze(a[0], 0); },
                    {random_tensor({3, 2}, 37)});
}
