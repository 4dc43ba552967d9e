// The sentiment classifier: Embedding -> (Dropout) -> stacked BiLSTM over the real
// lengths -> pooling (last states, max and/or mean over each review's own tokens) ->
// Dropout -> Linear -> one logit per review. State-dict names match the equivalent
// PyTorch module (embedding.weight, lstm.weight_ih_l0_reverse, fc.weight, ...).
// B is the backend the tensors live on (nnlite::cpu, or nnlite::cuda in a .cu file).
#pragma once

#include <cstdint>
#include <memory>
#include <nnlite/core/random.hpp>
#include <nnlite/nn/dropout.hpp>
#include <nnlite/nn/embedding.hpp>
#include <nnlite/nn/linear.hpp>
#include <nnlite/nn/lstm.hpp>
#include <nnlite/nn/module.hpp>
#include <nnlite/ops/arithmetic.hpp>
#include <nnlite/ops/reduction.hpp>
#include <nnlite/ops/shape.hpp>
#include <vector>

#include "app/config.hpp"

namespace imdb {

using Tensor = nnlite::Tensor<float>;

template <class B = nnlite::cpu>
class SentimentModel : public nnlite::nn::Module<float, B> {
  public:
    using Tensor = nnlite::Tensor<float, B>;
    using Ids = nnlite::Tensor<std::int32_t, B>;

    SentimentModel(const Config& c, std::size_t vocab_size)
        : config_(c), init_gen_(c.seed), dropout_gen_(c.seed ^ 0xd50u) {
        namespace nn = nnlite::nn;
        embedding = this->register_module(
            "embedding",
            std::make_shared<nn::Embedding<float, B>>(
                nn::EmbeddingOptions(vocab_size, c.embedding_dim).padding_idx(0), init_gen_));
        lstm = this->register_module("lstm", std::make_shared<nn::LSTM<float, B>>(
                                                 nn::LSTMOptions(c.embedding_dim, c.hidden_size)
                                                     .num_layers(c.num_layers)
                                                     .bidirectional(c.bidirectional)
                                                     .dropout(c.lstm_dropout)
                                                     .batch_first(true)
                                                     .compute(c.compute),
                                                 init_gen_));
        lstm->set_dropout_generator(dropout_gen_);
        embedding_dropout = this->register_module(
            "embedding_dropout",
            std::make_shared<nn::Dropout<float, B>>(c.embedding_dropout, dropout_gen_));
        dropout = this->register_module(
            "dropout", std::make_shared<nn::Dropout<float, B>>(c.dropout, dropout_gen_));
        fc = this->register_module(
            "fc", std::make_shared<nn::Linear<float, B>>(c.pooled_size(), 1, init_gen_));
    }

    /// ids [B, T] (right-padded with 0), lengths [B] -> logits [B].
    Tensor forward(const Ids& ids, const std::vector<std::int64_t>& lengths) {
        return classify(embed(ids), lengths);
    }

    /// Embedded tokens [B, T, E] (before dropout): the input that --explain attributes to.
    Tensor embed(const Ids& ids) { return embedding->forward(ids); }

    /// The rest of the network from embedded tokens.
    Tensor classify(const Tensor& embedded, const std::vector<std::int64_t>& lengths) {
        namespace ops = nnlite::ops;
        const auto batch = static_cast<std::int64_t>(embedded.size(0));
        const std::size_t T = embedded.size(1);
        auto out = lstm->forward(embedding_dropout->forward(embedded), lengths);
        const std::size_t D = config_.bidirectional ? 2 : 1, L = config_.num_layers;
        std::vector<Tensor> pooled;
        for (const PoolingPart part : config_.pooling.parts) {
            if (part == PoolingPart::last) {
                // Each direction's final state: forward at each review's last token, reverse at
                // its first (packed semantics of the LSTM).
                auto last = ops::narrow(out.h_n, 0, (L - 1) * D, D);  // [D, B, H]
                pooled.push_back(ops::reshape(ops::transpose(last, 0, 1), {batch, -1}));
            } else if (part == PoolingPart::max) {
                pooled.push_back(
                    ops::max(ops::add(out.output, padding_mask(lengths, T, -1e4f)), 1).first);
            } else {  // mean over the real tokens (outputs past each length are zero)
                pooled.push_back(ops::div(ops::sum(out.output, 1), lengths_column(lengths)));
            }
        }
        auto features = pooled.size() == 1 ? pooled[0] : ops::concat(pooled, 1);
        return ops::reshape(fc->forward(dropout->forward(features)), {batch});
    }

    const Config& config() const { return config_; }
    nnlite::Generator& dropout_generator() { return dropout_gen_; }

    std::shared_ptr<nnlite::nn::Embedding<float, B>> embedding;
    std::shared_ptr<nnlite::nn::LSTM<float, B>> lstm;
    std::shared_ptr<nnlite::nn::Dropout<float, B>> embedding_dropout;
    std::shared_ptr<nnlite::nn::Dropout<float, B>> dropout;
    std::shared_ptr<nnlite::nn::Linear<float, B>> fc;

  private:
    // [B, T, 1]: 0 at real tokens, `fill` past each length (built on the host, then moved).
    static Tensor padding_mask(const std::vector<std::int64_t>& lengths, std::size_t T,
                               float fill) {
        std::vector<float> m(lengths.size() * T, 0.f);
        for (std::size_t b = 0; b < lengths.size(); ++b)
            for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < T; ++t)
                m[b * T + t] = fill;
        return nnlite::Tensor<float>::from(m, {lengths.size(), T, 1}).template to<B>();
    }
    static Tensor lengths_column(const std::vector<std::int64_t>& lengths) {
        std::vector<float> l(lengths.size());
        for (std::size_t b = 0; b < lengths.size(); ++b) l[b] = static_cast<float>(lengths[b]);
        return nnlite::Tensor<float>::from(l, {lengths.size(), 1}).template to<B>();
    }

    Config config_;
    nnlite::Generator init_gen_;
    nnlite::Generator dropout_gen_;
};

}  // namespace imdb
