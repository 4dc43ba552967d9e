// IMDB readers: directory tree, archive (libarchive), CSV. See dataset.hpp for the contract.
#include "data/dataset.hpp"

#include <archive.h>
#include <archive_entry.h>

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
#include <nnlite/core/threads.hpp>
#include <nnlite/text/batching.hpp>
#include <nnlite/text/utf8.hpp>
#include <sstream>
#include <string_view>
#include <utility>

namespace imdb {

namespace fs = std::filesystem;
using nnlite::check;
using nnlite::FormatError;
using nnlite::IoError;
using nnlite::ValueError;

const char* to_string(Format f) {
    switch (f) {
        case Format::directory:
            return "directory";
        case Format::archive:
            return "archive";
        case Format::csv:
            return "csv";
    }
    return "unknown";
}

std::string Review::where() const {
    return line ? source + ":" + std::to_string(line) : source;
}

std::size_t Dataset::count_label(const std::vector<Review>& split, int label) {
    return static_cast<std::size_t>(std::count_if(
        split.begin(), split.end(), [label](const Review& r) { return r.label == label; }));
}

std::string Dataset::summary() const {
    std::ostringstream os;
    const auto part = [&](const char* name, const std::vector<Review>& split) {
        os << name << ' ' << split.size() << " (" << count_label(split, 1) << " pos / "
           << count_label(split, 0) << " neg)";
    };
    part("train", train);
    if (!validation.empty()) {
        os << ", ";
        part("validation", validation);
    }
    os << ", ";
    part("test", test);
    return os.str();
}

namespace {

// The four folders of the layout, in the order reviews are stored.
struct Folder {
    const char* split;
    const char* label_name;
    int label;
};
constexpr Folder folders[] = {
    {"train", "neg", 0}, {"train", "pos", 1}, {"test", "neg", 0}, {"test", "pos", 1}};

const char* layout_help =
    "expected the aclImdb layout {train,test}/{pos,neg}/<id>_<rating>.txt, optionally under a "
    "top folder aclImdb/";

/// Parses "<id>_<rating>.txt"; leaves id/rating at -1 when the name does not follow it.
void parse_review_name(std::string_view name, Review& r) {
    if (name.size() < 4 || name.substr(name.size() - 4) != ".txt") return;
    name.remove_suffix(4);
    const std::size_t us = name.find('_');
    if (us == std::string_view::npos || us == 0 || us + 1 >= name.size() || us > 9 ||
        name.size() - us - 1 > 2)
        return;
    long id = 0;
    int rating = 0;
    for (std::size_t i = 0; i < us; ++i) {
        if (name[i] < '0' || name[i] > '9') return;
        id = id * 10 + (name[i] - '0');
    }
    for (std::size_t i = us + 1; i < name.size(); ++i) {
        if (name[i] < '0' || name[i] > '9') return;
        rating = rating * 10 + (name[i] - '0');
    }
    r.id = id;
    if (rating >= 1 && rating <= 10) r.rating = rating;
}

bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
}

void check_review_size(std::size_t bytes, const std::string& where, const LoadOptions& opt) {
    check<FormatError>(opt.max_review_bytes == 0 || bytes <= opt.max_review_bytes, where,
                       ": review is ", bytes, " bytes, more than the limit of ",
                       opt.max_review_bytes, " bytes (LoadOptions::max_review_bytes)");
}

/// Applies the empty/UTF-8 policies and appends the review to `split`.
void accept_review(Dataset& data, std::vector<Review>& split, Review&& r) {
    if (is_blank(r.text)) {
        ++data.skipped_empty;
        data.skipped_sources.push_back(r.where());
        return;
    }
    if (!nnlite::text::is_valid_utf8(r.text)) {
        r.text = nnlite::text::repair_utf8(r.text);
        ++data.repaired_utf8;
    }
    split.push_back(std::move(r));
}

void sort_canonical(std::vector<Review>& split) {
    std::sort(split.begin(), split.end(), [](const Review& a, const Review& b) {
        if (a.label != b.label) return a.label < b.label;
        if (a.id != b.id) return a.id < b.id;
        return a.source < b.source;
    });
}

void add_policy_notes(Dataset& data) {
    if (data.skipped_empty) {
        std::ostringstream os;
        os << "skipped " << data.skipped_empty << " empty review"
           << (data.skipped_empty == 1 ? "" : "s") << " (first: " << data.skipped_sources.front()
           << ")";
        data.notes.push_back(os.str());
    }
    if (data.repaired_utf8) {
        std::ostringstream os;
        os << "repaired malformed UTF-8 in " << data.repaired_utf8 << " review"
           << (data.repaired_utf8 == 1 ? "" : "s") << " (each bad sequence became U+FFFD)";
        data.notes.push_back(os.str());
    }
}

std::string read_whole_file(const fs::path& p) {
    std::FILE* f = std::fopen(p.c_str(), "rb");
    check<IoError>(f != nullptr, "cannot open ", p.string(), ": ", std::strerror(errno));
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> guard(f, &std::fclose);
    std::string out;
    char buf[1 << 16];
    std::size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, got);
    check<IoError>(!std::ferror(f), "cannot read ", p.string(), ": ", std::strerror(errno));
    return out;
}

