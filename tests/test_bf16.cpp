// ComputeType::bf16 and fp16 where they can run or not: the parsing of the type, the
// refusal messages (through the seams that take CpuFeatures, so they are checked on any
// machine), the backends that do not offer them, and the scalar rounding references. Runs
// everywhere; the kernels themselves are tested by bf16_kernels.cpp and fp16_kernels.cpp
// (test_bf16_kernels / test_fp16_kernels, skipped with exit code 77 on a CPU without
// AVX512-BF16 / AVX512-FP16).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nnlite/backend/cpu/gemm/bgemm.hpp>
#include <nnlite/backend/cpu/gemm/hgemm.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/core/dtype.hpp>
#include <nnlite/nn/lstm.hpp>
#include <string>

namespace {

using nnlite::ComputeType;
namespace isa = nnlite::cpu_isa;
namespace gemm = nnlite::cpu_gemm;

isa::CpuFeatures avx512_without_bf16() {
    isa::CpuFeatures f;
    f.sse2 = f.avx = f.avx2 = f.fma = true;
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = true;
    return f;
}

isa::CpuFeatures avx512_with_bf16() {
    isa::CpuFeatures f = avx512_without_bf16();
    f.avx512_bf16 = true;
    return f;
}

/// A backend tag whose lstm_kernels say nothing about compute types (as the CUDA one).
struct fp32_only_backend {
    static constexpr const char* name = "test";
};

}  // namespace

template <>
struct nnlite::lstm_kernels<fp32_only_backend> {};

TEST_CASE("ComputeType: names and parsing") {
    CHECK(std::string(nnlite::to_string(ComputeType::fp32)) == "fp32");
    CHECK(std::string(nnlite::to_string(ComputeType::bf16)) == "bf16");
    CHECK(nnlite::parse_compute_type("fp32") == ComputeType::fp32);
    CHECK(std::string(nnlite::to_string(ComputeType::fp16)) == "fp16");
    CHECK(nnlite::parse_compute_type("bf16") == ComputeType::bf16);
    CHECK(nnlite::parse_compute_type("fp16") == ComputeType::fp16);
    CHECK_THROWS_WITH_AS(nnlite::parse_compute_type("fp8"),
                         "compute type must be fp32, bf16 or fp16, got 'fp8'", nnlite::ValueError);
    CHECK_THROWS_AS(nnlite::parse_compute_type("FP16"), nnlite::ValueError);
    CHECK(nnlite::nn::LSTMOptions(3, 4).compute() == ComputeType::fp32);
    CHECK(nnlite::nn::LSTMOptions(3, 4).compute(ComputeType::bf16).compute() == ComputeType::bf16);
}

TEST_CASE("bf16 refusal names the missing CPU feature (seam: any CpuFeatures)") {
#if NNLITE_BF16_KERNELS
    const std::string msg = gemm::bf16_unavailable(avx512_without_bf16());
    CHECK(msg ==
          "compute type bf16 needs a CPU with AVX512-BF16 (avx512_bf16 in /proc/cpuinfo, with "
          "avx512f avx512bw avx512vl); this CPU lacks avx512_bf16 (it has avx512f avx512bw "
          "avx512vl); use compute type fp32");
    CHECK_THROWS_WITH_AS(gemm::require_bf16(avx512_without_bf16()), msg.c_str(), nnlite::Error);

    const std::string none = gemm::bf16_unavailable(isa::CpuFeatures{});
    CHECK(none.find("lacks avx512f avx512bw avx512vl avx512_bf16 (it has none of them)") !=
          std::string::npos);

    isa::CpuFeatures only_bf16_flag;  // a (hypothetical) CPU listing bf16 but not AVX512-BW
    only_bf16_flag.avx512f = only_bf16_flag.avx512_bf16 = only_bf16_flag.avx512vl = true;
    CHECK(gemm::bf16_unavailable(only_bf16_flag)
              .find("lacks avx512bw (it has avx512f avx512vl avx512_bf16)") != std::string::npos);

    CHECK(gemm::bf16_unavailable(avx512_with_bf16()).empty());
    CHECK_NOTHROW(gemm::require_bf16(avx512_with_bf16()));
#else
    // This build has no bf16 kernels at all: every CPU gets the build's reason.
    CHECK(gemm::bf16_unavailable(avx512_with_bf16()).find("this build does not have") !=
          std::string::npos);
    CHECK_THROWS_AS(gemm::require_bf16(avx512_with_bf16()), nnlite::Error);
#endif
    // AMX is not what the kernels use: an AMX CPU without the AVX512-BF16 flag is refused.
    isa::CpuFeatures amx = avx512_without_bf16();
    amx.amx_bf16 = true;
    CHECK(!gemm::bf16_unavailable(amx).empty());
}

