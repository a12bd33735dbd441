#!/usr/bin/env bash
# The real miner against sharegate: starts a private redis-server and sharegate (Release,
# build/bench) on loopback, runs the given MVis-tokenminer binary for DURATION seconds
# (150) mining on the CPU through PoCL, publishes a new challenge half-way, and prints
# what the miner found and submitted, what sharegate accepted and refused by reason, the
# entries of queued_shares_list (format and digest re-checked), and each side's logs.
#
#   bench/run-real-miner.sh TOKENMINER_BINARY GENERATION [DURATION] [extra runner options]
#     GENERATION: 2.1 (v2.1.x: ini with StratumPort) or 2.3 (v2.2+: Host=IP:PORT)
#   e.g. bench/run-real-miner.sh /tmp/mvis/build-v2.1.21/ethminer/tokenminer 2.1
#
# The miner is built outside the repository from its own sources (see
# docs/compatibility.md); results go to bench/results/real-miner-<name>-<style>-<time>/.
# REPLY_STYLE (auto) is passed to sharegate's --reply-style.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

miner=${1:?TOKENMINER_BINARY}
generation=${2:?GENERATION: 2.1 or 2.3}
duration=${3:-150}
shift $(($# < 3 ? $# : 3))
[[ -x $miner ]] || { echo "run-real-miner: $miner is not an executable" >&2; exit 2; }
case "$generation" in 2.1 | 2.3) ;; *) echo "run-real-miner: GENERATION is 2.1 or 2.3" >&2; exit 2 ;; esac
command -v redis-cli >/dev/null || { echo "run-real-miner: redis-cli not found (apt-get install redis-server)" >&2; exit 2; }

# Debian's python3 has the packages the runner uses (pycryptodome for its digest check).
py=/usr/bin/python3
[[ -x $py ]] || py=python3
build_targets sharegate
name=$(basename "$(dirname "$(dirname "$miner")")")  # build-v2.1.21 for …/build-v2.1.21/ethminer/tokenminer
out=$(results_dir "real-miner-${name#build-}-${REPLY_STYLE:-auto}")
"$py" "$here/lib/real_miner.py" --miner "$miner" --gen "$generation" --sharegate "$bench_build/frontend/sharegate" \
  --out "$out" --duration "$duration" --switch-at $((duration / 2)) --reply-style "${REPLY_STYLE:-auto}" "$@" |
  python3 -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps(s["headline"], indent=1)); print("full summary: '"$out"'/summary.json")'
