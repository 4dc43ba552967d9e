// optim::EarlyStopping: stops training when a monitored metric has not improved for
// `patience` epochs in a row. An epoch improves when (mode min) metric < best - min_delta
// or (mode max) metric > best + min_delta; NaN never improves. step(metric) returns true
// once the run should stop; best() and best_epoch() (0-based, the epoch whose weights a
// caller would keep) say where the best metric was seen.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "nnlite/core/error.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/optim/scheduler.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::optim {

class EarlyStopping {
  public:
    explicit EarlyStopping(std::int64_t patience, double min_delta = 0.0,
                           PlateauMode mode = PlateauMode::min)
        : patience_(patience), min_delta_(min_delta), mode_(mode) {
        check<ValueError>(patience >= 1, "EarlyStopping: patience must be >= 1, got ", patience);
        check<ValueError>(min_delta >= 0.0, "EarlyStopping: min_delta must be >= 0, got ",
                          min_delta);
        best_ = mode == PlateauMode::min ? std::numeric_limits<double>::infinity()
                                         : -std::numeric_limits<double>::infinity();
    }

    /// Records one epoch's metric; returns true when training should stop.
    bool step(double metric) {
        const bool improved =
            mode_ == PlateauMode::min ? metric < best_ - min_delta_ : metric > best_ + min_delta_;
        if (improved) {
            best_ = metric;
            best_epoch_ = epoch_;
            bad_epochs_ = 0;
        } else {
            ++bad_epochs_;
        }
        ++epoch_;
        return should_stop();
    }

    bool should_stop() const { return bad_epochs_ >= patience_; }
    /// True when the last step() set a new best (save a checkpoint then).
    bool improved_last() const { return epoch_ > 0 && best_epoch_ == epoch_ - 1; }
    double best() const { return best_; }
    /// 0-based epoch of the best metric; -1 before any improvement.
    std::int64_t best_epoch() const { return best_epoch_; }
    std::int64_t bad_epochs() const { return bad_epochs_; }
    std::int64_t epochs_seen() const { return epoch_; }

    nn::StateDict<double> state_dict() const {
        return {{"best", Tensor<double>::scalar(best_)},
                {"best_epoch", Tensor<double>::scalar(static_cast<double>(best_epoch_))},
                {"bad_epochs", Tensor<double>::scalar(static_cast<double>(bad_epochs_))},
                {"epoch", Tensor<double>::scalar(static_cast<double>(epoch_))}};
    }
    void load_state_dict(const nn::StateDict<double>& dict) {
        const char* who = "EarlyStopping";
        const double best = detail::scheduler_value(dict, "best", who);
        const double best_epoch = detail::scheduler_value(dict, "best_epoch", who);
        const double bad = detail::scheduler_value(dict, "bad_epochs", who);
        const double epoch = detail::scheduler_value(dict, "epoch", who);
        check<ValueError>(
            bad >= 0.0 && epoch >= 0.0 && best_epoch >= -1.0 && best_epoch < epoch + 1,
            "EarlyStopping::load_state_dict: inconsistent counters (best_epoch ", best_epoch,
            ", bad_epochs ", bad, ", epoch ", epoch, ")");
        best_ = best;
        best_epoch_ = static_cast<std::int64_t>(best_epoch);
        bad_epochs_ = static_cast<std::int64_t>(bad);
        epoch_ = static_cast<std::int64_t>(epoch);
    }

  private:
    std::int64_t patience_;
    double min_delta_;
    PlateauMode mode_;
    double best_ = 0.0;
    std::int64_t best_epoch_ = -1;
    std::int64_t bad_epochs_ = 0;
    std::int64_t epoch_ = 0;
};

}  // namespace nnlite::optim
