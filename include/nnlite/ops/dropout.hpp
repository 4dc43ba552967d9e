// Inverted dropout: in training, each element is kept with probability 1 - p and scaled
// by 1 / (1 - p), so the expected value of every output equals its input and evaluation
// needs no rescaling. The mask (0 or 1/(1-p) per element) is drawn from a seeded
// Generator, saved, and the backward multiplies the incoming gradient by the same mask.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/backend/backend.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::ops {

/// Throws ValueError unless p is a probability in [0, 1].
inline void check_dropout_probability(double p, const char* who) {
    check<ValueError>(p >= 0.0 && p <= 1.0, who, ": dropout probability must be in [0, 1], got ",
                      p);
}

/// The dropout mask for `n` elements: each entry is 1/(1-p) with probability 1-p, else 0.
/// One 32-bit draw per element (kept when u / 2^32 >= p), so a mask is a pure function of
/// the generator's state and n. p == 1 gives all zeros.
template <class T>
std::vector<T> dropout_mask(std::size_t n, double p, Generator& gen) {
    std::vector<T> mask(n, T(0));
    if (p >= 1.0) return mask;
    const T scale = static_cast<T>(1.0 / (1.0 - p));
    const double two_pow_32 = 4294967296.0;
    for (auto& m : mask)
        if (static_cast<double>(gen.next_u32()) / two_pow_32 >= p) m = scale;
    return mask;
}

/// The same mask as dropout_mask(), made on backend B: the draws are reserved from `gen`
/// (it advances exactly as dropout_mask would) and each element's Philox word is computed
/// where the mask lives, so CPU and CUDA give the same mask for the same generator state.
template <class T, class B>
Tensor<T, B> dropout_mask_tensor(const Shape& shape, double p, Generator& gen) {
    auto mask = Tensor<T, B>::empty(shape);
    const std::size_t n = mask.numel();
    if (p >= 1.0) {
        kernels<B>::fill(mask.data(), n, T(0));
        return mask;
    }
    const PhiloxRange range = gen.reserve_u32(n);
    training_kernels<B>::dropout_mask(mask.data(), n, p, static_cast<T>(1.0 / (1.0 - p)), range);
    return mask;
}

/// Dropout of x with drop probability p. When !training or p == 0 it returns x itself
/// (the same handle, like PyTorch); otherwise x * mask, recorded for autograd.
template <class T, class B>
Tensor<T, B> dropout(const Tensor<T, B>& x, double p, bool training,
                     Generator& gen = default_generator()) {
    check_dropout_probability(p, "dropout");
    if (!training || p == 0.0) return x;
    auto mask = dropout_mask_tensor<T, B>(x.shape(), p, gen);
    auto out = Tensor<T, B>::empty(x.shape());
    kernels<B>::binary(BinaryOp::mul, x.shape(), out.data(), x.data(), x.shape(), mask.data(),
                       mask.shape());
    if (autograd::any_requires_grad(x)) {
        autograd::record<T, B>("DropoutBackward", {x}, {out}, [mask](const auto& g) {
            auto gx = Tensor<T, B>::empty(mask.shape());
            kernels<B>::binary(BinaryOp::mul, mask.shape(), gx.data(), g[0].data(), mask.shape(),
                               mask.data(), mask.shape());
            return std::vector<Tensor<T, B>>{gx};
        });
    }
    return out;
}

}  // namespace nnlite::ops
