# What every test that runs under mpirun needs (tests/distributed, examples/distributed):
#   NNLITE_MPIEXEC_PREFLAGS  MPIEXEC_PREFLAGS plus --oversubscribe for Open MPI (2 ranks
#                            on a machine with fewer free cores, as in CI)
#   NNLITE_MPI_TEST_ENV      root allowed (CI runs as root), one thread per rank, and, in
#                            sanitizer builds, LeakSanitizer off for these processes: Open MPI
#                            keeps its runtime's allocations until exit in plugins it has
#                            unloaded by then, so LSan can neither attribute nor suppress them
#                            (AddressSanitizer and UBSan still check everything; nnlite's own
#                            code is leak-checked by every other suite).
# Plain (directory-scoped) variables: guard per directory, so every CMakeLists.txt that
# includes this gets them (a GLOBAL guard left all but the first includer without them).
include_guard(DIRECTORY)

set(NNLITE_MPIEXEC_PREFLAGS ${MPIEXEC_PREFLAGS})
if(MPIEXEC_EXECUTABLE AND NOT MPIEXEC_PREFLAGS MATCHES "oversubscribe")
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _nnlite_mpiexec_version
    ERROR_QUIET)
  if(_nnlite_mpiexec_version MATCHES "Open MPI|OpenRTE")
    list(APPEND NNLITE_MPIEXEC_PREFLAGS --oversubscribe)
  endif()
endif()

set(NNLITE_MPI_TEST_ENV
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  NNLITE_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
if(CMAKE_CXX_FLAGS MATCHES "sanitize=[a-z,]*address")
  list(APPEND NNLITE_MPI_TEST_ENV
    "ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1")
endif()
