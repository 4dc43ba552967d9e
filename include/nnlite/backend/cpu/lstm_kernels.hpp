// Fused LSTM gate kernels for the CPU backend, on raw row-major pointers.
//
// One LSTM step for a batch of rows, with pre-activations a = [a_i | a_f | a_g | a_o]
// (each H wide: x·W_ih^T + b_ih + h·W_hh^T + b_hh, PyTorch's gate order):
//
//   i = σ(a_i)   f = σ(a_f)   g = tanh(a_g)   o = σ(a_o)
//   c' = f ⊙ c + i ⊙ g        h' = o ⊙ tanh(c')
//
// Backward of that step, given dh' (from the output and from the next step) and dc' (from
// the next step):
//
//   dc_tot = dc' + dh' ⊙ o ⊙ (1 - tanh²(c'))
//   da_i = dc_tot ⊙ g ⊙ i(1-i)      da_f = dc_tot ⊙ c ⊙ f(1-f)
//   da_g = dc_tot ⊙ i ⊙ (1-g²)      da_o = dh' ⊙ tanh(c') ⊙ o(1-o)
//   dc   = dc_tot ⊙ f
//
// The GEMMs around these kernels (input projection, recurrent product, weight gradients)
// live in ops/lstm.hpp; these kernels only do the elementwise work, one pass per row, so
// the gate math never round-trips through memory more than once.
//
// Compute types (ops/lstm.hpp passes the layer's ComputeType to every GEMM entry point):
// fp32 is the default; bf16 (float only) runs every GEMM on gemm/bgemm.hpp's AVX512-BF16
// kernel, whatever use_own_sgemm() says, and the forward step on lstm_step.hpp's bf16
// variant. compute_unavailable<T>(c) says why a type cannot run here (ops check it first).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <type_traits>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/blas.hpp"
#include "nnlite/backend/cpu/gemm/bgemm.hpp"
#include "nnlite/backend/cpu/gemm/hgemm.hpp"
#include "nnlite/backend/cpu/gemm/sgemm.hpp"
#include "nnlite/backend/cpu/isa.hpp"
#include "nnlite/backend/cpu/kernels.hpp"
#include "nnlite/backend/cpu/lstm_step.hpp"
#include "nnlite/backend/cpu/simd_math.hpp"
#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/backend/cpu/vec_math.hpp"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/dtype.hpp"

namespace nnlite {

namespace cpu_lstm {

/// Whether the LSTM's float GEMMs run on nnlite's own kernels (backend/cpu/gemm/) rather
/// than BLAS: yes when they were compiled for AVX2+FMA or AVX-512 (the user's -m/-march
/// flags), and in a portable build when the BLAS's kernels are narrower than the CPU's
/// (e.g. OpenBLAS's SSE3 Prescott kernels on an AVX-512 CPU: the portable kernel is no
/// slower and packs W_hh once instead of every step). NNLITE_LSTM_GEMM=blas or =own
/// overrides the choice (for measurements). Decided once per process.
inline bool use_own_sgemm() {
    static const bool own = [] {
        const char* env = std::getenv("NNLITE_LSTM_GEMM");
        if (env && std::strcmp(env, "blas") == 0) return false;
        if (env && std::strcmp(env, "own") == 0) return true;
        return cpu_isa::compiled_isa() != cpu_isa::Isa::portable || blas::core_verdict().slow;
    }();
    // Once per process: the own kernels were built narrower than this CPU's vectors (no
    // -march in the user's flags). Said on the LSTM's first float GEMM, with the fix.
    static const bool warned = [] {
        const auto v =
            cpu_isa::classify_kernel_build(cpu_isa::compiled_isa(), cpu_isa::cpu_features());
        const char* quiet = std::getenv("NNLITE_QUIET_BLAS_WARNING");
        if (own && v.slow && !(quiet && quiet[0] == '1'))
            std::fprintf(stderr, "%s\n", v.message.c_str());
        return true;
    }();
    (void)warned;
    return own;
}

/// Threads for one own-kernel GEMM: one inside a concurrent scope (the two directions of
/// a bidirectional layer each run on their own core), else nnlite's thread count.
inline int gemm_threads() {
    return blas::in_single_thread_scope() ? 1 : num_threads();
}

}  // namespace cpu_lstm

template <>
struct lstm_kernels<cpu> {
    /// Why compute type c cannot run for element type T on a CPU with features f (default:
    /// this one; tests pass others); empty when it can.
    template <class T>
    static std::string compute_unavailable(
        ComputeType c, const cpu_isa::CpuFeatures& f = cpu_isa::cpu_features()) {
        if (c == ComputeType::fp32) return {};
        if (!std::is_same_v<T, float>)
            return std::string("compute type ") + to_string(c) +
                   " applies to float tensors only (the GEMM inputs are rounded from float)";
        return c == ComputeType::fp16 ? cpu_gemm::fp16_unavailable(f)
                                      : cpu_gemm::bf16_unavailable(f);
    }

