// The LSTM layers of lstm_benchmark's configurations through Intel oneDNN's LSTM primitive
// (the RNN implementation PyTorch 2.x uses for CPU LSTMs on Intel machines), f32:
//
//   onednn_lstm_benchmark --config seed|cpu|uni1 --lengths fixed|imdb [--steps N]
//                         [--warmup N] [--threads N] [--lengths-file PATH] [--json]
//
// Built only when oneDNN is found (benchmarks/install-bench-deps.sh installs Debian's
// libdnnl-dev); compare_pytorch.py runs it beside lstm_benchmark and PyTorch.
//
// What is timed (the LSTM part of lstm_benchmark's step; the embedding, pooling, Linear,
// loss, clipping and Adam are not modelled here: about 8% of nnlite's `cpu`-preset training
// step and under 2% of `seed`'s (perf, 2026-12-01), so the comparison favours oneDNN by that):
//   training step  = per layer: reorder the user weights (ldigo, as an optimizer updates
//                    them) into the forward and backward primitives' formats, zero the
//                    weight gradients (oneDNN accumulates into them), forward_training;
//                    then every layer's backward, last layer first, each layer's
//                    diff_src_layer feeding the previous layer's diff_dst_layer;
//   inference step = every layer's forward_inference.
// Shapes: time-major [T, 64, in], 2-layer or 1-layer, bidirectional_concat or left2right,
// zero initial states. With --lengths imdb oneDNN gets the padded batch (it has no
// variable-length mode): T = the batch's longest length; the FLOP figures count only the
// real tokens, as lstm_benchmark does, so they compare work done per second. Primitives
// for every batch's T are created before the timing starts.
//
// Threads: this oneDNN build uses OpenMP, which reads OMP_NUM_THREADS when the library
// loads; --threads N re-executes the program with OMP_NUM_THREADS=N when it differs.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Config {
    std::string name;
    long emb, hidden, layers;
    bool bidirectional;
    long batch, max_len;
};

