// Binary classification metrics and calibration (nnlite/metrics/*): known answers worked
// out by hand (the arithmetic is in the comments), perfect / inverted / random / constant
// classifiers, tied scores, and the errors bad input raises.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nnlite/core/random.hpp>
#include <nnlite/metrics/calibration.hpp>
#include <nnlite/metrics/classification.hpp>
#include <vector>

using namespace nnlite;
using namespace nnlite::metrics;

namespace {

// 8 samples, 4 per class. At threshold 0.5 the predictions are [0,1,1,0,1,0,1,1]:
// tn = {0,5}, fp = {1,7}, fn = {3}, tp = {2,4,6}.
const std::vector<int> kLabels = {0, 0, 1, 1, 1, 0, 1, 0};
const std::vector<double> kProbs = {0.1, 0.6, 0.8, 0.4, 0.9, 0.3, 0.5, 0.5};

// O(P N) definition of the Mann-Whitney statistic: P(score_pos > score_neg), ties 1/2.
template <class S>
double pairwise_auc(const std::vector<int>& labels, const std::vector<S>& scores) {
    double wins = 0;
    double pairs = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        if (labels[i] != 1) continue;
        for (std::size_t j = 0; j < labels.size(); ++j) {
            if (labels[j] != 0) continue;
            pairs += 1;
            if (scores[i] > scores[j]) wins += 1;
            if (scores[i] == scores[j]) wins += 0.5;
        }
    }
    return wins / pairs;
}

}  // namespace

TEST_CASE("confusion matrix, accuracy and per-class report on a worked example") {
    const auto cm = confusion_matrix(kLabels, kProbs);
    CHECK(cm.tn == 2);
    CHECK(cm.fp == 2);
    CHECK(cm.fn == 1);
    CHECK(cm.tp == 3);
    CHECK(cm.total() == 8);
    CHECK(cm.actual_positives() == 4);
    CHECK(cm.predicted_positives() == 5);
    CHECK(accuracy(kLabels, kProbs) == doctest::Approx(5.0 / 8));

    const auto r = classification_report(kLabels, kProbs);
    // class 1: P = 3/5, R = 3/4, F1 = 2*3 / (2*3 + 2 + 1) = 2/3
    CHECK(r.per_class[1].precision == doctest::Approx(0.6));
    CHECK(r.per_class[1].recall == doctest::Approx(0.75));
    CHECK(r.per_class[1].f1 == doctest::Approx(2.0 / 3));
    CHECK(r.per_class[1].support == 4);
    // class 0 (tp = tn = 2, fp = fn = 1, fn = fp = 2): P = 2/3, R = 1/2, F1 = 4/7
    CHECK(r.per_class[0].precision == doctest::Approx(2.0 / 3));
    CHECK(r.per_class[0].recall == doctest::Approx(0.5));
    CHECK(r.per_class[0].f1 == doctest::Approx(4.0 / 7));
    CHECK(r.per_class[0].support == 4);
    // macro = plain mean; with equal supports the weighted average is the same
    CHECK(r.macro_average.precision == doctest::Approx((0.6 + 2.0 / 3) / 2));
    CHECK(r.macro_average.recall == doctest::Approx(0.625));
    CHECK(r.macro_average.f1 == doctest::Approx(13.0 / 21));
    CHECK(r.macro_average.support == 8);
    CHECK(r.weighted_average.f1 == doctest::Approx(13.0 / 21));
    CHECK(r.accuracy == doctest::Approx(0.625));
}

TEST_CASE("the threshold is inclusive and moves the confusion matrix") {
    // p >= t is positive: the two 0.5 scores are positive at 0.5 and negative just above.
    const auto at_half = confusion_matrix(kLabels, kProbs, 0.5);
    const auto above = confusion_matrix(kLabels, kProbs, 0.55);
    CHECK(at_half.tp == 3);
    CHECK(above.tp == 2);
    CHECK(above.fp == 1);
    CHECK(above.tn == 3);
    CHECK(above.fn == 2);
    CHECK(accuracy(kLabels, kProbs, 0.0) == doctest::Approx(0.5));  // everything positive
    CHECK(accuracy(kLabels, kProbs, 1.0) == doctest::Approx(0.5));  // everything negative
}

