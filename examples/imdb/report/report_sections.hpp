// The sections of report.html (internal to the report): each renders one <section> from
// the run's data and the metrics computed once by evaluate().
#pragma once

#include <string>
#include <vector>

#include <nnlite/metrics/calibration.hpp>
#include <nnlite/metrics/classification.hpp>

#include "report/report.hpp"

namespace imdb::report_sections {

/// Everything computed from the test predictions, once.
struct Evaluation {
    bool has_test = false;      ///< any test predictions at all
    bool both_classes = false;  ///< ROC and AUC need positives and negatives
    nnlite::metrics::ClassificationReport report;
    nnlite::metrics::RocCurve roc;
    double auc = 0;
    std::vector<nnlite::metrics::CalibrationBin> calibration;
    double ece = 0, mce = 0, brier = 0, log_loss = 0;
    std::vector<nnlite::metrics::ProbabilityHistogramBin> probability_hist;
    std::vector<nnlite::metrics::ConfidenceBin> confidence_hist;
};

/// Validates the test predictions (nnlite::ValueError) and computes the metrics.
Evaluation evaluate(const ReportData& d);

std::string summary_cards(const ReportData& d, const Evaluation& e);
std::string section_run(const ReportData& d);
std::string section_classification(const Evaluation& e);
std::string section_roc(const ReportData& d, const Evaluation& e);
std::string section_training(const ReportData& d);
std::string section_calibration(const Evaluation& e);
std::string section_dataset(const DatasetStats& stats);
std::string section_mistakes(const ReportData& d, const Evaluation& e);

}  // namespace imdb::report_sections
