"""A hostile-but-valid request mix for Weir's integration tests: THREADS
threads open connections to HOST:PORT until TOTAL requests were sent, each
connection one of: a short request with Connection: close; a keep-alive run
of sequential requests; a pipelined burst in one send; a request followed
by the client's half-close (it still reads the answer), also after three
pipelined ones; a request whose
client closes right after the head (no answer read); a POST with a body.
Run it in the client namespace:
  ip netns exec NS /usr/bin/python3 http_mix.py HOST PORT TOTAL PATH_PREFIX [LO:HI]
(LO:HI adds connections that idle LO..HI s between two requests.)
Prints {"requests", "answered", "statuses": {status: n}, "n_errors",
"errors": [the first 20],
"kinds": {kind: n}}. Stdlib only; every socket operation has a timeout."""
import json
import random
import socket
import sys
import threading
import time

from http_rawclient import Incomplete, parse_response

THREADS = 8
IDLE = (0, 0)  # seconds between two requests of an "idle" connection
LOCK = threading.Lock()


def req(prefix, i, close=False, body=b""):
    h = b"%s %s%d HTTP/1.1\r\nHost: weir\r\n" % (b"POST" if body else b"GET", prefix, i)
    if body:
        h += b"Content-Length: %d\r\n" % len(body)
    if close:
        h += b"Connection: close\r\n"
    return h + b"\r\n" + body


def read_n(s, n):
    """n responses from s (or fewer if the peer closes); their statuses."""
    buf, pos, out, eof = b"", 0, [], False
    while len(out) < n:
        try:
            r, p = parse_response(buf, pos, eof)
            out.append(r["status"])
            pos = p
            continue
        except Incomplete:
            if eof:
                break
        d = s.recv(65536)
        if not d:
            eof = True
        buf += d
    return out


def one(kind, prefix, seq):
    """Runs one connection; returns (requests sent, statuses, expected)."""
    s = socket.create_connection(HOSTPORT, timeout=5)
    s.settimeout(5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if kind == "short":
            s.sendall(req(prefix, seq, close=True))
            return 1, read_n(s, 1), 1
        if kind == "keepalive":
            st = []
            for i in range(5):
                s.sendall(req(prefix, seq + i))
                st += read_n(s, 1)
            return 5, st, 5
        if kind == "pipeline":
            s.sendall(b"".join(req(prefix, seq + i) for i in range(4)))
            return 4, read_n(s, 4), 4
        if kind == "halfclose":
            s.sendall(req(prefix, seq))
            s.shutdown(socket.SHUT_WR)
            return 1, read_n(s, 1), 1
        if kind == "pipeline_halfclose":  # all answered, then closed
            s.sendall(b"".join(req(prefix, seq + i) for i in range(3)))
            s.shutdown(socket.SHUT_WR)
            return 3, read_n(s, 3), 3
        if kind == "idle":  # keep-alive across the replica's idle timeout
            s.sendall(req(prefix, seq))
            st = read_n(s, 1)
            time.sleep(random.uniform(*IDLE))
            s.sendall(req(prefix, seq + 1))
            return 2, st + read_n(s, 1), 2
        if kind == "early":
            s.sendall(req(prefix, seq))
            return 1, [], 0
        if kind == "post":
            s.sendall(req(prefix, seq, body=b"x" * 300))
            return 1, read_n(s, 1), 1
    finally:
        s.close()
    raise ValueError(kind)


def worker(k, prefix, state):
    rng = random.Random(k)
    kinds = ["short", "keepalive", "pipeline", "halfclose", "early", "post",
             "pipeline_halfclose"] + (["idle"] if IDLE[1] else [])
    while True:
        with LOCK:
            if state["requests"] >= state["total"]:
                return
            seq = state["requests"]
            state["requests"] += 5  # reserve; corrected below
        kind = rng.choice(kinds)
        try:
            n, st, want = one(kind, prefix, seq)
            err = None if len(st) == want else "%s: %d answers of %d" % (kind, len(st), want)
        except (OSError, ValueError) as e:
            n, st, err = 1, [], "%s: %s" % (kind, e)
        with LOCK:
            state["requests"] += n - 5
            state["answered"] += len(st)
            state["kinds"][kind] = state["kinds"].get(kind, 0) + 1
            for x in st:
                state["statuses"][str(x)] = state["statuses"].get(str(x), 0) + 1
            if err:
                state["n_errors"] += 1
                if len(state["errors"]) < 20:
                    state["errors"].append(err)


def main():
    global HOSTPORT, IDLE
    host, port, total, prefix = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    if len(sys.argv) > 5:  # "LO:HI": also idle keep-alive connections
        IDLE = tuple(float(x) for x in sys.argv[5].split(":"))
    HOSTPORT = (host, port)
    state = {"total": total, "requests": 0, "answered": 0, "statuses": {}, "errors": [],
             "n_errors": 0, "kinds": {}}
    ts = [threading.Thread(target=worker, args=(k, prefix.encode(), state)) for k in range(THREADS)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    json.dump(state, sys.stdout)


if __name__ == "__main__":
    main()
