// libFuzzer target for the vocabulary file format (text/vocabulary.hpp): any byte string is
// either a vocabulary that saves and parses back to itself, or a FormatError. Anything else
// (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nnlite/text/vocabulary.hpp>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using nnlite::text::Vocabulary;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    Vocabulary v;
    try {
        v = Vocabulary::parse(text, "fuzz-input");
    } catch (const nnlite::FormatError&) {
        return 0;  // the expected outcome for malformed input
    }
    // A vocabulary that parsed is well-formed: ids and tokens map both ways.
    if (v.size() < 2 || v.token(Vocabulary::pad_id) != Vocabulary::pad_token) std::abort();
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto id = static_cast<std::int32_t>(i);
        if (v.id(v.token(id)) != id) std::abort();
    }
    return 0;
}
