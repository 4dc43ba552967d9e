// Moving modules and state dicts between backends.
//
// Modules own their tensors and are not copyable, so "a module on another backend" is a
// new module of the same class built with the same constructor arguments, whose
// parameters and buffers are then copied by name:
//
//   nn::Linear<float> fc(128, 1);                                   // on the CPU
//   auto fc_gpu = nn::convert_module<cuda>(fc, 128, 1);             // Linear<float, cuda>
//
// For a model already constructed on the target backend, copy_module_state(src, dst) does
// the copy alone; to_backend(dict) converts a state dict (what checkpoints hold).
// Converted parameters are new leaves (requires_grad kept, no .grad, no graph), and the
// train/eval flag is carried over. Constructing the new module runs its initialisers,
// which draw from the default generator before being overwritten.
#pragma once

#include <memory>
#include <utility>

#include "nnlite/tensor/tensor.hpp"
#include "nnlite/nn/module.hpp"

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

/// A new M<T, B2> built from `ctor_args` with src's parameters, buffers and mode.
template <class B2, template <class, class> class M, class T, class B, class... Args>
std::shared_ptr<M<T, B2>> convert_module(const M<T, B>& src, Args&&... ctor_args) {
    auto dst = std::make_shared<M<T, B2>>(std::forward<Args>(ctor_args)...);
    copy_module_state(src, *dst);
    return dst;
}

}  // namespace nnlite::nn
