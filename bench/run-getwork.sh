#!/usr/bin/env bash
# The getwork door's throughput (issue 14): HTTP JSON-RPC requests a second over keep-alive
# connections, their latency, and the server's CPU time a request, next to the stratum
# door under the same one-request-in-flight-per-connection load. Every case starts a fresh
# sharegate (--verifier cpu --max-target-bits 250, no submit rate limit: all the load comes
# from one address) on a Redis emptied and seeded again (FLUSHALL: the pushed-share keys of
# a previous case would make its replayed shares "already pushed"), CONNECTIONS
# connections each, DURATION s:
#
#   ping     POST {"jsonrpc":"2.0","id":1,"method":"ping"}, the same body every time: the
#            cost of HTTP + JSON-RPC with nothing behind it
#   submit   one submitShare a request, each a fresh valid share (2^250 targets, mined
#            beforehand with sharegate-mine), every wrk thread its own miner at varDiff 1
#   batch4   four submitShares a request, as one JSON-RPC batch array
#   stratum  sharegate-loadgen on the stratum door, --depth 1 (one submit in flight a
#            connection, as an HTTP/1.1 keep-alive connection without pipelining has),
#            the same corpus: what the same shares cost through the other door
#
# The load tool is wrk (Debian package `wrk`) rather than the load generator in an HTTP
# mode or h2load: its Lua script (bench/lib/getwork_load.lua) builds every request's body
# afresh, which submitShare needs (a valid share may be submitted once; the second time it
# is a duplicate, answered false), and counts the true/false answers in response(). After
# each submit case the script checks that queued_shares_list holds every share answered
# true, none twice, and no more than those plus the submits still in flight when wrk
# stopped (they are answered, and stored, after it stopped counting).
#
#   bench/run-getwork.sh
#   RUNS=3 bench/run-getwork.sh                   # what docs/performance.md quotes
#   CASES="ping submit" CONNECTIONS=64 DURATION=5 bench/run-getwork.sh
#
# Environment: CASES (default "ping submit batch4 stratum"), CONNECTIONS (default "16
# 64"), DURATION (seconds a case, 10), RUNS (1), WRK_THREADS (wrk threads, 2; at most the
# smallest CONNECTIONS), CORPUS (valid shares to mine, 1000000: each wrk thread replays its
# own slice once, and a thread whose slice runs out stops; that run is broken, raise
# CORPUS); SHAREGATE_BUILD, SERVER_ARGS, SERVER_TASKSET as in bench/lib/common.sh.
# Results: bench/results/getwork-*/CASE-cCONNECTIONS-RUN.json (wrk's or the load
# generator's numbers, the server's and Redis's CPU time, the list check), summary.json.
# Exit status: non-zero for a broken run (the server died, a connection or HTTP error, a
# share answered false, a slice exhausted, a share answered true missing from the list or
# in it twice).
source "$(dirname "$0")/lib/common.sh"
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
cases=${CASES:-ping submit batch4 stratum}
connections=${CONNECTIONS:-16 64}
duration=${DURATION:-10}
runs=${RUNS:-1}
wrk_threads=${WRK_THREADS:-2}
corpus_size=${CORPUS:-1000000}
lua=$bench_root/bench/lib/getwork_load.lua
for name in $cases; do
    case $name in
        ping | submit | batch4 | stratum) ;;
        *) echo "bench: unknown case $name (ping, submit, batch4, stratum)" >&2; exit 2 ;;
    esac
done
for conns in $connections; do
    # wrk gives each thread connections / threads connections: none would be an idle thread.
    (( wrk_threads <= conns )) || { echo "bench: WRK_THREADS ($wrk_threads) exceeds CONNECTIONS $conns" >&2; exit 2; }
done

targets=(sharegate sharegate-mine)
[[ " $cases " = *" stratum "* ]] && targets+=(sharegate-loadgen)
build_targets "${targets[@]}"
out=$(results_dir getwork)
broken=0
clock_ticks=$(getconf CLK_TCK)

corpus=$bench_work/corpus.jsonl
echo "bench: mining $corpus_size valid shares..." >&2
"$bench_build/bench/sharegate-mine" --challenge "$bench_challenge" --pool "$bench_pool" --max-target-bits 250 \
    --difficulty 1 --count "$corpus_size" --quiet --output "$corpus"
# Each wrk thread's slice, round-robin, as the fixed-width records getwork_load.lua reads.
slices=$bench_work/slice-
python3 - "$corpus" "$slices" "$wrk_threads" <<'PY'
import json, sys
corpus, prefix, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
outs = [open(f"{prefix}{i + 1}.txt", "w") for i in range(threads)]
for n, line in enumerate(open(corpus)):
    share = json.loads(line)
    assert len(share["nonce"]) == 66 and len(share["digest"]) == 66, line
    outs[n % threads].write(f"{share['nonce']} {share['digest']}\n")
PY

start_redis
redis_pid=${bench_pids[-1]}

