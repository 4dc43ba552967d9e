// ops/lstm.hpp, backend/cpu/lstm_kernels.hpp, nn/lstm.hpp: the fused LSTM layer against
// finite differences (double) and against a plain reference composed of basic ops, the
// modules against PyTorch golden fixtures (tests/fixtures/make_lstm.py), and bad input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nnlite.hpp>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace nnlite;

namespace {

template <class T>
using TensorList = std::vector<Tensor<T>>;

template <class T>
Tensor<T> flat(const Tensor<T>& t) {
    return ops::reshape(t, {-1});
}

/// The layer written the obvious way: one sequence at a time, one step at a time, from
/// matmul / sigmoid / tanh / narrow / concat, so every gradient comes from the basic ops.
template <class T>
ops::LSTMLayerOutput<T> reference_lstm_layer(const Tensor<T>& x,
                                             const std::vector<std::int64_t>& lengths,
                                             const Tensor<T>& h0, const Tensor<T>& c0,
                                             const Tensor<T>& w_ih, const Tensor<T>& w_hh,
                                             const Tensor<T>& b_ih, const Tensor<T>& b_hh,
                                             bool reverse) {
    const std::size_t Tn = x.size(0), Bn = x.size(1), I = x.size(2), H = w_hh.size(1);
    const auto Hi = static_cast<std::int64_t>(H);
    auto wt_ih = ops::t(w_ih), wt_hh = ops::t(w_hh);
    TensorList<T> ys, hs, cs;
    for (std::size_t b = 0; b < Bn; ++b) {
        const std::size_t len = lengths.empty() ? Tn : static_cast<std::size_t>(lengths[b]);
        auto h = h0.defined() ? ops::narrow(h0, 0, b, 1) : Tensor<T>::zeros({1, H});
        auto c = c0.defined() ? ops::narrow(c0, 0, b, 1) : Tensor<T>::zeros({1, H});
        TensorList<T> per_pos(Tn);
        for (std::size_t s = 0; s < len; ++s) {
            const std::size_t pos = reverse ? len - 1 - s : s;
            auto xt = ops::reshape(ops::narrow(ops::narrow(x, 0, pos, 1), 1, b, 1),
                                   {1, static_cast<std::int64_t>(I)});
            auto a = ops::matmul(xt, wt_ih) + ops::matmul(h, wt_hh);
            if (b_ih.defined()) a = a + b_ih + b_hh;
            auto i = ops::sigmoid(ops::narrow(a, 1, 0, H));
            auto f = ops::sigmoid(ops::narrow(a, 1, H, H));
            auto g = ops::tanh(ops::narrow(a, 1, 2 * H, H));
            auto o = ops::sigmoid(ops::narrow(a, 1, 3 * H, H));
            c = f * c + i * g;
            h = o * ops::tanh(c);
            per_pos[pos] = ops::reshape(h, {1, 1, Hi});
        }
        for (auto& p : per_pos)
            if (!p.defined()) p = Tensor<T>::zeros({1, 1, H});
        ys.push_back(ops::concat(per_pos, 0));
        hs.push_back(h);
        cs.push_back(c);
    }
    return {ops::concat(ys, 1), ops::concat(hs, 0), ops::concat(cs, 0)};
}

/// Inputs of one random layer problem: x, h0, c0, w_ih, w_hh, b_ih, b_hh.
template <class T>
TensorList<T> random_layer_inputs(std::size_t Tn, std::size_t Bn, std::size_t I, std::size_t H,
                                  std::uint64_t seed, bool with_state, bool with_bias) {
    Generator gen(seed);
    auto u = [&](const Shape& s, double k) {
        return Tensor<T>::uniform(s, static_cast<T>(-k), static_cast<T>(k), gen);
    };
    return {u({Tn, Bn, I}, 1.0),
            with_state ? u({Bn, H}, 1.0) : Tensor<T>(),
            with_state ? u({Bn, H}, 1.0) : Tensor<T>(),
            u({4 * H, I}, 0.6),
            u({4 * H, H}, 0.6),
            with_bias ? u({4 * H}, 0.5) : Tensor<T>(),
            with_bias ? u({4 * H}, 0.5) : Tensor<T>()};
}

/// max |a - b| / max(1, |b|) over all elements (shapes must match).
template <class T>
double max_rel_diff(const Tensor<T>& a, const Tensor<T>& b) {
    REQUIRE(to_string(a.shape()) == to_string(b.shape()));
    const auto va = a.to_vector(), vb = b.to_vector();
    double m = 0;
    for (std::size_t i = 0; i < va.size(); ++i) {
        const double e = static_cast<double>(vb[i]);
        m = std::max(m, std::abs(static_cast<double>(va[i]) - e) / std::max(1.0, std::abs(e)));
    }
    return m;
}

}  // namespace

TEST_CASE("lstm_layer matches a known hand-computed step") {
    // One step, H = 1, in = 1: a = w_ih*x + w_hh*h0 + b_ih + b_hh per gate.
    auto x = Tensor<double>::from({0.5}, {1, 1, 1});
    auto h0 = Tensor<double>::from({0.25}, {1, 1});
    auto c0 = Tensor<double>::from({-0.5}, {1, 1});
    auto w_ih = Tensor<double>::from({0.1, 0.2, 0.3, 0.4}, {4, 1});
    auto w_hh = Tensor<double>::from({-0.1, 0.5, -0.3, 0.2}, {4, 1});
    auto b_ih = Tensor<double>::from({0.0, 0.1, 0.0, -0.1});
    auto b_hh = Tensor<double>::from({0.05, 0.0, 0.2, 0.0});
    auto r = ops::lstm_layer(x, {}, h0, c0, w_ih, w_hh, b_ih, b_hh, false);
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    const double ai = 0.05 - 0.025 + 0.05, af = 0.1 + 0.125 + 0.1, ag = 0.15 - 0.075 + 0.2,
                 ao = 0.2 + 0.05 - 0.1;
    const double c = sig(af) * -0.5 + sig(ai) * std::tanh(ag);
    const double h = sig(ao) * std::tanh(c);
    CHECK(r.c_n.item() == doctest::Approx(c).epsilon(1e-14));
    CHECK(r.h_n.item() == doctest::Approx(h).epsilon(1e-14));
    CHECK(r.output.item() == doctest::Approx(h).epsilon(1e-14));
}

