// libFuzzer target for the IMDB CSV reader (data/csv_reader.cpp): any byte string is either
// a dataset whose every review is well-formed (UTF-8, label 0/1, non-empty) or a
// FormatError / ValueError naming the input. Anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nnlite/core/error.hpp>
#include <nnlite/text/utf8.hpp>
#include <string>

#include "data/dataset.hpp"

namespace {
void check_split(const std::vector<imdb::Review>& split) {
    for (const auto& r : split)
        if ((r.label != 0 && r.label != 1) || r.text.empty() ||
            !nnlite::text::is_valid_utf8(r.text))
            std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    imdb::LoadOptions options;
    options.max_review_bytes = 1 << 16;
    try {
        const auto d = imdb::load_csv_text(std::string(reinterpret_cast<const char*>(data), size),
                                           "fuzz.csv", options);
        check_split(d.train);
        check_split(d.test);
    } catch (const nnlite::FormatError&) {
    } catch (const nnlite::ValueError&) {
    }
    return 0;
}
