// `imdb_example serve`: the page at / and a JSON API.
//   POST /api/predict  {"text": "..."} or {"texts": ["...", ...]}
//       -> {"results": [{"label", "probability_positive", "tokens": [{"token", "contribution"}]}]}
//          (tokens only for a single text). Body over 1 MiB -> 413; invalid JSON, a missing
//          or empty field -> 400 with {"error": "..."}.
//   GET /healthz -> {"status": "ok", ...}
// Requests are served concurrently by cpp-httplib's thread pool; the model is shared and
// one request at a time runs it (its autograd state is not thread-safe).
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "app/commands.hpp"
#include "index_page.hpp"
#include "model/classifier.hpp"

namespace imdb {

namespace {

constexpr std::size_t max_body_bytes = std::size_t{1} << 20;

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
    res.status = status;
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

}  // namespace

int run_serve(const ServeArgs& args) {
    Classifier classifier = Classifier::load(args.run_dir, args.device);
    std::mutex model_mutex;
    httplib::Server server;
    server.set_payload_max_length(max_body_bytes);
    // httplib's default also sets SO_REUSEPORT, which lets a second server bind a port that
    // is already serving and silently share its requests; SO_REUSEADDR alone still allows a
    // quick restart while making a port in use a clear error.
    server.set_socket_options([](socket_t sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes),
                   sizeof(yes));
    });

    server.Get("/", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(index_page, "text/html; charset=utf-8");
    });
    server.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
        send_json(res, 200,
                  {{"status", "ok"},
                   {"model", args.run_dir},
                   {"device", classifier.device.name()},
                   {"vocabulary", classifier.vocabulary.size()}});
    });
    server.Post("/api/predict", [&](const httplib::Request& req, httplib::Response& res) {
        nlohmann::json body;
        try {
            body = nlohmann::json::parse(req.body);
        } catch (const nlohmann::json::parse_error& e) {
            return send_error(res, 400, std::string("invalid JSON: ") + e.what());
        }
        if (!body.is_object())
            return send_error(res, 400, "expected a JSON object with \"text\" or \"texts\"");
        std::vector<std::string> texts;
        if (body.contains("text")) {
            if (!body["text"].is_string()) return send_error(res, 400, "\"text\" must be a string");
            texts.push_back(body["text"].get<std::string>());
        } else if (body.contains("texts")) {
            if (!body["texts"].is_array() || body["texts"].empty())
                return send_error(res, 400, "\"texts\" must be a non-empty array of strings");
            for (const auto& t : body["texts"]) {
                if (!t.is_string())
                    return send_error(res, 400, "\"texts\" must contain only strings");
                texts.push_back(t.get<std::string>());
            }
        } else {
            return send_error(res, 400,
                              "missing field: send {\"text\": \"...\"} or {\"texts\": [\"...\"]}");
        }
        const bool single = body.contains("text");
        for (std::size_t i = 0; i < texts.size(); ++i)
            if (texts[i].find_first_not_of(" \t\r\n") == std::string::npos)
                return send_error(res, 400,
                                  single ? std::string("\"text\" is empty")
                                         : "\"texts\"[" + std::to_string(i) + "] is empty");
        nlohmann::json results = nlohmann::json::array();
        try {
            std::lock_guard<std::mutex> lock(model_mutex);
            if (texts.size() == 1) {
                const auto ex = classifier.explain(texts[0]);
                nlohmann::json tokens = nlohmann::json::array();
                for (std::size_t k = 0; k < ex.tokens.size(); ++k)
                    tokens.push_back(
                        {{"token", ex.tokens[k]}, {"contribution", ex.contributions[k]}});
                results.push_back({{"label", ex.probability >= 0.5 ? "positive" : "negative"},
                                   {"probability_positive", ex.probability},
                                   {"tokens", tokens}});
            } else {
                std::vector<std::string_view> views(texts.begin(), texts.end());
                for (double p : classifier.predict(views))
                    results.push_back({{"label", p >= 0.5 ? "positive" : "negative"},
                                       {"probability_positive", p}});
            }
        } catch (const nnlite::Error& e) {
            return send_error(res, 400, e.what());
        }
        send_json(res, 200, {{"results", results}});
    });
    server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 413) {
            send_error(res, 413, "request body too large (limit 1 MiB)");
        } else if (res.body.empty()) {
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
    std::printf("serving %s on http://%s:%d/  (API: POST /api/predict, GET /healthz)\n",
                args.run_dir.c_str(), args.host.c_str(), args.port);
    std::fflush(stdout);
    server.listen_after_bind();
    if (stopper.joinable()) stopper.join();
    return 0;
}

}  // namespace imdb
