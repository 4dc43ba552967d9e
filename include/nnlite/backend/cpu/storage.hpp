// The CPU backend tag and its storage: an xtensor uvector (uninitialised, no per-element
// construction) whose large blocks come from the caching allocator in allocator.hpp, handed
// to kernels as a raw pointer.
#pragma once

#include <cstddef>
#include <cstring>
#include <xtensor/xstorage.hpp>

#include "nnlite/backend/cpu/allocator.hpp"

namespace nnlite {

/// CPU backend: host memory, OpenBLAS GEMMs, plain (auto-vectorised) loops.
struct cpu {
    static constexpr const char* name = "cpu";
    template <class T>
    using buffer = xt::uvector<T, detail::CachingHostAllocator<T>>;

    template <class T>
    static buffer<T> allocate(std::size_t n) {
        return buffer<T>(n);
    }
    template <class T>
    static void copy_from_host(T* dst, const T* src, std::size_t n) {
        if (n) std::memcpy(dst, src, n * sizeof(T));
    }
    template <class T>
    static void copy_to_host(T* dst, const T* src, std::size_t n) {
        if (n) std::memcpy(dst, src, n * sizeof(T));
    }
};

}  // namespace nnlite
