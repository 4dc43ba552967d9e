// optim::Adam and optim::AdamW, exactly torch.optim.Adam / AdamW (1.13, single-tensor
// path). Per parameter p with gradient g, at its t-th update (t counted per parameter):
//   Adam : g = g + weight_decay * p                       (L2 penalty folded into g)
//   AdamW: p = p * (1 - lr * weight_decay)                (decoupled decay, before Adam)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   vmax = max(vmax, v)                                   (amsgrad only; v below is vmax)
//   step_size = lr / (1 - beta1^t)
//   denom     = sqrt(v) / sqrt(1 - beta2^t) + eps
//   p = p - step_size * m / denom
// Scalar coefficients are computed in double and rounded to T once, as PyTorch does with
// Python floats; the elementwise math runs in T in the same order.
//
// State per parameter: "step" (0-d), "exp_avg", "exp_avg_sq" and, with amsgrad,
// "max_exp_avg_sq" (same shape as the parameter).
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/backend/backend.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/optim/optimizer.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::optim {

/// (beta1, beta2): decay rates of the first and second moment estimates.
using Betas = std::pair<double, double>;

#define NNLITE_OPTIONS_ARG(Self, type, name) \
    Self& name(type v) {                     \
        name##_ = v;                         \
        return *this;                        \
    }                                        \
    type name() const {                      \
        return name##_;                      \
    }

/// AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8).weight_decay(0).amsgrad(false).
class AdamOptions {
  public:
    explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
    NNLITE_OPTIONS_ARG(AdamOptions, double, lr)
    NNLITE_OPTIONS_ARG(AdamOptions, Betas, betas)
    NNLITE_OPTIONS_ARG(AdamOptions, double, eps)
    NNLITE_OPTIONS_ARG(AdamOptions, double, weight_decay)
    NNLITE_OPTIONS_ARG(AdamOptions, bool, amsgrad)
    NNLITE_OPTIONS_ARG(AdamOptions, bool, maximize)

  private:
    double lr_;
    Betas betas_{0.9, 0.999};
    double eps_ = 1e-8;
    double weight_decay_ = 0.0;
    bool amsgrad_ = false;
    bool maximize_ = false;
};

/// AdamWOptions(1e-3): as AdamOptions, with PyTorch's AdamW default weight_decay 1e-2.
class AdamWOptions {
  public:
    explicit AdamWOptions(double lr = 1e-3) : lr_(lr) {}
    NNLITE_OPTIONS_ARG(AdamWOptions, double, lr)
    NNLITE_OPTIONS_ARG(AdamWOptions, Betas, betas)
    NNLITE_OPTIONS_ARG(AdamWOptions, double, eps)
    NNLITE_OPTIONS_ARG(AdamWOptions, double, weight_decay)
    NNLITE_OPTIONS_ARG(AdamWOptions, bool, amsgrad)
    NNLITE_OPTIONS_ARG(AdamWOptions, bool, maximize)

  private:
    double lr_;
    Betas betas_{0.9, 0.999};
    double eps_ = 1e-8;
    double weight_decay_ = 1e-2;
    bool amsgrad_ = false;
    bool maximize_ = false;
};

#undef NNLITE_OPTIONS_ARG

namespace detail {

struct AdamConfig {
    double beta1, beta2, eps, weight_decay;
    bool amsgrad, maximize, decoupled;
};

inline void check_adam_config(const AdamConfig& c, double lr, const char* who) {
    check<ValueError>(lr >= 0.0, who, ": invalid learning rate ", lr, " (must be >= 0)");
    check<ValueError>(c.eps >= 0.0, who, ": invalid eps ", c.eps, " (must be >= 0)");
    check<ValueError>(c.beta1 >= 0.0 && c.beta1 < 1.0, who, ": invalid beta1 ", c.beta1,
                      " (must be in [0, 1))");
    check<ValueError>(c.beta2 >= 0.0 && c.beta2 < 1.0, who, ": invalid beta2 ", c.beta2,
                      " (must be in [0, 1))");
    check<ValueError>(c.weight_decay >= 0.0, who, ": invalid weight_decay ", c.weight_decay,
                      " (must be >= 0)");
}

/// The shared implementation of Adam and AdamW (they differ only in where decay goes).
template <class T, class B>
class AdamBase : public Optimizer<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    AdamBase(std::vector<tensor_type> params, double lr, const AdamConfig& config, const char* who)
        : Optimizer<T, B>(std::move(params), lr), config_(config) {
        check_adam_config(config, lr, who);
    }

    void step() override {
        NoGradGuard no_grad;
        const AdamConfig& c = config_;
        const T beta1 = static_cast<T>(c.beta1), beta2 = static_cast<T>(c.beta2);
        const T one_minus_beta1 = static_cast<T>(1.0 - c.beta1);
        const T one_minus_beta2 = static_cast<T>(1.0 - c.beta2);
        const T eps = static_cast<T>(c.eps);
        const T l2 = static_cast<T>(c.decoupled ? 0.0 : c.weight_decay);
        const T decay_factor = static_cast<T>(1.0 - this->lr_ * c.weight_decay);
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            auto& p = this->params_[i];
            const tensor_type g = p.grad();
            if (!g.defined()) continue;
            const Shape& shape = p.shape();
            tensor_type& step_t = this->buffer(i, "step", Shape{});
            T* m = this->buffer(i, "exp_avg", shape).data();
            T* v = this->buffer(i, "exp_avg_sq", shape).data();
            T* vmax = c.amsgrad ? this->buffer(i, "max_exp_avg_sq", shape).data() : nullptr;
            // The step count is counted on the host (no device read per parameter per step)
            // and mirrored into the "step" state tensor, which the state dict carries (as
            // PyTorch's `step` entry). The tensor is read once, after a load.
            if (host_step_.size() != this->params_.size())
                host_step_.assign(this->params_.size(), std::nullopt);
            if (!host_step_[i]) host_step_[i] = step_t.item();
            const T step = *host_step_[i] + T(1);
            host_step_[i] = step;
            B::copy_from_host(step_t.data(), &step, 1);
            const double t = static_cast<double>(step);
            const double bias_correction1 = 1.0 - std::pow(c.beta1, t);
            const double bias_correction2 = 1.0 - std::pow(c.beta2, t);
            AdamStepParams<T> sp{};
            sp.beta1 = beta1;
            sp.beta2 = beta2;
            sp.one_minus_beta1 = one_minus_beta1;
            sp.one_minus_beta2 = one_minus_beta2;
            sp.eps = eps;
            sp.l2 = l2;
            sp.decay_factor = decay_factor;
            sp.decoupled_decay = c.decoupled && c.weight_decay != 0.0;
            sp.maximize = c.maximize;
            sp.step_size = static_cast<T>(this->lr_ / bias_correction1);
            sp.bc2_sqrt = static_cast<T>(std::sqrt(bias_correction2));
            training_kernels<B>::adam_step(p.data(), g.data(), m, v, vmax, p.numel(), sp);
        }
        ++this->steps_;
    }

    const AdamConfig& config() const { return config_; }

  protected:
    std::optional<Shape> state_shape(const std::string& name,
                                     const Shape& param_shape) const override {
        if (name == "step") return Shape{};
        if (name == "exp_avg" || name == "exp_avg_sq") return param_shape;
        if (name == "max_exp_avg_sq" && config_.amsgrad) return param_shape;
        return std::nullopt;
    }
    std::vector<std::string> required_state() const override {
        std::vector<std::string> names{"step", "exp_avg", "exp_avg_sq"};
        if (config_.amsgrad) names.push_back("max_exp_avg_sq");
        return names;
    }
    void state_loaded() override { host_step_.clear(); }

  private:
    AdamConfig config_;
    // Host copy of each parameter's "step" state; nullopt until read from the tensor.
    std::vector<std::optional<T>> host_step_;
};

}  // namespace detail

