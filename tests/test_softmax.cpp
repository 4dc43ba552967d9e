// ops/softmax.hpp: softmax and log_softmax along each dim, stability for large logits,
// and backward against finite differences.
#include <doctest/doctest.h>

#include <cmath>
#include <nnlite/nnlite.hpp>

#include "op_test_helpers.hpp"

using namespace nnlite;
using nnlite_test::check_gradients;
using nnlite_test::check_values;
using nnlite_test::make;
using nnlite_test::random_tensor;

TEST_CASE_TEMPLATE("softmax and log_softmax along each dim match PyTorch", T, float, double) {
    // Reference values: torch.softmax / torch.log_softmax in float64 (PyTorch 1.13).
    auto a = make<T>({1, 2, 3, 1, -1, 0.5}, {2, 3});
    check_values(ops::softmax(a, 0), {2, 3},
                 {0.5, 0.9525741268224334, 0.9241418199787566, 0.5, 0.04742587317756679,
                  0.07585818002124356});
    const std::vector<double> sm1 = {0.09003057317038045, 0.2447284710547976, 0.6652409557748218,
                                     0.5740969929676946,  0.0776955791485706, 0.3482074278837349};
    check_values(ops::softmax(a, 1), {2, 3}, sm1);
    check_values(ops::softmax(a, -1), {2, 3}, sm1);
    check_values(ops::log_softmax(a, 0), {2, 3},
                 {-0.6931471805599453, -0.048587351573741965, -0.07888973429254957,
                  -0.6931471805599453, -3.048587351573742, -2.5788897342925496});
    check_values(ops::log_softmax(a, 1), {2, 3},
                 {-2.4076059644443806, -1.4076059644443804, -0.4076059644443804,
                  -0.5549569196419907, -2.554956919641991, -1.0549569196419908});
}

TEST_CASE_TEMPLATE("softmax over the middle dim of a 3-D tensor sums to one", T, float, double) {
    auto x = random_tensor({2, 5, 3}, 61, -4.0, 4.0);
    std::vector<T> xv(x.numel());
    for (std::size_t i = 0; i < xv.size(); ++i) xv[i] = static_cast<T>(x.to_vector()[i]);
    auto s = ops::softmax(Tensor<T>::from(xv, {2, 5, 3}), 1);
    auto total = ops::sum(s, 1);
    check_values(total, {2, 3}, std::vector<double>(6, 1.0));
    // log_softmax is the log of softmax.
    auto ls = ops::log_softmax(Tensor<T>::from(xv, {2, 5, 3}), 1).to_vector();
    auto sv = s.to_vector();
    for (std::size_t i = 0; i < sv.size(); ++i)
        CHECK(static_cast<double>(ls[i]) == doctest::Approx(std::log(static_cast<double>(sv[i])))
                                                .epsilon(nnlite_test::tolerance<T>() * 10));
}

TEST_CASE_TEMPLATE("large logits stay finite", T, float, double) {
    // PyTorch float64: softmax([1000, 0, -1000]) = [1, 0, 0], log_softmax = [0, -1000, -2000].
    auto big = make<T>({1000, 0, -1000}, {3});
    check_values(ops::softmax(big, 0), {3}, {1, 0, 0});
    check_values(ops::log_softmax(big, 0), {3}, {0, -1000, -2000});
    // PyTorch: softmax([1000, 999, 998]) = softmax([2, 1, 0]).
    auto near = make<T>({1000, 999, 998}, {3});
    check_values(ops::softmax(near, 0), {3},
                 {0.6652409557748218, 0.2447284710547976, 0.09003057317038045});
    check_values(ops::log_softmax(near, 0), {3},
                 {-0.4076059644443804, -1.4076059644443804, -2.4076059644443806},
                 std::is_same_v<T, float> ? 1e-4 : 1e-12);  // 1000 - lse loses float digits
    auto same = Tensor<T>::full({4}, T(1000));
    check_values(ops::softmax(same, 0), {4}, {0.25, 0.25, 0.25, 0.25});
    // Gradients at large logits are finite too.
    auto x = make<T>({1000, 0, -1000}, {3}).requires_grad_();
    ops::sum(ops::log_softmax(x, 0) * make<T>({1, 2, 3}, {3})).backward();
    for (auto g : x.grad().to_vector()) CHECK(std::isfinite(g));
    // d/dx_i sum_j w_j log_softmax_j = w_i - softmax_i * sum(w) = [1 - 6, 2, 3]
    check_values(x.grad(), {3}, {-5, 2, 3});
}

TEST_CASE("gradcheck: softmax and log_softmax along each dim") {
    using V = std::vector<Tensor<double>>;
    auto x = random_tensor({2, 3, 4}, 62, -2.0, 2.0);
    for (std::int64_t d = -1; d < 3; ++d) {
        CAPTURE(d);
        check_gradients([d](const V& a) { return ops::softmax(a[0], d); }, {x});
        check_gradients([d](const V& a) { return ops::log_softmax(a[0], d); }, {x});
    }
}

TEST_CASE("softmax dim out of range is IndexError") {
    CHECK_THROWS_WITH_AS(ops::softmax(Tensor<float>::zeros({2, 3}), 2),
                         doctest::Contains("softmax: dim 2 is out of range for a tensor of rank 2"),
                         IndexError);
    CHECK_THROWS_WITH_AS(ops::log_softmax(Tensor<float>::zeros({2}), -2),
                         doctest::Contains("log_softmax: dim -2"), IndexError);
}
