#!/usr/bin/env bash
# `mpirun -np 2 imdb_example train` on the synthetic data (the imdb_synthetic_run fixture):
#   1. same model as one process: 2 ranks and 1 process, same data, seed and global batch
#      (--batch-size 16), dropout 0, 2 epochs (28 steps): model.safetensors and the
#      checkpoint (model + Adam state) equal within 1e-5 relative;
#   2. only rank 0 prints and writes: rank 1 runs in its own empty working directory with
#      the same relative --out, which must stay empty; each line of rank 0's is printed once;
#   3. --resume under MPI: the 2-rank run resumed to 3 epochs equals 3 epochs of one process
#      (the model in the checkpoints);
#   4. faults end the job non-zero within seconds naming the rank: a configuration that
#      differs on rank 1, data that differ on rank 1, and rank 1 failing to read its data;
#   5. --skip-nonfinite: a NaN training loss on rank 1 only (the test hook
#      IMDB_TEST_NONFINITE_LOSS; its gradients stay finite) is skipped by both ranks at the
#      same steps (the loss of the global batch is all-reduced): the same model as one
#      process skipping the same steps; with a smaller N the job stops naming N.
# Called by CTest as
#   bash mpi_train.sh IMDB_EXAMPLE JSON_QUERY WORK_DIR COMPARE MPIEXEC NP_FLAG PREFLAGS
# (PREFLAGS comma-separated: NNLITE_MPIEXEC_PREFLAGS), with NNLITE_MPI_TEST_ENV set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
COMPARE=${4:?compare tool}
MPIEXEC=${5:?mpiexec}
NP=${6:?numproc flag}
IFS=, read -r -a PRE <<<"${7:-}"

