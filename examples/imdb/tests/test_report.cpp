// report.html: the numbers it shows, its charts, escaping of everything that came from
// data, self-containment (nothing fetched), edge cases (one epoch, no validation, no dataset
// statistics, no test predictions, one class), bad input and the atomic write.
//
// Set NNLITE_REPORT_SAMPLE=/some/dir/report.html to also keep a realistic 25,000-review
// sample report there, for looking at in a browser.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nnlite/core/error.hpp>
#include <nnlite/core/random.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "report/report.hpp"

namespace fs = std::filesystem;
using namespace imdb;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        path =
            fs::temp_directory_path() / ("nnlite_test_report_" + std::to_string(::getpid()) + "_" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        ++n;
    return n;
}

// 16 test reviews, 2 mistakes: negative #7 at 0.92 (false positive) and positive #8 at
// 0.45 (false negative). Accuracy 14/16 = 87.50%; per class P = R = F1 = 7/8 = 0.8750.
// AUC: positive #8 beats the 7 negatives below 0.45, the other 7 positives beat the same 7,
// and nothing beats 0.92: 56 / 64 = 0.8750.
ReportData small_report() {
    ReportData d;
    d.run_name = "cpu-preset <b>bold</b>";
    d.config = {{"preset", "cpu"},
                {"hidden size", "256"},
                {"optimizer", "AdamW lr=2e-3 wd=0.01"},
                {"note", "\"quotes\" & <tags>"},
                {"training time", "12 min 31 s"}};
    d.history = {{1, 0.61, 0.66, 0.45, 0.79, 2e-3, 241.5},
                 {2, 0.38, 0.84, 0.33, 0.862, 2e-3, 238.0},
                 {3, 0.29, 0.885, 0.31, 0.8765, 1e-3, 239.2}};
    d.test_labels = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
    d.test_probabilities = {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.92,
                            0.45, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9};
    d.test_texts.assign(16, "an ordinary review");
    d.test_texts[7] = "<script>alert('x')</script> worst film <img src=x onerror=alert(1)> ever";
    std::string long_review;
    for (int i = 0; i < 400; ++i) long_review += "wonderful ";
    d.test_texts[8] = long_review + "THE-END-MARKER";
    d.dataset.train_lengths = {120, 230, 80, 560, 1500, 240, 300, 95};
    d.dataset.test_lengths = {110, 250, 70, 610, 990, 260};
    d.dataset.max_length = 256;
    d.dataset.top_tokens_negative = {{"bad", 1500}, {"worst", 900}, {"<pad&>", 12}};
    d.dataset.top_tokens_positive = {{"great", 1700}, {"love", 800}};
    return d;
}

}  // namespace

TEST_CASE("the report shows the metrics it computes, with charts, and nothing external") {
    TempDir dir;
    const fs::path path = dir.path / "report.html";
    write_report(path.string(), small_report());
    REQUIRE(fs::exists(path));
    const std::string html = read_file(path);

    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(contains(html, "<meta charset=\"utf-8\">"));
    CHECK(contains(html, "87.50%"));  // accuracy card and table
    CHECK(contains(html, "14 of 16 test reviews"));
    CHECK(contains(html, "0.8750"));  // macro F1 and AUC
    CHECK(contains(html, "AUC = 0.8750"));
    CHECK(count_of(html, "<svg") >= 7);  // ROC, loss, accuracy, 3 calibration, lengths
    CHECK(contains(html, "<polyline"));
    CHECK(contains(html, "ECE = "));
    // Confusion matrix counts: 7 TN, 1 FP, 1 FN, 7 TP, 87.5% of each row right.
    CHECK(count_of(html, "87.5% of row") == 2);
    CHECK(count_of(html, "12.5% of row") == 2);
    // History table and curve tooltips.
    CHECK(contains(html, "87.65%"));
    CHECK(contains(html, "epoch 3: validation 87.65%"));
    CHECK(contains(html, "718.7 s"));  // total time 241.5 + 238.0 + 239.2
    // Dataset statistics: 3 of 8 train reviews and 3 of 6 test reviews exceed 256 tokens.
    CHECK(contains(html, "max length 256"));
    CHECK(contains(html, "3 (37.5%)"));
    CHECK(contains(html, "3 (50.0%)"));
    CHECK(contains(html, "1,500"));
    // Self-contained: no URL at all, no script, no external resource of any kind.
    CHECK_FALSE(contains(html, "http://"));
    CHECK_FALSE(contains(html, "https://"));
    CHECK_FALSE(contains(html, "<script"));
    CHECK_FALSE(contains(html, "<link"));
    CHECK_FALSE(contains(html, "@import"));
    CHECK_FALSE(contains(html, "url("));
    CHECK_FALSE(contains(html, "<img"));
    CHECK_FALSE(std::regex_search(html, std::regex(R"(<[a-zA-Z][^<>]*\s(src|href)=)")));
}

