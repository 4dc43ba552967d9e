// DistributedBatchSampler: which samples each rank trains on, and rank_seed for what must
// differ between ranks. Needs no MPI: it is plain arithmetic on (rank, world size, seed).
//
// Contract. Every rank builds the sampler with the same dataset size, global batch size,
// seed and epoch; then every rank computes the SAME permutation of [0, dataset_size)
// (Fisher-Yates driven by nnlite::Generator(seed mixed with epoch)), cuts it into the same
// global batches of global_batch samples (the last one smaller unless drop_last), and takes
// its own contiguous slice of each: rank r of R gets positions
//     [floor(n*r/R), floor(n*(r+1)/R))        of a global batch of n samples,
// so the slices are disjoint, cover the batch, and differ in size by at most one. The
// global batch is exactly what a 1-process run with the same seed would use, which is what
// makes a data-parallel run reproduce the 1-process one (gradient_bucketer.hpp for the
// loss normalisation: divide by batch.global_size, not by the local count).
//
// A rank's slice can be empty (a final batch smaller than R); that rank must still take
// part in the all-reduce (it contributes zeros).
//
// rank_seed(seed, rank): a different, deterministic seed per rank for randomness that must
// NOT repeat across ranks (dropout masks: with one seed everywhere, every rank would drop
// the same units of its different samples, a correlated and weaker regulariser). Model
// initialisation uses the common seed (or broadcast_module); the data order uses the
// common seed through this sampler.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"

namespace nnlite::distributed {

/// SplitMix64's finaliser: a bijective 64-bit mix.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// A seed for `rank` derived from the job's common seed: distinct for distinct ranks
/// (mix64 is a bijection) and different from the common seed's own stream.
inline std::uint64_t rank_seed(std::uint64_t seed, int rank) {
    check<ValueError>(rank >= 0, "rank_seed: rank must be >= 0, got ", rank);
    return mix64(seed ^ mix64(0x7261'6e6b'0000'0000ULL + static_cast<std::uint64_t>(rank)));
}

/// This rank's part of one global batch.
struct LocalBatch {
    std::vector<std::size_t> indices;  // dataset indices for this rank (may be empty)
    std::size_t global_size = 0;       // samples in the whole global batch, on all ranks
    std::size_t offset = 0;            // position of this rank's slice within the global batch
};

class DistributedBatchSampler {
  public:
    DistributedBatchSampler(std::size_t dataset_size, std::size_t global_batch, int rank,
                            int world_size, std::uint64_t seed, bool shuffle = true,
                            bool drop_last = false)
        : dataset_size_(dataset_size),
          global_batch_(global_batch),
          rank_(rank),
          world_(world_size),
          seed_(seed),
          shuffle_(shuffle),
          drop_last_(drop_last) {
        check<ValueError>(global_batch > 0, "DistributedBatchSampler: global_batch must be > 0");
        check<ValueError>(world_size > 0 && rank >= 0 && rank < world_size,
                          "DistributedBatchSampler: rank ", rank, " is not in [0, ", world_size,
                          ")");
        set_epoch(0);
    }

    /// Reshuffles for `epoch` (the same permutation on every rank for the same epoch).
    void set_epoch(std::uint64_t epoch) {
        epoch_ = epoch;
        order_.resize(dataset_size_);
        std::iota(order_.begin(), order_.end(), std::size_t{0});
        if (!shuffle_) return;
        Generator gen(mix64(seed_ ^ mix64(epoch)));
        for (std::size_t i = order_.size(); i > 1; --i)
            std::swap(order_[i - 1], order_[gen.randint(i)]);
    }
    std::uint64_t epoch() const { return epoch_; }

    std::size_t num_batches() const {
        return drop_last_ ? dataset_size_ / global_batch_
                          : (dataset_size_ + global_batch_ - 1) / global_batch_;
    }
    /// The whole global batch b (every rank's slices together, in order).
    std::vector<std::size_t> global_batch(std::size_t b) const {
        check<IndexError>(b < num_batches(), "DistributedBatchSampler: batch ", b,
                          " out of range (", num_batches(), " batches)");
        const std::size_t begin = b * global_batch_;
        const std::size_t end = std::min(begin + global_batch_, dataset_size_);
        return {order_.begin() + static_cast<std::ptrdiff_t>(begin),
                order_.begin() + static_cast<std::ptrdiff_t>(end)};
    }
    /// This rank's slice of global batch b.
    LocalBatch local_batch(std::size_t b) const {
        auto all = global_batch(b);
        const std::size_t n = all.size(), R = static_cast<std::size_t>(world_),
                          r = static_cast<std::size_t>(rank_);
        LocalBatch out;
        out.global_size = n;
        out.offset = n * r / R;
        const std::size_t end = n * (r + 1) / R;
        out.indices.assign(all.begin() + static_cast<std::ptrdiff_t>(out.offset),
                           all.begin() + static_cast<std::ptrdiff_t>(end));
        return out;
    }

    std::size_t dataset_size() const { return dataset_size_; }
    std::size_t global_batch_size() const { return global_batch_; }
    int rank() const { return rank_; }
    int world_size() const { return world_; }

  private:
    std::size_t dataset_size_, global_batch_;
    int rank_, world_;
    std::uint64_t seed_;
    bool shuffle_, drop_last_;
    std::uint64_t epoch_ = 0;
    std::vector<std::size_t> order_;
};

}  // namespace nnlite::distributed
