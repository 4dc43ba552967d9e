#!/usr/bin/env bash
# `serve` under a ~10-second mixed, partly hostile request stream (loopback only, stops by
# itself): valid predictions and explanations, invalid JSON, an oversized body, a gzip bomb
# (50 KB that inflates to 50 MB), too many texts, clients that leave at once, and slow
# clients that hold connections by sending one header line a second. Asserts: no 5xx but
# 503 (which carries Retry-After), every status as expected for its kind, peak RSS
# (VmHWM) <= 2x the idle server's + 32 MiB, every /healthz probe answered in < 1 s, the
# slow connections closed by the header deadline, and /metrics in the Prometheus format.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed (scripts/install-deps.sh installs it)"
command -v gzip >/dev/null || skip "gzip is not installed"
[[ -r /proc/self/status ]] || skip "no /proc (RSS is read from /proc/PID/status)"
[[ -s $SYNTH_RUN/model.safetensors ]] || fail "no synthetic model at $SYNTH_RUN (run the imdb_cli_synthetic test first)"
[[ -n ${IMDB_SANITIZED:-} ]] && skip "RSS bounds mean nothing under a sanitizer"
trap '' PIPE # a slow client writing to a socket the server closed must not die of SIGPIPE
duration=${IMDB_LOAD_SECONDS:-10}
lifetime=$((duration + 40))

# A small queue and short deadlines so that the limits are reached in a few seconds.
start_server "$SYNTH_RUN" --max-queue 16 --max-texts 16 --header-timeout-ms 2000 \
    --request-timeout-ms 3000 --http-threads 64
pass "serve started on port $port"
rss_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$server_pid/status"; }

