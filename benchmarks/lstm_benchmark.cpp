// LSTM training and inference throughput on CPU or GPU, for named configurations:
//
//   lstm_benchmark --config seed|cpu|uni1 --lengths fixed|imdb [--steps N] [--threads N]
//                  [--warmup N] [--lengths-file PATH] [--no-sgemm] [--json] [--device cpu|cuda]
//                  [--compute fp32|bf16|fp16] [--no-amx]
//
// --compute bf16 builds the LSTM with LSTMOptions::compute(ComputeType::bf16): every LSTM
// GEMM with bf16 inputs and fp32 accumulation (CPUs with AVX512-BF16; elsewhere the
// program stops with the library's error). The FLOP count is the same either way. The bf16
// products run on AMX tiles where the CPU has AMX-BF16, else on VDPBF16PS; --no-amx keeps
// them on VDPBF16PS (cpu_gemm::set_bf16_amx(false)) to compare the two. --compute fp16 runs
// them on AVX512-FP16 (ComputeType::fp16: scaled fp16 inputs, fp16 sums over blocks of up to
// 256 products, fp32 across them).
//
// lstm_benchmark_cuda (lstm_benchmark_cuda.cu, built with NNLITE_WITH_CUDA=ON) is the same
// program with the CUDA backend compiled in: --device cuda runs the model on the GPU, and
// every timed step ends by reading a value back to the host (the step is complete).
//
// Model (the showcase's shape): Embedding(vocab, emb, padding_idx 0) -> LSTM (time-major,
// packed lengths) -> last-state pooling (final forward state, plus the reverse
// direction's final state when bidirectional) -> Linear(D*H, 1) -> bce_with_logits.
// A training step is forward, backward, clip_grad_norm(1.0), Adam step, zero_grad(true)
// (set_to_none: PyTorch 2.x's default and what imdb_example does, so the next backward's
// gradients become .grad without a fill, an add or a copy); an
// inference step is the forward under NoGradGuard. Each figure is the median over --steps
// timed steps after --warmup untimed ones.
//
// Batches: with --lengths fixed every sequence has 256 tokens; with --lengths imdb the B
// lengths of batch k are drawn from imdb_lengths.txt (the 25k IMDB training reviews,
// nnlite tokenizer, truncated at 256) by index splitmix64(k * B + j) mod n, and the batch
// is padded to its longest sequence. compare_pytorch.py draws the same batches.
//
// FLOP count (LSTM only; embedding, pooling, Linear and the optimizer are < 0.1%). With
// N = sum of the real lengths of the batch (padding is not computed, so not counted),
// G = 4H, and in_l the input width of layer l, per layer and direction:
//   forward  GEMMs: 2 N G in_l (input projection) + 2 N G H (recurrent product)
//   backward GEMMs: 2 x (2 N G in_l) (dX, dW_ih) + 2 x (2 N G H) (dh, dW_hh)
//   gate math: forward 25 N H, backward 30 N H (sigmoid/tanh count as 4 flops each, plus
//   the products and sums of the cell update; see lstm_kernels.hpp)
// Inference counts the forward terms, training forward + backward. "of SGEMM" divides the
// achieved rate by the rate of one large cblas_sgemm (2048^3, best of 5) measured here
// with the same thread count.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <nnlite/autograd/grad_mode.hpp>
#include <nnlite/backend/cpu/blas.hpp>
#include <nnlite/backend/cpu/isa.hpp>
#include <nnlite/backend/cpu/lstm_kernels.hpp>
#include <nnlite/core/random.hpp>
#include <nnlite/core/threads.hpp>
#include <nnlite/nn/clip.hpp>
#include <nnlite/nn/embedding.hpp>
#include <nnlite/nn/linear.hpp>
#include <nnlite/nn/lstm.hpp>
#include <nnlite/ops/loss.hpp>
#include <nnlite/ops/shape.hpp>
#include <nnlite/optim/adam.hpp>
#include <nnlite/tensor/tensor.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using nnlite::Tensor;
namespace nn = nnlite::nn;
namespace ops = nnlite::ops;
using Clock = std::chrono::steady_clock;

