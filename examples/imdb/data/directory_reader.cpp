// IMDB reader: the unpacked aclImdb directory tree. See dataset.hpp for the contract.
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
#include <nnlite/text/utf8.hpp>
#include <sstream>
#include <string_view>
#include <utility>

#include "data/reader_support.hpp"

namespace imdb {

using namespace reader_detail;  // check, the error types, the shared policies

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

}  // namespace imdb
