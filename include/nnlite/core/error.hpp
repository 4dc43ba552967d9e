// nnlite errors: every failure a user can cause is an exception derived from nnlite::Error
// whose message names what was expected and what was found.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace nnlite {

/// Base of every exception nnlite throws on bad input or misuse.
class Error : public std::runtime_error {
  public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
    /// From a literal, with no std::string built here (backend/cpu/isa.hpp's refusal of an
    /// unsupported instruction set must run nothing compiled for that set).
    explicit Error(const char* what) : std::runtime_error(what) {}
};

/// Tensor shapes do not fit the operation (message names both shapes).
class ShapeError : public Error {
  public:
    using Error::Error;
};

/// An index (embedding id, dim, narrow range...) is out of range.
class IndexError : public Error {
  public:
    using Error::Error;
};

/// A value is invalid (negative probability, empty tensor where one is required...).
class ValueError : public Error {
  public:
    using Error::Error;
};

/// The autograd graph was used wrongly (backward twice, non-scalar without gradient...).
class AutogradError : public Error {
  public:
    using Error::Error;
};

/// Reading or writing a file failed (message names the file and the OS error).
class IoError : public Error {
  public:
    using Error::Error;
};

/// A file's content is malformed (message names the file and the problem).
class FormatError : public Error {
  public:
    using Error::Error;
};

namespace detail {

template <class... Args>
std::string concat(Args&&... args) {
    std::ostringstream os;
    (os << ... << std::forward<Args>(args));
    return os.str();
}

}  // namespace detail

/// Throws E with the streamed message when cond is false.
template <class E = Error, class... Args>
inline void check(bool cond, Args&&... args) {
    if (!cond) throw E(detail::concat(std::forward<Args>(args)...));
}

}  // namespace nnlite
