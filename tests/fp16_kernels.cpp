// The fp16 kernels (backend/cpu/gemm/hgemm.hpp, lstm_step.hpp's fp16 step) and the LSTM
// under ComputeType::fp16, against references. Needs a CPU with AVX512-FP16: elsewhere the
// program prints why and exits with 77, which ctest reports as skipped (tests/CMakeLists.txt);
// the refusal itself is tested everywhere by test_bf16.cpp (compute types). Built with the
// project's flags (no -march): the kernels bring their own target attribute.
//
// What the kernel computes (hgemm.hpp): op(B) scaled by a power of two 2^sb and each block
// of op(A) that it packs (MC rows x one KC k-block) by its own 2^sa (largest magnitude into
// [4, 8)), rounded to fp16; per column, the products of even
// and of odd k summed in two fp16 lanes by fused multiply-adds (one rounding each) over
// blocks of KP pairs, the two lanes added in fp16, the block sums added in fp32, the
// result times alpha 2^-(sa + sb) (+ beta C). Every one of those roundings is reproduced
// here in double (emulate()); the kernel must agree with that to a few fp32 ulps of the
// sums (only fp32's last bits and the alpha/beta fusing may differ), which catches any
// packing, scaling or blocking mistake: a wrong element would be off by the size of a
// product.
//
// Against fp32 inputs the typical error is that of fp16's 11 significant bits (unit
// roundoff u = 2^-11) on each factor plus the fp16 sums: the normwise ratio
// ||C - C32||_F / ||alpha (sum_k (a b)^2)^(1/2)||_F is observed at 2^-10.9 .. 2^-9.2 and required
// in [2^-14, 2^-9]: below, the inputs were not rounded; above, something rounds worse than fp16
// (bf16 gives ~2^-8.7).
//
// LSTM (fp16 vs fp32, same weights and inputs): every output and gradient within 2^-7
// (normwise, relative) and not closer than 2^-18, also when the loss is scaled by 2^-30 (the
// gradients then lie far below fp16's smallest normal, 2^-14: the per-operand scales must
// carry them).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nnlite/backend/cpu/gemm/hgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/backend/cpu/lstm_kernels.hpp>
#include <nnlite/backend/cpu/lstm_step.hpp>
#include <random>
#include <string>
#include <vector>

#include "compute_compare.hpp"
#include "shared_a_check.hpp"

namespace {

namespace gemm = nnlite::cpu_gemm;
using nnlite::ComputeType;

using compute_test::random_vec;

/// x rounded to fp16 (nearest even, gradual underflow, overflow to infinity), in double.
double round_fp16(double x) {
    if (x == 0 || !std::isfinite(x)) return x;
    int e = 0;
    (void)std::frexp(x, &e);  // |x| = f 2^e, f in [0.5, 1): 11 bits down to 2^(e - 11)
    const double q = std::ldexp(1.0, std::max(e - 11, -24));
    const double r = std::nearbyint(x / q) * q;
    return std::abs(r) > 65504.0 ? std::copysign(std::numeric_limits<double>::infinity(), x) : r;
}

double max_abs(const std::vector<float>& v, std::size_t rows, std::size_t cols, std::size_t ld) {
    double m = 0;
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j)
            m = std::max(m, std::abs(static_cast<double>(v[r * ld + j])));
    return m;
}

/// The kernel's sum for one element over k-range [k0, k0 + kc) (x, y: the scaled and
/// rounded factors): fp16 lanes of even and odd k over blocks of KP pairs, fp32 across.
float emulate_kblock(const std::vector<double>& x, const std::vector<double>& y, std::size_t k0,
                     std::size_t kc) {
    float acc = 0.f;
    const std::size_t block = 2 * gemm::fp16::KP;
    for (std::size_t b0 = 0; b0 < kc; b0 += block) {
        double even = 0, odd = 0;
        for (std::size_t p = b0; p < std::min(kc, b0 + block); ++p) {
            double& lane = (p % 2 == 0) ? even : odd;
            lane = round_fp16(x[k0 + p] * y[k0 + p] + lane);  // exact in double, one rounding
        }
        acc += static_cast<float>(round_fp16(even + odd));
    }
    return acc;
}

