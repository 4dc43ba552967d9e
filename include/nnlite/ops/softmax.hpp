// Differentiable softmax and log_softmax along a dim (max-shifted, so large logits do
// not overflow). Backward uses the saved output only.
#pragma once

#include <cstdint>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

namespace detail {
template <class T, class B>
Tensor<T, B> softmax_impl(const Tensor<T, B>& x, std::int64_t dim, bool log) {
    const std::size_t d = normalize_dim(dim, x.dim(), log ? "log_softmax" : "softmax");
    const auto sp = split_at(x.shape(), d);
    auto out = Tensor<T, B>::empty(x.shape());
    kernels<B>::softmax(x.data(), sp.outer, sp.len, sp.inner, out.data(), log);
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>(log ? "LogSoftmaxBackward" : "SoftmaxBackward", {x}, {out},
                               [sp, log, od = out.detach()](const auto& g) {
                                   auto gx = Tensor<T, B>::empty(od.shape());
                                   kernels<B>::softmax_backward(g[0].data(), od.data(), sp.outer,
                                                                sp.len, sp.inner, gx.data(), log);
                                   return std::vector<Tensor<T, B>>{gx};
                               });
    }
    return out;
}
}  // namespace detail

template <class T, class B>
Tensor<T, B> softmax(const Tensor<T, B>& x, std::int64_t dim) {
    return detail::softmax_impl(x, dim, false);
}
template <class T, class B>
Tensor<T, B> log_softmax(const Tensor<T, B>& x, std::int64_t dim) {
    return detail::softmax_impl(x, dim, true);
}

}  // namespace nnlite::ops
