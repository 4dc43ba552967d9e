// `mpirun -np R imdb_example train`: what the training loop (train_impl.hpp) needs from the
// ranks of a data-parallel job, and the same interface for one plain process.
//
// Ranks is the job as the loop sees it. Built without MPI, or run without a launcher, it is
// one rank and every collective is the identity: the single-process program is unchanged.
// Built with NNLITE_IMDB_WITH_MPI (CMake links nnlite::distributed when it exists) and
// started by mpirun/mpiexec/srun, it wraps a nnlite::distributed::ProcessGroup:
//   - start-up: check_start_up compares the resolved config, the vocabulary, a fingerprint
//     of every encoded split and the model's layout across ranks (a mismatch is an error on
//     every rank naming the first rank that differs), then broadcasts rank 0's parameters;
//   - each step: every rank draws the same global batch (the same BucketBatchSampler and
//     generator seed as one process) and takes its slice by DistributedBatchSampler's rule
//     (slice_of); the loss is summed over the slice and divided by the GLOBAL batch size;
//     GradientSync sums the gradients over the ranks (bucketed MPI_Allreduce), so each rank
//     then holds the 1-process gradient, and clipping (global norm) and the optimizer run
//     identically everywhere;
//   - evaluation: each rank scores its share of a split; the probabilities are gathered in
//     order (8 bytes a review), so the metrics are computed from the same numbers, in the
//     same order, as one process would, and the LR scheduler and early stopping take the
//     same decisions on every rank;
//   - only rank 0 prints and writes files (is_root).
// See docs/distributed.md ("The IMDB showcase on N processes").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nnlite/core/error.hpp>
#include <nnlite/distributed/sampler.hpp>
#include <nnlite/text/sequence.hpp>
#include <nnlite/text/vocabulary.hpp>
#include <string>
#include <utility>
#include <vector>

#include "app/training_data.hpp"
#include "model/inference.hpp"

#ifdef NNLITE_IMDB_WITH_MPI
#include <nnlite/distributed.hpp>
#endif

namespace imdb {

/// Whether an MPI launcher started this process (Open MPI's mpirun, MPICH's/Intel's Hydra,
/// Slurm's srun with PMI or PMIx). A plain run never initialises MPI.
inline bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
        if (std::getenv(v) != nullptr) return true;
    return false;
}

/// 64-bit FNV-1a, for the start-up data fingerprint.
inline std::uint64_t fnv1a(const void* data, std::size_t bytes,
                           std::uint64_t h = 0xcbf29ce484222325ULL) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

class Ranks {
  public:
    /// One process.
    Ranks() = default;
#ifdef NNLITE_IMDB_WITH_MPI
    explicit Ranks(const nnlite::distributed::ProcessGroup& pg)
        : pg_(&pg), rank_(pg.rank()), size_(pg.size()) {}
#endif

    int rank() const {
        return rank_;
    }
    int size() const {
        return size_;
    }
    bool is_root() const {
        return rank_ == 0;
    }
    bool distributed() const {
        return size_ > 1;
    }

    /// [begin, end) of `rank`'s share of n consecutive items (DistributedBatchSampler's rule:
    /// floor(n*r/R) to floor(n*(r+1)/R)).
    std::pair<std::size_t, std::size_t> share(std::size_t n, int rank) const {
        const auto lb =
            nnlite::distributed::DistributedBatchSampler(std::max<std::size_t>(n, 1), n ? n : 1,
                                                         rank, size_, 0, /*shuffle=*/false)
                .local_batch(0);
        return n ? std::make_pair(lb.offset, lb.offset + lb.indices.size())
                 : std::make_pair(std::size_t{0}, std::size_t{0});
    }
    /// This rank's slice of one global batch of dataset indices.
    std::vector<std::size_t> slice_of(const std::vector<std::size_t>& global) const {
        const auto [b, e] = share(global.size(), rank_);
        return {global.begin() + static_cast<std::ptrdiff_t>(b),
                global.begin() + static_cast<std::ptrdiff_t>(e)};
    }

