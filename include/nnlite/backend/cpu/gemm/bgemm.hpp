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
// On CPUs with AMX-BF16 (Linux) the same entry points run on the tile unit instead (the
// AMX section below; set_bf16_amx(false) keeps them on VDPBF16PS).
//
// Blocking (the fp32 kernel's GotoBLAS/BLIS scheme, gemm/sgemm.hpp, in k-pairs):
//   packed B  : op(B) in panels of NR = 32 columns over the full k, as k-pairs: panel p,
//               pair q, column j is one 32-bit word holding bf16(op(B)[2q, j]) in its low
//               and bf16(op(B)[2q+1, j]) in its high half (bp[q*NR + j]); zero past n and,
//               for odd k, in the last pair's high half. Packed once (the LSTM packs W_hh
//               once per forward and once per backward, W_ih once per call).
//   work tiles: MC = 128 rows x NCB = 16 B panels (512 columns) of C (fewer panels when
//               the row tiles are fewer than the threads: detail::tile_panels); threads
//               take runs.
//   per thread: for each k-block of KC = 512 (256 pairs), for each of its tiles (column-
//               tile-major: the B slice, 256 pairs x 512 columns x 4 B = 512 KiB, stays in
//               L2 across row tiles): pack the tile's A rows (MC x KC) into MR-row panels of
//               pairs (ap[q*MR + r], the same low/high layout; 8 rows x 256 pairs = 8 KiB),
//               then for each B panel (256 pairs x 32 x 4 B = 32 KiB: L1) for each A panel
//               the micro-kernel.
//   micro     : MR x NR = 8 x 32 fp32 accumulators (16 zmm: 2 per row); per pair q one
//               B row of the panel (2 zmm loads: 32 columns x 2 k) and 8 broadcasts of A's
//               32-bit pair, 16 VDPBF16PS = 1024 flops (fp32 kernel: 512 per k step with 16
//               FMAs). 16 accumulators + 2 B + 1 broadcast of 32 zmm registers. The B
//               pair BPF ahead and the C tile are prefetched, as in the fp32 kernel.
//   edges     : fewer than MR rows or NR columns go through a stack tile; odd k is padded
//               with a zero pair half in both A and B (0 * 0 adds nothing).
// Conversion: VCVTNE2PS2BF16 (round to nearest even, NaN kept; like every AVX512-BF16
// instruction it treats subnormal inputs as zero and flushes subnormal results), then
// VPERMW interleaves two rows into pairs; a row whose pairs are consecutive k (op(A) not
// transposed, op(B) transposed) needs no interleave, only a strided store.
#pragma once

#include <algorithm>
#include <atomic>
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

// AMX-BF16 (Linux, which hands out the tile state on request: arch_prctl), used by the same
// entry points where the CPU has it; GCC >= 11 and Clang >= 12 know the instructions.
#if NNLITE_BF16_KERNELS && defined(__linux__) && \
    (defined(__clang__) ? (__clang_major__ >= 12) : (__GNUC__ >= 11))
#define NNLITE_AMX_KERNELS 1
#include <sys/syscall.h>
#include <unistd.h>
#define NNLITE_AMX_TARGET \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#else
#define NNLITE_AMX_KERNELS 0
#endif

