// nnlite umbrella header (CPU backend). #include <nnlite/cuda.hpp> adds the CUDA backend.
#pragma once

#include "nnlite/autograd/engine.hpp"
#include "nnlite/autograd/grad_mode.hpp"
#include "nnlite/autograd/gradcheck.hpp"
#include "nnlite/core/error.hpp"
#include "nnlite/core/random.hpp"
#include "nnlite/core/shape.hpp"
#include "nnlite/core/tensor.hpp"
#include "nnlite/core/threads.hpp"
#include "nnlite/ops/arithmetic.hpp"
#include "nnlite/ops/indexing.hpp"
#include "nnlite/ops/loss.hpp"
#include "nnlite/ops/matmul.hpp"
#include "nnlite/ops/pointwise.hpp"
#include "nnlite/ops/reduction.hpp"
#include "nnlite/ops/shape.hpp"
#include "nnlite/ops/softmax.hpp"
