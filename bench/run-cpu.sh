#!/usr/bin/env bash
# Server CPU time per answered submit, for each workload: the figure docs/performance.md
# tracks. On a shared 2-core machine a rate depends on how much of the machine the server
# was given; CPU seconds per submit much less so. Each run starts a fresh sharegate
# (--verifier cpu --max-target-bits 250) on a Redis emptied and seeded again, drives it
# with sharegate-loadgen for DURATION s, and reads the server's, Redis's and the load
# generator's CPU time over the measured window (sharegate-loadgen --server-pid
# --redis-pid: /proc/PID/stat at both ends of the window, set-up excluded).
#
#   invalid-digest  64 connections x 32 in flight, closed loop: every submit a fresh nonce
#                   with a wrong digest (one Keccak each, answered [20,"Invalid digest"])
#   floor           the invalid-digest load on sharegate-floor (bench/floor_server.cpp)
#                   instead of sharegate: the same sockets, reads and batching, nothing
#                   parsed or verified, so what the kernel alone costs for that traffic; the
#                   summary quotes each server's invalid-digest figure as a multiple of it
#   valid           the same with fresh valid shares (mined first), each pushed to Redis
#                   before its reply
#   stale           a submit for an old challenge (no Keccak)
#   garbage         malformed lines (one in three closes the connection: reconnects count)
#   paced           invalid digests at 5 000 submits/s over 64 connections, open loop: what
#                   an operator pays all day, where every submit may pay its own wake-ups
#   floor-paced     the paced load on sharegate-floor: the kernel's share of a paced submit
#   getwork         bench/run-getwork.sh's "submit" case (HTTP submitShare, 64 keep-alive
#                   connections, one fresh valid share a request) with the same RUNS and
#                   DURATION; its own table is printed as well
#
#   bench/run-cpu.sh
#   RUNS=5 CASES="invalid-digest paced" bench/run-cpu.sh
#   SERVERS="before=/tmp/old/sharegate after=build/bench/frontend/sharegate" bench/run-cpu.sh
#
# Environment: CASES (default "invalid-digest floor valid stale garbage paced floor-paced
# getwork"), RUNS
# (default 3; medians are quoted), DURATION (seconds a run, default 5), CONNECTIONS (64),
# PACED_RATE (5000), SERVERS ("LABEL=BINARY ...", default "this=" the bench build's
# sharegate: several are measured in turn within each run, so that a before/after
# comparison shares the machine's state, in the opposite order every other run, and the
# summary gives each one's run-by-run ratio to the first; the floor is measured once a
# run, labelled "floor"), SHAREGATE_BUILD, SERVER_ARGS and SERVER_TASKSET / LOADGEN_TASKSET as in
# bench/lib/common.sh (SERVER_TASKSET pins the floor too; SERVER_ARGS are sharegate's
# alone, FLOOR_ARGS the floor's, e.g. "--threads 1" to match a sharegate run with it),
# PERF=1 (record the server with `perf record -g` during each run; CASE-LABEL-RUN.perf.txt
# holds the top of `perf report --no-children`), PERF=callers (DWARF call graphs instead:
# also CASE-LABEL-RUN.callers.txt, who calls the allocator and the mutexes, and
# CASE-LABEL-RUN.children.txt, every function by inclusive share), PERF=syscalls (count
# the server's sendto, recvfrom, epoll and futex calls with perf's tracepoints; each
# run's calls a submit in CASE-LABEL-RUN.syscalls.txt and on the terminal), PERF=allocs
# (the server's heap allocations over its life, bench/alloc_count.cpp preloaded, divided
# by the answered submits: CASE-LABEL-RUN.allocs.txt and the terminal; its CPU figures
# then include the count's atomic adds).
# Results: bench/results/cpu-*/CASE-LABEL-RUN.json (the load generator's JSON) and
# summary.md (every run, then the medians). Exit status: non-zero when a run is broken (a
# mismatch, a refused connection, the server gone).
source "$(dirname "$0")/lib/common.sh"
cases=${CASES:-invalid-digest floor valid stale garbage paced floor-paced getwork}
runs=${RUNS:-3}
duration=${DURATION:-5}
connections=${CONNECTIONS:-64}
paced_rate=${PACED_RATE:-5000}
servers=${SERVERS:-this=$bench_build/frontend/sharegate}
for name in $cases; do
    case $name in
        invalid-digest | floor | valid | stale | garbage | paced | floor-paced | getwork) ;;
        *) echo "bench: unknown case $name (invalid-digest floor valid stale garbage paced floor-paced getwork)" >&2; exit 2 ;;
    esac
