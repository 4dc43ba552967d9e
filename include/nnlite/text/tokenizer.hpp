// A word tokenizer for English prose (reviews, comments), run after normalize_text.
//
// Rules, in the order they apply:
//  - A word is a run of letters and digits of any script; every code point that is not
//    whitespace, punctuation or a symbol (below) counts as a letter, including U+FFFD. The
//    scanner moves one whole code point at a time, so a multi-byte character is never split.
//  - Apostrophes inside a word: a negation contraction stays one token ("don't", "isn't",
//    "can't", "won't", "shouldn't"), because "n't" flips the meaning of what it is attached
//    to and a model should see it as one unit. With keep_negations(false) it is split the
//    Penn Treebank way ("do" "n't", "ca" "n't"). The clitics 's 're 've 'll 'd 'm are split
//    off as their own tokens ("it" "'s", "movie" "'s") with split_clitics(true), the
//    default, so "movie's" shares the embedding of "movie"; with split_clitics(false) the
//    word stays whole ("it's"). Any other inner apostrophe stays ("o'clock", "rock'n'roll").
//    A leading or trailing apostrophe is a quote mark and only separates.
//  - Numbers stay, with inner '.' or ',' between digits ("7.5", "1,000"); "10/10" is "10"
//    "10". keep_numbers(false) drops tokens made only of digits, '.' and ','.
//  - Punctuation: each ASCII character listed in punctuation_tokens() ("!?" by default, the
//    two that carry sentiment: "great!" vs "great?") is a token of its own, one per
//    character ("!!" is "!" "!"). Every other punctuation character, ASCII or not (dashes,
//    quotes, ellipsis, ¿¡«»...), only separates words.
//  - Symbols and emoji (U+2190..U+2BFF: arrows, stars, hearts, dingbats; U+1F000..U+1FAFF)
//    are one token each: "★★★" is three "★" tokens.
//
// Tokens are string_views into the normalised text: tokenizing allocates nothing.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nnlite/text/normalize.hpp"
#include "nnlite/text/utf8.hpp"

namespace nnlite::text {

class TokenizerOptions {
  public:
    /// Normalisation applied by Tokenizer::for_each_token / tokenize before splitting.
    TokenizerOptions& normalize(const NormalizeOptions& n) {
        normalize_ = n;
        return *this;
    }
    TokenizerOptions& keep_negations(bool on) {
        keep_negations_ = on;
        return *this;
    }
    TokenizerOptions& split_clitics(bool on) {
        split_clitics_ = on;
        return *this;
    }
    TokenizerOptions& keep_numbers(bool on) {
        keep_numbers_ = on;
        return *this;
    }
    /// ASCII punctuation characters emitted as tokens; all other punctuation separates.
    TokenizerOptions& punctuation_tokens(std::string chars) {
        punctuation_tokens_ = std::move(chars);
        return *this;
    }
    const NormalizeOptions& normalize() const { return normalize_; }
    bool keep_negations() const { return keep_negations_; }
    bool split_clitics() const { return split_clitics_; }
    bool keep_numbers() const { return keep_numbers_; }
    const std::string& punctuation_tokens() const { return punctuation_tokens_; }

  private:
    NormalizeOptions normalize_;
    bool keep_negations_ = true;
    bool split_clitics_ = true;
    bool keep_numbers_ = true;
    std::string punctuation_tokens_ = "!?";
};

/// How the tokenizer treats one code point.
enum class CharClass : std::uint8_t { word, space, punctuation, symbol };

/// Class of a non-ASCII code point (ASCII is handled by a table in Tokenizer).
inline CharClass classify_non_ascii(char32_t cp) {
    if (cp <= 0x9F) return CharClass::space;  // C1 controls
    if (cp <= 0xBF) {
        // Latin-1 punctuation and signs, except the letter- and number-like ones
        // (ª ² ³ µ ¹ º ¼ ½ ¾).
        switch (cp) {
            case 0xA0:
                return CharClass::space;
            case 0xAA:
            case 0xB2:
            case 0xB3:
            case 0xB5:
            case 0xB9:
            case 0xBA:
            case 0xBC:
            case 0xBD:
            case 0xBE:
                return CharClass::word;
            default:
                return CharClass::punctuation;
        }
    }
    if (cp == 0xD7 || cp == 0xF7) return CharClass::punctuation;  // × ÷
    if (cp < 0x1680) return CharClass::word;
    if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200D) || cp == 0x2028 || cp == 0x2029 ||
        cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF)
        return CharClass::space;
    if (cp >= 0x2010 && cp <= 0x206F) return CharClass::punctuation;  // dashes, quotes, …
    if (cp >= 0x2190 && cp <= 0x2BFF) return CharClass::symbol;
    if ((cp >= 0x3001 && cp <= 0x3003) || (cp >= 0x3008 && cp <= 0x3011) ||
        (cp >= 0xFF01 && cp <= 0xFF0F))
        return CharClass::punctuation;  // CJK and full-width punctuation
    if (cp >= 0x1F000 && cp <= 0x1FAFF) return CharClass::symbol;
    return CharClass::word;
}

