#include "model/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/io/file.hpp>
#include <nnlite/io/safetensors.hpp>
#include <nnlite/metrics/calibration.hpp>
#include <nnlite/metrics/classification.hpp>
#include <nnlite/nn/module_conversion.hpp>
#include <nnlite/ops/pointwise.hpp>
#include <numeric>
#include <sstream>
#include <type_traits>
#include <utility>

namespace imdb {

namespace fs = std::filesystem;
using nnlite::check;

nnlite::text::Tokenizer make_tokenizer() {
    return nnlite::text::Tokenizer(nnlite::text::TokenizerOptions());
}

nnlite::text::SequenceOptions sequence_options(const Config& c) {
    return nnlite::text::SequenceOptions()
        .max_length(c.max_length)
        .truncation(c.truncation)
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

Scores score(const std::vector<double>& probabilities, const std::vector<int>& labels) {
    Scores s;
    if (probabilities.empty()) return s;
    // The same functions report.html uses, so `train` prints the report's test loss.
    s.loss = nnlite::metrics::log_loss(labels, probabilities);
    s.accuracy = nnlite::metrics::accuracy(labels, probabilities);
    return s;
}

void write_text_file(const std::string& path, const std::string& content) {
    nnlite::io::write_file_atomically(path, content);
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
    return parse_config(read_text_file(path), path);  // the fuzzed parser (fuzz_imdb_config)
}

namespace {
std::string shape_text(const nnlite::Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}

void check_weight_shapes(const nnlite::io::SafetensorsFile& file, const Config& c,
                         std::size_t vocab_size, const std::string& config_path) {
    // Every large tensor the model would allocate must already be in the file with that
    // shape, so building the model never allocates more than the file holds.
    const auto expect = [&](const std::string& name, const nnlite::Shape& shape) {
        check<nnlite::FormatError>(file.contains(name), file.source(), " does not match ",
                                   config_path, ": missing key '", name, "' for ",
                                   shape_text(shape));
        check<nnlite::FormatError>(
            file.shape(name) == shape, file.source(), " does not match ", config_path, ": '", name,
            "' has shape ", shape_text(file.shape(name)), ", the config needs ", shape_text(shape));
    };
    const std::size_t H = c.hidden_size, dirs = c.bidirectional ? 2 : 1;
    expect("embedding.weight", {vocab_size, c.embedding_dim});
    for (std::size_t l = 0; l < c.num_layers; ++l)
        for (std::size_t d = 0; d < dirs; ++d) {
            const std::string suffix = "_l" + std::to_string(l) + (d ? "_reverse" : "");
            expect("lstm.weight_ih" + suffix, {4 * H, l == 0 ? c.embedding_dim : H * dirs});
            expect("lstm.weight_hh" + suffix, {4 * H, H});
        }
    expect("fc.weight", {1, c.pooled_size()});
}
}  // namespace

void require_device(nnlite::Device device) {
    try {
        nnlite::require_available(device);
    } catch (const nnlite::Error& e) {
        throw nnlite::Error(std::string("--device ") + device.name() + ": " + e.what() +
                            (device == nnlite::Device::cuda ? "; use --device cpu" : ""));
    }
}

Classifier Classifier::load(const std::string& run_dir, nnlite::Device device) {
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
    const std::string model_path = (fs::path(run_dir) / RunFiles::model).string();
    // Two different problems, two messages: a file that is not valid safetensors (truncated,
    // overwritten) already says so itself; a valid file with other names or shapes comes from
    // another configuration or vocabulary.
    // The weights are checked against the configuration on the CPU whatever the device, so
    // a mismatch reads the same everywhere and a device error is never mistaken for one.
    check_weight_shapes(nnlite::io::SafetensorsFile::open(model_path), c.config,
                        c.vocabulary.size(), config_path);
    const auto weights = nnlite::io::load<float>(model_path);
    // A run trained with --compute bf16 (fp16) runs in bf16 (fp16) where the device offers
    // it (evaluate then reproduces the numbers training reported); elsewhere in fp32, which
    // its weights are (both only round the matrix products' inputs), with one line on stderr.
    if (c.config.compute != nnlite::ComputeType::fp32) {
        std::string why;
        nnlite::dispatch(device, [&](auto backend) {
            using B = decltype(backend);
            why = nnlite::ops::lstm_compute_unavailable<float, B>(c.config.compute);
        });
        if (!why.empty()) {
            std::fprintf(stderr,
                         "note: %s was trained with --compute %s, which cannot run here (%s); "
                         "running it in fp32\n",
                         run_dir.c_str(), nnlite::to_string(c.config.compute), why.c_str());
            c.config.compute = nnlite::ComputeType::fp32;
        }
    }
    auto cpu_model = std::make_shared<SentimentModel<nnlite::cpu>>(c.config, c.vocabulary.size());
    try {
        cpu_model->load_state_dict(weights);
    } catch (const nnlite::Error& e) {
        throw nnlite::FormatError(model_path + " does not match " + config_path + " and " +
                                  RunFiles::vocab +
                                  " (weights from a different preset or run?): " + e.what());
    }
    cpu_model->eval();
    c.device = device;
    nnlite::dispatch(device, [&](auto backend) {
        using B = decltype(backend);
        std::shared_ptr<SentimentModel<B>> model;
        if constexpr (std::is_same_v<B, nnlite::cpu>)
            model = cpu_model;
        else
            model = nnlite::nn::convert_module<B>(*cpu_model, c.config, c.vocabulary.size());
        // Read-only from here on: no parameter records gradients (explain differentiates
        // its input only), so predict and explain may run on many threads at once.
        ensure_eval(*model);
        for (auto& p : model->parameters()) p.requires_grad_(false);
        c.predict_ = [model](const Encoded& encoded, const nnlite::text::SequenceOptions& seq,
                             std::size_t batch_size) {
            return predict_probabilities(*model, encoded, seq, batch_size);
        };
        c.explain_ = [model](const Encoded& reviews) {
            return integrated_gradients_batch(*model, reviews);
        };
    });
    return c;
}

std::vector<double> Classifier::predict_encoded(const Encoded& encoded,
                                                std::size_t batch_size) const {
    return predict_(encoded, sequence_options(config), batch_size);
}

std::vector<double> Classifier::predict(const std::vector<std::string_view>& texts) const {
    return predict_encoded(encode_texts(texts, tokenizer, vocabulary));
}

Classifier::Explanation Classifier::explain(std::string_view text) const {
    return std::move(explain_batch({text}).front());
}

std::vector<Classifier::Explanation> Classifier::explain_batch(
    const std::vector<std::string_view>& texts) const {
    const auto seq = sequence_options(config);
    std::vector<Explanation> out(texts.size());
    Encoded reviews;
    std::vector<std::size_t> explained, empty;  // indices into texts
    std::vector<std::string_view> empty_texts;
    for (std::size_t i = 0; i < texts.size(); ++i) {
        auto tokens = nnlite::text::truncate(tokenizer.tokenize(texts[i]), seq);
        if (tokens.empty()) {  // nothing to attribute: the model sees a single <pad>
            empty.push_back(i);
            empty_texts.push_back(texts[i]);
            continue;
        }
        std::vector<std::int32_t> ids;
        ids.reserve(tokens.size());
        for (const auto& t : tokens) ids.push_back(vocabulary.id(t));
        reviews.push_back(std::move(ids));
        explained.push_back(i);
        out[i].tokens = std::move(tokens);
    }
    if (!empty.empty()) {
        const auto p = predict(empty_texts);
        for (std::size_t k = 0; k < empty.size(); ++k) out[empty[k]].probability = p[k];
    }
    if (!reviews.empty()) {
        auto a = explain_(reviews);
        for (std::size_t k = 0; k < explained.size(); ++k) {
            out[explained[k]].probability = a[k].probability;
            out[explained[k]].contributions = std::move(a[k].contributions);
        }
    }
    return out;
}

}  // namespace imdb
