// GradientBucketer / allreduce_gradients: make every rank's gradients the average (or the
// sum) of all ranks' gradients, in a few large MPI calls.
//
// The math of synchronous data parallelism. One step of the 1-process program on a global
// batch of N samples computes g = dL/dw with L = (1/N) sum_{i<N} l_i. With R ranks, rank r
// holds a disjoint slice S_r of that batch (DistributedBatchSampler) and computes
//   g_r = d/dw [ sum_{i in S_r} l_i / N ]               (loss normalised by the GLOBAL batch)
// so that sum_r g_r = g exactly (up to float summation order): allreduce with
// GradReduce::sum. The common special case: every slice has n = N/R samples and each rank
// uses the ordinary mean loss (1/n) sum_{i in S_r} l_i; then g = (1/R) sum_r g_r:
// GradReduce::average (the default). With uneven slices (the last batch of an epoch when
// N % R != 0) only the first form is exact; DistributedBatchSampler gives each rank N.
//
// After the all-reduce every rank holds the same gradient bits, so everything that follows
// must be identical on every rank for the parameters to stay equal:
//   - clip on the GLOBAL norm after the all-reduce (nn::clip_grad_norm on the reduced
//     gradients: every rank computes the same norm and the same coefficient). Clipping
//     before the all-reduce would clip each rank's partial gradient differently.
//   - the same optimizer, hyper-parameters, LR schedule and step count on every rank, from
//     the same parameters (broadcast_module at start-up) and the same optimizer state
//     (fresh, or the same checkpoint loaded on every rank).
// check_parameters_equal (consistency.hpp) verifies the outcome when debugging.
//
// Buckets. Gradients are packed in parameter order into contiguous host buffers of at most
// bucket_cap_bytes (default 25 MiB, PyTorch DDP's default; a tensor larger than the cap gets
// a bucket to itself), and each bucket is one MPI_Allreduce (split further only past 2^31-1
// elements, MPI's count limit). Fewer, larger messages amortise the per-call latency of
// the all-reduce, which dominates for the many small tensors (biases) of a model; the cap
// bounds the staging memory. The buffers live in the bucketer and are reused every step.
//
// Backends. Packing uses B::copy_to_host / B::copy_from_host, so the same code serves the
// CPU backend (a memcpy) and the CUDA backend (device -> host staging, MPI on the host,
// host -> device): correct everywhere, though on GPUs it pays two PCIe copies per step. The
// device-side all-reduce is NcclGradientBucketer (nnlite/distributed/nccl.cuh, CUDA builds
// with NCCL: nnlite::distributed_nccl); CUDA-aware MPI is not used (docs/distributed.md).
//
// Parameters that require grad but have no gradient on this rank (not used by this rank's
// forward, or its slice of the batch was empty) take part with zeros, so every rank makes
// the same calls with the same sizes; afterwards they hold the reduced gradient.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <vector>

#include "nnlite/core/error.hpp"
#include "nnlite/distributed/datatype.hpp"
#include "nnlite/distributed/error.hpp"
#include "nnlite/distributed/process_group.hpp"
#include "nnlite/nn/module.hpp"

namespace nnlite::distributed {

/// What the all-reduce leaves in each gradient: the mean over ranks or the sum.
enum class GradReduce { average, sum };

/// PyTorch DistributedDataParallel's default bucket size.
inline constexpr std::size_t default_bucket_cap_bytes = std::size_t{25} << 20;

namespace detail {
/// The bucket layout both bucketers use (GradientBucketer here, NcclGradientBucketer in
/// nccl.cuh): the parameters that require grad, in order, packed into buckets of at most
/// bucket_cap_bytes (a larger tensor alone). Bucket needs `slots` (of {param, offset}) and
/// `numel`; returns the total number of elements. `who` names the caller in errors.
template <class T, class Bucket, class Tensors>
std::size_t plan_buckets(const char* who, const Tensors& params, std::size_t bucket_cap_bytes,
                         std::vector<Bucket>& buckets) {
    check<ValueError>(bucket_cap_bytes >= sizeof(T), who,
                      ": bucket_cap_bytes must be at least one element (", sizeof(T),
                      " bytes), got ", bucket_cap_bytes);
    const std::size_t cap = bucket_cap_bytes / sizeof(T);
    std::size_t total = 0;
    for (auto& p : params) {
        if (!p.defined() || !p.requires_grad()) continue;
        const std::size_t n = p.numel();
        if (buckets.empty() || (buckets.back().numel > 0 && buckets.back().numel + n > cap))
            buckets.emplace_back();
        Bucket& b = buckets.back();
        b.slots.push_back({p, b.numel});
        b.numel += n;
        total += n;
    }
    return total;
}
}  // namespace detail

template <class T = float, class B = cpu>
class GradientBucketer {
  public:
    using tensor_type = Tensor<T, B>;

