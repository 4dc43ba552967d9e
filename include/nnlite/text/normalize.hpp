// Text normalisation before tokenizing: HTML tags removed, character references decoded,
// ASCII lowercased, typographic apostrophes unified, malformed UTF-8 repaired. All of it is
// one pass over the bytes into a caller-owned buffer, so normalising a corpus costs no
// allocation per character or per document once the buffer has grown.
//
// What each step does, exactly:
//  - Tags: '<' followed by a letter, '/', '!' or '?' starts a tag that ends at the next
//    '>'; the tag is replaced by one space (so "good<br />bad" still splits). A '<' that
//    does not start a tag ("I <3 it", "a < b") or that is never closed is kept as text.
//  - Character references: the named ones below, &#NNN; and &#xHH; are decoded. A numeric
//    reference to 0, a surrogate or a value past U+10FFFF decodes to U+FFFD; an unknown
//    name or a reference without its ';' is kept as written. Decoding happens after tag
//    removal in the same pass, so "&lt;b&gt;" is the text "<b>", never a tag.
//  - &nbsp; and U+00A0 become a plain space.
//  - Lowercasing is ASCII only: other code points are copied unchanged, byte for byte.
//  - Apostrophes: U+2019 (’), U+2018 (‘), U+02BC (ʼ), U+00B4 (´) and '`' become "'", so
//    "don’t" and "don't" are the same token.
//  - Malformed UTF-8 is replaced by U+FFFD (InvalidUtf8::replace, the default: the
//    reader can still see something was there) or dropped (InvalidUtf8::drop); see utf8.hpp
//    for what counts as one malformed sequence. The output is always well-formed UTF-8.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "nnlite/text/utf8.hpp"

namespace nnlite::text {

enum class InvalidUtf8 { replace, drop };

/// Which normalisation steps run (all on by default). Setters chain, libtorch style:
/// NormalizeOptions().lowercase(false).invalid_utf8(InvalidUtf8::drop).
class NormalizeOptions {
  public:
    NormalizeOptions& strip_html(bool on) {
        strip_html_ = on;
        return *this;
    }
    NormalizeOptions& decode_entities(bool on) {
        decode_entities_ = on;
        return *this;
    }
    NormalizeOptions& lowercase(bool on) {
        lowercase_ = on;
        return *this;
    }
    NormalizeOptions& unify_apostrophes(bool on) {
        unify_apostrophes_ = on;
        return *this;
    }
    NormalizeOptions& invalid_utf8(InvalidUtf8 policy) {
        invalid_utf8_ = policy;
        return *this;
    }
    bool strip_html() const { return strip_html_; }
    bool decode_entities() const { return decode_entities_; }
    bool lowercase() const { return lowercase_; }
    bool unify_apostrophes() const { return unify_apostrophes_; }
    InvalidUtf8 invalid_utf8() const { return invalid_utf8_; }

  private:
    bool strip_html_ = true;
    bool decode_entities_ = true;
    bool lowercase_ = true;
    bool unify_apostrophes_ = true;
    InvalidUtf8 invalid_utf8_ = InvalidUtf8::replace;
};

namespace detail {

struct NamedEntity {
    const char* name;
    char32_t code_point;
};

// The HTML 4 entities that occur in scraped review text; the full HTML5 table has 2,231
// names, almost none of which appear in prose.
inline constexpr NamedEntity named_entities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"hellip", 0x2026}, {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"laquo", 0xAB},   {"raquo", 0xBB},
    {"copy", 0xA9},    {"reg", 0xAE},      {"trade", 0x2122}, {"deg", 0xB0},     {"middot", 0xB7},
    {"bull", 0x2022},  {"frac12", 0xBD},   {"frac14", 0xBC},  {"frac34", 0xBE},  {"eacute", 0xE9},
    {"egrave", 0xE8},  {"ecirc", 0xEA},    {"euml", 0xEB},    {"aacute", 0xE1},  {"agrave", 0xE0},
    {"acirc", 0xE2},   {"auml", 0xE4},     {"aring", 0xE5},   {"iacute", 0xED},  {"iuml", 0xEF},
    {"oacute", 0xF3},  {"ocirc", 0xF4},    {"ouml", 0xF6},    {"oslash", 0xF8},  {"uacute", 0xFA},
    {"uuml", 0xFC},    {"ntilde", 0xF1},   {"ccedil", 0xE7},  {"szlig", 0xDF},   {"Eacute", 0xC9},
    {"Aacute", 0xC1},  {"Ouml", 0xD6},     {"Uuml", 0xDC},
};

