// Grad mode: whether ops record the autograd graph. NoGradGuard turns recording off for
// its scope (evaluation, optimizer steps, backward itself), per thread.
#pragma once

namespace nnlite {

namespace detail {
inline bool& grad_enabled_slot() {
    thread_local bool enabled = true;
    return enabled;
}
}  // namespace detail

inline bool is_grad_enabled() {
    return detail::grad_enabled_slot();
}

/// RAII: disables graph recording until destroyed, then restores the previous mode.
class NoGradGuard {
  public:
    NoGradGuard() : prev_(detail::grad_enabled_slot()) { detail::grad_enabled_slot() = false; }
    ~NoGradGuard() { detail::grad_enabled_slot() = prev_; }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

  private:
    bool prev_;
};

}  // namespace nnlite
