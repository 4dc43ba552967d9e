// nn::Module: the base of every layer. It keeps named parameters, buffers and child
// modules in registration order, the train/eval flag, and maps the whole tree to a flat
// state dict whose keys are PyTorch's ("lstm.weight_ih_l0", "fc.bias", ...).
//
// Parameters are Tensor handles shared with the layer's own members, so
// load_state_dict() copies values into the existing storage: a layer's `weight` member
// and the optimizer's parameter list keep pointing at the loaded values.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

template <class T = float, class B = cpu>
using StateDict = std::map<std::string, Tensor<T, B>>;

template <class T = float, class B = cpu>
class Module {
  public:
    using tensor_type = Tensor<T, B>;
    using named_tensors = std::vector<std::pair<std::string, tensor_type>>;

    Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    virtual ~Module() = default;

    /// Adds a parameter (a leaf that requires grad unless requires_grad is false).
    tensor_type& register_parameter(const std::string& name, tensor_type t,
                                    bool requires_grad = true) {
        check_new_name(name);
        if (requires_grad) t.requires_grad_(true);
        params_.emplace_back(name, std::move(t));
        return params_.back().second;
    }
    /// Adds a buffer: state saved in the state dict but not trained (running stats...).
    tensor_type& register_buffer(const std::string& name, tensor_type t) {
        check_new_name(name);
        buffers_.emplace_back(name, std::move(t));
        return buffers_.back().second;
    }
    template <class M>
    std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
        check_new_name(name);
        children_.emplace_back(name, m);
        return m;
    }

    named_tensors named_parameters(bool recurse = true) const {
        named_tensors out;
        collect(out, "", recurse, &Module::params_);
        return out;
    }
    named_tensors named_buffers(bool recurse = true) const {
        named_tensors out;
        collect(out, "", recurse, &Module::buffers_);
        return out;
    }
    std::vector<tensor_type> parameters(bool recurse = true) const {
        std::vector<tensor_type> out;
        for (auto& kv : named_parameters(recurse)) out.push_back(kv.second);
        return out;
    }
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
        return children_;
    }
    /// Number of trainable scalars.
    std::size_t parameter_count() const {
        std::size_t n = 0;
        for (auto& p : parameters())
            if (p.requires_grad()) n += p.numel();
        return n;
    }

    /// Sets training mode here and in every child (Dropout and LSTM dropout obey it).
    virtual void train(bool on = true) {
        training_ = on;
        for (auto& c : children_) c.second->train(on);
    }
    void eval() { train(false); }
    bool is_training() const { return training_; }

    void zero_grad() {
        for (auto& p : parameters()) p.set_grad(tensor_type());
    }

    /// Parameters and buffers under their dotted names (detached handles sharing storage).
    StateDict<T, B> state_dict() const {
        StateDict<T, B> out;
        for (auto& kv : named_parameters()) out.emplace(kv.first, kv.second.detach());
        for (auto& kv : named_buffers()) out.emplace(kv.first, kv.second.detach());
        return out;
    }

    /// Copies values from `dict` into this module's tensors. Strict (the default): every
    /// key must be present, none extra. Shapes must always match. Errors name the key.
    void load_state_dict(const StateDict<T, B>& dict, bool strict = true) {
        named_tensors targets = named_parameters();
        for (auto& kv : named_buffers()) targets.push_back(kv);
        std::map<std::string, tensor_type*> by_name;
        for (auto& kv : targets) by_name[kv.first] = &kv.second;
        // Validate everything before touching anything: a failed load changes nothing.
        if (strict) {
            for (auto& kv : targets)
                check<FormatError>(dict.count(kv.first) != 0, "load_state_dict: missing key '",
                                   kv.first, "' (expected shape ", to_string(kv.second.shape()),
                                   ")");
            for (auto& kv : dict)
                check<FormatError>(by_name.count(kv.first) != 0,
                                   "load_state_dict: unexpected key '", kv.first, "' with shape ",
                                   to_string(kv.second.shape()));
        }
        for (auto& kv : dict) {
            auto it = by_name.find(kv.first);
            if (it == by_name.end()) continue;
            check<ShapeError>(kv.second.shape() == it->second->shape(), "load_state_dict: key '",
                              kv.first, "' has shape ", to_string(kv.second.shape()),
                              " in the state dict but ", to_string(it->second->shape()),
                              " in the module");
        }
        for (auto& kv : dict) {
            auto it = by_name.find(kv.first);
            if (it == by_name.end()) continue;
            kernels<B>::copy(it->second->data(), kv.second.data(), kv.second.numel());
        }
    }

  protected:
    bool training_ = true;

  private:
    void check_new_name(const std::string& name) const {
        check<ValueError>(!name.empty() && name.find('.') == std::string::npos,
                          "Module: invalid name '", name,
                          "' (must be non-empty and contain no '.')");
        auto taken = [&](const auto& list) {
            for (auto& kv : list)
                if (kv.first == name) return true;
            return false;
        };
        check<ValueError>(!taken(params_) && !taken(buffers_) && !taken(children_),
                          "Module: name '", name, "' is already registered");
    }
    void collect(named_tensors& out, const std::string& prefix, bool recurse,
                 named_tensors Module::*which) const {
        for (auto& kv : this->*which) out.emplace_back(prefix + kv.first, kv.second);
        if (!recurse) return;
        for (auto& c : children_) c.second->collect(out, prefix + c.first + ".", true, which);
    }

    named_tensors params_;
    named_tensors buffers_;
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace nnlite::nn
