// Calibration of a binary classifier's probabilities: reliability-diagram bins, expected
// and maximum calibration error, Brier score and log loss, and the histograms a report
// draws under a reliability diagram.
//
// A classifier is calibrated when, among the samples it gives probability p, a fraction p
// is positive. Binning: [0, 1] is cut into n equal bins [k/n, (k+1)/n); the last bin is
// closed, so a probability of exactly 1 falls in bin n-1 (and 0.5 in bin n/2 for even n).
// Inputs are validated as in metrics/classification.hpp (nnlite::ValueError naming the
// function, the problem and the index).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/metrics/classification.hpp"

namespace nnlite::metrics {

namespace detail {

inline void check_bin_count(const char* fn, std::size_t n_bins) {
    check<ValueError>(n_bins >= 1, fn, ": n_bins is 0; expected at least 1");
}

inline double bin_edge(std::size_t k, double lower, double upper, std::size_t n_bins) {
    return lower + (upper - lower) * static_cast<double>(k) / static_cast<double>(n_bins);
}

// Bin of v among n equal bins over [lower, upper]; the upper edge belongs to the last bin.
// The floor of (v - lower) / width can land one bin off when v sits exactly on an edge
// (0.29 * 100 = 28.999...), so the result is corrected against the edges the bins report.
inline std::size_t bin_index(double v, double lower, double upper, std::size_t n_bins) {
    const double position = (v - lower) / (upper - lower) * static_cast<double>(n_bins);
    if (position <= 0) return 0;
    std::size_t b = std::min(static_cast<std::size_t>(position), n_bins - 1);
    if (b + 1 < n_bins && v >= bin_edge(b + 1, lower, upper, n_bins)) ++b;
    if (b > 0 && v < bin_edge(b, lower, upper, n_bins)) --b;
    return b;
}

}  // namespace detail

/// One bin of a reliability diagram. For an empty bin, mean_predicted and
/// fraction_positive are NaN (undefined: no samples).
struct CalibrationBin {
    double lower = 0;  ///< bin covers [lower, upper) (the last bin includes upper = 1)
    double upper = 0;
    std::size_t count = 0;         ///< samples whose probability falls in the bin
    double mean_predicted = 0;     ///< mean probability of those samples
    double fraction_positive = 0;  ///< fraction of them whose label is 1
    double gap() const { return std::abs(fraction_positive - mean_predicted); }
};

/// Reliability-diagram bins: n_bins equal bins of predicted probability, each with its
/// count, mean predicted probability and observed fraction of positives.
template <class P>
std::vector<CalibrationBin> calibration_bins(const std::vector<int>& labels,
                                             const std::vector<P>& probabilities,
                                             std::size_t n_bins = 10) {
    detail::check_binary_inputs("calibration_bins", labels, probabilities);
    detail::check_bin_count("calibration_bins", n_bins);
    std::vector<CalibrationBin> bins(n_bins);
    std::vector<double> probability_sum(n_bins, 0.0);
    std::vector<std::size_t> positive_count(n_bins, 0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto p = static_cast<double>(probabilities[i]);
        const std::size_t b = detail::bin_index(p, 0.0, 1.0, n_bins);
        ++bins[b].count;
        probability_sum[b] += p;
        positive_count[b] += static_cast<std::size_t>(labels[i]);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t b = 0; b < n_bins; ++b) {
        bins[b].lower = detail::bin_edge(b, 0.0, 1.0, n_bins);
        bins[b].upper = detail::bin_edge(b + 1, 0.0, 1.0, n_bins);
        const auto count = static_cast<double>(bins[b].count);
        bins[b].mean_predicted = bins[b].count ? probability_sum[b] / count : nan;
        bins[b].fraction_positive =
            bins[b].count ? static_cast<double>(positive_count[b]) / count : nan;
    }
    return bins;
}

/// Expected calibration error: sum over bins of (count / N) * |fraction_positive -
/// mean_predicted| — the average distance between the reliability curve and the diagonal,
/// weighted by where the samples are. 0 for a perfectly calibrated model.
inline double expected_calibration_error(const std::vector<CalibrationBin>& bins) {
    std::size_t total = 0;
    for (const auto& b : bins) total += b.count;
    check<ValueError>(total > 0, "expected_calibration_error: all bins are empty");
    double ece = 0;
    for (const auto& b : bins)
        if (b.count) ece += static_cast<double>(b.count) / static_cast<double>(total) * b.gap();
    return ece;
}

template <class P>
double expected_calibration_error(const std::vector<int>& labels,
                                  const std::vector<P>& probabilities, std::size_t n_bins = 10) {
    return expected_calibration_error(calibration_bins(labels, probabilities, n_bins));
}

/// Maximum calibration error: the largest |fraction_positive - mean_predicted| over the
/// non-empty bins (the worst-calibrated region).
inline double maximum_calibration_error(const std::vector<CalibrationBin>& bins) {
    double mce = 0;
    bool any = false;
    for (const auto& b : bins)
        if (b.count) {
            mce = std::max(mce, b.gap());
            any = true;
        }
    check<ValueError>(any, "maximum_calibration_error: all bins are empty");
    return mce;
}

/// Brier score: mean squared difference between probability and label (0 is perfect,
/// 0.25 is what always answering 0.5 gets).
template <class P>
double brier_score(const std::vector<int>& labels, const std::vector<P>& probabilities) {
    detail::check_binary_inputs("brier_score", labels, probabilities);
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double d = static_cast<double>(probabilities[i]) - labels[i];
        sum += d * d;
    }
    return sum / static_cast<double>(labels.size());
}