class Tokenizer {
  public:
    explicit Tokenizer(TokenizerOptions options = TokenizerOptions())
        : options_(std::move(options)) {
        for (int c = 0; c < 128; ++c) {
            const bool alnum =
                (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            ascii_[c] = alnum                     ? CharClass::word
                        : (c <= ' ' || c == 0x7F) ? CharClass::space
                                                  : CharClass::punctuation;
        }
        for (char c : options_.punctuation_tokens())
            if (static_cast<unsigned char>(c) < 128 &&
                ascii_[static_cast<unsigned char>(c)] == CharClass::punctuation)
                punct_token_[static_cast<unsigned char>(c)] = true;
    }

    const TokenizerOptions& options() const { return options_; }

    /// Calls emit(std::string_view token) for every token of already-normalised text.
    template <class Emit>
    void tokenize_normalized(std::string_view s, Emit&& emit) const {
        const std::size_t n = s.size();
        std::size_t i = 0;
        while (i < n) {
            std::size_t len = 1;
            const CharClass cls = class_at(s, i, len);
            if (cls == CharClass::space) {
                i += len;
            } else if (cls == CharClass::punctuation) {
                if (len == 1 && punct_token_[static_cast<unsigned char>(s[i])])
                    emit(s.substr(i, 1));
                i += len;
            } else if (cls == CharClass::symbol) {
                emit(s.substr(i, len));
                i += len;
            } else {
                i = scan_word(s, i, emit);
            }
        }
    }

    /// Normalises `text` into `scratch` (reused buffer) and emits its tokens, which are
    /// views into `scratch`, valid until it changes.
    template <class Emit>
    void for_each_token(std::string_view text, std::string& scratch, Emit&& emit) const {
        normalize_text(text, scratch, options_.normalize());
        tokenize_normalized(scratch, emit);
    }

    /// Normalised tokens of `text` as owned strings.
    std::vector<std::string> tokenize(std::string_view text) const {
        std::string scratch;
        std::vector<std::string> tokens;
        for_each_token(text, scratch, [&](std::string_view t) { tokens.emplace_back(t); });
        return tokens;
    }

  private:
    CharClass class_at(std::string_view s, std::size_t i, std::size_t& len) const {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            len = 1;
            return ascii_[c];
        }
        const DecodedCodePoint d = decode_utf8(s, i);
        len = d.length;
        return d.valid ? classify_non_ascii(d.code_point) : CharClass::word;
    }

    bool is_word_at(std::string_view s, std::size_t i) const {
        std::size_t len = 1;
        return i < s.size() && class_at(s, i, len) == CharClass::word;
    }

    /// End of the run of word characters starting at i.
    std::size_t word_run_end(std::string_view s, std::size_t i) const {
        std::size_t len = 1;
        while (i < s.size() && class_at(s, i, len) == CharClass::word) i += len;
        return i;
    }

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    static bool is_clitic(std::string_view suffix) {
        return suffix == "s" || suffix == "re" || suffix == "ve" || suffix == "ll" ||
               suffix == "d" || suffix == "m";
    }

    template <class Emit>
    void emit_word(std::string_view token, Emit& emit) const {
        if (token.empty()) return;
        if (!options_.keep_numbers()) {
            bool numeric = true;
            for (char c : token) numeric = numeric && (is_digit(c) || c == '.' || c == ',');
            if (numeric) return;
        }
        emit(token);
    }

    /// Scans the word starting at `start` (a word character), emits its token(s) and
    /// returns where scanning resumes.
    template <class Emit>
    std::size_t scan_word(std::string_view s, std::size_t start, Emit& emit) const {
        const std::size_t n = s.size();
        std::size_t j = start;
        bool all_digits = true;
        while (true) {
            const std::size_t run_begin = j;
            j = word_run_end(s, j);
            for (std::size_t k = run_begin; k < j && all_digits; ++k) all_digits = is_digit(s[k]);
            if (j + 1 >= n) break;
            const char c = s[j];
            if ((c == '.' || c == ',') && all_digits && is_digit(s[j - 1]) && is_digit(s[j + 1])) {
                ++j;  // 7.5, 1,000
                continue;
            }
            if (c != '\'' || !is_word_at(s, j + 1)) break;
            all_digits = false;
            const std::size_t suffix_end = word_run_end(s, j + 1);
            const std::string_view suffix = s.substr(j + 1, suffix_end - j - 1);
            if (suffix == "t" && s[j - 1] == 'n' && j - 1 > start) {
                if (options_.keep_negations()) {
                    j = suffix_end;
                    continue;
                }
                emit_word(s.substr(start, j - 1 - start), emit);
                emit(s.substr(j - 1, suffix_end - (j - 1)));
                return suffix_end;
            }
            if (is_clitic(suffix) && options_.split_clitics()) {
                emit_word(s.substr(start, j - start), emit);
                emit(s.substr(j, suffix_end - j));
                return suffix_end;
            }
            j = suffix_end;  // "o'clock", or a clitic kept whole
        }
        emit_word(s.substr(start, j - start), emit);
        return j;
    }

    TokenizerOptions options_;
    std::array<CharClass, 128> ascii_{};
    std::array<bool, 128> punct_token_{};
};

}  // namespace nnlite::text
