// report.html: text helpers, the page skeleton (inline CSS) and the atomic write. The
// sections themselves are in report_sections.cpp.
#include "report/report.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nnlite/core/error.hpp>
#include <nnlite/io/file.hpp>
#include <nnlite/metrics/classification.hpp>
#include <string>

#include "report/report_sections.hpp"
#include "report/report_svg.hpp"
#include "report_style.hpp"

namespace imdb {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid
// (overlong forms, surrogates and code points past U+10FFFF are rejected).
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return 1;
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + len > s.size()) return 0;
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (b < (k == 1 ? lo : 0x80u) || b > (k == 1 ? hi : 0xBFu)) return 0;
    }
    return len;
}

}  // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t len = utf8_sequence_length(text, i);
        if (len == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD replacement character
            ++i;
            continue;
        }
        if (len > 1) {
            out.append(text.substr(i, len));
        } else if (text[i] == '&') {
            out += "&amp;";
        } else if (text[i] == '<') {
            out += "&lt;";
        } else if (text[i] == '>') {
            out += "&gt;";
        } else if (text[i] == '"') {
            out += "&quot;";
        } else if (text[i] == '\'') {
            out += "&#39;";
        } else {
            out += text[i];
        }
        i += len;
    }
    return out;
}

std::string truncate_text(std::string_view text, std::size_t max_chars) {
    std::size_t chars = 0, end = 0;
    while (end < text.size() && chars < max_chars) {
        end += std::max<std::size_t>(utf8_sequence_length(text, end), 1);
        ++chars;
    }
    if (end >= text.size()) return std::string(text);
    // End at the last space when it is close (an IMDB word is rarely 40 bytes long).
    std::size_t cut = end;
    const std::size_t space = text.substr(0, end).find_last_of(" \n\t");
    if (space != std::string_view::npos && space > 0 && end - space <= 40) cut = space;
    std::string out(text.substr(0, cut));
    while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
    return out + " \xE2\x80\xA6";  // U+2026 horizontal ellipsis
}

ConfidentMistakes most_confident_mistakes(const std::vector<int>& labels,
                                          const std::vector<double>& probabilities, std::size_t k,
                                          double threshold) {
    nnlite::metrics::check_binary_inputs("most_confident_mistakes", labels, probabilities);
    ConfidentMistakes m;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const bool predicted_positive = probabilities[i] >= threshold;
        if (labels[i] == 0 && predicted_positive) m.false_positives.push_back(i);
        if (labels[i] == 1 && !predicted_positive) m.false_negatives.push_back(i);
    }
    auto keep_most_wrong = [&](std::vector<std::size_t>& v, auto more_wrong) {
        std::stable_sort(v.begin(), v.end(), more_wrong);
        if (v.size() > k) v.resize(k);
    };
    keep_most_wrong(m.false_positives, [&](std::size_t a, std::size_t b) {
        return probabilities[a] > probabilities[b];
    });
    keep_most_wrong(m.false_negatives, [&](std::size_t a, std::size_t b) {
        return probabilities[a] < probabilities[b];
    });
    return m;
}

// kStyle is report/report.css, embedded at build time (report_style.hpp, made by CMake).

std::string render_report(const ReportData& d) {
    using namespace report_sections;
    using report_svg::thousands;
    const Evaluation e = evaluate(d);
    const std::string name = d.run_name.empty() ? "unnamed run" : d.run_name;
    std::string subtitle = "nnlite IMDB sentiment report";
    if (e.has_test) subtitle += " · " + thousands(d.test_labels.size()) + " test reviews";
    if (!d.history.empty())
        subtitle += " · " + std::to_string(d.history.size()) +
                    (d.history.size() == 1 ? " epoch" : " epochs");

    std::string html;
    html.reserve(256 * 1024);
    html +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>IMDB report — " +
        html_escape(name) + "</title>\n<style>";
    html += kStyle;
    html += "</style>\n</head>\n<body>\n<main>\n<header><h1>IMDB sentiment — " + html_escape(name) +
            "</h1><p class=\"sub\">" + html_escape(subtitle) + "</p></header>\n";
    html += summary_cards(d, e) + "\n";
    html += section_run(d) + "\n";
    html += section_classification(e) + "\n";
    html += section_roc(d, e) + "\n";
    html += section_training(d) + "\n";
    html += section_calibration(e) + "\n";
    html += section_dataset(d.dataset) + "\n";
    html += section_mistakes(d, e) + "\n";
    html +=
        "<footer>Written by nnlite's IMDB example. This page is self-contained: no scripts, "
        "no fonts, nothing fetched.</footer>\n</main>\n</body>\n</html>\n";
    return html;
}

void write_report(const std::string& path, const ReportData& data) {
    nnlite::io::write_file_atomically(path, render_report(data));
}

}  // namespace imdb