void check_exists(const std::string& path) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    check<IoError>(!ec || ec == std::errc::no_such_file_or_directory, "cannot access ", path, ": ",
                   ec.message());
    check<IoError>(fs::exists(st), "IMDB data path ", path, " does not exist");
}

std::string list_some(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 8) out += ", ...";
    return out.empty() ? "nothing" : out;
}

}  // namespace

// ---- detection ------------------------------------------------------------------------

namespace {

Format detect_format_impl(const std::string& path) {
    check_exists(path);
    if (fs::is_directory(path)) return Format::directory;
    std::ifstream in(path, std::ios::binary);
    check<IoError>(static_cast<bool>(in), "cannot open ", path, ": ", std::strerror(errno));
    std::string head(1024, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    head.resize(static_cast<std::size_t>(in.gcount()));
    const auto starts = [&](std::string_view magic) {
        return head.size() >= magic.size() &&
               std::string_view(head).substr(0, magic.size()) == magic;
    };
    if (starts("\x1f\x8b") || starts("BZh") ||
        starts(std::string_view("\xFD\x37\x7A\x58\x5A\x00", 6)) || starts("PK\x03\x04") ||
        (head.size() >= 262 && head.compare(257, 5, "ustar") == 0))
        return Format::archive;
    std::string first_line = head.substr(0, head.find('\n'));
    if (first_line.compare(0, 3, "\xEF\xBB\xBF") == 0) first_line.erase(0, 3);
    for (auto& c : first_line) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (first_line.find("review") != std::string::npos &&
        first_line.find("sentiment") != std::string::npos)
        return Format::csv;
    const std::string name = fs::path(path).filename().string();
    const auto ends = [&](std::string_view suffix) {
        return name.size() >= suffix.size() &&
               std::string_view(name).substr(name.size() - suffix.size()) == suffix;
    };
    check<FormatError>(!(ends(".gz") || ends(".tgz")), path,
                       ": named like a gzip archive but does not start with the gzip signature "
                       "1f 8b (a truncated download or an HTML error page?)");
    if (ends(".csv")) return Format::csv;  // load_csv names what is wrong with the header
    throw FormatError(path +
                      ": not an IMDB data source: expected an aclImdb directory, a tar/tar.gz/zip "
                      "archive of it, or a CSV with a review,sentiment header");
}

/// std::filesystem reports OS failures (a folder that cannot be listed...) as
/// std::filesystem::filesystem_error; callers expect nnlite errors naming the path.
template <class F>
auto translate_filesystem_errors(F&& f) -> decltype(f()) {
    try {
        return f();
    } catch (const fs::filesystem_error& e) {
        throw IoError(e.path1().empty() ? std::string(e.what())
                                        : e.path1().string() + ": " + e.code().message());
    }
}

}  // namespace

Format detect_format(const std::string& path) {
    return translate_filesystem_errors([&] { return detect_format_impl(path); });
}

Dataset load(const std::string& path, const LoadOptions& options) {
    switch (detect_format(path)) {
        case Format::directory:
            return load_directory(path, options);
        case Format::archive:
            return load_archive(path, options);
        case Format::csv:
            return load_csv(path, options);
    }
    throw FormatError(path + ": unknown format");
}

// ---- directory ------------------------------------------------------------------------

namespace {

Dataset load_directory_impl(const std::string& path, const LoadOptions& options) {
    check_exists(path);
    check<FormatError>(fs::is_directory(path), path, ": not a directory");
    fs::path root = path;
    const auto has_layout = [](const fs::path& p) {
        return fs::is_directory(p / "train") && fs::is_directory(p / "test");
    };
    if (!has_layout(root) && has_layout(root / "aclImdb")) root /= "aclImdb";
    if (!has_layout(root)) {
        std::vector<std::string> found;
        for (const auto& e : fs::directory_iterator(path))
            found.push_back(e.path().filename().string());
        std::sort(found.begin(), found.end());
        throw FormatError(path + ": no train/ and test/ folders: " + layout_help +
                          "; found: " + list_some(found));
    }

    struct Pending {
        fs::path file;
        std::size_t folder;
    };
    std::vector<Pending> files;
    for (std::size_t f = 0; f < 4; ++f) {
        const fs::path dir = root / folders[f].split / folders[f].label_name;
        check<FormatError>(fs::is_directory(dir), path, ": missing folder ", dir.string(), " (",
                           layout_help, ")");
        const std::size_t before = files.size();
        for (const auto& e : fs::directory_iterator(dir))
            if (e.path().extension() == ".txt" && e.is_regular_file())
                files.push_back({e.path(), f});
        check<FormatError>(files.size() > before, path, ": folder ", dir.string(),
                           " holds no .txt reviews");
    }

    // Reading 50k small files is dominated by system calls: spread them over the threads.
    std::vector<Review> read(files.size());
    nnlite::parallel_for(files.size(), 256, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            Review& r = read[i];
            r.source = files[i].file.string();
            std::error_code ec;
            const auto size = fs::file_size(files[i].file, ec);
            check<IoError>(!ec, "cannot read ", r.source, ": ", ec.message());
            check_review_size(static_cast<std::size_t>(size), r.source, options);
            r.text = read_whole_file(files[i].file);
            r.label = folders[files[i].folder].label;
            parse_review_name(files[i].file.filename().string(), r);
        }
    });

