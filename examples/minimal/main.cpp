// The smallest complete nnlite program: fit y = 2x + 1 by gradient descent.
// Forward with tensor ops, loss.backward() for the gradients, a hand-written SGD step.
// Exits non-zero unless the fit recovers the line, so CI runs it as a test.
#include <cmath>
#include <cstdio>
#include <nnlite/nnlite.hpp>

using nnlite::Tensor;
namespace ops = nnlite::ops;

int main() {
    nnlite::Generator gen(7);
    // 64 noisy samples of y = 2x + 1 with x in [-1, 1).
    auto x = Tensor<float>::uniform({64, 1}, -1.f, 1.f, gen);
    auto noise = Tensor<float>::normal({64, 1}, 0.f, 0.05f, gen);
    auto y = 2.f * x + 1.f + noise;

    auto w = Tensor<float>::zeros({1, 1}).requires_grad_();
    auto b = Tensor<float>::zeros({1}).requires_grad_();
    const float lr = 0.1f;
    float loss_value = 0.f;
    for (int step = 0; step <= 100; ++step) {
        auto pred = ops::matmul(x, w) + b;  // [64,1] + [1] broadcasts
        auto loss = ops::mse(pred, y);
        loss.backward();
        loss_value = loss.item();
        if (step % 10 == 0) std::printf("step %3d  loss %.5f\n", step, double(loss_value));
        // SGD: p -= lr * dL/dp, then clear the accumulated gradient.
        for (auto* p : {&w, &b}) {
            p->data()[0] -= lr * p->grad().data()[0];
            p->zero_grad();
        }
    }
    const double w_fit = w.item(), b_fit = b.item();
    std::printf("learned w = %.4f (true 2), b = %.4f (true 1)\n", w_fit, b_fit);
    // The noise (sd 0.05) bounds the loss below at ~0.0025 and moves w, b by ~0.01.
    const bool ok =
        std::abs(w_fit - 2.0) < 0.05 && std::abs(b_fit - 1.0) < 0.05 && loss_value < 0.005f;
    if (!ok) std::fprintf(stderr, "minimal_example: did not converge\n");
    return ok ? 0 : 1;
}
