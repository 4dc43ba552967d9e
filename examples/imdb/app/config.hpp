// The IMDB program's configuration: every knob of data preparation, model and training,
// the named presets (seed, cpu, best), and its JSON form (config.json in a run directory
// holds everything `predict` needs to rebuild the model).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace imdb {

struct Config {
    std::string preset = "cpu";

    // ---- data --------------------------------------------------------------------
    std::size_t max_vocab = 20000;    // most frequent TRAIN tokens kept (plus <pad>, <unk>)
    std::int64_t min_frequency = 1;   // tokens seen fewer times map to <unk>
    std::size_t max_length = 256;     // tokens kept per review
    std::string truncation = "head";  // head | tail | head_tail
    double head_fraction = 0.5;       // share of max_length taken from the head (head_tail)
    double validation_fraction = 0.1;
    std::size_t limit_train = 0;  // 0 = all; otherwise a stratified subset (quick runs, CI)
    std::size_t limit_test = 0;

    // ---- model -------------------------------------------------------------------
    std::size_t embedding_dim = 64;
    std::size_t hidden_size = 64;
    std::size_t num_layers = 1;
    bool bidirectional = true;
    double embedding_dropout = 0.0;
    double lstm_dropout = 0.0;     // between stacked layers
    double dropout = 0.5;          // before the classifier
    std::string pooling = "last";  // '+'-joined subset of: last, max, mean

    // ---- training ----------------------------------------------------------------
    std::size_t batch_size = 64;
    std::size_t epochs = 5;
    std::string optimizer = "adam";  // adam | adamw
    double lr = 1e-3;
    double weight_decay = 0.0;
    double clip = 1.0;            // max gradient 2-norm (0 = off)
    std::int64_t patience = 3;    // early stopping on validation accuracy (0 = off)
    double plateau_factor = 0.5;  // ReduceLROnPlateau on validation loss
    std::int64_t plateau_patience = 0;
    std::uint64_t seed = 42;

    static Config preset_named(const std::string& name);
    static std::vector<std::string> preset_names();

    nlohmann::json to_json() const;
    /// Reads a config written by to_json; unknown keys and wrong types are errors naming
    /// `source` and the key.
    static Config from_json(const nlohmann::json& j, const std::string& source);
    /// Throws nnlite::ValueError naming the first invalid setting.
    void validate() const;
    std::vector<std::string> pooling_parts() const;
    std::size_t pooled_size() const;
};

}  // namespace imdb
