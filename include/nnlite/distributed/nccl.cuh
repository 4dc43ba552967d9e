// NCCL for nnlite::cuda tensors: device-side gradient all-reduce and parameter broadcast,
// with MPI (a ProcessGroup) only bootstrapping the NCCL communicator.
//
// CUDA-only: include it from a .cu file compiled by nvcc and link nnlite::distributed_nccl
// (configured when NNLITE_WITH_NCCL: CUDA, MPI and NCCL found). nnlite/distributed.hpp does
// not include it. Without NCCL, GradientBucketer<T, cuda> and broadcast_module work on CUDA
// tensors by staging through host memory (gradient_bucketer.hpp, broadcast.hpp).
//
//   nnlite::distributed::ProcessGroup pg(argc, argv);
//   nnlite::distributed::NcclCommunicator nccl(pg);   // first: selects this rank's GPU
//   Model<float, nnlite::cuda> model(...);
//   nnlite::distributed::nccl_broadcast_module(nccl, model);
//   nnlite::distributed::NcclGradientBucketer<float> bucketer(nccl, model.parameters());
//   ... loss.backward(); bucketer.allreduce(); clip; optimizer.step();
//
// Devices. NcclCommunicator selects one GPU per rank: the rank's index among the ranks of
// its node (MPI_Comm_split_type(MPI_COMM_TYPE_SHARED) of the group's communicator) modulo
// the devices this process sees, and checks, by device UUID, that no two ranks of a node
// share a GPU (NCCL cannot put two ranks of one communicator on one device): more ranks
// than GPUs on a node is a DistributedError on every rank of the group. nnlite's one stream is
// created on the current device at first use, so construct the communicator before any
// nnlite CUDA tensor.
//
// Collectives run on nnlite's stream (cuda_detail::stream()), ordered with every kernel and
// copy nnlite enqueues: no synchronisation is added. Gradients are packed into device
// buckets (cudaMemcpyAsync device to device) with GradientBucketer's layout and cap, one
// ncclAllReduce(ncclSum) per bucket, then scaled by 1/R for GradReduce::average (the same
// arithmetic as the host path: sum, then multiply by T(1)/R). A failing NCCL call is a
// DistributedError naming the call and ncclGetErrorString (plus ncclGetLastError's text).
// Errors NCCL detects asynchronously (a peer that died) surface at a later call or hang;
// run_or_abort (abort.hpp) still ends the job when a rank throws.
#pragma once

#ifndef __CUDACC__
#error "nnlite/distributed/nccl.cuh uses the CUDA backend: include it from a .cu file (nvcc)"
#endif

#include <mpi.h>
#include <nccl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "nnlite/backend/cuda/backend.cuh"
#include "nnlite/distributed/error.hpp"
#include "nnlite/distributed/gradient_bucketer.hpp"
#include "nnlite/distributed/process_group.hpp"
#include "nnlite/nn/module.hpp"

namespace nnlite::distributed {

namespace detail {

/// Throws DistributedError naming `call` (and `context`) unless rc is ncclSuccess.
template <class... Context>
inline void nccl_check(ncclResult_t rc, const char* call, Context&&... context) {
    if (rc == ncclSuccess) return;
    std::string text = ncclGetErrorString(rc);
    const char* last = ncclGetLastError(nullptr);
    if (last != nullptr && last[0] != '\0') text += std::string(" (") + last + ")";
    if constexpr (sizeof...(Context) == 0)
        throw DistributedError(nnlite::detail::concat(call, " failed: ", text));
    else
        throw DistributedError(nnlite::detail::concat(call, " (", std::forward<Context>(context)...,
                                                      ") failed: ", text));
}

/// CUDA runtime errors of the distributed layer, also as DistributedError.
inline void cuda_check(cudaError_t rc, const char* call) {
    if (rc == cudaSuccess) return;
    (void)cudaGetLastError();
    throw DistributedError(nnlite::detail::concat(call, " failed: ", cudaGetErrorName(rc), ": ",
                                                  cudaGetErrorString(rc)));
}

template <class T>
ncclDataType_t nccl_datatype() {
    if constexpr (std::is_same_v<T, float>)
        return ncclFloat32;
    else if constexpr (std::is_same_v<T, double>)
        return ncclFloat64;
    else if constexpr (std::is_same_v<T, std::int32_t>)
        return ncclInt32;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return ncclInt64;
    else if constexpr (std::is_same_v<T, std::uint32_t>)
        return ncclUint32;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return ncclUint64;
    else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, unsigned char>)
        return ncclUint8;
    else
        static_assert(sizeof(T) == 0, "nccl_datatype: no NCCL datatype for this element type");
}

}  // namespace detail

