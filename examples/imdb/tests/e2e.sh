#!/usr/bin/env bash
# End to end on the REAL IMDB data ($NNLITE_IMDB_DATA; skipped when absent): train one epoch
# on a stratified slice, resume to two, check the run directory, predict (plain, --json,
# --explain, stdin, relative --model path) and evaluate. ~40 s on 2 cores.
#
# The slice and settings (4,000 train reviews, 160 tokens, lr 4e-3, seed 42, 2 threads)
# reach 75% test accuracy on 1,000 test reviews (74-78% val); the bound below is 0.65.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

data=$(real_data)
[[ -n $data ]] || skip "no IMDB data (set NNLITE_IMDB_DATA to aclImdb_v1.tar.gz or the aclImdb folder)"
[[ ${IMDB_SANITIZED:-0} == 1 ]] && skip "sanitizer build: the real-data run is the release build's (the synthetic test covers the same code here)"

run_dir=$WORK/run
rm -rf "$run_dir"
min_accuracy=0.65

# ---- train 1 epoch, then resume to 2 ------------------------------------------------
expect_ok train train --data "$data" --out "$run_dir" --limit-train 4000 --limit-test 1000 \
    --max-length 160 --lr 0.004 --epochs 1 --seed 42
for f in config.json vocab.txt model.safetensors checkpoint.safetensors metrics.jsonl report.html; do
    [[ -s $run_dir/$f ]] || fail "run directory lacks $f"
done
[[ $(wc -l <"$run_dir/metrics.jsonl") -eq 1 ]] || fail "metrics.jsonl should have 1 line after 1 epoch"
epoch1=$(head -n 1 "$run_dir/metrics.jsonl")
pass "train 1 epoch: run directory complete"

expect_ok resume train --resume --data "$data" --out "$run_dir" --epochs 2
grep -q "^resumed after epoch 1" "$WORK/resume.out" || fail "the log does not say 'resumed after epoch 1'"
[[ $(wc -l <"$run_dir/metrics.jsonl") -eq 2 ]] || fail "metrics.jsonl should have 2 lines after resuming to 2 epochs"
[[ $(head -n 1 "$run_dir/metrics.jsonl") == "$epoch1" ]] || fail "resume rewrote epoch 1's metrics line"
[[ $(json_lines "$run_dir/metrics.jsonl" /epoch | tr '\n' ' ') == "1 2 " ]] || fail "metrics epochs are not 1 2"
json_lines "$run_dir/metrics.jsonl" /train_loss /train_accuracy /val_loss /val_accuracy /learning_rate /seconds >/dev/null
[[ $(json "$run_dir/config.json" /epochs) == 2 ]] || fail "config.json does not record the 2 epochs"
accuracy=$(sed -n 's/^test accuracy: \([0-9.]*\)%.*/\1/p' "$WORK/resume.out")
[[ -n $accuracy ]] || fail "no 'test accuracy: N%' line in the output"
is_true 'a / 100 >= m' a="$accuracy" m=$min_accuracy || fail "test accuracy $accuracy% < $min_accuracy"
pass "resume to 2 epochs: metrics has 2 lines, test accuracy $accuracy% >= $min_accuracy"

# ---- report.html is one self-contained file --------------------------------------------
report=$run_dir/report.html
grep -q '<svg' "$report" || fail "report.html has no inline SVG"
if grep -Eq '<script|<link|src="https?:|url\(https?:|@import' "$report"; then
    fail "report.html loads something from elsewhere or runs scripts"
fi
grep -q "$accuracy" "$report" || grep -q "${accuracy%?}" "$report" || fail "report.html does not show the test accuracy $accuracy"
pass "report.html: self-contained ($(wc -c <"$report") bytes, inline SVG, no scripts or links)"

# ---- predict --------------------------------------------------------------------------
good="One of the best films I have ever seen. Brilliant acting, a wonderful story and a beautiful score. I loved every minute and will watch it again."
bad="The worst movie I have ever seen. Awful acting, a boring and stupid plot, terrible dialogue. A complete waste of time and money."
expect_ok predict_json predict --model "$run_dir" --json "$good" "$bad"
[[ $(wc -l <"$WORK/predict_json.out") -eq 2 ]] || fail "predict --json should print one line per review"
json_lines "$WORK/predict_json.out" /text /label /probability_positive >"$WORK/predict_json.tsv"
IFS=$'\t' read -r _ label_good p_good < <(sed -n 1p "$WORK/predict_json.tsv")
IFS=$'\t' read -r _ label_bad p_bad < <(sed -n 2p "$WORK/predict_json.tsv")
is_true 'p >= 0 && p <= 1 && q >= 0 && q <= 1' p="$p_good" q="$p_bad" || fail "probabilities outside [0,1]: $p_good $p_bad"
[[ $label_good == positive && $label_bad == negative ]] ||
    fail "clear reviews misclassified: $label_good ($p_good), $label_bad ($p_bad)"
is_true 'p > 0.5 && q < 0.5' p="$p_good" q="$p_bad" || fail "labels disagree with probabilities"
pass "predict --json: positive $p_good, negative $p_bad"

