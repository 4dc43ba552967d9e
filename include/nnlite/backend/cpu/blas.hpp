// GEMM on contiguous row-major buffers through BLAS (OpenBLAS), and OpenBLAS's thread
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

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <type_traits>

#include "nnlite/backend/cpu/isa.hpp"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/threads.hpp"

// The BLAS entry points used, declared here rather than through <cblas.h>: xtensor-blas
// ships a cblas.h of its own whose declarations conflict with OpenBLAS's, so including
// either would stop a program from including nnlite and xtensor-blas (nn/init_orthogonal.hpp
// does) together. The Fortran-interface GEMMs are declared by neither.
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
void openblas_set_num_threads(int num_threads);
char* openblas_get_corename(void);
}

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

/// Whether a SingleThreadScope is alive (nnlite's own kernels then use one thread too).
inline bool in_single_thread_scope() {
    auto& s = detail::thread_state();
    const std::lock_guard<std::mutex> lock(s.mutex);
    return s.single_thread_scopes > 0;
}

/// The kernel set OpenBLAS chose at load time (e.g. "Prescott", "SkylakeX").
inline std::string core_name() {
    const char* name = openblas_get_corename();
    return name ? name : "";
}

/// Whether OpenBLAS's kernels are narrower than this CPU's vector units (see
/// cpu_isa::classify_blas_core). Decided once per process.
inline const cpu_isa::BlasCoreVerdict& core_verdict() {
    static const cpu_isa::BlasCoreVerdict v =
        cpu_isa::classify_blas_core(core_name(), cpu_isa::cpu_features());
    return v;
}

/// Prints core_verdict()'s message once per process on stderr when the core is a slow
/// fallback (NNLITE_QUIET_BLAS_WARNING=1 silences it). Called on the first BLAS GEMM.
inline void warn_if_slow_core_once() {
    static const bool once = [] {
        const auto& v = core_verdict();
        const char* quiet = std::getenv("NNLITE_QUIET_BLAS_WARNING");
        if (v.slow && !(quiet && quiet[0] == '1')) std::fprintf(stderr, "%s\n", v.message.c_str());
        return true;
    }();
    (void)once;
}

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

namespace detail {
/// Row-major C = op(A) op(B) through the column-major Fortran routine: a row-major matrix
/// is its transpose in column-major order, so C^T = op(B)^T op(A)^T is computed with the
/// operands swapped.
template <class T>
void fortran_gemm_row_major(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                            T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb,
                            T beta, T* c, std::size_t ldc) {
    warn_if_slow_core_once();
    const char ta = trans_a ? 'T' : 'N', tb = trans_b ? 'T' : 'N';
    const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
    const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb);
    const int LDC = static_cast<int>(ldc);
    if constexpr (std::is_same_v<T, float>)
        sgemm_(&tb, &ta, &N, &M, &K, &alpha, b, &LDB, a, &LDA, &beta, c, &LDC);
    else
        dgemm_(&tb, &ta, &N, &M, &K, &alpha, b, &LDB, a, &LDA, &beta, c, &LDC);
}
}  // namespace detail

/// C[M,N] = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X^T when trans_x.
/// lda/ldb/ldc are the row strides of A, B and C as stored. k == 0 (which BLAS may
/// reject) scales C by beta with the shared nnlite::detail::gemm_empty_k.
template <class T>
void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k, T alpha,
          const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta, T* c, std::size_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (std::size_t r = 0; r < m; ++r)
            for (std::size_t j = 0; j < n; ++j)
                c[r * ldc + j] = ::nnlite::detail::gemm_empty_k(c[r * ldc + j], beta);
        return;
    }
    detail::fortran_gemm_row_major(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace nnlite::blas
