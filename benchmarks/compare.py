#!/usr/bin/python3
"""nnlite vs oneDNN vs PyTorch on the same LSTM configurations, in one invocation.

Usage (PyTorch from Debian's python3-torch, hence /usr/bin/python3; oneDNN from
libdnnl-dev: benchmarks/install-bench-deps.sh installs both, neither is required):
    /usr/bin/python3 benchmarks/compare.py --build build [--threads 2] [--steps 3]
        [--configs seed,cpu,uni1] [--lengths fixed,imdb] [--rounds 1] [--markdown]
        [--no-onednn] [--no-pytorch] [--bf16] [--fp16]
(benchmarks/compare_pytorch.py is the same script under its old name.)

It first prints the machine: CPU model and vector flags (/proc/cpuinfo), the OpenBLAS
core (openblas_get_corename), nnlite's kernel ISA, and the SGEMM 2048^3 rate with that
core. Then, for every (configuration, lengths) pair it runs, in rotating order and each in
a fresh process (so that the peak resident memory is that configuration's alone):
  * build/benchmarks/lstm_benchmark --json         (nnlite)
  * build/benchmarks/onednn_lstm_benchmark --json  (oneDNN's LSTM primitive, f32, the
    LSTM layers only, padded batch for IMDB lengths; built when oneDNN is installed)
  * this script in --torch-worker mode       (PyTorch: nn.Embedding + nn.LSTM, with
    pack_padded_sequence for variable lengths, + nn.Linear + BCEWithLogitsLoss, backward,
    clip_grad_norm_(1.0), Adam step), with torch.set_num_threads(threads)
and prints one table with the nnlite/oneDNN and nnlite/PyTorch ratios of each figure
(missing workers are shown as n/a). With --bf16, lstm_benchmark also runs with
--compute bf16 (LSTM GEMMs with bf16 inputs, fp32 accumulation; needs AVX512-BF16) in the
same rotation, adding the columns nnlite-bf16, bf16/fp32 (nnlite-bf16 / nnlite) and
bf16/oneDNN (nnlite-bf16 / oneDNN f32); the bf16 products run on AMX where the CPU has
AMX-BF16 (the machine line names the bf16 kernel). --fp16 does the same with --compute fp16
(scaled fp16 inputs, fp16 sums over blocks of up to 256 products, fp32 across them; needs
AVX512-FP16): columns nnlite-fp16, fp16/fp32 and fp16/oneDNN. The model, the batches
(lengths from benchmarks/imdb_lengths.txt by the same splitmix64 draw), the step
definition and the FLOP formula are the same on both sides; see lstm_benchmark.cpp.
With --rounds R > 1 the pairs are repeated and the per-figure median is reported; each
ratio is then the median of the R per-round ratios (a round's runs follow each other, so a
drift of the machine's speed between rounds cancels) followed by their range, e.g.
"1.21x (1.08-1.30)".

It also measures (unless --skip-extras): tokenization + vocabulary build over the 50k
IMDB reviews (nnlite's imdb_data_benchmark vs a plain Python regex tokenizer + Counter),
and the compile time of benchmarks/compile_time_probe.cpp, a minimal program including
<nnlite/nnlite.hpp>.
"""
import argparse
import importlib.util
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIGS = {
    # name: vocab, emb, hidden, layers, bidirectional, batch, max_len
    "seed": (10002, 128, 256, 2, True, 64, 256),
    "cpu": (20002, 96, 64, 1, True, 64, 256),
    "uni1": (10002, 128, 256, 1, False, 64, 256),
}
MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def lstm_flops(cfg, tokens):
    """Same formula as lstm_benchmark.cpp: (forward, forward + backward)."""
    _, emb, hidden, layers, bidir, _, _ = cfg
    n, h = float(tokens), float(hidden)
    g, d = 4 * h, 2.0 if bidir else 1.0
    fwd = bwd = 0.0
    for layer in range(layers):
        inp = emb if layer == 0 else d * h
        fwd += d * (2 * n * g * inp + 2 * n * g * h + 25 * n * h)
        bwd += d * (4 * n * g * inp + 4 * n * g * h + 30 * n * h)
    return fwd, fwd + bwd


def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1048576.0


