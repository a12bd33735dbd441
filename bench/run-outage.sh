#!/usr/bin/env bash
# Redis outages measured (issue 13): what miners see while Redis is away, and what the
# spool costs. Redis runs as a pool's should (appendonly yes, appendfsync everysec), and
# each case starts from a fresh redis-server and sharegate. Shares are valid ones mined
# for 2^250 targets (sharegate-mine), every connection its own miner at varDiff 1.
#
#   steady-healthy  STEADY_CONNECTIONS miners submitting STEADY_RATE shares/s in all (open
#                   loop) for STEADY_DURATION s, Redis up throughout
#   steady-outage   the same, with Redis SIGKILLed KILL_AFTER s after the miners are in
#                   and started again (same port, its append-only file reloaded) OUTAGE s
#                   later: the latency while it is away is the spool's
#   flood-healthy   FLOOD_CONNECTIONS connections, FLOOD_DEPTH submits in flight each
#                   (closed loop), FLOOD_DURATION s: the most valid shares a second the
#                   server answers with Redis taking every push
#   flood-spool     the same with Redis SIGKILLed 1 s in: every later share goes to the
#                   spool (fdatasync per group, the default)
#   flood-spool-nosync  the same with --spool-fsync none
#
# After each case Redis is up again and the script waits for the list to hold every share
# the miners were told "true" for, then checks that no share is there twice and that the
# list holds no more than those plus the submits still in flight when the load generator
# stopped (answered after it stopped counting). tests/frontend/outage_test.cpp checks it
# share by share.
#
#   bench/run-outage.sh
#   CASES="flood-healthy flood-spool" RUNS=3 bench/run-outage.sh
#
# Environment: CASES (default: all five), RUNS (1), STEADY_RATE (2000), STEADY_CONNECTIONS
# (16), KILL_AFTER (2), OUTAGE (20), FLOOD_CONNECTIONS (64), FLOOD_DEPTH (32),
# FLOOD_DURATION (8), CORPUS (valid shares to mine, 1000000: each connection replays its
# own slice once, so a flood case ends early when its slices are spent); SHAREGATE_BUILD,
# SERVER_ARGS, SERVER_TASKSET as in bench/lib/common.sh. Results:
# bench/results/outage-*/CASE-RUN.json (the load generator's JSON plus the server's CPU
# time, the per-second progress and the exactly-once check), summary.json.
# Exit status: non-zero for a broken run (the server died, a share refused, a share
# answered "true" missing from the list or in it twice).
source "$(dirname "$0")/lib/common.sh"
cases=${CASES:-steady-healthy steady-outage flood-healthy flood-spool flood-spool-nosync}
runs=${RUNS:-1}
steady_rate=${STEADY_RATE:-2000}
steady_connections=${STEADY_CONNECTIONS:-16}
kill_after=${KILL_AFTER:-2}
outage=${OUTAGE:-20}
flood_connections=${FLOOD_CONNECTIONS:-64}
flood_depth=${FLOOD_DEPTH:-32}
flood_duration=${FLOOD_DURATION:-8}
corpus_size=${CORPUS:-1000000}

build_targets sharegate sharegate-loadgen sharegate-mine
out=$(results_dir outage)
broken=0
clock_ticks=$(getconf CLK_TCK)

corpus=$bench_work/corpus.jsonl
echo "bench: mining $corpus_size valid shares..." >&2
"$bench_build/bench/sharegate-mine" --challenge "$bench_challenge" --pool "$bench_pool" --max-target-bits 250 \
    --difficulty 1 --count "$corpus_size" --quiet --output "$corpus"

