// libFuzzer target for what `serve` does with the bytes a client sends, up to the model.
// The input is one connection's bytes (request line, headers, a body with Content-Length,
// chunked or read to the end, gzip / deflate / br Content-Encoding, several requests one
// after another), read from memory by cpp-httplib's own request parser: Server::
// process_request, the call httplib's keep-alive loop makes for each request on a socket.
// The server has serve's handlers from app/server/request.hpp (screen_request, the
// /api/predict body limit after decompression, JSON parsing, cut_text, the JSON error
// answers) and its routes; in place of the batcher and the model a stub checks what the
// model would get (1..max_texts texts, each valid UTF-8 and cut to max_text_bytes; explain
// with one text only) and tokenizes it as the model does. Small limits (4 KiB bodies,
// 4 texts, 64-byte texts) make every limit reachable; the input size modulo 3 picks the
// model's truncation (head, tail, head_tail). A crash, a sanitizer report, an answer 500
// (an exception escaped a handler) or a broken check is a bug. FUZZ_IMDB_HTTP_ECHO=1 prints
// the answers (fuzz_imdb_http seeds/http/NAME shows what a seed gets).
// The design follows cpp-httplib's test/fuzzing/server_fuzzer.cc (a Stream over the input and
// a Server subclass calling the protected process_request).
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nnlite/text/tokenizer.hpp>
#include <nnlite/text/utf8.hpp>
#include <string>
#include <string_view>

#include "app/server/request.hpp"

namespace {

using imdb::server::RequestLimits;

// One connection's input, returned to httplib as a socket would return it, and its output.
class InputStream : public httplib::Stream {
  public:
    InputStream(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool is_readable() const override { return true; }
    bool is_writable() const override { return true; }
    ssize_t read(char* ptr, std::size_t size) override {
        const std::size_t n = std::min(size, size_ - pos_);
        if (n > 0) std::memcpy(ptr, data_ + pos_, n);
        pos_ += n;
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char* ptr, std::size_t size) override {
        output.append(ptr, size);
        return static_cast<ssize_t>(size);
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 40000;
    }
    void get_local_ip_and_port(std::string& ip, int& port) const override {
        ip = "127.0.0.1";
        port = 8080;
    }
    socket_t socket() const override { return -1; }
    bool exhausted() const { return pos_ == size_; }

    std::string output;

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

class FuzzServer : public httplib::Server {
  public:
    /// Like httplib's keep-alive loop: requests until the input ends or one closes it.
    void serve(InputStream& in) {
        for (int i = 0; i < 16 && !in.exhausted(); ++i) {
            const std::size_t before = in.output.size();
            bool connection_closed = false;
            const bool ok = process_request(in, false, connection_closed, nullptr);
            check_answer(in.output.substr(before));
            if (!ok || connection_closed) break;
        }
    }

  private:
    static void check_answer(const std::string& answer) {
        if (answer.rfind("HTTP/1.1 500", 0) == 0) {
            std::fprintf(stderr, "answer 500 (a handler threw):\n%s\n",
                         answer.substr(0, 600).c_str());
            std::abort();
        }
    }
};

const nnlite::text::Tokenizer tokenizer{nnlite::text::TokenizerOptions()};  // make_tokenizer()

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_imdb_http: %s\n", what);
    std::abort();
}

// What the batcher would hand the model: checked, then tokenized as the model would.
void stub_model(const imdb::server::PredictRequest& request, const RequestLimits& limits,
                httplib::Response& res) {
    if (request.texts.empty() || request.texts.size() > limits.max_texts)
        fail("the text count is outside 1..max_texts");
    if (request.explain && request.texts.size() != 1) fail("explain with several texts");
    nlohmann::json results = nlohmann::json::array();
    std::string scratch;
    for (const auto& t : request.texts) {
        // head_tail joins its two ends with a space.
        if (t.size() > limits.max_text_bytes + 1) fail("a text longer than max_text_bytes");
        if (!nnlite::text::is_valid_utf8(t)) fail("a text cut inside a UTF-8 character");
        std::size_t tokens = 0;
        tokenizer.for_each_token(t, scratch, [&](std::string_view token) {
            if (token.empty() || !nnlite::text::is_valid_utf8(token)) fail("a bad token");
            ++tokens;
        });
        results.push_back(
            {{"label", "positive"}, {"probability_positive", 0.5}, {"tokens", tokens}});
    }
    imdb::server::send_json(res, 200, {{"results", results}});
}

// A server set up as run_serve sets up its own, without the metrics, the connection pool and
// the timing (they need sockets and threads).
struct Setup {
    RequestLimits limits;
    FuzzServer server;

    explicit Setup(nnlite::text::Truncation truncation) {
        limits.max_body_bytes = 4096;
        limits.max_texts = 4;
        limits.max_text_bytes = 64;
        limits.truncation = truncation;
        limits.head_fraction = 0.3;
        server.set_payload_max_length(limits.max_body_bytes);
        server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
            return imdb::server::screen_request(req, res);
        });
        server.Get("/", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("<!doctype html>", "text/html; charset=utf-8");
        });
        server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
            imdb::server::send_json(res, 200, {{"status", "ok"}});
        });
        server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
            res.set_content("# metrics\n", "text/plain; version=0.0.4");
        });
        server.Post("/api/predict", [this](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& read) {
            const auto request = imdb::server::read_predict_request(
                req, res, read, limits, std::chrono::steady_clock::time_point::max());
            if (request) stub_model(*request, limits, res);
        });
        server.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
            imdb::server::fill_error_body(res, limits.max_body_bytes);
        });
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using nnlite::text::Truncation;
    static Setup setups[3] = {Setup(Truncation::head), Setup(Truncation::tail),
                              Setup(Truncation::head_tail)};
    static const bool echo = std::getenv("FUZZ_IMDB_HTTP_ECHO") != nullptr;
    InputStream in(data, size);
    setups[size % 3].server.serve(in);
    if (echo) std::fprintf(stderr, "%s\n", in.output.c_str());  // to check a seed's answers
    return 0;
}
