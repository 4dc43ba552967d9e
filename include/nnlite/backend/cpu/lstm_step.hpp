// One forward LSTM step with the recurrent product and the gate math fused, for float on
// nnlite's own SGEMM micro-kernel (backend/cpu/gemm/):
//
//   a = gx + h_prev · W_hh^T        (gx [rows, 4H]: x·W_ih^T + b_ih + b_hh, from one GEMM)
//   i, f, o = σ(a_i, a_f, a_o)   g = tanh(a_g)   c' = f ⊙ c + i ⊙ g   h' = o ⊙ tanh(c')
//
// W_hh^T is packed ONCE per forward with its columns interleaved by gate (pack_gates): panel
// p holds, for the UB = NR/4 hidden units [p*UB, p*UB + UB), the columns of i, f, g and o
// side by side (NR columns in all, zero past H). One MR x NR register tile of h_prev ·
// (packed W_hh^T) is then every gate of MR rows x UB units, so the gate math for those
// units runs right after the tile is computed (the epilogue), while the tile and its gx,
// c, h slices are in L1; the pre-activations never make a round trip through L2. The
// activations are written back over gx in PyTorch's [i | f | g | o] layout (backward reads
// them there), the new cell state to c_out and the hidden state to h_out.
//
// Blocking: h_prev's rows are packed once per step into MR-row panels over the full K = H
// (64 x 256 floats = 64 KiB for the seed shape: L2); then for each W panel (H x NR floats,
// 32 KiB at H = 256: L1) for each row panel: micro-kernel over K = H, epilogue. Threads split
// the W panels (used when not inside a concurrent scope, e.g. a unidirectional layer).
//
// The element math: full panels run two rows per register through simd_math.hpp (UB =
// W/2 units of row r, then of row r + 1, so every lane is used); a last odd row and a part
// panel (H not a multiple of UB) go through the same register code on a zero-padded copy.
// Every operation is lane by lane, so a row's results are the same bits whichever rows
// share its registers: a review's hidden states do not depend on its batch, and the
// backward's tanh(c') (simd_math::tanh_n) is the forward's, bit for bit.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nnlite/backend/cpu/gemm/bgemm.hpp"
#include "nnlite/backend/cpu/gemm/hgemm.hpp"
#include "nnlite/backend/cpu/gemm/sgemm.hpp"
#include "nnlite/backend/cpu/simd_math.hpp"
#include "nnlite/backend/cpu/vec_math.hpp"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-trapping-math")  // lets the epilogue's selects vectorise, as vec_math
#endif

