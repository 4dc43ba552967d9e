// Choosing the backend at run time: a Device value and a dispatch that calls generic code
// with the matching backend tag. Templates stay the mechanism underneath; this is the few
// lines an application needs for `--device cpu|cuda`:
//
//   const nnlite::Device device = nnlite::Device::parse(flag);      // "cpu" or "cuda"
//   nnlite::dispatch(device, [&](auto backend) {
//       using B = decltype(backend);                                  // nnlite::cpu or cuda
//       train<B>(options);
//   });
//
// dispatch(Device::cuda, f) runs f(nnlite::cuda{}) only in a translation unit compiled by
// nvcc (the CUDA backend's kernels must be compiled there; including this header from a
// .cu file brings the backend in). Elsewhere, and in a build without CUDA, it throws one
// nnlite::Error saying that the program was built without the CUDA backend. With CUDA, a
// machine without a usable GPU is an nnlite::Error naming the driver's reason. So the
// translation units that dispatch are the ones a CUDA build compiles with nvcc (in CMake:
// set_source_files_properties(file.cpp PROPERTIES LANGUAGE CUDA)).
//
// One program may mix both kinds of translation unit: everything whose body depends on
// __CUDACC__ lives in an inline namespace named after the kind (with_cuda / host_only), so
// the two versions are different functions, never one function defined two ways (ODR).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/core/error.hpp"

#ifdef __CUDACC__
#include "nnlite/backend/cuda/backend.cuh"
#endif

namespace nnlite {

/// Where tensors live and kernels run.
class Device {
  public:
    enum Kind { cpu, cuda };

    constexpr Device(Kind kind = cpu) : kind_(kind) {}  // NOLINT: Device d = Device::cuda

    /// "cpu" or "cuda"; anything else is a ValueError naming the value and the choices.
    static Device parse(std::string_view name) {
        if (name == "cpu") return Device(cpu);
        if (name == "cuda") return Device(cuda);
        throw ValueError("unknown device '" + std::string(name) + "' (choose cpu or cuda)");
    }

    constexpr Kind kind() const { return kind_; }
    /// "cpu" or "cuda" (what parse() accepts).
    constexpr const char* name() const { return kind_ == cuda ? "cuda" : "cpu"; }

    friend constexpr bool operator==(Device a, Device b) { return a.kind_ == b.kind_; }
    friend constexpr bool operator!=(Device a, Device b) { return a.kind_ != b.kind_; }

  private:
    Kind kind_;
};

/// "cpu" or "cuda".
inline std::string to_string(Device d) {
    return d.name();
}

#ifdef __CUDACC__
inline namespace with_cuda {
#else
inline namespace host_only {
#endif

/// Whether code in this translation unit can run on the GPU: it was compiled by nvcc and
/// a CUDA driver and device are present. Never throws.
inline bool cuda_available() {
#ifdef __CUDACC__
    return is_cuda_available();
#else
    return false;
#endif
}

/// Throws an nnlite::Error when `device` cannot be used from this translation unit: for
/// cuda, a build (or translation unit) without the CUDA backend, or no usable GPU (the
/// message names the driver's reason). cpu is always usable.
inline void require_available(Device device) {
    if (device == Device::cpu) return;
#ifdef __CUDACC__
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        throw Error(std::string("no usable CUDA device on this machine (") +
                    (status != cudaSuccess ? cudaGetErrorString(status) : "no device found") + ")");
    }
#else
    throw Error(
        "this program was built without the CUDA backend (configure with "
        "-DNNLITE_WITH_CUDA=ON and compile the code that dispatches with nvcc)");
#endif
}

/// "cpu", or "cuda (<GPU name>)" for the first CUDA device. Requires the device to be
/// available (require_available).
inline std::string describe(Device device) {
    require_available(device);
#ifdef __CUDACC__
    if (device == Device::cuda) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
            (void)cudaGetLastError();
            return "cuda";
        }
        return std::string("cuda (") + prop.name + ")";
    }
#endif
    return "cpu";
}

/// Calls f(nnlite::cpu{}) or f(nnlite::cuda{}) for `device` and returns what it returns
/// (every instantiation must return the same type). Throws as require_available() when
/// the device cannot be used, before f runs.
template <class F>
decltype(auto) dispatch(Device device, F&& f) {
    require_available(device);
#ifdef __CUDACC__
    if (device == Device::cuda) return std::forward<F>(f)(nnlite::cuda{});
#endif
    return std::forward<F>(f)(nnlite::cpu{});
}

}  // namespace with_cuda / host_only

}  // namespace nnlite
