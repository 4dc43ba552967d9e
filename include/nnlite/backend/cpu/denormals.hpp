// Flush-to-zero for the duration of a hot kernel. LSTM backward through time shrinks the
// recurrent gradient geometrically (one factor of f ⊙ ... per step), and with last-state
// pooling the gradient reaching early steps falls below FLT_MIN (1.2e-38) within a few
// hundred steps. x86 cores then take a micro-code assist on every operation that reads or
// produces a subnormal: GEMMs on such operands run 10-50x slower. Values that small carry
// no information for training, so inside the LSTM kernels the FPU is told to treat them as
// zero (FTZ for results, DAZ for inputs), and the caller's mode is restored on exit.
//
// MXCSR is per thread: a worker thread that runs part of the kernel sets its own guard.
#pragma once

#if defined(__SSE__) || defined(_M_X64) || defined(__x86_64__)
#include <xmmintrin.h>
#define NNLITE_HAS_MXCSR 1
#endif

namespace nnlite {

/// RAII: FTZ + DAZ on this thread until destroyed, then the previous mode again.
class FlushDenormalsGuard {
  public:
#ifdef NNLITE_HAS_MXCSR
    FlushDenormalsGuard() : saved_(_mm_getcsr()) {
        _mm_setcsr(saved_ | ftz_daz);
    }
    ~FlushDenormalsGuard() {
        _mm_setcsr(saved_);
    }
#else
    FlushDenormalsGuard() = default;
#endif
    FlushDenormalsGuard(const FlushDenormalsGuard&) = delete;
    FlushDenormalsGuard& operator=(const FlushDenormalsGuard&) = delete;

  private:
#ifdef NNLITE_HAS_MXCSR
    static constexpr unsigned ftz_daz = 0x8040u;  // bit 15 FTZ, bit 6 DAZ
    unsigned saved_;
#endif
};

}  // namespace nnlite
