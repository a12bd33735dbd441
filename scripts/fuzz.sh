#!/usr/bin/env bash
# Fuzzes the targets of tests/fuzz/ with clang's libFuzzer under AddressSanitizer +
# UndefinedBehaviorSanitizer, each for FUZZ_SECONDS (60) seconds, starting from its seed
# corpus and regression inputs. Prints, per target, the runs, the executions per second
# and the coverage reached; exits non-zero on any crash, leak, timeout or out-of-memory,
# naming the input that caused it and where to copy it so that ctest replays it forever.
#
# Where clang or libFuzzer is missing it says why and exits 0: the same targets are built
# as corpus replays in the ordinary (gcc) builds, so the suite still covers every input.
#
# Environment: FUZZ_SECONDS (60), FUZZ_BUILD_DIR (build/fuzz), FUZZ_JOBS (nproc),
# FUZZ_TARGETS (all of them), CC/CXX (clang/clang++).
# It never writes into the repository: fuzzing runs on a scratch copy of each corpus
# under the build directory, and artifacts land in FUZZ_BUILD_DIR/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD_DIR:-build/fuzz}
case "$build" in /*) ;; *) build="$repo/$build" ;; esac
jobs=${FUZZ_JOBS:-$(nproc)}
read -r -a targets <<<"${FUZZ_TARGETS:-stratum_fuzz redis_codec_fuzz parse_fuzz proxy_fuzz getwork_fuzz}"
cc=${CC:-clang}
cxx=${CXX:-clang++}

# The longest input each target is given: stratum must pass the server's 10 KiB line
# limit to reach the flooding close; a PROXY header must pass its 1 040-byte bound; a
# getwork body holds a batch of a few dozen calls; the Redis values and parsed strings are
# short.
max_len_of() {
  case "$1" in
    stratum_fuzz) echo 16384 ;;
    redis_codec_fuzz) echo 4096 ;;
    proxy_fuzz) echo 2048 ;;
    getwork_fuzz) echo 8192 ;;
    *) echo 1024 ;;
  esac
}

skip() {
  echo "fuzz.sh: $1; not fuzzing." >&2
  echo "fuzz.sh: the corpus and regression inputs are still replayed by ctest (fuzz_replay.*) in every build." >&2
  exit 0
}

command -v "$cxx" >/dev/null 2>&1 || skip "$cxx not found (Debian: apt-get install clang)"
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found (Debian: apt-get install clang)"
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' >"$probe_dir/probe.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe_dir/probe.cpp" -o "$probe_dir/probe" 2>"$probe_dir/log"; then
  sed 's/^/  /' "$probe_dir/log" | tail -n 5 >&2
  skip "$cxx cannot link -fsanitize=fuzzer,address,undefined (Debian 12: apt-get install libclang-rt-14-dev)"
fi

# A build directory configured with another compiler cannot be switched to clang in place.
if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^CMAKE_CXX_COMPILER_ID:INTERNAL=Clang$' "$build/CMakeCache.txt" &&
  ! grep -Eq '^CMAKE_CXX_COMPILER:[A-Z]+=.*clang' "$build/CMakeCache.txt"; then
  echo "fuzz.sh: $build was configured with another compiler; starting it afresh" >&2
  rm -rf "$build"
fi

echo "fuzz.sh: configuring $build with $cxx"
CC=$cc CXX=$cxx cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREGATE_FUZZ=ON \
  -DSHAREGATE_SANITIZE=address,undefined -DSHAREGATE_TESTS=ON -DSHAREGATE_CUDA=OFF -DSHAREGATE_OPENCL=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

# The sanitizers as the test suite sets them (cmake/TestEnvironment.cmake), and the
# leak suppressions that name third-party code only.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$repo/tests/sanitizers/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
summary=()
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/$target"
  scratch="$build/fuzz-work/$target"
  artifacts="$build/artifacts/$target"
  log="$build/fuzz-logs/$target.log"
  rm -rf "$scratch"
  mkdir -p "$scratch/corpus" "$artifacts" "$(dirname "$log")"
  cp "$repo/tests/fuzz/corpus/$target/"* "$scratch/corpus/"
  if compgen -G "$repo/tests/fuzz/regressions/$target/*" >/dev/null; then
    cp "$repo/tests/fuzz/regressions/$target/"* "$scratch/corpus/"
  fi
  marker="$scratch/started"
  touch "$marker"

  echo "fuzz.sh: $target for ${seconds} s (log: $log)"
  status=0
  "$binary" "$scratch/corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len="$(max_len_of "$target")" -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1 || status=$?

  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)
  [ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]' "$log" | tail -n 1 || true)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$done_line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$done_line")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$done_line")
  line="$target: ${runs:-?} runs, ${rate:-?} execs/s, coverage ${cov:-?} edges, ${ft:-?} features, corpus ${corp:-?}"
  if [ "$status" -ne 0 ]; then
    failed=1
    line="$line: FAILED (exit $status)"
    echo "fuzz.sh: $target FAILED (exit $status); the report:" >&2
    grep -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz invariant broken|SUMMARY:' "$log" |
      head -n 10 | sed 's/^/  /' >&2 || true
    new_artifacts=$(find "$artifacts" -type f -newer "$marker" | sort)
    if [ -n "$new_artifacts" ]; then
      while read -r artifact; do
        echo "  input: $artifact ($(stat -c %s "$artifact") bytes), in hex (the first 4 KiB), so that a CI log alone reproduces it:" >&2
        head -c 4096 "$artifact" | od -An -v -tx1 | tr -d ' \n' | fold -w 128 | sed 's/^/    /' >&2
        echo >&2
      done <<<"$new_artifacts"
    else
      echo "  (no artifact written; the end of $log:)" >&2
      tail -n 25 "$log" | sed 's/^/    /' >&2
    fi
    echo "  Reproduce: $binary <input>. Fix the product, then copy the input into" >&2
    echo "  tests/fuzz/regressions/$target/ so that ctest (fuzz_replay.$target) replays it forever." >&2
  fi
  summary+=("$line")
done

echo
echo "fuzz.sh: ${seconds} s per target, ASan+UBSan, $("$cxx" --version | head -n 1)"
for line in "${summary[@]}"; do echo "  $line"; done
exit "$failed"