# start_aof_redis: a redis-server with an append-only file in $redis_dir on $redis_port
# (both kept, so that a restart after SIGKILL reloads what it acknowledged); sets redis_pid.
start_aof_redis() {
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly yes --appendfsync everysec \
        --dir "$redis_dir" --daemonize no >>"$bench_work/redis.log" 2>&1 &
    redis_pid=$!
    bench_pids+=("$redis_pid")
    wait_port "$redis_port"
    # Until it has loaded its file it answers LOADING.
    until [[ $(redis-cli -p "$redis_port" PING 2>/dev/null) = PONG ]]; do sleep 0.05; done
}

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_case CASE RUN: writes $out/CASE-RUN.json.
run_case() {
    local name=$1 run=$2 result=$out/$1-$2.json
    # --max-shares-per-challenge: a flood of the whole corpus on one challenge is past the
    # default 262 144 (every later share would be "Server busy").
    local load_opts server_opts=(--max-target-bits 250 --verifier cpu --max-shares-per-challenge 4194304) kill_at=
    case $name in
        steady-healthy) load_opts=(--connections "$steady_connections" --rate "$steady_rate" \
            --duration $((kill_after + outage + 3))) ;;
        steady-outage)
            load_opts=(--connections "$steady_connections" --rate "$steady_rate" --duration $((kill_after + outage + 3)))
            kill_at=$kill_after
            ;;
        flood-healthy)
            load_opts=(--connections "$flood_connections" --depth "$flood_depth" --duration "$flood_duration")
            ;;
        flood-spool | flood-spool-nosync)
            load_opts=(--connections "$flood_connections" --depth "$flood_depth" --duration "$flood_duration")
            kill_at=1
            [[ $name = flood-spool-nosync ]] && server_opts+=(--spool-fsync none)
            ;;
        *)
            echo "bench: unknown case $name" >&2
            exit 2
            ;;
    esac
    redis_port=$(free_port)
    redis_dir=$bench_work/redis-$name-$run
    mkdir -p "$redis_dir"
    : >"$bench_work/server.log"
    start_aof_redis
    redis-cli -p "$redis_port" SET challengeNumber "\"$bench_challenge\"" >/dev/null
    redis-cli -p "$redis_port" SET ethBlockNumber 5600000 >/dev/null
    start_server "${server_opts[@]}"
    local progress=$bench_work/progress.log status=0 cpu_before cpu_after killed_at=-1 back_at=-1
    : >"$progress"
    cpu_before=$(cpu_ticks "$server_pid")
    "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
        --seed-redis --corpus "$corpus" --workload valid "${load_opts[@]}" --json \
        >"$bench_work/loadgen.json" 2>"$progress" &
    local loadgen_pid=$!
    if [[ -n $kill_at ]]; then
        # The clock starts when every miner is in (the load generator says so), as its
        # per-second lines do.
        until grep -q "connections subscribed" "$progress" || ! kill -0 "$loadgen_pid" 2>/dev/null; do sleep 0.01; done
        sleep "$kill_at"
        kill -KILL "$redis_pid"
        wait "$redis_pid" 2>/dev/null || true
        killed_at=$kill_at
        if [[ $name = steady-outage ]]; then
            sleep "$outage"
            start_aof_redis
            back_at=$((kill_at + outage))
        fi
    fi
    wait "$loadgen_pid" || status=$?
    cpu_after=$(cpu_ticks "$server_pid" 2>/dev/null || echo "$cpu_before")
    # Redis back (if it is not), then every share answered "true" must reach the list.
    kill -0 "$redis_pid" 2>/dev/null || start_aof_redis
    local accepted drain_start drained=-1
    accepted=$(json_field "$bench_work/loadgen.json" 'd["accepted"]' 2>/dev/null || echo 0)
    drain_start=$(date +%s.%N)
    for _ in $(seq 6000); do
        if [[ $(redis-cli -p "$redis_port" LLEN queued_shares_list) -ge $accepted ]]; then
            drained=$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 2))" \
                "$drain_start" "$(date +%s.%N)")
            break
        fi
        sleep 0.05
    done
    sleep 1  # a duplicate, if any, would come with the last of the replay
    local alive=1
    kill -0 "$server_pid" 2>/dev/null || alive=0
    stop_server
    redis-cli -p "$redis_port" --raw LRANGE queued_shares_list 0 -1 >"$bench_work/list.txt"
    redis-cli -p "$redis_port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$redis_pid" 2>/dev/null || true
    cp "$progress" "$out/$name-$run.progress.log"
    python3 - "$bench_work/loadgen.json" "$result" "$name" "$run" "$status" "$alive" \
        "$(((cpu_after - cpu_before)))" "$clock_ticks" "$killed_at" "$back_at" "$drained" "$progress" \
        "$bench_work/list.txt" <<'PY'
import collections, json, re, sys
src, dst, name, run, status, alive, ticks, clk, killed_at, back_at, drained, progress, listing = sys.argv[1:]
try:
    d = json.load(open(src))
except Exception as e:
    d = {"error": f"no JSON from the load generator: {e}"}
seconds = []  # (second, answered that second, worst latency that second in us)
for line in open(progress):
    m = re.match(r"\[\s*(\d+)s\] answered (\d+)/s .* max (\d+) us", line)
    if m:
        seconds.append(tuple(int(x) for x in m.groups()))
