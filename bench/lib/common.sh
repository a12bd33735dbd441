# Shared by bench/run-*.sh: builds what a scenario needs, starts a private redis-server
# and sharegate on free loopback ports, and stops everything on exit. Source it.
#
# Environment: SHAREGATE_BUILD (build directory, default build/bench, configured here
# as Release when missing), SERVER_ARGS (extra sharegate options), SERVER_TASKSET (a CPU
# list to pin the server to), SHAREGATE_SERVER (another sharegate binary to measure, e.g.
# one built from an older commit, with this build's load generator: a before/after
# comparison then changes only the server), SHAREGATE_BENCH_PREBUILT=1 (take the binaries
# in SHAREGATE_BUILD as they are: the test suite runs a scenario on its own build),
# SHAREGATE_BENCH_RESULTS (where the results folders go, default bench/results).
set -euo pipefail

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bench_build=${SHAREGATE_BUILD:-build/bench}
[[ $bench_build = /* ]] || bench_build=$bench_root/$bench_build
bench_pids=()
bench_work=$(mktemp -d)
# The seed's challenge and a pool address (docs/protocol.md); any would do.
bench_challenge=0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e
bench_pool=0x1b7bfB694eE51913c347971c7090a74AEFbd41f6

bench_cleanup() {
    for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$bench_work"
}
trap bench_cleanup EXIT INT TERM

for tool in redis-server redis-cli python3 gnuplot; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (bash scripts/install-deps.sh)" >&2; exit 1; }
done

# build_targets TARGET...: configures the bench build once, then builds incrementally.
build_targets() {
    if [[ ${SHAREGATE_BENCH_PREBUILT:-0} = 1 ]]; then
        local target
        for target in "$@"; do
            [[ -n $(find "$bench_build" -name "$target" -type f -perm -u+x -print -quit) ]] ||
                { echo "bench: SHAREGATE_BENCH_PREBUILT=1 but no $target under $bench_build" >&2; exit 1; }
        done
        return 0
    fi
    if [[ ! -f $bench_build/CMakeCache.txt ]]; then
        cmake -S "$bench_root" -B "$bench_build" -DCMAKE_BUILD_TYPE=Release -DSHAREGATE_TESTS=OFF >/dev/null
    else
        # Configured again: a target added since (e.g. by a pull) is otherwise unknown to it.
        cmake -S "$bench_root" -B "$bench_build" >/dev/null
    fi
    cmake --build "$bench_build" -j "$(nproc)" --target "$@" >/dev/null
}

# results_dir NAME: a fresh folder under bench/results (git-ignored); prints its path.
results_dir() {
    local dir
    dir=${SHAREGATE_BENCH_RESULTS:-$bench_root/bench/results}/$1-$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$dir"
    echo "$dir"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 200); do
        (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench: nothing listening on port $1" >&2
    return 1
}

# start_redis: sets redis_port and redis_pid; the challenge is set, as the pool back-end would.
start_redis() {
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        >"$bench_work/redis.log" 2>&1 &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    wait_port "$redis_port"
    redis-cli -p "$redis_port" SET challengeNumber "\"$bench_challenge\"" >/dev/null
    redis-cli -p "$redis_port" SET ethBlockNumber 5600000 >/dev/null
}

# start_server [OPTION...]: sets server_port, getwork_port (the HTTP door), admin_port
# (/metrics) and server_pid.
# Logs go to $bench_work.
# Every scenario's clients come from loopback, thousands of connections from one
# address (run-idle.sh holds 10 000): the allow-list exempts them from the per-address
# cap, as an operator would exempt the pool's own proxies (docs/operations.md). A
# scenario that measures the defenses themselves sets bench_allow= (empty: no --allow).
bench_allow=${bench_allow-127.0.0.0/8}
start_server() {
    server_port=$(free_port)
    getwork_port=$(free_port)
    admin_port=$(free_port)
    # shellcheck disable=SC2086
    ${SERVER_TASKSET:+taskset -c $SERVER_TASKSET} "${SHAREGATE_SERVER:-$bench_build/frontend/sharegate}" --port "$server_port" --bind 127.0.0.1 \
        --getwork-port "$getwork_port" --admin-listen "127.0.0.1:$admin_port" \
        --redis "127.0.0.1:$redis_port" --pool-address "$bench_pool" --log-level warn ${bench_allow:+--allow $bench_allow} \
        --spool-dir "$bench_work/spool-$server_port" \
        "$@" ${SERVER_ARGS:-} >>"$bench_work/server.log" 2>&1 &
    server_pid=$!
    bench_pids+=("$server_pid")
    wait_port "$server_port"
}

stop_server() {
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
}

# json_field FILE EXPRESSION: a value out of a JSON file, EXPRESSION in Python syntax on `d`.
json_field() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
