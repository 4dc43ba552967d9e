// Caching host allocator for CPU tensor storage.
//
// A training step allocates the same large buffers every step (the LSTM's gates, cells and
// outputs per layer and direction, their gradients: ~100 MB a step for the showcase's `cpu`
// preset). glibc serves blocks that large with mmap and returns them with munmap, so every
// step paid the kernel to map, zero and unmap them again: 25,000 page faults a step and a
// quarter of the step's CPU time in the kernel (perf stat, lstm_benchmark --config cpu).
// This allocator keeps freed blocks of at least kMinCachedBytes in free lists keyed by their
// rounded size; the next request of that size takes one back, already mapped.
//
// - Sizes are rounded up to 8 classes per power of two (<= 12.5% slack), and a request takes
//   the smallest cached block that fits if it is at most a quarter larger, so batches whose
//   lengths differ share blocks.
// - Blocks in use plus cached blocks stay within a fifth above the most ever in use at once
//   (the high-water mark, reset by cpu_empty_cache()): a request no cached block fits frees
//   cached blocks, largest first, until they do. So the cache costs at most 20% of peak
//   memory, even when shapes change every step. Large blocks come from mmap and go back
//   with munmap, so what the cache frees leaves the process.
// - Such a miss first resizes one cached block (the closest above the request, else the
//   largest) to the request with mremap instead of unmapping it and mapping a fresh block:
//   the pages it keeps need no new page faults. With IMDB's varying batch shapes one
//   imdb_example epoch went from 6.9M page faults to 2.8M and half its system time (wall
//   time -5%; -20% on a 10,000-review subset).
// - The free lists hold at most limit() bytes (default 1 GiB; NNLITE_CPU_CACHE_MB at
//   start-up, set_cpu_cache_limit() later; 0 turns caching off). Past the limit the
//   largest cached blocks are freed first.
// - Large blocks are page-aligned (64-byte elsewhere); blocks of 2 MiB and more start on a
//   2 MiB boundary and ask for transparent huge pages (madvise MADV_HUGEPAGE; Linux's
//   default THP mode "madvise" gives them only to regions that ask). A fresh 12 MiB block
//   then faults in 6 times instead of 3,072 times: with IMDB's varying batch shapes, whose
//   blocks the cache keeps resizing, a training plus an inference step of the `cpu` preset
//   took 3,200 page faults, with huge pages 500, and the training step 5-8% less time
//   (docs/performance-history.md, fourteenth run).
//   NNLITE_CPU_HUGE_PAGES=0 at start-up, or set_cpu_huge_pages(false) before allocating,
//   keeps to normal pages (huge pages cost up to 2 MiB of memory per block, and a fault
//   may wait for the kernel to compact memory). Small requests go to operator new
//   unchanged.
// - Thread-safe: one mutex, taken only for large blocks (a few dozen per training step).
// - Under AddressSanitizer large blocks come from operator new (ASan knows their bounds),
//   cached blocks are poisoned, so a use after free still reports, and so is the slack
//   between a tensor's end and its block's, so an overflow into it reports too.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "nnlite/core/env.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define NNLITE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNLITE_ASAN 1
#endif
#endif
#if defined(NNLITE_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nnlite {

/// Counters of the CPU block cache (cpu_memory_stats()).
struct CpuMemoryStats {
    std::size_t allocations = 0;        // large blocks taken from the system (mmap)
    std::size_t cache_hits = 0;         // large requests served from a free list
    std::size_t bytes_in_use = 0;       // large blocks handed out and not yet returned
    std::size_t bytes_cached = 0;       // held in free lists
    std::size_t peak_bytes_in_use = 0;  // the most in use at once (since cpu_empty_cache())
    std::size_t limit = 0;              // the most the free lists may hold
};