struct Config {
    std::string name;
    std::size_t vocab, emb, hidden, layers;
    bool bidirectional;
    std::size_t batch, max_len;
};

const std::vector<Config>& configs() {
    static const std::vector<Config> all = {
        {"seed", 10002, 128, 256, 2, true, 64, 256},
        {"cpu", 20002, 96, 64, 1, true, 64, 256},
        {"uni1", 10002, 128, 256, 1, false, 64, 256},
    };
    return all;
}

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::vector<std::int64_t> read_lengths(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read lengths file " + path);
    std::vector<std::int64_t> v;
    for (std::int64_t x; in >> x;) v.push_back(x);
    if (v.empty()) throw std::runtime_error("no lengths in " + path);
    return v;
}

template <class B>
struct Batch {
    Tensor<std::int32_t, B> ids;        // [T, B], 0 past each length
    std::vector<std::int64_t> lengths;  // empty: every sequence has T tokens (host side)
    Tensor<float, B> targets;           // [B, 1]
    std::size_t tokens = 0;
};

template <class B>
Batch<B> make_batch(const Config& c, const std::vector<std::int64_t>& pool, std::uint64_t k) {
    Batch<B> b;
    std::vector<std::int64_t> len(c.batch, static_cast<std::int64_t>(c.max_len));
    if (!pool.empty())
        for (std::size_t j = 0; j < c.batch; ++j)
            len[j] = std::min<std::int64_t>(pool[splitmix64(k * c.batch + j) % pool.size()],
                                            static_cast<std::int64_t>(c.max_len));
    const auto T = static_cast<std::size_t>(*std::max_element(len.begin(), len.end()));
    std::vector<std::int32_t> ids(T * c.batch, 0);
    std::vector<float> y(c.batch);
    for (std::size_t j = 0; j < c.batch; ++j) {
        for (std::size_t t = 0; t < static_cast<std::size_t>(len[j]); ++t)
            ids[t * c.batch + j] = static_cast<std::int32_t>(
                2 + splitmix64(k * 1000003 + j * 4099 + t) % (c.vocab - 2));
        y[j] = static_cast<float>(splitmix64(k * 7 + j) & 1);
        b.tokens += static_cast<std::size_t>(len[j]);
    }
    b.ids = Tensor<std::int32_t>::from(ids, {T, c.batch}).template to<B>();
    b.targets = Tensor<float>::from(y, {c.batch, 1}).template to<B>();
    if (!pool.empty()) b.lengths = len;
    return b;
}

/// LSTM flops of one batch (see the file comment): {forward, forward + backward}.
std::pair<double, double> lstm_flops(const Config& c, std::size_t tokens) {
    const double N = static_cast<double>(tokens), H = static_cast<double>(c.hidden), G = 4 * H;
    const double D = c.bidirectional ? 2 : 1;
    double fwd = 0, bwd = 0;
    for (std::size_t l = 0; l < c.layers; ++l) {
        const double in = l == 0 ? static_cast<double>(c.emb) : D * H;
        fwd += D * (2 * N * G * in + 2 * N * G * H + 25 * N * H);
        bwd += D * (4 * N * G * in + 4 * N * G * H + 30 * N * H);
    }
    return {fwd, fwd + bwd};
}

