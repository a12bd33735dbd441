#!/usr/bin/env bash
# Scenario (c): the verification backends compared, from sharegate-bench: every backend
# this build has, round-robin in one process, every verdict checked; then the batch-size
# sweep (end-to-end and kernel-only rates). Results: bench/results/backends-*/.
#
#   bench/run-backends.sh
#
# Environment: SHARES (default 2097152), SWEEP_MAX (largest sweep batch, default 1048576;
# 16777216 on a GPU machine).
source "$(dirname "$0")/lib/common.sh"
shares=${SHARES:-2097152}
sweep_max=${SWEEP_MAX:-1048576}

build_targets sharegate-bench
out=$(results_dir backends)
bench=$bench_build/bench/sharegate-bench
"$bench" --backend=all --check --shares "$shares" --json >"$out/backends.json"
"$bench" --backend=all --check --shares "$shares"
"$bench" --sweep --sweep-max "$sweep_max" --backend=all --check --runs 5 --json >"$out/sweep.json"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
backends = json.load(open(out + "/backends.json"))
with open(out + "/backends.dat", "w") as f:
    for b in backends:
        f.write(f'"{b["backend"]}" {b["shares_per_second"] / 1e6}\n')
sweep = json.load(open(out + "/sweep.json"))
lines = []
for b in sweep:
    name = b["backend"]
    with open(f"{out}/sweep-{name}.dat", "w") as f:
        for p in b["points"]:
            kernel = p["kernel_only_shares_per_second"]
            f.write(f'{p["batch"]} {p["end_to_end_shares_per_second"] / 1e6} {kernel / 1e6 if kernel else "NaN"}\n')
    lines.append(f'"sweep-{name}.dat" using 1:2 with linespoints title "{name} end-to-end"')
    if any(p["kernel_only_shares_per_second"] for p in b["points"]):
        lines.append(f'"sweep-{name}.dat" using 1:3 with linespoints dashtype 2 title "{name} kernel only"')
with open(out + "/plot.gp", "w") as f:
    f.write('''set terminal pngcairo size 1000,650
set output "backends.png"
set title "verification backends (median of round-robin runs, verdicts checked)"
set ylabel "million shares/s"
set style fill solid 0.6
set boxwidth 0.6
set grid y
set yrange [0:*]
plot "backends.dat" using 0:2:xtic(1) with boxes notitle
set output "sweep.png"
set title "shares/s against batch size"
set logscale x 2
set xlabel "shares a batch"
set key top left
set autoscale x
plot ''' + ", ".join(lines) + "\n")
PY
(cd "$out" && gnuplot plot.gp)
echo "results: $out/backends.json, $out/sweep.json, $out/backends.png, $out/sweep.png" >&2
