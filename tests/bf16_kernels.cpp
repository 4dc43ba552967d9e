// The bf16 kernels (backend/cpu/gemm/bgemm.hpp, lstm_step.hpp's bf16 step) and the LSTM
// under ComputeType::bf16, against fp32. Needs a CPU with AVX512-BF16: elsewhere the program
// prints why and exits with 77, which ctest reports as skipped (tests/CMakeLists.txt); the
// refusal itself is tested everywhere by test_bf16.cpp. Built with the project's flags (no
// -march), as a user's default build: the kernels bring their own target attribute.
//
// Tolerances, from bf16's 8 significant bits (7 stored + the implicit one): round to
// nearest even has unit roundoff u = 2^-8 (relative error at most 2^-8).
//
// GEMM, C = alpha op(A) op(B) + beta C with k products per element:
//   (a) exactness: against a double reference on the bf16-ROUNDED inputs the only error is
//       fp32 accumulation: |C - C16| <= (k + 4) 2^-24 (|alpha| S16 + |beta C0|), with S16 =
//       sum_k |a16 b16| (the textbook bound gamma_k, plus the alpha/beta roundings; the
//       products of two bf16 values are exact in fp32). It catches any packing or
//       edge-tile mistake, which would be of the size of the values themselves.
//   (b) the rigorous bound against the fp32 inputs: each product gets relative error at
//       most 2u + u^2 from rounding its two factors, so |C - C32| <= (2^-7 + 2^-16 + (k + 8)
//       2^-24) (|alpha| S + |beta C0|), S = sum_k |a b|.
//   (c) the typical size: rounding errors of random data are independent, about u / 2 in
//       relative standard deviation per factor, so the errors of a sum of k products grow
//       like sqrt(k), not k: the normwise ratio ||C - C32||_F / ||alpha (sum_k (a b)^2)^(1/2)||_F
//       is about 2^-8 * 0.6. We require it in [2^-11, 2^-7]: below 2^-11 would mean the
//       inputs were not rounded (fp32 gives ~2^-24), above 2^-7 that something rounds
//       worse than bf16.
//
// LSTM (bf16 vs fp32, same weights and inputs): the pre-activations carry the GEMM error
// above (~2^-8.7 typical); sigmoid and tanh have slopes <= 1/4 and 1, so outputs, states
// and gradients inherit relative errors of that size, compounded over the steps and, for
// gradients, through 2-4 rounded GEMMs (dG W_hh per step, then dX, dW). We require, per
// tensor, the normwise relative difference ||bf16 - fp32|| / ||fp32|| <= 2^-5 (3.1%: 8u,
// room for the compounding) and >= 2^-16 (bf16 really ran: fp32 reruns agree to ~2^-23).
// Observed on this machine: GEMM ratio (c) 2^-9.0 .. 2^-8.7; LSTM tensors (shapes below,
// T <= 12) 2^-11.6 .. 2^-8.3.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <nnlite/backend/cpu/gemm/bgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/backend/cpu/lstm_kernels.hpp>
#include <nnlite/backend/cpu/lstm_step.hpp>
#include <random>
#include <string>
#include <vector>

#include "compute_compare.hpp"

