"""Opens idle, subscribed miner connections in steps and reads the server's resident
memory after each step: scenario (d) of the benchmark suite. Prints JSON."""
import json
import resource
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def settle(pid, seconds=1.0):
    # The server answers each subscribe with a notify; wait for its memory to stop moving.
    time.sleep(seconds)
    return rss_kib(pid)


def main():
    port, pid, total, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, total + 100)), hard))
    points = [{"connections": 0, "rss_kib": settle(pid, 0.2)}]
    sockets = []
    unanswered = 0
    for step in range(1, steps + 1):
        target = total * step // steps
        opened = []
        while len(sockets) < target:
            s = socket.create_connection(("127.0.0.1", port))
            miner = len(sockets) + 1
            s.sendall(b'{"id":1,"method":"mining.subscribe","params":["0x%040x","idle"]}\n' % miner)
            sockets.append(s)
            opened.append(s)
        for s in opened:
            s.settimeout(30)
            if b"\n" not in s.recv(65536):
                unanswered += 1
        points.append({"connections": len(sockets), "rss_kib": settle(pid)})
    base = points[0]["rss_kib"]
    last = points[-1]
    result = {
        "connections": total,
        "unanswered_subscribes": unanswered,
        "server_rss_kib_before": base,
        "server_rss_kib_after": last["rss_kib"],
        "bytes_per_connection": (last["rss_kib"] - base) * 1024 / total,
        "points": points,
    }
    print(json.dumps(result, indent=1))
    for s in sockets:
        s.close()


if __name__ == "__main__":
    main()
