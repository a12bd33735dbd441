#!/usr/bin/env bash
# Installs what is missing, builds sharegate (Release) and runs it.
# Extra arguments go to the program. Until the stratum front-end lands (issue 3),
# "the service" is the verification benchmark over every available backend.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="$PATH:/usr/local/cuda/bin"; fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j "$(nproc)"

if [ -x build/release/frontend/sharegate ]; then
  exec build/release/frontend/sharegate "$@"
fi
exec build/release/bench/sharegate-bench --backend=all --check "$@"
