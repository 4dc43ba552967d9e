// Moving modules and state dicts between backends.
//
// Modules own their tensors and are not copyable, so "a module on another backend" is a
// new module of the same class built with the same constructor arguments, whose
// parameters and buffers are then copied by name:
//
//   nn::Linear<float> fc(128, 1);                                   // on the CPU
//   auto fc_gpu = nn::convert_module<cuda>(fc, 128, 1);             // Linear<float, cuda>
//
// Any module class template works, whatever its parameter list: every template argument
// that is the source backend is replaced by the target one, so an application's
// `template <class B> class Model : public Module<float, B>` converts the same way
// (convert_module<cuda>(model_on_cpu, config) is a Model<cuda>).
//
// For a model already constructed on the target backend, copy_module_state(src, dst) does
// the copy alone; to_backend(dict) converts a state dict (what checkpoints hold).
// Converted parameters are new leaves (requires_grad kept, no .grad, no graph), and the
// train/eval flag is carried over. Constructing the new module runs its initialisers,
// which draw from the default generator before being overwritten.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "nnlite/nn/module.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

/// Every tensor of `dict` copied to backend B2 (same keys).
template <class B2, class T, class B>
StateDict<T, B2> to_backend(const StateDict<T, B>& dict) {
    StateDict<T, B2> out;
    for (const auto& kv : dict) out.emplace(kv.first, kv.second.detach().template to<B2>());
    return out;
}

/// Copies src's parameters and buffers (by name, strict) and its train/eval flag into dst,
/// which may live on another backend. Shape and key mismatches throw as load_state_dict.
template <class T, class B, class B2>
void copy_module_state(const Module<T, B>& src, Module<T, B2>& dst) {
    dst.load_state_dict(to_backend<B2>(src.state_dict()), true);
    dst.train(src.is_training());
}

namespace detail {

template <class P, class From, class To>
struct replace_backend {
    using type = P;
};
template <class From, class To>
struct replace_backend<From, From, To> {
    using type = To;
};

// The backend of a module: the B of the Module<T, B> it derives from.
template <class T, class B>
B module_backend(const Module<T, B>&);

}  // namespace detail

/// The module class M<Ps...> moved to backend B2: each template argument equal to M's own
/// backend (the B of its Module<T, B> base) becomes B2, the others stay.
template <class M, class B2>
struct rebind_backend;
template <template <class...> class M, class... Ps, class B2>
struct rebind_backend<M<Ps...>, B2> {
    using From = decltype(detail::module_backend(std::declval<const M<Ps...>&>()));
    using type = M<typename detail::replace_backend<Ps, From, B2>::type...>;
};
template <class M, class B2>
using rebind_backend_t = typename rebind_backend<M, B2>::type;

/// A new module of src's class template on backend B2, built from `ctor_args`, with src's
/// parameters, buffers and train/eval mode.
template <class B2, class M, class... Args>
std::shared_ptr<rebind_backend_t<M, B2>> convert_module(const M& src, Args&&... ctor_args) {
    auto dst = std::make_shared<rebind_backend_t<M, B2>>(std::forward<Args>(ctor_args)...);
    copy_module_state(src, *dst);
    return dst;
}

}  // namespace nnlite::nn
