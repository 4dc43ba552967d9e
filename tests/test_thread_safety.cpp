// The library's thread-safety contract (docs/threading.md), proved under ThreadSanitizer
// (`cmake --preset tsan`): inference on one shared, frozen module from many threads at once
// under NoGradGuard gives bitwise the single-threaded answer; grad mode is per thread; input
// gradients (autograd on an input only, parameters frozen) run concurrently; set_num_threads
// and parallel_for may be called from several threads at once; the CPU block cache hands
// each block to one tensor at a time.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <nnlite/nnlite.hpp>
#include <thread>
#include <vector>

using namespace nnlite;

namespace {

/// Embedding -> bidirectional LSTM -> Linear on the last step: the IMDB model's shape.
struct TinyModel : nn::Module<float> {
    explicit TinyModel(Generator& gen) {
        embedding =
            register_module("embedding", std::make_shared<nn::Embedding<float>>(
                                             nn::EmbeddingOptions(50, 8).padding_idx(0), gen));
        lstm = register_module(
            "lstm", std::make_shared<nn::LSTM<float>>(
                        nn::LSTMOptions(8, 12).bidirectional(true).batch_first(true), gen));
        fc = register_module("fc", std::make_shared<nn::Linear<float>>(24, 1, gen));
    }
    Tensor<float> forward(const Tensor<std::int32_t>& ids, const std::vector<std::int64_t>& len) {
        return classify(embedding->forward(ids), len);
    }
    Tensor<float> classify(const Tensor<float>& x, const std::vector<std::int64_t>& len) {
        auto out = lstm->forward(x, len).output;  // [B, T, 24]
        auto last = ops::narrow(out, 1, 0, 1);    // [B, 1, 24]
        return fc->forward(ops::reshape(last, {static_cast<std::int64_t>(x.size(0)), 24}));
    }
    std::shared_ptr<nn::Embedding<float>> embedding;
    std::shared_ptr<nn::LSTM<float>> lstm;
    std::shared_ptr<nn::Linear<float>> fc;
};

Tensor<std::int32_t> make_ids(std::size_t batch, std::size_t steps, std::uint32_t salt) {
    std::vector<std::int32_t> ids(batch * steps);
    for (std::size_t i = 0; i < ids.size(); ++i)
        ids[i] = static_cast<std::int32_t>(1 + (i * 7 + salt * 13) % 49);
    return Tensor<std::int32_t>::from(ids, {batch, steps});
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

constexpr int kThreads = 8;
constexpr int kRounds = 6;

}  // namespace

TEST_CASE("concurrent forward of a shared frozen module under NoGradGuard is bitwise stable") {
    Generator gen(7);
    TinyModel model(gen);
    model.eval();
    for (auto& p : model.parameters()) p.requires_grad_(false);  // read-only after load
    const std::vector<std::int64_t> lengths{9, 5, 9, 1};
    std::vector<std::vector<float>> expected;
    for (std::uint32_t s = 0; s < kThreads; ++s) {
        NoGradGuard no_grad;
        expected.push_back(model.forward(make_ids(4, 9, s), lengths).to_vector());
    }
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            NoGradGuard no_grad;
            for (int r = 0; r < kRounds; ++r) {
                const auto s = static_cast<std::uint32_t>((t + r) % kThreads);
                if (!bitwise_equal(model.forward(make_ids(4, 9, s), lengths).to_vector(),
                                   expected[s]))
                    ++mismatches;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == 0);
    for (const auto& p : model.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("grad mode is per thread") {
    NoGradGuard no_grad;
    bool other_thread_enabled = false;
    std::thread([&] { other_thread_enabled = is_grad_enabled(); }).join();
    CHECK_FALSE(is_grad_enabled());
    CHECK(other_thread_enabled);
}

TEST_CASE("concurrent input gradients of a frozen module write no shared state") {
    Generator gen(11);
    TinyModel model(gen);
    model.eval();
    for (auto& p : model.parameters()) p.requires_grad_(false);
    const std::vector<std::int64_t> lengths{6, 6};
    auto input_grad = [&](std::uint32_t s) {
        Tensor<float> x;
        {
            NoGradGuard no_grad;
            x = model.embedding->forward(make_ids(2, 6, s)).detach();
        }
        x.requires_grad_(true);
        auto y = model.classify(x, lengths);
        y.backward(Tensor<float>::ones(y.shape()));
        return x.grad().to_vector();
    };
    std::vector<std::vector<float>> expected;
    for (std::uint32_t s = 0; s < kThreads; ++s) expected.push_back(input_grad(s));
    std::atomic<int> mismatches{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < kRounds; ++r) {
                const auto s = static_cast<std::uint32_t>((t * 3 + r) % kThreads);
                if (!bitwise_equal(input_grad(s), expected[s])) ++mismatches;
            }
        });
    for (auto& th : threads) th.join();
    CHECK(mismatches == 0);
    for (const auto& p : model.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("set_num_threads and parallel_for from several threads at once") {
    const int saved = num_threads();
    std::vector<std::thread> threads;
    std::atomic<long> total{0};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < 50; ++r) {
                set_num_threads(1 + (t + r) % 3);
                CHECK(num_threads() >= 1);
                std::vector<int> v(300, 1);
                parallel_for(v.size(), 16, [&](std::size_t b, std::size_t e) {
                    long s = 0;
                    for (std::size_t i = b; i < e; ++i) s += v[i];
                    total += s;
                });
            }
        });
    for (auto& th : threads) th.join();
    set_num_threads(saved);
    CHECK(total == 4L * 50 * 300);
    CHECK(num_threads() == saved);
}

TEST_CASE("the CPU block cache hands each block to one tensor at a time across threads") {
    // Threads allocate, fill, check and free large tensors of a few size classes at once, and
    // another thread changes the limit and empties the cache meanwhile: a block handed to two
    // tensors, or freed while cached, shows as a wrong value here or a report under tsan/asan.
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    std::atomic<bool> done{false};
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int r = 0; r < 40; ++r) {
                const std::size_t n =
                    (std::size_t{1} << 16) * static_cast<std::size_t>(1 + (t + r) % 3);
                auto a = Tensor<float>::empty({n});
                auto b = Tensor<float>::empty({n});
                const float va = static_cast<float>(t * 100 + r), vb = -va - 1.f;
                for (std::size_t i = 0; i < n; ++i) a.data()[i] = va, b.data()[i] = vb;
                std::this_thread::yield();
                for (std::size_t i = 0; i < n; i += 97)
                    if (a.data()[i] != va || b.data()[i] != vb) ++wrong;
            }
        });
    std::thread janitor([&] {
        for (int r = 0; !done; ++r) {
            set_cpu_cache_limit(r % 2 ? std::size_t{4} << 20 : std::size_t{64} << 20);
            cpu_empty_cache();
            std::this_thread::yield();
        }
    });
    for (auto& th : threads) th.join();
    done = true;
    janitor.join();
    set_cpu_cache_limit(std::size_t{1} << 30);
    CHECK(wrong == 0);
    CHECK(cpu_memory_stats().bytes_cached <= cpu_memory_stats().limit);
}
