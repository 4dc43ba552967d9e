// One LSTM layer in one direction over a whole (possibly variable-length) batch, as ONE
// fused autograd node with three outputs (y, h_n, c_n).
//
// Layout: time-major. x [T, B, in]; weights as PyTorch stores them: w_ih [4H, in],
// w_hh [4H, H], b_ih [4H], b_hh [4H], gates stacked in the order i, f, g, o.
//
// Variable lengths follow PyTorch's packed sequences: sequence b has lengths[b] real steps
// (1 <= lengths[b] <= T); positions t >= lengths[b] are padding, never read, and come out
// as zeros in y; h_n/c_n hold each sequence's state after its own last step. The reverse
// direction starts at position lengths[b] - 1 and ends at position 0.
//
// How (see docs/lstm.md):
// - The batch is sorted by length once (descending, stable), so at step s the sequences
//   still running are a prefix of `active[s]` rows. With unequal lengths the rows are
//   handled in a packed step order of N = sum(lengths) rows (step s occupies rows
//   [step_row[s], step_row[s] + active[s])), the input rows gathered chunk by chunk;
//   with equal lengths the padded tensors are used as they are (step s is the block of
//   time s, or T-1-s in reverse): no copies.
// - Forward: gates = X·W_ih^T + b_ih + b_hh for every row (in chunks of steps on the CPU);
//   then per step one GEMM h_prev·W_hh^T accumulated into that step's gate rows and the
//   gate math (one fused kernel on the CPU). All buffers are allocated before the time
//   loop; the loop allocates nothing.
// - Saved for backward: the gate activations [N, 4H], cell states [N, H] and the h_prev of
//   each step [N, H] (so dW_hh is one GEMM). With grad off, none of this is kept.
// - Backward (BPTT): per step the fused gate-backward kernel and one GEMM dG·W_hh for the
//   recurrent gradient; then dX = dG·W_ih, dW_ih = dG^T·X, dW_hh = dG^T·H_prev as GEMMs
//   over a chunk of steps' rows each (all N rows off the CPU), and db_ih = db_hh = column
//   sums of dG.
// - Compute type (the last argument, default fp32): with ComputeType::bf16 every one of
//   those GEMMs reads its two inputs rounded to bfloat16 and accumulates in fp32; with
//   ComputeType::fp16 it reads them scaled by powers of two and rounded to fp16, sums in
//   fp16 over blocks and in fp32 across them; the gate math, cell state, saved activations
//   and all gradients stay fp32. Backends say whether
//   they offer a type (lstm_kernels<B>::compute_unavailable<T>; one without it runs fp32
//   only); an unavailable type is an nnlite::Error naming why, before anything runs.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/backend/backend.hpp"
#include "nnlite/core/dtype.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/threads.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// Outputs of lstm_layer: y [T, B, H] (zero past each sequence's length), and the final
/// states h_n, c_n [B, H] at each sequence's own end.
template <class T, class B = cpu>
struct LSTMLayerOutput {
    Tensor<T, B> output;
    Tensor<T, B> h_n;
    Tensor<T, B> c_n;
};

namespace detail {

/// Whether lstm_kernels K says which compute types it offers (compute_unavailable<T>).
template <class K, class = void>
struct offers_compute_types : std::false_type {};
template <class K>
struct offers_compute_types<
    K, std::void_t<decltype(K::template compute_unavailable<float>(ComputeType::fp32))>>
    : std::true_type {};

}  // namespace detail

/// Why lstm_layer cannot run in compute type c for element type T on backend B here (empty:
/// it can). fp32 always can; a backend that does not say otherwise offers nothing else.
template <class T, class B>
std::string lstm_compute_unavailable(ComputeType c) {
    if (c == ComputeType::fp32) return {};
    if constexpr (detail::offers_compute_types<lstm_kernels<B>>::value)
        return lstm_kernels<B>::template compute_unavailable<T>(c);
    else
        return std::string("compute type ") + to_string(c) + " is not offered by nnlite's " +
               B::name + " backend (it runs the LSTM in fp32 only); use compute type fp32";
}

/// Throws nnlite::Error with lstm_compute_unavailable's reason when there is one.
template <class T, class B>
void require_lstm_compute(ComputeType c) {
    if (c == ComputeType::fp32) return;
    const std::string why = lstm_compute_unavailable<T, B>(c);
    check(why.empty(), "lstm: ", why);
}

namespace detail {

/// K::gemm in compute type c (backends without compute types run fp32 only: the callers
/// checked require_lstm_compute first).
template <class K, class T>
void lstm_gemm(ComputeType c, bool trans_a, bool trans_b, std::size_t m, std::size_t n,
               std::size_t k, T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
               T beta, T* out, std::size_t ldc) {
    if constexpr (offers_compute_types<K>::value)
        K::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc, c);
    else
        K::gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, out, ldc);
}

/// Whether lstm_kernels K offer gemm_shared_a (two products with one left operand).
template <class K, class T, class = void>
struct offers_shared_a : std::false_type {};
template <class K, class T>
struct offers_shared_a<
    K, T,
    std::void_t<decltype(K::gemm_shared_a(
        false, false, std::size_t{}, std::size_t{}, std::size_t{}, std::size_t{}, T{},
        static_cast<const T*>(nullptr), std::size_t{}, static_cast<const T*>(nullptr),
        std::size_t{}, static_cast<const T*>(nullptr), std::size_t{}, T{}, static_cast<T*>(nullptr),
        std::size_t{}, static_cast<T*>(nullptr), std::size_t{}, ComputeType::fp32))>>
    : std::true_type {};

/// C1 = alpha op(A) op(B1) + beta C1 and C2 = alpha op(A) op(B2) + beta C2 in compute type c:
/// K::gemm_shared_a where the backend has it (the CPU packs op(A) once), else two products.
template <class K, class T>
void lstm_gemm_shared_a(ComputeType c, bool trans_a, bool trans_b, std::size_t m, std::size_t n1,
                        std::size_t n2, std::size_t k, T alpha, const T* a, std::size_t lda,
                        const T* b1, std::size_t ldb1, const T* b2, std::size_t ldb2, T beta, T* c1,
                        std::size_t ldc1, T* c2, std::size_t ldc2) {
    if constexpr (offers_shared_a<K, T>::value) {
        K::gemm_shared_a(trans_a, trans_b, m, n1, n2, k, alpha, a, lda, b1, ldb1, b2, ldb2, beta,
                         c1, ldc1, c2, ldc2, c);
    } else {
        lstm_gemm<K>(c, trans_a, trans_b, m, n1, k, alpha, a, lda, b1, ldb1, beta, c1, ldc1);
        lstm_gemm<K>(c, trans_a, trans_b, m, n2, k, alpha, a, lda, b2, ldb2, beta, c2, ldc2);
    }
}

