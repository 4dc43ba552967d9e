// A small sequence classifier (Embedding -> BiLSTM -> Linear on the final states) and a
// synthetic token data set for the distributed tests: label 1 when a sequence holds more
// tokens from the lower half of the vocabulary than from the upper half.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <nnlite/nnlite.hpp>
#include <vector>

namespace dist_test {

template <class T>
class Classifier : public nnlite::nn::Module<T> {
  public:
    Classifier(std::size_t vocab, std::size_t embed, std::size_t hidden, std::uint64_t seed)
        : gen_(seed) {
        namespace nn = nnlite::nn;
        embedding = this->register_module(
            "embedding", std::make_shared<nn::Embedding<T>>(
                             nn::EmbeddingOptions(vocab, embed).padding_idx(0), gen_));
        lstm = this->register_module(
            "lstm",
            std::make_shared<nn::LSTM<T>>(
                nn::LSTMOptions(embed, hidden).bidirectional(true).batch_first(true), gen_));
        fc = this->register_module("fc", std::make_shared<nn::Linear<T>>(2 * hidden, 1, gen_));
    }
    nnlite::Tensor<T> forward(const nnlite::Tensor<std::int32_t>& ids,
                              const std::vector<std::int64_t>& lengths) {
        namespace ops = nnlite::ops;
        const auto batch = static_cast<std::int64_t>(ids.size(0));
        auto out = lstm->forward(embedding->forward(ids), lengths);
        auto last = ops::reshape(ops::transpose(out.h_n, 0, 1), {batch, -1});  // [B, 2H]
        return ops::reshape(fc->forward(last), {batch});
    }
    std::shared_ptr<nnlite::nn::Embedding<T>> embedding;
    std::shared_ptr<nnlite::nn::LSTM<T>> lstm;
    std::shared_ptr<nnlite::nn::Linear<T>> fc;

  private:
    nnlite::Generator gen_;
};

struct Dataset {
    std::vector<std::vector<std::int32_t>> tokens;
    std::vector<float> labels;
};

inline Dataset make_dataset(std::size_t n, std::size_t vocab, std::size_t max_len,
                            std::uint64_t seed) {
    nnlite::Generator gen(seed);
    Dataset d;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t len = max_len / 2 + gen.randint(max_len / 2 + 1);
        std::vector<std::int32_t> seq(len);
        long balance = 0;
        for (auto& t : seq) {
            t = static_cast<std::int32_t>(1 + gen.randint(vocab - 1));
            balance += static_cast<std::size_t>(t) < vocab / 2 ? 1 : -1;
        }
        d.tokens.push_back(std::move(seq));
        d.labels.push_back(balance > 0 ? 1.f : 0.f);
    }
    return d;
}

/// The samples `indices` as a right-padded id tensor [n, T], their lengths and labels.
template <class T>
struct Batch {
    nnlite::Tensor<std::int32_t> ids;
    std::vector<std::int64_t> lengths;
    nnlite::Tensor<T> labels;
};

template <class T>
Batch<T> make_batch(const Dataset& d, const std::vector<std::size_t>& indices) {
    std::size_t T_max = 1;
    for (auto i : indices) T_max = std::max(T_max, d.tokens[i].size());
    std::vector<std::int32_t> ids(indices.size() * T_max, 0);
    std::vector<T> labels;
    Batch<T> b;
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const auto& seq = d.tokens[indices[k]];
        std::copy(seq.begin(), seq.end(), ids.begin() + static_cast<std::ptrdiff_t>(k * T_max));
        b.lengths.push_back(static_cast<std::int64_t>(seq.size()));
        labels.push_back(static_cast<T>(d.labels[indices[k]]));
    }
    b.ids = nnlite::Tensor<std::int32_t>::from(ids, {indices.size(), T_max});
    b.labels = nnlite::Tensor<T>::from(labels, {indices.size()});
    return b;
}

}  // namespace dist_test
