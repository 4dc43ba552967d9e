// Element-type traits: the names nnlite prints and the safetensors dtype codes; and the
// compute types a module may run its matrix products in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include "nnlite/core/error.hpp"

namespace nnlite {

template <class T>
struct dtype_traits;

template <>
struct dtype_traits<float> {
    static constexpr const char* name = "float32";
    static constexpr const char* safetensors = "F32";
};
template <>
struct dtype_traits<double> {
    static constexpr const char* name = "float64";
    static constexpr const char* safetensors = "F64";
};
template <>
struct dtype_traits<std::int32_t> {
    static constexpr const char* name = "int32";
    static constexpr const char* safetensors = "I32";
};
template <>
struct dtype_traits<std::int64_t> {
    static constexpr const char* name = "int64";
    static constexpr const char* safetensors = "I64";
};

/// What a module's matrix products read their inputs as (nn::LSTMOptions::compute).
///   fp32  the tensors' own float values (the default)
///   bf16  the GEMM inputs rounded to bfloat16 (8 significant bits, round to nearest even),
///         products accumulated in fp32; weights, gradients, optimizer state and the
///         elementwise math stay fp32. CPU only, on CPUs with AVX512-BF16 (docs/lstm.md).
///   fp16  the GEMM inputs scaled by a power of two per operand and rounded to IEEE half
///         (11 significant bits), products summed in fp16 over blocks of at most 256 and
///         the block sums in fp32; everything else fp32 as for bf16, and no loss scaling
///         needed (the per-operand scale replaces it). CPU only, on CPUs with AVX512-FP16,
///         which multiply fp16 at twice the fp32 rate (docs/lstm.md).
enum class ComputeType { fp32, bf16, fp16 };

inline const char* to_string(ComputeType c) {
    return c == ComputeType::bf16 ? "bf16" : c == ComputeType::fp16 ? "fp16" : "fp32";
}

/// "fp32", "bf16" or "fp16"; ValueError naming the value otherwise.
inline ComputeType parse_compute_type(std::string_view name) {
    if (name == "fp32") return ComputeType::fp32;
    if (name == "bf16") return ComputeType::bf16;
    if (name == "fp16") return ComputeType::fp16;
    throw ValueError("compute type must be fp32, bf16 or fp16, got '" + std::string(name) + "'");
}

/// Types that carry gradients.
template <class T>
inline constexpr bool is_floating_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace nnlite
