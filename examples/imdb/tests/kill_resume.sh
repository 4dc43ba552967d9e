#!/usr/bin/env bash
# kill -9 at 10 points of a tiny training run (the synthetic data of synthetic_model.sh,
# 3 epochs, a checkpoint every epoch), each in a fresh folder; after each kill the folder
# must be accepted: `train --resume` when a checkpoint was completed, else a new `train`
# into the same folder. The recovered run must finish, leave no .tmp-* file, predict, and
# end with the same model.safetensors, checkpoint.safetensors and metrics (epochs and
# losses) as an uninterrupted run with the same seed, byte for byte (docs/imdb.md: resume
# reproduces the run).
#
# Kill points: three land inside an atomic write, made deterministic by the test hook
# IMDB_TEST_PAUSE_BEFORE_COMMIT (app/test_hooks.hpp: the process pauses with the temp file
# written and not yet renamed): the first checkpoint, the first model.safetensors, the
# second checkpoint. The other seven are seeded random delays, one in each seventh of the
# uninterrupted run's wall time (start-up, epochs, checkpoints, final report). ~20 s.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -d $SYNTH_DATA ]] || fail "no synthetic data in $SYNTH_DATA (the imdb_cli_synthetic_model fixture makes it)"
rm -rf "${WORK:?}"/*
opts=(--data "$SYNTH_DATA" --batch-size 16 --max-length 48 --lr 0.01 --epochs 3 --seed 7)
RANDOM=4242  # the random kill delays are the same every time

now_ms() { date +%s%3N; }

# ---- the uninterrupted reference run -----------------------------------------------------
ref=$WORK/reference
t0=$(now_ms)
expect_ok reference train "${opts[@]}" --out "$ref"
life_ms=$(($(now_ms) - t0))
metrics_of() { json_lines "$1/metrics.jsonl" /epoch /train_loss /val_loss /val_accuracy; }
ref_metrics=$(metrics_of "$ref")
[[ $(json_lines "$ref/metrics.jsonl" /epoch | tr '\n' ' ') == "1 2 3 " ]] || fail "reference run: metrics epochs"
pass "uninterrupted reference run: ${life_ms} ms"

# ---- kill, recover, compare --------------------------------------------------------------
# Only a hook kill may leave the folder for a specific path: a random kill is accepted
# whatever it left (even a finished run: then --resume just writes the report again).
leftovers() { find "$1" -maxdepth 1 -name '.*.tmp-*' -printf '%f\n'; }
kill_and_recover() {  # kill_and_recover N HOOK|"" DELAY_MS
    local n=$1 hook=$2 delay_ms=$3 dir=$WORK/run_$1 pid i what
    echo "\$ imdb_example train ${opts[*]} --out $dir   (IMDB_TEST_PAUSE_BEFORE_COMMIT=$hook)" >"$WORK/killed_$n.cmd"
    IMDB_TEST_PAUSE_BEFORE_COMMIT=$hook "$IMDB" train "${opts[@]}" --out "$dir" \
        >"$WORK/killed_$n.out" 2>"$WORK/killed_$n.err" &
    pid=$!
    if [[ -n $hook ]]; then
        for ((i = 0; i < 600; i++)); do  # up to 30 s
            grep -q "^test hook: paused before committing" "$WORK/killed_$n.out" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        grep -q "^test hook: paused before committing" "$WORK/killed_$n.out" ||
            { kill -9 "$pid" 2>/dev/null; show "killed_$n" >&2; fail "kill $n: the run never paused in the write of $hook"; }
        what="inside the atomic write of $hook"
    else
        sleep "$(awk -v ms="$delay_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
        what="after ${delay_ms} ms"
    fi
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    local killed_rc=$?
    local state
    state=$(ls -A "$dir" 2>/dev/null | tr '\n' ' ')
    if [[ -n $hook ]]; then
        ((killed_rc == 137)) || fail "kill $n: the paused run was not killed (exit $killed_rc)"
        [[ -n $(leftovers "$dir") ]] || fail "kill $n: no temp file of the interrupted write in $dir ($state)"
    fi
    ((killed_rc == 137)) || what="$what (the run had already ended, exit $killed_rc)"

    # The folder must be accepted: --resume with a completed checkpoint, else a new run.
    local first=(train --resume --data "$SYNTH_DATA" --out "$dir") second=(train "${opts[@]}" --out "$dir")
    local how=resume
    if [[ ! -e $dir/checkpoint.safetensors ]]; then
        first=(train "${opts[@]}" --out "$dir") second=(train --resume --data "$SYNTH_DATA" --out "$dir")
        how="new run"
    fi
    run "recover_$n" "${first[@]}"
    if ((rc != 0)); then
        run "other_$n" "${second[@]}"
        show "recover_$n" >&2
        show "other_$n" >&2
        fail "kill $n ($what; left: $state): the folder is refused by '$how' ($(head -n 1 "$WORK/recover_$n.err")), and the other way says: $(head -n 1 "$WORK/other_$n.err")"
    fi
    [[ -z $(leftovers "$dir") ]] || fail "kill $n: temp files left after recovery: $(leftovers "$dir")"
    run "predict_$n" predict --model "$dir" --json "a superb and brilliant film"
    ((rc == 0)) || { show "predict_$n" >&2; fail "kill $n: predict on the recovered run failed"; }
    for f in model.safetensors checkpoint.safetensors; do
        cmp -s "$ref/$f" "$dir/$f" || fail "kill $n ($what, recovered by $how): $f differs from the uninterrupted run's"
    done
    [[ $(metrics_of "$dir") == "$ref_metrics" ]] ||
        fail "kill $n ($what, recovered by $how): metrics.jsonl differs from the uninterrupted run's: $(metrics_of "$dir" | tr '\n' ' ')"
    pass "kill $n $what; left: ${state:-nothing}-> recovered by $how, same model, checkpoint and metrics"
    rm -rf "$dir"
}

n=0
for hook in checkpoint.safetensors:1 model.safetensors:1 checkpoint.safetensors:2; do
    kill_and_recover $((++n)) "$hook" 0
done
for ((k = 0; k < 7; k++)); do
    # one delay in each seventh of the reference run's life
    kill_and_recover $((++n)) "" $(((k * life_ms + RANDOM % life_ms) / 7))
done
echo "PASSED: $checks checks"
