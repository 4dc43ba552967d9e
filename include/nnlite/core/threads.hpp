// Thread count for nnlite's own kernels and, through a hook the CPU backend registers, for
// its BLAS. NNLITE_NUM_THREADS sets it at start-up (default: every CPU this process may run
// on); set_num_threads changes it. Both are clamped to the CPUs the process may run on
// (sched_getaffinity: a container's or taskset's limit, not the machine's core count),
// because the kernels' threads spin briefly between steps and oversubscribed spinning
// threads slow every kernel down. set_num_threads(n < 1) is an error; a malformed
// NNLITE_NUM_THREADS is ignored with one warning on stderr.
//
// Parallel work runs on one persistent team of worker threads (ThreadTeam), started on
// first use and grown to num_threads() - 1 workers: a kernel hands the team its chunks
// through one atomic word and waits on a counter instead of starting and joining threads
// on every call (an LSTM calls it once per time step). Idle workers spin for
// ThreadTeam::spin_time, then sleep on a condition variable. Our parallel loops and BLAS
// never run nested: a kernel either splits work itself or hands it to one BLAS call, and a
// parallel loop started from inside a chunk (on a worker or on the caller that handed the
// team its task), or while another thread holds the team, runs its chunks on the calling
// thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "nnlite/core/env.hpp"
#include "nnlite/core/error.hpp"

#if defined(__linux__)
#include <sched.h>
#include <unistd.h>
#endif
#if defined(__SSE__) || defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nnlite {

namespace detail {
/// CPUs this process may run on (its affinity mask), at least 1.
inline int available_cpus() {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

/// NNLITE_NUM_THREADS's value: a whole number from 1 up, clamped to `cpus`; 0 (and a
/// warning naming the value) when it is malformed; `cpus` when unset.
inline int threads_from_env(const char* env, int cpus) {
    if (env == nullptr) return cpus;
    const auto n = parse_whole_number(env, 6);
    const int parsed = n ? static_cast<int>(*n) : 0;
    if (parsed < 1) {
        std::fprintf(stderr,
                     "nnlite: ignoring NNLITE_NUM_THREADS=\"%s\" (expected a whole number from 1 "
                     "to %d); using %d threads\n",
                     env, cpus, cpus);
        return cpus;
    }
    return std::min(parsed, cpus);
}

/// The process-wide thread count and the hooks that follow it (a BLAS library's own
/// setting, registered by backend/cpu/blas.hpp: core knows no BLAS).
struct ThreadSettings {
    std::atomic<int> count{1};
    std::mutex mutex;  // guards hooks and serialises set_num_threads
    std::vector<void (*)(int)> hooks;

    ThreadSettings() {
        count = threads_from_env(std::getenv("NNLITE_NUM_THREADS"), available_cpus());
    }
};
inline ThreadSettings& thread_settings() {
    static ThreadSettings s;
    return s;
}
}  // namespace detail

/// Threads nnlite's kernels (and the BLAS they call) may use: NNLITE_NUM_THREADS at
/// start-up (default: all cores), then whatever set_num_threads last set. Safe to call
/// from any thread.
inline int num_threads() {
    return detail::thread_settings().count.load(std::memory_order_relaxed);
}

/// Sets the thread count: n from 1 up, clamped to the CPUs this process may run on
/// (num_threads() then reports the clamped value). n < 1 throws nnlite::ValueError. Tells
/// every registered hook. Safe to call from any thread; a kernel already running keeps the
/// count it started with.
inline void set_num_threads(int n) {
    if (n < 1)
        throw ValueError("set_num_threads(" + std::to_string(n) +
                         "): the thread count must be at least 1");
    n = std::min(n, detail::available_cpus());
    auto& s = detail::thread_settings();
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.count.store(n, std::memory_order_relaxed);
    for (auto hook : s.hooks) hook(n);
}

/// Registers hook(n) to run on every set_num_threads(n), and calls it once now with the
/// current count. Used by backends whose libraries keep a thread setting of their own.
inline void on_thread_count_change(void (*hook)(int)) {
    auto& s = detail::thread_settings();
    const std::lock_guard<std::mutex> lock(s.mutex);
    s.hooks.push_back(hook);
    hook(s.count.load(std::memory_order_relaxed));
}

namespace detail {

/// The persistent worker team behind parallel_for (see the file comment). One task at a
/// time: run() publishes it with a single atomic store of (generation, workers wanted);
/// participants take chunk indices from a shared counter, so which thread runs which chunk
/// does not change any chunk's result; the caller takes chunks too and returns once every
/// chunk has finished and every participating worker has let go of the task.
class ThreadTeam {
  public:
    /// How long an idle worker spins (a kernel's next step usually comes sooner) before it
    /// sleeps; a sleeping worker costs a futex wake-up (~5-50 us) to start.
    static constexpr std::chrono::microseconds spin_time{200};

