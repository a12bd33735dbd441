#!/usr/bin/env bash
# Scenario (b): an honest miner's latency while 64 connections flood invalid digests at
# rising rates (open loop), until the server saturates. Results:
# bench/results/latency-*/points.json and latency.png.
#
#   bench/run-latency.sh
#
# Environment: RATES (offered flood submits/s, default "25000 50000 100000 150000 200000
# 250000 300000 400000"), DURATION (seconds a point, default 5), CONNECTIONS (default 64),
# HONEST_RATE (the honest miner's submits/s, default 200).
source "$(dirname "$0")/lib/common.sh"
rates=${RATES:-25000 50000 100000 150000 200000 250000 300000 400000}
duration=${DURATION:-5}
connections=${CONNECTIONS:-64}
honest_rate=${HONEST_RATE:-200}

build_targets sharegate sharegate-loadgen
out=$(results_dir latency)
start_redis
# 2^250 targets: the honest miner mines each of its shares fresh in about 64 hashes.
start_server --max-target-bits 250 --verifier cpu

points=$out/points.jsonl
: >"$points"
for rate in $rates; do
    result=$bench_work/point.json
    "$bench_build/bench/sharegate-loadgen" --target "127.0.0.1:$server_port" --redis "127.0.0.1:$redis_port" \
        --seed-redis --corpus "$bench_root/tests/vectors/valid_d1.jsonl" --connections "$connections" \
        --workload invalid-digest --rate "$rate" --duration "$duration" --honest-mine --honest-rate "$honest_rate" \
        --quiet --json >"$result" 2>>"$bench_work/loadgen.log" || true
    python3 - "$result" "$rate" >>"$points" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    d = {"error": str(e)}
d["offered_per_second"] = int(sys.argv[2])
print(json.dumps(d))
PY
    answered=$(json_field "$result" 'round(d["answered_per_second"])' 2>/dev/null || echo 0)
    printf 'offered %7s/s: answered %7s/s, honest p50 %s us p99 %s us max %s us, honest accepted %s\n' "$rate" \
        "$answered" "$(json_field "$result" 'd["honest_latency_us"]["p50"]' 2>/dev/null || echo -)" \
        "$(json_field "$result" 'd["honest_latency_us"]["p99"]' 2>/dev/null || echo -)" \
        "$(json_field "$result" 'd["honest_latency_us"]["max"]' 2>/dev/null || echo -)" \
        "$(json_field "$result" 'd["honest_accepted"]' 2>/dev/null || echo -)"
    # Saturated: the server answers clearly less than is offered. One point past it is enough.
    if ((answered * 10 < rate * 9)); then
        echo "bench: saturated at about $answered answered/s" >&2
        break
    fi
done
stop_server

python3 - "$points" "$out" <<'PY'
import json, sys
points = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
json.dump(points, open(out + "/points.json", "w"), indent=1)
with open(out + "/latency.dat", "w") as f:
    for p in points:
        if "honest_latency_us" in p:
            h = p["honest_latency_us"]
            f.write(f'{p["offered_per_second"]} {p["answered_per_second"]} {h["p50"] / 1000} {h["p99"] / 1000} {h["max"] / 1000}\n')
with open(out + "/plot.gp", "w") as f:
    f.write('''set terminal pngcairo size 1000,650
set output "latency.png"
set title "honest miner latency under an invalid-digest flood (64 connections)"
set xlabel "flood submits/s offered"
set ylabel "honest reply latency (ms)"
set y2label "flood submits/s answered"
set ytics nomirror
set y2tics
set grid
set key top left
plot "latency.dat" using 1:3 with linespoints title "honest p50", \\
     "latency.dat" using 1:4 with linespoints title "honest p99", \\
     "latency.dat" using 1:2 axes x1y2 with linespoints dashtype 2 title "answered/s (right axis)"
''')
PY
(cd "$out" && gnuplot plot.gp)
echo "results: $out/points.json, $out/latency.png" >&2
