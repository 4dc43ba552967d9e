#include "classifier.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/io/file.hpp>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/ops/pointwise.hpp>
#include <numeric>
#include <sstream>

namespace imdb {

namespace fs = std::filesystem;
using nnlite::check;

nnlite::text::Tokenizer make_tokenizer() {
    return nnlite::text::Tokenizer(nnlite::text::TokenizerOptions());
}

nnlite::text::SequenceOptions sequence_options(const Config& c) {
    using nnlite::text::Truncation;
    const Truncation t = c.truncation == "tail"        ? Truncation::tail
                         : c.truncation == "head_tail" ? Truncation::head_tail
                                                       : Truncation::head;
    return nnlite::text::SequenceOptions()
        .max_length(c.max_length)
        .truncation(t)
        .head_fraction(c.head_fraction)
        .min_length(1);
}

Encoded encode_texts(const std::vector<std::string_view>& texts, const nnlite::text::Tokenizer& tok,
                     const nnlite::text::Vocabulary& vocab) {
    Encoded out(texts.size());
    nnlite::parallel_for(texts.size(), 64, [&](std::size_t b, std::size_t e) {
        std::string scratch;
        for (std::size_t i = b; i < e; ++i)
            tok.for_each_token(texts[i], scratch,
                               [&](std::string_view t) { out[i].push_back(vocab.id(t)); });
    });
    return out;
}

std::vector<double> predict_probabilities(SentimentModel& model, const Encoded& encoded,
                                          const nnlite::text::SequenceOptions& seq,
                                          std::size_t batch_size) {
    nnlite::NoGradGuard no_grad;
    model.eval();
    std::vector<std::size_t> order(encoded.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return encoded[a].size() > encoded[b].size();
    });
    std::vector<double> probs(encoded.size());
    for (std::size_t begin = 0; begin < order.size(); begin += batch_size) {
        std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                     order.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                         order.size(), begin + batch_size)));
        auto batch = nnlite::text::pad_batch(encoded, idx, seq);
        const auto lengths = batch.lengths.to_vector();
        auto p = nnlite::ops::sigmoid(model.forward(batch.ids, lengths)).to_vector();
        for (std::size_t i = 0; i < idx.size(); ++i) probs[idx[i]] = static_cast<double>(p[i]);
    }
    return probs;
}

Scores score(const std::vector<double>& probabilities, const std::vector<int>& labels) {
    Scores s;
    if (probabilities.empty()) return s;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        const double p = std::clamp(probabilities[i], 1e-7, 1 - 1e-7);
        s.loss -= labels[i] ? std::log(p) : std::log(1 - p);
        correct += (probabilities[i] >= 0.5) == (labels[i] == 1);
    }
    s.loss /= static_cast<double>(probabilities.size());
    s.accuracy = static_cast<double>(correct) / static_cast<double>(probabilities.size());
    return s;
}

void write_text_file(const std::string& path, const std::string& content) {
    nnlite::io::AtomicFileWriter w(path);
    w.write(content.data(), content.size());
    w.commit();
}

std::string read_text_file(const std::string& path) {
    check<nnlite::IoError>(fs::is_regular_file(path), "cannot read ", path,
                           fs::exists(path) ? ": not a regular file" : ": no such file");
    std::ifstream in(path, std::ios::binary);
    check<nnlite::IoError>(static_cast<bool>(in), "cannot read ", path);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

Config read_config(const std::string& path) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_text_file(path));
    } catch (const nlohmann::json::parse_error& e) {
        throw nnlite::FormatError(path + ": invalid JSON: " + e.what());
    }
    try {
        return Config::from_json(j, path);
    } catch (const nnlite::ValueError& e) {  // a setting out of range: say where it came from
        throw nnlite::FormatError(path + ": " + e.what());
    }
}