TEST_CASE("data is escaped: a review cannot inject markup") {
    const std::string html = render_report(small_report());
    CHECK(contains(html,
                   "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; worst film "
                   "&lt;img src=x onerror=alert(1)&gt; ever"));
    CHECK(contains(html, "cpu-preset &lt;b&gt;bold&lt;/b&gt;"));
    CHECK_FALSE(contains(html, "<b>bold</b>"));
    CHECK(contains(html, "&quot;quotes&quot; &amp; &lt;tags&gt;"));
    CHECK(contains(html, "&lt;pad&amp;&gt;"));
    // The false positive is listed with its probability and true label.
    CHECK(contains(html, "<b>P(positive) = 0.9200</b> · true label: negative · test review #7"));
    CHECK(contains(html, "<b>P(positive) = 0.4500</b> · true label: positive · test review #8"));
    CHECK(contains(html, "negative reviews called positive (1 in all)</h3>"));
    // The 4,000-character review is cut to about 600 characters with a marker.
    CHECK_FALSE(contains(html, "THE-END-MARKER"));
    const auto start = html.find("test review #8</div><p>");
    REQUIRE(start != std::string::npos);
    const auto end = html.find("</p>", start);
    const std::string shown = html.substr(start, end - start);
    CHECK(contains(shown, "wonderful wonderful …"));
    CHECK(shown.size() < 660);
    CHECK(shown.size() > 580);
}

TEST_CASE("most confidently wrong: ordered by confidence, at most k of each") {
    const std::vector<int> y = {0, 0, 0, 1, 1, 1, 0};
    const std::vector<double> p = {0.9, 0.6, 0.99, 0.1, 0.45, 0.02, 0.6};
    const auto m = most_confident_mistakes(y, p, 2);
    CHECK(m.false_positives == std::vector<std::size_t>{2, 0});
    CHECK(m.false_negatives == std::vector<std::size_t>{5, 3});
    const auto all = most_confident_mistakes(y, p, 10);
    CHECK(all.false_positives == std::vector<std::size_t>{2, 0, 1, 6});  // ties keep order
    CHECK(all.false_negatives == std::vector<std::size_t>{5, 3, 4});
    CHECK(most_confident_mistakes(y, p, 10, 0.95).false_positives == std::vector<std::size_t>{2});
}