TEST_CASE("weighted average follows class support; zero division gives 0") {
    // 3 negatives, 1 positive, everything predicted negative.
    const std::vector<int> y = {0, 0, 0, 1};
    const std::vector<float> p = {0.1f, 0.2f, 0.3f, 0.4f};
    const auto r = classification_report(y, p);
    CHECK(r.per_class[1].precision == 0.0);  // no predicted positives: 0, not NaN
    CHECK(r.per_class[1].recall == 0.0);
    CHECK(r.per_class[1].f1 == 0.0);
    CHECK(r.per_class[0].precision == doctest::Approx(0.75));
    CHECK(r.per_class[0].recall == doctest::Approx(1.0));
    CHECK(r.per_class[0].f1 == doctest::Approx(6.0 / 7));
    CHECK(r.macro_average.f1 == doctest::Approx(3.0 / 7));
    CHECK(r.weighted_average.f1 == doctest::Approx(0.75 * 6.0 / 7));
    CHECK(r.weighted_average.recall == doctest::Approx(0.75));
}

TEST_CASE("ROC curve of the worked example, with a tie giving one point") {
    const auto roc = roc_curve(kLabels, kProbs);
    // Descending: 0.9(+) 0.8(+) 0.6(-) {0.5(+), 0.5(-)} 0.4(+) 0.3(-) 0.1(-); P = N = 4.
    const std::vector<double> fpr = {0, 0, 0, 0.25, 0.5, 0.5, 0.75, 1};
    const std::vector<double> tpr = {0, 0.25, 0.5, 0.5, 0.75, 1, 1, 1};
    const std::vector<double> thresholds = {
        std::numeric_limits<double>::infinity(), 0.9, 0.8, 0.6, 0.5, 0.4, 0.3, 0.1};
    REQUIRE(roc.fpr.size() == fpr.size());
    for (std::size_t i = 0; i < fpr.size(); ++i) {
        CAPTURE(i);
        CHECK(roc.fpr[i] == doctest::Approx(fpr[i]));
        CHECK(roc.tpr[i] == doctest::Approx(tpr[i]));
        CHECK(roc.thresholds[i] == thresholds[i]);
    }
    // Trapezoids: 0.25*0.5 + 0.25*0.625 + 0.25*1 + 0.25*1 = 0.78125; pairwise: 12.5 / 16.
    CHECK(roc_auc(kLabels, kProbs) == doctest::Approx(0.78125));
    CHECK(mann_whitney_auc(kLabels, kProbs) == doctest::Approx(0.78125));
    CHECK(pairwise_auc(kLabels, kProbs) == doctest::Approx(0.78125));
}

TEST_CASE("perfect, inverted and constant classifiers") {
    const std::vector<int> y = {0, 1, 0, 1, 1, 0};
    SUBCASE("perfect") {
        const std::vector<double> p = {0.1, 0.9, 0.2, 0.8, 0.7, 0.3};
        CHECK(roc_auc(y, p) == doctest::Approx(1.0));
        CHECK(accuracy(y, p) == doctest::Approx(1.0));
        const auto roc = roc_curve(y, p);
        // Passes through the top-left corner (0, 1).
        bool corner = false;
        for (std::size_t i = 0; i < roc.fpr.size(); ++i)
            corner = corner || (roc.fpr[i] == 0.0 && roc.tpr[i] == 1.0);
        CHECK(corner);
        CHECK(classification_report(y, p).macro_average.f1 == doctest::Approx(1.0));
    }
    SUBCASE("inverted") {
        const std::vector<double> p = {0.9, 0.1, 0.8, 0.2, 0.3, 0.7};
        CHECK(roc_auc(y, p) == doctest::Approx(0.0));
        CHECK(mann_whitney_auc(y, p) == doctest::Approx(0.0));
        CHECK(accuracy(y, p) == doctest::Approx(0.0));
    }
    SUBCASE("constant scores: one tie, the diagonal, AUC 1/2") {
        const std::vector<double> p(6, 0.42);
        const auto roc = roc_curve(y, p);
        REQUIRE(roc.fpr.size() == 2);
        CHECK(roc.fpr[1] == 1.0);
        CHECK(roc.tpr[1] == 1.0);
        CHECK(roc.thresholds[1] == 0.42);
        CHECK(roc_auc(y, p) == doctest::Approx(0.5));
        CHECK(mann_whitney_auc(y, p) == doctest::Approx(0.5));
    }
}

