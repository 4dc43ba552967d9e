// Binary classification metrics on plain vectors: accuracy, confusion matrix, per-class
// precision / recall / F1, ROC curve and its AUC (trapezoidal rule, equal to the
// Mann-Whitney U statistic). Calibration lives in metrics/calibration.hpp.
//
// Conventions (the same as scikit-learn's, so numbers can be compared):
//  - labels are int 0 (negative) or 1 (positive); probabilities are P(label = 1) in [0, 1];
//  - a prediction is positive when probability >= threshold (default 0.5) — for a sigmoid
//    output that is "logit >= 0", and it matches roc_curve, where the point at threshold t
//    counts every score >= t as positive;
//  - a ratio whose denominator is zero (precision with no predicted positives, recall of a
//    class with no samples) is 0, like sklearn's zero_division=0.
// Every function validates its input and throws nnlite::ValueError naming the function,
// the problem and the offending index: lengths differ, input empty, a label not 0/1, a
// probability outside [0, 1] or NaN.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "nnlite/core/error.hpp"

namespace nnlite::metrics {

namespace detail {

// Enough digits that 1.0000001 is not printed as "1" in an error message.
inline std::string format_value(double v) {
    std::ostringstream os;
    os << std::setprecision(10) << v;
    return os.str();
}

inline void check_lengths(const char* fn, std::size_t n_labels, std::size_t n_values,
                          const char* values_name) {
    check<ValueError>(n_labels == n_values, fn, ": ", n_labels, " labels but ", n_values, " ",
                      values_name, "; expected the same length");
    check<ValueError>(n_labels > 0, fn, ": empty input (0 labels); expected at least one sample");
}

inline void check_labels(const char* fn, const std::vector<int>& labels) {
    for (std::size_t i = 0; i < labels.size(); ++i)
        check<ValueError>(labels[i] == 0 || labels[i] == 1, fn, ": label at index ", i, " is ",
                          labels[i], "; expected 0 or 1");
}

template <class P>
void check_probabilities(const char* fn, const std::vector<P>& probabilities) {
    static_assert(std::is_arithmetic_v<P>, "probabilities must be a vector of numbers");
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        const double p = static_cast<double>(probabilities[i]);
        check<ValueError>(p >= 0.0 && p <= 1.0, fn, ": probability at index ", i, " is ",
                          format_value(p), "; expected a value in [0, 1]");
    }
}

template <class S>
void check_scores(const char* fn, const std::vector<S>& scores) {
    static_assert(std::is_arithmetic_v<S>, "scores must be a vector of numbers");
    for (std::size_t i = 0; i < scores.size(); ++i)
        check<ValueError>(std::isfinite(static_cast<double>(scores[i])), fn, ": score at index ", i,
                          " is ", format_value(static_cast<double>(scores[i])),
                          "; expected a finite number");
}

template <class P>
void check_binary_inputs(const char* fn, const std::vector<int>& labels,
                         const std::vector<P>& probabilities) {
    check_lengths(fn, labels.size(), probabilities.size(), "probabilities");
    check_labels(fn, labels);
    check_probabilities(fn, probabilities);
}

inline void check_threshold(const char* fn, double threshold) {
    check<ValueError>(threshold >= 0.0 && threshold <= 1.0, fn, ": threshold is ",
                      format_value(threshold), "; expected a value in [0, 1]");
}

inline double safe_ratio(double numerator, double denominator) {
    return denominator > 0 ? numerator / denominator : 0.0;
}

}  // namespace detail

/// The input checks every metric here runs, for code that reports on a binary classifier
/// alongside them: labels and probabilities of the same, non-zero length, every label 0 or
/// 1, every probability in [0, 1]. Throws ValueError starting with `fn` and naming the first
/// bad index and value.
template <class P>
void check_binary_inputs(const char* fn, const std::vector<int>& labels,
                         const std::vector<P>& probabilities) {
    detail::check_binary_inputs(fn, labels, probabilities);
}

/// Throws ValueError starting with `fn` unless 0 <= threshold <= 1.
inline void check_threshold(const char* fn, double threshold) {
    detail::check_threshold(fn, threshold);
}

/// Counts of a binary classifier's outcomes at one threshold (rows: true class, columns:
/// predicted class, in sklearn's order [[tn, fp], [fn, tp]]).
struct ConfusionMatrix {
    std::size_t tn = 0;  ///< true 0, predicted 0
    std::size_t fp = 0;  ///< true 0, predicted 1
    std::size_t fn = 0;  ///< true 1, predicted 0
    std::size_t tp = 0;  ///< true 1, predicted 1