TEST_CASE("escaping and truncation are UTF-8 safe") {
    CHECK(html_escape("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&#39;");
    CHECK(html_escape("café ✓ 😀") == "café ✓ 😀");
    CHECK(html_escape("bad \xC3 byte \xFF") == "bad \xEF\xBF\xBD byte \xEF\xBF\xBD");
    CHECK(html_escape("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    CHECK(truncate_text("short", 600) == "short");
    // 10 characters of which several are 2-byte: never cut inside one.
    CHECK(truncate_text("éééééééééééé", 10) == "éééééééééé …");
    CHECK(truncate_text("one two three four", 9) == "one two …");
}

TEST_CASE("edge cases: one epoch, no validation, no dataset statistics, no texts") {
    ReportData d = small_report();
    d.history = {{1, 0.52, 0.74, std::nullopt, std::nullopt, 1e-3, 30.0}};
    d.dataset = DatasetStats{};
    d.test_texts.clear();
    const std::string html = render_report(d);
    CHECK(contains(html, "No validation split was recorded"));
    CHECK(contains(html, "Review lengths were not recorded"));
    CHECK(contains(html, "Review texts were not given"));
    CHECK(contains(html, "1 epoch"));
    CHECK(contains(html, "74.00%"));
    CHECK(contains(html, "epoch 1: train 0.5200"));  // the single point is drawn as a dot
    CHECK(contains(html, "<circle"));
    CHECK(contains(html, "87.50%"));
    CHECK_FALSE(contains(html, "nan"));
    CHECK_FALSE(contains(html, "inf"));
}

TEST_CASE("edge cases: no test predictions, one class, nothing at all") {
    ReportData d = small_report();
    d.test_labels.clear();
    d.test_probabilities.clear();
    d.test_texts.clear();
    std::string html = render_report(d);
    CHECK(contains(html, "No test predictions were given"));
    CHECK(contains(html, "Loss per epoch"));

    d = small_report();
    d.test_labels.assign(16, 1);
    html = render_report(d);
    CHECK(contains(html, "ROC curve is undefined"));
    CHECK(contains(html, "8 of 16"));  // all positive: the 8 scores below 0.5 are wrong

    html = render_report(ReportData{});
    CHECK(contains(html, "unnamed run"));
    CHECK(contains(html, "No epochs were recorded"));
    CHECK(contains(html, "No configuration was recorded"));
    CHECK_FALSE(contains(html, "nan"));
}

TEST_CASE("inconsistent data is a ValueError naming the problem") {
    ReportData d = small_report();
    d.test_probabilities.pop_back();
    CHECK_THROWS_WITH_AS(render_report(d), doctest::Contains("16 labels but 15 probabilities"),
                         nnlite::ValueError);
    d = small_report();
    d.test_texts.pop_back();
    CHECK_THROWS_WITH_AS(render_report(d), doctest::Contains("15 test texts but 16 labels"),
                         nnlite::ValueError);
    d = small_report();
    d.test_labels[3] = 2;
    CHECK_THROWS_WITH_AS(render_report(d), doctest::Contains("label at index 3 is 2"),
                         nnlite::ValueError);
    d = small_report();
    d.test_probabilities[5] = 1.2;
    CHECK_THROWS_WITH_AS(render_report(d), doctest::Contains("probability at index 5 is 1.2"),
                         nnlite::ValueError);
}

TEST_CASE("writes are atomic and failures are IoErrors naming the file") {
    TempDir dir;
    const fs::path path = dir.path / "report.html";
    {
        std::ofstream old(path);
        old << "old report";
    }
    write_report(path.string(), small_report());
    CHECK(contains(read_file(path), "87.50%"));
    std::size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir.path)) {
        (void)entry;
        ++files;
    }
    CHECK(files == 1);  // no temporary left behind

    const std::string missing = (dir.path / "no" / "such" / "dir" / "report.html").string();
    CHECK_THROWS_WITH_AS(write_report(missing, small_report()),
                         doctest::Contains("no/such/dir/report.html'"), nnlite::IoError);
    // Bad data never touches the existing file.
    ReportData bad = small_report();
    bad.test_labels[0] = 7;
    CHECK_THROWS_AS(write_report(path.string(), bad), nnlite::ValueError);
    CHECK(contains(read_file(path), "87.50%"));
}

TEST_CASE("a full-size report: 25,000 reviews, 10 epochs, realistic statistics") {
    nnlite::Generator gen(2024);
    ReportData d;
    d.run_name = "sample-25k";
    d.config = {{"preset", "cpu"},
                {"data", "aclImdb_v1.tar.gz (25,000 train / 25,000 test)"},
                {"model", "Embedding(10002, 128) → BiLSTM(256) x2 → max+mean pooling → Linear"},
                {"optimizer", "AdamW lr 2e-3, weight decay 0.01, clip 1.0"},
                {"batch size", "64"},
                {"total time", "14 min 02 s"}};
    double loss = 0.62, acc = 0.66;
    for (int e = 1; e <= 10; ++e) {
        d.history.push_back({e, loss, acc, loss * 0.95 + 0.02 * (e > 6 ? e - 6 : 0),
                             acc - 0.01 + 0.003 * e, e > 7 ? 5e-4 : 1e-3, 80.0 + e});
        loss *= 0.8;
        acc = 1 - (1 - acc) * 0.75;
    }
    for (int i = 0; i < 25000; ++i) {
        const int label = i % 2;
        // A logit separated by class, with noise: accuracy around 88%.
        const double logit = (label ? 1.0 : -1.0) * 2.2 + gen.normal(0.0, 1.9);
        d.test_labels.push_back(label);
        d.test_probabilities.push_back(1.0 / (1.0 + std::exp(-logit)));
        d.test_texts.push_back("Review number " + std::to_string(i) +
                               (label ? " was a delight <br /><br />from start to end."
                                      : " was dull & predictable; I'd rather watch paint dry."));
    }
    for (int i = 0; i < 25000; ++i) {
        // Log-normal-ish lengths: median about 175 tokens, long tail past 1,000.
        d.dataset.train_lengths.push_back(
            static_cast<std::size_t>(std::exp(5.15 + 0.65 * gen.normal(0.0, 1.0))) + 8);
        d.dataset.test_lengths.push_back(
            static_cast<std::size_t>(std::exp(5.13 + 0.65 * gen.normal(0.0, 1.0))) + 8);
    }
    d.dataset.max_length = 400;
    const char* neg[] = {"bad",  "worst",    "waste",   "awful",    "boring",
                         "poor", "terrible", "stupid",  "horrible", "worse",
                         "plot", "acting",   "nothing", "minutes",  "script"};
    const char* pos[] = {"great", "best",      "love",    "excellent",   "wonderful",
                         "well",  "beautiful", "perfect", "amazing",     "favorite",
                         "today", "brilliant", "loved",   "performance", "fun"};
    for (int i = 0; i < 15; ++i) {
        d.dataset.top_tokens_negative.push_back(
            {neg[i], static_cast<std::size_t>(9000 / (i + 1.5))});
        d.dataset.top_tokens_positive.push_back(
            {pos[i], static_cast<std::size_t>(9500 / (i + 1.4))});
    }

    const std::string html = render_report(d);
    CHECK(html.size() < 400 * 1024);  // thinned ROC curve: the page stays small
    CHECK(count_of(html, "class=\"review fp\"") == 10);
    CHECK(count_of(html, "class=\"review fn\"") == 10);
    CHECK(contains(html, "the 10 most confident shown"));
    CHECK(contains(html, "&lt;br /&gt;"));
    CHECK_FALSE(contains(html, "http"));
    if (const char* keep = std::getenv("NNLITE_REPORT_SAMPLE")) {
        write_report(keep, d);
        MESSAGE("sample report written to " << std::string(keep));
    }
}
