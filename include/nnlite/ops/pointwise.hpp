// Differentiable pointwise functions: exp, log, sigmoid, tanh, relu. Each backward uses
// whichever of the saved input or output gives the cheaper, more accurate derivative.
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

namespace detail {

template <class T, class B>
Tensor<T, B> unary_op(UnaryOp op, const char* backward_name, const Tensor<T, B>& x) {
    auto out = Tensor<T, B>::empty(x.shape());
    kernels<B>::unary(op, out.data(), x.data(), x.numel());
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>(backward_name, {x}, {out},
                               [op, xd = x.detach(), od = out.detach()](const auto& g) {
                                   auto gin = Tensor<T, B>::empty(xd.shape());
                                   kernels<B>::unary_backward(op, gin.data(), g[0].data(),
                                                              xd.data(), od.data(), xd.numel());
                                   return std::vector<Tensor<T, B>>{gin};
                               });
    }
    return out;
}

}  // namespace detail

template <class T, class B>
Tensor<T, B> exp(const Tensor<T, B>& x) {
    return detail::unary_op(UnaryOp::exp, "ExpBackward", x);
}
template <class T, class B>
Tensor<T, B> log(const Tensor<T, B>& x) {
    return detail::unary_op(UnaryOp::log, "LogBackward", x);
}
template <class T, class B>
Tensor<T, B> sigmoid(const Tensor<T, B>& x) {
    return detail::unary_op(UnaryOp::sigmoid, "SigmoidBackward", x);
}
template <class T, class B>
Tensor<T, B> tanh(const Tensor<T, B>& x) {
    return detail::unary_op(UnaryOp::tanh, "TanhBackward", x);
}
template <class T, class B>
Tensor<T, B> relu(const Tensor<T, B>& x) {
    return detail::unary_op(UnaryOp::relu, "ReluBackward", x);
}

}  // namespace nnlite::ops