TEST_CASE("trapezoidal ROC AUC equals the Mann-Whitney statistic, with heavy ties") {
    Generator gen(1234);
    for (int trial = 0; trial < 20; ++trial) {
        CAPTURE(trial);
        const std::size_t n = 50 + static_cast<std::size_t>(trial) * 7;
        std::vector<int> y(n);
        std::vector<double> p(n);
        for (std::size_t i = 0; i < n; ++i) {
            y[i] = gen.uniform(0.0, 1.0) < 0.4 ? 1 : 0;
            // Informative but noisy scores rounded to 1/8: many ties, within and across classes.
            const double raw = 0.35 * y[i] + 0.65 * gen.uniform(0.0, 1.0);
            p[i] = std::round(raw * 8) / 8;
        }
        y[0] = 0;
        y[1] = 1;
        const double expected = pairwise_auc(y, p);
        CHECK(roc_auc(y, p) == doctest::Approx(expected).epsilon(1e-12));
        CHECK(mann_whitney_auc(y, p) == doctest::Approx(expected).epsilon(1e-12));
        // Every distinct score is exactly one point (plus the start at +infinity).
        std::vector<double> distinct = p;
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        const auto roc = roc_curve(y, p);
        CHECK(roc.fpr.size() == distinct.size() + 1);
        CHECK(roc.fpr.back() == 1.0);
        CHECK(roc.tpr.back() == 1.0);
        for (std::size_t i = 1; i < roc.fpr.size(); ++i) {
            CHECK(roc.fpr[i] >= roc.fpr[i - 1]);
            CHECK(roc.tpr[i] >= roc.tpr[i - 1]);
            CHECK(roc.thresholds[i] < roc.thresholds[i - 1]);
        }
    }
}

TEST_CASE("a random classifier has AUC near 1/2 and accuracy near the base rate") {
    Generator gen(7);
    const std::size_t n = 20000;
    std::vector<int> y(n);
    std::vector<float> p(n);
    for (std::size_t i = 0; i < n; ++i) {
        y[i] = gen.uniform(0.0, 1.0) < 0.5 ? 1 : 0;
        p[i] = static_cast<float>(gen.uniform(0.0, 1.0));
    }
    // Standard error of AUC at 1/2 with 10k per class is about 0.004.
    CHECK(roc_auc(y, p) == doctest::Approx(0.5).epsilon(0.03));
    CHECK(accuracy(y, p) == doctest::Approx(0.5).epsilon(0.03));
    CHECK(roc_auc(y, p) == doctest::Approx(mann_whitney_auc(y, p)).epsilon(1e-12));
}

TEST_CASE("ROC accepts logits: only the order of scores matters") {
    const std::vector<double> logits = {-2.2, 0.4, 1.4, -0.4, 2.2, -0.8, 0.0, 0.0};
    CHECK(roc_auc(kLabels, logits) == doctest::Approx(0.78125));
}

TEST_CASE("auc by the trapezoidal rule, either direction") {
    CHECK(auc({0, 1}, {1, 1}) == doctest::Approx(1.0));
    CHECK(auc({0, 0.5, 1}, {0, 1, 0}) == doctest::Approx(0.5));
    CHECK(auc({1, 0.5, 0}, {0, 1, 0}) == doctest::Approx(0.5));
    CHECK_THROWS_WITH_AS(auc({0, 1, 0.5}, {0, 1, 1}),
                         doctest::Contains("neither non-decreasing nor non-increasing"),
                         ValueError);
    CHECK_THROWS_WITH_AS(auc({0}, {1}), doctest::Contains("expected at least 2"), ValueError);
    CHECK_THROWS_WITH_AS(auc({0, 1}, {1}), doctest::Contains("2 x values but 1 y values"),
                         ValueError);
}

// 7 samples: probabilities 0.05, 0.0 in bin 0; 0.15, 0.12 in bin 1; 0.5 in bin 5; 0.95, 1.0
// in bin 9 (the last bin is closed).
const std::vector<int> kCalLabels = {0, 1, 0, 1, 1, 0, 0};
const std::vector<double> kCalProbs = {0.05, 0.15, 0.12, 0.95, 1.0, 0.0, 0.5};

