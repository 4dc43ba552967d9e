// Seeded random numbers. Philox4x32-10 is counter based: the n-th number for a seed is a
// pure function of (seed, n), so CPU and GPU kernels can draw the same stream and a run is
// reproducible from its seed alone. Normal samples use Box-Muller on two uniforms.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

#include "nnlite/core/host_device.hpp"

namespace nnlite {

/// Philox4x32-10 (Salmon et al., SC 2011): the block of four 32-bit words for
/// (key, counter). Shared by Generator and the CUDA kernels that draw the same stream.
NNLITE_HOST_DEVICE inline void philox4x32_10(std::uint64_t key, std::uint64_t ctr,
                                             std::uint32_t out[4]) {
    std::uint32_t c0 = static_cast<std::uint32_t>(ctr), c1 = static_cast<std::uint32_t>(ctr >> 32);
    std::uint32_t c2 = 0, c3 = 0;
    std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = 0xD2511F53ULL * c0;
        const std::uint64_t p1 = 0xCD9E8D57ULL * c2;
        const std::uint32_t n0 = static_cast<std::uint32_t>(p1 >> 32) ^ c1 ^ k0;
        const std::uint32_t n2 = static_cast<std::uint32_t>(p0 >> 32) ^ c3 ^ k1;
        c1 = static_cast<std::uint32_t>(p1);
        c3 = static_cast<std::uint32_t>(p0);
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9U;
        k1 += 0xBB67AE85U;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/// Where a run of 32-bit draws comes from: word j of the run is word (first_word + j) % 4
/// of Philox block first_block + (first_word + j) / 4 under `key`. A device kernel given
/// this produces exactly the words Generator::next_u32() would, in parallel.
struct PhiloxRange {
    std::uint64_t key = 0;
    std::uint64_t first_block = 0;
    unsigned first_word = 0;
};

class Generator {
  public:
    explicit Generator(std::uint64_t seed = 0x5eedULL) { manual_seed(seed); }

    void manual_seed(std::uint64_t seed) {
        seed_ = seed;
        counter_ = 0;
        pos_ = 4;
        have_spare_ = false;
    }
    std::uint64_t seed() const { return seed_; }
    /// Position in the stream: the number of 32-bit words drawn so far. With seed() it is
    /// the complete state (apart from normal()'s cached second sample, which set_state
    /// drops), so checkpoints save it to resume a run exactly. Words, not 128-bit blocks:
    /// a partly used block must resume at the same word, or every draw after it shifts.
    std::uint64_t offset() const {
        return counter_ == 0 ? 0 : (counter_ - 1) * 4 + static_cast<std::uint64_t>(pos_);
    }
    void set_state(std::uint64_t seed, std::uint64_t offset) {
        seed_ = seed;
        counter_ = offset / 4;
        have_spare_ = false;
        const int within_block = static_cast<int>(offset % 4);
        if (within_block == 0) {
            pos_ = 4;  // the next draw refills from block `counter_`
        } else {
            refill();
            pos_ = within_block;
        }
    }

    /// Philox4x32-10 block for (key, counter): four independent 32-bit words.
    static std::array<std::uint32_t, 4> philox(std::uint64_t key, std::uint64_t ctr) {
        std::array<std::uint32_t, 4> out;
        philox4x32_10(key, ctr, out.data());
        return out;
    }

    std::uint32_t next_u32() {
        if (pos_ == 4 || counter_ == 0) refill();
        return block_[pos_++];
    }
    /// Reserves the next n 32-bit draws (the stream advances exactly as n next_u32() calls
    /// would) and says where they come from, for kernels that draw them in parallel.
    PhiloxRange reserve_u32(std::uint64_t n) {
        PhiloxRange r;
        r.key = seed_;
        if (pos_ == 4 || counter_ == 0) {
            r.first_block = counter_;
        } else {  // words pos_.. of the current block (counter_ - 1) are still unused
            r.first_block = counter_ - 1;
            r.first_word = static_cast<unsigned>(pos_);
        }
        if (n == 0) return r;
        const std::uint64_t last = r.first_word + n - 1;  // relative to first_block
        const std::uint64_t last_block = r.first_block + last / 4;
        block_ = philox(seed_, last_block);
        counter_ = last_block + 1;
        pos_ = static_cast<int>(last % 4) + 1;
        return r;
    }
    std::uint64_t next_u64() {
        const std::uint64_t hi = next_u32();
        return (hi << 32) | next_u32();
    }
    /// Uniform in [0, 1) with 53 random bits.
    double uniform01() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform01(); }
    double normal(double mean = 0.0, double stddev = 1.0) {
        if (have_spare_) {
            have_spare_ = false;
            return mean + stddev * spare_;
        }
        double u1 = uniform01();
        while (u1 <= 0.0) u1 = uniform01();
        const double u2 = uniform01();
        const double r = std::sqrt(-2.0 * std::log(u1));
        const double two_pi = 6.283185307179586476925286766559;
        spare_ = r * std::sin(two_pi * u2);
        have_spare_ = true;
        return mean + stddev * r * std::cos(two_pi * u2);
    }
    /// Uniform integer in [0, n) (n > 0), unbiased by rejection.
    std::uint64_t randint(std::uint64_t n) {
        const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
        std::uint64_t x = next_u64();
        while (x >= limit) x = next_u64();
        return x % n;
    }

  private:
    void refill() {
        block_ = philox(seed_, counter_++);
        pos_ = 0;
    }
    std::uint64_t seed_ = 0;
    std::uint64_t counter_ = 0;
    std::array<std::uint32_t, 4> block_{};
    int pos_ = 4;
    bool have_spare_ = false;
    double spare_ = 0.0;
};

/// The process-wide generator used when none is passed explicitly.
inline Generator& default_generator() {
    static Generator g;
    return g;
}

/// Seeds the default generator (like torch::manual_seed).
inline void manual_seed(std::uint64_t seed) {
    default_generator().manual_seed(seed);
}

}  // namespace nnlite
