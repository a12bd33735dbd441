#!/usr/bin/env bash
# The GPU half of the verifier work, for a machine with an NVIDIA GPU, CMake and the
# CUDA toolkit and nothing else (no Debian -dev packages, no downloads): builds the
# verify core, the CUDA and OpenCL backends and sharegate-bench, checks every verdict
# against the reference, and measures the sweep of issue 4. Results go to $1 (default
# $OUT, else build/gpu-results); the summary is printed last.
#
#   bash scripts/gpu-check.sh [RESULTS_DIR]
set -uo pipefail
cd "$(dirname "$0")/.."
# sharegate-bench parses its options with CLI11 (header-only); without packages here, its
# headers come along in the git-ignored .deps/cli11, where frontend/cli/CMakeLists.txt looks.
if [ ! -f /usr/include/CLI/CLI.hpp ] && [ ! -d .deps/cli11 ]; then
  echo "gpu-check: CLI11 is missing: on the dev machine run 'mkdir -p .deps && cd .deps && apt-get download libcli11-dev && dpkg -x libcli11-dev_*.deb cli11' in the repository root, then carry .deps" >&2
  exit 1
fi
results=${1:-${OUT:-build/gpu-results}}
mkdir -p "$results"
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
jobs=$(nproc)
summary="$results/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

note "== $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
nvidia-smi --query-gpu=name,driver_version,memory.total,pcie.link.gen.max,pcie.link.width.max --format=csv \
  2>&1 | tee -a "$summary"
nvcc --version | tail -n 2 | tee -a "$summary"

# Tests are built when GoogleTest happens to be there; the bench's --check needs nothing.
cmake -S . -B build/gpu -DCMAKE_BUILD_TYPE=Release -DSHAREGATE_CUDA=ON -DSHAREGATE_OPENCL=AUTO \
  -DSHAREGATE_FRONTEND=OFF -DSHAREGATE_TESTS=AUTO >"$results/configure.log" 2>&1 ||
  { note "configure failed:"; tail -n 30 "$results/configure.log" | tee -a "$summary"; exit 1; }
grep 'sharegate:' "$results/configure.log" | tee -a "$summary"
cmake --build build/gpu -j "$jobs" >"$results/build.log" 2>&1 ||
  { note "build failed:"; grep -E 'error|Error' "$results/build.log" | head -n 30 | tee -a "$summary"; exit 1; }

bench=build/gpu/bench/sharegate-bench
status=0
for backend in cuda opencl; do
  note "== sharegate-bench --backend=$backend --check"
  "$bench" --backend=$backend --check 2>&1 | tee -a "$summary" || status=1
done
for backend in cuda opencl; do
  note "== sharegate-bench --sweep --backend=$backend --check"
  "$bench" --sweep --backend=$backend --check 2>&1 | tee "$results/sweep-$backend.txt" | tee -a "$summary" ||
    status=1
  "$bench" --sweep --backend=$backend --check --json --runs 5 >"$results/sweep-$backend.json" 2>/dev/null || true
done
if [ -f build/gpu/CTestTestfile.cmake ] && [ -d build/gpu/tests ]; then
  note "== ctest (verifier suites)"
  ctest --test-dir build/gpu -R 'Backend|Cuda|cuda|OpenCl|opencl|RealShares|Device' --output-on-failure \
    >"$results/ctest.log" 2>&1 || status=1
  grep -E 'tests passed|tests failed' "$results/ctest.log" | tee -a "$summary"
else
  note "== ctest: GoogleTest is not installed here; the bench --check runs above compare every verdict"
fi
note "== exit status $status"
exit $status
