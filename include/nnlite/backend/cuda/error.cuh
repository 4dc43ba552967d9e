// CUDA and cuBLAS status checks: a failed call becomes an nnlite::Error naming the call and
// the runtime's own error name and text, never an abort.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "nnlite/core/error.hpp"

namespace nnlite::cuda_detail {

/// Throws Error("<call>: <cudaErrorName>: <description>") unless status is cudaSuccess.
/// The runtime's sticky last-error is cleared so the next call starts clean.
inline void check_cuda(cudaError_t status, const char* call) {
    if (status == cudaSuccess) return;
    (void)cudaGetLastError();
    throw Error(detail::concat("cuda: ", call, " failed: ", cudaGetErrorName(status), ": ",
                               cudaGetErrorString(status)));
}

/// Checks the launch of the kernel just enqueued (bad configuration, no device...).
/// Faults inside a kernel surface at the next synchronising call, also as Error.
inline void check_launch(const char* kernel) {
    check_cuda(cudaGetLastError(), kernel);
}

inline void check_cublas(cublasStatus_t status, const char* call) {
    if (status == CUBLAS_STATUS_SUCCESS) return;
    throw Error(detail::concat("cublas: ", call, " failed: ", cublasGetStatusName(status), ": ",
                               cublasGetStatusString(status)));
}

}  // namespace nnlite::cuda_detail
