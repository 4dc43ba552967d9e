// nnlite's own SGEMM (backend/cpu/gemm/) and vector Adam update against straightforward
// double-precision references, and the ISA / BLAS-core detection of backend/cpu/isa.hpp.
//
// This file is compiled three times (tests/CMakeLists.txt): with the project's flags
// (test_cpu_gemm: the portable kernel unless the build adds -march), with -mavx2 -mfma
// (test_cpu_gemm_avx2) and with -mavx512f (test_cpu_gemm_avx512), so every kernel width
// this machine can run is tested; a variant whose ISA the CPU lacks checks that the kernel
// refuses to run with a clear error, and stops there with exit code 77 (ctest: skipped).
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nnlite/backend/cpu/gemm/sgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/backend/cpu/lstm_step.hpp>
#include <nnlite/backend/cpu/simd_math.hpp>
#include <nnlite/backend/cpu/training_kernels.hpp>
#include <random>
#include <string>
#include <vector>

#include "shared_a_check.hpp"

namespace {

using nnlite::cpu_gemm::PackedB;
namespace isa = nnlite::cpu_isa;

bool cpu_runs_this_build() {
    return isa::cpu_supports(isa::compiled_isa());
}

/// C = alpha op(A) op(B) + beta C in double, row-major with row strides.
void reference(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
               const std::vector<float>& a, std::size_t lda, const std::vector<float>& b,
               std::size_t ldb, float beta, std::vector<float>& c, std::size_t ldc) {
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            double s = 0;
            for (std::size_t kk = 0; kk < k; ++kk)
                s += static_cast<double>(ta ? a[kk * lda + i] : a[i * lda + kk]) *
                     static_cast<double>(tb ? b[j * ldb + kk] : b[kk * ldb + j]);
            const double prev = beta == 0.f ? 0.0 : static_cast<double>(beta) * c[i * ldc + j];
            c[i * ldc + j] = static_cast<float>(alpha * s + prev);
        }
}

std::vector<float> random_vec(std::size_t n, std::mt19937& rng) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng);
    return v;
}

void check_case(bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k, float alpha,
                float beta, int threads, std::mt19937& rng) {
    CAPTURE(ta);
    CAPTURE(tb);
    CAPTURE(m);
    CAPTURE(n);
    CAPTURE(k);
    CAPTURE(alpha);
    CAPTURE(beta);
    CAPTURE(threads);
    // Row strides larger than the logical widths, so stride handling is exercised.
    const std::size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 5;
    const auto a = random_vec((ta ? k : m) * lda + 1, rng);
    const auto b = random_vec((tb ? n : k) * ldb + 1, rng);
    auto c = random_vec(m * ldc, rng);
    if (beta == 0.f)  // C must not be read: poison it
        for (auto& x : c) x = std::nanf("");
    auto expect = c;
    reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, expect, ldc);
    nnlite::cpu_gemm::sgemm(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(),
                            ldc, threads);
    double worst = 0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            const double err = std::abs(static_cast<double>(c[i * ldc + j]) - expect[i * ldc + j]);
            worst = std::max(worst, std::isnan(err) ? 1e30 : err);
        }
    // float accumulation of k products of values in [-1, 1]
    CHECK(worst <= 1e-5 * (static_cast<double>(k) + 1));
    // The padding between rows of C is untouched.
    if (beta != 0.f)
        for (std::size_t i = 0; i < m; ++i)
            for (std::size_t j = n; j < ldc; ++j) CHECK(c[i * ldc + j] == expect[i * ldc + j]);
}

}  // namespace

