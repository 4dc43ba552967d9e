// nn::init::orthogonal_ (torch.nn.init.orthogonal_): fills the tensor, viewed as
// [shape[0], numel / shape[0]], with a matrix whose rows or columns (whichever there are
// fewer of) are orthonormal, times gain. PyTorch's recipe: draw a standard normal matrix
// in row-major order, take A = it (or its transpose when it is wider than tall, so A is
// [m, n] with m >= n), factor A = QR with LAPACK (xtensor-blas's xt::linalg::qr: Householder
// geqrf + orgqr, in double), and flip the sign of each column q_j whose r_jj is negative.
// That sign fix makes Q Haar-distributed and unique: column 0 is a_0 / |a_0|.
//
// A separate header from nn/init.hpp because xtensor-blas's headers cost a TU about as much
// compile time as all of nnlite.hpp; only code that calls orthogonal_ includes them.
// Values are generated on the host and copied in, so they do not depend on the backend or
// on the thread count.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xtensor.hpp>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn::init {

/// (Semi-)orthogonal initialisation; see the header comment. For a [rows, cols] view,
/// W W^T = gain^2 I when rows <= cols, W^T W = gain^2 I otherwise.
template <class T, class B>
Tensor<T, B> orthogonal_(Tensor<T, B> t, Generator& gen, double gain = 1.0) {
    check<ValueError>(t.dim() >= 2, "init::orthogonal_: only tensors with 2 or more ",
                      "dimensions are supported, got shape ", to_string(t.shape()));
    const std::size_t rows = t.size(0);
    const std::size_t cols = rows ? t.numel() / rows : 0;
    if (t.numel() == 0) return t;
    const bool transposed = rows < cols;
    const std::size_t m = transposed ? cols : rows, n = transposed ? rows : cols;
    xt::xtensor<double, 2, xt::layout_type::column_major> a({m, n});
    for (std::size_t r = 0; r < rows; ++r)  // the normal draws in row-major order
        for (std::size_t c = 0; c < cols; ++c) {
            const double x = gen.normal(0.0, 1.0);
            if (transposed)
                a(c, r) = x;
            else
                a(r, c) = x;
        }
    const auto qr = xt::linalg::qr(a, xt::linalg::qrmode::reduced);
    const auto& q = std::get<0>(qr);   // [m, n]
    const auto& rf = std::get<1>(qr);  // [n, n]
    std::vector<T> out(rows * cols);
    for (std::size_t j = 0; j < n; ++j) {
        const double rjj = rf(j, j);
        check<ValueError>(rjj != 0.0 && std::isfinite(rjj),
                          "init::orthogonal_: degenerate random matrix (R[", j, ",", j, "] = ", rjj,
                          ")");
        const double sign = rjj < 0.0 ? -1.0 : 1.0;
        for (std::size_t i = 0; i < m; ++i) {
            // Q[i, j] is element (i, j) of W, or (j, i) when transposed.
            const std::size_t pos = transposed ? j * cols + i : i * cols + j;
            out[pos] = static_cast<T>(gain * sign * q(i, j));
        }
    }
    NoGradGuard no_grad;
    B::copy_from_host(t.data(), out.data(), out.size());
    return t;
}

}  // namespace nnlite::nn::init
