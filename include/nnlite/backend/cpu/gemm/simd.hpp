// The vector registers of nnlite's own SGEMM (gemm/sgemm.hpp), chosen at compile time from
// the user's flags, and the register tile each ISA affords:
//
//   ISA (flags)              vector       tile MR x NR   accumulators  + B vectors + A bcast
//   AVX-512F (__AVX512F__)   16 floats    8 x 32         16 zmm        2  + 1   (of 32)
//   AVX2+FMA (__AVX2__ and   8 floats     6 x 16         12 ymm        2  + 1   (of 16)
//            __FMA__)
//   portable (anything else) 4 floats     6 x 8          12 xmm        2  + 1   (of 16)
//
// The portable path uses the compiler's generic vectors (GCC/Clang vector_size), which
// compile to SSE2 on x86-64 and NEON on AArch64; its multiply-add is a*b + c.
// backend/cpu/isa.hpp's require_compiled_isa() guards the wider paths at run time.
//
// Besides the GEMM's few operations, each Simd has what vector Adam (training_kernels.hpp)
// and the element functions of simd_math.hpp need: min/max (NaN-passing, for the clamp), a
// select, the refined reciprocal, and load2/store2, which fill one register from two
// half-register rows (the LSTM step's epilogue puts two rows of a panel in one register).
#pragma once

#include <cstddef>
#include <cstring>

#include <cmath>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)) || defined(__SSE2__)
#include <immintrin.h>
#endif

// Every operation is one or a few instructions and must inline wherever used: GCC
// otherwise leaves some (load2, the simd_math functions) out of line in large callers and
// passes the registers through memory.
#if defined(__GNUC__)
#define NNLITE_SIMD_INLINE __attribute__((always_inline))
#else
#define NNLITE_SIMD_INLINE
#endif