TEST_CASE("cpu gemm: the kernel's ISA runs on this CPU or refuses with a clear error") {
    if (!cpu_runs_this_build()) {
        // Everything in this program's own code was compiled for that ISA too, and the
        // compiler may use its instructions anywhere (a std::string, doctest's expression
        // capture, ASan's shadow stores), so this branch runs only the kernel entry point,
        // libc and a catch, then stops the program: ctest reports it skipped (exit 77), or
        // failed (exit 1) when the kernel did not refuse with the message. This test case
        // runs first: doctest orders test cases by file and line.
        static float a[4] = {1.f, 1.f, 1.f, 1.f}, c[4];
        bool refused = false;
        try {
            nnlite::cpu_gemm::sgemm(false, false, 2, 2, 2, 1.f, a, 2, a, 2, 0.f, c, 2);
        } catch (const nnlite::Error& e) {
            refused = std::strstr(e.what(), "this CPU does not support it") != nullptr &&
                      std::strstr(e.what(), isa::isa_name(isa::compiled_isa())) != nullptr;
        }
        std::printf(refused ? "skipped: this CPU lacks the %s kernels this variant was compiled "
                              "for; checked only that they refuse to run with a clear error\n"
                            : "FAILED: the %s kernels ran or failed without the clear error on a "
                              "CPU that lacks them\n",
                    isa::isa_name(isa::compiled_isa()));
        std::fflush(stdout);
        std::_Exit(refused ? 77 : 1);
    }
    MESSAGE("compiled ISA: ", std::string(isa::isa_name(isa::compiled_isa())),
            ", and this CPU supports it");
}

TEST_CASE("cpu gemm: random shapes, transposes, alpha/beta, 1 and 2 threads") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(42);
    const std::size_t sizes[] = {1, 2, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 97, 130};
    std::uniform_int_distribution<std::size_t> pick(0, std::size(sizes) - 1);
    for (int threads : {1, 2})
        for (bool ta : {false, true})
            for (bool tb : {false, true})
                for (float beta : {0.f, 1.f, 0.5f})
                    for (int rep = 0; rep < 6; ++rep)
                        check_case(ta, tb, sizes[pick(rng)], sizes[pick(rng)], sizes[pick(rng)],
                                   rep % 3 == 2 ? -0.75f : 1.f, beta, threads, rng);
}

TEST_CASE("cpu gemm: m, n or k equal to 1, and k = 0") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(7);
    for (int threads : {1, 2}) {
        check_case(false, false, 1, 1, 1, 1.f, 0.f, threads, rng);
        check_case(false, true, 1, 37, 19, 1.f, 1.f, threads, rng);
        check_case(true, false, 41, 1, 23, 1.f, 0.f, threads, rng);
        check_case(false, true, 29, 45, 1, 1.f, 1.f, threads, rng);
    }
    // k = 0: C = beta C.
    std::vector<float> c = {1.f, 2.f, 3.f, 4.f}, none(1, 0.f);
    nnlite::cpu_gemm::sgemm(false, false, 2, 2, 0, 1.f, none.data(), 1, none.data(), 2, 0.5f,
                            c.data(), 2);
    CHECK(c == std::vector<float>{0.5f, 1.f, 1.5f, 2.f});
}

TEST_CASE("cpu gemm: large blocked shapes (several k-blocks and tiles), 1 and 2 threads") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(3);
    for (int threads : {1, 2}) {
        check_case(false, true, 200, 300, 530, 1.f, 1.f, threads, rng);  // input projection
        check_case(true, false, 260, 129, 700, 1.f, 0.f, threads, rng);  // dW = dG^T X
    }
}

template <std::size_t M>
void check_pack_rows_x8(std::mt19937& rng) {
    for (std::size_t kc : {1, 7, 8, 9, 16, 23, 256}) {
        const std::size_t lda = kc + 3;
        const auto a = random_vec(M * lda, rng);
        const float* rows[M];
        for (std::size_t r = 0; r < M; ++r) rows[r] = a.data() + r * lda;
        std::vector<float> got(kc * M + 5, -7.f);
        nnlite::cpu_gemm::detail::pack_rows_x8<M>(rows, kc, got.data());
        for (std::size_t kk = 0; kk < kc; ++kk)
            for (std::size_t r = 0; r < M; ++r) REQUIRE(got[kk * M + r] == rows[r][kk]);
        for (std::size_t i = kc * M; i < got.size(); ++i) REQUIRE(got[i] == -7.f);  // no overrun
    }
}

TEST_CASE("cpu gemm: the A-panel copy fills 6- and 8-row panels exactly, tails too") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(5);
    check_pack_rows_x8<6>(rng);  // the AVX2 and portable panels
    check_pack_rows_x8<8>(rng);  // the AVX-512 panels (the same AVX2 code, so tested here too)
}

