#!/usr/bin/env bash
# The whole test suite from a clean clone, as a new machine would run it:
#   1. install what is missing (apt);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build, every test (LeakSanitizer
#      with tests/sanitizers/lsan.supp: third-party libraries only);
#   3. ThreadSanitizer build, every test that starts threads (ctest label "threads");
#   4. libFuzzer (clang): each fuzz target for FUZZ_SECONDS (60) under ASan + UBSan;
#   5. Release build with -Werror, every test.
# Every stage runs even when an earlier one failed, so one failure does not hide another;
# each stage's duration is printed, and the last line is ctest's summary of the Release run.
# The exit status is non-zero when any stage failed.
set -uo pipefail
cd "$(dirname "$0")/.."

jobs=$(nproc)
declare -a stage_names=() stage_results=() stage_seconds=() stage_log_files=()
failed=0

# Each stage's output is also kept here, so that the summary at the end can repeat why a
# stage failed: a CI log is often read from its tail only, and an early stage's report
# would be hours of output above it.
stage_logs=build/test-logs
mkdir -p "$stage_logs"

# stage NAME COMMAND...: runs one stage, records its result and duration.
stage() {
  local name=$1
  shift
  echo
  echo "==== test.sh: $name ===="
  local started=$SECONDS
  local log="$stage_logs/stage-${#stage_names[@]}.log"
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local took=$((SECONDS - started))
  stage_names+=("$name")
  stage_seconds+=("$took")
  stage_log_files+=("$log")
  if [ $rc -eq 0 ]; then stage_results+=("ok"); else stage_results+=("FAILED ($rc)"); failed=1; fi
  echo "==== test.sh: $name: $([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)") in ${took} s ===="
  return 0
}

# Why a failed stage failed, from its log: the failed tests ctest listed with what each
# said (GoogleTest's failure messages, a sanitizer's first lines; a test that fails only
# now and then leaves nothing else to go on), a fuzzer's report (fuzz.sh), or else the
# stage's last lines.
why_failed() {
  local log=$1
  if grep -q '^The following tests FAILED:' "$log"; then
    sed -n '/^The following tests FAILED:/,$p' "$log" | grep -v '^Errors while running CTest' | head -n 40
    echo "-- what they said:"
    grep -E -A 8 ': Failure$|^(==|)[0-9]*(==|)(ERROR|WARNING): [A-Za-z]+Sanitizer|runtime error:' "$log" | head -n 120
  elif grep -q '^fuzz.sh: .* FAILED' "$log"; then
    grep -E '^fuzz\.sh: .* FAILED|^  ' "$log" | head -n 40
  else
    tail -n 20 "$log"
  fi
}

if ! bash scripts/install-deps.sh; then
  echo "test.sh: installing the packages failed" >&2
  exit 1
fi

# nvcc is usually installed outside PATH. Where it is installed the CUDA backend must
# build (ON fails the configure otherwise); its device tests skip without a GPU.
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
cuda=AUTO
if command -v nvcc >/dev/null; then cuda=ON; fi
# The sanitizers symbolize their reports with it.
if [ -x /usr/bin/llvm-symbolizer ]; then export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer; fi

asan() {
  cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREGATE_SANITIZE=address,undefined \
    -DSHAREGATE_TESTS=ON -DSHAREGATE_WERROR=ON -DSHAREGATE_CUDA=$cuda -DSHAREGATE_OPENCL=ON &&
    cmake --build build/asan -j "$jobs" &&
    ctest --test-dir build/asan --output-on-failure -j "$jobs"
}

# The GPU backends are left out: their drivers are not instrumented, and no "threads"
# test needs them.
tsan() {
  cmake -S . -B build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREGATE_SANITIZE=thread \
    -DSHAREGATE_TESTS=ON -DSHAREGATE_WERROR=ON -DSHAREGATE_CUDA=OFF -DSHAREGATE_OPENCL=OFF &&
    cmake --build build/tsan -j "$jobs" &&
    ctest --test-dir build/tsan --output-on-failure -j "$jobs" -L threads
}

fuzz() {
  FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash scripts/fuzz.sh
}

release() {
  cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSHAREGATE_TESTS=ON -DSHAREGATE_WERROR=ON \
    -DSHAREGATE_CUDA=$cuda -DSHAREGATE_OPENCL=ON &&
    cmake --build build/release -j "$jobs" &&
    ctest --test-dir build/release --output-on-failure -j "$jobs" 2>&1 | tee build/release/ctest.log
}

rm -f build/release/ctest.log
stage "AddressSanitizer + UndefinedBehaviorSanitizer build and tests" asan
stage "ThreadSanitizer build and threaded tests" tsan
stage "fuzzing (libFuzzer, ASan + UBSan)" fuzz
stage "Release build and tests" release

echo
echo "==== test.sh: summary ===="
for i in "${!stage_names[@]}"; do
  printf '%-62s %-12s %5d s\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_seconds[$i]}"
done
printf '%-62s %-12s %5d s\n' "total" "$([ $failed -eq 0 ] && echo ok || echo FAILED)" "$SECONDS"
for i in "${!stage_names[@]}"; do
  if [ "${stage_results[$i]}" != ok ]; then
    echo
    echo "---- why \"${stage_names[$i]}\" failed (${stage_log_files[$i]}) ----"
    why_failed "${stage_log_files[$i]}"
  fi
done
# ctest lists skipped tests after its summary; repeat the summary so it closes the run.
if [ -f build/release/ctest.log ]; then grep -E '^[0-9]+% tests passed' build/release/ctest.log | tail -n 1; fi
exit $failed
