// tensor/xtensor.hpp: CPU tensors as zero-copy xtensor views, and tensors from xtensor
// expressions.
#include <doctest/doctest.h>

#include <nnlite/autograd/engine.hpp>
#include <nnlite/ops/arithmetic.hpp>
#include <nnlite/ops/reduction.hpp>
#include <nnlite/tensor/xtensor.hpp>
#include <vector>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>

using namespace nnlite;

TEST_CASE("as_xtensor is a zero-copy view with the tensor's shape") {
    auto t = Tensor<float>::from({1, 2, 3, 4, 5, 6}, {2, 3});
    auto v = as_xtensor(t);
    REQUIRE(v.dimension() == 2);
    CHECK(v.shape()[0] == 2);
    CHECK(v.shape()[1] == 3);
    CHECK(v(1, 2) == 6.f);
    CHECK(v.data() == t.data());  // no copy

    SUBCASE("writes through the view reach the tensor") {
        v(0, 1) = 20.f;
        CHECK(t.at({0, 1}) == 20.f);
    }
    SUBCASE("xtensor algorithms on nnlite data") {
        const xt::xarray<float> row_sums = xt::sum(v, {1});
        CHECK(row_sums(0) == 6.f);
        CHECK(row_sums(1) == 15.f);
    }
    SUBCASE("a const tensor gives a read-only view of the same storage") {
        const Tensor<float>& c = t;
        auto cv = as_xtensor(c);
        static_assert(std::is_const_v<std::remove_reference_t<decltype(*cv.data())>>);
        CHECK(cv(1, 0) == 4.f);
    }
    SUBCASE("a scalar tensor is a 0-d view") {
        auto s = Tensor<double>::scalar(2.5);
        auto sv = as_xtensor(s);
        CHECK(sv.dimension() == 0);
        CHECK(sv() == 2.5);
    }
}

TEST_CASE("from_xtensor copies an expression into a new tensor") {
    const xt::xarray<double> a = {{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
    auto t = from_xtensor(a * 2.0 + 1.0);
    static_assert(std::is_same_v<decltype(t), Tensor<double, cpu>>);
    CHECK(t.shape() == Shape{3, 2});
    CHECK(t.to_vector() == std::vector<double>{3, 5, 7, 9, 11, 13});

    SUBCASE("an explicit element type converts") {
        auto f = from_xtensor<float>(xt::arange<int>(4));
        CHECK(f.shape() == Shape{4});
        CHECK(f.to_vector() == std::vector<float>{0, 1, 2, 3});
    }
    SUBCASE("a column-major or transposed expression keeps its logical order") {
        xt::xarray<double, xt::layout_type::column_major> cm = {{1.0, 2.0}, {3.0, 4.0}};
        CHECK(from_xtensor(cm).to_vector() == std::vector<double>{1, 2, 3, 4});
        CHECK(from_xtensor(xt::transpose(a)).to_vector() == std::vector<double>{1, 3, 5, 2, 4, 6});
    }
    SUBCASE("the new tensor takes part in autograd like any other") {
        auto w = from_xtensor(xt::xarray<double>{1.0, -2.0, 3.0});
        w.requires_grad_();
        auto loss = ops::sum(ops::mul(w, w));
        loss.backward();
        CHECK(w.grad().to_vector() == std::vector<double>{2, -4, 6});
    }
}
