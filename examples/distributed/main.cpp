// Data-parallel training over MPI with nnlite::distributed: the complete loop.
//
//   mpirun -np 2 build/release/examples/distributed/distributed_example --steps 200
//
// Every rank builds the same model, takes its slice of the same global batch, and after
// backward the gradients are averaged across ranks; clipping (on the global norm) and the
// Adam step are then identical everywhere, so the parameters stay equal on every rank.
// The data is synthetic (label 1 when a sequence has more tokens from the lower half of the
// vocabulary than from the upper half), generated identically on every rank from --seed.
// --benchmark times the steps and the all-reduce (docs/distributed.md).
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nnlite/distributed.hpp>
#include <nnlite/nnlite.hpp>
#include <string>
#include <vector>

namespace dist = nnlite::distributed;
namespace nn = nnlite::nn;
namespace ops = nnlite::ops;
using Tensor = nnlite::Tensor<float>;
using Ids = nnlite::Tensor<std::int32_t>;

struct Options {
    std::size_t steps = 100, global_batch = 64, vocab = 20000, embed = 96, hidden = 64;
    std::size_t layers = 1, seq_len = 256, min_len = 0, dataset = 8192, log_every = 10;
    bool bidirectional = true, benchmark = false;
    double lr = 2e-3, clip = 1.0, dropout = 0.2, bucket_mib = 25, expect_loss_below = 0;
    std::uint64_t seed = 1;
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            nnlite::check<nnlite::ValueError>(i + 1 < argc, a, ": missing value");
            return argv[++i];
        };
        auto size = [&] { return static_cast<std::size_t>(std::stoull(next())); };
        if (a == "--steps")
            o.steps = size();
        else if (a == "--global-batch")
            o.global_batch = size();
        else if (a == "--vocab")
            o.vocab = size();
        else if (a == "--embed")
            o.embed = size();
        else if (a == "--hidden")
            o.hidden = size();
        else if (a == "--layers")
            o.layers = size();
        else if (a == "--seq-len")
            o.seq_len = size();
        else if (a == "--min-len")
            o.min_len = size();
        else if (a == "--dataset")
            o.dataset = size();
        else if (a == "--log-every")
            o.log_every = size();
        else if (a == "--unidirectional")
            o.bidirectional = false;
        else if (a == "--benchmark")
            o.benchmark = true;
        else if (a == "--lr")
            o.lr = std::stod(next());
        else if (a == "--clip")
            o.clip = std::stod(next());
        else if (a == "--dropout")
            o.dropout = std::stod(next());
        else if (a == "--bucket-mib")
            o.bucket_mib = std::stod(next());
        else if (a == "--expect-loss-below")
            o.expect_loss_below = std::stod(next());
        else if (a == "--seed")
            o.seed = std::stoull(next());
        else
            throw nnlite::ValueError("unknown option " + a +
                                     " (see examples/distributed/README.md)");
    }
    if (o.min_len == 0) o.min_len = std::max<std::size_t>(1, o.seq_len / 2);
    nnlite::check<nnlite::ValueError>(o.min_len <= o.seq_len, "--min-len ", o.min_len,
                                      " exceeds --seq-len ", o.seq_len);
    return o;
}

// Embedding -> Dropout -> LSTM -> mean over time -> Dropout -> Linear -> one logit.
class Model : public nn::Module<float> {
  public:
    Model(const Options& o, std::uint64_t init_seed, std::uint64_t dropout_seed)
        : init_(init_seed), dropout_gen_(dropout_seed), directions_(o.bidirectional ? 2 : 1) {
        embedding = register_module(
            "embedding", std::make_shared<nn::Embedding<float>>(
                             nn::EmbeddingOptions(o.vocab, o.embed).padding_idx(0), init_));
        lstm = register_module("lstm",
                               std::make_shared<nn::LSTM<float>>(nn::LSTMOptions(o.embed, o.hidden)
                                                                     .num_layers(o.layers)
                                                                     .bidirectional(o.bidirectional)
                                                                     .batch_first(true),
                                                                 init_));
        dropout = register_module("dropout",
                                  std::make_shared<nn::Dropout<float>>(o.dropout, dropout_gen_));
        fc = register_module("fc",
                             std::make_shared<nn::Linear<float>>(directions_ * o.hidden, 1, init_));
    }
    Tensor forward(const Ids& ids, const std::vector<std::int64_t>& lengths) {
        const auto batch = static_cast<std::int64_t>(ids.size(0));
        auto out = lstm->forward(dropout->forward(embedding->forward(ids)), lengths);
        // Mean of the top layer's outputs over each sequence's real tokens (outputs past a
        // sequence's length are zero).
        std::vector<float> inv_len;
        for (auto l : lengths) inv_len.push_back(1.f / static_cast<float>(l));
        auto pooled = ops::mul(ops::sum(out.output, 1),
                               Tensor::from(inv_len, {lengths.size(), 1}));  // [B, D*H]
        return ops::reshape(fc->forward(dropout->forward(pooled)), {batch});
    }
    std::shared_ptr<nn::Embedding<float>> embedding;
    std::shared_ptr<nn::LSTM<float>> lstm;
    std::shared_ptr<nn::Dropout<float>> dropout;
    std::shared_ptr<nn::Linear<float>> fc;

