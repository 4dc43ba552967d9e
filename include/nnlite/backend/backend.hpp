// The backend contract. A backend is a tag type (nnlite::cpu in backend/cpu/, nnlite::cuda
// in backend/cuda/) with these static members:
//
//   name                          "cpu", "cuda"
//   buffer<T>                     owning storage of n elements (move-only is enough)
//   allocate<T>(n)                uninitialised buffer<T>
//   copy_from_host / copy_to_host host<->backend copies of n elements; a copy to the host
//                                 returns with the values finished
//
// and it specialises the kernel interfaces declared here, each a struct of static function
// templates on raw pointers (shapes are validated by the ops before any kernel runs):
//
//   kernels<B>           elementwise, broadcast, reduction, indexing, softmax, loss, GEMM
//   training_kernels<B>  optimizer steps, norm accumulation, clamping, dropout masks
//   lstm_kernels<B>      the fused LSTM gate math of one time step, forward and backward
//                        (optionally compute_unavailable<T>(ComputeType) and a ComputeType
//                        on its GEMMs: compute types beyond fp32, see ops/lstm.hpp)
//   backend_traits<B>    execution policy the ops ask for (threads, FPU mode), see below
//
// Ops (ops/) are written once against these interfaces; the element math that both
// backends need is written once in backend/functors.hpp. A new backend adds a folder
// backend/<name>/ that implements this contract; nothing above backend/ changes.
#pragma once

#include <cstddef>

namespace nnlite {

template <class B>
struct kernels;
template <class B>
struct training_kernels;
template <class B>
struct lstm_kernels;

/// Execution policy of a backend, as the ops see it:
///   concurrent_host_threads  bool: independent pieces of one op (the two directions of a
///                            bidirectional LSTM layer) may run on two host threads at once
///   concurrent_scope         RAII type held while those pieces run: on the CPU it limits
///                            BLAS to its calling thread, so the two pieces do not
///                            oversubscribe the cores
///   kernel_scope             RAII type held around hot kernels: on the CPU it flushes
///                            denormals to zero (backend/cpu/denormals.hpp)
template <class B>
struct backend_traits;

enum class BinaryOp { add, sub, mul, div };
enum class UnaryOp { neg, exp, log, sigmoid, tanh, relu };
enum class ReduceOp { sum, max };

/// Per-step constants of one Adam/AdamW update (computed on the host from the step count).
template <class T>
struct AdamStepParams {
    T beta1, beta2, one_minus_beta1, one_minus_beta2, eps;
    T l2;            // L2 decay folded into the gradient (Adam); 0 for AdamW
    T decay_factor;  // AdamW: p *= 1 - lr * weight_decay, applied when `decoupled_decay`
    bool decoupled_decay;
    bool maximize;
    T step_size;  // lr / (1 - beta1^t)
    T bc2_sqrt;   // sqrt(1 - beta2^t)
};

/// Constants of one SGD update.
template <class T>
struct SGDStepParams {
    T lr, weight_decay, momentum, one_minus_dampening;
    bool use_momentum, nesterov, maximize;
    bool first;  // the momentum buffer is initialised to the first direction
};

/// What clip_grad_norm accumulates over every gradient element: sum |g|^q (or max |g| for
/// q = inf), in double, and whether a NaN was seen.
struct NormAccumulator {
    double acc = 0.0;
    bool saw_nan = false;
};

}  // namespace nnlite
