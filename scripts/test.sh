#!/usr/bin/env bash
# The whole test suite from a clean clone: install what is missing, build twice
# (Release with -Werror, and AddressSanitizer + UndefinedBehaviorSanitizer), run ctest
# on both. The last line printed is ctest's summary of the Release run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs=$(nproc)
# nvcc is usually installed outside PATH. Where it is installed the CUDA backend must
# build (ON fails the configure otherwise); its device tests skip without a GPU.
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
cuda=AUTO
if command -v nvcc >/dev/null; then cuda=ON; fi

cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHAREGATE_SANITIZE=address,undefined \
  -DSHAREGATE_TESTS=ON -DSHAREGATE_WERROR=ON -DSHAREGATE_CUDA=$cuda -DSHAREGATE_OPENCL=ON
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs"

cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSHAREGATE_TESTS=ON -DSHAREGATE_WERROR=ON \
  -DSHAREGATE_CUDA=$cuda -DSHAREGATE_OPENCL=ON
cmake --build build/release -j "$jobs"
# ctest lists skipped tests after its summary; repeat the summary so it closes the run.
ctest --test-dir build/release --output-on-failure -j "$jobs" 2>&1 | tee build/release/ctest.log
grep -E '^[0-9]+% tests passed' build/release/ctest.log | tail -n 1
