#include "app/config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nnlite/core/error.hpp>
#include <sstream>
#include <type_traits>

namespace imdb {

using nnlite::check;
using nnlite::ValueError;

Config Config::preset_named(const std::string& name) {
    Config c;
    c.preset = name;
    if (name == "seed") {
        // The reference tutorial's setup: 10,000 words + 2 specials, 2-layer BiLSTM
        // 128/256, dropout 0.5 (embeddings, between layers, before the classifier), the
        // first 256 tokens, batch 64, Adam 1e-3, clip 1.0, 5 epochs, last hidden states.
        c.max_vocab = 10000;
        c.min_frequency = 1;
        c.max_length = 256;
        c.truncation = nnlite::text::Truncation::head;
        c.embedding_dim = 128;
        c.hidden_size = 256;
        c.num_layers = 2;
        c.bidirectional = true;
        c.embedding_dropout = 0.5;
        c.lstm_dropout = 0.5;
        c.dropout = 0.5;
        c.pooling = Pooling::parse("last");
        c.batch_size = 64;
        c.epochs = 5;
        c.lr = 1e-3;
        c.clip = 1.0;
        c.patience = 0;
        c.plateau_patience = 100;  // the tutorial keeps its learning rate
    } else if (name == "cpu") {
        // Sized for a 2-core machine: a 1-layer BiLSTM over head+tail of each review, with
        // max and mean pooling so every token can reach the classifier.
        // 20,000 words x 96 keeps model.safetensors under 8 MiB (the shipped pretrained
        // model is this preset); validation accuracy peaks after 2-3 epochs.
        c.max_vocab = 20000;
        c.min_frequency = 2;
        c.max_length = 256;
        c.truncation = nnlite::text::Truncation::head_tail;
        c.head_fraction = 0.5;
        c.embedding_dim = 96;
        c.hidden_size = 64;
        c.num_layers = 1;
        c.bidirectional = true;
        c.embedding_dropout = 0.25;
        c.dropout = 0.5;
        c.pooling = Pooling::parse("last+max+mean");
        c.batch_size = 64;
        c.epochs = 3;
        c.optimizer = OptimizerKind::adamw;
        c.lr = 2e-3;
        c.weight_decay = 1e-2;
        c.clip = 1.0;
        c.patience = 2;
        c.plateau_patience = 0;
    } else if (name == "best") {
        c.max_vocab = 40000;
        c.min_frequency = 2;
        c.max_length = 512;
        c.truncation = nnlite::text::Truncation::head_tail;
        c.head_fraction = 0.5;
        c.embedding_dim = 128;
        c.hidden_size = 128;
        c.num_layers = 2;
        c.bidirectional = true;
        c.embedding_dropout = 0.3;
        c.lstm_dropout = 0.3;
        c.dropout = 0.5;
        c.pooling = Pooling::parse("last+max+mean");
        c.batch_size = 64;
        c.epochs = 8;
        c.optimizer = OptimizerKind::adamw;
        c.lr = 1.5e-3;
        c.weight_decay = 1e-2;
        c.patience = 3;
        c.plateau_patience = 0;
    } else {
        std::ostringstream os;
        for (const auto& n : preset_names()) os << " " << n;
        throw ValueError("unknown preset '" + name + "'; choose one of:" + os.str());
    }
    return c;
}

std::vector<std::string> Config::preset_names() {
    return {"seed", "cpu", "best"};
}

const char* to_string(OptimizerKind o) {
    return o == OptimizerKind::adamw ? "adamw" : "adam";
}

OptimizerKind parse_optimizer(std::string_view name) {
    if (name == "adam") return OptimizerKind::adam;
    if (name == "adamw") return OptimizerKind::adamw;
    throw ValueError("optimizer must be adam or adamw, got '" + std::string(name) + "'");
}

Pooling Pooling::parse(std::string_view text) {
    Pooling p;
    p.parts.clear();
    std::size_t start = 0;
    while (true) {
        const std::size_t end = std::min(text.find('+', start), text.size());
        const std::string_view part = text.substr(start, end - start);
        PoolingPart kind;
        if (part == "last")
            kind = PoolingPart::last;
        else if (part == "max")
            kind = PoolingPart::max;
        else if (part == "mean")
            kind = PoolingPart::mean;
        else
            throw ValueError("pooling: unknown part '" + std::string(part) + "' in '" +
                             std::string(text) + "' (use last, max, mean joined by '+')");
        check<ValueError>(std::find(p.parts.begin(), p.parts.end(), kind) == p.parts.end(),
                          "pooling: '", part, "' appears twice in '", text, "'");
        p.parts.push_back(kind);
        if (end == text.size()) break;
        start = end + 1;
    }
    return p;
}

std::string Pooling::to_string() const {
    std::string out;
    for (auto part : parts) {
        if (!out.empty()) out += '+';
        out += part == PoolingPart::last ? "last" : part == PoolingPart::max ? "max" : "mean";
    }
    return out;
}

namespace {
// config.json values: numbers, strings and booleans as they are; the closed choices as
// their names.
template <class V>
nlohmann::json json_value(const V& v) {
    return v;
}
nlohmann::json json_value(nnlite::text::Truncation t) {
    return nnlite::text::to_string(t);
}
nlohmann::json json_value(OptimizerKind o) {
    return to_string(o);
}
nlohmann::json json_value(const Pooling& p) {
    return p.to_string();
}
nlohmann::json json_value(nnlite::ComputeType c) {
    return nnlite::to_string(c);
}

template <class V>
void read_value(const nlohmann::json& j, V& out) {
    // nlohmann converts -1 to 18446744073709551615 and 2.5 to 2 for integer members: a
    // count must be written as a non-negative integer, a signed setting as an integer (other
    // JSON types are "the wrong type" below).
    if constexpr (std::is_integral_v<V> && !std::is_same_v<V, bool>) {
        if (j.is_number()) {
            if constexpr (std::is_unsigned_v<V>)
                check<ValueError>(j.is_number_unsigned(), "must be a non-negative integer, got ",
                                  j.dump());
            else
                // 2^63 and above parse as unsigned and would wrap to a negative value
                check<ValueError>(j.is_number_integer() && (!j.is_number_unsigned() ||
                                                            j.get<std::uint64_t>() <=
                                                                static_cast<std::uint64_t>(
                                                                    std::numeric_limits<V>::max())),
                                  "must be an integer from ", std::numeric_limits<V>::min(), " to ",
                                  std::numeric_limits<V>::max(), ", got ", j.dump());
        }
    }
    out = j.get<V>();
}
void read_value(const nlohmann::json& j, nnlite::text::Truncation& out) {
    out = nnlite::text::parse_truncation(j.get<std::string>());
}
void read_value(const nlohmann::json& j, OptimizerKind& out) {
    out = parse_optimizer(j.get<std::string>());
}
void read_value(const nlohmann::json& j, Pooling& out) {
    out = Pooling::parse(j.get<std::string>());
}
void read_value(const nlohmann::json& j, nnlite::ComputeType& out) {
    out = nnlite::parse_compute_type(j.get<std::string>());
}

template <class V>
void read_key(const nlohmann::json& j, const char* key, V& out, const std::string& source) {
    if (!j.contains(key)) return;  // older configs keep the default
    try {
        read_value(j.at(key), out);
    } catch (const nlohmann::json::exception&) {
        throw nnlite::FormatError(source + ": key '" + key + "' has the wrong type (" +
                                  j.at(key).dump() + ")");
    } catch (const ValueError& e) {
        throw nnlite::FormatError(source + ": key '" + key + "': " + e.what());
    }
}
}  // namespace

nlohmann::json Config::to_json() const {
    nlohmann::json j = nlohmann::json::object();
#define IMDB_CONFIG_TO_JSON(type, name, value) j[#name] = json_value(name);
    IMDB_CONFIG_FIELDS(IMDB_CONFIG_TO_JSON)
#undef IMDB_CONFIG_TO_JSON
    return j;
}

Config Config::from_json(const nlohmann::json& j, const std::string& source) {
    check<nnlite::FormatError>(j.is_object(), source, ": expected a JSON object");
    Config c;
    const nlohmann::json known = Config().to_json();
    for (const auto& kv : j.items())
        check<nnlite::FormatError>(known.contains(kv.key()), source, ": unknown key '", kv.key(),
                                   "'");
#define IMDB_CONFIG_FROM_JSON(type, name, value) read_key(j, #name, c.name, source);
    IMDB_CONFIG_FIELDS(IMDB_CONFIG_FROM_JSON)
#undef IMDB_CONFIG_FROM_JSON
    c.validate();
    return c;
}

Config parse_config(const std::string& text, const std::string& source) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        // parse_error, or out_of_range for a number beyond a double (1e400)
        throw nnlite::FormatError(source + ": invalid JSON: " + e.what());
    }
    try {
        return Config::from_json(j, source);
    } catch (const ValueError& e) {  // a setting out of range: say where it came from
        throw nnlite::FormatError(source + ": " + e.what());
    }
}