namespace {

namespace gemm = nnlite::cpu_gemm;
using nnlite::ComputeType;

using compute_test::random_vec;

struct GemmCase {
    bool ta, tb;
    std::size_t m, n, k;
    float alpha, beta;
    int threads;
    std::size_t lda = 0;  // op(A)'s row stride; 0: its width + 3
};

void check_gemm(const GemmCase& g, std::mt19937& rng, bool packed) {
    CAPTURE(g.ta);
    CAPTURE(g.tb);
    CAPTURE(g.m);
    CAPTURE(g.n);
    CAPTURE(g.k);
    CAPTURE(g.alpha);
    CAPTURE(g.beta);
    CAPTURE(g.threads);
    CAPTURE(g.lda);
    CAPTURE(packed);
    const std::size_t m = g.m, n = g.n, k = g.k;
    // Padded row strides, so the kernels must honour lda/ldb/ldc.
    const std::size_t lda = g.lda ? g.lda : (g.ta ? m : k) + 3, ldb = (g.tb ? k : n) + 2,
                      ldc = n + 5;
    const auto a = random_vec((g.ta ? k : m) * lda, rng);
    const auto b = random_vec((g.tb ? n : k) * ldb, rng);
    const auto c0 = random_vec(m * ldc, rng);
    auto c = c0;
    if (packed) {
        gemm::PackedB16 pb;
        gemm::pack_b16(g.tb, k, n, b.data(), ldb, pb);
        gemm::bgemm_packed(g.ta, m, a.data(), lda, g.alpha, pb, g.beta, c.data(), ldc, g.threads);
    } else {
        gemm::bgemm(g.ta, g.tb, m, n, k, g.alpha, a.data(), lda, b.data(), ldb, g.beta, c.data(),
                    ldc, g.threads);
    }
    const double u24 = std::ldexp(1.0, -24), kk = static_cast<double>(k);
    const double al = std::abs(static_cast<double>(g.alpha));
    double err2 = 0, scale2 = 0;
    std::size_t bad_exact = 0, bad_bound = 0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s16 = 0, s32 = 0, abs16 = 0, abs32 = 0, sq = 0;
            for (std::size_t p = 0; p < k; ++p) {
                const float x = g.ta ? a[p * lda + i] : a[i * lda + p];
                const float y = g.tb ? b[j * ldb + p] : b[p * ldb + j];
                const double x16 = gemm::bf16_round(x), y16 = gemm::bf16_round(y);
                s16 += x16 * y16;
                abs16 += std::abs(x16 * y16);
                const double xy = static_cast<double>(x) * y;
                s32 += xy;
                abs32 += std::abs(xy);
                sq += xy * xy;
            }
            const double old = g.beta == 0.f ? 0.0 : static_cast<double>(g.beta) * c0[i * ldc + j];
            const double got = c[i * ldc + j];
            const double want16 = g.alpha * s16 + old, want32 = g.alpha * s32 + old;
            if (std::abs(got - want16) > (kk + 4) * u24 * (al * abs16 + std::abs(old)) + 1e-30)
                ++bad_exact;
            if (std::abs(got - want32) >
                (std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + (kk + 8) * u24) *
                        (al * abs32 + std::abs(old)) +
                    1e-30)
                ++bad_bound;
            err2 += (got - want32) * (got - want32);
            scale2 += al * al * sq;
        }
    // Columns past n are never written.
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == c0[i * ldc + j]);
    CHECK(bad_exact == 0);
    CHECK(bad_bound == 0);
    if (k >= 8 && g.alpha != 0.f && m * n >= 8) {  // enough terms for a statistic
        const double ratio = std::sqrt(err2 / scale2);
        CAPTURE(ratio);
        MESSAGE("normwise error ratio 2^", std::log2(ratio));
        CHECK(ratio <= std::ldexp(1.0, -7));
        CHECK(ratio >= std::ldexp(1.0, -11));
    }
}

/// The bf16 kernels this CPU can run: VDPBF16PS always, the AMX tiles where available
/// (cpu_gemm::set_bf16_amx picks; true = AMX).
std::vector<bool> bf16_kernels() {
    if (gemm::amx_available()) return {false, true};
    MESSAGE("no AMX-BF16 on this CPU: only the VDPBF16PS kernels are tested");
    return {false};
}

/// Selects the AMX or VDPBF16PS kernels for a scope, then restores the default (AMX where
/// available).
struct KernelChoice {
    explicit KernelChoice(bool amx) {
        gemm::set_bf16_amx(amx);
        REQUIRE(gemm::bf16_uses_amx() == amx);
    }
    ~KernelChoice() { gemm::set_bf16_amx(true); }
    KernelChoice(const KernelChoice&) = delete;
    KernelChoice& operator=(const KernelChoice&) = delete;
};

}  // namespace

