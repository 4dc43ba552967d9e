// IMDB reader: tar/tar.gz/zip archives of the aclImdb layout, through libarchive without
// unpacking. See dataset.hpp for the contract.
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
#include <nnlite/text/utf8.hpp>
#include <sstream>
#include <string_view>
#include <utility>

#include "data/reader_support.hpp"

namespace imdb {

using namespace reader_detail;  // check, the error types, the shared policies

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

namespace {

using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

/// A libarchive reader for the formats the data comes in (tar, gnutar, zip; any filter).
ArchivePtr new_reader(const std::string& path) {
    ArchivePtr a(archive_read_new());
    check<IoError>(a != nullptr, path, ": libarchive could not allocate a reader");
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_format_zip(a.get());
    return a;
}

std::string lib_error(archive* a) {
    const char* msg = archive_error_string(a);
    return std::string(msg ? msg : "unknown libarchive error");
}

/// Reads every review of an opened archive; `path` names it in errors and sources.
Dataset read_reviews(archive* a, const std::string& path, const LoadOptions& options) {
    const auto lib_error = [a]() { return imdb::lib_error(a); };
    Dataset data;
    data.format = Format::archive;
    data.path = path;
    std::size_t per_folder[4] = {0, 0, 0, 0};
    std::vector<std::string> first_entries;
    archive_entry* entry = nullptr;
    std::size_t entries = 0;
    while (true) {
        const int rc = archive_read_next_header(a, &entry);
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
            const la_ssize_t got = archive_read_data(a, buf, sizeof buf);
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

}  // namespace

Dataset load_archive(const std::string& path, const LoadOptions& options) {
    check_exists(path);
    check<FormatError>(!fs::is_directory(path), path, ": is a directory, not an archive");
    {
        std::ifstream probe(path, std::ios::binary);
        check<IoError>(static_cast<bool>(probe), "cannot open ", path, ": ", std::strerror(errno));
    }
    const ArchivePtr a = new_reader(path);
    check<FormatError>(archive_read_open_filename(a.get(), path.c_str(), 1 << 16) == ARCHIVE_OK,
                       path, ": not a readable tar/tar.gz/zip archive (", lib_error(a.get()), ")");
    return read_reviews(a.get(), path, options);
}

Dataset load_archive_memory(const void* bytes, std::size_t size, const std::string& name,
                            const LoadOptions& options) {
    const ArchivePtr a = new_reader(name);
    check<FormatError>(archive_read_open_memory(a.get(), bytes, size) == ARCHIVE_OK, name,
                       ": not a readable tar/tar.gz/zip archive (", lib_error(a.get()), ")");
    return read_reviews(a.get(), name, options);
}

}  // namespace imdb
