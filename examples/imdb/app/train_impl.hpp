// `imdb_example train` as a template over the backend: data -> vocabulary -> model ->
// epochs with validation, LR on plateau, early stopping, best-on-validation and resumable
// checkpoints -> test report. train.cpp instantiates it through nnlite::dispatch
// (nnlite::cpu, and nnlite::cuda in a CUDA build); run directories and checkpoints are the same
// files on either. Under mpirun the same loop runs on every rank (Ranks, in
// distributed_training.hpp: slices of each global batch, summed gradients, shared
// evaluation); only rank 0 prints and writes.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <nnlite/core/threads.hpp>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/nn/clip.hpp>
#include <nnlite/nn/module_conversion.hpp>
#include <nnlite/ops/loss.hpp>
#include <nnlite/optim/adam.hpp>
#include <nnlite/optim/early_stopping.hpp>
#include <nnlite/optim/scheduler.hpp>
#include <nnlite/text/batching.hpp>
#include <string>
#include <vector>

#include "app/commands.hpp"
#include "app/distributed_training.hpp"
#include "app/nonfinite_steps.hpp"
#include "app/progress.hpp"
#include "app/test_hooks.hpp"
#include "app/training_data.hpp"
#include "model/classifier.hpp"
#include "model/inference.hpp"
#include "report/report.hpp"

