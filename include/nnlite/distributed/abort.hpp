// run_or_abort: one failing rank ends the whole job promptly, naming itself.
//
// In a data-parallel job every rank waits for every other in each all-reduce. A rank that
// throws and simply exits leaves the others blocked in their next collective until the
// launcher notices (or forever, depending on the launcher). run_or_abort runs the
// program's body; if it throws, it prints
//     rank N: <what()>
// on stderr (one line, flushed) and calls MPI_Abort, which makes mpirun/srun kill every
// rank and exit non-zero within seconds. The exit status of the job is then non-zero and
// the first line naming a rank says which one failed and why.
//
// Errors that every rank detects together (check_same_across_ranks, check_parameters_equal
// throw on all ranks at once) end the same way: each rank prints its line, the first
// MPI_Abort wins.
#pragma once

#include <cstdio>
#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include "nnlite/distributed/process_group.hpp"

namespace nnlite::distributed {

/// Runs fn(); returns its int result (0 for a void fn). Any exception: prints
/// "rank N: message" to stderr and aborts the job with exit code `abort_code`.
template <class F>
int run_or_abort(const ProcessGroup& pg, F&& fn, int abort_code = 1) {
    const char* message = nullptr;
    std::string text;
    try {
        if constexpr (std::is_void_v<std::invoke_result_t<F&>>) {
            fn();
            return 0;
        } else {
            return static_cast<int>(fn());
        }
    } catch (const std::exception& e) {
        text = e.what();
        message = text.c_str();
    } catch (...) {
        message = "unknown exception (not derived from std::exception)";
    }
    std::fprintf(stderr, "rank %d: %s\n", pg.rank(), message);
    std::fflush(stderr);
    std::fflush(stdout);
    pg.abort(abort_code);
}

}  // namespace nnlite::distributed
