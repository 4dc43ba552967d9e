// Shared by the reduced-precision kernel tests (bf16_kernels.cpp, fp16_kernels.cpp): random
// data, the normwise relative difference, and an nn::LSTM run in a compute type against
// the same LSTM in fp32, every output and gradient compared.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <nnlite/nn/lstm.hpp>
#include <nnlite/ops/arithmetic.hpp>
#include <nnlite/ops/reduction.hpp>
#include <random>
#include <string>
#include <vector>

namespace compute_test {

inline std::vector<float> random_vec(std::size_t n, std::mt19937& rng, float scale = 1.f) {
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> v(n);
    for (auto& x : v) x = u(rng) * scale;
    return v;
}

/// ||a - b|| / ||b|| (||a - b|| when b is zero).
inline double rel_diff(const nnlite::Tensor<float>& a, const nnlite::Tensor<float>& b) {
    const auto x = a.to_vector(), y = b.to_vector();
    REQUIRE(x.size() == y.size());
    double d = 0, s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        d += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        s += static_cast<double>(y[i]) * y[i];
    }
    return s == 0 ? std::sqrt(d) : std::sqrt(d / s);
}

struct LstmCase {
    const char* name;
    std::size_t input, hidden, layers, time, batch;
    bool bidirectional, state;
    std::vector<std::int64_t> lengths;
    float loss_scale = 1.f;  // the loss's weights lie in [-loss_scale, loss_scale]
};

/// Bidirectional, 2-layer, variable-length, B = 1, T = 1, with and without initial state.
inline std::vector<LstmCase> lstm_cases() {
    return {
        {"bi2_unequal", 6, 9, 2, 7, 5, true, true, {7, 3, 1, 5, 7}},
        {"bi2_B1", 6, 9, 2, 6, 1, true, false, {}},
        {"bi2_T1", 5, 8, 2, 1, 4, true, true, {}},
        {"uni1_state", 7, 5, 1, 9, 3, false, true, {9, 4, 2}},
        {"bi1_wide", 33, 40, 1, 12, 20, true, false, {12, 11, 3, 12, 1, 7,  8,  12, 5, 6,
                                                      9,  10, 2, 12, 4, 12, 12, 3,  8, 1}},
    };
}

/// The LSTM of case c in compute type `compute` against fp32 (same weights, inputs and loss
/// sum(w . outputs)): each output and gradient's normwise relative difference in [lo, hi]
/// (lo > 0: the reduced precision demonstrably ran); the master weights stay identical.
inline void compare_lstm(const LstmCase& c, nnlite::ComputeType compute, double hi, double lo) {
    namespace nn = nnlite::nn;
    namespace ops = nnlite::ops;
    using Tensor = nnlite::Tensor<float>;
    auto options =
        nn::LSTMOptions(c.input, c.hidden).num_layers(c.layers).bidirectional(c.bidirectional);
    nnlite::Generator g1(42), g2(42), data(99);
    nn::LSTM<float> fp32(options, g1);
    nn::LSTM<float> low(nn::LSTMOptions(options).compute(compute), g2);
    const std::size_t D = c.bidirectional ? 2 : 1;
    const auto x0 = Tensor::uniform({c.time, c.batch, c.input}, -1.f, 1.f, data);
    const auto h0 = Tensor::uniform({c.layers * D, c.batch, c.hidden}, -0.5f, 0.5f, data);
    const auto c0 = Tensor::uniform({c.layers * D, c.batch, c.hidden}, -0.5f, 0.5f, data);
    const float s = c.loss_scale;
    const auto wy = Tensor::uniform({c.time, c.batch, D * c.hidden}, -s, s, data);
    const auto wh = Tensor::uniform({c.layers * D, c.batch, c.hidden}, -s, s, data);
    const auto wc = Tensor::uniform({c.layers * D, c.batch, c.hidden}, -s, s, data);
    struct Run {
        nn::LSTMOutput<float> out;
        Tensor x, h0, c0;
    };
    auto run = [&](nn::LSTM<float>& lstm) {
        Run r;
        r.x = x0.clone().requires_grad_();
        nn::LSTMState<float> state;
        if (c.state) {
            r.h0 = h0.clone().requires_grad_();
            r.c0 = c0.clone().requires_grad_();
            state = {r.h0, r.c0};
        }
        r.out = lstm.forward(r.x, c.lengths, state);
        auto loss =
            ops::sum(r.out.output * wy) + ops::sum(r.out.h_n * wh) + ops::sum(r.out.c_n * wc);
        loss.backward();
        return r;
    };
    const Run a = run(fp32), b = run(low);
    auto check = [&](const Tensor& got, const Tensor& want, const std::string& what) {
        const double d = rel_diff(got, want);
        CAPTURE(what);
        CAPTURE(d);
        MESSAGE(std::string(c.name), " ", what, ": relative difference 2^", std::log2(d));
        CHECK(d <= hi);
        CHECK(d >= lo);
    };
    check(b.out.output, a.out.output, "output");
    check(b.out.h_n, a.out.h_n, "h_n");
    check(b.out.c_n, a.out.c_n, "c_n");
    check(b.x.grad(), a.x.grad(), "grad input");
    if (c.state) {
        check(b.h0.grad(), a.h0.grad(), "grad h0");
        check(b.c0.grad(), a.c0.grad(), "grad c0");
    }
    const auto pa = fp32.named_parameters(), pb = low.named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        REQUIRE(pa[i].first == pb[i].first);
        // Master weights stay fp32 and are the same tensors' values; only the products differ.
        CHECK(rel_diff(pb[i].second, pa[i].second) == 0.0);
        check(pb[i].second.grad(), pa[i].second.grad(), "grad " + pa[i].first);
    }
}

}  // namespace compute_test