    Dataset data;
    data.format = Format::directory;
    data.path = path;
    for (std::size_t i = 0; i < read.size(); ++i) {
        const bool is_train = std::strcmp(folders[files[i].folder].split, "train") == 0;
        accept_review(data, is_train ? data.train : data.test, std::move(read[i]));
    }
    sort_canonical(data.train);
    sort_canonical(data.test);
    add_policy_notes(data);
    return data;
}

}  // namespace

Dataset load_directory(const std::string& path, const LoadOptions& options) {
    return translate_filesystem_errors([&] { return load_directory_impl(path, options); });
}

// ---- archive --------------------------------------------------------------------------

namespace {

struct ArchiveCloser {
    void operator()(archive* a) const { archive_read_free(a); }
};

/// Maps an entry path to one of the four folders: "train/pos/0_9.txt" with an optional
/// leading "./" and "aclImdb/". Returns -1 for anything else (unsup, vocab, feat files...).
int folder_of_entry(std::string_view name, std::string_view& file_name) {
    while (name.substr(0, 2) == "./") name.remove_prefix(2);
    if (name.substr(0, 8) == "aclImdb/") name.remove_prefix(8);
    for (int f = 0; f < 4; ++f) {
        const std::string prefix =
            std::string(folders[f].split) + "/" + folders[f].label_name + "/";
        if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) {
            file_name = name.substr(prefix.size());
            if (file_name.find('/') != std::string_view::npos) return -1;
            if (file_name.size() < 5 || file_name.substr(file_name.size() - 4) != ".txt") return -1;
            return f;
        }
    }
    return -1;
}

}  // namespace

