#!/usr/bin/env bash
# The abuse defenses measured (issue 12): how long until a flooder is cut, and what an
# honest miner's latency is meanwhile. Loopback addresses are distinct peers: the honest
# miner connects from 127.0.0.1, the flooder from 127.0.0.2, and the server runs WITHOUT
# the other scenarios' 127.0.0.0/8 allow-list. Three cases, each on a fresh redis-server
# and sharegate (bans are kept in Redis, so a run must not inherit the last one's):
#
#   ban        the flooder sends only invalid digests on BAN_CONNECTIONS x BAN_DEPTH in
#              flight; the defaults apply (rate limit 100/s, burst 200, ban at 50 %
#              invalid over 50 shares), with --ban-times 600 so no ban expires mid-run
#   ban-grace  the same, but the flood starts just after a challenge change, inside the
#              grace (--ban-grace-s, 5 s) in which invalid shares do not count: what
#              cuts it then is being over the rate limit, which always counts
#   shed       the flooder is allow-listed (--allow 127.0.0.2/32: never limited or
#              banned) and floods far beyond capacity on SHED_CONNECTIONS x SHED_DEPTH;
#              the server's --max-queued-shares is MAX_QUEUED, so load shedding answers
#              [20,"Server busy"]
#
# Time to cut: from the flood's first submit until the server first closes one of its
# connections (the load generator's first_disconnect_s). There is no grace at start-up,
# so in `ban` and `shed` every share counts from the first, as for a flooder that arrives
# mid-challenge.
#
#   bench/run-defense.sh                      # each case once, 10 s
#   RUNS=3 bench/run-defense.sh
#   CASES="shed" MAX_QUEUED=1024 bench/run-defense.sh
#
# Environment: CASES (default "ban ban-grace shed"), RUNS (1), DURATION (seconds a run,
# 10), HONEST_RATE (the honest miner's shares/s, 50: under the default rate limit, since
# it is not allow-listed), BAN_CONNECTIONS (8), BAN_DEPTH (32), SHED_CONNECTIONS (256),
# SHED_DEPTH (64), MAX_QUEUED (256); SHAREGATE_BUILD, SERVER_ARGS, SERVER_TASKSET as in
# bench/lib/common.sh. Results: bench/results/defense-*/CASE-RUN.json (the load
# generator's JSON plus the server's peak RSS and ban line), summary.json.
# Exit status: non-zero only for a broken run (the server died, the honest miner had a
# share refused or its connection closed, no JSON, a ban case whose flooder was never cut).
# shellcheck disable=SC2034  # read by lib/common.sh: no --allow, the defenses apply to loopback
bench_allow=
source "$(dirname "$0")/lib/common.sh"
cases=${CASES:-ban ban-grace shed}
runs=${RUNS:-1}
duration=${DURATION:-10}
honest_rate=${HONEST_RATE:-50}
ban_connections=${BAN_CONNECTIONS:-8}
ban_depth=${BAN_DEPTH:-32}
shed_connections=${SHED_CONNECTIONS:-256}
shed_depth=${SHED_DEPTH:-64}
max_queued=${MAX_QUEUED:-256}
# A second challenge for ban-grace: any other 32 bytes would do.
next_challenge=${bench_challenge%?}f

build_targets sharegate sharegate-loadgen
out=$(results_dir defense)
broken=0

