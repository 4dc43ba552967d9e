// Element math shared by every backend: small NNLITE_HOST_DEVICE functions that the CPU
// loops call per element (or per row) and the CUDA kernels call per thread, so each formula
// is written once. Backends supply the loops and launches; the formulas live here.
//
// Precision: the math wrappers below call the element type's own function (float -> expf
// on the device, std::exp(float) on the host), so every backend computes in T exactly as
// it did when each wrote its own copy.
#pragma once

#include <cmath>
#include <cstddef>
#include <type_traits>

#include "nnlite/backend/backend.hpp"
#include "nnlite/core/host_device.hpp"

namespace nnlite {

namespace detail {

// ---- scalar math in T's own precision, on the host and on the device ----------------------

#if defined(__CUDA_ARCH__)
#define NNLITE_MATH_1(name, fname, dname, stdname) \
    template <class T>                             \
    NNLITE_HOST_DEVICE inline T name(T x) {        \
        if constexpr (std::is_same_v<T, float>)    \
            return ::fname(x);                     \
        else                                       \
            return ::dname(x);                     \
    }
#else
#define NNLITE_MATH_1(name, fname, dname, stdname) \
    template <class T>                             \
    NNLITE_HOST_DEVICE inline T name(T x) {        \
        return std::stdname(x);                    \
    }
#endif
NNLITE_MATH_1(math_exp, expf, exp, exp)
NNLITE_MATH_1(math_log, logf, log, log)
NNLITE_MATH_1(math_log1p, log1pf, log1p, log1p)
NNLITE_MATH_1(math_tanh, tanhf, tanh, tanh)
NNLITE_MATH_1(math_sqrt, sqrtf, sqrt, sqrt)
NNLITE_MATH_1(math_abs, fabsf, fabs, abs)
#undef NNLITE_MATH_1

/// The logistic function, split by sign so exp never overflows. The one exact sigmoid of
/// every backend (the CPU's vectorised float approximation in backend/cpu/vec_math.hpp is a
/// different algorithm, kept for the LSTM gates' speed).
template <class T>
NNLITE_HOST_DEVICE inline T sigmoid_scalar(T x) {
    if (x >= T(0)) return T(1) / (T(1) + math_exp(-x));
    const T e = math_exp(x);
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

// ---- unary ops: the op is a template parameter, so a loop over one op has no switch --------

/// y = op(x).
template <UnaryOp Op, class T>
NNLITE_HOST_DEVICE inline T unary_forward(T x) {
    if constexpr (Op == UnaryOp::neg)
        return -x;
    else if constexpr (Op == UnaryOp::exp)
        return math_exp(x);
    else if constexpr (Op == UnaryOp::log)
        return math_log(x);
    else if constexpr (Op == UnaryOp::sigmoid)
        return sigmoid_scalar(x);
    else if constexpr (Op == UnaryOp::tanh)
        return math_tanh(x);
    else
        return x > T(0) ? x : T(0);  // relu
}

/// d op(x)/dx * g from the saved input x or output y, as each derivative needs (exp,
/// sigmoid and tanh from the output; log and relu from the input).
template <UnaryOp Op, class T>
NNLITE_HOST_DEVICE inline T unary_backward(T g, T x, T y) {
    if constexpr (Op == UnaryOp::neg)
        return -g;
    else if constexpr (Op == UnaryOp::exp)
        return g * y;
    else if constexpr (Op == UnaryOp::log)
        return g / x;
    else if constexpr (Op == UnaryOp::sigmoid)
        return g * y * (T(1) - y);
    else if constexpr (Op == UnaryOp::tanh)
        return g * (T(1) - y * y);
    else
        return x > T(0) ? g : T(0);  // relu
}

/// Calls f(std::integral_constant<E, op>{}) for the runtime `op` among the listed values:
/// a backend dispatches once, outside its loop or launch, so the loop body is op-specific.
template <class E, E First, E... Rest, class F>
inline void dispatch_enum(E op, F&& f) {
    if (op == First) {
        f(std::integral_constant<E, First>{});
    } else if constexpr (sizeof...(Rest) > 0) {
        dispatch_enum<E, Rest...>(op, f);
    }
}

template <class F>
inline void dispatch_unary(UnaryOp op, F&& f) {
    using U = UnaryOp;
    dispatch_enum<U, U::neg, U::exp, U::log, U::sigmoid, U::tanh, U::relu>(op, f);
}

template <class F>
inline void dispatch_binary(BinaryOp op, F&& f) {
    using O = BinaryOp;
    dispatch_enum<O, O::add, O::sub, O::mul, O::div>(op, f);
}

// ---- softmax over one row: len values at x[0], x[stride], ... -----------------------------

/// y = softmax(x) (or log_softmax when `log`), max-shifted. The max skips NaN entries as
/// std::max(mx, v) does.
template <class T>
NNLITE_HOST_DEVICE inline void softmax_row(const T* x, std::size_t len, std::size_t stride, T* y,
                                           bool log) {
    T mx = -static_cast<T>(INFINITY);
    for (std::size_t l = 0; l < len; ++l) {
        const T v = x[l * stride];
        mx = mx < v ? v : mx;
    }
    T sum = T(0);
    for (std::size_t l = 0; l < len; ++l) sum += math_exp(x[l * stride] - mx);
    if (log) {
        const T lse = mx + math_log(sum);
        for (std::size_t l = 0; l < len; ++l) y[l * stride] = x[l * stride] - lse;
    } else {
        for (std::size_t l = 0; l < len; ++l) y[l * stride] = math_exp(x[l * stride] - mx) / sum;
    }
}

/// Backward of softmax_row from its saved output y and the output gradient g:
/// softmax: gin = y * (g - sum(g*y)); log_softmax: gin = g - exp(y) * sum(g).
template <class T>
NNLITE_HOST_DEVICE inline void softmax_backward_row(const T* g, const T* y, std::size_t len,
                                                    std::size_t stride, T* gin, bool log) {
    T acc = T(0);
    if (log) {
        for (std::size_t l = 0; l < len; ++l) acc += g[l * stride];
        for (std::size_t l = 0; l < len; ++l)
            gin[l * stride] = g[l * stride] - math_exp(y[l * stride]) * acc;
    } else {
        for (std::size_t l = 0; l < len; ++l) acc += g[l * stride] * y[l * stride];
        for (std::size_t l = 0; l < len; ++l)
            gin[l * stride] = y[l * stride] * (g[l * stride] - acc);
    }
}

// ---- binary cross-entropy on logits ------------------------------------------------------

/// l = max(x, 0) - x*y + log1p(exp(-|x|)), stable for any |x|.
template <class T>
NNLITE_HOST_DEVICE inline T bce_with_logits(T x, T y) {
    return (x < T(0) ? T(0) : x) - x * y + math_log1p(math_exp(-math_abs(x)));
}

/// d l / d x = (sigmoid(x) - y) * g. y and g come by reference so that a CPU loop loads
/// them after sigmoid's exp call instead of loading them first and spilling them across it.
template <class T>
NNLITE_HOST_DEVICE inline T bce_with_logits_grad(T x, const T& y, const T& g) {
    return (sigmoid_scalar(x) - y) * g;
}

// ---- GEMM ----------------------------------------------------------------------------------

/// Row strides of packed row-major operands of C[m,n] = op(A) op(B) (kernels<B>::gemm_batched):
/// A is [m,k] or [k,m] when transposed, B [k,n] or [n,k]; at least 1, as BLAS requires.
struct PackedGemmLd {
    std::size_t lda, ldb, ldc;
};
inline PackedGemmLd packed_gemm_ld(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k) {
    auto at_least_1 = [](std::size_t v) { return v ? v : std::size_t{1}; };
    return {at_least_1(ta ? m : k), at_least_1(tb ? k : n), at_least_1(n)};
}

/// One element of C = beta * C when k == 0 (the product is empty; BLAS may reject k == 0):
/// beta == 0 writes 0 without reading C, as BLAS does, so NaN in C does not survive.
template <class T>
NNLITE_HOST_DEVICE inline T gemm_empty_k(T c, T beta) {
    return beta == T(0) ? T(0) : beta * c;
}

// ---- optimizer updates of one element ----------------------------------------------------

/// One Adam/AdamW update of element p (PyTorch's order: decoupled decay first, then the
/// moments, then p -= step_size * m / (sqrt(v) / sqrt(bc2) + eps)). vmax: amsgrad's running
/// max of v, or null.
template <class T>
NNLITE_HOST_DEVICE inline void adam_update(T& p, T g, T& m, T& v, T* vmax,
                                           const AdamStepParams<T>& c) {
    T pj = p;
    if (c.decoupled_decay) pj = pj * c.decay_factor;
    T gj = c.maximize ? -g : g;
    if (c.l2 != T(0)) gj = gj + c.l2 * pj;
    const T mj = m * c.beta1 + c.one_minus_beta1 * gj;
    const T vj = v * c.beta2 + c.one_minus_beta2 * (gj * gj);
    m = mj;
    v = vj;
    T second = vj;
    if (vmax) {
        const T mx = *vmax < vj ? vj : *vmax;  // std::max's NaN behaviour
        *vmax = mx;
        second = mx;
    }
    const T denom = math_sqrt(second) / c.bc2_sqrt + c.eps;
    p = pj + (-c.step_size) * (mj / denom);
}

/// One SGD update of element p (weight decay, momentum with dampening, Nesterov); buf
/// points at the momentum buffer's element (read only with c.use_momentum; may be null
/// without).
template <class T>
NNLITE_HOST_DEVICE inline void sgd_update(T& p, T g, T* buf, const SGDStepParams<T>& c) {
    const T pj = p;
    T d = c.maximize ? -g : g;
    if (c.weight_decay != T(0)) d = d + c.weight_decay * pj;
    if (c.use_momentum) {
        const T b = c.first ? d : *buf * c.momentum + c.one_minus_dampening * d;
        *buf = b;
        d = c.nesterov ? d + c.momentum * b : b;
    }
    p = pj + (-c.lr) * d;
}

}  // namespace detail

namespace lstm_detail {
/// The backward of one hidden unit of an LSTM step (the formulas in
/// backend/cpu/lstm_kernels.hpp), shared by the CPU loop and the
/// CUDA kernel: activations i, f, g, o, tanh(c') `tc`, the previous cell `c_prev`, the
/// total dh' `dh_tot`, and dc' in `dc`, which becomes the gradient for c_prev. Writes the
/// four pre-activation gradients to di, df, dg, dout (dout may alias the place tc was read
/// from).
template <class T>
NNLITE_HOST_DEVICE inline void unit_backward(T i, T f, T g, T o, T tc, T c_prev, T dh_tot, T& dc,
                                             T& di, T& df, T& dg, T& dout) {
    const T dc_tot = dc + dh_tot * o * (T(1) - tc * tc);
    di = dc_tot * g * i * (T(1) - i);
    df = dc_tot * c_prev * f * (T(1) - f);
    dg = dc_tot * i * (T(1) - g * g);
    dout = dh_tot * tc * o * (T(1) - o);
    dc = dc_tot * f;
}
}  // namespace lstm_detail

}  // namespace nnlite
