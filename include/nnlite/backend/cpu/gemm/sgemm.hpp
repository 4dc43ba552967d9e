// nnlite's own single-precision GEMM for the LSTM's hot products, on row-major buffers:
//
//   C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C      (beta == 0: C is not read)
//
// Why: the LSTM's per-step recurrent product h_prev · W_hh^T is small ([64, H] x [H, 4H])
// and repeated T times with the same W_hh. A BLAS call re-packs W_hh every step, and the
// BLAS's kernel choice is the BLAS's (Debian's OpenBLAS 0.3.21 runs SSE3 "Prescott"
// kernels on Sapphire Rapids). Here op(B) is packed ONCE (pack_b) and every step runs
// sgemm_packed against the packed copy, with the micro-kernel of the ISA the program was
// compiled for (gemm/simd.hpp).
//
// Blocking (GotoBLAS/BLIS scheme, sizes for one core's L1/L2):
//   packed B  : op(B) in panels of NR columns; panel p holds rows 0..k-1 of columns
//               [p*NR, p*NR + NR), k-major (bp[kk*NR + j]), zero-padded past n. Packed once
//               over the full k; a k-block [k0, k0 + kc) of a panel is bp + k0*NR.
//   work tiles: MC rows x NCB panels of C (fewer panels when there are fewer row tiles
//               than threads: detail::tile_panels); threads take contiguous runs of tiles.
//   per thread: for each k-block of KC, for each of its tiles (column-tile-major, so the
//               B slice kc x NCB*NR stays in L2 across row tiles): pack the tile's A rows
//               (MC x kc) into MR-row panels (ap[kk*MR + r], zero-padded past m), then for
//               each B panel (kept in L1) for each A panel: the MR x NR micro-kernel.
//   micro     : MR x NR accumulators in registers (gemm/simd.hpp); per kk one row of the B
//               panel (NR/W vector loads) and MR broadcasts of A, MR*NR/W FMAs. The first
//               k-block applies beta, later ones accumulate (beta = 1).
// Edge tiles (fewer than MR rows or NR columns left) go through a small stack buffer.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "nnlite/backend/cpu/gemm/simd.hpp"
#include "nnlite/backend/cpu/isa.hpp"
#include "nnlite/core/threads.hpp"

