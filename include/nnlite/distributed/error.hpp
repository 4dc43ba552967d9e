// Errors of the distributed layer: DistributedError (an nnlite::Error) and the one place
// where MPI return codes become exceptions.
//
// nnlite sets MPI_ERRORS_RETURN on the communicator a ProcessGroup owns, so a failing MPI
// call returns a code instead of aborting inside the MPI library; mpi_check turns that code
// into a DistributedError whose message names the call and MPI's own description:
//   "MPI_Allreduce (gradient bucket 0 of 2, 8001536 bytes) failed: MPI_ERR_TRUNCATE: ..."
// Whether a job can continue after such an error is up to the MPI implementation (usually
// it cannot); run_or_abort (abort.hpp) is how a program turns any exception on any rank
// into a prompt, non-zero exit of the whole job.
#pragma once

#include <mpi.h>

#include <string>
#include <utility>

#include "nnlite/core/error.hpp"

namespace nnlite::distributed {

/// An MPI call failed, or the ranks of a job disagree (configuration, parameters).
class DistributedError : public Error {
  public:
    using Error::Error;
};

namespace detail {

/// MPI's text for an error code ("MPI_ERR_COMM: invalid communicator").
inline std::string mpi_error_string(int code) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS)
        return "MPI error code " + std::to_string(code);
    return std::string(text, static_cast<std::size_t>(len));
}

/// Throws DistributedError naming `call` (and `context`, if any) when rc is not MPI_SUCCESS.
template <class... Context>
inline void mpi_check(int rc, const char* call, Context&&... context) {
    if (rc == MPI_SUCCESS) return;
    if constexpr (sizeof...(Context) == 0)
        throw DistributedError(nnlite::detail::concat(call, " failed: ", mpi_error_string(rc)));
    else
        throw DistributedError(nnlite::detail::concat(call, " (", std::forward<Context>(context)...,
                                                      ") failed: ", mpi_error_string(rc)));
}

}  // namespace detail
}  // namespace nnlite::distributed
