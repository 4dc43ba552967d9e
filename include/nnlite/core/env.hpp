// Environment variables holding whole numbers (NNLITE_NUM_THREADS, NNLITE_CPU_CACHE_MB):
// one strict parser, so that "4 ", "-1", "1e3", "0x10" or a 40-digit number are rejected the
// same way everywhere (each caller then says on stderr what it ignored and what it uses).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>

namespace nnlite::detail {

/// v as a whole number when it is 1 to max_digits decimal digits and nothing else (so it
/// cannot overflow for max_digits <= 19); nullopt for null, empty, signs, spaces, other
/// characters or more digits.
inline std::optional<unsigned long long> parse_whole_number(const char* v, std::size_t max_digits) {
    if (v == nullptr) return std::nullopt;
    const std::string s(v);
    if (s.empty() || s.size() > max_digits ||
        s.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    return std::strtoull(s.c_str(), nullptr, 10);
}

}  // namespace nnlite::detail