const std::vector<Config>& configs() {
    // The same shapes as lstm_benchmark.cpp's configs() (vocab is not needed here).
    static const std::vector<Config> all = {
        {"seed", 128, 256, 2, true, 64, 256},
        {"cpu", 96, 64, 1, true, 64, 256},
        {"uni1", 128, 256, 1, false, 64, 256},
    };
    return all;
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

double current_rss_mib() {
    std::ifstream in("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    in >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

void fill(memory& m, std::mt19937& rng, float scale) {
    std::uniform_real_distribution<float> u(-scale, scale);
    auto* p = static_cast<float*>(m.get_data_handle());
    const std::size_t n = m.get_desc().get_size() / sizeof(float);
    for (std::size_t i = 0; i < n; ++i) p[i] = u(rng);
}

void zero(memory& m) {
    std::memset(m.get_data_handle(), 0, m.get_desc().get_size());
}

/// One LSTM layer (both directions when bidirectional) for one sequence length T: the
/// training forward, backward and inference forward primitives and their buffers.
struct Layer {
    dnnl::lstm_forward train_fwd, infer_fwd;
    dnnl::lstm_backward bwd;
    memory src, dst, dst_iter, dst_iter_c, workspace;
    memory w_layer_fwd, w_iter_fwd, w_layer_bwd, w_iter_bwd, bias;
    memory w_layer_inf, w_iter_inf;  // the inference primitive's own formats (see main)
    memory diff_src, diff_dst, diff_dst_iter, diff_dst_iter_c;
    memory diff_w_layer, diff_w_iter, diff_bias, infer_dst;
    dnnl::reorder to_fwd_layer, to_fwd_iter, to_bwd_layer, to_bwd_iter, to_inf_layer, to_inf_iter;
};

/// User-side weights of one layer (ldigo), shared by every T.
struct Weights {
    memory layer, iter, bias;
};

Layer make_layer(const dnnl::engine& eng, const Weights& w, long T, long N, long in, long H, long D,
                 std::mt19937& rng) {
    const auto dir = D == 2 ? dnnl::rnn_direction::bidirectional_concat
                            : dnnl::rnn_direction::unidirectional_left2right;
    const memory::desc src_md({T, N, in}, dt::f32, tag::tnc);
    const memory::desc dst_md({T, N, D * H}, dt::f32, tag::tnc);
    const memory::desc iter_md({1, D, N, H}, dt::f32, tag::ldnc);
    const memory::desc none;  // zero initial state
    const memory::desc wl_any({1, D, in, 4, H}, dt::f32, tag::any);
    const memory::desc wi_any({1, D, H, 4, H}, dt::f32, tag::any);
    const memory::desc bias_md({1, D, 4, H}, dt::f32, tag::ldgo);

    Layer l;
    const dnnl::lstm_forward::desc train_d(dnnl::prop_kind::forward_training, dir, src_md, none,
                                           none, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md);
    const dnnl::lstm_forward::primitive_desc train_pd(train_d, eng);
    const dnnl::lstm_forward::desc infer_d(dnnl::prop_kind::forward_inference, dir, src_md, none,
                                           none, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md);
    const dnnl::lstm_forward::primitive_desc infer_pd(infer_d, eng);
    const dnnl::lstm_backward::desc bwd_d(
        dnnl::prop_kind::backward, dir, src_md, none, none, wl_any, wi_any, bias_md, dst_md,
        iter_md, iter_md, src_md, none, none, wl_any, wi_any, bias_md, dst_md, iter_md, iter_md);
    const dnnl::lstm_backward::primitive_desc bwd_pd(bwd_d, eng, train_pd);
    l.train_fwd = dnnl::lstm_forward(train_pd);
    l.infer_fwd = dnnl::lstm_forward(infer_pd);
    l.bwd = dnnl::lstm_backward(bwd_pd);

    l.src = memory(src_md, eng);
    fill(l.src, rng, 1.f);
    l.dst = memory(train_pd.dst_layer_desc(), eng);
    l.infer_dst = memory(infer_pd.dst_layer_desc(), eng);
    l.dst_iter = memory(train_pd.dst_iter_desc(), eng);
    l.dst_iter_c = memory(train_pd.dst_iter_c_desc(), eng);
    l.workspace = memory(train_pd.workspace_desc(), eng);
    l.w_layer_fwd = memory(train_pd.weights_layer_desc(), eng);
    l.w_iter_fwd = memory(train_pd.weights_iter_desc(), eng);
    l.w_layer_bwd = memory(bwd_pd.weights_layer_desc(), eng);
    // forward_inference may choose other weight formats than forward_training (on an AVX2
    // CPU oneDNN 2.6 picks its packed-GEMM format): the inference primitive gets weights
    // reordered into its own. (Passing it the training forward's, as this benchmark once
    // did, ran it on misread weights at an impossible 312 GFLOP/s on a 2-core Zen 3.)
    l.w_layer_inf = memory(infer_pd.weights_layer_desc(), eng);
    l.w_iter_inf = memory(infer_pd.weights_iter_desc(), eng);
    l.w_iter_bwd = memory(bwd_pd.weights_iter_desc(), eng);
    l.bias = w.bias;
    l.to_fwd_layer = dnnl::reorder(w.layer, l.w_layer_fwd);
    l.to_fwd_iter = dnnl::reorder(w.iter, l.w_iter_fwd);
    l.to_bwd_layer = dnnl::reorder(w.layer, l.w_layer_bwd);
    l.to_bwd_iter = dnnl::reorder(w.iter, l.w_iter_bwd);
    l.to_inf_layer = dnnl::reorder(w.layer, l.w_layer_inf);
    l.to_inf_iter = dnnl::reorder(w.iter, l.w_iter_inf);
    l.diff_src = memory(bwd_pd.diff_src_layer_desc(), eng);
    l.diff_dst = memory(bwd_pd.diff_dst_layer_desc(), eng);
    fill(l.diff_dst, rng, 1e-3f);
    l.diff_dst_iter = memory(bwd_pd.diff_dst_iter_desc(), eng);
    fill(l.diff_dst_iter, rng, 1e-3f);
    l.diff_dst_iter_c = memory(bwd_pd.diff_dst_iter_c_desc(), eng);
    zero(l.diff_dst_iter_c);
    l.diff_w_layer = memory(bwd_pd.diff_weights_layer_desc(), eng);
    l.diff_w_iter = memory(bwd_pd.diff_weights_iter_desc(), eng);
    l.diff_bias = memory(bwd_pd.diff_bias_desc(), eng);
    return l;
}

struct Args {
    std::string config = "seed", lengths = "fixed", lengths_file;
    int steps = 3, warmup = 1, threads = 0;
    bool json = false;
};

}  // namespace

int main(int argc, char** argv) {
    try {
        Args a;
        a.lengths_file = std::string(NNLITE_BENCHMARK_DIR) + "/imdb_lengths.txt";
        for (int i = 1; i < argc; ++i) {
            const std::string k = argv[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
                return argv[++i];
            };
            if (k == "--config")
                a.config = value();
            else if (k == "--lengths")
                a.lengths = value();
            else if (k == "--lengths-file")
                a.lengths_file = value();
            else if (k == "--steps")
                a.steps = std::stoi(value());
            else if (k == "--warmup")
                a.warmup = std::stoi(value());
            else if (k == "--threads")
                a.threads = std::stoi(value());
            else if (k == "--json")
                a.json = true;
            else if (k == "--device")  // accepted for symmetry with lstm_benchmark
                (void)value();
            else if (k == "--no-sgemm")
                continue;
            else
                throw std::runtime_error("unknown argument " + k);
        }
        if (a.threads > 0) {
            const char* cur = std::getenv("OMP_NUM_THREADS");
            const std::string want = std::to_string(a.threads);
            if (!cur || want != cur) {
                setenv("OMP_NUM_THREADS", want.c_str(), 1);
                execv("/proc/self/exe", argv);
                throw std::runtime_error("cannot re-execute with OMP_NUM_THREADS set");
            }
        }
        if (a.steps < 1 || a.warmup < 0) throw std::runtime_error("bad --steps/--warmup");
        const auto it = std::find_if(configs().begin(), configs().end(),
                                     [&](const Config& c) { return c.name == a.config; });
        if (it == configs().end()) throw std::runtime_error("unknown --config " + a.config);
        const Config& c = *it;
        std::vector<std::int64_t> pool;
        if (a.lengths == "imdb") {
            std::ifstream in(a.lengths_file);
            for (std::int64_t x; in >> x;) pool.push_back(x);
            if (pool.empty()) throw std::runtime_error("no lengths in " + a.lengths_file);
        } else if (a.lengths != "fixed") {
            throw std::runtime_error("--lengths must be fixed or imdb");
        }
        const double rss_base = current_rss_mib();

        // The batches' padded lengths and real token counts (lstm_benchmark's draw).
        const int total = a.warmup + a.steps;
        std::vector<long> batch_T(total);
        double timed_tokens = 0;
        for (int k = 0; k < total; ++k) {
            long longest = 0, tokens = 0;
            for (long j = 0; j < c.batch; ++j) {
                long len = c.max_len;
                if (!pool.empty())
                    len = std::min<long>(
                        pool[splitmix64(static_cast<std::uint64_t>(k * c.batch + j)) % pool.size()],
                        c.max_len);
                longest = std::max(longest, len);
                tokens += len;
            }
            batch_T[k] = longest;
            if (k >= a.warmup) timed_tokens += static_cast<double>(tokens);
        }
        const double tokens_per_batch = timed_tokens / a.steps;

        dnnl::engine eng(dnnl::engine::kind::cpu, 0);
        dnnl::stream s(eng);
        std::mt19937 rng(1234);
        const long D = c.bidirectional ? 2 : 1, H = c.hidden, N = c.batch;
        std::vector<Weights> weights;
        for (long l = 0; l < c.layers; ++l) {
            const long in = l == 0 ? c.emb : D * H;
            Weights w{memory({{1, D, in, 4, H}, dt::f32, tag::ldigo}, eng),
                      memory({{1, D, H, 4, H}, dt::f32, tag::ldigo}, eng),
                      memory({{1, D, 4, H}, dt::f32, tag::ldgo}, eng)};
            fill(w.layer, rng, 0.06f);
            fill(w.iter, rng, 0.06f);
            fill(w.bias, rng, 0.06f);
            weights.push_back(w);
        }
        std::map<long, std::vector<Layer>> nets;  // per padded length T
        for (long T : batch_T)
            if (!nets.count(T))
                for (long l = 0; l < c.layers; ++l)
                    nets[T].push_back(
                        make_layer(eng, weights[l], T, N, l == 0 ? c.emb : D * H, H, D, rng));

        auto train_step = [&](std::vector<Layer>& net) {
            for (std::size_t l = 0; l < net.size(); ++l) {
                Layer& L = net[l];
                L.to_fwd_layer.execute(s, weights[l].layer, L.w_layer_fwd);
                L.to_fwd_iter.execute(s, weights[l].iter, L.w_iter_fwd);
                L.to_bwd_layer.execute(s, weights[l].layer, L.w_layer_bwd);
                L.to_bwd_iter.execute(s, weights[l].iter, L.w_iter_bwd);
                zero(L.diff_w_layer);
                zero(L.diff_w_iter);
                zero(L.diff_bias);
                const memory& src = l == 0 ? L.src : net[l - 1].dst;
                L.train_fwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                                        {DNNL_ARG_WEIGHTS_LAYER, L.w_layer_fwd},
                                        {DNNL_ARG_WEIGHTS_ITER, L.w_iter_fwd},
                                        {DNNL_ARG_BIAS, L.bias},
                                        {DNNL_ARG_DST_LAYER, L.dst},
                                        {DNNL_ARG_DST_ITER, L.dst_iter},
                                        {DNNL_ARG_DST_ITER_C, L.dst_iter_c},
                                        {DNNL_ARG_WORKSPACE, L.workspace}});
            }
            for (std::size_t l = net.size(); l-- > 0;) {
                Layer& L = net[l];
                const memory& src = l == 0 ? L.src : net[l - 1].dst;
                const memory& diff_dst = l + 1 == net.size() ? L.diff_dst : net[l + 1].diff_src;
                L.bwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                                  {DNNL_ARG_WEIGHTS_LAYER, L.w_layer_bwd},
                                  {DNNL_ARG_WEIGHTS_ITER, L.w_iter_bwd},
                                  {DNNL_ARG_BIAS, L.bias},
                                  {DNNL_ARG_DST_LAYER, L.dst},
                                  {DNNL_ARG_DST_ITER, L.dst_iter},
                                  {DNNL_ARG_DST_ITER_C, L.dst_iter_c},
                                  {DNNL_ARG_WORKSPACE, L.workspace},
                                  {DNNL_ARG_DIFF_DST_LAYER, diff_dst},
                                  {DNNL_ARG_DIFF_DST_ITER, L.diff_dst_iter},
                                  {DNNL_ARG_DIFF_DST_ITER_C, L.diff_dst_iter_c},
                                  {DNNL_ARG_DIFF_SRC_LAYER, L.diff_src},
                                  {DNNL_ARG_DIFF_WEIGHTS_LAYER, L.diff_w_layer},
                                  {DNNL_ARG_DIFF_WEIGHTS_ITER, L.diff_w_iter},
                                  {DNNL_ARG_DIFF_BIAS, L.diff_bias}});
            }
            s.wait();
        };
        auto infer_step = [&](std::vector<Layer>& net) {
            for (std::size_t l = 0; l < net.size(); ++l) {
                Layer& L = net[l];
                const memory& src = l == 0 ? L.src : net[l - 1].infer_dst;
                L.infer_fwd.execute(s, {{DNNL_ARG_SRC_LAYER, src},
                                        {DNNL_ARG_WEIGHTS_LAYER, L.w_layer_inf},
                                        {DNNL_ARG_WEIGHTS_ITER, L.w_iter_inf},
                                        {DNNL_ARG_BIAS, L.bias},
                                        {DNNL_ARG_DST_LAYER, L.infer_dst},
                                        {DNNL_ARG_DST_ITER, L.dst_iter},
                                        {DNNL_ARG_DST_ITER_C, L.dst_iter_c}});
            }
            s.wait();
        };

        std::vector<double> train_s, infer_s, train_cpu, infer_cpu;
        for (int k = 0; k < total; ++k) {
            const auto t0 = Clock::now();
            const double c0 = cpu_seconds();
            train_step(nets[batch_T[k]]);
            if (k >= a.warmup) {
                train_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
                train_cpu.push_back(cpu_seconds() - c0);
            }
        }
        const double rss_train = peak_rss_mib();
        // Inference weights are reordered once, untimed, as a deployment does at load time
        // (they do not change between inference steps).
        for (auto& [T, net] : nets)
            for (std::size_t l = 0; l < net.size(); ++l) {
                net[l].to_inf_layer.execute(s, weights[l].layer, net[l].w_layer_inf);
                net[l].to_inf_iter.execute(s, weights[l].iter, net[l].w_iter_inf);
            }
        s.wait();
        for (int k = 0; k < total; ++k) {
            const auto t0 = Clock::now();
            const double c0 = cpu_seconds();
            infer_step(nets[batch_T[k]]);
            if (k >= a.warmup) {
                infer_s.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
                infer_cpu.push_back(cpu_seconds() - c0);
            }
        }
        const double rss_peak = peak_rss_mib();
        // The inference primitive must compute what the training forward computes: run the
        // last batch's training step once more and compare every layer's output.
        {
            std::vector<Layer>& net = nets[batch_T[total - 1]];
            train_step(net);
            for (std::size_t l = 0; l < net.size(); ++l) {
                const auto* tr = static_cast<const float*>(net[l].dst.get_data_handle());
                const auto* inf = static_cast<const float*>(net[l].infer_dst.get_data_handle());
                const std::size_t n = net[l].dst.get_desc().get_size() / sizeof(float);
                double worst = 0;
                for (std::size_t i = 0; i < n; ++i)
                    worst = std::max(worst, std::abs(static_cast<double>(tr[i]) - inf[i]));
                if (!(worst <= 1e-3))
                    throw std::runtime_error(
                        "oneDNN's forward_inference output of layer " + std::to_string(l) +
                        " differs from its forward_training output by " + std::to_string(worst) +
                        ": the benchmark would time a wrong computation");
            }
        }

        // lstm_benchmark's FLOP formula over the real tokens.
        double fwd = 0, bwd = 0;
        const double Nt = tokens_per_batch, Hd = static_cast<double>(H), G = 4 * Hd;
        for (long l = 0; l < c.layers; ++l) {
            const double in = static_cast<double>(l == 0 ? c.emb : D * H);
            fwd += static_cast<double>(D) * (2 * Nt * G * in + 2 * Nt * G * Hd + 25 * Nt * Hd);
            bwd += static_cast<double>(D) * (4 * Nt * G * in + 4 * Nt * G * Hd + 30 * Nt * Hd);
        }
        const double tr = median(train_s), inf = median(infer_s);
        const double B = static_cast<double>(c.batch);
        const dnnl_version_t* v = dnnl_version();
        if (a.json) {
            std::printf(
                "{\"impl\": \"onednn\", \"version\": \"%d.%d.%d\", \"config\": \"%s\", "
                "\"lengths\": \"%s\", \"threads\": %s, \"steps\": %d, \"batch\": %ld, "
                "\"tokens_per_batch\": %.1f, "
                "\"train_step_s\": %.5f, \"train_samples_s\": %.3f, \"train_tokens_s\": %.1f, "
                "\"train_gflops\": %.3f, \"infer_step_s\": %.5f, \"infer_samples_s\": %.3f, "
                "\"infer_tokens_s\": %.1f, \"infer_gflops\": %.3f, \"train_cpu_s\": %.5f, "
                "\"infer_cpu_s\": %.5f, \"rss_base_mib\": %.1f, \"rss_peak_train_mib\": %.1f, "
                "\"rss_peak_mib\": %.1f}\n",
                v->major, v->minor, v->patch, c.name.c_str(), a.lengths.c_str(),
                std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "0", a.steps,
                c.batch, tokens_per_batch, tr, B / tr, Nt / tr, (fwd + bwd) / tr / 1e9, inf,
                B / inf, Nt / inf, fwd / inf / 1e9, median(train_cpu), median(infer_cpu), rss_base,
                rss_train, rss_peak);
        } else {
            std::printf(
                "oneDNN %d.%d.%d LSTM: config %s, lengths %s (%.0f tokens/batch), "
                "OMP_NUM_THREADS=%s\n  train     %8.3f s/step  %9.2f samples/s  %7.2f GFLOP/s\n"
                "  inference %8.3f s/step  %9.2f samples/s  %7.2f GFLOP/s\n"
                "  peak RSS: %.1f MiB (%.1f before the model)\n",
                v->major, v->minor, v->patch, c.name.c_str(), a.lengths.c_str(), Nt,
                std::getenv("OMP_NUM_THREADS") ? std::getenv("OMP_NUM_THREADS") : "unset", tr,
                B / tr, (fwd + bwd) / tr / 1e9, inf, B / inf, fwd / inf / 1e9, rss_peak, rss_base);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "onednn_lstm_benchmark: %s\n", e.what());
        return 1;
    }
    return 0;
}
