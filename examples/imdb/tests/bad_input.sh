#!/usr/bin/env bash
# Bad input: every case must end with exactly one `error: ...` line on stderr naming the
# file and the problem, a non-zero exit, and nothing already saved changed or lost.
# Uses the synthetic run from synthetic_model.sh (the CTest fixture).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -s $SYNTH_RUN/model.safetensors ]] || fail "no synthetic model at $SYNTH_RUN (run the imdb_cli_synthetic test first)"
rm -rf "$WORK/cases"
mkdir -p "$WORK/cases"
cases=$WORK/cases
model=$SYNTH_RUN
before=$(checksums "$model")

# ---- data paths --------------------------------------------------------------------------
expect_error data_missing "$cases/nowhere.tar.gz does not exist" \
    train --data "$cases/nowhere.tar.gz" --out "$cases/run_a" --epochs 1
[[ -e $cases/run_a ]] && fail "a failed train left a run directory behind"
echo "just some text, not reviews" >"$cases/notes.txt"
expect_error data_not_imdb "not an IMDB data source" train --data "$cases/notes.txt" --out "$cases/run_b"
grep -qF "$cases/notes.txt" "$WORK/data_not_imdb.err" || fail "the error does not name the file"
mkdir -p "$cases/wrong_tree/movies" && echo "a review" >"$cases/wrong_tree/movies/1_7.txt"
tar -czf "$cases/wrong.tar.gz" -C "$cases/wrong_tree" movies
expect_error data_archive_layout "no reviews under train/neg/" train --data "$cases/wrong.tar.gz" --out "$cases/run_c"
grep -qF "wrong.tar.gz" "$WORK/data_archive_layout.err" || fail "the error does not name the archive"
expect_error data_folder_layout "aclImdb" train --data "$cases/wrong_tree" --out "$cases/run_d"
printf 'review,sentiment\n"great film",positive\n"awful",maybe\n' >"$cases/bad_label.csv"
expect_error data_csv_label "bad_label.csv:3" train --data "$cases/bad_label.csv" --out "$cases/run_e"
expect_error evaluate_data_missing "$cases/nowhere does not exist" \
    evaluate --model "$model" --data "$cases/nowhere"

# ---- predict texts -------------------------------------------------------------------------
expect_error predict_empty "text 1 is empty" predict --model "$model" ""
expect_error predict_blank "text 2 is empty" predict --model "$model" "fine film" "   "
expect_error predict_none "no text given" predict --model "$model"
: >"$cases/empty.txt"
expect_error predict_empty_file "no text given" predict --model "$model" --file "$cases/empty.txt"
# A blank line of --file gets its own output line: output line N answers input line N.
printf 'a great film\n\n   \nawful\n' >"$cases/with_blanks.txt"
run predict_blank_lines predict --model "$model" --file "$cases/with_blanks.txt"
((rc == 0)) || { show predict_blank_lines >&2; fail "predict --file with blank lines failed"; }
[[ $(wc -l <"$WORK/predict_blank_lines.out") -eq 4 ]] || fail "predict --file: 4 input lines, not 4 output lines"
sed -n 2p "$WORK/predict_blank_lines.out" | grep -q "line 2 is empty" || fail "the blank line 2 is not answered in place"
sed -n 3p "$WORK/predict_blank_lines.out" | grep -q "line 3 is empty" || fail "the blank line 3 is not answered in place"
sed -n 4p "$WORK/predict_blank_lines.out" | grep -q "awful" || fail "line 4 does not answer input line 4"
run predict_blank_json predict --model "$model" --json --file "$cases/with_blanks.txt"
[[ $(wc -l <"$WORK/predict_blank_json.out") -eq 4 ]] && sed -n 2p "$WORK/predict_blank_json.out" | grep -q '"error":"empty line"' ||
    fail "predict --json --file does not answer a blank line in place"
pass "predict --file keeps output lines aligned with input lines (blank lines answered)"
printf '\n  \n' >"$cases/only_blank.txt"
expect_error predict_only_blank "no text given" predict --model "$model" --file "$cases/only_blank.txt"
expect_error predict_missing_file "$cases/absent.txt" predict --model "$model" --file "$cases/absent.txt"

