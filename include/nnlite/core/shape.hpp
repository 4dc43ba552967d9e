// Shape: the extents of a row-major contiguous tensor, plus the helpers ops share
// (element count, strides, broadcasting, dim normalisation).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "nnlite/core/error.hpp"

namespace nnlite {

using Shape = std::vector<std::size_t>;

/// "[2,3,4]"
inline std::string to_string(const Shape& s) {
    std::string out = "[";
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i) out += ",";
        out += std::to_string(s[i]);
    }
    return out + "]";
}

inline std::size_t numel(const Shape& s) {
    std::size_t n = 1;
    for (auto d : s) n *= d;
    return n;
}

/// Row-major strides in elements.
inline std::vector<std::size_t> contiguous_strides(const Shape& s) {
    std::vector<std::size_t> st(s.size(), 1);
    for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
    return st;
}

/// Maps a possibly negative dim (PyTorch style) into [0, rank); throws IndexError otherwise.
inline std::size_t normalize_dim(std::int64_t dim, std::size_t rank, const char* op) {
    const auto r = static_cast<std::int64_t>(rank);
    const std::int64_t d = dim < 0 ? dim + r : dim;
    check<IndexError>(d >= 0 && d < r, op, ": dim ", dim, " is out of range for a tensor of rank ",
                      rank);
    return static_cast<std::size_t>(d);
}

/// NumPy/PyTorch broadcasting of two shapes; throws ShapeError naming both.
inline Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const std::size_t r = a.size() > b.size() ? a.size() : b.size();
    Shape out(r);
    for (std::size_t i = 0; i < r; ++i) {
        const std::size_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        const std::size_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        check<ShapeError>(da == db || da == 1 || db == 1, op, ": shapes ", to_string(a), " and ",
                          to_string(b), " cannot be broadcast together");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// Strides (in elements) that read a tensor of shape `s` as if it had shape `target`
/// (broadcast dims get stride 0). `s` must broadcast to `target`.
inline std::vector<std::size_t> broadcast_strides(const Shape& s, const Shape& target) {
    std::vector<std::size_t> st(target.size(), 0);
    const auto own = contiguous_strides(s);
    const std::size_t off = target.size() - s.size();
    for (std::size_t i = 0; i < s.size(); ++i) st[off + i] = s[i] == 1 ? 0 : own[i];
    return st;
}

}  // namespace nnlite
