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
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/random.hpp"

namespace nnlite {

template <>
struct training_kernels<cpu> {
    /// One Adam/AdamW step over n elements (detail::adam_update per element). Whether
    /// amsgrad's vmax is present is decided once, outside the loop.
    template <class T>
    static void adam_step(T* pd, const T* gd, T* m, T* v, T* vmax, std::size_t n,
                          const AdamStepParams<T>& c) {
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
