// The sections of report.html: metrics from nnlite::metrics laid out as HTML tables and
// inline SVG charts (report_svg.hpp).
#include "report/report_sections.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>

#include <nnlite/core/error.hpp>

#include "report/report_svg.hpp"

namespace imdb::report_sections {

namespace metrics = nnlite::metrics;
using namespace report_svg;

Evaluation evaluate(const ReportData& d) {
    Evaluation e;
    const auto& y = d.test_labels;
    const auto& p = d.test_probabilities;
    if (y.empty() && p.empty()) return e;
    metrics::check_binary_inputs("write_report", y, p);
    metrics::check_threshold("write_report", d.threshold);
    nnlite::check<nnlite::ValueError>(d.test_texts.empty() || d.test_texts.size() == y.size(),
                                      "write_report: ", d.test_texts.size(), " test texts but ",
                                      y.size(), " labels; expected none or one per label");
    e.has_test = true;
    e.report = metrics::classification_report(y, p, d.threshold);
    const auto& cm = e.report.confusion;
    e.both_classes = cm.actual_positives() > 0 && cm.actual_negatives() > 0;
    if (e.both_classes) {
        e.roc = metrics::roc_curve(y, p);
        e.auc = metrics::auc(e.roc.fpr, e.roc.tpr);
    }
    e.calibration = metrics::calibration_bins(y, p, 10);
    e.ece = metrics::expected_calibration_error(e.calibration);
    e.mce = metrics::maximum_calibration_error(e.calibration);
    e.brier = metrics::brier_score(y, p);
    e.log_loss = metrics::log_loss(y, p);
    e.probability_hist = metrics::probability_histogram(y, p, 20);
    e.confidence_hist = metrics::confidence_histogram(y, p, 10);
    return e;
}

std::string card(const std::string& key, const std::string& value, const std::string& detail) {
    return "<div class=\"card\"><div class=\"k\">" + html_escape(key) + "</div><div class=\"v\">" +
           html_escape(value) + "</div><div class=\"d\">" + html_escape(detail) + "</div></div>";
}

std::string summary_cards(const ReportData& d, const Evaluation& e) {
    if (!e.has_test)
        return "<div class=\"cards\">" + card("Accuracy", "—", "no test predictions") +
               card("Macro F1", "—", "") + card("ROC AUC", "—", "") + card("ECE", "—", "") +
               "</div>";
    const auto& r = e.report;
    const auto& cm = r.confusion;
    std::string s = "<div class=\"cards\">";
    s += card("Accuracy", percent(r.accuracy),
              thousands(cm.tn + cm.tp) + " of " + thousands(cm.total()) + " test reviews at p ≥ " +
                  compact(d.threshold));
    s += card(
        "Macro F1", fixed(r.macro_average.f1, 4),
        "negative " + fixed(r.per_class[0].f1, 4) + " · positive " + fixed(r.per_class[1].f1, 4));
    s += card("ROC AUC", e.both_classes ? fixed(e.auc, 4) : "—",
              e.both_classes ? "P(a positive scores above a negative)"
                             : "undefined: the test set has one class");
    s += card("ECE", fixed(e.ece, 4),
              "10 bins · Brier " + fixed(e.brier, 4) + " · log loss " + fixed(e.log_loss, 4));
    return s + "</div>";
}

std::string section_run(const ReportData& d) {
    std::string s = "<section id=\"run\"><h2>Run</h2>";
    if (d.config.empty()) return s + absent("No configuration was recorded.") + "</section>";
    s += "<dl class=\"kv\">";
    for (const auto& [key, value] : d.config)
        s += "<dt>" + html_escape(key) + "</dt><dd>" + html_escape(value) + "</dd>";
    return s + "</dl></section>";
}

std::string metrics_row(const std::string& name, const metrics::ClassMetrics& m,
                        const char* cls = "") {
    return std::string("<tr class=\"") + cls + "\"><td>" + html_escape(name) + "</td><td>" +
           fixed(m.precision, 4) + "</td><td>" + fixed(m.recall, 4) + "</td><td>" + fixed(m.f1, 4) +
           "</td><td>" + thousands(m.support) + "</td></tr>";
}

// Cell shaded by its share of the row: green where right, red where wrong.
std::string confusion_cell(std::size_t count, std::size_t row_total, bool correct,
                           const std::string& name) {
    const double share =
        row_total ? static_cast<double>(count) / static_cast<double>(row_total) : 0;
    const std::string colour = correct ? "0,158,115" : "213,94,0";
    return "<td class=\"cell\" style=\"background:rgba(" + colour + "," +
           fixed(0.10 + 0.55 * share, 3) + ")\" title=\"" + html_escape(name) + "\">" +
           thousands(count) + "<small>" + percent(share, 1) + " of row · " + name + "</small></td>";
}

std::string section_classification(const Evaluation& e) {
    std::string s = "<section id=\"classification\"><h2>Classification</h2>";
    if (!e.has_test) return s + absent("No test predictions were given.") + "</section>";
    const auto& r = e.report;
    const auto& cm = r.confusion;
    s += "<div class=\"row\"><div><h3>Precision, recall and F1 at threshold " +
         compact(r.threshold) +
         "</h3><table><tr><th>Class</th><th>Precision</th><th>Recall</th>"
         "<th>F1</th><th>Support</th></tr>";
    s += metrics_row("negative (0)", r.per_class[0]);
    s += metrics_row("positive (1)", r.per_class[1]);
    s += metrics_row("macro average", r.macro_average, "avg");
    s += metrics_row("weighted average", r.weighted_average, "avg");
    s += "<tr class=\"avg\"><td>accuracy</td><td></td><td></td><td>" + fixed(r.accuracy, 4) +
         "</td><td>" + thousands(cm.total()) + "</td></tr></table></div>";
    s += "<div><h3>Confusion matrix</h3><table class=\"confusion\"><tr><th></th>"
         "<th>predicted negative</th><th>predicted positive</th></tr>";
    s += "<tr><th class=\"rowhead\">actual negative</th>" +
         confusion_cell(cm.tn, cm.actual_negatives(), true, "TN") +
         confusion_cell(cm.fp, cm.actual_negatives(), false, "FP") + "</tr>";
    s += "<tr><th class=\"rowhead\">actual positive</th>" +
         confusion_cell(cm.fn, cm.actual_positives(), false, "FN") +
         confusion_cell(cm.tp, cm.actual_positives(), true, "TP") + "</tr></table></div></div>";
    return s + "</section>";
}

std::string roc_chart(const Evaluation& e) {
    Frame f;
    f.width = 420;
    f.height = 400;
    f.x = unit_range();
    f.y = unit_range();
    std::string s = open(f, "ROC curve, AUC " + fixed(e.auc, 4));
    s += axes(f, f.x.ticks(), compact, "false positive rate", compact, "true positive rate");
    s += polyline(f, {{0, 0}, {1, 1}}, kGrey, "stroke-dasharray=\"5 4\" stroke-width=\"1\"");
    Points pts;
    for (std::size_t i = 0; i < e.roc.fpr.size(); ++i) pts.emplace_back(e.roc.fpr[i], e.roc.tpr[i]);
    s += polyline(f, thin_out(f, pts), kBlue);
    s += text(f.px(0.97), f.py(0.05), "AUC = " + fixed(e.auc, 4), "end", "label");
    s += "</svg>";
    return figure(
        "ROC curve",
        s + legend({{"model (AUC " + fixed(e.auc, 4) + ")", kBlue}, {"chance (AUC 0.5)", kGrey}}),
        thousands(e.roc.fpr.size()) +
            " points, one per distinct score; tied scores form one diagonal step.");
}

// Accuracy, precision, recall and false positive rate at a range of thresholds: what
// moving the decision threshold would trade.
std::string operating_points(const ReportData& d) {
    std::vector<double> thresholds = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
    thresholds.push_back(d.threshold);
    std::sort(thresholds.begin(), thresholds.end());
    thresholds.erase(std::unique(thresholds.begin(), thresholds.end(),
                                 [](double a, double b) { return std::abs(a - b) < 1e-12; }),
                     thresholds.end());
    std::string s =
        "<div><h3>Operating points</h3><table><tr><th>Threshold</th><th>Accuracy</th>"
        "<th>Precision</th><th>Recall (TPR)</th><th>FPR</th><th>Called positive</th></tr>";
    for (double t : thresholds) {
        const auto r = metrics::classification_report(
            metrics::confusion_matrix(d.test_labels, d.test_probabilities, t), t);
        const auto& cm = r.confusion;
        const double fpr = static_cast<double>(cm.fp) / static_cast<double>(cm.actual_negatives());
        const bool current = std::abs(t - d.threshold) < 1e-12;
        s += std::string("<tr") + (current ? " class=\"current\"" : "") + "><td>" + compact(t) +
             (current ? " (used)" : "") + "</td><td>" + percent(r.accuracy) + "</td><td>" +
             fixed(r.per_class[1].precision, 4) + "</td><td>" + fixed(r.per_class[1].recall, 4) +
             "</td><td>" + fixed(fpr, 4) + "</td><td>" + thousands(cm.predicted_positives()) +
             "</td></tr>";
    }
    return s + "</table></div>";
}

std::string section_roc(const ReportData& d, const Evaluation& e) {
    std::string s = "<section id=\"roc\"><h2>ROC curve and thresholds</h2>";
    if (!e.has_test) return s + absent("No test predictions were given.") + "</section>";
    if (!e.both_classes)
        return s + absent("The test set holds only one class, so the ROC curve is undefined.") +
               "</section>";
    return s + "<div class=\"row\">" + roc_chart(e) + operating_points(d) + "</div></section>";
}

// One line chart over epochs with a train series and an optional validation series.
std::string epoch_chart(const std::vector<EpochRecord>& h, const std::string& title,
                        double (*train)(const EpochRecord&),
                        std::optional<double> (*val)(const EpochRecord&), bool as_percent) {
    Points train_pts, val_pts;
    std::vector<std::string> train_titles, val_titles;
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    const Formatter value_fmt = [&](double v) { return as_percent ? percent(v) : fixed(v, 4); };
    for (const auto& r : h) {
        train_pts.emplace_back(r.epoch, train(r));
        train_titles.push_back("epoch " + std::to_string(r.epoch) + ": train " +
                               value_fmt(train(r)));
        lo = std::min(lo, train(r));
        hi = std::max(hi, train(r));
        if (const auto v = val(r)) {
            val_pts.emplace_back(r.epoch, *v);
            val_titles.push_back("epoch " + std::to_string(r.epoch) + ": validation " +
                                 value_fmt(*v));
            lo = std::min(lo, *v);
            hi = std::max(hi, *v);
        }
    }
    Frame f;
    const int last_epoch = h.back().epoch;
    const int first_epoch = h.front().epoch;
    f.x = AxisRange{first_epoch - 0.5, last_epoch + 0.5, 1};
    f.y = nice_range(lo, hi);
    const int step =
        std::max(1, static_cast<int>(std::ceil(nice_step(last_epoch - first_epoch + 1, 8))));
    std::vector<double> xticks;
    for (int k = first_epoch; k <= last_epoch; k += step) xticks.push_back(k);
    const double tick_step = f.y.step;
    const Formatter yfmt = [&](double v) {
        if (!as_percent) return compact(v);
        return fixed(100 * v, tick_step * 100 >= 1 ? 0 : 1) + "%";
    };
    std::string s = open(f, title);
    s += axes(
        f, xticks, [](double v) { return std::to_string(static_cast<int>(std::lround(v))); },
        "epoch", yfmt, title);
    if (train_pts.size() > 1) s += polyline(f, train_pts, kBlue);
    if (val_pts.size() > 1) s += polyline(f, val_pts, kOrange);
    s += dots(f, train_pts, kBlue, train_titles);
    s += dots(f, val_pts, kOrange, val_titles);
    s += "</svg>";
    std::vector<std::pair<std::string, const char*>> items{{"train", kBlue}};
    if (!val_pts.empty()) items.emplace_back("validation", kOrange);
    const std::string missing_note =
        val_pts.empty() ? "No validation split was recorded for this run." : "";
    return figure(title + " per epoch", s + legend(items), missing_note);
}

std::string optional_cell(const std::optional<double>& v, bool as_percent) {
    if (!v) return "<td>—</td>";
    return "<td>" + (as_percent ? percent(*v) : fixed(*v, 4)) + "</td>";
}

std::string section_training(const ReportData& d) {
    std::string s = "<section id=\"training\"><h2>Training</h2>";
    if (d.history.empty()) return s + absent("No epochs were recorded.") + "</section>";
    s += "<div class=\"row\">";
    s += epoch_chart(
        d.history, "Loss", [](const EpochRecord& r) { return r.train_loss; },
        [](const EpochRecord& r) { return r.val_loss; }, false);
    s += epoch_chart(
        d.history, "Accuracy", [](const EpochRecord& r) { return r.train_accuracy; },
        [](const EpochRecord& r) { return r.val_accuracy; }, true);
    s += "</div><h3>Per epoch</h3><table><tr><th>Epoch</th><th>Train loss</th>"
         "<th>Train accuracy</th><th>Validation loss</th><th>Validation accuracy</th>"
         "<th>Learning rate</th><th>Time</th></tr>";
    double total_seconds = 0;
    for (const auto& r : d.history) {
        total_seconds += r.seconds;
        s += "<tr><td>" + std::to_string(r.epoch) + "</td><td>" + fixed(r.train_loss, 4) +
             "</td><td>" + percent(r.train_accuracy) + "</td>" + optional_cell(r.val_loss, false) +
             optional_cell(r.val_accuracy, true) + "<td>" + html_escape(compact(r.learning_rate)) +
             "</td><td>" + fixed(r.seconds, 1) + " s</td></tr>";
    }
    s += "<tr class=\"avg\"><td>total</td><td></td><td></td><td></td><td></td><td></td><td>" +
         fixed(total_seconds, 1) + " s</td></tr></table>";
    return s + "</section>";
}

std::string calibration_chart(const Evaluation& e) {
    Frame f;
    f.width = 420;
    f.height = 400;
    f.x = unit_range();
    f.y = unit_range();
    std::string s = open(f, "Reliability diagram");
    s += axes(f, f.x.ticks(), compact, "predicted probability of positive", compact,
              "fraction of positives");
    Points pts;
    std::vector<std::string> titles;
    for (const auto& b : e.calibration) {
        if (b.count == 0) continue;
        // Bar: the observed fraction over the bin's width; the dot: the mean prediction.
        const double x0 = f.px(b.lower) + 1, x1 = f.px(b.upper) - 1;
        s += rect(x0, f.py(b.fraction_positive), x1 - x0, f.py(0) - f.py(b.fraction_positive),
                  "rgba(0,114,178,0.28)",
                  "[" + compact(b.lower) + ", " + compact(b.upper) + "): " + thousands(b.count) +
                      " reviews, " + percent(b.fraction_positive, 1) + " positive, mean p " +
                      fixed(b.mean_predicted, 3));
        pts.emplace_back(b.mean_predicted, b.fraction_positive);
        titles.push_back("mean p " + fixed(b.mean_predicted, 3) + " → " +
                         percent(b.fraction_positive, 1) + " positive");
    }
    s += polyline(f, {{0, 0}, {1, 1}}, kGrey, "stroke-dasharray=\"5 4\" stroke-width=\"1\"");
    s += polyline(f, pts, kBlue);
    s += dots(f, pts, kBlue, titles);
    s += text(f.px(0.03), f.py(0.93), "ECE = " + fixed(e.ece, 4), "start", "label");
    s += "</svg>";
    return figure("Reliability diagram",
                  s + legend({{"observed (per bin)", kBlue}, {"perfect calibration", kGrey}}),
                  "ECE " + fixed(e.ece, 4) + " (mean gap weighted by bin size), largest gap " +
                      fixed(e.mce, 4) + ".");
}

std::string probability_histogram_chart(const Evaluation& e) {
    std::size_t peak = 1;
    for (const auto& b : e.probability_hist) peak = std::max({peak, b.negatives, b.positives});
    Frame f;
    f.x = unit_range();
    f.y = count_range(static_cast<double>(peak));
    std::string s = open(f, "Predicted probability by true class");
    s += axes(
        f, f.x.ticks(), compact, "predicted probability of positive",
        [](double v) { return thousands(static_cast<std::size_t>(std::lround(v))); }, "reviews");
    for (const auto& b : e.probability_hist) {
        const double x0 = f.px(b.lower) + 1, mid = f.px((b.lower + b.upper) / 2),
                     x1 = f.px(b.upper) - 1;
        const std::string range = "[" + compact(b.lower) + ", " + compact(b.upper) + "): ";
        const auto neg = static_cast<double>(b.negatives), pos = static_cast<double>(b.positives);
        s += rect(x0, f.py(neg), mid - x0, f.py(0) - f.py(neg), kOrange,
                  range + thousands(b.negatives) + " negative reviews");
        s += rect(mid, f.py(pos), x1 - mid, f.py(0) - f.py(pos), kBlue,
                  range + thousands(b.positives) + " positive reviews");
    }
    s += "</svg>";
    return figure("Predicted probability by true class",
                  s + legend({{"negative reviews", kOrange}, {"positive reviews", kBlue}}),
                  "A confident, well-separated model puts the orange mass near 0 and the blue "
                  "near 1.");
}

std::string confidence_chart(const Evaluation& e) {
    std::size_t peak = 1;
    for (const auto& b : e.confidence_hist) peak = std::max(peak, b.count);
    Frame f;
    f.x = AxisRange{0.5, 1.0, 0.1};
    f.y = count_range(static_cast<double>(peak));
    std::string s = open(f, "Confidence histogram");
    s += axes(
        f, f.x.ticks(), compact, "confidence: max(p, 1 − p)",
        [](double v) { return thousands(static_cast<std::size_t>(std::lround(v))); }, "reviews");
    for (const auto& b : e.confidence_hist) {
        const double x0 = f.px(b.lower) + 1, x1 = f.px(b.upper) - 1;
        const auto count = static_cast<double>(b.count);
        const auto correct = static_cast<double>(b.correct);
        const std::string range = "[" + compact(b.lower) + ", " + compact(b.upper) + "): ";
        // Stacked: correct predictions at the bottom, mistakes on top.
        s += rect(x0, f.py(correct), x1 - x0, f.py(0) - f.py(correct), kGreen,
                  range + thousands(b.correct) + " correct");
        s += rect(x0, f.py(count), x1 - x0, f.py(correct) - f.py(count), "#d55e00",
                  range + thousands(b.count - b.correct) + " wrong");
        if (b.count)
            s += text((x0 + x1) / 2, f.py(count) - 4, percent(b.accuracy(), 0), "middle", "tick");
    }
    s += "</svg>";
    return figure("Confidence histogram", s + legend({{"correct", kGreen}, {"wrong", "#d55e00"}}),
                  "Accuracy above each bar; a calibrated model is right about as often as it is "
                  "confident.");
}

std::string section_calibration(const Evaluation& e) {
    std::string s = "<section id=\"calibration\"><h2>Calibration</h2>";
    if (!e.has_test) return s + absent("No test predictions were given.") + "</section>";
    return s + "<div class=\"row\">" + calibration_chart(e) + probability_histogram_chart(e) +
           confidence_chart(e) + "</div></section>";
}

namespace {

struct LengthSummary {
    std::size_t count = 0;
    double mean = 0;
    std::size_t median = 0, p90 = 0, p99 = 0, max = 0;
    std::size_t over_max_length = 0;
};

// Nearest-rank quantile of sorted values.
std::size_t quantile(const std::vector<std::size_t>& sorted, double q) {
    const auto rank =
        static_cast<std::size_t>(std::lround(q * static_cast<double>(sorted.size() - 1)));
    return sorted[std::min(rank, sorted.size() - 1)];
}

LengthSummary summarize(std::vector<std::size_t> lengths, std::size_t max_length) {
    LengthSummary s;
    if (lengths.empty()) return s;
    std::sort(lengths.begin(), lengths.end());
    s.count = lengths.size();
    double sum = 0;
    for (auto v : lengths) sum += static_cast<double>(v);
    s.mean = sum / static_cast<double>(s.count);
    s.median = quantile(lengths, 0.5);
    s.p90 = quantile(lengths, 0.9);
    s.p99 = quantile(lengths, 0.99);
    s.max = lengths.back();
    if (max_length > 0)
        s.over_max_length = static_cast<std::size_t>(
            lengths.end() - std::upper_bound(lengths.begin(), lengths.end(), max_length));
    return s;
}

// Share of reviews per length bin, one series per split: bins of `step` tokens up to
// `regular_bins * step`, then one overflow bin for the long tail.
std::vector<double> length_shares(const std::vector<std::size_t>& lengths, double step,
                                  std::size_t regular_bins) {
    std::vector<double> shares(regular_bins + 1, 0.0);
    for (auto v : lengths) {
        const auto b = static_cast<std::size_t>(static_cast<double>(v) / step);
        shares[std::min(b, regular_bins)] += 1.0;
    }
    for (auto& s : shares) s /= static_cast<double>(std::max<std::size_t>(lengths.size(), 1));
    return shares;
}

std::string length_chart(const DatasetStats& stats, const LengthSummary& train,
                         const LengthSummary& test) {
    // Bins cover up to the 99th percentile (and the truncation length); the rest is one bar.
    double cap = static_cast<double>(std::max({train.p99, test.p99, std::size_t{1}}));
    if (stats.max_length > 0) cap = std::max(cap, static_cast<double>(stats.max_length) * 1.05);
    const double step = std::max(1.0, std::round(nice_step(cap, 30)));
    const auto regular_bins = static_cast<std::size_t>(std::ceil(cap / step));
    const auto train_shares = length_shares(stats.train_lengths, step, regular_bins);
    const auto test_shares = length_shares(stats.test_lengths, step, regular_bins);
    const bool overflow = train_shares.back() > 0 || test_shares.back() > 0;
    const std::size_t bins = regular_bins + (overflow ? 1 : 0);
    double peak = 0;
    for (std::size_t b = 0; b < bins; ++b) peak = std::max({peak, train_shares[b], test_shares[b]});

    Frame f;
    f.width = 1060;
    f.height = 330;
    f.x = AxisRange{0, static_cast<double>(bins) * step, step};
    f.y = nice_range(0, peak);
    const double ystep = f.y.step;
    std::vector<double> xticks;
    const double xstep = nice_step(static_cast<double>(bins) * step, 10);
    for (double t = 0; t <= static_cast<double>(regular_bins) * step + 1e-9; t += xstep)
        xticks.push_back(t);
    std::string s = open(f, "Review length distribution");
    s += axes(
        f, xticks, compact, "tokens per review",
        [ystep](double v) { return fixed(100 * v, ystep * 100 >= 1 ? 0 : 1) + "%"; },
        "share of reviews");
    const bool two = !stats.train_lengths.empty() && !stats.test_lengths.empty();
    for (std::size_t b = 0; b < bins; ++b) {
        const double lo = static_cast<double>(b) * step;
        const double x0 = f.px(lo) + 0.5, x1 = f.px(lo + step) - 0.5;
        const double mid = two ? (x0 + x1) / 2 : x1;
        const bool last = b == regular_bins;
        const std::string range = last ? compact(lo) + "+ tokens: "
                                       : compact(lo) + "–" + compact(lo + step - 1) + " tokens: ";
        if (!stats.train_lengths.empty())
            s += rect(x0, f.py(train_shares[b]), mid - x0, f.py(0) - f.py(train_shares[b]), kBlue,
                      range + percent(train_shares[b], 1) + " of train reviews");
        if (!stats.test_lengths.empty())
            s += rect(two ? mid : x0, f.py(test_shares[b]), x1 - (two ? mid : x0),
                      f.py(0) - f.py(test_shares[b]), kOrange,
                      range + percent(test_shares[b], 1) + " of test reviews");
        if (last)
            s += text((x0 + x1) / 2, f.py(std::max(train_shares[b], test_shares[b])) - 6,
                      "≥" + compact(lo), "middle", "tick");
    }
    if (stats.max_length > 0) {
        const double x = f.px(static_cast<double>(stats.max_length));
        s += "<line x1=\"" + num(x) + "\" x2=\"" + num(x) + "\" y1=\"" + num(f.py(f.y.lo)) +
             "\" y2=\"" + num(f.py(f.y.hi)) + "\" stroke=\"#d55e00\" stroke-dasharray=\"5 4\"/>";
        s += text(x + 5, f.py(f.y.hi) + 14, "max length " + thousands(stats.max_length), "start",
                  "label");
    }
    s += "</svg>";
    std::vector<std::pair<std::string, const char*>> items;
    if (!stats.train_lengths.empty()) items.emplace_back("train", kBlue);
    if (!stats.test_lengths.empty()) items.emplace_back("test", kOrange);
    return figure(
        "Review length (tokens)", s + legend(items),
        overflow
            ? "The last bar gathers every review of " +
                  thousands(static_cast<std::size_t>(static_cast<double>(regular_bins) * step)) +
                  " tokens or more."
            : "",
        true);
}

std::string length_row(const std::string& name, const LengthSummary& s, std::size_t max_length) {
    if (s.count == 0)
        return "<tr><td>" + name + "</td><td colspan=\"7\" class=\"absent\">not recorded</td></tr>";
    std::string over = "—";
    if (max_length > 0)
        over = thousands(s.over_max_length) + " (" +
               percent(static_cast<double>(s.over_max_length) / static_cast<double>(s.count), 1) +
               ")";
    return "<tr><td>" + name + "</td><td>" + thousands(s.count) + "</td><td>" + fixed(s.mean, 1) +
           "</td><td>" + thousands(s.median) + "</td><td>" + thousands(s.p90) + "</td><td>" +
           thousands(s.p99) + "</td><td>" + thousands(s.max) + "</td><td>" + over + "</td></tr>";
}

std::string token_table(const std::string& title, const std::vector<TokenCount>& tokens,
                        const char* colour) {
    std::string s = "<div><h3>" + html_escape(title) + "</h3>";
    if (tokens.empty()) return s + absent("Not recorded.") + "</div>";
    std::size_t peak = 1;
    for (const auto& t : tokens) peak = std::max(peak, t.count);
    s += "<table class=\"tokens\"><tr><th>#</th><th "
         "class=\"token\">token</th><th>count</th><th></th></tr>";
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        const double share = static_cast<double>(tokens[i].count) / static_cast<double>(peak);
        s += "<tr><td>" + std::to_string(i + 1) + "</td><td class=\"token\">" +
             html_escape(tokens[i].token) + "</td><td>" + thousands(tokens[i].count) +
             "</td><td class=\"bar\"><div class=\"b\" style=\"width:" + fixed(100 * share, 1) +
             "%;background:" + colour + "\"></div></td></tr>";
    }
    return s + "</table></div>";
}

}  // namespace