    std::size_t total() const { return tn + fp + fn + tp; }
    std::size_t actual_negatives() const { return tn + fp; }
    std::size_t actual_positives() const { return fn + tp; }
    std::size_t predicted_positives() const { return fp + tp; }
    double accuracy() const {
        return detail::safe_ratio(static_cast<double>(tn + tp), static_cast<double>(total()));
    }
};

/// Precision, recall and F1 of one class (or an average over classes), and its support:
/// the number of samples whose true label is that class (the total for an average).
struct ClassMetrics {
    double precision = 0;
    double recall = 0;
    double f1 = 0;
    std::size_t support = 0;
};

/// Everything a binary classifier's evaluation table shows, at one threshold.
struct ClassificationReport {
    double threshold = 0.5;
    double accuracy = 0;
    ConfusionMatrix confusion;
    std::array<ClassMetrics, 2> per_class;  ///< [0] = negative class, [1] = positive class
    ClassMetrics macro_average;             ///< unweighted mean over the two classes
    ClassMetrics weighted_average;          ///< mean weighted by support
};

/// The binary confusion matrix at `threshold` (positive when probability >= threshold).
template <class P>
ConfusionMatrix confusion_matrix(const std::vector<int>& labels,
                                 const std::vector<P>& probabilities, double threshold = 0.5) {
    detail::check_binary_inputs("confusion_matrix", labels, probabilities);
    detail::check_threshold("confusion_matrix", threshold);
    ConfusionMatrix cm;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const bool predicted_positive = static_cast<double>(probabilities[i]) >= threshold;
        if (labels[i] == 1)
            ++(predicted_positive ? cm.tp : cm.fn);
        else
            ++(predicted_positive ? cm.fp : cm.tn);
    }
    return cm;
}

/// Fraction of samples whose thresholded prediction equals the label.
template <class P>
double accuracy(const std::vector<int>& labels, const std::vector<P>& probabilities,
                double threshold = 0.5) {
    detail::check_binary_inputs("accuracy", labels, probabilities);
    detail::check_threshold("accuracy", threshold);
    return confusion_matrix(labels, probabilities, threshold).accuracy();
}

/// Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 = their harmonic mean
/// = 2TP / (2TP + FP + FN), for the class whose counts are given.
inline ClassMetrics class_metrics(std::size_t tp, std::size_t fp, std::size_t fn) {
    ClassMetrics m;
    m.precision = detail::safe_ratio(static_cast<double>(tp), static_cast<double>(tp + fp));
    m.recall = detail::safe_ratio(static_cast<double>(tp), static_cast<double>(tp + fn));
    m.f1 = detail::safe_ratio(2.0 * static_cast<double>(tp), static_cast<double>(2 * tp + fp + fn));
    m.support = tp + fn;
    return m;
}

/// Per-class and averaged precision / recall / F1 from a confusion matrix. Class 0's
/// "true positives" are the true negatives: the matrix read from the other side.
inline ClassificationReport classification_report(const ConfusionMatrix& cm,
                                                  double threshold = 0.5) {
    ClassificationReport r;
    r.threshold = threshold;
    r.confusion = cm;
    r.accuracy = cm.accuracy();
    r.per_class[0] = class_metrics(cm.tn, cm.fn, cm.fp);
    r.per_class[1] = class_metrics(cm.tp, cm.fp, cm.fn);
    const auto& c0 = r.per_class[0];
    const auto& c1 = r.per_class[1];
    r.macro_average = {(c0.precision + c1.precision) / 2, (c0.recall + c1.recall) / 2,
                       (c0.f1 + c1.f1) / 2, cm.total()};
    const double w0 =
        detail::safe_ratio(static_cast<double>(c0.support), static_cast<double>(cm.total()));
    const double w1 =
        detail::safe_ratio(static_cast<double>(c1.support), static_cast<double>(cm.total()));
    r.weighted_average = {w0 * c0.precision + w1 * c1.precision, w0 * c0.recall + w1 * c1.recall,
                          w0 * c0.f1 + w1 * c1.f1, cm.total()};
    return r;
}

/// The full evaluation table at `threshold`.
template <class P>
ClassificationReport classification_report(const std::vector<int>& labels,
                                           const std::vector<P>& probabilities,
                                           double threshold = 0.5) {
    detail::check_binary_inputs("classification_report", labels, probabilities);
    detail::check_threshold("classification_report", threshold);
    return classification_report(confusion_matrix(labels, probabilities, threshold), threshold);
}

/// Receiver operating characteristic: for every distinct score t, taken from the highest
/// down, the false positive rate FP(t)/N and true positive rate TP(t)/P when every score
/// >= t is called positive. Tied scores cannot be separated by any threshold, so they give
/// ONE point (a diagonal step), never an order-dependent staircase. The curve starts at
/// (0, 0) with threshold +infinity and ends at (1, 1) — sklearn's roc_curve with
/// drop_intermediate=False.
struct RocCurve {
    std::vector<double> fpr;
    std::vector<double> tpr;
    std::vector<double> thresholds;  ///< decreasing; thresholds[0] = +infinity
};

