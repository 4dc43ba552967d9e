// libFuzzer target for a run directory's config.json (app/config.cpp, model/classifier.cpp):
// any byte string is either a config that validates, or an nnlite::Error naming the file.
// A config that validates must write back to JSON that reads back the same, and is then
// loaded as the config.json of a run directory holding a tiny model (Classifier::load, as
// predict, evaluate and serve load one): it loads, or is refused with an nnlite::Error
// because the weights do not have the shapes it asks for (checked before anything is
// allocated). A model that loads predicts one review. Anything else (a crash, a sanitizer
// report, another exception, an allocation over -malloc_limit_mb) is a bug.
#include <unistd.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nnlite/core/error.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/text/vocabulary.hpp>
#include <string>

#include "app/config.hpp"
#include "model/classifier.hpp"
#include "model/model.hpp"

namespace {

namespace fs = std::filesystem;

// The tiny model's settings: seeds/config/tiny.json holds the same text, so the fuzzer
// starts from a config that loads and mutates it from there.
const char* const tiny_config = R"({
  "preset": "tiny",
  "max_vocab": 20,
  "max_length": 12,
  "truncation": "head_tail",
  "head_fraction": 0.25,
  "embedding_dim": 4,
  "hidden_size": 3,
  "num_layers": 2,
  "bidirectional": true,
  "pooling": "last+max+mean"
})";

std::string run_dir;

void write_file(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() ||
        std::fclose(f) != 0) {
        std::perror(path.c_str());
        std::abort();
    }
}

// A run directory with vocab.txt and model.safetensors for tiny_config, in RAM where
// /dev/shm exists (one config.json is written per input).
void make_run_dir() {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    std::string dir = (base / "fuzz_imdb_config.XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) {
        std::perror("mkdtemp");
        std::abort();
    }
    run_dir = dir;
    const imdb::Config c = imdb::parse_config(tiny_config, "tiny_config");
    const auto vocab = nnlite::text::Vocabulary::build(
        {{"a", "great", "film", "awful", "plot", "the", "it", "was", "loved", "boring"}});
    vocab.save((fs::path(run_dir) / imdb::RunFiles::vocab).string());
    imdb::SentimentModel<nnlite::cpu> model(c, vocab.size());
    nnlite::io::save((fs::path(run_dir) / imdb::RunFiles::model).string(), model.state_dict());
    write_file((fs::path(run_dir) / imdb::RunFiles::config).string(), tiny_config);
    imdb::Classifier::load(run_dir);  // the fixture itself must load
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    nnlite::set_num_threads(1);
    make_run_dir();
    std::atexit([] { fs::remove_all(run_dir); });
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    imdb::Config config;
    try {
        config = imdb::parse_config(text, "fuzz/config.json");
    } catch (const nnlite::Error&) {
        return 0;  // the expected outcome for most inputs
    }
    // What validates writes back (as `train` writes config.json) to the same settings.
    const std::string written = config.to_json().dump(2);
    if (imdb::parse_config(written, "written").to_json() != config.to_json()) std::abort();

    write_file((fs::path(run_dir) / imdb::RunFiles::config).string(), text);
    try {
        const auto classifier = imdb::Classifier::load(run_dir);
        const auto p = classifier.predict({"the plot was awful but i loved it, a great film"});
        if (p.size() != 1 || !(p[0] >= 0.0 && p[0] <= 1.0)) std::abort();
    } catch (const nnlite::Error&) {
    }
    return 0;
}
