// backend/cpu/allocator.hpp: the caching allocator behind CPU tensor storage. Freed large
// blocks come back for the next request of their size class, small ones never enter the
// cache, the limit bounds what is kept, and cpu_empty_cache() gives it all back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <nnlite/nnlite.hpp>
#include <sstream>
#include <string>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#endif

using namespace nnlite;
using Cache = nnlite::detail::HostBlockCache;

namespace {
constexpr std::size_t MiB = std::size_t{1} << 20;

// Restores the cache limit a test changed, whatever happens inside it.
struct LimitGuard {
    std::size_t saved = Cache::get().limit();
    ~LimitGuard() { set_cpu_cache_limit(saved); }
};
}  // namespace

TEST_CASE("cpu memory: size classes round up by at most 1/8, small sizes unchanged") {
    CHECK(Cache::round_size(0) == 0);
    CHECK(Cache::round_size(1000) == 1000);
    CHECK(Cache::round_size(Cache::kMinCachedBytes - 1) == Cache::kMinCachedBytes - 1);
    CHECK(Cache::round_size(Cache::kMinCachedBytes) == Cache::kMinCachedBytes);
    CHECK(Cache::round_size(4 * MiB) == 4 * MiB);
    CHECK(Cache::round_size(4 * MiB + 1) == 4 * MiB + MiB / 2);  // classes of 512 KiB here
    std::size_t previous = 0;
    for (std::size_t bytes = Cache::kMinCachedBytes; bytes < 3000 * MiB;
         bytes += bytes / 7 + 4093) {
        CAPTURE(bytes);
        const std::size_t r = Cache::round_size(bytes);
        CHECK(r >= bytes);
        CHECK(r - bytes <= bytes / 8);
        CHECK(r >= previous);  // monotonic
        CHECK(Cache::round_size(r) == r);
        previous = r;
    }
}

TEST_CASE("cpu memory: a freed large tensor's block serves the next request of its class") {
    LimitGuard guard;
    set_cpu_cache_limit(256 * MiB);
    cpu_empty_cache();
    const float* first = nullptr;
    {
        auto t = Tensor<float, cpu>::empty({std::size_t{1} << 20});  // 4 MiB
        first = t.data();
        CHECK(reinterpret_cast<std::uintptr_t>(first) % Cache::kAlignment == 0);
        t.data()[0] = 1.f;
    }
    const CpuMemoryStats after_free = cpu_memory_stats();
    CHECK(after_free.bytes_cached == 4 * MiB);
    {
        // 4 MiB minus 100 floats: the same 4 MiB class, so the same block.
        auto t = Tensor<float, cpu>::empty({(std::size_t{1} << 20) - 100});
        CHECK(t.data() == first);
        const CpuMemoryStats s = cpu_memory_stats();
        CHECK(s.cache_hits == after_free.cache_hits + 1);
        CHECK(s.allocations == after_free.allocations);
        CHECK(s.bytes_cached == 0);
        CHECK(s.bytes_in_use >= 4 * MiB);
        // A second live tensor of that class needs a new block.
        auto u = Tensor<float, cpu>::empty({std::size_t{1} << 20});
        CHECK(u.data() != t.data());
        CHECK(cpu_memory_stats().allocations == after_free.allocations + 1);
    }
    // Values are what a fresh tensor says they are: zeros() fills a reused block.
    auto z = Tensor<float, cpu>::zeros({std::size_t{1} << 20});
    double sum = 0;
    for (std::size_t i = 0; i < z.numel(); ++i) sum += z.data()[i];
    CHECK(sum == 0.0);
}

TEST_CASE("cpu memory: small tensors bypass the cache") {
    cpu_empty_cache();
    const CpuMemoryStats before = cpu_memory_stats();
    for (int i = 0; i < 100; ++i) {
        auto t = Tensor<float, cpu>::zeros({1000});
        t.data()[999] = 1.f;
    }
    const CpuMemoryStats after = cpu_memory_stats();
    CHECK(after.allocations == before.allocations);
    CHECK(after.cache_hits == before.cache_hits);
    CHECK(after.bytes_cached == 0);
}

TEST_CASE("cpu memory: the limit bounds the cache; 0 turns it off; empty_cache frees all") {
    LimitGuard guard;
    set_cpu_cache_limit(10 * MiB);
    cpu_empty_cache();
    {
        std::vector<Tensor<float, cpu>> live;
        for (int i = 0; i < 4; ++i) live.push_back(Tensor<float, cpu>::empty({MiB}));  // 4 MiB
    }
    // Four 4 MiB blocks freed into a 10 MiB cache: two stay.
    CHECK(cpu_memory_stats().bytes_cached == 8 * MiB);
    CHECK(cpu_memory_stats().limit == 10 * MiB);
    // Lowering the limit frees what exceeds it now.
    set_cpu_cache_limit(5 * MiB);
    CHECK(cpu_memory_stats().bytes_cached == 4 * MiB);
    cpu_empty_cache();
    CHECK(cpu_memory_stats().bytes_cached == 0);

    set_cpu_cache_limit(0);
    const CpuMemoryStats before = cpu_memory_stats();
    for (int i = 0; i < 3; ++i) {
        auto t = Tensor<float, cpu>::empty({MiB});
        t.data()[0] = 1.f;
    }
    const CpuMemoryStats after = cpu_memory_stats();
    CHECK(after.bytes_cached == 0);
    CHECK(after.cache_hits == before.cache_hits);
    CHECK(after.allocations == before.allocations + 3);
}

