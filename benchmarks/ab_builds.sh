#!/usr/bin/env bash
# Compares two builds of lstm_benchmark (before and after a change) by running them
# alternately, in both orders, and printing the per-pair ratio after/before of one figure
# and its median. On a VM whose speed drifts by tens of percent between runs, only such
# paired medians say anything about a change of a few percent (docs/performance.md).
#
#   benchmarks/ab_builds.sh BEFORE AFTER PAIRS FIGURE [lstm_benchmark arguments...]
#
# BEFORE, AFTER: two lstm_benchmark binaries (copy the first aside before rebuilding).
# FIGURE: train-cpu (CPU seconds per training step), train or infer (wall seconds per
# sample, from the samples/s figure, which has more digits than s/step). Ratios below 1
# mean AFTER is faster.
# Example (the `cpu` preset's training on one core, 20 pairs):
#   cp build/bench/benchmarks/lstm_benchmark /tmp/lstm_before   # then change, rebuild
#   benchmarks/ab_builds.sh /tmp/lstm_before build/bench/benchmarks/lstm_benchmark 20 \
#       train-cpu --config cpu --lengths fixed --steps 40 --warmup 3 --threads 1 --train-only --no-sgemm
set -euo pipefail

usage() {
    echo "usage: $0 BEFORE AFTER PAIRS train-cpu|train|infer [lstm_benchmark arguments...]" >&2
    exit 2
}
[ $# -ge 4 ] || usage
before=$1 after=$2 pairs=$3 figure=$4
shift 4
for b in "$before" "$after"; do
    [ -x "$b" ] || { echo "$0: $b is not an executable lstm_benchmark" >&2; exit 2; }
done
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "$0: PAIRS must be a positive whole number, got '$pairs'" >&2; exit 2; }
unit="s/sample"
case "$figure" in
    train-cpu) unit="CPU s/step" ;;
    train | infer) ;;
    *) echo "$0: FIGURE must be train-cpu, train or infer, got '$figure'" >&2; exit 2 ;;
esac

# One run of binary $1: the figure in $unit.
measure() {
    local out value
    if ! out=$("$1" "${@:2}" 2>&1); then
        echo "$0: $1 failed:" >&2
        echo "$out" >&2
        exit 1
    fi
    case "$figure" in
        train-cpu) value=$(echo "$out" | sed -n 's/.*CPU time per step: train \([0-9.]*\) s.*/\1/p') ;;
        train) value=$(echo "$out" | awk '$1 == "train" && $5 == "samples/s" {print 1 / $4; exit}') ;;
        infer) value=$(echo "$out" | awk '$1 == "inference" && $5 == "samples/s" {print 1 / $4; exit}') ;;
    esac
    if [ -z "$value" ]; then
        echo "$0: no $figure figure in the output of $1 (train-cpu and train need training," \
            "infer inference):" >&2
        echo "$out" >&2
        exit 1
    fi
    echo "$value"
}

ratios=()
for i in $(seq 1 "$pairs"); do
    if [ $((i % 2)) -eq 1 ]; then
        a=$(measure "$after" "$@")
        b=$(measure "$before" "$@")
    else
        b=$(measure "$before" "$@")
        a=$(measure "$after" "$@")
    fi
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')
    ratios+=("$r")
    echo "pair $i: before $b $unit, after $a $unit, after/before $r"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk -v n="$pairs" '
    { v[NR] = $1; if ($1 < 1) faster++ }
    END {
        m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        printf "median after/before %.3f over %d pairs (after faster in %d; range %.3f-%.3f)\n",
               m, n, faster + 0, v[1], v[n]
    }'
