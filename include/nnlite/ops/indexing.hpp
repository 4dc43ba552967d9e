// Differentiable indexing: index_select, gather, and embedding lookup with a padding
// index. Indices are int32 or int64 tensors and are bounds-checked before any access; the
// backward is a scatter-add into a zero gradient of the source's shape.
#pragma once

#include <cstdint>
#include <optional>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

namespace detail {
template <class I, class B>
void check_indices(const Tensor<I, B>& idx, std::size_t bound, const char* op, const char* what) {
    const auto v = idx.to_vector();
    for (std::size_t i = 0; i < v.size(); ++i)
        check<IndexError>(v[i] >= 0 && static_cast<std::size_t>(v[i]) < bound, op, ": ", what, " ",
                          +v[i], " at position ", i, " is out of range [0, ", bound, ")");
}
}  // namespace detail

/// Rows (or slices along dim) of x picked by a 1-D index tensor.
template <class T, class B, class I>
Tensor<T, B> index_select(const Tensor<T, B>& x, std::int64_t dim, const Tensor<I, B>& index) {
    const std::size_t d = normalize_dim(dim, x.dim(), "index_select");
    check<ShapeError>(index.dim() == 1, "index_select: index must be 1-D, got ",
                      to_string(index.shape()));
    detail::check_indices(index, x.shape()[d], "index_select", "index");
    const auto sp = detail::split_at(x.shape(), d);
    Shape s = x.shape();
    s[d] = index.numel();
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::index_select(x.data(), sp.outer, sp.len, sp.inner, index.data(), index.numel(),
                             out.data());
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>(
            "IndexSelectBackward", {x}, {out}, [in = x.shape(), sp, index](const auto& g) {
                auto gx = Tensor<T, B>::zeros(in);
                kernels<B>::index_add(gx.data(), sp.outer, sp.len, sp.inner, index.data(),
                                      index.numel(), g[0].data(), std::int64_t{-1});
                return std::vector<Tensor<T, B>>{gx};
            });
    }
    return out;
}

/// torch.gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along dim. `index` has
/// x's rank and x's extents in every other dim.
template <class T, class B, class I>
Tensor<T, B> gather(const Tensor<T, B>& x, std::int64_t dim, const Tensor<I, B>& index) {
    const std::size_t d = normalize_dim(dim, x.dim(), "gather");
    Shape a = x.shape(), b = index.shape();
    check<ShapeError>(a.size() == b.size(), "gather: index shape ", to_string(b),
                      " must have the rank of input shape ", to_string(a));
    a[d] = b[d] = 0;
    check<ShapeError>(a == b, "gather: index shape ", to_string(index.shape()),
                      " must match input shape ", to_string(x.shape()), " except along dim ", d);
    detail::check_indices(index, x.shape()[d], "gather", "index");
    const auto sp = detail::split_at(x.shape(), d);
    auto out = Tensor<T, B>::empty(index.shape());
    kernels<B>::gather(const_cast<T*>(x.data()), sp.outer, sp.len, sp.inner, index.data(),
                       index.shape()[d], out.data(), false);
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>(
            "GatherBackward", {x}, {out}, [in = x.shape(), sp, d, index](const auto& g) {
                auto gx = Tensor<T, B>::zeros(in);
                kernels<B>::gather(gx.data(), sp.outer, sp.len, sp.inner, index.data(),
                                   index.shape()[d], const_cast<T*>(g[0].data()), true);
                return std::vector<Tensor<T, B>>{gx};
            });
    }
    return out;
}

/// Embedding lookup: ids of any shape S -> [S..., dim] rows of weight [num, dim]. Rows at
/// padding_idx receive no gradient (PyTorch semantics: a negative padding_idx counts from
/// the end; one outside [-num, num) is an IndexError).
template <class T, class B, class I>
Tensor<T, B> embedding(const Tensor<T, B>& weight, const Tensor<I, B>& ids,
                       std::optional<std::int64_t> padding_idx = std::nullopt) {
    check<ShapeError>(weight.dim() == 2,
                      "embedding: weight must be 2-D [num_embeddings, dim], got ",
                      to_string(weight.shape()));
    detail::check_indices(ids, weight.size(0), "embedding", "token id");
    std::int64_t skip = -1;  // no id is -1 after check_indices, so -1 skips nothing
    if (padding_idx) {
        const auto num = static_cast<std::int64_t>(weight.size(0));
        check<IndexError>(*padding_idx >= -num && *padding_idx < num, "embedding: padding_idx ",
                          *padding_idx, " is out of range for ", num, " embeddings");
        skip = *padding_idx < 0 ? *padding_idx + num : *padding_idx;
    }
    const std::size_t n = ids.numel(), width = weight.size(1);
    Shape s = ids.shape();
    s.push_back(width);
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::index_select(weight.data(), 1, weight.size(0), width, ids.data(), n, out.data());
    if (autograd::any_requires_grad(weight)) {
        autograd::record<T, B>("EmbeddingBackward", {weight}, {out},
                               [ws = weight.shape(), ids, skip](const auto& g) {
                                   auto gw = Tensor<T, B>::zeros(ws);
                                   kernels<B>::index_add(gw.data(), 1, ws[0], ws[1], ids.data(),
                                                         ids.numel(), g[0].data(), skip);
                                   return std::vector<Tensor<T, B>>{gw};
                               });
    }
    return out;
}

}  // namespace nnlite::ops
