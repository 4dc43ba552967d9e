// UTF-8 decoding, encoding and repair. The text pipeline works on bytes for speed but must
// never split a multi-byte character or pass malformed bytes on: every reader below
// decodes one whole code point at a time and reports malformed input instead of guessing.
//
// Well-formed UTF-8 (RFC 3629, Unicode Table 3-7): 1 to 4 bytes, no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF. A malformed sequence is replaced by
// one U+FFFD per maximal ill-formed subpart (the W3C/WHATWG "substitution of maximal
// subparts" practice), so "\xE2\x82" (a truncated euro sign) becomes a single U+FFFD and
// the byte after it is decoded afresh.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nnlite::text {

/// The replacement character U+FFFD that stands for malformed input.
inline constexpr char32_t replacement_character = 0xFFFD;

/// One decoded code point and how many bytes it took. `valid` is false for a malformed
/// sequence; then `code_point` is U+FFFD and `length` is the size of the maximal ill-formed
/// subpart (at least 1), so a loop that advances by `length` always makes progress.
struct DecodedCodePoint {
    char32_t code_point;
    std::size_t length;
    bool valid;
};

/// Decodes the code point that starts at s[pos] (pos < s.size()).
inline DecodedCodePoint decode_utf8(std::string_view s, std::size_t pos) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(pos);
    if (b0 < 0x80) return {b0, 1, true};
    std::size_t need;
    char32_t cp;
    // Second-byte bounds exclude overlong forms (E0 80..9F, F0 80..8F), surrogates
    // (ED A0..BF) and code points above U+10FFFF (F4 90..BF).
    unsigned char lo = 0x80, hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        cp = b0 & 0x0Fu;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        cp = b0 & 0x07u;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        return {replacement_character, 1, false};  // stray continuation byte, C0/C1, F5..FF
    }
    std::size_t i = 1;
    for (; i <= need; ++i) {
        if (pos + i >= s.size()) return {replacement_character, i, false};
        const unsigned char b = byte(pos + i);
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF))
            return {replacement_character, i, false};
        cp = (cp << 6) | (b & 0x3Fu);
    }
    return {cp, need + 1, true};
}

/// Appends the UTF-8 encoding of `cp`; a surrogate or a value above U+10FFFF appends U+FFFD.
inline void append_utf8(std::string& out, char32_t cp) {
    if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) cp = replacement_character;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

/// Byte offset of the first malformed sequence, or s.size() when s is well-formed UTF-8.
/// ASCII runs are skipped eight bytes at a time: almost all review text is ASCII.
inline std::size_t find_invalid_utf8(std::string_view s) {
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        while (i + 8 <= n) {
            std::uint64_t word = 0;
            for (std::size_t k = 0; k < 8; ++k)
                word |= static_cast<std::uint64_t>(static_cast<unsigned char>(s[i + k])) << (8 * k);
            if (word & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= n) break;
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const DecodedCodePoint d = decode_utf8(s, i);
        if (!d.valid) return i;
        i += d.length;
    }
    return n;
}

inline bool is_valid_utf8(std::string_view s) {
    return find_invalid_utf8(s) == s.size();
}

/// Number of malformed sequences (each one would become one U+FFFD).
inline std::size_t count_invalid_utf8(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = find_invalid_utf8(s); i < s.size();) {
        const DecodedCodePoint d = decode_utf8(s, i);
        count += d.valid ? 0 : 1;
        i += d.length;
    }
    return count;
}

/// A copy of s in which every malformed sequence is replaced by U+FFFD (EF BF BD).
inline std::string repair_utf8(std::string_view s) {
    std::size_t first_bad = find_invalid_utf8(s);
    if (first_bad == s.size()) return std::string(s);
    std::string out;
    out.reserve(s.size() + 16);
    out.append(s.data(), first_bad);
    for (std::size_t i = first_bad; i < s.size();) {
        const DecodedCodePoint d = decode_utf8(s, i);
        if (d.valid)
            out.append(s.data() + i, d.length);
        else
            append_utf8(out, replacement_character);
        i += d.length;
    }
    return out;
}

/// Number of code points in well-formed text (a malformed sequence counts as one).
inline std::size_t utf8_length(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); i += decode_utf8(s, i).length) ++count;
    return count;
}

}  // namespace nnlite::text
