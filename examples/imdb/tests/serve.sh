#!/usr/bin/env bash
# `serve`: starts the server on a free port with --max-seconds, then checks with curl the
# page, /healthz, POST /api/predict with "text" and "texts", every 400 case, 413 for a body
# over 1 MiB, 404, bodies to other routes refused unread, request headers over 64 KiB (431),
# 8 concurrent explained requests (all succeed, same answers as one at a time to float
# rounding: they are explained in batches), and
# that --max-seconds stops the server cleanly. Uses the synthetic run (CTest fixture).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v curl >/dev/null || skip "curl is not installed (scripts/install-deps.sh installs it)"
[[ -s $SYNTH_RUN/model.safetensors ]] || fail "no synthetic model at $SYNTH_RUN (run the imdb_cli_synthetic test first)"
lifetime=${IMDB_SERVE_SECONDS:-60}

start_server "$SYNTH_RUN"
grep -q "serving .* on http://127.0.0.1:$port/" "$WORK/serve.out" || fail "no 'serving ... on http://...' line"
pass "serve started on port $port"

# request NAME METHOD PATH [curl args...]: body -> $WORK/NAME.json, status -> $status
request() {
    local name=$1 method=$2 path=$3
    shift 3
    status=$(curl -sS -o "$WORK/$name.json" -w '%{http_code}' -X "$method" "$@" "$base$path") ||
        fail "$name: curl failed"
}
post() {  # post NAME BODY
    request "$1" POST /api/predict -H 'Content-Type: application/json' --data-binary "$2"
}
expect_status() {  # expect_status NAME CODE [ERROR_SUBSTRING]
    [[ $status == "$2" ]] || fail "$1: HTTP $status, expected $2: $(head -c 300 "$WORK/$1.json")"
    if [[ -n ${3:-} ]]; then
        local message
        message=$(json "$WORK/$1.json" /error)
        [[ $message == *"$3"* ]] || fail "$1: error '$message' does not mention '$3'"
        pass "$1 -> $2: $message"
    else
        pass "$1 -> $2"
    fi
}

# ---- page and health -------------------------------------------------------------------------
request page GET /
expect_status page 200
grep -q '<textarea id="text"' "$WORK/page.json" || fail "the page has no textarea"
grep -q "/api/predict" "$WORK/page.json" || fail "the page does not call /api/predict"
grep -Eq 'src="https?:|href="https?:' "$WORK/page.json" && fail "the page fetches from elsewhere"
request healthz GET /healthz
expect_status healthz 200
[[ $(json "$WORK/healthz.json" /status) == ok ]] || fail "healthz status is not ok"
[[ $(json "$WORK/healthz.json" /device) == cpu ]] || fail "healthz does not report the device (cpu)"
vocab_size=$(sed -n 1p "$SYNTH_RUN/vocab.txt" | awk '{print $3}')
[[ $(json "$WORK/healthz.json" /vocabulary) == "$vocab_size" ]] || fail "healthz vocabulary size differs from vocab.txt"
request not_found GET /no/such/page
expect_status not_found 404

# ---- predictions ----------------------------------------------------------------------------
good="a superb and brilliant film, I loved it"
bad="a boring, awful waste of time"
post one "{\"text\": \"$good\"}"
expect_status one 200
IFS=$'\t' read -r label p n_tokens < <(json "$WORK/one.json" /results/0/label /results/0/probability_positive '/results/0/tokens#')
[[ $label == positive ]] || fail "single text: label $label"
is_true 'p > 0.5 && p <= 1' p="$p" || fail "single text: probability $p"
[[ $n_tokens == 8 ]] || fail "single text: $n_tokens tokens, expected 8 (a superb and brilliant film i loved it)"
json "$WORK/one.json" /results/0/tokens/1/token /results/0/tokens/1/contribution >/dev/null
# the CLI gives the same answer
"$IMDB" predict --model "$SYNTH_RUN" --json "$good" >"$WORK/cli.json" || fail "predict failed"
close "$(json "$WORK/cli.json" /probability_positive)" "$p" || fail "server and CLI disagree: $p vs $(json "$WORK/cli.json" /probability_positive)"
pass "POST {text}: $label $p, $n_tokens tokens with contributions, same as the CLI"

