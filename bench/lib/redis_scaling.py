#!/usr/bin/env python3
"""The numbers behind bench/run-redis-scaling.sh (issue 16): how much Redis work one
accepted share costs, and how many shares a second one Redis takes.

The shell script starts the processes. This file reads Redis (INFO and the list's length
in one MULTI, over a minimal RESP client of its own) and sharegate's /metrics, builds the
redis-benchmark command lines that replay the server's own script, and turns before/after
snapshots into the rows and tables the script prints.

    redis_scaling.py snapshot PORT [METRICS_URL]          a JSON snapshot on stdout
    redis_scaling.py argv PATTERN BATCH SHA TTL           redis-benchmark's command, NUL-separated
    redis_scaling.py per-share-script                     the per-share script, for SCRIPT LOAD
    redis_scaling.py list-sample PORT                     mean bytes of queued_shares_list entries
    redis_scaling.py part-a OUT BEFORE AFTER LOADGEN SERVER_CPU_S ENTRY_BYTES LISTED
    redis_scaling.py part-b-row BEFORE AFTER CSV PATTERN BATCH CALLS RUN ELAPSED_S LISTED
    redis_scaling.py part-b-report ROWS MEMORY OUT

Everything a report prints is also written as JSON next to it.
"""

import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

# The per-share script sharegate ran before issue 16 (docs/protocol.md, "Pushed-share
# keys", as it stood): one EVALSHA a share. Kept here as the comparison the issue asks
# for; the batched script is read from frontend/redis/claim_and_push.lua by the caller.
PER_SHARE_SCRIPT = """if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
return 1"""

# Realistic values, sized as the server writes them. redis-benchmark replaces every
# __rand_int__ with its own random 12-digit number, so each share of a call gets its own
# claim key. The seed's challenge and pool (docs/protocol.md section 1).
CHALLENGE = "0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"
MINER = "0x1b7bfb694ee51913c347971c7090a74aefbd41f6"
RAND = "__rand_int__"  # 12 characters once replaced
NONCE = "0x" + "0" * 52 + RAND  # 66 characters, like a real nonce
CLAIM_KEY = f"sharegate:pushed:{CHALLENGE}:{NONCE}"  # 150 bytes, as ShareIntake::share_key
TOKEN = "3f9a0c1e5b7d2468." + RAND  # 29 bytes: an instance's random prefix, a dot, a count in hex
ENTRY = (  # a queued_shares_list entry (protocol::queued_share_json): 340 bytes
    '{"block":5600000,"nonce":"' + NONCE + '","minerEthAddress":"' + MINER + '","challengeNumber":"' + CHALLENGE +
    '","digest":"0x00000000' + "3d9f" * 14 + '","difficulty":4000}')
LIST = "queued_shares_list"

# Commands this tooling sends itself (snapshots, checks): not the server's traffic.
INSTRUMENTATION = {"info", "multi", "exec", "config|resetstat", "config|get", "llen", "lrange", "lindex", "dbsize",
                   "ping", "script|load", "flushall", "memory|usage", "randomkey", "del", "hlen"}


def redis_cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], check=True, capture_output=True,
                          text=True).stdout


