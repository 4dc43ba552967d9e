// kernels<cuda>: the device side of every op, with the same contracts as kernels<cpu>
// (backend/cpu/kernels.hpp): raw device pointers, shapes already validated by the ops.
// Every kernel is enqueued on nnlite's stream (device.cuh) and returns without waiting.
//
// Mapping: elementwise work is one thread per element (grid-stride loops); reductions
// along a dim (sum/max, softmax, sum_to) are one thread per output element looping over
// the reduced extent in index order, so results are deterministic run to run. Scatter-adds
// (index_add, gather backward) use atomicAdd and are therefore order-nondeterministic in
// the last bits, as PyTorch's embedding backward is on CUDA. GEMMs are cuBLAS.
//
// The element math (unary ops, softmax rows, BCE, the k == 0 GEMM case) is the shared
// NNLITE_HOST_DEVICE code of backend/functors.hpp; this file supplies kernels and launches,
// and every launch goes through cuda_detail::launch (grid from n, launch checked by name).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cuda/device.cuh"
#include "nnlite/backend/cuda/error.cuh"
#include "nnlite/backend/cuda/storage.cuh"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/shape.hpp"

namespace nnlite {

namespace cuda_detail {

constexpr unsigned block_size = 256;

/// Blocks for n elements with a grid-stride loop (capped: each thread then does several).
inline unsigned grid_for(std::size_t n) {
    const std::size_t blocks = (n + block_size - 1) / block_size;
    return static_cast<unsigned>(std::min<std::size_t>(std::max<std::size_t>(blocks, 1), 65535));
}

#define NNLITE_CUDA_FOR(i, n)                                                         \
    for (std::size_t i = blockIdx.x * std::size_t{blockDim.x} + threadIdx.x; i < (n); \
         i += std::size_t{gridDim.x} * blockDim.x)

/// Enqueues kernel<<<grid, block_size>>>(args...) on nnlite's stream and checks the
/// launch; a failure is an Error naming `name`. Faults inside the kernel surface at the
/// next synchronising call.
template <class... Params, class... Args>
void launch_grid(const char* name, unsigned grid, void (*kernel)(Params...), Args&&... args) {
    kernel<<<grid, block_size, 0, stream()>>>(std::forward<Args>(args)...);
    check_launch(name);
}

/// launch_grid with the grid for n elements (grid_for(n)), for grid-stride kernels.
template <class... Params, class... Args>
void launch(const char* name, std::size_t n, void (*kernel)(Params...), Args&&... args) {
    launch_grid(name, grid_for(n), kernel, std::forward<Args>(args)...);
}

/// Shapes and strides passed by value to a kernel. Rank is capped at max_rank; the host
/// side checks it with a ShapeError naming the shape.
constexpr int max_rank = 8;
struct Strided {
    int rank = 0;
    std::size_t shape[max_rank] = {};
    std::size_t a[max_rank] = {};  // first operand's strides (0 on broadcast dims)
    std::size_t b[max_rank] = {};  // second operand's strides
};

inline Strided make_strided(const Shape& shape, const std::vector<std::size_t>& sa,
                            const std::vector<std::size_t>& sb, const char* who) {
    check<ShapeError>(shape.size() <= static_cast<std::size_t>(max_rank), "cuda ", who, ": rank ",
                      shape.size(), " of shape ", to_string(shape),
                      " exceeds the CUDA backend's maximum rank ", max_rank);
    Strided s;
    s.rank = static_cast<int>(shape.size());
    for (std::size_t d = 0; d < shape.size(); ++d) {
        s.shape[d] = shape[d];
        s.a[d] = sa[d];
        s.b[d] = sb[d];
    }
    return s;
}

/// Offsets into both operands of linear element index i of `s.shape`.
__device__ inline void strided_offsets(const Strided& s, std::size_t i, std::size_t& oa,
                                       std::size_t& ob) {
    oa = 0;
    ob = 0;
    for (int d = s.rank - 1; d >= 0; --d) {
        const std::size_t c = i % s.shape[d];
        i /= s.shape[d];
        oa += c * s.a[d];
        ob += c * s.b[d];
    }
}

template <class T>
__global__ void fill_kernel(T* p, std::size_t n, T v) {
    NNLITE_CUDA_FOR(i, n) p[i] = v;
}
template <class T>
__global__ void axpy_kernel(T* y, const T* x, std::size_t n, T alpha) {
    NNLITE_CUDA_FOR(i, n) y[i] += alpha * x[i];
}
template <class T>
__global__ void scale_kernel(T* y, std::size_t n, T alpha) {
    NNLITE_CUDA_FOR(i, n) y[i] *= alpha;
}
template <class T>
__global__ void binary_same_kernel(BinaryOp op, T* out, const T* a, const T* b, std::size_t n) {
    NNLITE_CUDA_FOR(i, n) out[i] = nnlite::detail::apply_binary(op, a[i], b[i]);
}
template <class T>
__global__ void binary_scalar_kernel(BinaryOp op, T* out, const T* a, const T* b, std::size_t n) {
    NNLITE_CUDA_FOR(i, n) out[i] = nnlite::detail::apply_binary(op, a[i], b[0]);
}
template <class T>
__global__ void binary_broadcast_kernel(BinaryOp op, Strided s, T* out, const T* a, const T* b,
                                        std::size_t n) {
    NNLITE_CUDA_FOR(i, n) {
        std::size_t oa, ob;
        strided_offsets(s, i, oa, ob);
        out[i] = nnlite::detail::apply_binary(op, a[oa], b[ob]);
    }
}
template <UnaryOp Op, class T>
__global__ void unary_kernel(T* out, const T* in, std::size_t n) {
    NNLITE_CUDA_FOR(i, n) out[i] = nnlite::detail::unary_forward<Op>(in[i]);
}
template <UnaryOp Op, class T>
__global__ void unary_backward_kernel(T* gin, const T* gout, const T* in, const T* out,
                                      std::size_t n) {
    NNLITE_CUDA_FOR(i, n) gin[i] = nnlite::detail::unary_backward<Op>(gout[i], in[i], out[i]);
}
/// sum_to: output element j sums the `reduced` input elements that broadcast onto it.
/// `kept` holds the non-reduced dims (shape + input strides in `a`), `red` the reduced
/// dims (shape + input strides in `a`); j is row-major over kept dims, which is the
/// output's own order.
template <class T>
__global__ void sum_to_kernel(const T* in, Strided kept, Strided red, std::size_t reduced, T* out,
                              std::size_t n_out) {
    NNLITE_CUDA_FOR(j, n_out) {
        std::size_t base, unused;
        strided_offsets(kept, j, base, unused);
        T acc = T(0);
        for (std::size_t k = 0; k < reduced; ++k) {
            std::size_t off;
            strided_offsets(red, k, off, unused);
            acc += in[base + off];
        }
        out[j] = acc;
    }
}
template <class T>
__global__ void reduce_dim_kernel(ReduceOp op, const T* in, std::size_t outer, std::size_t len,
                                  std::size_t inner, T* out, std::int64_t* argmax) {
    NNLITE_CUDA_FOR(q, outer * inner) {
        const std::size_t o = q / inner, i = q % inner;
        const T* src = in + o * len * inner + i;
        if (op == ReduceOp::sum) {
            T acc = T(0);
            for (std::size_t l = 0; l < len; ++l) acc += src[l * inner];
            out[q] = acc;
        } else {
            T best = src[0];
            std::int64_t at = 0;
            for (std::size_t l = 1; l < len; ++l) {
                const T v = src[l * inner];
                if (v > best || (isnan(v) && !isnan(best))) {
                    best = v;
                    at = static_cast<std::int64_t>(l);
                }
            }
            out[q] = best;
            argmax[q] = at;
        }
    }
}
template <class T>
__global__ void expand_dim_kernel(const T* in, std::size_t outer, std::size_t len,
                                  std::size_t inner, T* out, T scale) {
    NNLITE_CUDA_FOR(p, outer * len * inner) {
        const std::size_t o = p / (len * inner), i = p % inner;
        out[p] = scale * in[o * inner + i];
    }
}
template <class T>
__global__ void scatter_argmax_kernel(const T* g, const std::int64_t* argmax, std::size_t outer,
                                      std::size_t len, std::size_t inner, T* out) {
    NNLITE_CUDA_FOR(q, outer * inner) {
        const std::size_t o = q / inner, i = q % inner;
        out[(o * len + static_cast<std::size_t>(argmax[q])) * inner + i] = g[q];
    }
}
template <class T>
__global__ void scale_or_zero_kernel(T* c, std::size_t n, T beta) {
    NNLITE_CUDA_FOR(i, n) c[i] = nnlite::detail::gemm_empty_k(c[i], beta);
}
template <class T>
__global__ void transpose_kernel(const T* in, Strided s, T* out, std::size_t n) {
    NNLITE_CUDA_FOR(p, n) {
        std::size_t oi, unused;
        strided_offsets(s, p, oi, unused);
        out[p] = in[oi];
    }
}
template <class T>
__global__ void copy_slab_kernel(const T* src, std::size_t src_len, std::size_t src_off, T* dst,
                                 std::size_t dst_len, std::size_t dst_off, std::size_t outer,
                                 std::size_t len, std::size_t inner, bool accumulate) {
    const std::size_t row = len * inner;
    NNLITE_CUDA_FOR(p, outer * row) {
        const std::size_t o = p / row, r = p % row;
        const T v = src[(o * src_len + src_off) * inner + r];
        T& d = dst[(o * dst_len + dst_off) * inner + r];
        d = accumulate ? d + v : v;
    }
}
template <class T, class I>
__global__ void index_select_kernel(const T* in, std::size_t dim_size, std::size_t inner,
                                    const I* idx, std::size_t n_idx, T* out, std::size_t n) {
    NNLITE_CUDA_FOR(p, n) {
        const std::size_t i = p % inner, j = (p / inner) % n_idx, o = p / (inner * n_idx);
        out[p] = in[(o * dim_size + static_cast<std::size_t>(idx[j])) * inner + i];
    }
}
template <class T, class I>
__global__ void index_add_kernel(T* out, std::size_t dim_size, std::size_t inner, const I* idx,
                                 std::size_t n_idx, const T* src, std::int64_t skip,
                                 std::size_t n) {
    NNLITE_CUDA_FOR(p, n) {
        const std::size_t i = p % inner, j = (p / inner) % n_idx, o = p / (inner * n_idx);
        if (static_cast<std::int64_t>(idx[j]) == skip) continue;
        atomicAdd(out + (o * dim_size + static_cast<std::size_t>(idx[j])) * inner + i, src[p]);
    }
}
template <class T, class I>
__global__ void gather_kernel(T* in, std::size_t dim_size, std::size_t inner, const I* idx,
                              std::size_t n_idx, T* out, bool scatter, std::size_t n) {
    NNLITE_CUDA_FOR(pos, n) {
        const std::size_t i = pos % inner, o = pos / (inner * n_idx);
        T* src = in + (o * dim_size + static_cast<std::size_t>(idx[pos])) * inner + i;
        if (scatter)
            atomicAdd(src, out[pos]);
        else
            out[pos] = *src;
    }
}
template <class T>
__global__ void softmax_kernel(const T* in, std::size_t outer, std::size_t len, std::size_t inner,
                               T* out, bool log) {
    NNLITE_CUDA_FOR(q, outer * inner) {
        const std::size_t base = (q / inner) * len * inner + q % inner;
        nnlite::detail::softmax_row(in + base, len, inner, out + base, log);
    }
}
template <class T>
__global__ void softmax_backward_kernel(const T* g, const T* y, std::size_t outer, std::size_t len,
                                        std::size_t inner, T* gin, bool log) {
    NNLITE_CUDA_FOR(q, outer * inner) {
        const std::size_t base = (q / inner) * len * inner + q % inner;
        nnlite::detail::softmax_backward_row(g + base, y + base, len, inner, gin + base, log);
    }
}
template <class T>
__global__ void bce_with_logits_kernel(const T* x, const T* y, std::size_t n, T* out) {
    NNLITE_CUDA_FOR(i, n) out[i] = nnlite::detail::bce_with_logits(x[i], y[i]);
}
template <class T>
__global__ void bce_with_logits_backward_kernel(const T* x, const T* y, const T* g, std::size_t n,
                                                T* gx) {
    NNLITE_CUDA_FOR(i, n) gx[i] = nnlite::detail::bce_with_logits_grad(x[i], y[i], g[i]);
}

// cuBLAS is column-major. A row-major C[m,n] = op(A) op(B) is the column-major
// C^T[n,m] = op(B)^T op(A)^T, so the operands swap places and m, n swap: no copies.
template <class T>
cublasStatus_t gemm_strided_batched(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                    const T* alpha, const T* a, int lda, long long sa, const T* b,
                                    int ldb, long long sb, const T* beta, T* c, int ldc,
                                    long long sc, int batch) {
    if constexpr (std::is_same_v<T, float>)
        return cublasSgemmStridedBatched(cublas_handle(), ta, tb, m, n, k, alpha, a, lda, sa, b,
                                         ldb, sb, beta, c, ldc, sc, batch);
    else
        return cublasDgemmStridedBatched(cublas_handle(), ta, tb, m, n, k, alpha, a, lda, sa, b,
                                         ldb, sb, beta, c, ldc, sc, batch);
}

inline int blas_int(std::size_t v, const char* what) {
    check<ShapeError>(v <= static_cast<std::size_t>(std::numeric_limits<int>::max()),
                      "cuda gemm: ", what, " = ", v, " exceeds cuBLAS's 32-bit int range");
    return static_cast<int>(v);
}

/// Row-major C = alpha op(A) op(B) + beta C with explicit leading dimensions, batched by
/// strides; k == 0 scales C by beta with the shared detail::gemm_empty_k, as the CPU's
/// blas::gemm does (cuBLAS would scale too, but this keeps the contract in one place).
template <class T>
void row_major_gemm(bool ta, bool tb, std::size_t batch, std::size_t m, std::size_t n,
                    std::size_t k, T alpha, const T* a, std::size_t lda, std::size_t stride_a,
                    const T* b, std::size_t ldb, std::size_t stride_b, T beta, T* c,
                    std::size_t ldc, std::size_t stride_c) {
    if (batch == 0 || m == 0 || n == 0) return;
    if (k == 0) {
        for (std::size_t i = 0; i < batch; ++i)
            for (std::size_t r = 0; r < m; ++r)
                launch("scale_or_zero_kernel", n, scale_or_zero_kernel<T>,
                       c + i * stride_c + r * ldc, n, beta);
        return;
    }
    check_cublas(
        gemm_strided_batched(tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                             blas_int(n, "n"), blas_int(m, "m"), blas_int(k, "k"), &alpha, b,
                             blas_int(ldb, "ldb"), static_cast<long long>(stride_b), a,
                             blas_int(lda, "lda"), static_cast<long long>(stride_a), &beta, c,
                             blas_int(ldc, "ldc"), static_cast<long long>(stride_c),
                             blas_int(batch, "batch")),
        "cublas<S|D>gemmStridedBatched");
}

}  // namespace cuda_detail

template <>
struct kernels<cuda> {
    template <class T>
    static void fill(T* p, std::size_t n, T v) {
        if (n == 0) return;
        cuda_detail::launch("fill_kernel", n, cuda_detail::fill_kernel<T>, p, n, v);
    }
    template <class T>
    static void copy(T* dst, const T* src, std::size_t n) {
        if (n == 0 || dst == src) return;
        cuda_detail::check_cuda(cudaMemcpyAsync(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice,
                                                cuda_detail::stream()),
                                "cudaMemcpyAsync(device to device)");
    }
    template <class T>
    static void axpy(T* y, const T* x, std::size_t n, T alpha) {
        if (n == 0) return;
        cuda_detail::launch("axpy_kernel", n, cuda_detail::axpy_kernel<T>, y, x, n, alpha);
    }
    template <class T>
    static void scale(T* y, std::size_t n, T alpha) {
        if (n == 0) return;
        cuda_detail::launch("scale_kernel", n, cuda_detail::scale_kernel<T>, y, n, alpha);
    }
    template <class T>
    static void binary(BinaryOp op, const Shape& out_shape, T* out, const T* a,
                       const Shape& a_shape, const T* b, const Shape& b_shape) {
        using namespace cuda_detail;
        const std::size_t n = numel(out_shape);
        if (n == 0) return;
        if (a_shape == out_shape && b_shape == out_shape) {
            launch("binary_same_kernel", n, binary_same_kernel<T>, op, out, a, b, n);
        } else if (a_shape == out_shape && numel(b_shape) == 1) {
            launch("binary_scalar_kernel", n, binary_scalar_kernel<T>, op, out, a, b, n);
        } else {
            const Strided s = make_strided(out_shape, broadcast_strides(a_shape, out_shape),
                                           broadcast_strides(b_shape, out_shape), "binary");
            launch("binary_broadcast_kernel", n, binary_broadcast_kernel<T>, op, s, out, a, b, n);
        }
    }
    template <class T>
    static void unary(UnaryOp op, T* out, const T* in, std::size_t n) {
        if (n == 0) return;
        detail::dispatch_unary(op, [&](auto tag) {
            constexpr UnaryOp Op = decltype(tag)::value;
            cuda_detail::launch("unary_kernel", n, cuda_detail::unary_kernel<Op, T>, out, in, n);
        });
    }
    template <class T>
    static void unary_backward(UnaryOp op, T* gin, const T* gout, const T* in, const T* out,
                               std::size_t n) {
        if (n == 0) return;
        detail::dispatch_unary(op, [&](auto tag) {
            constexpr UnaryOp Op = decltype(tag)::value;
            cuda_detail::launch("unary_backward_kernel", n,
                                cuda_detail::unary_backward_kernel<Op, T>, gin, gout, in, out, n);
        });
    }
    template <class T>
    static void sum_to(const T* in, const Shape& in_shape, T* out, const Shape& out_shape) {
        using namespace cuda_detail;
        const std::size_t n_out = numel(out_shape), n_in = numel(in_shape);
        if (n_out == 0) return;
        const auto so = broadcast_strides(out_shape, in_shape);
        const auto si = contiguous_strides(in_shape);
        Shape kept_shape, red_shape;
        std::vector<std::size_t> kept_stride, red_stride;
        for (std::size_t d = 0; d < in_shape.size(); ++d) {
            if (so[d] != 0) {
                kept_shape.push_back(in_shape[d]);
                kept_stride.push_back(si[d]);
            } else {
                red_shape.push_back(in_shape[d]);
                red_stride.push_back(si[d]);
            }
        }
        if (n_in == 0) {
            fill(out, n_out, T(0));
            return;
        }
        const std::size_t reduced = n_in / n_out;
        const Strided kept = make_strided(kept_shape, kept_stride, kept_stride, "sum_to");
        const Strided red = make_strided(red_shape, red_stride, red_stride, "sum_to");
        cuda_detail::launch("sum_to_kernel", n_out, cuda_detail::sum_to_kernel<T>, in, kept, red,
                            reduced, out, n_out);
    }
    template <class T>
    static void reduce_dim(ReduceOp op, const T* in, std::size_t outer, std::size_t len,
                           std::size_t inner, T* out, std::int64_t* argmax) {
        const std::size_t n = outer * inner;
        if (n == 0) return;
        if (len == 0) {  // an empty sum is 0 (max over nothing is rejected by the op)
            fill(out, n, T(0));
            return;
        }
        cuda_detail::launch("reduce_dim_kernel", n, cuda_detail::reduce_dim_kernel<T>, op, in,
                            outer, len, inner, out, argmax);
    }
    template <class T>
    static void expand_dim(const T* in, std::size_t outer, std::size_t len, std::size_t inner,
                           T* out, T scale) {
        const std::size_t n = outer * len * inner;
        if (n == 0) return;
        cuda_detail::launch("expand_dim_kernel", n, cuda_detail::expand_dim_kernel<T>, in, outer,
                            len, inner, out, scale);
    }
    template <class T>
    static void scatter_argmax(const T* g, const std::int64_t* argmax, std::size_t outer,
                               std::size_t len, std::size_t inner, T* out) {
        fill(out, outer * len * inner, T(0));
        const std::size_t n = outer * inner;
        if (n == 0 || len == 0) return;
        cuda_detail::launch("scatter_argmax_kernel", n, cuda_detail::scatter_argmax_kernel<T>, g,
                            argmax, outer, len, inner, out);
    }
    template <class T>
    static void gemm_batched(bool ta, bool tb, std::size_t batch, std::size_t m, std::size_t n,
                             std::size_t k, T alpha, const T* a, std::size_t stride_a, const T* b,
                             std::size_t stride_b, T beta, T* c, std::size_t stride_c) {
        const auto ld = detail::packed_gemm_ld(ta, tb, m, n, k);
        cuda_detail::row_major_gemm(ta, tb, batch, m, n, k, alpha, a, ld.lda, stride_a, b, ld.ldb,
                                    stride_b, beta, c, ld.ldc, stride_c);
    }
    template <class T>
    static void transpose(const T* in, const Shape& shape, std::size_t d0, std::size_t d1, T* out) {
        using namespace cuda_detail;
        const std::size_t n = numel(shape);
        if (n == 0) return;
        Shape out_shape = shape;
        std::swap(out_shape[d0], out_shape[d1]);
        auto in_strides = contiguous_strides(shape);
        std::swap(in_strides[d0], in_strides[d1]);  // reading `in` in out's index order
        const Strided s = make_strided(out_shape, in_strides, in_strides, "transpose");
        cuda_detail::launch("transpose_kernel", n, cuda_detail::transpose_kernel<T>, in, s, out, n);
    }
    template <class T>
    static void copy_slab(const T* src, std::size_t src_len, std::size_t src_off, T* dst,
                          std::size_t dst_len, std::size_t dst_off, std::size_t outer,
                          std::size_t len, std::size_t inner, bool accumulate) {
        const std::size_t n = outer * len * inner;
        if (n == 0) return;
        cuda_detail::launch("copy_slab_kernel", n, cuda_detail::copy_slab_kernel<T>, src, src_len,
                            src_off, dst, dst_len, dst_off, outer, len, inner, accumulate);
    }
    template <class T, class I>
    static void index_select(const T* in, std::size_t outer, std::size_t dim_size,
                             std::size_t inner, const I* idx, std::size_t n_idx, T* out) {
        const std::size_t n = outer * n_idx * inner;
        if (n == 0) return;
        cuda_detail::launch("index_select_kernel", n, cuda_detail::index_select_kernel<T, I>, in,
                            dim_size, inner, idx, n_idx, out, n);
    }
    template <class T, class I>
    static void index_add(T* out, std::size_t outer, std::size_t dim_size, std::size_t inner,
                          const I* idx, std::size_t n_idx, const T* src, std::int64_t skip) {
        const std::size_t n = outer * n_idx * inner;
        if (n == 0) return;
        cuda_detail::launch("index_add_kernel", n, cuda_detail::index_add_kernel<T, I>, out,
                            dim_size, inner, idx, n_idx, src, skip, n);
    }
    template <class T, class I>
    static void gather(T* in, std::size_t outer, std::size_t dim_size, std::size_t inner,
                       const I* idx, std::size_t n_idx, T* out, bool scatter) {
        const std::size_t n = outer * n_idx * inner;
        if (n == 0) return;
        cuda_detail::launch("gather_kernel", n, cuda_detail::gather_kernel<T, I>, in, dim_size,
                            inner, idx, n_idx, out, scatter, n);
    }
    template <class T>
    static void softmax(const T* in, std::size_t outer, std::size_t len, std::size_t inner, T* out,
                        bool log) {
        const std::size_t n = outer * inner;
        if (n == 0 || len == 0) return;
        cuda_detail::launch("softmax_kernel", n, cuda_detail::softmax_kernel<T>, in, outer, len,
                            inner, out, log);
    }
    template <class T>
    static void softmax_backward(const T* g, const T* y, std::size_t outer, std::size_t len,
                                 std::size_t inner, T* gin, bool log) {
        const std::size_t n = outer * inner;
        if (n == 0 || len == 0) return;
        cuda_detail::launch("softmax_backward_kernel", n, cuda_detail::softmax_backward_kernel<T>,
                            g, y, outer, len, inner, gin, log);
    }
    template <class T>
    static void bce_with_logits(const T* x, const T* y, std::size_t n, T* out) {
        if (n == 0) return;
        cuda_detail::launch("bce_with_logits_kernel", n, cuda_detail::bce_with_logits_kernel<T>, x,
                            y, n, out);
    }
    template <class T>
    static void bce_with_logits_backward(const T* x, const T* y, const T* g, std::size_t n, T* gx) {
        if (n == 0) return;
        cuda_detail::launch("bce_with_logits_backward_kernel", n,
                            cuda_detail::bce_with_logits_backward_kernel<T>, x, y, g, n, gx);
    }
};

}  // namespace nnlite
