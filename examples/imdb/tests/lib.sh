# Shared helpers of the imdb_example command-line tests (sourced, not run).
#
# Every test script is called by CTest as
#   bash SCRIPT IMDB_EXAMPLE JSON_QUERY WORK_DIR
# with the built imdb_example, the imdb_json_query helper and a scratch folder under the
# build tree. Exit 0 = passed, 77 = skipped (CTest SKIP_RETURN_CODE), anything else = failed.
set -uo pipefail

IMDB=${1:?usage: $0 IMDB_EXAMPLE JSON_QUERY WORK_DIR}
JQ=${2:?usage: $0 IMDB_EXAMPLE JSON_QUERY WORK_DIR}
WORK=${3:?usage: $0 IMDB_EXAMPLE JSON_QUERY WORK_DIR}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The model every test but the real-data one uses (made by synthetic_model.sh).
SYNTH_DATA=$(dirname "$WORK")/synthetic/aclImdb
SYNTH_RUN=$(dirname "$WORK")/synthetic/run
checks=0

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
skip() {
    echo "SKIPPED: $*"
    exit 77
}
pass() {
    checks=$((checks + 1))
    echo "ok $checks - $*"
}

# run NAME ARGS...: runs imdb_example, stdout -> $WORK/NAME.out, stderr -> $WORK/NAME.err,
# exit status -> $rc. Prints the command so a failing log shows what ran.
run() {
    local name=$1
    shift
    echo "\$ imdb_example $*" >"$WORK/$name.cmd"
    # RUN_TIMEOUT=S: a case that must fail fast is killed (rc 124) instead of running on.
    if [[ -n ${RUN_TIMEOUT:-} ]]; then
        timeout "$RUN_TIMEOUT" "$IMDB" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    else
        "$IMDB" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
    fi
    rc=$?
}

show() {  # show NAME: the output of a run, for failure messages
    echo "--- stdout of $(cat "$WORK/$1.cmd")"
    tail -n 30 "$WORK/$1.out"
    echo "--- stderr"
    tail -n 30 "$WORK/$1.err"
}

# expect_ok NAME ARGS...: the command must succeed.
expect_ok() {
    local name=$1
    run "$@"
    if ((rc != 0)); then
        show "$name" >&2
        fail "$name: exit status $rc, expected 0"
    fi
}

# expect_error NAME PATTERN ARGS...: the command must fail with exactly one line on stderr,
# `error: ...`, containing PATTERN (a fixed string).
expect_error() {
    local name=$1 pattern=$2
    shift 2
    run "$name" "$@"
    if ((rc == 0)); then
        show "$name" >&2
        fail "$name: succeeded, expected an error containing '$pattern'"
    fi
    local lines
    lines=$(wc -l <"$WORK/$name.err")
    if [[ $lines -ne 1 ]] || ! head -n 1 "$WORK/$name.err" | grep -q '^error: '; then
        show "$name" >&2
        fail "$name: expected one 'error: ...' line on stderr, got $lines lines"
    fi
    if ! grep -qF -- "$pattern" "$WORK/$name.err"; then
        show "$name" >&2
        fail "$name: the error does not mention '$pattern'"
    fi
    pass "$name: $(cat "$WORK/$name.err")"
}

# json FILE POINTER...: values at JSON pointers (fails the test when absent or not JSON).
json() {
    "$JQ" "$@" || fail "json query $* failed"
}
json_lines() {
    "$JQ" --lines "$@" || fail "json query --lines $* failed"
}

# is_true EXPR [name=value...]: an awk condition on numbers, e.g. is_true 'p >= 0.65' p=$acc.
is_true() {
    local expr=$1
    shift
    local vars=()
    for kv in "$@"; do vars+=(-v "$kv"); done
    awk "${vars[@]}" "BEGIN { exit !($expr) }"
}

# checksums DIR: one line per file (sorted), to prove a failed command touched nothing.
checksums() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# The IMDB data for the real-data test, found as imdb_example finds it (`data-path`: the
# one search order, imdb::default_data_path), else nothing.
real_data() {
    local path
    if path=$("$IMDB" data-path) && [[ -e $path ]]; then
        echo "$path"
    fi
}

# start_server MODEL_DIR [SERVE_OPTION...]: `imdb_example serve` in the background on a free
# port for $lifetime seconds (--max-seconds); sets $port, $base and $server_pid once /healthz
# answers.
# Retries on the rare race for the port. The caller kills $server_pid on exit (cleanup).
server_pid=""
cleanup() {
    if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
start_server() {
    local model=$1 attempt
    shift
    for attempt in 1 2 3 4 5; do
        port=$((20000 + (RANDOM * 7 + $$) % 40000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue  # taken
        "$IMDB" serve --model "$model" --port "$port" --max-seconds "$lifetime" "$@" \
            >"$WORK/serve.out" 2>"$WORK/serve.err" &
        server_pid=$!
        base="http://127.0.0.1:$port"
        local i
        for ((i = 0; i < 100; i++)); do
            curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        grep -q "cannot listen" "$WORK/serve.err" && continue
        cat "$WORK/serve.out" "$WORK/serve.err" >&2
        fail "server did not come up on port $port"
    done
    fail "no free port found"
}

# close A B [TOL]: |A - B| <= TOL (default 1e-6). The same review may go through a batch
# (predict) or alone with autograd on (explain, the server's single text): float sums in
# another order differ in the last bits.
close() {
    awk -v a="$1" -v b="$2" -v t="${3:-1e-6}" 'BEGIN { d = a - b; exit !(d <= t && -d <= t) }'
}
