// nnlite's bf16 GEMM for the LSTM's products under ComputeType::bf16, on row-major fp32
// buffers:
//
//   C[m, n] = alpha * bf16(op(A))[m, k] * bf16(op(B))[k, n] + beta * C   (fp32 accumulation)
//
// The inputs are rounded to bfloat16 (round to nearest even) while they are packed, the
// products are accumulated in fp32 by VDPBF16PS (AVX512-BF16): each 32-bit lane of
// _mm512_dpbf16_ps(acc, a, b) adds a[2l]*b[2l] + a[2l+1]*b[2l+1], a pair of k indices. C
// and everything outside the packed copies stay fp32.
//
// Where it runs: the kernels are compiled for AVX-512 + AVX512-BF16 by a function-level
// target attribute (NNLITE_BF16_TARGET), whatever flags the program was built with, and
// every public entry point checks the CPU first (require_bf16: one nnlite::Error naming the
// missing feature, never SIGILL). Elsewhere (not x86-64, or a compiler without the
// attribute) NNLITE_BF16_KERNELS is 0 and the entry points throw the same kind of error.
//
// Blocking (the fp32 kernel's GotoBLAS/BLIS scheme, gemm/sgemm.hpp, in k-pairs):
//   packed B  : op(B) in panels of NR = 32 columns over the full k, as k-pairs: panel p,
//               pair q, column j is one 32-bit word holding bf16(op(B)[2q, j]) in its low
//               and bf16(op(B)[2q+1, j]) in its high half (bp[q*NR + j]); zero past n and,
//               for odd k, in the last pair's high half. Packed once (the LSTM packs W_hh
//               once per forward and once per backward, W_ih once per call).
//   work tiles: MC = 128 rows x NCB = 16 B panels (512 columns) of C; threads take runs.
//   per thread: for each k-block of KC = 512 (256 pairs), for each of its tiles (column-
//               tile-major: the B slice, 256 pairs x 512 columns x 4 B = 512 KiB, stays in
//               L2 across row tiles): pack the tile's A rows (MC x KC) into MR-row panels of
//               pairs (ap[q*MR + r], the same low/high layout; 8 rows x 256 pairs = 8 KiB),
//               then for each B panel (256 pairs x 32 x 4 B = 32 KiB: L1) for each A panel
//               the micro-kernel.
//   micro     : MR x NR = 8 x 32 fp32 accumulators (16 zmm: 2 per row); per pair q one
//               B row of the panel (2 zmm loads: 32 columns x 2 k) and 8 broadcasts of A's
//               32-bit pair, 16 VDPBF16PS = 1024 flops (fp32 kernel: 512 per k step with 16
//               FMAs). 16 accumulators + 2 B + 1 broadcast of 32 zmm registers.
//   edges     : fewer than MR rows or NR columns go through a stack tile; odd k is padded
//               with a zero pair half in both A and B (0 * 0 adds nothing).
// Conversion: VCVTNE2PS2BF16 (round to nearest even, NaN kept; like every AVX512-BF16
// instruction it treats subnormal inputs as zero and flushes subnormal results), then
// VPERMW interleaves two rows into pairs; a row whose pairs are consecutive k (op(A) not
// transposed, op(B) transposed) needs no interleave, only a strided store.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "nnlite/backend/cpu/gemm/sgemm.hpp"
#include "nnlite/backend/cpu/isa.hpp"
#include "nnlite/core/error.hpp"

#if defined(__x86_64__) && \
    (defined(__clang__) ? (__clang_major__ >= 9) : (defined(__GNUC__) && __GNUC__ >= 10))
#define NNLITE_BF16_KERNELS 1
#include <immintrin.h>
#define NNLITE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define NNLITE_BF16_KERNELS 0
#endif

