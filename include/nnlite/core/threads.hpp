// Thread count for nnlite's own kernels and for OpenBLAS. NNLITE_NUM_THREADS sets it at
// start-up (default: all cores); set_num_threads changes it. Our parallel loops and BLAS
// never run nested: a kernel either splits work itself or hands it to one BLAS call.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <string>
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
/// `grain` items; runs inline when the work is too small to pay for threads.
template <class F>
void parallel_for(std::size_t n, std::size_t grain, F&& f) {
    const std::size_t threads =
        std::min<std::size_t>(static_cast<std::size_t>(num_threads()), grain ? n / grain : n);
    if (threads <= 1) {
        if (n) f(std::size_t{0}, n);
        return;
    }
    std::vector<std::thread> pool;
    pool.reserve(threads - 1);
    const std::size_t chunk = (n + threads - 1) / threads;
    for (std::size_t t = 1; t < threads; ++t) {
        const std::size_t b = t * chunk, e = std::min(n, b + chunk);
        if (b < e) pool.emplace_back([&f, b, e] { f(b, e); });
    }
    f(std::size_t{0}, std::min(n, chunk));
    for (auto& th : pool) th.join();
}

}  // namespace nnlite