TEST_CASE("lstm_layer gradients agree with finite differences (double)") {
    struct Case {
        const char* name;
        std::size_t T, B, I, H;
        std::vector<std::int64_t> lengths;
        bool reverse, state, bias;
    };
    const std::vector<Case> cases = {
        {"forward, equal lengths, state", 4, 3, 3, 2, {}, false, true, true},
        {"reverse, equal lengths, state", 4, 3, 3, 2, {}, true, true, true},
        {"forward, variable lengths", 5, 4, 2, 3, {2, 5, 1, 4}, false, true, true},
        {"reverse, variable lengths", 5, 4, 2, 3, {2, 5, 1, 4}, true, true, true},
        {"reverse, variable lengths, no state, no bias", 4, 3, 3, 2, {4, 1, 3}, true, false, false},
        {"single step", 1, 2, 3, 2, {}, false, true, true},
    };
    for (const auto& c : cases) {
        SUBCASE(c.name) {
            auto inputs = random_layer_inputs<double>(c.T, c.B, c.I, c.H, 17, c.state, c.bias);
            const auto lengths = c.lengths;
            const bool reverse = c.reverse;
            auto f = [lengths, reverse](const TensorList<double>& in) {
                auto r = ops::lstm_layer(in[0], lengths, in[1], in[2], in[3], in[4], in[5], in[6],
                                         reverse);
                return ops::concat(TensorList<double>{flat(r.output), flat(r.h_n), flat(r.c_n)}, 0);
            };
            const auto res = autograd::gradcheck<double, cpu>(f, inputs);
            INFO(res.report);
            CHECK(res.ok);
            CHECK(res.max_abs_error < 1e-7);
        }
    }
}

TEST_CASE("fused lstm_layer equals the reference built from basic ops on random shapes, chunked") {
    // Odd sizes, length-1 sequences, every sequence of length 1, a batch of one, both
    // directions; forward values and every input gradient.
    struct Case {
        std::size_t T, B, I, H;
        std::vector<std::int64_t> lengths;
    };
    const std::vector<Case> cases = {
        {7, 5, 3, 5, {7, 1, 4, 7, 2}},
        {1, 3, 5, 3, {}},
        {9, 1, 4, 7, {}},
        {6, 4, 1, 1, {1, 1, 1, 1}},
        {5, 6, 7, 3, {3, 5, 5, 1, 2, 4}},
        {4, 3, 2, 9, {4, 4, 4}},
    };
    // Each also with the gates in the smallest chunks (1 byte: one batch of rows, so one
    // step while all sequences run) and in chunks of a few steps (2000 bytes: 6-20 rows
    // here). The CPU's default is 1 MiB, more than these problems: the chunked projection
    // and weight gradients of ops/lstm.hpp then run over several chunks, ascending,
    // descending and packed.
    struct ChunkBytes {
        std::size_t saved = ops::detail::gate_chunk_bytes();
        ~ChunkBytes() { ops::detail::gate_chunk_bytes() = saved; }
    } restore;
    std::uint64_t seed = 100;
    for (std::size_t chunk_bytes : {restore.saved, std::size_t{1}, std::size_t{2000}})
        for (const auto& c : cases)
            for (bool reverse : {false, true})
                for (bool state : {false, true}) {
                    ops::detail::gate_chunk_bytes() = chunk_bytes;
                    CAPTURE(chunk_bytes);
                    CAPTURE(c.T);
                    CAPTURE(c.B);
                    CAPTURE(c.H);
                    CAPTURE(reverse);
                    CAPTURE(state);
                    auto in = random_layer_inputs<double>(c.T, c.B, c.I, c.H, ++seed, state, true);
                    TensorList<double> a, b;
                    for (auto& t : in) {
                        a.push_back(t.defined() ? t.clone().requires_grad_() : t);
                        b.push_back(t.defined() ? t.clone().requires_grad_() : t);
                    }
                    auto fused = ops::lstm_layer(a[0], c.lengths, a[1], a[2], a[3], a[4], a[5],
                                                 a[6], reverse);
                    auto ref = reference_lstm_layer(b[0], c.lengths, b[1], b[2], b[3], b[4], b[5],
                                                    b[6], reverse);
                    CHECK(max_rel_diff(fused.output, ref.output) < 1e-12);
                    CHECK(max_rel_diff(fused.h_n, ref.h_n) < 1e-12);
                    CHECK(max_rel_diff(fused.c_n, ref.c_n) < 1e-12);
                    {  // Without grad (gates then hold one chunk at a time): the same numbers.
                        NoGradGuard no_grad;
                        auto inf = ops::lstm_layer(in[0], c.lengths, in[1], in[2], in[3], in[4],
                                                   in[5], in[6], reverse);
                        CHECK(inf.output.to_vector() == fused.output.to_vector());
                        CHECK(inf.h_n.to_vector() == fused.h_n.to_vector());
                        CHECK(inf.c_n.to_vector() == fused.c_n.to_vector());
                    }
                    Generator gen(seed);
                    auto wy = Tensor<double>::uniform(fused.output.shape(), -1, 1, gen);
                    auto wh = Tensor<double>::uniform(fused.h_n.shape(), -1, 1, gen);
                    auto wc = Tensor<double>::uniform(fused.c_n.shape(), -1, 1, gen);
                    // The fused node gets no gradient at all (not zeros) for an output the
                    // loss does not use (materialize_grads = false); the reference gets the
                    // engine's zeros. The cases cycle through: every output used, h_n only
                    // (a classifier's use), output only, c_n only.
                    const std::uint64_t used = seed % 4;
                    CAPTURE(used);
                    auto loss = [&](const ops::LSTMLayerOutput<double>& r) {
                        if (used == 1) return ops::sum(r.h_n * wh);
                        if (used == 2) return ops::sum(r.output * wy);
                        if (used == 3) return ops::sum(r.c_n * wc);
                        return ops::sum(r.output * wy) + ops::sum(r.h_n * wh) +
                               ops::sum(r.c_n * wc);
                    };
                    loss(fused).backward();
                    loss(ref).backward();
                    for (std::size_t k = 0; k < a.size(); ++k) {
                        if (!a[k].defined()) continue;
                        CAPTURE(k);
                        REQUIRE(a[k].grad().defined());
                        CHECK(max_rel_diff(a[k].grad(), b[k].grad()) < 1e-12);
                    }
                }
}