/// GFLOP/s of one large SGEMM, best of 5 (after one warm-up call).
double sgemm_gflops() {
    const std::size_t n = 2048;
    std::vector<float> a(n * n, 0.5f), b(n * n, 0.25f), c(n * n, 0.f);
    double best = 0;
    for (int rep = 0; rep < 6; ++rep) {
        const auto t0 = Clock::now();
        nnlite::blas::gemm(false, false, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
        const double s = std::chrono::duration<double>(Clock::now() - t0).count();
        if (rep > 0) best = std::max(best, 2.0 * n * n * n / s / 1e9);
    }
    return best;
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;  // Linux: KiB
}

double current_rss_mib() {
    std::ifstream in("/proc/self/statm");
    std::size_t pages = 0, resident = 0;
    in >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

/// CPU seconds of the whole process (all threads): on a loaded machine wall time depends
/// on what else runs, CPU time much less.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

template <class B>
class Model {
  public:
    Model(const Config& c, nnlite::ComputeType compute, nnlite::Generator& gen)
        : config_(c),
          embedding_(nn::EmbeddingOptions(c.vocab, c.emb).padding_idx(0), gen),
          lstm_(nn::LSTMOptions(c.emb, c.hidden)
                    .num_layers(c.layers)
                    .bidirectional(c.bidirectional)
                    .compute(compute),
                gen),
          fc_(nn::LinearOptions((c.bidirectional ? 2 : 1) * c.hidden, 1), gen) {}

    /// Logits [B, 1].
    Tensor<float, B> forward(const Batch<B>& b) {
        auto x = embedding_.forward(b.ids);  // [T, B, emb]
        auto r = lstm_.forward(x, b.lengths);
        // Last layer's final states: [D, B, H] -> [B, D*H] (forward direction first).
        const std::size_t D = lstm_.directions();
        auto last = ops::narrow(r.h_n, 0, (config_.layers - 1) * D, D);
        auto pooled = ops::reshape(ops::transpose(last, 0, 1),
                                   {static_cast<std::int64_t>(config_.batch), -1});
        return fc_.forward(pooled);
    }

    std::vector<Tensor<float, B>> parameters() const {
        std::vector<Tensor<float, B>> p = embedding_.parameters();
        for (const auto& m : {lstm_.parameters(), fc_.parameters()})
            p.insert(p.end(), m.begin(), m.end());
        return p;
    }

  private:
    Config config_;
    nn::Embedding<float, B> embedding_;
    nn::LSTM<float, B> lstm_;
    nn::Linear<float, B> fc_;
};

struct Args {
    std::string config = "seed", lengths = "fixed", lengths_file, device = "cpu";
    nnlite::ComputeType compute = nnlite::ComputeType::fp32;
    int steps = 3, warmup = 1, threads = 0;
    bool json = false, sgemm = true, train = true, infer = true, amx = true;
};

Args parse(int argc, char** argv) {
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
        else if (k == "--device")
            a.device = value();
        else if (k == "--compute")
            a.compute = nnlite::parse_compute_type(value());
        else if (k == "--no-sgemm")
            a.sgemm = false;
        else if (k == "--no-amx")
            a.amx = false;
        else if (k == "--train-only")
            a.infer = false;
        else if (k == "--infer-only")
            a.train = false;
        else if (k == "--help" || k == "-h") {
            std::printf(
                "usage: lstm_benchmark --config seed|cpu|uni1 --lengths fixed|imdb [--steps N]\n"
                "       [--warmup N] [--threads N] [--lengths-file PATH] [--train-only]\n"
                "       [--infer-only] [--no-sgemm] [--json] [--device cpu|cuda]\n"
                "       [--compute fp32|bf16|fp16] [--no-amx]\n");
            std::exit(0);
        } else {
            throw std::runtime_error("unknown argument " + k + " (see --help)");
        }
    }
    if (a.lengths != "fixed" && a.lengths != "imdb")
        throw std::runtime_error("--lengths must be fixed or imdb, got " + a.lengths);
    if (a.device != "cpu" && a.device != "cuda")
        throw std::runtime_error("--device must be cpu or cuda, got " + a.device);
    if (a.steps < 1 || a.warmup < 0)
        throw std::runtime_error("--steps must be >= 1, --warmup >= 0");
    return a;
}

/// One benchmark run on backend B; prints the figures.
template <class B>
void run(const Args& args, const Config& cfg, int threads, double sgemm, double rss_base) {
    std::vector<std::int64_t> pool;
    if (args.lengths == "imdb") pool = read_lengths(args.lengths_file);
    nnlite::Generator gen(1234);
    Model<B> model(cfg, args.compute, gen);
    const auto params = model.parameters();
    nnlite::optim::Adam<float, B> adam(params, nnlite::optim::AdamOptions(1e-3));

    const int total = args.warmup + args.steps;
    std::vector<Batch<B>> batches;
    for (int k = 0; k < total; ++k)
        batches.push_back(make_batch<B>(cfg, pool, static_cast<std::uint64_t>(k)));

    std::vector<double> train_s, infer_s, train_cpu, infer_cpu;
    std::size_t timed_tokens = 0;
    double loss_sum = 0;
    for (int k = args.warmup; k < total; ++k) timed_tokens += batches[k].tokens;
    if (args.train)
        for (int k = 0; k < total; ++k) {
            const auto t0 = Clock::now();
            const double c0 = cpu_seconds();
            auto loss = ops::bce_with_logits(model.forward(batches[k]), batches[k].targets);
            loss.backward();
            nn::clip_grad_norm(params, 1.0);
            adam.step();
            adam.zero_grad(true);
            const double lv = static_cast<double>(loss.item());  // waits for the device
            const double s = std::chrono::duration<double>(Clock::now() - t0).count();
            const double cpu = cpu_seconds() - c0;
            loss_sum += lv;
            if (k >= args.warmup) {
                train_s.push_back(s);
                train_cpu.push_back(cpu);
            }
        }
    const double rss_train = peak_rss_mib();
    if (args.infer) {
        nnlite::NoGradGuard no_grad;
        for (int k = 0; k < total; ++k) {
            const auto t0 = Clock::now();
            const double c0 = cpu_seconds();
            auto logits = model.forward(batches[k]);
            const double first = static_cast<double>(logits.to_vector()[0]);  // waits
            const double s = std::chrono::duration<double>(Clock::now() - t0).count();
            const double cpu = cpu_seconds() - c0;
            loss_sum += first;
            if (k >= args.warmup) {
                infer_s.push_back(s);
                infer_cpu.push_back(cpu);
            }
        }
    }
    const double rss_peak = peak_rss_mib();

    const double tokens_per_batch = static_cast<double>(timed_tokens) / args.steps;
    const auto flops = lstm_flops(cfg, static_cast<std::size_t>(tokens_per_batch));
    const double batch = static_cast<double>(cfg.batch);
    struct Figure {
        double seconds = 0, samples = 0, tokens = 0, gflops = 0;
    };
    auto figure = [&](const std::vector<double>& t, double fl) {
        Figure f;
        if (t.empty()) return f;
        f.seconds = median(t);
        f.samples = batch / f.seconds;
        f.tokens = tokens_per_batch / f.seconds;
        f.gflops = fl / f.seconds / 1e9;
        return f;
    };
    const Figure tr = figure(train_s, flops.second), inf = figure(infer_s, flops.first);
    if (args.json) {
        std::printf(
            "{\"impl\": \"nnlite\", \"device\": \"%s\", \"config\": \"%s\", \"lengths\": \"%s\", "
            "\"threads\": %d, "
            "\"steps\": %d, \"batch\": %zu, \"tokens_per_batch\": %.1f, "
            "\"sgemm_gflops\": %.2f, "
            "\"train_step_s\": %.5f, \"train_samples_s\": %.3f, \"train_tokens_s\": %.1f, "
            "\"train_gflops\": %.3f, "
            "\"infer_step_s\": %.5f, \"infer_samples_s\": %.3f, \"infer_tokens_s\": %.1f, "
            "\"infer_gflops\": %.3f, "
            "\"train_cpu_s\": %.5f, \"infer_cpu_s\": %.5f, "
            "\"rss_base_mib\": %.1f, \"rss_peak_train_mib\": %.1f, \"rss_peak_mib\": %.1f, "
            "\"blas_core\": \"%s\", \"kernel_isa\": \"%s\", \"lstm_gemm\": \"%s\", "
            "\"bf16_kernel\": \"%s\", "
            "\"compute\": \"%s\", \"checksum\": %.6g}\n",
            args.device.c_str(), cfg.name.c_str(), args.lengths.c_str(), threads, args.steps,
            cfg.batch, tokens_per_batch, sgemm, tr.seconds, tr.samples, tr.tokens, tr.gflops,
            inf.seconds, inf.samples, inf.tokens, inf.gflops,
            train_cpu.empty() ? 0.0 : median(train_cpu),
            infer_cpu.empty() ? 0.0 : median(infer_cpu), rss_base, rss_train, rss_peak,
            nnlite::blas::core_name().c_str(),
            nnlite::cpu_isa::isa_name(nnlite::cpu_isa::compiled_isa()),
            nnlite::cpu_lstm::use_own_sgemm() ? "nnlite" : "blas",
            args.compute == nnlite::ComputeType::bf16 ? nnlite::cpu_gemm::bf16_kernel_name() : "",
            nnlite::to_string(args.compute), loss_sum);
    } else {
        std::printf(
            "nnlite lstm_benchmark (%s): config %s (vocab %zu, emb %zu, hidden %zu, %zu layer%s, "
            "%s), "
            "batch %zu, lengths %s (%.0f tokens/batch), %d thread%s\n",
            args.device.c_str(), cfg.name.c_str(), cfg.vocab, cfg.emb, cfg.hidden, cfg.layers,
            cfg.layers > 1 ? "s" : "", cfg.bidirectional ? "bidirectional" : "unidirectional",
            cfg.batch, args.lengths.c_str(), tokens_per_batch, threads, threads > 1 ? "s" : "");
        if (args.compute == nnlite::ComputeType::fp16)
            std::printf(
                "  OpenBLAS core %s; LSTM GEMMs: nnlite's fp16 kernel (AVX512-FP16, fp16 sums "
                "of up to 256 products, fp32 across them)\n",
                nnlite::blas::core_name().c_str());
        else if (args.compute == nnlite::ComputeType::bf16)
            std::printf(
                "  OpenBLAS core %s; LSTM GEMMs: nnlite's bf16 kernel (%s, fp32 "
                "accumulation)\n",
                nnlite::blas::core_name().c_str(), nnlite::cpu_gemm::bf16_kernel_name());
        else
            std::printf("  OpenBLAS core %s; LSTM GEMMs: %s (kernels compiled for %s)\n",
                        nnlite::blas::core_name().c_str(),
                        nnlite::cpu_lstm::use_own_sgemm() ? "nnlite's own" : "BLAS",
                        nnlite::cpu_isa::isa_name(nnlite::cpu_isa::compiled_isa()));
        if (args.sgemm) std::printf("  SGEMM 2048^3: %.1f GFLOP/s\n", sgemm);
        auto line = [&](const char* what, const Figure& f) {
            if (f.seconds == 0) return;
            std::printf("  %-9s %8.3f s/step  %9.2f samples/s  %10.0f tokens/s  %7.2f GFLOP/s",
                        what, f.seconds, f.samples, f.tokens, f.gflops);
            if (args.sgemm) std::printf("  (%.1f%% of SGEMM)", 100.0 * f.gflops / sgemm);
            std::printf("\n");
        };
        line("train", tr);
        line("inference", inf);
        if (!train_cpu.empty()) std::printf("  CPU time per step: train %.3f s", median(train_cpu));
        if (!infer_cpu.empty()) std::printf("  inference %.3f s", median(infer_cpu));
        std::printf("\n");
        std::printf("  peak RSS: %.1f MiB (%.1f MiB before the model; %.1f MiB after training)\n",
                    rss_peak, rss_base, rss_train);
    }
}

}  // namespace

