// Differentiable shape ops: reshape (alias, no copy), transpose, narrow/slice, concat,
// stack, squeeze/unsqueeze. Each backward is the inverse data movement.
#pragma once

#include <cstdint>
#include <vector>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// Same data viewed with a new shape (one extent may be -1: inferred). Shares storage.
template <class T, class B>
Tensor<T, B> reshape(const Tensor<T, B>& x, const std::vector<std::int64_t>& new_shape) {
    Shape s(new_shape.size());
    std::size_t known = 1;
    int infer = -1;
    for (std::size_t i = 0; i < new_shape.size(); ++i) {
        if (new_shape[i] == -1) {
            check<ShapeError>(infer < 0, "reshape: more than one -1 in the new shape for ",
                              to_string(x.shape()));
            infer = static_cast<int>(i);
        } else {
            check<ShapeError>(new_shape[i] >= 0, "reshape: negative extent ", new_shape[i]);
            s[i] = static_cast<std::size_t>(new_shape[i]);
            known *= s[i];
        }
    }
    if (infer >= 0) {
        check<ShapeError>(known != 0 && x.numel() % known == 0,
                          "reshape: cannot infer -1 reshaping ", to_string(x.shape()), " (",
                          x.numel(), " elements)");
        s[static_cast<std::size_t>(infer)] = x.numel() / known;
    }
    check<ShapeError>(numel(s) == x.numel(), "reshape: shape ", to_string(x.shape()), " (",
                      x.numel(), " elements) cannot be viewed as ", to_string(s), " (", numel(s),
                      " elements)");
    Tensor<T, B> out = x.detach();
    out.impl().shape = s;
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>("ReshapeBackward", {x}, {out}, [in = x.shape()](const auto& g) {
            Tensor<T, B> r = g[0].detach();
            r.impl().shape = in;
            return std::vector<Tensor<T, B>>{r};
        });
    }
    return out;
}

template <class T, class B>
Tensor<T, B> view(const Tensor<T, B>& x, const std::vector<std::int64_t>& new_shape) {
    return reshape(x, new_shape);
}

/// Swaps dims d0 and d1 (copies into the new layout).
template <class T, class B>
Tensor<T, B> transpose(const Tensor<T, B>& x, std::int64_t d0, std::int64_t d1) {
    const std::size_t a = normalize_dim(d0, x.dim(), "transpose"),
                      b = normalize_dim(d1, x.dim(), "transpose");
    Shape s = x.shape();
    std::swap(s[a], s[b]);
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::transpose(x.data(), x.shape(), a, b, out.data());
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>("TransposeBackward", {x}, {out}, [a, b](const auto& g) {
            return std::vector<Tensor<T, B>>{
                transpose(g[0], static_cast<std::int64_t>(a), static_cast<std::int64_t>(b))};
        });
    }
    return out;
}

/// Transpose of a 2-D tensor.
template <class T, class B>
Tensor<T, B> t(const Tensor<T, B>& x) {
    check<ShapeError>(x.dim() == 2, "t: expects a 2-D tensor, got ", to_string(x.shape()));
    return transpose(x, 0, 1);
}

namespace detail {
struct Split {
    std::size_t outer = 1, len = 0, inner = 1;
};
inline Split split_at(const Shape& s, std::size_t dim) {
    Split r;
    for (std::size_t i = 0; i < dim; ++i) r.outer *= s[i];
    r.len = s[dim];
    for (std::size_t i = dim + 1; i < s.size(); ++i) r.inner *= s[i];
    return r;
}
}  // namespace detail

/// Elements [start, start + length) along dim (PyTorch's narrow).
template <class T, class B>
Tensor<T, B> narrow(const Tensor<T, B>& x, std::int64_t dim, std::size_t start,
                    std::size_t length) {
    const std::size_t d = normalize_dim(dim, x.dim(), "narrow");
    check<IndexError>(start + length <= x.shape()[d], "narrow: range [", start, ", ",
                      start + length, ") is out of bounds for dim ", d, " of shape ",
                      to_string(x.shape()));
    const auto sp = detail::split_at(x.shape(), d);
    Shape s = x.shape();
    s[d] = length;
    auto out = Tensor<T, B>::empty(s);
    kernels<B>::copy_slab(x.data(), sp.len, start, out.data(), length, 0, sp.outer, length,
                          sp.inner, false);
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>("NarrowBackward", {x}, {out},
                               [in = x.shape(), sp, start, length](const auto& g) {
                                   auto gx = Tensor<T, B>::zeros(in);
                                   kernels<B>::copy_slab(g[0].data(), length, 0, gx.data(), sp.len,
                                                         start, sp.outer, length, sp.inner, false);
                                   return std::vector<Tensor<T, B>>{gx};
                               });
    }
    return out;
}

