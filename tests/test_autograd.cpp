// autograd/: engine (accumulation, diamonds, retain_graph, freeing), misuse errors,
// NoGradGuard, detach, zero_grad, multi-output nodes, deep graphs, and gradcheck itself.
#include <doctest/doctest.h>

#include <pthread.h>

#include <cmath>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE("gradients accumulate across two backwards") {
    auto x = make<double>({1, -2, 3}, {3}).requires_grad_();
    ops::sum(x * x).backward();
    check_values(x.grad(), {3}, {2, -4, 6});
    ops::sum(x * 3.0).backward();  // a fresh graph adds to the same .grad
    check_values(x.grad(), {3}, {5, -1, 9});
}

TEST_CASE("a tensor used twice in one graph gets the sum of both paths") {
    auto x = make<double>({0.5, -1, 2}, {3}).requires_grad_();
    SUBCASE("diamond through two ops") {
        // out = sum(2x * exp(x)): d/dx = 2 exp(x) + 2x exp(x)
        ops::sum((x * 2.0) * ops::exp(x)).backward();
        std::vector<double> expected;
        for (double v : {0.5, -1.0, 2.0}) expected.push_back(2 * std::exp(v) * (1 + v));
        check_values(x.grad(), {3}, expected);
    }
    SUBCASE("shared intermediate") {
        // h = 3x; out = sum(h*h + h): d/dx = 3 (2h + 1)
        auto h = x * 3.0;
        ops::sum(h * h + h).backward();
        check_values(x.grad(), {3}, {3 * (2 * 1.5 + 1), 3 * (2 * -3.0 + 1), 3 * (2 * 6.0 + 1)});
    }
    SUBCASE("same tensor as both operands") {
        ops::sum(x * x * x).backward();  // 3x^2
        check_values(x.grad(), {3}, {0.75, 3, 12});
    }
}

TEST_CASE("retain_graph allows a second backward; without it the second is an error") {
    auto x = make<double>({1, 2}, {2}).requires_grad_();
    auto y = ops::sum(ops::exp(x));
    y.backward({}, true);
    y.backward();  // graph retained by the first call
    check_values(x.grad(), {2}, {2 * std::exp(1.0), 2 * std::exp(2.0)});
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("second time"), AutogradError);
    // The error leaves .grad untouched.
    check_values(x.grad(), {2}, {2 * std::exp(1.0), 2 * std::exp(2.0)});
    // A node freed through one loss cannot be reused through another.
    auto h = ops::tanh(x);
    ops::sum(h).backward();
    CHECK_THROWS_WITH_AS(ops::sum(h * 2.0).backward(), doctest::Contains("TanhBackward"),
                         AutogradError);
}

