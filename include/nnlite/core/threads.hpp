// Thread count for nnlite's own kernels and, through a hook the CPU backend registers, for
// its BLAS. NNLITE_NUM_THREADS sets it at start-up (default: all cores); set_num_threads
// changes it. Our parallel loops and BLAS never run nested: a kernel either splits work
// itself or hands it to one BLAS call.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace nnlite {

namespace detail {
/// The process-wide thread count and the hooks that follow it (a BLAS library's own
/// setting, registered by backend/cpu/blas.hpp: core knows no BLAS).
struct ThreadSettings {
    std::atomic<int> count{1};
    std::mutex mutex;  // guards hooks and serialises set_num_threads
    std::vector<void (*)(int)> hooks;

    ThreadSettings() {
        int v = static_cast<int>(std::thread::hardware_concurrency());
        if (const char* env = std::getenv("NNLITE_NUM_THREADS")) {
            const int parsed = std::atoi(env);
            if (parsed > 0) v = parsed;
        }
        count = std::max(v, 1);
    }
};
inline ThreadSettings& thread_settings() {
    static ThreadSettings s;
    return s;
}
}  // namespace detail

/// Threads nnlite's kernels (and the BLAS they call) may use: NNLITE_NUM_THREADS at
/// start-up (default: all cores), then whatever set_num_threads last set. Safe to call
/// from any thread.
inline int num_threads() {
    return detail::thread_settings().count.load(std::memory_order_relaxed);
}

/// Sets the thread count (values below 1 mean 1) and tells every registered hook. Safe to
/// call from any thread; a kernel already running keeps the count it started with.
inline void set_num_threads(int n) {
    auto& s = detail::thread_settings();
    const std::lock_guard<std::mutex> lock(s.mutex);
    n = std::max(n, 1);
    s.count.store(n, std::memory_order_relaxed);
    for (auto hook : s.hooks) hook(n);
}

/// Registers hook(n) to run on every set_num_threads(n), and calls it once now with the
/// current count. Used by backends whose libraries keep a thread setting of their own.
inline void on_thread_count_change(void (*hook)(int)) {
    auto& s = detail::thread_settings();
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.hooks.push_back(hook);
    hook(s.count.load(std::memory_order_relaxed));
}

/// Runs f(begin, end) over [0, n) split into at most num_threads() chunks of at least
/// `grain` items; runs inline when the work is too small to pay for threads. An exception
/// thrown by f in any chunk is rethrown here after every chunk has finished (an exception
/// escaping a std::thread, or a joinable thread destroyed during unwinding, would
/// otherwise terminate the program); when several chunks throw, the first chunk's wins.
template <class F>
void parallel_for(std::size_t n, std::size_t grain, F&& f) {
    const std::size_t threads =
        std::min<std::size_t>(static_cast<std::size_t>(num_threads()), grain ? n / grain : n);
    if (threads <= 1) {
        if (n) f(std::size_t{0}, n);
        return;
    }
    // Balanced split: chunk t has base or base + 1 items. threads <= n / grain, so
    // base >= grain and every chunk (the last included) honours the grain.
    const std::size_t base = n / threads, extra = n % threads;
    std::vector<std::exception_ptr> errors(threads);
    auto run_chunk = [&f, &errors, base, extra](std::size_t t) {
        const std::size_t b = t * base + std::min(t, extra);
        const std::size_t e = b + base + (t < extra ? 1 : 0);
        try {
            f(b, e);
        } catch (...) {
            errors[t] = std::current_exception();
        }
    };
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    for (std::size_t t = 1; t < threads; ++t) {
        try {
            pool.emplace_back(run_chunk, t);
        } catch (const std::system_error&) {  // no thread to be had: do the chunk here
            run_chunk(t);
        }
    }
    run_chunk(0);
    for (auto& th : pool) th.join();
    for (auto& err : errors)
        if (err) std::rethrow_exception(err);
}

}  // namespace nnlite
