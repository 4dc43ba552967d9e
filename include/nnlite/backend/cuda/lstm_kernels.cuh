// lstm_kernels<cuda>: the fused LSTM gate kernels of backend/cpu/lstm_kernels.hpp on the
// device (the math is written out there). One thread per (row, hidden unit) does the whole
// step for that unit: it reads the four pre-activations once, writes the four activations,
// the cell and the hidden state, so a step is one kernel launch plus one cuBLAS GEMM.
//
// copy_rows takes its row-index arrays in HOST memory (ops/lstm.hpp builds the schedule on
// the host); they are uploaded per call into a cached device block. That is one small
// host-to-device copy per call (a handful per layer and step); its cost has not been
// measured separately (see docs/cuda.md for the GPU measurements).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cuda/kernels.cuh"
#include "nnlite/backend/cuda/storage.cuh"
#include "nnlite/backend/functors.hpp"

namespace nnlite {

namespace cuda_detail {

template <class T>
__global__ void lstm_gates_forward_kernel(T* gates, const T* c_prev, T* c_out, T* h_out,
                                          std::size_t rows, std::size_t H) {
    NNLITE_CUDA_FOR(p, rows * H) {
        const std::size_t r = p / H, j = p % H;
        T* a = gates + r * 4 * H;
        const T i = nnlite::detail::sigmoid_scalar(a[j]);
        const T f = nnlite::detail::sigmoid_scalar(a[H + j]);
        const T g = nnlite::detail::math_tanh(a[2 * H + j]);
        const T o = nnlite::detail::sigmoid_scalar(a[3 * H + j]);
        a[j] = i;
        a[H + j] = f;
        a[2 * H + j] = g;
        a[3 * H + j] = o;
        const T c = f * c_prev[p] + i * g;  // c_prev may alias c_out: read before write
        c_out[p] = c;
        h_out[p] = o * nnlite::detail::math_tanh(c);
    }
}

template <class T>
__global__ void lstm_gates_backward_kernel(const T* gates, const T* c, const T* c_prev, const T* dh,
                                           const T* dy, T* dc, T* dgates, std::size_t rows,
                                           std::size_t H) {
    NNLITE_CUDA_FOR(p, rows * H) {
        const std::size_t r = p / H, j = p % H;
        const T* a = gates + r * 4 * H;
        T* da = dgates + r * 4 * H;
        const T dh_tot = dy ? dh[p] + dy[p] : dh[p];
        lstm_detail::unit_backward(a[j], a[H + j], a[2 * H + j], a[3 * H + j],
                                   nnlite::detail::math_tanh(c[p]), c_prev[p], dh_tot, dc[p],
                                   da[j], da[H + j], da[2 * H + j], da[3 * H + j]);
    }
}

template <class T>
__global__ void broadcast_bias_rows_kernel(T* out, const T* bias_a, const T* bias_b,
                                           std::size_t rows, std::size_t n) {
    NNLITE_CUDA_FOR(p, rows * n) {
        const std::size_t j = p % n;
        out[p] = (bias_a ? bias_a[j] : T(0)) + (bias_b ? bias_b[j] : T(0));
    }
}

template <class T>
__global__ void sum_rows_kernel(const T* in, std::size_t rows, std::size_t n, T* out) {
    NNLITE_CUDA_FOR(j, n) {
        T acc = T(0);
        for (std::size_t r = 0; r < rows; ++r) acc += in[r * n + j];
        out[j] = acc;
    }
}

/// rows_map[0, count) = source rows, rows_map[count, 2 count) = destination rows.
template <class T>
__global__ void copy_rows_kernel(const T* src, T* dst, const std::size_t* rows_map,
                                 std::size_t count, std::size_t n) {
    NNLITE_CUDA_FOR(p, count * n) {
        const std::size_t k = p / n, j = p % n;
        dst[rows_map[count + k] * n + j] = src[rows_map[k] * n + j];
    }
}

}  // namespace cuda_detail

template <>
struct lstm_kernels<cuda> {
    template <class T>
    static void gates_forward(T* gates, const T* c_prev, T* c_out, T* h_out, std::size_t rows,
                              std::size_t hidden) {
        const std::size_t n = rows * hidden;
        if (n == 0) return;
        cuda_detail::launch("lstm_gates_forward_kernel", n,
                            cuda_detail::lstm_gates_forward_kernel<T>, gates, c_prev, c_out, h_out,
                            rows, hidden);
    }
    template <class T>
    static void gates_backward(const T* gates, const T* c, const T* c_prev, const T* dh,
                               const T* dy, T* dc, T* dgates, std::size_t rows,
                               std::size_t hidden) {
        const std::size_t n = rows * hidden;
        if (n == 0) return;
        cuda_detail::launch("lstm_gates_backward_kernel", n,
                            cuda_detail::lstm_gates_backward_kernel<T>, gates, c, c_prev, dh, dy,
                            dc, dgates, rows, hidden);
    }
    template <class T>
    static void broadcast_bias_rows(T* out, const T* bias_a, const T* bias_b, std::size_t rows,
                                    std::size_t n) {
        if (rows * n == 0) return;
        cuda_detail::launch("broadcast_bias_rows_kernel", rows * n,
                            cuda_detail::broadcast_bias_rows_kernel<T>, out, bias_a, bias_b, rows,
                            n);
    }
    template <class T>
    static void sum_rows(const T* in, std::size_t rows, std::size_t n, T* out) {
        if (n == 0) return;
        cuda_detail::launch("sum_rows_kernel", n, cuda_detail::sum_rows_kernel<T>, in, rows, n,
                            out);
    }
    /// dst[dst_row[k], :] = src[src_row[k], :]; src_row and dst_row are HOST arrays.
    template <class T>
    static void copy_rows(const T* src, const std::size_t* src_row, T* dst,
                          const std::size_t* dst_row, std::size_t count, std::size_t n) {
        if (count == 0 || n == 0) return;
        std::vector<std::size_t> host(2 * count);
        std::copy(src_row, src_row + count, host.begin());
        std::copy(dst_row, dst_row + count, host.begin() + static_cast<std::ptrdiff_t>(count));
        // The block goes back to the cache when `rows_map` dies; the kernel reading it is
        // already enqueued on the same stream, so a later reuse is ordered after it.
        cuda_detail::DeviceBuffer<std::size_t> rows_map(2 * count);
        cuda::copy_from_host(rows_map.data(), host.data(), host.size());
        cuda_detail::launch("copy_rows_kernel", count * n, cuda_detail::copy_rows_kernel<T>, src,
                            dst, rows_map.data(), count, n);
    }
    template <class T>
    static void gemm(bool trans_a, bool trans_b, std::size_t m, std::size_t n, std::size_t k,
                     T alpha, const T* a, std::size_t lda, const T* b, std::size_t ldb, T beta,
                     T* c, std::size_t ldc) {
        cuda_detail::row_major_gemm(trans_a, trans_b, 1, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta,
                                    c, ldc, 0);
    }
};

}  // namespace nnlite
