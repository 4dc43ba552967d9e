// A trained classifier as the commands use it: config + vocabulary + model, loaded from a
// run directory, with the text pipeline that turns reviews into padded id batches.
//
// A run directory holds:
//   config.json        every setting needed to rebuild the model (Config::to_json)
//   vocab.txt          the vocabulary (nnlite::text::Vocabulary::save)
//   model.safetensors  the best-on-validation weights (PyTorch state-dict names)
//   checkpoint.safetensors  the last completed epoch, optimizer and RNG state (resume)
//   metrics.jsonl      one JSON line per completed epoch
//   report.html        the evaluation report
#pragma once

#include <functional>
#include <memory>
#include <nnlite/device.hpp>
#include <nnlite/text/sequence.hpp>
#include <nnlite/text/tokenizer.hpp>
#include <nnlite/text/vocabulary.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "model/inference.hpp"

namespace imdb {

/// The run-directory file names.
struct RunFiles {
    static constexpr const char* config = "config.json";
    static constexpr const char* vocab = "vocab.txt";
    static constexpr const char* model = "model.safetensors";
    static constexpr const char* checkpoint = "checkpoint.safetensors";
    static constexpr const char* metrics = "metrics.jsonl";
    static constexpr const char* report = "report.html";
};

/// The tokenizer every command uses (HTML stripped, lowercased, negations kept, ! and ?
/// as tokens).
nnlite::text::Tokenizer make_tokenizer();
/// Truncation settings from the config; every sequence keeps at least one token.
nnlite::text::SequenceOptions sequence_options(const Config& c);

/// Token ids of each text (no truncation yet), in parallel over texts.
Encoded encode_texts(const std::vector<std::string_view>& texts, const nnlite::text::Tokenizer& tok,
                     const nnlite::text::Vocabulary& vocab);

/// Mean loss and accuracy of probabilities against labels.
struct Scores {
    double loss = 0;
    double accuracy = 0;
};
Scores score(const std::vector<double>& probabilities, const std::vector<int>& labels);

/// Writes a file atomically (temp + fsync + rename): a crash leaves the old one intact.
void write_text_file(const std::string& path, const std::string& content);
std::string read_text_file(const std::string& path);
/// Throws a one-line nnlite::Error ("--device cuda: ...") when `device` cannot be used by
/// this program: a build without the CUDA backend, or no usable GPU.
void require_device(nnlite::Device device);

/// Reads a config.json; unreadable files, invalid JSON, unknown keys, wrong types and
/// invalid settings are nnlite::Errors naming the file.
Config read_config(const std::string& path);

class Classifier {
  public:
    /// Loads a run directory onto `device`; every missing or inconsistent file is an
    /// nnlite::Error naming the file and what is wrong.
    static Classifier load(const std::string& run_dir, nnlite::Device device = nnlite::Device::cpu);

    Config config;
    nnlite::text::Vocabulary vocabulary;
    nnlite::text::Tokenizer tokenizer;
    nnlite::Device device = nnlite::Device::cpu;

    // Thread safety: after load, predict*, explain and the members are read-only; any
    // number of threads may call them at once on one Classifier (docs/threading.md).

    /// P(positive) for already encoded reviews (encode_texts), in input order.
    std::vector<double> predict_encoded(const Encoded& encoded, std::size_t batch_size = 128) const;
    std::vector<double> predict(const std::vector<std::string_view>& texts) const;

    /// Per-token contribution to the decision (the logit) by integrated gradients from
    /// the all-padding baseline, through autograd. Positive values push towards
    /// "positive". Tokens are the tokenizer's, after truncation.
    struct Explanation {
        double probability = 0;
        std::vector<std::string> tokens;
        std::vector<double> contributions;
    };
    Explanation explain(std::string_view text) const;
    /// The same for several texts in one forward and one backward pass (inference.hpp,
    /// integrated_gradients_batch), in input order: each answer equals explain(text)'s up to
    /// float rounding. Larger matrix products per LSTM step; on 2 CPU cores the work per text
    /// is the same as one at a time (docs/imdb.md, "Serve").
    std::vector<Explanation> explain_batch(const std::vector<std::string_view>& texts) const;

  private:
    // The SentimentModel<B> on `device`, behind two calls (set up by load's dispatch).
    std::function<std::vector<double>(const Encoded&, const nnlite::text::SequenceOptions&,
                                      std::size_t)>
        predict_;
    std::function<std::vector<Attribution>(const Encoded&)> explain_;
};

}  // namespace imdb
