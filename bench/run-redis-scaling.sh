#!/usr/bin/env bash
# How far one Redis carries (issue 16): the Redis work an accepted share costs, and the
# accepted shares a second one Redis takes; docs/scaling.md projects instances and miners
# from them. Two parts:
#
#   a  the server's real pattern: a private redis-server, one sharegate (Release,
#      --verifier cpu --max-target-bits 250), the load generator sending valid shares
#      (mined beforehand with sharegate-mine) open loop at RATE shares/s over CONNECTIONS
#      miners for DURATION s. Once every miner is in: CONFIG RESETSTAT and a snapshot of
#      Redis's INFO and the server's /metrics; another when the load is over and the
#      server has nothing queued for Redis. Reported: accepted shares, Redis commands per
#      accepted share by command (INFO commandstats: the calls a script makes show up as
#      their own commands, e.g. get, lpush, set under evalsha), round trips per share
#      (sharegate_redis_round_trips_total; "n/a" when this server has no such metric;
#      Redis's own count of read events, INFO total_reads_processed, beside it), Redis's
#      CPU per accepted share (INFO used_cpu_sys + used_cpu_user) and sharegate's. The
#      push pattern the server runs is read off the numbers (script calls per share ≈ 1:
#      one call a share; ≪ 1: batched claims), not assumed.
#   b  how much one Redis takes: redis-benchmark against a fresh redis-server, replaying
#      the very script the server runs (frontend/redis/claim_and_push.lua, SCRIPT LOADed,
#      called by EVALSHA) with 1, 16, 64 and 256 shares a call (VARIANTS), realistic
#      values (a claim key of 150 bytes, a 29-byte token, a 340-byte queued_shares_list
#      entry as protocol::queued_share_json writes it) and a fresh random key for every
#      share (__rand_int__, -r 2e9),
#      pipelined (-P PIPELINE, -c CLIENTS). Beside it the per-share script sharegate ran
#      before issue 16 (one EVALSHA a share), a plain LPUSH (no claim: the floor), and
#      get-unpipelined: GET challengeNumber on one connection, one command in flight (-c 1
#      -P 1; SHARES/6 calls), the way the pool back-end sends each of its own commands:
#      what Redis spends on one such command, for the back-end's share of the same Redis.
#      Each variant pushes SHARES shares on an emptied Redis (FLUSHALL before each, which
#      keeps memory bounded: about 600 bytes a share). Reported per variant, medians of
#      RUNS runs round-robin: calls/s, pushed shares/s, Redis CPU per share and the
#      shares/s one busy Redis core would take at that cost. Then the memory: bytes a
#      claim key and a list entry (INFO used_memory over MEMORY_SHARES shares, the list
#      deleted in between, and MEMORY USAGE of sample keys), and a claim held instead as
#      a field of one hash per challenge (HSET), for comparison.
#
#   bench/run-redis-scaling.sh                  # both parts (about 5 minutes on 2 cores)
#   bench/run-redis-scaling.sh --part a         # after a change to the server's push
#   RUNS=1 SHARES=200000 bench/run-redis-scaling.sh --part b
#
# Environment: part a: RATE (20000), CONNECTIONS (64), DURATION (25); part b: RUNS (3),
# VARIANTS (default "per-share:1 claim:1 claim:16 claim:64 claim:256 lpush:1
# get-unpipelined:1", each PATTERN:SHARES-A-CALL; the patterns: claim, per-share, lpush,
# get-unpipelined), SHARES (600000 a variant), CLIENTS (4), PIPELINE (16; CLIENTS=64
# PIPELINE=1 is many instances each sending one share a round trip), MEMORY_SHARES
# (100000), CLAIM_TTL_S (the claims' expiry in the benchmark, 21600: the server's default);
# SHAREGATE_BUILD, SERVER_ARGS, SERVER_TASKSET, SHAREGATE_SERVER as in bench/lib/common.sh
# (SHAREGATE_SERVER: part a against another build, e.g. one from before a change).
# Results: bench/results/redis-scaling-*/ part-a.json (with both snapshots), part-b.json,
# machine.json and summary.md (what is printed). Exit status: non-zero when part a is
# broken (a share refused, a mismatch, nothing accepted) or redis-benchmark failed.
source "$(dirname "$0")/lib/common.sh"
command -v redis-benchmark >/dev/null ||
    { echo "bench: redis-benchmark is missing (apt-get install redis-tools)" >&2; exit 1; }
parts="a b"
case ${1:-} in
    "") ;;
    --part)
        [[ ${2:-} = a || ${2:-} = b ]] || { echo "usage: $0 [--part a|b]" >&2; exit 2; }
        parts=$2
        ;;
    *) echo "usage: $0 [--part a|b]" >&2; exit 2 ;;