int main(int argc, char** argv) {
    try {
        const Args args = parse(argc, argv);
        const auto it = std::find_if(configs().begin(), configs().end(),
                                     [&](const Config& c) { return c.name == args.config; });
        if (it == configs().end())
            throw std::runtime_error("unknown --config " + args.config + " (seed, cpu, uni1)");
        if (args.threads > 0) nnlite::set_num_threads(args.threads);
        nnlite::cpu_gemm::set_bf16_amx(args.amx);
        const int threads = nnlite::num_threads();
        const double sgemm = args.sgemm ? sgemm_gflops() : 0.0;
        const double rss_base = current_rss_mib();
        if (args.device == "cpu") {
            run<nnlite::cpu>(args, *it, threads, sgemm, rss_base);
        } else {
#ifdef NNLITE_BENCHMARK_CUDA
            if (!nnlite::is_cuda_available())
                throw std::runtime_error("--device cuda: no CUDA device is visible");
            run<nnlite::cuda>(args, *it, threads, sgemm, rss_base);
#else
            throw std::runtime_error(
                "--device cuda: this lstm_benchmark was built without CUDA (build "
                "lstm_benchmark_cuda with -DNNLITE_WITH_CUDA=ON)");
#endif
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "lstm_benchmark: %s\n", e.what());
        return 1;
    }
    return 0;
}