TEST_CASE("cpu memory: blocks in use plus cached stay within 1.2x the most in use so far") {
    LimitGuard guard;
    set_cpu_cache_limit(256 * MiB);
    cpu_empty_cache();  // the high-water mark restarts from what is in use now
    const std::size_t base = cpu_memory_stats().bytes_in_use;
    {
        auto a = Tensor<float, cpu>::empty({MiB});      // 4 MiB
        auto b = Tensor<float, cpu>::empty({MiB / 2});  // 2 MiB
    }
    CHECK(cpu_memory_stats().bytes_cached == 6 * MiB);
    CHECK(cpu_memory_stats().peak_bytes_in_use == base + 6 * MiB);
    // No cached block fits 3 MiB (4 MiB is more than a quarter larger), and 3 in use + 6
    // cached would exceed 1.2 x the 6 MiB high-water mark: the largest cached block (4 MiB)
    // is freed, the 2 MiB one stays.
    auto c = Tensor<float, cpu>::empty({3 * MiB / 4});
    CHECK(cpu_memory_stats().bytes_cached == 2 * MiB);
    // Shapes that change every time (a variable-length batch each step, 20 sizes): in use
    // plus cached stays within 1.2x the high-water mark, which is that of the live tensors.
    for (std::size_t i = 0; i < 20; ++i) {
        auto t = Tensor<float, cpu>::empty({MiB + i * MiB / 8});
        const CpuMemoryStats s = cpu_memory_stats();
        CHECK(s.bytes_in_use + s.bytes_cached <= s.peak_bytes_in_use + s.peak_bytes_in_use / 5);
        // c plus the largest t so far, which may have taken a block up to 1/4 larger
        CHECK(s.peak_bytes_in_use <=
              base + 3 * MiB + Cache::round_size((4 * MiB + i * MiB / 2) * 5 / 4));
    }
    // A repeated size after that is served from the cache again.
    const std::size_t hits = cpu_memory_stats().cache_hits;
    { auto t = Tensor<float, cpu>::empty({MiB + 19 * MiB / 8}); }
    CHECK(cpu_memory_stats().cache_hits == hits + 1);
}

TEST_CASE("cpu memory: a miss that must give memory back resizes a cached block instead") {
    LimitGuard guard;
    set_cpu_cache_limit(256 * MiB);
    cpu_empty_cache();
    const std::size_t base = cpu_memory_stats().bytes_in_use;
    {
        auto big = Tensor<float, cpu>::full({2 * MiB}, 1.f);  // 8 MiB, every page touched
    }
    CHECK(cpu_memory_stats().bytes_cached == 8 * MiB);
    // 5 MiB: no cached block fits (8 MiB is more than a quarter larger), and 5 in use + 8
    // cached would pass 1.2x the 8 MiB high-water mark, so the cache gives memory back. It
    // does so by shrinking the 8 MiB block to 5 MiB: no block is cached afterwards, and
    // where blocks come from mmap (Linux, no ASan) its pages are still mapped, so writing
    // the whole tensor takes (almost) no page faults; a fresh mapping would take one per
    // 4 KiB page, 1,280.
    auto t = Tensor<float, cpu>::empty({5 * MiB / 4});
    CHECK(cpu_memory_stats().bytes_cached == 0);
    CHECK(cpu_memory_stats().bytes_in_use == base + 5 * MiB);
#if defined(__linux__) && !defined(NNLITE_ASAN)
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
#endif
    kernels<cpu>::fill(t.data(), t.numel(), 2.f);
#if defined(__linux__) && !defined(NNLITE_ASAN)
    getrusage(RUSAGE_SELF, &after);
    CHECK(after.ru_minflt - before.ru_minflt < 64);
#endif
    const auto v = t.to_vector();
    CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 2.f; }));
}

TEST_CASE("cpu memory: a block larger than the limit is freed, not cached") {
    LimitGuard guard;
    set_cpu_cache_limit(2 * MiB);
    cpu_empty_cache();
    { auto t = Tensor<float, cpu>::empty({MiB}); }  // 4 MiB > 2 MiB
    CHECK(cpu_memory_stats().bytes_cached == 0);
}

TEST_CASE("cpu memory: NNLITE_CPU_CACHE_MB is parsed strictly") {
    const std::size_t fallback = 1024 * MiB;
    CHECK(nnlite::detail::cache_limit_from_env(nullptr, fallback) == fallback);
    CHECK(nnlite::detail::cache_limit_from_env("0", fallback) == 0);
    CHECK(nnlite::detail::cache_limit_from_env("64", fallback) == 64 * MiB);
    for (const char* bad : {"", "-1", "64MB", "1e3", " 64", "99999999999"}) {
        CAPTURE(bad);
        CHECK(nnlite::detail::cache_limit_from_env(bad, fallback) == fallback);
    }
}