    /// The process's team (created on first use; a child process after fork() gets a new one:
    /// the parent's workers do not exist there). Never destroyed, so a kernel running in a
    /// static destructor still finds it.
    static ThreadTeam& instance() {
        static std::atomic<ThreadTeam*> team{nullptr};
        static std::mutex creating;
        ThreadTeam* t = team.load(std::memory_order_acquire);
        if (t != nullptr && t->owner_ == current_process()) return *t;
        const std::lock_guard<std::mutex> lock(creating);
        t = team.load(std::memory_order_acquire);
        if (t == nullptr || t->owner_ != current_process()) {
            t = new ThreadTeam();  // the old one (another process's) is left alone on purpose
            team.store(t, std::memory_order_release);
        }
        return *t;
    }

    /// Whether the calling thread is one of the team's workers.
    static bool in_worker() { return worker_flag(); }

    /// Runs call(ctx, i) for every i in [0, chunks) on up to `threads` threads (the caller
    /// included) and returns when all have finished. Runs every chunk on the caller when
    /// called from a worker, when another thread is using the team, or for threads <= 1.
    void run(std::size_t chunks, std::size_t threads, void (*call)(void*, std::size_t), void* ctx) {
        std::unique_lock<std::mutex> busy(busy_, std::defer_lock);
        // leading(): this thread is already inside run() (a loop nested in one of its own
        // chunks); it must not try_lock busy_ again, which it owns (undefined behaviour).
        if (threads <= 1 || chunks <= 1 || in_worker() || leading() || !busy.try_lock()) {
            for (std::size_t i = 0; i < chunks; ++i) call(ctx, i);
            return;
        }
        struct Lead {  // marks this thread as the team's current caller until run() returns
            Lead() { leading() = true; }
            ~Lead() { leading() = false; }
        } lead;
        // Never more threads than CPUs: a spinning worker without a CPU of its own would
        // stall the others (tests ask for more chunks than this machine has CPUs).
        const std::size_t helpers = grow(std::min({threads, chunks, cpus_}) - 1);
        if (helpers == 0) {
            for (std::size_t i = 0; i < chunks; ++i) call(ctx, i);
            return;
        }
        Task task;
        task.call = call;
        task.ctx = ctx;
        task.chunks = chunks;
#if defined(__SSE__) || defined(__x86_64__)
        task.csr = _mm_getcsr();  // workers take the caller's floating-point mode (FTZ/DAZ)
#endif
        task_ = &task;
        {
            // Under the mutex, so a worker between its predicate check and its wait cannot
            // miss the notification.
            const std::lock_guard<std::mutex> lock(mutex_);
            generation_ += 1;
            gate_.store((generation_ << 32) | open_bit, std::memory_order_relaxed);
            state_.store((generation_ << 16) | helpers, std::memory_order_release);
        }
        cv_.notify_all();
        task.work();
        // Every chunk has been taken. Close the gate: a worker that wakes up only now (on a
        // busy machine, maybe milliseconds later) does not join, so we wait only for the
        // workers that joined and are finishing their last chunk.
        std::uint64_t g = gate_.load(std::memory_order_relaxed);
        while (!gate_.compare_exchange_weak(g, g & ~open_bit, std::memory_order_acq_rel)) {
        }
        for (unsigned spins = 0; (gate_.load(std::memory_order_acquire) & count_mask) != 0;
             ++spins) {
            if (spins < 4096)
                pause();
            else
                std::this_thread::yield();
        }
        task_ = nullptr;
    }

    ThreadTeam(const ThreadTeam&) = delete;
    ThreadTeam& operator=(const ThreadTeam&) = delete;

  private:
    struct Task {
        void (*call)(void*, std::size_t) = nullptr;
        void* ctx = nullptr;
        std::size_t chunks = 0;
        unsigned csr = 0;
        std::atomic<std::size_t> next{0};
        void work() {
            for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed); i < chunks;
                 i = next.fetch_add(1, std::memory_order_relaxed))
                call(ctx, i);
        }
    };

    ThreadTeam() : owner_(current_process()), cpus_(static_cast<std::size_t>(available_cpus())) {}

    static long current_process() {
#if defined(__linux__)
        return static_cast<long>(getpid());
#else
        return 0;
#endif
    }
    static bool& worker_flag() {
        thread_local bool flag = false;
        return flag;
    }
    static bool& leading() {
        thread_local bool flag = false;
        return flag;
    }
    static void pause() {
#if defined(__SSE__) || defined(__x86_64__)
        _mm_pause();
#else
        std::this_thread::yield();
#endif
    }

    // Under busy_: makes sure `wanted` workers exist (fewer when no thread can be started);
    // returns how many to use.
    std::size_t grow(std::size_t wanted) {
        wanted = std::min<std::size_t>(wanted, 0xffff);
        while (workers_.size() < wanted) {
            try {
                const std::size_t index = workers_.size();
                workers_.emplace_back([this, index] { work(index); });
            } catch (const std::system_error&) {
                break;
            }
        }
        return std::min(wanted, workers_.size());
    }

