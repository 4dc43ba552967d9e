// `imdb_example evaluate`: the test split through a trained model; prints the metrics and
// the most confidently wrong reviews, and writes an HTML report.
#include <cstdio>
#include <filesystem>
#include <nnlite/metrics/calibration.hpp>
#include <nnlite/metrics/classification.hpp>

#include "app/commands.hpp"
#include "app/progress.hpp"
#include "app/training_data.hpp"
#include "model/classifier.hpp"
#include "report/report.hpp"

namespace imdb {

namespace fs = std::filesystem;

int run_evaluate(const EvaluateArgs& args) {
    Classifier c = Classifier::load(args.run_dir, args.device);
    TrainingData data = prepare_test_data(c.config, args.data_path, c.vocabulary, args.limit_test);
    std::printf("%s (loaded in %.1f s)\n", data.summary.c_str(), data.seconds);
    Progress timer("evaluate", 1, false);
    const auto probs = c.predict_encoded(data.test_ids);
    const double secs = timer.seconds();

    namespace m = nnlite::metrics;
    const auto cm = m::confusion_matrix(data.test_labels, probs);
    const auto report = m::classification_report(data.test_labels, probs);
    const double auc = m::roc_auc(data.test_labels, probs);
    const double ece = m::expected_calibration_error(data.test_labels, probs);
    std::printf(
        "\naccuracy %.2f%%   ROC AUC %.4f   ECE %.4f   (%zu reviews in %s, %.0f reviews/s)\n",
        100 * m::accuracy(data.test_labels, probs), auc, ece, probs.size(),
        format_duration(secs).c_str(), static_cast<double>(probs.size()) / std::max(secs, 1e-9));
    std::printf("\n            precision  recall      F1   support\n");
    const char* names[2] = {"negative", "positive"};
    for (int k = 0; k < 2; ++k) {
        const auto& pc = report.per_class[static_cast<std::size_t>(k)];
        std::printf("%-10s %9.4f %8.4f %8.4f %9zu\n", names[k], pc.precision, pc.recall, pc.f1,
                    pc.support);
    }
    std::printf("\nconfusion matrix (rows: true, columns: predicted)\n");
    std::printf("            negative  positive\n");
    std::printf("negative    %8zu  %8zu\npositive    %8zu  %8zu\n", cm.tn, cm.fp, cm.fn, cm.tp);

    const auto wrong = most_confident_mistakes(data.test_labels, probs, 3);
    auto show = [&](const std::vector<std::size_t>& idx, const char* title) {
        std::printf("\n%s\n", title);
        for (auto i : idx)
            std::printf("  p(positive)=%.3f  %s\n", probs[i],
                        truncate_text(data.test_texts[i], 160).c_str());
    };
    show(wrong.false_positives, "most confident false positives:");
    show(wrong.false_negatives, "most confident false negatives:");

    const std::string out = args.report_path.empty()
                                ? (fs::path(args.run_dir) / "evaluation.html").string()
                                : args.report_path;
    ReportData rd = make_report_data(c.config, data, {}, probs, args.run_dir);
    write_report(out, rd);
    std::printf("\nreport: %s\n", out.c_str());
    return 0;
}

}  // namespace imdb
