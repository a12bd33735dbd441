"""Holds many idle subscribed miner connections, then measures how long a new challenge
takes to reach all of them: the client of bench/run-fanout.sh (issue 18, point 4).

Phases, each reported in the JSON printed on stdout:

1. connect: CONNECTIONS non-blocking connections, spread round robin over several
   loopback source addresses (127.0.0.2, 127.0.0.3, ...: bind() before connect(), since
   one source address has only the 28 232 ports of the ephemeral range), each one
   subscribing as its own miner. At most --window are between connect() and their first
   mining.notify at a time: a paced storm never overflows the listen backlog (somaxconn),
   so no sysctl has to change. The server's RSS is read before and after.
2. publish: optionally starts the load generator (the honest miner: the command after
   `--`, to which --duration is appended), then PUBLISHes --publishes new challenges on
   Redis the way the token watcher does (SET challengeNumber, then PUBLISH on the
   challengeNumber channel), --pause seconds apart, and records when each connection's
   notify carrying the new challenge arrived.

How arrival is timed: every socket has SO_TIMESTAMPNS on, so recvmsg() hands back the
time the kernel queued the bytes on that socket, not the time this process got round to
reading them. The client does not read at all during a fan-out (--settle seconds): it
drains the sockets afterwards, so its own CPU (one Python thread walking 100 000
sockets) neither competes with the server on a small machine nor inflates the figures.
Those kernel stamps are CLOCK_REALTIME, so the PUBLISH is stamped on the same clock,
in this process, just before its bytes are written to Redis.

Python standard library only (epoll, no selectors wrapper: one less Python call per event).
"""
import argparse
import errno
import json
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
# The port is then chosen at connect() from the 4-tuple, not reserved at bind() for the
# address alone: bind() with port 0 would search the whole range for every socket.
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
# Each source address holds fewer than the 28 232 ports of 32768-60999.
PER_ADDRESS = 25000

CONNECTING, SUBSCRIBING, IDLE, DEAD = range(4)