/// Whether lstm_kernels K offer prefetch_rows (the CPU).
template <class K, class T, class = void>
struct offers_prefetch_rows : std::false_type {};
template <class K, class T>
struct offers_prefetch_rows<K, T,
                            std::void_t<decltype(K::prefetch_rows(
                                static_cast<T*>(nullptr), static_cast<const std::size_t*>(nullptr),
                                std::size_t{}, std::size_t{}))>> : std::true_type {};

/// Which rows are active at each step and where each step's rows live. Built once per
/// call from the lengths; everything in the time loop reads from it.
struct LSTMSchedule {
    std::size_t time = 0, batch = 0;
    std::size_t steps = 0;              // the longest length
    std::size_t rows = 0;               // N: total active rows over all steps
    bool packed = false;                // false: every length is T; buffers alias the padded layout
    std::vector<std::size_t> perm;      // sorted row r -> batch index
    std::vector<std::size_t> iota;      // 0, 1, ..., max(B, N) - 1
    std::vector<std::size_t> active;    // active[s], s <= steps (active[steps] = 0)
    std::vector<std::size_t> step_row;  // first row of step s in the step-ordered buffers
    std::vector<std::size_t> padded_row;  // packed row -> row t*B + b of the padded layout
    std::vector<std::size_t> end_row;     // sorted row r -> row of its last step
};

inline LSTMSchedule make_lstm_schedule(const std::vector<std::int64_t>& lengths, std::size_t time,
                                       std::size_t batch, bool reverse) {
    LSTMSchedule s;
    s.time = time;
    s.batch = batch;
    std::vector<std::size_t> len(batch, time);
    if (!lengths.empty()) {
        check<ShapeError>(lengths.size() == batch, "lstm: got ", lengths.size(),
                          " lengths for a batch of ", batch, " sequences");
        for (std::size_t b = 0; b < batch; ++b) {
            check<ValueError>(lengths[b] >= 1 && static_cast<std::size_t>(lengths[b]) <= time,
                              "lstm: lengths[", b, "] = ", lengths[b],
                              " is outside [1, T] for T = ", time,
                              " (every sequence needs at least one step and at most T)");
            len[b] = static_cast<std::size_t>(lengths[b]);
        }
    }
    s.perm.resize(batch);
    std::iota(s.perm.begin(), s.perm.end(), std::size_t{0});
    std::stable_sort(s.perm.begin(), s.perm.end(),
                     [&](std::size_t a, std::size_t b) { return len[a] > len[b]; });
    s.steps = len[s.perm[0]];
    s.packed = std::any_of(len.begin(), len.end(), [&](std::size_t l) { return l != time; });
    s.active.assign(s.steps + 1, 0);
    for (std::size_t r = 0; r < batch; ++r)
        for (std::size_t t = 0; t < len[s.perm[r]]; ++t) ++s.active[t];
    s.step_row.resize(s.steps);
    std::size_t n = 0;
    for (std::size_t t = 0; t < s.steps; ++t) {
        const std::size_t time_of_step = reverse ? time - 1 - t : t;
        s.step_row[t] = s.packed ? n : time_of_step * batch;
        n += s.active[t];
    }
    s.rows = n;
    if (s.packed) {
        s.padded_row.resize(n);
        for (std::size_t t = 0; t < s.steps; ++t)
            for (std::size_t r = 0; r < s.active[t]; ++r) {
                const std::size_t l = len[s.perm[r]];
                const std::size_t pos = reverse ? l - 1 - t : t;
                s.padded_row[s.step_row[t] + r] = pos * batch + s.perm[r];
            }
    }
    s.end_row.resize(batch);
    for (std::size_t r = 0; r < batch; ++r) s.end_row[r] = s.step_row[len[s.perm[r]] - 1] + r;
    s.iota.resize(std::max(batch, n));
    std::iota(s.iota.begin(), s.iota.end(), std::size_t{0});
    return s;
}

/// Where the step-ordered rows go in a padded output viewed as rows of one direction's
/// width: row k of the step order is padded row p = t B + b (padded_row[k], or k itself with
/// equal lengths), and in an output of D directions side by side (lstm_bidirectional_layer's
/// [T, B, 2H]) that is row p D + d of direction d.
inline std::vector<std::size_t> output_rows(const LSTMSchedule& sc, std::size_t D, std::size_t d) {
    std::vector<std::size_t> rows(sc.rows);
    for (std::size_t k = 0; k < sc.rows; ++k) rows[k] = (sc.packed ? sc.padded_row[k] : k) * D + d;
    return rows;
}

/// The padded rows (t >= lengths[b]; none with equal lengths) in the same view.
inline std::vector<std::size_t> padding_rows(const LSTMSchedule& sc, std::size_t D, std::size_t d) {
    std::vector<std::size_t> rows;
    if (!sc.packed) return rows;
    std::vector<bool> real(sc.time * sc.batch, false);
    for (std::size_t p : sc.padded_row) real[p] = true;
    for (std::size_t p = 0; p < real.size(); ++p)
        if (!real[p]) rows.push_back(p * D + d);
    return rows;
}

/// Zeroes the given rows (of `width` elements) of out: a padded output's padding, instead of
/// a fill of all of it that the real rows then overwrite.
template <class K, class T, class B>
void zero_rows(T* out, const std::vector<std::size_t>& rows, std::size_t width) {
    if (rows.empty() || width == 0) return;
    const auto zero = Tensor<T, B>::zeros({1, width});
    const std::vector<std::size_t> from(rows.size(), 0);
    K::copy_rows(zero.data(), from.data(), out, rows.data(), rows.size(), width);
}

