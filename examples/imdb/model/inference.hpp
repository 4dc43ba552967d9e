// Inference with a SentimentModel<B> on any backend: batched probabilities and
// integrated-gradients attributions. Classifier (classifier.hpp) instantiates them for the
// backend nnlite::dispatch picks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/nn/module.hpp>
#include <nnlite/ops/pointwise.hpp>
#include <nnlite/text/sequence.hpp>
#include <numeric>
#include <vector>

#include "app/config.hpp"
#include "model/model.hpp"

namespace imdb {

using Encoded = std::vector<std::vector<std::int32_t>>;

/// Puts the model in eval mode unless it already is: a model already in eval mode is only
/// read, so inference may run on it from several threads at once (docs/threading.md).
template <class B>
void ensure_eval(SentimentModel<B>& model) {
    if (model.is_training()) model.eval();
}

/// P(positive) for every encoded review, in input order. Runs in eval mode without
/// recording gradients, in length-sorted batches so little padding is computed. Thread-safe
/// on a shared model that is already in eval mode.
template <class B>
std::vector<double> predict_probabilities(SentimentModel<B>& model, const Encoded& encoded,
                                          const nnlite::text::SequenceOptions& seq,
                                          std::size_t batch_size = 128) {
    nnlite::NoGradGuard no_grad;
    ensure_eval(model);
    std::vector<std::size_t> order(encoded.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return encoded[a].size() > encoded[b].size();
    });
    std::vector<double> probs(encoded.size());
    for (std::size_t begin = 0; begin < order.size(); begin += batch_size) {
        std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                     order.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                         order.size(), begin + batch_size)));
        auto batch = nnlite::text::pad_batch(encoded, idx, seq);
        const auto lengths = batch.lengths.to_vector();
        auto p =
            nnlite::ops::sigmoid(model.forward(batch.ids.template to<B>(), lengths)).to_vector();
        for (std::size_t i = 0; i < idx.size(); ++i) probs[idx[i]] = static_cast<double>(p[i]);
    }
    return probs;
}

/// Integrated gradients of the logit for one review (token ids after truncation, at least
/// one), from the all-padding baseline (zero embeddings): the path x(a) = a * x for
/// a = (k + 1/2) / steps, all steps in one batch; a token's share is
/// sum_e x_e * mean_k d logit(x(a_k)) / d x_e. The shares add up to about
/// logit(x) - logit(baseline), unlike plain gradient x input, which saturates once the
/// model is confident.
///
/// Only the path tensor records gradients when the parameters are frozen
/// (requires_grad false, as Classifier::load leaves them): the call then writes nothing
/// shared and may run on several threads at once. On a trainable model the parameters'
/// gradients are a by-product and are cleared again (not thread-safe).
struct Attribution {
    double probability = 0;
    std::vector<double> contributions;  // one per token
};

template <class B>
Attribution integrated_gradients(SentimentModel<B>& model, const std::vector<std::int32_t>& ids,
                                 std::size_t steps = 16) {
    using TensorB = nnlite::Tensor<float, B>;
    ensure_eval(model);
    bool trainable = false;
    for (const auto& p : model.parameters()) trainable = trainable || p.requires_grad();
    const std::size_t T = ids.size();
    auto id_tensor = nnlite::Tensor<std::int32_t>::from(ids, {1, T}).template to<B>();
    TensorB embedded = model.embed(id_tensor).detach();  // [1, T, E]
    const std::size_t E = embedded.size(2);
    const auto e = embedded.to_vector();
    std::vector<float> path_values(steps * T * E);
    for (std::size_t k = 0; k < steps; ++k) {
        const float a = (static_cast<float>(k) + 0.5f) / static_cast<float>(steps);
        for (std::size_t i = 0; i < T * E; ++i) path_values[k * T * E + i] = a * e[i];
    }
    TensorB path = nnlite::Tensor<float>::from(path_values, {steps, T, E}).template to<B>();
    path.requires_grad_(true);
    TensorB logits =
        model.classify(path, std::vector<std::int64_t>(steps, static_cast<std::int64_t>(T)));
    logits.backward(TensorB::ones(logits.shape()));
    if (trainable) model.zero_grad();  // the parameters' gradients are a by-product here
    const auto g = path.grad().to_vector();
    Attribution out;
    for (std::size_t t = 0; t < T; ++t) {
        double c = 0;
        for (std::size_t k = 0; k < steps; ++k)
            for (std::size_t j = 0; j < E; ++j)
                c +=
                    static_cast<double>(g[(k * T + t) * E + j]) * static_cast<double>(e[t * E + j]);
        out.contributions.push_back(c / static_cast<double>(steps));
    }
    nnlite::NoGradGuard no_grad;
    const double logit = model.classify(embedded, {static_cast<std::int64_t>(T)}).item();
    out.probability = 1.0 / (1.0 + std::exp(-logit));
    return out;
}

}  // namespace imdb