done

build_targets sharegate sharegate-loadgen sharegate-mine sharegate-floor
if [[ ${PERF:-0} = allocs ]]; then
    build_targets sharegate-alloc-count
    alloc_count_lib=$bench_build/bench/libsharegate-alloc-count.so
fi
out=$(results_dir cpu)
start_redis

# Valid shares are spent one per submit and none may repeat: enough for the fastest run
# (about 200 000/s) at 2^250 targets, where a share costs ~64 hashes to mine.
corpus=$bench_work/corpus.jsonl
if [[ " $cases " = *" valid "* ]]; then
    corpus_size=$((250000 * duration))
    echo "bench: mining $corpus_size valid shares for the valid case..." >&2
    "$bench_build/bench/sharegate-mine" --challenge "$bench_challenge" --pool "$bench_pool" --max-target-bits 250 \
        --difficulty 1 --count "$corpus_size" --quiet --output "$corpus"
fi

# start_floor: sharegate-floor in sharegate's place, under the same variables (server_port,
# server_pid), so that the load generator's command and stop_server are the same for both.
# It answers what sharegate would send this run's miners (--max-target-bits 250, varDiff 1).
start_floor() {
    server_port=$(free_port)
    # shellcheck disable=SC2086
    ${SERVER_TASKSET:+taskset -c $SERVER_TASKSET} "$bench_build/bench/sharegate-floor" --port "$server_port" \
        --bind 127.0.0.1 ${FLOOR_ARGS:-} >>"$bench_work/server.log" 2>&1 &
    server_pid=$!
    bench_pids+=("$server_pid")
    wait_port "$server_port"
}

syscall_events=syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_enter_epoll_ctl
syscall_events+=,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_futex,syscalls:sys_enter_timerfd_settime
# syscalls_per_submit CSV RESULT: perf stat's counts over the run (set-up included, a few
# hundred calls) per submit the load generator saw answered.
syscalls_per_submit() {
    python3 - "$1" "$2" <<'PY'
import json, sys
answered = json.load(open(sys.argv[2]))["answered"]
counts = {}
for line in open(sys.argv[1]):
    fields = line.strip().split(",")
    if len(fields) > 2 and fields[2].startswith("syscalls:sys_enter_") and fields[0].isdigit():
        counts[fields[2][len("syscalls:sys_enter_"):]] = int(fields[0])
print("syscalls a submit: " + ", ".join(f"{name} {n / answered:.4f}" for name, n in counts.items()) +
      f" (of {answered} answered)")
PY
}

allocs_per_submit() {  # COUNTS-FILE RESULT-JSON
    python3 - "$1" "$2" <<'PY'
import json, sys
answered = json.load(open(sys.argv[2]))["answered"]
allocations, frees = map(int, open(sys.argv[1]).read().split())
print(f"heap allocations a submit {allocations / answered:.4f}, frees {frees / answered:.4f} "
      f"(over the server's life, {allocations} allocations, {answered} answered)")
PY
}