TEST_CASE("cpu memory: NNLITE_CPU_HUGE_PAGES is 0 or 1") {
    CHECK(nnlite::detail::huge_pages_from_env(nullptr, true));
    CHECK_FALSE(nnlite::detail::huge_pages_from_env(nullptr, false));
    CHECK_FALSE(nnlite::detail::huge_pages_from_env("0", true));
    CHECK(nnlite::detail::huge_pages_from_env("1", false));
    for (const char* bad : {"", "2", "yes", " 1", "1 ", "01", "off"}) {
        CAPTURE(bad);
        CHECK(nnlite::detail::huge_pages_from_env(bad, true));
        CHECK_FALSE(nnlite::detail::huge_pages_from_env(bad, false));
    }
}

#if defined(__linux__) && !defined(NNLITE_ASAN)
namespace {
// The VmFlags of the mapping that holds address p (/proc/self/smaps), as " f1 f2 ... ".
std::string vm_flags_of(const void* p) {
    std::ifstream smaps("/proc/self/smaps");
    const auto at = reinterpret_cast<std::uintptr_t>(p);
    bool inside = false;
    std::string line;
    while (std::getline(smaps, line)) {
        unsigned long long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (line.find(':') == std::string::npos || line.find(' ') < line.find(':')) {
            if (head >> std::hex >> lo >> dash >> hi && dash == '-') inside = lo <= at && at < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line.substr(8) + " ";
    }
    return {};
}

struct HugePagesGuard {
    bool saved = Cache::get().huge_pages();
    ~HugePagesGuard() {
        set_cpu_huge_pages(saved);
        cpu_empty_cache();
    }
};
}  // namespace

TEST_CASE(
    "cpu memory: blocks of 2 MiB and more start on a 2 MiB boundary and ask for huge "
    "pages") {
    LimitGuard guard;
    HugePagesGuard huge_guard;
    set_cpu_cache_limit(256 * MiB);
    const bool thp = std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good();
    if (!thp) MESSAGE("skipped the VmFlags checks: this kernel has no transparent huge pages");
    for (const bool on : {true, false}) {
        CAPTURE(on);
        set_cpu_huge_pages(on);
        cpu_empty_cache();  // no cached block mapped under the other setting
        CHECK(Cache::get().huge_pages() == on);
        // 3 MiB + 4 bytes: not a whole number of huge pages.
        auto big = Tensor<float, cpu>::empty({3 * MiB / 4 + 1});
        CHECK(reinterpret_cast<std::uintptr_t>(big.data()) % Cache::kHugePageBytes == 0);
        for (std::size_t i = 0; i < big.numel(); ++i) big.data()[i] = static_cast<float>(i % 1000);
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < big.numel(); ++i)
            wrong += big.data()[i] != static_cast<float>(i % 1000);
        CHECK(wrong == 0);
        const std::string flags = vm_flags_of(big.data());
        CAPTURE(flags);
        REQUIRE(!flags.empty());  // the block is a mapping of its own, listed in smaps
        if (thp) CHECK((flags.find(" hg ") != std::string::npos) == on);
        // Below 2 MiB: no advice (and no alignment beyond the page).
        auto small = Tensor<float, cpu>::empty({MiB / 4});  // 1 MiB
        if (thp) CHECK(vm_flags_of(small.data()).find(" hg ") == std::string::npos);
    }
}
#endif

TEST_CASE("cpu memory: an LSTM training step takes its buffers from the cache") {
    LimitGuard guard;
    set_cpu_cache_limit(256 * MiB);
    Generator gen(3);
    nn::LSTM<float, cpu> lstm(nn::LSTMOptions(32, 64).bidirectional(true), gen);
    auto x = Tensor<float, cpu>::empty({64, 32, 32});  // [T, B, in]: 1 MiB of gates per direction
    for (std::size_t i = 0; i < x.numel(); ++i) x.data()[i] = static_cast<float>(i % 7) * 0.1f;
    auto step = [&] {
        auto out = lstm.forward(x);
        ops::sum(out.output).backward();
        lstm.zero_grad();
    };
    step();
    step();
    const CpuMemoryStats warm = cpu_memory_stats();
    step();
    step();
    const CpuMemoryStats after = cpu_memory_stats();
    // After the warm-up nearly every large block comes from the cache (here 16 of 18 a step:
    // the 20% margin above the high-water mark does not hold every block a step strands).
    const std::size_t hits = after.cache_hits - warm.cache_hits;
    const std::size_t misses = after.allocations - warm.allocations;
    CHECK(hits >= 6 * misses);
    CHECK(hits >= 20);
    CHECK(after.bytes_in_use + after.bytes_cached <=
          after.peak_bytes_in_use + after.peak_bytes_in_use / 5);
}