namespace nnlite::cpu_gemm {

constexpr std::size_t MR = Simd::MR, NR = Simd::NR, W = Simd::W;
constexpr std::size_t KC = 256;  // k-block: B panel kc x NR (32 KiB at NR 32) fits L1
// Rows per tile: packed A block MC x KC, 64 KiB at MR 8. On the 2 MiB-L2 Xeon of
// docs/performance-history.md, 4, 8, 16 and 32 row panels gave the large products (16384 x 1024 x
// 512, 2048^3) 139, 137, 113 and 77 GFLOP/s: the A panels stream through L1 past the
// B panel once per B panel, and a smaller block evicts less of it.
constexpr std::size_t MC = 8 * MR;
constexpr std::size_t NCB = 32;  // B panels per tile: slice KC x 1024 = 1 MiB at NR 32, L2
constexpr std::size_t BPF = 8;   // B rows the micro-kernel prefetches ahead (micro_kernel)

/// op(B) [k, n] packed in NR-column panels over the full k (see the file comment).
struct PackedB {
    std::vector<float> data;
    std::size_t k = 0, n = 0;
    std::size_t panels() const { return (n + NR - 1) / NR; }
    const float* panel(std::size_t p) const { return data.data() + p * k * NR; }
};

/// Packs op(B) (B^T when trans_b; row stride ldb as stored) into out.
inline void pack_b(bool trans_b, std::size_t k, std::size_t n, const float* b, std::size_t ldb,
                   PackedB& out) {
    cpu_isa::require_compiled_isa();  // before any code built for that ISA runs
    out.k = k;
    out.n = n;
    // Every element is written below (a reused buffer is not zero-filled first: that fill
    // was ~1% of a `cpu`-preset training step, whose weight gradients pack 6 MB of
    // activations per chunk); only a last part panel's padding columns are zeroed.
    out.data.resize(out.panels() * k * NR);
    for (std::size_t p = 0; p < out.panels(); ++p) {
        float* dst = out.data.data() + p * k * NR;
        const std::size_t j0 = p * NR, nr = std::min(NR, n - j0);
        if (nr < NR)
            for (std::size_t kk = 0; kk < k; ++kk)
                std::fill(dst + kk * NR + nr, dst + kk * NR + NR, 0.f);
        if (!trans_b) {
            for (std::size_t kk = 0; kk < k; ++kk)
                for (std::size_t j = 0; j < nr; ++j) dst[kk * NR + j] = b[kk * ldb + j0 + j];
        } else {  // op(B)[kk, j] = B[j, kk]: read rows of B contiguously
            for (std::size_t j = 0; j < nr; ++j)
                for (std::size_t kk = 0; kk < k; ++kk) dst[kk * NR + j] = b[(j0 + j) * ldb + kk];
        }
    }
}

namespace detail {

/// Asks for the cache lines of [p, p + bytes), the last one too where p is not line-aligned
/// (bytes > 0): a row of a packing's source some rows ahead of the one being read.
inline void prefetch_span(const void* p, std::size_t bytes) {
    const char* b = static_cast<const char*>(p);
    for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(b + off);
    __builtin_prefetch(b + bytes - 1);
}

/// Asks for C's register tile, rows [0, mr) x columns [0, nr) (row stride ldc), for writing:
/// a micro-kernel reads (beta != 0) and writes it only after its k loop, so the lines
/// arrive from memory while the loop runs instead of stalling the stores.
inline void prefetch_c_tile(const float* c, std::size_t ldc, std::size_t mr, std::size_t nr) {
#pragma GCC unroll 16
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t j = 0; j < nr; j += 64 / sizeof(float))
            __builtin_prefetch(c + r * ldc + j, 1, 3);
}

/// The full-panel copy of pack_a for non-transposed A: dst[kk * M + r] = rows[r][kk] for
/// kk < kc. With the vector kernels (AVX2+FMA or AVX-512F, as gemm/simd.hpp), 8 k-columns
/// at a time: M (6 or 8) rows of 8 floats are loaded, transposed as an 8 x 8 block in
/// registers (rows past M repeat the last row and are not stored), and each k-column's M
/// values stored at once; the scalar loop does the rest (and everything in a portable
/// build). The scalar copy alone did 2M loads and stores per k-column with the row pointers
/// spilled (half of the packing time, 5% of a `cpu`-preset training step).
template <std::size_t M>
inline void pack_rows_x8(const float* const* rows, std::size_t kc, float* dst) {
    static_assert(M == 6 || M == 8, "the 8 x 8 transpose serves 6- and 8-row panels");
    std::size_t kk = 0;
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
    for (; kk + 8 <= kc; kk += 8) {
        __m256 r[8];
        for (std::size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows[std::min(i, M - 1)] + kk);
        // Pairs, then quads per 128-bit lane, then the lanes: column j of the block is t[j].
        const __m256 u0 = _mm256_unpacklo_ps(r[0], r[1]), u1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 u2 = _mm256_unpacklo_ps(r[2], r[3]), u3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 u4 = _mm256_unpacklo_ps(r[4], r[5]), u5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 u6 = _mm256_unpacklo_ps(r[6], r[7]), u7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 q0 = _mm256_shuffle_ps(u0, u2, 0x44), q1 = _mm256_shuffle_ps(u0, u2, 0xEE);
        const __m256 q2 = _mm256_shuffle_ps(u1, u3, 0x44), q3 = _mm256_shuffle_ps(u1, u3, 0xEE);
        const __m256 q4 = _mm256_shuffle_ps(u4, u6, 0x44), q5 = _mm256_shuffle_ps(u4, u6, 0xEE);
        const __m256 q6 = _mm256_shuffle_ps(u5, u7, 0x44), q7 = _mm256_shuffle_ps(u5, u7, 0xEE);
        const __m256 t[8] = {
            _mm256_permute2f128_ps(q0, q4, 0x20), _mm256_permute2f128_ps(q1, q5, 0x20),
            _mm256_permute2f128_ps(q2, q6, 0x20), _mm256_permute2f128_ps(q3, q7, 0x20),
            _mm256_permute2f128_ps(q0, q4, 0x31), _mm256_permute2f128_ps(q1, q5, 0x31),
            _mm256_permute2f128_ps(q2, q6, 0x31), _mm256_permute2f128_ps(q3, q7, 0x31)};
        for (std::size_t j = 0; j < 8; ++j) {
            float* d = dst + (kk + j) * M;
            if constexpr (M == 8) {
                _mm256_storeu_ps(d, t[j]);
            } else {  // values 0-3, then 4-5 (one 64-bit store)
                _mm_storeu_ps(d, _mm256_castps256_ps128(t[j]));
                _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), _mm256_extractf128_ps(t[j], 1));
            }
        }
    }