# ---- model directories ---------------------------------------------------------------------
expect_error model_missing_dir "'$cases/no_model' does not exist" predict --model "$cases/no_model" "good"
copy_model() {  # copy_model NAME: a fresh copy of the synthetic run
    rm -rf "${cases:?}/$1"
    cp -r "$model" "$cases/$1"
}
copy_model no_weights && rm "$cases/no_weights/model.safetensors"
expect_error model_no_weights "has no model.safetensors" predict --model "$cases/no_weights" "good"
copy_model no_vocab && rm "$cases/no_vocab/vocab.txt"
expect_error model_no_vocab "has no vocab.txt" predict --model "$cases/no_vocab" "good"
copy_model bad_json && echo '{"preset": "cpu", ' >"$cases/bad_json/config.json"
expect_error model_config_json "bad_json/config.json: invalid JSON" predict --model "$cases/bad_json" "good"
copy_model bad_key && sed -i 's/"hidden_size"/"hidden_sise"/' "$cases/bad_key/config.json"
expect_error model_config_key "unknown key 'hidden_sise'" predict --model "$cases/bad_key" "good"
copy_model bad_type && sed -i 's/"hidden_size": [0-9]*/"hidden_size": "big"/' "$cases/bad_type/config.json"
expect_error model_config_type "key 'hidden_size' has the wrong type" predict --model "$cases/bad_type" "good"
copy_model bad_value && sed -i 's/"dropout": [0-9.]*/"dropout": 1.5/' "$cases/bad_value/config.json"
expect_error model_config_value "bad_value/config.json: dropout probabilities must be in [0, 1)" predict --model "$cases/bad_value" "good"
copy_model bad_enum && sed -i 's/"optimizer": "[a-z]*"/"optimizer": "sgd"/' "$cases/bad_enum/config.json"
expect_error model_config_enum "key 'optimizer': optimizer must be adam or adamw, got 'sgd'" predict --model "$cases/bad_enum" "good"
copy_model bad_pooling && sed -i 's/"pooling": "[a-z+]*"/"pooling": "last+avg"/' "$cases/bad_pooling/config.json"
expect_error model_config_pooling "key 'pooling': pooling: unknown part 'avg'" predict --model "$cases/bad_pooling" "good"
copy_model bad_compute && sed -i 's/"compute": "[a-z0-9]*"/"compute": "fp8"/' "$cases/bad_compute/config.json"
expect_error model_config_compute "key 'compute': compute type must be fp32, bf16 or fp16, got 'fp8'" predict --model "$cases/bad_compute" "good"
# A run trained with --compute bf16 (fp16) predicts everywhere: in bf16 (fp16) on a CPU with
# AVX512-BF16 (AVX512-FP16), elsewhere in fp32 after one note on stderr.
for ct in bf16 fp16; do
    flag=avx512_$ct feature=AVX512-${ct^^}
    copy_model ${ct}_run && sed -i "s/\"compute\": \"[a-z0-9]*\"/\"compute\": \"$ct\"/" "$cases/${ct}_run/config.json"
    run ${ct}_predict predict --model "$cases/${ct}_run" "a great film"
    ((rc == 0)) || { show ${ct}_predict >&2; fail "predict on a $ct run failed"; }
    if grep -qw $flag /proc/cpuinfo; then
        grep -q "^note:" "$WORK/${ct}_predict.err" && fail "a $ct run fell back to fp32 on an $feature CPU"
        pass "a $ct run predicts in $ct on this $feature CPU"
    else
        grep -q "^note: .*running it in fp32" "$WORK/${ct}_predict.err" || fail "no fp32 fallback note ($ct)"
        pass "a $ct run predicts in fp32 on this CPU without $feature, with a note"
        expect_error train_${ct}_cpu "--compute $ct: compute type $ct needs a CPU with $feature" \
            train --compute $ct --data "$SYNTH_DATA" --out "$cases/run_$ct"
        [[ -e $cases/run_$ct ]] && fail "train --compute $ct on a CPU without it created its run directory"
    fi
