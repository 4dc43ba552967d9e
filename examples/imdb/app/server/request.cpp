#include "app/server/request.hpp"

#include "app/server/limits.hpp"

namespace imdb::server {

void send_json(httplib::Response& res, int status, const nlohmann::json& j) {
    res.status = status;
    res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

void send_error_and_close(httplib::Response& res, int status, const std::string& message) {
    res.set_header("Connection", "close");
    send_error(res, status, message);
}

std::string bytes_text(std::size_t n) {
    if (n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MiB";
    if (n % 1024 == 0) return std::to_string(n / 1024) + " KiB";
    return std::to_string(n) + " bytes";
}

std::string route_label(const std::string& path) {
    for (const char* r : {"/", "/healthz", "/metrics", "/api/predict"})
        if (path == r) return r;
    return "other";
}

httplib::Server::HandlerResponse screen_request(const httplib::Request& req,
                                                httplib::Response& res) {
    if (req.is_multipart_form_data()) {
        send_error_and_close(res, 415,
                             "multipart bodies are not accepted: send JSON (Content-Type: "
                             "application/json)");
        return httplib::Server::HandlerResponse::Handled;
    }
    // httplib reads the body of these methods itself when no ContentReader handler matches:
    // whole into memory, decompressed, with payload_max_length checked against Content-Length
    // only (not a chunked body, not what gzip expands to). Only POST /api/predict reads one.
    const std::string& m = req.method;
    const bool has_body = m == "POST" || m == "PUT" || m == "PATCH" || m == "PRI" ||
                          (m == "DELETE" && req.has_header("Content-Length"));
    if (has_body && !(m == "POST" && req.path == "/api/predict")) {
        if (route_label(req.path) == "other") {
            send_error_and_close(res, 404, "not found");
        } else {
            res.set_header("Allow", req.path == "/api/predict" ? "POST" : "GET, HEAD");
            send_error_and_close(res, 405, m + " is not allowed on " + req.path);
        }
        return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
}

std::string parse_request(const std::string& body, std::size_t max_texts, PredictRequest& out,
                          int& status) {
    status = 400;
    auto& texts = out.texts;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(body);
    } catch (const nlohmann::json::exception& e) {
        // parse_error, or out_of_range for a number beyond a double (1e400)
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
        if (j["texts"].size() > max_texts) {
            status = 413;
            return "too many texts: " + std::to_string(j["texts"].size()) + " (limit " +
                   std::to_string(max_texts) + " per request)";
        }
        for (const auto& t : j["texts"]) {
            if (!t.is_string()) return "\"texts\" must contain only strings";
            texts.push_back(t.get<std::string>());
        }
    } else {
        return "missing field: send {\"text\": \"...\"} or {\"texts\": [\"...\"]}";
    }
    out.explain = single;
    if (j.contains("explain")) {
        if (!j["explain"].is_boolean()) return "\"explain\" must be true or false";
        out.explain = j["explain"].get<bool>();
        if (out.explain && !single) return "\"explain\" works with a single \"text\"";
    }
    for (std::size_t i = 0; i < texts.size(); ++i)
        if (texts[i].find_first_not_of(" \t\r\n") == std::string::npos)
            return single ? std::string("\"text\" is empty")
                          : "\"texts\"[" + std::to_string(i) + "] is empty";
    return "";
}

std::optional<PredictRequest> read_predict_request(const httplib::Request& req,
                                                   httplib::Response& res,
                                                   const httplib::ContentReader& read,
                                                   const RequestLimits& limits,
                                                   std::chrono::steady_clock::time_point deadline) {
    // The body as it arrives, decompressed (gzip, deflate, br): the limit and the deadline
    // apply to what the model would see.
    std::string body;
    bool too_large = false, too_slow = false;
    const bool complete = read([&](const char* data, std::size_t n) {
        if (body.size() + n > limits.max_body_bytes) return !(too_large = true);
        if (std::chrono::steady_clock::now() > deadline) return !(too_slow = true);
        body.append(data, n);
        return true;
    });
    if (too_large || res.status == 413) {
        send_error_and_close(
            res, 413,
            "request body too large (limit " + bytes_text(limits.max_body_bytes) +
                (req.has_header("Content-Encoding") ? " after decompression)" : ")"));
        return std::nullopt;
    }
    if (too_slow) {
        send_error_and_close(res, 408, "request body arrived too slowly");
        return std::nullopt;
    }
    if (!complete) {
        send_error_and_close(res, 400, "could not read the request body");
        return std::nullopt;
    }
    res.status = 200;

    PredictRequest request;
    int status = 400;
    const std::string problem = parse_request(body, limits.max_texts, request, status);
    if (!problem.empty()) {
        send_error(res, status, problem);
        return std::nullopt;
    }
    for (auto& t : request.texts)
        t = cut_text(t, limits.max_text_bytes, limits.truncation, limits.head_fraction);
    return request;
}

void fill_error_body(httplib::Response& res, std::size_t max_body_bytes) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
        send_error_and_close(res, 413,
                             "request body too large (limit " + bytes_text(max_body_bytes) + ")");
    } else {
        send_error(res, res.status, "HTTP " + std::to_string(res.status));
    }
}

}  // namespace imdb::server