    void work(std::size_t index) {
        worker_flag() = true;
        std::uint64_t seen = 0;
        bool spin = false;  // only after a task of our own: the next one is likely ours too
        for (;;) {
            std::uint64_t s = state_.load(std::memory_order_acquire);
            if ((s >> 16) == seen && spin) {
                const auto until = std::chrono::steady_clock::now() + spin_time;
                for (unsigned spins = 1; (s >> 16) == seen; ++spins) {
                    pause();
                    s = state_.load(std::memory_order_acquire);
                    if (spins % 64 == 0 && std::chrono::steady_clock::now() > until) break;
                }
            }
            if ((s >> 16) == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [&] {
                    s = state_.load(std::memory_order_acquire);
                    return (s >> 16) != seen;
                });
            }
            seen = s >> 16;
            spin = index < (s & 0xffff);
            if (!spin) continue;  // not wanted this time: the task is not ours
            // Join this generation's task while its gate is open; the caller waits for every
            // worker that joined, and a worker that did not join never touches the task.
            std::uint64_t g = gate_.load(std::memory_order_acquire);
            bool joined = false;
            while ((g >> 32) == (seen & 0xffffffff) && (g & open_bit) != 0 &&
                   !(joined = gate_.compare_exchange_weak(g, g + 1, std::memory_order_acq_rel))) {
            }
            if (!joined) continue;
            Task& task = *task_;
#if defined(__SSE__) || defined(__x86_64__)
            _mm_setcsr(task.csr);
#endif
            task.work();
            gate_.fetch_sub(1, std::memory_order_release);  // last touch of the task
        }
    }

    const long owner_;
    const std::size_t cpus_;
    std::mutex busy_;   // held by the thread whose task the team runs
    std::mutex mutex_;  // with cv_: sleeping workers
    std::condition_variable cv_;
    std::uint64_t generation_ = 0;         // under mutex_
    std::atomic<std::uint64_t> state_{0};  // generation << 16 | workers wanted
    static constexpr std::uint64_t open_bit = std::uint64_t{1} << 31;
    static constexpr std::uint64_t count_mask = open_bit - 1;
    // generation (low 32 bits) << 32 | open_bit while workers may join | workers inside
    std::atomic<std::uint64_t> gate_{0};
    Task* task_ = nullptr;              // the current task; published by state_
    std::vector<std::thread> workers_;  // under busy_
};

/// Runs f(chunk) for every chunk in [0, chunks) on up to `threads` threads of the team;
/// rethrows the first chunk's exception (by chunk index) after every chunk has finished.
template <class F>
void run_chunks(std::size_t chunks, std::size_t threads, F&& f) {
    if (chunks == 0) return;
    if (chunks == 1 || threads <= 1) {
        // No exception handling needed: a throw leaves the remaining chunks unrun, as it
        // would in a plain loop, and the caller sees it at once.
        for (std::size_t i = 0; i < chunks; ++i) f(i);
        return;
    }
    std::vector<std::exception_ptr> errors(chunks);
    struct Ctx {
        F* f;
        std::vector<std::exception_ptr>* errors;
    } ctx{&f, &errors};
    ThreadTeam::instance().run(
        chunks, threads,
        [](void* p, std::size_t i) {
            auto& c = *static_cast<Ctx*>(p);
            try {
                (*c.f)(i);
            } catch (...) {
                (*c.errors)[i] = std::current_exception();
            }
        },
        &ctx);
    for (auto& err : errors)
        if (err) std::rethrow_exception(err);
}

/// parallel_for with an explicit thread count (tests use it to split for more threads than
/// the machine has CPUs).
template <class F>
void parallel_for_on(std::size_t max_threads, std::size_t n, std::size_t grain, F&& f) {
    const std::size_t threads = std::min<std::size_t>(max_threads, grain ? n / grain : n);
    if (threads <= 1) {
        if (n) f(std::size_t{0}, n);
        return;
    }
    // Balanced split: chunk t has base or base + 1 items. threads <= n / grain, so
    // base >= grain and every chunk (the last included) honours the grain.
    const std::size_t base = n / threads, extra = n % threads;
    run_chunks(threads, threads, [&](std::size_t t) {
        const std::size_t b = t * base + std::min(t, extra);
        f(b, b + base + (t < extra ? 1 : 0));
    });
}

}  // namespace detail

/// Runs f(begin, end) over [0, n) split into at most num_threads() chunks of at least
/// `grain` items, on the thread team (the caller runs chunks too); runs inline when the
/// work is too small to pay for threads. An exception thrown by f in any chunk is rethrown
/// here after every chunk has finished; when several chunks throw, the first chunk's wins.
template <class F>
void parallel_for(std::size_t n, std::size_t grain, F&& f) {
    detail::parallel_for_on(static_cast<std::size_t>(num_threads()), n, grain, f);
}

}  // namespace nnlite
