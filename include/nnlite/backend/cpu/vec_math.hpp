// Vectorisable exp / sigmoid / tanh over arrays, for the fused LSTM gate kernels.
//
// libm's expf/tanhf are scalar calls (~10-20 ns each); an LSTM step evaluates 5 of them per
// hidden unit per row, which costs as much as the step's recurrent GEMM. The float versions
// here are branch-free polynomial approximations (Cephes' expf and tanhf) that GCC and
// Clang auto-vectorise at -O3 (Clang also at -O2) for whatever instruction set the user compiles
// for (SSE2 by default, AVX2/AVX-512 with -march): no intrinsics, no extra dependency.
//
// Accuracy (float): exp within 2 ulp over [-87, 88]; sigmoid and tanh within 3e-7
// absolute and a few ulp relative over the whole line (tests/test_lstm.cpp checks them
// against the double-precision functions). Other types (double: gradcheck and the
// reference tests) use the exact libm functions, so double results are unchanged.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "nnlite/backend/functors.hpp"

// GCC will not if-convert a float comparison while -ftrapping-math (its default) says the
// comparison may raise FE_INVALID, so a loop holding a select (clamp, floor fix-up, the
// tanh branch) stays scalar. These functions raise nothing a program could observe (no
// NaN is compared on purpose; results are the same), so the float kernels below are
// compiled without trapping-math semantics, and only they.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")
#endif

namespace nnlite::vec {

namespace detail {

/// e^x for x in [-87.3, 88.3] (clamped outside): x = n ln2 + r, |r| <= ln2/2, e^r by a
/// degree-7 polynomial, 2^n put straight into the exponent bits.
inline float exp_approx(float x) {
    x = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    // NaN passes the clamp: it must come out as NaN (through r below), but converting it to
    // int is undefined, so n is computed from 0 instead (finite x: unchanged, bit for bit).
    const float xn = x == x ? x : 0.0f;
    const float fx = xn * 1.44269504088896341f + 0.5f;
    int n = static_cast<int>(fx);  // truncation; fix up to floor for negatives
    n -= static_cast<float>(n) > fx ? 1 : 0;
    const float fn = static_cast<float>(n);
    // ln2 split in two so that r keeps full precision (Cody-Waite).
    const float r = (x - fn * 0.693359375f) - fn * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const std::uint32_t bits = static_cast<std::uint32_t>(n + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

inline float sigmoid_approx(float x) {
    return 1.0f / (1.0f + exp_approx(-x));
}

/// tanh: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would cancel), the exp form
/// elsewhere; both are computed and one selected, so the loop stays branch-free.
inline float tanh_approx(float x) {
    const float ax = x < 0.f ? -x : x;
    const float z = x * x;
    float small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * x + x;
    const float big_abs = 1.0f - 2.0f / (exp_approx(2.0f * ax) + 1.0f);
    const float big = x < 0.f ? -big_abs : big_abs;
    return ax < 0.625f ? small : big;
}

}  // namespace detail

/// out[i] = sigmoid(in[i]); out may equal in. Types other than float use the one exact
/// sigmoid of every backend (backend/functors.hpp); float uses sigmoid_approx above, a
/// different algorithm (a branch-free polynomial exp, not libm's) that stays here because
/// it exists to be auto-vectorised on the CPU.
template <class T>
inline void sigmoid(T* out, const T* in, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = ::nnlite::detail::sigmoid_scalar(in[i]);
}
inline void sigmoid(float* out, const float* in, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = detail::sigmoid_approx(in[i]);
}

/// out[i] = tanh(in[i]); out may equal in.
template <class T>
inline void tanh(T* out, const T* in, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::tanh(in[i]);
}
inline void tanh(float* out, const float* in, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = detail::tanh_approx(in[i]);
}

}  // namespace nnlite::vec

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