TEST_CASE("bf16 GEMM against fp32 references on odd shapes, every transpose, alpha and beta") {
    std::mt19937 rng(11);
    const std::vector<GemmCase> cases = {
        {false, false, 1, 1, 1, 1.f, 0.f, 1},
        {false, true, 1, 1, 7, 1.f, 1.f, 1},
        {true, false, 1, 37, 3, 2.f, 0.f, 1},
        {true, true, 29, 1, 33, 1.f, 0.5f, 1},
        {false, false, 7, 9, 11, 1.f, 0.f, 1},
        {false, true, 13, 45, 71, -1.5f, 1.f, 1},
        {true, false, 17, 33, 64, 1.f, 0.f, 2},
        {true, true, 8, 32, 2, 1.f, 0.f, 1},
        {false, false, 9, 31, 513, 1.f, 1.f, 1},
        {false, true, 130, 70, 1025, 1.f, 0.f, 2},
        {true, false, 300, 600, 37, 0.5f, 0.f, 2},
        {true, true, 129, 513, 99, 1.f, -1.f, 2},
        {false, false, 64, 1024, 256, 1.f, 0.f, 2},
        {false, true, 64, 261, 1030, 1.f, 1.f, 2},  // one row tile: columns split, 5 + 4 panels
        {false, true, 5, 3, 0, 1.f, 0.5f, 1},
        {true, false, 31, 7, 1100, 1.f, 0.f, 2},
        {false, false, 3, 5, 16, 0.f, 2.f, 1},
        // AMX blocks: 32 rows, 16 k-pairs per tile, k-blocks of 512, work tiles of 128 rows.
        {false, true, 33, 64, 32, 1.f, 0.f, 1},
        {true, false, 64, 33, 31, 1.f, 0.5f, 2},
        {false, false, 257, 95, 545, 1.f, 1.f, 2},
        {true, true, 160, 48, 514, -1.f, 0.f, 1},
        // op(A) = A^T with A's rows a multiple of 4 KiB apart (the weight gradients' dG^T at
        // 4H = 1024): the VDPBF16PS packing reads A row by row there. Odd k over several
        // k-blocks, a last k-block whose pairs are not a multiple of the 8 converted at a
        // time, row tiles with fewer than 8 rows left.
        {true, false, 130, 40, 1037, 1.f, 0.f, 1, 1024},
        {true, true, 259, 33, 45, 1.f, 0.5f, 2, 2048},
        {true, false, 1024, 64, 18, -1.f, 1.f, 2, 1024},
    };
    for (const bool amx : bf16_kernels()) {
        CAPTURE(amx);
        const KernelChoice choice(amx);
        for (const auto& g : cases) {
            check_gemm(g, rng, false);
            check_gemm(g, rng, true);
        }
    }
}

TEST_CASE("bf16 kernels: AMX is used where the CPU has it, and says so") {
    CHECK(gemm::bf16_uses_amx() == gemm::amx_available());
    const std::string name = gemm::bf16_kernel_name();
    CHECK(name == (gemm::amx_available() ? "AMX-BF16 tiles" : "AVX512-BF16 VDPBF16PS"));
    if (gemm::amx_available()) {
        const KernelChoice choice(false);
        CHECK(std::string(gemm::bf16_kernel_name()) == "AVX512-BF16 VDPBF16PS");
    }
}

TEST_CASE("bf16 packing rounds like the scalar reference (ties to even, NaN, infinity, zero pad)") {
    // Values designed around bf16 rounding: ties, just above ties, huge, tiny normal, NaN.
    std::vector<float> vals = {1.0f + std::ldexp(1.0f, -8),
                               1.0f + 3 * std::ldexp(1.0f, -8),
                               -1.0f - std::ldexp(1.0f, -8) - std::ldexp(1.0f, -20),
                               3.4e38f,
                               std::ldexp(1.0f, -120),
                               std::nanf(""),
                               -std::numeric_limits<float>::infinity(),
                               0.0f,
                               -0.0f,
                               0.1f,
                               -7.25f};
    std::mt19937 rng(5);
    while (vals.size() < 5 * 37) vals.push_back(random_vec(1, rng)[0] * 100.f);
    for (bool trans : {false, true}) {
        CAPTURE(trans);
        const std::size_t k = trans ? 37 : 5, n = trans ? 5 : 37, ld = trans ? 37 : 37;
        gemm::PackedB16 pb;
        gemm::pack_b16(trans, k, n, vals.data(), ld, pb);
        REQUIRE(pb.panels() == (n + 31) / 32);
        for (std::size_t p = 0; p < pb.panels(); ++p)
            for (std::size_t q = 0; q < pb.pairs(); ++q)
                for (std::size_t j = 0; j < 32; ++j) {
                    const std::uint32_t w = pb.panel(p)[q * 32 + j];
                    const std::size_t col = p * 32 + j;
                    for (std::size_t half = 0; half < 2; ++half) {
                        const std::size_t kk = 2 * q + half;
                        const auto got = static_cast<std::uint16_t>(w >> (16 * half));
                        if (col >= n || kk >= k) {
                            CHECK(got == 0);  // padding
                            continue;
                        }
                        const float x = trans ? vals[col * ld + kk] : vals[kk * ld + col];
                        if (std::isnan(x))
                            CHECK(std::isnan(gemm::bf16_to_float(got)));
                        else
                            CHECK(got == gemm::bf16_bits(x));
                    }
                }
    }
}

