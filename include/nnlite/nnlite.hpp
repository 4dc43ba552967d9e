// nnlite umbrella header (CPU backend): tensors, autograd, ops, modules, optimizers,
// checkpoints (io/), metrics, text pipeline, and run-time device choice (device.hpp).
//
// Not included, each for a reason:
//   nnlite/cuda.hpp              the CUDA backend: needs nvcc (include it from a .cu file)
//   nnlite/distributed.hpp       data-parallel training: needs MPI (nnlite::distributed)
//   nnlite/tensor/xtensor.hpp    xtensor views of tensors: xtensor's expression headers
//   nnlite/nn/init_orthogonal.hpp  orthogonal init: xtensor-blas/LAPACK headers
// (the last two would cost every program's compile time what only some use).
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/autograd/gradcheck.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/core/shape.hpp"
#include "nnlite/core/threads.hpp"
#include "nnlite/device.hpp"
#include "nnlite/io/file.hpp"
#include "nnlite/io/safetensors.hpp"
#include "nnlite/metrics/calibration.hpp"
#include "nnlite/metrics/classification.hpp"
#include "nnlite/nn/clip.hpp"
#include "nnlite/nn/dropout.hpp"
#include "nnlite/nn/embedding.hpp"
#include "nnlite/nn/init.hpp"
#include "nnlite/nn/linear.hpp"
#include "nnlite/nn/lstm.hpp"
#include "nnlite/nn/module.hpp"
#include "nnlite/nn/module_conversion.hpp"
#include "nnlite/ops/arithmetic.hpp"
#include "nnlite/ops/dropout.hpp"
#include "nnlite/ops/indexing.hpp"
#include "nnlite/ops/linear.hpp"
#include "nnlite/ops/loss.hpp"
#include "nnlite/ops/lstm.hpp"
#include "nnlite/ops/matmul.hpp"
#include "nnlite/ops/pointwise.hpp"
#include "nnlite/ops/reduction.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/ops/softmax.hpp"
#include "nnlite/optim/adam.hpp"
#include "nnlite/optim/early_stopping.hpp"
#include "nnlite/optim/optimizer.hpp"
#include "nnlite/optim/scheduler.hpp"
#include "nnlite/optim/sgd.hpp"
#include "nnlite/tensor/tensor.hpp"
#include "nnlite/text/batching.hpp"
#include "nnlite/text/corpus.hpp"
#include "nnlite/text/normalize.hpp"
#include "nnlite/text/sequence.hpp"
#include "nnlite/text/tokenizer.hpp"
#include "nnlite/text/utf8.hpp"
#include "nnlite/text/vocabulary.hpp"