run_one() {  # CASE LABEL BINARY RUN
    local name=$1 label=$2 binary=$3 run=$4 result=$out/$1-$2-$4.json
    redis-cli -p "$redis_port" DEL queued_shares_list miner_data >/dev/null
    redis-cli -p "$redis_port" --scan --pattern 'sharegate:pushed:*' | xargs -r redis-cli -p "$redis_port" DEL >/dev/null
    # PERF=allocs: every process the server's start runs counts its allocations; the
    # server's file is the one under its pid.
    local preload=
    [[ ${PERF:-0} = allocs ]] && preload=$alloc_count_lib
    if [[ $name = floor* ]]; then
        LD_PRELOAD=$preload SHAREGATE_ALLOC_COUNT_DIR=$bench_work start_floor
    else
        LD_PRELOAD=$preload SHAREGATE_ALLOC_COUNT_DIR=$bench_work SHAREGATE_SERVER=$binary \
            start_server --max-target-bits 250 --verifier cpu
    fi
    local load=(--workload "$name" --depth 32)
    case $name in
        valid) load=(--workload valid --depth 32 --corpus "$corpus") ;;
        paced | floor-paced) load=(--workload invalid-digest --rate "$paced_rate") ;;
        # The invalid-digest case's load, unchanged: the floor answers every submit so.
        floor) load=(--workload invalid-digest --depth 32) ;;
    esac
    local perf_pid=
    case ${PERF:-0} in
        1) perf record -q -F 2999 -g -p "$server_pid" -o "$bench_work/perf.data" >/dev/null 2>&1 & perf_pid=$! ;;
        # The Release build keeps no frame pointers: DWARF unwinding finds the callers (at a
        # lower rate, since every sample copies 16 KiB of stack).
        callers)
            perf record -q -F 499 --call-graph dwarf,16384 -p "$server_pid" -o "$bench_work/perf.data" \
                >/dev/null 2>&1 &
            perf_pid=$!
            ;;
        # How many of each system call the server made: sends and reads a submit.
        syscalls)
            perf stat -x, -e "$syscall_events" -p "$server_pid" -o "$bench_work/syscalls.csv" >/dev/null 2>&1 &
            perf_pid=$!
            ;;
    esac
    # shellcheck disable=SC2086
    ${LOADGEN_TASKSET:+taskset -c $LOADGEN_TASKSET} "$bench_build/bench/sharegate-loadgen" \
        --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" --seed-redis \
        --connections "$connections" "${load[@]}" --duration "$duration" \
        --server-pid "$server_pid" --redis-pid "$redis_pid" --quiet --json \
        >"$result" 2>>"$out/loadgen.log" || true
    kill -0 "$server_pid" 2>/dev/null || echo '{"error": "the server died"}' >"$result"
    if [[ -n $perf_pid ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        case $PERF in
            syscalls)
                syscalls_per_submit "$bench_work/syscalls.csv" "$result" >"${result%.json}.syscalls.txt" || true
                sed "s/^/bench: $name $label run $run: /" "${result%.json}.syscalls.txt" >&2
                ;;
            *)
                perf report -i "$bench_work/perf.data" --no-children --percent-limit 0.7 --stdio -g none 2>/dev/null \
                    | grep -v '^$' | head -60 >"${result%.json}.perf.txt" || true
                ;;
        esac
        if [[ $PERF = callers ]]; then
            # Who calls the allocator and the locks, and the whole tree by inclusive share.
            perf report -i "$bench_work/perf.data" --no-children --stdio -g caller,0.05,callee,function,percent --percent-limit 0.5 \
                --symbols malloc,_int_malloc,_int_free,cfree@GLIBC_2.2.5,pthread_mutex_lock@@GLIBC_2.2.5,epoll_ctl \
                2>/dev/null | grep -v "^$" | head -1500 >"${result%.json}.callers.txt" || true
            perf report -i "$bench_work/perf.data" --children --stdio -g none --percent-limit 1 2>/dev/null \
                | grep -v '^$' | head -120 >"${result%.json}.children.txt" || true
        fi
    fi
    stop_server
    if [[ ${PERF:-0} = allocs ]]; then
        allocs_per_submit "$bench_work/allocs.$server_pid" "$result" >"${result%.json}.allocs.txt" || true
        sed "s/^/bench: $name $label run $run: /" "${result%.json}.allocs.txt" >&2
    fi
    printf 'bench: %-14s %-8s run %s: %s\n' "$name" "$label" "$run" "$(json_field "$result" \
        '"%.0f/s, server %.3f us/submit, mismatches %d" % (d["answered_per_second"], d["server_cpu_us_per_answered"], d["mismatches"])' \
        2>/dev/null || echo broken)" >&2
}

for run in $(seq "$runs"); do
    for name in $cases; do
        [[ $name = getwork ]] && continue
        # The floor is no server under test: once a run, between the servers' cases.
        if [[ $name = floor* ]]; then
            run_one "$name" floor "$bench_build/bench/sharegate-floor" "$run"
            continue
        fi
        # In turn, in the opposite order every other run: whichever goes second in a run
        # finds the machine as the first left it (caches, Redis, the scheduler's state).
        order=$servers
        # shellcheck disable=SC2086  # one server a word
        if ((run % 2 == 0)); then order=$(printf '%s\n' $servers | tac | tr '\n' ' '); fi
        for entry in $order; do run_one "$name" "${entry%%=*}" "${entry#*=}" "$run"; done
    done
done
broken=0
python3 - "$out" "$cases" "$servers" >"$out/summary.md" <<'PY' || broken=1
import glob, json, os, statistics, sys
out, cases, servers = sys.argv[1], sys.argv[2].split(), [s.split("=", 1)[0] for s in sys.argv[3].split()]
broken = []
def load(path):
    try:
        return json.load(open(path))
    except Exception as e:
        return {"error": str(e)}
