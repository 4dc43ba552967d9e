// nnlite's fp16 GEMM for the LSTM's products under ComputeType::fp16, on row-major fp32
// buffers, for CPUs with AVX512-FP16 (Intel Xeon from Sapphire Rapids on):
//
//   C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C
//
// computed as (2^-sa * sum over k-blocks of an fp16 dot product of fp16(2^sa op(A)) and
// fp16(2^sb op(B))) * alpha 2^-sb, the block sums added in fp32.
//
// Why: VFMADDPH multiplies and adds 32 fp16 lanes per instruction at the issue rate of the
// fp32 VFMADDPS (16 lanes): twice the fp32 FMA rate, where AVX512-BF16's VDPBF16PS runs at
// half of it on these CPUs (docs/performance.md). The price is fp16's range and its
// accumulation in fp16:
//   range   : each operand is scaled by a power of two so that its largest magnitude
//             lands in [4, 8) before it is rounded to fp16 (round to nearest even), and
//             the scales are undone exactly in the fp32 result: packed B (a whole weight
//             matrix) gets one scale sb, and A one sa per block that is packed (a work
//             tile's rows x one k-block, MC x KC: its max |x| is read just before it is
//             packed, from cache). No loss scaling is needed by the caller: gate gradients
//             of 1e-6 are scaled up like activations of 1e2 are scaled down. Elements
//             below 2^-26 of their block's largest (relative) become zero.
//   accuracy: products are accumulated in fp16 over k-blocks of at most 2 * KP = 256
//             elements (each fp16 lane sums KP = 128 products: at most 128 * 8 * 8 = 8192,
//             the two lanes 16384 < 65504, no overflow), then converted to fp32 and added
//             there (measured: fewer, longer blocks (KP = 128, scaled into [4, 8)) ran the
//             recurrent products 5-8% faster than KP = 64 in [8, 16)). Rounding an
//             input costs at most 2^-11 relative (bf16: 2^-8); the fp16 sums cost about
//             2^-12 * sqrt(128) of a lane's magnitude, typically. tests/fp16_kernels.cpp
//             checks every kernel against an emulation of all of these roundings.
//
// Layout (bf16's pairs, gemm/bgemm.hpp, with fp16 halves): a 32-bit word holds fp16(x[2q])
// in its low and fp16(x[2q+1]) in its high half; the fp16 lanes 2j and 2j + 1 of a vector
// of B pairs are column j at k = 2q and 2q + 1. A's pair, broadcast to all 16 words (a
// 32-bit broadcast: a load, no shuffle), multiplies both, so lane 2j sums the even and
// lane 2j + 1 the odd k of column j; a block's end adds the two (fp16), narrows the words
// to their low halves (VPMOVDW) and converts them to fp32 (VCVTPH2PS).
//
// Blocking (the fp32 kernel's GotoBLAS/BLIS scheme, gemm/sgemm.hpp, in k-pairs):
//   packed B  : op(B) in panels of NR = 32 columns over the full k as pairs (bp[q*NR + j],
//               zero past n and in an odd k's last high half), with its scale exponent.
//               Packed once where the LSTM reuses it (W_hh per forward and backward).
//   work tiles: MC = 16 * MR rows x NCB = 32 B panels (1024 columns: a k-block's B slice,
//               256 pairs x 1024 x 4 B = 1 MiB, stays in L2; fewer panels when the row
//               tiles are fewer than the threads: detail::tile_panels); threads take runs.
//   per thread: for each k-block of KC = 512 (256 pairs), for each of its tiles: pack the
//               tile's A rows into MR-row panels of pairs (ap[q*MR + r]), then for each B
//               panel (256 pairs x 32 columns x 4 B = 32 KiB: L1) for each A panel the
//               micro-kernel.
//   micro     : MR x NR = 6 x 32: 12 fp16 accumulators (2 per row: 16 columns x 2 k
//               each), 12 fp32 ones (2 per row), 2 B registers and a broadcast: 27 of 32.
//               Per pair q: 2 loads of B, 6 broadcasts, 12 VFMADDPH = 1536 flops.
//   edges     : fewer than MR rows or NR columns are loaded and stored under masks; odd k
//               is padded with a zero half in A and B.
// Like the bf16 kernels these are compiled for their ISA by a function-level target
// attribute (NNLITE_FP16_TARGET) whatever the program's flags, and every public entry
// point checks the CPU first (require_fp16: one nnlite::Error naming what is missing).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "nnlite/backend/cpu/gemm/bgemm.hpp"
#include "nnlite/backend/cpu/gemm/sgemm.hpp"
#include "nnlite/backend/cpu/isa.hpp"
#include "nnlite/core/error.hpp"

