// One LSTM layer direction, nnlite against oneDNN's LSTM primitive, with the two called
// alternately in one process (docs/performance-history.md, tenth run):
//
//   layer_vs_onednn [--input N] [--hidden N] [--batch N] [--time N] [--pairs N]
//                   [--threads N] [--what infer|train] [--compute fp32|bf16|fp16]
//
// Defaults: the seed model's second layer (input 512, hidden 256, batch 64, 256 steps), 15
// pairs, 1 thread, inference. `--what infer` times nnlite's ops::detail::lstm_layer_forward
// without grad against oneDNN's forward_inference; `--what train` times nnlite's forward
// keeping what backward needs plus lstm_layer_backward against oneDNN's forward_training
// plus backward (weight gradients included). Both get the same weights, input and output
// gradient, and their outputs are compared first (the program stops if they differ).
//
// Why paired: on a VM whose speed drifts by up to 2x within minutes (docs/performance-history.md,
// eighth run), two benchmark runs a minute apart say little about a 5% change; calls that
// alternate within one process see the same machine. Each pair gives one ratio, and the
// median ratio (with its quartiles) is the figure to quote. To compare two builds of
// nnlite, run both binaries alternately and compare their ratios to oneDNN.
//
// Threads: oneDNN's OpenMP reads OMP_NUM_THREADS when the library loads, so --threads N
// re-executes the program with it set (as onednn_lstm_benchmark does); nnlite gets
// set_num_threads(N). Built only when oneDNN is found (benchmarks/install-bench-deps.sh).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nnlite/nnlite.hpp>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "layer_args.hpp"

namespace {

using layer_args::Clock;
using layer_args::seconds_since;
using T = nnlite::Tensor<float, nnlite::cpu>;
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(stderr,
                 "layer_vs_onednn: %s\nusage: layer_vs_onednn [--input N] [--hidden N] "
                 "[--batch N] [--time N] [--pairs N] [--threads N] [--what infer|train] "
                 "[--compute fp32|bf16|fp16]\n",
                 why.c_str());
    std::exit(2);
}

double quantile(std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

float* data_of(const memory& m) {
    return static_cast<float*>(m.get_data_handle());
}

std::size_t floats_of(const memory& m) {
    return m.get_desc().get_size() / sizeof(float);
}

/// Largest |a[i] - b[i]| over n values.
double max_diff(const float* a, const float* b, std::size_t n) {
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i)
        worst = std::max(worst, std::abs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
    return worst;
}

}  // namespace

