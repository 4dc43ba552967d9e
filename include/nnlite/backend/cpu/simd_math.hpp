// sigmoid and tanh on whole vector registers (gemm/simd.hpp's Simd), for kernels that
// arrange their own lanes: the fused LSTM step's epilogue (lstm_step.hpp) puts two rows of
// UB = W/2 hidden units in one register, where the compiler, given one row of UB units at
// a time, vectorised at half the register width (or not at all).
//
// tanh is a rational function, x P(x^2) / Q(x^2) with P of degree 6 and Q of degree 3 in
// x^2, on x clamped to +-9, and exactly +-1 from there on (tanh rounds to 1 in float from
// 9.01); sigmoid(x) is 0.5 + 0.5 tanh(x / 2), so exactly 0 and 1 beyond +-18. The
// coefficients are our own fit (scripts/fit_tanh.cpp: a Lawson-weighted linearised
// least-squares fit of the minimax error on [0, 9], in long double; 6e-9 in exact
// arithmetic, the rest is float rounding). 1/Q is the hardware reciprocal estimate refined
// by one Newton step (AVX-512's 14-bit vrcp14ps, AVX2's 12-bit vrcpps) instead of a
// division, which is 10-16 cycles per register; the portable path divides.
//
// Why not vec_math.hpp's exp-based forms (Cephes' range-reduced exp, and for tanh an odd
// polynomial below |x| = 0.625, both branches computed and one selected): tanh cost ~35
// vector operations that way and ~22 this way, and the step's epilogue (3 sigmoids and 2
// tanh per cell) went from ~150 to ~120 cycles per register pair of rows on the Xeon of
// docs/performance-history.md. The price: sigmoid's accuracy is absolute, not relative, in its
// lower tail (sigmoid(-17) = 4e-8 comes out as about 1.5e-7), which an LSTM gate cannot
// tell from the rounding of its pre-activation.
// Accuracy (tests/test_cpu_gemm.cpp checks each compiled width against double): sigmoid
// and tanh within 4e-7 absolute over the whole line, tanh also within 4e-7 relative near
// 0, odd bit for bit, exactly 0 at 0 and +-1 beyond +-9; NaN in gives NaN out.
#pragma once

#include <cstddef>

#include "nnlite/backend/cpu/gemm/simd.hpp"

namespace nnlite::cpu_gemm::simd_math {

/// tanh(x) = x P(x^2) / Q(x^2) on x clamped to +-9, +-1 beyond (see the file comment).
/// NaN passes the clamp (max/min return their second operand when either is NaN) and fails
/// the z < 81 test, so it comes out of the saturated branch, x / 9: still NaN.
template <class S = Simd>
NNLITE_SIMD_INLINE inline typename S::reg tanh(typename S::reg x) {
    using R = typename S::reg;
    x = S::min(S::bcast(9.f), S::max(S::bcast(-9.f), x));
    const R z = S::mul(x, x);
    R p = S::bcast(-8.290683949e-14f);
    p = S::fma(p, z, S::bcast(5.192462432e-11f));
    p = S::fma(p, z, S::bcast(-2.002911970e-08f));
    p = S::fma(p, z, S::bcast(1.110172525e-05f));
    p = S::fma(p, z, S::bcast(3.098645946e-03f));
    p = S::fma(p, z, S::bcast(1.307915598e-01f));
    p = S::fma(p, z, S::bcast(9.999999404e-01f));
    R q = S::bcast(2.538588305e-04f);
    q = S::fma(q, z, S::bcast(2.447372861e-02f));
    q = S::fma(q, z, S::bcast(4.641247690e-01f));
    q = S::fma(q, z, S::bcast(1.f));
    // Rounding can take the quotient an ulp past +-1 near the clamp: bound it (NaN passes).
    const R one = S::bcast(1.f);
    const R r = S::min(one, S::max(S::sub(S::zero(), one), S::mul(S::mul(p, x), S::recip(q))));
    // At the clamp x is +-9 exactly, and 9 * fl(1/9) rounds to 1: the sign comes along.
    return S::select_lt(z, S::bcast(81.f), r, S::mul(x, S::bcast(1.f / 9.f)));
}

/// 1 / (1 + e^-x) = 0.5 + 0.5 tanh(x / 2).
template <class S = Simd>
NNLITE_SIMD_INLINE inline typename S::reg sigmoid(typename S::reg x) {
    const typename S::reg half = S::bcast(0.5f);
    return S::fma(tanh<S>(S::mul(x, half)), half, half);
}

/// out[i] = tanh(in[i]) for i < n (out may equal in), a register at a time; the last
/// partial register goes through a zero-padded copy, so every element gets the same
/// instructions. The LSTM backward's tanh(c') per row: GCC's vectorisation of the scalar
/// formula (vec_math.hpp) took 5% of a `cpu`-preset backward.
inline void tanh_n(float* out, const float* in, std::size_t n) {
    using S = Simd;
    std::size_t j = 0;
    for (; j + S::W <= n; j += S::W) S::store(out + j, tanh<S>(S::load(in + j)));
    if (j == n) return;
    float tmp[S::W] = {};
    for (std::size_t k = 0; j + k < n; ++k) tmp[k] = in[j + k];
    S::store(tmp, tanh<S>(S::load(tmp)));
    for (std::size_t k = 0; j + k < n; ++k) out[j + k] = tmp[k];
}

}  // namespace nnlite::cpu_gemm::simd_math