struct GemmCase {
    bool ta, tb;
    std::size_t m, n, k;
    float alpha, beta;
    int threads;
    float a_scale = 1.f;  // magnitude of A's elements (tiny or beyond fp16's range)
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
    CAPTURE(g.a_scale);
    CAPTURE(packed);
    const std::size_t m = g.m, n = g.n, k = g.k;
    const std::size_t lda = (g.ta ? m : k) + 3, ldb = (g.tb ? k : n) + 2, ldc = n + 5;
    auto a = random_vec((g.ta ? k : m) * lda, rng, g.a_scale);
    // Row tiles and k-blocks of different magnitudes (each gets its own scale): op(A)[i, kk]
    // times 2^-(3 (i / MC) + kk / KC).
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t p = 0; p < k; ++p) {
            float& v = g.ta ? a[p * lda + i] : a[i * lda + p];
            v = std::ldexp(v, -static_cast<int>(3 * (i / gemm::fp16::MC) + p / gemm::fp16::KC));
        }
    const auto b = random_vec((g.tb ? n : k) * ldb, rng);
    const auto c0 = random_vec(m * ldc, rng);
    auto c = c0;
    if (packed) {
        gemm::PackedH pb;
        gemm::pack_bh(g.tb, k, n, b.data(), ldb, pb);
        gemm::hgemm_packed(g.ta, m, a.data(), lda, g.alpha, pb, g.beta, c.data(), ldc, g.threads);
    } else {
        gemm::hgemm(g.ta, g.tb, m, n, k, g.alpha, a.data(), lda, b.data(), ldb, g.beta, c.data(),
                    ldc, g.threads);
    }
    // The scales the kernel must have chosen (the padding of a and b is random too, but the
    // kernel only reads the matrices: take the maxima over the matrices alone): one for B,
    // one per block of MC rows x KC k of op(A).
    const int sb = gemm::fp16_scale_exponent(
        static_cast<float>(g.tb ? max_abs(b, n, k, ldb) : max_abs(b, k, n, ldb)));
    constexpr std::size_t MC = gemm::fp16::MC, KC = gemm::fp16::KC;
    const std::size_t nblocks = (k + KC - 1) / KC;
    std::vector<int> sa((m + MC - 1) / MC * nblocks);
    for (std::size_t i0 = 0; i0 < m; i0 += MC)
        for (std::size_t kb = 0; kb < nblocks; ++kb) {
            double mx = 0;
            for (std::size_t i = i0; i < std::min(m, i0 + MC); ++i)
                for (std::size_t p = kb * KC; p < std::min(k, kb * KC + KC); ++p)
                    mx = std::max(
                        mx, std::abs(static_cast<double>(g.ta ? a[p * lda + i] : a[i * lda + p])));
            sa[i0 / MC * nblocks + kb] = gemm::fp16_scale_exponent(static_cast<float>(mx));
        }
    const double u24 = std::ldexp(1.0, -24), al = std::abs(static_cast<double>(g.alpha));
    double err2 = 0, scale2 = 0;
    std::size_t bad = 0;
    std::vector<double> x(k), y(k);
    // Large products: every 7th row (7 and MR = 6 coprime: every row of a panel, in turn)
    // and the last rows (the edge panel, the last row tile), all columns.
    const bool sample = m * n * k > 2'000'000;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            if (sample && i % 7 != 0 && i + 8 < m) break;
            double s32 = 0, abs32 = 0, sq = 0;
            for (std::size_t p = 0; p < k; ++p) {
                const float xa = g.ta ? a[p * lda + i] : a[i * lda + p];
                const float yb = g.tb ? b[j * ldb + p] : b[p * ldb + j];
                x[p] =
                    round_fp16(static_cast<double>(std::ldexp(xa, sa[i / MC * nblocks + p / KC])));
                y[p] = round_fp16(static_cast<double>(std::ldexp(yb, sb)));
                const double xy = static_cast<double>(xa) * yb;
                s32 += xy;
                abs32 += std::abs(xy);
                sq += xy * xy;
            }
            // The kernel's k-blocks: C = alpha_s * sum + beta * C, then + 1 * C.
            float want = c0[i * ldc + j];
            for (std::size_t kb = 0; kb < nblocks; ++kb) {
                const std::size_t k0 = kb * KC;
                const float unscale = std::ldexp(1.f, -sa[i / MC * nblocks + kb]);
                const float y0 = emulate_kblock(x, y, k0, std::min(KC, k - k0)) * unscale *
                                 std::ldexp(g.alpha, -sb);
                const float bet = kb == 0 ? g.beta : 1.f;
                want = bet != 0.f ? std::fma(want, bet, y0) : y0;
            }
            if (k == 0) want = g.beta == 0.f ? 0.f : g.beta * c0[i * ldc + j];
            const double got = c[i * ldc + j];
            const double old = g.beta == 0.f ? 0.0 : static_cast<double>(g.beta) * c0[i * ldc + j];
            // fp32's last bits: the sums' additions and the alpha/beta steps.
            const double tol =
                (static_cast<double>(2 * k / (2 * gemm::fp16::KP)) + 8) * u24 *
                    (al * abs32 * 1.1 + std::abs(old) + std::abs(static_cast<double>(want))) +
                1e-30;
            if (!(std::abs(got - want) <= tol)) {
                if (bad < 5) MESSAGE("C[", i, ",", j, "] = ", got, ", emulated ", want);
                ++bad;
            }
            err2 += (got - (g.alpha * s32 + old)) * (got - (g.alpha * s32 + old));
            scale2 += al * al * sq;
        }
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = n; j < ldc; ++j) REQUIRE(c[i * ldc + j] == c0[i * ldc + j]);
    CHECK(bad == 0);
    if (k >= 8 && g.alpha != 0.f && m * n >= 8) {
        const double ratio = std::sqrt(err2 / scale2);
        CAPTURE(ratio);
        MESSAGE("normwise error ratio 2^", std::log2(ratio));
        CHECK(ratio <= std::ldexp(1.0, -9));
        CHECK(ratio >= std::ldexp(1.0, -14));
    }
}

}  // namespace