def redis_call(port, *commands):
    """The replies to COMMANDS (each a list of arguments), sent in one write: a minimal
    RESP client, so that a snapshot's commands can go in one MULTI/EXEC."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=30) as sock:
        wire = b""
        for args in commands:
            wire += b"*%d\r\n" % len(args)
            for a in args:
                a = a.encode()
                wire += b"$%d\r\n%s\r\n" % (len(a), a)
        sock.sendall(wire)
        reader = sock.makefile("rb")

        def read():
            line = reader.readline()
            kind, rest = line[:1], line[1:-2]
            if kind == b"+":
                return rest.decode()
            if kind == b"-":
                raise RuntimeError(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else reader.read(n + 2)[:-2].decode()
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [read() for _ in range(n)]
            raise RuntimeError(f"unexpected reply {line!r}")

        return [read() for _ in commands]


def parse_info(text):
    info, commands = {}, {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, value = line.split(":", 1)
        if key.startswith("cmdstat_"):
            fields = dict(part.split("=", 1) for part in value.split(","))
            commands[key[len("cmdstat_"):]] = {"calls": int(fields["calls"]), "usec": int(fields["usec"])}
            continue
        try:
            info[key] = float(value) if "." in value else int(value)
        except ValueError:
            info[key] = value
    return info, commands


METRIC_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$")


def read_metrics(url):
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    series = {}
    for line in text.splitlines():
        m = METRIC_LINE.match(line)
        if m:
            series[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return series


def snapshot(port, metrics_url=None):
    # INFO and the list's length in one transaction: the shares listed in a window are
    # counted at the very instant its commands and CPU are.
    replies = redis_call(port, ["MULTI"], ["INFO", "everything"], ["LLEN", LIST], ["EXEC"])
    info_text, listed = replies[-1]
    info, commands = parse_info(info_text)
    shot = {"time": time.time(), "info": info, "commandstats": commands, "listed": listed}
    if metrics_url:
        shot["metrics"] = read_metrics(metrics_url)
    return shot


def redis_cpu_s(shot):
    return shot["info"]["used_cpu_sys"] + shot["info"]["used_cpu_user"]


def metric_sum(shot, name, label_filter=""):
    """Sum of every series of NAME whose labels contain LABEL_FILTER; None when absent."""
    values = [v for k, v in shot.get("metrics", {}).items()
              if (k == name or k.startswith(name + "{")) and label_filter in k]
    return sum(values) if values else None


def command_deltas(before, after):
    out = {}
    for name, stats in after["commandstats"].items():
        prior = before["commandstats"].get(name, {"calls": 0, "usec": 0})
        calls = stats["calls"] - prior["calls"]
        if calls > 0:
            out[name] = {"calls": calls, "usec": stats["usec"] - prior["usec"]}
    return out


def benchmark_argv(pattern, batch, sha, ttl):
    if pattern == "claim":  # frontend/redis/claim_and_push.lua: the batch in one call
        argv = ["EVALSHA", sha, str(1 + batch), LIST] + [CLAIM_KEY] * batch + [ttl]
        for _ in range(batch):
            argv += [TOKEN, ENTRY]
        return argv
    if pattern == "per-share":  # PER_SHARE_SCRIPT: one call a share
        if batch != 1:
            raise SystemExit("bench: the per-share script takes one share a call (per-share:1)")
        return ["EVALSHA", sha, "2", CLAIM_KEY, LIST, ENTRY, ttl]
    if pattern == "lpush":  # no claim at all: the floor of what pushing costs
        return ["LPUSH", LIST] + [ENTRY] * batch
    if pattern == "claim-hash":  # a claim as a field of one hash per challenge (memory comparison)
        return ["HSET", "sharegate:claims:{" + CHALLENGE + "}", NONCE, TOKEN]
    if pattern == "get-unpipelined":  # one small command at a time, as the back-end sends its own
        return ["GET", "challengeNumber"]
    raise SystemExit(f"bench: unknown pattern {pattern} (claim, per-share, lpush, get-unpipelined)")


def list_sample(port):
    lines = [l for l in redis_cli(port, "--raw", "LRANGE", LIST, "0", "999").splitlines() if l]
    return statistics.mean(len(l.encode()) for l in lines) if lines else 0


def fmt(value, digits=2):
    return "n/a" if value is None else f"{value:,.{digits}f}".replace(",", " ")


def part_a(out, before_path, after_path, loadgen_path, server_cpu_s, entry_bytes, listed):
    before, after = json.load(open(before_path)), json.load(open(after_path))
    try:
        loadgen = json.load(open(loadgen_path))
    except Exception as e:  # a broken run still reports what Redis saw
        loadgen = {"error": f"no JSON from the load generator: {e}"}
    seconds = after["time"] - before["time"]
    delta = lambda name, f="": (None if metric_sum(after, name, f) is None else
                                metric_sum(after, name, f) - (metric_sum(before, name, f) or 0))
    accepted = delta("sharegate_submits_total", 'verdict="accepted"')
    pushed = delta("sharegate_redis_shares_pushed_total")
    round_trips = delta("sharegate_redis_round_trips_total")
    # The denominator: the shares that reached the list in the window, counted in the same
    # MULTI as Redis's commands and CPU (every accepted share is listed once; /metrics is
    # read a few milliseconds after, so its accepted count is a cross-check only).
    shares = after["listed"] - before["listed"]
    redis_counters = {k.split("{")[0]: v - before["metrics"].get(k, 0) for k, v in after["metrics"].items()
                      if k.startswith("sharegate_redis_") and k.endswith("_total")}
    commands = command_deltas(before, after)
    server_commands = {k: v for k, v in commands.items() if k not in INSTRUMENTATION}
    reads = after["info"]["total_reads_processed"] - before["info"]["total_reads_processed"]
    writes = after["info"]["total_writes_processed"] - before["info"]["total_writes_processed"]
    cpu = redis_cpu_s(after) - redis_cpu_s(before)
    per = lambda x: None if x is None or not shares else x / shares
    result = {
        "seconds": seconds, "shares": shares, "accepted": accepted, "pushed": pushed, "listed_total": listed,
        "shares_per_s": shares / seconds if seconds else None,
        "commands_per_share": {k: v["calls"] / shares for k, v in server_commands.items()} if shares else {},
        "command_usec_per_share": {k: v["usec"] / shares for k, v in server_commands.items()} if shares else {},
        "redis_commands_per_share": per(sum(v["calls"] for v in server_commands.values())),
        "round_trips_metric": round_trips,
        "round_trips_per_share": per(round_trips),
        "shares_per_round_trip": shares / round_trips if shares and round_trips else None,
        "redis_reads_processed": reads, "redis_writes_processed": writes,
        "shares_per_redis_read": shares / reads if shares and reads else None,
        "redis_cpu_s": cpu, "redis_cpu_us_per_share": per(cpu * 1e6),
        "redis_cpu_busy": cpu / seconds if seconds else None,
        "server_cpu_us_per_share": per(server_cpu_s * 1e6),
        "entry_bytes": entry_bytes, "sharegate_redis_counters": redis_counters,
        "loadgen": loadgen, "commands": commands,
    }
    json.dump(result, open(out, "w"), indent=1)

    evalsha = result["commands_per_share"].get("evalsha", 0) + result["commands_per_share"].get("eval", 0)
    observed = ("per-share push (one script call a share)" if evalsha > 0.5 else
                f"batched claims (one script call per {1 / evalsha:.1f} shares)" if evalsha else "no script calls")
    print(f"part a: one sharegate, {fmt(result['shares_per_s'], 0)} accepted shares/s for {seconds:.1f} s: "
          f"{shares} listed in the window ({fmt(accepted, 0)} accepted, {fmt(pushed, 0)} pushed by /metrics); "
          f"pattern observed: {observed}")
    print()
    print("| command | calls per accepted share | Redis µs per share (commandstats) |")
    print("|---|---:|---:|")
    for name, calls in sorted(result["commands_per_share"].items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {calls:.4f} | {result['command_usec_per_share'][name]:.2f} |")
    print()
    print("| figure | value |")
    print("|---|---:|")
    rows = [
        ("Redis commands per accepted share (script inner calls included)", fmt(result["redis_commands_per_share"], 3)),
        ("round trips (sharegate_redis_round_trips_total) per accepted share",
         fmt(result["round_trips_per_share"], 4) if round_trips is not None else "n/a (metric absent)"),
        ("accepted shares per round trip", fmt(result["shares_per_round_trip"], 1)),
        ("accepted shares per Redis read event (INFO total_reads_processed)", fmt(result["shares_per_redis_read"], 1)),
        ("Redis CPU per accepted share (INFO used_cpu_sys + used_cpu_user)",
         fmt(result["redis_cpu_us_per_share"]) + " µs"),
        ("Redis CPU busy (of one core)", fmt(result["redis_cpu_busy"] and 100 * result["redis_cpu_busy"], 1) + " %"),
        ("sharegate CPU per accepted share", fmt(result["server_cpu_us_per_share"]) + " µs"),
        ("queued_shares_list entry (mean of a sample)", fmt(entry_bytes, 0) + " bytes"),
    ]
    for name, value in rows:
        print(f"| {name} | {value} |")
    problems = []
    if "error" in loadgen:
        problems.append(loadgen["error"])
    else:
        if loadgen.get("mismatches"):
            problems.append(f"{loadgen['mismatches']} mismatches")
        refused = sum(loadgen.get("rejected_by_code", {}).values())
        if refused:
            problems.append(f"{refused} shares refused: {loadgen['rejected_by_code']}")
    if not shares:
        problems.append("no share accepted")
    elif "accepted" in loadgen and listed < loadgen["accepted"]:
        problems.append(f"{loadgen['accepted']} shares answered true but {listed} listed")
    for p in problems:
        print(f"bench: part a broken: {p}", file=sys.stderr)
    return 1 if problems else 0


def part_b_row(before_path, after_path, csv_path, pattern, batch, calls, run, elapsed, listed):
    before, after = json.load(open(before_path)), json.load(open(after_path))
    batch, calls, listed, elapsed = int(batch), int(calls), int(listed), float(elapsed)
    # redis-benchmark --csv quotes the command as the test's name without escaping the
    # quotes inside it (the JSON entries): the numbers are read from the right.
    header, values = None, None
    for line in open(csv_path):
        cells = [c.strip('"') for c in line.strip().rsplit(",", 7)]
        if cells[0] == "test":
            header = cells
        elif header and len(cells) == len(header):
            values = dict(zip(header[1:], cells[1:]))
    cpu = redis_cpu_s(after) - redis_cpu_s(before)
    commands = {k: v for k, v in command_deltas(before, after).items() if k not in INSTRUMENTATION}
    offered = calls * batch
    rps = float(values["rps"]) if values else None
    row = {
        "pattern": pattern, "batch": batch, "run": int(run), "calls": calls, "offered_shares": offered,
        "listed": listed, "elapsed_s": elapsed, "calls_per_s": rps,
        # Shares a second that reached the list: the call rate times the shares each pushed
        # (a random key drawn twice is a duplicate, not pushed: a few in a million).
        "shares_per_s": rps * batch * listed / offered if rps and offered else None,
        "p50_ms": float(values["p50_latency_ms"]) if values else None,
        "p99_ms": float(values["p99_latency_ms"]) if values else None,
        "redis_cpu_s": cpu, "redis_cpu_busy": cpu / elapsed if elapsed else None,
        "redis_cpu_us_per_share": cpu * 1e6 / listed if listed else None,
        "commands_per_share": {k: v["calls"] / listed for k, v in commands.items()} if listed else {},
    }
    print(json.dumps(row))


def part_b_report(rows_path, memory_path, out):
    rows = [json.loads(l) for l in open(rows_path) if l.strip()]
    memory = json.load(open(memory_path)) if memory_path != "-" else {}
    groups = {}
    for r in rows:
        groups.setdefault((r["pattern"], r["batch"]), []).append(r)
    summary = []
    for (pattern, batch), rs in groups.items():
        med = lambda key: statistics.median(r[key] for r in rs if r[key] is not None)
        cpu_us = med("redis_cpu_us_per_share")
        summary.append({
            "pattern": pattern, "batch": batch, "runs": len(rs), "calls_per_s": med("calls_per_s"),
            "shares_per_s": med("shares_per_s"),
            "shares_per_s_min": min(r["shares_per_s"] for r in rs),
            "shares_per_s_max": max(r["shares_per_s"] for r in rs),
            "redis_cpu_us_per_share": cpu_us, "redis_cpu_busy": med("redis_cpu_busy"),
            # What one fully busy Redis core would take at that cost a share.
            "shares_per_core_s": 1e6 / cpu_us if cpu_us else None,
            "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"),
            "commands_per_share": rs[0]["commands_per_share"],
        })
    json.dump({"rows": rows, "summary": summary, "memory": memory}, open(out, "w"), indent=1)
    print("part b: one redis-server, redis-benchmark replaying the script (medians of "
          f"{max(s['runs'] for s in summary)} runs)")
    print()
    print("| pattern | shares a call | calls/s | shares/s (min..max) | Redis CPU µs a share | Redis busy "
          "| shares/s per Redis core | commands a share | p50 / p99 a call (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['pattern']} | {s['batch']} | {fmt(s['calls_per_s'], 0)} | {fmt(s['shares_per_s'], 0)} "
              f"({fmt(s['shares_per_s_min'], 0)}..{fmt(s['shares_per_s_max'], 0)}) "
              f"| {fmt(s['redis_cpu_us_per_share'])} "
              f"| {fmt(100 * s['redis_cpu_busy'], 0)} % | {fmt(s['shares_per_core_s'], 0)} "
              f"| {sum(s['commands_per_share'].values()):.3f} | {fmt(s['p50_ms'])} / {fmt(s['p99_ms'])} |")
    if any(s["pattern"] == "get-unpipelined" for s in summary):
        print()
        print("(get-unpipelined: one GET at a time on one connection; its \"shares\" are commands: what Redis "
              "spends on each command the back-end sends)")
    if memory:
        print()
        print(f"memory: {fmt(memory['bytes_per_claim_key'], 0)} bytes a claim key (INFO used_memory over "
              f"{memory['claim_keys']} keys; MEMORY USAGE of a sample: {fmt(memory['memory_usage_sample'], 0)}), "
              f"{fmt(memory['bytes_per_list_entry'], 0)} bytes a queued_shares_list entry; a claim as a field of "
              f"one hash per challenge instead: {fmt(memory['bytes_per_hash_field'], 0)} bytes")


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    command, args = argv[1], argv[2:]
    if command == "snapshot":
        print(json.dumps(snapshot(args[0], args[1] if len(args) > 1 else None)))
    elif command == "argv":
        pattern, batch, sha, ttl = args
        sys.stdout.write("\0".join(benchmark_argv(pattern, int(batch), sha, ttl)) + "\0")
    elif command == "per-share-script":
        print(PER_SHARE_SCRIPT)
    elif command == "list-sample":
        print(f"{list_sample(args[0]):.1f}")
    elif command == "part-a":
        out, before, after, loadgen, server_cpu, entry_bytes, listed = args
        return part_a(out, before, after, loadgen, float(server_cpu), float(entry_bytes), int(listed))
    elif command == "part-b-row":
        part_b_row(*args)
    elif command == "part-b-report":
        part_b_report(*args)
    else:
        raise SystemExit(f"unknown command {command}\n{__doc__}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
