#!/usr/bin/env bash
# The README's test command, and what CI runs (.ci/run). On a fresh Debian 12 machine:
#   1. install missing Debian packages             (scripts/install-deps.sh)
#   2. release preset: configure, build everything with warnings as errors, ctest
#   3. install the release build into a temporary prefix; build and run tests/consumer
#      against it (find_package(nnlite) + nnlite::nnlite, as a user would), then again
#      with nnlite vendored through add_subdirectory()
#   4. cuda preset, only where nvcc exists: configure, build the CUDA suite
#      (tests/cuda, nvcc for sm_80 + sm_90), imdb_example with --device cuda and
#      lstm_benchmark_cuda (and test_distributed_nccl when NCCL is found), and run the
#      suites; without a GPU their cases report
#      "skipped: no CUDA device" (so this stage proves the CUDA code still compiles) and
#      imdb_example --device cuda must fail with its one-line explanation
#   5. tsan preset: build and run the thread-safety suite under ThreadSanitizer; then
#      scripts/fuzz.sh: every libFuzzer target from its seeds for 20 s (clang installed
#      when missing)
#   6. asan preset (ASan + UBSan, -Og: compiles in ~2/3 of -O1's time, runs ~1.4x slower;
#      docs/building.md): configure, build the same suites and examples
#      (not the compile-only header check, done in 2), ctest
# Stops at the first failure with a non-zero exit. Each ctest run is followed by the list
# of skipped tests with their reasons; the last lines printed repeat the asan ctest run's
# own summary.
#
# Environment:
#   NNLITE_BUILD_ROOT  where the build folders go (default: <repo>/build, the presets' dirs)
#   NNLITE_JOBS        parallel compile jobs (default: 2)
#   ASAN_OPTIONS, UBSAN_OPTIONS  override the defaults below
set -Eeuo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
build_root=${NNLITE_BUILD_ROOT:-$repo/build}
jobs=${NNLITE_JOBS:-2}

# Any sanitizer report fails the test that produced it, with a symbolised stack.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

script_start=$SECONDS
stage_name=""
stage_start=0
timings=()

begin_stage() {
    stage_name=$1
    stage_start=$SECONDS
    echo
    echo "==> [$(date +%H:%M:%S)] $stage_name"
}
end_stage() {
    local took=$((SECONDS - stage_start))
    timings+=("$(printf '%-34s %5ds' "$stage_name" "$took")")
    echo "==> $stage_name: done in ${took}s"
}
on_error() {
    echo "test.sh: FAILED in stage '$stage_name' after $((SECONDS - stage_start))s" >&2
}
trap on_error ERR