std::string section_dataset(const DatasetStats& stats) {
    std::string s = "<section id=\"data\"><h2>Data</h2>";
    const auto train = summarize(stats.train_lengths, stats.max_length);
    const auto test = summarize(stats.test_lengths, stats.max_length);
    if (train.count == 0 && test.count == 0) {
        s += absent("Review lengths were not recorded.");
    } else {
        s += "<div class=\"row\">" + length_chart(stats, train, test) + "</div>";
        s += "<table><tr><th>Split</th><th>Reviews</th><th>Mean</th><th>Median</th>"
             "<th>90th pct</th><th>99th pct</th><th>Max</th><th>Longer than max length</th></tr>";
        s += length_row("train", train, stats.max_length);
        s += length_row("test", test, stats.max_length);
        s += "</table>";
    }
    s += "<div class=\"row\">" +
         token_table("Most frequent tokens in negative reviews", stats.top_tokens_negative,
                     kOrange) +
         token_table("Most frequent tokens in positive reviews", stats.top_tokens_positive, kBlue) +
         "</div>";
    return s + "</section>";
}

namespace {

std::string review_list(const ReportData& d, const std::vector<std::size_t>& indices,
                        const char* cls) {
    std::string s;
    for (std::size_t i : indices) {
        s += std::string("<div class=\"review ") + cls +
             "\"><div class=\"meta\"><b>P(positive) = " + fixed(d.test_probabilities[i], 4) +
             "</b> · true label: " + (d.test_labels[i] == 1 ? "positive" : "negative") +
             " · test review #" + std::to_string(i) + "</div>";
        if (!d.test_texts.empty())
            s += "<p>" + html_escape(truncate_text(d.test_texts[i], 600)) + "</p>";
        s += "</div>";
    }
    return s;
}

}  // namespace

