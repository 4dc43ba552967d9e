// Differentiable reductions: sum and mean over everything or along a dim (keepdim
// optional), and max along a dim returning values and argmax indices.
#pragma once

#include <cstdint>
#include <utility>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

namespace detail {
template <class T, class B>
Tensor<T, B> sum_dim_scaled(const Tensor<T, B>& x, std::size_t d, bool keepdim, T scale,
                            const char* name) {
    const auto sp = split_at(x.shape(), d);
    Shape s = x.shape();
    if (keepdim)
        s[d] = 1;
    else
        s.erase(s.begin() + static_cast<std::ptrdiff_t>(d));
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::reduce_dim(ReduceOp::sum, x.data(), sp.outer, sp.len, sp.inner, out.data(),
                           nullptr);
    if (scale != T(1)) kernels<B>::scale(out.data(), out.numel(), scale);
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>(name, {x}, {out}, [in = x.shape(), sp, scale](const auto& g) {
            auto gx = Tensor<T, B>::empty(in);
            kernels<B>::expand_dim(g[0].data(), sp.outer, sp.len, sp.inner, gx.data(), scale);
            return std::vector<Tensor<T, B>>{gx};
        });
    }
    return out;
}
template <class T, class B>
Tensor<T, B> flatten_all(const Tensor<T, B>& x) {
    return reshape(x, {static_cast<std::int64_t>(x.numel())});
}
}  // namespace detail

/// Sum of all elements (0-d result).
template <class T, class B>
Tensor<T, B> sum(const Tensor<T, B>& x) {
    return detail::sum_dim_scaled(detail::flatten_all(x), 0, false, T(1), "SumBackward");
}
/// Sum along dim.
template <class T, class B>
Tensor<T, B> sum(const Tensor<T, B>& x, std::int64_t dim, bool keepdim = false) {
    return detail::sum_dim_scaled(x, normalize_dim(dim, x.dim(), "sum"), keepdim, T(1),
                                  "SumBackward");
}
/// Mean of all elements; an empty tensor has no mean.
template <class T, class B>
Tensor<T, B> mean(const Tensor<T, B>& x) {
    check<ValueError>(x.numel() > 0, "mean: tensor of shape ", to_string(x.shape()), " is empty");
    return detail::sum_dim_scaled(detail::flatten_all(x), 0, false,
                                  T(1) / static_cast<T>(x.numel()), "MeanBackward");
}
template <class T, class B>
Tensor<T, B> mean(const Tensor<T, B>& x, std::int64_t dim, bool keepdim = false) {
    const std::size_t d = normalize_dim(dim, x.dim(), "mean");
    check<ValueError>(x.shape()[d] > 0, "mean: dim ", d, " of shape ", to_string(x.shape()),
                      " is empty");
    return detail::sum_dim_scaled(x, d, keepdim, T(1) / static_cast<T>(x.shape()[d]),
                                  "MeanBackward");
}

/// Max along dim: (values, indices). The gradient flows to the arg-max position only.
template <class T, class B>
std::pair<Tensor<T, B>, Tensor<std::int64_t, B>> max(const Tensor<T, B>& x, std::int64_t dim,
                                                     bool keepdim = false) {
    const std::size_t d = normalize_dim(dim, x.dim(), "max");
    check<ValueError>(x.shape()[d] > 0, "max: dim ", d, " of shape ", to_string(x.shape()),
                      " is empty; max of nothing is undefined");
    const auto sp = detail::split_at(x.shape(), d);
    Shape s = x.shape();
    if (keepdim)
        s[d] = 1;
    else
        s.erase(s.begin() + static_cast<std::ptrdiff_t>(d));
    auto values = Tensor<T, B>::empty(s);
    auto indices = Tensor<std::int64_t, B>::empty(s);
    kernels<B>::reduce_dim(ReduceOp::max, x.data(), sp.outer, sp.len, sp.inner, values.data(),
                           indices.data());
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>("MaxBackward", {x}, {values},
                               [in = x.shape(), sp, indices](const auto& g) {
                                   auto gx = Tensor<T, B>::empty(in);
                                   kernels<B>::scatter_argmax(g[0].data(), indices.data(), sp.outer,
                                                              sp.len, sp.inner, gx.data());
                                   return std::vector<Tensor<T, B>>{gx};
                               });
    }
    return {values, indices};
}

}  // namespace nnlite::ops
