// ops/indexing.hpp: index_select, gather, embedding (int32 and int64 ids, padding_idx),
// scatter-add backwards, and out-of-range indices as IndexError naming the id and position.
#include <doctest/doctest.h>

#include <cstdint>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE_TEMPLATE("index_select along dims 0 and 1 with repeated indices", T, float, double) {
    auto x = ops::reshape(Tensor<T>::arange(6), {3, 2});  // [[0,1],[2,3],[4,5]]
    auto rows = Tensor<std::int64_t>::from({2, 0, 2});
    check_values(ops::index_select(x, 0, rows), {3, 2}, {4, 5, 0, 1, 4, 5});
    auto cols = Tensor<std::int32_t>::from({1, 1, 0});
    check_values(ops::index_select(x, 1, cols), {3, 3}, {1, 1, 0, 3, 3, 2, 5, 5, 4});
    check_values(ops::index_select(x, -1, cols), {3, 3}, {1, 1, 0, 3, 3, 2, 5, 5, 4});
    auto none = Tensor<std::int64_t>::zeros({0});
    CHECK(ops::index_select(x, 0, none).shape() == Shape{0, 2});
}

TEST_CASE("index_select backward accumulates repeated indices") {
    auto x = ops::reshape(Tensor<double>::arange(6), {3, 2});
    x.requires_grad_();
    ops::sum(ops::index_select(x, 0, Tensor<std::int64_t>::from({2, 0, 2}))).backward();
    check_values(x.grad(), {3, 2}, {1, 1, 0, 0, 2, 2});
    x.set_grad({});
    auto w = make<double>({1, 10, 100, 2, 20, 200, 3, 30, 300}, {3, 3});
    ops::sum(ops::index_select(x, 1, Tensor<std::int32_t>::from({1, 1, 0})) * w).backward();
    check_values(x.grad(), {3, 2}, {100, 11, 200, 22, 300, 33});
}

TEST_CASE_TEMPLATE("gather along dims 0 and 1", T, float, double) {
    auto x = make<T>({1, 2, 3, 4, 5, 6}, {2, 3});
    auto i1 = Tensor<std::int64_t>::from({2, 0, 1, 1}, {2, 2});
    check_values(ops::gather(x, 1, i1), {2, 2}, {3, 1, 5, 5});
    auto i0 = Tensor<std::int32_t>::from({1, 0, 1}, {1, 3});
    check_values(ops::gather(x, 0, i0), {1, 3}, {4, 2, 6});
}

TEST_CASE("gather backward scatters and accumulates") {
    auto x = make<double>({1, 2, 3, 4, 5, 6}, {2, 3}).requires_grad_();
    auto idx = Tensor<std::int64_t>::from({2, 0, 1, 1}, {2, 2});
    ops::sum(ops::gather(x, 1, idx) * make<double>({1, 2, 3, 4}, {2, 2})).backward();
    check_values(x.grad(), {2, 3}, {2, 0, 1, 0, 7, 0});
}

TEST_CASE_TEMPLATE("embedding looks up rows for int32 and int64 ids of any shape", T, float,
                   double) {
    auto w = ops::reshape(Tensor<T>::arange(12), {4, 3});  // row r = [3r, 3r+1, 3r+2]
    auto ids32 = Tensor<std::int32_t>::from({1, 3, 0, 1}, {2, 2});
    const std::vector<double> expected = {3, 4, 5, 9, 10, 11, 0, 1, 2, 3, 4, 5};
    check_values(ops::embedding(w, ids32), {2, 2, 3}, expected);
    auto ids64 = Tensor<std::int64_t>::from({1, 3, 0, 1}, {2, 2});
    check_values(ops::embedding(w, ids64), {2, 2, 3}, expected);
    check_values(ops::embedding(w, Tensor<std::int64_t>::from({2})), {1, 3}, {6, 7, 8});
}

TEST_CASE("embedding backward counts each use; the padding row gets zero gradient") {
    auto ids = Tensor<std::int32_t>::from({1, 3, 0, 1, 1}, {5});
    SUBCASE("no padding") {
        auto w = Tensor<double>::ones({4, 2}).requires_grad_();
        ops::sum(ops::embedding(w, ids)).backward();
        check_values(w.grad(), {4, 2}, {1, 1, 3, 3, 0, 0, 1, 1});
    }
    SUBCASE("padding_idx = 1") {
        auto w = Tensor<double>::ones({4, 2}).requires_grad_();
        auto out = ops::embedding(w, ids, 1);
        check_values(out, {5, 2}, std::vector<double>(10, 1.0));  // the lookup itself is normal
        ops::sum(out).backward();
        check_values(w.grad(), {4, 2}, {1, 1, 0, 0, 0, 0, 1, 1});
    }
    SUBCASE("negative padding_idx counts from the end, like PyTorch") {
        auto w = Tensor<double>::ones({4, 2}).requires_grad_();
        ops::sum(ops::embedding(w, ids, -1)).backward();  // row 3
        check_values(w.grad(), {4, 2}, {1, 1, 3, 3, 0, 0, 0, 0});
    }
}

