// nn::init: in-place initialisers with PyTorch's definitions (torch.nn.init), each drawing
// from an explicit Generator so that the same seed gives bitwise-identical tensors.
//
// Fans (PyTorch's _calculate_fan_in_and_fan_out), for a tensor of rank >= 2:
//   receptive = prod(shape[2:]),  fan_in = shape[1] * receptive,  fan_out = shape[0] * receptive
// so a Linear weight [out, in] has fan_in = in and fan_out = out.
//
//   xavier_uniform_ : U(-a, a),  a   = gain * sqrt(6 / (fan_in + fan_out))
//   xavier_normal_  : N(0, std), std = gain * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform_: U(-b, b),  b   = gain * sqrt(3 / fan)
//   kaiming_normal_ : N(0, std), std = gain / sqrt(fan)
// with fan = fan_in or fan_out (FanMode) and gain = calculate_gain(nonlinearity, a).
// orthogonal_ is in nn/init_orthogonal.hpp (it needs LAPACK's QR through xtensor-blas,
// whose headers cost more compile time than the rest of this one).
//
// Values are generated on the host in double precision and copied in, so they do not
// depend on the backend or on the thread count.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn::init {

enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
enum class FanMode { fan_in, fan_out };

/// PyTorch's recommended gain for a nonlinearity; `param` is leaky_relu's negative slope
/// (0.01 when negative, i.e. not given).
inline double calculate_gain(Nonlinearity nl, double param = -1.0) {
    switch (nl) {
        case Nonlinearity::linear:
        case Nonlinearity::conv:
        case Nonlinearity::sigmoid:
            return 1.0;
        case Nonlinearity::tanh:
            return 5.0 / 3.0;
        case Nonlinearity::relu:
            return std::sqrt(2.0);
        case Nonlinearity::leaky_relu: {
            const double slope = param < 0.0 ? 0.01 : param;
            return std::sqrt(2.0 / (1.0 + slope * slope));
        }
        case Nonlinearity::selu:
            return 3.0 / 4.0;
    }
    return 1.0;
}

struct Fans {
    std::size_t fan_in = 0;
    std::size_t fan_out = 0;
};

/// fan_in and fan_out of a weight shape (rank >= 2, see the header comment).
inline Fans calculate_fans(const Shape& shape) {
    check<ValueError>(shape.size() >= 2, "init: fan in and fan out can not be computed for a ",
                      "tensor with fewer than 2 dimensions (shape ", to_string(shape), ")");
    std::size_t receptive = 1;
    for (std::size_t d = 2; d < shape.size(); ++d) receptive *= shape[d];
    return {shape[1] * receptive, shape[0] * receptive};
}

namespace detail {

template <class T, class B, class Draw>
Tensor<T, B> fill_from(Tensor<T, B> t, Draw&& draw) {
    std::vector<T> v(t.numel());
    for (auto& x : v) x = static_cast<T>(draw());
    NoGradGuard no_grad;
    B::copy_from_host(t.data(), v.data(), v.size());
    return t;
}

inline std::size_t fan_for(const Shape& shape, FanMode mode) {
    const Fans f = calculate_fans(shape);
    const std::size_t fan = mode == FanMode::fan_in ? f.fan_in : f.fan_out;
    check<ValueError>(fan > 0, "init: cannot initialise a tensor of shape ", to_string(shape),
                      " whose fan is zero");
    return fan;
}

}  // namespace detail

/// Fills t with U(lo, hi). Returns t (the same handle).
template <class T, class B>
Tensor<T, B> uniform_(Tensor<T, B> t, double lo, double hi, Generator& gen) {
    check<ValueError>(lo <= hi, "init::uniform_: lower bound ", lo, " exceeds upper bound ", hi);
    return detail::fill_from(t, [&] { return gen.uniform(lo, hi); });
}

/// Fills t with N(mean, stddev^2).
template <class T, class B>
Tensor<T, B> normal_(Tensor<T, B> t, double mean, double stddev, Generator& gen) {
    check<ValueError>(stddev >= 0.0, "init::normal_: standard deviation must be >= 0, got ",
                      stddev);
    return detail::fill_from(t, [&] { return gen.normal(mean, stddev); });
}

template <class T, class B>
Tensor<T, B> constant_(Tensor<T, B> t, double value) {
    NoGradGuard no_grad;
    kernels<B>::fill(t.data(), t.numel(), static_cast<T>(value));
    return t;
}
template <class T, class B>
Tensor<T, B> zeros_(Tensor<T, B> t) {
    return constant_(t, 0.0);
}
template <class T, class B>
Tensor<T, B> ones_(Tensor<T, B> t) {
    return constant_(t, 1.0);
}

template <class T, class B>
Tensor<T, B> xavier_uniform_(Tensor<T, B> t, Generator& gen, double gain = 1.0) {
    const Fans f = calculate_fans(t.shape());
    check<ValueError>(f.fan_in + f.fan_out > 0, "init::xavier_uniform_: tensor of shape ",
                      to_string(t.shape()), " has no elements to fan over");
    const double a = gain * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
    return uniform_(t, -a, a, gen);
}

template <class T, class B>
Tensor<T, B> xavier_normal_(Tensor<T, B> t, Generator& gen, double gain = 1.0) {
    const Fans f = calculate_fans(t.shape());
    check<ValueError>(f.fan_in + f.fan_out > 0, "init::xavier_normal_: tensor of shape ",
                      to_string(t.shape()), " has no elements to fan over");
    const double stddev = gain * std::sqrt(2.0 / static_cast<double>(f.fan_in + f.fan_out));
    return normal_(t, 0.0, stddev, gen);
}

/// He initialisation, uniform. `a` is leaky_relu's negative slope (PyTorch's default
/// nonlinearity); nn::Linear uses a = sqrt(5), which gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
template <class T, class B>
Tensor<T, B> kaiming_uniform_(Tensor<T, B> t, Generator& gen, double a = 0.0,
                              FanMode mode = FanMode::fan_in,
                              Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
    const double fan = static_cast<double>(detail::fan_for(t.shape(), mode));
    const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan);
    return uniform_(t, -bound, bound, gen);
}

template <class T, class B>
Tensor<T, B> kaiming_normal_(Tensor<T, B> t, Generator& gen, double a = 0.0,
                             FanMode mode = FanMode::fan_in,
                             Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
    const double fan = static_cast<double>(detail::fan_for(t.shape(), mode));
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan), gen);
}

}  // namespace nnlite::nn::init
