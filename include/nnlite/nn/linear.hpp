// nn::Linear: y = x W^T + b, PyTorch's torch.nn.Linear.
//
// Contract
//   input : x of shape [..., in_features] (any number of leading dims, at least one dim)
//   output: [..., out_features]
//   parameters: weight [out_features, in_features]; bias [out_features] unless
//               LinearOptions::bias(false). State-dict keys "weight" and "bias".
//   init  : PyTorch's default, kaiming_uniform_(a = sqrt(5)) for the weight, which is
//           U(-1/sqrt(in), 1/sqrt(in)), then the bias from the same U(-1/sqrt(in),
//           1/sqrt(in)), drawn in that order from the given Generator.
//   errors: ShapeError when x's last dim is not in_features (naming both).
#pragma once

#include <cmath>
#include <cstddef>

#include "nnlite/core/random.hpp"
#include "nnlite/nn/init.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/ops/linear.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

/// LinearOptions(in, out).bias(false), like libtorch's.
class LinearOptions {
  public:
    LinearOptions(std::size_t in_features, std::size_t out_features)
        : in_(in_features), out_(out_features) {}
    LinearOptions& bias(bool on) {
        bias_ = on;
        return *this;
    }
    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    bool bias() const { return bias_; }

  private:
    std::size_t in_;
    std::size_t out_;
    bool bias_ = true;
};

template <class T = float, class B = cpu>
class Linear : public Module<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    explicit Linear(const LinearOptions& options, Generator& gen = default_generator())
        : options_(options) {
        weight = this->register_parameter(
            "weight", tensor_type::empty({options.out_features(), options.in_features()}));
        if (options.bias())
            bias = this->register_parameter("bias", tensor_type::empty({options.out_features()}));
        reset_parameters(gen);
    }
    Linear(std::size_t in_features, std::size_t out_features, Generator& gen = default_generator())
        : Linear(LinearOptions(in_features, out_features), gen) {}

    /// Re-draws the parameters with PyTorch's default initialisation.
    void reset_parameters(Generator& gen = default_generator()) {
        init::kaiming_uniform_(weight, gen, std::sqrt(5.0));
        if (bias.defined()) {
            const std::size_t fan_in = options_.in_features();
            const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
            init::uniform_(bias, -bound, bound, gen);
        }
    }

    tensor_type forward(const tensor_type& x) const {
        check<ShapeError>(x.dim() >= 1 && x.shape().back() == options_.in_features(),
                          "Linear: input of shape ", to_string(x.shape()), " has last dim ",
                          x.dim() ? x.shape().back() : 0,
                          ", expected in_features = ", options_.in_features());
        return ops::linear(x, weight, bias);
    }
    tensor_type operator()(const tensor_type& x) const { return forward(x); }

    const LinearOptions& options() const { return options_; }

    tensor_type weight;
    tensor_type bias;  // undefined when options.bias() is false

  private:
    LinearOptions options_;
};

}  // namespace nnlite::nn
