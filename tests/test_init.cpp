// nn::init: PyTorch's fans and gains, the bounds and standard deviations they imply,
// orthogonality, determinism (same seed, bitwise-identical), bad shapes.
#include <doctest/doctest.h>

#include <cmath>
#include <nnlite/nn/init.hpp>
#include <nnlite/nn/init_orthogonal.hpp>

#include "test_util.hpp"

using namespace nnlite;
namespace init = nnlite::nn::init;

namespace {
struct Moments {
    double mean, stddev, max_abs;
};
Moments moments(const std::vector<double>& v) {
    double mean = 0, var = 0, mx = 0;
    for (double x : v) mean += x;
    mean /= static_cast<double>(v.size());
    for (double x : v) {
        var += (x - mean) * (x - mean);
        mx = std::max(mx, std::abs(x));
    }
    return {mean, std::sqrt(var / static_cast<double>(v.size())), mx};
}
}  // namespace

TEST_CASE("fans and gains follow torch.nn.init") {
    CHECK(init::calculate_fans({4, 3}).fan_in == 3);
    CHECK(init::calculate_fans({4, 3}).fan_out == 4);
    const auto conv = init::calculate_fans({8, 3, 5, 5});  // receptive field 25
    CHECK(conv.fan_in == 75);
    CHECK(conv.fan_out == 200);
    CHECK(init::calculate_gain(init::Nonlinearity::linear) == 1.0);
    CHECK(init::calculate_gain(init::Nonlinearity::sigmoid) == 1.0);
    CHECK(init::calculate_gain(init::Nonlinearity::tanh) == doctest::Approx(5.0 / 3.0));
    CHECK(init::calculate_gain(init::Nonlinearity::relu) == doctest::Approx(std::sqrt(2.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu) ==
          doctest::Approx(std::sqrt(2.0 / (1 + 0.01 * 0.01))));
    CHECK(init::calculate_gain(init::Nonlinearity::leaky_relu, std::sqrt(5.0)) ==
          doctest::Approx(std::sqrt(1.0 / 3.0)));
    CHECK(init::calculate_gain(init::Nonlinearity::selu) == 0.75);
}

TEST_CASE("uniform-family initialisers respect their bounds and fill them") {
    Generator gen(2);
    auto w = Tensor<double>::empty({300, 200});
    SUBCASE("xavier_uniform_") {
        init::xavier_uniform_(w, gen, 2.0);
        const double bound = 2.0 * std::sqrt(6.0 / 500.0);
        const auto m = moments(w.to_vector());
        CHECK(m.max_abs <= bound);
        CHECK(m.max_abs > 0.999 * bound);
        CHECK(m.stddev == doctest::Approx(bound / std::sqrt(3.0)).epsilon(0.01));
    }
    SUBCASE("kaiming_uniform_ with a = sqrt(5) is U(-1/sqrt(fan_in), 1/sqrt(fan_in))") {
        init::kaiming_uniform_(w, gen, std::sqrt(5.0));
        const double bound = 1.0 / std::sqrt(200.0);
        const auto m = moments(w.to_vector());
        CHECK(m.max_abs <= bound);
        CHECK(m.max_abs > 0.999 * bound);
        CHECK(std::abs(m.mean) < 0.01 * bound);
    }
    SUBCASE("kaiming_uniform_ fan_out relu") {
        init::kaiming_uniform_(w, gen, 0.0, init::FanMode::fan_out, init::Nonlinearity::relu);
        const double bound = std::sqrt(2.0) * std::sqrt(3.0 / 300.0);
        const auto m = moments(w.to_vector());
        CHECK(m.max_abs <= bound);
        CHECK(m.max_abs > 0.999 * bound);
    }
    SUBCASE("uniform_ and constants") {
        init::uniform_(w, -3.0, -1.0, gen);
        const auto v = w.to_vector();
        CHECK(*std::min_element(v.begin(), v.end()) >= -3.0);
        CHECK(*std::max_element(v.begin(), v.end()) < -1.0);
        init::constant_(w, 0.25);
        CHECK(w.at({299, 199}) == 0.25);
        init::ones_(w);
        CHECK(w.at({0, 0}) == 1.0);
        init::zeros_(w);
        CHECK(moments(w.to_vector()).max_abs == 0.0);
    }
}

TEST_CASE("normal-family initialisers have the prescribed standard deviation") {
    Generator gen(3);
    auto w = Tensor<double>::empty({400, 250});
    init::xavier_normal_(w, gen);
    CHECK(moments(w.to_vector()).stddev == doctest::Approx(std::sqrt(2.0 / 650.0)).epsilon(0.01));
    init::kaiming_normal_(w, gen, 0.0, init::FanMode::fan_in, init::Nonlinearity::relu);
    CHECK(moments(w.to_vector()).stddev == doctest::Approx(std::sqrt(2.0 / 250.0)).epsilon(0.01));
    init::normal_(w, 5.0, 0.5, gen);
    const auto m = moments(w.to_vector());
    CHECK(m.mean == doctest::Approx(5.0).epsilon(0.001));
    CHECK(m.stddev == doctest::Approx(0.5).epsilon(0.01));
}

TEST_CASE("orthogonal_ gives orthonormal rows or columns, times gain") {
    Generator gen(4);
    for (const Shape& shape : {Shape{4, 10}, Shape{10, 4}, Shape{7, 7}, Shape{6, 2, 3}}) {
        CAPTURE(to_string(shape));
        auto w = Tensor<double>::empty(shape);
        init::orthogonal_(w, gen, 1.5);
        const std::size_t rows = shape[0], cols = w.numel() / rows;
        const auto v = w.to_vector();
        // Gram matrix of the smaller side: W W^T (rows <= cols) or W^T W.
        const bool by_rows = rows <= cols;
        const std::size_t k = by_rows ? rows : cols, len = by_rows ? cols : rows;
        double worst = 0;
        for (std::size_t a = 0; a < k; ++a)
            for (std::size_t b = 0; b < k; ++b) {
                double dot = 0;
                for (std::size_t i = 0; i < len; ++i)
                    dot += by_rows ? v[a * cols + i] * v[b * cols + i]
                                   : v[i * cols + a] * v[i * cols + b];
                worst = std::max(worst, std::abs(dot - (a == b ? 2.25 : 0.0)));
            }
        CHECK(worst < 1e-12);
    }
    // float: W W^T = I to float precision.
    auto wf = Tensor<float>::empty({16, 64});
    init::orthogonal_(wf, gen);
    const auto v = wf.to_vector();
    double worst = 0;
    for (std::size_t a = 0; a < 16; ++a)
        for (std::size_t b = 0; b < 16; ++b) {
            double dot = 0;
            for (std::size_t i = 0; i < 64; ++i)
                dot += static_cast<double>(v[a * 64 + i]) * static_cast<double>(v[b * 64 + i]);
            worst = std::max(worst, std::abs(dot - (a == b ? 1.0 : 0.0)));
        }
    CHECK(worst < 1e-5);
}

TEST_CASE("orthogonal_: known answers of the sign-fixed QR") {
    // Column 0 of Q is a_0 / |a_0| (r_00 > 0 after the sign fix), where A is the normal
    // matrix drawn in row-major order: for a tall [10, 4] weight, W[:, 0] * |a_0| / gain
    // equals the first column of the draws; for a wide [3, 8] one (A = draws^T), W[0, :].
    for (const bool wide : {false, true}) {
        CAPTURE(wide);
        const std::size_t rows = wide ? 3 : 10, cols = wide ? 8 : 4;
        Generator gen(2024), replay(2024);
        auto w = Tensor<double>::empty({rows, cols});
        init::orthogonal_(w, gen, 2.0);
        std::vector<double> draws(rows * cols);
        for (auto& x : draws) x = replay.normal(0.0, 1.0);
        const std::size_t len = wide ? cols : rows;
        auto draw = [&](std::size_t i) { return wide ? draws[i] : draws[i * cols]; };
        auto weight = [&](std::size_t i) { return wide ? w.at({0, i}) : w.at({i, 0}); };
        double norm = 0;
        for (std::size_t i = 0; i < len; ++i) norm += draw(i) * draw(i);
        norm = std::sqrt(norm);
        for (std::size_t i = 0; i < len; ++i)
            CHECK(weight(i) == doctest::Approx(2.0 * draw(i) / norm).epsilon(1e-12));
        CHECK(gen.offset() == replay.offset());  // the same number of draws
    }
    // A 1 x 1 weight is +-gain with the sign of its one draw.
    Generator gen(5), replay(5);
    auto one = Tensor<double>::empty({1, 1});
    init::orthogonal_(one, gen, 3.0);
    CHECK(one.item() == (replay.normal(0.0, 1.0) < 0 ? -3.0 : 3.0));
}

TEST_CASE("same seed, bitwise-identical values; the initialisers return the same handle") {
    for (int which = 0; which < 6; ++which) {
        CAPTURE(which);
        Generator a(77), b(77);
        auto x = Tensor<float>::empty({9, 5}), y = Tensor<float>::empty({9, 5});
        auto run = [which](Tensor<float> t, Generator& g) {
            switch (which) {
                case 0:
                    return init::xavier_uniform_(t, g);
                case 1:
                    return init::xavier_normal_(t, g);
                case 2:
                    return init::kaiming_uniform_(t, g);
                case 3:
                    return init::kaiming_normal_(t, g);
                case 4:
                    return init::orthogonal_(t, g);
                default:
                    return init::normal_(t, 0.0, 1.0, g);
            }
        };
        auto rx = run(x, a);
        run(y, b);
        CHECK(rx.shares_storage_with(x));
        CHECK(x.to_vector() == y.to_vector());
        run(y, b);  // the stream moved on
        CHECK(x.to_vector() != y.to_vector());
    }
}

TEST_CASE("initialisers reject shapes without fans and bad parameters") {
    Generator gen;
    auto v = Tensor<float>::empty({5});
    CHECK_THROWS_WITH_AS(init::xavier_uniform_(v, gen),
                         doctest::Contains("fewer than 2 dimensions (shape [5])"), ValueError);
    CHECK_THROWS_AS(init::kaiming_normal_(v, gen), ValueError);
    CHECK_THROWS_WITH_AS(init::orthogonal_(v, gen), doctest::Contains("got shape [5]"), ValueError);
    CHECK_THROWS_AS(init::kaiming_uniform_(Tensor<float>::empty({3, 0}), gen), ValueError);
    CHECK_THROWS_AS(init::uniform_(v, 1.0, 0.0, gen), ValueError);
    CHECK_THROWS_AS(init::normal_(v, 0.0, -1.0, gen), ValueError);
}