TEST_CASE("fp16 rounding: the scalar reference and the test's agree (ties, subnormals, overflow)") {
    const std::vector<float> vals = {1.0f + std::ldexp(1.0f, -11),      // tie: to even (1)
                                     1.0f + 3 * std::ldexp(1.0f, -11),  // tie: up
                                     65504.f,
                                     65519.f,
                                     65520.f,
                                     -1e6f,
                                     std::ldexp(1.0f, -24),
                                     std::ldexp(1.0f, -25),
                                     std::ldexp(3.0f, -26),
                                     std::ldexp(1.0f, -15) * 1.3f,
                                     0.1f,
                                     -7.25f,
                                     0.f,
                                     -0.f};
    for (const float v : vals) {
        CAPTURE(v);
        CHECK(static_cast<double>(gemm::fp16_round(v)) == round_fp16(v));
    }
    CHECK(std::isnan(gemm::fp16_round(std::nanf(""))));
    CHECK(gemm::fp16_bits(-0.f) == 0x8000u);
    CHECK(gemm::fp16_scale_exponent(1.f) == 2);  // 1 * 2^2 = 4: into [4, 8)
    CHECK(gemm::fp16_scale_exponent(7.9f) == 0);
    CHECK(gemm::fp16_scale_exponent(8.f) == -1);
    CHECK(gemm::fp16_scale_exponent(std::ldexp(1.f, -40)) == 42);
    CHECK(gemm::fp16_scale_exponent(0.f) == 0);
    CHECK(gemm::fp16_scale_exponent(std::numeric_limits<float>::infinity()) == 0);
    CHECK(gemm::fp16_scale_exponent(1e-44f) == 126);  // clamped
    CHECK(gemm::fp16_scale_exponent(3e38f) == -125);
}

