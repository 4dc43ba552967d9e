// nnlite/device.hpp: parsing a Device, dispatching generic code to its backend, and the
// error a translation unit without the CUDA backend gives for cuda; convert_module on an
// application's own module template.
#include <doctest/doctest.h>

#include <memory>
#include <nnlite/device.hpp>
#include <nnlite/nn/linear.hpp>
#include <nnlite/nn/module_conversion.hpp>
#include <string>
#include <type_traits>

using nnlite::Device;

TEST_CASE("Device parses cpu and cuda and names them") {
    CHECK(Device::parse("cpu") == Device::cpu);
    CHECK(Device::parse("cuda") == Device::cuda);
    CHECK(Device() == Device::cpu);
    CHECK(nnlite::to_string(Device::parse("cpu")) == "cpu");
    CHECK(nnlite::to_string(Device::cuda) == "cuda");
    CHECK(std::string(Device(Device::cuda).name()) == "cuda");
}

TEST_CASE("Device rejects other names, naming the value and the choices") {
    for (const char* bad : {"", "gpu", "CPU", "cuda:0", " cpu"}) {
        CAPTURE(bad);
        const std::string expected =
            "unknown device '" + std::string(bad) + "' (choose cpu or cuda)";
        CHECK_THROWS_WITH_AS(Device::parse(bad), doctest::Contains(expected.c_str()),
                             nnlite::ValueError);
    }
}

TEST_CASE("dispatch calls the generic code with the cpu backend tag") {
    int calls = 0;
    const bool is_cpu = nnlite::dispatch(Device::cpu, [&](auto backend) {
        ++calls;
        return std::is_same_v<decltype(backend), nnlite::cpu>;
    });
    CHECK(calls == 1);
    CHECK(is_cpu);
    CHECK(nnlite::describe(Device::cpu) == "cpu");
    nnlite::dispatch(Device::cpu, [&](auto) { ++calls; });  // void works too
    CHECK(calls == 2);
}

TEST_CASE("without nvcc, cuda is one clear error and f never runs") {
    // This file is compiled by the host compiler: whatever the build, it cannot run CUDA.
    CHECK_FALSE(nnlite::cuda_available());
    bool ran = false;
    CHECK_THROWS_WITH_AS(nnlite::dispatch(Device::cuda, [&](auto) { ran = true; }),
                         doctest::Contains("this program was built without the CUDA backend"),
                         nnlite::Error);
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(nnlite::require_available(Device::cuda), nnlite::Error);
    CHECK_NOTHROW(nnlite::require_available(Device::cpu));
}

namespace {

// An application's model: one template parameter (the backend), not <T, B>.
template <class B>
class TinyModel : public nnlite::nn::Module<float, B> {
  public:
    explicit TinyModel(std::size_t in) {
        fc = this->register_module("fc", std::make_shared<nnlite::nn::Linear<float, B>>(in, 1));
    }
    std::shared_ptr<nnlite::nn::Linear<float, B>> fc;
};

}  // namespace

TEST_CASE("convert_module works on any module template") {
    using nnlite::cpu;
    TinyModel<cpu> m(3);
    m.eval();
    auto copy = nnlite::nn::convert_module<cpu>(m, 3);
    static_assert(std::is_same_v<decltype(copy), std::shared_ptr<TinyModel<cpu>>>);
    CHECK_FALSE(copy->is_training());
    CHECK(copy->fc->weight.to_vector() == m.fc->weight.to_vector());
    nnlite::nn::Linear<float> fc(2, 4);
    auto fc2 = nnlite::nn::convert_module<cpu>(fc, 2, 4);
    static_assert(std::is_same_v<decltype(fc2), std::shared_ptr<nnlite::nn::Linear<float, cpu>>>);
    CHECK(fc2->weight.to_vector() == fc.weight.to_vector());
}
