// The server's counters in the Prometheus text exposition format (GET /metrics): requests by
// route and status, request latency and batch-size histograms, queue depth, and the work the
// server refused or dropped (queue full, past deadline, client gone, connection deadline).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace imdb::server {

class Metrics {
  public:
    /// One finished request: route label ("/api/predict", "/healthz", ... or "other"),
    /// HTTP status and seconds from the end of its headers to the end of its response.
    void observe_request(const std::string& route, int status, double seconds);
    /// One forward pass over `texts` texts (the batcher's batch size).
    void observe_batch(std::size_t texts);

    std::atomic<std::uint64_t> rejected_queue_full{0};    // 503: the queue was full
    std::atomic<std::uint64_t> dropped_deadline{0};       // past its deadline before it ran
    std::atomic<std::uint64_t> dropped_client_gone{0};    // the client had closed the connection
    std::atomic<std::uint64_t> connections_timed_out{0};  // closed by the per-connection deadline
    std::atomic<std::uint64_t> connections_refused{0};    // closed at once: too many waiting
    std::atomic<std::int64_t> open_connections{0};

    /// The exposition text; queue depth (texts waiting) is sampled by the caller.
    std::string render(std::size_t queue_depth) const;

    static constexpr std::array<double, 14> latency_buckets{
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
    static constexpr std::array<double, 10> batch_buckets{1, 2, 4, 8, 16, 32, 64, 128, 256, 512};

  private:
    template <std::size_t N>
    struct Histogram {
        std::array<std::uint64_t, N> counts{};  // per bucket (not cumulative)
        std::uint64_t count = 0;
        double sum = 0;
        void observe(const std::array<double, N>& bounds, double v);
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::uint64_t> requests_;
    std::map<std::string, Histogram<latency_buckets.size()>> latency_;
    Histogram<batch_buckets.size()> batches_;
};

}  // namespace imdb::server