std::size_t Config::pooled_size() const {
    return pooling.parts.size() * hidden_size * (bidirectional ? 2 : 1);
}

void Config::validate() const {
    // Upper bounds first: a config.json from elsewhere decides allocations, so sizes far
    // beyond any useful model are refused before anything is built.
    const auto at_most = [](const char* key, std::size_t value, std::size_t limit) {
        check<ValueError>(value <= limit, key, " must be at most ", limit, ", got ", value);
    };
    at_most("max_vocab", max_vocab, Limits::max_vocab);
    at_most("max_length", max_length, Limits::max_length);
    at_most("embedding_dim", embedding_dim, Limits::width);
    at_most("hidden_size", hidden_size, Limits::width);
    at_most("num_layers", num_layers, Limits::num_layers);
    at_most("batch_size", batch_size, Limits::batch_size);
    at_most("epochs", epochs, Limits::epochs);
    for (double v : {head_fraction, validation_fraction, embedding_dropout, lstm_dropout, dropout,
                     lr, weight_decay, clip, plateau_factor})
        check<ValueError>(std::isfinite(v), "settings must be finite numbers, got ", v);
    check<ValueError>(max_vocab >= 1, "max_vocab must be at least 1");
    check<ValueError>(min_frequency >= 1, "min_frequency must be at least 1, got ", min_frequency);
    check<ValueError>(max_length >= 1, "max_length must be at least 1");
    check<ValueError>(head_fraction >= 0.0 && head_fraction <= 1.0,
                      "head_fraction must be in [0, 1]");
    check<ValueError>(validation_fraction > 0.0 && validation_fraction < 1.0,
                      "validation_fraction must be in (0, 1), got ", validation_fraction);
    check<ValueError>(embedding_dim >= 1 && hidden_size >= 1 && num_layers >= 1,
                      "embedding_dim, hidden_size and num_layers must be at least 1");
    for (double p : {embedding_dropout, lstm_dropout, dropout})
        check<ValueError>(p >= 0.0 && p < 1.0, "dropout probabilities must be in [0, 1), got ", p);
    check<ValueError>(!pooling.parts.empty(), "pooling needs at least one of last, max, mean");
    check<ValueError>(batch_size >= 1 && epochs >= 1, "batch_size and epochs must be at least 1");
    check<ValueError>(lr > 0.0, "lr must be positive, got ", lr);
    check<ValueError>(weight_decay >= 0.0 && clip >= 0.0 && patience >= 0 && plateau_patience >= 0,
                      "weight_decay, clip, patience and plateau_patience must be >= 0");
    check<ValueError>(plateau_factor > 0.0 && plateau_factor < 1.0,
                      "plateau_factor must be in (0, 1)");
    check<ValueError>(skip_nonfinite >= 0, "skip_nonfinite must be >= 0, got ", skip_nonfinite);
}

}  // namespace imdb