TEST_CASE("backward misuse is a clear error") {
    auto x = Tensor<double>::ones({2, 3}).requires_grad_();
    auto y = x * 2.0;
    CHECK_THROWS_WITH_AS(y.backward(), doctest::Contains("shape [2,3]"), AutogradError);
    CHECK_THROWS_WITH_AS(y.backward(Tensor<double>::ones({3, 2})),
                         doctest::Contains("gradient of shape [3,2] for a tensor of shape [2,3]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(Tensor<double>::ones({1}).backward(),
                         doctest::Contains("does not require grad"), AutogradError);
    CHECK_THROWS_WITH_AS(y.requires_grad_(false), doctest::Contains("non-leaf"), AutogradError);
    CHECK_THROWS_WITH_AS(Tensor<double>().backward(), doctest::Contains("undefined tensor"),
                         ValueError);
    // The failed calls did not consume the graph: a correct call still works.
    y.backward(make<double>({1, 2, 3, 4, 5, 6}, {2, 3}));
    check_values(x.grad(), {2, 3}, {2, 4, 6, 8, 10, 12});
}

TEST_CASE("backward of a non-scalar with an explicit gradient is a vector-Jacobian product") {
    auto x = make<double>({1, 2, 3}, {3}).requires_grad_();
    auto y = x * x;
    y.backward(make<double>({1, 0.5, -1}, {3}));
    check_values(x.grad(), {3}, {2, 2, -6});
    // A leaf's own backward adds the seed to its gradient.
    auto leaf = make<double>({1, 2}, {2}).requires_grad_();
    leaf.backward(make<double>({3, 4}, {2}));
    check_values(leaf.grad(), {2}, {3, 4});
}

TEST_CASE("NoGradGuard stops recording and restores the previous mode") {
    auto x = make<double>({1, 2}, {2}).requires_grad_();
    CHECK(is_grad_enabled());
    {
        NoGradGuard guard;
        CHECK_FALSE(is_grad_enabled());
        auto y = ops::exp(x) * x;
        CHECK_FALSE(y.requires_grad());
        CHECK(y.grad_fn() == nullptr);
        {
            NoGradGuard nested;
            CHECK_FALSE(is_grad_enabled());
        }
        CHECK_FALSE(is_grad_enabled());  // the inner guard restores "off", not "on"
        CHECK_THROWS_AS(ops::sum(y).backward(), AutogradError);
    }
    CHECK(is_grad_enabled());
    auto z = ops::exp(x);
    CHECK(z.requires_grad());
    CHECK(z.grad_fn() != nullptr);
    CHECK(z.grad_fn()->name() == "ExpBackward");
}

TEST_CASE("a gradient returned for two inputs, or passed through, is never shared by two .grad") {
    // accumulate() takes a backward's fresh result as .grad without copying it only when
    // nothing else holds it: here AddBackward hands the same incoming gradient to both
    // inputs, and the second backward's accumulation into a.grad must not reach b.grad.
    auto a = make<double>({1, 2}, {2}).requires_grad_();
    auto b = make<double>({3, 4}, {2}).requires_grad_();
    ops::sum(a + b).backward();
    check_values(a.grad(), {2}, {1, 1});
    check_values(b.grad(), {2}, {1, 1});
    CHECK_FALSE(a.grad().shares_storage_with(b.grad()));
    ops::sum(a * 3.0).backward();
    check_values(a.grad(), {2}, {4, 4});
    check_values(b.grad(), {2}, {1, 1});
    // The same tensor as both operands of one add: one gradient summed from two paths.
    auto c = make<double>({5}, {1}).requires_grad_();
    ops::sum(c + c).backward();
    check_values(c.grad(), {1}, {2});
    // A fresh result taken as .grad stays private too: x's .grad after set_to_none-style
    // clearing, then accumulation from a second graph.
    auto x = make<double>({1, 2, 3}, {3}).requires_grad_();
    ops::sum(x * x).backward();
    auto kept = x.grad().clone();
    x.set_grad(Tensor<double>());
    ops::sum(x * 2.0).backward();
    ops::sum(x * 2.0).backward();
    check_values(x.grad(), {3}, {4, 4, 4});
    check_values(kept, {3}, {2, 4, 6});
}

TEST_CASE("the embedding's dense gradient becomes .grad without a copy; repeated ids add up") {
    // EmbeddingBackward's result is held by nothing else, so .grad takes its storage: the
    // values are what matter here (each row the sum of its ids' output gradients), and a
    // second backward accumulates into that storage.
    auto w = make<float>({0, 0, 1, 1, 2, 2}, {3, 2}).requires_grad_();
    auto ids = Tensor<std::int64_t>::from({2, 0, 2}, {3});
    auto out = ops::embedding(w, ids);
    auto scale = make<float>({1, 2, 3, 4, 5, 6}, {3, 2});
    ops::sum(out * scale).backward();
    check_values(w.grad(), {3, 2}, {3, 4, 0, 0, 6, 8});
    ops::sum(ops::embedding(w, ids)).backward();
    check_values(w.grad(), {3, 2}, {4, 5, 0, 0, 8, 10});
}

TEST_CASE("detach cuts the graph and shares storage") {
    auto x = make<double>({1, 2, 3}, {3}).requires_grad_();
    auto y = x * 2.0;
    auto d = y.detach();
    CHECK(d.shares_storage_with(y));
    CHECK_FALSE(d.requires_grad());
    CHECK(d.is_leaf());
    d.data()[0] = 100;  // visible through y: same storage
    CHECK(y.at({0}) == 100);
    auto w = make<double>({1, 1, 1}, {3}).requires_grad_();
    ops::sum(d * w).backward();
    check_values(w.grad(), {3}, {100, 4, 6});
    CHECK_FALSE(x.grad().defined());  // nothing flowed through the cut
}

TEST_CASE("zero_grad zeroes in place and the next backward accumulates from zero") {
    auto x = make<double>({1, 2}, {2}).requires_grad_();
    x.zero_grad();  // no gradient yet: a no-op
    CHECK_FALSE(x.grad().defined());
    ops::sum(x * x).backward();
    auto g = x.grad();
    x.zero_grad();
    check_values(x.grad(), {2}, {0, 0});
    CHECK(x.grad().shares_storage_with(g));
    ops::sum(x * 5.0).backward();
    check_values(x.grad(), {2}, {5, 5});
}

TEST_CASE("backward frees the tensors the graph saved, unless the graph is retained") {
    auto x = make<double>({1, 2}, {2}).requires_grad_();
    const auto storage_refs = [&] { return x.impl().storage.use_count(); };
    CHECK(storage_refs() == 1);
    auto y = ops::sum(ops::exp(x));  // ExpBackward saves x (detached: same storage)
    CHECK(storage_refs() == 2);
    y.backward({}, true);
    CHECK(storage_refs() == 2);  // retained
    y.backward();
    CHECK(storage_refs() == 1);  // freed although y and its grad_fn are still alive
    CHECK(y.grad_fn() != nullptr);
}

namespace {
// The values of a hand-written two-output op on x = (1, 3): a = 2x, b = x^2, for the tests
// below to record as one node, like a fused kernel.
struct TwoOutputs {
    Tensor<double> x = make<double>({1, 3}, {2}).requires_grad_();
    Tensor<double> a = Tensor<double>::empty({2}), b = Tensor<double>::empty({2});
    TwoOutputs() {
        for (std::size_t i = 0; i < 2; ++i) {
            a.data()[i] = 2 * x.data()[i];
            b.data()[i] = x.data()[i] * x.data()[i];
        }
    }
};
}  // namespace

TEST_CASE("a node with several outputs gets zeros for an output that received no gradient") {
    TwoOutputs op;
    auto &x = op.x, &a = op.a, &b = op.b;
    std::vector<Shape> seen;
    autograd::record<double, cpu>(
        "TwoOutputBackward", {x}, {a, b}, [xd = x.detach(), &seen](const auto& g) {
            seen = {g[0].shape(), g[1].shape()};
            auto gx = Tensor<double>::empty({2});
            for (std::size_t i = 0; i < 2; ++i)
                gx.data()[i] = 2 * g[0].data()[i] + 2 * xd.data()[i] * g[1].data()[i];
            return std::vector<Tensor<double>>{gx};
        });
    CHECK(a.output_nr() == 0);
    CHECK(b.output_nr() == 1);
    ops::sum(b).backward();  // only the second output is used
    CHECK(seen == std::vector<Shape>{{2}, {2}});
    check_values(x.grad(), {2}, {2, 6});
}

TEST_CASE("a node recorded with materialize_grads = false gets no tensor for an unused output") {
    // The same two-output op, recorded as the LSTM records itself: the engine passes an
    // undefined gradient for the output nothing used, and the backward reads it as zeros.
    TwoOutputs op;
    auto &x = op.x, &a = op.a, &b = op.b;
    std::vector<bool> defined;
    autograd::record<double, cpu>(
        "TwoOutputBackward", {x}, {a, b},
        [xd = x.detach(), &defined](const auto& g) {
            defined = {g[0].defined(), g[1].defined()};
            auto gx = Tensor<double>::zeros({2});
            for (std::size_t i = 0; i < 2; ++i) {
                if (g[0].defined()) gx.data()[i] += 2 * g[0].data()[i];
                if (g[1].defined()) gx.data()[i] += 2 * xd.data()[i] * g[1].data()[i];
            }
            return std::vector<Tensor<double>>{gx};
        },
        /*materialize_grads=*/false);
    ops::sum(b * 2.0).backward();  // only the second output is used
    CHECK(defined == std::vector<bool>{false, true});
    check_values(x.grad(), {2}, {4, 12});
}

namespace {
// Runs f on a thread with a small stack, so that recursion proportional to graph depth
// shows up as a crash at test sizes instead of only at millions of ops.
void run_on_small_stack(void (*f)()) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t th;
    auto trampoline = [](void* fp) -> void* {
        reinterpret_cast<void (*)()>(fp)();
        return nullptr;
    };
    REQUIRE(pthread_create(&th, &attr, trampoline, reinterpret_cast<void*>(f)) == 0);
    pthread_join(th, nullptr);
    pthread_attr_destroy(&attr);
}

double chain_grad = 0, chain_value = 0;
}  // namespace