  private:
    nnlite::Generator init_, dropout_gen_;
    std::size_t directions_;
};

// Sample i of the synthetic data set, a pure function of (seed, i): no rank stores it all.
struct Sample {
    std::vector<std::int32_t> tokens;
    float label;
};
Sample make_sample(const Options& o, std::size_t i) {
    nnlite::Generator gen(dist::mix64(o.seed ^ dist::mix64(i)));
    Sample s;
    s.tokens.resize(o.min_len + gen.randint(o.seq_len - o.min_len + 1));
    long balance = 0;
    for (auto& t : s.tokens) {
        t = static_cast<std::int32_t>(1 + gen.randint(o.vocab - 1));
        balance += static_cast<std::size_t>(t) < o.vocab / 2 ? 1 : -1;
    }
    s.label = balance > 0 ? 1.f : 0.f;
    return s;
}

int train(const dist::ProcessGroup& pg, const Options& o) {
    const bool root = pg.is_root();
    // Everything that must agree across ranks, checked once: a clear error naming the rank
    // instead of a hang or silently different runs.
    const std::string config =
        "steps=" + std::to_string(o.steps) + " batch=" + std::to_string(o.global_batch) +
        " lr=" + std::to_string(o.lr) + " clip=" + std::to_string(o.clip) +
        " seed=" + std::to_string(o.seed) + " dataset=" + std::to_string(o.dataset);
    dist::check_same_across_ranks(pg, "configuration", config);

    // Same init seed everywhere (and rank 0's values broadcast to make it certain); dropout
    // masks from a per-rank seed so ranks do not drop the same units.
    Model model(o, o.seed, dist::rank_seed(o.seed, pg.rank()));
    dist::check_same_model(pg, model);
    dist::broadcast_module(pg, model);
    auto params = model.parameters();
    nnlite::optim::Adam<float> opt(params, nnlite::optim::AdamOptions(o.lr));
    dist::GradientBucketer<float> bucketer(params,
                                           static_cast<std::size_t>(o.bucket_mib * 1024 * 1024));
    dist::DistributedBatchSampler sampler(o.dataset, o.global_batch, pg.rank(), pg.size(), o.seed);
    if (root)
        std::printf(
            "%d rank(s) x %d thread(s); %zu parameters; global batch %zu (%zu per rank); "
            "%zu bucket(s), %.2f MB all-reduced per step\n",
            pg.size(), nnlite::num_threads(), model.parameter_count(), o.global_batch,
            o.global_batch / static_cast<std::size_t>(pg.size()), bucketer.num_buckets(),
            static_cast<double>(bucketer.total_bytes()) / 1e6);

    const std::size_t warmup = o.benchmark ? std::min<std::size_t>(2, o.steps - 1) : 0;
    double t_compute = 0, t_wait = 0, t_allreduce = 0, t_update = 0, t_start = 0;
    double last_loss = 0;
    std::size_t step = 0;
    for (std::uint64_t epoch = 0; step < o.steps; ++epoch) {
        sampler.set_epoch(epoch);
        for (std::size_t b = 0; b < sampler.num_batches() && step < o.steps; ++b, ++step) {
            if (step == warmup) {
                pg.barrier();
                t_start = MPI_Wtime();
                t_compute = t_wait = t_allreduce = t_update = 0;
            }
            const auto lb = sampler.local_batch(b);
            double t0 = MPI_Wtime();
            // This rank's slice as a padded id tensor.
            std::size_t T = 1;
            std::vector<Sample> samples;
            for (auto i : lb.indices) {
                samples.push_back(make_sample(o, i));
                T = std::max(T, samples.back().tokens.size());
            }
            std::vector<std::int32_t> ids(samples.size() * T, 0);
            std::vector<std::int64_t> lengths;
            std::vector<float> labels;
            for (std::size_t k = 0; k < samples.size(); ++k) {
                std::copy(samples[k].tokens.begin(), samples[k].tokens.end(),
                          ids.begin() + static_cast<std::ptrdiff_t>(k * T));
                lengths.push_back(static_cast<std::int64_t>(samples[k].tokens.size()));
                labels.push_back(samples[k].label);
            }
            // Loss normalised by the GLOBAL batch, gradients summed across ranks: exactly the
            // 1-process gradient of the mean loss, even when slices differ in size.
            opt.zero_grad();
            double local_loss_sum = 0;
            if (!samples.empty()) {
                auto logits = model.forward(Ids::from(ids, {samples.size(), T}), lengths);
                auto loss_sum = ops::bce_with_logits(logits, Tensor::from(labels, {labels.size()}),
                                                     ops::Reduction::sum);
                local_loss_sum = static_cast<double>(loss_sum.item());
                (loss_sum * (1.f / static_cast<float>(lb.global_size))).backward();
            }
            double t1 = MPI_Wtime();
            if (o.benchmark) {  // time waiting for the slowest rank apart from the transfer
                pg.barrier();
                const double tb = MPI_Wtime();
                t_wait += tb - t1;
                t1 = tb;
            }
            bucketer.allreduce(pg, dist::GradReduce::sum);
            double t2 = MPI_Wtime();
            nn::clip_grad_norm(params, o.clip);  // global norm: identical on every rank
            opt.step();
            double t3 = MPI_Wtime();
            t_compute += t1 - t0;
            t_allreduce += t2 - t1;
            t_update += t3 - t2;

            double loss_sum = 0;  // for the log only
            dist::detail::mpi_check(
                MPI_Allreduce(&local_loss_sum, &loss_sum, 1, MPI_DOUBLE, MPI_SUM, pg.comm()),
                "MPI_Allreduce", "loss");
            last_loss = loss_sum / static_cast<double>(lb.global_size);
            if (root && !o.benchmark && o.log_every && (step + 1) % o.log_every == 0)
                std::printf("step %zu  loss %.4f\n", step + 1, last_loss);
        }
    }
    const double elapsed = MPI_Wtime() - t_start;
    dist::check_parameters_equal(pg, model);  // the data-parallel invariant held
    if (root && o.benchmark) {
        const double steps = static_cast<double>(o.steps - warmup);
        std::printf(
            "benchmark: %.0f steps in %.2f s: %.1f samples/s, %.1f ms/step "
            "(rank 0: compute %.1f ms, wait for slowest rank %.1f ms, all-reduce %.1f ms = "
            "%.1f%%, clip+Adam %.1f ms); "
            "%.2f MB all-reduced per step\n",
            steps, elapsed, steps * static_cast<double>(o.global_batch) / elapsed,
            1e3 * elapsed / steps, 1e3 * t_compute / steps, 1e3 * t_wait / steps,
            1e3 * t_allreduce / steps, 100 * t_allreduce / elapsed, 1e3 * t_update / steps,
            static_cast<double>(bucketer.total_bytes()) / 1e6);
    }
    if (root)
        std::printf("final loss %.4f; parameters equal on all %d rank(s)\n", last_loss, pg.size());
    if (o.expect_loss_below > 0 && !(last_loss < o.expect_loss_below)) {
        if (root)
            std::fprintf(stderr, "final loss %.4f is not below %.4f\n", last_loss,
                         o.expect_loss_below);
        return 1;
    }
    return 0;
}

int main(int argc, char** argv) {
    dist::ProcessGroup pg(argc, argv);
    return dist::run_or_abort(pg, [&] { return train(pg, parse(argc, argv)); });
}
