// nnlite's own SGEMM (backend/cpu/gemm/sgemm.hpp) against the linked BLAS on the LSTM's
// GEMM shapes, interleaved in one run (so machine load hits both alike):
//
//   gemm_benchmark [--threads N] [--reps N]
//
// Prints the OpenBLAS core, the compiled kernel ISA and, per shape, GFLOP/s of each side
// (best of --reps) and their ratio. "packed" rows time the recurrent product against a B
// packed once (as the LSTM does); BLAS re-packs it every call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nnlite/backend/cpu/blas.hpp>
#include <nnlite/backend/cpu/gemm/sgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <string>
#include <vector>

namespace {
struct Shape {
    const char* name;
    bool ta, tb;
    std::size_t m, n, k;
    bool packed;
};
double seconds_of(const std::chrono::steady_clock::time_point& t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, reps = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--threads") threads = std::atoi(argv[i + 1]);
        if (k == "--reps") reps = std::atoi(argv[i + 1]);
    }
    nnlite::set_num_threads(threads);
    std::printf("OpenBLAS core %s; nnlite kernel %s; %d thread(s)\n", openblas_get_corename(),
                nnlite::cpu_isa::isa_name(nnlite::cpu_isa::compiled_isa()), threads);
    const Shape shapes[] = {
        {"seed recurrent h.W_hh^T", false, true, 64, 1024, 256, true},
        {"seed recurrent dG.W_hh", false, false, 64, 256, 1024, true},
        {"cpu recurrent h.W_hh^T", false, true, 64, 256, 64, true},
        {"cpu recurrent dG.W_hh", false, false, 64, 64, 256, true},
        {"seed L1 input proj X.W_ih^T", false, true, 16384, 1024, 512, false},
        {"seed L1 dX = dG.W_ih", false, false, 16384, 512, 1024, false},
        {"seed L1 dW_ih = dG^T.X", true, false, 1024, 512, 16384, false},
        {"cpu input proj X.W_ih^T", false, true, 16384, 256, 96, false},
        {"cpu dW_ih = dG^T.X", true, false, 256, 96, 16384, false},
        {"square 2048", false, false, 2048, 2048, 2048, false},
    };
    std::printf("%-30s %10s %10s %8s\n", "shape (m x n x k)", "nnlite", "BLAS", "ratio");
    for (const auto& s : shapes) {
        const std::size_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
        std::vector<float> a(s.m * s.k, 0.01f), b(s.k * s.n, 0.02f), c(s.m * s.n, 0.f);
        nnlite::cpu_gemm::PackedB pb;
        if (s.packed) nnlite::cpu_gemm::pack_b(s.tb, s.k, s.n, b.data(), ldb, pb);
        const int inner = s.packed ? 50 : 1;
        double best_own = 1e30, best_blas = 1e30;
        for (int r = 0; r < reps + 1; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < inner; ++i) {
                if (s.packed)
                    nnlite::cpu_gemm::sgemm_packed(s.ta, s.m, a.data(), lda, 1.f, pb, 1.f, c.data(),
                                                   s.n, threads);
                else
                    nnlite::cpu_gemm::sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(),
                                            ldb, 0.f, c.data(), s.n, threads);
            }
            const double own = seconds_of(t0) / inner;
            t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < inner; ++i)
                nnlite::blas::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb,
                                   s.packed ? 1.f : 0.f, c.data(), s.n);
            const double blas = seconds_of(t0) / inner;
            if (r > 0) {
                best_own = std::min(best_own, own);
                best_blas = std::min(best_blas, blas);
            }
        }
        const double fl = 2.0 * static_cast<double>(s.m * s.n * s.k) / 1e9;
        std::printf("%-30s %10.1f %10.1f %7.2fx   (%zu x %zu x %zu)\n", s.name, fl / best_own,
                    fl / best_blas, best_blas / best_own, s.m, s.n, s.k);
    }
    return 0;
}