TEST_CASE("out-of-range ids are IndexError naming the id and its position") {
    auto w = Tensor<float>::zeros({10, 4});
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor<std::int64_t>::from({1, 2, 10, 3})),
                         doctest::Contains("token id 10 at position 2 is out of range [0, 10)"),
                         IndexError);
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor<std::int32_t>::from({0, -1})),
                         doctest::Contains("token id -1 at position 1 is out of range [0, 10)"),
                         IndexError);
    CHECK_THROWS_WITH_AS(ops::embedding(w, Tensor<std::int32_t>::from({0}), 10),
                         doctest::Contains("padding_idx 10 is out of range for 10 embeddings"),
                         IndexError);
    CHECK_THROWS_AS(ops::embedding(w, Tensor<std::int32_t>::from({0}), -11), IndexError);
    CHECK_THROWS_WITH_AS(
        ops::embedding(Tensor<float>::zeros({10}), Tensor<std::int32_t>::from({0})),
        doctest::Contains("weight must be 2-D [num_embeddings, dim], got [10]"), ShapeError);

    auto x = Tensor<float>::zeros({3, 2});
    CHECK_THROWS_WITH_AS(
        ops::index_select(x, 0, Tensor<std::int64_t>::from({0, 3})),
        doctest::Contains("index_select: index 3 at position 1 is out of range [0, 3)"),
        IndexError);
    CHECK_THROWS_WITH_AS(ops::index_select(x, 1, Tensor<std::int32_t>::from({-2})),
                         doctest::Contains("index -2 at position 0 is out of range [0, 2)"),
                         IndexError);
    CHECK_THROWS_WITH_AS(ops::index_select(x, 0, Tensor<std::int64_t>::zeros({1, 1})),
                         doctest::Contains("index must be 1-D, got [1,1]"), ShapeError);
    CHECK_THROWS_AS(ops::index_select(x, 2, Tensor<std::int64_t>::from({0})), IndexError);
    CHECK_THROWS_WITH_AS(ops::gather(x, 1, Tensor<std::int64_t>::from({0, 1, 2, 0, 0, 0}, {3, 2})),
                         doctest::Contains("gather: index 2 at position 2 is out of range [0, 2)"),
                         IndexError);
    CHECK_THROWS_WITH_AS(ops::gather(x, 1, Tensor<std::int64_t>::zeros({2, 2})),
                         doctest::Contains("index shape [2,2] must match input shape [3,2]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::gather(x, 1, Tensor<std::int64_t>::zeros({3})),
        doctest::Contains("index shape [3] must have the rank of input shape [3,2]"), ShapeError);
}

TEST_CASE("gradcheck: indexing ops") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({4, 3}, 41);
    auto rows = Tensor<std::int64_t>::from({3, 0, 3, 1});
    auto cols = Tensor<std::int32_t>::from({2, 2, 0});
    check_gradients([rows](const V& a) { return ops::index_select(a[0], 0, rows); }, {x});
    check_gradients([cols](const V& a) { return ops::index_select(a[0], 1, cols); }, {x});
    auto g1 = Tensor<std::int64_t>::from({0, 2, 2, 1, 1, 1, 0, 0}, {4, 2});
    check_gradients([g1](const V& a) { return ops::gather(a[0], 1, g1); }, {x});
    auto g0 = Tensor<std::int32_t>::from({3, 3, 0, 1, 2, 3}, {2, 3});
    check_gradients([g0](const V& a) { return ops::gather(a[0], 0, g0); }, {x});
    auto ids = Tensor<std::int32_t>::from({1, 3, 0, 1, 1, 2}, {2, 3});
    check_gradients([ids](const V& a) { return ops::embedding(a[0], ids); }, {x});
    // With padding the analytical gradient of row 1 is zero by definition, not by calculus,
    // so check the rows that do get a gradient: row 1 is never used here.
    auto ids_pad = Tensor<std::int64_t>::from({0, 2, 3, 0}, {4});
    check_gradients([ids_pad](const V& a) { return ops::embedding(a[0], ids_pad, 1); }, {x});
}
