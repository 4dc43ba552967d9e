// ops/matmul.hpp: 2-D, batched 3-D, and the broadcast of a 2-D operand over a batch;
// k = 0; backward against finite differences; shape errors.
#include <doctest/doctest.h>

#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

namespace {

// Reference product by the definition, for matrices stored row-major.
std::vector<double> naive_matmul(const std::vector<double>& a, const std::vector<double>& b,
                                 std::size_t m, std::size_t k, std::size_t n) {
    std::vector<double> c(m * n, 0.0);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t l = 0; l < k; ++l) c[i * n + j] += a[i * k + l] * b[l * n + j];
    return c;
}

std::vector<double> iota(std::size_t n, double start, double step) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = start + step * static_cast<double>(i);
    return v;
}

std::vector<double> part(const std::vector<double>& v, std::size_t begin, std::size_t len) {
    return {v.begin() + static_cast<std::ptrdiff_t>(begin),
            v.begin() + static_cast<std::ptrdiff_t>(begin + len)};
}

}  // namespace

TEST_CASE_TEMPLATE("2-D matmul", T, float, double) {
    auto a = make<T>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto b = make<T>({7, 8, 9, 10, 11, 12}, {3, 2});
    // [[1*7+2*9+3*11, 1*8+2*10+3*12], [4*7+5*9+6*11, 4*8+5*10+6*12]]
    check_values(ops::matmul(a, b), {2, 2}, {58, 64, 139, 154});
    check_values(ops::matmul(b, a), {3, 3}, {39, 54, 69, 49, 68, 87, 59, 82, 105});
}

TEST_CASE_TEMPLATE("batched and broadcast matmul", T, float, double) {
    const auto av = iota(2 * 2 * 3, -3, 0.5), bv = iota(2 * 3 * 4, 1, -0.25);
    SUBCASE("[2,2,3] x [2,3,4]") {
        std::vector<double> expected = naive_matmul(part(av, 0, 6), part(bv, 0, 12), 2, 3, 4);
        const auto second = naive_matmul(part(av, 6, 6), part(bv, 12, 12), 2, 3, 4);
        expected.insert(expected.end(), second.begin(), second.end());
        check_values(ops::matmul(make<T>(av, {2, 2, 3}), make<T>(bv, {2, 3, 4})), {2, 2, 4},
                     expected);
    }
    SUBCASE("[2,2,3] x [3,4]: the matrix applies to every batch") {
        std::vector<double> expected = naive_matmul(part(av, 0, 6), part(bv, 0, 12), 2, 3, 4);
        const auto second = naive_matmul(part(av, 6, 6), part(bv, 0, 12), 2, 3, 4);
        expected.insert(expected.end(), second.begin(), second.end());
        check_values(ops::matmul(make<T>(av, {2, 2, 3}), make<T>(part(bv, 0, 12), {3, 4})),
                     {2, 2, 4}, expected);
    }
    SUBCASE("[2,3] x [2,3,4]") {
        std::vector<double> expected = naive_matmul(part(av, 0, 6), part(bv, 0, 12), 2, 3, 4);
        const auto second = naive_matmul(part(av, 0, 6), part(bv, 12, 12), 2, 3, 4);
        expected.insert(expected.end(), second.begin(), second.end());
        check_values(ops::matmul(make<T>(part(av, 0, 6), {2, 3}), make<T>(bv, {2, 3, 4})),
                     {2, 2, 4}, expected);
    }
}

TEST_CASE("matmul with an empty inner dimension is all zeros, and so are its gradients") {
    auto a = Tensor<double>::zeros({2, 0}).requires_grad_();
    auto b = Tensor<double>::zeros({0, 3}).requires_grad_();
    auto c = ops::matmul(a, b);
    check_values(c, {2, 3}, std::vector<double>(6, 0.0));
    ops::sum(c).backward();
    CHECK(a.grad().shape() == Shape{2, 0});
    CHECK(b.grad().shape() == Shape{0, 3});
    // Empty outer dimensions give an empty product.
    auto e = ops::matmul(Tensor<float>::zeros({0, 4}), Tensor<float>::ones({4, 5}));
    CHECK(e.shape() == Shape{0, 5});
    auto e3 = ops::matmul(Tensor<float>::zeros({0, 2, 4}), Tensor<float>::ones({4, 5}));
    CHECK(e3.shape() == Shape{0, 2, 5});
}

TEST_CASE("matmul backward known values") {
    // d sum(A B) / dA = 1 B^T (row sums of B); / dB = A^T 1 (column sums of A)
    auto a = make<double>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
    auto b = make<double>({7, 8, 9, 10, 11, 12}, {3, 2}).requires_grad_();
    ops::sum(ops::matmul(a, b)).backward();
    check_values(a.grad(), {2, 3}, {15, 19, 23, 15, 19, 23});
    check_values(b.grad(), {3, 2}, {5, 5, 7, 7, 9, 9});
    // A broadcast matrix collects the gradient of every batch.
    auto w = make<double>({1, 2, 3, 4}, {2, 2}).requires_grad_();
    auto x = Tensor<double>::ones({3, 1, 2});
    ops::sum(ops::matmul(x, w)).backward();
    check_values(w.grad(), {2, 2}, {3, 3, 3, 3});
}

TEST_CASE("gradcheck: matmul in every supported layout") {
    using V = std::vector<Tensor<double>>;
    auto f = [](const V& x) { return ops::matmul(x[0], x[1]); };
    check_gradients(f, {random_tensor({2, 3}, 21), random_tensor({3, 4}, 22)});
    check_gradients(f, {random_tensor({2, 2, 3}, 23), random_tensor({2, 3, 4}, 24)});
    check_gradients(f, {random_tensor({2, 2, 3}, 25), random_tensor({3, 4}, 26)});
    check_gradients(f, {random_tensor({2, 3}, 27), random_tensor({3, 3, 2}, 28)});
    // One operand constant: only the other gets a gradient.
    auto c = random_tensor({3, 4}, 29);
    check_gradients([c](const V& x) { return ops::matmul(x[0], c); }, {random_tensor({2, 3}, 30)});
}

TEST_CASE("matmul shape errors name both shapes") {
    auto a = Tensor<float>::zeros({64, 128});
    auto b = Tensor<float>::zeros({256, 1024});
    CHECK_THROWS_WITH_AS(
        ops::matmul(a, b),
        doctest::Contains("matmul: [64,128] x [256,1024]: inner dimensions differ"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::matmul(Tensor<float>::zeros({2, 2, 3}), Tensor<float>::zeros({3, 3, 4})),
        doctest::Contains("[2,2,3] x [3,3,4]: batch sizes differ"), ShapeError);
    CHECK_THROWS_WITH_AS(ops::matmul(Tensor<float>::zeros({3}), Tensor<float>::zeros({3, 2})),
                         doctest::Contains("[3] x [3,2]: operands must be 2-D or 3-D"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::matmul(Tensor<float>::zeros({1, 2, 3, 4}), Tensor<float>::zeros({4, 2})),
        doctest::Contains("[1,2,3,4] x [4,2]"), ShapeError);
    CHECK_THROWS_WITH_AS(ops::matmul(Tensor<float>::zeros({2, 3}), Tensor<float>::zeros({2, 4, 5})),
                         doctest::Contains("[2,3] x [2,4,5]: inner dimensions differ"), ShapeError);
}
