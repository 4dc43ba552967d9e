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
#pragma once

#include <cstddef>
#include <cstring>

#include <cmath>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace nnlite::cpu_gemm {

#if defined(__AVX512F__)
struct Simd {
    using reg = __m512;
    static constexpr std::size_t W = 16, MR = 8, NR = 32;
    static reg zero() { return _mm512_setzero_ps(); }
    static reg load(const float* p) { return _mm512_loadu_ps(p); }
    static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
    static reg bcast(float x) { return _mm512_set1_ps(x); }
    static reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
    static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
    static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
    static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
    // The zero-masked forms with a full mask are the same instructions; GCC 12 warns that
    // the plain forms' undefined pass-through vector "may be used uninitialized" (PR 105593).
    static reg sqrt(reg a) { return _mm512_maskz_sqrt_ps(0xFFFF, a); }
    static reg max(reg a, reg b) {  // b where either is NaN
        return _mm512_maskz_max_ps(0xFFFF, a, b);
    }
};
#elif defined(__AVX2__) && defined(__FMA__)
struct Simd {
    using reg = __m256;
    static constexpr std::size_t W = 8, MR = 6, NR = 16;
    static reg zero() { return _mm256_setzero_ps(); }
    static reg load(const float* p) { return _mm256_loadu_ps(p); }
    static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
    static reg bcast(float x) { return _mm256_set1_ps(x); }
    static reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
    static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
    static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
    static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
    static reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
    static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }  // b where either is NaN
};
#else
struct Simd {
    typedef float reg __attribute__((vector_size(16)));
    static constexpr std::size_t W = 4, MR = 6, NR = 8;
    static reg zero() { return reg{0.f, 0.f, 0.f, 0.f}; }
    static reg load(const float* p) {
        reg v;
        std::memcpy(&v, p, sizeof v);
        return v;
    }
    static void store(float* p, reg v) { std::memcpy(p, &v, sizeof v); }
    static reg bcast(float x) { return reg{x, x, x, x}; }
    static reg fma(reg a, reg b, reg c) { return a * b + c; }
    static reg mul(reg a, reg b) { return a * b; }
    static reg add(reg a, reg b) { return a + b; }
    static reg div(reg a, reg b) { return a / b; }
    static reg sqrt(reg a) {
#if defined(__SSE2__)
        return _mm_sqrt_ps(a);
#else
        for (std::size_t i = 0; i < W; ++i) a[i] = std::sqrt(a[i]);
        return a;
#endif
    }
    static reg max(reg a, reg b) {  // b where either is NaN, as the x86 instructions
        for (std::size_t i = 0; i < W; ++i) a[i] = a[i] > b[i] ? a[i] : b[i];
        return a;
    }
};
#endif

}  // namespace nnlite::cpu_gemm
