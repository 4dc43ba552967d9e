#!/usr/bin/env bash
# CTest fixture + test: writes a small synthetic IMDB tree (aclImdb/{train,test}/{pos,neg},
# reviews made of neutral words plus a few clearly positive or negative ones), then runs the
# whole program on it: train 1 epoch, resume to 3, predict, evaluate. The trained run is the
# model the bad-input, serve and browser tests use, so they need no real data (CI may have
# none) and run under the sanitizers too. Takes a few seconds.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

root=$(dirname "$SYNTH_DATA")
rm -rf "$root"
mkdir -p "$root"

positive=(great wonderful superb excellent loved brilliant moving beautiful masterpiece delightful)
negative=(awful terrible boring waste worst dull horrible stupid mess disappointing)
neutral=(the film movie story actor plot scene director camera music character ending cast script
    and it was a this with of in to saw watched)
RANDOM=2024  # bash's generator, seeded: the same tree every time

review() {  # review CLASS_WORDS...: 14 neutral words with the class words mixed in
    local words=() i w
    for ((i = 0; i < 14; i++)); do words+=("${neutral[RANDOM % ${#neutral[@]}]}"); done
    for w in "$@"; do
        i=$((RANDOM % 14))
        words[i]="${words[i]} $w"
    done
    echo "${words[*]}. <br /><br />I'd say it's worth a look? Really!"
}
make_split() {  # make_split SPLIT COUNT_PER_CLASS
    local split=$1 n=$2 i
    mkdir -p "$SYNTH_DATA/$split/pos" "$SYNTH_DATA/$split/neg"
    for ((i = 0; i < n; i++)); do
        review "${positive[RANDOM % 10]}" "${positive[RANDOM % 10]}" "${positive[RANDOM % 10]}" \
            >"$SYNTH_DATA/$split/pos/${i}_$((7 + RANDOM % 4)).txt"
        review "${negative[RANDOM % 10]}" "${negative[RANDOM % 10]}" "${negative[RANDOM % 10]}" \
            >"$SYNTH_DATA/$split/neg/${i}_$((1 + RANDOM % 4)).txt"
    done
}
make_split train 120
make_split test 50
pass "synthetic data: $(find "$SYNTH_DATA" -name '*.txt' | wc -l) reviews in $SYNTH_DATA"

common=(--data "$SYNTH_DATA" --out "$SYNTH_RUN" --batch-size 16 --max-length 48 --lr 0.01)
expect_ok train1 train "${common[@]}" --epochs 1
for f in config.json vocab.txt model.safetensors checkpoint.safetensors metrics.jsonl report.html; do
    [[ -s $SYNTH_RUN/$f ]] || fail "run directory lacks $f"
done
[[ $(wc -l <"$SYNTH_RUN/metrics.jsonl") -eq 1 ]] || fail "metrics.jsonl should have 1 line after 1 epoch"
pass "train 1 epoch: run directory complete"

expect_ok resume train --resume --data "$SYNTH_DATA" --out "$SYNTH_RUN" --epochs 3
grep -q "resumed after epoch 1" "$WORK/resume.out" || fail "resume log does not say 'resumed after epoch 1'"
[[ $(json_lines "$SYNTH_RUN/metrics.jsonl" /epoch | tr '\n' ' ') == "1 2 3 " ]] ||
    fail "metrics.jsonl epochs: $(json_lines "$SYNTH_RUN/metrics.jsonl" /epoch | tr '\n' ' ')"
[[ $(json "$SYNTH_RUN/config.json" /epochs) == 3 ]] || fail "config.json does not record epochs 3"
acc=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$WORK/resume.out")
is_true 'a >= 95' a="$acc" || fail "synthetic test accuracy $acc% < 95%"
pass "resume to 3 epochs: metrics epochs 1 2 3, test accuracy $acc%"

# Resuming restores the optimizer, scheduler and both random streams exactly: 1 + 2 epochs
# give bit-identical weights to 3 epochs in one go.
straight=$root/straight
expect_ok straight train --data "$SYNTH_DATA" --out "$straight" --batch-size 16 --max-length 48 --lr 0.01 --epochs 3
cmp -s "$straight/model.safetensors" "$SYNTH_RUN/model.safetensors" || fail "resumed run's weights differ from an uninterrupted run's"
cmp -s "$straight/checkpoint.safetensors" "$SYNTH_RUN/checkpoint.safetensors" || fail "resumed run's checkpoint differs from an uninterrupted run's"
[[ $(json_lines "$straight/metrics.jsonl" /train_loss /val_loss) == $(json_lines "$SYNTH_RUN/metrics.jsonl" /train_loss /val_loss) ]] ||
    fail "resumed run's losses differ from an uninterrupted run's"
pass "1 epoch + resume to 3 == 3 epochs at once (weights, checkpoint and losses bit-identical)"

expect_ok predict predict --model "$SYNTH_RUN" --json "a superb and brilliant film, I loved it" \
    "a boring, awful waste of time"
labels=$(json_lines "$WORK/predict.out" /label | tr '\n' ' ')
[[ $labels == "positive negative " ]] || fail "predicted labels: $labels"
pass "predict: $labels"

expect_ok evaluate evaluate --model "$SYNTH_RUN" --data "$SYNTH_DATA"
grep -q "^accuracy" "$WORK/evaluate.out" || fail "evaluate prints no accuracy line"
[[ -s $SYNTH_RUN/evaluation.html ]] || fail "evaluate wrote no evaluation.html"
pass "evaluate: $(grep '^accuracy' "$WORK/evaluate.out")"
# The shipped model, once it exists, works with the relative path the README uses.
repo=$(cd "$TESTS_DIR/../../.." && pwd)
if [[ -s $repo/examples/imdb/pretrained/model.safetensors ]]; then
    (cd "$repo" && "$IMDB" predict --model examples/imdb/pretrained --json \
        "One of the best films I have ever seen, brilliant acting and a wonderful story.") \
        >"$WORK/pretrained.out" 2>&1 || fail "predict --model examples/imdb/pretrained: $(cat "$WORK/pretrained.out")"
    [[ $(json "$WORK/pretrained.out" /label) == positive ]] || fail "the pretrained model calls a glowing review negative"
    pass "predict --model examples/imdb/pretrained (relative, from the repository root)"
else
    echo "note: examples/imdb/pretrained has no model yet; its check is left out"
fi
echo "PASSED: $checks checks"
