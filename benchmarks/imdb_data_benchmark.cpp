// Measures the IMDB data path on real data: load (directory, archive or CSV), count tokens,
// build the vocabulary, encode every review. Usage:
//   imdb_data_benchmark [PATH]        (default: $NNLITE_IMDB_DATA)
// Thread count from NNLITE_NUM_THREADS (default: all cores). Prints one line per stage.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nnlite/core/error.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/text/corpus.hpp>
#include <nnlite/text/sequence.hpp>
#include <string>
#include <vector>

#include "data/dataset.hpp"

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// CPU seconds of the whole process (all threads): on a shared machine wall time depends on
/// the load, CPU time much less.
double cpu_seconds() {
    return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

}  // namespace

int main(int argc, char** argv) {
    const char* env = std::getenv("NNLITE_IMDB_DATA");
    const std::string path = argc > 1 ? argv[1] : (env ? env : "");
    if (path.empty()) {
        std::fprintf(stderr, "usage: %s PATH (or set NNLITE_IMDB_DATA)\n", argv[0]);
        return 2;
    }
    try {
        using clock = std::chrono::steady_clock;
        std::printf("threads: %d\n", nnlite::num_threads());
        auto t0 = clock::now();
        double c0 = cpu_seconds();
        const imdb::Dataset data = imdb::load(path);
        const double t_load = seconds_since(t0);
        std::size_t bytes = 0;
        for (const auto* split : {&data.train, &data.test})
            for (const auto& r : *split) bytes += r.text.size();
        std::printf("load (%s): %.2f s (cpu %.2f s), %s, %.1f MB of text\n",
                    imdb::to_string(data.format), t_load, cpu_seconds() - c0,
                    data.summary().c_str(), static_cast<double>(bytes) / 1e6);
        for (const auto& note : data.notes) std::printf("  note: %s\n", note.c_str());

        // All 50k reviews, as the speed goal states it: train and test, one after the other.
        std::vector<const imdb::Review*> all;
        for (const auto* split : {&data.train, &data.test})
            for (const auto& r : *split) all.push_back(&r);
        const auto text_at = [&](std::size_t i) { return std::string_view(all[i]->text); };
        const nnlite::text::Tokenizer tokenizer;

        t0 = clock::now();
        c0 = cpu_seconds();
        const auto counts = nnlite::text::count_tokens(all.size(), text_at, tokenizer);
        const double t_count = seconds_since(t0);
        std::printf(
            "normalize + tokenize + count: %.2f s (cpu %.2f s), %lld tokens, %zu distinct, "
            "%.1f MB/s\n",
            t_count, cpu_seconds() - c0, static_cast<long long>(counts.total()), counts.distinct(),
            static_cast<double>(bytes) / 1e6 / t_count);

        t0 = clock::now();
        const auto vocab = nnlite::text::Vocabulary::build(
            counts, nnlite::text::VocabularyOptions().max_tokens(10000));
        const double t_vocab = seconds_since(t0);
        std::printf("vocabulary (10000 + 2 specials): %.3f s\n", t_vocab);

        t0 = clock::now();
        c0 = cpu_seconds();
        const auto ids = nnlite::text::encode_documents(all.size(), text_at, tokenizer, vocab);
        const double t_encode = seconds_since(t0);
        const double c_encode = cpu_seconds() - c0;
        std::vector<std::size_t> lengths;
        std::size_t unk = 0, total = 0;
        for (const auto& seq : ids) {
            lengths.push_back(seq.size());
            total += seq.size();
            unk += static_cast<std::size_t>(
                std::count(seq.begin(), seq.end(), nnlite::text::Vocabulary::unk_id));
        }
        std::sort(lengths.begin(), lengths.end());
        const auto pct = [&](double p) {
            return lengths[static_cast<std::size_t>(p * static_cast<double>(lengths.size() - 1))];
        };
        std::printf("normalize + tokenize + encode: %.2f s (cpu %.2f s), <unk> rate %.2f%%\n",
                    t_encode, c_encode,
                    100.0 * static_cast<double>(unk) / static_cast<double>(total));
        std::printf("tokens per review: mean %.1f, median %zu, p90 %zu, p99 %zu, max %zu\n",
                    static_cast<double>(total) / static_cast<double>(lengths.size()), pct(0.5),
                    pct(0.9), pct(0.99), lengths.back());
        for (std::size_t limit : {128, 256, 512}) {
            const auto kept =
                std::upper_bound(lengths.begin(), lengths.end(), limit) - lengths.begin();
            std::printf("reviews with at most %zu tokens: %.1f%%\n", limit,
                        100.0 * static_cast<double>(kept) / static_cast<double>(lengths.size()));
        }
        std::printf("total (load + count + vocabulary + encode): %.2f s\n",
                    t_load + t_count + t_vocab + t_encode);
    } catch (const nnlite::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
