// Learning-rate schedulers with torch.optim.lr_scheduler's semantics:
//
// StepLR(opt, step_size, gamma): call step() once per epoch, after the optimizer steps.
//   After the e-th call, lr = base_lr * gamma^floor(e / step_size); implemented, like
//   PyTorch, by multiplying the optimizer's current lr by gamma whenever e is a multiple of
//   step_size.
//
// ReduceLROnPlateau(opt, options): call step(metric) once per epoch with the validation
//   metric. A metric is an improvement over the best so far when (mode min, rel threshold)
//   metric < best * (1 - threshold) (abs: metric < best - threshold; mode max mirrors it).
//   After more than `patience` epochs in a row without improvement, lr becomes
//   max(lr * factor, min_lr) (only if that changes lr by more than eps), then `cooldown`
//   epochs pass during which bad epochs are not counted.
//
// Both expose state_dict()/load_state_dict() as an nn::StateDict<double> of 0-d tensors
// (the same form the optimizer and module use, so one checkpoint holds all of them);
// "lr" in it is the exact double learning rate, which loading writes back into the
// optimizer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "nnlite/core/error.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/optim/optimizer.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::optim {

namespace detail {

inline double scheduler_value(const nn::StateDict<double>& dict, const std::string& key,
                              const char* who) {
    auto it = dict.find(key);
    check<FormatError>(it != dict.end(), who, "::load_state_dict: missing key '", key, "'");
    check<ShapeError>(it->second.numel() == 1, who, "::load_state_dict: key '", key, "' has shape ",
                      to_string(it->second.shape()), ", expected a scalar");
    return it->second.item();
}

}  // namespace detail

template <class T = float, class B = cpu>
class StepLR {
  public:
    StepLR(Optimizer<T, B>& optimizer, std::int64_t step_size, double gamma = 0.1)
        : opt_(optimizer), step_size_(step_size), gamma_(gamma) {
        check<ValueError>(step_size > 0, "StepLR: step_size must be positive, got ", step_size);
        check<ValueError>(gamma > 0.0, "StepLR: gamma must be positive, got ", gamma);
    }

    /// Ends an epoch: advances the epoch counter and decays the lr on multiples of
    /// step_size.
    void step() {
        ++last_epoch_;
        if (last_epoch_ % step_size_ == 0) opt_.set_lr(opt_.lr() * gamma_);
    }

    /// Number of step() calls so far.
    std::int64_t last_epoch() const { return last_epoch_; }
    double get_last_lr() const { return opt_.lr(); }

    nn::StateDict<double> state_dict() const {
        return {{"last_epoch", Tensor<double>::scalar(static_cast<double>(last_epoch_))},
                {"lr", Tensor<double>::scalar(opt_.lr())}};
    }
    void load_state_dict(const nn::StateDict<double>& dict) {
        const double epoch = detail::scheduler_value(dict, "last_epoch", "StepLR");
        const double lr = detail::scheduler_value(dict, "lr", "StepLR");
        check<ValueError>(epoch >= 0.0, "StepLR::load_state_dict: negative last_epoch ", epoch);
        opt_.set_lr(lr);
        last_epoch_ = static_cast<std::int64_t>(epoch);
    }

  private:
    Optimizer<T, B>& opt_;
    std::int64_t step_size_;
    double gamma_;
    std::int64_t last_epoch_ = 0;
};

enum class PlateauMode { min, max };
enum class ThresholdMode { rel, abs };

/// ReduceLROnPlateauOptions().mode(PlateauMode::max).factor(0.5).patience(2) ...; the
/// defaults are PyTorch's.
class ReduceLROnPlateauOptions {
  public:
#define NNLITE_OPTIONS_ARG(type, name)       \
    ReduceLROnPlateauOptions& name(type v) { \
        name##_ = v;                         \
        return *this;                        \
    }                                        \
    type name() const {                      \
        return name##_;                      \
    }
    NNLITE_OPTIONS_ARG(PlateauMode, mode)
    NNLITE_OPTIONS_ARG(double, factor)
    NNLITE_OPTIONS_ARG(std::int64_t, patience)
    NNLITE_OPTIONS_ARG(double, threshold)
    NNLITE_OPTIONS_ARG(ThresholdMode, threshold_mode)
    NNLITE_OPTIONS_ARG(std::int64_t, cooldown)
    NNLITE_OPTIONS_ARG(double, min_lr)
    NNLITE_OPTIONS_ARG(double, eps)
#undef NNLITE_OPTIONS_ARG

  private:
    PlateauMode mode_ = PlateauMode::min;
    double factor_ = 0.1;
    std::int64_t patience_ = 10;
    double threshold_ = 1e-4;
    ThresholdMode threshold_mode_ = ThresholdMode::rel;
    std::int64_t cooldown_ = 0;
    double min_lr_ = 0.0;
    double eps_ = 1e-8;
};

