// Thread count for nnlite's own kernels and for OpenBLAS. NNLITE_NUM_THREADS sets it at
// start-up (default: all cores); set_num_threads changes it. Our parallel loops and BLAS
// never run nested: a kernel either splits work itself or hands it to one BLAS call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

extern "C" void openblas_set_num_threads(int num_threads);

namespace nnlite {

namespace detail {
inline int& thread_count_slot() {
    static int n = [] {
        int v = static_cast<int>(std::thread::hardware_concurrency());
        if (const char* env = std::getenv("NNLITE_NUM_THREADS")) {
            const int parsed = std::atoi(env);
            if (parsed > 0) v = parsed;
        }
        v = std::max(v, 1);
        openblas_set_num_threads(v);
        return v;
    }();
    return n;
}

// Applies NNLITE_NUM_THREADS to OpenBLAS when the program starts, before any GEMM: left
// alone, OpenBLAS starts one spinning thread per core whatever the setting says.
inline const int thread_count_at_startup = thread_count_slot();
}  // namespace detail

inline int num_threads() {
    return detail::thread_count_slot();
}

inline void set_num_threads(int n) {
    n = std::max(n, 1);
    detail::thread_count_slot() = n;
    openblas_set_num_threads(n);
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
