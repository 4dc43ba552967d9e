#!/usr/bin/env bash
# The README's main command: builds nnlite and the IMDB showcase (release preset), then
# trains the default preset on IMDB end-to-end: validation-based model selection, test
# accuracy, and an HTML report in the run directory it prints.
#
#   bash scripts/imdb.sh                          # default preset (cpu), full data
#   bash scripts/imdb.sh --preset seed            # any imdb_example train option passes through
#   bash scripts/imdb.sh --limit-train 3000 --epochs 1   # a quick look
#
# Data: --data PATH, else where `imdb_example data-path` finds it (the one search order,
# documented in docs/imdb.md: $NNLITE_IMDB_DATA, data/imdb/, ../shared/data/imdb), else
# it is downloaded into data/imdb/ (scripts/download_imdb.sh).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/install-deps.sh
build=${NNLITE_BUILD_ROOT:-$repo/build}/release
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" --target imdb_example --parallel "${NNLITE_JOBS:-2}"

args=("$@")
have_data=0
preset=cpu
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --data | --data=*) have_data=1 ;;
        --preset) preset=${args[i + 1]:-cpu} ;;
        --preset=*) preset=${args[i]#--preset=} ;;
    esac
done
if [ "$have_data" = 0 ]; then
    data=$("$build/examples/imdb/imdb_example" data-path || true)
    if [ -z "$data" ]; then
        echo "imdb.sh: no IMDB data found; downloading the original archive into data/imdb/"
        bash scripts/download_imdb.sh "$repo/data/imdb"
        data="$repo/data/imdb/aclImdb_v1.tar.gz"
    fi
    args+=(--data "$data")
fi
out="runs/$preset-$(date +%Y%m%d-%H%M%S)"
case " ${args[*]} " in *" --out "*) ;; *) args+=(--out "$out") ;; esac
exec "$build/examples/imdb/imdb_example" train "${args[@]}"