done
run bad_compute_flag train --compute fp8 --data "$SYNTH_DATA" --out "$cases/run_fp8"
((rc != 0)) && grep -q "fp8" "$WORK/bad_compute_flag.err" || fail "unknown --compute accepted or not named"
[[ -e $cases/run_fp8 ]] && fail "train --compute fp8 created its run directory"
pass "unknown --compute rejected: $(head -n 1 "$WORK/bad_compute_flag.err")"
# Weights from another preset: the config says the seed preset's shapes.
copy_model other_preset
for kv in "embedding_dim 128" "hidden_size 256" "num_layers 2" "pooling \"last\""; do
    set -- $kv
    sed -i "s/\"$1\": [^,]*,/\"$1\": $2,/" "$cases/other_preset/config.json"
done
expect_error model_other_preset "model.safetensors does not match" predict --model "$cases/other_preset" "good"
grep -Eq "has shape|missing key" "$WORK/model_other_preset.err" || fail "the mismatch error does not say which tensor differs"
# A vocabulary of another size than the embedding.
copy_model other_vocab
{ echo "nnlite-vocab 1 4"; printf '<pad>\t0\n<unk>\t0\ngood\t5\nbad\t4\n'; } >"$cases/other_vocab/vocab.txt"
expect_error model_other_vocab "embedding.weight" predict --model "$cases/other_vocab" "good"
# Sizes from config.json are checked before anything is allocated: a bound, or the shapes in
# model.safetensors' header; each fails within seconds (RUN_TIMEOUT kills a run that allocates).
config_case() {  # config_case NAME KEY VALUE PATTERN
    copy_model "$1"
    sed -i "s/\"$2\": [^,]*,/\"$2\": $3,/" "$cases/$1/config.json"
    grep -qF "\"$2\": $3," "$cases/$1/config.json" || fail "$1: could not set $2"
    RUN_TIMEOUT=10 expect_error "$1" "$4" predict --model "$cases/$1" "good"
}
config_case big_hidden hidden_size 10000 "'lstm.weight_ih_l0' has shape"
config_case huge_hidden hidden_size 1000000 "hidden_size must be at most 65536, got 1000000"
config_case many_layers num_layers 1000000 "num_layers must be at most 64, got 1000000"
config_case big_embedding embedding_dim 65536 "'embedding.weight' has shape"
config_case huge_vocab max_vocab 100000000 "max_vocab must be at most 10000000"
config_case huge_length max_length 10000000 "max_length must be at most 1000000"
config_case negative_layers num_layers -1 "key 'num_layers': must be a non-negative integer, got -1"
config_case negative_hidden hidden_size -64 "key 'hidden_size': must be a non-negative integer"
config_case fraction_layers num_layers 1.5 "key 'num_layers': must be a non-negative integer, got 1.5"
config_case null_lr lr null "key 'lr'"
config_case zero_hidden hidden_size 0 "at least 1"
config_case overflow_length max_length 1e400 "config.json: invalid JSON"
config_case negative_min_frequency min_frequency -3 "min_frequency must be at least 1, got -3"
config_case wrapping_min_frequency min_frequency 9223372036854775808 \
    "key 'min_frequency': must be an integer from -9223372036854775808 to 9223372036854775807"
config_case negative_skip skip_nonfinite -1 "skip_nonfinite must be >= 0, got -1"
copy_model truncated && head -c 300 "$model/model.safetensors" >"$cases/truncated/model.safetensors"
expect_error model_truncated "truncated/model.safetensors" predict --model "$cases/truncated" "good"
grep -q "does not match" "$WORK/model_truncated.err" && fail "a corrupt file is reported as a config mismatch"
copy_model not_safetensors && echo "hello" >"$cases/not_safetensors/model.safetensors"
expect_error model_garbage "not_safetensors/model.safetensors" predict --model "$cases/not_safetensors" "good"
copy_model bad_vocab && sed -i '1s/.*/nnlite-vocab 1 99999/' "$cases/bad_vocab/vocab.txt"
expect_error model_bad_vocab "bad_vocab/vocab.txt" predict --model "$cases/bad_vocab" "good"
expect_error serve_missing_model "does not exist" serve --model "$cases/no_model" --port 18999 --max-seconds 1
expect_error evaluate_missing_model "has no model.safetensors" evaluate --model "$cases/no_weights" --data "$SYNTH_DATA"

