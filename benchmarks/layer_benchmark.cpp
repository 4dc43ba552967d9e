// One direction of one LSTM layer on its own, by default on one thread: how fast the
// kernels run on one core, without the model around them, the second direction or the
// second core (docs/performance-history.md, ninth run):
//
//   layer_benchmark [--input N] [--hidden N] [--batch N] [--time N]
//                   [--compute fp32|bf16|fp16] [--reps N] [--threads N] [--reverse]
//
// Defaults: the seed model's second layer (input 512, hidden 256, batch 64, 256 steps),
// fp32, 5 repetitions, 1 thread, the forward direction (--reverse: the reverse one).
// Prints, best of --reps each:
//   train forward   ops::detail::lstm_layer_forward keeping what backward needs
//   backward        ops::detail::lstm_layer_backward (dX, dW_ih, dW_hh and the biases')
//   infer forward   the same forward without grad
// with GFLOP/s by lstm_benchmark's GEMM count (forward 2 N G (I + H), backward twice that,
// N = batch x time, G = 4H), and the fused step's gate math alone: step_epilogue over one
// step's batch x hidden cells from a hot tile (the micro-kernel's output), in us per step
// and ns per register of cells. Run two of these at once to see what the second core
// costs each (the machine's shared L3 and memory).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/backend/cpu/lstm_step.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/nnlite.hpp>
#include <string>
#include <vector>

#include "layer_args.hpp"

namespace {

using layer_args::Clock;
using layer_args::seconds_since;
using T = nnlite::Tensor<float, nnlite::cpu>;

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "layer_benchmark: %s\nusage: layer_benchmark [--input N] [--hidden N] "
                 "[--batch N] [--time N] [--compute fp32|bf16|fp16] [--reps N] [--threads N] "
                 "[--reverse]\n",
                 why.c_str());
    std::exit(2);
}

/// Best time of fn over reps calls.
template <class F>
double best_of(int reps, F&& fn) {
    double best = 1e300;
    for (int r = 0; r < reps; ++r) {
        const auto t0 = Clock::now();
        fn();
        best = std::min(best, seconds_since(t0));
    }
    return best;
}

}  // namespace

int main(int argc, char** argv) {
    layer_args::Layer l;
    std::size_t reps = 5;
    bool reverse = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--reverse") {
            reverse = true;
            --i;
            continue;
        }
        if (i + 1 >= argc) usage(k + " needs a value");
        const char* v = argv[i + 1];
        if (k == "--reps")
            reps = layer_args::positive(k, v, 1000, usage);
        else if (!layer_args::parse(k, v, l, usage))
            usage("unknown argument " + k);
    }
    layer_args::check_size(l, usage);
    const std::size_t I = l.input, H = l.hidden, Bn = l.batch, Tn = l.time;
    const nnlite::ComputeType compute = l.compute;
    try {
        nnlite::ops::require_lstm_compute<float, nnlite::cpu>(compute);
        nnlite::set_num_threads(static_cast<int>(l.threads));
        std::printf(
            "%s; nnlite kernels %s; %d thread(s); input %zu, hidden %zu, batch %zu, "
            "%zu steps, %s, %s direction, best of %zu\n",
            layer_args::cpu_model().c_str(),
            nnlite::cpu_isa::isa_name(nnlite::cpu_isa::compiled_isa()), nnlite::num_threads(), I, H,
            Bn, Tn, nnlite::to_string(compute), reverse ? "reverse" : "forward", reps);

        const layer_args::Data d = layer_args::make_data(l, /*requires_grad=*/true);
        const T &x = d.x, &w_ih = d.w_ih, &w_hh = d.w_hh, &b_ih = d.b_ih, &b_hh = d.b_hh;
        namespace od = nnlite::ops::detail;
        auto saved = [&] { return layer_args::saved(l, d, reverse); };

        const int n = static_cast<int>(reps);
        od::LSTMLayerSaved<float, nnlite::cpu> kept;
        const double fwd = best_of(n, [&] {
            kept = saved();
            (void)od::lstm_layer_forward(&kept, x, T(), T(), w_ih, w_hh, b_ih, b_hh, true);
        });
        const double bwd = best_of(n, [&] {
            (void)od::lstm_layer_backward(kept, {d.dy, d.dstate, d.dstate});
        });
        const double inf = best_of(n, [&] {
            auto sv = saved();
            (void)od::lstm_layer_forward(&sv, x, T(), T(), w_ih, w_hh, b_ih, b_hh, false);
        });
        const double f_flops = layer_args::forward_flops(l);
        auto row = [](const char* what, double s, double flops) {
            std::printf("  %-15s %9.2f ms  %7.1f GFLOP/s\n", what, s * 1e3, flops / s * 1e-9);
        };
        row("train forward", fwd, f_flops);
        row("backward", bwd, 2.0 * f_flops);
        row("infer forward", inf, f_flops);

        // The gate math of one step (all batch rows, all hidden units) from a hot tile.
        constexpr std::size_t MR = nnlite::cpu_gemm::MR, NR = nnlite::cpu_gemm::NR;
        constexpr std::size_t UB = nnlite::cpu_lstm::UB;
        std::vector<float> tile(MR * NR, 0.05f), bias(4 * H, 0.01f), gates(Bn * 4 * H),
            c(Bn * H, 0.2f), c_out(Bn * H), h(Bn * H);
        double best = 1e300;
        for (int r = 0; r < 20 * n; ++r) {
            std::fill(gates.begin(), gates.end(), 0.1f);  // gx, overwritten by the activations
            const auto t0 = Clock::now();
            for (std::size_t u0 = 0; u0 < H; u0 += UB)
                for (std::size_t r0 = 0; r0 < Bn; r0 += MR)
                    nnlite::cpu_lstm::detail::step_epilogue(
                        tile.data(), std::min(MR, Bn - r0), u0, std::min(UB, H - u0), H,
                        bias.data(), gates.data() + r0 * 4 * H, c.data() + r0 * H,
                        c_out.data() + r0 * H, h.data() + r0 * H);
            best = std::min(best, seconds_since(t0));
        }
        const double regs = static_cast<double>(Bn * H) / static_cast<double>(2 * UB);
        std::printf("  %-15s %9.2f us  %7.1f ns per register of %zu cells (one step)\n",
                    "gate math", best * 1e6, best * 1e9 / regs, 2 * UB);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "layer_benchmark: %s\n", e.what());
        return 1;
    }
}