expect_ok predict_plain predict --model "$run_dir" "$good"
grep -Eq '^positive  0\.[0-9]{3}  One of the best' "$WORK/predict_plain.out" || fail "plain predict output: $(cat "$WORK/predict_plain.out")"
pass "predict (plain): $(cut -c1-40 "$WORK/predict_plain.out")"

printf '%s\n\n%s\n' "$good" "$bad" >"$WORK/reviews.txt"
"$IMDB" predict --model "$run_dir" --json --file - <"$WORK/reviews.txt" >"$WORK/stdin.out" 2>"$WORK/stdin.err" ||
    fail "predict --file - failed: $(cat "$WORK/stdin.err")"
[[ $(wc -l <"$WORK/stdin.out") -eq 3 ]] && sed -n 2p "$WORK/stdin.out" | grep -q '"error":"empty line"' ||
    fail "predict --file - does not answer the blank line in place"
grep -v '"error"' "$WORK/stdin.out" >"$WORK/stdin.kept"
[[ $(json_lines "$WORK/stdin.kept" /probability_positive | tr '\n' ' ') == "$p_good $p_bad " ]] ||
    fail "predict from stdin gives other probabilities than from arguments"
pass "predict --file - (blank line answered in place): same probabilities as the arguments"

# ---- --explain: tokens with contributions -----------------------------------------------
expect_ok explain predict --model "$run_dir" --json --explain "$bad"
n_tokens=$(json "$WORK/explain.out" '/tokens#')
# lowercased, "." and "," dropped (only ! and ? are tokens): "the worst movie i have ever ..."
[[ $(json "$WORK/explain.out" /tokens/0/token /tokens/1/token) == $'the\tworst' ]] || fail "first tokens: $(json "$WORK/explain.out" /tokens/0/token /tokens/1/token)"
[[ $n_tokens == 23 ]] || fail "$n_tokens tokens explained for a 23-word review"
close "$(json "$WORK/explain.out" /probability_positive)" "$p_bad" || fail "--explain probability differs from predict's $p_bad"
for ((k = 0; k < n_tokens; k++)); do json "$WORK/explain.out" "/tokens/$k/token" "/tokens/$k/contribution"; done >"$WORK/explain.tsv"
awk -F'\t' '$2 !~ /^-?[0-9.]+(e-?[0-9]+)?$/ { exit 1 }' "$WORK/explain.tsv" || fail "a contribution is not a finite number"
# gradient x input: the clearly negative words push towards negative on the whole.
sum_neg=$(awk -F'\t' '$1 ~ /^(worst|awful|boring|stupid|terrible|waste)$/ { s += $2 } END { print s + 0 }' "$WORK/explain.tsv")
is_true 's < 0' s="$sum_neg" || fail "negative words contribute $sum_neg (expected < 0)"
pass "predict --explain --json: $n_tokens tokens, same probability, negative words sum to $sum_neg"

expect_ok explain_plain predict --model "$run_dir" --explain "$bad"
grep -q '^  towards negative: ' "$WORK/explain_plain.out" || fail "plain --explain prints no 'towards negative' line"
grep -q $'\033\[' "$WORK/explain_plain.out" && fail "colour codes written to a pipe"
pass "predict --explain (plain, no colour on a pipe)"

# ---- a relative --model path, from another working directory ------------------------------
(cd "$WORK" && "$IMDB" predict --model run --json "$good") >"$WORK/relative.out" 2>&1 ||
    fail "relative --model run: $(cat "$WORK/relative.out")"
[[ $(json "$WORK/relative.out" /probability_positive) == "$p_good" ]] || fail "relative path gives another result"
pass "predict --model with a relative path"

# ---- evaluate ---------------------------------------------------------------------------
expect_ok evaluate evaluate --model "$run_dir" --data "$data" --limit-test 500
eval_acc=$(sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p' "$WORK/evaluate.out")
is_true 'a / 100 >= m' a="$eval_acc" m=$min_accuracy || fail "evaluate accuracy $eval_acc% < $min_accuracy"
for what in "ROC AUC" "precision" "confusion matrix" "most confident false positives"; do
    grep -q "$what" "$WORK/evaluate.out" || fail "evaluate prints no '$what'"
done
[[ $(grep -Eo 'test [0-9]+ reviews' "$WORK/evaluate.out") == "test 500 reviews" ]] || fail "evaluate did not use 500 reviews"
[[ -s $run_dir/evaluation.html ]] || fail "evaluate wrote no evaluation.html"
pass "evaluate --limit-test 500: accuracy $eval_acc%"
# The same 1,000 test reviews as training's final report give the same accuracy.
expect_ok evaluate_same evaluate --model "$run_dir" --data "$data" --limit-test 1000 --report "$WORK/eval1000.html"
[[ $(sed -n 's/^accuracy \([0-9.]*\)%.*/\1/p' "$WORK/evaluate_same.out") == "$accuracy" ]] ||
    fail "evaluate on train's 1000 test reviews: $(grep '^accuracy' "$WORK/evaluate_same.out"), train said $accuracy%"
[[ -s $WORK/eval1000.html ]] || fail "--report path not written"
pass "evaluate --limit-test 1000 reproduces train's test accuracy $accuracy%"
echo "PASSED: $checks checks"