#if defined(__x86_64__) && \
    (defined(__clang__) ? (__clang_major__ >= 15) : (defined(__GNUC__) && __GNUC__ >= 12))
#define NNLITE_FP16_KERNELS 1
#include <immintrin.h>
#define NNLITE_FP16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512fp16")))
#else
#define NNLITE_FP16_KERNELS 0
#endif

namespace nnlite::cpu_gemm {

namespace fp16 {
constexpr std::size_t MR = 6, NR = 32;  // register tile (fp32 results)
constexpr std::size_t KP = 128;         // pairs summed in fp16 before each fp32 addition
constexpr std::size_t KC = 512;         // k-block in elements (256 pairs); even
constexpr std::size_t MC = 16 * MR;     // rows per work tile
constexpr std::size_t NCB = 32;         // B panels per work tile
constexpr int TOP = 3;                  // an operand's largest magnitude is scaled into [4, 8)
}  // namespace fp16

/// The power of two 2^s by which an operand whose largest magnitude is `max_abs` is scaled
/// before rounding to fp16 (s such that max_abs * 2^s lies in [4, 8)); 0 for an operand
/// of zeros or with infinities (those stay what they are; NaN does not count), clamped to
/// [-126, 126] so that 2^s and 2^-s are normal floats: every finite float operand from
/// 2^-123 up fits. The kernels undo the two scales one after the other (2^-sa, then
/// alpha 2^-sb), so a zero sum stays zero and only a result beyond fp32's range overflows.
inline int fp16_scale_exponent(float max_abs) {
    if (!(max_abs > 0.f) || !std::isfinite(max_abs)) return 0;
    int e = 0;
    (void)std::frexp(max_abs, &e);  // max_abs = f * 2^e, f in [0.5, 1)
    return std::clamp(fp16::TOP - e, -126, 126);
}

/// fp16 bits of x rounded to nearest even (overflow to infinity, NaN kept): the portable
/// reference the tests use; the kernels convert with VCVTPS2PH, which agrees.
inline std::uint16_t fp16_bits(float x) {
    std::uint32_t u = 0;
    std::memcpy(&u, &x, sizeof u);
    const std::uint32_t sign = (u >> 16) & 0x8000u;
    const std::uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u);   // NaN
    if (a >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // >= 65520: inf
    if (a < 0x38800000u) {  // below 2^-14: a subnormal fp16 (or zero)
        if (a < 0x33000000u) return static_cast<std::uint16_t>(sign);  // <= 2^-25: zero
        const std::uint32_t mant = (a & 0x7fffffu) | 0x800000u;
        const int shift = 126 - static_cast<int>(a >> 23);  // 14..24 for 2^-15 .. 2^-25
        const std::uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1u),
                            half = 1u << (shift - 1);
        const std::uint32_t r = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
        return static_cast<std::uint16_t>(sign | r);
    }
    const std::uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);  // to 10 mantissa bits
    return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

inline float fp16_to_float(std::uint16_t h) {
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    float x = 0;
    if (e == 0) {
        x = std::ldexp(static_cast<float>(m), -24);
    } else if (e == 31) {
        x = m ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
    } else {
        x = std::ldexp(static_cast<float>(m | 0x400u), static_cast<int>(e) - 25);
    }
    return sign ? -x : x;
}