namespace detail {

/// Parses NNLITE_CPU_CACHE_MB (a whole number of MiB, 0 = off); anything else is warned
/// about once and the default kept.
inline std::size_t cache_limit_from_env(const char* env, std::size_t fallback) {
    if (env == nullptr) return fallback;
    const auto mib = parse_whole_number(env, 7);
    if (!mib) {
        std::fprintf(stderr,
                     "nnlite: ignoring NNLITE_CPU_CACHE_MB=\"%s\" (expected a whole number of "
                     "MiB from 0 to 9999999); keeping %zu MiB\n",
                     env, fallback >> 20);
        return fallback;
    }
    return static_cast<std::size_t>(*mib) << 20;
}

/// Parses NNLITE_CPU_HUGE_PAGES ("0" off, "1" on); anything else is warned about once and
/// the default kept.
inline bool huge_pages_from_env(const char* env, bool fallback) {
    if (env == nullptr) return fallback;
    const std::string v(env);
    if (v == "0" || v == "1") return v == "1";
    std::fprintf(stderr,
                 "nnlite: ignoring NNLITE_CPU_HUGE_PAGES=\"%s\" (expected 0 or 1); keeping %d\n",
                 env, fallback ? 1 : 0);
    return fallback;
}

class HostBlockCache {
  public:
    static constexpr std::size_t kMinCachedBytes = std::size_t{256} << 10;
    static constexpr std::size_t kAlignment = 64;
    static constexpr std::size_t kDefaultLimit = std::size_t{1} << 30;
    static constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

    static HostBlockCache& get() {
        // Never destroyed: tensors in static storage may be freed after main returns.
        static HostBlockCache* c = new HostBlockCache();
        return *c;
    }

    /// The size a request of `bytes` is served with: below kMinCachedBytes unchanged, above
    /// it rounded up to one of 8 classes between consecutive powers of two.
    static std::size_t round_size(std::size_t bytes) {
        if (bytes < kMinCachedBytes) return bytes;
        std::size_t top = kMinCachedBytes;
        while (top * 2 <= bytes) top *= 2;
        const std::size_t step = top / 8;
        return (bytes + step - 1) / step * step;
    }

    void* allocate(std::size_t bytes) {
        const std::size_t size = round_size(bytes);
        if (size < kMinCachedBytes) return ::operator new(bytes);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            // The smallest cached block that fits, if it is at most a quarter larger (two
            // size classes): batches of varying length reuse each other's blocks.
            auto it = free_.lower_bound(size);
            if (it != free_.end() && it->first <= size + size / 4) {
                const std::size_t block = it->first;
                void* p = it->second.back();
                live_.emplace(p, block);  // may throw bad_alloc before anything changed
                it->second.pop_back();
                if (it->second.empty()) free_.erase(it);
                stats_.cache_hits++;
                stats_.bytes_cached -= block;
                stats_.bytes_in_use += block;
                stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
                unpoison(p, bytes);
                poison(static_cast<char*>(p) + bytes, block - bytes);  // the slack past the tensor
                return p;
            }
            stats_.allocations++;
            stats_.bytes_in_use += size;
            stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
        }
        // A miss. Blocks in use plus cached stay within a fifth above the most ever in use
        // at once: cached blocks (largest first) make room for this one when they would not.
        // A fixed-shape training loop misses only in its first step; variable-length batches,
        // whose buffers fall into other size classes, recycle memory instead of piling it
        // up. (No margin cost a tenth of the `cpu` preset's speed, because blocks freed in a
        // step can then not wait for the next; more cost memory with IMDB lengths.)
        auto over_margin = [&] {
            const std::size_t peak = stats_.peak_bytes_in_use;
            return stats_.bytes_in_use + stats_.bytes_cached > peak + peak / 5;
        };
        void* p = nullptr;
        try {
            // Rather than unmap a cached block to make room and then map (and fault in, page
            // by page) a fresh one, resize that block to this request: its pages stay mapped.
            p = recycle(size, over_margin);
            evict(over_margin);
            if (p == nullptr) p = map_block(size, huge_pages());
            std::lock_guard<std::mutex> lock(mutex_);
            live_.emplace(p, size);
            poison(static_cast<char*>(p) + bytes, size - bytes);
            return p;
        } catch (...) {
            if (p != nullptr) release(p, size);
            std::lock_guard<std::mutex> lock(mutex_);
            stats_.allocations--;
            stats_.bytes_in_use -= size;
            throw;
        }
    }

