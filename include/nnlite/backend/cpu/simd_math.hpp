// exp, sigmoid and tanh on whole vector registers (gemm/simd.hpp's Simd), for kernels that
// arrange their own lanes: the fused LSTM step's epilogue (lstm_step.hpp) puts two rows of
// UB = W/2 hidden units in one register, where the compiler, given one row of UB units at
// a time, vectorised at half the register width (or not at all).
//
// The algorithms are vec_math.hpp's (Cephes' expf range reduction and degree-7 polynomial,
// the odd tanh polynomial below |x| = 0.625), with two differences:
//   - floor and 2^n use the ISA's instructions (AVX-512: vrndscaleps, vscalefps);
//   - 1/d is the hardware reciprocal estimate refined by one Newton step (AVX-512's 14-bit
//     vrcp14ps, AVX2's 12-bit vrcpps) instead of a division, which is 10-16 cycles per
//     register and the bottleneck otherwise; the portable path divides.
// Accuracy (tests/test_cpu_gemm.cpp checks each compiled width against double): sigmoid
// and tanh within 4e-7 absolute over the whole line, NaN in gives NaN out.
#pragma once

#include <cstddef>

#include "nnlite/backend/cpu/gemm/simd.hpp"

namespace nnlite::cpu_gemm::simd_math {

/// e^x lane by lane, x clamped to [-87.3, 88.3] (NaN passes the clamp: max/min return
/// their second operand when either is NaN).
template <class S = Simd>
NNLITE_SIMD_INLINE inline typename S::reg exp(typename S::reg x) {
    using R = typename S::reg;
    x = S::min(S::bcast(88.3f), S::max(S::bcast(-87.3f), x));
    const R fn = S::floor(S::fma(x, S::bcast(1.44269504088896341f), S::bcast(0.5f)));
    // ln2 split in two so that r keeps full precision (Cody-Waite).
    const R r = S::fnma(fn, S::bcast(-2.12194440e-4f), S::fnma(fn, S::bcast(0.693359375f), x));
    R p = S::bcast(1.9875691500e-4f);
    p = S::fma(p, r, S::bcast(1.3981999507e-3f));
    p = S::fma(p, r, S::bcast(8.3334519073e-3f));
    p = S::fma(p, r, S::bcast(4.1665795894e-2f));
    p = S::fma(p, r, S::bcast(1.6666665459e-1f));
    p = S::fma(p, r, S::bcast(5.0000001201e-1f));
    p = S::add(S::fma(S::mul(p, r), r, r), S::bcast(1.f));
    return S::scale2(p, fn);
}

/// 1 / (1 + e^-x).
template <class S = Simd>
NNLITE_SIMD_INLINE inline typename S::reg sigmoid(typename S::reg x) {
    return S::recip(S::add(S::bcast(1.f), exp<S>(S::sub(S::zero(), x))));
}

/// tanh: the odd polynomial below |x| = 0.625, 1 - 2/(e^2|x| + 1) with x's sign above.
template <class S = Simd>
NNLITE_SIMD_INLINE inline typename S::reg tanh(typename S::reg x) {
    using R = typename S::reg;
    const R ax = S::abs(x), z = S::mul(x, x);
    R small = S::bcast(-5.70498872745e-3f);
    small = S::fma(small, z, S::bcast(2.06390887954e-2f));
    small = S::fma(small, z, S::bcast(-5.37397155531e-2f));
    small = S::fma(small, z, S::bcast(1.33314422036e-1f));
    small = S::fma(small, z, S::bcast(-3.33332819422e-1f));
    small = S::fma(S::mul(small, z), x, x);
    const R e = exp<S>(S::add(ax, ax));
    const R big_abs = S::fnma(S::bcast(2.f), S::recip(S::add(e, S::bcast(1.f))), S::bcast(1.f));
    const R big = S::select_lt(x, S::zero(), S::sub(S::zero(), big_abs), big_abs);
    return S::select_lt(ax, S::bcast(0.625f), small, big);
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