namespace imdb {

namespace train_detail {

namespace fs = std::filesystem;
using nnlite::check;

/// One metrics.jsonl line.
std::string epoch_json(const EpochRecord& r);
/// The epochs of metrics.jsonl up to `up_to_epoch` (resume trims what a crash left after
/// the checkpoint); a malformed line is a FormatError naming file and line.
std::vector<EpochRecord> read_metrics(const std::string& path, int up_to_epoch);
void write_metrics(const std::string& path, const std::vector<EpochRecord>& history);
/// Restores a generator from the "seed offset" text a checkpoint holds.
void restore_generator(nnlite::Generator& g, const std::string& text, const std::string& path);
/// A resumed run keeps the settings saved in its config.json; only --epochs (to extend the
/// run) and --skip-nonfinite may change. Any other setting given on the command line that differs
/// from the saved one is an error rather than silently ignored.
Config resumed_config(Config saved, const TrainArgs& args, const std::string& config_path);

template <class B>
std::unique_ptr<nnlite::optim::Optimizer<float, B>> make_optimizer(
    const Config& c, const std::vector<nnlite::Tensor<float, B>>& params) {
    namespace optim = nnlite::optim;
    if (c.optimizer == OptimizerKind::adamw)
        return std::make_unique<optim::AdamW<float, B>>(
            params, optim::AdamWOptions(c.lr).weight_decay(c.weight_decay));
    return std::make_unique<optim::Adam<float, B>>(
        params, optim::AdamOptions(c.lr).weight_decay(c.weight_decay));
}

/// Writes one safetensors file of the run directory atomically; `epoch` is the epoch it
/// belongs to (for the test hook that pauses inside the write, test_hooks.hpp).
inline void write_run_file(const nnlite::io::SafetensorsWriter& w, const std::string& path,
                           int epoch) {
    nnlite::io::AtomicFileWriter out(path);
    w.write(out);
    test_hooks::pause_before_commit(path, out.temp_path(), epoch);
    out.commit();
}

/// model.safetensors: the weights after `epoch` (the same bytes as io::save with an
/// "epoch" metadata entry).
template <class B>
void save_model(const std::string& path, SentimentModel<B>& model, int epoch) {
    nnlite::io::SafetensorsWriter w;
    for (const auto& kv : model.state_dict()) w.add(kv.first, kv.second);
    w.set_metadata("epoch", std::to_string(epoch));
    write_run_file(w, path, epoch);
}

/// Everything a resumed run needs, in one atomically written file (host copies of the
/// tensors: a checkpoint written on one device resumes on the other).
template <class B>
void save_checkpoint(const std::string& path, SentimentModel<B>& model,
                     nnlite::optim::Optimizer<float, B>& opt,
                     const nnlite::optim::ReduceLROnPlateau<float, B>& plateau,
                     const nnlite::optim::EarlyStopping* early,
                     const nnlite::Generator& shuffle_gen, int epoch, double best_val_accuracy,
                     int best_epoch, std::int64_t skipped_steps,
                     const std::string& data_fingerprint) {
    nnlite::io::SafetensorsWriter w;
    for (const auto& kv : model.state_dict()) w.add("model." + kv.first, kv.second);
    for (const auto& kv : opt.state_dict()) w.add("optimizer." + kv.first, kv.second);
    for (const auto& kv : plateau.state_dict()) w.add("scheduler." + kv.first, kv.second);
    if (early)
        for (const auto& kv : early->state_dict()) w.add("early_stopping." + kv.first, kv.second);
    w.set_metadata("epoch", std::to_string(epoch));
    w.set_metadata("data_fingerprint", data_fingerprint);
    w.set_metadata("best_val_accuracy", nlohmann::json(best_val_accuracy).dump());
    w.set_metadata("best_epoch", std::to_string(best_epoch));
    w.set_metadata("skipped_steps", std::to_string(skipped_steps));
    w.set_metadata("shuffle_generator",
                   std::to_string(shuffle_gen.seed()) + " " + std::to_string(shuffle_gen.offset()));
    const auto& dg = model.dropout_generator();
    w.set_metadata("dropout_generator",
                   std::to_string(dg.seed()) + " " + std::to_string(dg.offset()));
    write_run_file(w, path, epoch);
}

template <class TD>
nnlite::nn::StateDict<TD> prefixed(const nnlite::io::SafetensorsFile& f,
                                   const std::string& prefix) {
    nnlite::nn::StateDict<TD> out;
    for (const auto& name : f.names())
        if (name.rfind(prefix, 0) == 0) out.emplace(name.substr(prefix.size()), f.get<TD>(name));
    return out;
}

/// A temp file of an atomic write (io::write_file_atomically names them
/// ".<target>.tmp-<pid>-<n>-<tick>") left behind when a write was interrupted.
inline bool is_temp_leftover(const std::string& name) {
    return name.size() > 1 && name[0] == '.' && name.find(".tmp-", 1) != std::string::npos;
}

/// Before a run uses an existing folder: a folder that is not empty and not an nnlite run
/// is refused (naming what is in it); temp files of interrupted writes are removed (said
/// on stdout). Links are never followed.
inline void prepare_run_folder(const fs::path& dir, const std::string& run_dir) {
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(dir, ec))) return;  // missing (or checked later)
    std::vector<std::string> others, leftovers;
    bool is_run = false;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (is_temp_leftover(name) && entry.is_regular_file() && !entry.is_symlink())
            leftovers.push_back(name);
        else if (name == RunFiles::config || name == RunFiles::checkpoint ||
                 name == RunFiles::model || name == RunFiles::vocab)
            is_run = true;
        else
            others.push_back(name);
    }
    if (!is_run && !others.empty()) {
        std::sort(others.begin(), others.end());
        std::string list;
        for (std::size_t i = 0; i < std::min<std::size_t>(others.size(), 5); ++i)
            list += (i ? ", " : "") + others[i];
        if (others.size() > 5) list += ", ... (" + std::to_string(others.size()) + " entries)";
        throw nnlite::IoError("--out '" + run_dir +
                              "' is not empty and not an nnlite run (it holds " + list +
                              "); choose an empty or new directory");
    }
    std::sort(leftovers.begin(), leftovers.end());
    for (const auto& name : leftovers) {
        fs::remove(dir / name);
        std::printf("removed %s: a temp file left by an interrupted write\n",
                    (dir / name).string().c_str());
    }
}

}  // namespace train_detail

