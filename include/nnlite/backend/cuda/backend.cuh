// The CUDA backend, whole: the `cuda` tag and its device storage (caching allocator),
// kernels<cuda>, training_kernels<cuda>, lstm_kernels<cuda> and backend_traits<cuda>.
// Compiled only by nvcc (through nnlite/cuda.hpp).
#pragma once

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cuda/allocator.cuh"
#include "nnlite/backend/cuda/device.cuh"
#include "nnlite/backend/cuda/error.cuh"
#include "nnlite/backend/cuda/kernels.cuh"
#include "nnlite/backend/cuda/lstm_kernels.cuh"
#include "nnlite/backend/cuda/storage.cuh"
#include "nnlite/backend/cuda/training_kernels.cuh"

namespace nnlite {

template <>
struct backend_traits<cuda> {
    /// All work goes to one stream through one cuBLAS handle: one host thread feeds it.
    static constexpr bool concurrent_host_threads = false;
    struct concurrent_scope {
        concurrent_scope() {}
    };
    /// The host FPU mode does not reach the device; nothing to set around kernels.
    struct kernel_scope {
        kernel_scope() {}
    };
};

}  // namespace nnlite
