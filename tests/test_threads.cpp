// core/threads.hpp: the thread count (NNLITE_NUM_THREADS, set_num_threads) and
// parallel_for's contract: every index exactly once, chunks no smaller than the grain, no
// more chunks than threads, and exceptions carried back to the caller.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <nnlite/nnlite.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

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

TEST_CASE("set_num_threads changes num_threads and clamps to at least 1") {
    ThreadCountGuard guard;
    set_num_threads(3);
    CHECK(num_threads() == 3);
    set_num_threads(1);
    CHECK(num_threads() == 1);
    set_num_threads(0);
    CHECK(num_threads() == 1);
    set_num_threads(-4);
    CHECK(num_threads() == 1);
}

TEST_CASE("parallel_for covers every index exactly once") {
    ThreadCountGuard guard;
    for (int threads : {1, 2, 3, 4, 7}) {
        set_num_threads(threads);
        for (std::size_t n : {0u, 1u, 2u, 7u, 9u, 100u, 1000u, 12345u}) {
            for (std::size_t grain : {0u, 1u, 3u, 16u, 1000u, 100000u}) {
                CAPTURE(threads);
                CAPTURE(n);
                CAPTURE(grain);
                std::vector<std::atomic<int>> hits(n);
                for (auto& h : hits) h = 0;
                std::mutex m;
                std::vector<std::pair<std::size_t, std::size_t>> chunks;
                parallel_for(n, grain, [&](std::size_t b, std::size_t e) {
                    {
                        std::lock_guard<std::mutex> lock(m);
                        chunks.emplace_back(b, e);
                    }
                    for (std::size_t i = b; i < e; ++i) ++hits[i];
                });
                bool all_once = true;
                for (auto& h : hits) all_once = all_once && h.load() == 1;
                CHECK(all_once);
                CHECK(chunks.size() <= static_cast<std::size_t>(threads));
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
    set_num_threads(4);
    std::atomic<int> calls{0};
    parallel_for(4000, 100, [&](std::size_t, std::size_t) { ++calls; });
    CHECK(calls.load() == 4);
    calls = 0;
    parallel_for(150, 100, [&](std::size_t, std::size_t) { ++calls; });  // only one grain
    CHECK(calls.load() == 1);
}

TEST_CASE("an exception in any chunk reaches the caller after all chunks finished") {
    ThreadCountGuard guard;
    set_num_threads(4);
    for (std::size_t bad : {0u, 250u, 999u}) {
        CAPTURE(bad);
        std::atomic<std::size_t> done{0};
        CHECK_THROWS_WITH_AS(
            parallel_for(1000, 10,
                         [&](std::size_t b, std::size_t e) {
                             if (bad >= b && bad < e)
                                 throw std::runtime_error("chunk failed at " + std::to_string(bad));
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
