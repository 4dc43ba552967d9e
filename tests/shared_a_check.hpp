// Shared by test_cpu_gemm.cpp and fp16_kernels.cpp: a GEMM that multiplies one op(A) by
// two right operands at once (sgemm_shared_a, hgemm_shared_a: op(A) packed once, as the
// LSTM's two weight gradients dG^T x and dG^T h_prev use it) must give each output exactly
// the bits of its own single product: part panels, several row tiles, k-blocks and column
// tiles, an empty product, k = 0, both transposes, beta 0 (C poisoned, so never read) and 1,
// 1 and 2 threads.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace shared_a_test {

/// single(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads) and
/// shared(ta, tb, m, n1, n2, k, alpha, a, lda, b1, ldb1, b2, ldb2, beta, c1, ldc1, c2, ldc2,
/// threads); the two right operands' values are scaled by scale1 and scale2.
template <class Single, class Shared>
void check_same_bits(Single single, Shared shared, std::mt19937& rng, float scale1 = 1.f,
                     float scale2 = 1.f) {
    auto random_vec = [&rng](std::size_t n, float scale) {
        std::uniform_real_distribution<float> u(-1.f, 1.f);
        std::vector<float> v(n);
        for (auto& x : v) x = u(rng) * scale;
        return v;
    };
    struct Case {
        bool ta, tb;
        std::size_t m, n1, n2, k;
    };
    const Case cases[] = {{true, false, 1024, 512, 256, 300},  // seed dW, a chunk of 300 rows
                          {true, false, 256, 96, 64, 1025},    // cpu preset dW, odd k
                          {true, false, 70, 33, 17, 9},       {false, false, 9, 1, 31, 3},
                          {false, true, 100, 700, 600, 260},  {true, true, 8, 0, 5, 4},
                          {false, false, 3, 7, 2, 0}};
    for (const auto& c : cases)
        for (float beta : {0.f, 1.f})
            for (int threads : {1, 2}) {
                CAPTURE(c.ta);
                CAPTURE(c.tb);
                CAPTURE(c.m);
                CAPTURE(c.n1);
                CAPTURE(c.n2);
                CAPTURE(c.k);
                CAPTURE(beta);
                CAPTURE(threads);
                const std::size_t lda = (c.ta ? c.m : c.k) + 1;
                const std::size_t ldb1 = (c.tb ? c.k : c.n1) + 2, ldb2 = (c.tb ? c.k : c.n2) + 3;
                const std::size_t ldc1 = c.n1 + 4, ldc2 = c.n2 + 1;
                const auto a = random_vec((c.ta ? c.k : c.m) * lda + 1, 1.f);
                const auto b1 = random_vec((c.tb ? c.n1 : c.k) * ldb1 + 1, scale1);
                const auto b2 = random_vec((c.tb ? c.n2 : c.k) * ldb2 + 1, scale2);
                auto c1 = random_vec(c.m * ldc1, 1.f), c2 = random_vec(c.m * ldc2, 1.f);
                if (beta == 0.f)
                    for (auto* v : {&c1, &c2}) std::fill(v->begin(), v->end(), std::nanf(""));
                auto e1 = c1, e2 = c2;
                single(c.ta, c.tb, c.m, c.n1, c.k, 0.75f, a.data(), lda, b1.data(), ldb1, beta,
                       e1.data(), ldc1, threads);
                single(c.ta, c.tb, c.m, c.n2, c.k, 0.75f, a.data(), lda, b2.data(), ldb2, beta,
                       e2.data(), ldc2, threads);
                shared(c.ta, c.tb, c.m, c.n1, c.n2, c.k, 0.75f, a.data(), lda, b1.data(), ldb1,
                       b2.data(), ldb2, beta, c1.data(), ldc1, c2.data(), ldc2, threads);
                // The same bits (memcmp: the NaN poison between rows compares equal too).
                CHECK(std::memcmp(c1.data(), e1.data(), c1.size() * sizeof(float)) == 0);
                CHECK(std::memcmp(c2.data(), e2.data(), c2.size() * sizeof(float)) == 0);
            }
}

}  // namespace shared_a_test
