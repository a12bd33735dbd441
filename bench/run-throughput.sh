#!/usr/bin/env bash
# Scenario (a): submits answered per second against connection count and server batch
# size, for each workload. Results: bench/results/throughput-*/points.json and .png.
#
#   bench/run-throughput.sh
#
# Environment: DURATION (seconds a point, default 3), CONNECTIONS (default
# "1 8 64 256 1024"), BATCHES (server --batch-size values, default "64 4096"),
# WORKLOADS (default "valid invalid-digest stale duplicate garbage"), DEPTH (default 32).
source "$(dirname "$0")/lib/common.sh"
duration=${DURATION:-3}
connections=${CONNECTIONS:-1 8 64 256 1024}
batches=${BATCHES:-64 4096}
workloads=${WORKLOADS:-valid invalid-digest stale duplicate garbage}
depth=${DEPTH:-32}

build_targets sharegate sharegate-loadgen sharegate-mine
out=$(results_dir throughput)
start_redis

# Valid shares are consumed, one per submit, and none may repeat: mine enough for the
# fastest point (about 250 000/s) at 2^250 targets, where a share costs ~64 hashes.
corpus=$bench_work/corpus.jsonl
corpus_size=$((300000 * duration))
echo "bench: mining $corpus_size valid shares for the valid workload..." >&2
"$bench_build/bench/sharegate-mine" --challenge "$bench_challenge" --pool "$bench_pool" --max-target-bits 250 \
    --difficulty 1 --count "$corpus_size" --quiet --output "$corpus"

points=$out/points.jsonl
: >"$points"
for batch in $batches; do
    for workload in $workloads; do
        for conns in $connections; do
            # A fresh server a point: the valid and duplicate workloads replay the same
            # corpus, and shares a previous point submitted would be duplicates now.
            start_server --max-target-bits 250 --batch-size "$batch" --verifier cpu
            result=$bench_work/point.json
            "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
                --seed-redis --corpus "$corpus" --connections "$conns" --workload "$workload" --depth "$depth" \
                --duration "$duration" --quiet --json >"$result" 2>>"$bench_work/loadgen.log" || true
            python3 - "$result" "$workload" "$conns" "$batch" >>"$points" <<'PY'
import json, sys
path, workload, conns, batch = sys.argv[1:]
try:
    d = json.load(open(path))
except Exception as e:  # a failed run is a point with no rate, not a crash of the sweep
    d = {"error": str(e)}
d.update({"workload": workload, "connections": int(conns), "batch_size": int(batch)})
print(json.dumps(d))
PY
            printf 'batch %5s  %-15s %5s conns: %s answered/s, p99 %s us, mismatches %s\n' "$batch" "$workload" \
                "$conns" "$(json_field "$result" 'round(d["answered_per_second"])' 2>/dev/null || echo -)" \
                "$(json_field "$result" 'd["latency_us"]["p99"]' 2>/dev/null || echo -)" \
                "$(json_field "$result" 'd["mismatches"]' 2>/dev/null || echo -)"
            stop_server
            redis-cli -p "$redis_port" DEL queued_shares_list >/dev/null
        done
    done
done

python3 - "$points" "$out" <<'PY'
import json, sys, collections
points = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
series = collections.defaultdict(list)
for p in points:
    if "answered_per_second" in p:
        series[(p["workload"], p["batch_size"])].append((p["connections"], p["answered_per_second"]))
with open(out + "/points.json", "w") as f:
    json.dump(points, f, indent=1)
names = []
for (workload, batch), values in sorted(series.items()):
    name = f"{workload}-batch{batch}"
    names.append((name, f"{workload}, batch {batch}"))
    with open(f"{out}/{name}.dat", "w") as f:
        for c, r in sorted(values):
            f.write(f"{c} {r}\n")
with open(out + "/plot.gp", "w") as f:
    f.write('set terminal pngcairo size 1000,650\nset output "throughput.png"\n')
    f.write('set title "sharegate: submits answered per second"\nset logscale x 2\n')
    f.write('set xlabel "connections"\nset ylabel "answered submits/s"\nset key outside right\nset grid\n')
    f.write("plot " + ", ".join(f'"{n}.dat" using 1:2 with linespoints title "{t}"' for n, t in names) + "\n")
PY
(cd "$out" && gnuplot plot.gp)
echo "results: $out/points.json, $out/throughput.png" >&2
