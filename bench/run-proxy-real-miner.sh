#!/usr/bin/env bash
# A real getwork (HTTP JSON-RPC) miner through sharegate-proxy against sharegate: builds
# both (Release, build/bench), then runs the project's shared getwork runner with, as its
# "server", the pair a farm would run: sharegate on the pool's stratum port (its own getwork
# door off) and sharegate-proxy in front of it on the getwork port, subscribed as a farm
# account. The runner starts a private redis-server, puts its logging HTTP proxy between
# the miner and sharegate-proxy, runs the miner for DURATION seconds (120) mining on the
# CPU, SETs and PUBLISHes a new challenge half-way, and reports what the miner found and
# submitted, what it was answered (true / false), what was queued in Redis (format and
# digest re-checked, credited to the rig's own miner address) and every request's shape.
# This script adds the proxy's side: its /metrics at the end (the rig's counts, the
# upstream's) and the pool's count of stratum connections (one).
#
#   bench/run-proxy-real-miner.sh MINER MINER_PATH [DURATION] [extra runner options]
#     MINER: mvis-2.3 (MVis-tokenminer v2.2+), mvis-2.1 (v2.1.x) or node (0xbitcoin-miner)
#     MINER_PATH: the tokenminer binary, or the built 0xbitcoin-miner folder
#   e.g. bench/run-proxy-real-miner.sh mvis-2.3 /tmp/mvis/build-v2.3.0/ethminer/tokenminer
#        bench/run-proxy-real-miner.sh node /tmp/node-miner-gw 120
#
# Not part of CI: the miners are built outside the repository from their own sources, with
# the runner that lives beside them (../shared/real-miners/getwork/README.md says how;
# docs/compatibility.md, "Getwork (HTTP JSON-RPC) miners"). Where the runner or the miner
# is missing this says so and exits 77 (nothing was measured). Environment: GETWORK_RUNNER
# (default ../shared/real-miners/getwork/run_getwork_miner.py beside the repository),
# LOG_LEVEL (both binaries', info), SERVER_ARGS (extra sharegate options), PROXY_ARGS (extra
# sharegate-proxy options), SHAREGATE_BUILD (lib/common.sh). Results go to
# bench/results/proxy-real-<miner>-<time>/: summary.json and capture.jsonl (the runner's),
# server.log (sharegate), proxy.log, proxy-metrics.txt and pool-metrics.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib/common.sh"

unavailable() {
    echo "run-proxy-real-miner: SKIP: $*" >&2
    exit 77
}

miner=${1:?MINER: mvis-2.3, mvis-2.1 or node}
miner_path=${2:?MINER_PATH: the tokenminer binary or the 0xbitcoin-miner folder}
duration=${3:-120}
shift $(($# < 3 ? $# : 3))
case "$miner" in
mvis-2.3 | mvis-2.1)
    [[ -x $miner_path && -f $miner_path ]] ||
        unavailable "$miner_path is not a built tokenminer (build it with ../shared/real-miners/mvis/build.sh)"
    ;;
node)
    [[ -f $miner_path/index.js && -f $miner_path/build/Release/cpuminer.node ]] ||
        unavailable "$miner_path is not a built 0xbitcoin-miner (index.js, build/Release/cpuminer.node; build it" \
            "with ../shared/real-miners/getwork/build_node_miner.sh)"
    ;;
*)
    echo "run-proxy-real-miner: MINER is mvis-2.3, mvis-2.1 or node" >&2
    exit 2
    ;;
esac
runner=${GETWORK_RUNNER:-$bench_root/../shared/real-miners/getwork/run_getwork_miner.py}
[[ -f $runner ]] || unavailable "the getwork runner $runner is not there (set GETWORK_RUNNER)"
command -v curl >/dev/null || { echo "run-proxy-real-miner: curl is missing (bash scripts/install-deps.sh)" >&2; exit 1; }

# Debian's python3 has the packages the runner uses (pycryptodome for its digest check).
py=/usr/bin/python3
[[ -x $py ]] || py=python3
build_targets sharegate sharegate-proxy
out=$(results_dir "proxy-real-$miner")
server_bin=${SHAREGATE_SERVER:-$bench_build/frontend/sharegate}
proxy_bin=${SHAREGATE_PROXY:-$bench_build/frontend/proxy/sharegate-proxy}
# The farm's payout address the proxy subscribes as; the rig mines for the runner's own
# miner address, which is what Redis must credit.
farm=0x00000000000000000000000000000000000000fa