TEST_CASE("cpu gemm: one packed B reused across calls with different row counts") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(11);
    const std::size_t H = 37, G = 4 * H;
    const auto w = random_vec(G * H, rng);  // W_hh [G, H]; the product uses W_hh^T
    PackedB packed;
    nnlite::cpu_gemm::pack_b(true, H, G, w.data(), H, packed);
    for (std::size_t rows : {64, 63, 17, 1}) {
        const auto h = random_vec(rows * H, rng);
        auto c = random_vec(rows * G, rng);
        auto expect = c;
        reference(false, true, rows, G, H, 1.f, h, H, w, H, 1.f, expect, G);
        for (int threads : {1, 2}) {
            auto got = c;
            nnlite::cpu_gemm::sgemm_packed(false, rows, h.data(), H, 1.f, packed, 1.f, got.data(),
                                           G, threads);
            for (std::size_t i = 0; i < got.size(); ++i)
                REQUIRE(std::abs(got[i] - expect[i]) <= 1e-4f);
        }
    }
}

TEST_CASE("cpu gemm: a product of fewer row tiles than threads splits its columns, same bits") {
    if (!cpu_runs_this_build()) return;
    namespace d = nnlite::cpu_gemm::detail;
    using nnlite::cpu_gemm::NCB;
    // The split: one row tile and two threads' worth of work -> two column tiles; enough
    // row tiles, or too little work for a second thread -> the cache-sized width.
    CHECK(d::tile_panels(NCB, 32, 1, 2, 33.5e6) == 16);   // h.W_hh^T, H = 256: 1024 columns
    CHECK(d::tile_panels(NCB, 9, 1, 2, 33.5e6) == 5);     // 5 + 4 panels
    CHECK(d::tile_panels(NCB, 8, 1, 4, 33.5e6) == 2);     // four threads, four tiles
    CHECK(d::tile_panels(NCB, 1, 1, 2, 33.5e6) == 1);     // one panel cannot be split
    CHECK(d::tile_panels(NCB, 32, 2, 2, 33.5e6) == NCB);  // two row tiles already
    CHECK(d::tile_panels(NCB, 32, 1, 2, 0.5e6) == NCB);   // not worth a second thread
    CHECK(d::tile_panels(NCB, 64, 1, 1, 1e9) == NCB);
    // The backward's recurrent product dG.W_hh ([64, 4H] x [4H, H]) on 2 threads, odd
    // widths: the reference, and the bits of the 1-thread product.
    std::mt19937 rng(31);
    for (const auto& mnk :
         {std::array<std::size_t, 3>{64, 256, 1024}, std::array<std::size_t, 3>{61, 261, 300},
          std::array<std::size_t, 3>{8, 1030, 96}}) {
        const std::size_t m = mnk[0], n = mnk[1], k = mnk[2];
        CAPTURE(m);
        CAPTURE(n);
        CAPTURE(k);
        for (int threads : {1, 2}) check_case(false, false, m, n, k, 1.f, 1.f, threads, rng);
        const auto a = random_vec(m * k, rng), b = random_vec(k * n, rng);
        PackedB packed;
        nnlite::cpu_gemm::pack_b(false, k, n, b.data(), n, packed);
        std::vector<float> one(m * n, 0.f), two(m * n, 0.f);
        nnlite::cpu_gemm::sgemm_packed(false, m, a.data(), k, 1.f, packed, 0.f, one.data(), n, 1);
        nnlite::cpu_gemm::sgemm_packed(false, m, a.data(), k, 1.f, packed, 0.f, two.data(), n, 2);
        CHECK(one == two);
    }
}

TEST_CASE("cpu gemm: two products sharing op(A) are the bits of two separate products") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(23);
    shared_a_test::check_same_bits([](auto... args) { nnlite::cpu_gemm::sgemm(args...); },
                                   [](auto... args) { nnlite::cpu_gemm::sgemm_shared_a(args...); },
                                   rng);
}

