// nnlite's own SGEMM (backend/cpu/gemm/sgemm.hpp) against the linked BLAS on the LSTM's
// GEMM shapes, interleaved in one run (so machine load hits both alike):
//
//   gemm_benchmark [--threads N] [--reps N]
//
// Prints the OpenBLAS core, the compiled kernel ISA and, per shape, GFLOP/s of each side
// (best of --reps) and their ratio. "packed" rows time the recurrent product against a B
// packed once (as the LSTM does); BLAS re-packs it every call. On a CPU with AVX512-BF16
// two more columns: nnlite's bf16 kernel (gemm/bgemm.hpp, ComputeType::bf16: bf16 inputs,
// fp32 accumulation; same packing rules) and its speed-up over nnlite's fp32 kernel, after
// one line with the peak rates of the two instructions on this core (12 independent
// register-only chains each): VFMADD231PS zmm (32 flops) and VDPBF16PS zmm (64 flops). The
// bf16 kernel can beat the fp32 one only where the second is well above the first. On a
// CPU with AVX512-FP16 two more: nnlite's fp16 kernel (gemm/hgemm.hpp, ComputeType::fp16)
// and its speed-up over fp32, with VFMADDPH zmm's peak (64 flops) on the peak line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <nnlite/backend/cpu/blas.hpp>
#include <nnlite/backend/cpu/gemm/bgemm.hpp>
#include <nnlite/backend/cpu/gemm/hgemm.hpp>
#include <nnlite/backend/cpu/gemm/sgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <string>
#include <vector>

