// training_kernels<cuda>: fused optimizer steps, gradient-norm reduction, clamping and
// dropout masks on the device (contracts in backend/cpu/training_kernels.hpp).
//
// - adam_step / sgd_step: one thread per element does the whole update (decay, moments,
//   parameter) in one pass over memory: the fused Adam/AdamW of the issue.
// - norm_accumulate: a block-wise tree reduction in double, partial results summed on the
//   host; the norm equals the CPU's up to summation order (not bit-identical).
// - dropout_mask: one thread per Philox block computes the same 32-bit words as
//   Generator::next_u32() on the host, so a seed gives the same mask on both backends.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cuda/kernels.cuh"
#include "nnlite/backend/cuda/storage.cuh"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/random.hpp"

namespace nnlite {

namespace cuda_detail {

template <class T>
__global__ void adam_step_kernel(T* pd, const T* gd, T* m, T* v, T* vmax, std::size_t n,
                                 AdamStepParams<T> c) {
    NNLITE_CUDA_FOR(j, n) {
        nnlite::detail::adam_update(pd[j], gd[j], m[j], v[j], vmax ? vmax + j : nullptr, c);
    }
}

template <class T>
__global__ void sgd_step_kernel(T* pd, const T* gd, T* buf, std::size_t n, SGDStepParams<T> c) {
    NNLITE_CUDA_FOR(j, n) {
        nnlite::detail::sgd_update(pd[j], gd[j], c.use_momentum ? buf + j : nullptr, c);
    }
}

constexpr unsigned norm_blocks_max = 1024;

/// Each block writes the sum (or max) of |g|^q over its grid-stride share to partial[b],
/// and sets *saw_nan when it met a NaN.
template <class T>
__global__ void norm_partial_kernel(const T* g, std::size_t n, double q, int mode, double* partial,
                                    int* saw_nan) {
    __shared__ double shared[block_size];
    double acc = 0.0;
    bool nan_here = false;
    NNLITE_CUDA_FOR(i, n) {
        const double a = fabs(static_cast<double>(g[i]));
        if (isnan(a)) nan_here = true;
        if (mode == 0)
            acc = fmax(acc, a);
        else if (mode == 2)
            acc += a * a;
        else if (mode == 1)
            acc += a;
        else
            acc += pow(a, q);
    }
    if (nan_here) *saw_nan = 1;
    shared[threadIdx.x] = acc;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s)
            shared[threadIdx.x] = mode == 0 ? fmax(shared[threadIdx.x], shared[threadIdx.x + s])
                                            : shared[threadIdx.x] + shared[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

template <class T>
__global__ void clamp_kernel(T* g, std::size_t n, T lo, T hi) {
    NNLITE_CUDA_FOR(i, n) {
        const T x = g[i];
        g[i] = x < lo ? lo : (x > hi ? hi : x);
    }
}

template <class T>
__global__ void dropout_mask_kernel(T* mask, std::size_t n, double p, T scale, PhiloxRange r,
                                    std::size_t blocks) {
    NNLITE_CUDA_FOR(b, blocks) {
        std::uint32_t words[4];
        philox4x32_10(r.key, r.first_block + b, words);
        for (unsigned w = 0; w < 4; ++w) {
            const std::size_t pos = b * 4 + w;  // word index from first_block's word 0
            if (pos < r.first_word) continue;
            const std::size_t j = pos - r.first_word;
            if (j >= n) break;
            mask[j] = static_cast<double>(words[w]) / 4294967296.0 >= p ? scale : T(0);
        }
    }
}

}  // namespace cuda_detail

template <>
struct training_kernels<cuda> {
    template <class T>
    static void adam_step(T* pd, const T* gd, T* m, T* v, T* vmax, std::size_t n,
                          const AdamStepParams<T>& c) {
        if (n == 0) return;
        cuda_detail::launch("adam_step_kernel", n, cuda_detail::adam_step_kernel<T>, pd, gd, m, v,
                            vmax, n, c);
    }
    template <class T>
    static void sgd_step(T* pd, const T* gd, T* buf, std::size_t n, const SGDStepParams<T>& c) {
        if (n == 0) return;
        cuda_detail::launch("sgd_step_kernel", n, cuda_detail::sgd_step_kernel<T>, pd, gd, buf, n,
                            c);
    }
    template <class T>
    static void norm_accumulate(const T* g, std::size_t n, double norm_type, NormAccumulator& acc) {
        if (n == 0) return;
        const int mode = std::isinf(norm_type) ? 0
                         : norm_type == 2.0    ? 2
                         : norm_type == 1.0    ? 1
                                               : 3;
        const unsigned blocks = std::min(cuda_detail::grid_for(n), cuda_detail::norm_blocks_max);
        cuda_detail::DeviceBuffer<double> partial(blocks);
        cuda_detail::DeviceBuffer<int> saw_nan(1);
        kernels<cuda>::fill(saw_nan.data(), 1, 0);
        cuda_detail::launch_grid("norm_partial_kernel", blocks, cuda_detail::norm_partial_kernel<T>,
                                 g, n, norm_type, mode, partial.data(), saw_nan.data());
        std::vector<double> host(blocks);
        int nan_flag = 0;
        cuda::copy_to_host(host.data(), partial.data(), blocks);
        cuda::copy_to_host(&nan_flag, saw_nan.data(), 1);
        for (const double x : host) acc.acc = mode == 0 ? std::max(acc.acc, x) : acc.acc + x;
        if (nan_flag) acc.saw_nan = true;
    }
    template <class T>
    static void clamp(T* g, std::size_t n, T lo, T hi) {
        if (n == 0) return;
        cuda_detail::launch("clamp_kernel", n, cuda_detail::clamp_kernel<T>, g, n, lo, hi);
    }
    template <class T>
    static void dropout_mask(T* mask, std::size_t n, double p, T scale, const PhiloxRange& r) {
        if (n == 0) return;
        const std::size_t blocks = (r.first_word + n + 3) / 4;
        cuda_detail::launch("dropout_mask_kernel", blocks, cuda_detail::dropout_mask_kernel<T>,
                            mask, n, p, scale, r, blocks);
    }
};

}  // namespace nnlite
