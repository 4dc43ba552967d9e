// imdb_example: the nnlite showcase. Trains, evaluates, predicts with and serves an LSTM
// sentiment classifier on the IMDB movie-review dataset.
//
//   imdb_example train    [--preset cpu|seed|best] [--data PATH] [--out RUN_DIR] [--resume]
//                         [--compute fp32|bf16|fp16] ...
//   imdb_example evaluate --model RUN_DIR [--data PATH]
//   imdb_example predict  --model RUN_DIR "text" | --file F | --file -   [--json] [--explain]
//   imdb_example serve    --model RUN_DIR [--port 8080]
// Every command takes --device cpu|cuda (cuda: a build with -DNNLITE_WITH_CUDA=ON and a GPU).
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nnlite/core/error.hpp>
#include <nnlite/core/threads.hpp>

#include "app/commands.hpp"
#include "app/progress.hpp"
#include "data/dataset.hpp"
#include "model/classifier.hpp"

int main(int argc, char** argv) {
    CLI::App app{
        "nnlite IMDB sentiment showcase: an LSTM classifier you can train, evaluate, query and "
        "serve"};
    app.require_subcommand(1);
    int threads = 0;
    app.add_option("--threads", threads,
                   "worker threads, at least 1 (default: $NNLITE_NUM_THREADS or every CPU this "
                   "process may use; more than that are clamped to it)");

    std::string device = "cpu";
    auto add_device = [&](CLI::App* cmd) {
        cmd->add_option("--device", device,
                        "cpu (default) or cuda (needs a CUDA build of imdb_example and a GPU)")
            ->check(CLI::IsMember({"cpu", "cuda"}));
    };

    // ---- train ----
    imdb::TrainArgs train;
    std::string preset = "cpu";
    auto* t = app.add_subcommand(
        "train",
        "train a model; writes a run directory with model, vocabulary, metrics and report");
    t->add_option("--preset", preset,
                  "seed (the reference tutorial), cpu (default: fast on 2 cores) or best")
        ->check(CLI::IsMember({"seed", "cpu", "best"}));
    t->add_option(
        "--data", train.data_path,
        "aclImdb folder, aclImdb_v1.tar.gz or IMDB CSV (default: $NNLITE_IMDB_DATA or data/)");
    t->add_option("--out", train.run_dir, "run directory (default: runs/<preset>)");
    t->add_flag("--resume", train.resume,
                "continue the run in --out from its last completed epoch");
    std::size_t epochs = 0, limit_train = 0, limit_test = 0, batch = 0, max_length = 0;
    double lr = 0, dropout = -1;
    std::uint64_t seed = 0;
    std::int64_t skip_nonfinite = 0;
    std::string compute = "fp32";
    t->add_option("--epochs", epochs, "override the preset's number of epochs");
    t->add_option("--limit-train", limit_train,
                  "use a stratified subset of N training reviews (quick runs)");
    t->add_option("--limit-test", limit_test, "use a stratified subset of N test reviews");
    t->add_option("--batch-size", batch, "override the batch size");
    t->add_option("--max-length", max_length, "override the tokens kept per review");
    t->add_option("--lr", lr, "override the learning rate");
    t->add_option("--seed", seed, "override the random seed");
    t->add_option("--dropout", dropout,
                  "override every dropout probability (embeddings, between LSTM layers, "
                  "before the classifier); 0 makes a run deterministic across process counts")
        ->check(CLI::Range(0.0, 0.99));
    t->add_option("--skip-nonfinite", skip_nonfinite,
                  "skip up to N training steps whose loss or gradient norm is not finite (no "
                  "update, a warning each) before stopping; default 0: stop at the first");
    t->add_option("--compute", compute,
                  "LSTM matrix products in fp32 (default), bf16 (bf16 inputs, fp32 "
                  "accumulation; CPUs with AVX512-BF16) or fp16 (scaled fp16 inputs, fp16 sums "
                  "of up to 256 products added in fp32; CPUs with AVX512-FP16); saved in "
                  "config.json")
        ->check(CLI::IsMember({"fp32", "bf16", "fp16"}));
    add_device(t);

    // ---- evaluate ----
    imdb::EvaluateArgs eval;
    auto* e = app.add_subcommand("evaluate", "evaluate a trained model on the test split");
    e->add_option("--model", eval.run_dir, "run directory of a trained model")->required();
    e->add_option("--data", eval.data_path, "IMDB data (default: $NNLITE_IMDB_DATA or data/)");
    e->add_option("--limit-test", eval.limit_test, "use a stratified subset of N test reviews");
    e->add_option("--report", eval.report_path,
                  "where to write the HTML report (default: RUN_DIR/evaluation.html)");
    add_device(e);

    // ---- predict ----
    imdb::PredictArgs pred;
    auto* p =
        app.add_subcommand("predict", "classify reviews given as arguments, in a file or on stdin");
    p->add_option("--model", pred.run_dir, "run directory of a trained model")->required();
    p->add_option("texts", pred.texts, "review texts");
    p->add_option("--file", pred.file, "one review per line; - reads stdin");
    p->add_flag("--json", pred.json, "one JSON object per review");
    p->add_flag("--explain", pred.explain, "show each word's contribution to the decision");
    add_device(p);

    // ---- data-path ----
    auto* dp = app.add_subcommand(
        "data-path", "print where the IMDB data is found without --data (exit 1: nowhere)");

    // ---- serve ----
    imdb::ServeArgs serve;
    auto* s = app.add_subcommand("serve", "web page and JSON API for a trained model");
    s->add_option("--model", serve.run_dir, "run directory of a trained model")->required();
    s->add_option("--host", serve.host, "address to listen on (default 127.0.0.1)");
    s->add_option("--port", serve.port, "port (default 8080)")->check(CLI::Range(1, 65535));
    s->add_option("--max-seconds", serve.max_seconds, "stop after this many seconds (tests)");
    s->add_option("--max-body-bytes", serve.max_body_bytes,
                  "largest request body, after decompression (default 1048576)")
        ->check(CLI::Range(std::size_t{64}, std::size_t{1} << 30));
    s->add_option("--max-texts", serve.max_texts, "most texts per request (default 64)")
        ->check(CLI::Range(1, 100000));
    s->add_option("--max-text-bytes", serve.max_text_bytes,
                  "longer texts are cut to this many bytes before tokenizing (default 65536)")
        ->check(CLI::Range(256, 1 << 30));
    s->add_option("--max-batch", serve.max_batch, "most texts per forward pass (default 64)")
        ->check(CLI::Range(1, 4096));
    s->add_option("--max-wait-us", serve.max_wait_us,
                  "how long a batch waits to fill, microseconds (default 2000)")
        ->check(CLI::Range(0, 1000000));
    s->add_option("--max-queue", serve.max_queue,
                  "texts waiting for the model before 503 (default 512)")
        ->check(CLI::Range(1, 1000000));
    s->add_option(
         "--workers", serve.workers,
         "threads running the model (default: half of --threads / $NNLITE_NUM_THREADS, at least 1)")
        ->check(CLI::Range(0, 256));
    s->add_option("--http-threads", serve.http_threads, "connections served at once (default 256)")
        ->check(CLI::Range(1, 4096));
    s->add_option("--request-timeout-ms", serve.request_timeout_ms,
                  "end of headers to answer; later work is dropped, 503 (default 10000)")
        ->check(CLI::Range(100, 600000));
    s->add_option("--header-timeout-ms", serve.header_timeout_ms,
                  "a connection's idle time plus header reading, per request (default 10000)")
        ->check(CLI::Range(100, 600000));
    add_device(s);

    CLI11_PARSE(app, argc, argv);
    // Line-buffered even into a log file or pipe, so progress shows up as it happens.
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        if (app.count("--threads")) {
            if (threads < 1)
                throw nnlite::ValueError("--threads must be at least 1, got '" +
                                         app.get_option("--threads")->results().back() + "'");
            nnlite::set_num_threads(threads);  // clamped to the CPUs available
        }
        const nnlite::Device dev = nnlite::Device::parse(device);
        // Checked before anything is read or written: a one-line explanation, exit 1.
        imdb::require_device(dev);
        train.device = eval.device = pred.device = serve.device = dev;
        if (*t) {
            train.config = imdb::Config::preset_named(preset);
            auto set = [&](const char* key, auto& field, auto value) {
                field = value;
                train.overridden.emplace_back(key);
            };
            // Every value given is checked here, the first invalid one named: none is
            // silently replaced by the preset's.
            auto require = [&](const char* flag, bool ok, const char* what) {
                if (!t->count(flag) || ok) return;
                const auto& given = t->get_option(flag)->results();
                throw nnlite::ValueError(std::string(flag) + " must be " + what + ", got '" +
                                         (given.empty() ? std::string() : given.back()) + "'");
            };
            using L = imdb::Limits;
            require("--epochs", epochs >= 1 && epochs <= L::epochs, "from 1 to 1000000");
            require("--batch-size", batch >= 1 && batch <= L::batch_size, "from 1 to 1000000");
            require("--max-length", max_length >= 1 && max_length <= L::max_length,
                    "from 1 to 1000000");
            require("--lr", std::isfinite(lr) && lr > 0, "a positive finite number");
            require("--skip-nonfinite", skip_nonfinite >= 0, "a count >= 0");
            if (t->count("--preset")) train.overridden.emplace_back("preset");
            if (t->count("--epochs")) set("epochs", train.config.epochs, epochs);
            if (t->count("--limit-train"))
                set("limit_train", train.config.limit_train, limit_train);
            if (t->count("--limit-test")) set("limit_test", train.config.limit_test, limit_test);
            if (t->count("--batch-size")) set("batch_size", train.config.batch_size, batch);
            if (t->count("--max-length")) set("max_length", train.config.max_length, max_length);
            if (t->count("--lr")) set("lr", train.config.lr, lr);
            if (t->count("--seed")) set("seed", train.config.seed, seed);
            if (t->count("--skip-nonfinite"))
                set("skip_nonfinite", train.config.skip_nonfinite, skip_nonfinite);
            if (t->count("--compute"))
                set("compute", train.config.compute, nnlite::parse_compute_type(compute));
            if (t->count("--dropout")) {
                set("dropout", train.config.dropout, dropout);
                set("embedding_dropout", train.config.embedding_dropout, dropout);
                set("lstm_dropout", train.config.lstm_dropout, dropout);
            }
            train.config.validate();
            if (train.data_path.empty()) train.data_path = imdb::default_data_path();
            if (train.run_dir.empty()) train.run_dir = "runs/" + preset;
            return imdb::run_train(train);
        }
        if (*e) {
            if (eval.data_path.empty()) eval.data_path = imdb::default_data_path();
            return imdb::run_evaluate(eval);
        }
        if (*p) {
            pred.color = !pred.json && imdb::stdout_is_tty();
            return imdb::run_predict(pred);
        }
        if (*dp) {
            const std::string path = imdb::default_data_path();
            if (path.empty()) return 1;
            std::printf("%s\n", path.c_str());
            return 0;
        }
        return imdb::run_serve(serve);
    } catch (const nnlite::Error& err) {
        std::fprintf(stderr, "error: %s\n", err.what());
        return 1;
    } catch (const std::exception& err) {
        std::fprintf(stderr, "error: %s\n", err.what());
        return 1;
    }
}