    /// Forward gate math for `rows` rows. `gates` [rows, 4H] holds pre-activations on entry
    /// and the activations (i, f, g, o) on exit (backward reuses them). `c_prev` and `c_out`
    /// are [rows, H] and may alias (in-place cell update for inference); `h_out` [rows, ldo]
    /// (ldo 0: H). Row strides: gates 4H, c_prev and c_out H, h_out ldo.
    template <class T>
    static void gates_forward(T* gates, const T* c_prev, T* c_out, T* h_out, std::size_t rows,
                              std::size_t hidden, std::size_t ldo = 0) {
        const std::size_t H = hidden;
        if (ldo == 0) ldo = H;
        for (std::size_t r = 0; r < rows; ++r) {
            T* a = gates + r * 4 * H;
            const T* cp = c_prev + r * H;
            T* co = c_out + r * H;
            T* ho = h_out + r * ldo;
            // Contiguous passes (i and f together, g, o) so each one vectorises.
            vec::sigmoid(a, a, 2 * H);
            vec::tanh(a + 2 * H, a + 2 * H, H);
            vec::sigmoid(a + 3 * H, a + 3 * H, H);
            const T* i = a;
            const T* f = a + H;
            const T* g = a + 2 * H;
            const T* o = a + 3 * H;
            for (std::size_t j = 0; j < H; ++j) co[j] = f[j] * cp[j] + i[j] * g[j];
            vec::tanh(ho, co, H);
            for (std::size_t j = 0; j < H; ++j) ho[j] *= o[j];
        }
    }

    /// Backward gate math for `rows` rows. Inputs: activations `gates` [rows, 4H], the new
    /// cell state `c` and the previous one `c_prev` [rows, H], the gradient reaching h' from
    /// the recurrence `dh` and from the layer output `dy` (dy may be null: no output
    /// gradient), and `dc` (the gradient reaching c'). Outputs: `dgates` [rows, 4H], the
    /// pre-activation gradients, and `dc` overwritten in place with the gradient for c_prev.
    /// Rows are independent: a unidirectional layer on several threads splits them (from
    /// kParallelGateCells cells a step; below that the hand-off costs more than the ~2.5 ns
    /// a cell), as its step's GEMM is split; each row's results are the same either way.
    template <class T>
    static void gates_backward(const T* gates, const T* c, const T* c_prev, const T* dh,
                               const T* dy, T* dc, T* dgates, std::size_t rows,
                               std::size_t hidden) {
        const std::size_t H = hidden;
        auto run_rows = [&](std::size_t r_begin, std::size_t r_end) {
            gates_backward_rows(gates, c, c_prev, dh, dy, dc, dgates, r_begin, r_end, H);
        };
        const std::size_t threads =
            rows * H < kParallelGateCells
                ? 1
                : std::min(rows, static_cast<std::size_t>(cpu_lstm::gemm_threads()));
        if (threads <= 1)
            run_rows(0, rows);
        else
            cpu_gemm::detail::run_split(rows, threads, run_rows);
    }

    /// Cells (rows x H) of one step from which gates_backward splits its rows among threads.
    static constexpr std::size_t kParallelGateCells = 4096;