def log(text):
    print("fanout: " + text, file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(sorted_values, p):
    # Nearest rank, as the load generator's histogram reports it.
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode() if isinstance(a, str) else a
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Redis:
    """Just enough RESP for SET and PUBLISH; a reply is one line for both."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, *args):
        self.sock.sendall(resp(*args))

    def reply(self):
        while b"\r\n" not in self.buf:
            data = self.sock.recv(4096)
            if not data:
                raise RuntimeError("redis closed the connection")
            self.buf += data
        line, self.buf = self.buf.split(b"\r\n", 1)
        if line.startswith(b"-"):
            raise RuntimeError("redis: " + line.decode(errors="replace"))
        return line


class Miner:
    __slots__ = ("sock", "state", "buf", "seen")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.buf = b""
        self.seen = -1  # the last publish whose notify arrived


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True, help="sharegate's stratum port on 127.0.0.1")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--server-pid", type=int, required=True, help="for its VmRSS")
    ap.add_argument("--connections", type=int, default=100000)
    ap.add_argument("--addresses", type=int, default=0,
                    help=f"loopback source addresses from 127.0.0.2 (0: one per {PER_ADDRESS} connections)")
    ap.add_argument("--window", type=int, default=1000, help="connections being set up at once")
    ap.add_argument("--publishes", type=int, default=3)
    ap.add_argument("--pause", type=float, default=5.0, help="seconds from one PUBLISH to the next")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds the client leaves the server alone after a PUBLISH before reading")
    ap.add_argument("--lead", type=float, default=2.0,
                    help="seconds between starting the load generator and the first PUBLISH")
    ap.add_argument("--data-dir", help="writes publish-N.dat (ms since PUBLISH, fraction notified) there")
    ap.add_argument("--loadgen-json", help="where the load generator's stdout (its --json) goes")
    ap.add_argument("--loadgen-log", help="where its stderr goes (default: this process's)")
    ap.add_argument("loadgen", nargs=argparse.REMAINDER, help="-- the honest miner's command")
    a = ap.parse_args()
    # A TERM (the script interrupted) unwinds through the finally below, which stops the
    # load generator and closes every socket.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    loadgen_cmd = a.loadgen[1:] if a.loadgen[:1] == ["--"] else a.loadgen
    addresses = a.addresses or -(-a.connections // PER_ADDRESS)
    sources = [f"127.0.0.{2 + i}" for i in range(addresses)]

    # Every connection is a descriptor here too; the script raised the hard limit.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want) if hard != resource.RLIM_INFINITY else want, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < want:
        log(f"file limit {soft} < {want} needed for {a.connections} connections")
        return 1

    result = {"connections": a.connections, "source_addresses": sources}
    ep = select.epoll()
    miners = {}
    target = ("127.0.0.1", a.port)
    failures = {}

    def count(why):
        failures[why] = failures.get(why, 0) + 1

    def fail(fd, why):
        m = miners[fd]
        count(why)
        try:
            ep.unregister(fd)
        except OSError:
            pass
        m.sock.close()
        m.state = DEAD
        del miners[fd]

    # ---- 1. connect and subscribe, --window at a time ----
    rss_before = rss_kib(a.server_pid)
    started = 0
    subscribed = 0
    in_setup = 0
    t0 = time.monotonic()
    deadline = t0 + 60 + a.connections / 500  # far beyond a healthy run: stops a stuck one
    last_progress = t0
    while (started < a.connections or in_setup) and time.monotonic() < deadline:
        while started < a.connections and in_setup < a.window:
            index = started
            started += 1
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                count("socket: " + errno.errorcode.get(e.errno, str(e.errno)))
                continue
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            # Closed with a reset at the end: no 100 000 TIME_WAIT entries left behind.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            try:
                s.bind((sources[index % len(sources)], 0))
                err = s.connect_ex(target)
            except OSError as e:
                err = e.errno
            if err not in (0, errno.EINPROGRESS):
                count("connect: " + errno.errorcode.get(err, str(err)))
                s.close()
                continue
            m = Miner(s)
            # Its own miner address: the index, as idle_miners.py does.
            m.buf = b'{"id":1,"method":"mining.subscribe","params":["0x%040x","fanout"]}\n' % (index + 1)
            miners[s.fileno()] = m
            ep.register(s.fileno(), select.EPOLLOUT)
            in_setup += 1
        for fd, ev in ep.poll(0.5, 4096):
            m = miners.get(fd)
            if m is None:
                continue
            if m.state == CONNECTING:
                err = m.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    in_setup -= 1
                    fail(fd, "connect: " + errno.errorcode.get(err, str(err)))
                    continue
                try:
                    m.sock.send(m.buf)  # about 90 bytes into an empty send buffer
                except OSError as e:
                    in_setup -= 1
                    fail(fd, "closed: " + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                m.buf = b""
                m.state = SUBSCRIBING
                ep.modify(fd, select.EPOLLIN)
                continue
            try:
                data = m.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                data = None
                why = "closed: " + errno.errorcode.get(e.errno, str(e.errno))
            if not data:
                if m.state == SUBSCRIBING:
                    in_setup -= 1
                fail(fd, why if data is None else "closed by the server")
                continue
            if m.state == SUBSCRIBING:
                m.buf += data
                if b'"result":false' in m.buf:
                    in_setup -= 1
                    fail(fd, "subscribe refused")
                elif b"mining.notify" in m.buf:
                    m.state = IDLE
                    m.buf = b""
                    in_setup -= 1
                    subscribed += 1
            # IDLE: a re-sent notify (30-60 s after the last); nothing to do with it.
        now = time.monotonic()
        if now - last_progress >= 5:
            last_progress = now
            log(f"{subscribed} subscribed, {in_setup} being set up, {now - t0:.1f} s")
    connect_s = time.monotonic() - t0
    if in_setup:
        failures["not subscribed by the deadline"] = in_setup
    time.sleep(1)  # the server's last replies and allocations settle
    rss_after = rss_kib(a.server_pid)
    log(f"{subscribed} of {a.connections} subscribed in {connect_s:.1f} s; server RSS {rss_before} -> {rss_after} KiB")
    result.update(
        subscribed=subscribed,
        connect_s=round(connect_s, 3),
        subscribes_per_s=round(subscribed / connect_s) if connect_s > 0 else None,
        setup_failures=failures,
        server_rss_kib_before=rss_before,
        server_rss_kib_after=rss_after,
        bytes_per_connection=round((rss_after - rss_before) * 1024 / subscribed) if subscribed else None,
    )

    # ---- 2. the honest miner, then the PUBLISHes ----
    loadgen = None
    if loadgen_cmd:
        duration = a.lead + a.publishes * a.pause
        out = open(a.loadgen_json, "w") if a.loadgen_json else subprocess.DEVNULL
        err = open(a.loadgen_log, "w") if a.loadgen_log else None
        loadgen = subprocess.Popen(loadgen_cmd + ["--duration", f"{duration:g}"], stdout=out, stderr=err)
        time.sleep(a.lead)
    redis = Redis(a.redis_port)
    publishes = []
    ancillary = socket.CMSG_SPACE(16)
    try:
        for k in range(a.publishes):
            challenge = "0x" + os.urandom(32).hex()
            needle = challenge.encode()
            # The key first, as the token watcher does: a miner that subscribes between the
            # two already gets the new work.
            redis.send("SET", "challengeNumber", json.dumps(challenge))
            redis.reply()
            t_mono = time.monotonic()
            t_pub = time.clock_gettime_ns(time.CLOCK_REALTIME)
            redis.send("PUBLISH", "challengeNumber", challenge)
            receivers = int(redis.reply()[1:])
            alive = [fd for fd, m in miners.items() if m.state == IDLE]
            want = len(alive)
            arrivals = []
            no_stamp = closed = 0
            # Hands off while the server fans out; the kernel keeps each socket's stamp.
            time.sleep(a.settle)
            stop_at = t_mono + max(a.pause - 0.5, a.settle + 1)
            while len(arrivals) < want and time.monotonic() < stop_at:
                events = ep.poll(max(0.0, min(0.2, stop_at - time.monotonic())), 8192)
                for fd, ev in events:
                    m = miners.get(fd)
                    if m is None or m.state != IDLE:
                        continue
                    try:
                        data, anc, _, _ = m.sock.recvmsg(65536, ancillary)
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        data, anc = b"", []
                    if not data:
                        closed += 1
                        fail(fd, "closed by the server")
                        continue
                    if m.seen == k:
                        continue
                    buf = m.buf + data
                    if needle in buf:
                        m.seen = k
                        stamp = None
                        for level, kind, value in anc:
                            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                                sec, nsec = struct.unpack("qq", value[:16])
                                stamp = sec * 1_000_000_000 + nsec
                        if stamp is None:
                            no_stamp += 1
                            stamp = time.clock_gettime_ns(time.CLOCK_REALTIME)
                        arrivals.append((stamp - t_pub) / 1e6)
                    # Keep an unfinished line's tail, in case a notify is split across reads.
                    m.buf = buf[buf.rfind(b"\n") + 1:][-512:]
            arrivals.sort()
            p = {
                "challenge": challenge,
                "redis_receivers": receivers,
                "notified": len(arrivals),
                "connections": want,
                "closed": closed,
                "no_kernel_timestamp": no_stamp,
                "first_ms": round(arrivals[0], 3) if arrivals else None,
                "p50_ms": round(percentile(arrivals, 50), 3) if arrivals else None,
                "p99_ms": round(percentile(arrivals, 99), 3) if arrivals else None,
                "last_ms": round(arrivals[-1], 3) if arrivals else None,
                "within_1s": sum(1 for x in arrivals if x <= 1000),
            }
            publishes.append(p)
            log(f"publish {k + 1}: {p['notified']}/{want} notified, first {p['first_ms']} ms, "
                f"p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, last {p['last_ms']} ms")
            if a.data_dir:
                # The CDF at 1 001 quantiles: plots the same as 100 000 points, at 1 % of the size.
                with open(os.path.join(a.data_dir, f"publish-{k + 1}.dat"), "w") as f:
                    n = len(arrivals)
                    for q in range(1001):
                        if n:
                            i = min(n - 1, q * (n - 1) // 1000)
                            f.write(f"{arrivals[i]:.3f} {(i + 1) / want:.5f}\n")
            rest = t_mono + a.pause - time.monotonic()
            if rest > 0 and k + 1 < a.publishes:
                time.sleep(rest)
        result["publishes"] = publishes
        if loadgen:
            try:
                result["loadgen_status"] = loadgen.wait(timeout=a.pause + 60)
            except subprocess.TimeoutExpired:
                result["loadgen_status"] = "killed: still running past its --duration"
            if a.loadgen_json:
                try:
                    with open(a.loadgen_json) as f:
                        result["honest"] = json.load(f)
                except (OSError, ValueError) as e:
                    result["honest"] = {"error": f"no JSON from the load generator: {e}"}
    finally:
        if loadgen and loadgen.poll() is None:
            loadgen.kill()
            loadgen.wait()
        redis.sock.close()
        for m in list(miners.values()):
            m.sock.close()
        ep.close()
    result["still_connected"] = sum(1 for m in miners.values() if m.state == IDLE)
    try:
        with open(f"/proc/{a.server_pid}/status") as status:
            result["server_rss_kib_peak"] = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        result["server_rss_kib_peak"] = None  # the server is gone: the script reports it
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
