// nn::Embedding: a lookup table of num_embeddings vectors of size embedding_dim,
// PyTorch's torch.nn.Embedding.
//
// Contract
//   input : ids, an int32 or int64 tensor of any shape S, each id in [0, num_embeddings)
//   output: [S..., embedding_dim]
//   parameter: weight [num_embeddings, embedding_dim] (state-dict key "weight")
//   init  : N(0, 1) from the given Generator; the padding row (if any) is then zeroed.
//   padding_idx: that row receives no gradient, so an optimizer never moves it (with a
//           zero-initialised row it stays zero; weight decay aside, which PyTorch applies
//           too). A negative padding_idx counts from the end, as in PyTorch.
//   freeze: the weight does not require grad (pretrained vectors kept fixed).
//   errors: IndexError for an id out of range or a padding_idx outside the table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>

#include "nnlite/core/random.hpp"
#include "nnlite/nn/init.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/ops/indexing.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::nn {

/// EmbeddingOptions(num, dim).padding_idx(0).freeze(true), like libtorch's.
class EmbeddingOptions {
  public:
    EmbeddingOptions(std::size_t num_embeddings, std::size_t embedding_dim)
        : num_(num_embeddings), dim_(embedding_dim) {}
    EmbeddingOptions& padding_idx(std::optional<std::int64_t> idx) {
        padding_idx_ = idx;
        return *this;
    }
    EmbeddingOptions& freeze(bool on) {
        freeze_ = on;
        return *this;
    }
    std::size_t num_embeddings() const { return num_; }
    std::size_t embedding_dim() const { return dim_; }
    std::optional<std::int64_t> padding_idx() const { return padding_idx_; }
    bool freeze() const { return freeze_; }

  private:
    std::size_t num_;
    std::size_t dim_;
    std::optional<std::int64_t> padding_idx_;
    bool freeze_ = false;
};

template <class T = float, class B = cpu>
class Embedding : public Module<T, B> {
  public:
    using tensor_type = Tensor<T, B>;

    explicit Embedding(const EmbeddingOptions& options, Generator& gen = default_generator())
        : options_(options) {
        padding_idx_ = normalized_padding(options.padding_idx(), options.num_embeddings());
        auto w = tensor_type::empty({options.num_embeddings(), options.embedding_dim()});
        init::normal_(w, 0.0, 1.0, gen);
        weight = this->register_parameter("weight", w, !options.freeze());
        zero_padding_row();
    }
    Embedding(std::size_t num_embeddings, std::size_t embedding_dim,
              Generator& gen = default_generator())
        : Embedding(EmbeddingOptions(num_embeddings, embedding_dim), gen) {}

    /// An embedding holding a copy of `weights` [num, dim]. As in PyTorch, the vectors are
    /// taken as given (the padding row is not zeroed); it only receives no gradient.
    static std::shared_ptr<Embedding> from_pretrained(
        const tensor_type& weights, bool freeze = true,
        std::optional<std::int64_t> padding_idx = std::nullopt) {
        check<ShapeError>(weights.dim() == 2,
                          "Embedding::from_pretrained: weights must be 2-D [num, dim], got ",
                          to_string(weights.shape()));
        auto e = std::shared_ptr<Embedding>(
            new Embedding(EmbeddingOptions(weights.size(0), weights.size(1))
                              .padding_idx(padding_idx)
                              .freeze(freeze),
                          weights));
        return e;
    }

    /// Rows of weight for each id: ids [S...] (int32 or int64) -> [S..., embedding_dim].
    template <class I>
    tensor_type forward(const Tensor<I, B>& ids) const {
        static_assert(std::is_same_v<I, std::int32_t> || std::is_same_v<I, std::int64_t>,
                      "Embedding: ids must be an int32 or int64 tensor");
        return ops::embedding(weight, ids, padding_idx_);
    }
    template <class I>
    tensor_type operator()(const Tensor<I, B>& ids) const {
        return forward(ids);
    }

    const EmbeddingOptions& options() const { return options_; }
    /// The padding row, normalised to [0, num_embeddings) (nullopt when none).
    std::optional<std::int64_t> padding_idx() const { return padding_idx_; }

    tensor_type weight;

  private:
    Embedding(const EmbeddingOptions& options, const tensor_type& weights) : options_(options) {
        padding_idx_ = normalized_padding(options.padding_idx(), options.num_embeddings());
        weight = this->register_parameter("weight", weights.detach().clone(), !options.freeze());
    }

    static std::optional<std::int64_t> normalized_padding(std::optional<std::int64_t> idx,
                                                          std::size_t num) {
        if (!idx) return idx;
        const auto n = static_cast<std::int64_t>(num);
        check<IndexError>(*idx >= -n && *idx < n, "Embedding: padding_idx ", *idx,
                          " must be within [", -n, ", ", n, ") for num_embeddings = ", num);
        return *idx < 0 ? *idx + n : *idx;
    }

    void zero_padding_row() {
        if (!padding_idx_) return;
        const std::size_t dim = options_.embedding_dim();
        kernels<B>::fill(weight.data() + static_cast<std::size_t>(*padding_idx_) * dim, dim, T(0));
    }

    EmbeddingOptions options_;
    std::optional<std::int64_t> padding_idx_;
};

}  // namespace nnlite::nn
