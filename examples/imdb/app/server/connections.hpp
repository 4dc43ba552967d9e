// Connection threads with deadlines, for cpp-httplib (0.11.4). httplib's read timeout applies
// to each read, so a client that sends one header byte every few seconds would hold a thread
// for ever; and its thread pool queues connections without bound. ConnectionPool replaces
// that pool (Server::new_task_queue): a fixed number of threads, a bounded backlog, and a
// watchdog that shuts down a connection's socket when it passes its deadline:
//   idle or reading headers: header_timeout from the connection's start or its last response
//   reading the body, waiting for the model, writing the answer: request_timeout from the end
//   of the headers (request_started(), called by the pre-routing handler)
// httplib passes the accepted socket to the task queue only inside a closure, so this file
// interposes accept(2) (Linux, glibc) to learn it, and recv(2) to bound each request's line
// and headers (max_header_bytes): see connections.cpp.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/server/metrics.hpp"

namespace imdb::server {

struct ConnectionLimits {
    std::size_t threads = 128;      // connections served at once
    std::size_t max_backlog = 512;  // accepted connections waiting for a thread
    std::chrono::milliseconds header_timeout{10000};
    std::chrono::milliseconds request_timeout{15000};
    // request line + headers of one request, in bytes received (431 past it; see recv in
    // connections.cpp). May include the first few KiB of a body that arrive with them.
    std::size_t max_header_bytes = 64 * 1024;
};

class ConnectionPool : public httplib::TaskQueue {
  public:
    ConnectionPool(const ConnectionLimits& limits, Metrics& metrics);
    ~ConnectionPool() override;
    void enqueue(std::function<void()> fn) override;
    void shutdown() override;
    /// Accepted connections waiting for a thread. While any wait, the server closes each
    /// keep-alive connection after its current response (Connection: close), so that idle
    /// keep-alive clients cannot starve new ones (a /healthz probe among them).
    std::size_t waiting() const { return waiting_.load(std::memory_order_relaxed); }

    struct Slot;  // one per thread: its connection's socket and deadline

  private:
    void serve();
    void watch();

    ConnectionLimits limits_;
    Metrics& metrics_;
    std::vector<std::unique_ptr<Slot>> slots_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<int, std::function<void()>>> backlog_;
    std::atomic<std::size_t> waiting_{0};
    bool stopping_ = false;
    std::vector<std::thread> threads_;
    std::thread watchdog_;
};

/// On a connection thread: the end of a request's headers (its deadline becomes
/// request_timeout from now) and the end of its response (header_timeout from now, for the
/// next request on the connection). No-ops on other threads.
void request_started();
void request_finished();
/// The socket of the connection this thread serves, -1 on other threads.
int current_socket();
/// True when the peer of `socket` has closed or shut down its side (it left).
bool peer_gone(int socket);

}  // namespace imdb::server