TEST_CASE("cpu lstm: the fused step equals GEMM + gate math, odd H, 1 and 2 threads, bias") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(5);
    for (std::size_t H : {1, 5, 37, 64}) {
        const std::size_t G = 4 * H;
        const auto w = random_vec(G * H, rng);  // W_hh [4H, H]
        nnlite::cpu_gemm::PackedB packed;
        nnlite::cpu_lstm::pack_gates(w.data(), H, packed);
        for (std::size_t rows : {1, 9, 64}) {
            CAPTURE(H);
            CAPTURE(rows);
            const auto h = random_vec(rows * H, rng), gx = random_vec(rows * G, rng),
                       c0 = random_vec(rows * H, rng);
            // Reference: pre-activations in double, then the exact functions.
            std::vector<double> ref_h(rows * H), ref_c(rows * H), ref_act(rows * G);
            for (std::size_t r = 0; r < rows; ++r) {
                std::vector<double> a(G);
                for (std::size_t j = 0; j < G; ++j) {
                    double s = gx[r * G + j];
                    for (std::size_t kk = 0; kk < H; ++kk)
                        s += static_cast<double>(h[r * H + kk]) * w[j * H + kk];
                    a[j] = j >= 2 * H && j < 3 * H ? std::tanh(s) : 1 / (1 + std::exp(-s));
                    ref_act[r * G + j] = a[j];
                }
                for (std::size_t u = 0; u < H; ++u) {
                    const double c = a[H + u] * c0[r * H + u] + a[u] * a[2 * H + u];
                    ref_c[r * H + u] = c;
                    ref_h[r * H + u] = a[3 * H + u] * std::tanh(c);
                }
            }
            for (int threads : {1, 2}) {
                auto gates = gx;
                std::vector<float> c_out(rows * H), h_out(rows * H);
                nnlite::cpu_lstm::step_forward(rows, h.data(), H, packed, H, gates.data(),
                                               c0.data(), c_out.data(), h_out.data(), threads);
                double worst = 0;
                for (std::size_t i = 0; i < rows * H; ++i)
                    worst = std::max(
                        {worst, std::abs(h_out[i] - ref_h[i]), std::abs(c_out[i] - ref_c[i])});
                for (std::size_t i = 0; i < rows * G; ++i)
                    worst = std::max(worst, std::abs(gates[i] - ref_act[i]));
                CHECK(worst < 2e-5);
                // In place (inference): c_prev and c_out the same buffer.
                auto gates2 = gx;
                auto c_inplace = c0;
                nnlite::cpu_lstm::step_forward(rows, h.data(), H, packed, H, gates2.data(),
                                               c_inplace.data(), c_inplace.data(), h_out.data(),
                                               threads);
                CHECK(c_inplace == c_out);
                // The bias added by the step: gates hold gx - bias on entry.
                const auto bias = random_vec(G, rng);
                auto gates3 = gx;
                for (std::size_t r = 0; r < rows; ++r)
                    for (std::size_t j = 0; j < G; ++j) gates3[r * G + j] -= bias[j];
                std::vector<float> c3(rows * H), h3(rows * H);
                nnlite::cpu_lstm::step_forward(rows, h.data(), H, packed, H, gates3.data(),
                                               c0.data(), c3.data(), h3.data(), threads,
                                               bias.data());
                double worst3 = 0;
                for (std::size_t i = 0; i < rows * H; ++i)
                    worst3 =
                        std::max({worst3, std::abs(h3[i] - ref_h[i]), std::abs(c3[i] - ref_c[i])});
                for (std::size_t i = 0; i < rows * G; ++i)
                    worst3 = std::max(worst3, std::abs(gates3[i] - ref_act[i]));
                CHECK(worst3 < 2e-5);
            }
        }
    }
}

