// The CPU backend, whole: the `cpu` tag and its storage, kernels<cpu>, training_kernels<cpu>,
// lstm_kernels<cpu> and backend_traits<cpu>. Host memory, OpenBLAS GEMMs, loops the
// compiler vectorises, and vectorised sigmoid/tanh for the LSTM gates.
#pragma once

#include "nnlite/backend/backend.hpp"
#include "nnlite/backend/cpu/blas.hpp"
#include "nnlite/backend/cpu/denormals.hpp"
#include "nnlite/backend/cpu/kernels.hpp"
#include "nnlite/backend/cpu/lstm_kernels.hpp"
#include "nnlite/backend/cpu/storage.hpp"
#include "nnlite/backend/cpu/training_kernels.hpp"

namespace nnlite {

template <>
struct backend_traits<cpu> {
    /// The two directions of a bidirectional layer run on two host threads at once.
    static constexpr bool concurrent_host_threads = true;
    /// ...each with single-threaded BLAS, so the two do not oversubscribe the cores.
    using concurrent_scope = blas::SingleThreadScope;
    /// LSTM backward through time underflows: flush denormals (see denormals.hpp).
    using kernel_scope = FlushDenormalsGuard;
};

}  // namespace nnlite
