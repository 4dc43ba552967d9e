// Element-type traits: the names nnlite prints and the safetensors dtype codes.
#pragma once

#include <cstdint>
#include <type_traits>

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

/// Types that carry gradients.
template <class T>
inline constexpr bool is_floating_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

}  // namespace nnlite
