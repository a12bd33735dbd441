#!/usr/bin/env bash
# Installs the Debian 12 packages sharegate builds, tests and runs with (clang with its
# libFuzzer runtime and llvm-symbolizer are for the test command's fuzzing stage).
# Skips apt entirely when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git clang-format
  clang libclang-rt-14-dev llvm
  libgtest-dev libsimdjson-dev libboost-dev libhiredis-dev libspdlog-dev libcli11-dev
  redis-server haproxy
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  gnuplot-nox
  dpkg-dev help2man curl systemd
  prometheus-cpp-dev prometheus
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
