#include "app/server/limits.hpp"

#include <algorithm>

namespace imdb::server {

namespace {
bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0u) == 0x80u;
}
// The first n bytes, shortened to end at whitespace (if any in the last quarter) or at least
// at a character boundary.
std::string_view head(std::string_view s, std::size_t n) {
    if (n >= s.size()) return s;
    std::size_t end = n;
    for (std::size_t i = n; i > n - n / 4; --i)
        if (is_space(s[i])) {
            end = i;
            break;
        }
    while (end > 0 && is_continuation(s[end])) --end;
    return s.substr(0, end);
}
std::string_view tail(std::string_view s, std::size_t n) {
    if (n >= s.size()) return s;
    std::size_t begin = s.size() - n;
    for (std::size_t i = begin; i < begin + n / 4 && i < s.size(); ++i)
        if (is_space(s[i])) {
            begin = i;
            break;
        }
    while (begin < s.size() && is_continuation(s[begin])) ++begin;
    return s.substr(begin);
}
}  // namespace

std::string cut_text(std::string_view text, std::size_t max_bytes,
                     nnlite::text::Truncation truncation, double head_fraction) {
    using nnlite::text::Truncation;
    if (text.size() <= max_bytes) return std::string(text);
    if (truncation == Truncation::tail) return std::string(tail(text, max_bytes));
    if (truncation == Truncation::head_tail) {
        const auto h = static_cast<std::size_t>(static_cast<double>(max_bytes) *
                                                std::clamp(head_fraction, 0.0, 1.0));
        return std::string(head(text, h)) + " " + std::string(tail(text, max_bytes - h));
    }
    return std::string(head(text, max_bytes));
}

}  // namespace imdb::server