/// x rounded to the nearest fp16 value, as a float.
inline float fp16_round(float x) {
    return fp16_to_float(fp16_bits(x));
}

/// Why the fp16 kernels cannot run on a CPU with features `f` (empty: they can).
inline std::string fp16_unavailable(const cpu_isa::CpuFeatures& f) {
#if !NNLITE_FP16_KERNELS
    (void)f;
    return "compute type fp16 needs nnlite's AVX512-FP16 kernels, which this build does not "
           "have (they need x86-64 and GCC >= 12 or Clang >= 15); use compute type fp32";
#else
    const std::string lacks = cpu_isa::lacking_features({{f.avx512f, "avx512f"},
                                                         {f.avx512bw, "avx512bw"},
                                                         {f.avx512vl, "avx512vl"},
                                                         {f.avx512dq, "avx512dq"},
                                                         {f.avx512_fp16, "avx512_fp16"}});
    if (lacks.empty()) return {};
    return "compute type fp16 needs a CPU with AVX512-FP16 (avx512_fp16 in /proc/cpuinfo, with "
           "avx512f avx512bw avx512vl avx512dq: Intel Xeon from Sapphire Rapids on); this CPU " +
           lacks + "; use compute type fp32" + (f.avx512_bf16 ? " or bf16" : "");
#endif
}

/// Whether the fp16 kernels can run here (checked once per process).
inline bool fp16_available() {
    static const bool ok = fp16_unavailable(cpu_isa::cpu_features()).empty();
    return ok;
}

/// Throws nnlite::Error naming what is missing when the fp16 kernels cannot run on a CPU
/// with features `f`.
inline void require_fp16(const cpu_isa::CpuFeatures& f) {
    const std::string why = fp16_unavailable(f);
    check(why.empty(), why);
}

inline void require_fp16() {
    if (!fp16_available()) require_fp16(cpu_isa::cpu_features());
}

/// op(B) [k, n] packed as scaled fp16 pairs in NR-column panels (see the file comment).
struct PackedH {
    std::vector<std::uint32_t> data;
    std::size_t k = 0, n = 0;
    int scale_exp = 0;  // op(B) was multiplied by 2^scale_exp before rounding
    std::size_t pairs() const { return (k + 1) / 2; }
    std::size_t panels() const { return (n + fp16::NR - 1) / fp16::NR; }
    const std::uint32_t* panel(std::size_t p) const { return data.data() + p * pairs() * fp16::NR; }
};

/// One of the products of hgemm_packed_shared_a: its packed right operand and its output
/// C [m, b->n] (row stride ldc).
struct SharedAProductH {
    const PackedH* b = nullptr;
    float* c = nullptr;
    std::size_t ldc = 0;
};