post many "{\"texts\": [\"$good\", \"$bad\", \"superb\"]}"
expect_status many 200
[[ $(json "$WORK/many.json" '/results#') == 3 ]] || fail "texts: expected 3 results"
[[ $(json "$WORK/many.json" /results/0/label /results/1/label) == $'positive\tnegative' ]] ||
    fail "texts: labels $(json "$WORK/many.json" /results/0/label /results/1/label)"
close "$(json "$WORK/many.json" /results/0/probability_positive)" "$p" || fail "texts[0] differs from text"
pass "POST {texts: [3]}: 3 results in order"
post unicode '{"text": "superb \u00e9l\u00e9gant \ud83c\udfac brilliant"}'
expect_status unicode 200

# ---- bad requests -----------------------------------------------------------------------------
post invalid_json '{"text": "unterminated'
expect_status invalid_json 400 "invalid JSON"
# a number beyond a double is nlohmann's out_of_range, not a parse_error: it was a 500
post number_overflow '{"text": "great", "explain": 1e400}'
expect_status number_overflow 400 "number overflow"
post missing_field '{"review": "great"}'
expect_status missing_field 400 "missing field"
post not_object '["great"]'
expect_status not_object 400 "JSON object"
post empty_text '{"text": "  "}'
expect_status empty_text 400 "empty"
post text_number '{"text": 5}'
expect_status text_number 400 "must be a string"
post texts_empty '{"texts": []}'
expect_status texts_empty 400 "non-empty array"
post texts_mixed '{"texts": ["good", 3]}'
expect_status texts_mixed 400 "only strings"
head -c $((1024 * 1024 + 100)) /dev/zero | tr '\0' 'a' | sed 's/^/{"text": "/; s/$/"}/' >"$WORK/big.json"
request too_large POST /api/predict -H 'Content-Type: application/json' --data-binary "@$WORK/big.json"
expect_status too_large 413 "too large"
# just under the limit is served
head -c $((1024 * 1024 - 200)) /dev/zero | tr '\0' 'a' | sed 's/^/{"text": "/; s/$/ great"}/' >"$WORK/near.json"
request near_limit POST /api/predict -H 'Content-Type: application/json' --data-binary "@$WORK/near.json"
expect_status near_limit 200

# ---- bodies serve does not read ---------------------------------------------------------------
# Only POST /api/predict reads a body (within --max-body-bytes after decompression); any other
# is refused unread: httplib would read it whole into memory, inflated (this 100 KB gzip bomb
# sent to POST / grew the server by 100+ MiB).
head -c 100000000 /dev/zero | gzip -c >"$WORK/bomb.gz"
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status"; }
before_kb=$(hwm_kb)
request post_root POST / -H 'Content-Encoding: gzip' --data-binary "@$WORK/bomb.gz"
expect_status post_root 405 "POST is not allowed on /"
request post_unknown POST /no/such/page -H 'Transfer-Encoding: chunked' -H 'Content-Encoding: gzip' \
    --data-binary "@$WORK/bomb.gz"
expect_status post_unknown 404 "not found"
request put_predict PUT /api/predict -H 'Content-Type: application/json' --data-binary "{\"text\": \"$good\"}"
expect_status put_predict 405 "PUT is not allowed on /api/predict"
grown_kb=$(($(hwm_kb) - before_kb))
((grown_kb < 32768)) || fail "refused bodies grew the server's peak memory by $((grown_kb / 1024)) MiB"
pass "bodies to other routes refused unread (peak memory +$((grown_kb / 1024)) MiB)"

# ---- request line and headers: 64 KiB --------------------------------------------------------
# httplib 0.11.4 reads a header line until its newline, of any length, and any number of
# headers: one header line without end, sent at loopback speed, grew the server by 350 MiB in
# 8 s, within the header deadline. serve counts the bytes of each request's headers.
request big_header GET /healthz -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)"
expect_status big_header 431 "request line and headers too large (limit 64 KiB)"
many=()
for i in $(seq 1 1500); do many+=(-H "X-Header-$i: $(printf '%040d' "$i")"); done
request many_headers GET /healthz "${many[@]}"
expect_status many_headers 431 "too large"
request header_under_limit POST /api/predict -H 'Content-Type: application/json' \
    -H "X-Filler: $(head -c 6000 /dev/zero | tr '\0' a)" --data-binary "{\"text\": \"$good\"}"