namespace nnlite::cpu_gemm {

namespace bf16 {
constexpr std::size_t MR = 8, NR = 32;  // register tile (fp32 accumulators)
constexpr std::size_t KC = 512;         // k-block in elements (256 pairs); even
constexpr std::size_t MC = 16 * MR;     // rows per work tile
constexpr std::size_t NCB = 16;         // B panels per work tile
}  // namespace bf16

/// bf16 bits of x rounded to nearest even (NaN stays a quiet NaN). The portable reference:
/// the kernels convert with VCVTNE2PS2BF16, which agrees except that it also turns
/// subnormal inputs into zero.
inline std::uint16_t bf16_bits(float x) {
    std::uint32_t u = 0;
    std::memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_float(std::uint16_t b) {
    const std::uint32_t u = static_cast<std::uint32_t>(b) << 16;
    float x = 0;
    std::memcpy(&x, &u, sizeof x);
    return x;
}

/// x rounded to the nearest bf16 value, as a float.
inline float bf16_round(float x) {
    return bf16_to_float(bf16_bits(x));
}

/// Why the bf16 kernels cannot run on a CPU with features `f` (empty: they can). The seam
/// the tests use to check the message on any machine.
inline std::string bf16_unavailable(const cpu_isa::CpuFeatures& f) {
#if !NNLITE_BF16_KERNELS
    (void)f;
    return "compute type bf16 needs nnlite's AVX512-BF16 kernels, which this build does not "
           "have (they need x86-64 and GCC >= 10 or Clang >= 9); use compute type fp32";
#else
    struct Need {
        bool have;
        const char* flag;
    };
    const Need needs[] = {{f.avx512f, "avx512f"},
                          {f.avx512bw, "avx512bw"},
                          {f.avx512vl, "avx512vl"},
                          {f.avx512_bf16, "avx512_bf16"}};
    std::string has, lacks;
    for (const auto& n : needs) {
        std::string& list = n.have ? has : lacks;
        if (!list.empty()) list += ' ';
        list += n.flag;
    }
    if (lacks.empty()) return {};
    return "compute type bf16 needs a CPU with AVX512-BF16 (avx512_bf16 in /proc/cpuinfo, with "
           "avx512f avx512bw avx512vl); this CPU lacks " +
           lacks + (has.empty() ? std::string(" (it has none of them)") : " (it has " + has + ")") +
           "; use compute type fp32";
#endif
}

/// Whether the bf16 kernels can run here (checked once per process).
inline bool bf16_available() {
    static const bool ok = bf16_unavailable(cpu_isa::cpu_features()).empty();
    return ok;
}

/// Throws nnlite::Error naming what is missing when the bf16 kernels cannot run on a CPU
/// with features `f`.
inline void require_bf16(const cpu_isa::CpuFeatures& f) {
    const std::string why = bf16_unavailable(f);
    check(why.empty(), why);
}

/// The same for this CPU: one load after the first call.
inline void require_bf16() {
    if (!bf16_available()) require_bf16(cpu_isa::cpu_features());
}

/// op(B) [k, n] packed as bf16 k-pairs in NR-column panels (see the file comment).
struct PackedB16 {
    std::vector<std::uint32_t> data;
    std::size_t k = 0, n = 0;
    std::size_t pairs() const { return (k + 1) / 2; }
    std::size_t panels() const { return (n + bf16::NR - 1) / bf16::NR; }
    const std::uint32_t* panel(std::size_t p) const { return data.data() + p * pairs() * bf16::NR; }
};

#if NNLITE_BF16_KERNELS
namespace bf16_detail {

/// out[j] = bf16(r0[j]) | bf16(r1[j]) << 16 for j < n (r1 null: high halves zero). Only
/// out[0, n) is written.
NNLITE_BF16_TARGET inline void pair_rows(const float* r0, const float* r1, std::size_t n,
                                         std::uint32_t* out) {
    // VCVTNE2PS2BF16 puts bf16(r0[0..15]) in words 0..15 and bf16(r1[0..15]) in 16..31;
    // word 2j of the result takes word j, word 2j+1 takes word 16 + j.
    const __m512i interleave =
        _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (std::size_t j = 0; j < n; j += 16) {
        const std::size_t w = std::min<std::size_t>(16, n - j);
        const auto m = static_cast<__mmask16>((1u << w) - 1u);
        const __m512 a = _mm512_maskz_loadu_ps(m, r0 + j);
        const __m512 b = r1 ? _mm512_maskz_loadu_ps(m, r1 + j) : _mm512_setzero_ps();
        const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);
        _mm512_mask_storeu_epi32(out + j, m, _mm512_permutexvar_epi16(interleave, v));
    }
}

/// out[q] = bf16(x[2q]) | bf16(x[2q+1]) << 16 for q < (len + 1) / 2, x[len] read as 0:
/// consecutive elements of one row as pairs.
NNLITE_BF16_TARGET inline void row_pairs(const float* x, std::size_t len, std::uint32_t* out) {
    for (std::size_t j = 0; j < len; j += 32) {
        const std::size_t w = std::min<std::size_t>(32, len - j);
        const std::size_t lo = std::min<std::size_t>(16, w), hi = w - lo;
        const __m512 a = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << lo) - 1u), x + j);
        const __m512 b = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << hi) - 1u), x + j + 16);
        const __m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);
        _mm512_mask_storeu_epi32(out + j / 2, static_cast<__mmask16>((1u << ((w + 1) / 2)) - 1u),
                                 v);
    }
}

