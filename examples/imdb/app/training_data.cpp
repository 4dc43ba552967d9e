#include "app/training_data.hpp"

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <nnlite/text/corpus.hpp>
#include <sstream>
#include <unordered_set>

#include "data/dataset.hpp"

namespace imdb {

namespace fs = std::filesystem;

namespace {

/// A stratified subset of `limit` reviews (all when limit is 0 or not smaller).
void limit_split(std::vector<Review>& split, std::size_t limit, std::uint64_t seed) {
    if (limit == 0 || limit >= split.size()) return;
    std::vector<int> labels;
    for (const auto& r : split) labels.push_back(r.label);
    const auto parts = stratified_split(
        labels, static_cast<double>(limit) / static_cast<double>(split.size()), seed);
    std::vector<Review> kept;
    kept.reserve(parts.second.size());
    for (auto i : parts.second) kept.push_back(std::move(split[i]));
    split = std::move(kept);
}

std::vector<std::string_view> texts_of(const std::vector<Review>& split) {
    std::vector<std::string_view> out;
    out.reserve(split.size());
    for (const auto& r : split) out.emplace_back(r.text);
    return out;
}

std::vector<int> labels_of(const std::vector<Review>& split) {
    std::vector<int> out;
    out.reserve(split.size());
    for (const auto& r : split) out.push_back(r.label);
    return out;
}

std::vector<std::size_t> lengths_of(const Encoded& e) {
    std::vector<std::size_t> out;
    out.reserve(e.size());
    for (const auto& s : e) out.push_back(s.size());
    return out;
}

/// Most frequent tokens of one class among the training reviews, leaving out the tokens
/// frequent in both classes (articles, punctuation) so the lists say something.
std::vector<TokenCount> class_tokens(const Encoded& ids, const std::vector<int>& labels, int cls,
                                     const nnlite::text::Vocabulary& vocab, std::size_t k) {
    std::vector<std::size_t> counts(vocab.size(), 0), other(vocab.size(), 0);
    for (std::size_t i = 0; i < ids.size(); ++i)
        for (auto id : ids[i]) (labels[i] == cls ? counts : other)[static_cast<std::size_t>(id)]++;
    std::vector<std::size_t> order;
    for (std::size_t id = 2; id < vocab.size(); ++id)
        if (counts[id] >= 20 && counts[id] > 2 * other[id]) order.push_back(id);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
    });
    std::vector<TokenCount> out;
    for (std::size_t i = 0; i < order.size() && i < k; ++i)
        out.push_back({vocab.token(static_cast<std::int32_t>(order[i])), counts[order[i]]});
    return out;
}

Dataset load_dataset(const std::string& data_path) {
    nnlite::check<nnlite::IoError>(
        !data_path.empty(),
        "no IMDB data found: pass --data PATH (the aclImdb folder, aclImdb_v1.tar.gz "
        "or an IMDB CSV), set NNLITE_IMDB_DATA, or run scripts/download_imdb.sh");
    return load(data_path);
}

std::string data_fingerprint(const Dataset& ds) {
    std::uint64_t sum = 0;
    const auto add = [&](char split, const std::vector<Review>& reviews) {
        for (const auto& r : reviews) {
            std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64
            const auto mix = [&](unsigned char c) { h = (h ^ c) * 1099511628211ull; };
            mix(static_cast<unsigned char>(split));
            mix(static_cast<unsigned char>(r.label));
            for (char c : r.text) mix(static_cast<unsigned char>(c));
            sum += h;
        }
    };
    add('t', ds.train);
    add('v', ds.validation);
    add('s', ds.test);
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sum));
    return std::to_string(ds.train.size()) + "/" + std::to_string(ds.validation.size()) + "/" +
           std::to_string(ds.test.size()) + "-" + hex;
}

}  // namespace