# run_case CASE RUN: one run on a fresh Redis and server; writes $out/CASE-RUN.json.
run_case() {
    local name=$1 run=$2 result=$out/$1-$2.json
    # --verifier cpu, the kernel `auto` picks on a machine without a GPU, but without
    # auto's OpenCL probe, whose libraries (PoCL, about 60 MiB) would hide the server's
    # own memory in its RSS.
    local server_opts=(--max-target-bits 250 --ban-times 600 --verifier cpu)
    local flood_opts
    case $name in
        ban | ban-grace) flood_opts=(--connections "$ban_connections" --depth "$ban_depth") ;;
        shed)
            server_opts+=(--allow 127.0.0.2/32 --max-queued-shares "$max_queued")
            flood_opts=(--connections "$shed_connections" --depth "$shed_depth")
            ;;
        *)
            echo "bench: unknown case $name (ban, ban-grace, shed)" >&2
            exit 2
            ;;
    esac
    : >"$bench_work/server.log"
    start_redis
    local redis_pid=${bench_pids[-1]}
    start_server "${server_opts[@]}"
    if [[ $name = ban-grace ]]; then
        # As the token watcher announces new work (docs/protocol.md); the grace starts now.
        redis-cli -p "$redis_port" SET challengeNumber "\"$next_challenge\"" >/dev/null
        redis-cli -p "$redis_port" PUBLISH challengeNumber "\"$next_challenge\"" >/dev/null
    fi
    local status=0 start_kib
    start_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
    "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
        --seed-redis --corpus "$bench_root/tests/vectors/valid_d1.jsonl" --workload invalid-digest \
        "${flood_opts[@]}" --source 127.0.0.2 --honest-mine --honest-source 127.0.0.1 --honest-rate "$honest_rate" \
        --duration "$duration" --quiet --json >"$bench_work/loadgen.json" 2>>"$out/loadgen.log" || status=$?
    local alive=1 peak_kib=0
    if kill -0 "$server_pid" 2>/dev/null; then
        peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
    else
        alive=0
    fi
    stop_server
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    cp "$bench_work/server.log" "$out/$name-$run.server.log"
    python3 - "$bench_work/loadgen.json" "$result" "$name" "$run" "$status" "$alive" "$start_kib" "$peak_kib" \
        "$out/$name-$run.server.log" <<'PY'
import json, sys
src, dst, name, run, status, alive, start_kib, peak_kib, log = sys.argv[1:]
try:
    d = json.load(open(src))
except Exception as e:
    d = {"error": f"no JSON from the load generator: {e}"}
d.update(case=name, run=int(run), loadgen_status=int(status), server_alive=alive == "1",
         server_start_rss_kib=int(start_kib or 0), server_peak_rss_kib=int(peak_kib or 0))
d["ban_line"] = next((l.strip() for l in open(log) if "banned 127.0.0.2" in l), None)
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

def ms(us):
    return f"{us / 1000:.1f}"

broken = []
print("| case | run | time to cut | flood answered | answered/s | rate limited | server busy | refused reconnects "
      "| honest accepted | honest p50 / p99 / max (ms) | server RSS start → peak |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name in cases:
    for d in sorted((r for r in rows if r["case"] == name), key=lambda r: r["run"]):
        if "error" in d:
            broken.append(f"{name} run {d['run']}: {d['error']}")
            continue
        h = d["honest_latency_us"]
        cut = d["first_disconnect_s"]
        print(f"| {name} | {d['run']} | {'never' if cut is None else f'{cut * 1000:.0f} ms'} | {d['answered']} "
              f"| {d['answered_per_second']:.0f} | {d['rate_limited']} | {d['server_busy']} | {d['refused']} "
              f"| {d['honest_accepted']} / {d['honest_answered']} | {ms(h['p50'])} / {ms(h['p99'])} / {ms(h['max'])} "
              f"| {d['server_start_rss_kib'] / 1024:.1f} → {d['server_peak_rss_kib'] / 1024:.1f} MiB |")
        why = []
        if not d["server_alive"]:
            why.append("the server died")
        if d["honest_rejected"] or d["honest_disconnects"] or d["honest_accepted"] == 0:
            why.append(f"honest miner: {d['honest_rejected']} refused, {d['honest_disconnects']} closes, "
                       f"{d['honest_accepted']} accepted")
        if name.startswith("ban") and cut is None:
            why.append("the flooder was never cut")
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
    cuts = [r["first_disconnect_s"] for r in ok if r["first_disconnect_s"] is not None]
    cut = f"{statistics.median(cuts) * 1000:.0f} ms" if cuts else "never"
    print(f"{name}: medians of {len(ok)}: time to cut {cut}, flood answered {med(lambda r: r['answered']):.0f} "
          f"({med(lambda r: r['answered_per_second']):.0f}/s), server busy {med(lambda r: r['server_busy']):.0f}, "
          f"honest p50 / p99 / max {ms(med(lambda r: r['honest_latency_us']['p50']))} / "
          f"{ms(med(lambda r: r['honest_latency_us']['p99']))} / {ms(med(lambda r: r['honest_latency_us']['max']))} ms, "
          f"server peak RSS {med(lambda r: r['server_peak_rss_kib']) / 1024:.1f} MiB")
    if ok[0]["ban_line"]:
        print(f"  run {ok[0]['run']}'s server log: {ok[0]['ban_line']}")
for line in broken:
    print(f"bench: broken run: {line}", file=sys.stderr)
sys.exit(1 if broken else 0)
PY
echo "results: $out/summary.json" >&2
exit "$broken"