def torch_worker(args):
    """One configuration in PyTorch; prints one JSON line like lstm_benchmark --json."""
    import torch
    import torch.nn as tnn
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = False  # cuDNN's default algorithm choice
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    rss_base = rss_mib()
    cfg = CONFIGS[args.config]
    vocab, emb, hidden, layers, bidir, batch, max_len = cfg
    pool = []
    if args.lengths == "imdb":
        with open(args.lengths_file) as f:
            pool = [int(x) for x in f.read().split()]

    def make_batch(k):
        lens = [max_len] * batch
        if pool:
            lens = [min(pool[splitmix64(k * batch + j) % len(pool)], max_len) for j in range(batch)]
        t = max(lens)
        ids = torch.zeros(t, batch, dtype=torch.long)
        for j in range(batch):
            ids[: lens[j], j] = torch.tensor(
                [2 + splitmix64(k * 1000003 + j * 4099 + s) % (vocab - 2) for s in range(lens[j])])
        y = torch.tensor([float(splitmix64(k * 7 + j) & 1) for j in range(batch)]).view(batch, 1)
        # lengths stay on the host (pack_padded_sequence wants them there)
        return ids.to(dev), (torch.tensor(lens) if pool else None), y.to(dev), sum(lens)

    class Model(tnn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = tnn.Embedding(vocab, emb, padding_idx=0)
            self.lstm = tnn.LSTM(emb, hidden, num_layers=layers, bidirectional=bidir)
            self.fc = tnn.Linear((2 if bidir else 1) * hidden, 1)

        def forward(self, ids, lengths):
            x = self.embedding(ids)
            if lengths is not None:
                x = pack_padded_sequence(x, lengths, enforce_sorted=False)
            _, (h_n, _) = self.lstm(x)
            d = 2 if bidir else 1
            last = h_n[-d:].transpose(0, 1).reshape(batch, -1)
            return self.fc(last)

    torch.manual_seed(1234)
    model = Model().to(dev)
    params = list(model.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    loss_fn = tnn.BCEWithLogitsLoss()
    total = args.warmup + args.steps
    batches = [make_batch(k) for k in range(total)]
    tokens = sum(b[3] for b in batches[args.warmup:]) / args.steps

    train_s, infer_s, train_cpu, infer_cpu = [], [], [], []
    for k in range(total):
        ids, lens, y, _ = batches[k]
        t0, c0 = time.perf_counter(), time.process_time()
        loss = loss_fn(model(ids, lens), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss.item()  # the step is complete (as nnlite's benchmark reads its loss)
        sync()
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        if k >= args.warmup:
            train_s.append(s)
            train_cpu.append(cpu)
    rss_train = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    with torch.no_grad():
        for k in range(total):
            ids, lens, y, _ = batches[k]
            t0, c0 = time.perf_counter(), time.process_time()
            model(ids, lens)[0, 0].item()
            sync()
            s, cpu = time.perf_counter() - t0, time.process_time() - c0
            if k >= args.warmup:
                infer_s.append(s)
                infer_cpu.append(cpu)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    fwd, fb = lstm_flops(cfg, tokens)
    tr, inf = statistics.median(train_s), statistics.median(infer_s)
    print(json.dumps({
        "impl": "pytorch", "config": args.config, "lengths": args.lengths,
        "threads": torch.get_num_threads(), "steps": args.steps, "batch": batch,
        "tokens_per_batch": tokens, "torch_version": torch.__version__, "device": args.device,
        "cudnn_version": torch.backends.cudnn.version() if args.device == "cuda" else None,
        "train_step_s": tr, "train_samples_s": batch / tr, "train_tokens_s": tokens / tr,
        "train_gflops": fb / tr / 1e9,
        "infer_step_s": inf, "infer_samples_s": batch / inf, "infer_tokens_s": tokens / inf,
        "infer_gflops": fwd / inf / 1e9,
        "train_cpu_s": statistics.median(train_cpu), "infer_cpu_s": statistics.median(infer_cpu),
        "rss_base_mib": rss_base, "rss_peak_train_mib": rss_train, "rss_peak_mib": rss_peak,
    }))


def run_json(cmd, env):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("no JSON from %s:\n%s\n%s" % (cmd, out.stdout, out.stderr))


def measure_text(build, threads, data):
    """Tokenize + count + vocabulary over the 50k reviews: nnlite vs a Python regex."""
    res = {}
    exe = os.path.join(build, "examples", "imdb", "imdb_data_benchmark")
    if os.path.exists(exe) and os.path.exists(data):
        env = dict(os.environ, NNLITE_NUM_THREADS=str(threads))
        out = subprocess.run([exe, data], check=True, capture_output=True, text=True, env=env).stdout
        res["nnlite_output"] = out.strip()
    if os.path.exists(data):
        import collections
        import tarfile
        texts = []
        with tarfile.open(data, "r:gz") as tar:
            for m in tar:
                if m.isfile() and re.search(r"/(train|test)/(pos|neg)/[^/]+\.txt$", m.name):
                    texts.append(tar.extractfile(m).read().decode("utf-8", "replace"))
        token_re = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[!?]")
        t0, c0 = time.perf_counter(), time.process_time()
        counts = collections.Counter()
        n_tokens = 0
        for t in texts:
            toks = token_re.findall(t.lower().replace("<br />", " "))
            n_tokens += len(toks)
            counts.update(toks)
        vocab = {w: i + 2 for i, (w, _) in enumerate(counts.most_common(10000))}
        s, cpu = time.perf_counter() - t0, time.process_time() - c0
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        res["python"] = {"reviews": len(texts), "tokens": n_tokens, "seconds": s, "cpu_s": cpu,
                         "mb_per_s": mb / s, "mb_per_cpu_s": mb / cpu, "vocab": len(vocab) + 2}
    return res


def measure_compile(build):
    """Wall time of compiling compile_time_probe.cpp with the build's own command line."""
    cc = os.path.join(build, "compile_commands.json")
    cmd = None
    if os.path.exists(cc):
        for e in json.load(open(cc)):
            if e["file"].endswith("compile_time_probe.cpp"):
                cmd = e["command"]
    if cmd is None:
        return None
    cmd = re.sub(r"-o \S+", "-o /tmp/nnlite_probe.o", cmd)
    times, cpu, peak = [], [], []
    for _ in range(3):
        # /usr/bin/time: this compilation's own CPU time and peak memory.
        out = subprocess.run("/usr/bin/time -f 'NNLITE_TIME %e %U %S %M' " + cmd, shell=True,
                             check=True, cwd=build, capture_output=True, text=True)
        e, u, sy, m = re.search(r"NNLITE_TIME (\S+) (\S+) (\S+) (\S+)", out.stderr).groups()
        times.append(float(e))
        cpu.append(float(u) + float(sy))
        peak.append(float(m) / 1024.0)
    return {"seconds_min": min(times), "seconds_all": times, "cpu_min": min(cpu),
            "compiler_peak_mib": max(peak), "command": cmd}


FIGURES = [
    ("train samples/s", "train_samples_s", True),
    ("train GFLOP/s", "train_gflops", True),
    ("infer samples/s", "infer_samples_s", True),
    ("infer GFLOP/s", "infer_gflops", True),
    ("train CPU-s/step", "train_cpu_s", False),
    ("infer CPU-s/step", "infer_cpu_s", False),
    ("peak RSS MiB", "rss_peak_mib", False),
    ("peak RSS - base MiB", None, False),
]


def fig(r, key):
    if key is None:
        return r["rss_peak_mib"] - r["rss_base_mib"]
    return r[key]


def cpu_info():
    """CPU model name and the vector-relevant flags from /proc/cpuinfo."""
    model, flags = "unknown", []
    wanted = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl",
              "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        m = re.search(r"^model name\s*:\s*(.*)$", text, re.M)
        fam = re.search(r"^cpu family\s*:\s*(\d+)$", text, re.M)
        mod = re.search(r"^model\s*:\s*(\d+)$", text, re.M)
        if m:
            model = m.group(1).strip()
        if fam and mod:
            model += " (family %s model %s)" % (fam.group(1), mod.group(1))
        fl = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
        if fl:
            have = set(fl.group(1).split())
            flags = [x for x in wanted if x in have]
    except OSError:
        pass
    return model, flags


def torch_version():
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--configs", default="seed,cpu,uni1")
    ap.add_argument("--lengths", default="fixed,imdb")
    ap.add_argument("--lengths-file", default=os.path.join(HERE, "imdb_lengths.txt"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "imdb",
                                                   "aclImdb_v1_labeled.tar.gz"))
    ap.add_argument("--skip-extras", action="store_true")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"],
                    help="cuda: nnlite's lstm_benchmark_cuda against PyTorch + cuDNN on the GPU")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--no-onednn", action="store_true", help="skip the oneDNN worker")
    ap.add_argument("--no-pytorch", action="store_true", help="skip the PyTorch worker")
    ap.add_argument("--bf16", action="store_true",
                    help="also run nnlite with --compute bf16 (column nnlite-bf16; CPU only)")
    ap.add_argument("--fp16", action="store_true",
                    help="also run nnlite with --compute fp16 (column nnlite-fp16; CPU only)")
    ap.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--config", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        return torch_worker(args)

    name = "lstm_benchmark_cuda" if args.device == "cuda" else "lstm_benchmark"
    exe = os.path.join(args.build, "benchmarks", name)
    if not os.path.exists(exe):
        sys.exit("no %s: configure with -DNNLITE_BUILD_BENCHMARKS=ON%s and build %s"
                 % (exe, " -DNNLITE_WITH_CUDA=ON" if args.device == "cuda" else "", name))
    onednn_exe = os.path.join(args.build, "benchmarks", "onednn_lstm_benchmark")
    use_onednn = args.device == "cpu" and not args.no_onednn and os.path.exists(onednn_exe)
    if args.device == "cpu" and not args.no_onednn and not use_onednn:
        print("note: no %s (benchmarks/install-bench-deps.sh, then rebuild): oneDNN column n/a"
              % onednn_exe, file=sys.stderr)
    use_torch = not args.no_pytorch and importlib.util.find_spec("torch") is not None
    if not args.no_pytorch and not use_torch:
        print("note: PyTorch is not importable by %s: PyTorch column n/a" % sys.executable,
              file=sys.stderr)
    env = dict(os.environ, NNLITE_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads))
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[:3]
    results = {}
    sgemm = []
    machine = {}
    for rnd in range(args.rounds):
        for config in args.configs.split(","):
            for lengths in args.lengths.split(","):
                common = ["--config", config, "--lengths", lengths, "--steps", str(args.steps),
                          "--warmup", str(args.warmup), "--threads", str(args.threads)]
                nn_cmd = [exe, "--json", "--lengths-file", args.lengths_file, "--device",
                          args.device] + common
                if rnd > 0 or len(sgemm) > 0:
                    nn_cmd.append("--no-sgemm")
                order = [("nnlite", nn_cmd)]
                if args.bf16 and args.device == "cpu":  # the CUDA backend runs fp32 only
                    order.append(("nnlite-bf16", nn_cmd + ["--compute", "bf16", "--no-sgemm"]))
                if args.fp16 and args.device == "cpu":
                    order.append(("nnlite-fp16", nn_cmd + ["--compute", "fp16", "--no-sgemm"]))
                if use_onednn:
                    order.append(("onednn", [onednn_exe, "--json", "--lengths-file",
                                             args.lengths_file] + common))
                if use_torch:
                    order.append(("pytorch", [sys.executable, os.path.abspath(__file__),
                                              "--torch-worker", "--lengths-file",
                                              args.lengths_file, "--device", args.device]
                                  + common))
                # Rotate which goes first so slow drifts in machine load hit all alike.
                shift = (rnd + len(results)) % len(order)
                order = order[shift:] + order[:shift]
                for impl, cmd in order:
                    r = run_json(cmd, env)
                    if impl == "nnlite":
                        if r.get("sgemm_gflops", 0) > 0:
                            sgemm.append(r["sgemm_gflops"])
                        machine.setdefault("blas_core", r.get("blas_core"))
                        machine.setdefault("kernel_isa", r.get("kernel_isa"))
                        machine.setdefault("lstm_gemm", r.get("lstm_gemm"))
                    if impl == "nnlite-bf16":
                        machine.setdefault("bf16_kernel", r.get("bf16_kernel"))
                    if impl == "onednn":
                        machine.setdefault("onednn", r.get("version"))
                    results.setdefault((config, lengths), {}).setdefault(impl, []).append(r)
                    print("  %-7s %-4s %-5s train %.2f samples/s, infer %.2f samples/s, peak %.0f MiB"
                          % (impl, config, lengths, r["train_samples_s"], r["infer_samples_s"],
                             r["rss_peak_mib"]), file=sys.stderr, flush=True)
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[:3]

    sg = max(sgemm) if sgemm else float("nan")
    model, flags = cpu_info()
    print("machine: %s; %d logical CPUs; flags: %s" % (model, os.cpu_count(), " ".join(flags)))
    print("OpenBLAS core %s; SGEMM 2048^3 with it %.1f GFLOP/s (%d threads); nnlite LSTM GEMMs: %s "
          "(kernels compiled for %s); oneDNN %s; PyTorch %s"
          % (machine.get("blas_core"), sg, args.threads, machine.get("lstm_gemm"),
             machine.get("kernel_isa"), machine.get("onednn", "n/a"),
             torch_version() if use_torch else "n/a"))
    if args.bf16:
        print("nnlite bf16 products on: %s" % machine.get("bf16_kernel", "n/a"))
    print("threads %d, steps %d (+%d warm-up), rounds %d; load average before %s, after %s"
          % (args.threads, args.steps, args.warmup, args.rounds, "/".join(load_before),
             "/".join(load_after)))
    head = ["config", "lengths", "figure", "nnlite", "oneDNN", "PyTorch", "nnlite/oneDNN",
            "nnlite/PyTorch"]
    if args.bf16:
        head += ["nnlite-bf16", "bf16/fp32", "bf16/oneDNN"]
    if args.fp16:
        head += ["nnlite-fp16", "fp16/fp32", "fp16/oneDNN"]
    rows = []

    def med(by, impl, key):
        if impl not in by:
            return None
        return statistics.median(fig(r, key) for r in by[impl])

    def ratio(by, impl_a, impl_b, key, higher_better):
        """impl_a against impl_b: > 1 means impl_a is better. With several rounds, the
        median of the per-round ratios (each round's two runs are minutes apart at most, so
        a drift in the machine's speed between rounds hits both) and their range."""
        if impl_a not in by or impl_b not in by:
            return "n/a"
        pairs = [(fig(x, key), fig(y, key)) for x, y in zip(by[impl_a], by[impl_b])]
        rs = [(a / b if higher_better else b / a) for a, b in pairs if a != 0 and b != 0]
        if not rs:
            return "n/a"
        if len(rs) == 1:
            return "%.2fx" % rs[0]
        return "%.2fx (%.2f-%.2f)" % (statistics.median(rs), min(rs), max(rs))

    for (config, lengths), by in results.items():
        for label, key, higher in FIGURES:
            a, o, t = med(by, "nnlite", key), med(by, "onednn", key), med(by, "pytorch", key)
            extra = ""
            if key and key.endswith("gflops"):
                extra = " (%.0f%% of SGEMM)" % (100 * a / sg)
            row = [config, lengths, label, "%.2f%s" % (a, extra),
                   "n/a" if o is None else "%.2f" % o, "n/a" if t is None else "%.2f" % t,
                   ratio(by, "nnlite", "onednn", key, higher),
                   ratio(by, "nnlite", "pytorch", key, higher)]
            for impl, on in (("nnlite-bf16", args.bf16), ("nnlite-fp16", args.fp16)):
                if on:
                    b = med(by, impl, key)
                    row += ["n/a" if b is None else "%.2f" % b, ratio(by, impl, "nnlite", key, higher),
                            ratio(by, impl, "onednn", key, higher)]
            rows.append(row)
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
        for r in [head] + rows:
            print("  ".join(str(x).ljust(n) for x, n in zip(r, w)))
    print("(ratios: > 1 means nnlite is better, for times and memory too)")

    if not args.skip_extras:
        text = measure_text(args.build, args.threads, args.data)
        if "nnlite_output" in text:
            print("\nnnlite tokenization + vocabulary (imdb_data_benchmark, %d threads):" % args.threads)
            print(text["nnlite_output"])
        if "python" in text:
            p = text["python"]
            print("Python regex tokenizer + Counter + vocabulary (1 thread): %d reviews, %d tokens, "
                  "%.2f s (CPU %.2f s), %.1f MB/s (%.1f MB per CPU-s)"
                  % (p["reviews"], p["tokens"], p["seconds"], p["cpu_s"], p["mb_per_s"],
                     p["mb_per_cpu_s"]))
        comp = measure_compile(args.build)
        if comp:
            print("\ncompile time of benchmarks/compile_time_probe.cpp (#include <nnlite/nnlite.hpp>): "
                  "wall min %.2f s of %s; CPU min %.2f s; compiler peak RSS %.0f MiB\n  %s"
                  % (comp["seconds_min"], ", ".join("%.2f" % t for t in comp["seconds_all"]),
                     comp["cpu_min"], comp["compiler_peak_mib"], comp["command"]))
    print(json.dumps({"results": {"%s/%s" % k: v for k, v in results.items()}}), file=sys.stderr)


if __name__ == "__main__":
    main()