#endif
    for (; kk < kc; ++kk)
#pragma GCC unroll 8
        for (std::size_t r = 0; r < M; ++r) dst[kk * M + r] = rows[r][kk];
}

/// Packs rows [i0, i0 + mc) x k-range [k0, k0 + kc) of op(A) into MR-row panels.
inline void pack_a(bool trans_a, const float* a, std::size_t lda, std::size_t i0, std::size_t mc,
                   std::size_t k0, std::size_t kc, float* ap) {
    if (trans_a) {
        // op(A)[i, kk] = A[kk, i]: row kk of A holds the tile's mc values side by side, so
        // walk A's rows once (kk outermost) and deal each row's values out to the panels.
        // Panel by panel instead would revisit every row of A once per panel; with A's row
        // stride a multiple of 4 KiB (the weight gradients' dG^T, 4H floats a row) all those
        // rows fall into one L1 set, and each visit missed L1. Each row is on another page,
        // where the hardware prefetchers stop, so the rows PF rows ahead are asked for here:
        // without that the copy waited on L3 for every row (7% of a seed training step).
        constexpr std::size_t PF = 16;
        const std::size_t bytes = mc * sizeof(float);
        for (std::size_t kk = 0; kk < kc; ++kk) {
            const float* src = a + (k0 + kk) * lda + i0;
            if (kk + PF < kc) prefetch_span(src + PF * lda, bytes);
            for (std::size_t r0 = 0; r0 < mc; r0 += MR) {
                float* dst = ap + r0 * kc + kk * MR;
                const std::size_t mr = std::min(MR, mc - r0);
                if (mr == MR) {
                    std::memcpy(dst, src + r0, MR * sizeof(float));
                } else {
                    for (std::size_t r = 0; r < mr; ++r) dst[r] = src[r0 + r];
                    for (std::size_t r = mr; r < MR; ++r) dst[r] = 0.f;
                }
            }
        }
        return;
    }
    for (std::size_t r0 = 0; r0 < mc; r0 += MR) {
        const std::size_t mr = std::min(MR, mc - r0);
        float* dst = ap + r0 * kc;
        // MR row streams read side by side, each kk's MR values stored contiguously.
        const float* rows[MR];
        for (std::size_t r = 0; r < MR; ++r)
            rows[r] = a + (i0 + r0 + std::min(r, mr - 1)) * lda + k0;
        if (mr == MR) {
            pack_rows_x8<MR>(rows, kc, dst);
        } else {
            for (std::size_t kk = 0; kk < kc; ++kk)
                for (std::size_t r = 0; r < mr; ++r) dst[kk * MR + r] = rows[r][kk];
        }
        for (std::size_t r = mr; r < MR; ++r)
            for (std::size_t kk = 0; kk < kc; ++kk) dst[kk * MR + r] = 0.f;
    }
}

