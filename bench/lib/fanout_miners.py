"""Holds many idle subscribed miner connections, then measures how long a new challenge
takes to reach all of them: the client of bench/run-fanout.sh (issue 18, point 4).

Phases, each reported in the JSON printed on stdout:

1. connect: CONNECTIONS non-blocking connections, spread round robin over several
   loopback source addresses (127.0.0.2, 127.0.0.3, ...: bind() before connect(), since
   one source address has only the 28 232 ports of the ephemeral range), each one
   subscribing as its own miner. At most --window a server are between connect() and
   their first mining.notify at a time: a paced storm never overflows the listen backlog
   (somaxconn), so no sysctl has to change. The servers' RSS is read before and after.
2. publish: optionally starts the load generator (the honest miner: the command after
   `--`, to which --duration is appended), then PUBLISHes --publishes new challenges on
   Redis the way the token watcher does (SET challengeNumber, then PUBLISH on the
   challengeNumber channel), --pause seconds apart, and records when each connection's
   notify carrying the new challenge arrived.

Several servers (--port and --server-pid take comma-separated lists, one entry a
sharegate instance on the same Redis): the connections are dealt evenly among them, and
each server's share is held by a worker process of its own, since a process's file limit
(one descriptor a connection) is what bounds one server too. With one server there is
one worker. The workers do the connecting and the reading; this process publishes,
starts the honest miner and adds the workers' figures up.

How arrival is timed: every socket has SO_TIMESTAMPNS on, so recvmsg() hands back the
time the kernel queued the bytes on that socket, not the time a worker got round to
reading them. The workers do not read at all during a fan-out (--settle seconds): they
drain the sockets afterwards, so their CPU (Python walking 100 000 sockets) neither
competes with the servers on a small machine nor inflates the figures. Those kernel
stamps are CLOCK_REALTIME, the same clock in every process, so the PUBLISH is stamped on
it here, just before its bytes are written to Redis.

Python standard library only (epoll, no selectors wrapper: one less Python call per event).
"""
import argparse
import errno
import json
import multiprocessing
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


def rss_kib(pid, field="VmRSS:"):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


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
    __slots__ = ("sock", "state", "buf", "seen", "opened_at", "sent_at")

    def __init__(self, sock):
        self.sock = sock
        self.state = CONNECTING
        self.buf = b""
        self.seen = -1  # the last publish whose notify arrived
        self.opened_at = time.monotonic()  # made just after its connect()
        self.sent_at = None  # when the subscribe went out (time.monotonic())