# ---- train over an existing run, resume without a checkpoint --------------------------------
copy_model existing
sums=$(checksums "$cases/existing")
expect_error train_over_run "already holds a trained model" train --data "$SYNTH_DATA" --out "$cases/existing" --epochs 1
[[ $(checksums "$cases/existing") == "$sums" ]] || fail "train without --resume changed the existing run"
pass "the existing run is untouched (checksums of $(echo "$sums" | wc -l) files)"
expect_error resume_changed_setting "--lr 0.5 differs from the saved 0.01" \
    train --resume --data "$SYNTH_DATA" --out "$cases/existing" --epochs 9 --lr 0.5
expect_error resume_bad_data "$cases/nowhere does not exist" \
    train --resume --data "$cases/nowhere" --out "$cases/existing" --epochs 9
# Other data (one review changed) under --resume: refused before anything is written.
rm -rf "$cases/other_data" && cp -r "$SYNTH_DATA" "$cases/other_data"
first_review=$(find "$cases/other_data/train/pos" -name '*.txt' | sort | head -n 1)
echo " one more sentence." >>"$first_review"
expect_error resume_other_data "is not the data" \
    train --resume --data "$cases/other_data" --out "$cases/existing" --epochs 9
[[ $(checksums "$cases/existing") == "$sums" ]] || fail "a failed resume changed the run"
pass "failed resumes left the run untouched"
# A folder that is not a run is refused, naming what it holds; nothing in it changes.
mkdir -p "$cases/not_a_run" && echo "my notes" >"$cases/not_a_run/notes.txt"
expect_error train_not_a_run "'$cases/not_a_run' is not empty and not an nnlite run (it holds notes.txt)" \
    train --data "$SYNTH_DATA" --out "$cases/not_a_run" --epochs 1
[[ $(ls -A "$cases/not_a_run") == notes.txt && $(cat "$cases/not_a_run/notes.txt") == "my notes" ]] ||
    fail "a refused train changed the folder"
# Temp files of interrupted atomic writes are removed at start, and that is said.
copy_model leftovers
echo partial >"$cases/leftovers/.model.safetensors.tmp-4242-0-123456"
echo partial >"$cases/leftovers/.checkpoint.safetensors.tmp-4242-1-123457"
expect_error leftovers_resume "differs from the saved" \
    train --resume --data "$SYNTH_DATA" --out "$cases/leftovers" --epochs 9 --lr 0.5
ls -A "$cases/leftovers" | grep -q '\.tmp-' && fail "temp leftovers were not removed"
grep -q "removed $cases/leftovers/.model.safetensors.tmp-4242-0-123456" "$WORK/leftovers_resume.out" ||
    fail "the removal of temp leftovers was not said on stdout"
pass "temp leftovers removed and reported"
# A model without a checkpoint (an older imdb_example killed in its first epoch, or a deleted
# checkpoint): neither continued nor overwritten, both errors giving the same way out.
copy_model no_checkpoint && rm "$cases/no_checkpoint/checkpoint.safetensors"
sums=$(checksums "$cases/no_checkpoint")
way_out="or delete $cases/no_checkpoint/model.safetensors to start over"
expect_error model_no_checkpoint_train "$way_out" \
    train --data "$SYNTH_DATA" --out "$cases/no_checkpoint" --epochs 1
expect_error model_no_checkpoint_resume "$way_out" \
    train --resume --data "$SYNTH_DATA" --out "$cases/no_checkpoint"
grep -q "pass --resume" "$WORK/model_no_checkpoint_train.err" && fail "train points to --resume, which cannot work here"
[[ $(checksums "$cases/no_checkpoint") == "$sums" ]] || fail "a refused train changed the model folder"
pass "a model without a checkpoint: both refusals name the same way out; nothing changed"
mkdir -p "$cases/fresh"
expect_error resume_no_checkpoint "checkpoint.safetensors does not exist" \
    train --resume --data "$SYNTH_DATA" --out "$cases/fresh"
expect_error resume_no_dir "checkpoint.safetensors does not exist" \
    train --resume --data "$SYNTH_DATA" --out "$cases/never_made"
[[ -e $cases/never_made ]] && fail "--resume on a missing directory created it"

