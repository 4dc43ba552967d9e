// mpi_datatype<T>(): the MPI datatype of a C++ element type, for the types nnlite's
// tensors and the distributed helpers send (float, double, 32/64-bit integers, bytes).
#pragma once

#include <mpi.h>

#include <cstdint>
#include <type_traits>

namespace nnlite::distributed {

template <class T>
MPI_Datatype mpi_datatype() {
    if constexpr (std::is_same_v<T, float>)
        return MPI_FLOAT;
    else if constexpr (std::is_same_v<T, double>)
        return MPI_DOUBLE;
    else if constexpr (std::is_same_v<T, std::int32_t>)
        return MPI_INT32_T;
    else if constexpr (std::is_same_v<T, std::int64_t>)
        return MPI_INT64_T;
    else if constexpr (std::is_same_v<T, std::uint32_t>)
        return MPI_UINT32_T;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return MPI_UINT64_T;
    else if constexpr (std::is_same_v<T, char> || std::is_same_v<T, unsigned char>)
        return MPI_BYTE;
    else
        static_assert(sizeof(T) == 0, "mpi_datatype: no MPI datatype for this element type");
}

}  // namespace nnlite::distributed