#if NNLITE_FP16_KERNELS
// GCC 12's AVX-512 intrinsics start from _mm*_undefined_*() (x = x), which its
// -Wmaybe-uninitialized reports once they are inlined here (GCC bug 105593, fixed in 13).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
namespace fp16_detail {

/// 16 floats times `scale`, rounded to fp16 (nearest even): 16 halves.
NNLITE_FP16_TARGET inline __m256i to_halves(__m512 x, __m512 scale) {
    return _mm512_cvtps_ph(_mm512_mul_ps(x, scale), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/// Halves of a in words 0..15 and of b in words 16..31 of one register.
NNLITE_FP16_TARGET inline __m512i join(__m256i a, __m256i b) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/// out[j] = h(r0[j]) | h(r1[j]) << 16 for j < n, h(x) = fp16(x * scale) (r1 null: high
/// halves zero). Only out[0, n) is written.
NNLITE_FP16_TARGET inline void pair_rows(const float* r0, const float* r1, std::size_t n,
                                         float scale, std::uint32_t* out) {
    // join() puts r0's halves in words 0..15 and r1's in 16..31; word 2j of the result
    // takes word j, word 2j+1 takes word 16 + j.
    const __m512i interleave =
        _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                         21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512 s = _mm512_set1_ps(scale);
    for (std::size_t j = 0; j < n; j += 16) {
        const std::size_t w = std::min<std::size_t>(16, n - j);
        const auto m = static_cast<__mmask16>((1u << w) - 1u);
        const __m256i a = to_halves(_mm512_maskz_loadu_ps(m, r0 + j), s);
        const __m256i b =
            r1 ? to_halves(_mm512_maskz_loadu_ps(m, r1 + j), s) : _mm256_setzero_si256();
        _mm512_mask_storeu_epi32(out + j, m, _mm512_permutexvar_epi16(interleave, join(a, b)));
    }
}

/// out[q] = h(x[2q]) | h(x[2q+1]) << 16 for q < (len + 1) / 2, x[len] read as 0:
/// consecutive elements of one row as pairs.
NNLITE_FP16_TARGET inline void row_pairs(const float* x, std::size_t len, float scale,
                                         std::uint32_t* out) {
    const __m512 s = _mm512_set1_ps(scale);
    for (std::size_t j = 0; j < len; j += 32) {
        const std::size_t w = std::min<std::size_t>(32, len - j);
        const std::size_t lo = std::min<std::size_t>(16, w), hi = w - lo;
        const __m256i a =
            to_halves(_mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << lo) - 1u), x + j), s);
        const __m256i b = to_halves(
            _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << hi) - 1u), x + j + 16), s);
        _mm512_mask_storeu_epi32(out + j / 2, static_cast<__mmask16>((1u << ((w + 1) / 2)) - 1u),
                                 join(a, b));
    }
}

/// max |x[r, j]| over rows [r0, r1) x cols, row stride ld (NaN is skipped).
NNLITE_FP16_TARGET inline float max_abs_rows(const float* x, std::size_t r0, std::size_t r1,
                                             std::size_t cols, std::size_t ld) {
    // Four independent maxima over whole vectors (the loop's mask arithmetic per vector was
    // most of this pass's instructions), then the row's masked tail.
    __m512 m[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
    const std::size_t whole = cols / 16 * 16, quads = cols / 64 * 64;
    const auto tail = static_cast<__mmask16>((1u << (cols - whole)) - 1u);
    for (std::size_t r = r0; r < r1; ++r) {
        const float* row = x + r * ld;
        std::size_t j = 0;
        // max_ps(v, m) with a NaN in v yields m: a NaN does not set the scale.
        for (; j < quads; j += 64)
#pragma GCC unroll 4
            for (std::size_t u = 0; u < 4; ++u)
                m[u] = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j + 16 * u)), m[u]);
        for (; j < whole; j += 16)
            m[0] = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + j)), m[0]);
        if (tail) m[1] = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(tail, row + j)), m[1]);
    }
    return _mm512_reduce_max_ps(
        _mm512_max_ps(_mm512_max_ps(m[0], m[1]), _mm512_max_ps(m[2], m[3])));
}

/// Packs op(B) into out (see PackedH).
NNLITE_FP16_TARGET inline void pack_b(bool trans_b, std::size_t k, std::size_t n, const float* b,
                                      std::size_t ldb, PackedH& out) {
    constexpr std::size_t NR = fp16::NR;
    out.k = k;
    out.n = n;
    out.scale_exp = fp16_scale_exponent(trans_b ? max_abs_rows(b, 0, n, k, ldb)
                                                : max_abs_rows(b, 0, k, n, ldb));
    const float scale = std::ldexp(1.f, out.scale_exp);
    const std::size_t kp = out.pairs();
    out.data.assign(out.panels() * kp * NR, 0u);
    std::vector<std::uint32_t> row(trans_b ? kp : 0);
    for (std::size_t p = 0; p < out.panels(); ++p) {
        std::uint32_t* dst = out.data.data() + p * kp * NR;
        const std::size_t j0 = p * NR, nr = std::min(NR, n - j0);
        if (!trans_b) {  // rows 2q and 2q+1 of B, columns [j0, j0 + nr)
            for (std::size_t q = 0; q < kp; ++q)
                pair_rows(b + 2 * q * ldb + j0,
                          2 * q + 1 < k ? b + (2 * q + 1) * ldb + j0 : nullptr, nr, scale,
                          dst + q * NR);
        } else {  // op(B)[kk, j] = B[j, kk]: row j of B holds column j's pairs in order
            for (std::size_t j = 0; j < nr; ++j) {
                row_pairs(b + (j0 + j) * ldb, k, scale, row.data());
                for (std::size_t q = 0; q < kp; ++q) dst[q * NR + j] = row[q];
            }
        }
    }
}

