// The CUDA backend: include this (from a .cu file compiled by nvcc, linked with
// CUDA::cudart and CUDA::cublas) to get nnlite::cuda alongside the CPU backend:
//
//   #include <nnlite/cuda.hpp>
//   if (!nnlite::is_cuda_available()) { ... }               // no GPU or no driver: false
//   auto x = nnlite::Tensor<float>::ones({2, 3}).to<nnlite::cuda>();
//   nnlite::nn::LSTM<float, nnlite::cuda> lstm(nnlite::nn::LSTMOptions(128, 256));
//
// Everything in nnlite.hpp works with B = nnlite::cuda: ops, autograd, modules,
// optimizers, clipping, checkpoints (saved from host copies, so they load on either
// backend). See docs/cuda.md for what is implemented and what has been measured.
#pragma once

#ifndef __CUDACC__
#error "nnlite/cuda.hpp contains CUDA kernels: include it from a .cu file compiled by nvcc"
#endif

#include "nnlite/backend/cuda/backend.cuh"
#include "nnlite/nn/module_conversion.hpp"
#include "nnlite/nnlite.hpp"
