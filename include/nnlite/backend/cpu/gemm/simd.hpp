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

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
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
};
#endif

}  // namespace nnlite::cpu_gemm
