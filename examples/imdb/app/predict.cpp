// `imdb_example predict`: label and probability for texts given as arguments, in a file
// (one review per line) or on stdin; --json for machines; --explain for per-token
// contributions, coloured on a terminal.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/commands.hpp"
#include "model/classifier.hpp"

namespace imdb {

namespace {

std::vector<std::string> read_lines(std::istream& in) {
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos)
            continue;  // blank lines separate nothing
        out.push_back(line);
    }
    return out;
}

/// ANSI colour for a contribution relative to the largest magnitude in the review.
std::string colored(const std::string& token, double c, double scale) {
    const double r = scale > 0 ? c / scale : 0;
    if (std::abs(r) < 0.15) return token;
    const int code = r > 0 ? (r > 0.5 ? 42 : 32) : (r < -0.5 ? 41 : 31);  // bg / fg green, red
    return "\033[" + std::to_string(code) + "m" + token + "\033[0m";
}

}  // namespace

int run_predict(const PredictArgs& args) {
    std::vector<std::string> texts = args.texts;
    if (!args.file.empty()) {
        if (args.file == "-") {
            auto lines = read_lines(std::cin);
            texts.insert(texts.end(), lines.begin(), lines.end());
        } else {
            std::ifstream in(args.file, std::ios::binary);
            nnlite::check<nnlite::IoError>(static_cast<bool>(in), "cannot read --file ", args.file);
            auto lines = read_lines(in);
            texts.insert(texts.end(), lines.begin(), lines.end());
        }
    }
    nnlite::check<nnlite::ValueError>(
        !texts.empty(),
        "predict: no text given (pass \"review text\", --file FILE or --file - for stdin)");
    for (std::size_t i = 0; i < texts.size(); ++i)
        nnlite::check<nnlite::ValueError>(
            texts[i].find_first_not_of(" \t\r\n") != std::string::npos, "predict: text ", i + 1,
            " is empty");
    Classifier c = Classifier::load(args.run_dir, args.device);
    std::vector<std::string_view> views(texts.begin(), texts.end());
    std::vector<double> probs;
    std::vector<Classifier::Explanation> explanations;
    if (args.explain) {
        for (const auto& t : texts) explanations.push_back(c.explain(t));
        for (const auto& e : explanations) probs.push_back(e.probability);
    } else {
        probs = c.predict(views);
    }
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const bool pos = probs[i] >= 0.5;
        if (args.json) {
            nlohmann::json j = {{"text", texts[i]},
                                {"label", pos ? "positive" : "negative"},
                                {"probability_positive", probs[i]}};
            if (args.explain) {
                auto arr = nlohmann::json::array();
                for (std::size_t k = 0; k < explanations[i].tokens.size(); ++k)
                    arr.push_back({{"token", explanations[i].tokens[k]},
                                   {"contribution", explanations[i].contributions[k]}});
                j["tokens"] = arr;
            }
            std::printf("%s\n",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            continue;
        }
        std::printf(
            "%s  %.3f  %s\n", pos ? "positive" : "negative", probs[i],
            texts[i].size() > 100 ? (texts[i].substr(0, 97) + "...").c_str() : texts[i].c_str());
        if (args.explain) {
            const auto& e = explanations[i];
            double scale = 0;
            for (double v : e.contributions) scale = std::max(scale, std::abs(v));
            std::string line = e.tokens.empty() ? "  (no words to explain)" : "  ";
            for (std::size_t k = 0; k < e.tokens.size(); ++k) {
                line += args.color ? colored(e.tokens[k], e.contributions[k], scale) : e.tokens[k];
                line += ' ';
            }
            std::printf("%s\n", line.c_str());
            // The strongest words either way, for readers without colour.
            std::vector<std::size_t> order(e.tokens.size());
            for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
            std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                return e.contributions[a] > e.contributions[b];
            });
            std::string most_pos, most_neg;
            for (std::size_t k = 0; k < order.size() && k < 5; ++k)
                if (e.contributions[order[k]] > 0) most_pos += " " + e.tokens[order[k]];
            for (std::size_t k = 0; k < order.size() && k < 5; ++k)
                if (e.contributions[order[order.size() - 1 - k]] < 0)
                    most_neg += " " + e.tokens[order[order.size() - 1 - k]];
            std::printf("  towards positive:%s\n  towards negative:%s\n",
                        most_pos.empty() ? " -" : most_pos.c_str(),
                        most_neg.empty() ? " -" : most_neg.c_str());
        }
    }
    return 0;
}

}  // namespace imdb