TEST_CASE("calibration bins and expected calibration error") {
    const auto bins = calibration_bins(kCalLabels, kCalProbs, 10);
    REQUIRE(bins.size() == 10);
    CHECK(bins[0].count == 2);
    CHECK(bins[0].mean_predicted == doctest::Approx(0.025));
    CHECK(bins[0].fraction_positive == doctest::Approx(0.0));
    CHECK(bins[1].count == 2);
    CHECK(bins[1].mean_predicted == doctest::Approx(0.135));
    CHECK(bins[1].fraction_positive == doctest::Approx(0.5));
    CHECK(bins[5].count == 1);
    CHECK(bins[5].lower == doctest::Approx(0.5));
    CHECK(bins[9].count == 2);
    CHECK(bins[9].mean_predicted == doctest::Approx(0.975));
    CHECK(bins[9].fraction_positive == doctest::Approx(1.0));
    CHECK(bins[9].upper == 1.0);
    CHECK(bins[3].count == 0);
    CHECK(std::isnan(bins[3].mean_predicted));
    CHECK(std::isnan(bins[3].fraction_positive));
    // ECE = (2*0.025 + 2*0.365 + 1*0.5 + 2*0.025) / 7 = 1.33 / 7 = 0.19
    CHECK(expected_calibration_error(kCalLabels, kCalProbs, 10) == doctest::Approx(0.19));
    CHECK(expected_calibration_error(bins) == doctest::Approx(0.19));
    CHECK(maximum_calibration_error(bins) == doctest::Approx(0.5));
}

TEST_CASE("a perfectly calibrated model has ECE 0; an overconfident one does not") {
    // In each bin the fraction of positives equals the (single) predicted probability.
    std::vector<int> y;
    std::vector<double> p;
    for (int k = 0; k < 10; ++k)
        for (int i = 0; i < 10; ++i) {
            p.push_back(0.05 + 0.1 * k);  // bin centre
            y.push_back(i < 10 * (0.05 + 0.1 * k) ? 1 : 0);
        }
    // fraction positive per bin is ceil(10 * centre)/10 = centre + 0.05: ECE = 0.05 exactly
    CHECK(expected_calibration_error(y, p) == doctest::Approx(0.05));
    std::vector<double> half(p.size(), 0.5);
    std::vector<int> y_half(p.size());
    for (std::size_t i = 0; i < y_half.size(); ++i) y_half[i] = static_cast<int>(i % 2);
    CHECK(expected_calibration_error(y_half, half) == doctest::Approx(0.0));
    // Always 0.99 when only half are positive: ECE = 0.49.
    std::vector<double> overconfident(p.size(), 0.99);
    CHECK(expected_calibration_error(y_half, overconfident) == doctest::Approx(0.49));
}

TEST_CASE("bin edges: values exactly on an edge go to the bin that starts there") {
    // 0.29 * 100 rounds to 28.999...; it must still land in [0.29, 0.30).
    const std::vector<int> y = {0, 1, 1, 0};
    const std::vector<double> p = {0.29, 0.57, 0.58, 0.0};
    const auto bins = calibration_bins(y, p, 100);
    CHECK(bins[29].count == 1);
    CHECK(bins[57].count == 1);
    CHECK(bins[58].count == 1);
    CHECK(bins[0].count == 1);
    CHECK(bins[29].lower == 0.29);
}

TEST_CASE("Brier score and log loss") {
    // squared errors: .0025 + .7225 + .0144 + .0025 + 0 + 0 + .25 = .9919
    CHECK(brier_score(kCalLabels, kCalProbs) == doctest::Approx(0.9919 / 7));
    // value from torch.nn.functional.binary_cross_entropy on p clipped to [1e-15, 1-1e-15]
    CHECK(log_loss(kCalLabels, kCalProbs) == doctest::Approx(0.40295530367583066));
    // A confident mistake is large but finite.
    const double confident_mistake = log_loss(std::vector<int>{1}, std::vector<double>{0.0});
    CHECK(confident_mistake == doctest::Approx(-std::log(1e-15)));
}

TEST_CASE("probability and confidence histograms") {
    const auto hist = probability_histogram(kCalLabels, kCalProbs, 4);
    REQUIRE(hist.size() == 4);
    CHECK(hist[0].negatives == 3);  // 0.05, 0.12, 0.0
    CHECK(hist[0].positives == 1);  // 0.15
    CHECK(hist[1].count() == 0);
    CHECK(hist[2].negatives == 1);  // 0.5
    CHECK(hist[3].positives == 2);  // 0.95, 1.0
    CHECK(hist[3].upper == 1.0);

    // confidence = max(p, 1-p): .95 ok, .85 wrong, .88 ok, .95 ok, 1 ok, 1 ok, .5 wrong
    const auto conf = confidence_histogram(kCalLabels, kCalProbs, 5);
    REQUIRE(conf.size() == 5);
    CHECK(conf[0].lower == 0.5);
    CHECK(conf[0].count == 1);
    CHECK(conf[0].correct == 0);
    CHECK(conf[0].accuracy() == 0.0);
    CHECK(conf[3].count == 2);
    CHECK(conf[3].correct == 1);
    CHECK(conf[3].mean_confidence == doctest::Approx(0.865));
    CHECK(conf[4].count == 4);
    CHECK(conf[4].accuracy() == 1.0);
    CHECK(conf[4].mean_confidence == doctest::Approx(0.975));
    CHECK(conf[1].count == 0);
    CHECK(std::isnan(conf[1].accuracy()));
}