/// Packs op(B) into out (see PackedB16).
NNLITE_BF16_TARGET inline void pack_b(bool trans_b, std::size_t k, std::size_t n, const float* b,
                                      std::size_t ldb, PackedB16& out) {
    constexpr std::size_t NR = bf16::NR;
    out.k = k;
    out.n = n;
    const std::size_t kp = out.pairs();
    out.data.assign(out.panels() * kp * NR, 0u);
    std::vector<std::uint32_t> row(trans_b ? kp : 0);
    for (std::size_t p = 0; p < out.panels(); ++p) {
        std::uint32_t* dst = out.data.data() + p * kp * NR;
        const std::size_t j0 = p * NR, nr = std::min(NR, n - j0);
        if (!trans_b) {  // rows 2q and 2q+1 of B, columns [j0, j0 + nr)
            for (std::size_t q = 0; q < kp; ++q)
                pair_rows(b + 2 * q * ldb + j0,
                          2 * q + 1 < k ? b + (2 * q + 1) * ldb + j0 : nullptr, nr, dst + q * NR);
        } else {  // op(B)[kk, j] = B[j, kk]: row j of B holds column j's pairs in order
            for (std::size_t j = 0; j < nr; ++j) {
                row_pairs(b + (j0 + j) * ldb, k, row.data());
                for (std::size_t q = 0; q < kp; ++q) dst[q * NR + j] = row[q];
            }
        }
    }
}