TEST_CASE("fp16 GEMM against an emulation of its roundings and against fp32") {
    std::mt19937 rng(11);
    const std::vector<GemmCase> cases = {
        {false, false, 1, 1, 1, 1.f, 0.f, 1},
        {false, true, 1, 1, 7, 1.f, 1.f, 1},
        {true, false, 1, 37, 3, 2.f, 0.f, 1},
        {true, true, 29, 1, 33, 1.f, 0.5f, 1},
        {false, false, 7, 9, 11, 1.f, 0.f, 1},
        {false, true, 13, 45, 71, -1.5f, 1.f, 1},
        {true, false, 17, 33, 64, 1.f, 0.f, 2},
        {true, true, 6, 32, 2, 1.f, 0.f, 1},
        {false, false, 9, 31, 513, 1.f, 1.f, 1},
        {false, true, 130, 70, 1025, 1.f, 0.f, 2},
        {true, false, 300, 200, 37, 0.5f, 0.f, 2},
        {true, true, 97, 513, 130, 1.f, -1.f, 2},
        {false, false, 64, 1024, 256, 1.f, 0.f, 2},
        {false, true, 5, 3, 0, 1.f, 0.5f, 1},
        {true, false, 31, 7, 1100, 1.f, 0.f, 2},
        {false, false, 3, 5, 16, 0.f, 2.f, 1},
        // operands far from fp16's range: the scales must carry them
        {false, true, 19, 40, 300, 1.f, 0.f, 1, 1e-7f},
        {true, false, 12, 33, 129, 1.f, 0.f, 2, 3e5f},
        {false, false, 7, 65, 257, 1.f, 0.f, 1, std::ldexp(1.f, -50)},
        {true, true, 9, 20, 140, 1.f, 0.f, 1, 1e30f},  // fp32 results near 1e30
        {false, true, 8, 17, 90, 1.f, 0.f, 2, 1e-30f},
        // several row tiles and k-blocks, each with its own scale
        {false, false, 200, 40, 1300, 1.f, 0.f, 2},
        {true, true, 193, 33, 1030, 1.f, 1.f, 1},
    };
    for (const auto& g : cases) {
        check_gemm(g, rng, false);
        check_gemm(g, rng, true);
    }
}

TEST_CASE("fp16 GEMM: a power-of-two factor on an operand changes the result by exactly that") {
    std::mt19937 rng(3);
    const std::size_t m = 37, n = 70, k = 300;
    const auto a = random_vec(m * k, rng), b = random_vec(k * n, rng);
    std::vector<float> a_small(a), c1(m * n), c2(m * n);
    for (auto& v : a_small) v = std::ldexp(v, -40);  // far below fp16's smallest subnormal
    gemm::hgemm(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c1.data(), n, 1);
    gemm::hgemm(false, false, m, n, k, 1.f, a_small.data(), k, b.data(), n, 0.f, c2.data(), n, 2);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < m * n; ++i) differ += c2[i] != std::ldexp(c1[i], -40);
    CHECK(differ == 0);
}

TEST_CASE("fp16 GEMM: two products sharing op(A) are the bits of two separate products") {
    // Each B keeps its own scale: right operands of very different magnitude.
    std::mt19937 rng(29);
    shared_a_test::check_same_bits([](auto... args) { gemm::hgemm(args...); },
                                   [](auto... args) { gemm::hgemm_shared_a(args...); }, rng, 1e-3f,
                                   50.f);
}

#if NNLITE_FP16_KERNELS  // (without the kernels main() skips before any test runs)
TEST_CASE("fp16 scales: the block maximum finds the largest magnitude wherever it lies") {
    // max_abs_rows reads whole vectors four at a time, then single vectors, then a masked
    // tail: a largest value in any of those places, in any row, must be the result; a NaN
    // is skipped (it must not set the scale).
    std::mt19937 rng(3);
    for (std::size_t cols : {1, 15, 16, 17, 63, 64, 65, 100, 128, 130}) {
        const std::size_t rows = 3, ld = cols + 5;
        auto x = random_vec(rows * ld, rng);  // |x| < 1
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t j = 0; j < cols; ++j) {
                CAPTURE(cols);
                CAPTURE(r);
                CAPTURE(j);
                const float saved = x[r * ld + j];
                x[r * ld + j] = -1000.f;
                x[r * ld + cols] = 5000.f;  // past the row: never read
                CHECK(gemm::fp16_detail::max_abs_rows(x.data(), 0, rows, cols, ld) == 1000.f);
                x[r * ld + j] = std::numeric_limits<float>::quiet_NaN();
                CHECK(gemm::fp16_detail::max_abs_rows(x.data(), 0, rows, cols, ld) < 1.f);
                x[r * ld + j] = saved;
                x[r * ld + cols] = 0.f;
            }
    }
}
#endif