esac
rate=${RATE:-20000}
connections=${CONNECTIONS:-64}
duration=${DURATION:-25}
runs=${RUNS:-3}
variants=${VARIANTS:-per-share:1 claim:1 claim:16 claim:64 claim:256 lpush:1 get-unpipelined:1}
shares=${SHARES:-600000}
clients=${CLIENTS:-4}
pipeline=${PIPELINE:-16}
memory_shares=${MEMORY_SHARES:-100000}
claim_ttl_s=${CLAIM_TTL_S:-21600}
helper=$bench_root/bench/lib/redis_scaling.py
claim_script=$bench_root/frontend/redis/claim_and_push.lua

out=$(results_dir redis-scaling)
summary=$out/summary.md
broken=0
python3 - "$out/machine.json" "$bench_root" <<'PY'
import json, os, platform, subprocess, sys
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
git = lambda *a: subprocess.run(["git", "-C", sys.argv[2], *a], capture_output=True, text=True).stdout.strip()
json.dump({"nproc": os.cpu_count(), "cpu_model": model, "kernel": platform.release(),
           "loadavg": open("/proc/loadavg").read().split()[:3],
           "redis": subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.strip(),
           "commit": git("describe", "--always", "--dirty")}, open(sys.argv[1], "w"), indent=1)
PY
json_field "$out/machine.json" '"machine: %d cores, %s, load %s, %s, tree %s" % (d["nproc"], d["cpu_model"],
    " ".join(d["loadavg"]), d["redis"].split(" sha")[0], d["commit"])' | tee "$summary"
echo | tee -a "$summary"

# cpu_ticks PID: user + system time of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_part_a() {
    build_targets sharegate sharegate-loadgen sharegate-mine
    local corpus=$bench_work/corpus.jsonl corpus_size=$((rate * duration * 12 / 10))
    echo "bench: part a: mining $corpus_size valid shares..." >&2
    "$bench_build/bench/sharegate-mine" --challenge "$bench_challenge" --pool "$bench_pool" --max-target-bits 250 \
        --difficulty 1 --count "$corpus_size" --quiet --output "$corpus"
    start_redis
    start_server --max-target-bits 250 --verifier cpu --max-shares-per-challenge 4194304
    local metrics=http://127.0.0.1:$admin_port/metrics progress=$bench_work/progress.log status=0
    local before=$out/part-a-before.json after=$out/part-a-after.json cpu_before cpu_after
    echo "bench: part a: $connections miners, $rate shares/s, $duration s" >&2
    "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
        --seed-redis --corpus "$corpus" --workload valid --connections "$connections" --rate "$rate" \
        --duration "$duration" --json >"$bench_work/loadgen.json" 2>"$progress" &
    local loadgen_pid=$!
    # The window starts once every miner is in, so that it holds shares only (the seeding
    # of miner_data and the subscribes' reads are per miner, not per share).
    until grep -qs "connections subscribed" "$progress" || ! kill -0 "$loadgen_pid" 2>/dev/null; do sleep 0.01; done
    redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
    cpu_before=$(cpu_ticks "$server_pid")
    python3 "$helper" snapshot "$redis_port" "$metrics" >"$before"
    wait "$loadgen_pid" || status=$?
    # Answers still in flight when the load generator stopped are pushed after it: the
    # window ends when the server has nothing left queued for Redis.
    for _ in $(seq 600); do
        python3 "$helper" snapshot "$redis_port" "$metrics" >"$after"
        [[ $(json_field "$after" 'int(d["metrics"].get("sharegate_redis_queued_commands", 0))') = 0 ]] && break
        sleep 0.05
    done
    cpu_after=$(cpu_ticks "$server_pid")
    local entry_bytes listed
    entry_bytes=$(python3 "$helper" list-sample "$redis_port")
    listed=$(redis-cli -p "$redis_port" LLEN queued_shares_list)
    cp "$progress" "$out/part-a-progress.log"
    [[ $status = 0 ]] || echo "bench: the load generator exited with status $status" >&2
    python3 "$helper" part-a "$out/part-a.json" "$before" "$after" "$bench_work/loadgen.json" \
        "$(python3 -c "import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / int(sys.argv[3]))" \
            "$cpu_before" "$cpu_after" "$(getconf CLK_TCK)")" "$entry_bytes" "$listed" | tee -a "$summary" || broken=1
    echo | tee -a "$summary"
    stop_server
    redis-cli -p "$redis_port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
}

