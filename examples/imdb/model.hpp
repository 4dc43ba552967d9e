// The sentiment classifier: Embedding -> (Dropout) -> stacked BiLSTM over the real
// lengths -> pooling (last states, max and/or mean over each review's own tokens) ->
// Dropout -> Linear -> one logit per review. State-dict names match the equivalent
// PyTorch module (embedding.weight, lstm.weight_ih_l0_reverse, fc.weight, ...).
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

#include "config.hpp"

namespace imdb {

using Tensor = nnlite::Tensor<float>;
using Ids = nnlite::Tensor<std::int32_t>;

class SentimentModel : public nnlite::nn::Module<float> {
  public:
    SentimentModel(const Config& c, std::size_t vocab_size)
        : config_(c), init_gen_(c.seed), dropout_gen_(c.seed ^ 0xd50u) {
        namespace nn = nnlite::nn;
        embedding = register_module(
            "embedding",
            std::make_shared<nn::Embedding<float>>(
                nn::EmbeddingOptions(vocab_size, c.embedding_dim).padding_idx(0), init_gen_));
        lstm = register_module("lstm", std::make_shared<nn::LSTM<float>>(
                                           nn::LSTMOptions(c.embedding_dim, c.hidden_size)
                                               .num_layers(c.num_layers)
                                               .bidirectional(c.bidirectional)
                                               .dropout(c.lstm_dropout)
                                               .batch_first(true),
                                           init_gen_));
        lstm->set_dropout_generator(dropout_gen_);
        embedding_dropout = register_module(
            "embedding_dropout",
            std::make_shared<nn::Dropout<float>>(c.embedding_dropout, dropout_gen_));
        dropout = register_module("dropout",
                                  std::make_shared<nn::Dropout<float>>(c.dropout, dropout_gen_));
        fc = register_module("fc",
                             std::make_shared<nn::Linear<float>>(c.pooled_size(), 1, init_gen_));
        pooling_ = c.pooling_parts();
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
        const auto B = static_cast<std::int64_t>(embedded.size(0));
        const std::size_t T = embedded.size(1);
        auto out = lstm->forward(embedding_dropout->forward(embedded), lengths);
        const std::size_t D = config_.bidirectional ? 2 : 1, L = config_.num_layers;
        std::vector<Tensor> pooled;
        for (const auto& part : pooling_) {
            if (part == "last") {
                // Each direction's final state: forward at each review's last token, reverse at
                // its first (packed semantics of the LSTM).
                auto last = ops::narrow(out.h_n, 0, (L - 1) * D, D);  // [D, B, H]
                pooled.push_back(ops::reshape(ops::transpose(last, 0, 1), {B, -1}));
            } else if (part == "max") {
                pooled.push_back(
                    ops::max(ops::add(out.output, padding_mask(lengths, T, -1e4f)), 1).first);
            } else {  // mean over the real tokens (outputs past each length are zero)
                pooled.push_back(ops::div(ops::sum(out.output, 1), lengths_column(lengths)));
            }
        }
        auto features = pooled.size() == 1 ? pooled[0] : ops::concat(pooled, 1);
        return ops::reshape(fc->forward(dropout->forward(features)), {B});
    }

    const Config& config() const { return config_; }
    nnlite::Generator& dropout_generator() { return dropout_gen_; }

    std::shared_ptr<nnlite::nn::Embedding<float>> embedding;
    std::shared_ptr<nnlite::nn::LSTM<float>> lstm;
    std::shared_ptr<nnlite::nn::Dropout<float>> embedding_dropout;
    std::shared_ptr<nnlite::nn::Dropout<float>> dropout;
    std::shared_ptr<nnlite::nn::Linear<float>> fc;

  private:
    // [B, T, 1]: 0 at real tokens, `fill` past each length.
    static Tensor padding_mask(const std::vector<std::int64_t>& lengths, std::size_t T,
                               float fill) {
        auto m = Tensor::zeros({lengths.size(), T, 1});
        for (std::size_t b = 0; b < lengths.size(); ++b)
            for (std::size_t t = static_cast<std::size_t>(lengths[b]); t < T; ++t)
                m.data()[b * T + t] = fill;
        return m;
    }
    static Tensor lengths_column(const std::vector<std::int64_t>& lengths) {
        auto l = Tensor::empty({lengths.size(), 1});
        for (std::size_t b = 0; b < lengths.size(); ++b)
            l.data()[b] = static_cast<float>(lengths[b]);
        return l;
    }

    Config config_;
    nnlite::Generator init_gen_;
    nnlite::Generator dropout_gen_;
    std::vector<std::string> pooling_;
};

}  // namespace imdb