/// The recurrent product against one weight matrix used every step: C = A · op(W) + beta C,
/// in compute type c. Backends whose lstm_kernels offer pack_weights/gemm_packed with a
/// compute type (the CPU) pack op(W) once here and reuse it each step; others call their
/// plain gemm.
template <class K, class T, class = void>
struct RecurrentWeights {
    bool trans;
    std::size_t k, n, ldw;
    const T* w;
    ComputeType compute;
    RecurrentWeights(bool trans_w, std::size_t k_, std::size_t n_, const T* w_, std::size_t ldw_,
                     ComputeType c)
        : trans(trans_w), k(k_), n(n_), ldw(ldw_), w(w_), compute(c) {}
    void multiply(std::size_t m, const T* a, std::size_t lda, T beta, T* c, std::size_t ldc) const {
        lstm_gemm<K>(compute, false, trans, m, n, k, T(1), a, lda, w, ldw, beta, c, ldc);
    }
};
template <class K, class T>
struct RecurrentWeights<K, T,
                        std::void_t<decltype(K::pack_weights(false, std::size_t{}, std::size_t{},
                                                             static_cast<const T*>(nullptr),
                                                             std::size_t{}, ComputeType::fp32))>> {
    decltype(K::pack_weights(false, std::size_t{}, std::size_t{}, static_cast<const T*>(nullptr),
                             std::size_t{}, ComputeType::fp32)) packed;
    RecurrentWeights(bool trans_w, std::size_t k, std::size_t n, const T* w, std::size_t ldw,
                     ComputeType c)
        : packed(K::pack_weights(trans_w, k, n, w, ldw, c)) {}
    void multiply(std::size_t m, const T* a, std::size_t lda, T beta, T* c, std::size_t ldc) const {
        K::gemm_packed(m, T(1), a, lda, packed, beta, c, ldc);
    }
};

/// The forward step against W_hh: gates += h_prev · W_hh^T, then the gate math. Backends
/// whose lstm_kernels offer pack_gate_weights/step_forward (the CPU: one fused kernel) use
/// those, and add the biases in the step too (fused: the caller passes b_ih + b_hh rather
/// than putting them into every row of gates first, and projects the input in chunks just
/// ahead of the steps); others a GEMM then gates_forward, with the biases already in gates.
/// h_prev's rows are ldh apart and h_out's ldo apart; only a fused step takes ldo other
/// than H (lstm_layer_forward's `direct`: a bidirectional layer's direction writing its
/// half of [T, B, 2H] in place needs the stride in the step's epilogue).
template <class K, class T, class = void>
struct ForwardStep {
    static constexpr bool fused = false;
    RecurrentWeights<K, T> w;
    std::size_t hidden;
    ForwardStep(const T* w_hh, std::size_t H, ComputeType c)
        : w(true, H, 4 * H, w_hh, H, c), hidden(H) {}
    void operator()(std::size_t rows, const T* hp, std::size_t ldh, T* gates, const T* cp, T* co,
                    T* ho, std::size_t ldo, const T* /*bias: already in gates*/) const {
        check<Error>(ldo == hidden, "lstm: an unfused step writes h_out with row stride ", hidden,
                     ", not ", ldo);
        w.multiply(rows, hp, ldh, T(1), gates, 4 * hidden);
        K::gates_forward(gates, cp, co, ho, rows, hidden);
    }
};
template <class K, class T>
struct ForwardStep<K, T,
                   std::void_t<decltype(K::pack_gate_weights(static_cast<const T*>(nullptr),
                                                             std::size_t{}, ComputeType::fp32))>> {
    decltype(K::pack_gate_weights(static_cast<const T*>(nullptr), std::size_t{},
                                  ComputeType::fp32)) w;
    static constexpr bool fused = true;
    std::size_t hidden;
    ForwardStep(const T* w_hh, std::size_t H, ComputeType c)
        : w(K::pack_gate_weights(w_hh, H, c)), hidden(H) {}
    void operator()(std::size_t rows, const T* hp, std::size_t ldh, T* gates, const T* cp, T* co,
                    T* ho, std::size_t ldo, const T* bias) const {
        K::step_forward(rows, hp, ldh, w, gates, cp, co, ho, bias, ldo);
    }
};

/// The size of a chunk of gates in bytes, 1 MiB by default (half the L2 of current x86
/// cores). A tuning and test knob: set it before, not during, LSTM calls.
inline std::size_t& gate_chunk_bytes() {
    static std::size_t bytes = std::size_t{1} << 20;
    return bytes;
}

/// Rows of gates ([rows, 4H]) the LSTM handles per chunk of steps, of N rows in all, batch
/// Bn: gate_chunk_bytes() worth where the step is fused (ForwardStep::fused: the CPU, where
/// each chunk's input projection and weight gradients then run while its gates are in L2),
/// else all N rows (one big GEMM each). Never fewer than Bn, the most rows one step has, so
/// a buffer of this many rows holds any chunk (chunk_steps takes at least one step).
template <class K, class T>
std::size_t gate_chunk_rows(std::size_t G, std::size_t N, std::size_t Bn) {
    if (!ForwardStep<K, T>::fused) return N;
    return std::min(N, std::max(Bn, gate_chunk_bytes() / (G * sizeof(T))));
}

/// Steps s, s + 1, ... (or s, s - 1, ... when down) taken together while their rows fit
/// max_rows (at least step s): `count` steps, their rows [lo, hi). A step's rows are one
/// contiguous block, and consecutive steps' blocks adjoin (ascending, or descending for a
/// reverse direction with equal lengths), so [lo, hi) holds exactly those steps' rows.
struct StepChunk {
    std::size_t count = 0, lo = 0, hi = 0;
};
inline StepChunk chunk_steps(const LSTMSchedule& sc, std::size_t s, bool down,
                             std::size_t max_rows) {
    StepChunk c{1, sc.step_row[s], sc.step_row[s] + sc.active[s]};
    for (std::size_t e = s; down ? e > 0 : e + 1 < sc.steps;) {
        e = down ? e - 1 : e + 1;
        const std::size_t lo = std::min(c.lo, sc.step_row[e]),
                          hi = std::max(c.hi, sc.step_row[e] + sc.active[e]);
        if (hi - lo > max_rows) break;
        c.lo = lo, c.hi = hi;
        ++c.count;
    }
    return c;
}

template <class T, class B>
bool defined_requires_grad(const Tensor<T, B>& t) {
    return t.defined() && t.requires_grad();
}