Dataset load_archive(const std::string& path, const LoadOptions& options) {
    check_exists(path);
    check<FormatError>(!fs::is_directory(path), path, ": is a directory, not an archive");
    {
        std::ifstream probe(path, std::ios::binary);
        check<IoError>(static_cast<bool>(probe), "cannot open ", path, ": ", std::strerror(errno));
    }
    std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
    check<IoError>(a != nullptr, path, ": libarchive could not allocate a reader");
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_format_zip(a.get());
    const auto lib_error = [&]() {
        const char* msg = archive_error_string(a.get());
        return std::string(msg ? msg : "unknown libarchive error");
    };
    check<FormatError>(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK,
                       path, ": not a readable tar/tar.gz/zip archive (", lib_error(), ")");

    Dataset data;
    data.format = Format::archive;
    data.path = path;
    std::size_t per_folder[4] = {0, 0, 0, 0};
    std::vector<std::string> first_entries;
    archive_entry* entry = nullptr;
    std::size_t entries = 0;
    while (true) {
        const int rc = archive_read_next_header(a.get(), &entry);
        if (rc == ARCHIVE_EOF) break;
        check<FormatError>(rc == ARCHIVE_OK || rc == ARCHIVE_WARN, path,
                           entries == 0
                               ? ": not a readable tar/tar.gz/zip archive ("
                               : ": corrupt archive after entry " + std::to_string(entries) + " (",
                           lib_error(), ")");
        ++entries;
        const char* raw_name = archive_entry_pathname(entry);
        const std::string name = raw_name ? raw_name : "";
        if (first_entries.size() < 8) first_entries.push_back(name);
        std::string_view file_name;
        const int f =
            archive_entry_filetype(entry) == AE_IFREG ? folder_of_entry(name, file_name) : -1;
        if (f < 0) continue;  // libarchive skips unread data at the next header
        Review r;
        r.source = path + ":" + name;
        r.label = folders[f].label;
        parse_review_name(file_name, r);
        if (archive_entry_size_is_set(entry)) {
            const auto size = archive_entry_size(entry);
            check_review_size(static_cast<std::size_t>(std::max<la_int64_t>(size, 0)), r.source,
                              options);
            r.text.reserve(static_cast<std::size_t>(std::max<la_int64_t>(size, 0)));
        }
        char buf[1 << 16];
        while (true) {
            const la_ssize_t got = archive_read_data(a.get(), buf, sizeof buf);
            check<FormatError>(got >= 0, path, ": cannot read entry ", name, " (", lib_error(),
                               ")");
            if (got == 0) break;
            r.text.append(buf, static_cast<std::size_t>(got));
            check_review_size(r.text.size(), r.source, options);
        }
        ++per_folder[f];
        const bool is_train = std::strcmp(folders[f].split, "train") == 0;
        accept_review(data, is_train ? data.train : data.test, std::move(r));
    }
    for (int f = 0; f < 4; ++f)
        check<FormatError>(per_folder[f] > 0, path, ": no reviews under ", folders[f].split, "/",
                           folders[f].label_name, "/ (", layout_help,
                           "); first entries: ", list_some(first_entries));
    sort_canonical(data.train);
    sort_canonical(data.test);
    add_policy_notes(data);
    return data;
}

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
    const std::string content = read_whole_file(path);
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

// ---- splits ---------------------------------------------------------------------------

IndexSplit stratified_split(const std::vector<int>& labels, double fraction, std::uint64_t seed) {
    check<ValueError>(fraction >= 0.0 && fraction <= 1.0,
                      "stratified_split: fraction must be in [0, 1], got ", fraction);
    std::map<int, std::vector<std::size_t>> by_label;  // ordered: the draw order is fixed
    for (std::size_t i = 0; i < labels.size(); ++i) by_label[labels[i]].push_back(i);
    nnlite::Generator gen(seed);
    IndexSplit out;
    for (auto& [label, items] : by_label) {
        const auto take =
            static_cast<std::size_t>(std::llround(fraction * static_cast<double>(items.size())));
        const auto perm = nnlite::text::random_permutation(items.size(), gen);
        for (std::size_t k = 0; k < perm.size(); ++k)
            (k < take ? out.second : out.first).push_back(items[perm[k]]);
    }
    std::sort(out.first.begin(), out.first.end());
    std::sort(out.second.begin(), out.second.end());
    return out;
}

void split_validation(Dataset& data, double fraction, std::uint64_t seed) {
    check<ValueError>(fraction >= 0.0 && fraction < 1.0,
                      "split_validation: fraction must be in [0, 1), got ", fraction);
    if (!data.validation.empty()) {
        for (auto& r : data.validation) data.train.push_back(std::move(r));
        data.validation.clear();
        sort_canonical(data.train);
    }
    std::vector<int> labels(data.train.size());
    for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = data.train[i].label;
    const IndexSplit split = stratified_split(labels, fraction, seed);
    std::vector<Review> train;
    train.reserve(split.first.size());
    for (auto i : split.first) train.push_back(std::move(data.train[i]));
    for (auto i : split.second) data.validation.push_back(std::move(data.train[i]));
    data.train = std::move(train);
    data.notes.erase(
        std::remove_if(data.notes.begin(), data.notes.end(),
                       [](const std::string& n) { return n.rfind("validation: ", 0) == 0; }),
        data.notes.end());
    std::ostringstream note;
    note << "validation: " << std::llround(fraction * 100) << "% of each class of TRAIN with seed "
         << seed << " (" << data.validation.size() << " reviews; " << data.train.size()
         << " left to train on)";
    data.notes.push_back(note.str());
}

std::string default_data_path() {
    if (const char* env = std::getenv("NNLITE_IMDB_DATA"); env && *env) return env;
    const std::filesystem::path repo = IMDB_SOURCE_ROOT;
    for (const auto& candidate : {repo / "data/imdb/aclImdb_v1.tar.gz", repo / "data/imdb/aclImdb",
                                  repo / "../shared/data/imdb/aclImdb_v1_labeled.tar.gz"})
        if (std::filesystem::exists(candidate)) return candidate.lexically_normal().string();
    return "";
}

}  // namespace imdb
