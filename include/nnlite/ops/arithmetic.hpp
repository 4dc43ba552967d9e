// Differentiable arithmetic with PyTorch broadcasting: add, sub, mul, div, neg, and the
// operators + - * / on tensors and scalars. The backward of a broadcast input sums the
// output gradient over the broadcast dims (reduce_to).
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// Sums `g` down to `shape` (the inverse of broadcasting `shape` up to g's shape).
template <class T, class B>
Tensor<T, B> reduce_to(const Tensor<T, B>& g, const Shape& shape) {
    if (g.shape() == shape) return g;
    auto out = Tensor<T, B>::empty(shape);
    kernels<B>::sum_to(g.data(), g.shape(), out.data(), shape);
    return out;
}

namespace detail {

template <class T, class B>
Tensor<T, B> binary_forward(BinaryOp op, const Tensor<T, B>& a, const Tensor<T, B>& b,
                            const char* name) {
    const Shape out_shape = broadcast_shapes(a.shape(), b.shape(), name);
    auto out = Tensor<T, B>::empty(out_shape);
    kernels<B>::binary(op, out_shape, out.data(), a.data(), a.shape(), b.data(), b.shape());
    return out;
}

}  // namespace detail

template <class T, class B>
Tensor<T, B> add(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    auto out = detail::binary_forward(BinaryOp::add, a, b, "add");
    if (autograd::any_requires_grad(a, b)) {
        autograd::record<T, B>(
            "AddBackward", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const auto& g) {
                return std::vector<Tensor<T, B>>{reduce_to(g[0], sa), reduce_to(g[0], sb)};
            });
    }
    return out;
}

template <class T, class B>
Tensor<T, B> neg(const Tensor<T, B>& a) {
    auto out = Tensor<T, B>::empty(a.shape());
    kernels<B>::unary(UnaryOp::neg, out.data(), a.data(), a.numel());
    if (autograd::any_requires_grad(a)) {
        autograd::record<T, B>("NegBackward", {a}, {out},
                               [](const auto& g) { return std::vector<Tensor<T, B>>{neg(g[0])}; });
    }
    return out;
}

template <class T, class B>
Tensor<T, B> sub(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    auto out = detail::binary_forward(BinaryOp::sub, a, b, "sub");
    if (autograd::any_requires_grad(a, b)) {
        autograd::record<T, B>(
            "SubBackward", {a, b}, {out}, [sa = a.shape(), sb = b.shape()](const auto& g) {
                return std::vector<Tensor<T, B>>{reduce_to(g[0], sa), reduce_to(neg(g[0]), sb)};
            });
    }
    return out;
}

template <class T, class B>
Tensor<T, B> mul(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    auto out = detail::binary_forward(BinaryOp::mul, a, b, "mul");
    if (autograd::any_requires_grad(a, b)) {
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        autograd::record<T, B>("MulBackward", {a, b}, {out},
                               [ad = a.detach(), bd = b.detach(), ga, gb](const auto& g) {
                                   std::vector<Tensor<T, B>> r(2);
                                   if (ga) r[0] = reduce_to(mul(g[0], bd), ad.shape());
                                   if (gb) r[1] = reduce_to(mul(g[0], ad), bd.shape());
                                   return r;
                               });
    }
    return out;
}

template <class T, class B>
Tensor<T, B> div(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    auto out = detail::binary_forward(BinaryOp::div, a, b, "div");
    if (autograd::any_requires_grad(a, b)) {
        const bool ga = a.requires_grad(), gb = b.requires_grad();
        // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -out/b
        autograd::record<T, B>(
            "DivBackward", {a, b}, {out},
            [bd = b.detach(), od = out.detach(), sa = a.shape(), ga, gb](const auto& g) {
                std::vector<Tensor<T, B>> r(2);
                if (ga) r[0] = reduce_to(div(g[0], bd), sa);
                if (gb) r[1] = reduce_to(neg(div(mul(g[0], od), bd)), bd.shape());
                return r;
            });
    }
    return out;
}

}  // namespace nnlite::ops

namespace nnlite {

template <class T, class B>
Tensor<T, B> operator+(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    return ops::add(a, b);
}
template <class T, class B>
Tensor<T, B> operator-(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    return ops::sub(a, b);
}
template <class T, class B>
Tensor<T, B> operator*(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    return ops::mul(a, b);
}
template <class T, class B>
Tensor<T, B> operator/(const Tensor<T, B>& a, const Tensor<T, B>& b) {
    return ops::div(a, b);
}
template <class T, class B>
Tensor<T, B> operator-(const Tensor<T, B>& a) {
    return ops::neg(a);
}

// Tensor (op) scalar: the scalar becomes a 0-d constant that broadcasts. The scalar's type
// is taken from the tensor (a non-deduced context), so `x * 2` and `0.5 * x` work on a float
// tensor instead of failing deduction on int/double versus float.
template <class T, class B>
Tensor<T, B> operator+(const Tensor<T, B>& a, typename Tensor<T, B>::value_type s) {
    return ops::add(a, Tensor<T, B>::scalar(s));
}
template <class T, class B>
Tensor<T, B> operator+(typename Tensor<T, B>::value_type s, const Tensor<T, B>& a) {
    return ops::add(Tensor<T, B>::scalar(s), a);
}
template <class T, class B>
Tensor<T, B> operator-(const Tensor<T, B>& a, typename Tensor<T, B>::value_type s) {
    return ops::sub(a, Tensor<T, B>::scalar(s));
}
template <class T, class B>
Tensor<T, B> operator-(typename Tensor<T, B>::value_type s, const Tensor<T, B>& a) {
    return ops::sub(Tensor<T, B>::scalar(s), a);
}
template <class T, class B>
Tensor<T, B> operator*(const Tensor<T, B>& a, typename Tensor<T, B>::value_type s) {
    return ops::mul(a, Tensor<T, B>::scalar(s));
}
template <class T, class B>
Tensor<T, B> operator*(typename Tensor<T, B>::value_type s, const Tensor<T, B>& a) {
    return ops::mul(Tensor<T, B>::scalar(s), a);
}
template <class T, class B>
Tensor<T, B> operator/(const Tensor<T, B>& a, typename Tensor<T, B>::value_type s) {
    return ops::div(a, Tensor<T, B>::scalar(s));
}
template <class T, class B>
Tensor<T, B> operator/(typename Tensor<T, B>::value_type s, const Tensor<T, B>& a) {
    return ops::div(Tensor<T, B>::scalar(s), a);
}

}  // namespace nnlite
