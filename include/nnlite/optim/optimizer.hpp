// optim::Optimizer: the base of SGD, Adam and AdamW. It holds the parameter handles (e.g.
// module.parameters()), the learning rate, the number of step() calls, and per-parameter
// state buffers (momentum, moment estimates...) created lazily on a parameter's first
// update, like torch.optim.
//
// step() runs under NoGradGuard and writes into each parameter's storage in place, so the
// module's own handles see the update. A parameter whose .grad is undefined is skipped
// (it keeps its state untouched), as in PyTorch.
//
// state_dict() flattens everything a resumed run needs into tensors (element type T):
//   "lr"                     0-d, the current learning rate (schedulers change it)
//   "step"                   0-d, the number of step() calls
//   "state.<i>.<name>"       parameter i's buffers, e.g. state.0.exp_avg, state.0.step
// load_state_dict() validates every key and shape before changing anything; errors name
// the key. (A float "step" counts exactly up to 2^24 steps. A float "lr" is a rounded copy:
// loading keeps the optimizer's current lr when it rounds to the saved value, and a
// scheduler's state_dict carries the exact double.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::optim {

template <class T = float, class B = cpu>
class Optimizer {
  public:
    using tensor_type = Tensor<T, B>;
    using param_state = std::map<std::string, tensor_type>;

    Optimizer(std::vector<tensor_type> params, double lr)
        : params_(std::move(params)), state_(params_.size()) {
        for (std::size_t i = 0; i < params_.size(); ++i)
            check<ValueError>(params_[i].defined(), "Optimizer: parameter ", i, " is undefined");
        set_lr(lr);
    }
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;
    virtual ~Optimizer() = default;

    /// Applies one update to every parameter that has a gradient.
    virtual void step() = 0;

    double lr() const { return lr_; }
    void set_lr(double lr) {
        check<ValueError>(lr >= 0.0, "Optimizer: invalid learning rate ", lr, " (must be >= 0)");
        lr_ = lr;
    }
    /// Number of step() calls so far (restored by load_state_dict).
    std::int64_t step_count() const { return steps_; }

    const std::vector<tensor_type>& parameters() const { return params_; }
    /// Parameter i's state buffers (empty before its first update).
    const param_state& state(std::size_t i) const { return state_.at(i); }

    /// Clears gradients: zero-filled in place (PyTorch 1.13's default) or, with
    /// set_to_none, dropped so the next step skips parameters that get no new gradient.
    void zero_grad(bool set_to_none = false) {
        for (auto& p : params_) {
            if (set_to_none)
                p.set_grad(tensor_type());
            else
                p.zero_grad();
        }
    }

    nn::StateDict<T, B> state_dict() const {
        nn::StateDict<T, B> out;
        out.emplace("lr", tensor_type::scalar(static_cast<T>(lr_)));
        out.emplace("step", tensor_type::scalar(static_cast<T>(steps_)));
        for (std::size_t i = 0; i < state_.size(); ++i)
            for (const auto& kv : state_[i])
                out.emplace("state." + std::to_string(i) + "." + kv.first, kv.second.clone());
        return out;
    }

    /// Restores what state_dict() saved (for an optimizer over parameters of the same
    /// shapes). Throws FormatError for a missing, unexpected or incomplete key and
    /// ShapeError for a buffer whose shape does not fit its parameter; nothing changes
    /// unless everything is valid.
    void load_state_dict(const nn::StateDict<T, B>& dict) {
        for (const char* key : {"lr", "step"}) {
            auto it = dict.find(key);
            check<FormatError>(it != dict.end(), "Optimizer::load_state_dict: missing key '", key,
                               "'");
            check<ShapeError>(it->second.numel() == 1, "Optimizer::load_state_dict: key '", key,
                              "' has shape ", to_string(it->second.shape()), ", expected a scalar");
        }
        std::vector<param_state> loaded(params_.size());
        for (const auto& kv : dict) {
            const std::string& key = kv.first;
            if (key == "lr" || key == "step") continue;
            const auto parsed = parse_state_key(key);
            check<FormatError>(parsed.has_value(), "Optimizer::load_state_dict: unexpected key '",
                               key, "'");
            const std::size_t i = parsed->first;
            const std::string& name = parsed->second;
            check<FormatError>(i < params_.size(), "Optimizer::load_state_dict: key '", key,
                               "' refers to parameter ", i, " but the optimizer has ",
                               params_.size(), " parameters");
            const auto expected = state_shape(name, params_[i].shape());
            check<FormatError>(expected.has_value(), "Optimizer::load_state_dict: unexpected key '",
                               key, "' (this optimizer keeps no '", name, "' state)");
            check<ShapeError>(kv.second.shape() == *expected, "Optimizer::load_state_dict: key '",
                              key, "' has shape ", to_string(kv.second.shape()), ", expected ",
                              to_string(*expected), " for parameter ", i, " of shape ",
                              to_string(params_[i].shape()));
            loaded[i].emplace(name, kv.second.detach().clone());
        }
        for (std::size_t i = 0; i < loaded.size(); ++i) {
            if (loaded[i].empty()) continue;
            for (const auto& name : required_state())
                check<FormatError>(loaded[i].count(name) != 0,
                                   "Optimizer::load_state_dict: missing key 'state.", i, ".", name,
                                   "' (parameter ", i, " has other state)");
        }
        // A T-typed "lr" may be a rounded copy of the double in use: keep the exact value
        // when it rounds to the saved one (the usual case of resuming with the same options).
        const T saved_lr = dict.at("lr").item();
        if (static_cast<T>(lr_) != saved_lr) set_lr(static_cast<double>(saved_lr));
        steps_ = static_cast<std::int64_t>(dict.at("step").item());
        state_ = std::move(loaded);
        state_loaded();
    }

  protected:
    /// The shape of state buffer `name` for a parameter of shape `param_shape`, or nullopt
    /// when this optimizer keeps no such buffer.
    virtual std::optional<Shape> state_shape(const std::string& name,
                                             const Shape& param_shape) const = 0;
    /// The buffers a parameter's state must contain once it has any.
    virtual std::vector<std::string> required_state() const = 0;
    /// Called after load_state_dict replaced the state: a subclass that caches state on
    /// the host (Adam's step counts) drops its cache here.
    virtual void state_loaded() {}

    /// Parameter i's buffer `name`, created filled with zeros if absent.
    tensor_type& buffer(std::size_t i, const std::string& name, const Shape& shape) {
        auto it = state_[i].find(name);
        if (it == state_[i].end()) it = state_[i].emplace(name, tensor_type::zeros(shape)).first;
        return it->second;
    }
    bool has_state(std::size_t i) const { return !state_[i].empty(); }

    std::vector<tensor_type> params_;
    std::vector<param_state> state_;
    double lr_ = 0.0;
    std::int64_t steps_ = 0;

  private:
    // "state.<i>.<name>" -> (i, name)
    static std::optional<std::pair<std::size_t, std::string>> parse_state_key(
        const std::string& key) {
        const std::string prefix = "state.";
        if (key.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
        const std::size_t dot = key.find('.', prefix.size());
        if (dot == std::string::npos || dot == prefix.size() || dot + 1 >= key.size())
            return std::nullopt;
        std::size_t i = 0;
        for (std::size_t c = prefix.size(); c < dot; ++c) {
            if (key[c] < '0' || key[c] > '9' || i > (std::size_t{1} << 40)) return std::nullopt;
            i = i * 10 + static_cast<std::size_t>(key[c] - '0');
        }
        return std::make_pair(i, key.substr(dot + 1));
    }
};

}  // namespace nnlite::optim