    void deallocate(void* p, std::size_t bytes) noexcept {
        if (p == nullptr) return;
        if (round_size(bytes) < kMinCachedBytes) {
            ::operator delete(p);
            return;
        }
        bool cached = false;
        std::size_t size = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            const auto live = live_.find(p);
            size = live->second;  // the block's own size: it may exceed round_size(bytes)
            live_.erase(live);
            stats_.bytes_in_use -= size;
            if (size <= stats_.limit) {
                try {
                    free_[size].push_back(p);  // may throw: then the block is freed below
                    stats_.bytes_cached += size;
                    poison(p, size);
                    cached = true;
                } catch (...) {
                }
            }
        }
        if (!cached) release(p, size);
        // Back under the limit: the largest cached blocks go first.
        trim_to(limit());
    }

    /// Frees every cached block; the high-water mark restarts from the bytes now in use.
    void empty_cache() noexcept {
        trim_to(0);
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.peak_bytes_in_use = stats_.bytes_in_use;
    }

    void set_limit(std::size_t bytes) noexcept {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stats_.limit = bytes;
        }
        trim_to(bytes);
    }

    /// Whether blocks mapped from now on ask for transparent huge pages.
    void set_huge_pages(bool on) noexcept { huge_pages_.store(on, std::memory_order_relaxed); }
    bool huge_pages() const noexcept { return huge_pages_.load(std::memory_order_relaxed); }

    std::size_t limit() const noexcept {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_.limit;
    }

    CpuMemoryStats stats() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return stats_;
    }

  private:
    HostBlockCache() {
        stats_.limit = cache_limit_from_env(std::getenv("NNLITE_CPU_CACHE_MB"), kDefaultLimit);
        set_huge_pages(huge_pages_from_env(std::getenv("NNLITE_CPU_HUGE_PAGES"), true));
    }

    /// Frees cached blocks, largest first, until at most `bytes` stay cached.
    void trim_to(std::size_t bytes) noexcept {
        evict([&] { return stats_.bytes_cached > bytes; });
    }

    /// Frees cached blocks, largest first, while more() says so (asked under the lock).
    template <class More>
    void evict(More&& more) noexcept {
        std::vector<std::pair<void*, std::size_t>> evicted;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            while (more()) {
                auto last = std::prev(free_.end());
                evicted.emplace_back(last->second.back(), last->first);
                last->second.pop_back();
                stats_.bytes_cached -= last->first;
                if (last->second.empty()) free_.erase(last);
            }
        }
        for (const auto& [q, size] : evicted) release(q, size);
    }

    /// On a miss that has to give cached memory back (over_margin() is true), takes the
    /// cached block closest above `size` (else the largest) out of the cache and resizes it
    /// to `size` with mremap: the pages it keeps stay mapped and need no page faults, where
    /// munmap + mmap faulted in every page again (with IMDB's varying batch shapes that was
    /// 15% of a training epoch in the kernel). Null when nothing is cached, when
    /// over_margin() is false, or where blocks do not come from mmap (ASan, non-Linux).
    template <class OverMargin>
    void* recycle(std::size_t size, OverMargin&& over_margin) {
#if defined(__linux__) && !defined(NNLITE_ASAN) && defined(MREMAP_MAYMOVE)
        void* old = nullptr;
        std::size_t old_size = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            if (free_.empty() || !over_margin()) return nullptr;
            auto it = free_.lower_bound(size);
            if (it == free_.end()) it = std::prev(free_.end());
            old = it->second.back();
            old_size = it->first;
            it->second.pop_back();
            if (it->second.empty()) free_.erase(it);
            stats_.bytes_cached -= old_size;
        }
        void* p = mremap(old, old_size, size, MREMAP_MAYMOVE);
        if (p != MAP_FAILED) return p;
        release(old, old_size);
        return nullptr;
#else
        (void)size, (void)over_margin;
        return nullptr;