TEST_CASE("fp16 refusal names the missing CPU feature (seam: any CpuFeatures)") {
    isa::CpuFeatures zen4 = avx512_with_bf16();  // AVX-512 with BF16, without FP16
    isa::CpuFeatures spr = zen4;
    spr.avx512_fp16 = true;
#if NNLITE_FP16_KERNELS
    CHECK(gemm::fp16_unavailable(zen4) ==
          "compute type fp16 needs a CPU with AVX512-FP16 (avx512_fp16 in /proc/cpuinfo, with "
          "avx512f avx512bw avx512vl avx512dq: Intel Xeon from Sapphire Rapids on); this CPU "
          "lacks avx512_fp16 (it has avx512f avx512bw avx512vl avx512dq); use compute type "
          "fp32 or bf16");
    CHECK_THROWS_WITH_AS(gemm::require_fp16(zen4), gemm::fp16_unavailable(zen4).c_str(),
                         nnlite::Error);
    const std::string none = gemm::fp16_unavailable(isa::CpuFeatures{});
    CHECK(none.find("lacks avx512f avx512bw avx512vl avx512dq avx512_fp16 (it has none of "
                    "them); use compute type fp32") != std::string::npos);
    CHECK(none.find("or bf16") == std::string::npos);  // not offered without AVX512-BF16
    CHECK(gemm::fp16_unavailable(spr).empty());
    CHECK_NOTHROW(gemm::require_fp16(spr));
#else
    CHECK(gemm::fp16_unavailable(spr).find("this build does not have") != std::string::npos);
    CHECK_THROWS_AS(gemm::require_fp16(spr), nnlite::Error);
#endif
    using K = nnlite::lstm_kernels<nnlite::cpu>;
    CHECK(K::compute_unavailable<float>(ComputeType::fp16, zen4) == gemm::fp16_unavailable(zen4));
    CHECK(K::compute_unavailable<double>(ComputeType::fp16, spr) ==
          "compute type fp16 applies to float tensors only (the GEMM inputs are rounded from "
          "float)");
    const bool here = gemm::fp16_unavailable(isa::cpu_features()).empty();
    CHECK(gemm::fp16_available() == here);
    CHECK(nnlite::ops::lstm_compute_unavailable<float, nnlite::cpu>(ComputeType::fp16).empty() ==
          here);
    CHECK(nnlite::ops::lstm_compute_unavailable<float, fp32_only_backend>(ComputeType::fp16) ==
          "compute type fp16 is not offered by nnlite's test backend (it runs the LSTM in fp32 "
          "only); use compute type fp32");
    const auto make = [] {
        nnlite::nn::LSTM<float> lstm(nnlite::nn::LSTMOptions(3, 4).compute(ComputeType::fp16));
    };
    if (here) {
        CHECK_NOTHROW(make());
    } else {
        CHECK_THROWS_WITH_AS(make(),
                             ("lstm: " + gemm::fp16_unavailable(isa::cpu_features())).c_str(),
                             nnlite::Error);
    }
}