/// Packs rows [i0, i0 + mc) x k-range [k0, k0 + kc) of op(A), times `scale`, into MR-row
/// panels of pairs: panel r0 / MR at ap + r0 * kc2 (kc2 = (kc + 1) / 2), element
/// ap[q * MR + r]; zero past mc. A transposed op(A) takes at most MC rows (a work tile).
NNLITE_FP16_TARGET inline void pack_a(bool trans_a, const float* a, std::size_t lda, std::size_t i0,
                                      std::size_t mc, std::size_t k0, std::size_t kc, float scale,
                                      std::uint32_t* ap) {
    constexpr std::size_t MR = fp16::MR;
    const std::size_t kc2 = (kc + 1) / 2;
    if (trans_a) {
        // op(A)[i, kk] = A[kk, i]: rows kk and kk+1 of A, all mc columns at once (whole
        // vectors), then MR words to each panel.
        std::uint32_t row[fp16::MC];
        const std::size_t tail = mc % MR;
        if (tail) std::memset(ap + (mc - tail) * kc2, 0, MR * kc2 * sizeof(std::uint32_t));
        const std::size_t full = mc - tail;
        for (std::size_t q = 0; q < kc2; ++q) {
            const float* r = a + (k0 + 2 * q) * lda + i0;
            pair_rows(r, 2 * q + 1 < kc ? r + lda : nullptr, mc, scale, row);
            // Full panels: MR = 6 words as one 128-bit and one 64-bit move (a copy of
            // variable length compiled to a byte loop: ~40% of this packing's time).
            static_assert(MR == 6, "the copy below moves 6 words");
            for (std::size_t r0 = 0; r0 < full; r0 += MR) {
                std::uint32_t* d = ap + r0 * kc2 + q * MR;
                _mm_storeu_si128(reinterpret_cast<__m128i*>(d),
                                 _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + r0)));
                _mm_storel_epi64(reinterpret_cast<__m128i*>(d + 4),
                                 _mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + r0 + 4)));
            }
            if (tail)
                std::memcpy(ap + full * kc2 + q * MR, row + full, tail * sizeof(std::uint32_t));
        }
        return;
    }
    for (std::size_t r0 = 0; r0 < mc; r0 += MR) {
        const std::size_t mr = std::min(MR, mc - r0);
        std::uint32_t* dst = ap + r0 * kc2;
        // 16 pairs of each of the MR rows at a time, then stored transposed.
        alignas(64) std::uint32_t tmp[MR][16];
        for (std::size_t q0 = 0; q0 < kc2; q0 += 16) {
            const std::size_t len = std::min<std::size_t>(32, kc - 2 * q0);
            const std::size_t nq = (len + 1) / 2;
            for (std::size_t r = 0; r < MR; ++r) {
                if (r < mr)
                    row_pairs(a + (i0 + r0 + r) * lda + k0 + 2 * q0, len, scale, tmp[r]);
                else
                    std::memset(tmp[r], 0, sizeof tmp[r]);
            }
            for (std::size_t q = 0; q < nq; ++q)
#pragma GCC unroll 6
                for (std::size_t r = 0; r < MR; ++r) dst[(q0 + q) * MR + r] = tmp[r][q];
        }
    }
}

/// The 16 column sums of an fp16 accumulator of pairs (lane 2j: column j's even k, lane
/// 2j + 1: its odd k) as fp32.
NNLITE_FP16_TARGET inline __m512 column_sums(__m512h h) {
    const __m512i odd = _mm512_srli_epi32(_mm512_castph_si512(h), 16);
    const __m512h s = _mm512_add_ph(h, _mm512_castsi512_ph(odd));  // low halves: even + odd
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_castph_si512(s)));
}

