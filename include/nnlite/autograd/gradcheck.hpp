// gradcheck: compares the analytical gradient from backward() with central finite
// differences, like torch.autograd.gradcheck. Use double precision: with T = double and
// eps = 1e-6 the finite-difference error is ~1e-10, far below any real backward bug.
//
// The function may return a tensor of any shape; it is reduced to a scalar with a fixed
// random weighting w (L = sum(w * f(x))), so every output element's gradient is tested.
#pragma once

#include <cmath>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "nnlite/autograd/engine.hpp"
#include "nnlite/tensor/tensor.hpp"

namespace nnlite::autograd {

struct GradcheckResult {
    bool ok = true;
    double max_abs_error = 0.0;
    std::string report;  // first failures, "input i element j: analytical a vs numerical n"
};

template <class T, class B>
GradcheckResult gradcheck(const std::function<Tensor<T, B>(const std::vector<Tensor<T, B>>&)>& f,
                          std::vector<Tensor<T, B>> inputs, double eps = 1e-6, double atol = 1e-6,
                          double rtol = 1e-4) {
    for (auto& x : inputs)
        if (x.defined() && !x.requires_grad()) x.requires_grad_(true);

    // Fixed weighting of the outputs.
    Generator gen(1234);
    Tensor<T, B> out = f(inputs);
    const auto w = Tensor<T, B>::uniform(out.shape(), T(0.5), T(1.5), gen).to_vector();
    auto weighted = [&](const Tensor<T, B>& y) {
        const auto v = y.to_vector();
        double acc = 0.0;
        for (std::size_t i = 0; i < v.size(); ++i)
            acc += static_cast<double>(v[i]) * static_cast<double>(w[i]);
        return acc;
    };

    for (auto& x : inputs)
        if (x.defined()) x.set_grad(Tensor<T, B>());
    out.backward(Tensor<T, B>::from(w, out.shape()));

    GradcheckResult res;
    std::ostringstream report;
    int shown = 0;
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        auto& x = inputs[i];
        if (!x.defined()) continue;
        const Tensor<T, B> g = x.grad();
        const std::vector<T> analytical =
            g.defined() ? g.to_vector() : std::vector<T>(x.numel(), T(0));
        // Perturbs one element at a time in place, through host copies so that it works on
        // every backend (x.data() may be device memory): set(j, v) writes one element.
        const std::vector<T> values = x.to_vector();
        auto set = [&x](std::size_t j, T v) { B::copy_from_host(x.data() + j, &v, 1); };
        for (std::size_t j = 0; j < x.numel(); ++j) {
            const T orig = values[j];
            set(j, static_cast<T>(orig + eps));
            const double up = weighted(f(inputs));
            set(j, static_cast<T>(orig - eps));
            const double down = weighted(f(inputs));
            set(j, orig);
            const double numerical = (up - down) / (2 * eps);
            const double a = static_cast<double>(analytical[j]);
            const double err = std::abs(a - numerical);
            res.max_abs_error = std::max(res.max_abs_error, err);
            if (err > atol + rtol * std::abs(numerical)) {
                res.ok = false;
                if (shown++ < 5)
                    report << "input " << i << " element " << j << ": analytical " << a
                           << " vs numerical " << numerical << "\n";
            }
        }
    }
    res.report = report.str();
    return res;
}

}  // namespace nnlite::autograd