[[ -d $SYNTH_DATA ]] || fail "no synthetic data in $SYNTH_DATA (the imdb_cli_synthetic_model fixture makes it)"
rm -rf "$WORK"/*
# lr 0.003: with 0.01, Adam turned the last-bit differences of 8 + 8 rows against 16 (a
# reassociated batch sum) into 3e-3 relative weight differences by epoch 2 with the AVX-512
# kernels (1e-5 after epoch 1); at 0.003 the runs agree to 2e-6 after 3 epochs.
opts=(--batch-size 16 --max-length 48 --lr 0.003 --dropout 0)
common=(--data "$SYNTH_DATA" "${opts[@]}")

# mpirun_two NAME ARGS0 -- ARGS1: one rank each (MPMD), rank 0 in $WORK/rank0, rank 1 in
# $WORK/rank1; stdout/stderr -> $WORK/NAME.{out,err}, status -> $rc, seconds -> $took.
mpirun_two() {
    local name=$1 a0=() a1=()
    shift
    while [[ $1 != -- ]]; do a0+=("$1"); shift; done
    shift
    a1=("$@")
    mkdir -p "$WORK/rank0" "$WORK/rank1"
    echo "\$ mpirun ${PRE[*]} $NP 1 -wdir rank0 imdb_example ${a0[*]} : $NP 1 -wdir rank1 imdb_example ${a1[*]}" >"$WORK/$name.cmd"
    local t0=$SECONDS
    timeout 120 "$MPIEXEC" "${PRE[@]}" "$NP" 1 -wdir "$WORK/rank0" "$IMDB" "${a0[@]}" : \
        "$NP" 1 -wdir "$WORK/rank1" "$IMDB" "${a1[@]}" >"$WORK/$name.out" 2>"$WORK/$name.err"
    rc=$?
    took=$((SECONDS - t0))
}
once() {  # once NAME PATTERN: PATTERN occurs on exactly one line of NAME.out
    local n
    n=$(grep -c -- "$2" "$WORK/$1.out")
    [[ $n -eq 1 ]] || { show "$1" >&2; fail "$1: '$2' printed $n times, expected once (rank 0 only)"; }
}

# ---- 1 + 2: 2 ranks against 1 process ------------------------------------------------------
probe=$("$MPIEXEC" "${PRE[@]}" "$NP" 1 true 2>&1) ||
    skip "mpirun cannot start a process here: $probe"
mpirun_two two train "${common[@]}" --out run --epochs 2 -- train "${common[@]}" --out run --epochs 2
((rc == 0)) || { show two >&2; fail "2-rank training: exit $rc"; }
for f in config.json vocab.txt model.safetensors checkpoint.safetensors metrics.jsonl report.html; do
    [[ -s $WORK/rank0/run/$f ]] || fail "rank 0's run directory lacks $f"
done
[[ -z $(ls -A "$WORK/rank1") ]] || fail "rank 1 wrote files: $(cd "$WORK/rank1" && find . | head)"
grep -q "^ranks: 2 (MPI)" "$WORK/two.out" || { show two >&2; fail "the run does not report 2 ranks"; }
# (a progress bar under mpirun, whose output is a terminal, shares a line with "done")
for p in "^device:" "^vocabulary:" "^model:" "epoch 1/2 done" "^epoch 2: validation" "^test accuracy"; do
    once two "$p"
done
[[ $(json_lines "$WORK/rank0/run/metrics.jsonl" /epoch | tr '\n' ' ') == "1 2 " ]] || fail "metrics.jsonl epochs"
pass "2 ranks: only rank 0 printed (each line once) and wrote the run directory (rank 1's is empty)"

expect_ok one train "${common[@]}" --out "$WORK/one" --epochs 2
for f in model.safetensors checkpoint.safetensors; do
    "$COMPARE" "$WORK/one/$f" "$WORK/rank0/run/$f" 1e-5 >"$WORK/compare_$f.txt" 2>&1 ||
        fail "2 ranks vs 1 process, $f: $(cat "$WORK/compare_$f.txt")"
    pass "2 ranks == 1 process after 2 epochs (28 steps), $f: $(cat "$WORK/compare_$f.txt")"
done
[[ $(json_lines "$WORK/one/metrics.jsonl" /train_accuracy /val_accuracy) == \
   $(json_lines "$WORK/rank0/run/metrics.jsonl" /train_accuracy /val_accuracy) ]] ||
    fail "train/validation accuracies differ between 1 process and 2 ranks"
pass "same train and validation accuracies per epoch"

# ---- 3: --resume under MPI -----------------------------------------------------------------
res=(train --resume --data "$SYNTH_DATA" --out "$WORK/rank0/run" --epochs 3)
mpirun_two resume "${res[@]}" -- "${res[@]}"
((rc == 0)) || { show resume >&2; fail "2-rank --resume: exit $rc"; }
once resume "resumed after epoch 2"
expect_ok one3 train "${common[@]}" --out "$WORK/one3" --epochs 3
"$COMPARE" "$WORK/one3/checkpoint.safetensors" "$WORK/rank0/run/checkpoint.safetensors" 1e-5 model. \
    >"$WORK/compare_resume.txt" 2>&1 || fail "2 ranks resumed to 3 epochs vs 1 process: $(cat "$WORK/compare_resume.txt")"
pass "2 ranks, 2 epochs + --resume to 3 == 3 epochs of 1 process: $(cat "$WORK/compare_resume.txt")"

# ---- 4: faults -------------------------------------------------------------------------------
expect_job_failure() {  # NAME PATTERN: non-zero within 20 s, stderr matches PATTERN (regex)
    if ((rc == 0)) || ((rc == 124)) || ((took > 20)) || ! grep -qE -- "$2" "$WORK/$1.err"; then
        show "$1" >&2
        fail "$1: exit $rc after $took s; expected non-zero within 20 s and stderr matching '$2'"
    fi
    pass "$1: exit $rc after $took s: $(grep -E -- "$2" "$WORK/$1.err" | head -n 1)"
}
mpirun_two config train "${common[@]}" --out "$WORK/bad1" -- train "${common[@]}" --out "$WORK/bad1" --seed 7
expect_job_failure config "rank [01]: check_same_across_ranks: configuration on rank 1 differs from rank 0"

other=$WORK/other_data
cp -r "$SYNTH_DATA" "$other"
echo "an extra review about a film, rather good" >"$other/train/pos/9999_8.txt"
mpirun_two data train "${common[@]}" --out "$WORK/bad2" -- train "${opts[@]}" --data "$other" --out "$WORK/bad2"
expect_job_failure data "rank [01]: check_same_across_ranks: (vocabulary|data \(encoded splits\)) on rank 1 differs from rank 0"

mpirun_two missing train "${common[@]}" --out "$WORK/bad3" -- train "${opts[@]}" --data "$WORK/nowhere" --out "$WORK/bad3"
expect_job_failure missing "^rank 1: .*nowhere"

# ---- 5: --skip-nonfinite, a NaN loss on rank 1 only ------------------------------------------
# (mpirun passes its environment to the ranks it starts on this machine)
export IMDB_TEST_NONFINITE_LOSS=1:3,2:4@1
skip_args=(train "${common[@]}" --out "$WORK/skip" --epochs 2 --skip-nonfinite 2)
mpirun_two skip "${skip_args[@]}" -- "${skip_args[@]}"
((rc == 0)) || { show skip >&2; fail "2 ranks, --skip-nonfinite 2, NaN losses on rank 1: exit $rc"; }
# rank 0's own loss was finite: it prints the warning because the decision is shared
for where in "epoch 1, step 3" "epoch 2, step 4"; do
    once skip "^warning: $where: the training loss is not finite"
done
[[ $(json_lines "$WORK/skip/metrics.jsonl" /skipped_steps | tr '\n' ' ') == "1 1 " ]] ||
    fail "2 ranks: metrics.jsonl skipped_steps $(json_lines "$WORK/skip/metrics.jsonl" /skipped_steps | tr '\n' ' ')"
IMDB_TEST_NONFINITE_LOSS=1:3,2:4 expect_ok one_skip train "${common[@]}" --out "$WORK/one_skip" --epochs 2 --skip-nonfinite 2
"$COMPARE" "$WORK/one_skip/model.safetensors" "$WORK/skip/model.safetensors" 1e-5 >"$WORK/compare_skip.txt" 2>&1 ||
    fail "2 ranks vs 1 process skipping the same steps: $(cat "$WORK/compare_skip.txt")"
pass "NaN loss on rank 1 only: both ranks skipped epoch 1 step 3 and epoch 2 step 4; same model as 1 process: $(cat "$WORK/compare_skip.txt")"
stop_args=(train "${common[@]}" --out "$WORK/skip_stop" --epochs 2 --skip-nonfinite 1)
mpirun_two skip_stop "${stop_args[@]}" -- "${stop_args[@]}"
expect_job_failure skip_stop "^rank [01]: epoch 2, step 4: the training loss is not finite .*more than --skip-nonfinite 1"
unset IMDB_TEST_NONFINITE_LOSS
echo "PASSED: $checks checks"
