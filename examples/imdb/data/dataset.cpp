// The IMDB dataset: format detection, the loader that picks a reader, summaries, splits and
// the data-path lookup. The readers are directory_reader.cpp, archive_reader.cpp and
// csv_reader.cpp. See dataset.hpp for the contract.
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
#include <nnlite/core/threads.hpp>
#include <nnlite/text/batching.hpp>
#include <sstream>
#include <string_view>
#include <utility>

#include "data/reader_support.hpp"

namespace imdb {

using namespace reader_detail;  // check, the error types, the shared policies

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
