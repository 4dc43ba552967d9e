// Dynamic batching: request threads queue jobs; a few worker threads run them. A worker takes
// the oldest job and, when it is a prediction, every queued prediction that still fits in
// max_batch texts, waiting up to max_wait for more: ONE forward pass answers them all. When it
// is an explanation (integrated gradients), it takes every queued explanation that still fits
// in max_batch texts, each counted as explain_cost (its path points), without waiting: ONE
// forward and backward pass answers them all (Classifier::explain_batch). Predictions and
// explanations never share a batch. The queue is bounded (in texts): submit() refuses when
// full (the server answers 503 + Retry-After). A job whose deadline has passed, or whose
// client has closed its connection, is dropped before it runs.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "app/server/metrics.hpp"
#include "model/classifier.hpp"

namespace imdb::server {

struct BatcherOptions {
    std::size_t workers = 1;                   // threads running the model
    std::size_t max_batch = 64;                // texts per forward pass (explanations: cost)
    std::chrono::microseconds max_wait{2000};  // how long a batch waits to fill up
    std::size_t max_queue = 256;               // texts waiting (an explanation counts explain_cost)
    std::size_t explain_cost = 16;
    // Process-wide (glibc): one malloc arena that keeps freed memory for the next batch
    // instead of returning it to the kernel and faulting it in again (batcher.cpp).
    bool keep_freed_memory = true;
};

struct Job {
    using Clock = std::chrono::steady_clock;
    enum class State { queued, running, done, expired, client_gone, failed };

    bool explain = false;
    std::vector<std::string> texts;
    Clock::time_point deadline;
    int socket = -1;  // the client's connection, to notice that it left (-1: unknown)

    // Results, valid once state is done (failed: error).
    std::vector<double> probabilities;
    Classifier::Explanation explanation;
    std::string error;

    /// Blocks until the job has finished or was dropped; at the deadline a job that has not
    /// started is marked expired and never runs. Returns the final state.
    State wait();

  private:
    friend class Batcher;
    std::mutex mutex_;
    std::condition_variable cv_;
    State state_ = State::queued;
    void finish(State s);
    std::size_t cost(const BatcherOptions& o) const {
        return explain ? o.explain_cost : texts.size();
    }
};

class Batcher {
  public:
    Batcher(const Classifier& classifier, const BatcherOptions& options, Metrics& metrics);
    ~Batcher();
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;

    /// Queues the job; false (and nothing queued) when the queue is full.
    bool submit(const std::shared_ptr<Job>& job);
    /// Texts waiting (explanations counted as explain_cost).
    std::size_t depth() const;

  private:
    void work();
    void take_fitting(std::vector<std::shared_ptr<Job>>& batch, std::size_t& texts);
    void take_explanations(std::vector<std::shared_ptr<Job>>& batch);
    void run(std::vector<std::shared_ptr<Job>>& batch);
    void explain(std::vector<std::shared_ptr<Job>>& live);

    const Classifier& classifier_;
    BatcherOptions options_;
    Metrics& metrics_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::size_t queued_cost_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

}  // namespace imdb::server
