# nnlite_add_header_check(<target> <link-target> <header>...): an OBJECT library with one
# generated TU per header that includes it twice (self-contained, include guards work).
# Compile-only: the objects are never linked or run.
function(nnlite_add_header_check target link_target)
  set(sources "")
  foreach(h ${ARGN})
    string(MAKE_C_IDENTIFIER ${h} id)
    set(f ${CMAKE_CURRENT_BINARY_DIR}/selfcontained/${id}.cpp)
    file(CONFIGURE OUTPUT ${f} CONTENT "#include <${h}>\n#include <${h}>  // and include guards work\n")
    list(APPEND sources ${f})
  endforeach()
  add_library(${target} OBJECT ${sources})
  target_link_libraries(${target} PRIVATE ${link_target} nnlite_warnings)
endfunction()
