// CPU tensors as xtensor expressions, and back:
//
//   auto t = nnlite::Tensor<float>::zeros({2, 3});
//   auto v = nnlite::as_xtensor(t);          // zero-copy view, shape {2, 3}
//   v(1, 2) = 5.f;                           // writes t's storage
//   xt::xarray<float> sum = xt::sum(v, {1}); // any xtensor algorithm on nnlite data
//   auto u = nnlite::from_xtensor(xt::arange<float>(6.f).reshape({2, 3}) * 2.f);
//
// as_xtensor adapts the tensor's contiguous row-major storage (xt::adapt, no ownership):
// the view is valid while the tensor's storage lives (any Tensor handle to it, or a
// reshape/detach alias, keeps it alive), and writes through it are not recorded by
// autograd (like torch's .numpy()): do not modify a tensor that a graph still needs for
// backward. from_xtensor evaluates an expression into a new CPU tensor (a copy), with the
// expression's shape; the element type is the expression's unless given.
//
// Kept out of nnlite.hpp: xtensor's expression headers cost a TU about 0.8 s of compile
// time, which only programs that use xtensor should pay.
#pragma once

#include <cstddef>
#include <type_traits>
#include <vector>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xexpression.hpp>

#include "nnlite/core/shape.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite {

/// Zero-copy xtensor view (read-write) of a CPU tensor; see the header comment.
template <class T>
auto as_xtensor(Tensor<T, cpu>& t) {
    const std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), t.numel(), xt::no_ownership(), shape);
}

/// Zero-copy read-only xtensor view of a CPU tensor.
template <class T>
auto as_xtensor(const Tensor<T, cpu>& t) {
    const std::vector<std::size_t> shape(t.shape().begin(), t.shape().end());
    return xt::adapt(t.data(), t.numel(), xt::no_ownership(), shape);
}

/// A new CPU tensor with the values and shape of an xtensor expression (evaluated once).
/// T defaults to the expression's value type.
template <class T = void, class E>
auto from_xtensor(const xt::xexpression<E>& expression) {
    using V = std::conditional_t<std::is_void_v<T>, typename E::value_type, T>;
    const xt::xarray<V, xt::layout_type::row_major> values = expression.derived_cast();
    Shape shape(values.shape().begin(), values.shape().end());
    const std::vector<V> flat(values.begin(), values.end());
    return Tensor<V, cpu>::from(flat, shape);
}

}  // namespace nnlite
