#!/usr/bin/env bash
# Scenario (d): server memory per idle subscribed connection, 10 000 of them opened in
# steps. Results: bench/results/idle-*/idle.json and idle.png.
#
#   bench/run-idle.sh
#
# Environment: CONNECTIONS (default 10000), STEPS (default 5).
source "$(dirname "$0")/lib/common.sh"
connections=${CONNECTIONS:-10000}
steps=${STEPS:-5}

build_targets sharegate
out=$(results_dir idle)
start_redis
# The server needs a file descriptor a connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start_server --verifier cpu
python3 "$bench_root/bench/lib/idle_miners.py" "$server_port" "$server_pid" "$connections" "$steps" \
    >"$out/idle.json"
stop_server

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
d = json.load(open(out + "/idle.json"))
with open(out + "/idle.dat", "w") as f:
    for p in d["points"]:
        f.write(f'{p["connections"]} {p["rss_kib"] / 1024}\n')
print(f'{d["connections"]} idle subscribed connections: server RSS {d["server_rss_kib_before"]} KiB -> '
      f'{d["server_rss_kib_after"]} KiB, {d["bytes_per_connection"] / 1024:.2f} KiB a connection '
      f'({d["unanswered_subscribes"]} subscribes unanswered)')
with open(out + "/plot.gp", "w") as f:
    f.write('''set terminal pngcairo size 900,600
set output "idle.png"
set title sprintf("sharegate resident memory: %.1f KiB an idle subscribed connection", ''' +
            str(d["bytes_per_connection"] / 1024) + ''')
set xlabel "idle subscribed connections"
set ylabel "server RSS (MiB)"
set grid
set key off
plot "idle.dat" using 1:2 with linespoints
''')
PY
(cd "$out" && gnuplot plot.gp)
echo "results: $out/idle.json, $out/idle.png" >&2
