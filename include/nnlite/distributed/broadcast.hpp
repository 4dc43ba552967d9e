// broadcast_module / broadcast_tensors: make every rank start from rank 0's values.
//
// Data parallelism needs identical parameters on every rank before the first step. Seeding
// every rank's initialiser the same gives that too, but only as long as every rank builds
// the model the same way; broadcasting rank 0's values makes it a fact. Use it after
// building the model (and after loading a checkpoint on rank 0, if only rank 0 loads).
// Parameters and buffers are sent in named_parameters() / named_buffers() order, packed
// into buckets of at most bucket_cap_bytes, one MPI_Bcast per bucket. Every rank must hold
// the same names and shapes (check_same_model in consistency.hpp says which rank differs;
// a size mismatch here is only caught as far as MPI can tell).
//
// Optimizer state is not broadcast: a fresh optimizer, or the same checkpoint loaded on
// every rank, is identical everywhere already.
#pragma once

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstddef>
#include <utility>
#include <vector>

#include "nnlite/distributed/datatype.hpp"
#include "nnlite/distributed/error.hpp"
#include "nnlite/distributed/gradient_bucketer.hpp"
#include "nnlite/distributed/process_group.hpp"
#include "nnlite/nn/module.hpp"

namespace nnlite::distributed {

/// Collective: overwrites every tensor's values with those of rank `root`.
template <class T, class B>
void broadcast_tensors(const ProcessGroup& pg, std::vector<Tensor<T, B>> tensors, int root = 0,
                       std::size_t bucket_cap_bytes = default_bucket_cap_bytes) {
    check<ValueError>(root >= 0 && root < pg.size(), "broadcast_tensors: root ", root,
                      " is not a rank of this group of ", pg.size());
    const std::size_t cap = std::max<std::size_t>(1, bucket_cap_bytes / sizeof(T));
    std::vector<T> host;
    std::size_t i = 0;
    while (i < tensors.size()) {
        // Gather the next run of tensors that fits the cap (at least one).
        std::size_t j = i, numel = 0;
        while (j < tensors.size() && (j == i || numel + tensors[j].numel() <= cap))
            numel += tensors[j++].numel();
        host.resize(numel);
        std::size_t off = 0;
        if (pg.rank() == root)
            for (std::size_t k = i; k < j; off += tensors[k].numel(), ++k)
                B::copy_to_host(host.data() + off, tensors[k].data(), tensors[k].numel());
        for (std::size_t done = 0; done < numel;) {
            const std::size_t n = std::min<std::size_t>(numel - done, INT_MAX);
            detail::mpi_check(MPI_Bcast(host.data() + done, static_cast<int>(n), mpi_datatype<T>(),
                                        root, pg.comm()),
                              "MPI_Bcast", "tensors ", i, "..", j - 1, ", ", n * sizeof(T),
                              " bytes");
            done += n;
        }
        off = 0;
        if (pg.rank() != root)
            for (std::size_t k = i; k < j; off += tensors[k].numel(), ++k)
                B::copy_from_host(tensors[k].data(), host.data() + off, tensors[k].numel());
        i = j;
    }
}

/// Collective: every rank's parameters and buffers become rank `root`'s.
template <class T, class B>
void broadcast_module(const ProcessGroup& pg, const nn::Module<T, B>& module, int root = 0) {
    std::vector<Tensor<T, B>> tensors;
    for (auto& kv : module.named_parameters()) tensors.push_back(kv.second);
    for (auto& kv : module.named_buffers()) tensors.push_back(kv.second);
    broadcast_tensors(pg, std::move(tensors), root);
}

}  // namespace nnlite::distributed