/// Collective: selects this rank's CUDA device (its index on its node modulo the visible
/// devices) and checks that no two ranks of a node share one; returns the device ordinal.
/// Throws DistributedError on every rank of a node with more ranks than GPUs, and when
/// this process sees no device. NcclCommunicator calls it; call it yourself only to pick
/// the device without NCCL.
inline int select_cuda_device(const ProcessGroup& pg) {
    MPI_Comm node = MPI_COMM_NULL;
    detail::mpi_check(
        MPI_Comm_split_type(pg.comm(), MPI_COMM_TYPE_SHARED, pg.rank(), MPI_INFO_NULL, &node),
        "MPI_Comm_split_type", "MPI_COMM_TYPE_SHARED");
    int node_rank = 0, node_size = 1;
    int rc = MPI_Comm_rank(node, &node_rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(node, &node_size);
    if (rc != MPI_SUCCESS) MPI_Comm_free(&node);
    detail::mpi_check(rc, "MPI_Comm_rank/MPI_Comm_size", "node communicator");
    const int count = cuda_device_count();
    // Every rank takes part in the exchange below, even without a device, so that all
    // ranks of the node reach the same verdict instead of some waiting forever.
    int device = count > 0 ? node_rank % count : -1;  // -1: none, -2: unusable
    char uuid[16] = {};
    cudaError_t status = cudaSuccess;
    if (device >= 0) {
        cudaDeviceProp prop{};
        status = cudaSetDevice(device);
        if (status == cudaSuccess) status = cudaGetDeviceProperties(&prop, device);
        static_assert(sizeof(prop.uuid.bytes) == sizeof(uuid));
        if (status == cudaSuccess)
            std::memcpy(uuid, prop.uuid.bytes, sizeof(uuid));
        else
            device = -2;  // reported after the exchange, so no rank of the node waits
    }
    std::vector<char> all(static_cast<std::size_t>(node_size) * sizeof(uuid));
    std::vector<int> devices(static_cast<std::size_t>(node_size));
    rc = MPI_Allgather(uuid, sizeof(uuid), MPI_BYTE, all.data(), sizeof(uuid), MPI_BYTE, node);
    if (rc == MPI_SUCCESS)
        rc = MPI_Allgather(&device, 1, MPI_INT, devices.data(), 1, MPI_INT, node);
    MPI_Comm_free(&node);
    detail::mpi_check(rc, "MPI_Allgather", "device UUIDs of the node's ranks");
    detail::cuda_check(status, "cudaSetDevice/cudaGetDeviceProperties");
    for (int r = 0; r < node_size; ++r)
        check<DistributedError>(devices[static_cast<std::size_t>(r)] != -2,
                                "select_cuda_device: rank ", r,
                                " of this node could not select its CUDA device");
    for (int r = 0; r < node_size; ++r)
        check<DistributedError>(devices[static_cast<std::size_t>(r)] >= 0,
                                "select_cuda_device: rank ", r,
                                " of this node sees no CUDA device (NCCL needs one GPU per rank)");
    for (int a = 0; a < node_size; ++a)
        for (int b = a + 1; b < node_size; ++b)
            check<DistributedError>(
                std::memcmp(&all[static_cast<std::size_t>(a) * sizeof(uuid)],
                            &all[static_cast<std::size_t>(b) * sizeof(uuid)], sizeof(uuid)) != 0,
                "select_cuda_device: ", node_size, " ranks on this node but ranks ", a, " and ", b,
                " would share one GPU (this process sees ", count,
                " CUDA device(s)); NCCL cannot put two ranks on one device: start at most one "
                "rank per GPU per node (or use the host-staging GradientBucketer)");
    return device;
}

/// An NCCL communicator over the ranks of a ProcessGroup, one GPU per rank. Collective to
/// construct (rank 0 makes the NCCL id, MPI_Bcast sends it, ncclCommInitRank); destroyed
/// with ncclCommDestroy. Keep it alive while tensors reduce through it; the ProcessGroup
/// is needed only by the constructor.
class NcclCommunicator {
  public:
    explicit NcclCommunicator(const ProcessGroup& pg) : rank_(pg.rank()), size_(pg.size()) {
        // Device selection and nnlite's stream, agreed by every rank of the group: a node
        // without enough GPUs fails the whole group here instead of leaving the other
        // nodes waiting in ncclCommInitRank.
        std::string failure;
        try {
            device_ = select_cuda_device(pg);
            const cudaStream_t stream = cuda_detail::stream();
#if CUDART_VERSION >= 12080
            int stream_device = -1;
            detail::cuda_check(cudaStreamGetDevice(stream, &stream_device), "cudaStreamGetDevice");
            check<DistributedError>(stream_device == device_,
                                    "NcclCommunicator: nnlite's stream "
                                    "was created on device ",
                                    stream_device, ", not on device ", device_,
                                    " selected for rank ", rank_,
                                    ": construct the communicator before any CUDA tensor");
#else
            (void)stream;
#endif
        } catch (const std::exception& e) {
            failure = e.what();
        }
        int ok = failure.empty() ? 1 : 0;
        detail::mpi_check(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, pg.comm()),
                          "MPI_Allreduce", "device selection status");
        if (!failure.empty()) throw DistributedError(failure);
        check<DistributedError>(ok == 1,
                                "NcclCommunicator: device selection failed on another "
                                "rank of the group (see its message)");
        // Rank 0's status travels with the id, so a failure there fails every rank
        // instead of leaving the others in ncclCommInitRank.
        struct {
            int rc;
            ncclUniqueId id;
        } msg{};
        msg.rc = ncclSuccess;
        if (pg.rank() == 0) msg.rc = static_cast<int>(ncclGetUniqueId(&msg.id));
        detail::mpi_check(MPI_Bcast(&msg, sizeof(msg), MPI_BYTE, 0, pg.comm()), "MPI_Bcast",
                          "NCCL unique id");
        detail::nccl_check(static_cast<ncclResult_t>(msg.rc), "ncclGetUniqueId", "on rank 0");
        detail::nccl_check(ncclCommInitRank(&comm_, size_, msg.id, rank_), "ncclCommInitRank",
                           "rank ", rank_, " of ", size_, ", device ", device_);
    }
    NcclCommunicator(const NcclCommunicator&) = delete;
    NcclCommunicator& operator=(const NcclCommunicator&) = delete;
    ~NcclCommunicator() {
        if (comm_ != nullptr) {
            (void)cudaStreamSynchronize(cuda_detail::stream());
            (void)ncclCommDestroy(comm_);
        }
    }

    ncclComm_t comm() const {
        return comm_;
    }
    int rank() const {
        return rank_;
    }
    int size() const {
        return size_;
    }
    /// The CUDA device ordinal this rank uses.
    int device() const {
        return device_;
    }

  private:
    ncclComm_t comm_ = nullptr;
    int rank_ = 0;
    int size_ = 1;
    int device_ = 0;
};