/// Mean binary cross-entropy -[y log p + (1-y) log(1-p)], with p clipped to [eps, 1-eps]
/// so a confident mistake costs a large but finite amount (sklearn's log_loss convention).
template <class P>
double log_loss(const std::vector<int>& labels, const std::vector<P>& probabilities,
                double eps = 1e-15) {
    detail::check_binary_inputs("log_loss", labels, probabilities);
    double sum = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double p = std::clamp(static_cast<double>(probabilities[i]), eps, 1.0 - eps);
        sum -= labels[i] == 1 ? std::log(p) : std::log1p(-p);
    }
    return sum / static_cast<double>(labels.size());
}

/// One bin of the predicted-probability histogram, split by true class: how the model's
/// outputs for negatives and for positives are distributed over [0, 1].
struct ProbabilityHistogramBin {
    double lower = 0;
    double upper = 0;
    std::size_t negatives = 0;  ///< samples with label 0 in the bin
    std::size_t positives = 0;  ///< samples with label 1 in the bin
    std::size_t count() const { return negatives + positives; }
};

template <class P>
std::vector<ProbabilityHistogramBin> probability_histogram(const std::vector<int>& labels,
                                                           const std::vector<P>& probabilities,
                                                           std::size_t n_bins = 10) {
    detail::check_binary_inputs("probability_histogram", labels, probabilities);
    detail::check_bin_count("probability_histogram", n_bins);
    std::vector<ProbabilityHistogramBin> bins(n_bins);
    for (std::size_t b = 0; b < n_bins; ++b) {
        bins[b].lower = detail::bin_edge(b, 0.0, 1.0, n_bins);
        bins[b].upper = detail::bin_edge(b + 1, 0.0, 1.0, n_bins);
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
        auto& bin =
            bins[detail::bin_index(static_cast<double>(probabilities[i]), 0.0, 1.0, n_bins)];
        ++(labels[i] == 1 ? bin.positives : bin.negatives);
    }
    return bins;
}

/// One bin of the confidence histogram. Confidence is the probability the model gives to
/// the class it predicts: max(p, 1 - p) in [0.5, 1], prediction positive when p >= 0.5.
/// For a calibrated model, accuracy() is close to mean_confidence in every bin.
struct ConfidenceBin {
    double lower = 0;  ///< confidence covers [lower, upper) (the last bin includes 1)
    double upper = 0;
    std::size_t count = 0;
    std::size_t correct = 0;     ///< predictions in the bin that match the label
    double mean_confidence = 0;  ///< NaN for an empty bin
    double accuracy() const {
        return count ? static_cast<double>(correct) / static_cast<double>(count)
                     : std::numeric_limits<double>::quiet_NaN();
    }
};

template <class P>
std::vector<ConfidenceBin> confidence_histogram(const std::vector<int>& labels,
                                                const std::vector<P>& probabilities,
                                                std::size_t n_bins = 10) {
    detail::check_binary_inputs("confidence_histogram", labels, probabilities);
    detail::check_bin_count("confidence_histogram", n_bins);
    std::vector<ConfidenceBin> bins(n_bins);
    std::vector<double> confidence_sum(n_bins, 0.0);
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const auto p = static_cast<double>(probabilities[i]);
        const int predicted = p >= 0.5 ? 1 : 0;
        const double confidence = predicted == 1 ? p : 1.0 - p;
        const std::size_t b = detail::bin_index(confidence, 0.5, 1.0, n_bins);
        ++bins[b].count;
        bins[b].correct += predicted == labels[i] ? 1 : 0;
        confidence_sum[b] += confidence;
    }
    for (std::size_t b = 0; b < n_bins; ++b) {
        bins[b].lower = detail::bin_edge(b, 0.5, 1.0, n_bins);
        bins[b].upper = detail::bin_edge(b + 1, 0.5, 1.0, n_bins);
        bins[b].mean_confidence = bins[b].count
                                      ? confidence_sum[b] / static_cast<double>(bins[b].count)
                                      : std::numeric_limits<double>::quiet_NaN();
    }
    return bins;
}

}  // namespace nnlite::metrics
