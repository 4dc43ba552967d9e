// Backend-generic known-answer checks, written once as templates over the backend B and
// run by tests/test_backend_generic.cpp (cpu) and tests/cuda/test_cuda_backend.cu (cuda).
// Each takes host values, runs on B, and compares with answers worked out by hand.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nnlite/nn/module_conversion.hpp>
#include <nnlite/nnlite.hpp>
#include <vector>

namespace backend_checks {

using namespace nnlite;

template <class T>
void check_close(const std::vector<T>& got, const std::vector<T>& want, double tol = 1e-5) {
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("element " << i);
        CHECK(static_cast<double>(got[i]) ==
              doctest::Approx(static_cast<double>(want[i])).epsilon(tol).scale(1.0));
    }
}

template <class B, class T = float>
Tensor<T, B> on(const std::vector<T>& v, const Shape& s, bool grad = false) {
    auto t = Tensor<T, cpu>::from(v, s).template to<B>();
    if (grad) t.requires_grad_(true);
    return t;
}

/// Creation, host round trips and backend conversion keep values and requires_grad.
template <class B>
void creation_and_conversion() {
    auto z = Tensor<float, B>::zeros({2, 3});
    check_close(z.to_vector(), std::vector<float>(6, 0.f));
    CHECK(Tensor<float, B>::full({4}, 2.5f).at({3}) == 2.5f);
    auto x = on<B>({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    CHECK(x.requires_grad());
    CHECK(x.is_leaf());
    auto back = x.template to<cpu>();
    CHECK(back.requires_grad());
    CHECK(back.to_vector() == std::vector<float>{1, 2, 3, 4, 5, 6});
    CHECK(x.clone().to_vector() == x.to_vector());
    auto ids = Tensor<std::int64_t, cpu>::from({3, 0, 2}).template to<B>();
    CHECK(ids.to_vector() == std::vector<std::int64_t>{3, 0, 2});
}

/// Broadcasting arithmetic and pointwise functions, forward and backward.
template <class B>
void arithmetic_and_pointwise() {
    auto a = on<B>({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    auto b = on<B>({10, 20, 30}, {3}, true);
    auto y = ops::mul(ops::add(a, b), a);  // (a + b) * a
    check_close(y.to_vector(), {11, 44, 99, 56, 125, 216});
    ops::sum(y).backward();
    // d/da = 2a + b, d/db = sum over rows of a
    check_close(a.grad().to_vector(), {12, 24, 36, 18, 30, 42});
    check_close(b.grad().to_vector(), {5, 7, 9});

    auto c = on<B>({-1, 0, 2}, {3}, true);
    auto s = ops::sigmoid(c);
    check_close(s.to_vector(), {0.26894142f, 0.5f, 0.88079708f});
    auto r = ops::relu(c);
    check_close(r.to_vector(), {0, 0, 2});
    ops::sum(ops::add(s, r)).backward();
    check_close(c.grad().to_vector(), {0.19661193f, 0.25f, 1.10499362f});
    auto d = on<B>({2, 8}, {2});
    check_close(ops::div(d, on<B>({4}, {1})).to_vector(), {0.5f, 2.f});
}

/// Sums, means, max (with its argmax gradient) and softmax along a dim.
template <class B>
void reductions_and_softmax() {
    auto x = on<B>({1, 5, 3, 4, 2, 6}, {2, 3}, true);
    check_close(ops::sum(x, 1).to_vector(), {9, 12});
    check_close(ops::mean(x, 0).to_vector(), {2.5f, 3.5f, 4.5f});
    auto m = ops::max(x, 1);
    check_close(m.first.to_vector(), {5, 6});
    ops::sum(m.first).backward();
    check_close(x.grad().to_vector(), {0, 1, 0, 0, 0, 1});
    auto s = ops::softmax(on<B>({0, 1, 2}, {1, 3}), 1);
    check_close(s.to_vector(), {0.09003057f, 0.24472847f, 0.66524096f});
    auto ls = ops::log_softmax(on<B>({0, 1, 2}, {1, 3}), 1);
    check_close(ls.to_vector(), {-2.40760596f, -1.40760596f, -0.40760596f});
}

/// Matmul (batched and 2-D), linear, transpose, concat and narrow.
template <class B>
void matmul_and_shapes() {
    auto a = on<B>({1, 2, 3, 4}, {2, 2}, true);
    auto b = on<B>({5, 6, 7, 8}, {2, 2}, true);
    auto c = ops::matmul(a, b);
    check_close(c.to_vector(), {19, 22, 43, 50});
    ops::sum(c).backward();
    check_close(a.grad().to_vector(), {11, 15, 11, 15});
    check_close(b.grad().to_vector(), {4, 4, 6, 6});
    auto w = on<B>({1, 0, -1, 2, 1, 0}, {2, 3});
    auto bias = on<B>({0.5f, -0.5f}, {2});
    auto l = ops::linear(on<B>({1, 2, 3}, {1, 3}), w, bias);
    check_close(l.to_vector(), {-1.5f, 3.5f});
    check_close(ops::transpose(on<B>({1, 2, 3, 4, 5, 6}, {2, 3}), 0, 1).to_vector(),
                {1, 4, 2, 5, 3, 6});
    auto cat = ops::concat(
        std::vector<Tensor<float, B>>{on<B>({1, 2}, {1, 2}), on<B>({3, 4, 5}, {1, 3})}, 1);
    check_close(cat.to_vector(), {1, 2, 3, 4, 5});
    check_close(ops::narrow(cat, 1, 1, 3).to_vector(), {2, 3, 4});
}

/// Embedding lookup with a padding row that gets no gradient; gather.
template <class B>
void embedding_and_gather() {
    auto w = on<B>({0, 0, 1, 2, 3, 4}, {3, 2}, true);
    auto ids = Tensor<std::int64_t, cpu>::from({1, 0, 1, 2}).template to<B>();
    auto e = ops::embedding(w, ids, std::int64_t{0});
    check_close(e.to_vector(), {1, 2, 0, 0, 1, 2, 3, 4});
    ops::sum(e).backward();
    check_close(w.grad().to_vector(), {0, 0, 2, 2, 1, 1});
    auto x = on<B>({1, 2, 3, 4}, {2, 2});
    auto gi = Tensor<std::int64_t, cpu>::from(std::vector<std::int64_t>{1, 1, 0, 1}, {2, 2})
                  .template to<B>();
    check_close(ops::gather(x, 1, gi).to_vector(), {2, 2, 3, 4});
    auto bad = Tensor<std::int64_t, cpu>::from({5}).template to<B>();
    CHECK_THROWS_WITH_AS(ops::embedding(w, bad), doctest::Contains("out of range [0, 3)"),
                         IndexError);
}

/// bce_with_logits against values from the stable formula.
template <class B>
void bce_loss() {
    auto x = on<B>({-2, 0, 3}, {3}, true);
    auto y = on<B>({0, 1, 1}, {3});
    auto l = ops::bce_with_logits(x, y, ops::Reduction::sum);
    // log1p(e^-2) + log 2 + log1p(e^-3)
    CHECK(l.item() == doctest::Approx(0.126928 + 0.693147 + 0.048587).epsilon(1e-5));
    l.backward();
    check_close(x.grad().to_vector(), {0.11920292f, -0.5f, -0.04742587f});
}

/// The dropout mask made on B equals the host next_u32() mask, from any stream position
/// (including a partly used Philox block), and the generator ends in the same state.
template <class B>
void dropout_mask_matches_host_stream() {
    for (std::size_t skip : {0u, 1u, 3u, 5u}) {
        for (std::size_t n : {1u, 7u, 64u, 1001u}) {
            Generator host(1234), dev(1234);
            for (std::size_t i = 0; i < skip; ++i) {
                (void)host.next_u32();
                (void)dev.next_u32();
            }
            const auto want = ops::dropout_mask<float>(n, 0.3, host);
            const auto got = ops::dropout_mask_tensor<float, B>(Shape{n}, 0.3, dev).to_vector();
            INFO("skip " << skip << ", n " << n);
            CHECK(got == want);
            CHECK(host.next_u32() == dev.next_u32());
        }
    }
}

/// One Adam step and one SGD-with-momentum step on known numbers.
template <class B>
void optimizer_steps() {
    auto p = on<B>({1, -2}, {2}, true);
    p.set_grad(on<B>({0.5f, -1}, {2}));
    optim::Adam<float, B> adam({p}, optim::AdamOptions(0.1));
    adam.step();
    // First Adam step moves each weight by lr * sign(g) (up to eps).
    check_close(p.to_vector(), {0.9f, -1.9f}, 1e-4);
    auto q = on<B>({1, 1}, {2}, true);
    optim::SGD<float, B> sgd({q}, optim::SGDOptions(0.5).momentum(0.9));
    q.set_grad(on<B>({1, 2}, {2}));
    sgd.step();
    sgd.step();  // buf = 1.9 g; q = 1 - 0.5 g - 0.5 * 1.9 g
    check_close(q.to_vector(), {1 - 0.5f - 0.95f, 1 - 1.f - 1.9f});
}

/// clip_grad_norm scales by max_norm / (total + 1e-6); clip_grad_value clamps.
template <class B>
void clipping() {
    auto a = on<B>({0, 0}, {2}, true);
    auto b = on<B>({0}, {1}, true);
    a.set_grad(on<B>({3, 0}, {2}));
    b.set_grad(on<B>({4}, {1}));
    const double total = nn::clip_grad_norm(std::vector<Tensor<float, B>>{a, b}, 1.0);
    CHECK(total == doctest::Approx(5.0));
    check_close(a.grad().to_vector(), {0.6f, 0.f}, 1e-5);
    check_close(b.grad().to_vector(), {0.8f}, 1e-5);
    nn::clip_grad_value(std::vector<Tensor<float, B>>{a, b}, 0.7);
    check_close(a.grad().to_vector(), {0.6f, 0.f}, 1e-5);
    check_close(b.grad().to_vector(), {0.7f}, 1e-5);
}

/// A module converted to B (and back) holds the same parameters and gives the same output.
template <class B>
void module_conversion() {
    Generator gen(7);
    nn::Linear<float> fc(3, 2, gen);
    fc.eval();
    auto moved = nn::convert_module<B>(fc, 3, 2);
    CHECK_FALSE(moved->is_training());
    auto x = Tensor<float>::from(std::vector<float>{1, -1, 2, 0.5f, 0, -2}, {2, 3});
    check_close(moved->forward(x.template to<B>()).to_vector(), fc.forward(x).to_vector());
    auto back = nn::convert_module<cpu>(*moved, 3, 2);
    CHECK(back->state_dict().at("weight").to_vector() == fc.weight.to_vector());
    nn::Linear<float, B> wrong(4, 2);
    CHECK_THROWS_WITH_AS(nn::copy_module_state(fc, wrong), doctest::Contains("weight"), ShapeError);
}

}  // namespace backend_checks
