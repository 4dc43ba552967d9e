// The IMDB program's configuration: every knob of data preparation, model and training,
// the named presets (seed, cpu, best), and its JSON form (config.json in a run directory
// holds everything `predict` needs to rebuild the model).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <nnlite/core/dtype.hpp>
#include <nnlite/text/sequence.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace imdb {

/// The optimizer of a run (config.json "optimizer").
enum class OptimizerKind { adam, adamw };
const char* to_string(OptimizerKind o);
/// "adam" or "adamw"; ValueError naming the value otherwise.
OptimizerKind parse_optimizer(std::string_view name);

/// One feature block the classifier reads from the LSTM.
enum class PoolingPart {
    last,  // each direction's final state (forward at the last real token, reverse at the first)
    max,   // max over each review's real tokens
    mean,  // mean over each review's real tokens
};

/// The pooled features, in the order they are concatenated: "last+max+mean" in config.json
/// and on the command line, parsed once (the model never re-reads the string).
struct Pooling {
    std::vector<PoolingPart> parts{PoolingPart::last};

    /// '+'-joined subset of last, max, mean; ValueError naming an unknown or repeated part.
    static Pooling parse(std::string_view text);
    std::string to_string() const;
    bool operator==(const Pooling& o) const { return parts == o.parts; }
    bool operator!=(const Pooling& o) const { return parts != o.parts; }
};

// Every setting, written once: X(type, name, default). The struct's members, config.json's
// keys (to_json/from_json) and resume's comparison all come from this list.
// clang-format off
#define IMDB_CONFIG_FIELDS(X)                                                                  \
    X(std::string, preset, "cpu")                                                              \
    /* ---- data: vocabulary of the most frequent TRAIN tokens (+ <pad>, <unk>) */            \
    X(std::size_t, max_vocab, 20000)                                                           \
    X(std::int64_t, min_frequency, 1)      /* rarer tokens map to <unk> */                     \
    X(std::size_t, max_length, 256)        /* tokens kept per review */                        \
    X(nnlite::text::Truncation, truncation, nnlite::text::Truncation::head)                    \
    X(double, head_fraction, 0.5)          /* share of max_length from the head (head_tail) */ \
    X(double, validation_fraction, 0.1)                                                        \
    X(std::size_t, limit_train, 0)         /* 0 = all; else a stratified subset (quick runs) */\
    X(std::size_t, limit_test, 0)                                                              \
    /* ---- model */                                                                           \
    X(std::size_t, embedding_dim, 64)                                                          \
    X(std::size_t, hidden_size, 64)                                                            \
    X(std::size_t, num_layers, 1)                                                              \
    X(bool, bidirectional, true)                                                               \
    X(double, embedding_dropout, 0.0)                                                          \
    X(double, lstm_dropout, 0.0)           /* between stacked layers */                        \
    X(double, dropout, 0.5)                /* before the classifier */                         \
    X(Pooling, pooling, Pooling{})                                                             \
    /* ---- training */                                                                        \
    X(std::size_t, batch_size, 64)                                                             \
    X(std::size_t, epochs, 5)                                                                  \
    X(OptimizerKind, optimizer, OptimizerKind::adam)                                           \
    X(double, lr, 1e-3)                                                                        \
    X(double, weight_decay, 0.0)                                                               \
    X(double, clip, 1.0)                   /* max gradient 2-norm (0 = off) */                 \
    X(std::int64_t, patience, 3)           /* early stopping on validation accuracy (0 = off) */\
    X(double, plateau_factor, 0.5)         /* ReduceLROnPlateau on validation loss */          \
    X(std::int64_t, plateau_patience, 0)                                                       \
    X(std::int64_t, skip_nonfinite, 0)     /* non-finite steps skipped; 0 = stop at the first */\
    X(std::uint64_t, seed, 42)                                                                 \
    X(nnlite::ComputeType, compute, nnlite::ComputeType::fp32)  /* LSTM GEMMs; bf16, fp16: docs/imdb.md */
// clang-format on

/// Upper bounds of the sizes config.json decides (Config::validate): far beyond any useful
/// model, far below what would exhaust memory before the weights are checked.
struct Limits {
    static constexpr std::size_t max_vocab = 10'000'000;
    static constexpr std::size_t max_length = 1'000'000;
    static constexpr std::size_t width = 65536;  // embedding_dim, hidden_size
    static constexpr std::size_t num_layers = 64;
    static constexpr std::size_t batch_size = 1'000'000;
    static constexpr std::size_t epochs = 1'000'000;
};

struct Config {
#define IMDB_CONFIG_DECLARE(type, name, value) type name = value;
    IMDB_CONFIG_FIELDS(IMDB_CONFIG_DECLARE)
#undef IMDB_CONFIG_DECLARE

    static Config preset_named(const std::string& name);
    static std::vector<std::string> preset_names();

    nlohmann::json to_json() const;
    /// Reads a config written by to_json; unknown keys, wrong types and unknown enum values
    /// are FormatErrors naming `source` and the key.
    static Config from_json(const nlohmann::json& j, const std::string& source);
    /// Throws nnlite::ValueError naming the first invalid setting.
    void validate() const;
    std::size_t pooled_size() const;
};

/// Parses the text of a config.json (`source` names it in messages): invalid JSON, unknown
/// keys, wrong types and invalid settings are nnlite::FormatErrors naming `source`.
Config parse_config(const std::string& text, const std::string& source);

}  // namespace imdb