TEST_CASE("fp16 GEMM: NaN and infinity reach exactly the results they touch") {
    std::mt19937 rng(5);
    const std::size_t m = 40, n = 50, k = 300;
    auto a = random_vec(m * k, rng), b = random_vec(k * n, rng);
    std::vector<float> ref(m * n), c(m * n);
    a[13 * k + 200] = 0.f;
    gemm::hgemm(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, ref.data(), n, 1);
    // A NaN in row 13 of A: row 13 of C is NaN, every other element is unchanged (NaN does
    // not set a block's scale).
    a[13 * k + 200] = std::numeric_limits<float>::quiet_NaN();
    gemm::hgemm(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n, 1);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            CAPTURE(i);
            CAPTURE(j);
            if (i == 13)
                CHECK(std::isnan(c[i * n + j]));
            else
                CHECK(c[i * n + j] == ref[i * n + j]);
        }
    // An infinity in column 7 of B: column 7 of C is non-finite, the rest finite (B then goes
    // unscaled, so those only round differently).
    a[13 * k + 200] = 0.f;
    b[100 * n + 7] = std::numeric_limits<float>::infinity();
    gemm::hgemm(false, false, m, n, k, 1.f, a.data(), k, b.data(), n, 0.f, c.data(), n, 2);
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t j = 0; j < n; ++j) {
            CAPTURE(i);
            CAPTURE(j);
            CHECK(std::isfinite(c[i * n + j]) == (j != 7));
        }
}

TEST_CASE("fp16 fused LSTM step equals the emulated product + gate math") {
    std::mt19937 rng(7);
    using K = nnlite::lstm_kernels<nnlite::cpu>;
    for (std::size_t H : {1, 5, 8, 9, 33, 70}) {
        for (std::size_t rows : {1, 5, 6, 7, 13, 64}) {
            CAPTURE(H);
            CAPTURE(rows);
            const std::size_t G = 4 * H, ldh = H + 3;
            const auto w_hh = random_vec(G * H, rng, 0.3f), h = random_vec(rows * ldh, rng),
                       gx = random_vec(rows * G, rng), c_prev = random_vec(rows * H, rng);
            const int sa = gemm::fp16_scale_exponent(static_cast<float>(max_abs(h, rows, H, ldh)));
            const int sb = gemm::fp16_scale_exponent(static_cast<float>(max_abs(w_hh, G, H, H)));
            std::vector<float> ref_gates(rows * G), ref_c(rows * H), ref_h(rows * H);
            std::vector<double> x(H), y(H);
            for (std::size_t r = 0; r < rows; ++r)
                for (std::size_t j = 0; j < G; ++j) {
                    for (std::size_t p = 0; p < H; ++p) {
                        x[p] = round_fp16(std::ldexp(static_cast<double>(h[r * ldh + p]), sa));
                        y[p] = round_fp16(std::ldexp(static_cast<double>(w_hh[j * H + p]), sb));
                    }
                    ref_gates[r * G + j] = gx[r * G + j] + emulate_kblock(x, y, 0, H) *
                                                               std::ldexp(1.f, -sa) *
                                                               std::ldexp(1.f, -sb);
                }
            K::gates_forward(ref_gates.data(), c_prev.data(), ref_c.data(), ref_h.data(), rows, H);

            auto w = K::pack_gate_weights(w_hh.data(), H, ComputeType::fp16);
            REQUIRE(w.fp16);
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
            // fp32's last bits and the vectorised activations' (as the bf16 test).
            CHECK(worst <= 1e-5 * static_cast<double>(H + 1));
        }
    }
}

TEST_CASE("nn::LSTM in fp16 against fp32: outputs and every gradient") {
    auto cases = compute_test::lstm_cases();
    // gradients of ~1e-9: far below fp16's normal range, carried by the scales
    compute_test::LstmCase tiny = cases[0];
    tiny.name = "bi2_tiny_loss";
    tiny.loss_scale = std::ldexp(1.f, -30);
    cases.push_back(tiny);
    for (const auto& c : cases) {
        SUBCASE(c.name) {
            compute_test::compare_lstm(c, ComputeType::fp16, std::ldexp(1.0, -7),
                                       std::ldexp(1.0, -18));
        }
    }
}

int main(int argc, char** argv) {
    if (!nnlite::cpu_gemm::fp16_available()) {
        std::printf("skipped: %s\n",
                    nnlite::cpu_gemm::fp16_unavailable(nnlite::cpu_isa::cpu_features()).c_str());
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
