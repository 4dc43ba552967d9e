// Writes the token count of every IMDB training review (nnlite's default tokenizer),
// truncated at 256, one per line: benchmarks/imdb_lengths.txt, from which lstm_benchmark
// and compare_pytorch.py draw realistic batch lengths. Usage:
//   imdb_lengths PATH_TO_IMDB [OUT]     (OUT default: stdout)
#include <algorithm>
#include <cstdio>
#include <nnlite/core/error.hpp>
#include <nnlite/text/tokenizer.hpp>
#include <string>

#include "data/dataset.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PATH_TO_IMDB [OUT]\n", argv[0]);
        return 2;
    }
    try {
        const imdb::Dataset data = imdb::load(argv[1]);
        std::FILE* out = argc > 2 ? std::fopen(argv[2], "w") : stdout;
        nnlite::check<nnlite::IoError>(out != nullptr, "imdb_lengths: cannot write ", argv[2]);
        const nnlite::text::Tokenizer tokenizer;
        std::string scratch;
        for (const auto& review : data.train) {
            std::size_t n = 0;
            tokenizer.for_each_token(review.text, scratch, [&](std::string_view) { ++n; });
            std::fprintf(out, "%zu\n", std::clamp<std::size_t>(n, 1, 256));
        }
        if (out != stdout) std::fclose(out);
        std::fprintf(stderr, "imdb_lengths: %zu training reviews\n", data.train.size());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "imdb_lengths: %s\n", e.what());
        return 1;
    }
    return 0;
}
