// Tensor<T, Backend>: a shared handle to a contiguous row-major n-d array on a backend,
// plus its autograd state (requires_grad, accumulated .grad, the node that produced it).
//
// Copying a Tensor copies the handle, not the data (like torch::Tensor). reshape() and
// detach() share storage; every other op writes a new tensor. Element types: float and
// double carry gradients; int32/int64 tensors hold indices.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/backend.hpp"
#include "nnlite/core/dtype.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/core/shape.hpp"

namespace nnlite {

template <class T, class B = cpu>
class Tensor;

// Tensor sits below autograd: it holds its node by pointer and hands backward() to the
// engine (autograd/engine.hpp, which every op and nnlite.hpp include), so neither header
// includes the other's layer upward.
namespace autograd {
template <class T, class B>
struct Node;
template <class T, class B>
void run_backward(const Tensor<T, B>& root, Tensor<T, B> grad, bool retain_graph);
}  // namespace autograd

namespace detail {

template <class T, class B>
struct Storage {
    explicit Storage(std::size_t n) : buf(B::template allocate<T>(n)) {}
    typename B::template buffer<T> buf;
};

template <class T, class B>
struct TensorImpl {
    Shape shape;
    std::shared_ptr<Storage<T, B>> storage;
    bool requires_grad = false;
    std::shared_ptr<TensorImpl> grad;
    std::shared_ptr<autograd::Node<T, B>> grad_fn;
    std::size_t output_nr = 0;
};

}  // namespace detail

template <class T, class B>
class Tensor {
  public:
    using value_type = T;
    using backend = B;
    using impl_type = detail::TensorImpl<T, B>;

    /// An undefined tensor (no storage): what grad() returns before any backward.
    Tensor() = default;
    explicit Tensor(std::shared_ptr<impl_type> impl) : impl_(std::move(impl)) {}

    // ---- creation ---------------------------------------------------------------------
    /// Uninitialised storage of the given shape.
    static Tensor empty(const Shape& shape) {
        auto impl = std::make_shared<impl_type>();
        impl->shape = shape;
        impl->storage = std::make_shared<detail::Storage<T, B>>(nnlite::numel(shape));
        return Tensor(std::move(impl));
    }
    static Tensor full(const Shape& shape, T value) {
        Tensor t = empty(shape);
        kernels<B>::fill(t.data(), t.numel(), value);
        return t;
    }
    static Tensor zeros(const Shape& shape) { return full(shape, T(0)); }
    static Tensor ones(const Shape& shape) { return full(shape, T(1)); }
    static Tensor scalar(T value) { return full(Shape{}, value); }
    /// Copies host data; values.size() must equal the shape's element count.
    static Tensor from(const std::vector<T>& values, const Shape& shape) {
        check<ShapeError>(values.size() == nnlite::numel(shape), "Tensor::from: ", values.size(),
                          " values do not fill shape ", to_string(shape), " (",
                          nnlite::numel(shape), " elements)");
        Tensor t = empty(shape);
        B::copy_from_host(t.data(), values.data(), values.size());
        return t;
    }
    /// A 1-D tensor from a list: Tensor<float>::from({1, 2, 3}).
    static Tensor from(std::initializer_list<T> values) {
        return from(std::vector<T>(values), Shape{values.size()});
    }
    /// 0, 1, ..., n-1 as a 1-D tensor.
    static Tensor arange(std::size_t n) {
        std::vector<T> v(n);
        for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<T>(i);
        return from(v, Shape{n});
    }
    /// Uniform in [lo, hi) from `gen` (the default generator when omitted).
    static Tensor uniform(const Shape& shape, T lo, T hi, Generator& gen = default_generator()) {
        std::vector<T> v(nnlite::numel(shape));
        for (auto& x : v)
            x = static_cast<T>(gen.uniform(static_cast<double>(lo), static_cast<double>(hi)));
        return from(v, shape);
    }
    static Tensor normal(const Shape& shape, T mean, T stddev,
                         Generator& gen = default_generator()) {
        std::vector<T> v(nnlite::numel(shape));
        for (auto& x : v)
            x = static_cast<T>(gen.normal(static_cast<double>(mean), static_cast<double>(stddev)));
        return from(v, shape);
    }

    // ---- inspection -------------------------------------------------------------------
    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const { return impl().shape; }
    std::size_t dim() const { return impl().shape.size(); }
    /// Extent of dimension d (negative counts from the end).
    std::size_t size(std::int64_t d) const {
        return impl().shape[normalize_dim(d, dim(), "Tensor::size")];
    }
    std::size_t numel() const { return nnlite::numel(impl().shape); }
    T* data() { return impl().storage->buf.data(); }
    const T* data() const { return impl().storage->buf.data(); }
    /// Host copy of all elements, row-major.
    std::vector<T> to_vector() const {
        std::vector<T> v(numel());
        B::copy_to_host(v.data(), data(), v.size());
        return v;
    }
    /// The single element of a one-element tensor.
    T item() const {
        check<ShapeError>(numel() == 1, "item: tensor of shape ", to_string(shape()), " has ",
                          numel(), " elements, expected exactly 1");
        T v;
        B::copy_to_host(&v, data(), 1);
        return v;
    }
    /// Element at a full index (bounds-checked); host copy of one element.
    T at(std::initializer_list<std::size_t> index) const {
        check<IndexError>(index.size() == dim(), "at: ", index.size(),
                          " indices for a tensor of rank ", dim());
        std::size_t off = 0, i = 0;
        for (auto ix : index) {
            check<IndexError>(ix < shape()[i], "at: index ", ix, " out of range for dim ", i,
                              " of shape ", to_string(shape()));
            off = off * shape()[i] + ix;
            ++i;
        }
        T v;
        B::copy_to_host(&v, data() + off, 1);
        return v;
    }
    /// True when both handles share one storage (reshape/detach alias).
    bool shares_storage_with(const Tensor& other) const {
        return impl().storage == other.impl().storage;
    }

