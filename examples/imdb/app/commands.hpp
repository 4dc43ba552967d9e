// The imdb_example commands: train, evaluate, predict, serve. Each returns the process
// exit code; errors are nnlite::Error exceptions that main() prints.
#pragma once

#include <nnlite/device.hpp>
#include <string>
#include <vector>

#include "app/config.hpp"

namespace imdb {

struct TrainArgs {
    Config config;
    std::string data_path;
    std::string run_dir;
    bool resume = false;
    /// Config keys set on the command line (to_json names, e.g. "epochs", "lr"); --resume
    /// applies "epochs" and rejects any other that differs from the saved config.
    std::vector<std::string> overridden;
    nnlite::Device device = nnlite::Device::cpu;
};
int run_train(const TrainArgs& args);

struct EvaluateArgs {
    std::string run_dir;
    std::string data_path;
    std::size_t limit_test = 0;  // 0 = all
    std::string report_path;     // "" = RUN_DIR/report.html is left alone
    nnlite::Device device = nnlite::Device::cpu;
};
int run_evaluate(const EvaluateArgs& args);

struct PredictArgs {
    std::string run_dir;
    std::vector<std::string> texts;
    std::string file;  // "-" = stdin
    bool json = false;
    bool explain = false;
    bool color = false;
    nnlite::Device device = nnlite::Device::cpu;
};
int run_predict(const PredictArgs& args);

/// serve's limits and knobs (docs/imdb.md lists them with the CLI flags).
struct ServeArgs {
    std::string run_dir;
    std::string host = "127.0.0.1";
    int port = 8080;
    int max_seconds = 0;  // stop after this long (0 = run until killed); for tests
    nnlite::Device device = nnlite::Device::cpu;

    std::size_t max_body_bytes = std::size_t{1} << 20;  // after decompression
    std::size_t max_texts = 64;                         // per request
    std::size_t max_text_bytes = 64 * 1024;  // per text, cut (not refused) before tokenizing
    std::size_t max_batch = 64;              // texts per forward pass
    int max_wait_us = 2000;                  // how long a batch waits to fill
    std::size_t max_queue = 512;             // texts waiting for the model; more -> 503
    int workers = 0;                         // model threads (0 = nnlite::num_threads() / 2, >= 1)
    int http_threads = 256;                  // connections served at once
    int request_timeout_ms = 10000;          // end of headers -> answer; queued work dropped
    int header_timeout_ms = 10000;           // idle/headers per request on a connection
};
int run_serve(const ServeArgs& args);

}  // namespace imdb
