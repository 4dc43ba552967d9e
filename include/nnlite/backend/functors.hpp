// Element math shared by every backend: small NNLITE_HOST_DEVICE functions that the CPU
// loops call per element and the CUDA kernels call per thread, so each formula is written
// once. Backends supply the loops and launches; the formulas live here.
#pragma once

#include <cmath>
#include <cstddef>

#include "nnlite/backend/backend.hpp"
#include "nnlite/core/host_device.hpp"

namespace nnlite {

namespace detail {

/// The logistic function, split by sign so exp never overflows.
template <class T>
inline T sigmoid_scalar(T x) {
    if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
    const T e = std::exp(x);
    return e / (T(1) + e);
}

template <class T>
NNLITE_HOST_DEVICE inline T apply_binary(BinaryOp op, T a, T b) {
    switch (op) {
        case BinaryOp::add:
            return a + b;
        case BinaryOp::sub:
            return a - b;
        case BinaryOp::mul:
            return a * b;
        case BinaryOp::div:
            return a / b;
    }
    return T(0);
}

}  // namespace detail

namespace lstm_detail {
/// The backward of one hidden unit j of an LSTM step (the formulas in
/// backend/cpu/lstm_kernels.hpp), shared by the CPU loop and the
/// CUDA kernel: activations i, f, g, o, tanh(c') `tc`, the previous cell `c_prev`, the
/// total dh' `dh_tot`, and dc' in `dc`, which becomes the gradient for c_prev. Writes the
/// four pre-activation gradients to da[j], da[H + j], da[2H + j], da[3H + j].
template <class T>
NNLITE_HOST_DEVICE inline void unit_backward(T i, T f, T g, T o, T tc, T c_prev, T dh_tot, T& dc,
                                             T* da, std::size_t H, std::size_t j) {
    const T dc_tot = dc + dh_tot * o * (T(1) - tc * tc);
    da[j] = dc_tot * g * i * (T(1) - i);
    da[H + j] = dc_tot * c_prev * f * (T(1) - f);
    da[2 * H + j] = dc_tot * i * (T(1) - g * g);
    da[3 * H + j] = dh_tot * tc * o * (T(1) - o);
    dc = dc_tot * f;
}
}  // namespace lstm_detail

}  // namespace nnlite
