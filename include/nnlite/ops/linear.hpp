// The affine map of nn::Linear as one differentiable op: y = x W^T + b for x [..., in],
// W [out, in], b [out] (optional). All leading dims of x are flattened into the GEMM's M,
// and W is read transposed by BLAS rather than copied.
//
// Backward, with x and dy viewed as [N, in] and [N, out]:
//   dx = dy W          [N, out] x [out, in]
//   dW = dy^T x        [out, N] x [N, in]
//   db = sum_n dy[n]   (column sums)
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// y = x W^T + b. `bias` may be an undefined Tensor (no bias).
template <class T, class B>
Tensor<T, B> linear(const Tensor<T, B>& x, const Tensor<T, B>& weight,
                    const Tensor<T, B>& bias = Tensor<T, B>()) {
    check<ShapeError>(weight.dim() == 2, "linear: weight must be 2-D [out_features, in_features], ",
                      "got ", to_string(weight.shape()));
    const std::size_t out_f = weight.size(0), in_f = weight.size(1);
    check<ShapeError>(x.dim() >= 1 && x.shape().back() == in_f, "linear: input of shape ",
                      to_string(x.shape()), " has last dim ", x.dim() ? x.shape().back() : 0,
                      ", expected in_features = ", in_f, " (weight ", to_string(weight.shape()),
                      ")");
    const bool has_bias = bias.defined();
    if (has_bias)
        check<ShapeError>(bias.shape() == Shape{out_f}, "linear: bias of shape ",
                          to_string(bias.shape()), " does not match out_features = ", out_f);
    const std::size_t n_rows = numel(Shape(x.shape().begin(), x.shape().end() - 1));
    Shape out_shape = x.shape();
    out_shape.back() = out_f;
    auto out = Tensor<T, B>::empty(out_shape);
    if (n_rows && out_f) {
        kernels<B>::gemm_batched(false, true, 1, n_rows, out_f, in_f, T(1), x.data(), 0,
                                 weight.data(), 0, T(0), out.data(), 0);
        if (has_bias)
            kernels<B>::binary(BinaryOp::add, Shape{n_rows, out_f}, out.data(), out.data(),
                               Shape{n_rows, out_f}, bias.data(), Shape{out_f});
    }
    const bool gx = x.requires_grad(), gw = weight.requires_grad(),
               gb = has_bias && bias.requires_grad();
    if (is_grad_enabled() && (gx || gw || gb)) {
        std::vector<Tensor<T, B>> inputs{x, weight};
        if (has_bias) inputs.push_back(bias);
        autograd::record<T, B>(
            "LinearBackward", inputs, {out},
            [xd = x.detach(), wd = weight.detach(), n_rows, in_f, out_f, gx, gw, gb,
             has_bias](const auto& g) {
                std::vector<Tensor<T, B>> r(has_bias ? 3 : 2);
                const T* dy = g[0].data();
                if (gx) {
                    r[0] = Tensor<T, B>::zeros(xd.shape());
                    if (n_rows && in_f && out_f)
                        kernels<B>::gemm_batched(false, false, 1, n_rows, in_f, out_f, T(1), dy, 0,
                                                 wd.data(), 0, T(0), r[0].data(), 0);
                }
                if (gw) {
                    r[1] = Tensor<T, B>::zeros(wd.shape());
                    if (n_rows && in_f && out_f)
                        kernels<B>::gemm_batched(true, false, 1, out_f, in_f, n_rows, T(1), dy, 0,
                                                 xd.data(), 0, T(0), r[1].data(), 0);
                }
                if (gb) {
                    r[2] = Tensor<T, B>::empty(Shape{out_f});
                    kernels<B>::sum_to(dy, Shape{n_rows, out_f}, r[2].data(), Shape{out_f});
                }
                return r;
            });
    }
    return out;
}

}  // namespace nnlite::ops
