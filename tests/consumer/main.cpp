// Consumer check: one include, one link line. Computes a matmul and its gradients and
// compares them with values worked out by hand; exits 1 on any mismatch.
#include <cstdio>
#include <nnlite/nnlite.hpp>
#include <vector>

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
    return ok ? 0 : 1;
}
