// report.html for an IMDB run: one self-contained HTML file (inline CSS and SVG, no
// scripts, no fonts or images fetched, no links out) that a user can open offline, mail or
// archive next to the model.
//
// The caller passes raw material (history, test labels and probabilities, dataset
// statistics); the report computes every metric itself with nnlite::metrics, so the numbers
// in report.html are the ones `evaluate` prints. Sections: summary cards (accuracy, macro
// F1, ROC AUC, ECE), the run's configuration, precision / recall / F1 per class, the 2x2
// confusion matrix, the ROC curve, loss and accuracy per epoch, calibration (reliability
// diagram, predicted-probability histogram by class, confidence histogram), dataset
// statistics (review lengths, frequent tokens per class) and the most confidently wrong
// test reviews. Every piece of text that came from data is HTML-escaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imdb {

/// What happened in one training epoch (one line of metrics.jsonl).
struct EpochRecord {
    int epoch = 0;                       ///< 1-based
    double train_loss = 0;               ///< mean training loss over the epoch
    double train_accuracy = 0;           ///< fraction in [0, 1]
    std::optional<double> val_loss;      ///< absent when no validation split was used
    std::optional<double> val_accuracy;  ///< fraction in [0, 1]
    double learning_rate = 0;            ///< at the end of the epoch
    double seconds = 0;                  ///< wall time of the epoch
    std::int64_t skipped_steps = 0;      ///< steps skipped as non-finite (--skip-nonfinite)
};

/// A token and how often it occurs (in one class's reviews).
struct TokenCount {
    std::string token;
    std::size_t count = 0;
};

/// Statistics of the data the model saw. Every field may be empty: its part of the report
/// then says so instead of drawing an empty chart.
struct DatasetStats {
    std::vector<std::size_t> train_lengths;  ///< tokens per training review (before truncation)
    std::vector<std::size_t> test_lengths;   ///< tokens per test review
    std::size_t max_length = 0;              ///< the model's truncation length (0: none)
    std::vector<TokenCount> top_tokens_negative;  ///< most frequent tokens in negative reviews
    std::vector<TokenCount> top_tokens_positive;  ///< most frequent tokens in positive reviews
};

/// Everything report.html shows.
struct ReportData {
    std::string run_name;  ///< e.g. the run directory's name
    /// Key-value lines shown in order: preset, hyper-parameters, timings, data source...
    std::vector<std::pair<std::string, std::string>> config;
    std::vector<EpochRecord> history;
    std::vector<int> test_labels;            ///< 0 = negative, 1 = positive
    std::vector<double> test_probabilities;  ///< model's P(positive), parallel to test_labels
    /// Optional, parallel to test_labels: the review texts, for the confidently-wrong list.
    std::vector<std::string> test_texts;
    double threshold = 0.5;  ///< positive when probability >= threshold
    DatasetStats dataset;
};

/// Indices of the most confidently wrong predictions: false positives (label 0) by
/// decreasing probability, false negatives (label 1) by increasing probability, at most k
/// of each. Ties keep index order, so the list is deterministic.
struct ConfidentMistakes {
    std::vector<std::size_t> false_positives;
    std::vector<std::size_t> false_negatives;
};
ConfidentMistakes most_confident_mistakes(const std::vector<int>& labels,
                                          const std::vector<double>& probabilities,
                                          std::size_t k = 10, double threshold = 0.5);

/// Escapes & < > " ' for HTML text and attributes; invalid UTF-8 bytes become U+FFFD so
/// the page stays valid whatever the data.
std::string html_escape(std::string_view text);

/// At most max_chars characters (code points, never a split multi-byte character), cut at
/// a word boundary when one is near, followed by "…" when anything was cut.
std::string truncate_text(std::string_view text, std::size_t max_chars = 600);

/// The complete HTML document. Throws nnlite::ValueError for inconsistent data (labels and
/// probabilities of different lengths, texts neither empty nor parallel, a label not 0/1,
/// a probability outside [0, 1]).
std::string render_report(const ReportData& data);

/// Renders and writes with nnlite::io::write_file_atomically (fsync'ed temporary file next
/// to `path`, rename, directory fsync), so a reader never sees a half-written report.
/// Throws nnlite::IoError naming the file on failure.
void write_report(const std::string& path, const ReportData& data);

}  // namespace imdb