namespace nnlite::cpu_lstm {

/// Hidden units per packed panel: the NR columns of a tile hold 4 gates x UB units.
constexpr std::size_t UB = cpu_gemm::NR / 4;

/// W_hh [4H, H] (PyTorch layout) packed as op(B) = W_hh^T with gate-interleaved panels.
inline void pack_gates(const float* w_hh, std::size_t hidden, cpu_gemm::PackedB& out) {
    cpu_isa::require_compiled_isa();  // before any code built for that ISA runs
    const std::size_t H = hidden, NR = cpu_gemm::NR;
    const std::size_t panels = (H + UB - 1) / UB;
    out.k = H;
    out.n = panels * NR;  // the padded width: every panel is full
    out.data.assign(panels * H * NR, 0.f);
    for (std::size_t p = 0; p < panels; ++p) {
        float* dst = out.data.data() + p * H * NR;
        for (std::size_t s = 0; s < NR; ++s) {
            const std::size_t q = s / UB, u = p * UB + s % UB;
            if (u >= H) continue;
            const float* row = w_hh + (q * H + u) * H;  // W_hh row of gate q, unit u
            for (std::size_t kk = 0; kk < H; ++kk) dst[kk * NR + s] = row[kk];
        }
    }
}

namespace detail {

/// The gate math of step_epilogue for two rows and the UB units of one full panel, on whole
/// registers (simd_math.hpp). `t` points at the tile's row r; `a` at gates' row r, `cp`,
/// `co`, `ho` at row r of c_prev, c_out, h_out, `b` into the bias [4H] (or null), each at
/// the panel's first unit. Row strides: gates 4H, c_prev and c_out H, h_out ldo.
NNLITE_SIMD_INLINE inline void step_epilogue_2rows(const float* t, std::size_t H, const float* b,
                                                   float* a, const float* cp, float* co, float* ho,
                                                   std::size_t ldo) {
    using S = cpu_gemm::Simd;
    namespace sm = cpu_gemm::simd_math;
    constexpr std::size_t NR = cpu_gemm::NR, U = UB;
    static_assert(2 * U == S::W, "one register holds one panel's units of two rows");
    const float* t1 = t + NR;
    float* a1 = a + 4 * H;
    auto pre = [&](std::size_t q) {  // pre-activations of gate q: gx + tile (+ bias)
        const S::reg x = S::add(S::load2(a + q * H, a1 + q * H), S::load2(t + q * U, t1 + q * U));
        return b ? S::add(x, S::load2(b + q * H, b + q * H)) : x;
    };
    const S::reg i = sm::sigmoid(pre(0)), f = sm::sigmoid(pre(1)), g = sm::tanh(pre(2)),
                 o = sm::sigmoid(pre(3));
    const S::reg c = S::fma(f, S::load2(cp, cp + H), S::mul(i, g));
    const S::reg h = S::mul(sm::tanh(c), o);
    S::store2(a, a1, i);
    S::store2(a + H, a1 + H, f);
    S::store2(a + 2 * H, a1 + 2 * H, g);
    S::store2(a + 3 * H, a1 + 3 * H, o);
    S::store2(co, co + H, c);  // after c_prev's load: c_prev and c_out may alias
    S::store2(ho, ho + ldo, h);
}

/// Gate math for rows [0, mr) x units [u0, u0 + ub) from the tile (row stride TileNR, the
/// tile's columns: TileNR / 4 units of each gate). h_out's rows are ldo apart (H, or a
/// bidirectional layer's 2H when each direction writes its half of the output in place).
template <std::size_t TileNR = cpu_gemm::NR>
inline void step_epilogue(const float* tile, std::size_t mr, std::size_t u0, std::size_t ub,
                          std::size_t H, const float* bias, float* gates, const float* c_prev,
                          float* c_out, float* h_out, std::size_t ldo) {
    constexpr std::size_t NR = TileNR, TUB = TileNR / 4;
    const float* b = bias ? bias + u0 : nullptr;
    std::size_t r = 0;
    if constexpr (TileNR == cpu_gemm::NR) {
        // Full panels, two rows at a time: one register = UB units of row r, then of row r + 1.
        if (ub == TUB)
            for (; r + 2 <= mr; r += 2)
                step_epilogue_2rows(tile + r * NR, H, b, gates + r * 4 * H + u0,
                                    c_prev + r * H + u0, c_out + r * H + u0, h_out + r * ldo + u0,
                                    ldo);
        // A last odd row, or every row of a part panel: one row at a time through the
        // register code above, as row 0 of a two-row block of zero-padded copies (stride
        // UB instead of H; the tile's padding columns hold the product with W's zero
        // padding, and their results are dropped).
        constexpr std::size_t U = TUB;
        for (; r < mr; ++r) {
            alignas(64) float t[2 * NR] = {}, a[8 * U] = {}, bl[4 * U] = {}, cp[2 * U] = {},
                                    co[2 * U] = {}, ho[2 * U] = {};
            float* ar = gates + r * 4 * H + u0;
            for (std::size_t j = 0; j < NR; ++j) t[j] = tile[r * NR + j];
            for (std::size_t q = 0; q < 4; ++q)
                for (std::size_t j = 0; j < ub; ++j) {
                    a[q * U + j] = ar[q * H + j];
                    if (b) bl[q * U + j] = b[q * H + j];
                }
            for (std::size_t j = 0; j < ub; ++j) cp[j] = c_prev[r * H + u0 + j];
            step_epilogue_2rows(t, U, b ? bl : nullptr, a, cp, co, ho, U);
            for (std::size_t q = 0; q < 4; ++q)
                for (std::size_t j = 0; j < ub; ++j) ar[q * H + j] = a[q * U + j];
            for (std::size_t j = 0; j < ub; ++j) {
                c_out[r * H + u0 + j] = co[j];
                h_out[r * ldo + u0 + j] = ho[j];
            }
        }
    } else {
        // Other tile widths (bf16's 32 columns in an AVX2 build): vec_math's scalar forms.
        // (In an else rather than after a return above: nvcc rejects an unreachable loop.)
        for (; r < mr; ++r) {
            const float* t = tile + r * NR;
            float* a = gates + r * 4 * H + u0;
            const float* cp = c_prev + r * H + u0;
            float* co = c_out + r * H + u0;
            float* ho = h_out + r * ldo + u0;
            float i[TUB], f[TUB], g[TUB], o[TUB], c[TUB], tc[TUB], x[4][TUB];
            for (std::size_t q = 0; q < 4; ++q)
                for (std::size_t j = 0; j < ub; ++j)
                    x[q][j] = a[q * H + j] + t[q * TUB + j] + (b ? b[q * H + j] : 0.f);
            for (std::size_t j = 0; j < ub; ++j) {
                i[j] = vec::detail::sigmoid_approx(x[0][j]);
                f[j] = vec::detail::sigmoid_approx(x[1][j]);
                g[j] = vec::detail::tanh_approx(x[2][j]);
                o[j] = vec::detail::sigmoid_approx(x[3][j]);
                c[j] = f[j] * cp[j] + i[j] * g[j];
                tc[j] = vec::detail::tanh_approx(c[j]);
            }
            for (std::size_t j = 0; j < ub; ++j) {
                a[j] = i[j];
                a[H + j] = f[j];
                a[2 * H + j] = g[j];
                a[3 * H + j] = o[j];
                co[j] = c[j];
                ho[j] = tc[j] * o[j];
            }
        }
    }
}

inline std::vector<float>& step_a_buffer() {
    thread_local std::vector<float> buf;
    return buf;
}

/// The bf16 and fp16 steps' packed h_prev (pairs), per thread.
inline std::vector<std::uint32_t>& step_pair_buffer() {
    thread_local std::vector<std::uint32_t> buf;
    return buf;
}

}  // namespace detail

/// One fused forward step for `rows` rows (see the file comment). `gates` [rows, 4H] holds
/// gx on entry and the activations on exit; h_prev [rows, ldh]; c_prev, c_out, h_out
/// [rows, H] (c_prev and c_out may alias); h_out [rows, ldo] (ldo 0: H; a bidirectional
/// layer passes 2H to write its half of the output). `w` comes from pack_gates. `bias`
/// [4H], when given, is added to every row's pre-activations here (b_ih + b_hh: then gx
/// need not hold it, which saves the LSTM a pass over all of gx).
inline void step_forward(std::size_t rows, const float* h_prev, std::size_t ldh,
                         const cpu_gemm::PackedB& w, std::size_t hidden, float* gates,
                         const float* c_prev, float* c_out, float* h_out, int threads = 1,
                         const float* bias = nullptr, std::size_t ldo = 0) {
    cpu_isa::require_compiled_isa();
    constexpr std::size_t MR = cpu_gemm::MR, NR = cpu_gemm::NR;
    const std::size_t H = hidden, K = w.k, panels = w.panels();
    if (ldo == 0) ldo = H;
    if (rows == 0) return;
    // h_prev packed once for every W panel.
    std::vector<float>& abuf = detail::step_a_buffer();
    const std::size_t row_panels = (rows + MR - 1) / MR;
    if (abuf.size() < row_panels * MR * K) abuf.resize(row_panels * MR * K);
    cpu_gemm::detail::pack_a(false, h_prev, ldh, 0, rows, 0, K, abuf.data());
    const float* ap = abuf.data();

    auto run_panels = [&](std::size_t p_begin, std::size_t p_end) {
        alignas(64) float tile[MR * NR];
        for (std::size_t p = p_begin; p < p_end; ++p) {
            const std::size_t u0 = p * UB, ub = std::min(UB, H - u0);
            for (std::size_t r0 = 0; r0 < rows; r0 += MR) {
                const std::size_t mr = std::min(MR, rows - r0);
                cpu_gemm::detail::micro_kernel(K, ap + r0 * K, w.panel(p), 1.f, 0.f, tile, NR, MR,
                                               NR);
                detail::step_epilogue(tile, mr, u0, ub, H, bias, gates + r0 * 4 * H,
                                      c_prev + r0 * H, c_out + r0 * H, h_out + r0 * ldo, ldo);
            }
        }
    };
    const double flops =
        2.0 * static_cast<double>(rows) * static_cast<double>(4 * H) * static_cast<double>(K);
    cpu_gemm::detail::run_work(panels, threads, flops, run_panels);
}

// ---- ComputeType::bf16: the same fused step on the bf16 kernel (gemm/bgemm.hpp) ---------
//
// W_hh^T is packed once per forward as bf16 k-pairs with the same gate interleave (NR = 32
// columns: 8 units x 4 gates per panel, whatever ISA the fp32 kernels were built for);
// each step rounds h_prev to bf16 while packing it, one 8 x 32 tile is accumulated in fp32
// by VDPBF16PS and the gate math runs in its epilogue in fp32, as above (compiled with the
// kernel's AVX-512 target, so vectorised at that width). With AMX (cpu_gemm::bf16_uses_amx)
// h_prev is packed row by row and each 32 x 32 block of the tile unit (amx_detail::block,
// W's panel read in place) gets the same epilogue from a 4 KiB stack tile.

/// Hidden units per bf16 panel.
constexpr std::size_t UB16 = cpu_gemm::bf16::NR / 4;

namespace detail {

/// W_hh [4H, H] as op(B) = W_hh^T in k-pairs with the gates interleaved (the bf16 and fp16
/// steps' layout): panel p (NR = 4 UB16 columns, `stride` pairs apart) holds units
/// [p UB16, p UB16 + UB16) of gates i, f, g, o side by side, zero past H and past the H
/// rows' pairs. row_pairs(x, H, out) turns one row of W_hh into its (H + 1) / 2 pairs.
template <class RowPairs>
void interleave_gate_pairs(const float* w_hh, std::size_t H, std::size_t stride,
                           std::vector<std::uint32_t>& data, RowPairs&& row_pairs) {
    constexpr std::size_t NR = 4 * UB16;
    const std::size_t panels = (H + UB16 - 1) / UB16, kp = (H + 1) / 2;
    data.assign(panels * stride * NR, 0u);
    std::vector<std::uint32_t> row(kp);
    for (std::size_t p = 0; p < panels; ++p) {
        std::uint32_t* dst = data.data() + p * stride * NR;
        for (std::size_t s = 0; s < NR; ++s) {
            const std::size_t q = s / UB16, u = p * UB16 + s % UB16;
            if (u >= H) continue;
            row_pairs(w_hh + (q * H + u) * H, H, row.data());
            for (std::size_t kk = 0; kk < kp; ++kk) dst[kk * NR + s] = row[kk];
        }
    }
}

}  // namespace detail

#if NNLITE_BF16_KERNELS
namespace detail {

NNLITE_BF16_TARGET inline void pack_gates_bf16(const float* w_hh, std::size_t hidden,
                                               cpu_gemm::PackedB16& out) {
    const std::size_t H = hidden;
    out.k = H;
    out.n = (H + UB16 - 1) / UB16 * cpu_gemm::bf16::NR;
    interleave_gate_pairs(w_hh, H, out.stride_pairs(), out.data,
                          [](const float* x, std::size_t len, std::uint32_t* pairs) {
                              cpu_gemm::bf16_detail::row_pairs(x, len, pairs);
                          });
}

/// Panels [p_begin, p_end) of one bf16 step: tile, then the gate math, per row panel.
NNLITE_BF16_TARGET inline void step_panels_bf16(std::size_t p_begin, std::size_t p_end,
                                                std::size_t rows, const std::uint32_t* ap,
                                                const cpu_gemm::PackedB16& w, std::size_t hidden,
                                                const float* bias, float* gates,
                                                const float* c_prev, float* c_out, float* h_out,
                                                std::size_t ldo) {
    constexpr std::size_t MR = cpu_gemm::bf16::MR, NR = cpu_gemm::bf16::NR;
    const std::size_t H = hidden, kp = w.pairs();
    alignas(64) float tile[MR * NR];
    for (std::size_t p = p_begin; p < p_end; ++p) {
        const std::size_t u0 = p * UB16, ub = std::min(UB16, H - u0);
        for (std::size_t r0 = 0; r0 < rows; r0 += MR) {
            const std::size_t mr = std::min(MR, rows - r0);
            cpu_gemm::bf16_detail::micro_kernel(kp, ap + r0 * kp, w.panel(p), 1.f, 0.f, tile, NR,
                                                MR, NR);
            step_epilogue<NR>(tile, mr, u0, ub, H, bias, gates + r0 * 4 * H, c_prev + r0 * H,
                              c_out + r0 * H, h_out + r0 * ldo, ldo);
        }
    }
}

#if NNLITE_AMX_KERNELS
/// The same on the tile unit: 32-row blocks (gemm/bgemm.hpp's amx_detail), h_prev packed
/// row by row (ap, row stride w.stride_pairs()), the epilogue on each 32 x 32 block.
NNLITE_AMX_TARGET inline void step_panels_amx(std::size_t p_begin, std::size_t p_end,
                                              std::size_t rows, const std::uint32_t* ap,
                                              const cpu_gemm::PackedB16& w, std::size_t hidden,
                                              const float* bias, float* gates, const float* c_prev,
                                              float* c_out, float* h_out, std::size_t ldo) {
    constexpr std::size_t MR = cpu_gemm::bf16::MR_AMX, NR = cpu_gemm::bf16::NR;
    const std::size_t H = hidden, kcp = w.stride_pairs();
    alignas(64) float tile[MR * NR];
    cpu_gemm::amx_detail::configure_tiles();
    for (std::size_t p = p_begin; p < p_end; ++p) {
        const std::size_t u0 = p * UB16, ub = std::min(UB16, H - u0);
        for (std::size_t r0 = 0; r0 < rows; r0 += MR) {
            cpu_gemm::amx_detail::block(kcp, ap + r0 * kcp, w.panel(p), tile, NR, false);
            step_epilogue<NR>(tile, std::min(MR, rows - r0), u0, ub, H, bias, gates + r0 * 4 * H,
                              c_prev + r0 * H, c_out + r0 * H, h_out + r0 * ldo, ldo);
        }
    }
    cpu_gemm::amx_detail::release_tiles();
}
#endif

}  // namespace detail
#endif  // NNLITE_BF16_KERNELS

/// W_hh [4H, H] packed as bf16 pairs of op(B) = W_hh^T, gate-interleaved (UB16 units per
/// panel), for step_forward_bf16.
inline void pack_gates_bf16(const float* w_hh, std::size_t hidden, cpu_gemm::PackedB16& out) {
    cpu_gemm::require_bf16();  // before any code built for AVX512-BF16 runs
#if NNLITE_BF16_KERNELS
    detail::pack_gates_bf16(w_hh, hidden, out);
#else
    (void)w_hh, (void)hidden, (void)out;
#endif
}

/// step_forward with the recurrent product in bf16 (h_prev and W_hh rounded, fp32
/// accumulation, gate math and bias); `w` comes from pack_gates_bf16. h_out's row stride
/// ldo as in step_forward.
inline void step_forward_bf16(std::size_t rows, const float* h_prev, std::size_t ldh,
                              const cpu_gemm::PackedB16& w, std::size_t hidden, float* gates,
                              const float* c_prev, float* c_out, float* h_out, int threads = 1,
                              const float* bias = nullptr, std::size_t ldo = 0) {
    cpu_gemm::require_bf16();
    if (rows == 0) return;
#if NNLITE_BF16_KERNELS
    constexpr std::size_t MR = cpu_gemm::bf16::MR;
    const std::size_t H = hidden, K = w.k, panels = w.panels();
    if (ldo == 0) ldo = H;
    // h_prev rounded and packed once for every W panel.
    std::vector<std::uint32_t>& abuf = detail::step_pair_buffer();
    const double flops =
        2.0 * static_cast<double>(rows) * static_cast<double>(4 * H) * static_cast<double>(K);
#if NNLITE_AMX_KERNELS
    if (cpu_gemm::bf16_uses_amx()) {
        const std::size_t kcp = w.stride_pairs();
        const std::size_t a_size = cpu_gemm::round_up(rows, cpu_gemm::bf16::MR_AMX) * kcp;
        if (abuf.size() < a_size) abuf.resize(a_size);
        cpu_gemm::amx_detail::pack_a(false, h_prev, ldh, 0, rows, 0, K, kcp, abuf.data());
        const std::uint32_t* ap = abuf.data();
        cpu_gemm::detail::run_work(panels, threads, flops,
                                   [&](std::size_t p_begin, std::size_t p_end) {
                                       detail::step_panels_amx(p_begin, p_end, rows, ap, w, H, bias,
                                                               gates, c_prev, c_out, h_out, ldo);
                                   });
        return;
    }
#endif
    const std::size_t row_panels = (rows + MR - 1) / MR, kp = w.pairs();
    if (abuf.size() < row_panels * MR * kp) abuf.resize(row_panels * MR * kp);
    cpu_gemm::bf16_detail::pack_a(false, h_prev, ldh, 0, rows, 0, K, abuf.data());
    const std::uint32_t* ap = abuf.data();
    auto run_panels = [&](std::size_t p_begin, std::size_t p_end) {
        detail::step_panels_bf16(p_begin, p_end, rows, ap, w, H, bias, gates, c_prev, c_out, h_out,
                                 ldo);
    };
    cpu_gemm::detail::run_work(panels, threads, flops, run_panels);
#else
    (void)h_prev, (void)ldh, (void)w, (void)hidden, (void)gates, (void)c_prev, (void)c_out,
        (void)h_out, (void)threads, (void)bias, (void)ldo;
#endif
}

// ---- ComputeType::fp16: the same fused step on the fp16 kernel (gemm/hgemm.hpp) ---------
//
// W_hh^T is packed once per forward as scaled fp16 pairs with the bf16 step's gate
// interleave (NR = 32 columns: UB16 units of each gate per panel); each step scales h_prev
// by a power of two from its largest magnitude and rounds it while packing it, one 6 x 32
// tile is summed (fp16 within k-blocks, fp32 across them) and the gate math runs on it as
// in the bf16 step.

#if NNLITE_FP16_KERNELS
namespace detail {

NNLITE_FP16_TARGET inline void pack_gates_fp16(const float* w_hh, std::size_t hidden,
                                               cpu_gemm::PackedH& out) {
    static_assert(cpu_gemm::fp16::NR == cpu_gemm::bf16::NR, "the same gate interleave");
    const std::size_t H = hidden;
    out.k = H;
    out.n = (H + UB16 - 1) / UB16 * cpu_gemm::fp16::NR;  // the padded width: every panel full
    out.scale_exp =
        cpu_gemm::fp16_scale_exponent(cpu_gemm::fp16_detail::max_abs_rows(w_hh, 0, 4 * H, H, H));
    const float scale = std::ldexp(1.f, out.scale_exp);
    interleave_gate_pairs(w_hh, H, out.pairs(), out.data,
                          [scale](const float* x, std::size_t len, std::uint32_t* pairs) {
                              cpu_gemm::fp16_detail::row_pairs(x, len, scale, pairs);
                          });
}

/// Panels [p_begin, p_end) of one fp16 step: tile, then the gate math, per row panel.
/// unscale = 2^-sa and alpha = 2^-sb undo the operands' scales.
NNLITE_FP16_TARGET inline void step_panels_fp16(std::size_t p_begin, std::size_t p_end,
                                                std::size_t rows, const std::uint32_t* ap,
                                                const cpu_gemm::PackedH& w, float unscale,
                                                float alpha, std::size_t hidden, const float* bias,
                                                float* gates, const float* c_prev, float* c_out,
                                                float* h_out, std::size_t ldo) {
    constexpr std::size_t MR = cpu_gemm::fp16::MR, NR = cpu_gemm::fp16::NR;
    static_assert(NR / 4 == UB16, "the fp16 panels interleave the gates as the bf16 ones");
    const std::size_t H = hidden, kp = w.pairs();
    alignas(64) float tile[MR * NR];
    for (std::size_t p = p_begin; p < p_end; ++p) {
        const std::size_t u0 = p * UB16, ub = std::min(UB16, H - u0);
        for (std::size_t r0 = 0; r0 < rows; r0 += MR) {
            const std::size_t mr = std::min(MR, rows - r0);
            cpu_gemm::fp16_detail::micro_kernel(kp, ap + r0 * kp, w.panel(p), unscale, alpha, 0.f,
                                                tile, NR, MR, NR);
            step_epilogue<NR>(tile, mr, u0, ub, H, bias, gates + r0 * 4 * H, c_prev + r0 * H,
                              c_out + r0 * H, h_out + r0 * ldo, ldo);
        }
    }
}

}  // namespace detail
#endif  // NNLITE_FP16_KERNELS

/// W_hh [4H, H] packed as scaled fp16 pairs of op(B) = W_hh^T, gate-interleaved (UB16
/// units per panel), for step_forward_fp16.
inline void pack_gates_fp16(const float* w_hh, std::size_t hidden, cpu_gemm::PackedH& out) {
    cpu_gemm::require_fp16();  // before any code built for AVX512-FP16 runs
#if NNLITE_FP16_KERNELS
    detail::pack_gates_fp16(w_hh, hidden, out);
#else
    (void)w_hh, (void)hidden, (void)out;
#endif
}

/// step_forward with the recurrent product in fp16 (h_prev and W_hh scaled and rounded,
/// fp16 sums within k-blocks, fp32 across them and for the gate math and bias); `w` comes
/// from pack_gates_fp16. h_out's row stride ldo as in step_forward.
inline void step_forward_fp16(std::size_t rows, const float* h_prev, std::size_t ldh,
                              const cpu_gemm::PackedH& w, std::size_t hidden, float* gates,
                              const float* c_prev, float* c_out, float* h_out, int threads = 1,
                              const float* bias = nullptr, std::size_t ldo = 0) {
    cpu_gemm::require_fp16();
    if (rows == 0) return;
#if NNLITE_FP16_KERNELS
    constexpr std::size_t MR = cpu_gemm::fp16::MR;
    const std::size_t H = hidden, K = w.k, panels = w.panels(), kp = w.pairs();
    if (ldo == 0) ldo = H;
    // h_prev scaled, rounded and packed once for every W panel.
    const int sa =
        cpu_gemm::fp16_scale_exponent(cpu_gemm::fp16_detail::max_abs_rows(h_prev, 0, rows, K, ldh));
    const float unscale = std::ldexp(1.f, -sa), alpha = std::ldexp(1.f, -w.scale_exp);
    std::vector<std::uint32_t>& abuf = detail::step_pair_buffer();
    const std::size_t a_size = cpu_gemm::round_up(rows, MR) * kp;
    if (abuf.size() < a_size) abuf.resize(a_size);
    cpu_gemm::fp16_detail::pack_a(false, h_prev, ldh, 0, rows, 0, K, std::ldexp(1.f, sa),
                                  abuf.data());
    const std::uint32_t* ap = abuf.data();
    const double flops =
        2.0 * static_cast<double>(rows) * static_cast<double>(4 * H) * static_cast<double>(K);
    cpu_gemm::detail::run_work(panels, threads, flops, [&](std::size_t p_begin, std::size_t p_end) {
        detail::step_panels_fp16(p_begin, p_end, rows, ap, w, unscale, alpha, H, bias, gates,
                                 c_prev, c_out, h_out, ldo);
    });
#else
    (void)h_prev, (void)ldh, (void)w, (void)hidden, (void)gates, (void)c_prev, (void)c_out,
        (void)h_out, (void)threads, (void)bias, (void)ldo;
#endif
}

}  // namespace nnlite::cpu_lstm

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif
