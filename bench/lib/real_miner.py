#!/usr/bin/python3
"""Runs one MVis-tokenminer build against sharegate on loopback, bounded, and reports.

Called by bench/run-real-miner.sh (adapted from the project's shared/real-miners/mvis runner).

  run_against_sharegate.py --miner BUILD/ethminer/tokenminer --gen 2.1|2.3 \
      --sharegate /path/to/sharegate --out DIR [--duration 150] [--switch-at 75] \
      [--var-diff 16384] [--reply-style auto] [--cl-work-multiplier 2048]

Starts a private redis-server (no persistence) and sharegate, both on 127.0.0.1, seeds
challengeNumber / ethBlockNumber / miner_data, runs the miner (OpenCL on the CPU via
PoCL, --allow-opencl-cpu) for --duration s, SETs + PUBLISHes a new challenge at
--switch-at s, then stops everything it started (by PID) and prints a JSON summary.
The miner's HTTP side calls (token balance via infura in 2.1.x) are sent to a dead local
proxy so nothing leaves the machine. Needs python3 with pycryptodome (Debian
python3-pycryptodome) for the independent digest check; skipped otherwise.
"""
import argparse, json, os, re, secrets, signal, socket, subprocess, sys, time
from collections import Counter, OrderedDict

POOL = "0x1b7bfB694eE51913c347971c7090a74AEFbd41f6"
MINER = "0x35e5d4a8e6a0bd05d8d6b5fb4a9bc6c3b8a9f7e1"
CHALLENGE0 = "0x6770629a6ede9af78856c91eab295779d294328de910c8a85b174dd85f843b3e"
BLOCK = 5600000
FIELDS = ["block", "nonce", "minerEthAddress", "challengeNumber", "digest", "difficulty"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rcli(port, *args):
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
                          capture_output=True, text=True, timeout=30).stdout


def wait_for(pred, timeout, step=0.2):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