class Worker:
    """One server's connections, in a process of its own. Talks to the coordinator through
    a pipe: sends its set-up result, then answers each ("publish", ...) with the arrivals
    it read, and ("stop",) with how many connections were still up."""

    def __init__(self, name, port, connections, first_index, sources, window, log_every=5):
        self.name = name
        self.target = ("127.0.0.1", port)
        self.connections = connections
        self.first_index = first_index
        self.sources = sources
        self.window = window
        self.log_every = log_every
        self.ep = select.epoll()
        self.miners = {}
        self.failures = {}

    def log(self, text):
        log(f"{self.name}: {text}")

    def count(self, why):
        self.failures[why] = self.failures.get(why, 0) + 1

    def fail(self, fd, why):
        m = self.miners.pop(fd)
        self.count(why)
        try:
            self.ep.unregister(fd)
        except OSError:
            pass
        m.sock.close()
        m.state = DEAD

    def open_one(self, index):
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            self.count("socket: " + errno.errorcode.get(e.errno, str(e.errno)))
            return False
        s.setblocking(False)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        # Closed with a reset at the end: no 100 000 TIME_WAIT entries left behind.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        try:
            s.bind((self.sources[index % len(self.sources)], 0))
            err = s.connect_ex(self.target)
        except OSError as e:
            err = e.errno
        if err not in (0, errno.EINPROGRESS):
            self.count("connect: " + errno.errorcode.get(err, str(err)))
            s.close()
            return False
        m = Miner(s)
        # Its own miner address: the index, as idle_miners.py does; unique across workers.
        m.buf = b'{"id":1,"method":"mining.subscribe","params":["0x%040x","fanout"]}\n' % (index + 1)
        self.miners[s.fileno()] = m
        self.ep.register(s.fileno(), select.EPOLLOUT)
        return True

    def connect_all(self):
        """Phase 1: every connection opened and subscribed, --window at a time."""
        started = subscribed = in_setup = 0
        t0 = time.monotonic()
        deadline = t0 + 60 + self.connections / 500  # far beyond a healthy run: stops a stuck one
        last_progress = t0
        while (started < self.connections or in_setup) and time.monotonic() < deadline:
            while started < self.connections and in_setup < self.window:
                if self.open_one(self.first_index + started):
                    in_setup += 1
                started += 1
            for fd, ev in self.ep.poll(0.5, 4096):
                m = self.miners.get(fd)
                if m is None:
                    continue
                if m.state == CONNECTING:
                    err = m.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        in_setup -= 1
                        self.fail(fd, "connect: " + errno.errorcode.get(err, str(err)))
                        continue
                    try:
                        m.sock.send(m.buf)  # about 90 bytes into an empty send buffer
                    except OSError as e:
                        in_setup -= 1
                        self.fail(fd, "closed: " + errno.errorcode.get(e.errno, str(e.errno)))
                        continue
                    m.buf = b""
                    m.state = SUBSCRIBING
                    m.sent_at = time.monotonic()
                    self.ep.modify(fd, select.EPOLLIN)
                    continue
                why = None
                try:
                    data = m.sock.recv(65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    data = b""
                    why = "closed: " + errno.errorcode.get(e.errno, str(e.errno))
                if not data:
                    if m.state == SUBSCRIBING:
                        in_setup -= 1
                        # How long after its subscribe: a close past the server's subscribe
                        # deadline (--subscribe-timeout-s, 10 s) with the subscribe sent long
                        # before says the server did not read it in time.
                        # How long after connect() the subscribe went out says whose delay it
                        # was: the server's deadline runs from its accept, after the connect.
                        waited = int((time.monotonic() - m.sent_at) // 5 * 5)
                        late = int((m.sent_at - m.opened_at) // 5 * 5)
                        why = (why or "closed by the server") + (
                            f" {waited}-{waited + 5} s after its subscribe, sent {late}-{late + 5} s after connect()"
                        )
                    self.fail(fd, why or "closed by the server")
                    continue
                if m.state == SUBSCRIBING:
                    m.buf += data
                    if b'"result":false' in m.buf:
                        in_setup -= 1
                        self.fail(fd, "subscribe refused")
                    elif b"mining.notify" in m.buf:
                        m.state = IDLE
                        m.buf = b""
                        in_setup -= 1
                        subscribed += 1
                # IDLE: a re-sent notify (30-60 s after the last); nothing to do with it.
            now = time.monotonic()
            if now - last_progress >= self.log_every:
                last_progress = now
                self.log(f"{subscribed} subscribed, {in_setup} being set up, {now - t0:.1f} s")
        if in_setup:
            self.failures["not subscribed by the deadline"] = in_setup
        return {"subscribed": subscribed, "connect_s": time.monotonic() - t0, "failures": self.failures}

    def collect(self, k, needle, t_pub, t_mono, settle, stop_at):
        """Phase 2, one PUBLISH: hands off until settle has passed, then reads every
        connection's notify and returns the kernel's arrival stamps (ms after t_pub)."""
        alive = [fd for fd, m in self.miners.items() if m.state == IDLE]
        want = len(alive)
        arrivals = []
        no_stamp = closed = 0
        ancillary = socket.CMSG_SPACE(16)
        # Hands off while the server fans out; the kernel keeps each socket's stamp.
        rest = t_mono + settle - time.monotonic()
        if rest > 0:
            time.sleep(rest)
        while len(arrivals) < want and time.monotonic() < stop_at:
            events = self.ep.poll(max(0.0, min(0.2, stop_at - time.monotonic())), 8192)
            for fd, ev in events:
                m = self.miners.get(fd)
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
                    self.fail(fd, "closed by the server")
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
        return {"arrivals": arrivals, "connections": want, "closed": closed, "no_kernel_timestamp": no_stamp}

    def close(self):
        still = sum(1 for m in self.miners.values() if m.state == IDLE)
        for m in self.miners.values():
            m.sock.close()
        self.miners.clear()
        self.ep.close()
        return still


def worker_main(pipe, spec):
    # The coordinator's TERM handler is inherited; a worker just goes, the kernel closes
    # its sockets (with a reset, SO_LINGER 0).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    w = Worker(**spec)
    pipe.send(w.connect_all())
    while True:
        msg = pipe.recv()
        if msg[0] == "publish":
            pipe.send(w.collect(*msg[1:]))
        else:
            pipe.send(w.close())
            return


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", required=True,
                    help="sharegate's stratum port on 127.0.0.1; a comma-separated list for several instances")
    ap.add_argument("--redis-port", type=int, required=True)
    ap.add_argument("--server-pid", required=True, help="for VmRSS: one a port, in the same order")
    ap.add_argument("--connections", type=int, default=100000, help="in all, dealt evenly among the servers")
    ap.add_argument("--addresses", type=int, default=0,
                    help=f"loopback source addresses from 127.0.0.2 (0: one per {PER_ADDRESS} connections of a server)")
    ap.add_argument("--window", type=int, default=1000, help="connections being set up at once, a server")
    ap.add_argument("--publishes", type=int, default=3)
    ap.add_argument("--pause", type=float, default=5.0, help="seconds from one PUBLISH to the next")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds the workers leave the servers alone after a PUBLISH before reading")
    ap.add_argument("--lead", type=float, default=2.0,
                    help="seconds between starting the load generator and the first PUBLISH")
    ap.add_argument("--data-dir", help="writes publish-N.dat (ms since PUBLISH, fraction notified) there")
    ap.add_argument("--loadgen-json", help="where the load generator's stdout (its --json) goes")
    ap.add_argument("--loadgen-log", help="where its stderr goes (default: this process's)")
    ap.add_argument("loadgen", nargs=argparse.REMAINDER, help="-- the honest miner's command")
    a = ap.parse_args()
    # A TERM (the script interrupted) unwinds through the finally below, which stops the
    # load generator and the workers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    loadgen_cmd = a.loadgen[1:] if a.loadgen[:1] == ["--"] else a.loadgen
    ports = [int(p) for p in a.port.split(",")]
    pids = [int(p) for p in a.server_pid.split(",")]
    if len(pids) != len(ports):
        log(f"{len(ports)} ports but {len(pids)} server pids")
        return 2

    # Deal the connections and the source addresses: worker w holds connections
    # [first, first + n) of the whole numbering, so miner addresses never repeat.
    servers = len(ports)
    shares = [a.connections // servers + (1 if w < a.connections % servers else 0) for w in range(servers)]
    specs, first, next_address = [], 0, 0
    for w, n in enumerate(shares):
        if a.addresses:
            own = [j for j in range(a.addresses) if j % servers == w] or [w % a.addresses]
        else:
            own = list(range(next_address, next_address + max(1, -(-n // PER_ADDRESS))))
            next_address = own[-1] + 1
        specs.append(dict(name=f"server {w + 1}/{servers}" if servers > 1 else "server", port=ports[w],
                          connections=n, first_index=first, sources=[f"127.0.0.{2 + j}" for j in own],
                          window=a.window))
        first += n
    if any(len(s["sources"]) and int(s["sources"][-1].rsplit(".", 1)[1]) > 254 for s in specs):
        log("more source addresses than 127.0.0.2-254 hold")
        return 2

    # Every connection is a descriptor in its worker; the script raised the limits.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(shares) + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, want) if hard != resource.RLIM_INFINITY else want, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < want:
        log(f"file limit {soft} < {want} needed for {max(shares)} connections in one worker")
        return 1

    result = {"connections": a.connections, "instances": servers,
              "source_addresses": [s for spec in specs for s in spec["sources"]]}
    ctx = multiprocessing.get_context("fork")
    workers = []  # (process, pipe)
    loadgen = None
    redis = None
    try:
        # ---- 1. connect and subscribe, each worker its server's share ----
        rss_before = [rss_kib(pid) for pid in pids]
        for spec in specs:
            parent_end, child_end = ctx.Pipe()
            p = ctx.Process(target=worker_main, args=(child_end, spec), daemon=True)
            p.start()
            child_end.close()
            workers.append((p, parent_end))
        setups = [pipe.recv() for _, pipe in workers]
        subscribed = sum(s["subscribed"] for s in setups)
        connect_s = max(s["connect_s"] for s in setups)
        failures = {}
        for s in setups:
            for why, n in s["failures"].items():
                failures[why] = failures.get(why, 0) + n
        time.sleep(1)  # the servers' last replies and allocations settle
        rss_after = [rss_kib(pid) for pid in pids]
        log(f"{subscribed} of {a.connections} subscribed in {connect_s:.1f} s; server RSS "
            f"{sum(rss_before)} -> {sum(rss_after)} KiB")
        result.update(
            subscribed=subscribed,
            subscribed_by_server=[s["subscribed"] for s in setups],
            connect_s=round(connect_s, 3),
            subscribes_per_s=round(subscribed / connect_s) if connect_s > 0 else None,
            setup_failures=failures,
            server_rss_kib_before=sum(rss_before),
            server_rss_kib_after=sum(rss_after),
            bytes_per_connection=round((sum(rss_after) - sum(rss_before)) * 1024 / subscribed) if subscribed else None,
        )

        # ---- 2. the honest miner, then the PUBLISHes ----
        if loadgen_cmd:
            duration = a.lead + a.publishes * a.pause
            out = open(a.loadgen_json, "w") if a.loadgen_json else subprocess.DEVNULL
            err = open(a.loadgen_log, "w") if a.loadgen_log else None
            loadgen = subprocess.Popen(loadgen_cmd + ["--duration", f"{duration:g}"], stdout=out, stderr=err)
            time.sleep(a.lead)
        redis = Redis(a.redis_port)
        publishes = []
        for k in range(a.publishes):
            challenge = "0x" + os.urandom(32).hex()
            # The key first, as the token watcher does: a miner that subscribes between the
            # two already gets the new work.
            redis.send("SET", "challengeNumber", json.dumps(challenge))
            redis.reply()
            t_mono = time.monotonic()
            t_pub = time.clock_gettime_ns(time.CLOCK_REALTIME)
            redis.send("PUBLISH", "challengeNumber", challenge)
            receivers = int(redis.reply()[1:])
            stop_at = t_mono + max(a.pause - 0.5, a.settle + 1)
            # CLOCK_MONOTONIC is one clock for every process: the workers wait out the
            # same settle and stop at the same moment.
            for _, pipe in workers:
                pipe.send(("publish", k, challenge.encode(), t_pub, t_mono, a.settle, stop_at))
            got = [pipe.recv() for _, pipe in workers]
            arrivals = sorted(x for g in got for x in g["arrivals"])
            want = sum(g["connections"] for g in got)
            p = {
                "challenge": challenge,
                "redis_receivers": receivers,
                "notified": len(arrivals),
                "connections": want,
                "closed": sum(g["closed"] for g in got),
                "no_kernel_timestamp": sum(g["no_kernel_timestamp"] for g in got),
                "first_ms": round(arrivals[0], 3) if arrivals else None,
                "p50_ms": round(percentile(arrivals, 50), 3) if arrivals else None,
                "p99_ms": round(percentile(arrivals, 99), 3) if arrivals else None,
                "last_ms": round(arrivals[-1], 3) if arrivals else None,
                "within_1s": sum(1 for x in arrivals if x <= 1000),
            }
            if servers > 1:
                p["last_ms_by_server"] = [round(max(g["arrivals"]), 3) if g["arrivals"] else None for g in got]
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
        still = 0
        for _, pipe in workers:
            pipe.send(("stop",))
            still += pipe.recv()
        result["still_connected"] = still
    finally:
        if loadgen and loadgen.poll() is None:
            loadgen.kill()
            loadgen.wait()
        if redis:
            redis.sock.close()
        for p, _ in workers:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    peaks = []
    for pid in pids:
        try:
            peaks.append(rss_kib(pid, "VmHWM:"))
        except (OSError, RuntimeError):
            peaks = None  # a server is gone: the script reports it
            break
    result["server_rss_kib_peak"] = sum(peaks) if peaks else None
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
