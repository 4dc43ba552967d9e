// optim::SGD: stochastic gradient descent with momentum, dampening, Nesterov momentum and
// L2 weight decay, exactly torch.optim.SGD (1.13). Per parameter p with gradient g:
//   d = g (+ weight_decay * p)                       (negated first when maximize)
//   if momentum != 0:
//       buf = d                                      on the parameter's first update
//       buf = momentum * buf + (1 - dampening) * d   afterwards
//       d   = nesterov ? d + momentum * buf : buf
//   p -= lr * d
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/backend/backend.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/optim/optimizer.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::optim {

/// SGDOptions(0.1).momentum(0.9).nesterov(true), like libtorch's. Each setter has a
/// getter of the same name.
class SGDOptions {
  public:
    explicit SGDOptions(double lr) : lr_(lr) {}
#define NNLITE_OPTIONS_ARG(type, name) \
    SGDOptions& name(type v) {         \
        name##_ = v;                   \
        return *this;                  \
    }                                  \
    type name() const {                \
        return name##_;                \
    }
    NNLITE_OPTIONS_ARG(double, lr)
    NNLITE_OPTIONS_ARG(double, momentum)
    NNLITE_OPTIONS_ARG(double, dampening)
    NNLITE_OPTIONS_ARG(double, weight_decay)
    NNLITE_OPTIONS_ARG(bool, nesterov)
    NNLITE_OPTIONS_ARG(bool, maximize)
#undef NNLITE_OPTIONS_ARG

  private:
    double lr_;
    double momentum_ = 0.0;
    double dampening_ = 0.0;
    double weight_decay_ = 0.0;
    bool nesterov_ = false;
    bool maximize_ = false;
};

template <class T = float, class B = cpu>
class SGD : public Optimizer<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    SGD(std::vector<tensor_type> params, const SGDOptions& options)
        : Optimizer<T, B>(std::move(params), options.lr()), options_(options) {
        check<ValueError>(options.momentum() >= 0.0, "SGD: invalid momentum ", options.momentum(),
                          " (must be >= 0)");
        check<ValueError>(options.weight_decay() >= 0.0, "SGD: invalid weight_decay ",
                          options.weight_decay(), " (must be >= 0)");
        check<ValueError>(
            !options.nesterov() || (options.momentum() > 0.0 && options.dampening() == 0.0),
            "SGD: nesterov momentum requires momentum > 0 and zero dampening (got ", "momentum ",
            options.momentum(), ", dampening ", options.dampening(), ")");
    }

    void step() override {
        NoGradGuard no_grad;
        const T lr = static_cast<T>(this->lr_);
        const T wd = static_cast<T>(options_.weight_decay());
        const T mom = static_cast<T>(options_.momentum());
        const T one_minus_damp = static_cast<T>(1.0 - options_.dampening());
        const bool use_momentum = options_.momentum() != 0.0;
        for (std::size_t i = 0; i < this->params_.size(); ++i) {
            auto& p = this->params_[i];
            const tensor_type g = p.grad();
            if (!g.defined()) continue;
            const bool first = !this->has_state(i);
            T* buf = use_momentum ? this->buffer(i, "momentum_buffer", p.shape()).data() : nullptr;
            SGDStepParams<T> sp{};
            sp.lr = lr;
            sp.weight_decay = wd;
            sp.momentum = mom;
            sp.one_minus_dampening = one_minus_damp;
            sp.use_momentum = use_momentum;
            sp.nesterov = options_.nesterov();
            sp.maximize = options_.maximize();
            sp.first = first;
            training_kernels<B>::sgd_step(p.data(), g.data(), buf, p.numel(), sp);
        }
        ++this->steps_;
    }

    const SGDOptions& options() const { return options_; }

  protected:
    std::optional<Shape> state_shape(const std::string& name,
                                     const Shape& param_shape) const override {
        if (name == "momentum_buffer" && options_.momentum() != 0.0) return param_shape;
        return std::nullopt;
    }
    std::vector<std::string> required_state() const override {
        if (options_.momentum() != 0.0) return {"momentum_buffer"};
        return {};
    }

  private:
    SGDOptions options_;
};

}  // namespace nnlite::optim
