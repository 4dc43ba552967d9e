// nnlite/distributed.hpp: data-parallel training over MPI (link nnlite::distributed).
// See docs/distributed.md for the training loop and the contract of each piece.
#pragma once

#include "nnlite/distributed/abort.hpp"
#include "nnlite/distributed/broadcast.hpp"
#include "nnlite/distributed/consistency.hpp"
#include "nnlite/distributed/datatype.hpp"
#include "nnlite/distributed/error.hpp"
#include "nnlite/distributed/gradient_bucketer.hpp"
#include "nnlite/distributed/process_group.hpp"
#include "nnlite/distributed/sampler.hpp"
