// Differentiable matrix products: matmul of 2-D x 2-D, and batched 3-D x 3-D (a 2-D
// operand broadcasts over the batch), all on BLAS GEMM. Backward: dA = dC * B^T,
// dB = A^T * dC (summed over the batch for a broadcast 2-D operand).
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// Sum over the leading (batch) dim: [b, m, n] -> [m, n]; not recorded.
template <class T, class B>
Tensor<T, B> reduce_dim0(const Tensor<T, B>& x) {
    Shape s(x.shape().begin() + 1, x.shape().end());
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::reduce_dim(ReduceOp::sum, x.data(), 1, x.size(0), numel(s), out.data(), nullptr);
    return out;
}

namespace detail {

// C = op(A) op(B) with A: [bA?, m, k] and B: [bB?, k, n]; 2-D operands broadcast.
template <class T, class B>
Tensor<T, B> matmul_raw(const Tensor<T, B>& a, bool ta, const Tensor<T, B>& b, bool tb) {
    const bool a3 = a.dim() == 3, b3 = b.dim() == 3;
    const std::size_t batch = a3 ? a.size(0) : (b3 ? b.size(0) : 1);
    const std::size_t ar = a.size(-2), ac = a.size(-1), br = b.size(-2), bc = b.size(-1);
    const std::size_t m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc;
    Shape out_shape = (a3 || b3) ? Shape{batch, m, n} : Shape{m, n};
    auto out = Tensor<T, B>::empty(out_shape);
    kernels<B>::gemm_batched(ta, tb, batch, m, n, k, T(1), a.data(), a3 ? ar * ac : 0, b.data(),
                             b3 ? br * bc : 0, T(0), out.data(), m * n);
    return out;
}

}  // namespace detail

/// Matrix product. [m,k] x [k,n] -> [m,n]; [b,m,k] x [b,k,n] -> [b,m,n];
/// [b,m,k] x [k,n] and [m,k] x [b,k,n] broadcast the 2-D operand.
template <class T, class B>
Tensor<T, B> matmul(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    check<ShapeError>((a.dim() == 2 || a.dim() == 3) && (b.dim() == 2 || b.dim() == 3),
                      "matmul: ", to_string(a.shape()), " x ", to_string(b.shape()),
                      ": operands must be 2-D or 3-D");
    check<ShapeError>(a.size(-1) == b.size(-2), "matmul: ", to_string(a.shape()), " x ",
                      to_string(b.shape()), ": inner dimensions differ");
    check<ShapeError>(!(a.dim() == 3 && b.dim() == 3) || a.size(0) == b.size(0),
                      "matmul: ", to_string(a.shape()), " x ", to_string(b.shape()),
                      ": batch sizes differ");
    auto out = detail::matmul_raw(a, false, b, false);
    if (autograd::any_requires_grad(a, b)) {
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        autograd::record<T, B>("MatmulBackward", {a, b}, {out},
                               [ad = a.detach(), bd = b.detach(), ga, gb](const auto& g) {
                                   std::vector<Tensor<T, B>> r(2);
                                   if (ga) {
                                       auto da = detail::matmul_raw(g[0], false, bd, true);
                                       r[0] = da.dim() == ad.dim() ? da : reduce_dim0(da);
                                   }
                                   if (gb) {
                                       auto db = detail::matmul_raw(ad, true, g[0], false);
                                       r[1] = db.dim() == bd.dim() ? db : reduce_dim0(db);
                                   }
                                   return r;
                               });
    }
    return out;
}

}  // namespace nnlite::ops