int main(int argc, char** argv) {
    layer_args::Layer l;
    std::size_t pairs = 15;
    std::string what = "infer";
    for (int i = 1; i < argc; i += 2) {
        const std::string k = argv[i];
        if (i + 1 >= argc) usage(k + " needs a value");
        const char* v = argv[i + 1];
        if (k == "--pairs")
            pairs = layer_args::positive(k, v, 1000, usage);
        else if (k == "--what") {
            what = v;
            if (what != "infer" && what != "train") usage("--what must be infer or train");
        } else if (!layer_args::parse(k, v, l, usage))
            usage("unknown argument " + k);
    }
    layer_args::check_size(l, usage);
    const long I = static_cast<long>(l.input), H = static_cast<long>(l.hidden),
               N = static_cast<long>(l.batch), Tn = static_cast<long>(l.time),
               threads = static_cast<long>(l.threads);
    const nnlite::ComputeType compute = l.compute;
    {
        const char* cur = std::getenv("OMP_NUM_THREADS");
        const std::string want = std::to_string(threads);
        if (!cur || want != cur) {
            setenv("OMP_NUM_THREADS", want.c_str(), 1);
            execv("/proc/self/exe", argv);
            std::fprintf(stderr, "layer_vs_onednn: cannot re-execute with OMP_NUM_THREADS set\n");
            return 1;
        }
    }
    const bool train = what == "train";
    try {
        nnlite::ops::require_lstm_compute<float, nnlite::cpu>(compute);
        nnlite::set_num_threads(static_cast<int>(threads));
        const dnnl_version_t* ver = dnnl_version();
        std::printf(
            "%s; nnlite kernels %s, %s; oneDNN %d.%d.%d f32; %d thread(s); input %ld, hidden "
            "%ld, batch %ld, %ld steps; %s; %zu pairs\n",
            layer_args::cpu_model().c_str(),
            nnlite::cpu_isa::isa_name(nnlite::cpu_isa::compiled_isa()), nnlite::to_string(compute),
            ver->major, ver->minor, ver->patch, nnlite::num_threads(), I, H, N, Tn,
            train ? "training forward + backward" : "inference forward", pairs);

        // nnlite's side: PyTorch layouts.
        const layer_args::Data d = layer_args::make_data(l, /*requires_grad=*/train);
        const T &x = d.x, &w_ih = d.w_ih, &w_hh = d.w_hh, &b_ih = d.b_ih, &b_hh = d.b_hh,
                &dy = d.dy;
        namespace od = nnlite::ops::detail;
        auto saved = [&] { return layer_args::saved(l, d, /*reverse=*/false); };

        // oneDNN's side: the same numbers in its layouts (ldigo: [layer, dir, in, gate, h],
        // gates in PyTorch's order i, f, g, o; one bias b_ih + b_hh).
        dnnl::engine eng(dnnl::engine::kind::cpu, 0);
        dnnl::stream s(eng);
        const memory::desc src_md({Tn, N, I}, dt::f32, tag::tnc);
        const memory::desc dst_md({Tn, N, H}, dt::f32, tag::tnc);
        const memory::desc iter_md({1, 1, N, H}, dt::f32, tag::ldnc);
        const memory::desc none;
        const memory::desc wl_any({1, 1, I, 4, H}, dt::f32, tag::any);
        const memory::desc wi_any({1, 1, H, 4, H}, dt::f32, tag::any);
        const memory::desc bias_md({1, 1, 4, H}, dt::f32, tag::ldgo);
        const auto dir = dnnl::rnn_direction::unidirectional_left2right;
        const auto prop =
            train ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
        const dnnl::lstm_forward::desc fwd_d(prop, dir, src_md, none, none, wl_any, wi_any, bias_md,
                                             dst_md, iter_md, iter_md);
        const dnnl::lstm_forward::primitive_desc fwd_pd(fwd_d, eng);
        const dnnl::lstm_forward fwd(fwd_pd);

        memory user_wl({{1, 1, I, 4, H}, dt::f32, tag::ldigo}, eng);
        memory user_wi({{1, 1, H, 4, H}, dt::f32, tag::ldigo}, eng);
        memory bias(bias_md, eng), src(src_md, eng);
        for (long i = 0; i < I; ++i)
            for (long r = 0; r < 4 * H; ++r)
                data_of(user_wl)[i * 4 * H + r] = w_ih.data()[r * I + i];
        for (long i = 0; i < H; ++i)
            for (long r = 0; r < 4 * H; ++r)
                data_of(user_wi)[i * 4 * H + r] = w_hh.data()[r * H + i];
        for (long r = 0; r < 4 * H; ++r) data_of(bias)[r] = b_ih.data()[r] + b_hh.data()[r];
        std::copy(x.data(), x.data() + x.numel(), data_of(src));
        memory wl(fwd_pd.weights_layer_desc(), eng), wi(fwd_pd.weights_iter_desc(), eng);
        dnnl::reorder(user_wl, wl).execute(s, user_wl, wl);
        dnnl::reorder(user_wi, wi).execute(s, user_wi, wi);
        memory dst(fwd_pd.dst_layer_desc(), eng), dst_iter(fwd_pd.dst_iter_desc(), eng),
            dst_iter_c(fwd_pd.dst_iter_c_desc(), eng);
        memory workspace;
        if (train) workspace = memory(fwd_pd.workspace_desc(), eng);

        dnnl::lstm_backward bwd;
        memory wl_b, wi_b, diff_src, diff_dst, diff_dst_iter, diff_dst_iter_c, diff_wl, diff_wi,
            diff_bias;
        if (train) {
            const dnnl::lstm_backward::desc bwd_d(dnnl::prop_kind::backward, dir, src_md, none,
                                                  none, wl_any, wi_any, bias_md, dst_md, iter_md,
                                                  iter_md, src_md, none, none, wl_any, wi_any,
                                                  bias_md, dst_md, iter_md, iter_md);
            const dnnl::lstm_backward::primitive_desc bwd_pd(bwd_d, eng, fwd_pd);
            bwd = dnnl::lstm_backward(bwd_pd);
            wl_b = memory(bwd_pd.weights_layer_desc(), eng);
            wi_b = memory(bwd_pd.weights_iter_desc(), eng);
            dnnl::reorder(user_wl, wl_b).execute(s, user_wl, wl_b);
            dnnl::reorder(user_wi, wi_b).execute(s, user_wi, wi_b);
            diff_src = memory(bwd_pd.diff_src_layer_desc(), eng);
            diff_dst = memory(bwd_pd.diff_dst_layer_desc(), eng);
            std::copy(dy.data(), dy.data() + dy.numel(), data_of(diff_dst));
            diff_dst_iter = memory(bwd_pd.diff_dst_iter_desc(), eng);
            diff_dst_iter_c = memory(bwd_pd.diff_dst_iter_c_desc(), eng);
            std::fill(data_of(diff_dst_iter), data_of(diff_dst_iter) + floats_of(diff_dst_iter),
                      0.f);
            std::fill(data_of(diff_dst_iter_c),
                      data_of(diff_dst_iter_c) + floats_of(diff_dst_iter_c), 0.f);
            diff_wl = memory(bwd_pd.diff_weights_layer_desc(), eng);
            diff_wi = memory(bwd_pd.diff_weights_iter_desc(), eng);
            diff_bias = memory(bwd_pd.diff_bias_desc(), eng);
        }
        s.wait();

        T nn_out, nn_dx;
        auto run_nnlite = [&] {
            auto sv = saved();
            auto out = od::lstm_layer_forward(&sv, x, T(), T(), w_ih, w_hh, b_ih, b_hh, train);
            nn_out = out.output;
            if (train) nn_dx = od::lstm_layer_backward(sv, {dy, d.dstate, d.dstate})[0];
        };
        auto run_onednn = [&] {
            std::unordered_map<int, memory> args = {
                {DNNL_ARG_SRC_LAYER, src},        {DNNL_ARG_WEIGHTS_LAYER, wl},
                {DNNL_ARG_WEIGHTS_ITER, wi},      {DNNL_ARG_BIAS, bias},
                {DNNL_ARG_DST_LAYER, dst},        {DNNL_ARG_DST_ITER, dst_iter},
                {DNNL_ARG_DST_ITER_C, dst_iter_c}};
            if (train) args[DNNL_ARG_WORKSPACE] = workspace;
            fwd.execute(s, args);
            if (train) {
                // oneDNN accumulates into the weight gradients: zeroed as an optimizer step
                // would (zero_grad), inside the timing.
                for (const memory* m : {&diff_wl, &diff_wi, &diff_bias})
                    std::fill(data_of(*m), data_of(*m) + floats_of(*m), 0.f);
                bwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                                {DNNL_ARG_WEIGHTS_LAYER, wl_b},
                                {DNNL_ARG_WEIGHTS_ITER, wi_b},
                                {DNNL_ARG_BIAS, bias},
                                {DNNL_ARG_DST_LAYER, dst},
                                {DNNL_ARG_DST_ITER, dst_iter},
                                {DNNL_ARG_DST_ITER_C, dst_iter_c},
                                {DNNL_ARG_WORKSPACE, workspace},
                                {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                                {DNNL_ARG_DIFF_DST_ITER, diff_dst_iter},
                                {DNNL_ARG_DIFF_DST_ITER_C, diff_dst_iter_c},
                                {DNNL_ARG_DIFF_SRC_LAYER, diff_src},
                                {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_wl},
                                {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_wi},
                                {DNNL_ARG_DIFF_BIAS, diff_bias}});
            }
            s.wait();
        };

        // Both compute the same layer: the outputs (and with --what train the input
        // gradients, relative to their largest value) must agree, or the timings below would
        // compare different work. fp32 agrees to ~1e-6; the bound allows for fp16/bf16 inputs.
        run_nnlite();
        run_onednn();
        const double tol = compute == nnlite::ComputeType::fp32 ? 1e-4 : 3e-2;
        const double out_diff = max_diff(nn_out.data(), data_of(dst), nn_out.numel());
        double dx_rel = 0;
        if (train) {
            const float* ref = data_of(diff_src);
            double largest = 0;
            for (std::size_t i = 0; i < nn_dx.numel(); ++i)
                largest = std::max(largest, std::abs(static_cast<double>(ref[i])));
            dx_rel = max_diff(nn_dx.data(), ref, nn_dx.numel()) / std::max(largest, 1e-30);
        }
        std::printf("  check: output max |nnlite - oneDNN| %.2e", out_diff);
        if (train) std::printf(", input gradient %.2e of its largest value", dx_rel);
        std::printf("\n");
        if (!(out_diff <= tol) || !(dx_rel <= tol)) {
            std::fprintf(stderr, "layer_vs_onednn: nnlite and oneDNN disagree beyond %.0e\n", tol);
            return 1;
        }

        std::vector<double> t_nn, t_dnnl, ratio;
        for (std::size_t p = 0; p < pairs; ++p) {
            // Alternate which goes first, so neither always runs on the other's cache state.
            double a = 0, b = 0;
            for (int j = 0; j < 2; ++j) {
                const bool nn_turn = (j == 0) == (p % 2 == 0);
                const auto t0 = Clock::now();
                nn_turn ? run_nnlite() : run_onednn();
                (nn_turn ? a : b) = seconds_since(t0);
            }
            t_nn.push_back(a);
            t_dnnl.push_back(b);
            ratio.push_back(b / a);
        }
        const double fwd_flops = layer_args::forward_flops(l);
        const double flops = train ? 3.0 * fwd_flops : fwd_flops;
        for (const auto& [name, t] :
             {std::pair<const char*, const std::vector<double>*>{"nnlite", &t_nn},
              {"oneDNN", &t_dnnl}})
            std::printf("  %-7s median %8.2f ms  %6.1f GFLOP/s (best %6.1f)\n", name,
                        quantile(*t, 0.5) * 1e3, flops / quantile(*t, 0.5) * 1e-9,
                        flops / quantile(*t, 0.0) * 1e-9);
        std::printf("  nnlite/oneDNN speed: median %.3f (quartiles %.3f-%.3f, range %.3f-%.3f)\n",
                    quantile(ratio, 0.5), quantile(ratio, 0.25), quantile(ratio, 0.75),
                    quantile(ratio, 0.0), quantile(ratio, 1.0));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "layer_vs_onednn: %s\n", e.what());
        return 1;
    }
}
