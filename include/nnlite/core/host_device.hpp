// NNLITE_HOST_DEVICE marks small functions that CPU code and CUDA kernels share (the
// Philox rounds, scalar op tables), so each is written once. Without nvcc it is empty.
#pragma once

#if defined(__CUDACC__)
#define NNLITE_HOST_DEVICE __host__ __device__
#else
#define NNLITE_HOST_DEVICE
#endif