TrainingData prepare_training_data(const Config& cfg, const std::string& data_path,
                                   const std::string& run_dir, bool reuse_vocabulary,
                                   bool write_files) {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset ds = load_dataset(data_path);
    limit_split(ds.train, cfg.limit_train, cfg.seed);
    limit_split(ds.test, cfg.limit_test, cfg.seed);
    split_validation(ds, cfg.validation_fraction, cfg.seed);
    TrainingData d;
    d.fingerprint = data_fingerprint(ds);
    std::ostringstream summary;
    summary << "data (" << to_string(ds.format) << "): " << ds.summary();
    for (const auto& n : ds.notes) summary << "\n  note: " << n;
    if (cfg.limit_train || cfg.limit_test)
        summary << "\n  note: using a stratified subset (--limit-train/--limit-test)";
    d.summary = summary.str();

    const auto tokenizer = make_tokenizer();
    const std::string vocab_path = (fs::path(run_dir) / RunFiles::vocab).string();
    if (reuse_vocabulary) {
        d.vocabulary = nnlite::text::Vocabulary::load(vocab_path);
    } else {
        const auto train_texts = texts_of(ds.train);
        const auto counts = nnlite::text::count_tokens(
            train_texts.size(), [&](std::size_t i) { return train_texts[i]; }, tokenizer);
        d.vocabulary =
            nnlite::text::Vocabulary::build(counts, nnlite::text::VocabularyOptions()
                                                        .max_tokens(cfg.max_vocab)
                                                        .min_frequency(cfg.min_frequency));
        if (write_files) {
            fs::create_directories(run_dir);
            d.vocabulary.save(vocab_path);
        }
    }
    d.train_ids = encode_texts(texts_of(ds.train), tokenizer, d.vocabulary);
    d.val_ids = encode_texts(texts_of(ds.validation), tokenizer, d.vocabulary);
    d.test_ids = encode_texts(texts_of(ds.test), tokenizer, d.vocabulary);
    d.train_labels = labels_of(ds.train);
    d.val_labels = labels_of(ds.validation);
    d.test_labels = labels_of(ds.test);
    for (auto& r : ds.test) d.test_texts.push_back(std::move(r.text));
    d.stats.train_lengths = lengths_of(d.train_ids);
    d.stats.test_lengths = lengths_of(d.test_ids);
    d.stats.max_length = cfg.max_length;
    d.stats.top_tokens_negative = class_tokens(d.train_ids, d.train_labels, 0, d.vocabulary, 20);
    d.stats.top_tokens_positive = class_tokens(d.train_ids, d.train_labels, 1, d.vocabulary, 20);
    d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return d;
}

TrainingData prepare_test_data(const Config& cfg, const std::string& data_path,
                               const nnlite::text::Vocabulary& vocabulary, std::size_t limit_test) {
    const auto t0 = std::chrono::steady_clock::now();
    Dataset ds = load_dataset(data_path);
    limit_split(ds.test, limit_test, cfg.seed);
    TrainingData d;
    d.vocabulary = vocabulary;
    d.summary = "data (" + std::string(to_string(ds.format)) + "): test " +
                std::to_string(ds.test.size()) + " reviews";
    d.test_ids = encode_texts(texts_of(ds.test), make_tokenizer(), vocabulary);
    d.test_labels = labels_of(ds.test);
    for (auto& r : ds.test) d.test_texts.push_back(std::move(r.text));
    d.stats.test_lengths = lengths_of(d.test_ids);
    d.stats.max_length = cfg.max_length;
    d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return d;
}

ReportData make_report_data(const Config& cfg, const TrainingData& data,
                            const std::vector<EpochRecord>& history,
                            const std::vector<double>& test_probabilities,
                            const std::string& run_dir) {
    ReportData rd;
    rd.run_name = fs::path(run_dir).filename().string();
    if (rd.run_name.empty()) rd.run_name = run_dir;
    const nlohmann::json settings = cfg.to_json();
    for (const auto& kv : settings.items()) {
        const auto& v = kv.value();
        rd.config.emplace_back(kv.key(), v.is_string() ? v.get<std::string>() : v.dump());
    }
    rd.config.emplace_back("vocabulary size", std::to_string(data.vocabulary.size()));
    rd.config.emplace_back("data", data.summary);
    rd.history = history;
    rd.test_labels = data.test_labels;
    rd.test_probabilities = test_probabilities;
    rd.test_texts = data.test_texts;
    rd.dataset = data.stats;
    return rd;
}

}  // namespace imdb
