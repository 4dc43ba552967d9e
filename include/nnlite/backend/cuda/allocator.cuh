// Caching device allocator: cudaMalloc is slow and synchronises the device, so freed blocks
// go to a free list keyed by their (rounded) size and the next request of that size takes
// one back. In steady state (a training loop allocating the same shapes each step) no
// cudaMalloc or cudaFree happens at all.
//
// Sizes are rounded up: to 512 bytes below 1 MiB, to 2 MiB above (so similar large requests
// share a bucket without wasting more than 2 MiB each). A request is served from its exact
// bucket; when cudaMalloc reports out-of-memory the cache is returned to the driver and the
// request retried once, and if that fails too the caller gets an nnlite::Error naming the
// requested size and the device's free/total memory, never an abort.
//
// Reuse needs no events because every nnlite kernel runs on the one stream in device.cuh.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "nnlite/backend/cuda/device.cuh"
#include "nnlite/backend/cuda/error.cuh"
#include "nnlite/core/error.hpp"

namespace nnlite::cuda_detail {

struct AllocatorStats {
    std::size_t malloc_calls = 0;  // cudaMalloc calls that succeeded
    std::size_t cache_hits = 0;    // requests served from a free list
    std::size_t bytes_in_use = 0;  // handed out and not yet returned
    std::size_t bytes_cached = 0;  // held in free lists
};

class CachingAllocator {
  public:
    static CachingAllocator& get() {
        static CachingAllocator* a = new CachingAllocator();  // never destroyed: see device.cuh
        return *a;
    }

    static std::size_t round_size(std::size_t bytes) {
        constexpr std::size_t small = 512, large = std::size_t{2} << 20,
                              limit = std::size_t{1} << 20;
        if (bytes <= limit) return (bytes + small - 1) / small * small;
        return (bytes + large - 1) / large * large;
    }

    void* allocate(std::size_t bytes) {
        if (bytes == 0) return nullptr;
        (void)Context::get();  // a clear "no CUDA device" error before any cudaMalloc
        const std::size_t size = round_size(bytes);
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = free_.find(size);
        if (it != free_.end() && !it->second.empty()) {
            void* p = it->second.back();
            it->second.pop_back();
            stats_.cache_hits++;
            stats_.bytes_cached -= size;
            stats_.bytes_in_use += size;
            return p;
        }
        void* p = nullptr;
        cudaError_t status = cudaMalloc(&p, size);
        if (status == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            release_cached_locked();
            status = cudaMalloc(&p, size);
        }
        if (status == cudaErrorMemoryAllocation) {
            (void)cudaGetLastError();
            std::size_t free_bytes = 0, total_bytes = 0;
            if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) (void)cudaGetLastError();
            throw Error(detail::concat(
                "cuda: out of memory allocating ", bytes, " bytes (", mib(bytes),
                " MiB, rounded to ", size, "); device has ", mib(free_bytes), " MiB free of ",
                mib(total_bytes), " MiB, nnlite holds ", mib(stats_.bytes_in_use),
                " MiB in live tensors (cached blocks were released and the request retried)"));
        }
        check_cuda(status, "cudaMalloc");
        stats_.malloc_calls++;
        stats_.bytes_in_use += size;
        return p;
    }

    void deallocate(void* p, std::size_t bytes) {
        if (p == nullptr) return;
        const std::size_t size = round_size(bytes);
        std::lock_guard<std::mutex> lock(mutex_);
        free_[size].push_back(p);
        stats_.bytes_in_use -= size;
        stats_.bytes_cached += size;
    }

    /// Returns every cached (free) block to the driver.
    void empty_cache() {
        std::lock_guard<std::mutex> lock(mutex_);
        release_cached_locked();
    }

    AllocatorStats stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_;
    }

  private:
    CachingAllocator() = default;

    static double mib(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

    void release_cached_locked() {
        // Blocks may still be read by enqueued kernels: wait before giving them back.
        if (stats_.bytes_cached != 0) (void)cudaStreamSynchronize(Context::get().stream());
        for (auto& kv : free_)
            for (void* p : kv.second) (void)cudaFree(p);
        free_.clear();
        stats_.bytes_cached = 0;
    }

    mutable std::mutex mutex_;
    std::map<std::size_t, std::vector<void*>> free_;
    AllocatorStats stats_;
};

}  // namespace nnlite::cuda_detail

namespace nnlite {

/// Returns nnlite's cached device memory to the driver (like torch.cuda.empty_cache()).
inline void cuda_empty_cache() {
    cuda_detail::CachingAllocator::get().empty_cache();
}

/// Allocator counters: cudaMalloc calls, cache hits, bytes in use and cached.
inline cuda_detail::AllocatorStats cuda_memory_stats() {
    return cuda_detail::CachingAllocator::get().stats();
}

}  // namespace nnlite
