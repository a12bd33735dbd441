#!/usr/bin/env bash
# A real getwork (HTTP JSON-RPC) miner against sharegate's getwork door: builds sharegate
# (Release, build/bench), then runs the project's shared getwork runner, which starts a
# private redis-server and sharegate on loopback, puts a logging proxy between them and
# the miner, runs the miner for DURATION seconds (120) mining on the CPU, SETs and
# PUBLISHes a new challenge half-way, and prints what the miner found and submitted, what
# sharegate answered (true / false), the entries of queued_shares_list (format and digest
# re-checked) and the shape of every request.
#
#   bench/run-real-getwork.sh MINER MINER_PATH [DURATION] [extra runner options]
#     MINER: mvis-2.3 (MVis-tokenminer v2.2+, ini Host=URL), mvis-2.1 (v2.1.x, Host + RPCPort)
#            or node (0xbitcoin-miner, the Node.js miner)
#     MINER_PATH: the tokenminer binary, or the built 0xbitcoin-miner folder
#   e.g. bench/run-real-getwork.sh mvis-2.3 /tmp/mvis/build-v2.3.0/ethminer/tokenminer
#        bench/run-real-getwork.sh node /tmp/node-miner --var-diff 16
#
# The miners are built outside the repository from their own sources, and the runner lives
# with them (docs/compatibility.md, "Getwork (HTTP JSON-RPC) miners"). Environment:
# GETWORK_RUNNER (the runner, default ../shared/real-miners/getwork/run_getwork_miner.py
# beside the repository), LOG_LEVEL (sharegate's, info; debug logs every refusal's reason),
# SERVER_ARGS (extra sharegate options), SHAREGATE_BUILD (lib/common.sh).
# Results go to bench/results/real-getwork-<miner>-<time>/ (summary.json, capture.jsonl with
# every HTTP exchange, server.log, miner.out).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

miner=${1:?MINER: mvis-2.3, mvis-2.1 or node}
miner_path=${2:?MINER_PATH: the tokenminer binary or the 0xbitcoin-miner folder}
duration=${3:-120}
shift $(($# < 3 ? $# : 3))
case "$miner" in
    mvis-2.3 | mvis-2.1) [[ -x $miner_path && -f $miner_path ]] || { echo "run-real-getwork: $miner_path is not an executable" >&2; exit 2; } ;;
    node) [[ -f $miner_path/index.js && -f $miner_path/build/Release/cpuminer.node ]] ||
        { echo "run-real-getwork: $miner_path is not a built 0xbitcoin-miner (index.js, build/Release/cpuminer.node)" >&2; exit 2; } ;;
    *) echo "run-real-getwork: MINER is mvis-2.3, mvis-2.1 or node" >&2; exit 2 ;;
esac
runner=${GETWORK_RUNNER:-$bench_root/../shared/real-miners/getwork/run_getwork_miner.py}
[[ -f $runner ]] || { echo "run-real-getwork: runner $runner not found (set GETWORK_RUNNER)" >&2; exit 2; }

# Debian's python3 has the packages the runner uses (pycryptodome for its digest check).
py=/usr/bin/python3
[[ -x $py ]] || py=python3
build_targets sharegate
out=$(results_dir "real-getwork-$miner")

# The runner fills in the ports, the pool address and its run folder; it splits the
# template with shlex, so the binary's path is quoted. --publish: sharegate follows the
# challenge through the PUBLISH on challengeNumber, as the token watcher sends it.
server="$(printf %q "${SHAREGATE_SERVER:-$bench_build/frontend/sharegate}") --bind 127.0.0.1 --port {stratum_port}"
server+=" --getwork-port {getwork_port} --redis 127.0.0.1:{redis_port} --pool-address {pool}"
server+=" --max-target-bits 234 --verifier cpu --spool-dir {out}/spool --admin-listen off"
server+=" --log-level ${LOG_LEVEL:-info} --stats-interval-s 10 ${SERVER_ARGS:-}"
"$py" "$runner" --miner "$miner" --miner-path "$miner_path" --server "$server" --out "$out" \
    --duration "$duration" --switch-at $((duration / 2)) --var-diff 1 --max-target-bits 234 \
    --publish "$@" >"$out/runner.out"
"$py" - "$out/summary.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
sw = s.get("challenge_switch", {})
http = s.get("http", {})
redis = s.get("redis", {})
headline = dict(s["totals"])
headline["challenge_switch"] = {k: sw.get(k) for k in (
    "first_poll_with_new_challenge_after_s", "first_submit_with_new_challenge_after_s",
    "submits_with_noncurrent_challenge", "publish_receivers")}
headline["submit_answers_other"] = http.get("submitShare", {}).get("other")
headline["request_format_problem_kinds"] = http.get("request_format_problem_kinds")
headline["queue_problem_kinds"] = redis.get("problem_kinds")
headline["queued_key_orders"] = redis.get("key_orders")
headline["queued_per_challenge"] = redis.get("per_challenge")
print(json.dumps(headline, indent=1))
EOF
echo "full summary: $out/summary.json"