TEST_CASE("cpu lstm: a row's fused step results are the same bits whatever rows share its step") {
    // Rows are paired in registers, and a last odd row or a part panel (H not a multiple of
    // UB) runs alone on padded copies: the lane-by-lane math must give the same bits, so a
    // review's hidden state does not depend on its batch.
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(23);
    for (std::size_t H : {3, 8, 12, 37}) {
        const std::size_t G = 4 * H, rows = 7;
        const auto w = random_vec(G * H, rng);
        nnlite::cpu_gemm::PackedB packed;
        nnlite::cpu_lstm::pack_gates(w.data(), H, packed);
        const auto h = random_vec(rows * H, rng), c0 = random_vec(rows * H, rng),
                   bias = random_vec(G, rng);
        auto gx = random_vec(rows * G, rng);
        for (std::size_t i = 0; i < H; ++i) gx[i] = 200.f;  // row 0's i gate saturated
        for (int threads : {1, 2}) {
            auto gates = gx;
            std::vector<float> c_out(rows * H), h_out(rows * H);
            nnlite::cpu_lstm::step_forward(rows, h.data(), H, packed, H, gates.data(), c0.data(),
                                           c_out.data(), h_out.data(), threads, bias.data());
            for (std::size_t r = 0; r < rows; ++r) {
                CAPTURE(H);
                CAPTURE(r);
                // Row r alone, and rows r and r + 1 together where there is a next row.
                for (std::size_t n : {std::size_t{1}, std::size_t{2}}) {
                    if (r + n > rows) continue;
                    std::vector<float> g1(gx.begin() + r * G, gx.begin() + (r + n) * G), c1(n * H),
                        h1(n * H);
                    nnlite::cpu_lstm::step_forward(n, h.data() + r * H, H, packed, H, g1.data(),
                                                   c0.data() + r * H, c1.data(), h1.data(), 1,
                                                   bias.data());
                    CHECK(std::equal(g1.begin(), g1.begin() + G, gates.begin() + r * G));
                    CHECK(std::equal(c1.begin(), c1.begin() + H, c_out.begin() + r * H));
                    CHECK(std::equal(h1.begin(), h1.begin() + H, h_out.begin() + r * H));
                }
            }
            for (std::size_t i = 0; i < H; ++i) CHECK(gates[i] == 1.f);  // exact saturation
        }
    }
}

namespace {

/// sigmoid and tanh of in[0, n) (n a multiple of the width) into heap arrays, a register at
/// a time. Not inside the test case's frame: with ASan's detect_stack_use_after_return, GCC
/// 12's AVX-512 code for the register math and stack arrays in one frame crashed.
__attribute__((noinline)) void simd_sigmoid_tanh(const std::vector<float>& in,
                                                 std::vector<float>& sig, std::vector<float>& tnh) {
    using S = nnlite::cpu_gemm::Simd;
    namespace sm = nnlite::cpu_gemm::simd_math;
    sig.resize(in.size());
    tnh.resize(in.size());
    for (std::size_t i = 0; i + S::W <= in.size(); i += S::W) {
        S::store(sig.data() + i, sm::sigmoid(S::load(in.data() + i)));
        S::store(tnh.data() + i, sm::tanh(S::load(in.data() + i)));
    }
}

}  // namespace

