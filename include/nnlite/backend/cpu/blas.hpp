// GEMM on contiguous row-major buffers through CBLAS (OpenBLAS), and OpenBLAS's thread
// setting. Hot paths call gemm directly rather than xt::linalg::dot, which may copy or
// re-layout its operands.
//
// Threads: OpenBLAS keeps one process-wide thread count. This header registers a hook with
// core/threads.hpp so that NNLITE_NUM_THREADS and set_num_threads reach OpenBLAS (at
// start-up too: left alone, OpenBLAS starts one spinning thread per core whatever the
// setting says). SingleThreadScope limits OpenBLAS to one thread while two host threads
// each run their own GEMMs (backend_traits<cpu>::concurrent_scope); the scopes are counted,
// so overlapping ones from several threads restore the setting only when the last ends.
#pragma once

#include <cblas.h>

#include <cstddef>
#include <mutex>

#include "nnlite/core/threads.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace nnlite::blas {

namespace detail {
struct ThreadState {
    std::mutex mutex;
    int single_thread_scopes = 0;
};
inline ThreadState& thread_state() {
    static ThreadState s;
    return s;
}
/// The hook registered with core/threads.hpp: applies a new count unless a
/// SingleThreadScope holds OpenBLAS at one thread (its end applies the count then).
inline void apply_thread_count(int n) {
    auto& s = thread_state();
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (s.single_thread_scopes == 0) openblas_set_num_threads(n);
}
inline const bool thread_hook_registered =
    (nnlite::on_thread_count_change(&apply_thread_count), true);
}  // namespace detail

/// RAII: OpenBLAS runs every call on its calling thread while any scope is alive.
class SingleThreadScope {
  public:
    SingleThreadScope() {
        auto& s = detail::thread_state();
        const std::lock_guard<std::mutex> lock(s.mutex);
        if (s.single_thread_scopes++ == 0) openblas_set_num_threads(1);
    }
    ~SingleThreadScope() {
        auto& s = detail::thread_state();
        const std::lock_guard<std::mutex> lock(s.mutex);
        if (--s.single_thread_scopes == 0) openblas_set_num_threads(nnlite::num_threads());
    }
    SingleThreadScope(const SingleThreadScope&) = delete;
    SingleThreadScope& operator=(const SingleThreadScope&) = delete;
};

/// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X^T when trans_x.
/// lda/ldb/ldc are the row strides of A, B and C as stored.
inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 float alpha, const float* a, std::size_t lda, const float* b, std::size_t ldb,
                 float beta, float* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
}

inline void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                 double alpha, const double* a, std::size_t lda, const double* b, std::size_t ldb,
                 double beta, double* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb),
                beta, c, static_cast<int>(ldc));
}

}  // namespace nnlite::blas