Classifier Classifier::load(const std::string& run_dir) {
    check<nnlite::IoError>(fs::is_directory(run_dir), "model directory '", run_dir,
                           "' does not exist (train one with `imdb_example train`, or use "
                           "examples/imdb/pretrained)");
    for (const char* f : {RunFiles::config, RunFiles::vocab, RunFiles::model})
        check<nnlite::IoError>(fs::exists(fs::path(run_dir) / f), "model directory '", run_dir,
                               "' has no ", f);
    Classifier c;
    const std::string config_path = (fs::path(run_dir) / RunFiles::config).string();
    c.config = read_config(config_path);
    c.vocabulary = nnlite::text::Vocabulary::load((fs::path(run_dir) / RunFiles::vocab).string());
    c.tokenizer = make_tokenizer();
    c.model = std::make_unique<SentimentModel>(c.config, c.vocabulary.size());
    const std::string model_path = (fs::path(run_dir) / RunFiles::model).string();
    // Two different problems, two messages: a file that is not valid safetensors (truncated,
    // overwritten) already says so itself; a valid file with other names or shapes comes from
    // another configuration or vocabulary.
    const auto weights = nnlite::io::load<float>(model_path);
    try {
        c.model->load_state_dict(weights);
    } catch (const nnlite::Error& e) {
        throw nnlite::FormatError(model_path + " does not match " + config_path + " and " +
                                  RunFiles::vocab +
                                  " (weights from a different preset or run?): " + e.what());
    }
    c.model->eval();
    return c;
}

std::vector<double> Classifier::predict(const std::vector<std::string_view>& texts) {
    return predict_probabilities(*model, encode_texts(texts, tokenizer, vocabulary),
                                 sequence_options(config));
}

Classifier::Explanation Classifier::explain(std::string_view text) {
    const auto seq = sequence_options(config);
    auto tokens = nnlite::text::truncate(tokenizer.tokenize(text), seq);
    Explanation ex;
    std::vector<std::int32_t> ids;
    for (const auto& t : tokens) ids.push_back(vocabulary.id(t));
    if (ids.empty()) {  // nothing to attribute: the model sees a single <pad>
        ex.probability = predict({text})[0];
        return ex;
    }
    model->eval();
    // Integrated gradients from the all-padding baseline (zero embeddings): the path
    // x(a) = a * x for a = (k + 1/2) / steps, all steps in one batch; a token's share is
    // sum_e x_e * mean_k d logit(x(a_k)) / d x_e. The shares add up to about
    // logit(x) - logit(baseline), unlike plain gradient x input, which saturates once the
    // model is confident.
    constexpr std::size_t steps = 16;
    const std::size_t T = ids.size();
    auto id_tensor = nnlite::Tensor<std::int32_t>::from(ids, {1, T});
    Tensor embedded = model->embed(id_tensor).detach();  // [1, T, E]
    const std::size_t E = embedded.size(2);
    const auto e = embedded.to_vector();
    Tensor path = Tensor::empty({steps, T, E});
    for (std::size_t k = 0; k < steps; ++k) {
        const float a = (static_cast<float>(k) + 0.5f) / static_cast<float>(steps);
        for (std::size_t i = 0; i < T * E; ++i) path.data()[k * T * E + i] = a * e[i];
    }
    path.requires_grad_(true);
    Tensor logits =
        model->classify(path, std::vector<std::int64_t>(steps, static_cast<std::int64_t>(T)));
    logits.backward(Tensor::ones(logits.shape()));
    model->zero_grad();  // the parameters' gradients are a by-product here
    const auto g = path.grad().to_vector();
    for (std::size_t t = 0; t < T; ++t) {
        double c = 0;
        for (std::size_t k = 0; k < steps; ++k)
            for (std::size_t j = 0; j < E; ++j)
                c +=
                    static_cast<double>(g[(k * T + t) * E + j]) * static_cast<double>(e[t * E + j]);
        ex.contributions.push_back(c / steps);
    }
    {
        nnlite::NoGradGuard no_grad;
        const double logit = model->classify(embedded, {static_cast<std::int64_t>(T)}).item();
        ex.probability = 1.0 / (1.0 + std::exp(-logit));
    }
    ex.tokens = std::move(tokens);
    return ex;
}

}  // namespace imdb