/// What the backward of one lstm_layer call needs.
template <class T, class B>
struct LSTMLayerSaved {
    LSTMSchedule sched;
    ComputeType compute = ComputeType::fp32;  // of every GEMM, forward and backward
    std::size_t input_size = 0, hidden = 0;
    Tensor<T, B> x_rows;  // [N, in] step-ordered input rows (x itself when not packed)
    Tensor<T, B> gates;   // [N, 4H] activations i, f, g, o
    Tensor<T, B> cells;   // [N, H] cell state after each step
    Tensor<T, B> h_prev;  // [N, H] hidden state entering each step
    Tensor<T, B> c0;      // [B, H] initial cell state, sorted order
    Tensor<T, B> w_ih, w_hh;
    // Row k of the step order -> its row in the output viewed as [*, H] (output_rows); empty
    // when that is k itself (equal lengths, one direction).
    std::vector<std::size_t> out_rows;
    bool need_x = false, need_h0 = false, need_c0 = false;
    bool need_w_ih = false, need_w_hh = false, need_b_ih = false, need_b_hh = false;
};

template <class T, class B>
std::vector<Tensor<T, B>> lstm_layer_backward(const LSTMLayerSaved<T, B>& sv,
                                              const std::vector<Tensor<T, B>>& g) {
    using K = lstm_kernels<B>;
    const typename backend_traits<B>::kernel_scope flush_denormals;  // BPTT underflows
    const auto& sc = sv.sched;
    const std::size_t H = sv.hidden, G = 4 * H, I = sv.input_size, N = sc.rows, Bn = sc.batch;
    const std::size_t* iota = sc.iota.data();

    // Output gradient in step order. The node is recorded without materialized gradients:
    // an undefined g[i] is zeros that were never written (the last layer's per-step output,
    // when only h_n is used, would be a [T, B, H] fill and a pass reading it per direction).
    Tensor<T, B> dy_rows = g[0];
    if (!sv.out_rows.empty() && g[0].defined()) {
        dy_rows = Tensor<T, B>::empty({N, H});
        K::copy_rows(g[0].data(), sv.out_rows.data(), dy_rows.data(), iota, N, H);
    }
    const T* dy = dy_rows.defined() ? dy_rows.data() : nullptr;
    // Rows whose last step is s start their recurrence from the h_n / c_n gradients (zeros
    // where undefined): rows [ended, rows) of dh and dc in sorted order.
    auto start_rows = [&](const Tensor<T, B>& gn, Tensor<T, B>& d, std::size_t ended,
                          std::size_t rows) {
        if (gn.defined())
            K::copy_rows(gn.data(), sc.perm.data() + ended, d.data(), iota + ended, rows - ended,
                         H);
        else
            kernels<B>::fill(d.data() + ended * H, (rows - ended) * H, T(0));
    };
    std::vector<Tensor<T, B>> out(7);
    const Shape x_shape{sc.time, Bn, I};
    if (sv.need_x) {
        out[0] = Tensor<T, B>::empty(x_shape);
        zero_rows<K, T, B>(out[0].data(), padding_rows(sc, 1, 0), I);  // the rest is written
    }
    if (sv.need_w_ih) out[3] = Tensor<T, B>::empty({G, I});
    if (sv.need_w_hh) out[4] = Tensor<T, B>::empty({G, H});
    Tensor<T, B> db, db_chunk;
    if (sv.need_b_ih || sv.need_b_hh) db = Tensor<T, B>::empty({G});

    // The gate gradients dG are made a chunk of steps at a time (gate_chunk_rows: ~1 MiB
    // on the CPU, all rows elsewhere) into dgates, and each chunk is consumed while it is
    // in cache: dX = dG · W_ih for its rows, and dW_ih += dG^T · x, dW_hh += dG^T · h_prev,
    // db += the column sums of dG over them. With unequal lengths the chunk's dX rows are
    // scattered from dx_chunk into the padded dX right there, while they are in cache (no
    // [N, I] block of dX in memory).
    const std::size_t chunk_rows = gate_chunk_rows<K, T>(G, N, Bn);
    auto dgates = Tensor<T, B>::empty({chunk_rows, G});
    Tensor<T, B> dx_chunk;
    if (sc.packed && sv.need_x) dx_chunk = Tensor<T, B>::empty({chunk_rows, I});
    auto dh = Tensor<T, B>::empty({Bn, H});
    auto dc = Tensor<T, B>::empty({Bn, H});
    const T* gates = sv.gates.data();
    const T* cells = sv.cells.data();
    // dh = dG · W_hh each step, dX = dG · W_ih each chunk: both packed once.
    const RecurrentWeights<K, T> w_hh(false, G, H, sv.w_hh.data(), H, sv.compute);
    std::optional<RecurrentWeights<K, T>> w_ih;
    if (sv.need_x) w_ih.emplace(false, G, I, sv.w_ih.data(), I, sv.compute);
    StepChunk chunk{};
    std::size_t left = 0;  // steps of the current chunk still to run
    bool first_chunk = true;
    auto consume = [&] {  // the chunk's dG is complete: rows [lo, hi) in dgates
        const std::size_t m = chunk.hi - chunk.lo;
        const T* dg = dgates.data();
        const T beta = first_chunk ? T(0) : T(1);
        if (sv.need_x && sc.packed) {
            w_ih->multiply(m, dg, G, T(0), dx_chunk.data(), I);
            K::copy_rows(dx_chunk.data(), iota, out[0].data(), sc.padded_row.data() + chunk.lo, m,
                         I);
        } else if (sv.need_x) {
            w_ih->multiply(m, dg, G, T(0), out[0].data() + chunk.lo * I, I);
        }
        const T* xs = sv.x_rows.data() + chunk.lo * I;
        const T* h_chunk = sv.h_prev.data() + chunk.lo * H;
        if (sv.need_w_ih && sv.need_w_hh)  // both from dG^T: one packing of it on the CPU
            lstm_gemm_shared_a<K>(sv.compute, true, false, G, I, H, m, T(1), dg, G, xs, I, h_chunk,
                                  H, beta, out[3].data(), I, out[4].data(), H);
        else if (sv.need_w_ih)
            lstm_gemm<K>(sv.compute, true, false, G, I, m, T(1), dg, G, xs, I, beta, out[3].data(),
                         I);
        else if (sv.need_w_hh)
            lstm_gemm<K>(sv.compute, true, false, G, H, m, T(1), dg, G, h_chunk, H, beta,
                         out[4].data(), H);
        if (db.defined()) {
            if (first_chunk) {
                K::sum_rows(dg, m, G, db.data());
            } else {
                if (!db_chunk.defined()) db_chunk = Tensor<T, B>::empty({G});
                K::sum_rows(dg, m, G, db_chunk.data());
                kernels<B>::axpy(db.data(), db_chunk.data(), G, T(1));
            }
        }
        first_chunk = false;
    };
    for (std::size_t s = sc.steps; s-- > 0;) {
        if (left == 0) {
            chunk = chunk_steps(sc, s, /*down=*/true, chunk_rows);
            left = chunk.count;
        }
        const std::size_t rows = sc.active[s], ended = sc.active[s + 1];
        if (rows > ended) {
            start_rows(g[1], dh, ended, rows);
            start_rows(g[2], dc, ended, rows);
        }
        const std::size_t r0 = sc.step_row[s];
        T* dg = dgates.data() + (r0 - chunk.lo) * G;
        const T* c_prev = s == 0 ? sv.c0.data() : cells + sc.step_row[s - 1] * H;
        K::gates_backward(gates + r0 * G, cells + r0 * H, c_prev, dh.data(),
                          dy ? dy + r0 * H : nullptr, dc.data(), dg, rows, H);
        if (s > 0 || sv.need_h0) w_hh.multiply(rows, dg, G, T(0), dh.data(), H);
        if (--left == 0) consume();
    }

    if (sv.need_h0) {
        out[1] = Tensor<T, B>::empty({Bn, H});
        K::copy_rows(dh.data(), iota, out[1].data(), sc.perm.data(), Bn, H);
    }
    if (sv.need_c0) {
        out[2] = Tensor<T, B>::empty({Bn, H});
        K::copy_rows(dc.data(), iota, out[2].data(), sc.perm.data(), Bn, H);
    }
    if (db.defined()) {
        if (sv.need_b_ih) out[5] = db;
        if (sv.need_b_hh) out[6] = sv.need_b_ih ? db.clone() : db;
    }
    return out;
}

}  // namespace detail

