// lstm_benchmark with the CUDA backend compiled in (--device cuda); see lstm_benchmark.cpp.
#include <nnlite/cuda.hpp>
#define NNLITE_BENCHMARK_CUDA 1
#include "lstm_benchmark.cpp"