TEST_CASE("bad input names the function, the problem and the index") {
    const std::vector<int> y = {0, 1, 1};
    const std::vector<double> p = {0.2, 0.7, 0.9};
    CHECK_THROWS_WITH_AS(accuracy(y, std::vector<double>{0.1, 0.2}),
                         doctest::Contains("accuracy: 3 labels but 2 probabilities"), ValueError);
    CHECK_THROWS_WITH_AS(confusion_matrix(std::vector<int>{}, std::vector<double>{}),
                         doctest::Contains("confusion_matrix: empty input"), ValueError);
    CHECK_THROWS_WITH_AS(classification_report(std::vector<int>{0, 2, 1}, p),
                         doctest::Contains("label at index 1 is 2; expected 0 or 1"), ValueError);
    CHECK_THROWS_WITH_AS(accuracy(std::vector<int>{0, 1, -1}, p),
                         doctest::Contains("label at index 2 is -1"), ValueError);
    CHECK_THROWS_WITH_AS(
        accuracy(y, std::vector<double>{0.2, 0.7, 1.5}),
        doctest::Contains("probability at index 2 is 1.5; expected a value in [0, 1]"), ValueError);
    CHECK_THROWS_WITH_AS(calibration_bins(y, std::vector<double>{-0.1, 0.7, 0.9}),
                         doctest::Contains("calibration_bins: probability at index 0 is -0.1"),
                         ValueError);
    CHECK_THROWS_WITH_AS(
        brier_score(y, std::vector<float>{0.2f, std::numeric_limits<float>::quiet_NaN(), 0.9f}),
        doctest::Contains("probability at index 1 is nan"), ValueError);
    CHECK_THROWS_WITH_AS(accuracy(y, std::vector<float>{0.2f, 0.7f, 1.0000001f}),
                         doctest::Contains("probability at index 2 is 1.0000001"), ValueError);
    CHECK_THROWS_WITH_AS(accuracy(y, p, std::nan("")),
                         doctest::Contains("accuracy: threshold is nan"), ValueError);
    CHECK_THROWS_WITH_AS(calibration_bins(y, p, 0), doctest::Contains("n_bins is 0"), ValueError);
    CHECK_THROWS_WITH_AS(confidence_histogram(std::vector<int>{0, 1}, p),
                         doctest::Contains("2 labels but 3 probabilities"), ValueError);
}

TEST_CASE("ROC needs both classes and finite scores") {
    CHECK_THROWS_WITH_AS(roc_curve(std::vector<int>{1, 1}, std::vector<double>{0.2, 0.4}),
                         doctest::Contains("roc_curve: needs both classes; found 2 positive and 0 "
                                           "negative labels"),
                         ValueError);
    CHECK_THROWS_WITH_AS(roc_auc(std::vector<int>{0, 0, 0}, std::vector<double>{0.2, 0.4, 0.1}),
                         doctest::Contains("found 0 positive and 3 negative"), ValueError);
    CHECK_THROWS_WITH_AS(roc_auc(std::vector<int>{0, 1}, std::vector<double>{0.2, std::nan("")}),
                         doctest::Contains("score at index 1 is nan; expected a finite number"),
                         ValueError);
    CHECK_THROWS_WITH_AS(
        mann_whitney_auc(std::vector<int>{0, 1},
                         std::vector<double>{std::numeric_limits<double>::infinity(), 0.0}),
        doctest::Contains("score at index 0 is inf"), ValueError);
    CHECK_THROWS_WITH_AS(roc_curve(std::vector<int>{0, 3}, std::vector<double>{0.2, 0.4}),
                         doctest::Contains("label at index 1 is 3"), ValueError);
    CHECK_THROWS_WITH_AS(roc_curve(std::vector<int>{0, 1}, std::vector<double>{0.2}),
                         doctest::Contains("2 labels but 1 scores"), ValueError);
    CHECK_THROWS_WITH_AS(expected_calibration_error(std::vector<CalibrationBin>(3)),
                         doctest::Contains("all bins are empty"), ValueError);
}