TEST_CASE("bf16 fused LSTM step equals GEMM on rounded inputs + gate math") {
    std::mt19937 rng(7);
    using K = nnlite::lstm_kernels<nnlite::cpu>;
    for (const bool amx : bf16_kernels()) {
        const KernelChoice choice(amx);
        for (std::size_t H : {1, 5, 8, 9, 33}) {
            for (std::size_t rows : {1, 7, 8, 13, 33, 64}) {
                CAPTURE(amx);
                CAPTURE(H);
                CAPTURE(rows);
                const std::size_t G = 4 * H, ldh = H + 3;
                const auto w_hh = random_vec(G * H, rng), h = random_vec(rows * ldh, rng),
                           gx = random_vec(rows * G, rng), c_prev = random_vec(rows * H, rng);
                // Reference: pre-activations from the rounded inputs (double), then the
                // backend's own gate math.
                std::vector<float> ref_gates(rows * G), ref_c(rows * H), ref_h(rows * H);
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t j = 0; j < G; ++j) {
                        double s = gx[r * G + j];
                        for (std::size_t p = 0; p < H; ++p)
                            s += static_cast<double>(gemm::bf16_round(h[r * ldh + p])) *
                                 gemm::bf16_round(w_hh[j * H + p]);
                        ref_gates[r * G + j] = static_cast<float>(s);
                    }
                K::gates_forward(ref_gates.data(), c_prev.data(), ref_c.data(), ref_h.data(), rows,
                                 H);

                auto w = K::pack_gate_weights(w_hh.data(), H, ComputeType::bf16);
                REQUIRE(w.bf16);
                std::vector<float> gates = gx, c_out(rows * H), h_out(rows * H);
                K::step_forward(rows, h.data(), ldh, w, gates.data(), c_prev.data(), c_out.data(),
                                h_out.data());
                double worst = 0;
                for (std::size_t i = 0; i < rows * G; ++i)
                    worst = std::max(worst, static_cast<double>(std::abs(gates[i] - ref_gates[i])));
                for (std::size_t i = 0; i < rows * H; ++i) {
                    worst = std::max(worst, static_cast<double>(std::abs(c_out[i] - ref_c[i])));
                    worst = std::max(worst, static_cast<double>(std::abs(h_out[i] - ref_h[i])));
                }
                // fp32 accumulation order (<= (H + 4) 2^-24 of sums of magnitude <= H + 1) and
                // the vectorised activations' last bits.
                CHECK(worst <= 1e-5 * static_cast<double>(H + 1));
            }
        }
    }
}

TEST_CASE("nn::LSTM in bf16 against fp32: outputs and every gradient") {
    for (const auto& c : compute_test::lstm_cases()) {
        SUBCASE(c.name) {
            compute_test::compare_lstm(c, ComputeType::bf16, std::ldexp(1.0, -5),
                                       std::ldexp(1.0, -16));
        }
    }
}

int main(int argc, char** argv) {
    if (!nnlite::cpu_gemm::bf16_available()) {
        std::printf("skipped: %s\n",
                    nnlite::cpu_gemm::bf16_unavailable(nnlite::cpu_isa::cpu_features()).c_str());
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
