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
#include "app/server/limits.hpp"
#include "app/server/metrics.hpp"
#include "index_page.hpp"
#include "model/classifier.hpp"

namespace imdb {

namespace {

using Clock = std::chrono::steady_clock;
thread_local Clock::time_point request_start;

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
    res.status = status;
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

// The rest of the request body was not read: the connection cannot carry another request.
void send_error_and_close(httplib::Response& res, int status, const std::string& message) {
    res.set_header("Connection", "close");
    send_error(res, status, message);
}

void send_busy(httplib::Response& res, const std::string& message) {
    res.set_header("Retry-After", "1");
    send_error(res, 503, message);
}

std::string route_label(const std::string& path) {
    for (const char* r : {"/", "/healthz", "/metrics", "/api/predict"})
        if (path == r) return r;
    return "other";
}

std::string bytes_text(std::size_t n) {
    if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MiB";
    if (n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
    return std::to_string(n) + " bytes";
}

// The parsed /api/predict body: the texts and whether to explain; "" or an error message.
std::string parse_request(const std::string& body, const ServeArgs& args,
                          std::vector<std::string>& texts, bool& explain, int& status) {
    status = 400;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::parse_error& e) {
        return std::string("invalid JSON: ") + e.what();
    }
    if (!j.is_object()) return "expected a JSON object with \"text\" or \"texts\"";
    const bool single = j.contains("text");
    if (single) {
        if (!j["text"].is_string()) return "\"text\" must be a string";
        texts.push_back(j["text"].get<std::string>());
    } else if (j.contains("texts")) {
        if (!j["texts"].is_array() || j["texts"].empty())
            return "\"texts\" must be a non-empty array of strings";
        if (j["texts"].size() > args.max_texts) {
            status = 413;
            return "too many texts: " + std::to_string(j["texts"].size()) + " (limit " +
                   std::to_string(args.max_texts) + " per request)";
        }
        for (const auto& t : j["texts"]) {
            if (!t.is_string()) return "\"texts\" must contain only strings";
            texts.push_back(t.get<std::string>());
        }
    } else {
        return "missing field: send {\"text\": \"...\"} or {\"texts\": [\"...\"]}";
    }
    explain = single;
    if (j.contains("explain")) {
        if (!j["explain"].is_boolean()) return "\"explain\" must be true or false";
        explain = j["explain"].get<bool>();
        if (explain && !single) return "\"explain\" works with a single \"text\"";
    }
    for (std::size_t i = 0; i < texts.size(); ++i)
        if (texts[i].find_first_not_of(" \t\r\n") == std::string::npos)
            return single ? std::string("\"text\" is empty")
                          : "\"texts\"[" + std::to_string(i) + "] is empty";
    return "";
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
        if (req.is_multipart_form_data()) {
            send_error_and_close(res, 415,
                                 "multipart bodies are not accepted: send JSON (Content-Type: "
                                 "application/json)");
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_post_routing_handler([&](const httplib::Request&, httplib::Response& res) {
        if (pool != nullptr && pool->waiting() > 0) res.set_header("Connection", "close");
    });
    server.set_logger([&](const httplib::Request& req, const httplib::Response& res) {
        // A request httplib refused before routing (bad request line or headers) has no start.
        const auto start = request_start == Clock::time_point{} ? Clock::now() : request_start;
        const std::chrono::duration<double> took = Clock::now() - start;
        metrics.observe_request(route_label(req.path), res.status, took.count());
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
        // The body as it arrives, decompressed (gzip, deflate, br): the limit and the
        // deadline apply to what the model would see.
        std::string body;
        bool too_large = false, too_slow = false;
        const auto body_deadline = request_start + request_timeout;
        const bool complete = read([&](const char* data, std::size_t n) {
            if (body.size() + n > args.max_body_bytes) return !(too_large = true);
            if (Clock::now() > body_deadline) return !(too_slow = true);
            body.append(data, n);
            return true;
        });
        if (too_large || res.status == 413)
            return send_error_and_close(
                res, 413,
                "request body too large (limit " + bytes_text(args.max_body_bytes) +
                    (req.has_header("Content-Encoding") ? " after decompression)" : ")"));
        if (too_slow) return send_error_and_close(res, 408, "request body arrived too slowly");
        if (!complete) return send_error_and_close(res, 400, "could not read the request body");
        res.status = 200;

        std::vector<std::string> texts;
        bool explain = false;
        int status = 400;
        const std::string problem = parse_request(body, args, texts, explain, status);
        if (!problem.empty()) return send_error(res, status, problem);
        auto job = std::make_shared<server::Job>();
        job->explain = explain;
        for (auto& t : texts)
            job->texts.push_back(server::cut_text(t, args.max_text_bytes,
                                                  classifier.config.truncation,
                                                  classifier.config.head_fraction));
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
        if (!res.body.empty()) return;
        if (res.status == 413) {
            send_error_and_close(
                res, 413, "request body too large (limit " + bytes_text(args.max_body_bytes) + ")");
        } else {
            send_error(res, res.status, "HTTP " + std::to_string(res.status));
        }
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
