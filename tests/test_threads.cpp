// core/threads.hpp: the thread count (NNLITE_NUM_THREADS, set_num_threads) and
// parallel_for's contract: every index exactly once, chunks no smaller than the grain, no
// more chunks than threads, and exceptions carried back to the caller.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <nnlite/nnlite.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__linux__) && !defined(__SANITIZE_THREAD__)
#include <sys/wait.h>
#include <unistd.h>
#endif
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

using namespace nnlite;

namespace {
// Restores the thread count a test changed, whatever happens inside it.
struct ThreadCountGuard {
    int saved = num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};
}  // namespace

TEST_CASE("NNLITE_NUM_THREADS sets the initial thread count") {
    // ctest runs the suites with NNLITE_NUM_THREADS=2; run by hand, the default is all cores.
    if (const char* env = std::getenv("NNLITE_NUM_THREADS")) {
        CHECK(num_threads() == std::atoi(env));
    } else {
        CHECK(num_threads() >= 1);
    }
}

TEST_CASE("set_num_threads: below 1 is an error, above the available CPUs a clamp") {
    ThreadCountGuard guard;
    const int cpus = detail::available_cpus();
    REQUIRE(cpus >= 1);
    set_num_threads(1);
    CHECK(num_threads() == 1);
    set_num_threads(3);
    CHECK(num_threads() == std::min(3, cpus));
    set_num_threads(cpus + 5);
    CHECK(num_threads() == cpus);
    set_num_threads(1);
    CHECK_THROWS_WITH_AS(set_num_threads(0),
                         "set_num_threads(0): the thread count must be at least 1", ValueError);
    CHECK_THROWS_AS(set_num_threads(-4), ValueError);
    CHECK(num_threads() == 1);  // a refused value changes nothing
}

TEST_CASE("NNLITE_NUM_THREADS: a whole number, clamped; anything else is ignored") {
    CHECK(detail::threads_from_env(nullptr, 4) == 4);
    CHECK(detail::threads_from_env("1", 4) == 1);
    CHECK(detail::threads_from_env("3", 4) == 3);
    CHECK(detail::threads_from_env("64", 4) == 4);
    CHECK(detail::threads_from_env("99999999999999", 4) == 4);  // ignored (too long): default
    for (const char* bad : {"", "0", "-1", "3x", " 2", "two", "2.5"}) {
        CAPTURE(bad);
        CHECK(detail::threads_from_env(bad, 4) == 4);
    }
}

TEST_CASE("parallel_for covers every index exactly once") {
    ThreadCountGuard guard;
    for (std::size_t threads : {1u, 2u, 3u, 4u, 7u}) {
        for (std::size_t n : {0u, 1u, 2u, 7u, 9u, 100u, 1000u, 12345u}) {
            for (std::size_t grain : {0u, 1u, 3u, 16u, 1000u, 100000u}) {
                CAPTURE(threads);
                CAPTURE(n);
                CAPTURE(grain);
                std::vector<std::atomic<int>> hits(n);
                for (auto& h : hits) h = 0;
                std::mutex m;
                std::vector<std::pair<std::size_t, std::size_t>> chunks;
                detail::parallel_for_on(threads, n, grain, [&](std::size_t b, std::size_t e) {
                    {
                        std::lock_guard<std::mutex> lock(m);
                        chunks.emplace_back(b, e);
                    }
                    for (std::size_t i = b; i < e; ++i) ++hits[i];
                });
                bool all_once = true;
                for (auto& h : hits) all_once = all_once && h.load() == 1;
                CHECK(all_once);
                CHECK(chunks.size() <= threads);
                if (n == 0) CHECK(chunks.empty());
                for (auto [b, e] : chunks) {
                    CHECK(b < e);
                    // Split work honours the grain; a single inline chunk is the whole range.
                    if (chunks.size() > 1) CHECK(e - b >= std::max<std::size_t>(grain, 1));
                }
            }
        }
    }
}

TEST_CASE("parallel_for uses several threads when the work is large enough") {
    ThreadCountGuard guard;
    std::atomic<int> calls{0};
    detail::parallel_for_on(4, 4000, 100, [&](std::size_t, std::size_t) { ++calls; });
    CHECK(calls.load() == 4);
    calls = 0;
    detail::parallel_for_on(4, 150, 100, [&](std::size_t, std::size_t) { ++calls; });  // one grain
    CHECK(calls.load() == 1);
}

TEST_CASE("an exception in any chunk reaches the caller after all chunks finished") {
    ThreadCountGuard guard;
    set_num_threads(4);
    for (std::size_t bad : {0u, 250u, 999u}) {
        CAPTURE(bad);
        std::atomic<std::size_t> done{0};
        CHECK_THROWS_WITH_AS(
            detail::parallel_for_on(4, 1000, 10,
                                    [&](std::size_t b, std::size_t e) {
                                        if (bad >= b && bad < e)
                                            throw std::runtime_error("chunk failed at " +
                                                                     std::to_string(bad));
                                        done += e - b;
                                    }),
            doctest::Contains(("chunk failed at " + std::to_string(bad)).c_str()),
            std::runtime_error);
        CHECK(done.load() == 750);  // the three other chunks of 250 ran to completion
    }
}