inline bool is_ascii_alpha(unsigned char c) {
    return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
inline bool is_ascii_digit(unsigned char c) {
    return c >= '0' && c <= '9';
}
inline int hex_value(unsigned char c) {
    if (is_ascii_digit(c)) return c - '0';
    c = static_cast<unsigned char>(c | 0x20);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/// Parses a character reference at s[pos] == '&'. On success stores the code point and the
/// reference's length (including '&' and ';') and returns true.
inline bool parse_entity(std::string_view s, std::size_t pos, char32_t& cp, std::size_t& len) {
    std::size_t i = pos + 1;
    if (i < s.size() && s[i] == '#') {
        ++i;
        const bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
        if (hex) ++i;
        const std::size_t digits_begin = i;
        std::uint32_t value = 0;
        for (; i < s.size() && i - digits_begin < 8; ++i) {
            const int d =
                hex ? hex_value(static_cast<unsigned char>(s[i]))
                    : (is_ascii_digit(static_cast<unsigned char>(s[i])) ? s[i] - '0' : -1);
            if (d < 0) break;
            value = value * (hex ? 16u : 10u) + static_cast<std::uint32_t>(d);
        }
        if (i == digits_begin || i >= s.size() || s[i] != ';') return false;
        const bool bad = value == 0 || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF);
        cp = bad ? replacement_character : static_cast<char32_t>(value);
        len = i + 1 - pos;
        return true;
    }
    const std::size_t name_begin = i;
    while (i < s.size() && i - name_begin <= 8 &&
           (is_ascii_alpha(static_cast<unsigned char>(s[i])) ||
            is_ascii_digit(static_cast<unsigned char>(s[i]))))
        ++i;
    if (i == name_begin || i >= s.size() || s[i] != ';') return false;
    const std::string_view name = s.substr(name_begin, i - name_begin);
    for (const auto& e : named_entities) {
        if (name == e.name) {
            cp = e.code_point;
            len = i + 1 - pos;
            return true;
        }
    }
    return false;
}

inline bool is_apostrophe_variant(char32_t cp) {
    return cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x00B4 || cp == '`';
}

/// Appends one code point with the per-character rules (lowercase, apostrophes, nbsp).
inline void emit_code_point(std::string& out, char32_t cp, const NormalizeOptions& opt) {
    if (cp == 0xA0) cp = ' ';
    if (opt.unify_apostrophes() && is_apostrophe_variant(cp)) cp = '\'';
    if (opt.lowercase() && cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    append_utf8(out, cp);
}

}  // namespace detail

/// Normalises `in` into `out` (cleared first; its capacity is reused across calls).
inline void normalize_text(std::string_view in, std::string& out,
                           const NormalizeOptions& opt = NormalizeOptions()) {
    out.clear();
    out.reserve(in.size() + 8);
    const std::size_t n = in.size();
    // Position of the next '>' at or after the current scan point; npos when none is left.
    // Caching it keeps tag search linear even for text with many unclosed '<'.
    std::size_t next_gt = 0;
    bool gt_known = false;
    std::size_t i = 0;
    while (i < n) {
        // Copy the longest run of bytes that need no attention in one append.
        std::size_t run = i;
        while (run < n) {
            const unsigned char c = static_cast<unsigned char>(in[run]);
            if (c >= 0x80 || c == '<' || c == '&' || c == '`' ||
                (opt.lowercase() && c >= 'A' && c <= 'Z'))
                break;
            ++run;
        }
        if (run > i) {
            out.append(in.data() + i, run - i);
            i = run;
            if (i >= n) break;
        }
        const unsigned char c = static_cast<unsigned char>(in[i]);
        if (c == '<' && opt.strip_html() && i + 1 < n) {
            const unsigned char d = static_cast<unsigned char>(in[i + 1]);
            if (detail::is_ascii_alpha(d) || d == '/' || d == '!' || d == '?') {
                if (!gt_known || (next_gt != std::string_view::npos && next_gt <= i)) {
                    next_gt = in.find('>', i + 1);
                    gt_known = true;
                }
                if (next_gt != std::string_view::npos) {
                    out.push_back(' ');
                    i = next_gt + 1;
                    continue;
                }
            }
        }
        if (c == '&' && opt.decode_entities()) {
            char32_t cp = 0;
            std::size_t len = 0;
            if (detail::parse_entity(in, i, cp, len)) {
                detail::emit_code_point(out, cp, opt);
                i += len;
                continue;
            }
        }
        if (c < 0x80) {
            detail::emit_code_point(out, c, opt);
            ++i;
            continue;
        }
        const DecodedCodePoint d = decode_utf8(in, i);
        if (!d.valid) {
            if (opt.invalid_utf8() == InvalidUtf8::replace) append_utf8(out, replacement_character);
        } else if (d.code_point == 0xA0 ||
                   (opt.unify_apostrophes() && detail::is_apostrophe_variant(d.code_point))) {
            detail::emit_code_point(out, d.code_point, opt);
        } else {
            out.append(in.data() + i, d.length);
        }
        i += d.length;
    }
}

/// Convenience form returning a new string.
inline std::string normalize_text(std::string_view in,
                                  const NormalizeOptions& opt = NormalizeOptions()) {
    std::string out;
    normalize_text(in, out, opt);
    return out;
}

}  // namespace nnlite::text