namespace detail {

/// Validates one direction's arguments (shapes only; lengths are checked by the schedule).
template <class T, class B>
void check_lstm_layer_args(const Tensor<T, B>& x, const Tensor<T, B>& h0, const Tensor<T, B>& c0,
                           const Tensor<T, B>& w_ih, const Tensor<T, B>& w_hh,
                           const Tensor<T, B>& b_ih, const Tensor<T, B>& b_hh) {
    check<ShapeError>(x.dim() == 3 && x.size(0) > 0 && x.size(1) > 0,
                      "lstm_layer: expected x of shape [T,B,input_size] with T, B >= 1, got ",
                      to_string(x.shape()));
    check<ShapeError>(w_ih.dim() == 2 && w_ih.size(0) % 4 == 0 && w_ih.size(0) > 0,
                      "lstm_layer: expected w_ih of shape [4*hidden,input_size], got ",
                      to_string(w_ih.shape()));
    const std::size_t Bn = x.size(1), I = x.size(2);
    const std::size_t H = w_ih.size(0) / 4, G = 4 * H;
    check<ShapeError>(w_ih.size(1) == I, "lstm_layer: w_ih has shape ", to_string(w_ih.shape()),
                      " but x has input size ", I, " (expected ", to_string(Shape{G, I}), ")");
    check<ShapeError>(w_hh.shape() == Shape{G, H}, "lstm_layer: expected w_hh of shape ",
                      to_string(Shape{G, H}), ", got ", to_string(w_hh.shape()));
    for (const auto* b : {&b_ih, &b_hh})
        check<ShapeError>(!b->defined() || b->shape() == Shape{G}, "lstm_layer: expected ",
                          b == &b_ih ? "b_ih" : "b_hh", " of shape ", to_string(Shape{G}), ", got ",
                          b->defined() ? to_string(b->shape()) : "");
    for (const auto* s : {&h0, &c0})
        check<ShapeError>(!s->defined() || s->shape() == Shape{Bn, H}, "lstm_layer: expected ",
                          s == &h0 ? "h0" : "c0", " of shape ", to_string(Shape{Bn, H}), ", got ",
                          s->defined() ? to_string(s->shape()) : "");
}

template <class T, class B>
bool lstm_layer_needs_grad(const Tensor<T, B>& x, const Tensor<T, B>& h0, const Tensor<T, B>& c0,
                           const Tensor<T, B>& w_ih, const Tensor<T, B>& w_hh,
                           const Tensor<T, B>& b_ih, const Tensor<T, B>& b_hh) {
    return is_grad_enabled() &&
           (defined_requires_grad(x) || defined_requires_grad(h0) || defined_requires_grad(c0) ||
            defined_requires_grad(w_ih) || defined_requires_grad(w_hh) ||
            defined_requires_grad(b_ih) || defined_requires_grad(b_hh));
}

/// The forward pass of one direction, arguments already checked and sv->sched built; with
/// need_grad, fills *sv with what backward needs. Records nothing and reads no
/// thread-local state, so it may run on a worker thread. The output goes to `out` when
/// given, as direction d of D side by side ([T, B, D H]; the rows of the other directions
/// are not touched, so they may be written at the same time), else to a new [T, B, H].
template <class T, class B>
LSTMLayerOutput<T, B> lstm_layer_forward(LSTMLayerSaved<T, B>* sv, const Tensor<T, B>& x,
                                         const Tensor<T, B>& h0, const Tensor<T, B>& c0,
                                         const Tensor<T, B>& w_ih, const Tensor<T, B>& w_hh,
                                         const Tensor<T, B>& b_ih, const Tensor<T, B>& b_hh,
                                         bool need_grad, Tensor<T, B> out = {}, std::size_t D = 1,
                                         std::size_t d = 0) {
    using K = lstm_kernels<B>;
    const typename backend_traits<B>::kernel_scope flush_denormals;
    const std::size_t Tn = x.size(0), Bn = x.size(1), I = x.size(2);
    const std::size_t H = w_hh.size(1), G = 4 * H;
    const auto& sc = sv->sched;
    const std::size_t N = sc.rows;
    const std::size_t* iota = sc.iota.data();
    sv->input_size = I;
    sv->hidden = H;

    using Step = ForwardStep<K, T>;
    const T* b_a = b_ih.defined() ? b_ih.data() : nullptr;
    const T* b_b = b_hh.defined() ? b_hh.data() : nullptr;
    // The input projection gx = x·W_ih^T. With a fused step (Step::fused: the CPU) the step
    // adds b_ih + b_hh itself, and the projection runs in chunks of steps just ahead of the
    // recurrence (project_ahead below), ~1 MiB of gx each, so the step's epilogue finds
    // its gx in L2 instead of memory; without grad nothing keeps the activations, so gates
    // then holds one chunk (rows from gates_lo on), not all N rows. Otherwise the biases go
    // into every row of gates and one GEMM projects all rows. With unequal lengths each
    // chunk's input rows are gathered just before its projection, so it reads them from
    // cache: into x_rows (kept for dW_ih) with grad, else into a chunk-sized buffer.
    const std::size_t chunk_rows = gate_chunk_rows<K, T>(G, N, Bn);
    const bool gate_window = Step::fused && !need_grad;
    auto gates = Tensor<T, B>::empty({gate_window ? chunk_rows : N, G});
    std::size_t gates_lo = 0;  // the row of the step order that gates' row 0 holds
    Tensor<T, B> bias;
    if (Step::fused && (b_a || b_b)) {
        bias = Tensor<T, B>::empty({G});
        K::broadcast_bias_rows(bias.data(), b_a, b_b, 1, G);
    } else if (!Step::fused) {
        K::broadcast_bias_rows(gates.data(), b_a, b_b, N, G);
    }
    const RecurrentWeights<K, T> w_in(true, I, G, w_ih.data(), I, sv->compute);
    Tensor<T, B> x_rows = x;  // with unequal lengths: the step-ordered rows (or a chunk's)
    if (sc.packed) x_rows = Tensor<T, B>::empty({need_grad ? N : chunk_rows, I});
    std::size_t projected = 0;  // steps [0, projected) have their gx
    auto project_ahead = [&](std::size_t s) {
        const StepChunk c = chunk_steps(sc, s, /*down=*/false, chunk_rows);
        if (gate_window) gates_lo = c.lo;
        // The chunk's input rows: where it keeps them (x_rows with grad or equal lengths) at
        // its rows, else at the start of the chunk buffer.
        T* xs = x_rows.data() + (sc.packed && !need_grad ? 0 : c.lo) * I;
        if (sc.packed)
            K::copy_rows(x.data(), sc.padded_row.data() + c.lo, xs, iota, c.hi - c.lo, I);
        w_in.multiply(c.hi - c.lo, xs, I, Step::fused ? T(0) : T(1),
                      gates.data() + (c.lo - gates_lo) * G, G);
        projected = s + c.count;
    };

    // Initial states in sorted order.
    auto h0s = Tensor<T, B>::zeros({Bn, H});
    auto c0s = Tensor<T, B>::zeros({Bn, H});
    if (h0.defined()) K::copy_rows(h0.data(), sc.perm.data(), h0s.data(), iota, Bn, H);
    if (c0.defined()) K::copy_rows(c0.data(), sc.perm.data(), c0s.data(), iota, Bn, H);

    LSTMLayerOutput<T, B> res;
    if (!out.defined()) out = Tensor<T, B>::empty({Tn, Bn, H});
    res.output = out;
    // Where the steps' h' go:
    // - direct (equal lengths): into the output itself: step-order row k is output row k, at
    //   row stride D H from direction d's first column (a fused step writes h with that
    //   stride; an unfused one only with one direction);
    // - staged (unequal lengths, fused step: the CPU): into a small block, from which each
    //   step's rows are scattered into the output (and the rows that end there into h_n)
    //   right after the step, while they are in L1. With grad that block is the next step's
    //   slot of h_prev (which then has room for Bn more rows), so the next step reads its
    //   h_prev where it is saved, with no copy; without grad it is one of two [Bn, H] halves
    //   used in turn;
    // - otherwise (unequal lengths or two directions on an unfused backend): into a packed
    //   [N, H] block, scattered into the output after the loop (fewer, larger copies: on a
    //   GPU each is a kernel launch).
    // In both scattered modes only the output's padding is zeroed. out_rows: step-order row
    // k -> its row in the output viewed as [*, H], where that is not k itself.
    const bool direct = !sc.packed && (D == 1 || Step::fused);
    const bool staged = sc.packed && Step::fused;
    const bool in_half = direct && D > 1;  // the steps' rows are out_rows[k], not k
    std::vector<std::size_t> out_rows;
    if (sc.packed || D > 1) out_rows = output_rows(sc, D, d);
    const std::size_t ldo = direct ? D * H : H;
    res.h_n = Tensor<T, B>::empty({Bn, H});
    res.c_n = Tensor<T, B>::empty({Bn, H});
    Tensor<T, B> y_rows;  // staged without grad: [2, Bn, H]; neither mode: [N, H]
    if (staged && !need_grad)
        y_rows = Tensor<T, B>::empty({2 * Bn, H});
    else if (!direct && !staged)
        y_rows = Tensor<T, B>::empty({N, H});
    // With grad, every step's cell state and h_prev are kept; without, the cell state is
    // updated in place in c0s (rows that finished keep their final state).
    Tensor<T, B> cells, h_prev;
    if (need_grad) {
        cells = Tensor<T, B>::empty({N, H});
        h_prev = Tensor<T, B>::empty({staged ? N + Bn : N, H});
    }
    T* y = direct ? out.data() + d * H : y_rows.defined() ? y_rows.data() : nullptr;
    // gates += h_prev · W_hh^T and the gate math each step: W_hh packed once for the loop.
    const Step step(w_hh.data(), H, sv->compute);
    for (std::size_t s = 0; s < sc.steps; ++s) {
        if (s == projected) project_ahead(s);
        const std::size_t rows = sc.active[s], r0 = sc.step_row[s];
        const T* hp = h0s.data();
        std::size_t ldh = H;
        T* ho = nullptr;
        T* cp = c0s.data();
        T* co = c0s.data();
        if (staged && need_grad) {
            if (s == 0) kernels<B>::copy(h_prev.data(), h0s.data(), rows * H);
            hp = h_prev.data() + r0 * H;
            ho = h_prev.data() + (r0 + rows) * H;  // the next step's h_prev
        } else if (staged) {
            if (s > 0) hp = y + (s - 1) % 2 * Bn * H;
            ho = y + s % 2 * Bn * H;
        } else {
            if (s > 0) {
                hp = y + sc.step_row[s - 1] * ldo;
                ldh = ldo;
            }
            ho = y + r0 * ldo;
            if (need_grad) {
                if (in_half && s > 0)  // the previous step's rows of direction d's half
                    K::copy_rows(out.data(), out_rows.data() + sc.step_row[s - 1], h_prev.data(),
                                 iota + r0, rows, H);
                else
                    kernels<B>::copy(h_prev.data() + r0 * H, hp, rows * H);
                hp = h_prev.data() + r0 * H;
            }
        }
        if (need_grad) {
            ldh = H;  // (h_prev's rows)
            cp = s == 0 ? c0s.data() : cells.data() + sc.step_row[s - 1] * H;
            co = cells.data() + r0 * H;
        }
        if constexpr (offers_prefetch_rows<K, T>::value)  // the scatter's rows, meanwhile
            if (staged) K::prefetch_rows(out.data(), out_rows.data() + r0, rows, H);
        step(rows, hp, ldh, gates.data() + (r0 - gates_lo) * G, cp, co, ho, ldo,
             bias.defined() ? bias.data() : nullptr);
        if (staged) {
            K::copy_rows(ho, iota, out.data(), out_rows.data() + r0, rows, H);
            const std::size_t ended = sc.active[s + 1];  // rows [ended, rows) end here
            K::copy_rows(ho, iota + ended, res.h_n.data(), sc.perm.data() + ended, rows - ended, H);
        }
    }

    if (!direct && !staged) K::copy_rows(y, iota, out.data(), out_rows.data(), N, H);
    if (!direct) zero_rows<K, T, B>(out.data(), padding_rows(sc, D, d), H);
    if (in_half) {  // final rows where they lie in the output
        std::vector<std::size_t> ends(Bn);
        for (std::size_t r = 0; r < Bn; ++r) ends[r] = out_rows[sc.end_row[r]];
        K::copy_rows(out.data(), ends.data(), res.h_n.data(), sc.perm.data(), Bn, H);
    } else if (!staged) {
        K::copy_rows(y, sc.end_row.data(), res.h_n.data(), sc.perm.data(), Bn, H);
    }
    if (need_grad) sv->out_rows = std::move(out_rows);
    if (need_grad)
        K::copy_rows(cells.data(), sc.end_row.data(), res.c_n.data(), sc.perm.data(), Bn, H);
    else
        K::copy_rows(c0s.data(), iota, res.c_n.data(), sc.perm.data(), Bn, H);

    if (need_grad) {
        sv->gates = gates;
        sv->cells = cells;
        sv->h_prev = h_prev;
        sv->c0 = c0s;
        sv->x_rows = sc.packed ? x_rows : x.detach();
        sv->w_ih = w_ih.detach();
        sv->w_hh = w_hh.detach();
        sv->need_x = defined_requires_grad(x);
        sv->need_h0 = defined_requires_grad(h0);
        sv->need_c0 = defined_requires_grad(c0);
        sv->need_w_ih = defined_requires_grad(w_ih);
        sv->need_w_hh = defined_requires_grad(w_hh);
        sv->need_b_ih = defined_requires_grad(b_ih);
        sv->need_b_hh = defined_requires_grad(b_hh);
    }
    return res;
}

/// The two directions of a bidirectional layer. Where the backend allows it
/// (backend_traits<B>::concurrent_host_threads: the CPU), f0 and f1 run at the same time on
/// the thread team (core/threads.hpp), inside the backend's concurrent_scope (on the CPU:
/// single-threaded kernels and BLAS, so the pair does not oversubscribe the cores).
/// Otherwise, with one thread, or when the team is busy with another caller's work, they
/// run one after the other (a CUDA stream and cuBLAS handle must not be fed by two host
/// threads at once, and the GPU already runs each step's kernels in parallel). An exception
/// from either is rethrown here after both finished (f0's first).
template <class B, class F0, class F1>
void run_directions(F0&& f0, F1&& f1) {
    if constexpr (!backend_traits<B>::concurrent_host_threads) {
        f0();
        f1();
    } else {
        if (num_threads() < 2) {
            f0();
            f1();
            return;
        }
        const typename backend_traits<B>::concurrent_scope concurrent;
        ::nnlite::detail::run_chunks(2, 2, [&](std::size_t i) { i == 0 ? f0() : f1(); });
    }
}

}  // namespace detail

