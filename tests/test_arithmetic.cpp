// ops/arithmetic.hpp: add, sub, mul, div, neg, scalar operators, broadcasting, and
// backward summing the broadcast dims back to each input's shape.
#include <doctest/doctest.h>

#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE_TEMPLATE("elementwise add/sub/mul/div/neg of equal shapes", T, float, double) {
    auto a = make<T>({1, 2, 3, -4, 5, 6}, {2, 3});
    auto b = make<T>({4, -5, 6, 2, 0.5, 8}, {2, 3});
    check_values(ops::add(a, b), {2, 3}, {5, -3, 9, -2, 5.5, 14});
    check_values(ops::sub(a, b), {2, 3}, {-3, 7, -3, -6, 4.5, -2});
    check_values(ops::mul(a, b), {2, 3}, {4, -10, 18, -8, 2.5, 48});
    check_values(ops::div(a, b), {2, 3}, {0.25, -0.4, 0.5, -2, 10, 0.75});
    check_values(ops::neg(a), {2, 3}, {-1, -2, -3, 4, -5, -6});
    // The operators are the same functions.
    check_values(a + b, {2, 3}, {5, -3, 9, -2, 5.5, 14});
    check_values(a - b, {2, 3}, {-3, 7, -3, -6, 4.5, -2});
    check_values(a * b, {2, 3}, {4, -10, 18, -8, 2.5, 48});
    check_values(a / b, {2, 3}, {0.25, -0.4, 0.5, -2, 10, 0.75});
    check_values(-a, {2, 3}, {-1, -2, -3, 4, -5, -6});
}

TEST_CASE_TEMPLATE("scalar operators on either side", T, float, double) {
    auto x = make<T>({1, 2, 4}, {3});
    check_values(x + T(2), {3}, {3, 4, 6});
    check_values(T(2) + x, {3}, {3, 4, 6});
    check_values(x - T(1), {3}, {0, 1, 3});
    check_values(T(10) - x, {3}, {9, 8, 6});
    check_values(x * T(3), {3}, {3, 6, 12});
    check_values(T(3) * x, {3}, {3, 6, 12});
    check_values(x / T(2), {3}, {0.5, 1, 2});
    check_values(T(8) / x, {3}, {8, 4, 2});
    // Plain int and double literals work too: the scalar converts to the tensor's type.
    check_values(x * 2, {3}, {2, 4, 8});
    check_values(1 - x, {3}, {0, -1, -3});
    check_values(x / 4, {3}, {0.25, 0.5, 1});
    check_values(0.5 * x, {3}, {0.5, 1, 2});
}

TEST_CASE_TEMPLATE("broadcasting in every direction", T, float, double) {
    SUBCASE("rank-changing [3,1,4] + [2,1] -> [3,2,4]") {
        // a[i,0,k] = 4i + k, b[j,0] = 10(j+1): out[i,j,k] = 4i + k + 10(j+1)
        auto a = Tensor<T>::arange(12);
        a = ops::reshape(a, {3, 1, 4});
        auto b = make<T>({10, 20}, {2, 1});
        std::vector<double> expected;
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 2; ++j)
                for (int k = 0; k < 4; ++k) expected.push_back(4 * i + k + 10 * (j + 1));
        check_values(a + b, {3, 2, 4}, expected);
        // Commutes: the smaller-rank operand on the left broadcasts the same way.
        check_values(b + a, {3, 2, 4}, expected);
    }
    SUBCASE("row vector [3] against [2,3]") {
        auto a = make<T>({1, 2, 3, 4, 5, 6}, {2, 3});
        auto r = make<T>({10, 20, 30}, {3});
        check_values(a * r, {2, 3}, {10, 40, 90, 40, 100, 180});
        check_values(r - a, {2, 3}, {9, 18, 27, 6, 15, 24});
    }
    SUBCASE("column [2,1] against [2,3]") {
        auto a = make<T>({1, 2, 3, 4, 5, 6}, {2, 3});
        auto c = make<T>({2, 4}, {2, 1});
        check_values(a / c, {2, 3}, {0.5, 1, 1.5, 1, 1.25, 1.5});
    }
    SUBCASE("both operands broadcast: [1,3] - [2,1] -> [2,3]") {
        auto r = make<T>({1, 2, 3}, {1, 3});
        auto c = make<T>({10, 20}, {2, 1});
        check_values(r - c, {2, 3}, {-9, -8, -7, -19, -18, -17});
    }
    SUBCASE("0-d scalars") {
        auto s = Tensor<T>::scalar(T(3));
        auto a = make<T>({1, 2, 3, 4}, {2, 2});
        check_values(a * s, {2, 2}, {3, 6, 9, 12});
        check_values(s - a, {2, 2}, {2, 1, 0, -1});
        auto s2 = Tensor<T>::scalar(T(4));
        check_values(s + s2, {}, {7});
        check_values(s / s2, {}, {0.75});
    }
    SUBCASE("an empty operand broadcasts to an empty result") {
        auto e = Tensor<T>::zeros({0, 3});
        auto r = make<T>({1, 2, 3}, {3});
        auto out = e + r;
        CHECK(out.shape() == Shape{0, 3});
        CHECK(out.numel() == 0);
    }
}