# The "server" the runner starts and stops (SIGTERM): sharegate, then sharegate-proxy in
# front of it once its stratum port is open. On SIGTERM it saves both /metrics pages,
# then stops the proxy (its rigs' last answers) before the pool.
cat >"$out/pair.sh" <<'EOF'
#!/usr/bin/env bash
set -u
server_bin=$1 proxy_bin=$2 redis_port=$3 stratum_port=$4 getwork_port=$5 pool=$6 out=$7 farm=$8 log_level=$9
shift 9
server_args=$1 proxy_args=$2
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 400); do
        (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
pool_admin=$(free_port)
proxy_admin=$(free_port)
# The farm account's varDiff: every rig's shares are judged against it (the one connection's).
redis-cli -p "$redis_port" HSET miner_data "$farm" \
    '{"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":1,"validSubmittedSolutionsCount":0}' >/dev/null
# shellcheck disable=SC2086
"$server_bin" --bind 127.0.0.1 --port "$stratum_port" --getwork-port 0 --redis "127.0.0.1:$redis_port" \
    --pool-address "$pool" --max-target-bits 234 --verifier cpu --spool-dir "$out/spool" \
    --admin-listen "127.0.0.1:$pool_admin" --allow 127.0.0.0/8 --log-level "$log_level" --stats-interval-s 10 \
    $server_args &
server=$!
wait_port "$stratum_port" || { echo "pair: sharegate does not listen on $stratum_port" >&2; kill "$server"; exit 1; }
# shellcheck disable=SC2086
"$proxy_bin" --pool "127.0.0.1:$stratum_port" --account "$farm" --listen "127.0.0.1:$getwork_port" \
    --admin-listen "127.0.0.1:$proxy_admin" --log-level "$log_level" --stats-interval-s 10 $proxy_args \
    >>"$out/proxy.log" 2>&1 &
proxy=$!
stop() {
    curl -s "http://127.0.0.1:$proxy_admin/metrics" >"$out/proxy-metrics.txt" || true
    curl -s "http://127.0.0.1:$pool_admin/metrics" >"$out/pool-metrics.txt" || true
    kill -TERM "$proxy" 2>/dev/null
    wait "$proxy"
    echo "pair: sharegate-proxy exited $?" >>"$out/proxy.log"
    kill -TERM "$server" 2>/dev/null
    wait "$server"
    exit 0
}
trap stop TERM INT
wait
EOF

server="bash $(printf %q "$out/pair.sh") $(printf %q "$server_bin") $(printf %q "$proxy_bin") {redis_port}"
server+=" {stratum_port} {getwork_port} {pool} {out} $farm ${LOG_LEVEL:-info}"
server+=" $(printf %q "${SERVER_ARGS:-}") $(printf %q "${PROXY_ARGS:-}")"
"$py" "$runner" --miner "$miner" --miner-path "$miner_path" --server "$server" --out "$out" \
    --duration "$duration" --switch-at $((duration / 2)) --var-diff 1 --max-target-bits 234 \
    --publish "$@" >"$out/runner.out"
"$py" - "$out" <<'EOF'
import json, os, re, sys
out = sys.argv[1]
s = json.load(open(os.path.join(out, "summary.json")))
sw = s.get("challenge_switch", {})
headline = dict(s["totals"])
headline["challenge_switch"] = {k: sw.get(k) for k in (
    "first_poll_with_new_challenge_after_s", "first_submit_with_new_challenge_after_s",
    "submits_with_noncurrent_challenge", "publish_receivers")}
headline["submit_answers_other"] = s.get("http", {}).get("submitShare", {}).get("other")
headline["request_format_problem_kinds"] = s.get("http", {}).get("request_format_problem_kinds")
headline["queue_problem_kinds"] = s.get("redis", {}).get("problem_kinds")
headline["queued_per_challenge"] = s.get("redis", {}).get("per_challenge")

def metrics(name):
    path = os.path.join(out, name)
    found = {}
    if os.path.exists(path):
        for line in open(path):
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found

proxy = metrics("proxy-metrics.txt")
pool = metrics("pool-metrics.txt")
pick = lambda m, pattern: {k: v for k, v in m.items() if re.search(pattern, k)}
headline["proxy"] = pick(proxy, r"^sharegate_proxy_(rig_|upstream_(connects|subscribes|submits|verdicts)|work_difficulty)")
headline["pool_stratum_connections_open"] = pool.get('sharegate_connections_open{door="stratum"}')
print(json.dumps(headline, indent=1))
EOF
echo "full summary: $out/summary.json; proxy: $out/proxy.log, $out/proxy-metrics.txt"
