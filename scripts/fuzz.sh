#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each from its seed corpus.
#   bash scripts/fuzz.sh                 # 20 s per target (the smoke run CI does)
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh   # a long run
#   FUZZ_RUNS=10000000 FUZZ_TARGETS="fuzz_vocabulary" bash scripts/fuzz.sh
#                                        # N executions per target (docs/building.md, "Fuzzing")
# Installs clang and its runtime (clang, libclang-rt-14-dev) when missing. Fails on the first
# target that crashes or reports; prints each target's executions and coverage.
#
# Environment: FUZZ_SECONDS (per target, default 20), FUZZ_RUNS (executions per target instead
# of a time limit), FUZZ_TARGETS (space-separated subset), NNLITE_BUILD_ROOT (default build/),
# FUZZ_CORPUS_ROOT (where the growing corpora go, default <build>/fuzz-corpus).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build=${NNLITE_BUILD_ROOT:-$repo/build}/fuzz
seconds=${FUZZ_SECONDS:-20}
corpus_root=${FUZZ_CORPUS_ROOT:-$build/fuzz-corpus}

missing=()
for pkg in clang libclang-rt-14-dev; do
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true) == "install ok installed" ]] ||
        missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "fuzz.sh: installing ${missing[*]}"
    as_root=()
    ((EUID == 0)) || as_root=(sudo)
    "${as_root[@]}" apt-get update
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        "${missing[@]}"
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DNNLITE_BUILD_FUZZERS=ON -DNNLITE_BUILD_TESTS=OFF -DNNLITE_BUILD_EXAMPLES=OFF \
    -DNNLITE_WITH_CUDA=OFF -DNNLITE_WITH_MPI=OFF -DNNLITE_WERROR=ON >/dev/null
targets=(fuzz_safetensors fuzz_vocabulary fuzz_imdb_csv fuzz_imdb_archive fuzz_imdb_config
    fuzz_imdb_http)
if [[ -n ${FUZZ_TARGETS:-} ]]; then read -r -a targets <<<"$FUZZ_TARGETS"; fi
# -O2 (RelWithDebInfo): libFuzzer's advice for sanitized targets; -O0 ran 2-9x fewer inputs.
limit=(-max_total_time="$seconds")
[[ -n ${FUZZ_RUNS:-} ]] && limit=(-runs="$FUZZ_RUNS")
cmake --build "$build" --target "${targets[@]}" --parallel "${NNLITE_JOBS:-2}"

binary_of() {
    case $1 in
        fuzz_imdb_*) echo "$build/examples/imdb/tests/fuzz/$1" ;;
        *) echo "$build/tests/fuzz/$1" ;;
    esac
}
seeds_of() {
    case $1 in
        fuzz_safetensors) echo tests/fuzz/seeds/safetensors ;;
        fuzz_vocabulary) echo tests/fuzz/seeds/vocabulary ;;
        fuzz_imdb_csv) echo examples/imdb/tests/fuzz/seeds/csv ;;
        fuzz_imdb_archive) echo examples/imdb/tests/fuzz/seeds/archive ;;
        fuzz_imdb_config) echo examples/imdb/tests/fuzz/seeds/config ;;
        fuzz_imdb_http) echo examples/imdb/tests/fuzz/seeds/http ;;
    esac
}
dict_of() {
    case $1 in
        fuzz_safetensors) echo "-dict=tests/fuzz/safetensors.dict" ;;
        fuzz_imdb_config) echo "-dict=examples/imdb/tests/fuzz/config.dict" ;;
        fuzz_imdb_http) echo "-dict=examples/imdb/tests/fuzz/http.dict" ;;
    esac
}

for t in "${targets[@]}"; do
    corpus=$corpus_root/$t
    mkdir -p "$corpus"
    log=$build/$t.log
    echo "==> $t: ${limit[*]} from $(seeds_of "$t")"
    # -rss_limit_mb: a parser that allocates what the input declares fails here.
    if ! "$(binary_of "$t")" $(dict_of "$t") "${limit[@]}" -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 "$corpus" "$(seeds_of "$t")" >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz.sh: $t FAILED (log: $log)" >&2
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
    echo "    $t: $runs executions, $cov, no crash"
done