print("| case | server | run | answered/s | server CPU µs / submit | Redis µs | load generator µs | p50 / p99 ms | mismatches |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
good = {}
for name in cases:
    if name == "getwork":
        continue
    for label in ["floor"] if name.startswith("floor") else servers:
        for path in sorted(glob.glob(f"{out}/{name}-{label}-*.json")):
            run = path.rsplit("-", 1)[1][:-5]
            d = load(path)
            why = d.get("error") or (f"{d['mismatches']} mismatches" if d["mismatches"] else None)
            if name != "garbage" and not why and d.get("disconnects"):
                why = f"{d['disconnects']} disconnects"
            if why:
                broken.append(f"{name} {label} run {run}: {why}")
                continue
            d["run"] = run
            good.setdefault((name, label), []).append(d)
            lat = d["latency_us"]
            print(f"| {name} | {label} | {run} | {d['answered_per_second']:.0f} | {d['server_cpu_us_per_answered']:.3f} "
                  f"| {d['redis_cpu_us_per_answered']:.3f} | {d['loadgen_cpu_us_per_answered']:.3f} "
                  f"| {lat['p50'] / 1000:.2f} / {lat['p99'] / 1000:.2f} | {d['mismatches']} |")
print()
print("Medians:")
print()
print("| case | server | runs | answered/s | server CPU µs / submit | Redis µs / submit | load generator µs / submit | p99 ms |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for (name, label), rows in good.items():
    med = lambda f: statistics.median(f(r) for r in rows)
    print(f"| {name} | {label} | {len(rows)} | {med(lambda r: r['answered_per_second']):.0f} "
          f"| {med(lambda r: r['server_cpu_us_per_answered']):.3f} | {med(lambda r: r['redis_cpu_us_per_answered']):.3f} "
          f"| {med(lambda r: r['loadgen_cpu_us_per_answered']):.3f} | {med(lambda r: r['latency_us']['p99']) / 1000:.2f} |")
# Issue 18: what an invalid-digest submit costs the server as a multiple of what the same
# bytes on the same sockets cost the floor (a median over a median; each run is a row above).
for case, floor_case in (("invalid-digest", "floor"), ("paced", "floor-paced")):
    floor = good.get((floor_case, "floor"))
    if not floor:
        continue
    floor_us = statistics.median(r["server_cpu_us_per_answered"] for r in floor)
    print()
    for label in servers:
        rows = good.get((case, label))
        if rows and floor_us > 0:
            us = statistics.median(r["server_cpu_us_per_answered"] for r in rows)
            print(f"Server CPU per {case} submit, {label}: {us:.3f} µs, {us / floor_us:.1f}× the floor's {floor_us:.3f} µs.")
# Each server against the first, run by run: both were measured in the same run, a few
# seconds apart, so the ratio cancels most of how fast the shared machine was that run,
# which moves the rows above by ±10 % from run to run on these VMs. The median of those
# ratios resolves a step a few per cent large that the medians above cannot.
if len(servers) > 1:
    print()
    for name in cases:
        if name == "getwork" or name.startswith("floor"):
            continue
        base = {r["run"]: r["server_cpu_us_per_answered"] for r in good.get((name, servers[0]), [])}
        for label in servers[1:]:
            ratios = sorted(r["server_cpu_us_per_answered"] / base[r["run"]]
                            for r in good.get((name, label), []) if base.get(r["run"]))
            if ratios:
                print(f"{name}, {label} / {servers[0]} server CPU per submit, run by run: median "
                      f"{statistics.median(ratios):.3f} (range {ratios[0]:.3f}–{ratios[-1]:.3f}, {len(ratios)} runs).")
for line in broken:
    print(f"bench: broken run: {line}", file=sys.stderr)
sys.exit(1 if broken else 0)
PY
cat "$out/summary.md"
if [[ " $cases " = *" getwork "* ]]; then
    # The getwork door has its own scenario (HTTP load from wrk); its submit case is this one.
    for entry in $servers; do
        echo "bench: getwork submitShare, server ${entry%%=*}" >&2
        SHAREGATE_SERVER=${entry#*=} CASES=submit CONNECTIONS=$connections RUNS=$runs DURATION=$duration \
            "$bench_root/bench/run-getwork.sh" | tail -4 || broken=1
    done
fi
echo "results: $out/summary.md" >&2
exit "$broken"
