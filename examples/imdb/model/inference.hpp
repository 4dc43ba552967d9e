// Inference with a SentimentModel<B> on any backend: batched probabilities and
// integrated-gradients attributions. Classifier (classifier.hpp) instantiates them for the
// backend nnlite::dispatch picks.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/core/error.hpp>
#include <nnlite/nn/module.hpp>
#include <nnlite/ops/pointwise.hpp>
#include <nnlite/text/sequence.hpp>
#include <numeric>
#include <utility>
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

/// Integrated gradients of the logit (token ids after truncation, at least one per review),
/// from the all-padding baseline (zero embeddings): the path x(a) = a * x for
/// a = (k + 1/2) / steps; a token's share is sum_e x_e * mean_k d logit(x(a_k)) / d x_e.
/// The shares add up to about logit(x) - logit(baseline), unlike plain gradient x input,
/// which saturates once the model is confident.
///
/// Only the path tensor records gradients when the parameters are frozen
/// (requires_grad false, as Classifier::load leaves them): the call then writes nothing
/// shared and may run on several threads at once. On a trainable model the parameters'
/// gradients are a by-product and are cleared again (not thread-safe).
struct Attribution {
    double probability = 0;
    std::vector<double> contributions;  // one per token
};

/// Several reviews in ONE forward and ONE backward pass: review r's `steps` path points and
/// x_r itself (a = 1, whose logit gives the probability; its gradient is not used) are rows
/// r * (steps + 1) + k of one batch, each with its review's own length (the LSTM reads
/// nothing past it, so a review's rows compute what they would alone). The answers equal
/// those of one review at a time up to float reassociation; a larger batch only makes each
/// LSTM time step's matrix products larger.
template <class B>
std::vector<Attribution> integrated_gradients_batch(SentimentModel<B>& model,
                                                    const Encoded& reviews,
                                                    std::size_t steps = 16) {
    using TensorB = nnlite::Tensor<float, B>;
    nnlite::check<nnlite::ValueError>(steps >= 1, "integrated gradients need at least one step");
    std::vector<Attribution> out(reviews.size());
    if (reviews.empty()) return out;
    ensure_eval(model);
    bool trainable = false;
    for (const auto& p : model.parameters()) trainable = trainable || p.requires_grad();
    const std::size_t R = reviews.size(), S = steps + 1;
    std::size_t T = 0;
    for (const auto& ids : reviews) {
        nnlite::check<nnlite::ValueError>(!ids.empty(),
                                          "integrated gradients need at least one token");
        T = std::max(T, ids.size());
    }
    // Every review's embedded tokens from one lookup: [R, T, E], right-padded with id 0.
    std::vector<std::int32_t> padded(R * T, 0);
    for (std::size_t r = 0; r < R; ++r)
        std::copy(reviews[r].begin(), reviews[r].end(),
                  padded.begin() + static_cast<std::ptrdiff_t>(r * T));
    std::vector<float> e;
    {
        nnlite::NoGradGuard no_grad;
        e = model.embed(nnlite::Tensor<std::int32_t>::from(padded, {R, T}).template to<B>())
                .to_vector();
    }
    const std::size_t E = e.size() / (R * T), TE = T * E;
    // The path rows, zero past each review's length (never read).
    std::vector<float> path_values(R * S * TE, 0.f);
    std::vector<std::int64_t> lengths(R * S);
    std::vector<float> seed(R * S, 1.f);  // d(sum of the path points' logits) / d logits
    for (std::size_t r = 0; r < R; ++r) {
        const std::size_t n = reviews[r].size() * E;
        const float* x = e.data() + r * TE;
        for (std::size_t k = 0; k < S; ++k) {
            const float a =
                k < steps ? (static_cast<float>(k) + 0.5f) / static_cast<float>(steps) : 1.f;
            float* row = path_values.data() + (r * S + k) * TE;
            for (std::size_t i = 0; i < n; ++i) row[i] = a * x[i];
            lengths[r * S + k] = static_cast<std::int64_t>(reviews[r].size());
        }
        seed[r * S + steps] = 0.f;  // x itself: only its logit is wanted
    }
    TensorB path = nnlite::Tensor<float>::from(path_values, {R * S, T, E}).template to<B>();
    path.requires_grad_(true);
    TensorB logits = model.classify(path, lengths);
    logits.backward(nnlite::Tensor<float>::from(seed, {R * S}).template to<B>());
    if (trainable) model.zero_grad();  // the parameters' gradients are a by-product here
    const auto l = logits.detach().to_vector();
    const auto g = path.grad().to_vector();
    std::vector<double> g_sum(TE);  // sum over the path points of d logit / d x, per review
    for (std::size_t r = 0; r < R; ++r) {
        const std::size_t len = reviews[r].size();
        std::fill(g_sum.begin(), g_sum.begin() + static_cast<std::ptrdiff_t>(len * E), 0.0);
        for (std::size_t k = 0; k < steps; ++k) {
            const float* gk = g.data() + (r * S + k) * TE;
            for (std::size_t i = 0; i < len * E; ++i) g_sum[i] += static_cast<double>(gk[i]);
        }
        const float* x = e.data() + r * TE;
        auto& c = out[r].contributions;
        c.resize(len);
        for (std::size_t t = 0; t < len; ++t) {
            double dot = 0;
            for (std::size_t j = 0; j < E; ++j)
                dot += g_sum[t * E + j] * static_cast<double>(x[t * E + j]);
            c[t] = dot / static_cast<double>(steps);
        }
        out[r].probability = 1.0 / (1.0 + std::exp(-static_cast<double>(l[r * S + steps])));
    }
    return out;
}

/// One review: integrated_gradients_batch of one.
template <class B>
Attribution integrated_gradients(SentimentModel<B>& model, const std::vector<std::int32_t>& ids,
                                 std::size_t steps = 16) {
    return std::move(integrated_gradients_batch(model, Encoded{ids}, steps).front());
}

}  // namespace imdb
