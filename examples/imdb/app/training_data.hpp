// The data side of training and evaluation: read IMDB, take the requested subsets, carve
// validation from TRAIN, build (or reload) the vocabulary from TRAIN only, encode every
// split, and gather the statistics the report shows.
#pragma once

#include <nnlite/text/vocabulary.hpp>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "model/classifier.hpp"
#include "report/report.hpp"

namespace imdb {

struct TrainingData {
    nnlite::text::Vocabulary vocabulary;
    Encoded train_ids, val_ids, test_ids;
    std::vector<int> train_labels, val_labels, test_labels;
    std::vector<std::string> test_texts;
    DatasetStats stats;
    std::string summary;
    double seconds = 0;  // loading + tokenizing
    /// The reviews used (after --limit-*, validation split), independent of the path, the
    /// format's file order and the vocabulary: "<train>/<validation>/<test>-<hash>", the hash
    /// an order-independent sum of each review's FNV-1a (split, label, text). Stored in the
    /// checkpoint; --resume refuses other data.
    std::string fingerprint;
};

/// With `reuse_vocabulary` the vocabulary is read from RUN_DIR/vocab.txt (resume);
/// otherwise it is built from TRAIN and, with `write_files` (all but the ranks > 0 of an
/// mpirun job), written there.
TrainingData prepare_training_data(const Config& cfg, const std::string& data_path,
                                   const std::string& run_dir, bool reuse_vocabulary,
                                   bool write_files = true);

/// Only the TEST split (evaluate), encoded with a given vocabulary.
TrainingData prepare_test_data(const Config& cfg, const std::string& data_path,
                               const nnlite::text::Vocabulary& vocabulary, std::size_t limit_test);

/// The report's inputs from a finished run.
ReportData make_report_data(const Config& cfg, const TrainingData& data,
                            const std::vector<EpochRecord>& history,
                            const std::vector<double>& test_probabilities,
                            const std::string& run_dir);

}  // namespace imdb
