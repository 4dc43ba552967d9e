// ops::dropout and nn::Dropout: inverted scaling, keep rate, seeded masks, the backward
// using the same mask (gradcheck), identity in eval and for p = 0, zeros for p = 1, bad p.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nnlite/autograd/gradcheck.hpp>
#include <nnlite/nn/dropout.hpp>
#include <nnlite/ops/dropout.hpp>
#include <nnlite/ops/reduction.hpp>
#include <vector>

#include "test_util.hpp"

using namespace nnlite;

TEST_CASE("dropout zeroes about p of the elements and scales the rest by 1/(1-p)") {
    Generator gen(1);
    const std::size_t n = 200000;
    auto x = Tensor<float>::ones({n});
    for (double p : {0.1, 0.5, 0.8}) {
        auto y = ops::dropout(x, p, true, gen).to_vector();
        const float scale = static_cast<float>(1.0 / (1.0 - p));
        std::size_t kept = 0, other = 0;
        for (float v : y) {
            kept += v == scale;
            other += v != 0.f && v != scale;
        }
        CHECK(other == 0);
        const double rate = static_cast<double>(kept) / static_cast<double>(n);
        // Binomial: std of the rate is sqrt(p(1-p)/n) <= 0.0012; allow 5 sigma.
        CHECK(std::abs(rate - (1.0 - p)) < 0.006);
        double mean = 0;
        for (float v : y) mean += v;
        CHECK(mean / static_cast<double>(n) == doctest::Approx(1.0).epsilon(0.02));
    }
}

TEST_CASE("dropout masks are a pure function of the generator state") {
    Generator a(99), b(99);
    auto x = Tensor<float>::normal({64}, 0.f, 1.f, a);
    Generator c(99);
    (void)Tensor<float>::normal({64}, 0.f, 1.f, c);
    auto y1 = ops::dropout(x, 0.5, true, a).to_vector();
    auto y2 = ops::dropout(x, 0.5, true, c).to_vector();
    CHECK(y1 == y2);
    auto y3 = ops::dropout(x, 0.5, true, a).to_vector();
    CHECK(y1 != y3);  // the stream moved on

    nn::Dropout<float> d1(0.3, std::uint64_t{42}), d2(0.3, std::uint64_t{42});
    CHECK(d1(x).to_vector() == d2(x).to_vector());
}

TEST_CASE("dropout backward multiplies by the same mask") {
    Generator gen(4);
    auto x = Tensor<float>::full({1000}, 2.f).requires_grad_();
    auto y = ops::dropout(x, 0.4, true, gen);
    ops::sum(y).backward();
    const auto yv = y.to_vector(), gv = x.grad().to_vector();
    std::vector<float> expected(yv.size());
    for (std::size_t i = 0; i < yv.size(); ++i) expected[i] = yv[i] / 2.f;
    nnlite::testing::check_close(gv, expected, 0.0, 0.0, "grad == mask");

    // gradcheck with a fixed mask: the function reseeds its generator on every call.
    Generator data(8);
    auto xd = Tensor<double>::normal({3, 7}, 0.0, 1.0, data);
    auto res = autograd::gradcheck<double, cpu>(
        [](const std::vector<Tensor<double>>& in) {
            Generator fixed(123);
            return ops::dropout(in[0], 0.35, true, fixed);
        },
        {xd});
    CHECK_MESSAGE(res.ok, res.report);
    CHECK(res.max_abs_error < 1e-8);
}

TEST_CASE("Dropout is the identity in eval mode and for p = 0; p = 1 gives zeros") {
    auto x = Tensor<float>::from({1, -2, 3, 4});
    nn::Dropout<float> drop(0.5, std::uint64_t{1});
    drop.eval();
    CHECK_FALSE(drop.is_training());
    auto y = drop(x);
    CHECK(y.shares_storage_with(x));
    drop.train();
    CHECK(drop(x).to_vector() != x.to_vector());

    CHECK(ops::dropout(x, 0.0, true).shares_storage_with(x));
    auto xg = Tensor<float>::from({1, 2, 3}).requires_grad_();
    auto z = ops::dropout(xg, 1.0, true);
    CHECK(z.to_vector() == std::vector<float>{0, 0, 0});
    ops::sum(z).backward();
    CHECK(xg.grad().to_vector() == std::vector<float>{0, 0, 0});
}

TEST_CASE("Dropout rejects p outside [0, 1]") {
    CHECK_THROWS_WITH_AS(nn::Dropout<float>(1.5), doctest::Contains("must be in [0, 1], got 1.5"),
                         ValueError);
    CHECK_THROWS_AS(nn::Dropout<float>(-0.1), ValueError);
    CHECK_THROWS_AS(ops::dropout(Tensor<float>::ones({2}), std::nan(""), true), ValueError);
    CHECK_THROWS_WITH_AS(ops::dropout(Tensor<float>::ones({2}), 2.0, false),
                         doctest::Contains("dropout: dropout probability"), ValueError);
}

TEST_CASE("cpu dropout masks split over the thread team equal the word-by-word stream") {
    // A range that starts mid-block (first_word 0..3) and spans several team chunks; the
    // reference walks the Philox stream one word at a time, as the serial loop did.
    const std::size_t n = 3 * (std::size_t{1} << 15) + 5;
    const double p = 0.3;
    const float scale = static_cast<float>(1.0 / (1.0 - p));
    const int before = num_threads();
    for (unsigned first_word = 0; first_word < 4; ++first_word) {
        PhiloxRange r;
        r.key = 0x1234abcdULL;
        r.first_block = 77;
        r.first_word = first_word;
        std::vector<float> want(n);
        std::uint64_t block = r.first_block;
        unsigned word = r.first_word;
        auto words = Generator::philox(r.key, block);
        for (std::size_t j = 0; j < n; ++j) {
            if (word == 4) {
                words = Generator::philox(r.key, ++block);
                word = 0;
            }
            want[j] = static_cast<double>(words[word++]) / 4294967296.0 >= p ? scale : 0.f;
        }
        for (const int threads : {1, 2}) {
            CAPTURE(first_word);
            CAPTURE(threads);
            set_num_threads(threads);
            std::vector<float> got(n, -1.f);
            training_kernels<cpu>::dropout_mask(got.data(), n, p, scale, r);
            CHECK(got == want);
        }
    }
    set_num_threads(before);
}
