// The CUDA backend tag and its storage: a move-only device buffer from the caching
// allocator, handed to kernels as a raw device pointer. Host<->device copies run on
// nnlite's stream; a copy to the host waits for it, so the host sees finished values.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cuda/allocator.cuh"
#include "nnlite/backend/cuda/device.cuh"
#include "nnlite/backend/cuda/error.cuh"

namespace nnlite {

namespace cuda_detail {

/// n elements of T in device memory (uninitialised), returned to the cache on destruction.
template <class T>
class DeviceBuffer {
  public:
    DeviceBuffer() = default;
    explicit DeviceBuffer(std::size_t n)
        : data_(static_cast<T*>(CachingAllocator::get().allocate(n * sizeof(T)))), size_(n) {}
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    DeviceBuffer(DeviceBuffer&& o) noexcept
        : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
        if (this != &o) {
            release();
            data_ = std::exchange(o.data_, nullptr);
            size_ = std::exchange(o.size_, 0);
        }
        return *this;
    }
    ~DeviceBuffer() { release(); }

    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return size_; }

  private:
    void release() noexcept {
        if (data_) CachingAllocator::get().deallocate(data_, size_ * sizeof(T));
        data_ = nullptr;
        size_ = 0;
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace cuda_detail

/// CUDA backend: device memory from the caching allocator, cuBLAS GEMMs, nnlite's kernels.
struct cuda {
    static constexpr const char* name = "cuda";
    template <class T>
    using buffer = cuda_detail::DeviceBuffer<T>;

    template <class T>
    static buffer<T> allocate(std::size_t n) {
        return buffer<T>(n);
    }
    /// Host -> device. Returns once `src` may be reused (pageable copies are staged).
    template <class T>
    static void copy_from_host(T* dst, const T* src, std::size_t n) {
        if (n == 0) return;
        cuda_detail::check_cuda(
            cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyHostToDevice, cuda_detail::stream()),
            "cudaMemcpyAsync(host to device)");
    }
    /// Device -> host, waiting for every earlier kernel on the stream.
    template <class T>
    static void copy_to_host(T* dst, const T* src, std::size_t n) {
        if (n == 0) return;
        cuda_detail::check_cuda(
            cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToHost, cuda_detail::stream()),
            "cudaMemcpyAsync(device to host)");
        cuda_detail::check_cuda(cudaStreamSynchronize(cuda_detail::stream()),
                                "cudaStreamSynchronize");
    }
};

}  // namespace nnlite
