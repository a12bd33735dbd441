#!/usr/bin/env bash
# An invalid-digest flood with an honest miner beside it: how fast the server answers a
# flood, and what the flood does to an honest miner's p99 reply latency.
#
#   bench/run-flood.sh                        # build/release, 64 x depth 32, 10 s
#   SHAREGATE_BUILD=build/lg bench/run-flood.sh --duration 30 --connections 256
#
# Environment: SHAREGATE_BUILD (build dir holding frontend/sharegate and
# bench/sharegate-loadgen), SERVER_ARGS (extra server options, e.g. "--threads 1"),
# LOADGEN_TASKSET / SERVER_TASKSET (CPU lists to pin each to, e.g. 0 and 1).
# Extra arguments go to the load generator and override its defaults.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SHAREGATE_BUILD:-build/release}
[[ $build = /* ]] || build=$root/$build
server_bin=$build/frontend/sharegate
loadgen_bin=$build/bench/sharegate-loadgen
for bin in "$server_bin" "$loadgen_bin"; do
    [[ -x $bin ]] || { echo "missing $bin (build targets sharegate and sharegate-loadgen)" >&2; exit 1; }
done

results=$root/bench/results
mkdir -p "$results"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 100); do
        (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listening on port $1" >&2
    return 1
}

redis_port=$(free_port)
# 2^250 rather than 0xBitcoin's 2^234: the honest miner then mines fresh shares in about 64
# hashes each, so every honest submit is a real, new share that goes through verification
# and Redis (replaying a small corpus would, after one pass, measure duplicate rejections).
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$work/redis.log" 2>&1 &
pids+=($!)
wait_port "$redis_port"
rc() { redis-cli -p "$redis_port" "$@" >/dev/null; }
rc SET challengeNumber '"0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"'
rc SET ethBlockNumber 5600000

port=$(free_port)
# 2^250 rather than 0xBitcoin's 2^234: the honest miner then mines fresh shares in about 64
# hashes each, so every honest submit is a real, new share that goes through verification
# and Redis (replaying a small corpus would, after one pass, measure duplicate rejections).
# shellcheck disable=SC2086
${SERVER_TASKSET:+taskset -c $SERVER_TASKSET} "$server_bin" --port "$port" --bind 127.0.0.1 \
    --redis "127.0.0.1:$redis_port" --pool-address 0x1b7bfB694eE51913c347971c7090a74AEFbd41f6 \
    --max-target-bits 250 --log-level warn ${SERVER_ARGS:-} >"$results/flood-$stamp.server.log" 2>&1 &
pids+=($!)
wait_port "$port"

# shellcheck disable=SC2086
${LOADGEN_TASKSET:+taskset -c $LOADGEN_TASKSET} "$loadgen_bin" --target "127.0.0.1:$port" \
    --redis "127.0.0.1:$redis_port" --seed-redis --corpus "$root/tests/vectors/valid_d1.jsonl" \
    --connections 64 --workload invalid-digest --depth 32 --duration 10 \
    --honest-mine --honest-rate 200 --json "$@" \
    2> >(tee "$results/flood-$stamp.loadgen.log" >&2) | tee "$results/flood-$stamp.json"
echo "results: $results/flood-$stamp.json" >&2