/// The whole `train` command with the model, optimizer and batches on backend B;
/// `device` is what the first line reports ("cpu", "cuda (NVIDIA H100 ...)"); `ranks` is
/// this process's place in an mpirun job (or one process).
template <class B>
int train_on(const TrainArgs& args, const std::string& device, const Ranks& ranks) {
    using namespace train_detail;
    using TensorB = nnlite::Tensor<float, B>;
    using clock = std::chrono::steady_clock;
    const auto t_start = clock::now();
    const bool root = ranks.is_root();  // prints and writes; the other ranks are silent
    Config cfg = args.config;
    const std::string run_dir = args.run_dir;
    const fs::path dir(run_dir);
    const std::string ckpt_path = (dir / RunFiles::checkpoint).string();
    const std::string metrics_path = (dir / RunFiles::metrics).string();
    const std::string config_path = (dir / RunFiles::config).string();
    bool settings_changed = false;  // --epochs or --skip-nonfinite on --resume
    if (root) prepare_run_folder(dir, run_dir);
    const std::string model_path = (dir / RunFiles::model).string();
    // model.safetensors is written after the checkpoint of its epoch (below), so a run never
    // leaves one without a checkpoint; an older imdb_example killed inside its first epoch,
    // or a deleted checkpoint, did. Such a folder can be neither continued nor overwritten:
    // both ways say so, with the same way out.
    const std::string model_without_checkpoint =
        "'" + run_dir + "' holds a trained model (" + RunFiles::model +
        ") but no checkpoint to continue it from (a run stopped before its first checkpoint "
        "by an older imdb_example, or a deleted checkpoint); train again with --out NEW_DIR, "
        "or delete " +
        model_path + " to start over in '" + run_dir + "'";
    if (args.resume) {
        if (!fs::exists(ckpt_path) && fs::exists(model_path))
            throw nnlite::IoError("--resume: " + ckpt_path +
                                  " does not exist: " + model_without_checkpoint);
        check<nnlite::IoError>(
            fs::exists(ckpt_path), "--resume: ", ckpt_path,
            " does not exist (nothing to resume; start a new run without --resume)");
        const Config saved = read_config(config_path);
        cfg = resumed_config(saved, args, config_path);
        settings_changed = cfg.to_json() != saved.to_json();
        if (root)
            std::printf("resuming %s (preset %s, %zu epochs)\n", run_dir.c_str(),
                        cfg.preset.c_str(), cfg.epochs);
    } else {
        // Trained weights are never overwritten by a new run; a directory left by a run that
        // died before its first checkpoint (config, vocabulary, metrics, temp files) may be
        // reused.
        if (root) {
            check<nnlite::IoError>(!fs::exists(ckpt_path), "run directory '", run_dir,
                                   "' already holds a trained model (", RunFiles::checkpoint,
                                   "); pass --resume to continue it or --out to choose a new "
                                   "directory");
            check<nnlite::IoError>(!fs::exists(model_path), "run directory ",
                                   model_without_checkpoint);
        }
    }
    cfg.validate();
    // --compute bf16/fp16 where this device or CPU cannot run it: stop before any data is read.
    const std::string compute_problem =
        nnlite::ops::lstm_compute_unavailable<float, B>(cfg.compute);
    check<nnlite::Error>(compute_problem.empty(), "--compute ", nnlite::to_string(cfg.compute),
                         ": ", compute_problem);

    // ---- data ----------------------------------------------------------------------
    if (root) {
        std::printf("device: %s   threads: %d   data: %s\n", device.c_str(), nnlite::num_threads(),
                    args.data_path.c_str());
        if (ranks.distributed())
            std::printf("ranks: %d (MPI), %d threads each; global batch %zu\n", ranks.size(),
                        nnlite::num_threads(), cfg.batch_size);
    }
    // The run directory is created once the data has loaded: a wrong --data leaves nothing.
    TrainingData data = prepare_training_data(cfg, args.data_path, run_dir, args.resume, root);
    // The same reviews as the run was trained on (checkpoints without a fingerprint, from
    // before it was recorded, are taken on trust); checked before anything is written.
    if (args.resume) {
        const auto md = nnlite::io::SafetensorsFile::open(ckpt_path).metadata();
        const auto it = md.find("data_fingerprint");
        const std::string saved = it == md.end() ? data.fingerprint : it->second;
        check<nnlite::ValueError>(
            saved == data.fingerprint, "--resume: ", args.data_path, " is not the data ", run_dir,
            " was trained on (reviews train/validation/test-hash ", data.fingerprint,
            ", the run has ", saved, "); resume with the same --data and --limit-*");
    }
    // (a resume that extends the run records its new length only once the data has loaded)
    if (root && (!args.resume || settings_changed))
        write_text_file(config_path, cfg.to_json().dump(2) + "\n");
    if (root)
        std::printf("%s\nvocabulary: %zu tokens   loading + tokenizing took %.1f s\n",
                    data.summary.c_str(), data.vocabulary.size(), data.seconds);

    // ---- model and optimisation ------------------------------------------------------
    SentimentModel<B> model(cfg, data.vocabulary.size());
    // Ranks agree on config, vocabulary, data and model shape; rank 0's weights everywhere.
    check_start_up(ranks, cfg.to_json().dump(), data, model);
    std::vector<TensorB> params;
    for (auto& p : model.parameters())
        if (p.requires_grad()) params.push_back(p);
    auto opt = make_optimizer<B>(cfg, params);
    GradientSync<B> grad_sync(ranks, params);
    namespace optim = nnlite::optim;
    optim::ReduceLROnPlateau<float, B> plateau(*opt, optim::ReduceLROnPlateauOptions()
                                                         .mode(optim::PlateauMode::min)
                                                         .factor(cfg.plateau_factor)
                                                         .patience(cfg.plateau_patience));
    std::unique_ptr<optim::EarlyStopping> early;
    if (cfg.patience > 0)
        early = std::make_unique<optim::EarlyStopping>(cfg.patience, 0.0, optim::PlateauMode::max);
    nnlite::Generator shuffle_gen(cfg.seed + 1);
    int start_epoch = 0;
    double best_val = -1.0;
    int best_epoch = 0;               // the epoch model.safetensors holds (0: none yet)
    std::int64_t skipped_before = 0;  // non-finite steps skipped before a resume
    std::vector<EpochRecord> history;
    if (args.resume) {
        auto f = nnlite::io::SafetensorsFile::open(ckpt_path);
        model.load_state_dict(nnlite::nn::to_backend<B>(prefixed<float>(f, "model.")));
        opt->load_state_dict(nnlite::nn::to_backend<B>(prefixed<float>(f, "optimizer.")));
        plateau.load_state_dict(prefixed<double>(f, "scheduler."));
        if (early) early->load_state_dict(prefixed<double>(f, "early_stopping."));
        const auto& md = f.metadata();
        for (const char* key :
             {"epoch", "best_val_accuracy", "shuffle_generator", "dropout_generator"})
            check<nnlite::FormatError>(md.count(key) != 0, ckpt_path, ": metadata has no '", key,
                                       "'");
        start_epoch = std::stoi(md.at("epoch"));
        best_val = nlohmann::json::parse(md.at("best_val_accuracy")).get<double>();
        // (checkpoints from before best_epoch was recorded wrote model.safetensors first)
        best_epoch = md.count("best_epoch") ? std::stoi(md.at("best_epoch")) : -1;
        if (md.count("skipped_steps")) skipped_before = std::stoll(md.at("skipped_steps"));
        if (root && best_epoch == start_epoch) {
            // The checkpoint's epoch was the best so far: a run stopped between writing the
            // checkpoint and model.safetensors left the older model (or none); the
            // checkpoint's weights are the best ones, written as that epoch would have.
            bool current = false;
            try {
                const auto mm = nnlite::io::SafetensorsFile::open(model_path).metadata();
                current = mm.count("epoch") && mm.at("epoch") == std::to_string(start_epoch);
            } catch (const nnlite::Error&) {  // missing (or unreadable): rewritten
            }
            if (!current) {
                save_model(model_path, model, start_epoch);
                std::printf(
                    "%s: the run stopped before saving epoch %d's weights; written from "
                    "the checkpoint\n",
                    model_path.c_str(), start_epoch);
            }
        }
        if (root)
            check<nnlite::IoError>(fs::exists(model_path), "--resume: ", model_path,
                                   " (the best weights so far) is missing; ", ckpt_path,
                                   " cannot rebuild it (it holds epoch ", start_epoch,
                                   ", the best was epoch ", best_epoch, ")");
        restore_generator(shuffle_gen, md.at("shuffle_generator"), ckpt_path);
        restore_generator(model.dropout_generator(), md.at("dropout_generator"), ckpt_path);
        if (root) history = read_metrics(metrics_path, start_epoch);
        if (root)
            std::printf("resumed after epoch %d (best validation accuracy %.2f%%)\n", start_epoch,
                        100 * best_val);
    }
    if (root)
        std::printf(
            "model: %zu parameters (embedding %zu x %zu, %s%zu-layer LSTM %zu, pooling %s)%s\n",
            model.parameter_count(), data.vocabulary.size(), cfg.embedding_dim,
            cfg.bidirectional ? "bidirectional " : "", cfg.num_layers, cfg.hidden_size,
            cfg.pooling.to_string().c_str(),
            cfg.compute == nnlite::ComputeType::fp32
                ? ""
                : (std::string(", LSTM GEMMs in ") + nnlite::to_string(cfg.compute)).c_str());

    // ---- epochs ----------------------------------------------------------------------
    const auto seq = sequence_options(cfg);
    std::vector<std::size_t> kept_lengths;
    for (const auto& ids : data.train_ids)
        kept_lengths.push_back(std::min(ids.size(), cfg.max_length));
    nnlite::text::BucketBatchSampler sampler(
        kept_lengths, nnlite::text::BucketBatchOptions().batch_size(cfg.batch_size).shuffle(true));
    // Under mpirun the ranks' stdout is a pseudo-terminal whatever mpirun's own output is
    // (often a log): print plain lines there.
    const bool tty = stdout_is_tty() && !launched_by_mpi();
    bool stopped_early = false;
    NonFiniteSteps nonfinite(cfg.skip_nonfinite, skipped_before, run_dir);
    for (int epoch = start_epoch; epoch < static_cast<int>(cfg.epochs); ++epoch) {
        if (early && early->should_stop()) {
            stopped_early = true;
            break;
        }
        model.train();
        seed_dropout_for_epoch(ranks, model, cfg.seed, epoch);
        const auto batches = sampler.epoch(shuffle_gen);  // the same global batches everywhere
        Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs),
                          batches.size(), tty && root);
        double loss_sum = 0;
        std::size_t seen = 0, correct = 0, done = 0;
        std::size_t global_seen = 0;
        nonfinite.start_epoch();
        for (const auto& global_idx : batches) {
            // This rank's slice; the loss is its sum over the slice / the GLOBAL batch size,
            // so the gradients summed over the ranks are the 1-process mean-loss gradient.
            const auto idx = ranks.distributed() ? ranks.slice_of(global_idx) : global_idx;
            opt->zero_grad(true);
            double step_loss = 0;  // this rank's loss summed over its reviews of the batch
            std::size_t step_correct = 0;
            if (!idx.empty()) {
                auto batch = nnlite::text::pad_batch(data.train_ids, idx, seq);
                std::vector<float> target_values(idx.size());
                for (std::size_t i = 0; i < idx.size(); ++i)
                    target_values[i] = static_cast<float>(data.train_labels[idx[i]]);
                const auto targets =
                    nnlite::Tensor<float>::from(target_values, {idx.size()}).template to<B>();
                auto logits = model.forward(batch.ids.template to<B>(), batch.lengths.to_vector());
                const auto reduction = ranks.distributed() ? nnlite::ops::Reduction::sum
                                                           : nnlite::ops::Reduction::mean;
                auto loss = nnlite::ops::bce_with_logits(logits, targets, reduction);
                if (test_hooks::nonfinite_loss(epoch + 1, done + 1, ranks.rank()))
                    loss = loss + std::numeric_limits<float>::quiet_NaN();
                if (ranks.distributed())
                    (loss * (1.f / static_cast<float>(global_idx.size()))).backward();
                else
                    loss.backward();
                const auto lv = logits.to_vector();
                for (std::size_t i = 0; i < idx.size(); ++i)
                    step_correct += (lv[i] >= 0.f) == (data.train_labels[idx[i]] == 1);
                step_loss = static_cast<double>(loss.item()) *
                            (ranks.distributed() ? 1.0 : static_cast<double>(idx.size()));
            }
            grad_sync.allreduce();  // every rank, even with an empty slice
            // The loss of the whole global batch and the global gradient norm (after the
            // allreduce): the same numbers on every rank, so every rank takes the same
            // decision below. clip 0 = off only measures the norm. A non-finite loss or norm
            // never reaches the weights: the step is skipped (--skip-nonfinite) or the run
            // stops, before the optimizer step.
            double batch_loss = step_loss;
            if (ranks.distributed()) {
                std::vector<double> sum{step_loss};
                ranks.allreduce_sum(sum);
                batch_loss = sum[0];
            }
            batch_loss /= static_cast<double>(global_idx.size());
            const double grad_norm = nnlite::nn::clip_grad_norm(
                params, cfg.clip > 0 ? cfg.clip : std::numeric_limits<double>::infinity());
            ++done;
            global_seen += global_idx.size();
            if (nonfinite.skip(epoch + 1, done, batch_loss, grad_norm)) {
                opt->zero_grad(true);  // no update; nothing of the step is kept
                if (root) progress.message(nonfinite.warning());
                continue;
            }
            opt->step();
            loss_sum += step_loss;
            correct += step_correct;
            seen += idx.size();
            // rank 0's running loss/accuracy (its slices); the epoch line has all ranks'
            if (root)
                progress.update(done, global_seen,
                                loss_sum / static_cast<double>(std::max<std::size_t>(seen, 1)),
                                static_cast<double>(correct) /
                                    static_cast<double>(std::max<std::size_t>(seen, 1)));
        }
        if (ranks.distributed()) {
            std::vector<double> totals{loss_sum, static_cast<double>(correct),
                                       static_cast<double>(seen)};
            ranks.allreduce_sum(totals);
            loss_sum = totals[0];
            correct = static_cast<std::size_t>(totals[1]);
            seen = static_cast<std::size_t>(totals[2]);
            ranks.check_parameters_equal(model);  // the data-parallel invariant, once an epoch
        }
        EpochRecord rec;
        rec.epoch = epoch + 1;
        rec.train_loss = loss_sum / static_cast<double>(std::max<std::size_t>(seen, 1));
        rec.train_accuracy =
            static_cast<double>(correct) / static_cast<double>(std::max<std::size_t>(seen, 1));
        if (root) progress.finish(rec.train_loss, rec.train_accuracy);

        // every rank needs the validation loss: the scheduler and early stopping must agree
        const auto val_probs = predict_shared(ranks, model, data.val_ids, seq, false);
        // (finite but huge weights give nan probabilities, which nnlite::metrics refuses
        // with a message about probabilities: the same stop as a non-finite loss instead)
        const bool probs_finite = std::all_of(val_probs.begin(), val_probs.end(),
                                              [](double p) { return std::isfinite(p); });
        const auto val = probs_finite ? score(val_probs, data.val_labels)
                                      : Scores{std::numeric_limits<double>::quiet_NaN(), 0.0};
        check<nnlite::Error>(std::isfinite(val.loss), "epoch ", epoch + 1,
                             ": the validation loss is not finite (", val.loss,
                             "); training stopped. ", run_dir,
                             " keeps its last saved model and checkpoint");
        rec.val_loss = val.loss;
        rec.val_accuracy = val.accuracy;
        plateau.step(val.loss);
        rec.learning_rate = opt->lr();
        rec.seconds = progress.seconds();
        rec.skipped_steps = nonfinite.in_epoch();
        const bool improved = val.accuracy > best_val;
        if (improved) {
            best_val = val.accuracy;
            best_epoch = epoch + 1;
        }
        if (early) early->step(val.accuracy);
        history.push_back(rec);
        if (!root) continue;
        // In this order, so that a kill at any moment leaves a folder that --resume (a
        // checkpoint exists) or a new run (none yet) accepts: the metrics line first (resume
        // trims lines past the checkpoint's epoch), then the checkpoint, then the best model,
        // which thus never runs ahead of a checkpoint (resume rewrites it from the
        // checkpoint when the run stopped before it was saved).
        write_metrics(metrics_path, history);
        save_checkpoint(ckpt_path, model, *opt, plateau, early.get(), shuffle_gen, epoch + 1,
                        best_val, best_epoch, nonfinite.total(), data.fingerprint);
        if (improved) save_model(model_path, model, epoch + 1);
        std::string skipped;
        if (cfg.skip_nonfinite > 0)
            skipped = "  non-finite steps skipped: " + std::to_string(nonfinite.in_epoch()) + " (" +
                      std::to_string(nonfinite.total()) + " of at most " +
                      std::to_string(nonfinite.allowed()) + " in the run)";
        std::printf("epoch %d: validation loss %.4f  accuracy %.2f%%%s  lr %.2g%s\n", epoch + 1,
                    val.loss, 100 * val.accuracy, improved ? "  (best so far, saved)" : "",
                    rec.learning_rate, skipped.c_str());
    }
    if (root && (stopped_early || (early && early->should_stop())))
        std::printf("early stopping: no validation improvement for %lld epochs\n",
                    static_cast<long long>(cfg.patience));

    // ---- final test report with the best-on-validation weights -----------------------
    // (rank 0 reads the file it wrote and sends the weights: no shared filesystem needed)
    if (root) model.load_state_dict(nnlite::io::load<float, B>(model_path));
    ranks.broadcast(model);
    const double train_seconds = std::chrono::duration<double>(clock::now() - t_start).count();
    const auto t_test = clock::now();
    auto probs = predict_shared(ranks, model, data.test_ids, seq, /*to_root_only=*/true);
    const double test_seconds = std::chrono::duration<double>(clock::now() - t_test).count();
    if (!root) return 0;
    const auto test = score(probs, data.test_labels);
    ReportData rd = make_report_data(cfg, data, history, probs, run_dir);
    rd.config.emplace_back("training time", format_duration(train_seconds));
    rd.config.emplace_back("test inference time", format_duration(test_seconds));
    const std::string report_path = (dir / RunFiles::report).string();
    write_report(report_path, rd);
    std::printf(
        "\ntest accuracy: %.2f%%  (loss %.4f, %zu reviews, best validation accuracy %.2f%%)\n",
        100 * test.accuracy, test.loss, probs.size(), 100 * best_val);
    std::printf("total time: %s\nrun directory: %s\nreport: %s\n",
                format_duration(train_seconds + test_seconds).c_str(), run_dir.c_str(),
                report_path.c_str());
    return 0;
}

}  // namespace imdb
