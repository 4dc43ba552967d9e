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

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/core/random.hpp"

namespace nnlite {

template <>
struct training_kernels<cpu> {
    /// One Adam/AdamW step over n elements (PyTorch's order: decoupled decay first, then
    /// the moments, then p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps)).
    template <class T>
    static void adam_step(T* pd, const T* gd, T* m, T* v, T* vmax, std::size_t n,
                          const AdamStepParams<T>& c) {
        if (c.decoupled_decay)
            for (std::size_t j = 0; j < n; ++j) pd[j] = pd[j] * c.decay_factor;
        for (std::size_t j = 0; j < n; ++j) {
            T gj = c.maximize ? -gd[j] : gd[j];
            if (c.l2 != T(0)) gj = gj + c.l2 * pd[j];
            m[j] = m[j] * c.beta1 + c.one_minus_beta1 * gj;
            v[j] = v[j] * c.beta2 + c.one_minus_beta2 * (gj * gj);
            T second = v[j];
            if (vmax) {
                vmax[j] = std::max(vmax[j], v[j]);
                second = vmax[j];
            }
            const T denom = std::sqrt(second) / c.bc2_sqrt + c.eps;
            pd[j] = pd[j] + (-c.step_size) * (m[j] / denom);
        }
    }

    /// One SGD step (weight decay, momentum with dampening, Nesterov) over n elements.
    template <class T>
    static void sgd_step(T* pd, const T* gd, T* buf, std::size_t n, const SGDStepParams<T>& c) {
        for (std::size_t j = 0; j < n; ++j) {
            T d = c.maximize ? -gd[j] : gd[j];
            if (c.weight_decay != T(0)) d = d + c.weight_decay * pd[j];
            if (c.use_momentum) {
                buf[j] = c.first ? d : buf[j] * c.momentum + c.one_minus_dampening * d;
                d = c.nesterov ? d + c.momentum * buf[j] : buf[j];
            }
            pd[j] = pd[j] + (-c.lr) * d;
        }
    }

    /// acc += sum |g_i|^q over n elements (q = inf: max), sequentially in double.
    template <class T>
    static void norm_accumulate(const T* g, std::size_t n, double norm_type, NormAccumulator& acc) {
        const bool inf_norm = std::isinf(norm_type);
        for (std::size_t i = 0; i < n; ++i) {
            const double a = std::abs(static_cast<double>(g[i]));
            if (std::isnan(a)) acc.saw_nan = true;
            if (inf_norm)
                acc.acc = std::max(acc.acc, a);
            else if (norm_type == 2.0)
                acc.acc += a * a;
            else if (norm_type == 1.0)
                acc.acc += a;
            else
                acc.acc += std::pow(a, norm_type);
        }
    }

    /// g = clamp(g, lo, hi) in place; NaN stays NaN.
    template <class T>
    static void clamp(T* g, std::size_t n, T lo, T hi) {
        for (std::size_t i = 0; i < n; ++i) g[i] = g[i] < lo ? lo : (g[i] > hi ? hi : g[i]);
    }

    /// mask[j] = scale when word_j / 2^32 >= p else 0, words from `r` (core/random.hpp).
    template <class T>
    static void dropout_mask(T* mask, std::size_t n, double p, T scale, const PhiloxRange& r) {
        const double two_pow_32 = 4294967296.0;
        std::uint64_t block = r.first_block;
        unsigned word = r.first_word;
        auto words = Generator::philox(r.key, block);
        for (std::size_t j = 0; j < n; ++j) {
            if (word == 4) {
                words = Generator::philox(r.key, ++block);
                word = 0;
            }
            mask[j] = static_cast<double>(words[word++]) / two_pow_32 >= p ? scale : T(0);
        }
    }
};

}  // namespace nnlite