# reset_redis: an empty Redis with the challenge and the wrk threads' miners at varDiff 1.
reset_redis() {
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    redis-cli -p "$redis_port" SET challengeNumber "\"$bench_challenge\"" >/dev/null
    redis-cli -p "$redis_port" SET ethBlockNumber 5600000 >/dev/null
    local thread
    for thread in $(seq "$wrk_threads"); do
        # The address getwork_load.lua's miner_of() gives the thread.
        redis-cli -p "$redis_port" HSET miner_data "$(printf '0x%040x' $((0xa0000 + thread)))" \
            '{"shareCredits":0,"tokenBalance":0,"tokensAwarded":0,"varDiff":1,"validSubmittedSolutionsCount":0}' >/dev/null
    done
}

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_case CASE CONNECTIONS RUN: writes $out/CASE-cCONNECTIONS-RUN.json.
run_case() {
    local name=$1 conns=$2 run=$3 result=$out/$1-c$2-$3.json raw=$bench_work/raw.json status=0
    reset_redis
    : >"$bench_work/server.log"
    rm -f "$raw"
    start_server --max-target-bits 250 --verifier cpu --max-submits-per-s 0 --max-shares-per-challenge 4194304
    wait_port "$getwork_port"
    local server_before redis_before server_after redis_after load
    # The 1-minute load average as the case starts: on a shared machine, how busy it was.
    load=$(cut -d' ' -f1 /proc/loadavg)
    server_before=$(cpu_ticks "$server_pid")
    redis_before=$(cpu_ticks "$redis_pid")
    # The load tool's CPU time: `times` (this shell's waited-for children, so far) right
    # before and after it, nothing else run in between; read afterwards.
    times >"$bench_work/times-before"
    local url=http://127.0.0.1:$getwork_port/ wrk_opts=(-t "$wrk_threads" -c "$conns" -d "${duration}s" --timeout 10s -s "$lua")
    case $name in
        ping) GETWORK_RESULT=$raw wrk "${wrk_opts[@]}" "$url" -- ping >"$bench_work/wrk.log" 2>&1 || status=$? ;;
        submit | batch4)
            local per_request=1
            [[ $name = batch4 ]] && per_request=4
            GETWORK_RESULT=$raw wrk "${wrk_opts[@]}" "$url" -- submit "$slices" "$per_request" "$bench_challenge" \
                >"$bench_work/wrk.log" 2>&1 || status=$?
            ;;
        stratum)
            "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
                --seed-redis --corpus "$corpus" --workload valid --connections "$conns" --depth 1 \
                --duration "$duration" --quiet --json >"$raw" 2>"$bench_work/loadgen.log" || status=$?
            ;;
    esac
    times >"$bench_work/times-after"
    server_after=$(cpu_ticks "$server_pid" 2>/dev/null || echo "$server_before")
    redis_after=$(cpu_ticks "$redis_pid")
    # The submits in flight when the load stopped are still answered and stored: let them.
    sleep 1
    local alive=1
    kill -0 "$server_pid" 2>/dev/null || alive=0
    stop_server
    redis-cli -p "$redis_port" --raw LRANGE queued_shares_list 0 -1 >"$bench_work/list.txt"
    python3 - "$raw" "$result" "$name" "$conns" "$run" "$status" "$alive" "$((server_after - server_before))" \
        "$((redis_after - redis_before))" "$clock_ticks" "$bench_work/list.txt" "$load" \
        "$bench_work/times-before" "$bench_work/times-after" <<'PY'
import collections, json, re, sys
src, dst, name, conns, run, status, alive, server_ticks, redis_ticks, clk, listing, load, t0, t1 = sys.argv[1:]
def children_cpu_s(path):  # the second line of `times`: children's user and system time
    return sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", open(path).read().splitlines()[1]))
try:
    raw = json.load(open(src))
except Exception as e:
    raw = {"error": f"no JSON from the load tool: {e}"}
d = {"case": name, "connections": int(conns), "run": int(run), "tool_status": int(status),
     "server_alive": alive == "1", "server_cpu_s": int(server_ticks) / int(clk),
     "redis_cpu_s": int(redis_ticks) / int(clk), "load_average_1min": float(load),
     "client_cpu_s": round(children_cpu_s(t1) - children_cpu_s(t0), 3), "raw": raw}
if "error" in raw:
    d["error"] = raw["error"]
elif name == "stratum":
    # One request is one submit; shares "in flight" are those sent but not answered.
    d.update(requests=raw["answered"], requests_per_second=raw["answered_per_second"],
             calls=raw["answered"], answered_true=raw["accepted"],
             answered_false=sum(raw["rejected_by_code"].values()) + raw["mismatches"],
             in_flight_at_end=raw["sent"] - raw["answered"], latency_us=raw["latency_us"],
             tool_errors=raw["disconnects"], exhausted=0)
else:
    per_request = 4 if name == "batch4" else 1
    errors = sum(raw["errors"].values()) + raw["not_ok"]
    d.update(requests=raw["requests"], requests_per_second=raw["requests_per_second"],
             # ping: one call a request; submits: the true/false answers counted.
             calls=raw["requests"] if name == "ping" else raw["answered_true"] + raw["answered_false"],
             answered_true=raw["answered_true"], answered_false=raw["answered_false"],
             # Requests built and not answered; one of them, wrk's check of the script
             # before the run, was never sent: an upper bound.
             in_flight_at_end=(raw["built"] - raw["answered"]) * per_request if name != "ping" else 0,
             latency_us=raw["latency_us"], tool_errors=errors, exhausted=raw["exhausted_threads"])
