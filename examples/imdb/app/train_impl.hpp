// `imdb_example train` as a template over the backend: data -> vocabulary -> model ->
// epochs with validation, LR on plateau, early stopping, best-on-validation and resumable
// checkpoints -> test report. train.cpp instantiates it through nnlite::dispatch
// (nnlite::cpu, and nnlite::cuda in a CUDA build); run directories and checkpoints are the same
// files on either.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
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
                     const nnlite::Generator& shuffle_gen, int epoch, double best_val_accuracy) {
    nnlite::io::SafetensorsWriter w;
    for (const auto& kv : model.state_dict()) w.add("model." + kv.first, kv.second);
    for (const auto& kv : opt.state_dict()) w.add("optimizer." + kv.first, kv.second);
    for (const auto& kv : plateau.state_dict()) w.add("scheduler." + kv.first, kv.second);
    if (early)
        for (const auto& kv : early->state_dict()) w.add("early_stopping." + kv.first, kv.second);
    w.set_metadata("epoch", std::to_string(epoch));
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

}  // namespace train_detail

/// The whole `train` command with the model, optimizer and batches on backend B;
/// `device` is what the first line reports ("cpu", "cuda (NVIDIA H100 ...)").
template <class B>
int train_on(const TrainArgs& args, const std::string& device) {
    using namespace train_detail;
    using TensorB = nnlite::Tensor<float, B>;
    using clock = std::chrono::steady_clock;
    const auto t_start = clock::now();
    Config cfg = args.config;
    const std::string run_dir = args.run_dir;
    const fs::path dir(run_dir);
    const std::string ckpt_path = (dir / RunFiles::checkpoint).string();
    const std::string metrics_path = (dir / RunFiles::metrics).string();
    const std::string config_path = (dir / RunFiles::config).string();
    bool epochs_changed = false;
    if (args.resume) {
        check<nnlite::IoError>(
            fs::exists(ckpt_path), "--resume: ", ckpt_path,
            " does not exist (nothing to resume; start a new run without --resume)");
        const Config saved = read_config(config_path);
        cfg = resumed_config(saved, args, config_path);
        epochs_changed = cfg.epochs != saved.epochs;
        std::printf("resuming %s (preset %s, %zu epochs)\n", run_dir.c_str(), cfg.preset.c_str(),
                    cfg.epochs);
    } else {
        // Trained weights are never overwritten by a new run; a directory left by a run that
        // died before its first epoch (config and vocabulary only) may be reused.
        for (const char* f : {RunFiles::checkpoint, RunFiles::model})
            check<nnlite::IoError>(!fs::exists(dir / f), "run directory '", run_dir,
                                   "' already holds a trained model (", f,
                                   "); pass --resume to continue it or --out to choose a new "
                                   "directory");
    }
    cfg.validate();

    // ---- data ----------------------------------------------------------------------
    std::printf("device: %s   threads: %d   data: %s\n", device.c_str(), nnlite::num_threads(),
                args.data_path.c_str());
    // The run directory is created once the data has loaded: a wrong --data leaves nothing.
    TrainingData data = prepare_training_data(cfg, args.data_path, run_dir, args.resume);
    // (a resume that extends the run records its new length only once the data has loaded)
    if (!args.resume || epochs_changed) write_text_file(config_path, cfg.to_json().dump(2) + "\n");
    std::printf("%s\nvocabulary: %zu tokens   loading + tokenizing took %.1f s\n",
                data.summary.c_str(), data.vocabulary.size(), data.seconds);

    // ---- model and optimisation ------------------------------------------------------
    SentimentModel<B> model(cfg, data.vocabulary.size());
    std::vector<TensorB> params;
    for (auto& p : model.parameters())
        if (p.requires_grad()) params.push_back(p);
    auto opt = make_optimizer<B>(cfg, params);
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
        history = read_metrics(metrics_path, start_epoch);
        std::printf("resumed after epoch %d (best validation accuracy %.2f%%)\n", start_epoch,
                    100 * best_val);
    }
    std::printf("model: %zu parameters (embedding %zu x %zu, %s%zu-layer LSTM %zu, pooling %s)\n",
                model.parameter_count(), data.vocabulary.size(), cfg.embedding_dim,
                cfg.bidirectional ? "bidirectional " : "", cfg.num_layers, cfg.hidden_size,
                cfg.pooling.to_string().c_str());

    // ---- epochs ----------------------------------------------------------------------
    const auto seq = sequence_options(cfg);
    std::vector<std::size_t> kept_lengths;
    for (const auto& ids : data.train_ids)
        kept_lengths.push_back(std::min(ids.size(), cfg.max_length));
    nnlite::text::BucketBatchSampler sampler(
        kept_lengths, nnlite::text::BucketBatchOptions().batch_size(cfg.batch_size).shuffle(true));
    const bool tty = stdout_is_tty();
    bool stopped_early = false;
    for (int epoch = start_epoch; epoch < static_cast<int>(cfg.epochs); ++epoch) {
        if (early && early->should_stop()) {
            stopped_early = true;
            break;
        }
        model.train();
        const auto batches = sampler.epoch(shuffle_gen);
        Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(cfg.epochs),
                          batches.size(), tty);
        double loss_sum = 0;
        std::size_t seen = 0, correct = 0, done = 0;
        for (const auto& idx : batches) {
            auto batch = nnlite::text::pad_batch(data.train_ids, idx, seq);
            std::vector<float> target_values(idx.size());
            for (std::size_t i = 0; i < idx.size(); ++i)
                target_values[i] = static_cast<float>(data.train_labels[idx[i]]);
            const auto targets =
                nnlite::Tensor<float>::from(target_values, {idx.size()}).template to<B>();
            auto logits = model.forward(batch.ids.template to<B>(), batch.lengths.to_vector());
            auto loss = nnlite::ops::bce_with_logits(logits, targets);
            opt->zero_grad(true);
            loss.backward();
            if (cfg.clip > 0) nnlite::nn::clip_grad_norm(params, cfg.clip);
            opt->step();
            const auto lv = logits.to_vector();
            for (std::size_t i = 0; i < idx.size(); ++i)
                correct += (lv[i] >= 0.f) == (data.train_labels[idx[i]] == 1);
            loss_sum += static_cast<double>(loss.item()) * static_cast<double>(idx.size());
            seen += idx.size();
            progress.update(++done, seen, loss_sum / static_cast<double>(seen),
                            static_cast<double>(correct) / static_cast<double>(seen));
        }
        EpochRecord rec;
        rec.epoch = epoch + 1;
        rec.train_loss = loss_sum / static_cast<double>(std::max<std::size_t>(seen, 1));
        rec.train_accuracy =
            static_cast<double>(correct) / static_cast<double>(std::max<std::size_t>(seen, 1));
        progress.finish(rec.train_loss, rec.train_accuracy);

        const auto val = score(predict_probabilities(model, data.val_ids, seq), data.val_labels);
        rec.val_loss = val.loss;
        rec.val_accuracy = val.accuracy;
        plateau.step(val.loss);
        rec.learning_rate = opt->lr();
        rec.seconds = progress.seconds();
        const bool improved = val.accuracy > best_val;
        if (improved) {
            best_val = val.accuracy;
            nnlite::io::save((dir / RunFiles::model).string(), model.state_dict(),
                             {{"epoch", std::to_string(epoch + 1)}});
        }
        if (early) early->step(val.accuracy);
        history.push_back(rec);
        // Checkpoint first, then the metrics line: a crash in between leaves a metrics file
        // that resume trims back to the checkpoint's epoch.
        save_checkpoint(ckpt_path, model, *opt, plateau, early.get(), shuffle_gen, epoch + 1,
                        best_val);
        write_metrics(metrics_path, history);
        std::printf("epoch %d: validation loss %.4f  accuracy %.2f%%%s  lr %.2g\n", epoch + 1,
                    val.loss, 100 * val.accuracy, improved ? "  (best so far, saved)" : "",
                    rec.learning_rate);
    }
    if (stopped_early || (early && early->should_stop()))
        std::printf("early stopping: no validation improvement for %lld epochs\n",
                    static_cast<long long>(cfg.patience));

    // ---- final test report with the best-on-validation weights -----------------------
    model.load_state_dict(nnlite::io::load<float, B>((dir / RunFiles::model).string()));
    const double train_seconds = std::chrono::duration<double>(clock::now() - t_start).count();
    const auto t_test = clock::now();
    auto probs = predict_probabilities(model, data.test_ids, seq);
    const double test_seconds = std::chrono::duration<double>(clock::now() - t_test).count();
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
