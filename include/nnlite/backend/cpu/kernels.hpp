// kernels<cpu>: the raw-pointer loops behind every op on the CPU backend. Shapes are
// validated by the ops before they get here; kernels trust their arguments. Loops are kept
// plain so the compiler vectorises them; GEMMs go to OpenBLAS.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/blas.hpp"
#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/backend/functors.hpp"
#include "nnlite/core/shape.hpp"
#include "nnlite/core/threads.hpp"

namespace nnlite {

namespace detail {

/// Calls f(offset_out, offset_a, offset_b) for the start of every innermost row of a
/// broadcast binary op, with the innermost extent and strides handled by the caller.
template <class F>
void for_each_row(const Shape& shape, const std::vector<std::size_t>& sa,
                  const std::vector<std::size_t>& sb, F&& f) {
    const std::size_t rank = shape.size();
    const std::size_t inner = rank ? shape[rank - 1] : 1;
    const std::size_t rows = inner ? numel(shape) / inner : 0;
    std::vector<std::size_t> idx(rank ? rank - 1 : 0, 0);
    std::size_t oa = 0, ob = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        f(r * inner, oa, ob);
        for (std::size_t d = idx.size(); d-- > 0;) {  // odometer over the outer dims
            ++idx[d];
            oa += sa[d];
            ob += sb[d];
            if (idx[d] < shape[d]) break;
            oa -= sa[d] * shape[d];
            ob -= sb[d] * shape[d];
            idx[d] = 0;
        }
    }
}

template <BinaryOp Op, class T>
void binary_row(T* out, const T* a, std::size_t sa, const T* b, std::size_t sb, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) out[i] = apply_binary(Op, a[i * sa], b[i * sb]);
}

template <BinaryOp Op, class T>
void binary_impl(const Shape& out_shape, T* out, const T* a, const Shape& a_shape, const T* b,
                 const Shape& b_shape) {
    const std::size_t n = numel(out_shape);
    if (a_shape == out_shape && b_shape == out_shape) {
        for (std::size_t i = 0; i < n; ++i) out[i] = apply_binary(Op, a[i], b[i]);
        return;
    }
    if (a_shape == out_shape && numel(b_shape) == 1) {
        const T s = b[0];
        for (std::size_t i = 0; i < n; ++i) out[i] = apply_binary(Op, a[i], s);
        return;
    }
    const auto sa = broadcast_strides(a_shape, out_shape);
    const auto sb = broadcast_strides(b_shape, out_shape);
    const std::size_t inner = out_shape.empty() ? 1 : out_shape.back();
    const std::size_t ia = out_shape.empty() ? 0 : sa.back(),
                      ib = out_shape.empty() ? 0 : sb.back();
    for_each_row(out_shape, sa, sb, [&](std::size_t o, std::size_t oa, std::size_t ob) {
        binary_row<Op>(out + o, a + oa, ia, b + ob, ib, inner);
    });
}

/// Elements per chunk of the streaming loops below (fill, copy, axpy, scale, copy_slab):
/// 128 KiB of floats. Arrays of fewer than two chunks run on the caller alone; longer ones
/// (an embedding's gradient, a layer's output) are split over the thread team, where two
/// cores stream 8 MB about twice as fast as one (0.65 -> 0.33 ms for a copy or an axpy).
/// Every element gets the same instructions however the range is split.
constexpr std::size_t stream_chunk = std::size_t{1} << 15;

/// f(begin, end) over [0, n): inline below two stream_chunks, else on the thread team.
template <class F>
void stream_for(std::size_t n, F&& f) {
    if (n < 2 * stream_chunk) {
        if (n) f(std::size_t{0}, n);
        return;
    }
    nnlite::parallel_for(n, stream_chunk, f);
}

}  // namespace detail

