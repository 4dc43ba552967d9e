// What `serve` does with a request before the model sees it: refusing bodies it does not read,
// reading a /api/predict body within the limits (as httplib decompresses it), parsing its JSON
// and cutting each text; and the JSON error answers. serve.cpp installs these on its
// httplib::Server; the fuzz target fuzz_imdb_http (examples/imdb/tests/fuzz/) feeds raw
// request bytes through httplib's request parser into the same functions.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <nnlite/text/sequence.hpp>
#include <optional>
#include <string>
#include <vector>

namespace imdb::server {

/// The limits on a /api/predict request (serve's flags) and how an over-long text is cut
/// (the model's config.json: it keeps the same end of the tokens).
struct RequestLimits {
    std::size_t max_body_bytes = std::size_t{1} << 20;  // after decompression
    std::size_t max_texts = 64;                         // per request
    std::size_t max_text_bytes = 64 * 1024;             // per text, cut (not refused)
    nnlite::text::Truncation truncation = nnlite::text::Truncation::head;
    double head_fraction = 0.5;
};

/// A /api/predict request as the model gets it: its texts (cut to max_text_bytes) and
/// whether to explain (by default for a single "text", never for "texts").
struct PredictRequest {
    std::vector<std::string> texts;
    bool explain = false;
};

void send_json(httplib::Response& res, int status, const nlohmann::json& j);
void send_error(httplib::Response& res, int status, const std::string& message);
/// The rest of the request body was not read: the connection cannot carry another request.
void send_error_and_close(httplib::Response& res, int status, const std::string& message);
/// "1 MiB", "64 KiB" or "1000 bytes".
std::string bytes_text(std::size_t n);

/// The route of a path for the metrics: "/", "/healthz", "/metrics", "/api/predict" or
/// "other".
std::string route_label(const std::string& path);

/// The pre-routing check: answers at once, without reading the body, a multipart request
/// (415) and any request with a body that is not POST /api/predict (404 for an unknown path,
/// 405 for a known one): httplib would read such a body whole into memory, decompressed, with
/// no limit but the declared Content-Length. Handled when it answered.
httplib::Server::HandlerResponse screen_request(const httplib::Request& req,
                                                httplib::Response& res);

/// Parses a /api/predict body into `out` (texts uncut): "" or the problem, with `status` 400
/// (or 413 for more than max_texts texts).
std::string parse_request(const std::string& body, std::size_t max_texts, PredictRequest& out,
                          int& status);

/// Reads a /api/predict body through `read` (decompressed by httplib: gzip, deflate, br),
/// refusing more than max_body_bytes of it or a body still arriving at `deadline`, parses it
/// and cuts each text. On a problem `res` holds the error answer and the result is empty.
std::optional<PredictRequest> read_predict_request(const httplib::Request& req,
                                                   httplib::Response& res,
                                                   const httplib::ContentReader& read,
                                                   const RequestLimits& limits,
                                                   std::chrono::steady_clock::time_point deadline);

/// The error handler (httplib calls it for every status >= 400, ours included): gives an
/// empty error answer a JSON body.
void fill_error_body(httplib::Response& res, std::size_t max_body_bytes);

}  // namespace imdb::server
