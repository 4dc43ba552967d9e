// Tensor creation, inspection, printing, random generator.
#include <doctest/doctest.h>

#include <nnlite/nnlite.hpp>
#include <sstream>

using namespace nnlite;

TEST_CASE_TEMPLATE("creation fills the requested values", T, float, double) {
    auto z = Tensor<T>::zeros({2, 3});
    CHECK(z.shape() == Shape{2, 3});
    CHECK(z.numel() == 6);
    for (auto v : z.to_vector()) CHECK(v == T(0));
    auto f = Tensor<T>::full({4}, T(2.5));
    CHECK(f.at({3}) == T(2.5));
    auto a = Tensor<T>::arange(5);
    CHECK(a.to_vector() == std::vector<T>{0, 1, 2, 3, 4});
    auto d = Tensor<T>::from({1, 2, 3, 4, 5, 6}, {2, 3});
    CHECK(d.at({1, 2}) == T(6));
    CHECK(Tensor<T>::scalar(T(7)).item() == T(7));
}

TEST_CASE("from() with the wrong number of values names both counts") {
    CHECK_THROWS_WITH_AS(Tensor<float>::from(std::vector<float>{1, 2, 3}, {2, 2}),
                         doctest::Contains("3 values do not fill shape [2,2]"), ShapeError);
}

TEST_CASE("seeded generator is reproducible and has the right moments") {
    Generator g1(42), g2(42);
    auto a = Tensor<double>::normal({10000}, 0.0, 1.0, g1);
    auto b = Tensor<double>::normal({10000}, 0.0, 1.0, g2);
    CHECK(a.to_vector() == b.to_vector());
    double mean = 0, var = 0;
    for (auto v : a.to_vector()) mean += v;
    mean /= 10000;
    for (auto v : a.to_vector()) var += (v - mean) * (v - mean);
    var /= 10000;
    CHECK(mean == doctest::Approx(0.0).epsilon(0.03).scale(1.0));
    CHECK(var == doctest::Approx(1.0).epsilon(0.05));
    auto u = Tensor<float>::uniform({1000}, -2.f, 3.f, g1).to_vector();
    for (auto v : u) CHECK((v >= -2.f && v < 3.f));
}

TEST_CASE("generator state (seed, offset) resumes the stream at the same word") {
    // Checkpoints save (seed, offset) and restore it with set_state; every split point,
    // including ones inside a 128-bit Philox block, must continue the identical stream.
    Generator reference(7);
    std::vector<std::uint32_t> stream;
    for (int i = 0; i < 23; ++i) stream.push_back(reference.next_u32());
    CHECK(reference.offset() == 23);
    for (std::size_t split = 0; split <= 12; ++split) {
        Generator first(7);
        for (std::size_t i = 0; i < split; ++i) first.next_u32();
        REQUIRE(first.offset() == split);
        Generator resumed(999);
        resumed.next_u64();  // a used generator: stale block contents must not leak through
        resumed.set_state(first.seed(), first.offset());
        CHECK(resumed.offset() == split);
        for (std::size_t i = split; i < 23; ++i) CHECK(resumed.next_u32() == stream[i]);
    }
}

TEST_CASE("printing shows values, shape and dtype") {
    std::ostringstream os;
    os << Tensor<float>::from({1, 2, 3, 4}, {2, 2});
    CHECK(os.str() == "tensor([[1, 2],\n       [3, 4]], shape=[2,2], dtype=float32)");
}
