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

TEST_CASE("cpu streaming kernels split over the thread team give every element its value") {
    // Sizes around the split threshold (two stream_chunks) and well past it; 1 and 2 threads.
    const std::size_t chunk = detail::stream_chunk;
    const int before = num_threads();
    for (const int threads : {1, 2}) {
        set_num_threads(threads);
        for (const std::size_t n :
             {std::size_t{0}, std::size_t{7}, 2 * chunk - 1, 2 * chunk, 5 * chunk + 3}) {
            CAPTURE(threads);
            CAPTURE(n);
            std::vector<float> x(n), y(n), want(n);
            for (std::size_t i = 0; i < n; ++i) {
                x[i] = static_cast<float>(i % 1000) * 0.25f;
                y[i] = static_cast<float>(i % 7) - 3.f;
            }
            kernels<cpu>::axpy(y.data(), x.data(), n, 2.f);
            for (std::size_t i = 0; i < n; ++i)
                want[i] =
                    static_cast<float>(i % 7) - 3.f + 2.f * (static_cast<float>(i % 1000) * 0.25f);
            CHECK(y == want);
            kernels<cpu>::scale(y.data(), n, -0.5f);
            for (auto& w : want) w *= -0.5f;
            CHECK(y == want);
            kernels<cpu>::copy(y.data(), x.data(), n);
            CHECK(y == x);
            kernels<cpu>::fill(y.data(), n, 4.5f);
            CHECK(std::all_of(y.begin(), y.end(), [](float v) { return v == 4.5f; }));
        }
        // concat and its backward along the last dim of [600, 128, 2] and [600, 128, 3]
        // (copy_slab over 76,800 slabs of 2 and 3 elements), and along dim 0 (one slab).
        auto counting = [](std::size_t n, const Shape& shape) {
            std::vector<float> v(n);
            for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
            return Tensor<float>::from(v, shape).requires_grad_();
        };
        const std::size_t rows = 600 * 128;
        auto a = counting(rows * 2, {600, 128, 2});
        auto b = counting(rows * 3, {600, 128, 3});
        auto c = ops::concat(std::vector<Tensor<float>>{a, b}, 2);
        const auto cv = c.to_vector();
        bool ok = true;
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < 5; ++j)
                ok = ok && cv[r * 5 + j] == static_cast<float>(j < 2 ? r * 2 + j : r * 3 + j - 2);
        CHECK(ok);
        ops::sum(ops::mul(c, c)).backward();  // dc = 2c, split back into a and b
        auto twice = [](const Tensor<float>& t) {
            auto v = t.to_vector();
            for (auto& e : v) e *= 2;
            return v;
        };
        CHECK(a.grad().to_vector() == twice(a));
        CHECK(b.grad().to_vector() == twice(b));
        auto d = ops::concat(std::vector<Tensor<float>>{a.detach(), a.detach()}, 0).to_vector();
        const auto av = a.to_vector();
        CHECK(std::vector<float>(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(av.size())) ==
              av);
        CHECK(std::vector<float>(d.begin() + static_cast<std::ptrdiff_t>(av.size()), d.end()) ==
              av);
        // transpose past the split threshold: [B, T, E] <-> [T, B, E] (nn::LSTM's
        // batch_first), the last two dims (a strided inner copy), and dims 0 and 2 of a
        // 4-D tensor; a first dim of 1 and of 3 (fewer indices than a chunk's worth).
        const std::vector<std::pair<Shape, std::pair<std::size_t, std::size_t>>> cases{
            {{64, 300, 16}, {0, 1}},
            {{64, 300, 16}, {1, 2}},
            {{5, 40, 30, 60}, {0, 2}},
            {{1, 700, 200}, {0, 1}},
            {{3, 500, 90}, {1, 2}}};
        for (const auto& [shape, dims] : cases) {
            CAPTURE(to_string(shape));
            const std::size_t n = numel(shape);
            std::vector<float> v(n);
            for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(i);
            const auto t = Tensor<float>::from(v, shape);
            const auto got = ops::transpose(t, static_cast<std::int64_t>(dims.first),
                                            static_cast<std::int64_t>(dims.second))
                                 .to_vector();
            // Reference: walk out's indices with an odometer, read in at the swapped index.
            Shape out_shape = shape;
            std::swap(out_shape[dims.first], out_shape[dims.second]);
            std::vector<std::size_t> idx(shape.size(), 0), in_idx(shape.size());
            bool same = got.size() == n;
            for (std::size_t o = 0; same && o < n; ++o) {
                in_idx = idx;
                std::swap(in_idx[dims.first], in_idx[dims.second]);
                std::size_t flat = 0;
                for (std::size_t k = 0; k < shape.size(); ++k) flat = flat * shape[k] + in_idx[k];
                same = got[o] == v[flat];
                for (std::size_t k = shape.size(); k-- > 0;) {
                    if (++idx[k] < out_shape[k]) break;
                    idx[k] = 0;
                }
            }
            CHECK(same);
        }
    }
    set_num_threads(before);
}