nonces = collections.Counter(json.loads(l)["nonce"] for l in open(listing) if l.strip())
d.update(case=name, run=int(run), loadgen_status=int(status), server_alive=alive == "1",
         server_cpu_s=int(ticks) / int(clk), redis_killed_at_s=int(killed_at), redis_back_at_s=int(back_at),
         drain_s=float(drained), listed=sum(nonces.values()), listed_twice=sum(1 for n in nonces.values() if n > 1),
         per_second=seconds)
json.dump(d, open(dst, "w"))
PY
}

for run in $(seq "$runs"); do
    for name in $cases; do
        echo "bench: $name, run $run of $runs" >&2
        run_case "$name" "$run"
    done
done

python3 - "$out" "$cases" <<'PY' || broken=1
import glob, json, statistics, sys
out, cases = sys.argv[1], sys.argv[2].split()
rows = [json.load(open(p)) for p in sorted(glob.glob(out + "/*-*.json"))]
json.dump(rows, open(out + "/summary.json", "w"), indent=1)

broken = []
print("| case | run | answered | answered/s (steady seconds, median) | p50 / p99 / max (ms) "
      "| worst while Redis was away (ms) | server CPU µs / share | drain after (s) | accepted → listed (twice) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in cases:
    for d in sorted((r for r in rows if r["case"] == name), key=lambda r: r["run"]):
        if "error" in d:
            broken.append(f"{name} run {d['run']}: {d['error']}")
            continue
        lat = d["latency_us"]
        killed, back = d["redis_killed_at_s"], d["redis_back_at_s"]
        # Seconds after the kill (or from the third) are the steady state of the case.
        first = killed + 2 if killed >= 0 else 3
        steady = [a for s, a, _ in d["per_second"] if s >= first and (back < 0 or s <= back)]
        rate = statistics.median(steady) if steady else d["answered_per_second"]
        away = [m for s, _, m in d["per_second"] if killed >= 0 and s > killed and (back < 0 or s <= back)]
        worst = f"{max(away) / 1000:.1f}" if away else "–"
        cpu_us = d["server_cpu_s"] * 1e6 / d["answered"] if d["answered"] else 0
        d.update(_rate=rate, _worst_ms=max(away) / 1000 if away else 0, _cpu_us=cpu_us)
        print(f"| {name} | {d['run']} | {d['answered']} | {rate:.0f} | {lat['p50'] / 1000:.1f} / "
              f"{lat['p99'] / 1000:.1f} / {lat['max'] / 1000:.1f} | {worst} | {cpu_us:.1f} | {d['drain_s']} "
              f"| {d['accepted']} → {d['listed']} ({d['listed_twice']}) |")
        why = []
        if not d["server_alive"]:
            why.append("the server died")
        refused = sum(d["rejected_by_code"].values())
        if refused:
            why.append(f"{refused} shares refused: {d['rejected_by_code']}")
        # Submits still in flight when the load generator stops are answered (and stored)
        # unseen: the list may hold up to that many more than it counted as accepted.
        unanswered = d["sent"] - d["answered"]
        if not d["accepted"] <= d["listed"] <= d["accepted"] + unanswered or d["listed_twice"]:
            why.append(f"{d['accepted']} accepted (+ {unanswered} in flight at the end) but "
                       f"{d['listed']} listed, {d['listed_twice']} twice")
        if d["mismatches"]:
            why.append(f"{d['mismatches']} mismatches")
        if why:
            broken.append(f"{name} run {d['run']}: " + "; ".join(why))
print()
for name in cases:
    ok = [r for r in rows if r["case"] == name and "error" not in r]
    if not ok:
        continue
    med = lambda f: statistics.median(f(r) for r in ok)
    print(f"{name}: medians of {len(ok)}: answered/s {med(lambda r: r['_rate']):.0f}, p50 / p99 "
          f"{med(lambda r: r['latency_us']['p50']) / 1000:.1f} / {med(lambda r: r['latency_us']['p99']) / 1000:.1f} ms, "
          f"worst while away {med(lambda r: r['_worst_ms']):.1f} ms, server CPU {med(lambda r: r['_cpu_us']):.1f} µs "
          f"a share, drain {med(lambda r: r['drain_s']):.2f} s")
for line in broken:
    print(f"bench: broken run: {line}", file=sys.stderr)
sys.exit(1 if broken else 0)
PY
echo "results: $out/summary.json" >&2
exit "$broken"