namespace detail {

inline void check_both_classes(const char* fn, const std::vector<int>& labels) {
    const auto positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
    const std::size_t negatives = labels.size() - positives;
    check<ValueError>(positives > 0 && negatives > 0, fn, ": needs both classes; found ", positives,
                      " positive and ", negatives, " negative labels (the rates are undefined)");
}

template <class S>
void check_ranking_inputs(const char* fn, const std::vector<int>& labels,
                          const std::vector<S>& scores) {
    check_lengths(fn, labels.size(), scores.size(), "scores");
    check_labels(fn, labels);
    check_scores(fn, scores);
    check_both_classes(fn, labels);
}

}  // namespace detail

/// ROC curve of `scores` (probabilities, or any finite ranking score such as logits: only
/// their order matters) against 0/1 labels. Needs at least one sample of each class.
template <class S>
RocCurve roc_curve(const std::vector<int>& labels, const std::vector<S>& scores) {
    detail::check_ranking_inputs("roc_curve", labels, scores);
    std::vector<std::size_t> order(labels.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    const auto positives = static_cast<std::size_t>(std::count(labels.begin(), labels.end(), 1));
    const std::size_t negatives = labels.size() - positives;

    RocCurve roc;
    roc.fpr.push_back(0.0);
    roc.tpr.push_back(0.0);
    roc.thresholds.push_back(std::numeric_limits<double>::infinity());
    std::size_t tp = 0, fp = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        ++(labels[i] == 1 ? tp : fp);
        // Emit a point only after the last sample of a group of equal scores.
        if (k + 1 < order.size() && scores[order[k + 1]] == scores[i]) continue;
        roc.fpr.push_back(static_cast<double>(fp) / static_cast<double>(negatives));
        roc.tpr.push_back(static_cast<double>(tp) / static_cast<double>(positives));
        roc.thresholds.push_back(static_cast<double>(scores[i]));
    }
    return roc;
}

/// Area under a piecewise-linear curve by the trapezoidal rule. x must be monotonic
/// (non-decreasing, or non-increasing: then the area is taken with the sign flipped so it
/// stays positive for a positive curve, as sklearn.metrics.auc does).
inline double auc(const std::vector<double>& x, const std::vector<double>& y) {
    check<ValueError>(x.size() == y.size(), "auc: ", x.size(), " x values but ", y.size(),
                      " y values; expected the same length");
    check<ValueError>(x.size() >= 2, "auc: ", x.size(),
                      " points; expected at least 2 to compute an area");
    bool increasing = true, decreasing = true;
    for (std::size_t i = 1; i < x.size(); ++i) {
        if (x[i] < x[i - 1]) increasing = false;
        if (x[i] > x[i - 1]) decreasing = false;
    }
    check<ValueError>(increasing || decreasing,
                      "auc: x is neither non-decreasing nor non-increasing");
    double area = 0;
    for (std::size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2;
    return increasing ? area : -area;
}

/// Area under the ROC curve: the probability that a random positive scores higher than a
/// random negative, ties counting 1/2. Computed with the trapezoidal rule on roc_curve().
template <class S>
double roc_auc(const std::vector<int>& labels, const std::vector<S>& scores) {
    const RocCurve roc = roc_curve(labels, scores);
    return auc(roc.fpr, roc.tpr);
}

/// The same quantity from ranks: U = R_pos - P(P+1)/2 where R_pos is the sum of the
/// positives' ranks among all scores (ties get their average rank), AUC = U / (P N). An
/// independent formula, used by the tests to check roc_auc.
template <class S>
double mann_whitney_auc(const std::vector<int>& labels, const std::vector<S>& scores) {
    detail::check_ranking_inputs("mann_whitney_auc", labels, scores);
    std::vector<std::size_t> order(labels.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    double positive_rank_sum = 0;
    std::size_t positives = 0;
    for (std::size_t start = 0; start < order.size();) {
        std::size_t end = start + 1;
        while (end < order.size() && scores[order[end]] == scores[order[start]]) ++end;
        // Ranks start..end-1 (0-based) are tied: each gets the 1-based average rank.
        const double average_rank = static_cast<double>(start + 1 + end) / 2.0;
        for (std::size_t k = start; k < end; ++k)
            if (labels[order[k]] == 1) {
                positive_rank_sum += average_rank;
                ++positives;
            }
        start = end;
    }
    const auto p = static_cast<double>(positives);
    const auto n = static_cast<double>(labels.size() - positives);
    return (positive_rank_sum - p * (p + 1) / 2) / (p * n);
}

}  // namespace nnlite::metrics