    /// Rows [r_begin, r_end) of gates_backward.
    template <class T>
    static void gates_backward_rows(const T* gates, const T* c, const T* c_prev, const T* dh,
                                    const T* dy, T* dc, T* dgates, std::size_t r_begin,
                                    std::size_t r_end, std::size_t H) {
        for (std::size_t r = r_begin; r < r_end; ++r) {
            const T* a = gates + r * 4 * H;
            const T* cpr = c_prev + r * H;
            const T* dhr = dh + r * H;
            const T* dyr = dy ? dy + r * H : nullptr;
            T* dcr = dc + r * H;
            T* da = dgates + r * 4 * H;
            T* tanh_c = da + 3 * H;  // tanh(c') parked in the o slot, overwritten below
            if constexpr (std::is_same_v<T, float>)
                cpu_gemm::simd_math::tanh_n(tanh_c, c + r * H, H);
            else
                vec::tanh(tanh_c, c + r * H, H);
            if (dyr)
                gates_backward_row<true>(a, cpr, dhr, dyr, dcr, da, H);
            else
                gates_backward_row<false>(a, cpr, dhr, dyr, dcr, da, H);
        }
    }

    /// One row of gates_backward, with tanh(c') already in da[3H, 4H).
    template <bool HasDy, class T>
    static void gates_backward_row(const T* a, const T* cpr, const T* dhr, const T* dyr, T* dcr,
                                   T* da, std::size_t H) {
        gates_backward_unit_loop<HasDy>(a, a + H, a + 2 * H, a + 3 * H, cpr, dhr, dyr, dcr, da,
                                        da + H, da + 2 * H, da + 3 * H, H);
    }

    /// The loop of gates_backward_row over the H units. Every array is its own
    /// restrict-qualified parameter (GCC honours restrict on parameters, not on local
    /// pointers), the four gate slices of the activations and of their gradients included, so
    /// the compiler knows no write feeds a later read and vectorises the loop; with one `da`
    /// pointer it ran scalar (8% of the `cpu` preset's training step). `dout` holds tanh(c')
    /// on entry. The output gradient's presence is a template flag: no branch in the loop.
    template <bool HasDy, class T>
    static void gates_backward_unit_loop(const T* __restrict ai, const T* __restrict af,
                                         const T* __restrict ag, const T* __restrict ao,
                                         const T* __restrict cp, const T* __restrict dh,
                                         const T* __restrict dy, T* __restrict dc, T* __restrict di,
                                         T* __restrict df, T* __restrict dg, T* __restrict dout,
                                         std::size_t H) {
        for (std::size_t j = 0; j < H; ++j) {
            const T dh_tot = HasDy ? dh[j] + dy[j] : dh[j];
            lstm_detail::unit_backward(ai[j], af[j], ag[j], ao[j], dout[j], cp[j], dh_tot, dc[j],
                                       di[j], df[j], dg[j], dout[j]);
        }
    }

    /// out[r, :] = bias_a + bias_b (either may be null) for r < rows, width n: the
    /// initial value of the input projection before the GEMM accumulates into it.
    template <class T>
    static void broadcast_bias_rows(T* out, const T* bias_a, const T* bias_b, std::size_t rows,
                                    std::size_t n) {
        for (std::size_t r = 0; r < rows; ++r) {
            T* o = out + r * n;
            for (std::size_t j = 0; j < n; ++j)
                o[j] = (bias_a ? bias_a[j] : T(0)) + (bias_b ? bias_b[j] : T(0));
        }
    }

    /// out[j] = sum over r < rows of in[r, j] (width n): the bias gradient.
    template <class T>
    static void sum_rows(const T* in, std::size_t rows, std::size_t n, T* out) {
        for (std::size_t j = 0; j < n; ++j) out[j] = T(0);
        for (std::size_t r = 0; r < rows; ++r) {
            const T* row = in + r * n;
            for (std::size_t j = 0; j < n; ++j) out[j] += row[j];
        }
    }

    /// Cache line size, and the longest row prefetch_rows and copy_rows prefetch line by
    /// line (longer rows are sequential enough for the hardware prefetcher).
    static constexpr std::size_t kLine = 64, kMaxPrefetchedRow = 4096;

