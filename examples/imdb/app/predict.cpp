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
        out.push_back(line);  // blank ones too: output line N answers input line N
    }
    return out;
}

bool is_blank(const std::string& text) {
    return text.find_first_not_of(" \t\r\n") == std::string::npos;
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
    for (std::size_t i = 0; i < texts.size(); ++i)
        nnlite::check<nnlite::ValueError>(!is_blank(texts[i]), "predict: text ", i + 1,
                                          " is empty");
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
        std::any_of(texts.begin(), texts.end(), [](const auto& t) { return !is_blank(t); }),
        "predict: no text given (pass \"review text\", --file FILE or --file - for stdin)");
    Classifier c = Classifier::load(args.run_dir, args.device);
    // Blank lines of a file are not classified, but still answered (line N for line N).
    std::vector<std::string_view> views;
    for (const auto& t : texts)
        if (!is_blank(t)) views.emplace_back(t);
    std::vector<double> probs;
    std::vector<Classifier::Explanation> explanations;
    if (args.explain) {
        for (const auto& t : views) explanations.push_back(c.explain(t));
        for (const auto& e : explanations) probs.push_back(e.probability);
    } else {
        probs = c.predict(views);
    }
    for (std::size_t i = 0, next = 0; i < texts.size(); ++i) {
        if (is_blank(texts[i])) {
            if (args.json)
                std::printf("%s\n",
                            nlohmann::json({{"text", texts[i]}, {"error", "empty line"}})
                                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                                .c_str());
            else
                std::printf("empty  -  (line %zu is empty)\n", i + 1 - args.texts.size());
            continue;
        }
        const std::size_t r = next++;  // index among the classified texts
        const bool pos = probs[r] >= 0.5;
        if (args.json) {
            nlohmann::json j = {{"text", texts[i]},
                                {"label", pos ? "positive" : "negative"},
                                {"probability_positive", probs[r]}};
            if (args.explain) {
                auto arr = nlohmann::json::array();
                for (std::size_t t = 0; t < explanations[r].tokens.size(); ++t)
                    arr.push_back({{"token", explanations[r].tokens[t]},
                                   {"contribution", explanations[r].contributions[t]}});
                j["tokens"] = arr;
            }
            std::printf("%s\n",
                        j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
            continue;
        }
        std::printf(
            "%s  %.3f  %s\n", pos ? "positive" : "negative", probs[r],
            texts[i].size() > 100 ? (texts[i].substr(0, 97) + "...").c_str() : texts[i].c_str());
        if (args.explain) {
            const auto& e = explanations[r];
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
