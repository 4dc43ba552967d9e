// Model-level inference on a tiny randomly initialised SentimentModel (no data, no files):
// integrated gradients of several reviews in one pass (integrated_gradients_batch) against the
// original algorithm run one review at a time, for reviews of different lengths including
// one token; completeness (the shares add up to about logit(x) - logit(baseline)); and the
// probabilities against predict_probabilities.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/core/error.hpp>
#include <nnlite/core/random.hpp>
#include <vector>

#include "app/config.hpp"
#include "model/inference.hpp"
#include "model/model.hpp"

using namespace imdb;

namespace {

constexpr std::size_t kVocab = 40;

Config tiny_config(std::size_t layers, bool bidirectional) {
    Config c;
    c.embedding_dim = 8;
    c.hidden_size = 6;
    c.num_layers = layers;
    c.bidirectional = bidirectional;
    c.pooling = Pooling::parse("last+max+mean");
    c.seed = 7;
    return c;
}

Encoded random_reviews(const std::vector<std::size_t>& lengths, std::uint64_t seed) {
    nnlite::Generator gen(seed);
    Encoded out;
    for (std::size_t n : lengths) {
        std::vector<std::int32_t> ids(n);
        // ids 1..kVocab-1: real tokens (0 is <pad>)
        for (auto& id : ids) id = 1 + static_cast<std::int32_t>(gen.randint(kVocab - 1));
        out.push_back(ids);
    }
    return out;
}

// The algorithm as it was before batching, one review at a time: the `steps` path points in
// one batch of equal lengths, then a separate no-grad forward for the probability.
Attribution reference(SentimentModel<nnlite::cpu>& model, const std::vector<std::int32_t>& ids,
                      std::size_t steps) {
    const std::size_t T = ids.size();
    Tensor embedded = model.embed(nnlite::Tensor<std::int32_t>::from(ids, {1, T})).detach();
    const std::size_t E = embedded.size(2);
    const auto e = embedded.to_vector();
    std::vector<float> values(steps * T * E);
    for (std::size_t k = 0; k < steps; ++k) {
        const float a = (static_cast<float>(k) + 0.5f) / static_cast<float>(steps);
        for (std::size_t i = 0; i < T * E; ++i) values[k * T * E + i] = a * e[i];
    }
    Tensor path = Tensor::from(values, {steps, T, E});
    path.requires_grad_(true);
    Tensor logits = model.classify(path, std::vector<std::int64_t>(steps, std::int64_t(T)));
    logits.backward(Tensor::ones(logits.shape()));
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
    const double logit = model.classify(embedded, {std::int64_t(T)}).item();
    out.probability = 1.0 / (1.0 + std::exp(-logit));
    return out;
}

double logit_of(SentimentModel<nnlite::cpu>& model, const std::vector<float>& embedded,
                std::size_t T, std::size_t E) {
    nnlite::NoGradGuard no_grad;
    return model.classify(Tensor::from(embedded, {1, T, E}), {std::int64_t(T)}).item();
}

// |a - b| within 1e-5 of the review's largest share (float reassociation only).
void check_same(const Attribution& got, const Attribution& want) {
    REQUIRE(got.contributions.size() == want.contributions.size());
    double scale = 1e-12;
    for (double c : want.contributions) scale = std::max(scale, std::abs(c));
    for (std::size_t t = 0; t < want.contributions.size(); ++t)
        CHECK(std::abs(got.contributions[t] - want.contributions[t]) <= 1e-5 * scale);
    CHECK(got.probability == doctest::Approx(want.probability).epsilon(1e-6));
}

}  // namespace

TEST_CASE("integrated gradients of several reviews in one pass equal one review at a time") {
    for (const auto& [layers, bidirectional] :
         std::vector<std::pair<std::size_t, bool>>{{1, true}, {2, true}, {1, false}}) {
        CAPTURE(layers);
        CAPTURE(bidirectional);
        SentimentModel<nnlite::cpu> model(tiny_config(layers, bidirectional), kVocab);
        model.eval();
        for (auto& p : model.parameters()) p.requires_grad_(false);  // as Classifier::load
        const std::vector<std::size_t> lengths{7, 1, 23, 3, 23, 1, 12};
        const Encoded reviews = random_reviews(lengths, 11);
        for (std::size_t steps : {std::size_t{16}, std::size_t{1}, std::size_t{5}}) {
            CAPTURE(steps);
            const auto batched = integrated_gradients_batch(model, reviews, steps);
            REQUIRE(batched.size() == reviews.size());
            for (std::size_t r = 0; r < reviews.size(); ++r) {
                CAPTURE(r);
                const Attribution want = reference(model, reviews[r], steps);
                check_same(batched[r], want);
                check_same(integrated_gradients(model, reviews[r], steps), want);
            }
        }
        // The probabilities are the model's: the same as predict_probabilities gives.
        const auto batched = integrated_gradients_batch(model, reviews);
        const auto seq = nnlite::text::SequenceOptions().max_length(1000).min_length(1);
        const auto p = predict_probabilities(model, reviews, seq);
        for (std::size_t r = 0; r < reviews.size(); ++r)
            CHECK(batched[r].probability == doctest::Approx(p[r]).epsilon(1e-6));
    }
}

TEST_CASE("integrated-gradient shares add up to about logit(x) - logit(baseline)") {
    SentimentModel<nnlite::cpu> model(tiny_config(1, true), kVocab);
    model.eval();
    for (auto& p : model.parameters()) p.requires_grad_(false);
    const Encoded reviews = random_reviews({1, 4, 17, 30}, 5);
    const auto batched = integrated_gradients_batch(model, reviews);
    for (std::size_t r = 0; r < reviews.size(); ++r) {
        CAPTURE(r);
        const std::size_t T = reviews[r].size();
        Tensor embedded;
        {
            nnlite::NoGradGuard no_grad;
            embedded = model.embed(nnlite::Tensor<std::int32_t>::from(reviews[r], {1, T}));
        }
        const std::size_t E = embedded.size(2);
        const double gap = logit_of(model, embedded.to_vector(), T, E) -
                           logit_of(model, std::vector<float>(T * E, 0.f), T, E);
        double sum = 0;
        for (double c : batched[r].contributions) sum += c;
        CAPTURE(sum);
        CAPTURE(gap);
        // 16 midpoint steps along a smooth path: a few percent at most.
        CHECK(std::abs(sum - gap) <= 0.03 * std::abs(gap) + 1e-3);
    }
}

TEST_CASE("integrated gradients on a trainable model clear the parameters' gradients") {
    SentimentModel<nnlite::cpu> model(tiny_config(1, true), kVocab);
    model.eval();
    const Encoded reviews = random_reviews({3, 9}, 3);
    const auto batched = integrated_gradients_batch(model, reviews);
    for (const auto& p : model.parameters()) {
        CHECK(p.requires_grad());
        if (!p.grad().defined()) continue;
        for (float v : p.grad().to_vector()) CHECK(v == 0.f);
    }
    for (std::size_t r = 0; r < reviews.size(); ++r)
        check_same(batched[r], reference(model, reviews[r], 16));
}

TEST_CASE("integrated gradients refuse an empty review and zero steps") {
    SentimentModel<nnlite::cpu> model(tiny_config(1, true), kVocab);
    model.eval();
    CHECK(integrated_gradients_batch(model, Encoded{}).empty());
    CHECK_THROWS_AS(integrated_gradients_batch(model, Encoded{{1, 2}, {}}), nnlite::ValueError);
    CHECK_THROWS_AS(integrated_gradients(model, {1, 2}, 0), nnlite::ValueError);
}