if "error" not in d:
    d["calls_per_second"] = d["calls"] / (d["requests"] / d["requests_per_second"]) if d["requests"] else 0
nonces = collections.Counter(json.loads(l)["nonce"] for l in open(listing) if l.strip())
d.update(listed=sum(nonces.values()), listed_twice=sum(1 for n in nonces.values() if n > 1))
json.dump(d, open(dst, "w"))
PY
    cp "$bench_work/server.log" "$out/$name-c$conns-$run.server.log"
}

for run in $(seq "$runs"); do
    for name in $cases; do
        for conns in $connections; do
            echo "bench: $name, $conns connections, run $run of $runs" >&2
            run_case "$name" "$conns" "$run"
        done
    done
done

python3 - "$out" "$cases" "$connections" <<'PY' || broken=1
import glob, json, statistics, sys
out, cases, connections = sys.argv[1], sys.argv[2].split(), [int(c) for c in sys.argv[3].split()]
rows = [json.load(open(p)) for p in sorted(glob.glob(out + "/*-c*-*.json"))]
json.dump(rows, open(out + "/summary.json", "w"), indent=1)

broken = []
def cpu_us(d, key):  # CPU time per answered call (a ping or a share), in microseconds
    return d[key] * 1e6 / d["calls"] if d["calls"] else 0

print("| case | connections | run | requests/s | calls/s | p50 / p99 / max (ms) | server CPU µs / call "
      "| Redis CPU µs / call | load tool CPU µs / call | true → listed (twice) | load avg |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in cases:
    for conns in connections:
        for d in sorted((r for r in rows if r["case"] == name and r["connections"] == conns), key=lambda r: r["run"]):
            where = f"{name}, {conns} connections, run {d['run']}"
            if "error" in d:
                broken.append(f"{where}: {d['error']}")
                continue
            lat = d["latency_us"]
            listed = f"{d['answered_true']} → {d['listed']} ({d['listed_twice']})" if name != "ping" else "–"
            print(f"| {name} | {conns} | {d['run']} | {d['requests_per_second']:.0f} | {d['calls_per_second']:.0f} "
                  f"| {lat['p50'] / 1000:.2f} / {lat['p99'] / 1000:.2f} / {lat['max'] / 1000:.1f} "
                  f"| {cpu_us(d, 'server_cpu_s'):.1f} | {cpu_us(d, 'redis_cpu_s'):.1f} | {cpu_us(d, 'client_cpu_s'):.1f} "
                  f"| {listed} | {d['load_average_1min']} |")
            why = []
            if not d["server_alive"]:
                why.append("the server died")
            if d["tool_status"]:
                why.append(f"the load tool exited {d['tool_status']}")
            if d["tool_errors"]:
                why.append(f"{d['tool_errors']} connection or HTTP errors: {d['raw'].get('errors')}")
            if d["answered_false"]:
                why.append(f"{d['answered_false']} shares answered false (or not as expected)")
            if d["exhausted"]:
                why.append(f"{d['exhausted']} wrk threads ran out of shares (raise CORPUS)")
            if name == "ping":
                if d["listed"]:
                    why.append(f"{d['listed']} shares listed after pings")
            elif not d["answered_true"] <= d["listed"] <= d["answered_true"] + d["in_flight_at_end"] \
                    or d["listed_twice"]:
                why.append(f"{d['answered_true']} answered true (+ {d['in_flight_at_end']} in flight at the end) "
                           f"but {d['listed']} listed, {d['listed_twice']} twice")
            if why:
                broken.append(f"{where}: " + "; ".join(why))
print()
print("| case | connections | runs | requests/s | calls/s | p50 / p99 (ms) | server CPU µs / call | Redis CPU µs / call "
      "| load tool CPU µs / call |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in cases:
    for conns in connections:
        ok = [r for r in rows if r["case"] == name and r["connections"] == conns and "error" not in r]
        if not ok:
            continue
        med = lambda f: statistics.median(f(r) for r in ok)
        print(f"| {name} | {conns} | {len(ok)} | {med(lambda r: r['requests_per_second']):.0f} "
              f"| {med(lambda r: r['calls_per_second']):.0f} | {med(lambda r: r['latency_us']['p50']) / 1000:.2f} / "
              f"{med(lambda r: r['latency_us']['p99']) / 1000:.2f} | {med(lambda r: cpu_us(r, 'server_cpu_s')):.1f} "
              f"| {med(lambda r: cpu_us(r, 'redis_cpu_s')):.1f} | {med(lambda r: cpu_us(r, 'client_cpu_s')):.1f} |")
for line in broken:
    print(f"bench: broken run: {line}", file=sys.stderr)
sys.exit(1 if broken else 0)
PY
echo "results: $out/summary.json" >&2
exit "$broken"
