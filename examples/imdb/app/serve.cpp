// `imdb_example serve`: the page at / and a JSON API (docs/imdb.md, "Serving").
//   POST /api/predict  {"text": "..."} or {"texts": ["...", ...]}, optional "explain": bool
//       -> {"results": [{"label", "probability_positive", "tokens": [{"token", "contribution"}]}]}
//          (tokens when explaining: by default for a single "text", never for "texts").
//   GET /healthz  -> {"status": "ok", ...}, answered without touching the model
//   GET /metrics  -> Prometheus text format (app/server/metrics.hpp)
// cpp-httplib reads requests on ConnectionPool's threads (deadlines per connection:
// app/server/connections.hpp); predictions are queued and run in batches by the Batcher's
// workers (app/server/batcher.hpp). The model is shared read-only by all of them.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <nnlite/core/threads.hpp>
#include <thread>

#include "app/commands.hpp"
#include "app/server/batcher.hpp"
#include "app/server/connections.hpp"
#include "app/server/metrics.hpp"
#include "app/server/request.hpp"
#include "index_page.hpp"
#include "model/classifier.hpp"

namespace imdb {

namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point request_start;

using server::send_error;
using server::send_json;

void send_busy(httplib::Response& res, const std::string& message) {
    res.set_header("Retry-After", "1");
    send_error(res, 503, message);
}

nlohmann::json result_json(double p) {
    return {{"label", p >= 0.5 ? "positive" : "negative"}, {"probability_positive", p}};
}

}  // namespace

int run_serve(const ServeArgs& args) {
    const Classifier classifier = Classifier::load(args.run_dir, args.device);
    server::Metrics metrics;
    server::BatcherOptions bo;
    // One worker per two kernel threads: each forward pass already uses num_threads() threads
    // (parallel_for, OpenBLAS); on 2 cores one worker gave the same throughput as two with a
    // lower p99 (docs/imdb.md, "Measured").
    bo.workers = static_cast<std::size_t>(
        args.workers > 0 ? args.workers : std::max(1, nnlite::num_threads() / 2));
    bo.max_batch = args.max_batch;
    bo.max_wait = std::chrono::microseconds(args.max_wait_us);
    bo.max_queue = args.max_queue;
    server::Batcher batcher(classifier, bo, metrics);
    server::ConnectionLimits cl;
    cl.threads = static_cast<std::size_t>(args.http_threads);
    cl.max_backlog = 4 * cl.threads;
    cl.header_timeout = std::chrono::milliseconds(args.header_timeout_ms);
    // The body, the wait for the model and writing the answer, plus a margin to answer 503.
    cl.request_timeout = std::chrono::milliseconds(args.request_timeout_ms + 2000);
    const auto request_timeout = std::chrono::milliseconds(args.request_timeout_ms);
    server::RequestLimits limits;
    limits.max_body_bytes = args.max_body_bytes;
    limits.max_texts = args.max_texts;
    limits.max_text_bytes = args.max_text_bytes;
    limits.truncation = classifier.config.truncation;
    limits.head_fraction = classifier.config.head_fraction;

    httplib::Server server;
    server::ConnectionPool* pool = nullptr;  // set before the first connection is queued
    server.new_task_queue = [&] { return pool = new server::ConnectionPool(cl, metrics); };
    server.set_payload_max_length(args.max_body_bytes);
    const auto per_read = std::chrono::milliseconds(std::min(args.header_timeout_ms, 5000));
    server.set_read_timeout(per_read);
    server.set_write_timeout(per_read);
    server.set_keep_alive_timeout(std::max<time_t>(1, args.header_timeout_ms / 2000));
    server.set_keep_alive_max_count(100000);
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind a port that
    // is already serving and silently share its requests; SO_REUSEADDR alone still allows a
    // quick restart while making a port in use a clear error.
    server.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes),
                   sizeof(yes));
    });

    server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
        request_start = Clock::now();
        server::request_started();
        return server::screen_request(req, res);
    });
    server.set_post_routing_handler([&](const httplib::Request&, httplib::Response& res) {
        if (pool != nullptr && pool->waiting() > 0) res.set_header("Connection", "close");
    });
    server.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
        // A request httplib refused before routing (bad request line or headers) has no start.
        const auto start = request_start == Clock::time_point{} ? Clock::now() : request_start;
        const std::chrono::duration<double> took = Clock::now() - start;
        metrics.observe_request(server::route_label(req.path), res.status, took.count());
        request_start = Clock::time_point{};
        server::request_finished();
    });

    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(index_page, "text/html; charset=utf-8");
    });
    server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200,
                  {{"status", "ok"},
                   {"model", args.run_dir},
                   {"device", classifier.device.name()},
                   {"vocabulary", classifier.vocabulary.size()},
                   {"queue_depth", batcher.depth()}});
    });
    server.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
        res.set_content(metrics.render(batcher.depth()), "text/plain; version=0.0.4");
    });
    server.Post("/api/predict", [&](const httplib::Request& req, httplib::Response& res,
                                    const httplib::ContentReader& read) {
        auto request =
            server::read_predict_request(req, res, read, limits, request_start + request_timeout);
        if (!request) return;
        const bool explain = request->explain;
        auto job = std::make_shared<server::Job>();
        job->explain = explain;
        job->texts = std::move(request->texts);
        job->deadline = request_start + request_timeout;
        job->socket = server::current_socket();
        if (!batcher.submit(job)) {
            ++metrics.rejected_queue_full;
            return send_busy(res, "the server is busy (queue full): retry shortly");
        }
        switch (job->wait()) {
            case server::Job::State::done:
                break;
            case server::Job::State::failed:
                return send_error(res, 400, job->error);
            default:  // expired or the client left: it gets 503 if it still listens
                return send_busy(res, "the request timed out waiting for the model");
        }
        nlohmann::json results = nlohmann::json::array();
        if (explain) {
            const auto& ex = job->explanation;
            nlohmann::json tokens = nlohmann::json::array();
            for (std::size_t k = 0; k < ex.tokens.size(); ++k)
                tokens.push_back({{"token", ex.tokens[k]}, {"contribution", ex.contributions[k]}});
            auto r = result_json(ex.probability);
            r["tokens"] = tokens;
            results.push_back(r);
        } else {
            for (double p : job->probabilities) results.push_back(result_json(p));
        }
        send_json(res, 200, {{"results", results}});
    });
    // httplib calls this for every status >= 400, ours included: only fill empty bodies.
    server.set_error_handler([&](const httplib::Request&, httplib::Response& res) {
        server::fill_error_body(res, args.max_body_bytes);
    });

    if (!server.bind_to_port(args.host, args.port)) {
        std::fprintf(stderr, "error: cannot listen on %s:%d (port in use or not permitted)\n",
                     args.host.c_str(), args.port);
        return 1;
    }
    std::thread stopper;
    if (args.max_seconds > 0)
        stopper = std::thread([&] {
            std::this_thread::sleep_for(std::chrono::seconds(args.max_seconds));
            server.stop();
        });
    std::printf(
        "serving %s on http://%s:%d/  (API: POST /api/predict, GET /healthz, GET /metrics)\n",
        args.run_dir.c_str(), args.host.c_str(), args.port);
    std::fflush(stdout);
    server.listen_after_bind();
    if (stopper.joinable()) stopper.join();
    return 0;
}

}  // namespace imdb
