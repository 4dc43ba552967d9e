// nn::Embedding: PyTorch golden forward and weight gradient with padding_idx, padding row
// zero and never updated, from_pretrained (copy, freeze), int32 and int64 ids, bad ids.
#include <doctest/doctest.h>

#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/embedding.hpp>
#include <nnlite/ops/arithmetic.hpp>
#include <nnlite/ops/reduction.hpp>
#include <nnlite/optim/sgd.hpp>

#include "test_util.hpp"

using namespace nnlite;
using nnlite::testing::check_close;
using nnlite::testing::fixture_path;

TEST_CASE("Embedding with padding_idx matches PyTorch: output and weight gradient") {
    const auto f = io::SafetensorsFile::open(fixture_path("layers_optim.safetensors"));
    nn::Embedding<float> emb(nn::EmbeddingOptions(10, 4).padding_idx(2));
    emb.load_state_dict({{"weight", f.get<float>("embedding.weight")}});
    const auto ids = f.get<std::int64_t>("embedding.ids");
    auto y = emb(ids);
    check_close(y, f.get<float>("embedding.output"), 1e-6, 0.0, "embedding.output");
    ops::sum(ops::mul(y, f.get<float>("embedding.w_out"))).backward();
    const auto gw = emb.weight.grad();
    check_close(gw, f.get<float>("embedding.grad.weight"), 1e-5, 1e-6, "embedding.grad.weight");
    for (std::size_t j = 0; j < 4; ++j) CHECK(gw.at({2, j}) == 0.f);  // the pad id occurs 4x

    // int32 ids give the same rows.
    const auto v = ids.to_vector();
    auto ids32 =
        Tensor<std::int32_t>::from(std::vector<std::int32_t>(v.begin(), v.end()), ids.shape());
    CHECK(emb(ids32).to_vector() == y.to_vector());
}

TEST_CASE("Embedding init is N(0, 1) from the generator with the padding row zeroed") {
    Generator g1(11), g2(11);
    nn::Embedding<double> emb(nn::EmbeddingOptions(50, 8).padding_idx(-1), g1);
    CHECK(emb.padding_idx() == 49);
    CHECK(emb.weight.shape() == Shape{50, 8});
    CHECK(emb.state_dict().count("weight") == 1);
    auto expected = Tensor<double>::normal({50, 8}, 0.0, 1.0, g2).to_vector();
    for (std::size_t j = 0; j < 8; ++j) expected[49 * 8 + j] = 0.0;
    CHECK(emb.weight.to_vector() == expected);
    CHECK(emb.weight.requires_grad());
    CHECK(emb.parameter_count() == 400);
}

TEST_CASE("the padding row stays zero through training") {
    Generator gen(5);
    nn::Embedding<float> emb(nn::EmbeddingOptions(6, 3).padding_idx(0), gen);
    optim::SGD<float> opt(emb.parameters(), optim::SGDOptions(0.5).momentum(0.9));
    auto ids = Tensor<std::int64_t>::from({0, 1, 0, 5, 0, 2}, {2, 3});
    for (int s = 0; s < 3; ++s) {
        opt.zero_grad();
        ops::sum(ops::mul(emb(ids), emb(ids))).backward();
        opt.step();
    }
    for (std::size_t j = 0; j < 3; ++j) CHECK(emb.weight.at({0, j}) == 0.f);
    CHECK(emb.weight.at({1, 0}) != 0.f);
}

TEST_CASE("from_pretrained copies the vectors, freezes by default, keeps the pad row as given") {
    auto w = Tensor<float>::from({1, 2, 3, 4, 5, 6}, {3, 2});
    auto emb = nn::Embedding<float>::from_pretrained(w);
    CHECK_FALSE(emb->weight.requires_grad());
    CHECK(emb->parameter_count() == 0);
    CHECK_FALSE(emb->weight.shares_storage_with(w));
    auto y = emb->forward(Tensor<std::int32_t>::from({2, 0}));
    CHECK(y.to_vector() == std::vector<float>{5, 6, 1, 2});
    CHECK_FALSE(y.requires_grad());

    auto trainable = nn::Embedding<float>::from_pretrained(w, false, 1);
    CHECK(trainable->weight.requires_grad());
    CHECK(trainable->padding_idx() == 1);
    CHECK(trainable->weight.at({1, 0}) == 3.f);  // as given, like PyTorch
    auto ids = Tensor<std::int64_t>::from({1, 2, 1});
    ops::sum(trainable->forward(ids)).backward();
    CHECK(trainable->weight.grad().to_vector() == std::vector<float>{0, 0, 0, 0, 1, 1});

    CHECK_THROWS_AS(nn::Embedding<float>::from_pretrained(Tensor<float>::zeros({4})), ShapeError);
}

TEST_CASE("Embedding rejects out-of-range ids and padding indices") {
    nn::Embedding<float> emb(5, 2);
    CHECK_THROWS_WITH_AS(emb(Tensor<std::int64_t>::from({0, 5}, {2})),
                         doctest::Contains("token id 5 at position 1 is out of range [0, 5)"),
                         IndexError);
    CHECK_THROWS_AS(emb(Tensor<std::int32_t>::from({-1})), IndexError);
    CHECK_THROWS_WITH_AS(nn::Embedding<float>(nn::EmbeddingOptions(5, 2).padding_idx(5)),
                         doctest::Contains("padding_idx 5 must be within [-5, 5)"), IndexError);
}

TEST_CASE("the embedding's gradient over many repeated ids is the serial sum, on 1 and 2 threads") {
    // 4,096 ids (past the split threshold) over 1,000 rows, the low rows far more often (as
    // frequency-sorted vocabularies give them), a padding row that gets nothing; output
    // gradients are small integers, so every sum is exact and the check is equality.
    const std::size_t rows = 1000, width = 96, n = 4096;
    std::vector<std::int64_t> ids(n);
    for (std::size_t j = 0; j < n; ++j)
        ids[j] = static_cast<std::int64_t>((j * j / 7) % rows % (1 + j % 40));
    std::vector<float> g(n * width);
    for (std::size_t k = 0; k < g.size(); ++k)
        g[k] = static_cast<float>(static_cast<int>(k % 13) - 6);
    std::vector<float> want(rows * width, 0.f);
    for (std::size_t j = 0; j < n; ++j)
        if (ids[j] != 3)
            for (std::size_t i = 0; i < width; ++i)
                want[static_cast<std::size_t>(ids[j]) * width + i] += g[j * width + i];
    const int before = num_threads();
    for (const int threads : {1, 2}) {
        CAPTURE(threads);
        set_num_threads(threads);
        auto w = Tensor<float>::zeros({rows, width}).requires_grad_();
        auto out = ops::embedding(w, Tensor<std::int64_t>::from(ids, {n}), std::int64_t{3});
        out.backward(Tensor<float>::from(g, {n, width}));
        CHECK(w.grad().to_vector() == want);
    }
    set_num_threads(before);
}
