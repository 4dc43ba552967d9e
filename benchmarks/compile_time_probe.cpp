// The smallest useful program that includes the umbrella header: compare_pytorch.py times
// its compilation (the "how long does #include <nnlite/nnlite.hpp> cost" figure).
#include <cstdio>
#include <nnlite/nnlite.hpp>

int main() {
    auto x = nnlite::Tensor<float>::ones({2, 3}).requires_grad_();
    auto y = nnlite::ops::sum(x * 2.f);
    y.backward();
    std::printf("%g\n", static_cast<double>(x.grad().at({1, 2})));
    return 0;
}