    // ---- autograd ---------------------------------------------------------------------
    bool requires_grad() const { return impl().requires_grad; }
    /// Marks a leaf tensor as a parameter whose gradient is accumulated by backward().
    Tensor& requires_grad_(bool on = true) {
        static_assert(is_floating_v<T>, "only floating-point tensors can require grad");
        check<AutogradError>(!impl().grad_fn || on,
                             "requires_grad_(false) on a non-leaf tensor: use detach()");
        impl().requires_grad = on;
        return *this;
    }
    bool is_leaf() const { return impl().grad_fn == nullptr; }
    /// Accumulated gradient (undefined until a backward reached this leaf).
    Tensor grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
    void set_grad(const Tensor& g) {
        if (g.defined())
            check<ShapeError>(g.shape() == shape(), "set_grad: gradient of shape ",
                              to_string(g.shape()), " for a tensor of shape ", to_string(shape()));
        impl().grad = g.impl_;
    }
    /// Zeroes the accumulated gradient in place (keeps its storage).
    void zero_grad() {
        if (impl().grad) kernels<B>::fill(impl().grad->storage->buf.data(), numel(), T(0));
    }
    const std::shared_ptr<autograd::Node<T, B>>& grad_fn() const { return impl().grad_fn; }
    std::size_t output_nr() const { return impl().output_nr; }
    /// Same storage, cut from the graph: no grad_fn, requires_grad false.
    Tensor detach() const {
        auto d = std::make_shared<impl_type>();
        d->shape = impl().shape;
        d->storage = impl().storage;
        return Tensor(std::move(d));
    }
    /// Reverse-mode differentiation from this tensor. A non-scalar tensor needs `grad`
    /// (same shape): the vector in the vector-Jacobian product. The graph's saved tensors
    /// are freed afterwards unless retain_graph is true.
    void backward(const Tensor& grad = Tensor(), bool retain_graph = false) const {
        autograd::run_backward(*this, grad, retain_graph);
    }

    /// A new tensor with the same values (not recorded by autograd).
    Tensor clone() const {
        Tensor c = empty(shape());
        kernels<B>::copy(c.data(), data(), numel());
        return c;
    }

    /// A copy of this tensor on backend B2 (host<->device copy). The copy is a new leaf:
    /// it requires grad when this tensor does, and gradients do not flow back across the
    /// copy (train on one backend; move parameters, not graphs). On the same backend it
    /// returns this handle, like torch's .to() when nothing changes.
    template <class B2>
    Tensor<T, B2> to() const {
        if constexpr (std::is_same_v<B2, B>) {
            return *this;
        } else {
            auto out = Tensor<T, B2>::empty(shape());
            if constexpr (std::is_same_v<B, cpu>) {
                B2::copy_from_host(out.data(), data(), numel());
            } else if constexpr (std::is_same_v<B2, cpu>) {
                B::copy_to_host(out.data(), data(), numel());
            } else {
                const std::vector<T> host = to_vector();
                B2::copy_from_host(out.data(), host.data(), host.size());
            }
            if constexpr (is_floating_v<T>)
                if (requires_grad()) out.requires_grad_(true);
            return out;
        }
    }

    impl_type& impl() const {
        check<ValueError>(impl_ != nullptr, "operation on an undefined tensor");
        return *impl_;
    }
    const std::shared_ptr<impl_type>& impl_ptr() const { return impl_; }

  private:
    std::shared_ptr<impl_type> impl_;
};

template <class T, class B>
std::ostream& operator<<(std::ostream& os, const Tensor<T, B>& t) {
    if (!t.defined()) return os << "tensor(undefined)";
    const auto v = t.to_vector();
    const auto& s = t.shape();
    const std::size_t limit = 64;
    os << "tensor(";
    if (s.empty()) {
        os << +v[0];
    } else {
        const auto strides = contiguous_strides(s);
        for (std::size_t i = 0; i < v.size() && i < limit; ++i) {
            for (std::size_t d = 0; d < s.size(); ++d)
                if (i % (strides[d] * s[d]) == 0) os << "[";
            os << +v[i];
            std::size_t closes = 0;
            for (std::size_t d = 0; d < s.size(); ++d)
                if ((i + 1) % (strides[d] * s[d]) == 0) ++closes;
            for (std::size_t c = 0; c < closes; ++c) os << "]";
            if (i + 1 < v.size()) os << (closes ? ",\n       " : ", ");
        }
        if (v.size() > limit) os << "... (" << v.size() - limit << " more)";
    }
    os << ", shape=" << to_string(s) << ", dtype=" << dtype_traits<T>::name;
    if (t.requires_grad()) os << ", requires_grad";
    return os << ")";
}

}  // namespace nnlite