TEST_CASE("matmul gives the same result with 1 and 4 threads") {
    ThreadCountGuard guard;
    // Small integers: every partial sum is exact, so any summation order gives equal bits.
    Generator gen(7);
    std::vector<float> av(64 * 96), bv(96 * 80);
    for (auto& v : av) v = static_cast<float>(static_cast<int>(gen.uniform(-4.0, 4.0)));
    for (auto& v : bv) v = static_cast<float>(static_cast<int>(gen.uniform(-4.0, 4.0)));
    auto a = Tensor<float>::from(av, {64, 96});
    auto b = Tensor<float>::from(bv, {96, 80});
    set_num_threads(1);
    const auto one = ops::matmul(a, b).to_vector();
    set_num_threads(4);
    const auto four = ops::matmul(a, b).to_vector();
    CHECK(one == four);
}

TEST_CASE("the thread team runs chunks on two threads at once when two CPUs are there") {
    if (detail::available_cpus() < 2) {
        MESSAGE("skipped: one CPU available");
        return;
    }
    // Chunk 0 waits (up to 5 s) for chunk 1 to start: both must be running at the same time.
    for (int round = 0; round < 20; ++round) {
        std::atomic<bool> second_started{false};
        std::atomic<bool> overlapped{false};
        std::thread::id ids[2];
        detail::run_chunks(2, 2, [&](std::size_t i) {
            ids[i] = std::this_thread::get_id();
            if (i == 1) {
                second_started = true;
                return;
            }
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            while (!second_started && std::chrono::steady_clock::now() < until)
                std::this_thread::yield();
            overlapped = second_started.load();
        });
        CAPTURE(round);
        CHECK(overlapped.load());
        CHECK(ids[0] != ids[1]);
    }
}

TEST_CASE("the thread team: many small tasks, nesting, callers on several threads") {
    // 20,000 tiny tasks in a row: a lost wake-up would hang here, a reused task would miscount.
    std::atomic<long> sum{0};
    for (int r = 0; r < 20000; ++r)
        detail::run_chunks(3, 2, [&](std::size_t i) { sum += static_cast<long>(i) + 1; });
    CHECK(sum.load() == 20000L * 6);

    // A parallel loop inside a chunk runs on that chunk's thread, completely.
    std::atomic<long> inner{0};
    detail::parallel_for_on(2, 100, 1, [&](std::size_t b, std::size_t e) {
        detail::parallel_for_on(2, 1000, 1, [&](std::size_t ib, std::size_t ie) {
            inner += static_cast<long>((ie - ib) * (e - b));
        });
    });
    CHECK(inner.load() == 1000L * 100);

    // Four threads at once: one holds the team, the others run their chunks themselves.
    std::vector<std::thread> callers;
    std::atomic<long> total{0};
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&] {
            for (int r = 0; r < 500; ++r)
                detail::parallel_for_on(2, 64, 1, [&](std::size_t b, std::size_t e) {
                    total += static_cast<long>(e - b);
                });
        });
    for (auto& c : callers) c.join();
    CHECK(total.load() == 4L * 500 * 64);
}

#if defined(__SSE__) || defined(__x86_64__)
TEST_CASE("team workers run with the caller's floating-point mode (flush-to-zero)") {
    if (detail::available_cpus() < 2) {
        MESSAGE("skipped: one CPU available");
        return;
    }
    const unsigned saved = _mm_getcsr();
    for (unsigned mode : {saved | 0x8040u, saved & ~0x8040u}) {  // FTZ | DAZ on, then off
        _mm_setcsr(mode);
        std::vector<unsigned> seen(8);
        detail::run_chunks(8, 2, [&](std::size_t i) { seen[i] = _mm_getcsr() & 0x8040u; });
        _mm_setcsr(saved);
        for (unsigned s : seen) CHECK(s == (mode & 0x8040u));
    }
}
#endif

// Not under ThreadSanitizer, which does not support threads started after a multi-threaded
// fork.
#if defined(__linux__) && !defined(__SANITIZE_THREAD__)
TEST_CASE("a child process after fork() gets a team of its own") {
    // Use the team here first, so the child inherits one whose workers do not exist there.
    std::atomic<int> n{0};
    detail::run_chunks(4, 2, [&](std::size_t) { ++n; });
    REQUIRE(n.load() == 4);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        alarm(10);  // a hang (waiting for the parent's workers) ends the child with SIGALRM
        std::atomic<int> m{0};
        for (int r = 0; r < 100; ++r) detail::run_chunks(4, 2, [&](std::size_t) { ++m; });
        _exit(m.load() == 400 ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
#endif