/// Collective: in-place all-reduce of one device buffer on nnlite's stream (sum, or sum
/// then scale by 1/R for average). Runs the NCCL call even with one rank.
template <class T>
void nccl_allreduce(const NcclCommunicator& nccl, T* data, std::size_t n,
                    GradReduce op = GradReduce::average) {
    if (n == 0) return;
    detail::nccl_check(ncclAllReduce(data, data, n, detail::nccl_datatype<T>(), ncclSum,
                                     nccl.comm(), cuda_detail::stream()),
                       "ncclAllReduce", n * sizeof(T), " bytes");
    if (op == GradReduce::average && nccl.size() > 1)
        kernels<cuda>::scale(data, n, T(1) / static_cast<T>(nccl.size()));
}

/// Collective: nccl_allreduce of one tensor's values.
template <class T>
void nccl_allreduce(const NcclCommunicator& nccl, Tensor<T, cuda>& t,
                    GradReduce op = GradReduce::average) {
    nccl_allreduce(nccl, t.data(), t.numel(), op);
}

/// GradientBucketer for CUDA tensors through NCCL: the same buckets (parameters that
/// require grad, in order, at most bucket_cap_bytes each, a larger tensor alone), the same
/// GradReduce semantics (missing gradients take part as zeros; one rank returns at once),
/// device buffers instead of host ones, kept and reused.
template <class T = float>
class NcclGradientBucketer {
  public:
    using tensor_type = Tensor<T, cuda>;

    NcclGradientBucketer(const NcclCommunicator& nccl, std::vector<tensor_type> params,
                         std::size_t bucket_cap_bytes = default_bucket_cap_bytes)
        : nccl_(&nccl) {
        total_numel_ =
            detail::plan_buckets<T>("NcclGradientBucketer", params, bucket_cap_bytes, buckets_);
        for (auto& b : buckets_) b.device = cuda::allocate<T>(b.numel);
    }

    std::size_t num_buckets() const { return buckets_.size(); }
    std::size_t total_bytes() const { return total_numel_ * sizeof(T); }
    std::size_t bucket_bytes(std::size_t i) const { return buckets_.at(i).numel * sizeof(T); }
    std::size_t bucket_tensors(std::size_t i) const { return buckets_.at(i).slots.size(); }

