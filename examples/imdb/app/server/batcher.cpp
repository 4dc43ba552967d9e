#include "app/server/batcher.hpp"

#include <cstdlib>
#include <nnlite/backend/cpu/allocator.hpp>
#include <nnlite/core/error.hpp>
#include <string_view>
#include <utility>

#include "app/server/connections.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace imdb::server {

namespace {
// Every batch allocates its working memory afresh and frees it at the end: an explanation
// batch of four 200-token reviews holds about 110 MB at once, in blocks of up to 14 MB. With
// glibc's defaults the threads' arenas hand such memory back to the kernel after each batch
// (a thread arena unmaps each 64 MB heap as soon as it is free) and fault it in again for the
// next, and it spreads over several arenas: in a 30-second explanation load on the 2-core
// machine 281,000 page faults and a 455 MB peak RSS, against 22,000 and 155 MB with one
// arena that keeps up to 256 MiB of freed memory; predictions 59,000-149,000 -> 12,000
// faults and 247-268 -> 87-90 MB, throughput unchanged (docs/imdb.md, "Serve"). Takes effect for
// arenas created later: call it before the threads start. nnlite's own cache of freed tensor
// blocks (256 KiB and up) gets the same 256 MiB bound instead of its 1 GiB default, unless
// NNLITE_CPU_CACHE_MB says otherwise: batches of many lengths round to many block sizes.
void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
    if (std::getenv("NNLITE_CPU_CACHE_MB") == nullptr)
        nnlite::set_cpu_cache_limit(std::size_t{256} << 20);
}
}  // namespace

void Job::finish(State s) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        state_ = s;
    }
    cv_.notify_all();
}

Job::State Job::wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_until(lock, deadline, [&] { return state_ > State::running; }) &&
        state_ == State::queued)
        state_ = State::expired;  // the worker that reaches it will skip it
    cv_.wait(lock, [&] { return state_ > State::running; });
    return state_;
}

Batcher::Batcher(const Classifier& classifier, const BatcherOptions& options, Metrics& metrics)
    : classifier_(classifier), options_(options), metrics_(metrics) {
    if (options_.workers < 1) options_.workers = 1;
    if (options_.max_batch < 1) options_.max_batch = 1;
    if (options_.keep_freed_memory) keep_freed_memory();
    for (std::size_t i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
}

Batcher::~Batcher() {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
    for (auto& job : queue_) job->finish(Job::State::failed);
}

bool Batcher::submit(const std::shared_ptr<Job>& job) {
    {
        const std::lock_guard<std::mutex> lock(mutex_);
        const std::size_t c = job->cost(options_);
        if (stopping_ || queued_cost_ + c > options_.max_queue) return false;
        queue_.push_back(job);
        queued_cost_ += c;
    }
    cv_.notify_one();
    return true;
}

std::size_t Batcher::depth() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return queued_cost_;
}

// Under mutex_: moves queued predictions that fit into the batch, oldest first.
void Batcher::take_fitting(std::vector<std::shared_ptr<Job>>& batch, std::size_t& texts) {
    for (auto it = queue_.begin(); it != queue_.end() && texts < options_.max_batch;) {
        if (!(*it)->explain && texts + (*it)->texts.size() <= options_.max_batch) {
            texts += (*it)->texts.size();
            queued_cost_ -= (*it)->cost(options_);
            batch.push_back(*it);
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
}

// Under mutex_: moves queued explanations into the batch (which holds one), oldest first,
// while their cost stays within max_batch.
void Batcher::take_explanations(std::vector<std::shared_ptr<Job>>& batch) {
    std::size_t cost = batch.front()->cost(options_);
    const std::size_t each = cost;  // every explanation costs explain_cost
    for (auto it = queue_.begin(); it != queue_.end() && cost + each <= options_.max_batch;) {
        if ((*it)->explain) {
            cost += each;
            queued_cost_ -= each;
            batch.push_back(*it);
            it = queue_.erase(it);
        } else {
            ++it;
        }
    }
}

void Batcher::work() {
    for (;;) {
        std::vector<std::shared_ptr<Job>> batch;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (stopping_) return;
            batch.push_back(queue_.front());
            queue_.pop_front();
            queued_cost_ -= batch.front()->cost(options_);
            if (!batch.front()->explain) {
                std::size_t texts = batch.front()->texts.size();
                const auto until = std::chrono::steady_clock::now() + options_.max_wait;
                while (texts < options_.max_batch && !stopping_) {
                    take_fitting(batch, texts);
                    if (texts >= options_.max_batch) break;
                    if (cv_.wait_until(lock, until) == std::cv_status::timeout) {
                        take_fitting(batch, texts);
                        break;
                    }
                }
            } else {
                take_explanations(batch);
            }
        }
        run(batch);
    }
}

void Batcher::run(std::vector<std::shared_ptr<Job>>& batch) {
    // Claim the jobs that are still wanted: not expired, not past the deadline, client there.
    std::vector<std::shared_ptr<Job>> live;
    const auto now = Job::Clock::now();
    for (auto& job : batch) {
        std::unique_lock<std::mutex> lock(job->mutex_);
        if (job->state_ != Job::State::queued || now >= job->deadline) {
            lock.unlock();
            ++metrics_.dropped_deadline;
            job->finish(Job::State::expired);
        } else if (peer_gone(job->socket)) {
            lock.unlock();
            ++metrics_.dropped_client_gone;
            job->finish(Job::State::client_gone);
        } else {
            job->state_ = Job::State::running;
            live.push_back(job);
        }
    }
    if (live.empty()) return;
    if (live.front()->explain) return explain(live);
    try {
        std::vector<std::string_view> views;
        for (auto& job : live) views.insert(views.end(), job->texts.begin(), job->texts.end());
        // One forward pass: predict_encoded batches by batch_size, so all in one.
        const auto p = classifier_.predict_encoded(
            encode_texts(views, classifier_.tokenizer, classifier_.vocabulary), views.size());
        metrics_.observe_batch(views.size());
        std::size_t k = 0;
        for (auto& job : live) {
            job->probabilities.assign(
                p.begin() + static_cast<std::ptrdiff_t>(k),
                p.begin() + static_cast<std::ptrdiff_t>(k + job->texts.size()));
            k += job->texts.size();
        }
    } catch (const std::exception& e) {
        for (auto& job : live) {
            job->error = e.what();
            job->finish(Job::State::failed);
        }
        return;
    }
    for (auto& job : live) job->finish(Job::State::done);
}

// The claimed explanations in one pass. Should that fail, each is tried alone, so that one
// job's error fails only that job, as when they ran one per turn.
void Batcher::explain(std::vector<std::shared_ptr<Job>>& live) {
    std::vector<std::string_view> views;
    for (auto& job : live) views.push_back(job->texts.front());
    try {
        auto ex = classifier_.explain_batch(views);
        metrics_.observe_batch(live.size());
        for (std::size_t k = 0; k < live.size(); ++k) live[k]->explanation = std::move(ex[k]);
        for (auto& job : live) job->finish(Job::State::done);
        return;
    } catch (const std::exception& e) {
        if (live.size() == 1) {
            live.front()->error = e.what();
            live.front()->finish(Job::State::failed);
            return;
        }
    }
    for (auto& job : live) {
        try {
            job->explanation = classifier_.explain(job->texts.front());
            metrics_.observe_batch(1);
        } catch (const std::exception& e) {
            job->error = e.what();
            job->finish(Job::State::failed);
            continue;
        }
        job->finish(Job::State::done);
    }
}

}  // namespace imdb::server