namespace {

#if NNLITE_BF16_KERNELS
/// GFLOP/s of n rounds of 12 independent zmm FMA (fp32) or VDPBF16PS (bf16) chains.
__attribute__((target("avx512f,fma"))) double peak_fma(long n) {
    __m512 acc[12], x[12];
    for (int j = 0; j < 12; ++j) {
        acc[j] = _mm512_setzero_ps();
        x[j] = _mm512_set1_ps(1e-3f * static_cast<float>(j));
    }
    __m512 y = _mm512_set1_ps(1e-3f);
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ps(x[j], y, acc[j]);
        __asm__ volatile("" : "+v"(y));  // keeps the chains from being merged or hoisted
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m512 sum = acc[0];
    for (int j = 1; j < 12; ++j) sum = _mm512_add_ps(sum, acc[j]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);
    volatile float sink = lanes[0];  // the chains' results are used
    (void)sink;
    return 12.0 * 32.0 * static_cast<double>(n) / s / 1e9;
}

NNLITE_BF16_TARGET double peak_bf16(long n) {
    __m512 acc[12];
    __m512bh x[12];
    for (int j = 0; j < 12; ++j) {
        acc[j] = _mm512_setzero_ps();
        x[j] = (__m512bh)_mm512_set1_epi32(0x3c003c00 + j);
    }
    __m512bh y = (__m512bh)_mm512_set1_epi32(0x3c003c01);
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        for (int j = 0; j < 12; ++j) acc[j] = _mm512_dpbf16_ps(acc[j], x[j], y);
        __asm__ volatile("" : "+v"(y));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m512 sum = acc[0];
    for (int j = 1; j < 12; ++j) sum = _mm512_add_ps(sum, acc[j]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);
    volatile float sink = lanes[0];  // the chains' results are used
    (void)sink;
    return 12.0 * 64.0 * static_cast<double>(n) / s / 1e9;
}
#endif

#if NNLITE_FP16_KERNELS
NNLITE_FP16_TARGET double peak_fp16(long n) {
    __m512h acc[12], x[12];
    for (int j = 0; j < 12; ++j) {
        acc[j] = _mm512_setzero_ph();
        x[j] = _mm512_castsi512_ph(_mm512_set1_epi16(static_cast<short>(0x1400 + j)));
    }
    __m512h y = _mm512_castsi512_ph(_mm512_set1_epi16(0x1400));
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        for (int j = 0; j < 12; ++j) acc[j] = _mm512_fmadd_ph(x[j], y, acc[j]);
        __asm__ volatile("" : "+v"(y));
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    __m512h sum = acc[0];
    for (int j = 1; j < 12; ++j) sum = _mm512_add_ph(sum, acc[j]);
    alignas(64) unsigned short lanes[32];
    _mm512_store_si512(lanes, _mm512_castph_si512(sum));
    volatile unsigned short sink = lanes[0];  // the chains' results are used
    (void)sink;
    return 12.0 * 64.0 * static_cast<double>(n) / s / 1e9;
}
#endif

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
    const bool bf16 = nnlite::cpu_gemm::bf16_available();
    if (!bf16)
        std::printf("no bf16 column: %s\n",
                    nnlite::cpu_gemm::bf16_unavailable(nnlite::cpu_isa::cpu_features()).c_str());
    const bool fp16 = nnlite::cpu_gemm::fp16_available();
    if (!fp16)
        std::printf("no fp16 column: %s\n",
                    nnlite::cpu_gemm::fp16_unavailable(nnlite::cpu_isa::cpu_features()).c_str());
#if NNLITE_BF16_KERNELS
    if (bf16) {
        double fma = 0, dp = 0, ph = 0;
        for (int r = 0; r < 7; ++r) {  // best of 7 short runs, interleaved (load)
            fma = std::max(fma, peak_fma(4'000'000));
            dp = std::max(dp, peak_bf16(4'000'000));
#if NNLITE_FP16_KERNELS
            if (fp16) ph = std::max(ph, peak_fp16(4'000'000));
#endif
        }
        std::printf("peak, 1 core: fp32 FMA %.1f GFLOP/s, bf16 VDPBF16PS %.1f GFLOP/s (%.2fx)", fma,
                    dp, dp / fma);
        if (fp16) std::printf(", fp16 VFMADDPH %.1f GFLOP/s (%.2fx)", ph, ph / fma);
        std::printf("\n");
    }
#endif
    std::printf("%-30s %10s %10s %8s", "shape (m x n x k)", "nnlite", "BLAS", "ratio");
    if (bf16) std::printf(" %10s %9s", "bf16", "bf16/fp32");
    if (fp16) std::printf(" %10s %9s", "fp16", "fp16/fp32");
    std::printf("\n");
    for (const auto& s : shapes) {
        const std::size_t lda = s.ta ? s.m : s.k, ldb = s.tb ? s.k : s.n;
        std::vector<float> a(s.m * s.k, 0.01f), b(s.k * s.n, 0.02f), c(s.m * s.n, 0.f);
        nnlite::cpu_gemm::PackedB pb;
        nnlite::cpu_gemm::PackedB16 pb16;
        nnlite::cpu_gemm::PackedH pbh;
        if (s.packed) nnlite::cpu_gemm::pack_b(s.tb, s.k, s.n, b.data(), ldb, pb);
        if (s.packed && bf16) nnlite::cpu_gemm::pack_b16(s.tb, s.k, s.n, b.data(), ldb, pb16);
        if (s.packed && fp16) nnlite::cpu_gemm::pack_bh(s.tb, s.k, s.n, b.data(), ldb, pbh);
        const int inner = s.packed ? 50 : 1;
        double best_own = 1e30, best_blas = 1e30, best_bf16 = 1e30, best_fp16 = 1e30;
        // Seconds per product of f(): `inner` calls timed together.
        auto per_call = [&](auto&& f) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < inner; ++i) f();
            return seconds_of(t0) / inner;
        };
        // Seconds per product of one of nnlite's kernels: against its packed B (`packed`,
        // as the LSTM's recurrent products) or packing B itself (`plain`).
        auto own_kernel = [&](auto* packed_fn, auto* plain_fn, const auto& packed) {
            return per_call([&] {
                if (s.packed)
                    packed_fn(s.ta, s.m, a.data(), lda, 1.f, packed, 1.f, c.data(), s.n, threads);
                else
                    plain_fn(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb, 0.f,
                             c.data(), s.n, threads);
            });
        };
        namespace g = nnlite::cpu_gemm;
        for (int r = 0; r < reps + 1; ++r) {
            const double own = own_kernel(&g::sgemm_packed, &g::sgemm, pb);
            const double blas = per_call([&] {
                nnlite::blas::gemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, a.data(), lda, b.data(), ldb,
                                   s.packed ? 1.f : 0.f, c.data(), s.n);
            });
            const double b16 = !bf16 ? 0.0 : own_kernel(&g::bgemm_packed, &g::bgemm, pb16);
            const double h16 = !fp16 ? 0.0 : own_kernel(&g::hgemm_packed, &g::hgemm, pbh);
            if (r > 0) {
                best_own = std::min(best_own, own);
                best_blas = std::min(best_blas, blas);
                best_bf16 = std::min(best_bf16, b16);
                best_fp16 = std::min(best_fp16, h16);
            }
        }
        const double fl = 2.0 * static_cast<double>(s.m * s.n * s.k) / 1e9;
        std::printf("%-30s %10.1f %10.1f %7.2fx", s.name, fl / best_own, fl / best_blas,
                    best_blas / best_own);
        if (bf16) std::printf(" %10.1f %8.2fx", fl / best_bf16, best_own / best_bf16);
        if (fp16) std::printf(" %10.1f %8.2fx", fl / best_fp16, best_own / best_fp16);
        std::printf("   (%zu x %zu x %zu)\n", s.m, s.n, s.k);
    }
    return 0;
}