/// Python-style slice x[..., start:end, ...] along dim (end exclusive, clamped).
template <class T, class B>
Tensor<T, B> slice(const Tensor<T, B>& x, std::int64_t dim, std::size_t start, std::size_t end) {
    const std::size_t d = normalize_dim(dim, x.dim(), "slice");
    end = std::min(end, x.shape()[d]);
    check<IndexError>(start <= end, "slice: start ", start, " is past end ", end, " for dim ", d,
                      " of shape ", to_string(x.shape()));
    return narrow(x, dim, start, end - start);
}

/// Joins tensors along an existing dim; all other extents must agree.
template <class T, class B>
Tensor<T, B> concat(const std::vector<Tensor<T, B>>& xs, std::int64_t dim) {
    check<ValueError>(!xs.empty(), "concat: needs at least one tensor");
    const std::size_t d = normalize_dim(dim, xs[0].dim(), "concat");
    Shape s = xs[0].shape();
    s[d] = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        Shape si = xs[i].shape(), s0 = xs[0].shape();
        check<ShapeError>(si.size() == s0.size(), "concat: tensor ", i, " has shape ",
                          to_string(si), ", tensor 0 has shape ", to_string(s0), ": ranks differ");
        si[d] = s0[d] = 0;
        check<ShapeError>(si == s0, "concat: tensor ", i, " has shape ", to_string(xs[i].shape()),
                          ", tensor 0 has shape ", to_string(xs[0].shape()), ": only dim ", d,
                          " may differ");
        s[d] += xs[i].shape()[d];
    }
    auto out = Tensor<T, B>::empty(s);
    const auto sp = detail::split_at(s, d);
    std::vector<std::size_t> lens;
    std::size_t off = 0;
    for (const auto& x : xs) {
        const std::size_t len = x.shape()[d];
        kernels<B>::copy_slab(x.data(), len, 0, out.data(), sp.len, off, sp.outer, len, sp.inner,
                              false);
        lens.push_back(len);
        off += len;
    }
    if (autograd::any_requires_grad(xs)) {
        std::vector<Shape> shapes;
        std::vector<bool> need;
        for (const auto& x : xs) {
            shapes.push_back(x.shape());
            need.push_back(x.requires_grad());
        }
        autograd::record<T, B>(
            "ConcatBackward", xs, {out}, [sp, lens, shapes, need](const auto& g) {
                std::vector<Tensor<T, B>> r(lens.size());
                std::size_t o = 0;
                for (std::size_t i = 0; i < lens.size(); ++i) {
                    if (need[i]) {
                        r[i] = Tensor<T, B>::empty(shapes[i]);
                        kernels<B>::copy_slab(g[0].data(), sp.len, o, r[i].data(), lens[i], 0,
                                              sp.outer, lens[i], sp.inner, false);
                    }
                    o += lens[i];
                }
                return r;
            });
    }
    return out;
}

/// Inserts a dim of extent 1 at `dim` (0..rank). Shares storage.
template <class T, class B>
Tensor<T, B> unsqueeze(const Tensor<T, B>& x, std::int64_t dim) {
    const std::size_t d = normalize_dim(dim, x.dim() + 1, "unsqueeze");
    std::vector<std::int64_t> s(x.shape().begin(), x.shape().end());
    s.insert(s.begin() + static_cast<std::ptrdiff_t>(d), 1);
    return reshape(x, s);
}

/// Removes dim `dim`, which must have extent 1. Shares storage.
template <class T, class B>
Tensor<T, B> squeeze(const Tensor<T, B>& x, std::int64_t dim) {
    const std::size_t d = normalize_dim(dim, x.dim(), "squeeze");
    check<ShapeError>(x.shape()[d] == 1, "squeeze: dim ", d, " of shape ", to_string(x.shape()),
                      " is not 1");
    std::vector<std::int64_t> s(x.shape().begin(), x.shape().end());
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(d));
    return reshape(x, s);
}

/// Stacks equally shaped tensors along a new dim.
template <class T, class B>
Tensor<T, B> stack(const std::vector<Tensor<T, B>>& xs, std::int64_t dim) {
    check<ValueError>(!xs.empty(), "stack: needs at least one tensor");
    std::vector<Tensor<T, B>> parts;
    parts.reserve(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) {
        check<ShapeError>(xs[i].shape() == xs[0].shape(), "stack: tensor ", i, " has shape ",
                          to_string(xs[i].shape()), ", tensor 0 has shape ",
                          to_string(xs[0].shape()));
        parts.push_back(unsqueeze(xs[i], dim));
    }
    return concat(parts, dim);
}

}  // namespace nnlite::ops
