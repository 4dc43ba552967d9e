// Losses: bce_with_logits (stable for any |logit|), cross_entropy over class logits with
// integer targets, and mse. Each takes a Reduction like PyTorch (mean by default).
#pragma once

#include <cstdint>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/ops/arithmetic.hpp"
#include "nnlite/ops/indexing.hpp"
#include "nnlite/ops/reduction.hpp"
#include "nnlite/ops/softmax.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

enum class Reduction { none, mean, sum };

namespace detail {
template <class T, class B>
Tensor<T, B> reduce_loss(const Tensor<T, B>& elems, Reduction r) {
    switch (r) {
        case Reduction::none:
            return elems;
        case Reduction::sum:
            return sum(elems);
        case Reduction::mean:
            break;
    }
    return mean(elems);
}
}  // namespace detail

/// Binary cross-entropy on logits: max(x,0) - x*y + log(1 + exp(-|x|)), elementwise, then
/// reduced. `targets` (probabilities in [0, 1]) has the logits' shape and gets no gradient.
template <class T, class B>
Tensor<T, B> bce_with_logits(const Tensor<T, B>& logits, const Tensor<T, B>& targets,
                             Reduction reduction = Reduction::mean) {
    check<ShapeError>(logits.shape() == targets.shape(), "bce_with_logits: logits shape ",
                      to_string(logits.shape()), " differs from targets shape ",
                      to_string(targets.shape()));
    auto elems = Tensor<T, B>::empty(logits.shape());
    kernels<B>::bce_with_logits(logits.data(), targets.data(), logits.numel(), elems.data());
    if (autograd::any_requires_grad(logits)) {
        autograd::record<T, B>("BceWithLogitsBackward", {logits}, {elems},
                               [xd = logits.detach(), yd = targets.detach()](const auto& g) {
                                   auto gx = Tensor<T, B>::empty(xd.shape());
                                   kernels<B>::bce_with_logits_backward(
                                       xd.data(), yd.data(), g[0].data(), xd.numel(), gx.data());
                                   return std::vector<Tensor<T, B>>{gx};
                               });
    }
    return detail::reduce_loss(elems, reduction);
}

/// Cross-entropy of logits [N, C] against class ids [N] (int32 or int64):
/// -log_softmax(logits)[n, target[n]].
template <class T, class B, class I>
Tensor<T, B> cross_entropy(const Tensor<T, B>& logits, const Tensor<I, B>& targets,
                           Reduction reduction = Reduction::mean) {
    check<ShapeError>(logits.dim() == 2, "cross_entropy: logits must be [N, C], got ",
                      to_string(logits.shape()));
    check<ShapeError>(targets.dim() == 1 && targets.size(0) == logits.size(0),
                      "cross_entropy: targets shape ", to_string(targets.shape()),
                      " does not match logits shape ", to_string(logits.shape()));
    // Checked here so the message names the loss and the class count, not gather's index.
    detail::check_indices(targets, logits.size(1), "cross_entropy", "target");
    auto logp = log_softmax(logits, 1);
    auto idx = reshape(targets.detach(), {static_cast<std::int64_t>(targets.numel()), 1});
    auto picked = reshape(gather(logp, 1, idx), {static_cast<std::int64_t>(targets.numel())});
    return detail::reduce_loss(neg(picked), reduction);
}

/// Mean squared error (a - b)^2, reduced; gradients flow to both operands.
template <class T, class B>
Tensor<T, B> mse(const Tensor<T, B>& a, const Tensor<T, B>& b,
                 Reduction reduction = Reduction::mean) {
    check<ShapeError>(a.shape() == b.shape(), "mse: input shape ", to_string(a.shape()),
                      " differs from target shape ", to_string(b.shape()));
    auto diff = sub(a, b);
    return detail::reduce_loss(mul(diff, diff), reduction);
}

}  // namespace nnlite::ops