TEST_CASE("a chain of 10000 ops neither overflows the stack nor loses precision") {
    auto x = make<double>({1}, {1}).requires_grad_();
    auto y = x;
    for (int i = 0; i < 10000; ++i) y = y + 0.5;
    check_values(y, {1}, {5001});
    ops::sum(y).backward();
    check_values(x.grad(), {1}, {1});
}

TEST_CASE("deep graphs are built, backpropagated and destroyed without deep recursion") {
    // 100000 ops on a 256 KiB stack: a recursive engine or graph destructor needs megabytes.
    run_on_small_stack([] {
        auto x = Tensor<double>::full({1}, 0.0).requires_grad_();
        auto y = x;
        for (int i = 0; i < 100000; ++i) y = y * 1.0 + 0.25;
        chain_value = y.item();
        ops::sum(y).backward();
        chain_grad = x.grad().item();
        // A graph dropped without backward still owns every node: the destructor must not
        // recurse through them.
        auto z = x;
        for (int i = 0; i < 100000; ++i) z = z + 1.0;
        z = Tensor<double>();
    });
    CHECK(chain_value == 25000.0);
    CHECK(chain_grad == 1.0);
}

TEST_CASE("gradcheck detects a wrong backward") {
    // x * 2 recorded with a backward that forgets the factor 2.
    auto wrong = [](const std::vector<Tensor<double>>& in) {
        const auto& x = in[0];
        auto out = Tensor<double>::empty(x.shape());
        for (std::size_t i = 0; i < x.numel(); ++i) out.data()[i] = 2 * x.data()[i];
        if (autograd::any_requires_grad(x))
            autograd::record<double, cpu>("WrongBackward", {x}, {out},
                                          [](const auto& g) { return std::vector{g[0].clone()}; });
        return out;
    };
    const auto r = autograd::gradcheck<double, cpu>(wrong, {random_tensor({3}, 81)});
    CHECK_FALSE(r.ok);
    CHECK(r.max_abs_error > 0.4);
    CHECK(r.report.find("input 0 element 0") != std::string::npos);
    // ...and passes a right one composed of recorded ops.
    check_gradients(
        [](const std::vector<Tensor<double>>& in) { return ops::tanh(in[0] * in[1]) + in[0]; },
        {random_tensor({2, 2}, 82), random_tensor({2, 2}, 83)});
}