    /// Asks for the lines of rows dst_row[k] (width n) of dst, k < count, to be brought
    /// into L2: a scatter's destination, requested before the work that precedes the
    /// scatter (the LSTM's step) so that it arrives meanwhile (the `cpu` preset's per-step
    /// output scatter with IMDB lengths: 1.6 -> 1.05 ms a step). Into L2, not L1, where the
    /// step's own operands are: a prefetch into L1 made 2-thread inference 4% slower.
    /// Rows over 4 KiB are left alone.
    template <class T>
    static void prefetch_rows(T* dst, const std::size_t* dst_row, std::size_t count,
                              std::size_t n) {
        const std::size_t bytes = n * sizeof(T);
        if (bytes > kMaxPrefetchedRow) return;
        for (std::size_t k = 0; k < count; ++k) {
            const char* d = reinterpret_cast<const char*>(dst + dst_row[k] * n);
            for (std::size_t b = 0; b < bytes; b += kLine) __builtin_prefetch(d + b, 0, 1);
        }
    }

    /// dst[dst_row[k], :] = src[src_row[k], :] for k < count, width n (row gathers and
    /// scatters between packed and padded layouts).
    ///
    /// The rows are a few hundred bytes each, in an order no hardware prefetcher follows
    /// (the LSTM's step order against the padded time-major order), and usually not in
    /// cache: copied one after the other, each row waited for its own miss. So every row
    /// up to 4 KiB prefetches the source and destination lines of the row `kAhead` rows
    /// later, and the copy runs at memory bandwidth rather than one miss latency per row
    /// (timed in place in the `cpu` preset's IMDB-length training step, the five row copies
    /// it then had took 4.6 ms instead of 5.1; docs/performance-history.md, fourteenth run). Longer
    /// rows are sequential enough for the hardware prefetcher.
    template <class T>
    static void copy_rows(const T* src, const std::size_t* src_row, T* dst,
                          const std::size_t* dst_row, std::size_t count, std::size_t n) {
        constexpr std::size_t kAhead = 8;
        const std::size_t bytes = n * sizeof(T);
        if (bytes > kMaxPrefetchedRow) {
            for (std::size_t k = 0; k < count; ++k)
                kernels<cpu>::copy(dst + dst_row[k] * n, src + src_row[k] * n, n);
            return;
        }
        auto prefetch = [&](std::size_t k) {
            const char* s = reinterpret_cast<const char*>(src + src_row[k] * n);
            const char* d = reinterpret_cast<const char*>(dst + dst_row[k] * n);
            for (std::size_t b = 0; b < bytes; b += kLine) {
                __builtin_prefetch(s + b, 0, 3);
                __builtin_prefetch(d + b, 1, 3);
            }
        };
        for (std::size_t k = 0; k < std::min(kAhead, count); ++k) prefetch(k);
        for (std::size_t k = 0; k < count; ++k) {
            if (k + kAhead < count) prefetch(k + kAhead);
            std::memcpy(dst + dst_row[k] * n, src + src_row[k] * n, bytes);
        }
    }

    /// A weight matrix used as the right operand of many products (W_hh in the time
    /// loop): op(W) [k, n], packed once for the own kernel when that runs, else the plain
    /// pointer for BLAS.
    template <class T>
    struct packed_weights {
        bool trans = false;
        std::size_t k = 0, n = 0, ldw = 0;
        const T* w = nullptr;
        bool own = false;
        cpu_gemm::PackedB packed;
        bool bf16 = false;  // ComputeType::bf16: packed16 holds op(W) as bf16 pairs
        cpu_gemm::PackedB16 packed16;
        bool fp16 = false;  // ComputeType::fp16: packedh holds op(W) as scaled fp16 pairs
        cpu_gemm::PackedH packedh;
    };