TEST_CASE("cpu simd math: sigmoid and tanh on whole registers against double") {
    if (!cpu_runs_this_build()) return;
    using S = nnlite::cpu_gemm::Simd;
    // A fine sweep over [-100, 100] (past tanh's clamp at +-9 and sigmoid's at +-18), then
    // special values.
    std::vector<float> xs;
    for (int i = -200000; i <= 200000; ++i) xs.push_back(static_cast<float>(i) * 5e-4f);
    for (float v : {0.f, -0.f, 9.f, -9.f, 9.01f, -9.01f, 18.f, -18.f, 1e-30f, -1e-30f, 1e-6f,
                    -1e-6f, 3e38f, -3e38f, INFINITY, -INFINITY})
        xs.push_back(v);
    while (xs.size() % S::W) xs.push_back(0.5f);
    std::vector<float> neg(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) neg[i] = -xs[i];
    std::vector<float> sig, tnh, sig_n, tnh_n;
    simd_sigmoid_tanh(xs, sig, tnh);
    simd_sigmoid_tanh(neg, sig_n, tnh_n);
    double worst_sig = 0, worst_tanh = 0, worst_tanh_rel = 0;
    std::size_t odd_broken = 0;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        const double v = xs[i];
        CAPTURE(v);
        REQUIRE(std::isfinite(sig[i]));
        REQUIRE(std::isfinite(tnh[i]));
        REQUIRE(sig[i] >= 0.f);
        REQUIRE(sig[i] <= 1.f);
        REQUIRE(std::abs(tnh[i]) <= 1.f);
        worst_sig = std::max(worst_sig, std::abs(sig[i] - 1 / (1 + std::exp(-v))));
        worst_tanh = std::max(worst_tanh, std::abs(tnh[i] - std::tanh(v)));
        if (v != 0 && std::abs(v) < 0.5)  // x P / Q: relative accuracy near 0 too
            worst_tanh_rel =
                std::max(worst_tanh_rel, std::abs(tnh[i] - std::tanh(v)) / std::tanh(std::abs(v)));
        if (tnh_n[i] != -tnh[i]) ++odd_broken;
    }
    CHECK(worst_sig < 4e-7);
    CHECK(worst_tanh < 4e-7);
    CHECK(worst_tanh_rel < 4e-7);
    CHECK(odd_broken == 0);  // tanh(-x) == -tanh(x) bit for bit
    // NaN stays NaN, lane by lane, and does not disturb its neighbours; tanh(0) is exactly
    // 0, sigmoid(0) 0.5, and both saturate exactly.
    std::vector<float> in(S::W);
    for (std::size_t l = 0; l < S::W; ++l) in[l] = l % 2 ? NAN : 0.f;
    simd_sigmoid_tanh(in, sig, tnh);
    for (std::size_t l = 0; l < S::W; ++l) {
        CAPTURE(l);
        CHECK(std::isnan(sig[l]) == (l % 2 == 1));
        CHECK(std::isnan(tnh[l]) == (l % 2 == 1));
        if (l % 2 == 0) {
            CHECK(std::abs(sig[l] - 0.5f) <= 1e-7f);
            CHECK(tnh[l] == 0.f);
        }
    }
    for (std::size_t l = 0; l < S::W; ++l) in[l] = l % 2 ? 40.f : -40.f;
    simd_sigmoid_tanh(in, sig, tnh);
    for (std::size_t l = 0; l < S::W; ++l) {
        CHECK(sig[l] == (l % 2 ? 1.f : 0.f));
        CHECK(tnh[l] == (l % 2 ? 1.f : -1.f));
    }
}

TEST_CASE("cpu simd math: tanh_n over arrays of any length equals the register tanh") {
    if (!cpu_runs_this_build()) return;
    using S = nnlite::cpu_gemm::Simd;
    namespace sm = nnlite::cpu_gemm::simd_math;
    // Lengths below, at and past the vector width (a partial last register), in place too.
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, S::W - 1, S::W, S::W + 3, 3 * S::W + 5}) {
        CAPTURE(n);
        std::vector<float> in(n), out(n, -9.f);
        for (std::size_t i = 0; i < n; ++i) in[i] = static_cast<float>(i) * 0.37f - 3.f;
        sm::tanh_n(out.data(), in.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
            CAPTURE(i);
            float lane[S::W] = {};
            lane[0] = in[i];
            S::store(lane, sm::tanh(S::load(lane)));
            CHECK(out[i] == lane[0]);  // the same instructions as a whole register
            CHECK(std::abs(out[i] - std::tanh(static_cast<double>(in[i]))) < 4e-7);
        }
        std::vector<float> inplace = in;
        sm::tanh_n(inplace.data(), inplace.data(), n);
        CHECK(inplace == out);
    }
}

