// report.html: text helpers, the page skeleton (inline CSS) and the atomic write. The
// sections themselves are in report_sections.cpp.
#include "report.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nnlite/core/error.hpp>
#include <nnlite/metrics/classification.hpp>
#include <string>

#include "report_sections.hpp"
#include "report_svg.hpp"

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
    nnlite::metrics::detail::check_binary_inputs("most_confident_mistakes", labels, probabilities);
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

namespace {

constexpr const char* kStyle = R"css(
:root{--fg:#1d2330;--muted:#5b6372;--line:#e3e6eb;--bg:#f5f6f8;--card:#fff;--blue:#0072b2;--orange:#e69f00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1180px;margin:0 auto;padding:28px 24px 64px}
h1{font-size:26px;margin:0 0 2px}
.sub{color:var(--muted);margin:0}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 24px;margin:20px 0}
h2{font-size:19px;margin:0 0 14px}
h3{font-size:16px;margin:18px 0 8px}
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:16px;margin:22px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 18px}
.card .k{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em}
.card .v{font-size:30px;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.3}
.card .d{font-size:13px;color:var(--muted)}
.row{display:flex;flex-wrap:wrap;gap:20px 32px;align-items:flex-start}
.row>*{min-width:0}
figure{margin:0;flex:1 1 420px;max-width:560px}
figure.wide{max-width:none;flex-basis:100%}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{max-width:100%;height:auto;display:block}
svg .grid{stroke:#eceef2;stroke-width:1}
svg .frame{fill:none;stroke:#c5cad3}
svg .tick{font-size:11px;fill:var(--muted)}
svg .axis-title{font-size:12px;fill:var(--fg)}
svg .label{font-size:12px;fill:var(--fg)}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:5px 12px;border-bottom:1px solid var(--line);text-align:right;vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:13px}
th:first-child,td:first-child{text-align:left}
tr.avg td{color:var(--muted)}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 20px;margin:0}
.kv dt{color:var(--muted)}
.kv dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:var(--muted);margin:2px 0 0 62px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
.note{font-size:13px;color:var(--muted);margin:4px 0 0}
.absent{color:var(--muted);font-style:italic}
table.confusion td,table.confusion th{text-align:center;border:none;padding:4px}
table.confusion td.cell{width:150px;height:78px;font-size:21px;font-weight:650;border-radius:6px}
table.confusion small{display:block;font-size:12px;font-weight:400;color:var(--fg)}
table.confusion th.rowhead{text-align:right;padding-right:10px}
.tokens td.bar{width:180px}
.tokens .token{text-align:left;font-weight:500}
tr.current td{font-weight:650;background:#f0f6fb}
.tokens .b{height:10px;border-radius:2px}
.review{border-left:4px solid var(--line);padding:6px 12px;margin:10px 0;background:#fafbfc;border-radius:0 6px 6px 0}
.review .meta{font-size:13px;color:var(--muted)}
.review .meta b{color:var(--fg)}
.review p{margin:3px 0 0;overflow-wrap:anywhere}
.review.fp{border-left-color:var(--orange)}
.review.fn{border-left-color:var(--blue)}
footer{color:var(--muted);font-size:13px;text-align:center}
@media (max-width:820px){.cards{grid-template-columns:repeat(2,1fr)}}
@media print{body{background:#fff}section{break-inside:avoid}}
)css";

}  // namespace

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
    using nnlite::IoError;
    const std::string html = render_report(data);
    // Same directory as the target, so the rename stays on one file system (atomic).
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    nnlite::check<IoError>(fd >= 0, "write_report: cannot create '", tmp,
                           "': ", std::strerror(errno));
    auto fail = [&](const char* what) {
        const int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw IoError(std::string("write_report: ") + what + " '" + tmp +
                      "': " + std::strerror(err));
    };
    std::size_t written = 0;
    while (written < html.size()) {
        const ssize_t n = ::write(fd, html.data() + written, html.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write");
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) fail("cannot flush");
    if (::close(fd) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IoError("write_report: cannot close '" + tmp + "': " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        throw IoError("write_report: cannot rename '" + tmp + "' to '" + path +
                      "': " + std::strerror(err));
    }
}

}  // namespace imdb
