#!/usr/bin/env bash
# train --skip-nonfinite N on the synthetic data (the imdb_synthetic_run fixture), 14 steps
# an epoch:
#   1. NaN training losses at 3 steps (the test hook IMDB_TEST_NONFINITE_LOSS, app/test_hooks.hpp;
#      the gradients stay finite, so only the loss check sees them) with --skip-nonfinite 3:
#      the run finishes; one warning line per skipped step on stdout naming epoch, step and
#      value; the epoch lines and metrics.jsonl count them per epoch;
#   2. the same with --skip-nonfinite 2: stops at the third with one error line naming N,
#      keeping the last completed epoch's model and checkpoint; `--resume --skip-nonfinite 3`
#      then finishes with the same model and checkpoint as run 1, byte for byte (the count
#      of skipped steps is in the checkpoint);
#   3. without the option, the first NaN loss stops the run (the default, N = 0);
#   4. a learning rate that overflows the weights (1e30): with a large N every later step is
#      skipped and warned, and the run stops at the non-finite validation loss with nothing
#      saved; with a small N it stops at the (N+1)-th non-finite step, naming N.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -d $SYNTH_DATA ]] || fail "no synthetic data in $SYNTH_DATA (the imdb_cli_synthetic_model fixture makes it)"
rm -rf "${WORK:?}"/*
opts=(--data "$SYNTH_DATA" --batch-size 16 --max-length 48 --lr 0.01 --epochs 3)
export IMDB_TEST_NONFINITE_LOSS=1:3,1:9,2:4

# ---- 1: three NaN losses, N = 3 ---------------------------------------------------------
expect_ok skip3 train "${opts[@]}" --out "$WORK/skip3" --skip-nonfinite 3
[[ -s $WORK/skip3.err ]] && { show skip3 >&2; fail "a run that skipped steps wrote to stderr"; }
warnings=$(grep -c "^warning: epoch [0-9]*, step [0-9]*: the training loss is not finite (.*nan); step skipped, no update" "$WORK/skip3.out")
[[ $warnings == 3 ]] || { show skip3 >&2; fail "$warnings skip warnings, expected 3"; }
for where in "epoch 1, step 3:" "epoch 1, step 9:" "epoch 2, step 4:"; do
    grep -q "^warning: $where .*(.* of at most 3 in this run" "$WORK/skip3.out" || fail "no warning for $where"
done
for e in "1: .*non-finite steps skipped: 2 (2 of at most 3 in the run)" \
    "2: .*non-finite steps skipped: 1 (3 of at most 3 in the run)" \
    "3: .*non-finite steps skipped: 0 (3 of at most 3 in the run)"; do
    grep -q "^epoch $e" "$WORK/skip3.out" || { show skip3 >&2; fail "no epoch line 'epoch $e'"; }
done
[[ $(json_lines "$WORK/skip3/metrics.jsonl" /skipped_steps | tr '\n' ' ') == "2 1 0 " ]] ||
    fail "metrics.jsonl skipped_steps: $(json_lines "$WORK/skip3/metrics.jsonl" /skipped_steps | tr '\n' ' ')"
[[ $(json "$WORK/skip3/config.json" /skip_nonfinite) == 3 ]] || fail "config.json does not record skip_nonfinite 3"
grep -q null "$WORK/skip3/metrics.jsonl" && fail "metrics.jsonl holds null"
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$WORK/skip3.out")
is_true 'a >= 90' a="$acc" || fail "test accuracy $acc% after skipping 3 steps"
pass "--skip-nonfinite 3 with 3 NaN losses: finished (test accuracy $acc%), 3 warnings, epochs 2/1/0 skipped in the log and metrics.jsonl"

# ---- 2: N = 2 stops at the third; resume with N = 3 finishes as run 1 ---------------------
expect_error skip2 "epoch 2, step 4: the training loss is not finite" \
    train "${opts[@]}" --out "$WORK/skip2" --skip-nonfinite 2
grep -qF "3 non-finite steps in this run, more than --skip-nonfinite 2; training stopped" "$WORK/skip2.err" ||
    fail "the error does not name the limit: $(cat "$WORK/skip2.err")"
[[ $(grep -c "^warning: " "$WORK/skip2.out") == 2 ]] || fail "expected 2 warnings before the stop"
[[ $(json_lines "$WORK/skip2/metrics.jsonl" /epoch | tr '\n' ' ') == "1 " ]] || fail "metrics.jsonl should hold epoch 1 only"
"$IMDB" predict --model "$WORK/skip2" "a superb film" >/dev/null 2>&1 || fail "the stopped run's model (epoch 1) does not predict"
grep -q null "$WORK/skip2/config.json" && fail "config.json holds null"
pass "--skip-nonfinite 2: stopped at the third non-finite step naming the limit; epoch 1's model and checkpoint kept"
expect_ok skip2_resume train --resume --data "$SYNTH_DATA" --out "$WORK/skip2" --skip-nonfinite 3
grep -q "^warning: epoch 2, step 4: .*(3 of at most 3 in this run" "$WORK/skip2_resume.out" ||
    { show skip2_resume >&2; fail "the resumed run does not count on from the checkpoint's 2 skipped steps"; }
for f in model.safetensors checkpoint.safetensors config.json; do
    cmp -s "$WORK/skip3/$f" "$WORK/skip2/$f" || fail "stopped at N = 2 + resumed with N = 3: $f differs from run 1's"
done
[[ $(json_lines "$WORK/skip2/metrics.jsonl" /train_loss /val_loss /skipped_steps) == \
   $(json_lines "$WORK/skip3/metrics.jsonl" /train_loss /val_loss /skipped_steps) ]] || fail "resumed metrics differ from run 1's"
pass "--resume --skip-nonfinite 3 continues the stopped run: same model, checkpoint and metrics as run 1"

# ---- 3: the default stops at the first ------------------------------------------------------
expect_error skip0 "epoch 1, step 3: the training loss is not finite" train "${opts[@]}" --out "$WORK/skip0"
grep -qF -- "--skip-nonfinite N to skip up to N such steps" "$WORK/skip0.err" || fail "the error does not mention --skip-nonfinite"
[[ -e $WORK/skip0/model.safetensors || -e $WORK/skip0/checkpoint.safetensors ]] && fail "the stopped run saved weights"
pass "without --skip-nonfinite the first NaN loss stops the run"
unset IMDB_TEST_NONFINITE_LOSS

# ---- 4: a learning rate that overflows --------------------------------------------------------
diverge=(--data "$SYNTH_DATA" --batch-size 16 --max-length 48 --lr 1e30 --epochs 2)
RUN_TIMEOUT=60 expect_error diverge_many "epoch 1: the validation loss is not finite" \
    train "${diverge[@]}" --out "$WORK/diverge_many" --skip-nonfinite 1000
n=$(grep -c "^warning: epoch 1, step [0-9]*: the .* is not finite" "$WORK/diverge_many.out")
((n >= 2)) || fail "$n skip warnings for a diverged run, expected every step after the first"
[[ -e $WORK/diverge_many/model.safetensors || -e $WORK/diverge_many/checkpoint.safetensors ]] &&
    fail "a diverged run saved weights"
grep -q null "$WORK/diverge_many/config.json" && fail "config.json holds null"
pass "lr 1e30, --skip-nonfinite 1000: $n steps skipped and warned, then stopped at the validation loss; nothing saved"
RUN_TIMEOUT=60 expect_error diverge_few "more than --skip-nonfinite 2" \
    train "${diverge[@]}" --out "$WORK/diverge_few" --skip-nonfinite 2
grep -Eq "^error: epoch 1, step [0-9]+: the (training loss|gradient norm) is not finite" "$WORK/diverge_few.err" ||
    fail "the error does not name epoch and step"
echo "PASSED: $checks checks"