#endif
    }

    /// Large blocks come straight from the kernel (mmap), so a block the cache gives back
    /// really leaves the process: through malloc it would stay in glibc's heap (its mmap
    /// threshold grows to 32 MiB as blocks are freed), and the two caches together held
    /// more than either.
    /// A block of kHugePageBytes or more is placed on a kHugePageBytes boundary (mapped
    /// that much larger, the ends around the aligned part unmapped again), so that all of
    /// its whole 2 MiB pieces can be huge pages, and with `huge` asks for them.
    /// Under AddressSanitizer, operator new instead, so ASan knows each block's bounds.
    static void* map_block(std::size_t size, bool huge) {
#if defined(__linux__) && !defined(NNLITE_ASAN)
        const std::size_t extra = size >= kHugePageBytes ? kHugePageBytes : 0;
        void* m =
            mmap(nullptr, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) throw std::bad_alloc();
        if (extra == 0) return m;
        char* base = static_cast<char*>(m);
        const std::uintptr_t at = reinterpret_cast<std::uintptr_t>(base);
        const std::size_t head = (kHugePageBytes - at % kHugePageBytes) % kHugePageBytes;
        if (head > 0) munmap(base, head);
        if (extra - head > 0) munmap(base + head + size, extra - head);
#if defined(MADV_HUGEPAGE)
        if (huge) madvise(base + head, size, MADV_HUGEPAGE);  // advice: failure is harmless
#endif
        (void)huge;
        return base + head;
#else
        (void)huge;
        return ::operator new (size, std::align_val_t{kAlignment});
#endif
    }

    static void release(void* p, std::size_t size) noexcept {
        unpoison(p, size);
#if defined(__linux__) && !defined(NNLITE_ASAN)
        munmap(p, size);
#else
        ::operator delete (p, std::align_val_t{kAlignment});
#endif
    }

    static void poison(void* p, std::size_t size) noexcept {
#if defined(NNLITE_ASAN)
        ASAN_POISON_MEMORY_REGION(p, size);
#else
        (void)p, (void)size;
#endif
    }
    static void unpoison(void* p, std::size_t size) noexcept {
#if defined(NNLITE_ASAN)
        ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
        (void)p, (void)size;
#endif
    }

    mutable std::mutex mutex_;
    std::map<std::size_t, std::vector<void*>> free_;  // block size -> cached blocks
    std::unordered_map<void*, std::size_t> live_;     // large blocks handed out -> their size
    CpuMemoryStats stats_;
    std::atomic<bool> huge_pages_{true};
};

/// std::allocator-compatible front end of HostBlockCache (CPU tensor storage uses it).
template <class T>
struct CachingHostAllocator {
    using value_type = T;
    CachingHostAllocator() noexcept = default;
    template <class U>
    CachingHostAllocator(const CachingHostAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
        return static_cast<T*>(HostBlockCache::get().allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        HostBlockCache::get().deallocate(p, n * sizeof(T));
    }

    template <class U>
    bool operator==(const CachingHostAllocator<U>&) const noexcept {
        return true;
    }
    template <class U>
    bool operator!=(const CachingHostAllocator<U>&) const noexcept {
        return false;
    }
};

}  // namespace detail

/// Frees the CPU tensor memory nnlite keeps for reuse (like cuda_empty_cache() on the GPU).
/// Memory of live tensors is untouched. Safe from any thread.
inline void cpu_empty_cache() {
    detail::HostBlockCache::get().empty_cache();
}

/// Sets the most freed CPU tensor memory nnlite keeps for reuse, in bytes (default 1 GiB,
/// or NNLITE_CPU_CACHE_MB at start-up); 0 turns the cache off. Frees what exceeds it now.
inline void set_cpu_cache_limit(std::size_t bytes) {
    detail::HostBlockCache::get().set_limit(bytes);
}

/// Whether CPU tensor blocks of 2 MiB and more ask the kernel for transparent huge pages
/// (default on; NNLITE_CPU_HUGE_PAGES=0 at start-up turns it off). Applies to blocks mapped
/// from now on: call it before allocating tensors (cpu_empty_cache() drops cached blocks
/// mapped under the previous setting; live tensors keep theirs). Linux only; elsewhere
/// nothing changes.
inline void set_cpu_huge_pages(bool on) {
    detail::HostBlockCache::get().set_huge_pages(on);
}

/// Counters of the CPU block cache: system allocations, cache hits, bytes in use, cached.
inline CpuMemoryStats cpu_memory_stats() {
    return detail::HostBlockCache::get().stats();
}

}  // namespace nnlite
