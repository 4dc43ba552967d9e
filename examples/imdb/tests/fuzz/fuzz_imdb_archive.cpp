// libFuzzer target for the IMDB archive reader (data/archive_reader.cpp, libarchive): any
// byte string is either a dataset in the aclImdb layout whose reviews are well-formed, or
// a FormatError naming the input. Anything else (a crash, a sanitizer report, a review
// over the size limit slipping through) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nnlite/core/error.hpp>
#include <nnlite/text/utf8.hpp>

#include "data/dataset.hpp"

namespace {
constexpr std::size_t max_review_bytes = 1 << 16;
void check_split(const std::vector<imdb::Review>& split) {
    for (const auto& r : split)
        if ((r.label != 0 && r.label != 1) || r.text.empty() || r.text.size() > max_review_bytes ||
            !nnlite::text::is_valid_utf8(r.text))
            std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    imdb::LoadOptions options;
    options.max_review_bytes = max_review_bytes;
    try {
        const auto d = imdb::load_archive_memory(data, size, "fuzz.tar", options);
        check_split(d.train);
        check_split(d.test);
    } catch (const nnlite::FormatError&) {
    }
    return 0;
}
