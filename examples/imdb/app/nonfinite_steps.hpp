// `train --skip-nonfinite N`: what happens to a training step whose loss or gradient norm is
// not finite. With N = 0 (the default) the run stops there; otherwise up to N such steps in
// the whole run (a resumed run counts on from its checkpoint) are skipped: no optimizer
// update, and the run stops at the (N+1)-th. Either way nothing non-finite reaches the
// weights, the best model or the checkpoint.
//
// Under mpirun every rank holds one NonFiniteSteps and passes it the same two numbers, the
// loss of the whole global batch (the ranks' sums, all-reduced) and the norm of the
// all-reduced gradient, so every rank skips or stops at the same step.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <nnlite/core/error.hpp>
#include <string>
#include <utility>

namespace imdb {

class NonFiniteSteps {
  public:
    /// `allowed`: N of --skip-nonfinite; `skipped_before`: steps skipped before a resume;
    /// `run_dir`: named by the error.
    NonFiniteSteps(std::int64_t allowed, std::int64_t skipped_before, std::string run_dir)
        : allowed_(allowed), total_(skipped_before), run_dir_(std::move(run_dir)) {}

    /// Whether the step (epoch and step from 1) is to be skipped: false when the loss and the
    /// gradient norm are finite; true, counted, when one is not and this is at most the
    /// allowed number of skipped steps of the run (warning() then says so in one line);
    /// otherwise throws nnlite::Error naming epoch, step, the value and the limit.
    bool skip(int epoch, std::size_t step, double loss, double grad_norm) {
        const bool bad_loss = !std::isfinite(loss);
        if (!bad_loss && std::isfinite(grad_norm)) return false;
        const std::string where =
            "epoch " + std::to_string(epoch) + ", step " + std::to_string(step) + ": the " +
            (bad_loss ? "training loss" : "gradient norm") + " is not finite (" +
            std::to_string(bad_loss ? loss : grad_norm) + ")";
        ++total_;
        if (total_ > allowed_) {
            const std::string why =
                allowed_ == 0
                    ? "training stopped (lower --lr, or --skip-nonfinite N to skip up to N "
                      "such steps)"
                    : std::to_string(total_) +
                          " non-finite steps in this run, more than "
                          "--skip-nonfinite " +
                          std::to_string(allowed_) + "; training stopped (lower --lr?)";
            throw nnlite::Error(where + "; " + why + ". " + run_dir_ +
                                " keeps its last saved model and checkpoint");
        }
        ++in_epoch_;
        warning_ = "warning: " + where + "; step skipped, no update (" + std::to_string(total_) +
                   " of at most " + std::to_string(allowed_) + " in this run, --skip-nonfinite)";
        return true;
    }

    /// The one-line warning of the last skipped step.
    const std::string& warning() const { return warning_; }
    /// Steps skipped since start_epoch(), and in the whole run.
    std::int64_t in_epoch() const { return in_epoch_; }
    std::int64_t total() const { return total_; }
    std::int64_t allowed() const { return allowed_; }
    void start_epoch() { in_epoch_ = 0; }

  private:
    std::int64_t allowed_;
    std::int64_t total_;
    std::int64_t in_epoch_ = 0;
    std::string run_dir_;
    std::string warning_;
};

}  // namespace imdb