/// The register tile: C[0..mr, 0..nr) = alpha * Ap[MR x kc] * Bp[kc x NR] + beta * C.
inline void micro_kernel(std::size_t kc, const float* ap, const float* bp, float alpha, float beta,
                         float* c, std::size_t ldc, std::size_t mr, std::size_t nr) {
    constexpr std::size_t NV = NR / W;
    prefetch_c_tile(c, ldc, mr, nr);
    Simd::reg acc[MR][NV];
#pragma GCC unroll 16
    for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) acc[r][v] = Simd::zero();
    for (std::size_t kk = 0; kk < kc; ++kk) {
        // B's row BPF rows ahead is asked for now (its NR floats are one or two lines): a
        // panel's first pass comes from L2 or L3 (the packed W_ih of a 512-wide layer, 2 MiB,
        // does not stay in a 2 MiB L2), and with the hardware prefetchers alone an LSTM
        // layer ran 5-7% slower (docs/performance-history.md, tenth run). Near the panel's end this
        // fetches the next panel's first rows (a prefetch never faults).
#pragma GCC unroll 4
        for (std::size_t j = 0; j < NR; j += 64 / sizeof(float))
            __builtin_prefetch(bp + (kk + BPF) * NR + j);
        Simd::reg b[NV];
#pragma GCC unroll 4
        for (std::size_t v = 0; v < NV; ++v) b[v] = Simd::load(bp + kk * NR + v * W);
#pragma GCC unroll 16
        for (std::size_t r = 0; r < MR; ++r) {
            const Simd::reg x = Simd::bcast(ap[kk * MR + r]);
#pragma GCC unroll 4
            for (std::size_t v = 0; v < NV; ++v) acc[r][v] = Simd::fma(x, b[v], acc[r][v]);
        }
    }
    const Simd::reg va = Simd::bcast(alpha), vb = Simd::bcast(beta);
    if (mr == MR && nr == NR) {
#pragma GCC unroll 16
        for (std::size_t r = 0; r < MR; ++r)
#pragma GCC unroll 4
            for (std::size_t v = 0; v < NV; ++v) {
                float* p = c + r * ldc + v * W;
                Simd::reg y = Simd::mul(acc[r][v], va);
                if (beta != 0.f) y = Simd::fma(Simd::load(p), vb, y);
                Simd::store(p, y);
            }
        return;
    }
    // Edge tile: the same vector operations as above on a copy of C's corner, so a row's
    // result does not depend on whether it falls in a full or an edge tile (with FMA, a scalar
    // alpha * t + beta * c rounds differently: a review's answer then depended on its batch).
    alignas(64) float ct[MR * NR] = {};
    alignas(64) float tile[MR * NR];
    if (beta != 0.f)
        for (std::size_t r = 0; r < mr; ++r)
            for (std::size_t j = 0; j < nr; ++j) ct[r * NR + j] = c[r * ldc + j];
    for (std::size_t r = 0; r < MR; ++r)
        for (std::size_t v = 0; v < NV; ++v) {
            Simd::reg y = Simd::mul(acc[r][v], va);
            if (beta != 0.f) y = Simd::fma(Simd::load(ct + r * NR + v * W), vb, y);
            Simd::store(tile + r * NR + v * W, y);
        }
    for (std::size_t r = 0; r < mr; ++r)
        for (std::size_t j = 0; j < nr; ++j) c[r * ldc + j] = tile[r * NR + j];
}

/// Runs f(begin, end) over [0, n) in nt balanced chunks on the thread team
/// (core/threads.hpp; the caller runs chunks too); rethrows the first exception. The
/// workers take the caller's floating-point mode (MXCSR: the LSTM's flush-to-zero scope),
/// so subnormals cost them nothing more than the caller.
template <class F>
void run_split(std::size_t n, std::size_t nt, F&& f) {
    ::nnlite::detail::run_chunks(nt, nt, [&](std::size_t t) { f(t * n / nt, (t + 1) * n / nt); });
}

/// The threads a product of `flops` is worth, out of `threads`: one more per ~1 MFLOP at
/// most (below that, handing a thread work costs more than it saves).
inline std::size_t work_threads(int threads, double flops) {
    return std::min(static_cast<std::size_t>(std::max(threads, 1)),
                    static_cast<std::size_t>(flops / 1e6) + 1);
}

/// B panels per work tile: the cache-sized `ncb`, or fewer where the product's row tiles
/// alone are fewer than the threads it is worth, so that every such thread gets a tile. A
/// recurrent product has 64 rows, one row tile: with whole-width column tiles the
/// backward's dG.W_hh of a unidirectional layer ([64, 4H] x [4H, H]) ran on one thread of
/// two. Which tile computes a C element does not change its operations, so neither does
/// this change any result.
inline std::size_t tile_panels(std::size_t ncb, std::size_t panels, std::size_t row_tiles,
                               int threads, double flops) {
    const std::size_t nt = work_threads(threads, flops);
    if (row_tiles >= nt || panels == 0) return ncb;
    const std::size_t splits = (nt + row_tiles - 1) / row_tiles;
    return std::clamp<std::size_t>((panels + splits - 1) / splits, 1, ncb);
}

/// A product's work tiles: row tiles of mc rows, column tiles of ncb B panels (at most
/// ncb_max: tile_panels), and their count.
struct TileGrid {
    std::size_t row_tiles, ncb, tiles;
};
inline TileGrid tile_grid(std::size_t m, std::size_t mc, std::size_t panels, std::size_t ncb_max,
                          int threads, double flops) {
    const std::size_t row_tiles = (m + mc - 1) / mc;
    const std::size_t ncb = tile_panels(ncb_max, panels, row_tiles, threads, flops);
    return {row_tiles, ncb, row_tiles * ((panels + ncb - 1) / ncb)};
}