namespace nnlite::cpu_gemm {

#if defined(__AVX512F__)
struct Simd {
    using reg = __m512;
    static constexpr std::size_t W = 16, MR = 8, NR = 32;
    NNLITE_SIMD_INLINE static reg zero() { return _mm512_setzero_ps(); }
    NNLITE_SIMD_INLINE static reg load(const float* p) { return _mm512_loadu_ps(p); }
    NNLITE_SIMD_INLINE static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
    NNLITE_SIMD_INLINE static reg bcast(float x) { return _mm512_set1_ps(x); }
    NNLITE_SIMD_INLINE static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    NNLITE_SIMD_INLINE static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    NNLITE_SIMD_INLINE static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    NNLITE_SIMD_INLINE static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
    // The zero-masked forms with a full mask (here and below) are the same instructions;
    // GCC 12 warns that the plain forms' undefined pass-through vector "may be used
    // uninitialized" (PR 105593).
    NNLITE_SIMD_INLINE static reg sqrt(reg a) { return _mm512_maskz_sqrt_ps(0xFFFF, a); }
    NNLITE_SIMD_INLINE static reg max(reg a, reg b) {  // b where either is NaN
        return _mm512_maskz_max_ps(0xFFFF, a, b);
    }
    // ---- for the element functions of simd_math.hpp ----
    NNLITE_SIMD_INLINE static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
    // c - a*b
    NNLITE_SIMD_INLINE static reg fnma(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
    // b where either is NaN
    NNLITE_SIMD_INLINE static reg min(reg a, reg b) { return _mm512_maskz_min_ps(0xFFFF, a, b); }
    // a < b ? x : y, lane by lane (false, so y, where a or b is NaN)
    NNLITE_SIMD_INLINE static reg select_lt(reg a, reg b, reg x, reg y) {
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
    }
    // 1/d: the 14-bit estimate and one Newton step (~1 ulp)
    NNLITE_SIMD_INLINE static reg recip(reg d) {
        const reg y = _mm512_maskz_rcp14_ps(0xFFFF, d);
        return fma(y, fnma(d, y, bcast(1.f)), y);
    }
    // Two half-registers: lanes [0, W/2) from p0, [W/2, W) from p1.
    NNLITE_SIMD_INLINE static reg load2(const float* p0, const float* p1) {
        const __m512d lo = _mm512_castps_pd(_mm512_maskz_loadu_ps(0x00FF, p0));
        return _mm512_castpd_ps(
            _mm512_maskz_insertf64x4(0xFF, lo, _mm256_castps_pd(_mm256_loadu_ps(p1)), 1));
    }
    NNLITE_SIMD_INLINE static void store2(float* p0, float* p1, reg v) {
        _mm512_mask_storeu_ps(p0, 0x00FF, v);
        _mm256_storeu_ps(
            p1, _mm256_castpd_ps(_mm512_maskz_extractf64x4_pd(0xF, _mm512_castps_pd(v), 1)));
    }
};
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd {
    using reg = __m256;
    static constexpr std::size_t W = 8, MR = 6, NR = 16;
    NNLITE_SIMD_INLINE static reg zero() { return _mm256_setzero_ps(); }
    NNLITE_SIMD_INLINE static reg load(const float* p) { return _mm256_loadu_ps(p); }
    NNLITE_SIMD_INLINE static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
    NNLITE_SIMD_INLINE static reg bcast(float x) { return _mm256_set1_ps(x); }
    NNLITE_SIMD_INLINE static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    NNLITE_SIMD_INLINE static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    NNLITE_SIMD_INLINE static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    NNLITE_SIMD_INLINE static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
    NNLITE_SIMD_INLINE static reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
    // b where either is NaN
    NNLITE_SIMD_INLINE static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
    NNLITE_SIMD_INLINE static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
    NNLITE_SIMD_INLINE static reg fnma(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
    NNLITE_SIMD_INLINE static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
    NNLITE_SIMD_INLINE static reg select_lt(reg a, reg b, reg x, reg y) {
        return _mm256_blendv_ps(y, x, _mm256_cmp_ps(a, b, _CMP_LT_OQ));
    }
    NNLITE_SIMD_INLINE static reg recip(reg d) {  // 12-bit estimate, one Newton step
        const reg y = _mm256_rcp_ps(d);
        return fma(y, fnma(d, y, bcast(1.f)), y);
    }
    NNLITE_SIMD_INLINE static reg load2(const float* p0, const float* p1) {
        return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(p0)), _mm_loadu_ps(p1), 1);
    }
    NNLITE_SIMD_INLINE static void store2(float* p0, float* p1, reg v) {
        _mm_storeu_ps(p0, _mm256_castps256_ps128(v));
        _mm_storeu_ps(p1, _mm256_extractf128_ps(v, 1));
    }
};
#else
struct Simd {
    typedef float reg __attribute__((vector_size(16)));
    static constexpr std::size_t W = 4, MR = 6, NR = 8;
    NNLITE_SIMD_INLINE static reg zero() { return reg{0.f, 0.f, 0.f, 0.f}; }
    NNLITE_SIMD_INLINE static reg load(const float* p) {
        reg v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    NNLITE_SIMD_INLINE static void store(float* p, reg v) { std::memcpy(p, &v, sizeof v); }
    NNLITE_SIMD_INLINE static reg bcast(float x) { return reg{x, x, x, x}; }
    NNLITE_SIMD_INLINE static reg fma(reg a, reg b, reg c) { return a * b + c; }
    NNLITE_SIMD_INLINE static reg mul(reg a, reg b) { return a * b; }
    NNLITE_SIMD_INLINE static reg add(reg a, reg b) { return a + b; }
    NNLITE_SIMD_INLINE static reg div(reg a, reg b) { return a / b; }
    NNLITE_SIMD_INLINE static reg sqrt(reg a) {
#if defined(__SSE2__)
        return _mm_sqrt_ps(a);
#else
        for (std::size_t i = 0; i < W; ++i) a[i] = std::sqrt(a[i]);
        return a;
#endif
    }
    // b where either is NaN, as the x86 instructions
    NNLITE_SIMD_INLINE static reg max(reg a, reg b) {
        for (std::size_t i = 0; i < W; ++i) a[i] = a[i] > b[i] ? a[i] : b[i];
        return a;
    }
    NNLITE_SIMD_INLINE static reg sub(reg a, reg b) {
        return a - b;
    }
    NNLITE_SIMD_INLINE static reg fnma(reg a, reg b, reg c) {
        return c - a * b;
    }
    NNLITE_SIMD_INLINE static reg min(reg a, reg b) {
        for (std::size_t i = 0; i < W; ++i) a[i] = a[i] < b[i] ? a[i] : b[i];
        return a;
    }
    NNLITE_SIMD_INLINE static reg select_lt(reg a, reg b, reg x, reg y) {
        for (std::size_t i = 0; i < W; ++i) x[i] = a[i] < b[i] ? x[i] : y[i];
        return x;
    }
    NNLITE_SIMD_INLINE static reg recip(reg d) {
        return bcast(1.f) / d;
    }
    NNLITE_SIMD_INLINE static reg load2(const float* p0, const float* p1) {
        float v[W];
        std::memcpy(v, p0, sizeof v / 2);
        std::memcpy(v + W / 2, p1, sizeof v / 2);
        return load(v);
    }
    NNLITE_SIMD_INLINE static void store2(float* p0, float* p1, reg v) {
        float t[W];
        store(t, v);
        std::memcpy(p0, t, sizeof t / 2);
        std::memcpy(p1, t + W / 2, sizeof t / 2);
    }
};
#endif

}  // namespace nnlite::cpu_gemm