TEST_CASE("lstm_layer: float agrees with double, and no-grad mode gives the same values") {
    auto in = random_layer_inputs<double>(6, 4, 5, 8, 7, true, true);
    const std::vector<std::int64_t> lengths{6, 2, 5, 1};
    auto rd = ops::lstm_layer(in[0], lengths, in[1], in[2], in[3], in[4], in[5], in[6], true);
    TensorList<float> inf;
    for (auto& t : in) {
        const auto v = t.to_vector();
        inf.push_back(Tensor<float>::from(std::vector<float>(v.begin(), v.end()), t.shape()));
    }
    auto rf =
        ops::lstm_layer(inf[0], lengths, inf[1], inf[2], inf[3], inf[4], inf[5], inf[6], true);
    const auto yd = rd.output.to_vector();
    const auto yf = rf.output.to_vector();
    for (std::size_t i = 0; i < yd.size(); ++i)
        CHECK(static_cast<double>(yf[i]) == doctest::Approx(yd[i]).epsilon(1e-5).scale(1.0));
    // Grad on (cells and h_prev saved) versus grad off (in-place cell state): same numbers.
    inf[3].requires_grad_();
    auto rg =
        ops::lstm_layer(inf[0], lengths, inf[1], inf[2], inf[3], inf[4], inf[5], inf[6], true);
    CHECK(rg.output.requires_grad());
    CHECK(!rf.output.requires_grad());
    CHECK(rg.output.to_vector() == rf.output.to_vector());
    CHECK(rg.h_n.to_vector() == rf.h_n.to_vector());
    CHECK(rg.c_n.to_vector() == rf.c_n.to_vector());
}

TEST_CASE("lstm_layer: padding is zero and final states sit at each sequence's end") {
    auto in = random_layer_inputs<double>(5, 3, 2, 3, 9, false, true);
    const std::vector<std::int64_t> lengths{2, 5, 3};
    for (bool reverse : {false, true}) {
        auto r = ops::lstm_layer(in[0], lengths, in[1], in[2], in[3], in[4], in[5], in[6], reverse);
        for (std::size_t b = 0; b < 3; ++b) {
            const auto len = static_cast<std::size_t>(lengths[b]);
            for (std::size_t t = len; t < 5; ++t)
                for (std::size_t j = 0; j < 3; ++j) CHECK(r.output.at({t, b, j}) == 0.0);
            // Forward ends at position len-1; reverse ends at position 0.
            const std::size_t end = reverse ? 0 : len - 1;
            for (std::size_t j = 0; j < 3; ++j) CHECK(r.h_n.at({b, j}) == r.output.at({end, b, j}));
        }
        // A sequence of length L inside a longer batch equals the same sequence run alone.
        auto alone = ops::lstm_layer(ops::narrow(ops::narrow(in[0], 1, 0, 1), 0, 0, 2),
                                     std::vector<std::int64_t>{}, Tensor<double>(),
                                     Tensor<double>(), in[3], in[4], in[5], in[6], reverse);
        for (std::size_t t = 0; t < 2; ++t)
            for (std::size_t j = 0; j < 3; ++j)
                CHECK(alone.output.at({t, 0, j}) == doctest::Approx(r.output.at({t, 0, j})));
    }
}

