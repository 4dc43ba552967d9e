// training_kernels<cpu>: the elementwise loops behind optimizer steps, gradient clipping
// and dropout masks, on raw pointers so each backend supplies its own (the CUDA versions
// are in backend/cuda/training_kernels.cuh). The optimizers and clip functions keep the
// scalar bookkeeping (step counts, bias corrections, the clip coefficient) on the host and
// hand these kernels per-element work only.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/gemm/simd.hpp"
#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/core/threads.hpp"

namespace nnlite {

namespace cpu_train::detail {

/// Adam/AdamW on floats, a vector of Simd::W lanes at a time (AVX-512, AVX2 or SSE2 as
/// compiled; gemm/simd.hpp), in adam_update's order of operations with the products
/// contracted into multiply-adds as written below. The last partial vector goes through a
/// zero-padded copy, so every element takes the same instructions however the range is
/// split across threads.
inline void adam_lanes(float* pd, const float* gd, float* m, float* v, float* vmax, std::size_t n,
                       const AdamStepParams<float>& params) {
    using S = cpu_gemm::Simd;
    const AdamStepParams<float> c = params;  // a local copy: the stores below cannot alias it
    const S::reg beta1 = S::bcast(c.beta1), beta2 = S::bcast(c.beta2);
    const S::reg omb1 = S::bcast(c.one_minus_beta1), omb2 = S::bcast(c.one_minus_beta2);
    const S::reg eps = S::bcast(c.eps), l2 = S::bcast(c.l2), decay = S::bcast(c.decay_factor);
    const S::reg bc2 = S::bcast(c.bc2_sqrt), neg_step = S::bcast(-c.step_size);
    const S::reg minus_one = S::bcast(-1.f);
    auto lanes = [&](float* pp, const float* gp, float* mp, float* vp, float* xp) {
        S::reg p = S::load(pp);
        if (c.decoupled_decay) p = S::mul(p, decay);
        S::reg g = S::load(gp);
        if (c.maximize) g = S::mul(g, minus_one);
        if (c.l2 != 0.f) g = S::fma(l2, p, g);
        const S::reg mj = S::fma(omb1, g, S::mul(S::load(mp), beta1));
        const S::reg vj = S::fma(omb2, S::mul(g, g), S::mul(S::load(vp), beta2));
        S::store(mp, mj);
        S::store(vp, vj);
        S::reg second = vj;
        if (xp) {
            second = S::max(vj, S::load(xp));  // vmax < vj ? vj : vmax, as adam_update
            S::store(xp, second);
        }
        const S::reg denom = S::add(S::div(S::sqrt(second), bc2), eps);
        S::store(pp, S::fma(neg_step, S::div(mj, denom), p));
    };
    std::size_t j = 0;
    for (; j + S::W <= n; j += S::W) lanes(pd + j, gd + j, m + j, v + j, vmax ? vmax + j : nullptr);
    if (j == n) return;
    const std::size_t r = n - j;
    float tp[S::W] = {}, tg[S::W] = {}, tm[S::W] = {}, tv[S::W] = {}, tx[S::W] = {};
    const std::size_t bytes = r * sizeof(float);
    std::memcpy(tp, pd + j, bytes);
    std::memcpy(tg, gd + j, bytes);
    std::memcpy(tm, m + j, bytes);
    std::memcpy(tv, v + j, bytes);
    if (vmax) std::memcpy(tx, vmax + j, bytes);
    lanes(tp, tg, tm, tv, vmax ? tx : nullptr);
    std::memcpy(pd + j, tp, bytes);
    std::memcpy(m + j, tm, bytes);
    std::memcpy(v + j, tv, bytes);
    if (vmax) std::memcpy(vmax + j, tx, bytes);
}

/// Elements per block of training_kernels<cpu>::norm_accumulate (the unit of its thread
/// split and of its summation order).
constexpr std::size_t norm_block_elems = std::size_t{1} << 14;

/// sum |g_i|^q over n elements (q = inf: max) in double, with saw_nan set when an element
/// is NaN. Eight interleaved partial results (element i goes to lane i % 8) combined in
/// lane order: eight independent chains instead of one, which the compiler also puts in
/// vector registers.
template <class T>
NormAccumulator norm_block(const T* g, std::size_t n, double q) {
    constexpr std::size_t L = 8;
    double lane[L] = {};
    bool nan = false;
    auto reduce = [&](auto term, auto combine) {
        std::size_t i = 0;
        for (; i + L <= n; i += L)
            for (std::size_t k = 0; k < L; ++k) lane[k] = combine(lane[k], term(g[i + k]));
        for (std::size_t k = 0; i < n; ++i, ++k) lane[k] = combine(lane[k], term(g[i]));
        double r = lane[0];
        for (std::size_t k = 1; k < L; ++k) r = combine(r, lane[k]);
        return r;
    };
    auto add = [](double a, double b) { return a + b; };
    NormAccumulator out;
    if (std::isinf(q)) {
        // max ignores NaN (a NaN compares false), so NaNs are counted separately.
        out.acc = reduce(
            [&](T x) {
                const double a = std::abs(static_cast<double>(x));
                nan = nan || a != a;
                return a;
            },
            [](double a, double b) { return b > a ? b : a; });
    } else if (q == 2.0) {
        out.acc = reduce([](T x) { return static_cast<double>(x) * static_cast<double>(x); }, add);
    } else if (q == 1.0) {
        out.acc = reduce([](T x) { return std::abs(static_cast<double>(x)); }, add);
    } else {
        out.acc = reduce([&](T x) { return std::pow(std::abs(static_cast<double>(x)), q); }, add);
    }
    // Every term is >= 0 or NaN, so a NaN element makes the sum NaN (inf + NaN included).
    out.saw_nan = nan || std::isnan(out.acc);
    return out;
}

}  // namespace cpu_train::detail

template <>
struct training_kernels<cpu> {
    /// One Adam/AdamW step over n elements: floats through cpu_train::detail::adam_lanes on
    /// the thread team, other types through detail::adam_update per element (whether
    /// amsgrad's vmax is present is decided once, outside the loop).
    template <class T>
    static void adam_step(T* pd, const T* gd, T* m, T* v, T* vmax, std::size_t n,
                          const AdamStepParams<T>& c) {
        if constexpr (std::is_same_v<T, float>) {
            // Fixed blocks of 16K elements (a multiple of every vector width) on the thread
            // team: only the last block has a partial vector, so the split never changes a
            // result. The embedding's 2M parameters make this a memory-bound stream.
            constexpr std::size_t block = std::size_t{1} << 14;
            const std::size_t blocks = (n + block - 1) / block;
            nnlite::parallel_for(blocks, 4, [&](std::size_t b0, std::size_t b1) {
                for (std::size_t b = b0; b < b1; ++b) {
                    const std::size_t o = b * block, len = std::min(block, n - o);
                    cpu_train::detail::adam_lanes(pd + o, gd + o, m + o, v + o,
                                                  vmax ? vmax + o : nullptr, len, c);
                }
            });
            return;
        }
        if (vmax)
            for (std::size_t j = 0; j < n; ++j)
                detail::adam_update(pd[j], gd[j], m[j], v[j], vmax + j, c);
        else
            for (std::size_t j = 0; j < n; ++j)
                detail::adam_update(pd[j], gd[j], m[j], v[j], static_cast<T*>(nullptr), c);
    }

