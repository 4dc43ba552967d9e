// Gradient clipping: clip_grad_norm (torch.nn.utils.clip_grad_norm_) and clip_grad_value
// (torch.nn.utils.clip_grad_value_). Both act in place on the .grad of each parameter and
// skip parameters whose grad is undefined.
//
// clip_grad_norm computes the total norm over all gradients as if they were concatenated
// into one vector,
//   total = (sum_p sum_i |g_pi|^q)^(1/q)      (q = norm_type; q = inf: max_pi |g_pi|)
// and, when total > max_norm, multiplies every gradient by max_norm / (total + 1e-6)
// (PyTorch's coefficient). The sum is accumulated in double.
//
// Non-finite norms: when total is inf or nan (a gradient overflowed or is nan), the
// gradients are NOT scaled (scaling by 0 or nan would destroy them or spread the nan) and
// the non-finite total is returned so the caller can report it and skip the step. PyTorch
// 1.13 instead multiplies by the non-finite coefficient. With error_if_nonfinite = true a
// non-finite total throws ValueError instead.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/backend/backend.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

/// Rescales gradients so that their total norm is at most max_norm; returns the total
/// norm before clipping (possibly inf or nan, see the header comment).
template <class T, class B>
double clip_grad_norm(const std::vector<Tensor<T, B>>& params, double max_norm,
                      double norm_type = 2.0, bool error_if_nonfinite = false) {
    check<ValueError>(max_norm >= 0.0, "clip_grad_norm: max_norm must be >= 0, got ", max_norm);
    check<ValueError>(norm_type > 0.0, "clip_grad_norm: norm_type must be > 0 (or inf), got ",
                      norm_type);
    NoGradGuard no_grad;
    std::vector<Tensor<T, B>> grads;
    for (const auto& p : params)
        if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return 0.0;

    const bool inf_norm = std::isinf(norm_type);
    NormAccumulator acc;  // per-element work on the gradients' backend; scalars on the host
    for (const auto& g : grads)
        training_kernels<B>::norm_accumulate(g.data(), g.numel(), norm_type, acc);
    double total = inf_norm           ? acc.acc
                   : norm_type == 2.0 ? std::sqrt(acc.acc)
                   : norm_type == 1.0 ? acc.acc
                                      : std::pow(acc.acc, 1.0 / norm_type);
    if (acc.saw_nan) total = std::numeric_limits<double>::quiet_NaN();
    if (!std::isfinite(total)) {
        check<ValueError>(!error_if_nonfinite, "clip_grad_norm: the total norm of order ",
                          norm_type, " of the gradients is ", total,
                          ", so they cannot be clipped (set error_if_nonfinite = false to ",
                          "get the norm back and skip the step instead)");
        return total;
    }
    const double coef = max_norm / (total + 1e-6);
    if (coef < 1.0)
        for (auto& g : grads) kernels<B>::scale(g.data(), g.numel(), static_cast<T>(coef));
    return total;
}

/// Clamps every gradient element into [-clip_value, clip_value].
template <class T, class B>
void clip_grad_value(const std::vector<Tensor<T, B>>& params, double clip_value) {
    check<ValueError>(clip_value >= 0.0, "clip_grad_value: clip_value must be >= 0, got ",
                      clip_value);
    NoGradGuard no_grad;
    const T hi = static_cast<T>(clip_value), lo = -hi;
    for (const auto& p : params) {
        if (!p.defined() || !p.grad().defined()) continue;
        auto g = p.grad();
        training_kernels<B>::clamp(g.data(), g.numel(), lo, hi);  // nan stays nan, as clamp
    }
}

}  // namespace nnlite::nn