    /// Packs op(W) (W^T when trans; W's row stride ldw) for gemm_packed.
    template <class T>
    static packed_weights<T> pack_weights(bool trans, std::size_t k, std::size_t n, const T* w,
                                          std::size_t ldw,
                                          ComputeType compute = ComputeType::fp32) {
        packed_weights<T> p;
        p.trans = trans;
        p.k = k;
        p.n = n;
        p.ldw = ldw;
        p.w = w;
        if constexpr (std::is_same_v<T, float>) {
            if (compute == ComputeType::bf16) {
                cpu_gemm::pack_b16(trans, k, n, w, ldw, p.packed16);
                p.bf16 = true;
            } else if (compute == ComputeType::fp16) {
                cpu_gemm::pack_bh(trans, k, n, w, ldw, p.packedh);
                p.fp16 = true;
            } else if (cpu_lstm::use_own_sgemm()) {
                cpu_gemm::pack_b(trans, k, n, w, ldw, p.packed);
                p.own = true;
            }
        }
        return p;
    }

    /// C[m, n] = alpha · A[m, k] · op(W) + beta · C against packed weights.
    template <class T>
    static void gemm_packed(std::size_t m, T alpha, const T* a, std::size_t lda,
                            const packed_weights<T>& w, T beta, T* c, std::size_t ldc) {
        if constexpr (std::is_same_v<T, float>) {
            if (w.bf16) {
                cpu_gemm::bgemm_packed(false, m, a, lda, alpha, w.packed16, beta, c, ldc,
                                       cpu_lstm::gemm_threads());
                return;
            }
            if (w.fp16) {
                cpu_gemm::hgemm_packed(false, m, a, lda, alpha, w.packedh, beta, c, ldc,
                                       cpu_lstm::gemm_threads());
                return;
            }
            if (w.own) {
                cpu_gemm::sgemm_packed(false, m, a, lda, alpha, w.packed, beta, c, ldc,
                                       cpu_lstm::gemm_threads());
                return;
            }
        }
        gemm(false, w.trans, m, w.n, w.k, alpha, a, lda, w.w, w.ldw, beta, c, ldc);
    }

    /// W_hh [4H, H] prepared for step_forward: packed gate-interleaved for the fused own
    /// kernel (float, cpu_lstm::use_own_sgemm()), else as plain packed_weights of W_hh^T.
    template <class T>
    struct gate_weights {
        packed_weights<T> plain;
        bool fused = false;
        std::size_t hidden = 0;
        cpu_gemm::PackedB interleaved;
        bool bf16 = false;  // ComputeType::bf16: interleaved16 (lstm_step.hpp's bf16 step)
        cpu_gemm::PackedB16 interleaved16;
        bool fp16 = false;  // ComputeType::fp16: interleavedh (lstm_step.hpp's fp16 step)
        cpu_gemm::PackedH interleavedh;
    };

    template <class T>
    static gate_weights<T> pack_gate_weights(const T* w_hh, std::size_t hidden,
                                             ComputeType compute = ComputeType::fp32) {
        gate_weights<T> g;
        g.hidden = hidden;
        if constexpr (std::is_same_v<T, float>) {
            if (compute == ComputeType::bf16) {
                cpu_lstm::pack_gates_bf16(w_hh, hidden, g.interleaved16);
                g.bf16 = true;
                return g;
            }
            if (compute == ComputeType::fp16) {
                cpu_lstm::pack_gates_fp16(w_hh, hidden, g.interleavedh);
                g.fp16 = true;
                return g;
            }
            if (cpu_lstm::use_own_sgemm()) {
                cpu_lstm::pack_gates(w_hh, hidden, g.interleaved);
                g.fused = true;
                return g;
            }
        }
        g.plain = pack_weights(true, hidden, 4 * hidden, w_hh, hidden);
        return g;
    }