configure_and_build() {  # preset
    local dir=$build_root/$1
    cmake --preset "$1" -B "$dir"
    cmake --build "$dir" --parallel "$jobs"
}
# ctest, then which tests were skipped and the reason each printed (a test that cannot run
# here exits 77 and says why; ctest counts it as skipped, never as passed).
run_ctest() {  # preset
    local dir=$build_root/$1 rc=0
    ctest --test-dir "$dir" --output-on-failure --no-tests=error --timeout 900 2>&1 |
        tee "$dir/ctest-output.txt" || rc=$?
    report_skipped "$dir"
    return "$rc"
}
report_skipped() {  # build dir
    local names name reason
    names=$(sed -n 's/^[[:space:]]*[0-9]* - \(.*\) (Skipped)$/\1/p' "$1/ctest-output.txt")
    if [[ -z $names ]]; then
        echo "skipped tests: none"
        return
    fi
    echo "skipped tests ($(wc -l <<<"$names")), each with the reason it printed:"
    for name in $names; do
        reason=$(awk -v t="$name" '$0 == "Test: " t || $0 ~ ("/[0-9]+ Test: " t "$") { f = 1 }
            f && /^Output:/ { o = 1; next }
            f && o && /^<end of output>/ { exit }
            f && o && tolower($0) ~ /skip/ { print; exit }' "$1/Testing/Temporary/LastTest.log")
        echo "  $name: ${reason:-(printed no reason)}"
    done
}

begin_stage "dependencies"
bash scripts/install-deps.sh
end_stage

begin_stage "release: configure + build"
configure_and_build release
end_stage

begin_stage "release: ctest"
run_ctest release
end_stage

begin_stage "install + consumer project"
prefix=$(mktemp -d "${TMPDIR:-/tmp}/nnlite-install.XXXXXX")
consumer_dir=$build_root/consumer
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_root/release" --prefix "$prefix"
rm -rf "$consumer_dir"  # its cache would point at an earlier, deleted prefix
cmake -S tests/consumer -B "$consumer_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix"
cmake --build "$consumer_dir" --parallel "$jobs"
"$consumer_dir/app"
# The same program with nnlite vendored through add_subdirectory() instead.
rm -rf "$consumer_dir-subdir"
cmake -S tests/consumer -B "$consumer_dir-subdir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DNNLITE_SOURCE="$repo"
cmake --build "$consumer_dir-subdir" --parallel "$jobs"
"$consumer_dir-subdir/app"
end_stage

if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
    begin_stage "cuda: configure + build + run CUDA suite"
    cmake --preset cuda -B "$build_root/cuda"
    # The CUDA suite, imdb_example with --device cuda and lstm_benchmark_cuda (each nvcc TU
    # needs ~2 GB of compiler memory).
    # With NCCL and MPI found (NNLITE_WITH_NCCL), also the NCCL suite under mpirun (1 and 2
    # ranks; skipped, exit 77, without one GPU per rank).
    cuda_targets=(test_cuda_backend imdb_example lstm_benchmark_cuda)
    cuda_tests='^test_cuda_backend$'
    if grep -q '^NNLITE_WITH_NCCL:BOOL=ON$' "$build_root/cuda/CMakeCache.txt"; then
        cuda_targets+=(test_distributed_nccl)
        cuda_tests='^(test_cuda_backend|test_distributed_nccl_np[12])$'
    fi
    cmake --build "$build_root/cuda" --target "${cuda_targets[@]}" --parallel "$jobs"
    ctest --test-dir "$build_root/cuda" -R "$cuda_tests" --output-on-failure \
        --no-tests=error --timeout 900
    # Without a visible GPU, --device cuda is one line and exit 1 (hidden here so that a
    # machine with a GPU checks the same).
    if out=$(CUDA_VISIBLE_DEVICES= "$build_root/cuda/examples/imdb/imdb_example" predict \
        --device cuda --model examples/imdb/pretrained "good" 2>&1); then
        echo "imdb_example --device cuda succeeded without a visible GPU: $out" >&2
        exit 1
    fi
    echo "$out" | grep -q '^error: --device cuda: no usable CUDA device' ||
        { echo "unexpected --device cuda message: $out" >&2; exit 1; }
    echo "imdb_example --device cuda without a GPU: $out"
    end_stage
else
    echo "==> cuda stage skipped: no nvcc on this machine"
fi

begin_stage "tsan: thread-safety and thread-team suites"
# ThreadSanitizer over the library's thread-safety contract (docs/threading.md): shared
# inference from several threads, set_num_threads, parallel_for, and the thread team itself.
cmake --preset tsan -B "$build_root/tsan"
cmake --build "$build_root/tsan" --target test_thread_safety test_threads --parallel "$jobs"
ctest --test-dir "$build_root/tsan" -R '^(test_thread_safety|test_threads)$' --output-on-failure \
    --no-tests=error --timeout 900
end_stage

begin_stage "fuzz smoke: every libFuzzer target for ${FUZZ_SECONDS:-20}s (clang)"
bash scripts/fuzz.sh
end_stage

begin_stage "asan: configure + build"
configure_and_build asan
end_stage

echo
echo "Stage timings:"
printf '  %s\n' "${timings[@]}"
echo "  (total so far $((SECONDS - script_start))s; the asan ctest run follows)"

begin_stage "asan: ctest (ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS)"
run_ctest asan
echo
echo "asan ctest summary (repeated):"
sed -n '/tests passed, /,$p' "$build_root/asan/ctest-output.txt"