def stop(proc, sig, grace):
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(sig)
    try:
        return proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--miner", required=True)
    ap.add_argument("--gen", required=True, choices=["2.1", "2.3"])
    ap.add_argument("--sharegate", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=int, default=150)
    ap.add_argument("--switch-at", type=int, default=75)
    ap.add_argument("--var-diff", type=int, default=16384)
    ap.add_argument("--reply-style", default="auto")
    ap.add_argument("--cl-work-multiplier", type=int, default=2048)
    a = ap.parse_args()

    out = os.path.abspath(a.out)
    os.makedirs(out, exist_ok=True)
    home = os.path.join(out, "home")
    cfg = os.path.join(home, ".config", "tokenminer")
    os.makedirs(cfg, exist_ok=True)
    # log every Stratum.Send / Stratum.Receive line to $HOME/.config/tokenminer/log.txt
    with open(os.path.join(cfg, "logfilters.txt"), "w") as f:
        f.write("stratum\nethashgpuminer::report\n")
    mdir = os.path.join(out, "miner")
    os.makedirs(mdir, exist_ok=True)
    subprocess.run(["cp", a.miner, os.path.join(mdir, "tokenminer")], check=True)

    rport, sport = free_port(), free_port()
    procs = {}
    summary = OrderedDict(gen=a.gen, miner=a.miner, redis_port=rport, stratum_port=sport,
                          var_diff=a.var_diff, reply_style=a.reply_style)
    try:
        procs["redis"] = subprocess.Popen(
            ["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=open(os.path.join(out, "redis.log"), "w"), stderr=subprocess.STDOUT)
        if not wait_for(lambda: rcli(rport, "PING").strip() == "PONG", 20):
            raise SystemExit("redis did not start")
        rcli(rport, "SET", "challengeNumber", json.dumps(CHALLENGE0))
        rcli(rport, "SET", "ethBlockNumber", str(BLOCK))
        rcli(rport, "HSET", "miner_data", MINER, json.dumps(
            {"shareCredits": 0, "tokenBalance": 0, "tokensAwarded": 0, "varDiff": a.var_diff,
             "validSubmittedSolutionsCount": 0}, separators=(",", ":")))

        sg_log = os.path.join(out, "sharegate.log")
        sg_cmd = [a.sharegate, "--bind", "127.0.0.1", "--port", str(sport), "--redis", f"127.0.0.1:{rport}",
                  "--pool-address", POOL, "--min-share-difficulty", "1", "--max-target-bits", "250",
                  "--verifier", "cpu", "--reply-style", a.reply_style, "--log-level", "debug",
                  "--getwork-port", "0", "--admin-listen", "off", "--spool-dir", os.path.join(out, "spool"),
                  "--stats-interval-s", "10"]
        summary["sharegate_cmd"] = " ".join(sg_cmd)
        procs["sharegate"] = subprocess.Popen(sg_cmd, stdout=open(sg_log, "w"), stderr=subprocess.STDOUT)
        if not wait_for(lambda: "listening on" in open(sg_log).read(), 20):
            raise SystemExit("sharegate did not start")

        if a.gen == "2.3":
            node = f"Host=127.0.0.1:{sport}\nStratum=true\n"
        else:
            node = f"Host=127.0.0.1\nStratumPort={sport}\n"
        with open(os.path.join(mdir, "tokenminer.ini"), "w") as f:
            f.write("[General]\n[Node]\n" + node + "[Node2]\n[0xBitcoin]\n"
                    f"MinerAcct={MINER}\nMinutesPerShare=Pool\n"
                    "TokenContract=0xb6ed7644c69416d67b522e20bc294a9a9b405b31\n"
                    "[ThermalProtection]\nTempProvider=amd_adl\nThrottleTemp=80\nShutDown=20\n")
        env = dict(os.environ, HOME=home, http_proxy="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9",
                   HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
        m_cmd = ["./tokenminer", "-P", "-G", "--allow-opencl-cpu", "--cl-work-multiplier", str(a.cl_work_multiplier)]
        summary["miner_cmd"] = " ".join(m_cmd)
        t0 = time.time()
        procs["miner"] = subprocess.Popen(["timeout", "-s", "INT", str(a.duration + 60)] + m_cmd, cwd=mdir, env=env,
                                          stdin=subprocess.DEVNULL,
                                          stdout=open(os.path.join(out, "miner.out"), "w"), stderr=subprocess.STDOUT)
        challenge1 = "0x" + secrets.token_hex(32)
        time.sleep(max(0, a.switch_at - (time.time() - t0)))
        llen_before = int(rcli(rport, "LLEN", "queued_shares_list").strip() or 0)
        rcli(rport, "SET", "challengeNumber", json.dumps(challenge1))
        subs = rcli(rport, "PUBLISH", "challengeNumber", challenge1).strip()
        summary["switch"] = OrderedDict(at_s=round(time.time() - t0, 1), challenge=challenge1,
                                        publish_receivers=subs, queued_before=llen_before)
        time.sleep(max(0, a.duration - (time.time() - t0)))
        summary["miner_rc"] = stop(procs["miner"], signal.SIGINT, 20)
        summary["miner_ran_s"] = round(time.time() - t0, 1)
        time.sleep(2)
        summary["sharegate_rc"] = stop(procs["sharegate"], signal.SIGTERM, 20)

        # ---- Redis ----
        entries = json.loads(subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", str(rport), "--json", "LRANGE", "queued_shares_list", "0", "-1"],
            capture_output=True, text=True).stdout or "[]")
        llen = int(rcli(rport, "LLEN", "queued_shares_list").strip() or 0)
        try:  # Debian's python3-pycryptodome installs it as Cryptodome, pip's as Crypto
            from Cryptodome.Hash import keccak
        except ImportError:
            try:
                from Crypto.Hash import keccak
            except ImportError:
                keccak = None
        bad, per_chal, digests = [], Counter(), Counter()
        for raw in entries:
            try:
                obj = json.loads(raw, object_pairs_hook=OrderedDict)
            except ValueError as e:
                bad.append(("not json", raw[:120]))
                continue
            if list(obj.keys()) != FIELDS:
                bad.append(("field order", list(obj.keys())))
                continue
            if not (isinstance(obj["block"], int) and obj["block"] == BLOCK and isinstance(obj["difficulty"], int)):
                bad.append(("block/difficulty", raw[:160]))
            if obj["minerEthAddress"] != MINER:
                bad.append(("miner", obj["minerEthAddress"]))
            for k in ("nonce", "challengeNumber", "digest"):
                if not re.fullmatch(r"0x[0-9a-fA-F]{64}", obj[k]):
                    bad.append((k, obj[k]))
            per_chal[obj["challengeNumber"].lower()] += 1
            digests[obj["digest"].lower()] += 1
            if keccak:
                h = keccak.new(digest_bits=256)
                h.update(bytes.fromhex(obj["challengeNumber"][2:]) + bytes.fromhex(POOL[2:]) + bytes.fromhex(obj["nonce"][2:]))
                d = int(h.hexdigest(), 16)
                if d != int(obj["digest"], 16):
                    bad.append(("digest mismatch", obj["nonce"]))
                elif d >= (1 << 250) // obj["difficulty"]:
                    bad.append(("target not met", obj["nonce"]))
        summary["redis"] = OrderedDict(
            llen=llen, entries_checked=len(entries), format_problems=len(bad), first_problems=bad[:5],
            per_challenge={("initial" if c == CHALLENGE0 else "switched" if c == challenge1.lower() else c): n
                           for c, n in per_chal.items()},
            duplicate_digests=sum(n - 1 for n in digests.values() if n > 1),
            digest_recomputed=bool(keccak), sample=entries[:1])
    finally:
        for name in ("miner", "sharegate"):
            if name in procs:
                stop(procs[name], signal.SIGINT if name == "miner" else signal.SIGTERM, 20)
        if "redis" in procs:
            rcli(rport, "SHUTDOWN", "NOSAVE")
            stop(procs["redis"], signal.SIGTERM, 10)

    # ---- miner logs ----
    scr = open(os.path.join(out, "miner.out"), errors="replace").read()
    disk = open(os.path.join(cfg, "log.txt"), errors="replace").read() if os.path.exists(os.path.join(cfg, "log.txt")) else ""
    sends = [l for l in disk.splitlines() if "Stratum.Send" in l]
    recvs = [l for l in disk.splitlines() if "Stratum.Receive" in l]
    replies4 = [l for l in recvs if re.search(r'"id"\s*:\s*4\b', l)]
    summary["miner"] = OrderedDict(
        solutions_found_valid=scr.count("Solution found; Submitting to pool"),
        solutions_found_invalid=scr.count("Solution found, but invalid"),
        subscribes_sent=sum('"mining.subscribe"' in l for l in sends),
        submits_sent=sum('"mining.submit"' in l for l in sends),
        cant_submit=scr.count("Can't submit share"),
        submit_replies_received=len(replies4),
        submit_replies_true=sum('"result":true' in l.replace(" ", "") for l in replies4),
        rejected_logged=scr.count("Solution was rejected by the pool"),
        reject_reasons=dict(Counter(re.findall(r"rejected by the pool\. Reason : (.*)", scr))),
        invalid_json_from_pool=scr.count("Invalid JSON response from pool"),
        unexpected_notification=scr.count("Unexpected JSON notification"),
        login_rejected=scr.count("Pool login rejected"),
        reconnects=scr.count("Reconnecting in"),
        new_challenge_lines=re.findall(r"New challenge : (\w+)", scr),
        notifies_received=sum('"mining.notify"' in l for l in recvs),
        connection_established=scr.count("Connection established"),
    )
    sg = open(os.path.join(out, "sharegate.log"), errors="replace").read()
    stats = [l for l in sg.splitlines() if "stats:" in l]
    summary["sharegate"] = OrderedDict(
        last_stats=stats[-1] if stats else None,
        new_challenge=[l for l in sg.splitlines() if "new challenge" in l],
        rejected_lines=Counter(re.sub(r".*rejected id \S+ ", "", l) for l in sg.splitlines() if "rejected id" in l),
        warn_error=[l for l in sg.splitlines() if re.search(r"\[(warning|error|critical)\]", l)][:10],
    )
    # The headline: what the miner found and sent, what sharegate accepted (queued in
    # Redis, checked above) and refused, by reason.
    m = summary["miner"]
    summary["headline"] = OrderedDict(
        found=m["solutions_found_valid"], submitted=m["submits_sent"],
        accepted=summary.get("redis", {}).get("llen"), rejected_by_reason=dict(summary["sharegate"]["rejected_lines"]),
        rejections_seen_by_miner=m["reject_reasons"], subscribe_accepted=m["connection_established"] > 0,
        invalid_json_log_entries=m["invalid_json_from_pool"],
        queued_format_problems=summary.get("redis", {}).get("format_problems"))
    print(json.dumps(summary, indent=1, default=str))
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=str)


if __name__ == "__main__":
    main()