# ---- options -------------------------------------------------------------------------------
run bad_preset train --preset fastest --data "$SYNTH_DATA" --out "$cases/run_f"
((rc != 0)) && grep -q "fastest" "$WORK/bad_preset.err" || fail "unknown preset accepted or not named"
pass "unknown --preset rejected: $(head -n 1 "$WORK/bad_preset.err")"

# Every training value is checked, the offending option named; none falls back to the preset.
cli_case() {  # cli_case NAME PATTERN ARGS...
    local name=$1 pattern=$2
    shift 2
    RUN_TIMEOUT=20 expect_error "$name" "$pattern" train --data "$SYNTH_DATA" --out "$cases/cli_$name" "$@"
    [[ -e $cases/cli_$name ]] && fail "$name: a refused train created its run directory"
    true
}
cli_case cli_lr_negative "--lr must be a positive finite number, got '-1'" --lr=-1
cli_case cli_lr_zero "--lr must be a positive finite number, got '0'" --lr 0
cli_case cli_lr_nan "--lr must be a positive finite number, got 'nan'" --lr nan
cli_case cli_lr_inf "--lr must be a positive finite number, got 'inf'" --lr inf
cli_case cli_batch_zero "--batch-size must be from 1 to 1000000, got '0'" --batch-size 0
cli_case cli_length_zero "--max-length must be from 1 to 1000000, got '0'" --max-length 0
cli_case cli_epochs_zero "--epochs must be from 1 to 1000000, got '0'" --epochs 0
cli_case cli_skip_negative "--skip-nonfinite must be a count >= 0, got '-1'" --skip-nonfinite=-1
cli_case cli_first_named "--epochs must be" --epochs 0 --lr nan
RUN_TIMEOUT=20 expect_error cli_threads_zero "--threads must be at least 1, got '0'" \
    --threads 0 train --data "$SYNTH_DATA" --out "$cases/cli_threads"
RUN_TIMEOUT=20 expect_error cli_threads_negative "--threads must be at least 1, got '-2'" \
    --threads=-2 train --data "$SYNTH_DATA" --out "$cases/cli_threads"
[[ -e $cases/cli_threads ]] && fail "a refused --threads created the run directory"

# A learning rate that overflows the weights: the run stops naming the epoch and step, before
# any nan is saved; a resumed run keeps its model and checkpoint byte for byte.
RUN_TIMEOUT=60 expect_error train_nonfinite "is not finite" \
    train --data "$SYNTH_DATA" --out "$cases/diverged" --epochs 2 --batch-size 16 --max-length 48 --lr 1e30
grep -Eq "epoch 1, step [0-9]+: the (training loss|gradient norm) is not finite" "$WORK/train_nonfinite.err" ||
    fail "the non-finite error does not name the epoch and step"
[[ -e $cases/diverged/model.safetensors || -e $cases/diverged/checkpoint.safetensors ]] &&
    fail "a diverged run saved a model or checkpoint"
grep -q null "$cases/diverged/config.json" && fail "config.json holds null"
pass "the diverged run saved no weights; config.json has no null"

run bad_device predict --device tpu --model "$model" "good"
((rc != 0)) && grep -q "tpu" "$WORK/bad_device.err" || fail "unknown --device accepted or not named"
pass "unknown --device rejected: $(head -n 1 "$WORK/bad_device.err")"
# --device cuda where it cannot work (a build without CUDA, or no visible GPU: hidden here so
# a CUDA build on a GPU machine fails the same way): one line, exit 1, nothing created.
export CUDA_VISIBLE_DEVICES=
expect_error cuda_predict "--device cuda: " predict --device cuda --model "$model" "good"
expect_error cuda_train "--device cuda: " train --device cuda --data "$SYNTH_DATA" --out "$cases/run_g"
[[ -e $cases/run_g ]] && fail "train --device cuda without a GPU created its run directory"
expect_error cuda_serve "--device cuda: " serve --device cuda --model "$model" --port 18998 --max-seconds 1
unset CUDA_VISIBLE_DEVICES

[[ $(checksums "$model") == "$before" ]] || fail "the bad-input cases changed the synthetic run"
pass "the model directory used by all cases is unchanged"
echo "PASSED: $checks checks"