/// f(begin, end) over n work units (tiles, panels) of a product of `flops` on up to
/// `threads` threads (work_threads), all on the caller when that is one.
template <class F>
void run_work(std::size_t n, int threads, double flops, F&& f) {
    const std::size_t nt = std::min(work_threads(threads, flops), n);
    if (nt <= 1)
        f(std::size_t{0}, n);
    else
        run_split(n, nt, f);
}

/// C[m, n] = beta * C: a product with k == 0 (beta == 0 writes zeros, whatever C held).
inline void scale_c(std::size_t m, std::size_t n, float beta, float* c, std::size_t ldc) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j)
            c[i * ldc + j] = beta == 0.f ? 0.f : beta * c[i * ldc + j];
}

/// The calling thread's A-packing buffer (grown as needed, reused across calls).
inline std::vector<float>& a_buffer() {
    thread_local std::vector<float> buf;
    return buf;
}

}  // namespace detail

/// One of the products of sgemm_packed_shared_a: its packed right operand and its output
/// C [m, b->n] (row stride ldc).
struct SharedAProduct {
    const PackedB* b = nullptr;
    float* c = nullptr;
    std::size_t ldc = 0;
};

/// The most products sgemm_packed_shared_a (and hgemm_packed_shared_a) take in one call.
constexpr std::size_t kMaxSharedA = 4;

namespace detail {

/// The joint row of panels of up to kMaxSharedA products sharing op(A) (Product: b, c, ldc
/// with b->panels(), b->n): first[i] is product i's first panel, first[count] all of them;
/// columns, their widths summed.
struct PanelRow {
    std::size_t first[kMaxSharedA + 1] = {};
    std::size_t columns = 0;
    std::size_t panels(std::size_t count) const { return first[count]; }
};
template <class Product>
PanelRow panel_row(const Product* prods, std::size_t count) {
    PanelRow row;
    for (std::size_t i = 0; i < count; ++i) {
        row.first[i + 1] = row.first[i] + prods[i].b->panels();
        row.columns += prods[i].b->n;
    }
    return row;
}

/// Every product's C = beta C (the products of a k = 0 call).
template <class Product>
void scale_products(std::size_t m, const Product* prods, std::size_t count, float beta) {
    for (std::size_t i = 0; i < count; ++i)
        scale_c(m, prods[i].b->n, beta, prods[i].c, prods[i].ldc);
}

/// The two products of sgemm_shared_a / hgemm_shared_a: op(B1) and op(B2) packed by
/// pack(trans_b, k, n, b, ldb, Packed&) into per-thread buffers, then run(prods) with the
/// two products {packed B_i, C_i, ldc_i}.
template <class Packed, class Product, class Pack, class Run>
void pack_two_and_run(bool trans_b, std::size_t k, std::size_t n1, std::size_t n2, const float* b1,
                      std::size_t ldb1, const float* b2, std::size_t ldb2, float* c1,
                      std::size_t ldc1, float* c2, std::size_t ldc2, Pack&& pack, Run&& run) {
    thread_local Packed packed1, packed2;
    pack(trans_b, k, n1, b1, ldb1, packed1);
    pack(trans_b, k, n2, b2, ldb2, packed2);
    const Product prods[2] = {{&packed1, c1, ldc1}, {&packed2, c2, ldc2}};
    run(prods);
}

}  // namespace detail

