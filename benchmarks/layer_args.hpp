// What layer_benchmark and layer_vs_onednn share: the layer's shape and compute flags, their
// checks, the CPU's name and a clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nnlite/nnlite.hpp>
#include <string>
#include <vector>

namespace layer_args {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

/// The program's usage error: prints why and the usage line, exits with status 2.
using Usage = void (*)(const std::string& why);

/// One LSTM layer direction: input width, hidden size, batch, steps; threads; compute type.
/// Defaults: the seed model's second layer, one thread, fp32.
struct Layer {
    std::size_t input = 512, hidden = 256, batch = 64, time = 256, threads = 1;
    nnlite::ComputeType compute = nnlite::ComputeType::fp32;
};

/// A positive integer argument (at most `max`), or a usage error naming the flag.
inline std::size_t positive(const std::string& flag, const char* text, std::size_t max,
                            Usage usage) {
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (!*text || *end || text[0] == '-' || v == 0 || v > max)
        usage(flag + " expects an integer from 1 to " + std::to_string(max) + ", got '" + text +
              "'");
    return static_cast<std::size_t>(v);
}

/// Takes flag k with value v into l when it is one of the shared flags (--input, --hidden,
/// --batch, --time, --threads, --compute); false for any other flag.
inline bool parse(const std::string& k, const char* v, Layer& l, Usage usage) {
    if (k == "--input")
        l.input = positive(k, v, 1 << 16, usage);
    else if (k == "--hidden")
        l.hidden = positive(k, v, 1 << 14, usage);
    else if (k == "--batch")
        l.batch = positive(k, v, 1 << 16, usage);
    else if (k == "--time")
        l.time = positive(k, v, 1 << 16, usage);
    else if (k == "--threads")
        l.threads = positive(k, v, 1024, usage);
    else if (k == "--compute") {
        try {
            l.compute = nnlite::parse_compute_type(v);
        } catch (const nnlite::ValueError& e) {
            usage(std::string("--compute: ") + e.what());
        }
    } else
        return false;
    return true;
}

/// A usage error when one of the layer's arrays would pass 2^28 floats.
inline void check_size(const Layer& l, Usage usage) {
    if (l.batch * l.time * std::max(l.input, 4 * l.hidden) > (std::size_t{1} << 28))
        usage("batch x time x max(input, 4 hidden) is above 2^28 floats (1 GiB an array)");
}

/// The GEMM FLOPs of one forward over the whole layer, lstm_benchmark's count: 2 N G (I + H)
/// with N = batch x time, G = 4H (a backward does twice that).
inline double forward_flops(const Layer& l) {
    return 2.0 * static_cast<double>(l.batch * l.time) * 4.0 * static_cast<double>(l.hidden) *
           static_cast<double>(l.input + l.hidden);
}

using Tensor = nnlite::Tensor<float, nnlite::cpu>;

/// The layer's input [time, batch, input], parameters (PyTorch's U(-1/sqrt(H), 1/sqrt(H))),
/// an output gradient [time, batch, hidden] of ~1e-3, zero state gradients and full lengths;
/// the same numbers for the same shape in every program (seed 1).
struct Data {
    Tensor x, w_ih, w_hh, b_ih, b_hh, dy, dstate;
    std::vector<std::int64_t> lengths;
};

inline Data make_data(const Layer& l, bool requires_grad) {
    nnlite::Generator gen(1);
    const std::size_t I = l.input, H = l.hidden, B = l.batch, T = l.time;
    const float k = 1.f / std::sqrt(static_cast<float>(H));
    Data d;
    d.x = Tensor::uniform({T, B, I}, -1.f, 1.f, gen);
    d.w_ih = Tensor::uniform({4 * H, I}, -k, k, gen);
    d.w_hh = Tensor::uniform({4 * H, H}, -k, k, gen);
    d.b_ih = Tensor::uniform({4 * H}, -k, k, gen);
    d.b_hh = Tensor::uniform({4 * H}, -k, k, gen);
    if (requires_grad)
        for (Tensor* t : {&d.x, &d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh}) t->requires_grad_(true);
    d.dy = Tensor::uniform({T, B, H}, -1e-3f, 1e-3f, gen);
    d.dstate = Tensor::zeros({B, H});
    d.lengths.assign(B, static_cast<std::int64_t>(T));
    return d;
}

/// What ops::detail::lstm_layer_forward fills for the backward, with the schedule of d's
/// lengths for one direction (reverse: from each sequence's end) and the compute type.
inline nnlite::ops::detail::LSTMLayerSaved<float, nnlite::cpu> saved(const Layer& l, const Data& d,
                                                                     bool reverse) {
    nnlite::ops::detail::LSTMLayerSaved<float, nnlite::cpu> sv;
    sv.sched = nnlite::ops::detail::make_lstm_schedule(d.lengths, l.time, l.batch, reverse);
    sv.compute = l.compute;
    return sv;
}

}  // namespace layer_args