template <>
struct kernels<cpu> {
    template <class T>
    static void fill(T* p, std::size_t n, T v) {
        detail::stream_for(n,
                           [&](std::size_t i0, std::size_t i1) { std::fill(p + i0, p + i1, v); });
    }
    template <class T>
    static void copy(T* dst, const T* src, std::size_t n) {
        detail::stream_for(n, [&](std::size_t i0, std::size_t i1) {
            std::memcpy(dst + i0, src + i0, (i1 - i0) * sizeof(T));
        });
    }
    /// y += alpha * x
    template <class T>
    static void axpy(T* y, const T* x, std::size_t n, T alpha) {
        detail::stream_for(n, [&](std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i) y[i] += alpha * x[i];
        });
    }
    template <class T>
    static void scale(T* y, std::size_t n, T alpha) {
        detail::stream_for(n, [&](std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i) y[i] *= alpha;
        });
    }
    /// out = a (op) b with NumPy broadcasting of a_shape and b_shape to out_shape.
    template <class T>
    static void binary(BinaryOp op, const Shape& out_shape, T* out, const T* a,
                       const Shape& a_shape, const T* b, const Shape& b_shape) {
        detail::dispatch_binary(op, [&](auto tag) {
            detail::binary_impl<decltype(tag)::value>(out_shape, out, a, a_shape, b, b_shape);
        });
    }
    /// out = op(in) elementwise (formulas in backend/functors.hpp); the op is dispatched
    /// once, so each loop is op-specific and vectorises where the math allows.
    template <class T>
    static void unary(UnaryOp op, T* out, const T* in, std::size_t n) {
        detail::dispatch_unary(op, [&](auto tag) {
            constexpr UnaryOp Op = decltype(tag)::value;
            for (std::size_t i = 0; i < n; ++i) out[i] = detail::unary_forward<Op>(in[i]);
        });
    }
    /// gin = d op(in) / d in * gout, using the saved input or output as each derivative
    /// needs (exp, sigmoid and tanh from the output; log and relu from the input).
    template <class T>
    static void unary_backward(UnaryOp op, T* gin, const T* gout, const T* in, const T* out,
                               std::size_t n) {
        detail::dispatch_unary(op, [&](auto tag) {
            constexpr UnaryOp Op = decltype(tag)::value;
            for (std::size_t i = 0; i < n; ++i)
                gin[i] = detail::unary_backward<Op>(gout[i], in[i], out[i]);
        });
    }
    /// out (shape out_shape, which broadcasts to in_shape) = sum of `in` over broadcast dims.
    template <class T>
    static void sum_to(const T* in, const Shape& in_shape, T* out, const Shape& out_shape) {
        const std::size_t n_out = numel(out_shape);
        std::fill(out, out + n_out, T(0));
        const auto so = broadcast_strides(out_shape, in_shape);
        const std::vector<std::size_t> unused(in_shape.size(), 0);
        const std::size_t inner = in_shape.empty() ? 1 : in_shape.back();
        const std::size_t io = in_shape.empty() ? 0 : so.back();
        detail::for_each_row(in_shape, so, unused, [&](std::size_t i, std::size_t o, std::size_t) {
            T* dst = out + o;
            const T* src = in + i;
            if (io == 0) {
                T acc = T(0);
                for (std::size_t j = 0; j < inner; ++j) acc += src[j];
                dst[0] += acc;
            } else {
                for (std::size_t j = 0; j < inner; ++j) dst[j] += src[j];
            }
        });
    }
    /// out[o, i] = reduce over l of in[o, l, i]; for max, argmax[o, i] receives l.
    template <class T>
    static void reduce_dim(ReduceOp op, const T* in, std::size_t outer, std::size_t len,
                           std::size_t inner, T* out, std::int64_t* argmax) {
        for (std::size_t o = 0; o < outer; ++o) {
            const T* src = in + o * len * inner;
            T* dst = out + o * inner;
            if (op == ReduceOp::sum) {
                std::fill(dst, dst + inner, T(0));
                for (std::size_t l = 0; l < len; ++l)
                    for (std::size_t i = 0; i < inner; ++i) dst[i] += src[l * inner + i];
            } else {
                std::int64_t* am = argmax + o * inner;
                for (std::size_t i = 0; i < inner; ++i) {
                    dst[i] = src[i];
                    am[i] = 0;
                }
                for (std::size_t l = 1; l < len; ++l)
                    for (std::size_t i = 0; i < inner; ++i) {
                        const T v = src[l * inner + i];
                        // NaN propagates like PyTorch's max: once NaN, it stays.
                        if (v > dst[i] || (std::isnan(v) && !std::isnan(dst[i]))) {
                            dst[i] = v;
                            am[i] = static_cast<std::int64_t>(l);
                        }
                    }
            }
        }
    }
    /// out[o, l, i] = in[o, i] for l < len (the inverse shape of reduce_dim), scaled.
    template <class T>
    static void expand_dim(const T* in, std::size_t outer, std::size_t len, std::size_t inner,
                           T* out, T scale) {
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t l = 0; l < len; ++l)
                for (std::size_t i = 0; i < inner; ++i)
                    out[(o * len + l) * inner + i] = scale * in[o * inner + i];
    }
    /// grad of max along a dim: routes g[o, i] to position argmax[o, i]; out zero elsewhere.
    template <class T>
    static void scatter_argmax(const T* g, const std::int64_t* argmax, std::size_t outer,
                               std::size_t len, std::size_t inner, T* out) {
        std::fill(out, out + outer * len * inner, T(0));
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i)
                out[(o * len + static_cast<std::size_t>(argmax[o * inner + i])) * inner + i] =
                    g[o * inner + i];
    }
    /// C_b = alpha * op(A_b) op(B_b) + beta * C_b for b < batch, row-major, each operand at
    /// its own batch stride (0 broadcasts one matrix to every batch).
    template <class T>
    static void gemm_batched(bool ta, bool tb, std::size_t batch, std::size_t m, std::size_t n,
                             std::size_t k, T alpha, const T* a, std::size_t stride_a, const T* b,
                             std::size_t stride_b, T beta, T* c, std::size_t stride_c) {
        const auto ld = detail::packed_gemm_ld(ta, tb, m, n, k);
        for (std::size_t i = 0; i < batch; ++i) {
            blas::gemm(ta, tb, m, n, k, alpha, a + i * stride_a, ld.lda, b + i * stride_b, ld.ldb,
                       beta, c + i * stride_c, ld.ldc);
        }
    }
    /// out = in with dims d0 and d1 swapped (out has the swapped shape).
    template <class T>
    static void transpose(const T* in, const Shape& shape, std::size_t d0, std::size_t d1, T* out) {
        Shape out_shape = shape;
        std::swap(out_shape[d0], out_shape[d1]);
        auto in_strides = contiguous_strides(shape);
        std::swap(in_strides[d0], in_strides[d1]);  // reading `in` in out's index order
        const std::size_t inner = out_shape.empty() ? 1 : out_shape.back();
        const std::size_t si = out_shape.empty() ? 0 : in_strides.back();
        const std::size_t n = numel(out_shape);
        // Copies the block of `sub` (out's shape or a trailing part of it) whose out elements
        // start at o_base and whose in elements start at i_base, in out's order. (for_each_row
        // reads its third strides only below sub's rank: one zero vector serves every block.)
        const std::vector<std::size_t> unused(shape.size(), 0);
        auto copy_block = [&](const Shape& sub, const std::vector<std::size_t>& sub_in, T* o_base,
                              const T* i_base) {
            detail::for_each_row(sub, sub_in, unused,
                                 [&](std::size_t o, std::size_t i, std::size_t) {
                                     for (std::size_t j = 0; j < inner; ++j)
                                         o_base[o + j] = i_base[i + j * si];
                                 });
        };
        if (out_shape.size() < 2 || n < 2 * detail::stream_chunk) {
            copy_block(out_shape, in_strides, out, in);
            return;
        }
        // Large tensors (nn::LSTM's batch_first [B, T, E] <-> [T, B, E], 2.8% of a showcase
        // epoch on one thread) split over out's first dim on the thread team: each index
        // a0 of it copies the rest of out's shape from its own offsets, so every element gets
        // the same copy however the range is split.
        const Shape sub(out_shape.begin() + 1, out_shape.end());
        const std::vector<std::size_t> sub_in(in_strides.begin() + 1, in_strides.end());
        const std::size_t per = n / out_shape[0];  // elements per index of the first dim
        nnlite::parallel_for(
            out_shape[0],
            std::max<std::size_t>(1, detail::stream_chunk / std::max<std::size_t>(per, 1)),
            [&](std::size_t a0, std::size_t a1) {
                for (std::size_t a = a0; a < a1; ++a)
                    copy_block(sub, sub_in, out + a * per, in + a * in_strides[0]);
            });
    }
    /// For o < outer: dst[o, dst_off + l, :] (=|+=) src[o, src_off + l, :] for l < len,
    /// where src rows have src_len entries along the dim and dst rows dst_len.
    /// Serves narrow, concat, stack and their backwards.
    template <class T>
    static void copy_slab(const T* src, std::size_t src_len, std::size_t src_off, T* dst,
                          std::size_t dst_len, std::size_t dst_off, std::size_t outer,
                          std::size_t len, std::size_t inner, bool accumulate) {
        const std::size_t row = len * inner;  // elements per slab
        if (row == 0) return;
        auto slabs = [&](std::size_t o0, std::size_t o1) {
            for (std::size_t o = o0; o < o1; ++o) {
                const T* s = src + (o * src_len + src_off) * inner;
                T* d = dst + (o * dst_len + dst_off) * inner;
                if (accumulate)
                    for (std::size_t j = 0; j < row; ++j) d[j] += s[j];
                else
                    std::memcpy(d, s, row * sizeof(T));
            }
        };
        // Whole slabs per thread, about a stream_chunk of elements or more each.
        if (outer < 2 || outer * row < 2 * detail::stream_chunk) {
            slabs(0, outer);
            return;
        }
        nnlite::parallel_for(outer, std::max<std::size_t>(1, detail::stream_chunk / row), slabs);
    }
    /// out[o, j, :] = in[o, idx[j], :] (indices already validated).
    template <class T, class I>
    static void index_select(const T* in, std::size_t outer, std::size_t dim_size,
                             std::size_t inner, const I* idx, std::size_t n_idx, T* out) {
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t j = 0; j < n_idx; ++j)
                std::memcpy(out + (o * n_idx + j) * inner,
                            in + (o * dim_size + static_cast<std::size_t>(idx[j])) * inner,
                            inner * sizeof(T));
    }
    /// out[o, idx[j], :] += src[o, j, :], skipping j whose index equals `skip` (padding).
    template <class T, class I>
    static void index_add(T* out, std::size_t outer, std::size_t dim_size, std::size_t inner,
                          const I* idx, std::size_t n_idx, const T* src, std::int64_t skip) {
        // Thread t of nt adds the rows r with r % nt == t (every thread reads all of idx):
        // no two threads write one row, and each row gets its adds in j order, the serial
        // result bit for bit. Interleaved rather than in ranges because an embedding's ids
        // are sorted by frequency: the low rows get most of the adds.
        auto rows = [&](std::size_t t, std::size_t nt) {
            for (std::size_t o = 0; o < outer; ++o)
                for (std::size_t j = 0; j < n_idx; ++j) {
                    const auto r = static_cast<std::size_t>(idx[j]);
                    if (static_cast<std::int64_t>(idx[j]) == skip || r % nt != t) continue;
                    T* d = out + (o * dim_size + r) * inner;
                    const T* s = src + (o * n_idx + j) * inner;
                    for (std::size_t i = 0; i < inner; ++i) d[i] += s[i];
                }
        };
        const std::size_t nt =
            std::min<std::size_t>(static_cast<std::size_t>(num_threads()), dim_size);
        if (nt < 2 || outer * n_idx * inner < 2 * detail::stream_chunk) {
            rows(0, 1);
            return;
        }
        nnlite::detail::run_chunks(nt, nt, [&](std::size_t t) { rows(t, nt); });
    }
    /// torch.gather along a dim: out[o, j, i] = in[o, idx[o, j, i], i]; scatter=true is its
    /// backward: in[o, idx[o, j, i], i] += out[o, j, i].
    template <class T, class I>
    static void gather(T* in, std::size_t outer, std::size_t dim_size, std::size_t inner,
                       const I* idx, std::size_t n_idx, T* out, bool scatter) {
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t j = 0; j < n_idx; ++j)
                for (std::size_t i = 0; i < inner; ++i) {
                    const std::size_t pos = (o * n_idx + j) * inner + i;
                    T& src = in[(o * dim_size + static_cast<std::size_t>(idx[pos])) * inner + i];
                    if (scatter)
                        src += out[pos];
                    else
                        out[pos] = src;
                }
    }
    /// Softmax (or log-softmax) over the middle axis of [outer, len, inner], max-shifted:
    /// one detail::softmax_row per (o, i).
    template <class T>
    static void softmax(const T* in, std::size_t outer, std::size_t len, std::size_t inner, T* out,
                        bool log) {
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i) {
                const std::size_t base = o * len * inner + i;
                detail::softmax_row(in + base, len, inner, out + base, log);
            }
    }
    /// Backward of softmax/log_softmax from the saved output y (detail::softmax_backward_row).
    template <class T>
    static void softmax_backward(const T* g, const T* y, std::size_t outer, std::size_t len,
                                 std::size_t inner, T* gin, bool log) {
        for (std::size_t o = 0; o < outer; ++o)
            for (std::size_t i = 0; i < inner; ++i) {
                const std::size_t base = o * len * inner + i;
                detail::softmax_backward_row(g + base, y + base, len, inner, gin + base, log);
            }
    }
    /// Elementwise binary cross-entropy on logits (detail::bce_with_logits).
    template <class T>
    static void bce_with_logits(const T* x, const T* y, std::size_t n, T* out) {
        for (std::size_t i = 0; i < n; ++i) out[i] = detail::bce_with_logits(x[i], y[i]);
    }
    /// d l / d x = (sigmoid(x) - y) * g (g one value per element).
    template <class T>
    static void bce_with_logits_backward(const T* x, const T* y, const T* g, std::size_t n, T* gx) {
        for (std::size_t i = 0; i < n; ++i) gx[i] = detail::bce_with_logits_grad(x[i], y[i], g[i]);
    }
};

}  // namespace nnlite