/// C_i = alpha * op(A) * B_i + beta * C_i for `count` (1 to kMaxSharedA) products with the
/// same op(A) [m, k] (every B_i has that k), on up to `threads` threads. Their B panels are
/// walked as one row of panels (product 0's, then product 1's, ...), so a work tile packs
/// its block of op(A) once for every product whose panels it holds: with the LSTM's weight
/// gradients dW_ih = dG^T x and dW_hh = dG^T h_prev (I + H columns, one column tile) dG^T
/// is packed once instead of twice. Each C element sees the same operations as in its own
/// sgemm_packed call, so the results are the same bits.
inline void sgemm_packed_shared_a(bool trans_a, std::size_t m, const float* a, std::size_t lda,
                                  float alpha, const SharedAProduct* prods, std::size_t count,
                                  float beta, int threads = 1) {
    cpu_isa::require_compiled_isa();
    count = std::min(count, kMaxSharedA);
    if (m == 0 || count == 0) return;
    const std::size_t k = prods[0].b->k;
    const detail::PanelRow row = detail::panel_row(prods, count);
    const std::size_t* first = row.first;
    const std::size_t panels = row.panels(count), n_all = row.columns;
    if (panels == 0) return;
    if (k == 0) {
        detail::scale_products(m, prods, count, beta);
        return;
    }
    const double flops =
        2.0 * static_cast<double>(m) * static_cast<double>(n_all) * static_cast<double>(k);
    const detail::TileGrid grid = detail::tile_grid(m, MC, panels, NCB, threads, flops);
    const std::size_t row_tiles = grid.row_tiles, ncb = grid.ncb;
    auto run_tiles = [&](std::size_t t_begin, std::size_t t_end) {
        std::vector<float>& apbuf = detail::a_buffer();
        const std::size_t a_size = ((std::min(MC, m) + MR - 1) / MR) * MR * std::min(KC, k);
        if (apbuf.size() < a_size) apbuf.resize(a_size);
        float* ap = apbuf.data();
        // k-blocks outermost: the B slice (kc x NCB panels) of a column tile stays in L2
        // while the thread walks that tile's row tiles (column-tile-major order).
        for (std::size_t k0 = 0; k0 < k; k0 += KC) {
            const std::size_t kc = std::min(KC, k - k0);
            const float bet = k0 == 0 ? beta : 1.f;
            for (std::size_t t = t_begin; t < t_end; ++t) {
                const std::size_t ct = t / row_tiles, rt = t % row_tiles;
                const std::size_t i0 = rt * MC, mc = std::min(MC, m - i0);
                const std::size_t p0 = ct * ncb, p1 = std::min(panels, p0 + ncb);
                detail::pack_a(trans_a, a, lda, i0, mc, k0, kc, ap);
                std::size_t o = 0;  // the product panel p belongs to
                for (std::size_t p = p0; p < p1; ++p) {
                    while (p >= first[o + 1]) ++o;
                    const SharedAProduct& pr = prods[o];
                    const std::size_t q = p - first[o];  // the panel within its product
                    const float* bp = pr.b->panel(q) + k0 * NR;
                    const std::size_t j0 = q * NR, nr = std::min(NR, pr.b->n - j0);
                    for (std::size_t r0 = 0; r0 < mc; r0 += MR)
                        detail::micro_kernel(kc, ap + r0 * kc, bp, alpha, bet,
                                             pr.c + (i0 + r0) * pr.ldc + j0, pr.ldc,
                                             std::min(MR, mc - r0), nr);
                }
            }
        }
    };
    detail::run_work(grid.tiles, threads, flops, run_tiles);
}

/// C[m, b.n] = alpha * op(A) * B + beta * C against a packed B, on up to `threads` threads
/// (work tiles are split among them; 1 runs on the caller).
inline void sgemm_packed(bool trans_a, std::size_t m, const float* a, std::size_t lda, float alpha,
                         const PackedB& b, float beta, float* c, std::size_t ldc, int threads = 1) {
    const SharedAProduct one{&b, c, ldc};
    sgemm_packed_shared_a(trans_a, m, a, lda, alpha, &one, 1, beta, threads);
}

/// The general product: packs op(B) into a per-thread buffer, then sgemm_packed.
inline void sgemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                  float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                  float beta, float* c, std::size_t ldc, int threads = 1) {
    if (m == 0 || n == 0) return;
    thread_local PackedB packed;
    pack_b(trans_b, k, n, b, ldb, packed);
    sgemm_packed(trans_a, m, a, lda, alpha, packed, beta, c, ldc, threads);
}

/// Two general products with the same op(A) [m, k]: C1 = alpha op(A) op(B1) + beta C1 [m, n1]
/// and C2 = alpha op(A) op(B2) + beta C2 [m, n2] (op(B_i) = B_i^T when trans_b), with op(A)
/// packed once for both (sgemm_packed_shared_a); the same bits as two sgemm calls.
inline void sgemm_shared_a(bool trans_a, bool trans_b, std::size_t m, std::size_t n1,
                           std::size_t n2, std::size_t k, float alpha, const float* a,
                           std::size_t lda, const float* b1, std::size_t ldb1, const float* b2,
                           std::size_t ldb2, float beta, float* c1, std::size_t ldc1, float* c2,
                           std::size_t ldc2, int threads = 1) {
    if (m == 0) return;
    detail::pack_two_and_run<PackedB, SharedAProduct>(
        trans_b, k, n1, n2, b1, ldb1, b2, ldb2, c1, ldc1, c2, ldc2, pack_b,
        [&](const SharedAProduct* prods) {
            sgemm_packed_shared_a(trans_a, m, a, lda, alpha, prods, 2, beta, threads);
        });
}

}  // namespace nnlite::cpu_gemm