namespace nnlite::cpu_gemm {

namespace bf16 {
constexpr std::size_t MR = 8, NR = 32;  // register tile (fp32 accumulators)
constexpr std::size_t KC = 512;         // k-block in elements (256 pairs); even
constexpr std::size_t MC = 16 * MR;     // rows per work tile
constexpr std::size_t NCB = 16;         // B panels per work tile
constexpr std::size_t BPF = 16;         // B pairs the micro-kernel prefetches ahead
// AMX (amx_detail below): one tile register holds 16 rows of 64 bytes, i.e. 16 x 16 fp32
// accumulators, 16 rows x 16 pairs of A, or 16 pairs x 16 columns of B.
constexpr std::size_t KP_TILE = 16;  // k-pairs per tile step (32 k)
constexpr std::size_t MR_AMX = 32;   // C rows per AMX block (two A tiles)
constexpr std::size_t KC_AMX = 256;  // AMX k-block (128 pairs)
constexpr std::size_t MC_AMX = 64;   // AMX work tile rows: 2 A blocks + 1 B panel = 48 KiB (L1)
constexpr std::size_t KINNER = 4;    // AMX: up to this many k-blocks run inside each work tile
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
    const std::string lacks = cpu_isa::lacking_features({{f.avx512f, "avx512f"},
                                                         {f.avx512bw, "avx512bw"},
                                                         {f.avx512vl, "avx512vl"},
                                                         {f.avx512_bf16, "avx512_bf16"}});
    if (lacks.empty()) return {};
    return "compute type bf16 needs a CPU with AVX512-BF16 (avx512_bf16 in /proc/cpuinfo, with "
           "avx512f avx512bw avx512vl); this CPU " +
           lacks + "; use compute type fp32";
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

/// x rounded up to a multiple of `to`.
inline std::size_t round_up(std::size_t x, std::size_t to) {
    return (x + to - 1) / to * to;
}

/// op(B) [k, n] packed as bf16 k-pairs in NR-column panels (see the file comment).
struct PackedB16 {
    std::vector<std::uint32_t> data;
    std::size_t k = 0, n = 0;
    std::size_t pairs() const { return (k + 1) / 2; }
    /// Pairs stored per panel: pairs() rounded up to whole AMX tiles (KP_TILE pairs), the
    /// rows past pairs() zero.
    std::size_t stride_pairs() const { return round_up(pairs(), bf16::KP_TILE); }
    std::size_t panels() const { return (n + bf16::NR - 1) / bf16::NR; }
    const std::uint32_t* panel(std::size_t p) const {
        return data.data() + p * stride_pairs() * bf16::NR;
    }
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
    out.data.assign(out.panels() * out.stride_pairs() * NR, 0u);
    std::vector<std::uint32_t> row(trans_b ? kp : 0);
    for (std::size_t p = 0; p < out.panels(); ++p) {
        std::uint32_t* dst = out.data.data() + p * out.stride_pairs() * NR;
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
    if (trans_a && lda % 1024 == 0) {
        // op(A)[i, kk] = A[kk, i] with A's rows 4 KiB apart or a multiple of that (the weight
        // gradients' dG^T at 4H = 1024): the panel-by-panel walk below reads the same 32
        // bytes of 2 * kc2 rows that all fall in one L1 set, and each line, shared by two
        // panels, comes from L2 twice. So here A's rows are read once, side by side (QB pairs
        // of all mc columns converted into tmp, then dealt out to the panels a few lines at
        // a time), with the rows PF pairs ahead asked for: seed's dW_ih (1024 x 512 x
        // 16384) went from 157 to 188 GFLOP/s on one Zen 4 core. With other strides (the
        // `cpu` preset's 4H = 256) the panel order measured as fast or faster (130 against
        // 117-120), so it stays there.
        constexpr std::size_t PF = 8, QB = 8;
        const std::size_t mcr = round_up(mc, MR);
        alignas(64) std::uint32_t tmp[QB][bf16::MC];
        const std::size_t bytes = mc * sizeof(float);
        for (std::size_t qb = 0; qb < kc2; qb += QB) {
            const std::size_t nq = std::min(QB, kc2 - qb);
            for (std::size_t u = 0; u < nq; ++u) {
                const std::size_t q = qb + u;
                const float* row = a + (k0 + 2 * q) * lda + i0;
                if (2 * (q + PF) + 1 < kc) {  // the pair's two rows PF pairs ahead
                    detail::prefetch_span(row + 2 * PF * lda, bytes);
                    detail::prefetch_span(row + (2 * PF + 1) * lda, bytes);
                }
                pair_rows(row, 2 * q + 1 < kc ? row + lda : nullptr, mc, tmp[u]);
                // Rows past mc feed only accumulators that are never stored; zeroed so that
                // no indeterminate value is read.
                for (std::size_t r = mc; r < mcr; ++r) tmp[u][r] = 0u;
            }
            for (std::size_t r0 = 0; r0 < mcr; r0 += MR) {
                std::uint32_t* dst = ap + r0 * kc2 + qb * MR;
                for (std::size_t u = 0; u < nq; ++u)
                    std::memcpy(dst + u * MR, tmp[u] + r0, MR * sizeof(std::uint32_t));
            }
        }
        return;
    }
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
    detail::prefetch_c_tile(c, ldc, mr, nr);
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (std::size_t q = 0; q < kc2; ++q) {
        // The B panel's pair BPF ahead (two lines; past the panel's end this asks for the
        // next panel's first pairs, and a prefetch never faults): a panel is 32 KiB, all of
        // Zen 4's L1, so with the A panel beside it the pairs come from L2, and without
        // this the large products ran 8-30% slower (docs/performance-history.md, fifteenth run).
        __builtin_prefetch(bp + (q + bf16::BPF) * NR);
        __builtin_prefetch(bp + (q + bf16::BPF) * NR + 16);
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
                                         std::size_t row_tiles, std::size_t ncb,
                                         std::size_t t_begin, std::size_t t_end) {
    constexpr std::size_t MR = bf16::MR, NR = bf16::NR, MC = bf16::MC, KC = bf16::KC;
    const std::size_t n = b.n, k = b.k;
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
            const std::size_t p0 = ct * ncb, p1 = std::min(b.panels(), p0 + ncb);
            pack_a(trans_a, a, lda, i0, mc, k0, kc, ap);
            for (std::size_t p = p0; p < p1; ++p) {
                const std::uint32_t* bp = b.panel(p) + q0 * NR;
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

// ---- AMX-BF16 ------------------------------------------------------------------------
//
// Where the CPU has AMX-BF16 the same products run on the tile unit: TDPBF16PS multiplies
// a 16 x 16-pair tile of A by a 16-pair x 16 tile of B into 16 x 16 fp32 accumulators
// (16,384 flops per instruction; the rounding to bf16 and the fp32 accumulation are those
// of VDPBF16PS, only the order of the additions differs).
//
// Blocking (measured on a 2-core Xeon with AMX, one thread: the 64 x 1024 x 256 recurrent
// product, whose operands fit L1, runs at ~800 GFLOP/s, ~6x the fp32 kernel; operands
// streaming from L2 cost up to half of that, hence the small blocks):
//   packed B  : as above, its panels padded with zero pairs to whole tiles
//               (PackedB16::stride_pairs), read in place.
//   work tiles: MC_AMX = 64 rows x NCB = 16 B panels (or fewer, as above); k-blocks of
//               KC_AMX = 256 (128 pairs), so a tile's A (2 blocks x 16 KiB) and one B panel
//               (16 KiB) fill L1.
//   order     : up to KINNER k-blocks (k <= 1024: the projections, dX, the recurrent
//               products) run inside each work tile, whose C (64 x 512 floats) stays in L2
//               between them; more (dW, k = batch x steps) run outside the tiles, so each
//               k-block's B slice stays in L2 across them.
//   A         : packed row by row instead of in MR-row panels: row r's pairs at
//               ap[r * kcp + q], kcp = the k-block's pairs rounded up to KP_TILE with
//               zeros, the rows rounded up to MR_AMX with zero rows.
//   block     : 32 x 32 of C per B panel: four accumulator tiles (tmm0-3: rows 0-15 /
//               16-31 x columns 0-15 / 16-31); per round of 16 pairs two A tiles (tmm4-5),
//               the panel's two B tiles (tmm6-7, 128-byte row stride) and four TDPBF16PS.
//               A whole block with alpha = 1 and beta 0 or 1 (the LSTM's products) is
//               accumulated in C itself (tiles loaded from and stored to C); any other goes
//               through a 4 KiB stack tile and is scaled into C (alpha, beta) with AVX-512.
//
// Linux hands the tile state out on request (arch_prctl ARCH_REQ_XCOMP_PERM, once per
// process); each thread loads the tile configuration when it starts a run of blocks and
// releases the tiles when it is done, so no tile state stays live between calls.
#if NNLITE_AMX_KERNELS
namespace amx_detail {

/// Asks Linux for the AMX tile data state for this process: true when granted.
inline bool request_tile_state() {
    constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
}

/// LDTILECFG's 64-byte operand: palette 1, every tile 16 rows x 64 bytes.
struct alignas(64) TileConfig {
    std::uint8_t palette = 1, start_row = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
    std::uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

NNLITE_AMX_TARGET inline void configure_tiles() {
    static const TileConfig cfg;
    _tile_loadconfig(&cfg);
}

NNLITE_AMX_TARGET inline void release_tiles() {
    _tile_release();
}

/// Packs rows [i0, i0 + mc) x k-range [k0, k0 + kc) of op(A) row by row as bf16 pairs:
/// ap[r * kcp + q], zero for q in [(kc + 1) / 2, kcp) and in rows [mc, round_up(mc, MR_AMX)).
NNLITE_AMX_TARGET inline void pack_a(bool trans_a, const float* a, std::size_t lda, std::size_t i0,
                                     std::size_t mc, std::size_t k0, std::size_t kc,
                                     std::size_t kcp, std::uint32_t* ap) {
    const std::size_t kc2 = (kc + 1) / 2, rows = round_up(mc, bf16::MR_AMX);
    if (!trans_a) {  // a row of op(A) is a row of A: consecutive k are its pairs
        for (std::size_t r = 0; r < mc; ++r) {
            std::uint32_t* dst = ap + r * kcp;
            bf16_detail::row_pairs(a + (i0 + r) * lda + k0, kc, dst);
            std::fill(dst + kc2, dst + kcp, 0u);
        }
    } else {
        // op(A)[i, kk] = A[kk, i]: rows kk, kk + 1 of A give pair kk / 2 of 16 consecutive
        // rows of op(A) (one vector); 16 such pairs are turned round through a 1 KiB block.
        alignas(64) std::uint32_t blk[16][16];
        for (std::size_t q0 = 0; q0 < kcp; q0 += 16)
            for (std::size_t r0 = 0; r0 < mc; r0 += 16) {
                const std::size_t w = std::min<std::size_t>(16, mc - r0);
                for (std::size_t q = 0; q < 16; ++q) {
                    const std::size_t kk = 2 * (q0 + q);
                    if (kk >= kc) {
                        std::memset(blk[q], 0, sizeof blk[q]);
                        continue;
                    }
                    const float* row = a + (k0 + kk) * lda + i0 + r0;
                    bf16_detail::pair_rows(row, kk + 1 < kc ? row + lda : nullptr, w, blk[q]);
                }
                for (std::size_t r = 0; r < w; ++r) {
                    std::uint32_t* dst = ap + (r0 + r) * kcp + q0;
#pragma GCC unroll 16
                    for (std::size_t q = 0; q < 16; ++q) dst[q] = blk[q][r];
                }
            }
    }
    std::fill(ap + mc * kcp, ap + rows * kcp, 0u);
}

/// C[32 x 32] (row stride ldc) = Ap[32 rows x kcp pairs] * Bp[kcp pairs x NR] (+ C when
/// accumulate: the accumulators start from C instead of zero); ap from pack_a (row stride
/// kcp), bp a B panel at the block's first pair (row stride NR).
NNLITE_AMX_TARGET inline void block(std::size_t kcp, const std::uint32_t* ap,
                                    const std::uint32_t* bp, float* c, std::size_t ldc,
                                    bool accumulate) {
    constexpr std::size_t NR = bf16::NR, KP = bf16::KP_TILE;
    static_assert(NR == 32 && KP == 16 && bf16::MR_AMX == 32, "two tiles each way");
    const long sa = static_cast<long>(kcp * sizeof(std::uint32_t)),
               sb = static_cast<long>(NR * sizeof(std::uint32_t)),
               sc = static_cast<long>(ldc * sizeof(float));
    const std::uint32_t* a1 = ap + 16 * kcp;
    float* c1 = c + 16 * ldc;
    if (accumulate) {
        _tile_loadd(0, c, sc);
        _tile_loadd(1, c + 16, sc);
        _tile_loadd(2, c1, sc);
        _tile_loadd(3, c1 + 16, sc);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (std::size_t q = 0; q < kcp; q += KP) {
        _tile_loadd(4, ap + q, sa);
        _tile_loadd(5, a1 + q, sa);
        _tile_loadd(6, bp + q * NR, sb);
        _tile_loadd(7, bp + q * NR + 16, sb);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    _tile_stored(0, c, sc);
    _tile_stored(1, c + 16, sc);
    _tile_stored(2, c1, sc);
    _tile_stored(3, c1 + 16, sc);
}

/// C[0..mr, 0..nr) = alpha * ct + beta * C (beta == 0: C is not read); ct row stride NR.
NNLITE_AMX_TARGET inline void store_block(const float* ct, float alpha, float beta, float* c,
                                          std::size_t ldc, std::size_t mr, std::size_t nr) {
    constexpr std::size_t NR = bf16::NR;
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t j = 0; j < nr; j += 16) {
            const std::size_t w = std::min<std::size_t>(16, nr - j);
            const auto mask = static_cast<__mmask16>((1u << w) - 1u);
            float* p = c + r * ldc + j;
            __m512 y = _mm512_mul_ps(_mm512_load_ps(ct + r * NR + j), va);
            if (beta != 0.f) y = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, p), vb, y);
            _mm512_mask_storeu_ps(p, mask, y);
        }
}

/// One work tile (rows [i0, i0 + mc), B panels [p0, p1)) over k-block [k0, k0 + kc): A packed
/// once (ap), then per B panel (in L1 across the tile's row blocks) each 32-row block.
NNLITE_AMX_TARGET inline void tile_kblock(bool trans_a, const float* a, std::size_t lda,
                                          float alpha, const PackedB16& b, float beta, float* c,
                                          std::size_t ldc, std::size_t i0, std::size_t mc,
                                          std::size_t p0, std::size_t p1, std::size_t k0,
                                          std::size_t kc, std::uint32_t* ap, float* ct) {
    constexpr std::size_t NR = bf16::NR, MR = bf16::MR_AMX, KP = bf16::KP_TILE;
    const std::size_t kcp = round_up((kc + 1) / 2, KP), q0 = k0 / 2;
    pack_a(trans_a, a, lda, i0, mc, k0, kc, kcp, ap);
    for (std::size_t p = p0; p < p1; ++p) {
        const std::uint32_t* bp = b.panel(p) + q0 * NR;
        const std::size_t j0 = p * NR, nr = std::min(NR, b.n - j0);
        for (std::size_t r0 = 0; r0 < mc; r0 += MR) {
            float* cb = c + (i0 + r0) * ldc + j0;
            const std::size_t mr = std::min(MR, mc - r0);
            if (mr == MR && nr == NR && alpha == 1.f && (beta == 0.f || beta == 1.f)) {
                // A whole block with C = C + A B or C = A B: straight into C.
                block(kcp, ap + r0 * kcp, bp, cb, ldc, beta == 1.f);
            } else {  // through the stack tile
                block(kcp, ap + r0 * kcp, bp, ct, NR, false);
                store_block(ct, alpha, beta, cb, ldc, mr, nr);
            }
        }
    }
}

/// Work tiles [t_begin, t_end) of one bgemm_packed call on the tile unit (row_tiles of
/// MC_AMX rows).
NNLITE_AMX_TARGET inline void run_tiles(bool trans_a, std::size_t m, const float* a,
                                        std::size_t lda, float alpha, const PackedB16& b,
                                        float beta, float* c, std::size_t ldc,
                                        std::size_t row_tiles, std::size_t ncb, std::size_t t_begin,
                                        std::size_t t_end) {
    constexpr std::size_t NR = bf16::NR, MR = bf16::MR_AMX, MC = bf16::MC_AMX, KC = bf16::KC_AMX,
                          KP = bf16::KP_TILE;
    static_assert(MC % MR == 0 && (KC / 2) % KP == 0, "k-blocks start on a whole tile");
    const std::size_t k = b.k;
    std::vector<std::uint32_t>& apbuf = bf16_detail::a_buffer();
    const std::size_t a_size =
        round_up(std::min(MC, m), MR) * round_up((std::min(KC, k) + 1) / 2, KP);
    if (apbuf.size() < a_size) apbuf.resize(a_size);
    std::uint32_t* ap = apbuf.data();
    alignas(64) float ct[MR * NR];
    configure_tiles();
    // Few k-blocks (the LSTM's projections, dX: k <= 4H): each work tile runs all of them
    // while its C block (64 x 512 floats) stays in L2, instead of a pass over all of C per
    // k-block. Many (dW, k = batch x steps): k-blocks outside, so each k-block's B slice
    // (KC x 512) stays in L2 across the work tiles.
    const bool k_inside = k <= bf16::KINNER * KC;
    const std::size_t n_kb = (k + KC - 1) / KC;
    for (std::size_t outer = 0; outer < (k_inside ? t_end - t_begin : n_kb); ++outer)
        for (std::size_t inner = 0; inner < (k_inside ? n_kb : t_end - t_begin); ++inner) {
            const std::size_t t = t_begin + (k_inside ? outer : inner);
            const std::size_t k0 = (k_inside ? inner : outer) * KC;
            const std::size_t col = t / row_tiles, i0 = (t % row_tiles) * MC;
            const std::size_t p0 = col * ncb, p1 = std::min(b.panels(), p0 + ncb);
            tile_kblock(trans_a, a, lda, alpha, b, k0 == 0 ? beta : 1.f, c, ldc, i0,
                        std::min(MC, m - i0), p0, p1, k0, std::min(KC, k - k0), ap, ct);
        }
    release_tiles();
}

}  // namespace amx_detail
#endif  // NNLITE_AMX_KERNELS

namespace detail {
inline std::atomic<bool>& bf16_amx_enabled() {
    static std::atomic<bool> on{true};
    return on;
}
}  // namespace detail

/// Whether this CPU has AMX-BF16 and the operating system granted its tile state (asked
/// once per process, on the first call); false in builds without the AMX kernels.
inline bool amx_available() {
#if NNLITE_AMX_KERNELS
    static const bool ok =
        cpu_isa::cpu_features().amx_bf16 && bf16_available() && amx_detail::request_tile_state();
    return ok;
#else
    return false;
#endif
}

/// Lets the bf16 kernels use AMX where it is available (the default) or not (then they run
/// on VDPBF16PS); for tests and benchmarks that compare the two. Process-wide.
inline void set_bf16_amx(bool enabled) {
    detail::bf16_amx_enabled().store(enabled, std::memory_order_relaxed);
}

/// Whether the bf16 products run on AMX now.
inline bool bf16_uses_amx() {
    return detail::bf16_amx_enabled().load(std::memory_order_relaxed) && amx_available();
}

/// The instructions the bf16 products run on now, for reports.
inline const char* bf16_kernel_name() {
    return bf16_uses_amx() ? "AMX-BF16 tiles" : "AVX512-BF16 VDPBF16PS";
}

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
        detail::scale_c(m, n, beta, c, ldc);
        return;
    }
#if NNLITE_BF16_KERNELS
    [[maybe_unused]] const bool amx = bf16_uses_amx();
    const std::size_t mc_tile = amx ? bf16::MC_AMX : bf16::MC;
    const double flops =
        2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    const detail::TileGrid grid =
        detail::tile_grid(m, mc_tile, b.panels(), bf16::NCB, threads, flops);
    const std::size_t row_tiles = grid.row_tiles, ncb = grid.ncb;
    detail::run_work(grid.tiles, threads, flops, [&](std::size_t t_begin, std::size_t t_end) {
#if NNLITE_AMX_KERNELS
        if (amx) {
            amx_detail::run_tiles(trans_a, m, a, lda, alpha, b, beta, c, ldc, row_tiles, ncb,
                                  t_begin, t_end);
            return;
        }
#endif
        bf16_detail::run_tiles(trans_a, m, a, lda, alpha, b, beta, c, ldc, row_tiles, ncb, t_begin,
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
