#!/usr/bin/env bash
# bench/run-fanout.sh end to end, small: the scenario of issue 18 that holds 100 000 miners
# on a machine whose file limit stops a process at 20 000 by dealing the connections to
# several sharegate instances on one Redis, each with a client process of its own
# (bench/lib/fanout_miners.py). Here the same happens at a hard limit of 1 000: 1 200
# connections must go to two instances, be subscribed, and each get every PUBLISH's
# notify; and INSTANCES=1 must refuse with the reason. The script's own checks make a
# broken run exit non-zero (a server died, a connection not subscribed or not notified,
# no honest-miner result); this test checks what it reports besides.
#   fanout_test.sh BUILD_DIR   (a build with sharegate and sharegate-loadgen)
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# The capability to raise a hard limit is dropped for the script, so that the limit set
# here holds whether or not this runs as a root that has CAP_SYS_RESOURCE.
limited() {
    local drop=()
    if [[ $(id -u) = 0 ]]; then drop=(setpriv --bounding-set -sys_resource); fi
    (ulimit -n 1000 && "${drop[@]}" env SHAREGATE_BUILD="$build" SHAREGATE_BENCH_PREBUILT=1 \
        SHAREGATE_BENCH_RESULTS="$work/results" CONNECTIONS=1200 WINDOW=200 PAUSE=3 HONEST_RATE=20 "$@" \
        bash "$source_dir/bench/run-fanout.sh")
}

echo "== INSTANCES=auto under a hard limit of 1000"
status=0
PUBLISHES=2 limited >"$work/auto.out" 2>&1 || status=$?
cat "$work/auto.out"
((status == 0)) || fail "run-fanout.sh exited $status"
grep -q "1200 connections go to 2 sharegate instances on one Redis" "$work/auto.out" ||
    fail "no word of the split into two instances"
json=$(find "$work/results" -name fanout.json)
[[ -n $json ]] || fail "no fanout.json"
python3 - "$json" <<'PY' || fail "fanout.json: see above"
import json, sys
d = json.load(open(sys.argv[1]))
problems = []
def expect(what, got, want):
    if got != want:
        problems.append(f"{what}: {got!r}, expected {want!r}")
expect("instances", d.get("instances"), 2)
expect("subscribed", d.get("subscribed"), 1200)
# Dealt evenly, and each worker's connections really went to its own server.
expect("subscribed_by_server", d.get("subscribed_by_server"), [600, 600])
expect("publishes", len(d.get("publishes", [])), 2)
for i, p in enumerate(d.get("publishes", []), 1):
    expect(f"publish {i}: Redis subscribers (one a server)", p["redis_receivers"], 2)
    expect(f"publish {i}: connections", p["connections"], 1200)
    expect(f"publish {i}: notified", p["notified"], 1200)
    expect(f"publish {i}: kernel timestamps missing", p["no_kernel_timestamp"], 0)
    last = p.get("last_ms_by_server") or []
    if len(last) != 2 or any(x is None or x <= 0 for x in last):
        problems.append(f"publish {i}: last notify by server {last!r}")
    if not (p["first_ms"] or 0) > 0:
        problems.append(f"publish {i}: first notify at {p['first_ms']!r} ms after the PUBLISH")
expect("still connected at the end", d.get("still_connected"), 1200)
h = d.get("honest", {})
if not h.get("honest_answered"):
    problems.append(f"the honest miner answered nothing: {h}")
if not d.get("server_alive"):
    problems.append("a server died")
for p in problems:
    print("fanout.json: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
[[ -s $(dirname "$json")/fanout.png ]] || fail "no plot"
# The cores shared out between the two instances (THREADS=auto), as their start lines say.
want_threads=$(($(nproc) / 2))
((want_threads >= 1)) || want_threads=1
started=$(grep -c "started: .*; $want_threads I/O threads;" "$(dirname "$json")/server.log" || true)
((started == 2)) || fail "$started of 2 instances started with $want_threads I/O threads: $(grep -o '[0-9]\+ I/O threads' "$(dirname "$json")/server.log" | tr '\n' ' ')"

echo "== INSTANCES=1 under the same limit"
status=0
INSTANCES=1 PUBLISHES=1 limited >"$work/one.out" 2>&1 || status=$?
cat "$work/one.out"
((status != 0)) || fail "INSTANCES=1 ran 1200 connections under a limit of 1000"
grep -q "need 1456 open files in each server and client process, but the hard limit is 1000: INSTANCES=2" \
    "$work/one.out" || fail "INSTANCES=1 refused without saying why"
echo "PASS"
