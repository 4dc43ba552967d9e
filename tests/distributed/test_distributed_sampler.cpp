// DistributedBatchSampler and rank_seed: plain arithmetic, tested without mpirun by
// building every rank's sampler in one process.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <nnlite/distributed/sampler.hpp>
#include <set>
#include <vector>

using nnlite::distributed::DistributedBatchSampler;
using nnlite::distributed::rank_seed;

namespace {

std::vector<DistributedBatchSampler> all_ranks(std::size_t n, std::size_t batch, int world,
                                               std::uint64_t seed, bool shuffle = true,
                                               bool drop_last = false) {
    std::vector<DistributedBatchSampler> out;
    for (int r = 0; r < world; ++r) out.emplace_back(n, batch, r, world, seed, shuffle, drop_last);
    return out;
}

}  // namespace

TEST_CASE("ranks' slices are disjoint, cover the global batch in order, and agree on it") {
    for (int world : {1, 2, 3, 4, 7}) {
        for (std::size_t batch : {1, 5, 8, 64}) {
            CAPTURE(world);
            CAPTURE(batch);
            const std::size_t n = 103;  // not a multiple of any batch: a short last batch
            auto ranks = all_ranks(n, batch, world, 42);
            const std::size_t nb = ranks[0].num_batches();
            CHECK(nb == (n + batch - 1) / batch);
            std::multiset<std::size_t> seen_epoch;
            for (std::size_t b = 0; b < nb; ++b) {
                const auto global = ranks[0].global_batch(b);
                std::vector<std::size_t> joined;
                std::size_t min_size = n, max_size = 0;
                for (int r = 0; r < world; ++r) {
                    CHECK(ranks[static_cast<std::size_t>(r)].global_batch(b) == global);
                    const auto lb = ranks[static_cast<std::size_t>(r)].local_batch(b);
                    CHECK(lb.global_size == global.size());
                    CHECK(lb.offset == joined.size());  // contiguous, in rank order
                    joined.insert(joined.end(), lb.indices.begin(), lb.indices.end());
                    min_size = std::min(min_size, lb.indices.size());
                    max_size = std::max(max_size, lb.indices.size());
                }
                CHECK(joined == global);          // disjoint and covering, in order
                CHECK(max_size - min_size <= 1);  // balanced
                seen_epoch.insert(global.begin(), global.end());
            }
            // One epoch visits every sample exactly once.
            std::multiset<std::size_t> expected;
            for (std::size_t i = 0; i < n; ++i) expected.insert(i);
            CHECK(seen_epoch == expected);
        }
    }
}

TEST_CASE("the order is a seeded shuffle: same seed and epoch -> same order, else different") {
    DistributedBatchSampler a(1000, 1000, 0, 1, 7), b(1000, 1000, 0, 1, 7), c(1000, 1000, 0, 1, 8);
    CHECK(a.global_batch(0) == b.global_batch(0));
    CHECK(a.global_batch(0) != c.global_batch(0));
    std::vector<std::size_t> identity(1000);
    for (std::size_t i = 0; i < identity.size(); ++i) identity[i] = i;
    CHECK(a.global_batch(0) != identity);
    const auto epoch0 = a.global_batch(0);
    a.set_epoch(1);
    b.set_epoch(1);
    CHECK(a.global_batch(0) != epoch0);
    CHECK(a.global_batch(0) == b.global_batch(0));
    a.set_epoch(0);
    CHECK(a.global_batch(0) == epoch0);

    DistributedBatchSampler plain(10, 4, 1, 2, 7, /*shuffle=*/false);
    CHECK(plain.local_batch(0).indices == std::vector<std::size_t>{2, 3});
    CHECK(plain.local_batch(2).indices == std::vector<std::size_t>{9});  // last batch {8, 9}
}

TEST_CASE("uneven sizes: a final batch smaller than the world leaves some ranks empty") {
    auto ranks = all_ranks(10, 4, 4, 1, /*shuffle=*/false);
    REQUIRE(ranks[0].num_batches() == 3);
    // Last global batch = {8, 9}: ranks get floor(2r/4)..floor(2(r+1)/4) = {}, {8}, {}, {9}.
    std::vector<std::size_t> sizes;
    for (auto& s : ranks) sizes.push_back(s.local_batch(2).indices.size());
    CHECK(sizes == std::vector<std::size_t>{0, 1, 0, 1});
    for (auto& s : ranks) CHECK(s.local_batch(2).global_size == 2);

    auto dropped = all_ranks(10, 4, 4, 1, false, /*drop_last=*/true);
    CHECK(dropped[0].num_batches() == 2);
    CHECK_THROWS_AS(dropped[0].local_batch(2), nnlite::IndexError);

    CHECK_THROWS_AS(DistributedBatchSampler(10, 0, 0, 1, 1), nnlite::ValueError);
    CHECK_THROWS_AS(DistributedBatchSampler(10, 4, 2, 2, 1), nnlite::ValueError);
}

TEST_CASE("rank_seed: distinct per rank, deterministic, not the common seed") {
    std::set<std::uint64_t> seeds;
    for (int r = 0; r < 1000; ++r) seeds.insert(rank_seed(1234, r));
    CHECK(seeds.size() == 1000);
    CHECK(seeds.count(1234) == 0);
    CHECK(rank_seed(1234, 3) == rank_seed(1234, 3));
    CHECK(rank_seed(1234, 3) != rank_seed(1235, 3));
    CHECK_THROWS_AS(rank_seed(1, -1), nnlite::ValueError);
}