    /// Collective: `bytes` must be equal on every rank (an error naming the rank if not).
    void check_same(const std::string& what, const std::string& bytes) const {
#ifdef NNLITE_IMDB_WITH_MPI
        if (pg_) nnlite::distributed::check_same_across_ranks(*pg_, what, bytes);
#else
        (void)what, (void)bytes;
#endif
    }

    /// Collective: every rank's values, concatenated in rank order; on every rank
    /// (to_root_only = false) or on rank 0 only (the others get an empty vector). Rank r
    /// passes the values of share(n, r) of a list of n.
    std::vector<double> gather(const std::vector<double>& mine, std::size_t n,
                               bool to_root_only) const {
        if (!distributed()) return mine;
#ifdef NNLITE_IMDB_WITH_MPI
        std::vector<int> counts(static_cast<std::size_t>(size_)), displs(counts.size());
        for (int r = 0; r < size_; ++r) {
            const auto [b, e] = share(n, r);
            counts[static_cast<std::size_t>(r)] = static_cast<int>(e - b);
            displs[static_cast<std::size_t>(r)] = static_cast<int>(b);
        }
        nnlite::check<nnlite::ValueError>(
            mine.size() == static_cast<std::size_t>(counts[static_cast<std::size_t>(rank_)]),
            "Ranks::gather: rank ", rank_, " passed ", mine.size(), " values, expected ",
            counts[static_cast<std::size_t>(rank_)]);
        std::vector<double> all(to_root_only && !is_root() ? 0 : n);
        namespace dd = nnlite::distributed::detail;
        if (to_root_only)
            dd::mpi_check(
                MPI_Gatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                            counts.data(), displs.data(), MPI_DOUBLE, 0, pg_->comm()),
                "MPI_Gatherv", "predictions");
        else
            dd::mpi_check(
                MPI_Allgatherv(mine.data(), static_cast<int>(mine.size()), MPI_DOUBLE, all.data(),
                               counts.data(), displs.data(), MPI_DOUBLE, pg_->comm()),
                "MPI_Allgatherv", "predictions");
        return all;
#else
        (void)n, (void)to_root_only;
        return mine;
#endif
    }

    /// Collective: element-wise sum over the ranks, on every rank.
    void allreduce_sum(std::vector<double>& v) const {
#ifdef NNLITE_IMDB_WITH_MPI
        if (distributed())
            nnlite::distributed::detail::mpi_check(
                MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE,
                              MPI_SUM, pg_->comm()),
                "MPI_Allreduce", "epoch statistics");
#else
        (void)v;
#endif
    }

    /// Collective: the model's layout is the same everywhere, then rank 0's values are.
    template <class B>
    void check_and_broadcast(SentimentModel<B>& model) const {
#ifdef NNLITE_IMDB_WITH_MPI
        if (!distributed()) return;
        nnlite::distributed::check_same_model(*pg_, model);
        nnlite::distributed::broadcast_module(*pg_, model);
#else
        (void)model;
#endif
    }
    /// Collective: rank 0's parameters everywhere (after rank 0 alone loaded a file).
    template <class B>
    void broadcast(SentimentModel<B>& model) const {
#ifdef NNLITE_IMDB_WITH_MPI
        if (distributed()) nnlite::distributed::broadcast_module(*pg_, model);
#else
        (void)model;
#endif
    }
    /// Collective debugging aid: every parameter bitwise equal on every rank.
    template <class B>
    void check_parameters_equal(SentimentModel<B>& model) const {
#ifdef NNLITE_IMDB_WITH_MPI
        if (distributed()) nnlite::distributed::check_parameters_equal(*pg_, model);
#else
        (void)model;
#endif
    }

#ifdef NNLITE_IMDB_WITH_MPI
    const nnlite::distributed::ProcessGroup* group() const {
        return pg_;
    }
#endif

  private:
#ifdef NNLITE_IMDB_WITH_MPI
    const nnlite::distributed::ProcessGroup* pg_ = nullptr;
#endif
    int rank_ = 0;
    int size_ = 1;
};

