// Shared by the IMDB readers (directory_reader.cpp, archive_reader.cpp, csv_reader.cpp,
// dataset.cpp): the aclImdb layout, review file names, the policies for empty, oversized
// and malformed reviews (dataset.hpp), and error translation. Internal to imdb_data.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nnlite/core/error.hpp>
#include <nnlite/text/utf8.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.hpp"

namespace imdb::reader_detail {

namespace fs = std::filesystem;
using nnlite::check;
using nnlite::FormatError;
using nnlite::IoError;
using nnlite::ValueError;

// The four folders of the layout, in the order reviews are stored.
struct Folder {
    const char* split;
    const char* label_name;
    int label;
};
constexpr Folder folders[] = {
    {"train", "neg", 0}, {"train", "pos", 1}, {"test", "neg", 0}, {"test", "pos", 1}};

inline const char* layout_help =
    "expected the aclImdb layout {train,test}/{pos,neg}/<id>_<rating>.txt, optionally under a "
    "top folder aclImdb/";

/// Parses "<id>_<rating>.txt"; leaves id/rating at -1 when the name does not follow it.
inline void parse_review_name(std::string_view name, Review& r) {
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

inline bool is_blank(const std::string& s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    });
}

inline void check_review_size(std::size_t bytes, const std::string& where, const LoadOptions& opt) {
    check<FormatError>(opt.max_review_bytes == 0 || bytes <= opt.max_review_bytes, where,
                       ": review is ", bytes, " bytes, more than the limit of ",
                       opt.max_review_bytes, " bytes (LoadOptions::max_review_bytes)");
}

/// Applies the empty/UTF-8 policies and appends the review to `split`.
inline void accept_review(Dataset& data, std::vector<Review>& split, Review&& r) {
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

inline void sort_canonical(std::vector<Review>& split) {
    std::sort(split.begin(), split.end(), [](const Review& a, const Review& b) {
        if (a.label != b.label) return a.label < b.label;
        if (a.id != b.id) return a.id < b.id;
        return a.source < b.source;
    });
}

inline void add_policy_notes(Dataset& data) {
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

inline std::string read_whole_file(const fs::path& p) {
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

inline void check_exists(const std::string& path) {
    std::error_code ec;
    const auto st = fs::status(path, ec);
    check<IoError>(!ec || ec == std::errc::no_such_file_or_directory, "cannot access ", path, ": ",
                   ec.message());
    check<IoError>(fs::exists(st), "IMDB data path ", path, " does not exist");
}

inline std::string list_some(const std::vector<std::string>& names) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
    if (names.size() > 8) out += ", ...";
    return out.empty() ? "nothing" : out;
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

}  // namespace imdb::reader_detail
