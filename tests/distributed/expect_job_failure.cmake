# Runs an MPI job that must fail and checks how it ends:
#   cmake -DMPIEXEC=... -DNP_FLAG=-np -DNP=2 -DPREFLAGS=a,b -DPROGRAM=... -DARGS=x,y
#         -DEXPECT=<regex on stderr> -DMAX_SECONDS=10 -P expect_job_failure.cmake
# Passes when the job exits non-zero, within MAX_SECONDS, and its stderr matches EXPECT.
string(REPLACE "," ";" _pre "${PREFLAGS}")
string(REPLACE "," ";" _args "${ARGS}")
string(TIMESTAMP _t0 "%s")
execute_process(
  COMMAND ${MPIEXEC} ${NP_FLAG} ${NP} ${_pre} ${PROGRAM} ${_args}
  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err TIMEOUT 120)
string(TIMESTAMP _t1 "%s")
math(EXPR _took "${_t1} - ${_t0}")
message(STATUS "exit: ${_rc}, ${_took} s\n--- stdout:\n${_out}\n--- stderr:\n${_err}")
if(_rc STREQUAL "0")
  message(FATAL_ERROR "the job succeeded, but it should have failed")
endif()
if(NOT _rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "the job did not exit by itself: ${_rc}")
endif()
if(_took GREATER MAX_SECONDS)
  message(FATAL_ERROR "the job took ${_took} s to end (limit ${MAX_SECONDS} s)")
endif()
if(NOT _err MATCHES "${EXPECT}")
  message(FATAL_ERROR "stderr does not match '${EXPECT}'")
endif()
message(STATUS "ok: failed with exit ${_rc} in ${_took} s, stderr matches '${EXPECT}'")
