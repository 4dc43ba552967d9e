// IMDB reader: the 50k-row "IMDB Dataset.csv" (RFC 4180). See dataset.hpp for the contract.
#include "data/dataset.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nnlite/core/error.hpp>
#include <nnlite/text/utf8.hpp>
#include <sstream>
#include <string_view>
#include <utility>

#include "data/reader_support.hpp"

namespace imdb {

using namespace reader_detail;  // check, the error types, the shared policies

// ---- CSV ------------------------------------------------------------------------------

namespace {

/// RFC 4180 record reader over a whole file held in memory. Tracks physical line numbers
/// (newlines inside quoted fields count) so every error names the line a user sees.
class CsvReader {
  public:
    CsvReader(std::string_view text, std::string path) : s_(text), path_(std::move(path)) {
        if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // UTF-8 byte order mark
    }
    bool done() const { return pos_ >= s_.size(); }
    std::size_t line() const { return line_; }

    /// Reads the next record into `fields`; returns the line it starts on.
    std::size_t next(std::vector<std::string>& fields) {
        const std::size_t start_line = line_;
        fields.clear();
        while (true) {
            fields.emplace_back();
            std::string& field = fields.back();
            if (pos_ < s_.size() && s_[pos_] == '"') {
                const std::size_t open_line = line_;
                ++pos_;
                while (true) {
                    const std::size_t q = s_.find('"', pos_);
                    check<FormatError>(q != std::string_view::npos, path_, ":", open_line,
                                       ": unterminated quoted field (the quote opened on line ",
                                       open_line, " is never closed)");
                    count_lines(pos_, q);
                    field.append(s_.data() + pos_, q - pos_);
                    pos_ = q + 1;
                    if (pos_ < s_.size() && s_[pos_] == '"') {  // "" is a literal quote
                        field.push_back('"');
                        ++pos_;
                        continue;
                    }
                    break;
                }
                check<FormatError>(
                    pos_ >= s_.size() || s_[pos_] == ',' || s_[pos_] == '\n' || s_[pos_] == '\r',
                    path_, ":", line_, ": unexpected text after the closing quote of a field");
            } else {
                const std::size_t end = s_.find_first_of(",\r\n", pos_);
                const std::size_t stop = end == std::string_view::npos ? s_.size() : end;
                field.assign(s_.data() + pos_, stop - pos_);
                pos_ = stop;
            }
            if (pos_ < s_.size() && s_[pos_] == ',') {
                ++pos_;
                continue;
            }
            if (pos_ < s_.size() && s_[pos_] == '\r') ++pos_;
            if (pos_ < s_.size() && s_[pos_] == '\n') ++pos_;
            ++line_;
            return start_line;
        }
    }

  private:
    void count_lines(std::size_t b, std::size_t e) {
        line_ +=
            static_cast<std::size_t>(std::count(s_.begin() + static_cast<std::ptrdiff_t>(b),
                                                s_.begin() + static_cast<std::ptrdiff_t>(e), '\n'));
    }
    std::string_view s_;
    std::string path_;
    std::size_t pos_ = 0;
    std::size_t line_ = 1;
};

std::string trim_lower(const std::string& s) {
    const std::size_t b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const std::size_t e = s.find_last_not_of(" \t\r\n");
    std::string out = s.substr(b, e - b + 1);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

Dataset load_csv(const std::string& path, const LoadOptions& options) {
    check<ValueError>(options.csv_test_fraction > 0.0 && options.csv_test_fraction < 1.0,
                      "load_csv: csv_test_fraction must be in (0, 1), got ",
                      options.csv_test_fraction);
    check_exists(path);
    check<FormatError>(!fs::is_directory(path), path, ": is a directory, not a CSV file");
    return load_csv_text(read_whole_file(path), path, options);
}

Dataset load_csv_text(const std::string& content, const std::string& path,
                      const LoadOptions& options) {
    check<ValueError>(options.csv_test_fraction > 0.0 && options.csv_test_fraction < 1.0,
                      "load_csv: csv_test_fraction must be in (0, 1), got ",
                      options.csv_test_fraction);
    CsvReader csv(content, path);
    check<FormatError>(!csv.done(), path, ":1: empty file, expected a header row review,sentiment");
    std::vector<std::string> fields;
    csv.next(fields);
    std::size_t review_col = fields.size(), sentiment_col = fields.size();
    for (std::size_t c = 0; c < fields.size(); ++c) {
        const std::string name = trim_lower(fields[c]);
        if (name == "review") review_col = c;
        if (name == "sentiment") sentiment_col = c;
    }
    if (review_col == fields.size() || sentiment_col == fields.size()) {
        std::string header;
        for (std::size_t c = 0; c < fields.size(); ++c) header += (c ? "," : "") + fields[c];
        throw FormatError(path +
                          ":1: expected a header row naming the columns review and "
                          "sentiment, found \"" +
                          header.substr(0, 80) + "\"");
    }
    const std::size_t columns = fields.size();

    Dataset data;
    data.format = Format::csv;
    data.path = path;
    std::vector<Review> all;
    std::size_t row = 0;
    while (!csv.done()) {
        const std::size_t line = csv.next(fields);
        if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
        check<FormatError>(fields.size() == columns, path, ":", line, ": expected ", columns,
                           " fields like the header, found ", fields.size(),
                           " (an unquoted comma or newline inside a review?)");
        const std::string label = trim_lower(fields[sentiment_col]);
        check<FormatError>(label == "positive" || label == "negative", path, ":", line,
                           ": bad sentiment label \"", fields[sentiment_col].substr(0, 40),
                           "\" (expected positive or negative)");
        Review r;
        r.label = label == "positive" ? 1 : 0;
        r.id = static_cast<long>(row++);
        r.source = path;
        r.line = line;
        check_review_size(fields[review_col].size(), r.where(), options);
        r.text = std::move(fields[review_col]);
        accept_review(data, all, std::move(r));
    }
    check<FormatError>(!all.empty(), path, ": no reviews after the header");

    std::vector<int> labels(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) labels[i] = all[i].label;
    const IndexSplit split = stratified_split(labels, options.csv_test_fraction, options.seed);
    for (auto i : split.first) data.train.push_back(std::move(all[i]));
    for (auto i : split.second) data.test.push_back(std::move(all[i]));
    sort_canonical(data.train);
    sort_canonical(data.test);
    std::ostringstream note;
    note << "CSV has no train/test split: made a stratified split with seed " << options.seed
         << ", " << std::llround(options.csv_test_fraction * 100) << "% of each class to test ("
         << data.train.size() << " train / " << data.test.size() << " test)";
    data.notes.push_back(note.str());
    add_policy_notes(data);
    return data;
}

}  // namespace imdb
