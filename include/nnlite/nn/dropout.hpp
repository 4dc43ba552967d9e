// nn::Dropout: inverted dropout as a module (PyTorch's torch.nn.Dropout).
//
// Contract
//   input/output: any shape, unchanged.
//   training: each element is zeroed with probability p, survivors are scaled by 1/(1-p);
//             p == 0 is the identity, p == 1 gives zeros. The mask comes from this
//             module's generator: its own Philox stream when built with a seed, an external
//             Generator when given one, otherwise the process-wide default_generator().
//   eval    : the identity (returns its input).
//   errors  : ValueError for p outside [0, 1].
#pragma once

#include <cstdint>
#include <memory>

#include "nnlite/core/random.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/ops/dropout.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

template <class T = float, class B = cpu>
class Dropout : public Module<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    /// Masks from default_generator().
    explicit Dropout(double p = 0.5) : p_(p), gen_(&default_generator()) {
        ops::check_dropout_probability(p, "Dropout");
    }
    /// Masks from a private generator seeded with `seed` (reproducible on its own).
    Dropout(double p, std::uint64_t seed)
        : p_(p), own_(std::make_unique<Generator>(seed)), gen_(own_.get()) {
        ops::check_dropout_probability(p, "Dropout");
    }
    /// Masks from `gen`, which must outlive this module.
    Dropout(double p, Generator& gen) : p_(p), gen_(&gen) {
        ops::check_dropout_probability(p, "Dropout");
    }

    tensor_type forward(const tensor_type& x) const {
        return ops::dropout(x, p_, this->is_training(), *gen_);
    }
    tensor_type operator()(const tensor_type& x) const { return forward(x); }

    double p() const { return p_; }
    /// The generator masks are drawn from (its seed and offset resume a run exactly).
    Generator& generator() const { return *gen_; }

  private:
    double p_;
    std::unique_ptr<Generator> own_;
    Generator* gen_;
};

}  // namespace nnlite::nn