# bench_variant PATTERN BATCH CALLS: one redis-benchmark run on an emptied Redis; leaves
# its snapshots in $bench_work/b-before.json, b-after.json and its CSV in b.csv.
bench_variant() {
    local pattern=$1 batch=$2 calls=$3 sha argv=() start end c=$clients p=$pipeline
    case $pattern in
        claim) sha=$claim_sha ;;
        per-share) sha=$per_share_sha ;;
        get-unpipelined) sha=- c=1 p=1 ;;
        *) sha=- ;;
    esac
    mapfile -d '' argv < <(python3 "$helper" argv "$pattern" "$batch" "$sha" "$claim_ttl_s")
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
    python3 "$helper" snapshot "$redis_port" >"$bench_work/b-before.json"
    start=$(date +%s.%N)
    redis-benchmark -p "$redis_port" -c "$c" -P "$p" -n "$calls" -r 2000000000 --csv "${argv[@]}" \
        >"$bench_work/b.csv" 2>"$bench_work/b.err" || { cat "$bench_work/b.err" >&2; return 1; }
    end=$(date +%s.%N)
    python3 "$helper" snapshot "$redis_port" >"$bench_work/b-after.json"
    b_elapsed=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$end")
    b_listed=$(redis-cli -p "$redis_port" LLEN queued_shares_list)
    # A GET pushes nothing: its "shares" are its calls.
    [[ $pattern != get-unpipelined ]] || b_listed=$calls
}

# used_memory: Redis's INFO used_memory, in bytes.
used_memory() { redis-cli -p "$redis_port" INFO memory | awk -F: '/^used_memory:/ {print $2 + 0}'; }

# measure_memory: bytes a claim key and a list entry, from INFO used_memory over
# MEMORY_SHARES shares pushed by the script (64 a call), the list deleted in between; and,
# for comparison, a claim as a field of one hash per challenge (HSET, not what the server
# does: docs/scaling.md weighs it). Writes $out/part-b-memory.json.
measure_memory() {
    echo "bench: part b: memory over $memory_shares shares" >&2
    local m0 m1 m2 m3 keys entries fields sample=0
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    m0=$(used_memory)
    bench_variant claim 64 $(((memory_shares + 63) / 64)) || broken=1
    m1=$(used_memory)
    entries=$(redis-cli -p "$redis_port" LLEN queued_shares_list)
    redis-cli -p "$redis_port" DEL queued_shares_list >/dev/null
    m2=$(used_memory)
    keys=$(redis-cli -p "$redis_port" DBSIZE)
    for _ in $(seq 20); do
        sample=$((sample + $(redis-cli -p "$redis_port" MEMORY USAGE "$(redis-cli -p "$redis_port" RANDOMKEY)")))
    done
    bench_variant claim-hash 1 "$memory_shares" || broken=1
    m3=$(used_memory)
    fields=$(redis-cli -p "$redis_port" HLEN "$(redis-cli -p "$redis_port" RANDOMKEY)")
    python3 -c 'import json, sys
m0, m1, m2, m3, keys, entries, fields, sample = map(int, sys.argv[2:])
json.dump({"claim_keys": keys, "list_entries": entries, "bytes_per_claim_key": (m2 - m0) / keys,
           "bytes_per_list_entry": (m1 - m2) / entries, "memory_usage_sample": sample / 20,
           "hash_fields": fields, "bytes_per_hash_field": (m3 - m0) / fields,
           "used_memory": [m0, m1, m2, m3]}, open(sys.argv[1], "w"), indent=1)' \
        "$out/part-b-memory.json" "$m0" "$m1" "$m2" "$m3" "$keys" "$entries" "$fields" "$sample"
}

run_part_b() {
    start_redis
    claim_sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "$(cat "$claim_script")")
    per_share_sha=$(redis-cli -p "$redis_port" SCRIPT LOAD "$(python3 "$helper" per-share-script)")
    local rows=$out/part-b-rows.jsonl variant pattern batch calls
    : >"$rows"
    for run in $(seq "$runs"); do
        for variant in $variants; do
            pattern=${variant%%:*} batch=${variant##*:}
            calls=$(((shares + batch - 1) / batch))
            [[ $pattern != get-unpipelined ]] || calls=$((shares / 6))
            echo "bench: part b: $pattern, $batch a call, run $run of $runs" >&2
            bench_variant "$pattern" "$batch" "$calls" || { broken=1; continue; }
            python3 "$helper" part-b-row "$bench_work/b-before.json" "$bench_work/b-after.json" "$bench_work/b.csv" \
                "$pattern" "$batch" "$calls" "$run" "$b_elapsed" "$b_listed" >>"$rows"
        done
    done
    measure_memory
    redis-cli -p "$redis_port" FLUSHALL >/dev/null
    python3 "$helper" part-b-report "$rows" "$out/part-b-memory.json" "$out/part-b.json" | tee -a "$summary"
    echo | tee -a "$summary"
}

for part in $parts; do
    case $part in
        a) run_part_a ;;
        b) run_part_b ;;
    esac
done
echo "results: $out (summary.md, part-*.json)" >&2
exit "$broken"