template <class T = float, class B = cpu>
class ReduceLROnPlateau {
  public:
    explicit ReduceLROnPlateau(Optimizer<T, B>& optimizer,
                               const ReduceLROnPlateauOptions& options = {})
        : opt_(optimizer), o_(options) {
        check<ValueError>(o_.factor() < 1.0 && o_.factor() >= 0.0,
                          "ReduceLROnPlateau: factor must be in [0, 1), got ", o_.factor());
        check<ValueError>(o_.patience() >= 0, "ReduceLROnPlateau: patience must be >= 0, got ",
                          o_.patience());
        check<ValueError>(o_.cooldown() >= 0, "ReduceLROnPlateau: cooldown must be >= 0, got ",
                          o_.cooldown());
        check<ValueError>(o_.min_lr() >= 0.0, "ReduceLROnPlateau: min_lr must be >= 0, got ",
                          o_.min_lr());
        best_ = worst();
    }

    /// Ends an epoch with its metric; returns true when the lr was reduced.
    bool step(double metric) {
        ++last_epoch_;
        if (is_better(metric, best_)) {
            best_ = metric;
            num_bad_epochs_ = 0;
        } else {
            ++num_bad_epochs_;
        }
        if (cooldown_counter_ > 0) {
            --cooldown_counter_;
            num_bad_epochs_ = 0;  // bad epochs during cooldown do not count
        }
        bool reduced = false;
        if (num_bad_epochs_ > o_.patience()) {
            const double old_lr = opt_.lr();
            const double new_lr = std::max(old_lr * o_.factor(), o_.min_lr());
            if (old_lr - new_lr > o_.eps()) {
                opt_.set_lr(new_lr);
                reduced = true;
            }
            cooldown_counter_ = o_.cooldown();
            num_bad_epochs_ = 0;
        }
        return reduced;
    }

    double best() const { return best_; }
    std::int64_t num_bad_epochs() const { return num_bad_epochs_; }
    std::int64_t cooldown_counter() const { return cooldown_counter_; }
    std::int64_t last_epoch() const { return last_epoch_; }
    bool in_cooldown() const { return cooldown_counter_ > 0; }
    double get_last_lr() const { return opt_.lr(); }
    const ReduceLROnPlateauOptions& options() const { return o_; }

    nn::StateDict<double> state_dict() const {
        return {
            {"best", Tensor<double>::scalar(best_)},
            {"num_bad_epochs", Tensor<double>::scalar(static_cast<double>(num_bad_epochs_))},
            {"cooldown_counter", Tensor<double>::scalar(static_cast<double>(cooldown_counter_))},
            {"last_epoch", Tensor<double>::scalar(static_cast<double>(last_epoch_))},
            {"lr", Tensor<double>::scalar(opt_.lr())}};
    }
    void load_state_dict(const nn::StateDict<double>& dict) {
        const char* who = "ReduceLROnPlateau";
        const double best = detail::scheduler_value(dict, "best", who);
        const double bad = detail::scheduler_value(dict, "num_bad_epochs", who);
        const double cool = detail::scheduler_value(dict, "cooldown_counter", who);
        const double epoch = detail::scheduler_value(dict, "last_epoch", who);
        const double lr = detail::scheduler_value(dict, "lr", who);
        check<ValueError>(bad >= 0.0 && cool >= 0.0 && epoch >= 0.0,
                          "ReduceLROnPlateau::load_state_dict: counters must be >= 0 (got ",
                          "num_bad_epochs ", bad, ", cooldown_counter ", cool, ", last_epoch ",
                          epoch, ")");
        opt_.set_lr(lr);
        best_ = best;
        num_bad_epochs_ = static_cast<std::int64_t>(bad);
        cooldown_counter_ = static_cast<std::int64_t>(cool);
        last_epoch_ = static_cast<std::int64_t>(epoch);
    }

  private:
    double worst() const {
        const double inf = std::numeric_limits<double>::infinity();
        return o_.mode() == PlateauMode::min ? inf : -inf;
    }
    // NaN metrics are never better (every comparison with NaN is false).
    bool is_better(double a, double best) const {
        const double th = o_.threshold();
        const bool rel = o_.threshold_mode() == ThresholdMode::rel;
        if (o_.mode() == PlateauMode::min) return rel ? a < best * (1.0 - th) : a < best - th;
        return rel ? a > best * (th + 1.0) : a > best + th;
    }

    Optimizer<T, B>& opt_;
    ReduceLROnPlateauOptions o_;
    double best_ = 0.0;
    std::int64_t num_bad_epochs_ = 0;
    std::int64_t cooldown_counter_ = 0;
    std::int64_t last_epoch_ = 0;
};

}  // namespace nnlite::optim