expect_status header_under_limit 200
before_kb=$(hwm_kb)
# A header line that never ends (up to 300 MB, 10 s): the server stops reading at 64 KiB and
# closes the connection (the writer then dies of SIGPIPE / EPIPE, which is the point).
started=$(date +%s)
(
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: ' >&3
    head -c 300000000 /dev/zero | tr '\0' a >&3
) 2>/dev/null &
writer=$!
timeout 10 tail --pid="$writer" -f /dev/null || true
kill "$writer" 2>/dev/null || true
grown_kb=$(($(hwm_kb) - before_kb))
((grown_kb < 16384)) || fail "an endless header line grew the server's peak memory by $((grown_kb / 1024)) MiB"
curl -fsS "$base/healthz" >/dev/null || fail "/healthz failed after the endless header line"
pass "endless header line cut off after $(($(date +%s) - started)) s (peak memory +$((grown_kb / 1024)) MiB)"

# ---- 8 concurrent requests ---------------------------------------------------------------------
# Explained ("text"): concurrent explanations run in one batch (app/server/batcher.hpp), so
# they may differ from one at a time by float rounding only.
texts=("$good" "$bad" "superb" "awful film" "brilliant movie" "a dull mess" "loved it" "worst")
# answer_of FILE: the probability, then every token's contribution, tab-separated
answer_of() {
    local n pointers=(/results/0/probability_positive)
    n=$(json "$1" '/results/0/tokens#')
    for ((k = 0; k < n; k++)); do pointers+=("/results/0/tokens/$k/contribution"); done
    json "$1" "${pointers[@]}"
}
# same_answer A B: same number of tokens, probabilities within 1e-6, contributions within
# 1e-5 of the largest one
same_answer() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        n = split(a, x, "\t"); if (split(b, y, "\t") != n) exit 1
        d = x[1] - y[1]; if (d > 1e-6 || -d > 1e-6) exit 1
        m = 1e-12; for (k = 2; k <= n; k++) m = (x[k] > m ? x[k] : (-x[k] > m ? -x[k] : m))
        for (k = 2; k <= n; k++) { d = x[k] - y[k]; if (d > 1e-5 * m || -d > 1e-5 * m) exit 1 }
    }'
}
expected=()
for t in "${texts[@]}"; do
    post seq "{\"text\": \"$t\"}"
    [[ $status == 200 ]] || fail "sequential request for '$t': HTTP $status"
    expected+=("$(answer_of "$WORK/seq.json")")
done
pids=()
for i in "${!texts[@]}"; do
    curl -sS -o "$WORK/par$i.json" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "{\"text\": \"${texts[i]}\"}" "$base/api/predict" >"$WORK/par$i.code" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || fail "a concurrent curl failed"; done
for i in "${!texts[@]}"; do
    [[ $(cat "$WORK/par$i.code") == 200 ]] || fail "concurrent request $i: HTTP $(cat "$WORK/par$i.code")"
    same_answer "$(answer_of "$WORK/par$i.json")" "${expected[i]}" ||
        fail "concurrent request $i answered differently than alone: $(answer_of "$WORK/par$i.json") vs ${expected[i]}"
done
pass "8 concurrent explained requests: all 200, same answers as one at a time (to float rounding)"

# ---- --max-seconds ends the server cleanly ------------------------------------------------------
kill -0 "$server_pid" 2>/dev/null || fail "the server died during the test: $(cat "$WORK/serve.err")"
if [[ -z ${IMDB_SERVE_SECONDS:-} ]]; then
    # a second server with a 2 s lifetime must exit 0 on its own
    saved_pid=$server_pid saved_port=$port saved_base=$base
    lifetime=2
    start_server "$SYNTH_RUN"
    for ((i = 0; i < 100; i++)); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$server_pid" 2>/dev/null && fail "serve --max-seconds 2 still running after 10 s"
    wait "$server_pid"
    code=$?
    ((code == 0)) || fail "serve --max-seconds exited with $code"
    server_pid=$saved_pid port=$saved_port base=$saved_base
    pass "serve --max-seconds 2 stops by itself with exit 0"
fi
# a port in use is a clear error
curl -fsS "$base/healthz" >/dev/null || fail "the first server stopped answering"
expect_error port_in_use "cannot listen on 127.0.0.1:$port" serve --model "$SYNTH_RUN" --port "$port" --max-seconds 1
echo "PASSED: $checks checks"