/// The register tile: C[0..mr, 0..nr) = (unscale * Ap[MR x kc2 pairs] * Bp[kc2 pairs x NR])
/// * alpha + beta * C (beta == 0: C is not read); unscale = 2^-sa undoes A's scale, alpha
/// includes B's 2^-sb.
NNLITE_FP16_TARGET inline void micro_kernel(std::size_t kc2, const std::uint32_t* ap,
                                            const std::uint32_t* bp, float unscale, float alpha,
                                            float beta, float* c, std::size_t ldc, std::size_t mr,
                                            std::size_t nr) {
    constexpr std::size_t MR = fp16::MR, NR = fp16::NR, KP = fp16::KP;
    __m512 acc[MR][2];
#pragma GCC unroll 6
    for (std::size_t r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (std::size_t q0 = 0; q0 < kc2; q0 += KP) {
        const std::size_t q1 = std::min(kc2, q0 + KP);
        __m512h h[MR][2];
#pragma GCC unroll 6
        for (std::size_t r = 0; r < MR; ++r) h[r][0] = h[r][1] = _mm512_setzero_ph();
        for (std::size_t q = q0; q < q1; ++q) {
            const __m512h b0 = _mm512_castsi512_ph(_mm512_loadu_si512(bp + q * NR));
            const __m512h b1 = _mm512_castsi512_ph(_mm512_loadu_si512(bp + q * NR + 16));
#pragma GCC unroll 6
            for (std::size_t r = 0; r < MR; ++r) {
                const __m512h x =
                    _mm512_castsi512_ph(_mm512_set1_epi32(static_cast<int>(ap[q * MR + r])));
                h[r][0] = _mm512_fmadd_ph(x, b0, h[r][0]);
                h[r][1] = _mm512_fmadd_ph(x, b1, h[r][1]);
            }
        }
#pragma GCC unroll 6
        for (std::size_t r = 0; r < MR; ++r) {
            acc[r][0] = _mm512_add_ps(acc[r][0], column_sums(h[r][0]));
            acc[r][1] = _mm512_add_ps(acc[r][1], column_sums(h[r][1]));
        }
    }
    const __m512 vu = _mm512_set1_ps(unscale), va = _mm512_set1_ps(alpha),
                 vb = _mm512_set1_ps(beta);
    if (mr == MR && nr == NR) {
#pragma GCC unroll 6
        for (std::size_t r = 0; r < MR; ++r)
            for (std::size_t v = 0; v < 2; ++v) {
                float* p = c + r * ldc + v * 16;
                __m512 y = _mm512_mul_ps(_mm512_mul_ps(acc[r][v], vu), va);
                if (beta != 0.f) y = _mm512_fmadd_ps(_mm512_loadu_ps(p), vb, y);
                _mm512_storeu_ps(p, y);
            }
        return;
    }
    // Edge tile: masked loads and stores of the first mr rows and nr columns.
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t v = 0; v < 2; ++v) {
            const std::size_t j0 = v * 16;
            if (j0 >= nr) break;
            const auto m = static_cast<__mmask16>((1u << std::min<std::size_t>(16, nr - j0)) - 1u);
            float* p = c + r * ldc + j0;
            __m512 y = _mm512_mul_ps(_mm512_mul_ps(acc[r][v], vu), va);
            if (beta != 0.f) y = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, p), vb, y);
            _mm512_mask_storeu_ps(p, m, y);
        }
}

/// The calling thread's A-packing buffer (grown as needed, reused across calls).
inline std::vector<std::uint32_t>& a_buffer() {
    thread_local std::vector<std::uint32_t> buf;
    return buf;
}