std::string section_mistakes(const ReportData& d, const Evaluation& e) {
    std::string s = "<section id=\"mistakes\"><h2>Most confidently wrong</h2>";
    if (!e.has_test) return s + absent("No test predictions were given.") + "</section>";
    const auto m = most_confident_mistakes(d.test_labels, d.test_probabilities, 10, d.threshold);
    if (d.test_texts.empty()) s += absent("Review texts were not given; only scores are shown.");
    const auto& cm = e.report.confusion;
    // "(1,542 in all, the 10 most confident shown)" or "(3 in all)".
    auto how_many = [](std::size_t total, std::size_t shown) {
        std::string h = " (" + thousands(total) + " in all";
        if (shown < total) h += ", the " + std::to_string(shown) + " most confident shown";
        return h + ")";
    };
    s += "<h3>False positives: negative reviews called positive" +
         how_many(cm.fp, m.false_positives.size()) + "</h3>";
    s += m.false_positives.empty() ? absent("None.") : review_list(d, m.false_positives, "fp");
    s += "<h3>False negatives: positive reviews called negative" +
         how_many(cm.fn, m.false_negatives.size()) + "</h3>";
    s += m.false_negatives.empty() ? absent("None.") : review_list(d, m.false_negatives, "fn");
    return s + "</section>";
}

}  // namespace imdb::report_sections
