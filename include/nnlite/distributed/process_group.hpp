// ProcessGroup: the ranks of one data-parallel job, over MPI.
//
// A ProcessGroup owns a private duplicate of a communicator (MPI_COMM_WORLD by default), so
// nnlite's collectives never match messages of the program's own MPI traffic, and sets
// MPI_ERRORS_RETURN on it: every failing call becomes a DistributedError naming the call
// (error.hpp) instead of an abort deep inside MPI.
//
// Lifetime: the constructor initialises MPI only when nobody has yet (MPI_Init_thread with
// MPI_THREAD_FUNNELED: nnlite's kernels use threads, but only the thread that made the
// group calls MPI). The destructor frees the duplicate and calls MPI_Finalize only if this
// group initialised MPI; a program that initialised MPI itself finalizes it itself.
//
// All collective member functions (barrier, and the free functions taking a ProcessGroup)
// must be called by every rank in the same order with matching arguments, as in MPI.
#pragma once

#include <mpi.h>

#include <cstdlib>

#include "nnlite/core/error.hpp"
#include "nnlite/distributed/error.hpp"

namespace nnlite::distributed {

class ProcessGroup {
  public:
    /// Initialises MPI from the program's arguments unless it already is, and uses a
    /// duplicate of MPI_COMM_WORLD.
    ProcessGroup(int& argc, char**& argv) { init(&argc, &argv, MPI_COMM_WORLD); }
    /// As above without arguments (MPI_Init_thread(nullptr, nullptr, ...)), or on a
    /// duplicate of `comm` when MPI is already initialised and comm is given.
    explicit ProcessGroup(MPI_Comm comm = MPI_COMM_WORLD) { init(nullptr, nullptr, comm); }

    ProcessGroup(const ProcessGroup&) = delete;
    ProcessGroup& operator=(const ProcessGroup&) = delete;

    ~ProcessGroup() {
        int finalized = 0;
        MPI_Finalized(&finalized);
        if (finalized) return;
        if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
        if (owns_mpi_) MPI_Finalize();
    }

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool is_root() const { return rank_ == 0; }
    /// The group's own communicator (MPI_ERRORS_RETURN set), for the program's own calls.
    MPI_Comm comm() const { return comm_; }
    /// Whether this group called MPI_Init (and so will call MPI_Finalize).
    bool owns_mpi() const { return owns_mpi_; }

    /// Blocks until every rank has called it.
    void barrier() const { detail::mpi_check(MPI_Barrier(comm_), "MPI_Barrier"); }

    /// Ends the whole job at once (every rank, via the launcher) with `code`; never returns.
    [[noreturn]] void abort(int code = 1) const {
        MPI_Abort(comm_ != MPI_COMM_NULL ? comm_ : MPI_COMM_WORLD, code);
        std::abort();  // MPI_Abort should not return; make sure of it
    }

  private:
    void init(int* argc, char*** argv, MPI_Comm parent) {
        int initialized = 0;
        MPI_Initialized(&initialized);
        if (!initialized) {
            int finalized = 0;
            MPI_Finalized(&finalized);
            check<DistributedError>(!finalized,
                                    "ProcessGroup: MPI was already finalized in this process");
            int provided = 0;
            const int rc = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
            check<DistributedError>(rc == MPI_SUCCESS, "ProcessGroup: MPI_Init_thread failed (", rc,
                                    ")");
            owns_mpi_ = true;
        }
        // Errors on the parent communicator while duplicating it still use its handler (by
        // default fatal); from here on the duplicate returns codes.
        detail::mpi_check(MPI_Comm_dup(parent, &comm_), "MPI_Comm_dup");
        detail::mpi_check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN),
                          "MPI_Comm_set_errhandler");
        detail::mpi_check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
        detail::mpi_check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
    }

    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0;
    int size_ = 1;
    bool owns_mpi_ = false;
};

}  // namespace nnlite::distributed