/// Packs rows [i0, i0 + mc) x k-range [k0, k0 + kc) of op(A) into MR-row panels of pairs:
/// panel r0 / MR at ap + r0 * kc2 (kc2 = (kc + 1) / 2), element ap[q * MR + r]; zero past mc.
NNLITE_BF16_TARGET inline void pack_a(bool trans_a, const float* a, std::size_t lda, std::size_t i0,
                                      std::size_t mc, std::size_t k0, std::size_t kc,
                                      std::uint32_t* ap) {
    constexpr std::size_t MR = bf16::MR;
    const std::size_t kc2 = (kc + 1) / 2;
    for (std::size_t r0 = 0; r0 < mc; r0 += MR) {
        const std::size_t mr = std::min(MR, mc - r0);
        std::uint32_t* dst = ap + r0 * kc2;
        if (!trans_a) {
            // 16 pairs of each of the MR rows at a time, then stored transposed.
            alignas(64) std::uint32_t tmp[MR][16];
            for (std::size_t q0 = 0; q0 < kc2; q0 += 16) {
                const std::size_t len = std::min<std::size_t>(32, kc - 2 * q0);
                const std::size_t nq = (len + 1) / 2;
                for (std::size_t r = 0; r < MR; ++r) {
                    if (r < mr)
                        row_pairs(a + (i0 + r0 + r) * lda + k0 + 2 * q0, len, tmp[r]);
                    else
                        std::memset(tmp[r], 0, sizeof tmp[r]);
                }
                for (std::size_t q = 0; q < nq; ++q)
#pragma GCC unroll 8
                    for (std::size_t r = 0; r < MR; ++r) dst[(q0 + q) * MR + r] = tmp[r][q];
            }
        } else {  // op(A)[i, kk] = A[kk, i]: rows kk and kk+1 of A give MR consecutive pairs
            if (mr < MR) std::memset(dst, 0, MR * kc2 * sizeof(std::uint32_t));
            for (std::size_t q = 0; q < kc2; ++q) {
                const float* row = a + (k0 + 2 * q) * lda + i0 + r0;
                pair_rows(row, 2 * q + 1 < kc ? row + lda : nullptr, mr, dst + q * MR);
            }
        }
    }
}

/// The register tile: C[0..mr, 0..nr) = alpha * Ap[MR x kc2 pairs] * Bp[kc2 pairs x NR] +
/// beta * C (beta == 0: C is not read).
NNLITE_BF16_TARGET inline void micro_kernel(std::size_t kc2, const std::uint32_t* ap,
                                            const std::uint32_t* bp, float alpha, float beta,
                                            float* c, std::size_t ldc, std::size_t mr,
                                            std::size_t nr) {
    constexpr std::size_t MR = bf16::MR, NR = bf16::NR;
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (std::size_t q = 0; q < kc2; ++q) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + q * NR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + q * NR + 16);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < MR; ++r) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32(static_cast<int>(ap[q * MR + r]));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (mr == MR && nr == NR) {
#pragma GCC unroll 8
        for (std::size_t r = 0; r < MR; ++r)
            for (std::size_t v = 0; v < 2; ++v) {
                float* p = c + r * ldc + v * 16;
                __m512 y = _mm512_mul_ps(acc[r][v], va);
                if (beta != 0.f) y = _mm512_fmadd_ps(_mm512_loadu_ps(p), vb, y);
                _mm512_storeu_ps(p, y);
            }
        return;
    }
    // Edge tile: the same vector operations on a copy of C's corner (see sgemm.hpp).
    alignas(64) float ct[MR * NR] = {};
    alignas(64) float tile[MR * NR];
    if (beta != 0.f)
        for (std::size_t r = 0; r < mr; ++r)
            for (std::size_t j = 0; j < nr; ++j) ct[r * NR + j] = c[r * ldc + j];
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < 2; ++v) {
            __m512 y = _mm512_mul_ps(acc[r][v], va);
            if (beta != 0.f) y = _mm512_fmadd_ps(_mm512_load_ps(ct + r * NR + v * 16), vb, y);
            _mm512_store_ps(tile + r * NR + v * 16, y);
        }
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t j = 0; j < nr; ++j) c[r * ldc + j] = tile[r * NR + j];
}

/// The calling thread's A-packing buffer (grown as needed, reused across calls).
inline std::vector<std::uint32_t>& a_buffer() {
    thread_local std::vector<std::uint32_t> buf;
    return buf;
}