/// max |op(A)[i, kk]| over rows [i0, i0 + mc) x k-range [k0, k0 + kc).
NNLITE_FP16_TARGET inline float max_abs_block(bool trans_a, const float* a, std::size_t lda,
                                              std::size_t i0, std::size_t mc, std::size_t k0,
                                              std::size_t kc) {
    return trans_a ? max_abs_rows(a + i0, k0, k0 + kc, mc, lda)
                   : max_abs_rows(a + k0, i0, i0 + mc, kc, lda);
}

/// Work tiles [t_begin, t_end) of one hgemm_packed_shared_a call (see the file comment):
/// the products' B panels form one row (product 0's, then product 1's, ...; first[i] is
/// product i's first panel in it), so a tile's block of op(A) is packed once for every
/// product it reaches. Each block of op(A) that is packed (a work tile's rows x one
/// k-block) gets its own scale 2^sa from its own largest magnitude, read just before it is
/// packed (so from cache), and its products are scaled back by 2^-sa, then alpha 2^-sb
/// (each B's own sb), as they are stored.
NNLITE_FP16_TARGET inline void run_tiles(bool trans_a, std::size_t m, const float* a,
                                         std::size_t lda, float alpha, const SharedAProductH* prods,
                                         const std::size_t* first, std::size_t count, float beta,
                                         std::size_t row_tiles, std::size_t ncb,
                                         std::size_t t_begin, std::size_t t_end) {
    constexpr std::size_t MR = fp16::MR, NR = fp16::NR, MC = fp16::MC, KC = fp16::KC;
    const std::size_t k = prods[0].b->k, panels = first[count];
    float alpha_b[kMaxSharedA] = {};
    for (std::size_t i = 0; i < count; ++i) alpha_b[i] = std::ldexp(alpha, -prods[i].b->scale_exp);
    std::vector<std::uint32_t>& apbuf = a_buffer();
    const std::size_t a_size = round_up(std::min(MC, m), MR) * ((std::min(KC, k) + 1) / 2);
    if (apbuf.size() < a_size) apbuf.resize(a_size);
    std::uint32_t* ap = apbuf.data();
    for (std::size_t k0 = 0; k0 < k; k0 += KC) {
        const std::size_t kc = std::min(KC, k - k0), kc2 = (kc + 1) / 2, q0 = k0 / 2;
        const float bet = k0 == 0 ? beta : 1.f;
        for (std::size_t t = t_begin; t < t_end; ++t) {
            const std::size_t ct = t / row_tiles, rt = t % row_tiles;
            const std::size_t i0 = rt * MC, mc = std::min(MC, m - i0);
            const std::size_t p0 = ct * ncb, p1 = std::min(panels, p0 + ncb);
            const int sa = fp16_scale_exponent(max_abs_block(trans_a, a, lda, i0, mc, k0, kc));
            const float unscale = std::ldexp(1.f, -sa);
            pack_a(trans_a, a, lda, i0, mc, k0, kc, std::ldexp(1.f, sa), ap);
            std::size_t o = 0;  // the product panel p belongs to
            for (std::size_t p = p0; p < p1; ++p) {
                while (p >= first[o + 1]) ++o;
                const SharedAProductH& pr = prods[o];
                const std::size_t q = p - first[o];  // the panel within its product
                const std::uint32_t* bp = pr.b->panel(q) + q0 * NR;
                const std::size_t j0 = q * NR, nr = std::min(NR, pr.b->n - j0);
                for (std::size_t r0 = 0; r0 < mc; r0 += MR)
                    micro_kernel(kc2, ap + r0 * kc2, bp, unscale, alpha_b[o], bet,
                                 pr.c + (i0 + r0) * pr.ldc + j0, pr.ldc, std::min(MR, mc - r0), nr);
            }
        }
    }
}

}  // namespace fp16_detail
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // NNLITE_FP16_KERNELS

/// Packs op(B) (B^T when trans_b; row stride ldb as stored) as scaled fp16 pairs into out.
inline void pack_bh(bool trans_b, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                    PackedH& out) {
    require_fp16();  // before any code built for AVX512-FP16 runs
#if NNLITE_FP16_KERNELS
    fp16_detail::pack_b(trans_b, k, n, b, ldb, out);
#else
    (void)trans_b, (void)k, (void)n, (void)b, (void)ldb, (void)out;
#endif
}

