// Length-bucketed batches: examples of similar length share a batch, so a padded [B, T]
// batch is mostly real tokens instead of padding, while the order still changes every epoch.
//
// One training epoch (shuffle on), as torchtext's BucketIterator and AllenNLP's
// BucketBatchSampler do it:
//   1. permute all example indices with the seeded generator;
//   2. cut the permutation into pools of batch_size * pool_batches examples;
//   3. sort each pool by length (longest first; equal lengths keep their random order);
//   4. cut each pool into batches of batch_size;
//   5. permute the order of all batches.
// Every example appears exactly once per epoch; pools are whole multiples of batch_size,
// so at most one batch (from the last pool) is short, and drop_last leaves it out. With
// shuffle off (evaluation) all examples are sorted by length, longest first, ties by
// index, and cut in order: the least padding, the same batches every time.
//
// Within a batch indices are ordered longest first, the order pack_padded_sequence's
// enforce_sorted expects. Same lengths + same generator state = same batches.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"

namespace nnlite::text {

/// A uniformly random permutation of 0..n-1 (Fisher-Yates with the given generator).
inline std::vector<std::size_t> random_permutation(std::size_t n, Generator& gen) {
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) {
        const auto j = static_cast<std::size_t>(gen.randint(i));
        std::swap(p[i - 1], p[j]);
    }
    return p;
}

class BucketBatchOptions {
  public:
    explicit BucketBatchOptions(std::size_t batch_size = 64) { this->batch_size(batch_size); }
    BucketBatchOptions& batch_size(std::size_t n) {
        check<ValueError>(n > 0, "BucketBatchOptions: batch_size must be positive");
        batch_size_ = n;
        return *this;
    }
    BucketBatchOptions& shuffle(bool on) {
        shuffle_ = on;
        return *this;
    }
    /// Batches per sorting pool: larger pools mean less padding but batches whose
    /// composition varies less between epochs. 1 sorts within each batch only.
    BucketBatchOptions& pool_batches(std::size_t n) {
        check<ValueError>(n > 0, "BucketBatchOptions: pool_batches must be positive");
        pool_batches_ = n;
        return *this;
    }
    BucketBatchOptions& drop_last(bool on) {
        drop_last_ = on;
        return *this;
    }

    std::size_t batch_size() const { return batch_size_; }
    bool shuffle() const { return shuffle_; }
    std::size_t pool_batches() const { return pool_batches_; }
    bool drop_last() const { return drop_last_; }

  private:
    std::size_t batch_size_ = 64;
    bool shuffle_ = true;
    std::size_t pool_batches_ = 50;
    bool drop_last_ = false;
};

class BucketBatchSampler {
  public:
    /// lengths[i] is the (truncated) length of example i.
    BucketBatchSampler(std::vector<std::size_t> lengths, BucketBatchOptions options)
        : lengths_(std::move(lengths)), options_(options) {}

    std::size_t size() const { return lengths_.size(); }
    const BucketBatchOptions& options() const { return options_; }

    /// Batches per epoch.
    std::size_t num_batches() const {
        const std::size_t b = options_.batch_size();
        return options_.drop_last() ? lengths_.size() / b : (lengths_.size() + b - 1) / b;
    }

    /// The batches of one epoch, as example indices. Draws from `gen` only when shuffling;
    /// successive calls with one generator give successive epochs.
    std::vector<std::vector<std::size_t>> epoch(Generator& gen) const {
        const std::size_t n = lengths_.size();
        const std::size_t bs = options_.batch_size();
        std::vector<std::size_t> order;
        if (options_.shuffle()) {
            order = random_permutation(n, gen);
            const std::size_t pool = bs * options_.pool_batches();
            for (std::size_t begin = 0; begin < n; begin += pool) {
                const auto first = order.begin() + static_cast<std::ptrdiff_t>(begin);
                const auto last =
                    order.begin() + static_cast<std::ptrdiff_t>(std::min(n, begin + pool));
                std::stable_sort(first, last, [&](std::size_t a, std::size_t b) {
                    return lengths_[a] > lengths_[b];
                });
            }
        } else {
            order.resize(n);
            std::iota(order.begin(), order.end(), std::size_t{0});
            std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                return lengths_[a] > lengths_[b];
            });
        }
        std::vector<std::vector<std::size_t>> batches;
        batches.reserve(num_batches());
        for (std::size_t begin = 0; begin < n; begin += bs) {
            const std::size_t end = std::min(n, begin + bs);
            if (end - begin < bs && options_.drop_last()) continue;
            batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                 order.begin() + static_cast<std::ptrdiff_t>(end));
        }
        if (options_.shuffle()) {
            const auto perm = random_permutation(batches.size(), gen);
            std::vector<std::vector<std::size_t>> shuffled(batches.size());
            for (std::size_t i = 0; i < perm.size(); ++i) shuffled[i] = std::move(batches[perm[i]]);
            batches = std::move(shuffled);
        }
        return batches;
    }

  private:
    std::vector<std::size_t> lengths_;
    BucketBatchOptions options_;
};

}  // namespace nnlite::text