    /// One forward step: gates [rows, 4H] holds x·W_ih^T on entry, plus the biases unless
    /// `bias` ([4H], b_ih + b_hh) is given, which is then added here; adds h_prev · W_hh^T
    /// and applies gates_forward (fused in the GEMM's epilogue when w.fused: lstm_step.hpp,
    /// which adds the bias there too). c_prev and c_out may alias. h_out's rows are ldo
    /// apart (0: H; a bidirectional layer's directions write their halves of [T, B, 2H]).
    template <class T>
    static void step_forward(std::size_t rows, const T* h_prev, std::size_t ldh,
                             const gate_weights<T>& w, T* gates, const T* c_prev, T* c_out,
                             T* h_out, const T* bias = nullptr, std::size_t ldo = 0) {
        if constexpr (std::is_same_v<T, float>) {
            if (w.bf16) {
                cpu_lstm::step_forward_bf16(rows, h_prev, ldh, w.interleaved16, w.hidden, gates,
                                            c_prev, c_out, h_out, cpu_lstm::gemm_threads(), bias,
                                            ldo);
                return;
            }
            if (w.fp16) {
                cpu_lstm::step_forward_fp16(rows, h_prev, ldh, w.interleavedh, w.hidden, gates,
                                            c_prev, c_out, h_out, cpu_lstm::gemm_threads(), bias,
                                            ldo);
                return;
            }
            if (w.fused) {
                cpu_lstm::step_forward(rows, h_prev, ldh, w.interleaved, w.hidden, gates, c_prev,
                                       c_out, h_out, cpu_lstm::gemm_threads(), bias, ldo);
                return;
            }
        }
        const std::size_t G = 4 * w.hidden;
        if (bias)
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < G; ++j) gates[r * G + j] += bias[j];
        gemm_packed(rows, T(1), h_prev, ldh, w.plain, T(1), gates, G);
        gates_forward(gates, c_prev, c_out, h_out, rows, w.hidden, ldo);
    }

    /// C[m, n] = alpha · op(A) · op(B) + beta · C with explicit row strides (k == 0 scales C
    /// by beta: the own kernels and blas::gemm all handle it). Float goes to the bf16 kernel
    /// under ComputeType::bf16, to the fp16 kernel under ComputeType::fp16, else to the own
    /// kernel when cpu_lstm::use_own_sgemm() says so.
    template <class T>
    static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                     T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta,
                     T* c, std::size_t ldc, ComputeType compute = ComputeType::fp32) {
        if (m == 0 || n == 0) return;
        if constexpr (std::is_same_v<T, float>) {
            if (compute == ComputeType::bf16) {
                cpu_gemm::bgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                cpu_lstm::gemm_threads());
                return;
            }
            if (compute == ComputeType::fp16) {
                cpu_gemm::hgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                cpu_lstm::gemm_threads());
                return;
            }
            if (cpu_lstm::use_own_sgemm()) {
                cpu_gemm::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
                                cpu_lstm::gemm_threads());
                return;
            }
        }
        blas::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// Two products with the same op(A) [m, k], C1 [m, n1] and C2 [m, n2], each as gemm
    /// would compute it (the same bits). On the own fp32 kernel and the fp16 one op(A) is
    /// packed once for both (cpu_gemm::sgemm_shared_a, hgemm_shared_a: the LSTM's two weight
    /// gradients share dG^T, and packing it was a tenth of their time in the `cpu` preset);
    /// otherwise two gemm calls.
    template <class T>
    static void gemm_shared_a(bool trans_a, bool trans_b, std::size_t m, std::size_t n1,
                              std::size_t n2, std::size_t k, T alpha, const T* a, std::size_t lda,
                              const T* b1, std::size_t ldb1, const T* b2, std::size_t ldb2, T beta,
                              T* c1, std::size_t ldc1, T* c2, std::size_t ldc2,
                              ComputeType compute = ComputeType::fp32) {
        if constexpr (std::is_same_v<T, float>) {
            if (compute == ComputeType::fp16) {
                cpu_gemm::hgemm_shared_a(trans_a, trans_b, m, n1, n2, k, alpha, a, lda, b1, ldb1,
                                         b2, ldb2, beta, c1, ldc1, c2, ldc2,
                                         cpu_lstm::gemm_threads());
                return;
            }
            if (compute == ComputeType::fp32 && cpu_lstm::use_own_sgemm()) {
                cpu_gemm::sgemm_shared_a(trans_a, trans_b, m, n1, n2, k, alpha, a, lda, b1, ldb1,
                                         b2, ldb2, beta, c1, ldc1, c2, ldc2,
                                         cpu_lstm::gemm_threads());
                return;
            }
        }
        gemm(trans_a, trans_b, m, n1, k, alpha, a, lda, b1, ldb1, beta, c1, ldc1, compute);
        gemm(trans_a, trans_b, m, n2, k, alpha, a, lda, b2, ldb2, beta, c2, ldc2, compute);
    }
};

}  // namespace nnlite