    /// Collective: replaces each gradient by the average (or sum) over all ranks, on
    /// nnlite's stream (returns once enqueued). With one rank it returns at once.
    void allreduce(GradReduce op = GradReduce::average) {
        if (nccl_->size() == 1) return;
        for (std::size_t bi = 0; bi < buckets_.size(); ++bi) {
            Bucket& b = buckets_[bi];
            for (auto& s : b.slots) {
                auto g = s.param.grad();
                if (!g.defined()) {  // take part with zeros, as GradientBucketer
                    g = tensor_type::zeros(s.param.shape());
                    s.param.set_grad(g);
                }
                kernels<cuda>::copy(b.device.data() + s.offset, g.data(), g.numel());
            }
            detail::nccl_check(
                ncclAllReduce(b.device.data(), b.device.data(), b.numel, detail::nccl_datatype<T>(),
                              ncclSum, nccl_->comm(), cuda_detail::stream()),
                "ncclAllReduce", "gradient bucket ", bi, " of ", buckets_.size(), ", ",
                b.numel * sizeof(T), " bytes");
            if (op == GradReduce::average)
                kernels<cuda>::scale(b.device.data(), b.numel,
                                     T(1) / static_cast<T>(nccl_->size()));
            for (auto& s : b.slots) {
                auto g = s.param.grad();
                kernels<cuda>::copy(g.data(), b.device.data() + s.offset, g.numel());
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
        cuda::buffer<T> device;
    };
    const NcclCommunicator* nccl_;
    std::vector<Bucket> buckets_;
    std::size_t total_numel_ = 0;
};

/// Collective: one-shot NCCL all-reduce of `params`' gradients.
template <class T>
void nccl_allreduce_gradients(const NcclCommunicator& nccl,
                              const std::vector<Tensor<T, cuda>>& params,
                              GradReduce op = GradReduce::average,
                              std::size_t bucket_cap_bytes = default_bucket_cap_bytes) {
    NcclGradientBucketer<T>(nccl, params, bucket_cap_bytes).allreduce(op);
}

/// Collective: every tensor's values become rank `root`'s, packed into device buckets of at
/// most bucket_cap_bytes (a larger tensor alone), one ncclBroadcast each.
template <class T>
void nccl_broadcast_tensors(const NcclCommunicator& nccl, std::vector<Tensor<T, cuda>> tensors,
                            int root = 0, std::size_t bucket_cap_bytes = default_bucket_cap_bytes) {
    check<ValueError>(root >= 0 && root < nccl.size(), "nccl_broadcast_tensors: root ", root,
                      " is not a rank of this group of ", nccl.size());
    const std::size_t cap = std::max<std::size_t>(1, bucket_cap_bytes / sizeof(T));
    std::size_t i = 0;
    while (i < tensors.size()) {
        std::size_t j = i, numel = 0;
        while (j < tensors.size() && (j == i || numel + tensors[j].numel() <= cap))
            numel += tensors[j++].numel();
        if (numel > 0) {
            // The buffer returns to nnlite's caching allocator at the end of this
            // iteration; work on the one stream keeps its reuse ordered.
            auto bucket = cuda::allocate<T>(numel);
            std::size_t off = 0;
            if (nccl.rank() == root)
                for (std::size_t k = i; k < j; off += tensors[k].numel(), ++k)
                    kernels<cuda>::copy(bucket.data() + off, tensors[k].data(), tensors[k].numel());
            detail::nccl_check(
                ncclBroadcast(bucket.data(), bucket.data(), numel, detail::nccl_datatype<T>(), root,
                              nccl.comm(), cuda_detail::stream()),
                "ncclBroadcast", "tensors ", i, "..", j - 1, ", ", numel * sizeof(T), " bytes");
            off = 0;
            if (nccl.rank() != root)
                for (std::size_t k = i; k < j; off += tensors[k].numel(), ++k)
                    kernels<cuda>::copy(tensors[k].data(), bucket.data() + off, tensors[k].numel());
        }
        i = j;
    }
}

/// Collective: every rank's parameters and buffers become rank `root`'s (as
/// broadcast_module, through NCCL).
template <class T>
void nccl_broadcast_module(const NcclCommunicator& nccl, const nn::Module<T, cuda>& module,
                           int root = 0) {
    std::vector<Tensor<T, cuda>> tensors;
    for (auto& kv : module.named_parameters()) tensors.push_back(kv.second);
    for (auto& kv : module.named_buffers()) tensors.push_back(kv.second);
    nccl_broadcast_tensors(nccl, std::move(tensors), root);
}

}  // namespace nnlite::distributed
