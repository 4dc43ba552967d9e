#!/usr/bin/env bash
# The serving benchmark of docs/imdb.md ("Measured"): `imdb_example serve` with the shipped
# model and wrk on loopback, one table from one invocation.
#   bash benchmarks/serve_wrk.sh [IMDB_EXAMPLE] [MODEL_DIR]
# defaults: build/release/examples/imdb/imdb_example, examples/imdb/pretrained.
# Runs (each 30 s, -t2 -c64, a 1,000-character review):
#   predict   POST /api/predict {"text": ..., "explain": false}
#   explain   POST /api/predict {"text": ...}   (explanations: integrated gradients)
#   slow      predict as above, plus 64 slow clients (one header line a second each) and a
#             /healthz probe every 50 ms whose latencies are reported
# Environment: SECONDS_PER_RUN (default 30), CONNECTIONS (64), PORT (18601), SERVE_ARGS.
# Needs wrk (apt-get install wrk) and curl; prints the load average before and after each run.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
imdb=${1:-$repo/build/release/examples/imdb/imdb_example}
model=${2:-$repo/examples/imdb/pretrained}
duration=${SECONDS_PER_RUN:-30}
conns=${CONNECTIONS:-64}
port=${PORT:-18601}
command -v wrk >/dev/null || { echo "serve_wrk.sh: needs wrk (apt-get install -y wrk)" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null || true
    jobs -p | xargs -r kill 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

review="This film is a quiet, patient character study that rewards attention. The lead gives a
remarkable performance, moving from restraint to grief without a single false note, and the
supporting cast is nearly as good. The photography is beautiful: long takes of the coast in
winter, interiors lit like old paintings. It is not perfect. The middle third drags, a subplot
about the brother never pays off, and the score is sometimes too insistent, telling us what to
feel when the images already have. But the final twenty minutes are as moving as anything I
have seen this year, and the ending trusts the audience instead of explaining itself. I left
the theatre thinking about my own family. Recommended for patient viewers who like their
dramas slow and honest rather than loud. Bring tissues, and give it time to work on you."
review=$(echo "$review" | tr '\n' ' ' | head -c 1000)
lua() {  # lua FILE EXPLAIN
    cat >"$1" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"text": "$review"$2}'
LUA
}
lua "$work/predict.lua" ', "explain": false'
lua "$work/explain.lua" ''

"$imdb" serve --model "$model" --port "$port" ${SERVE_ARGS:-} >"$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/serve.out"; exit 1; }
base=http://127.0.0.1:$port
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "server: $imdb serve --model $model ${SERVE_ARGS:-}; idle VmRSS $(awk '/^VmRSS/ {print $2}' /proc/$server/status) kB"

drain() {  # until the previous run's queued work is gone (its clients left; deadlines end it)
    for _ in $(seq 200); do
        curl -fsS "$base/healthz" | grep -q '"queue_depth":0' && return
        sleep 0.1
    done
}
run() {  # run NAME SCRIPT
    drain
    echo "== $1: wrk -t2 -c$conns -d${duration}s --latency   (load before: $(cut -d' ' -f1-3 /proc/loadavg))"
    wrk -t2 -c"$conns" -d"${duration}s" --latency --timeout 5s -s "$2" "$base/api/predict" \
        >"$work/wrk.out"
    grep -E "Requests/sec|Latency|50%|90%|99%|requests in|Non-2xx|Socket errors" "$work/wrk.out"
    # wrk's Requests/sec counts every answer, 503s included: the answered rate is the figure
    awk '/requests in/ { n = $1; t = $4 + 0 } /Non-2xx/ { bad = $NF }
         END { printf "   answered (2xx): %d in %.1f s = %.1f/s\n", n - bad, t, (n - bad) / t }' \
        "$work/wrk.out"
    echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg); server VmHWM $(awk '/^VmHWM/ {print $2}' /proc/$server/status) kB"
    curl -fsS "$base/metrics" | grep -E '^imdb_(rejected|dropped)' | tr '\n' ' '
    echo
}
run predict "$work/predict.lua"
run explain "$work/explain.lua"

# 64 slow clients (one header line a second) and /healthz probes beside the predict load.
for i in $(seq 64); do
    (
        exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 0
        printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3
        for k in $(seq "$duration"); do printf 'X-Slow-%d: %d\r\n' "$k" "$k" >&3 || exit 0; sleep 1; done
    ) 2>/dev/null &
done
(
    end=$(($(date +%s) + duration))
    while (($(date +%s) < end)); do
        curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/healthz" >>"$work/healthz.times"
        sleep 0.05
    done
) &
probes=$!
run "predict + 64 slow clients" "$work/predict.lua"
wait "$probes" 2>/dev/null || true
sort -k2 -n "$work/healthz.times" | awk '{ t[NR] = $2; if ($1 != "200") bad++ }
    END { printf "   /healthz: %d probes, %d not 200, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
          NR, bad, 1000 * t[int(NR * 0.5) + 1], 1000 * t[int(NR * 0.99) + 1], 1000 * t[NR] }'
