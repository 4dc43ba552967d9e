#include "app/config.hpp"

#include <nnlite/core/error.hpp>
#include <sstream>

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
        c.truncation = "head";
        c.embedding_dim = 128;
        c.hidden_size = 256;
        c.num_layers = 2;
        c.bidirectional = true;
        c.embedding_dropout = 0.5;
        c.lstm_dropout = 0.5;
        c.dropout = 0.5;
        c.pooling = "last";
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
        c.truncation = "head_tail";
        c.head_fraction = 0.5;
        c.embedding_dim = 96;
        c.hidden_size = 64;
        c.num_layers = 1;
        c.bidirectional = true;
        c.embedding_dropout = 0.25;
        c.dropout = 0.5;
        c.pooling = "last+max+mean";
        c.batch_size = 64;
        c.epochs = 3;
        c.optimizer = "adamw";
        c.lr = 2e-3;
        c.weight_decay = 1e-2;
        c.clip = 1.0;
        c.patience = 2;
        c.plateau_patience = 0;
    } else if (name == "best") {
        c.max_vocab = 40000;
        c.min_frequency = 2;
        c.max_length = 512;
        c.truncation = "head_tail";
        c.head_fraction = 0.5;
        c.embedding_dim = 128;
        c.hidden_size = 128;
        c.num_layers = 2;
        c.bidirectional = true;
        c.embedding_dropout = 0.3;
        c.lstm_dropout = 0.3;
        c.dropout = 0.5;
        c.pooling = "last+max+mean";
        c.batch_size = 64;
        c.epochs = 8;
        c.optimizer = "adamw";
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

nlohmann::json Config::to_json() const {
    return {{"preset", preset},
            {"max_vocab", max_vocab},
            {"min_frequency", min_frequency},
            {"max_length", max_length},
            {"truncation", truncation},
            {"head_fraction", head_fraction},
            {"validation_fraction", validation_fraction},
            {"limit_train", limit_train},
            {"limit_test", limit_test},
            {"embedding_dim", embedding_dim},
            {"hidden_size", hidden_size},
            {"num_layers", num_layers},
            {"bidirectional", bidirectional},
            {"embedding_dropout", embedding_dropout},
            {"lstm_dropout", lstm_dropout},
            {"dropout", dropout},
            {"pooling", pooling},
            {"batch_size", batch_size},
            {"epochs", epochs},
            {"optimizer", optimizer},
            {"lr", lr},
            {"weight_decay", weight_decay},
            {"clip", clip},
            {"patience", patience},
            {"plateau_factor", plateau_factor},
            {"plateau_patience", plateau_patience},
            {"seed", seed}};
}

namespace {
template <class V>
void read_key(const nlohmann::json& j, const char* key, V& out, const std::string& source) {
    if (!j.contains(key)) return;  // older configs keep the default
    try {
        out = j.at(key).get<V>();
    } catch (const nlohmann::json::exception&) {
        throw nnlite::FormatError(source + ": key '" + key + "' has the wrong type (" +
                                  j.at(key).dump() + ")");
    }
}
}  // namespace

Config Config::from_json(const nlohmann::json& j, const std::string& source) {
    check<nnlite::FormatError>(j.is_object(), source, ": expected a JSON object");
    Config c;
    const nlohmann::json known = Config().to_json();
    for (const auto& kv : j.items())
        check<nnlite::FormatError>(known.contains(kv.key()), source, ": unknown key '", kv.key(),
                                   "'");
    read_key(j, "preset", c.preset, source);
    read_key(j, "max_vocab", c.max_vocab, source);
    read_key(j, "min_frequency", c.min_frequency, source);
    read_key(j, "max_length", c.max_length, source);
    read_key(j, "truncation", c.truncation, source);
    read_key(j, "head_fraction", c.head_fraction, source);
    read_key(j, "validation_fraction", c.validation_fraction, source);
    read_key(j, "limit_train", c.limit_train, source);
    read_key(j, "limit_test", c.limit_test, source);
    read_key(j, "embedding_dim", c.embedding_dim, source);
    read_key(j, "hidden_size", c.hidden_size, source);
    read_key(j, "num_layers", c.num_layers, source);
    read_key(j, "bidirectional", c.bidirectional, source);
    read_key(j, "embedding_dropout", c.embedding_dropout, source);
    read_key(j, "lstm_dropout", c.lstm_dropout, source);
    read_key(j, "dropout", c.dropout, source);
    read_key(j, "pooling", c.pooling, source);
    read_key(j, "batch_size", c.batch_size, source);
    read_key(j, "epochs", c.epochs, source);
    read_key(j, "optimizer", c.optimizer, source);
    read_key(j, "lr", c.lr, source);
    read_key(j, "weight_decay", c.weight_decay, source);
    read_key(j, "clip", c.clip, source);
    read_key(j, "patience", c.patience, source);
    read_key(j, "plateau_factor", c.plateau_factor, source);
    read_key(j, "plateau_patience", c.plateau_patience, source);
    read_key(j, "seed", c.seed, source);
    c.validate();
    return c;
}

std::vector<std::string> Config::pooling_parts() const {
    std::vector<std::string> parts;
    std::string cur;
    for (char ch : pooling + "+") {
        if (ch == '+') {
            check<ValueError>(cur == "last" || cur == "max" || cur == "mean",
                              "pooling: unknown part '", cur, "' in '", pooling,
                              "' (use last, max, mean joined by '+')");
            parts.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    return parts;
}

std::size_t Config::pooled_size() const {
    return pooling_parts().size() * hidden_size * (bidirectional ? 2 : 1);
}

void Config::validate() const {
    check<ValueError>(max_vocab >= 1, "max_vocab must be at least 1");
    check<ValueError>(max_length >= 1, "max_length must be at least 1");
    check<ValueError>(truncation == "head" || truncation == "tail" || truncation == "head_tail",
                      "truncation must be head, tail or head_tail, got '", truncation, "'");
    check<ValueError>(head_fraction >= 0.0 && head_fraction <= 1.0,
                      "head_fraction must be in [0, 1]");
    check<ValueError>(validation_fraction > 0.0 && validation_fraction < 1.0,
                      "validation_fraction must be in (0, 1), got ", validation_fraction);
    check<ValueError>(embedding_dim >= 1 && hidden_size >= 1 && num_layers >= 1,
                      "embedding_dim, hidden_size and num_layers must be at least 1");
    for (double p : {embedding_dropout, lstm_dropout, dropout})
        check<ValueError>(p >= 0.0 && p < 1.0, "dropout probabilities must be in [0, 1), got ", p);
    (void)pooling_parts();
    check<ValueError>(batch_size >= 1 && epochs >= 1, "batch_size and epochs must be at least 1");
    check<ValueError>(optimizer == "adam" || optimizer == "adamw",
                      "optimizer must be adam or adamw, got '", optimizer, "'");
    check<ValueError>(lr > 0.0, "lr must be positive, got ", lr);
    check<ValueError>(weight_decay >= 0.0 && clip >= 0.0 && patience >= 0 && plateau_patience >= 0,
                      "weight_decay, clip, patience and plateau_patience must be >= 0");
    check<ValueError>(plateau_factor > 0.0 && plateau_factor < 1.0,
                      "plateau_factor must be in (0, 1)");
}

}  // namespace imdb
