// Consumer check: one include, one link line. Computes a matmul and its gradients and
// compares them with values worked out by hand, round-trips a module through a safetensors
// checkpoint and scores it with nnlite::metrics (all from the umbrella header); exits 1 on
// any mismatch.
#include <cstdio>
#include <filesystem>
#include <nnlite/nnlite.hpp>
#include <vector>

namespace {
/// Saves a Linear layer, loads it into a differently initialised one, and checks that the
/// two now give the same outputs; then ROC AUC and accuracy of known scores.
bool checkpoint_and_metrics() {
    nnlite::Generator g1(1), g2(2);
    nnlite::nn::Linear<float> saved(3, 2, g1), loaded(3, 2, g2);
    const auto path = std::filesystem::temp_directory_path() / "nnlite_consumer.safetensors";
    nnlite::io::save(path.string(), saved.state_dict());
    loaded.load_state_dict(nnlite::io::load<float>(path.string()));
    std::filesystem::remove(path);
    const auto x = nnlite::Tensor<float>::from({1, -2, 3}, {1, 3});
    const bool same = saved.forward(x).to_vector() == loaded.forward(x).to_vector();
    const std::vector<int> labels{0, 0, 1, 1};
    const std::vector<double> scores{0.1, 0.4, 0.35, 0.8};
    const bool metrics_ok = nnlite::metrics::roc_auc(labels, scores) == 0.75 &&
                            nnlite::metrics::accuracy(labels, scores) == 0.75;
    std::printf("consumer: checkpoint round trip %s, metrics %s\n", same ? "ok" : "WRONG",
                metrics_ok ? "ok" : "WRONG");
    return same && metrics_ok;
}
}  // namespace

int main() {
    using nnlite::Tensor;
    auto a = Tensor<float>::from({1, 2, 3, 4}, {2, 2}).requires_grad_();
    auto b = Tensor<float>::from({5, 6, 7, 8}, {2, 2}).requires_grad_();
    auto c = nnlite::ops::matmul(a, b);
    auto loss = nnlite::ops::sum(c);
    loss.backward();

    // c = a·b; d(sum c)/da = 1·b^T (row sums of b), d(sum c)/db = a^T·1 (column sums of a).
    const std::vector<float> c_want{19, 22, 43, 50}, da_want{11, 15, 11, 15}, db_want{4, 4, 6, 6};
    const bool ok = c.to_vector() == c_want && loss.item() == 134.f &&
                    a.grad().to_vector() == da_want && b.grad().to_vector() == db_want;
    std::printf("consumer: matmul %s, sum %.0f, gradients %s\n", ok ? "ok" : "WRONG",
                double(loss.item()), ok ? "ok" : "WRONG");
    const bool io_ok = checkpoint_and_metrics();
    return ok && io_ok ? 0 : 1;
}