TEST_CASE("fp16 rounding reference: nearest even, subnormals, overflow to infinity") {
    CHECK(gemm::fp16_bits(1.0f) == 0x3c00);
    CHECK(gemm::fp16_bits(-2.0f) == 0xc000);
    CHECK(gemm::fp16_bits(65504.f) == 0x7bff);
    CHECK(gemm::fp16_bits(65520.f) == 0x7c00);  // halfway to 2^16: to even = infinity
    CHECK(gemm::fp16_bits(65519.f) == 0x7bff);
    CHECK(gemm::fp16_bits(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie: to even
    CHECK(gemm::fp16_bits(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
    CHECK(gemm::fp16_bits(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
    CHECK(gemm::fp16_bits(std::ldexp(1.0f, -25)) == 0x0000);  // tie: to even (zero)
    CHECK(gemm::fp16_bits(std::ldexp(3.0f, -26)) == 0x0001);
    CHECK(gemm::fp16_bits(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
    CHECK(std::isnan(gemm::fp16_round(std::numeric_limits<float>::quiet_NaN())));
    CHECK(gemm::fp16_round(-std::numeric_limits<float>::infinity()) ==
          -std::numeric_limits<float>::infinity());
    for (float x : {0.1f, 1.2345f, -3.14159f, 6.1e-5f, 6.5e4f}) {
        CAPTURE(x);
        CHECK(std::abs(gemm::fp16_round(x) - x) <= std::ldexp(std::abs(x), -11));
    }
    // every fp16 value converts back to itself
    for (std::uint32_t h = 0; h < 0x7c00u; ++h) {
        const auto b = static_cast<std::uint16_t>(h);
        REQUIRE(gemm::fp16_bits(gemm::fp16_to_float(b)) == b);
        REQUIRE(gemm::fp16_bits(-gemm::fp16_to_float(b)) == (b | 0x8000u));
    }
}

TEST_CASE("the CPU backend's verdict for the LSTM goes through the same seam") {
    using K = nnlite::lstm_kernels<nnlite::cpu>;
    CHECK(K::compute_unavailable<float>(ComputeType::fp32, isa::CpuFeatures{}).empty());
    CHECK(K::compute_unavailable<float>(ComputeType::bf16, avx512_without_bf16()) ==
          gemm::bf16_unavailable(avx512_without_bf16()));
    CHECK(K::compute_unavailable<double>(ComputeType::bf16, avx512_with_bf16()) ==
          "compute type bf16 applies to float tensors only (the GEMM inputs are rounded from "
          "float)");
    // This machine: the verdict agrees with what the CPU reports.
    const bool here = gemm::bf16_unavailable(isa::cpu_features()).empty();
    CHECK(gemm::bf16_available() == here);
    CHECK(nnlite::ops::lstm_compute_unavailable<float, nnlite::cpu>(ComputeType::bf16).empty() ==
          here);
    CHECK(nnlite::ops::lstm_compute_unavailable<float, nnlite::cpu>(ComputeType::fp32).empty());
}

TEST_CASE("a backend that does not offer bf16 refuses it clearly (as CUDA does)") {
    CHECK(
        nnlite::ops::lstm_compute_unavailable<float, fp32_only_backend>(ComputeType::fp32).empty());
    CHECK(nnlite::ops::lstm_compute_unavailable<float, fp32_only_backend>(ComputeType::bf16) ==
          "compute type bf16 is not offered by nnlite's test backend (it runs the LSTM in fp32 "
          "only); use compute type fp32");
    const auto refuse = [] {
        nnlite::ops::require_lstm_compute<float, fp32_only_backend>(ComputeType::bf16);
    };
    CHECK_THROWS_WITH_AS(
        refuse(),
        "lstm: compute type bf16 is not offered by nnlite's test backend (it runs the LSTM in "
        "fp32 only); use compute type fp32",
        nnlite::Error);
    const auto accept = [] {
        nnlite::ops::require_lstm_compute<float, fp32_only_backend>(ComputeType::fp32);
    };
    CHECK_NOTHROW(accept());
}

TEST_CASE("nn::LSTM refuses bf16 at construction where it cannot run") {
    namespace nn = nnlite::nn;
    const auto make_double = [] {
        nn::LSTM<double> lstm(nn::LSTMOptions(3, 4).compute(ComputeType::bf16));
    };
    CHECK_THROWS_WITH_AS(make_double(),
                         "lstm: compute type bf16 applies to float tensors only (the GEMM inputs "
                         "are rounded from float)",
                         nnlite::Error);
    const auto make = [] {
        nn::LSTM<float> lstm(nn::LSTMOptions(3, 4).bidirectional(true).compute(ComputeType::bf16));
    };
    if (gemm::bf16_available()) {
        CHECK_NOTHROW(make());
    } else {  // the message names what is missing (never SIGILL later)
        const std::string why = gemm::bf16_unavailable(isa::cpu_features());
        CHECK_THROWS_WITH_AS(make(), ("lstm: " + why).c_str(), nnlite::Error);
        // ops called directly refuse as well, before computing anything
        auto x = nnlite::Tensor<float>::zeros({2, 1, 3});
        auto w_ih = nnlite::Tensor<float>::zeros({16, 3}),
             w_hh = nnlite::Tensor<float>::zeros({16, 4});
        CHECK_THROWS_AS(
            nnlite::ops::lstm_layer(x, {}, {}, {}, w_ih, w_hh, {}, {}, false, ComputeType::bf16),
            nnlite::Error);
    }
}

TEST_CASE("bf16 rounding reference: nearest even, NaN kept, overflow to infinity") {
    auto bits = [](float x) { return gemm::bf16_bits(x); };
    CHECK(bits(1.0f) == 0x3f80);
    CHECK(bits(-2.0f) == 0xc000);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1.0); 1 + 3 * 2^-8 rounds up.
    CHECK(bits(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);
    CHECK(bits(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);
    CHECK(bits(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3f81);
    CHECK(std::isnan(gemm::bf16_round(std::numeric_limits<float>::quiet_NaN())));
    std::uint32_t snan_bits = 0x7f800001u;  // a NaN whose payload is only in the low bits
    float snan = 0;
    std::memcpy(&snan, &snan_bits, sizeof snan);
    CHECK(std::isnan(gemm::bf16_round(snan)));
    CHECK(gemm::bf16_round(std::numeric_limits<float>::max()) ==
          std::numeric_limits<float>::infinity());
    CHECK(gemm::bf16_round(std::numeric_limits<float>::infinity()) ==
          std::numeric_limits<float>::infinity());
    // relative rounding error at most 2^-8 (8 significant bits) for normal numbers
    for (float x : {0.1f, 1.2345f, -3.14159f, 1e-20f, 6.5e4f}) {
        CAPTURE(x);
        CHECK(std::abs(gemm::bf16_round(x) - x) <= std::ldexp(std::abs(x), -8));
    }
}