TEST_CASE("lstm_layer rejects bad shapes and lengths with clear errors") {
    auto in = random_layer_inputs<float>(4, 3, 2, 5, 1, true, true);
    auto x = in[0], h0 = in[1], c0 = in[2], w_ih = in[3], w_hh = in[4], b_ih = in[5], b_hh = in[6];
    const Tensor<float> none;
    CHECK_THROWS_WITH_AS(ops::lstm_layer(x, {3, 5, 1}, h0, c0, w_ih, w_hh, b_ih, b_hh),
                         doctest::Contains("lengths[1] = 5 is outside [1, T] for T = 4"),
                         ValueError);
    CHECK_THROWS_WITH_AS(ops::lstm_layer(x, {3, 0, 1}, h0, c0, w_ih, w_hh, b_ih, b_hh),
                         doctest::Contains("lengths[1] = 0 is outside [1, T]"), ValueError);
    CHECK_THROWS_WITH_AS(ops::lstm_layer(x, {3, 2}, h0, c0, w_ih, w_hh, b_ih, b_hh),
                         doctest::Contains("got 2 lengths for a batch of 3 sequences"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(ops::reshape(x, {12, 2}), {}, h0, c0, w_ih, w_hh, b_ih, b_hh),
        doctest::Contains("expected x of shape [T,B,input_size] with T, B >= 1, got [12,2]"),
        ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(x, {}, h0, c0, ops::t(w_ih), w_hh, b_ih, b_hh),
        doctest::Contains("expected w_ih of shape [4*hidden,input_size], got [2,20]"), ShapeError);
    auto w_ih3 = Tensor<float>::zeros({20, 3});
    CHECK_THROWS_WITH_AS(ops::lstm_layer(x, {}, h0, c0, w_ih3, w_hh, b_ih, b_hh),
                         doctest::Contains("w_ih has shape [20,3] but x has input size 2"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(x, {}, h0, c0, w_ih, Tensor<float>::zeros({20, 4}), b_ih, b_hh),
        doctest::Contains("expected w_hh of shape [20,5], got [20,4]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(x, {}, h0, c0, w_ih, w_hh, b_ih, Tensor<float>::zeros({5})),
        doctest::Contains("expected b_hh of shape [20], got [5]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(x, {}, Tensor<float>::zeros({2, 5}), c0, w_ih, w_hh, b_ih, b_hh),
        doctest::Contains("expected h0 of shape [3,5], got [2,5]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        ops::lstm_layer(x, {}, none, Tensor<float>::zeros({3, 4}), w_ih, w_hh, b_ih, b_hh),
        doctest::Contains("expected c0 of shape [3,5], got [3,4]"), ShapeError);
}

// ---- modules ------------------------------------------------------------------------

namespace {

/// One golden case of tests/fixtures/make_lstm.py (the same table as CASES there).
struct GoldenCase {
    const char* name;
    std::size_t input, hidden, layers;
    bool bidirectional;
    double dropout;
    bool batch_first, bias;
    bool has_lengths, has_state;
};

const std::vector<GoldenCase>& golden_cases() {
    static const std::vector<GoldenCase> cases = {
        {"uni1", 5, 4, 1, false, 0.0, false, true, false, false},
        {"bi1", 5, 4, 1, true, 0.0, false, true, false, false},
        {"uni2", 5, 4, 2, false, 0.0, false, true, false, false},
        {"bi2", 5, 4, 2, true, 0.0, false, true, false, false},
        {"bi2_dropout_eval", 5, 4, 2, true, 0.5, false, true, false, false},
        {"nobias1", 5, 4, 1, false, 0.0, false, false, false, false},
        {"varlen_uni1", 5, 4, 1, false, 0.0, false, true, true, false},
        {"varlen_bi2", 5, 4, 2, true, 0.0, false, true, true, false},
        {"state_bi2", 5, 4, 2, true, 0.0, false, true, false, true},
        {"varlen_state_bi1", 3, 5, 1, true, 0.0, false, true, true, true},
        {"batch_first_bi2", 5, 4, 2, true, 0.0, true, true, true, true},
    };
    return cases;
}

nn::LSTMOptions options_of(const GoldenCase& c) {
    return nn::LSTMOptions(c.input, c.hidden)
        .num_layers(c.layers)
        .bidirectional(c.bidirectional)
        .dropout(c.dropout)
        .batch_first(c.batch_first)
        .bias(c.bias);
}

}  // namespace

TEST_CASE("nn::LSTM matches PyTorch: outputs and every gradient (golden fixtures)") {
    const auto file = io::SafetensorsFile::open(testing::fixture_path("lstm.safetensors"));
    for (const auto& c : golden_cases()) {
        SUBCASE(c.name) {
            const std::string p = std::string(c.name) + ".";
            auto get = [&](const std::string& n) { return file.get<float>(p + n); };
            nn::LSTM<float> lstm(options_of(c));
            nn::StateDict<float> dict;
            for (const auto& kv : lstm.named_parameters()) {
                REQUIRE(file.contains(p + kv.first));
                dict.emplace(kv.first, get(kv.first));
            }
            lstm.load_state_dict(dict);  // strict: same names, same shapes as PyTorch
            lstm.eval();

            auto x = get("input").requires_grad_();
            std::vector<std::int64_t> lengths;
            if (c.has_lengths) lengths = file.get<std::int64_t>(p + "lengths").to_vector();
            nn::LSTMState<float> state;
            if (c.has_state) state = {get("h0").requires_grad_(), get("c0").requires_grad_()};
            auto out = lstm.forward(x, lengths, state);
            testing::check_close(out.output, get("output"), 1e-5, 1e-6, p + "output");
            testing::check_close(out.h_n, get("h_n"), 1e-5, 1e-6, p + "h_n");
            testing::check_close(out.c_n, get("c_n"), 1e-5, 1e-6, p + "c_n");

            auto loss = ops::sum(out.output * get("w_output")) + ops::sum(out.h_n * get("w_h_n")) +
                        ops::sum(out.c_n * get("w_c_n"));
            loss.backward();
            testing::check_close(x.grad(), get("grad.input"), 1e-5, 1e-6, p + "grad.input");
            if (c.has_state) {
                testing::check_close(state.h.grad(), get("grad.h0"), 1e-5, 1e-6, p + "grad.h0");
                testing::check_close(state.c.grad(), get("grad.c0"), 1e-5, 1e-6, p + "grad.c0");
            }
            for (const auto& kv : lstm.named_parameters()) {
                REQUIRE(kv.second.grad().defined());
                testing::check_close(kv.second.grad(), get("grad." + kv.first), 1e-5, 1e-6,
                                     p + "grad." + kv.first);
            }
        }
    }
}

TEST_CASE("nn::LSTM parameters have PyTorch's names, shapes, order and init range") {
    Generator gen(3);
    nn::LSTM<float> lstm(nn::LSTMOptions(6, 5).num_layers(2).bidirectional(true), gen);
    const std::vector<std::pair<std::string, Shape>> expected = {
        {"weight_ih_l0", {20, 6}},
        {"weight_hh_l0", {20, 5}},
        {"bias_ih_l0", {20}},
        {"bias_hh_l0", {20}},
        {"weight_ih_l0_reverse", {20, 6}},
        {"weight_hh_l0_reverse", {20, 5}},
        {"bias_ih_l0_reverse", {20}},
        {"bias_hh_l0_reverse", {20}},
        {"weight_ih_l1", {20, 10}},
        {"weight_hh_l1", {20, 5}},
        {"bias_ih_l1", {20}},
        {"bias_hh_l1", {20}},
        {"weight_ih_l1_reverse", {20, 10}},
        {"weight_hh_l1_reverse", {20, 5}},
        {"bias_ih_l1_reverse", {20}},
        {"bias_hh_l1_reverse", {20}},
    };
    const auto named = lstm.named_parameters();
    REQUIRE(named.size() == expected.size());
    const float k = 1.0f / std::sqrt(5.0f);
    double sum = 0, sum_sq = 0;
    std::size_t count = 0;
    for (std::size_t i = 0; i < named.size(); ++i) {
        CHECK(named[i].first == expected[i].first);
        CHECK(to_string(named[i].second.shape()) == to_string(expected[i].second));
        CHECK(named[i].second.requires_grad());
        for (float v : named[i].second.to_vector()) {
            CHECK((v >= -k && v <= k));
            sum += v;
            sum_sq += static_cast<double>(v) * v;
            ++count;
        }
    }
    // U(-k, k): mean 0, variance k^2 / 3 (n = 1000 values: loose bounds).
    const double n = static_cast<double>(count);
    CHECK(std::abs(sum / n) < 0.05);
    CHECK(sum_sq / n == doctest::Approx(k * k / 3.0).epsilon(0.1));
    CHECK(lstm.parameter_count() == count);
    CHECK(lstm.weight_ih(1, true).shares_storage_with(named[12].second));

    // Same seed, same parameters; another seed, others.
    Generator same(3), other(4);
    nn::LSTM<float> again(nn::LSTMOptions(6, 5).num_layers(2).bidirectional(true), same);
    nn::LSTM<float> different(nn::LSTMOptions(6, 5).num_layers(2).bidirectional(true), other);
    CHECK(again.weight_hh(1, true).to_vector() == lstm.weight_hh(1, true).to_vector());
    CHECK(different.weight_hh(1, true).to_vector() != lstm.weight_hh(1, true).to_vector());

    nn::LSTM<float> nobias(nn::LSTMOptions(6, 5).bias(false));
    CHECK(nobias.named_parameters().size() == 2);
    CHECK(!nobias.bias_ih(0).defined());
    CHECK_THROWS_WITH_AS(lstm.weight_ih(2), doctest::Contains("no parameters for layer 2"),
                         IndexError);
    CHECK_THROWS_AS(nobias.weight_ih(0, true), IndexError);
}

TEST_CASE("nn::LSTM dropout acts between layers, in training only, never after the last") {
    Generator init(11);
    nn::LSTM<double> lstm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true).dropout(0.5),
                          init);
    Generator data(12);
    auto x = Tensor<double>::uniform({5, 2, 3}, -1, 1, data);
    const std::vector<std::int64_t> lengths{5, 3};

    // Training: layer 1 sees dropout(concat(layer-0 outputs)) with masks from the module's
    // generator; recompute that by hand with an identically seeded generator.
    Generator masks(99), masks_copy(99);
    lstm.set_dropout_generator(masks);
    auto train_out = lstm.forward(x, lengths);
    auto layer = [&](const Tensor<double>& in, std::size_t l, bool rev) {
        return ops::lstm_layer(in, lengths, Tensor<double>(), Tensor<double>(),
                               lstm.weight_ih(l, rev), lstm.weight_hh(l, rev), lstm.bias_ih(l, rev),
                               lstm.bias_hh(l, rev), rev);
    };
    auto l0 = ops::concat(
        std::vector<Tensor<double>>{layer(x, 0, false).output, layer(x, 0, true).output}, 2);
    auto l1_in = ops::dropout(l0, 0.5, true, masks_copy);
    auto expect = ops::concat(
        std::vector<Tensor<double>>{layer(l1_in, 1, false).output, layer(l1_in, 1, true).output},
        2);
    CHECK(train_out.output.to_vector() == expect.to_vector());

    // Eval: identity, so the output is the plain stack and differs from training.
    lstm.eval();
    auto eval_out = lstm.forward(x, lengths);
    auto plain = ops::concat(
        std::vector<Tensor<double>>{layer(l0, 1, false).output, layer(l0, 1, true).output}, 2);
    CHECK(eval_out.output.to_vector() == plain.to_vector());
    CHECK(eval_out.output.to_vector() != train_out.output.to_vector());

    // One layer: nothing after the last layer, so training equals eval.
    nn::LSTM<double> single(nn::LSTMOptions(3, 4).dropout(0.5), init);
    auto a = single.forward(x, lengths).output.to_vector();
    single.eval();
    CHECK(single.forward(x, lengths).output.to_vector() == a);
    CHECK_THROWS_WITH_AS(nn::LSTM<float>(nn::LSTMOptions(3, 4).dropout(1.5)),
                         doctest::Contains("dropout probability must be in [0, 1], got 1.5"),
                         ValueError);
}

TEST_CASE("nn::LSTM: batch_first and unbatched inputs agree with the time-major batch") {
    Generator init(21);
    nn::LSTM<double> tm(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true), init);
    Generator init2(21);
    nn::LSTM<double> bf(nn::LSTMOptions(3, 4).num_layers(2).bidirectional(true).batch_first(true),
                        init2);
    Generator data(22);
    auto x = Tensor<double>::uniform({6, 3, 3}, -1, 1, data);
    auto h0 = Tensor<double>::uniform({4, 3, 4}, -1, 1, data);
    auto c0 = Tensor<double>::uniform({4, 3, 4}, -1, 1, data);
    const std::vector<std::int64_t> lengths{2, 6, 4};
    auto a = tm.forward(x, lengths, {h0, c0});
    auto b = bf.forward(ops::transpose(x, 0, 1), lengths, {h0, c0});
    CHECK(to_string(b.output.shape()) == "[3,6,8]");
    CHECK(ops::transpose(b.output, 0, 1).to_vector() == a.output.to_vector());
    CHECK(b.h_n.to_vector() == a.h_n.to_vector());
    CHECK(b.c_n.to_vector() == a.c_n.to_vector());
    // Lengths as an integer tensor give the same result as the vector.
    auto from_tensor = tm.forward(x, Tensor<std::int32_t>::from({2, 6, 4}), {h0, c0});
    CHECK(from_tensor.output.to_vector() == a.output.to_vector());
    CHECK(from_tensor.h_n.to_vector() == a.h_n.to_vector());
    CHECK_THROWS_WITH_AS(tm.forward(x, Tensor<std::int64_t>::zeros({3, 1})),
                         doctest::Contains("expected lengths of shape [batch], got [3,1]"),
                         ShapeError);

    // One unbatched sequence [T, in] equals a batch of one.
    auto seq = ops::narrow(x, 1, 1, 1);
    auto one = tm.forward(seq);
    auto unb = tm.forward(ops::squeeze(seq, 1));
    CHECK(to_string(unb.output.shape()) == "[6,8]");
    CHECK(to_string(unb.h_n.shape()) == "[4,4]");
    CHECK(unb.output.to_vector() == one.output.to_vector());
    CHECK(unb.c_n.to_vector() == one.c_n.to_vector());
    // Each sequence in the padded batch equals that sequence run alone at its length.
    auto alone = tm.forward(ops::narrow(ops::narrow(x, 1, 0, 1), 0, 0, 2), {},
                            {ops::narrow(h0, 1, 0, 1), ops::narrow(c0, 1, 0, 1)});
    for (std::size_t k = 0; k < 4; ++k)
        for (std::size_t j = 0; j < 4; ++j)
            CHECK(alone.h_n.at({k, 0, j}) == doctest::Approx(a.h_n.at({k, 0, j})).epsilon(1e-12));
}

TEST_CASE("nn::LSTM rejects wrong input ranks and shapes with the expected shapes") {
    nn::LSTM<float> lstm(nn::LSTMOptions(3, 4).num_layers(2));
    nn::LSTM<float> bf(nn::LSTMOptions(3, 4).batch_first(true));
    auto x = Tensor<float>::zeros({5, 2, 3});
    CHECK_THROWS_WITH_AS(lstm.forward(Tensor<float>::zeros({5, 2, 3, 1})),
                         doctest::Contains("expected input of shape [T,B,input_size] (or "
                                           "[T,input_size] unbatched) with input_size = 3, got "
                                           "[5,2,3,1]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(lstm.forward(Tensor<float>::zeros({5, 2, 4})),
                         doctest::Contains("with input_size = 3, got [5,2,4]"), ShapeError);
    CHECK_THROWS_WITH_AS(bf.forward(Tensor<float>::zeros({2, 5, 7})),
                         doctest::Contains("expected input of shape [B,T,input_size]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        lstm.forward(x, {}, {Tensor<float>::zeros({1, 2, 4}), Tensor<float>::zeros({1, 2, 4})}),
        doctest::Contains("expected h0 of shape [2,2,4]"), ShapeError);
    CHECK_THROWS_WITH_AS(
        lstm.forward(x, {}, {Tensor<float>::zeros({2, 2, 4}), Tensor<float>::zeros({2, 3, 4})}),
        doctest::Contains("expected c0 of shape [2,2,4]"), ShapeError);
    CHECK_THROWS_WITH_AS(lstm.forward(x, {}, {Tensor<float>::zeros({2, 2, 4}), Tensor<float>()}),
                         doctest::Contains("pass both h0 and c0 or neither"), ValueError);
    CHECK_THROWS_WITH_AS(lstm.forward(x, {5, 6}), doctest::Contains("lengths[1] = 6"), ValueError);
    CHECK_THROWS_WITH_AS(lstm.forward(x, {5, 0}), doctest::Contains("lengths[1] = 0"), ValueError);
    CHECK_THROWS_WITH_AS(lstm.forward(x, {5, 5, 5}),
                         doctest::Contains("got 3 lengths for a batch of 2 sequences"), ShapeError);
    CHECK_THROWS_WITH_AS(nn::LSTM<float>(nn::LSTMOptions(3, 0)),
                         doctest::Contains("hidden_size must be positive"), ValueError);
    CHECK_THROWS_WITH_AS(nn::LSTM<float>(nn::LSTMOptions(3, 4).num_layers(0)),
                         doctest::Contains("num_layers must be at least 1"), ValueError);
}

TEST_CASE("nn::LSTMCell: one step of the LSTM, stepping it by hand reproduces nn::LSTM") {
    Generator init(31);
    nn::LSTMCell<double> cell(nn::LSTMCellOptions(3, 4), init);
    const auto names = cell.named_parameters();
    REQUIRE(names.size() == 4);
    CHECK(names[0].first == "weight_ih");
    CHECK(names[1].first == "weight_hh");
    CHECK(names[2].first == "bias_ih");
    CHECK(names[3].first == "bias_hh");
    CHECK(to_string(cell.weight_ih.shape()) == "[16,3]");

    nn::LSTM<double> lstm(nn::LSTMOptions(3, 4));
    lstm.load_state_dict({{"weight_ih_l0", cell.weight_ih.detach()},
                          {"weight_hh_l0", cell.weight_hh.detach()},
                          {"bias_ih_l0", cell.bias_ih.detach()},
                          {"bias_hh_l0", cell.bias_hh.detach()}});
    Generator data(32);
    auto x = Tensor<double>::uniform({5, 2, 3}, -1, 1, data);
    auto h = Tensor<double>::uniform({2, 4}, -1, 1, data);
    auto c = Tensor<double>::uniform({2, 4}, -1, 1, data);
    auto full = lstm.forward(x, {}, {ops::unsqueeze(h, 0), ops::unsqueeze(c, 0)});
    nn::LSTMState<double> st{h, c};
    for (std::size_t t = 0; t < 5; ++t) {
        st = cell.forward(ops::squeeze(ops::narrow(x, 0, t, 1), 0), st);
        for (std::size_t b = 0; b < 2; ++b)
            for (std::size_t j = 0; j < 4; ++j)
                CHECK(st.h.at({b, j}) == doctest::Approx(full.output.at({t, b, j})).epsilon(1e-13));
    }
    CHECK(max_rel_diff(st.c, ops::squeeze(full.c_n, 0)) < 1e-13);

    // Unbatched input and zero initial state.
    auto row = ops::reshape(ops::narrow(ops::narrow(x, 0, 0, 1), 1, 0, 1), {1, 3});
    auto [h1, c1] = cell.forward(ops::reshape(row, {3}));
    auto [h1b, c1b] = cell.forward(row);
    CHECK(to_string(h1.shape()) == "[4]");
    CHECK(h1.to_vector() == h1b.to_vector());
    CHECK(c1.to_vector() == c1b.to_vector());

    // Differentiable in input, state and parameters.
    auto f = [&](const TensorList<double>& in) {
        auto out = cell.forward(in[0], {in[1], in[2]});
        return ops::concat(TensorList<double>{flat(out.h), flat(out.c)}, 0);
    };
    const auto res = autograd::gradcheck<double, cpu>(
        f, {ops::squeeze(ops::narrow(x, 0, 0, 1), 0).clone(), h.clone(), c.clone()});
    INFO(res.report);
    CHECK(res.ok);
    CHECK(cell.weight_hh.grad().defined());

    CHECK_THROWS_WITH_AS(cell.forward(Tensor<double>::zeros({2, 5})),
                         doctest::Contains("expected input of shape [batch,3] or [3], got [2,5]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(
        cell.forward(Tensor<double>::zeros({2, 3}),
                     {Tensor<double>::zeros({3, 4}), Tensor<double>::zeros({3, 4})}),
        doctest::Contains("expected h of shape [2,4], got [3,4]"), ShapeError);
    nn::LSTMCell<float> nobias(nn::LSTMCellOptions(3, 4).bias(false));
    CHECK(nobias.named_parameters().size() == 2);
}

TEST_CASE("lstm_layer node: retain_graph allows a second backward, otherwise it is an error") {
    auto in = random_layer_inputs<double>(4, 3, 2, 3, 41, true, true);
    for (auto& t : in) t.requires_grad_();
    auto r = ops::lstm_layer(in[0], {4, 1, 3}, in[1], in[2], in[3], in[4], in[5], in[6], true);
    CHECK(r.output.grad_fn() == r.h_n.grad_fn());  // one node, three outputs
    CHECK(r.output.grad_fn()->name() == "LSTMLayerBackward");
    auto loss = ops::sum(r.output) + ops::sum(r.c_n);
    loss.backward(Tensor<double>(), true);
    const auto once = in[4].grad().to_vector();
    loss.backward();
    const auto twice = in[4].grad().to_vector();
    for (std::size_t i = 0; i < once.size(); ++i)
        CHECK(twice[i] == doctest::Approx(2 * once[i]).epsilon(1e-14));
    CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("second time"), AutogradError);

    // Under NoGradGuard nothing is recorded even though the inputs require grad.
    NoGradGuard no_grad;
    auto q = ops::lstm_layer(in[0], {}, in[1], in[2], in[3], in[4], in[5], in[6], false);
    CHECK(!q.output.requires_grad());
    CHECK(!q.h_n.requires_grad());
}

namespace {

/// lstm_bidirectional_layer against two lstm_layer calls (forward, reverse) with their
/// outputs concatenated, on one thread and on two: outputs and final states bit for bit
/// (the gradients' max_rel_diff below `grad_tol`), in compute type c.
/// With equal lengths each direction's steps write their half of [T, B, 2H] in place (a
/// row stride of 2H through the step's epilogue), with unequal lengths they scatter it.
template <class V>
void check_bidirectional_vs_two_layers(ComputeType compute, double grad_tol) {
    struct Case {
        std::size_t T, B, I, H;
        std::vector<std::int64_t> lengths;
    };
    // Odd sizes (H not a multiple of any vector width or panel), length-1 sequences, B = 1,
    // equal and unequal lengths.
    const std::vector<Case> cases = {
        {7, 5, 3, 5, {7, 1, 4, 7, 2}},
        {1, 3, 5, 3, {}},
        {6, 4, 1, 1, {1, 1, 1, 1}},
        {9, 2, 6, 13, {}},
        {5, 6, 7, 3, {3, 5, 5, 1, 2, 4}},
        {4, 1, 9, 37, {}},
        {3, 7, 16, 20, {}},
    };
    const int saved_threads = num_threads();
    std::uint64_t seed = 500;
    for (int threads : {1, 2})
        for (const auto& c : cases)
            for (bool state : {false, true}) {
                set_num_threads(threads);
                CAPTURE(threads);
                CAPTURE(c.T);
                CAPTURE(c.H);
                CAPTURE(state);
                auto f = random_layer_inputs<V>(c.T, c.B, c.I, c.H, ++seed, state, true);
                auto r = random_layer_inputs<V>(c.T, c.B, c.I, c.H, ++seed, state, true);
                r[0] = f[0];         // one input for both directions
                TensorList<V> a, b;  // a: bidirectional op, b: two lstm_layer calls
                for (auto* src : {&f, &r})
                    for (std::size_t k = 0; k < src->size(); ++k) {
                        const auto& t = (*src)[k];
                        const bool shared_x = k == 0 && src == &r;
                        a.push_back(shared_x ? a[0] : t.defined() ? t.clone().requires_grad_() : t);
                        b.push_back(shared_x ? b[0] : t.defined() ? t.clone().requires_grad_() : t);
                    }
                auto params = [](const TensorList<V>& v, std::size_t o) {
                    return ops::LSTMDirectionParams<V>{v[o + 3], v[o + 4], v[o + 5],
                                                       v[o + 6], v[o + 1], v[o + 2]};
                };
                auto both = ops::lstm_bidirectional_layer(a[0], c.lengths, params(a, 0),
                                                          params(a, 7), compute);
                auto fwd = ops::lstm_layer(b[0], c.lengths, b[1], b[2], b[3], b[4], b[5], b[6],
                                           false, compute);
                auto rev = ops::lstm_layer(b[0], c.lengths, b[8], b[9], b[10], b[11], b[12], b[13],
                                           true, compute);
                CHECK(both.output.grad_fn() == both.h_n[1].grad_fn());  // one node
                // Each direction writes its half of [T, B, 2H] (padding zeroed there only).
                CHECK(both.output.shape() == Shape{c.T, c.B, 2 * c.H});
                for (auto [x, y] :
                     {std::pair{both.output, ops::concat(TensorList<V>{fwd.output, rev.output}, 2)},
                      {both.h_n[0], fwd.h_n},
                      {both.c_n[0], fwd.c_n},
                      {both.h_n[1], rev.h_n},
                      {both.c_n[1], rev.c_n}})
                    CHECK(max_rel_diff(x, y) == 0.0);
                // The same without grad (inference: the cell state updated in place, h_prev
                // read from the output where it lies).
                {
                    NoGradGuard no_grad;
                    auto inf = ops::lstm_bidirectional_layer(a[0], c.lengths, params(a, 0),
                                                             params(a, 7), compute);
                    CHECK(max_rel_diff(inf.output, both.output) == 0.0);
                    for (int d = 0; d < 2; ++d) {
                        CHECK(max_rel_diff(inf.h_n[d], both.h_n[d]) == 0.0);
                        CHECK(max_rel_diff(inf.c_n[d], both.c_n[d]) == 0.0);
                    }
                }
                Generator gen(seed);
                auto w = Tensor<V>::uniform(fwd.output.shape(), -1, 1, gen);
                auto wh = Tensor<V>::uniform(fwd.h_n.shape(), -1, 1, gen);
                // Every other case reads only the final states: the output gets no gradient.
                const bool use_output = seed % 4 != 0;
                CAPTURE(use_output);
                auto loss = [&](const Tensor<V>& out_f, const Tensor<V>& out_r,
                                const Tensor<V>& h_f, const Tensor<V>& c_r) {
                    auto l = ops::sum(h_f * wh) + ops::sum(c_r * wh);
                    if (use_output) l = l + ops::sum(out_f * w) + ops::sum(out_r * w * V(0.5));
                    return l;
                };
                loss(ops::narrow(both.output, 2, 0, c.H), ops::narrow(both.output, 2, c.H, c.H),
                     both.h_n[0], both.c_n[1])
                    .backward();
                loss(fwd.output, rev.output, fwd.h_n, rev.c_n).backward();
                for (std::size_t k = 0; k < a.size(); ++k) {
                    if (!a[k].defined()) continue;
                    CAPTURE(k);
                    REQUIRE(a[k].grad().defined());
                    CHECK(max_rel_diff(a[k].grad(), b[k].grad()) < grad_tol);
                }
            }
    set_num_threads(saved_threads);
}

}  // namespace

TEST_CASE("lstm_bidirectional_layer equals two lstm_layer calls, on one thread and on two") {
    // The concurrent path (each direction on its own thread with single-threaded BLAS) must
    // give exactly what the two directions give one after the other: odd sizes, length-1
    // sequences, unequal lengths, initial states. Double runs BLAS and the separate gate
    // pass; float the fused steps (own kernels) in every compute type this CPU runs.
    check_bidirectional_vs_two_layers<double>(ComputeType::fp32, 1e-14);
    for (ComputeType c : {ComputeType::fp32, ComputeType::bf16, ComputeType::fp16}) {
        const std::string name = to_string(c);
        CAPTURE(name);
        const std::string why = ops::lstm_compute_unavailable<float, cpu>(c);
        if (!why.empty()) {
            MESSAGE((std::string("skipped compute type ") + name + ": " + why));
            continue;
        }
        // The weight gradients sum over all rows in GEMMs that may split their work by
        // thread count: the last bits of a float sum may differ.
        check_bidirectional_vs_two_layers<float>(c, 1e-5);
    }
}

TEST_CASE("lstm_layer on two threads gives the bits of one, where the steps split their work") {
    // A unidirectional layer on several threads splits each step: the fused forward step
    // by W_hh panels, the backward's gate math by rows (from 4096 cells a step) and its
    // dG.W_hh by column tiles (one row tile of 64 rows). B = 64 with H = 64 and an odd
    // H = 67 (a part panel), reverse and unequal lengths, in every compute type this CPU
    // runs: every output and gradient must be the bits of the one-thread run.
    const int saved_threads = num_threads();
    std::vector<std::int64_t> unequal(64);
    for (std::size_t b = 0; b < unequal.size(); ++b)
        unequal[b] = static_cast<std::int64_t>(1 + (b * 7) % 5);
    const std::vector<std::int64_t>* const none = nullptr;
    const std::vector<std::int64_t>* const some = &unequal;
    for (ComputeType compute : {ComputeType::fp32, ComputeType::bf16, ComputeType::fp16}) {
        if (!ops::lstm_compute_unavailable<float, cpu>(compute).empty()) continue;
        const std::string name = to_string(compute);
        CAPTURE(name);
        for (std::size_t H : {64, 67})
            for (bool reverse : {false, true})
                for (const std::vector<std::int64_t>* lengths : {none, some}) {
                    CAPTURE(H);
                    CAPTURE(reverse);
                    CAPTURE(lengths != nullptr);
                    const auto in = random_layer_inputs<float>(5, 64, 24, H, 900 + H, true, true);
                    std::vector<TensorList<float>> results;
                    for (int threads : {1, 2}) {
                        set_num_threads(threads);
                        TensorList<float> x;
                        for (const auto& t : in) x.push_back(t.clone().requires_grad_());
                        auto r =
                            ops::lstm_layer(x[0], lengths ? *lengths : std::vector<std::int64_t>{},
                                            x[1], x[2], x[3], x[4], x[5], x[6], reverse, compute);
                        Generator gen(7);
                        const auto w = Tensor<float>::uniform(r.output.shape(), -1, 1, gen);
                        const auto wh = Tensor<float>::uniform(r.h_n.shape(), -1, 1, gen);
                        (ops::sum(r.output * w) + ops::sum(r.h_n * wh) + ops::sum(r.c_n * wh))
                            .backward();
                        TensorList<float> got{r.output, r.h_n, r.c_n};
                        for (const auto& t : x) got.push_back(t.grad());
                        results.push_back(got);
                    }
                    for (std::size_t k = 0; k < results[0].size(); ++k) {
                        CAPTURE(k);
                        CHECK(results[0][k].to_vector() == results[1][k].to_vector());
                    }
                }
    }
    set_num_threads(saved_threads);
}

TEST_CASE("lstm_bidirectional_layer reports bad arguments of either direction") {
    auto f = random_layer_inputs<float>(4, 3, 2, 5, 1, false, true);
    auto p = ops::LSTMDirectionParams<float>{f[3], f[4], f[5], f[6], {}, {}};
    auto bad = p;
    bad.w_hh = Tensor<float>::zeros({20, 4});
    CHECK_THROWS_WITH_AS(ops::lstm_bidirectional_layer(f[0], {}, p, bad),
                         doctest::Contains("expected w_hh of shape [20,5], got [20,4]"),
                         ShapeError);
    CHECK_THROWS_WITH_AS(ops::lstm_bidirectional_layer(f[0], {4, 0, 2}, p, p),
                         doctest::Contains("lengths[1] = 0 is outside [1, T]"), ValueError);
    // Each direction valid on its own, but their outputs cannot share [T, B, 2H].
    auto g = random_layer_inputs<float>(4, 3, 2, 4, 2, false, true);
    auto other = ops::LSTMDirectionParams<float>{g[3], g[4], g[5], g[6], {}, {}};
    CHECK_THROWS_WITH_AS(ops::lstm_bidirectional_layer(f[0], {}, p, other),
                         doctest::Contains("forward direction has hidden size 5 (w_hh [20,5]) but "
                                           "the reverse direction 4 (w_hh [16,4])"),
                         ShapeError);
}