/// One LSTM layer, one direction, over a time-major batch; see the file comment.
///   x [T, B, in]; lengths: empty (all T) or B values in [1, T];
///   h0, c0 [B, H] or undefined (zeros); w_ih [4H, in]; w_hh [4H, H];
///   b_ih, b_hh [4H] or undefined (no bias); reverse: run from each sequence's end.
///   compute: the GEMMs' compute type (fp32, or bf16 where lstm_compute_unavailable allows).
/// Returns {output [T, B, H], h_n [B, H], c_n [B, H]}, recorded as one autograd node
/// ("LSTMLayerBackward") with inputs (x, h0, c0, w_ih, w_hh, b_ih, b_hh).
template <class T, class B>
LSTMLayerOutput<T, B> lstm_layer(const Tensor<T, B>& x, const std::vector<std::int64_t>& lengths,
                                 const Tensor<T, B>& h0, const Tensor<T, B>& c0,
                                 const Tensor<T, B>& w_ih, const Tensor<T, B>& w_hh,
                                 const Tensor<T, B>& b_ih, const Tensor<T, B>& b_hh,
                                 bool reverse = false, ComputeType compute = ComputeType::fp32) {
    require_lstm_compute<T, B>(compute);
    detail::check_lstm_layer_args(x, h0, c0, w_ih, w_hh, b_ih, b_hh);
    const bool need_grad = detail::lstm_layer_needs_grad(x, h0, c0, w_ih, w_hh, b_ih, b_hh);
    auto sv = std::make_shared<detail::LSTMLayerSaved<T, B>>();
    sv->sched = detail::make_lstm_schedule(lengths, x.size(0), x.size(1), reverse);
    sv->compute = compute;
    LSTMLayerOutput<T, B> res =
        detail::lstm_layer_forward(sv.get(), x, h0, c0, w_ih, w_hh, b_ih, b_hh, need_grad);
    if (need_grad) {
        // Absent optional inputs become an empty placeholder that needs no gradient.
        const Tensor<T, B> none = Tensor<T, B>::empty({0});
        auto or_none = [&](const Tensor<T, B>& t) { return t.defined() ? t : none; };
        autograd::record<T, B>(
            "LSTMLayerBackward",
            {x, or_none(h0), or_none(c0), w_ih, w_hh, or_none(b_ih), or_none(b_hh)},
            {res.output, res.h_n, res.c_n},
            [sv](const auto& g) { return detail::lstm_layer_backward(*sv, g); },
            /*materialize_grads=*/false);
    }
    return res;
}

