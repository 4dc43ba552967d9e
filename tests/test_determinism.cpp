// Same seed, same thread count -> bitwise-identical training on CPU: a small
// Embedding -> BiLSTM (inter-layer dropout) -> Dropout -> Linear model trained for a few
// Adam steps with clipping, twice from the same seed, must end with identical parameters;
// a different seed must not.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <nnlite/nn/clip.hpp>
#include <nnlite/nn/dropout.hpp>
#include <nnlite/nn/embedding.hpp>
#include <nnlite/nn/linear.hpp>
#include <nnlite/nn/lstm.hpp>
#include <nnlite/ops/loss.hpp>
#include <nnlite/optim/adam.hpp>
#include <vector>

using namespace nnlite;

namespace {

std::vector<float> train_once(std::uint64_t seed) {
    Generator gen(seed);
    nn::Embedding<float> emb(nn::EmbeddingOptions(50, 8).padding_idx(0), gen);
    nn::LSTM<float> lstm(nn::LSTMOptions(8, 6).num_layers(2).bidirectional(true).dropout(0.3), gen);
    lstm.set_dropout_generator(gen);
    nn::Dropout<float> drop(0.5, gen);
    nn::Linear<float> fc(12, 1, gen);
    std::vector<Tensor<float>> params;
    for (nn::Module<float>* m : std::vector<nn::Module<float>*>{&emb, &lstm, &fc})
        for (auto& p : m->parameters()) params.push_back(p);
    optim::Adam<float> opt(params, optim::AdamOptions(1e-2));
    for (int step = 0; step < 4; ++step) {
        std::vector<std::int32_t> ids(5 * 7);
        for (auto& id : ids) id = static_cast<std::int32_t>(gen.randint(50));
        const std::vector<std::int64_t> lengths{7, 3, 5, 1, 6};
        auto x = emb.forward(Tensor<std::int32_t>::from(ids, {7, 5}));  // [T, B, E]
        auto out = lstm.forward(x, lengths);
        auto last = ops::reshape(ops::transpose(ops::narrow(out.h_n, 0, 2, 2), 0, 1), {5, 12});
        auto logits = ops::reshape(fc.forward(drop.forward(last)), {5});
        auto loss = ops::bce_with_logits(logits, Tensor<float>::from({1, 0, 1, 0, 1}));
        opt.zero_grad(true);
        loss.backward();
        nn::clip_grad_norm(params, 0.5);
        opt.step();
    }
    std::vector<float> flat;
    for (auto& p : params) {
        auto v = p.to_vector();
        flat.insert(flat.end(), v.begin(), v.end());
    }
    return flat;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("training twice from the same seed gives bitwise-identical parameters") {
    const auto a = train_once(7), b = train_once(7);
    CHECK(bitwise_equal(a, b));
    const auto c = train_once(8);
    CHECK_FALSE(bitwise_equal(a, c));
}