/// Adam with L2 weight decay folded into the gradient.
template <class T = float, class B = cpu>
class Adam : public detail::AdamBase<T, B> {
  public:
    Adam(std::vector<Tensor<T, B>> params, const AdamOptions& options = AdamOptions())
        : detail::AdamBase<T, B>(std::move(params), options.lr(), config_of(options), "Adam"),
          options_(options) {}
    const AdamOptions& options() const { return options_; }

  private:
    static detail::AdamConfig config_of(const AdamOptions& o) {
        return {o.betas().first, o.betas().second, o.eps(), o.weight_decay(),
                o.amsgrad(),     o.maximize(),     false};
    }
    AdamOptions options_;
};

/// AdamW: Adam with decoupled weight decay p *= 1 - lr * weight_decay (Loshchilov & Hutter).
template <class T = float, class B = cpu>
class AdamW : public detail::AdamBase<T, B> {
  public:
    AdamW(std::vector<Tensor<T, B>> params, const AdamWOptions& options = AdamWOptions())
        : detail::AdamBase<T, B>(std::move(params), options.lr(), config_of(options), "AdamW"),
          options_(options) {}
    const AdamWOptions& options() const { return options_; }

  private:
    static detail::AdamConfig config_of(const AdamWOptions& o) {
        return {o.betas().first, o.betas().second, o.eps(), o.weight_decay(),
                o.amsgrad(),     o.maximize(),     true};
    }
    AdamWOptions options_;
};

}  // namespace nnlite::optim