/// C_i = alpha * op(A) * B_i + beta * C_i in fp16 (see the file comment) for `count` (1 to
/// kMaxSharedA) products with the same op(A) [m, k] (every B_i has that k), on up to
/// `threads` threads: as sgemm_packed_shared_a, each block of op(A) is scaled and packed
/// once for all of them, and each C element comes out as its own hgemm_packed call makes it.
inline void hgemm_packed_shared_a(bool trans_a, std::size_t m, const float* a, std::size_t lda,
                                  float alpha, const SharedAProductH* prods, std::size_t count,
                                  float beta, int threads = 1) {
    require_fp16();
    count = std::min(count, kMaxSharedA);
    if (m == 0 || count == 0) return;
    const std::size_t k = prods[0].b->k;
    const detail::PanelRow row = detail::panel_row(prods, count);
    const std::size_t* first = row.first;
    const std::size_t n_all = row.columns;
    if (row.panels(count) == 0) return;
    if (k == 0) {
        detail::scale_products(m, prods, count, beta);
        return;
    }
#if NNLITE_FP16_KERNELS
    const double flops =
        2.0 * static_cast<double>(m) * static_cast<double>(n_all) * static_cast<double>(k);
    const detail::TileGrid grid =
        detail::tile_grid(m, fp16::MC, first[count], fp16::NCB, threads, flops);
    const std::size_t row_tiles = grid.row_tiles, ncb = grid.ncb;
    detail::run_work(grid.tiles, threads, flops, [&](std::size_t t_begin, std::size_t t_end) {
        fp16_detail::run_tiles(trans_a, m, a, lda, alpha, prods, first, count, beta, row_tiles, ncb,
                               t_begin, t_end);
    });
#else
    (void)trans_a, (void)a, (void)lda, (void)alpha, (void)beta, (void)threads, (void)first,
        (void)n_all;
#endif
}

/// C[m, b.n] = alpha * op(A) * B + beta * C in fp16 (see the file comment) against a packed
/// B, on up to `threads` threads.
inline void hgemm_packed(bool trans_a, std::size_t m, const float* a, std::size_t lda, float alpha,
                         const PackedH& b, float beta, float* c, std::size_t ldc, int threads = 1) {
    const SharedAProductH one{&b, c, ldc};
    hgemm_packed_shared_a(trans_a, m, a, lda, alpha, &one, 1, beta, threads);
}

/// The general product: packs op(B) into a per-thread buffer, then hgemm_packed.
inline void hgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc, int threads = 1) {
    if (m == 0 || n == 0) return;
    thread_local PackedH packed;
    pack_bh(trans_b, k, n, b, ldb, packed);
    hgemm_packed(trans_a, m, a, lda, alpha, packed, beta, c, ldc, threads);
}

/// Two general products with the same op(A) [m, k] in fp16, C1 [m, n1] and C2 [m, n2], with
/// op(A) scaled and packed once for both (hgemm_packed_shared_a); the same bits as two
/// hgemm calls.
inline void hgemm_shared_a(bool trans_a, bool trans_b, std::size_t m, std::size_t n1,
                           std::size_t n2, std::size_t k, float alpha, const float* a,
                           std::size_t lda, const float* b1, std::size_t ldb1, const float* b2,
                           std::size_t ldb2, float beta, float* c1, std::size_t ldc1, float* c2,
                           std::size_t ldc2, int threads = 1) {
    if (m == 0) return;
    detail::pack_two_and_run<PackedH, SharedAProductH>(
        trans_b, k, n1, n2, b1, ldb1, b2, ldb2, c1, ldc1, c2, ldc2, pack_bh,
        [&](const SharedAProductH* prods) {
            hgemm_packed_shared_a(trans_a, m, a, lda, alpha, prods, 2, beta, threads);
        });
}

}  // namespace nnlite::cpu_gemm