/// Sums the gradients over the ranks (bucketed all-reduce); nothing on one rank.
template <class B>
class GradientSync {
  public:
    GradientSync(const Ranks& ranks, const std::vector<nnlite::Tensor<float, B>>& params)
        : ranks_(ranks) {
#ifdef NNLITE_IMDB_WITH_MPI
        if (ranks.distributed())
            bucketer_ = std::make_unique<nnlite::distributed::GradientBucketer<float, B>>(params);
#else
        (void)params;
#endif
    }
    void allreduce() {
#ifdef NNLITE_IMDB_WITH_MPI
        if (bucketer_) bucketer_->allreduce(*ranks_.group(), nnlite::distributed::GradReduce::sum);
#endif
    }

  private:
    const Ranks& ranks_;
#ifdef NNLITE_IMDB_WITH_MPI
    std::unique_ptr<nnlite::distributed::GradientBucketer<float, B>> bucketer_;
#endif
};

/// The vocabulary as text (token and count per line), for the start-up comparison.
inline std::string vocabulary_text(const nnlite::text::Vocabulary& v) {
    std::string out;
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto id = static_cast<std::int32_t>(i);
        out += v.token(id) + "\t" + std::to_string(v.frequency(id)) + "\n";
    }
    return out;
}

/// One line per split: reviews, tokens and a fingerprint of the token ids and labels.
inline std::string data_fingerprint(const TrainingData& d) {
    std::string out;
    auto add = [&](const char* name, const Encoded& ids, const std::vector<int>& labels) {
        std::uint64_t h = fnv1a(labels.data(), labels.size() * sizeof(int));
        std::size_t tokens = 0;
        for (const auto& r : ids) {
            const std::uint64_t len = r.size();
            h = fnv1a(&len, sizeof len, h);
            h = fnv1a(r.data(), r.size() * sizeof(std::int32_t), h);
            tokens += r.size();
        }
        out += std::string(name) + ": " + std::to_string(ids.size()) + " reviews, " +
               std::to_string(tokens) + " tokens, fingerprint " + std::to_string(h) + "\n";
    };
    add("train", d.train_ids, d.train_labels);
    add("validation", d.val_ids, d.val_labels);
    add("test", d.test_ids, d.test_labels);
    return out;
}

/// Collective: configuration, vocabulary, data and model agree on every rank; then every
/// rank holds rank 0's parameters.
template <class B>
void check_start_up(const Ranks& ranks, const std::string& config_json, const TrainingData& data,
                    SentimentModel<B>& model) {
    if (!ranks.distributed()) return;
    ranks.check_same("configuration", config_json);
    ranks.check_same("vocabulary", vocabulary_text(data.vocabulary));
    ranks.check_same("data (encoded splits)", data_fingerprint(data));
    ranks.check_and_broadcast(model);
}

/// P(positive) for every review of a split, each rank scoring its share: on every rank
/// (to_root_only = false) or on rank 0 only (the others get an empty vector).
template <class B>
std::vector<double> predict_shared(const Ranks& ranks, SentimentModel<B>& model,
                                   const Encoded& encoded, const nnlite::text::SequenceOptions& seq,
                                   bool to_root_only) {
    if (!ranks.distributed()) return predict_probabilities(model, encoded, seq);
    const auto [b, e] = ranks.share(encoded.size(), ranks.rank());
    const Encoded mine(encoded.begin() + static_cast<std::ptrdiff_t>(b),
                       encoded.begin() + static_cast<std::ptrdiff_t>(e));
    return ranks.gather(predict_probabilities(model, mine, seq), encoded.size(), to_root_only);
}

/// Dropout masks must differ between ranks: with several ranks each epoch's masks come
/// from rank_seed(seed of the epoch, rank), which a resumed run reproduces (one process keeps
/// the model's own stream, saved in the checkpoint).
template <class B>
void seed_dropout_for_epoch(const Ranks& ranks, SentimentModel<B>& model, std::uint64_t seed,
                            int epoch) {
    if (!ranks.distributed()) return;
    namespace dd = nnlite::distributed;
    model.dropout_generator().set_state(
        dd::rank_seed(dd::mix64(seed ^ 0xd50u) ^ static_cast<std::uint64_t>(epoch), ranks.rank()),
        0);
}

}  // namespace imdb