TEST_CASE("cpu adam: the vector update equals Adam in double, every option, split-independent") {
    if (!cpu_runs_this_build()) return;
    std::mt19937 rng(11);
    // Sizes around the vector widths and across the 16K-element blocks the threads share.
    for (std::size_t n : {std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{17},
                          std::size_t{16384 * 2 + 37}, std::size_t{16384 * 9 + 3}})
        for (int variant = 0; variant < 5; ++variant) {
            CAPTURE(n);
            CAPTURE(variant);
            nnlite::AdamStepParams<float> c{};
            c.beta1 = 0.9f;
            c.beta2 = 0.999f;
            c.one_minus_beta1 = 0.1f;
            c.one_minus_beta2 = 0.001f;
            c.eps = 1e-8f;
            c.l2 = variant == 1 ? 0.01f : 0.f;
            c.decoupled_decay = variant == 2;
            c.decay_factor = variant == 2 ? 0.99f : 1.f;
            c.maximize = variant == 3;
            c.step_size = 1e-3f / 0.271f;  // lr / (1 - 0.9^3)
            c.bc2_sqrt = std::sqrt(1.f - 0.999f * 0.999f * 0.999f);
            const bool amsgrad = variant == 4;
            const auto p0 = random_vec(n, rng), g = random_vec(n, rng), m0 = random_vec(n, rng);
            auto v0 = random_vec(n, rng), x0 = random_vec(n, rng);
            for (std::size_t i = 0; i < n; ++i) v0[i] = std::abs(v0[i]), x0[i] = std::abs(x0[i]);
            std::vector<std::vector<float>> p_by_threads;
            for (int threads : {1, 2}) {
                nnlite::set_num_threads(threads);
                auto p = p0, m = m0, v = v0, x = x0;
                nnlite::training_kernels<nnlite::cpu>::adam_step(
                    p.data(), g.data(), m.data(), v.data(), amsgrad ? x.data() : nullptr, n, c);
                double worst_p = 0, worst_m = 0, worst_v = 0;
                for (std::size_t i = 0; i < n; ++i) {
                    double pj = p0[i];
                    if (c.decoupled_decay) pj *= static_cast<double>(c.decay_factor);
                    double gj = c.maximize ? -g[i] : g[i];
                    gj += static_cast<double>(c.l2) * pj;
                    const double mj = m0[i] * static_cast<double>(c.beta1) +
                                      static_cast<double>(c.one_minus_beta1) * gj;
                    const double vj = v0[i] * static_cast<double>(c.beta2) +
                                      static_cast<double>(c.one_minus_beta2) * gj * gj;
                    const double second = amsgrad ? std::max<double>(x0[i], vj) : vj;
                    const double denom = std::sqrt(second) / static_cast<double>(c.bc2_sqrt) +
                                         static_cast<double>(c.eps);
                    const double ref = pj - static_cast<double>(c.step_size) * mj / denom;
                    worst_p = std::max(worst_p, std::abs(p[i] - ref));
                    worst_m = std::max(worst_m, std::abs(m[i] - mj));
                    worst_v = std::max(worst_v, std::abs(v[i] - vj) / vj);
                    if (amsgrad) REQUIRE(x[i] == std::max(x0[i], v[i]));
                }
                CHECK(worst_p < 3e-7);  // |p| <= 1: a few float ulps
                CHECK(worst_m < 2e-7);
                CHECK(worst_v < 1e-6);
                p_by_threads.push_back(p);
            }
            CHECK(p_by_threads[0] == p_by_threads[1]);  // bit for bit, whatever the split
        }
    nnlite::set_num_threads(2);
}

TEST_CASE("cpu adam: a NaN gradient makes its own element NaN and no other") {
    if (!cpu_runs_this_build()) return;
    std::vector<float> p(19, 1.f), g(19, 0.5f), m(19, 0.f), v(19, 0.f), x(19, 0.f);
    g[17] = std::nanf("");
    nnlite::AdamStepParams<float> c{0.9f,  0.999f, 0.1f,  0.001f,           1e-8f, 0.f, 1.f,
                                    false, false,  1e-2f, std::sqrt(0.001f)};
    nnlite::training_kernels<nnlite::cpu>::adam_step(p.data(), g.data(), m.data(), v.data(),
                                                     x.data(), p.size(), c);
    for (std::size_t i = 0; i < p.size(); ++i) {
        CAPTURE(i);
        CHECK(std::isnan(p[i]) == (i == 17));
        CHECK(x[i] == (i == 17 ? 0.f : v[i]));  // amsgrad's max keeps the old value over NaN
    }
}

