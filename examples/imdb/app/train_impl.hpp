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
#include "app/progress.hpp"
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
/// A resumed run keeps the settings saved in its config.json; only --epochs may change
/// (to extend the run). Any other setting given on the command line that differs from the
/// saved one is an error rather than silently ignored.
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

/// Everything a resumed run needs, in one atomically written file (host copies of the
/// tensors: a checkpoint written on one device resumes on the other).
template <class B>
void save_checkpoint(const std::string& path, SentimentModel<B>& model,
                     nnlite::optim::Optimizer<float, B>& opt,
                     const nnlite::optim::ReduceLROnPlateau<float, B>& plateau,
                     const nnlite::optim::EarlyStopping* early,
                     const nnlite::Generator& shuffle_gen, int epoch, double best_val_accuracy,
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
    w.set_metadata("shuffle_generator",
                   std::to_string(shuffle_gen.seed()) + " " + std::to_string(shuffle_gen.offset()));
    const auto& dg = model.dropout_generator();
    w.set_metadata("dropout_generator",
                   std::to_string(dg.seed()) + " " + std::to_string(dg.offset()));
    w.write(path);
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
    bool epochs_changed = false;
    if (root) prepare_run_folder(dir, run_dir);
    if (args.resume) {
        check<nnlite::IoError>(
            fs::exists(ckpt_path), "--resume: ", ckpt_path,
            " does not exist (nothing to resume; start a new run without --resume)");
        const Config saved = read_config(config_path);
        cfg = resumed_config(saved, args, config_path);
        epochs_changed = cfg.epochs != saved.epochs;
        if (root)
            std::printf("resuming %s (preset %s, %zu epochs)\n", run_dir.c_str(),
                        cfg.preset.c_str(), cfg.epochs);
    } else {
        // Trained weights are never overwritten by a new run; a directory left by a run that
        // died before its first epoch (config and vocabulary only) may be reused.
        for (const char* f : {RunFiles::checkpoint, RunFiles::model})
            if (root)
                check<nnlite::IoError>(!fs::exists(dir / f), "run directory '", run_dir,
                                       "' already holds a trained model (", f,
                                       "); pass --resume to continue it or --out to choose a new "
                                       "directory");
    }
    cfg.validate();
    // --compute bf16 where this device or CPU cannot run it: stop before any data is read.
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
    if (root && (!args.resume || epochs_changed))
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
            cfg.compute == nnlite::ComputeType::bf16 ? ", LSTM GEMMs in bf16" : "");

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
        for (const auto& global_idx : batches) {
            // This rank's slice; the loss is its sum over the slice / the GLOBAL batch size,
            // so the gradients summed over the ranks are the 1-process mean-loss gradient.
            const auto idx = ranks.distributed() ? ranks.slice_of(global_idx) : global_idx;
            opt->zero_grad(true);
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
                if (ranks.distributed())
                    (loss * (1.f / static_cast<float>(global_idx.size()))).backward();
                else
                    loss.backward();
                const auto lv = logits.to_vector();
                for (std::size_t i = 0; i < idx.size(); ++i)
                    correct += (lv[i] >= 0.f) == (data.train_labels[idx[i]] == 1);
                loss_sum += static_cast<double>(loss.item()) *
                            (ranks.distributed() ? 1.0 : static_cast<double>(idx.size()));
                seen += idx.size();
            }
            grad_sync.allreduce();  // every rank, even with an empty slice
            // The global norm (the same on every rank after the allreduce); clip 0 = off
            // only measures it. A non-finite loss or norm ends the run before the step, so
            // no nan reaches the weights, the best model or the checkpoint.
            const double grad_norm = nnlite::nn::clip_grad_norm(
                params, cfg.clip > 0 ? cfg.clip : std::numeric_limits<double>::infinity());
            const auto stop_nonfinite = [&](const char* what, double value) {
                throw nnlite::Error("epoch " + std::to_string(epoch + 1) + ", step " +
                                    std::to_string(done + 1) + ": the " + what +
                                    " is not finite (" + std::to_string(value) +
                                    "); training stopped (lower --lr?). " + run_dir +
                                    " keeps its last saved model and checkpoint");
            };
            if (!ranks.distributed() && !std::isfinite(loss_sum))
                stop_nonfinite("training loss", loss_sum);
            if (!std::isfinite(grad_norm)) stop_nonfinite("gradient norm", grad_norm);
            opt->step();
            global_seen += global_idx.size();
            // rank 0's running loss/accuracy (its slices); the epoch line has all ranks'
            if (root)
                progress.update(++done, global_seen,
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
        const auto val =
            score(predict_shared(ranks, model, data.val_ids, seq, false), data.val_labels);
        check<nnlite::Error>(std::isfinite(val.loss), "epoch ", epoch + 1,
                             ": the validation loss is not finite (", val.loss,
                             "); training stopped. ", run_dir,
                             " keeps its last saved model and checkpoint");
        rec.val_loss = val.loss;
        rec.val_accuracy = val.accuracy;
        plateau.step(val.loss);
        rec.learning_rate = opt->lr();
        rec.seconds = progress.seconds();
        const bool improved = val.accuracy > best_val;
        if (improved) {
            best_val = val.accuracy;
            if (root)
                nnlite::io::save((dir / RunFiles::model).string(), model.state_dict(),
                                 {{"epoch", std::to_string(epoch + 1)}});
        }
        if (early) early->step(val.accuracy);
        history.push_back(rec);
        if (!root) continue;
        // Checkpoint first, then the metrics line: a crash in between leaves a metrics file
        // that resume trims back to the checkpoint's epoch.
        save_checkpoint(ckpt_path, model, *opt, plateau, early.get(), shuffle_gen, epoch + 1,
                        best_val, data.fingerprint);
        write_metrics(metrics_path, history);
        std::printf("epoch %d: validation loss %.4f  accuracy %.2f%%%s  lr %.2g\n", epoch + 1,
                    val.loss, 100 * val.accuracy, improved ? "  (best so far, saved)" : "",
                    rec.learning_rate);
    }
    if (root && (stopped_early || (early && early->should_stop())))
        std::printf("early stopping: no validation improvement for %lld epochs\n",
                    static_cast<long long>(cfg.patience));

    // ---- final test report with the best-on-validation weights -----------------------
    // (rank 0 reads the file it wrote and sends the weights: no shared filesystem needed)
    if (root) model.load_state_dict(nnlite::io::load<float, B>((dir / RunFiles::model).string()));
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