/// One direction's parameters and optional initial state for lstm_bidirectional_layer
/// (shapes as in lstm_layer; undefined h0/c0 mean zeros, undefined biases no bias).
template <class T, class B = cpu>
struct LSTMDirectionParams {
    Tensor<T, B> w_ih, w_hh, b_ih, b_hh;
    Tensor<T, B> h0, c0;
};

/// Outputs of lstm_bidirectional_layer: output [T, B, 2H], the forward direction's y in
/// [.., :H] and the reverse direction's in [.., H:] (zero past each sequence's length), and
/// each direction's final states [B, H] (index 0 forward, 1 reverse).
template <class T, class B = cpu>
struct LSTMBidirectionalOutput {
    Tensor<T, B> output;
    Tensor<T, B> h_n[2];
    Tensor<T, B> c_n[2];
};

/// Both directions of a bidirectional layer over the same input and lengths: the same
/// results as lstm_layer(.., reverse = false) and lstm_layer(.., reverse = true) with their
/// outputs concatenated on the last dimension, but the two directions run concurrently,
/// forward and backward, each on one core with single-threaded GEMMs (see run_directions),
/// and each writes its half of the output directly: no concatenation pass, and in the
/// backward no split of its gradient. On 2 cores that beats giving every GEMM both threads:
/// the per-step recurrent GEMMs ([B, H] x [H, 4H]) are too small to split well, and the gate
/// math between them is single-threaded anyway. The directions must have the same hidden
/// size. Recorded as ONE autograd node ("BidirectionalLSTMLayerBackward") with inputs (x,
/// h0, c0, w_ih, w_hh, b_ih, b_hh) of the forward direction then of the reverse one, and
/// outputs (output, h_n[0], c_n[0], h_n[1], c_n[1]). `compute` as in lstm_layer, for both.
template <class T, class B>
LSTMBidirectionalOutput<T, B> lstm_bidirectional_layer(const Tensor<T, B>& x,
                                                       const std::vector<std::int64_t>& lengths,
                                                       const LSTMDirectionParams<T, B>& fwd,
                                                       const LSTMDirectionParams<T, B>& rev,
                                                       ComputeType compute = ComputeType::fp32) {
    require_lstm_compute<T, B>(compute);
    const LSTMDirectionParams<T, B>* dirs[2] = {&fwd, &rev};
    bool need_grad = false;
    std::shared_ptr<detail::LSTMLayerSaved<T, B>> sv[2];
    for (int d = 0; d < 2; ++d) {
        const auto& p = *dirs[d];
        detail::check_lstm_layer_args(x, p.h0, p.c0, p.w_ih, p.w_hh, p.b_ih, p.b_hh);
        need_grad = need_grad ||
                    detail::lstm_layer_needs_grad(x, p.h0, p.c0, p.w_ih, p.w_hh, p.b_ih, p.b_hh);
        sv[d] = std::make_shared<detail::LSTMLayerSaved<T, B>>();
        sv[d]->sched = detail::make_lstm_schedule(lengths, x.size(0), x.size(1), d == 1);
        sv[d]->compute = compute;
    }
    const std::size_t H = fwd.w_hh.size(1);
    check<ShapeError>(rev.w_hh.size(1) == H, "lstm_bidirectional_layer: the forward direction has ",
                      "hidden size ", H, " (w_hh ", to_string(fwd.w_hh.shape()),
                      ") but the reverse direction ", rev.w_hh.size(1), " (w_hh ",
                      to_string(rev.w_hh.shape()), "); both must be the same");
    LSTMBidirectionalOutput<T, B> res;
    res.output = Tensor<T, B>::empty({x.size(0), x.size(1), 2 * H});
    auto run = [&](int d) {
        const auto& p = *dirs[d];
        auto r =
            detail::lstm_layer_forward(sv[d].get(), x, p.h0, p.c0, p.w_ih, p.w_hh, p.b_ih, p.b_hh,
                                       need_grad, res.output, 2, static_cast<std::size_t>(d));
        res.h_n[d] = r.h_n;
        res.c_n[d] = r.c_n;
    };
    detail::run_directions<B>([&] { run(0); }, [&] { run(1); });
    if (need_grad) {
        const Tensor<T, B> none = Tensor<T, B>::empty({0});
        auto or_none = [&](const Tensor<T, B>& t) { return t.defined() ? t : none; };
        std::vector<Tensor<T, B>> inputs;
        for (const auto* p : dirs)
            for (const auto* t : {&x, &p->h0, &p->c0, &p->w_ih, &p->w_hh, &p->b_ih, &p->b_hh})
                inputs.push_back(or_none(*t));
        auto sf = sv[0], sr = sv[1];
        autograd::record<T, B>(
            "BidirectionalLSTMLayerBackward", inputs,
            {res.output, res.h_n[0], res.c_n[0], res.h_n[1], res.c_n[1]},
            [sf, sr](const auto& g) {
                // Each direction gathers its half of the output's gradient (sv->out_rows).
                std::vector<Tensor<T, B>> gf, gr;
                detail::run_directions<B>(
                    [&] {
                        gf = detail::lstm_layer_backward(*sf, {g[0], g[1], g[2]});
                    },
                    [&] {
                        gr = detail::lstm_layer_backward(*sr, {g[0], g[3], g[4]});
                    });
                gf.insert(gf.end(), gr.begin(), gr.end());
                return gf;
            },
            /*materialize_grads=*/false);
    }
    return res;
}

}  // namespace nnlite::ops