    /// Lays out buckets over the parameters that require grad, in order. Every rank must
    /// build its bucketer from the same parameter list (same order and shapes): check it
    /// at start-up with check_same_model (consistency.hpp).
    explicit GradientBucketer(std::vector<tensor_type> params,
                              std::size_t bucket_cap_bytes = default_bucket_cap_bytes) {
        total_numel_ =
            detail::plan_buckets<T>("GradientBucketer", params, bucket_cap_bytes, buckets_);
        for (auto& b : buckets_) b.host.resize(b.numel);
    }

    std::size_t num_buckets() const { return buckets_.size(); }
    /// Bytes all-reduced per call of allreduce(): the size of every gradient together.
    std::size_t total_bytes() const { return total_numel_ * sizeof(T); }
    std::size_t bucket_bytes(std::size_t i) const { return buckets_.at(i).numel * sizeof(T); }
    /// Number of parameters in bucket i.
    std::size_t bucket_tensors(std::size_t i) const { return buckets_.at(i).slots.size(); }

    /// Collective: replaces each gradient by the average (or sum) over all ranks. With one
    /// rank it returns at once (gradients, defined or not, are left as they are).
    void allreduce(const ProcessGroup& pg, GradReduce op = GradReduce::average) {
        if (pg.size() == 1) return;  // the average (and the sum) of one rank is itself
        const T scale = T(1) / static_cast<T>(pg.size());
        for (std::size_t bi = 0; bi < buckets_.size(); ++bi) {
            Bucket& b = buckets_[bi];
            for (auto& s : b.slots) {
                auto g = s.param.grad();
                if (!g.defined()) {  // take part with zeros (see the file comment)
                    g = tensor_type::zeros(s.param.shape());
                    s.param.set_grad(g);
                }
                B::copy_to_host(b.host.data() + s.offset, g.data(), g.numel());
            }
            // One call per bucket, in chunks only past MPI's int count limit.
            for (std::size_t done = 0; done < b.numel;) {
                const std::size_t n = std::min<std::size_t>(b.numel - done, INT_MAX);
                detail::mpi_check(
                    MPI_Allreduce(MPI_IN_PLACE, b.host.data() + done, static_cast<int>(n),
                                  mpi_datatype<T>(), MPI_SUM, pg.comm()),
                    "MPI_Allreduce", "gradient bucket ", bi, " of ", buckets_.size(), ", ",
                    n * sizeof(T), " bytes");
                done += n;
            }
            if (op == GradReduce::average && pg.size() > 1)
                for (auto& v : b.host) v *= scale;
            for (auto& s : b.slots) {
                auto g = s.param.grad();
                B::copy_from_host(g.data(), b.host.data() + s.offset, g.numel());
            }
        }
    }

  private:
    struct Slot {
        tensor_type param;
        std::size_t offset;  // in elements, within the bucket
    };
    struct Bucket {
        std::vector<Slot> slots;
        std::size_t numel = 0;
        std::vector<T> host;
    };
    std::vector<Bucket> buckets_;
    std::size_t total_numel_ = 0;
};

/// Collective: one-shot all-reduce of `params`' gradients (builds a GradientBucketer; in a
/// training loop keep one bucketer instead, it reuses its buffers).
template <class T, class B>
void allreduce_gradients(const ProcessGroup& pg, const std::vector<Tensor<T, B>>& params,
                         GradReduce op = GradReduce::average,
                         std::size_t bucket_cap_bytes = default_bucket_cap_bytes) {
    GradientBucketer<T, B>(params, bucket_cap_bytes).allreduce(pg, op);
}

}  // namespace nnlite::distributed