# ---- bodies -----------------------------------------------------------------------------------
review="A gripping, beautifully shot film: the cast is superb and the story moves with purpose."
printf '{"text": "%s"}' "$review" >"$WORK/explain.json"
printf '{"text": "%s", "explain": false}' "$review" >"$WORK/predict.json"
printf '{"texts": ["%s", "dull and far too long", "superb"]}' "$review" >"$WORK/texts.json"
printf '{"text": "unterminated' >"$WORK/invalid.json"
{ printf '{"text": "'; head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' a; printf '"}'; } >"$WORK/big.json"
head -c 50000000 /dev/zero | gzip -c >"$WORK/bomb.gz"
{ printf '{"texts": ['; for ((i = 0; i < 40; i++)); do printf '"good",'; done; printf '"end"]}'; } >"$WORK/many.json"

# warm up every path once, then the idle footprint
for b in explain predict texts; do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' --data-binary "@$WORK/$b.json" "$base/api/predict" ||
        fail "warm-up request $b failed"
done
idle_kb=$(rss_kb VmHWM)
pass "idle server: VmHWM $((idle_kb / 1024)) MiB"

# ---- the stream ---------------------------------------------------------------------------------
end=$(($(date +%s) + duration))
# hammer KIND EXPECTED_CODES(regex) CURL_ARGS...: requests until the end, one status per line
hammer() {
    local kind=$1 ok=$2
    shift 2
    while (($(date +%s) < end)); do
        out=$(curl -s -o /dev/null -w '%{http_code} %header{retry-after}' --max-time 10 "$@" \
            "$base/api/predict")
        read -r code retry <<<"$out"
        echo "$kind $code $ok ${retry:--}" >>"$WORK/codes.$kind.$BASHPID"
    done
}
slow_client() {  # one header line a second, for the whole run: the server must close it
    local t0=$(date +%s) closed=never
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return
    printf 'POST /api/predict HTTP/1.1\r\nHost: x\r\n' >&"$fd"
    while (($(date +%s) < end)); do
        sleep 1
        if ! printf 'X-Slow: 1\r\n' >&"$fd" 2>/dev/null; then
            closed=$(($(date +%s) - t0))
            break
        fi
    done
    exec {fd}>&-
    echo "$closed" >"$WORK/slow.$BASHPID"
}
rm -f "$WORK"/codes.* "$WORK"/slow.* "$WORK/healthz.times"
json_h=(-H 'Content-Type: application/json')
pids=()
for ((i = 0; i < 8; i++)); do slow_client & pids+=($!); done
for ((i = 0; i < 3; i++)); do hammer predict '200|503' "${json_h[@]}" --data-binary "@$WORK/predict.json" & pids+=($!); done
hammer explain '200|503' "${json_h[@]}" --data-binary "@$WORK/explain.json" & pids+=($!)
hammer texts '200|503' "${json_h[@]}" --data-binary "@$WORK/texts.json" & pids+=($!)
hammer form '200|503' --data-binary "@$WORK/predict.json" & pids+=($!)
hammer invalid '400' "${json_h[@]}" --data-binary "@$WORK/invalid.json" & pids+=($!)
hammer oversized '413|000' "${json_h[@]}" --data-binary "@$WORK/big.json" & pids+=($!)
hammer bomb '413|000' "${json_h[@]}" -H 'Content-Encoding: gzip' --data-binary "@$WORK/bomb.gz" & pids+=($!)
hammer many '413' "${json_h[@]}" --data-binary "@$WORK/many.json" & pids+=($!)
hammer leaver '200|503|000' "${json_h[@]}" --max-time 0.01 --data-binary "@$WORK/texts.json" & pids+=($!)
# /healthz every 0.2 s
while (($(date +%s) < end)); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 5 "$base/healthz" >>"$WORK/healthz.times"
    sleep 0.2
done
for pid in "${pids[@]}"; do wait "$pid"; done
kill -0 "$server_pid" 2>/dev/null || fail "the server died under load: $(tail -5 "$WORK/serve.err")"

# ---- verdicts -----------------------------------------------------------------------------------
cat "$WORK"/codes.* >"$WORK/codes"
total=$(wc -l <"$WORK/codes")
((total > 50)) || fail "only $total requests in ${duration} s"
bad=$(awk '$2 ~ /^5/ && $2 != "503"' "$WORK/codes" | head -5)
[[ -z $bad ]] || fail "5xx other than 503: $bad"
unexpected=$(awk '$2 !~ "^(" $3 ")$"' "$WORK/codes" | sort | uniq -c | head -5)
[[ -z $unexpected ]] || fail "unexpected statuses (count kind status expected): $unexpected"
summary=$(awk '{ n[$1 " " $2]++ } END { for (k in n) printf "%s:%d ", k, n[k] }' "$WORK/codes")
grep -q '^predict 200' "$WORK/codes" || fail "no prediction succeeded under load"
pass "$total requests, only expected statuses: $summary"

probes=$(wc -l <"$WORK/healthz.times")
slowest=$(awk '$1 != "200" { print "status " $1; exit } { if ($2 > m) m = $2 } END { if (NR) print m }' "$WORK/healthz.times")
[[ $slowest != status* ]] || fail "/healthz answered $slowest under load"
is_true 'm < 1.0' m="$slowest" || fail "/healthz took $slowest s under load (limit 1 s)"
((probes >= 5)) || fail "only $probes /healthz probes"
pass "/healthz: $probes probes, all 200, slowest $slowest s"

peak_kb=$(rss_kb VmHWM)
((peak_kb <= 2 * idle_kb + 32768)) ||
    fail "peak RSS $((peak_kb / 1024)) MiB > 2x idle ($((idle_kb / 1024)) MiB) + 32 MiB"
pass "peak RSS $((peak_kb / 1024)) MiB (idle $((idle_kb / 1024)) MiB)"

for f in "$WORK"/slow.*; do
    closed=$(cat "$f")
    [[ $closed != never ]] || fail "a slow client kept its connection for the whole run"
    ((closed <= 5)) || fail "a slow client was closed only after $closed s (header deadline 2 s)"
done
pass "8 slow clients closed by the header deadline"

no_retry=$(awk '$2 == "503" && $4 != "1"' "$WORK/codes" | head -3)
[[ -z $no_retry ]] || fail "503 without Retry-After: 1: $no_retry"

# ---- /metrics -------------------------------------------------------------------------------------
curl -fsS -o "$WORK/metrics.txt" "$base/metrics" || fail "GET /metrics failed"
for m in 'imdb_http_requests_total{route="/api/predict",status="200"}' \
    'imdb_http_request_duration_seconds_bucket{route="/api/predict",le="+Inf"}' \
    imdb_batch_size_count imdb_queue_depth imdb_connections_timed_out_total \
    'imdb_http_requests_total{route="/api/predict",status="413"}'; do
    grep -qF "$m" "$WORK/metrics.txt" || fail "/metrics lacks $m"
done
timed_out=$(awk '$1 == "imdb_connections_timed_out_total" { print $2 }' "$WORK/metrics.txt")
((timed_out >= 8)) || fail "/metrics counts $timed_out connections closed by deadline, expected >= 8"
if awk '$2 == "503"' "$WORK/codes" | grep -q .; then
    rejected=$(awk '$1 == "imdb_rejected_queue_full_total" || $1 == "imdb_dropped_deadline_total" { s += $2 } END { print s + 0 }' "$WORK/metrics.txt")
    ((rejected > 0)) || fail "503s were answered but /metrics counts none"
fi
pass "/metrics: requests, latency histogram, batch sizes, queue depth, deadline closes ($timed_out)"
echo "PASSED: $checks checks"