TEST_CASE("backward sums broadcast dims back to each input's shape") {
    SUBCASE("add [3,1,4] + [2,1]") {
        auto a = Tensor<double>::ones({3, 1, 4}).requires_grad_();
        auto b = Tensor<double>::ones({2, 1}).requires_grad_();
        ops::sum(a + b).backward();
        // Each a element is used by 2 outputs (the j axis); each b element by 3*4.
        check_values(a.grad(), {3, 1, 4}, std::vector<double>(12, 2.0));
        check_values(b.grad(), {2, 1}, {12, 12});
    }
    SUBCASE("mul [2,3] * [3]: d/db_k = sum_i a[i,k]") {
        auto a = make<double>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
        auto b = make<double>({10, 20, 30}, {3}).requires_grad_();
        ops::sum(a * b).backward();
        check_values(a.grad(), {2, 3}, {10, 20, 30, 10, 20, 30});
        check_values(b.grad(), {3}, {5, 7, 9});
    }
    SUBCASE("sub and div with a 0-d operand") {
        auto a = make<double>({1, 2, 4}, {3}).requires_grad_();
        auto s = Tensor<double>::scalar(2.0).requires_grad_();
        ops::sum(a / s).backward();
        // d/da = 1/s; d/ds = -sum(a)/s^2 = -7/4
        check_values(a.grad(), {3}, {0.5, 0.5, 0.5});
        check_values(s.grad(), {}, {-1.75});
        a.set_grad({});
        s.set_grad({});
        ops::sum(s - a).backward();
        check_values(a.grad(), {3}, {-1, -1, -1});
        check_values(s.grad(), {}, {3});
    }
    SUBCASE("an input that does not require grad gets none") {
        auto a = make<double>({1, 2}, {2}).requires_grad_();
        auto b = make<double>({3, 4}, {2});
        ops::sum(a * b).backward();
        check_values(a.grad(), {2}, {3, 4});
        CHECK_FALSE(b.grad().defined());
    }
}

TEST_CASE("gradcheck: arithmetic with broadcasting") {
    using V = std::vector<Tensor<double>>;
    auto a = random_tensor({3, 1, 4}, 1);
    auto b = random_tensor({2, 1}, 2);
    auto pos = random_tensor({2, 1}, 3, 0.5, 2.0);  // keep divisors away from 0
    check_gradients([](const V& x) { return ops::add(x[0], x[1]); }, {a, b});
    check_gradients([](const V& x) { return ops::sub(x[0], x[1]); }, {a, b});
    check_gradients([](const V& x) { return ops::mul(x[0], x[1]); }, {a, b});
    check_gradients([](const V& x) { return ops::div(x[0], x[1]); }, {a, pos});
    check_gradients([](const V& x) { return ops::neg(x[0]); }, {a});
    // Same shapes, 0-d operands, and a tensor used on both sides.
    auto m = random_tensor({2, 3}, 4);
    auto n = random_tensor({2, 3}, 5, 0.5, 2.0);
    auto s = random_tensor({}, 6, 0.5, 2.0);
    check_gradients([](const V& x) { return ops::div(x[0], x[1]); }, {m, n});
    check_gradients([](const V& x) { return ops::div(x[1], x[0]); }, {s, m});
    check_gradients([](const V& x) { return ops::mul(x[0], x[0]) - x[0] * 3.0; }, {m});
}

TEST_CASE("shapes that do not broadcast throw ShapeError naming both shapes") {
    auto a = Tensor<float>::zeros({2, 3});
    auto b = Tensor<float>::zeros({4});
    CHECK_THROWS_WITH_AS(ops::add(a, b), doctest::Contains("add: shapes [2,3] and [4]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::sub(a, b), doctest::Contains("sub: shapes [2,3] and [4]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::mul(b, a), doctest::Contains("mul: shapes [4] and [2,3]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(a / Tensor<float>::zeros({3, 3}),
                         doctest::Contains("div: shapes [2,3] and [3,3]"), ShapeError);
    CHECK_THROWS_WITH_AS(a + Tensor<float>::zeros({0, 3}), doctest::Contains("cannot be broadcast"),
                         ShapeError);
}
