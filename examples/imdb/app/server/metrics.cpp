#include "app/server/metrics.hpp"

#include <sstream>

namespace imdb::server {

template <std::size_t N>
void Metrics::Histogram<N>::observe(const std::array<double, N>& bounds, double v) {
    ++count;
    sum += v;
    for (std::size_t i = 0; i < N; ++i)
        if (v <= bounds[i]) {
            ++counts[i];
            return;
        }
}

void Metrics::observe_request(const std::string& route, int status, double seconds) {
    const std::lock_guard<std::mutex> lock(mutex_);
    ++requests_[{route, status}];
    latency_[route].observe(latency_buckets, seconds);
}

void Metrics::observe_batch(std::size_t texts) {
    const std::lock_guard<std::mutex> lock(mutex_);
    batches_.observe(batch_buckets, static_cast<double>(texts));
}

namespace {
template <class H, class Bounds>
void write_histogram(std::ostringstream& os, const std::string& name, const std::string& labels,
                     const H& h, const Bounds& bounds) {
    const std::string sep = labels.empty() ? "" : ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        cumulative += h.counts[i];
        os << name << "_bucket{" << labels << sep << "le=\"" << bounds[i] << "\"} " << cumulative
           << "\n";
    }
    os << name << "_bucket{" << labels << sep << "le=\"+Inf\"} " << h.count << "\n";
    const std::string braces = labels.empty() ? "" : "{" + labels + "}";
    os << name << "_sum" << braces << " " << h.sum << "\n";
    os << name << "_count" << braces << " " << h.count << "\n";
}
}  // namespace

std::string Metrics::render(std::size_t queue_depth) const {
    std::ostringstream os;
    const std::lock_guard<std::mutex> lock(mutex_);
    os << "# HELP imdb_http_requests_total HTTP requests answered, by route and status.\n"
       << "# TYPE imdb_http_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        os << "imdb_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second
           << "\"} " << n << "\n";
    os << "# HELP imdb_http_request_duration_seconds From the end of the headers to the end of "
          "the response.\n"
       << "# TYPE imdb_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_)
        write_histogram(os, "imdb_http_request_duration_seconds", "route=\"" + route + "\"", h,
                        latency_buckets);
    os << "# HELP imdb_batch_size Texts per forward pass of the batcher.\n"
       << "# TYPE imdb_batch_size histogram\n";
    write_histogram(os, "imdb_batch_size", "", batches_, batch_buckets);
    os << "# HELP imdb_queue_depth Texts waiting for the model.\n"
       << "# TYPE imdb_queue_depth gauge\n"
       << "imdb_queue_depth " << queue_depth << "\n";
    auto counter = [&](const char* name, const char* help, std::uint64_t v) {
        os << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
           << name << " " << v << "\n";
    };
    counter("imdb_rejected_queue_full_total", "Requests answered 503 because the queue was full.",
            rejected_queue_full.load());
    counter("imdb_dropped_deadline_total", "Requests dropped unrun: past their deadline.",
            dropped_deadline.load());
    counter("imdb_dropped_client_gone_total", "Requests dropped unrun: the client had left.",
            dropped_client_gone.load());
    counter("imdb_connections_timed_out_total",
            "Connections closed by the per-connection header/body deadline.",
            connections_timed_out.load());
    counter("imdb_connections_refused_total",
            "Connections closed at once because too many were waiting for a thread.",
            connections_refused.load());
    os << "# HELP imdb_open_connections Connections being served.\n"
       << "# TYPE imdb_open_connections gauge\n"
       << "imdb_open_connections " << open_connections.load() << "\n";
    return os.str();
}

}  // namespace imdb::server