/// Work tiles [t_begin, t_end) of one bgemm_packed call (see the file comment).
NNLITE_BF16_TARGET inline void run_tiles(bool trans_a, std::size_t m, const float* a,
                                         std::size_t lda, float alpha, const PackedB16& b,
                                         float beta, float* c, std::size_t ldc,
                                         std::size_t row_tiles, std::size_t t_begin,
                                         std::size_t t_end) {
    constexpr std::size_t MR = bf16::MR, NR = bf16::NR, MC = bf16::MC, KC = bf16::KC,
                          NCB = bf16::NCB;
    const std::size_t n = b.n, k = b.k, kp = b.pairs();
    std::vector<std::uint32_t>& apbuf = a_buffer();
    const std::size_t a_size = ((std::min(MC, m) + MR - 1) / MR) * MR * (std::min(KC, k) + 1) / 2;
    if (apbuf.size() < a_size) apbuf.resize(a_size);
    std::uint32_t* ap = apbuf.data();
    for (std::size_t k0 = 0; k0 < k; k0 += KC) {
        const std::size_t kc = std::min(KC, k - k0), kc2 = (kc + 1) / 2, q0 = k0 / 2;
        const float bet = k0 == 0 ? beta : 1.f;
        for (std::size_t t = t_begin; t < t_end; ++t) {
            const std::size_t ct = t / row_tiles, rt = t % row_tiles;
            const std::size_t i0 = rt * MC, mc = std::min(MC, m - i0);
            const std::size_t p0 = ct * NCB, p1 = std::min(b.panels(), p0 + NCB);
            pack_a(trans_a, a, lda, i0, mc, k0, kc, ap);
            for (std::size_t p = p0; p < p1; ++p) {
                const std::uint32_t* bp = b.data.data() + p * kp * NR + q0 * NR;
                const std::size_t j0 = p * NR, nr = std::min(NR, n - j0);
                for (std::size_t r0 = 0; r0 < mc; r0 += MR)
                    micro_kernel(kc2, ap + r0 * kc2, bp, alpha, bet, c + (i0 + r0) * ldc + j0, ldc,
                                 std::min(MR, mc - r0), nr);
            }
        }
    }
}

}  // namespace bf16_detail
#endif  // NNLITE_BF16_KERNELS

/// Packs op(B) (B^T when trans_b; row stride ldb as stored) as bf16 pairs into out.
inline void pack_b16(bool trans_b, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                     PackedB16& out) {
    require_bf16();  // before any code built for AVX512-BF16 runs
#if NNLITE_BF16_KERNELS
    bf16_detail::pack_b(trans_b, k, n, b, ldb, out);
#else
    (void)trans_b, (void)k, (void)n, (void)b, (void)ldb, (void)out;
#endif
}

/// C[m, b.n] = alpha * bf16(op(A)) * B + beta * C against a packed B, on up to `threads`
/// threads (work tiles are split among them; 1 runs on the caller).
inline void bgemm_packed(bool trans_a, std::size_t m, const float* a, std::size_t lda, float alpha,
                         const PackedB16& b, float beta, float* c, std::size_t ldc,
                         int threads = 1) {
    require_bf16();
    const std::size_t n = b.n, k = b.k;
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = 0; j < n; ++j)
                c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
        return;
    }
#if NNLITE_BF16_KERNELS
    const std::size_t row_tiles = (m + bf16::MC - 1) / bf16::MC;
    const std::size_t col_tiles = (b.panels() + bf16::NCB - 1) / bf16::NCB;
    const std::size_t tiles = row_tiles * col_tiles;
    const double flops =
        2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    detail::run_work(tiles, threads, flops, [&](std::size_t t_begin, std::size_t t_end) {
        bf16_detail::run_tiles(trans_a, m, a, lda, alpha, b, beta, c, ldc, row_tiles, t_begin,
                               t_end);
    });
#else
    (void)trans_a, (void)a, (void)lda, (void)alpha, (void)beta, (void)c, (void)ldc, (void)threads;
#endif
}

/// The general product: packs op(B) into a per-thread buffer, then bgemm_packed.
inline void bgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc, int threads = 1) {
    if (m == 0 || n == 0) return;
    thread_local PackedB16 packed;
    pack_b16(trans_b, k, n, b, ldb, packed);
    bgemm_packed(trans_a, m, a, lda, alpha, packed, beta, c, ldc, threads);
}

}  // namespace nnlite::cpu_gemm