TEST_CASE("isa: OpenBLAS core names are classified against the CPU's features") {
    isa::CpuFeatures avx512;
    avx512.sse2 = avx512.avx = avx512.avx2 = avx512.fma = avx512.avx512f = true;
    isa::CpuFeatures avx2;
    avx2.sse2 = avx2.avx = avx2.avx2 = avx2.fma = true;
    isa::CpuFeatures sse;
    sse.sse2 = true;

    // The case this machine hits: Debian's OpenBLAS 0.3.21 on Sapphire Rapids.
    const auto v = isa::classify_blas_core("Prescott", avx512);
    CHECK(v.slow);
    CHECK(v.message.find("OPENBLAS_CORETYPE=SkylakeX") != std::string::npos);
    CHECK(v.message.find("prescott") != std::string::npos);
    CHECK(isa::classify_blas_core("Haswell", avx512).slow);
    CHECK(isa::classify_blas_core("Sandybridge", avx2).slow);
    CHECK(isa::classify_blas_core("Sandybridge", avx2).message.find("Haswell") !=
          std::string::npos);
    CHECK(isa::classify_blas_core("Nehalem", avx2).slow);
    CHECK_FALSE(isa::classify_blas_core("SkylakeX", avx512).slow);
    CHECK_FALSE(isa::classify_blas_core("Cooperlake", avx512).slow);
    CHECK_FALSE(isa::classify_blas_core("SapphireRapids", avx512).slow);
    CHECK_FALSE(isa::classify_blas_core("Haswell", avx2).slow);
    CHECK_FALSE(isa::classify_blas_core("Zen", avx2).slow);
    CHECK_FALSE(isa::classify_blas_core("SkylakeX", avx2).slow);        // never "too wide"
    CHECK_FALSE(isa::classify_blas_core("Prescott", sse).slow);         // the best it can do
    CHECK_FALSE(isa::classify_blas_core("SomethingNew", avx512).slow);  // unknown: silent
    CHECK(isa::classify_blas_core("Prescott", sse).message.empty());
}

TEST_CASE("isa: a kernel build narrower than the CPU is named, with the fix") {
    isa::CpuFeatures avx512;
    avx512.sse2 = avx512.avx = avx512.avx2 = avx512.fma = avx512.avx512f = true;
    isa::CpuFeatures avx512_bf16 = avx512;
    avx512_bf16.avx512_bf16 = true;
    isa::CpuFeatures avx2;
    avx2.sse2 = avx2.avx = avx2.avx2 = avx2.fma = true;
    isa::CpuFeatures sse;
    sse.sse2 = true;

    const auto v = isa::classify_kernel_build(isa::Isa::portable, avx512);
    CHECK(v.slow);
    CHECK(v.message.find("compiled for portable") != std::string::npos);
    CHECK(v.message.find("-march=native") != std::string::npos);
    CHECK(v.message.find("bf16") == std::string::npos);  // not offered without AVX512-BF16
    CHECK(isa::classify_kernel_build(isa::Isa::portable, avx512_bf16)
              .message.find("ComputeType::bf16") != std::string::npos);
    isa::CpuFeatures avx512_fp16 = avx512_bf16;  // the kernels' own target: no flag needed
    avx512_fp16.avx512_fp16 = true;
    CHECK(isa::classify_kernel_build(isa::Isa::portable, avx512_fp16)
              .message.find("ComputeType::fp16") != std::string::npos);
    isa::CpuFeatures amx = avx512_fp16;  // bf16 on the tile unit is the faster one there
    amx.amx_bf16 = true;
    CHECK(isa::classify_kernel_build(isa::Isa::portable, amx).message.find("ComputeType::bf16") !=
          std::string::npos);
    CHECK(isa::classify_kernel_build(isa::Isa::avx2_fma, avx512).slow);
    CHECK(isa::classify_kernel_build(isa::Isa::portable, avx2).message.find("-mavx2 -mfma") !=
          std::string::npos);
    CHECK_FALSE(isa::classify_kernel_build(isa::Isa::avx512, avx512).slow);
    CHECK_FALSE(isa::classify_kernel_build(isa::Isa::avx2_fma, avx2).slow);
    CHECK_FALSE(isa::classify_kernel_build(isa::Isa::portable, sse).slow);
    CHECK_FALSE(isa::classify_kernel_build(isa::Isa::avx512, sse).slow);  // require_compiled_isa's
    CHECK(isa::classify_kernel_build(isa::Isa::portable, sse).message.empty());
}

TEST_CASE("isa: cpuid reads something consistent") {
    const auto& f = isa::cpu_features();
#if defined(__x86_64__)
    CHECK(f.sse2);  // part of x86-64
#endif
    if (f.avx512f) CHECK(f.avx2);
    if (f.avx2) CHECK(f.avx);
    CHECK(isa::cpu_supports(isa::Isa::portable));
}