    /// One SGD step (weight decay, momentum with dampening, Nesterov) over n elements
    /// (detail::sgd_update per element).
    template <class T>
    static void sgd_step(T* pd, const T* gd, T* buf, std::size_t n, const SGDStepParams<T>& c) {
        if (c.use_momentum)
            for (std::size_t j = 0; j < n; ++j) detail::sgd_update(pd[j], gd[j], buf + j, c);
        else
            for (std::size_t j = 0; j < n; ++j)
                detail::sgd_update(pd[j], gd[j], static_cast<T*>(nullptr), c);
    }

    /// acc += sum |g_i|^q over n elements (q = inf: max), in double. Fixed blocks of
    /// norm_block_elems on the thread team, each reduced by cpu_train::detail::norm_block,
    /// the block results added in block order: the total does not depend on the thread
    /// count. (A sequential double sum was ~9% of a `cpu`-preset training step: one long
    /// dependency chain over the embedding's 2M gradients, with the other core idle.)
    template <class T>
    static void norm_accumulate(const T* g, std::size_t n, double norm_type, NormAccumulator& acc) {
        constexpr std::size_t block = cpu_train::detail::norm_block_elems;
        const std::size_t blocks = (n + block - 1) / block;
        std::vector<NormAccumulator> part(blocks);
        nnlite::parallel_for(blocks, 4, [&](std::size_t b0, std::size_t b1) {
            for (std::size_t b = b0; b < b1; ++b)
                part[b] = cpu_train::detail::norm_block(g + b * block,
                                                        std::min(block, n - b * block), norm_type);
        });
        const bool inf_norm = std::isinf(norm_type);
        for (const NormAccumulator& p : part) {
            acc.saw_nan = acc.saw_nan || p.saw_nan;
            acc.acc = inf_norm ? std::max(acc.acc, p.acc) : acc.acc + p.acc;
        }
    }

    /// g = clamp(g, lo, hi) in place; NaN stays NaN.
    template <class T>
    static void clamp(T* g, std::size_t n, T lo, T hi) {
        for (std::size_t i = 0; i < n; ++i) g[i] = g[i] < lo ? lo : (g[i] > hi ? hi : g[i]);
    }

    /// mask[j] = scale when word_j / 2^32 >= p else 0, words from `r` (core/random.hpp).
    /// Element j takes word first_word + j of the stream that starts at first_block (four
    /// words per Philox block), so each chunk of the thread team computes where its words
    /// start, and the mask is the same for any split. (One thread made the showcase's masks
    /// 7% of a training epoch.)
    template <class T>
    static void dropout_mask(T* mask, std::size_t n, double p, T scale, const PhiloxRange& r) {
        const double two_pow_32 = 4294967296.0;
        nnlite::parallel_for(n, std::size_t{1} << 15, [&](std::size_t j0, std::size_t j1) {
            const std::uint64_t w0 = r.first_word + static_cast<std::uint64_t>(j0);
            std::uint64_t block = r.first_block + w0 / 4;
            unsigned word = static_cast<unsigned>(w0 % 4);
            auto words = Generator::philox(r.key, block);
            for (std::size_t j = j0; j < j1; ++j) {
                if (word == 4) {
                    words = Generator::philox(r.key, ++block);
                    word = 0;
                }
                mask[j] = static_cast<double>(words[word++]) / two_pow_32 >= p ? scale : T(0);
            }
        });
    }
};

}  // namespace nnlite
