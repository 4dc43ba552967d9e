// The CUDA device context: availability probe, the one stream every nnlite kernel and copy
// runs on, and the cuBLAS handle bound to it.
//
// One stream keeps the library simple and makes the caching allocator safe without events:
// work is ordered, so a block freed by a tensor and handed to the next allocation is only
// touched after every earlier kernel that used it.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <mutex>

#include "nnlite/backend/cuda/error.cuh"
#include "nnlite/core/error.hpp"

namespace nnlite {

/// True when a CUDA driver and at least one device are present. Never throws and never
/// aborts: on a machine without a GPU (or without a driver) it is simply false.
inline bool is_cuda_available() {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
    }
    return count > 0;
}

/// How many CUDA devices this process sees (0 without a driver or device).
inline int cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

namespace cuda_detail {

/// Process-wide stream and cuBLAS handle, created on first use. Intentionally never
/// destroyed: tearing down CUDA objects from a static destructor races the driver's own
/// shutdown at exit.
class Context {
  public:
    static Context& get() {
        static Context* ctx = new Context();
        return *ctx;
    }
    cudaStream_t stream() const { return stream_; }
    cublasHandle_t cublas() const { return cublas_; }

  private:
    Context() {
        int count = 0;
        const cudaError_t status = cudaGetDeviceCount(&count);
        if (status != cudaSuccess) {
            (void)cudaGetLastError();
            throw Error(detail::concat(
                "cuda: no usable CUDA device (cudaGetDeviceCount: ", cudaGetErrorName(status), ": ",
                cudaGetErrorString(status), ")"));
        }
        check<Error>(count > 0, "cuda: no CUDA device found (cudaGetDeviceCount returned 0)");
        check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking),
                   "cudaStreamCreateWithFlags");
        check_cublas(cublasCreate(&cublas_), "cublasCreate");
        check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
    }
    cudaStream_t stream_ = nullptr;
    cublasHandle_t cublas_ = nullptr;
};

inline cudaStream_t stream() {
    return Context::get().stream();
}
inline cublasHandle_t cublas_handle() {
    return Context::get().cublas();
}

}  // namespace cuda_detail

/// Blocks until every kernel and copy nnlite has enqueued has finished; a fault inside a
/// kernel is reported here as an Error. Use it before timing.
inline void cuda_synchronize() {
    cuda_detail::check_cuda(cudaStreamSynchronize(cuda_detail::stream()), "cudaStreamSynchronize");
}

}  // namespace nnlite
