"""HTTP client actions for the proxy's integration tests, run inside the
client namespace (`ip netns exec NS /usr/bin/python3 http_client.py ...`).
Each prints one JSON line. Stdlib only; every socket has a timeout.

  raw HOST PORT HEX              send bytes, read until close (or 5 s idle)
  get URL                        status, headers, body (text) on one request
  upload URL NBYTES SEED         POST seeded random bytes; the replica's echo
  download URL                   sha256 and length of the body
  sse URL                        arrival time (ns) of every event
  ws HOST PORT PATH N            WebSocket echo of N messages
  abort URL SECONDS              start a request, drop the connection
  keepalive URL CONNS REQS       REQS requests on each of CONNS connections
  load URL RATE SECONDS THREADS  constant-rate GETs; counts by outcome
  ids URL N                      replica id of N requests on one connection
  latency URL N                  N requests on one connection: p50/p99 ms
  conns URL RATE SECONDS         a new connection per request, at RATE/s
"""
import base64
import hashlib
import http.client
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse

T = float(os.environ.get("WEIR_CLIENT_T", "30"))  # every socket timeout, s


def split(url):
    u = urllib.parse.urlsplit(url)
    return u.hostname, u.port or 80, (u.path or "/") + ("?" + u.query if u.query else "")


def raw(host, port, hexbytes):
    s = socket.create_connection((host, int(port)), timeout=T)
    s.sendall(bytes.fromhex(hexbytes))
    s.settimeout(5)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except socket.timeout:
        pass
    return {"hex": out.hex()}


def get(url):
    h, p, path = split(url)
    c = http.client.HTTPConnection(h, p, timeout=T)
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    return {"status": r.status, "headers": r.getheaders(), "body": body.decode("utf-8", "replace")}


def upload(url, n, seed):
    """POST n seeded bytes, streamed in 1 MiB blocks (bounded memory for
    1 GiB): a random block, each copy stamped with its index."""
    h, p, path = split(url)
    n = int(n)
    block = random.Random(int(seed)).randbytes(1 << 20)
    sha = hashlib.sha256()

    def gen():
        sent, i = 0, 0
        while sent < n:
            b = (struct.pack("!Q", i) + block[8:])[:n - sent]
            sha.update(b)
            sent += len(b)
            i += 1
            yield b
    c = http.client.HTTPConnection(h, p, timeout=300)
    c.request("POST", path, body=gen(), headers={"Content-Type": "application/octet-stream",
                                                 "Content-Length": str(n)})
    r = c.getresponse()
    body = r.read()
    try:
        echo = json.loads(body)
    except ValueError:
        echo = {"raw": body[:200].decode("utf-8", "replace")}
    return {"status": r.status, "sha": sha.hexdigest(), "echo": echo}


def download(url):
    h, p, path = split(url)
    c = http.client.HTTPConnection(h, p, timeout=120)
    c.request("GET", path)
    r = c.getresponse()
    sha, n = hashlib.sha256(), 0
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        sha.update(b)
        n += len(b)
    return {"status": r.status, "len": n, "sha": sha.hexdigest(), "headers": r.getheaders()}


def sse(url):
    h, p, path = split(url)
    s = socket.create_connection((h, p), timeout=T)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n" % (path, h)).encode())
    buf, events, done, head = b"", [], False, b""
    deadline = time.time() + T
    while time.time() < deadline:
        b = s.recv(65536)
        now = time.time_ns()
        if not b:
            break
        buf += b
        if not head:  # the response head, kept apart from the events
            if b"\r\n\r\n" not in buf:
                continue
            head, buf = buf.split(b"\r\n\r\n", 1)
        while b"\n\n" in buf:
            ev, buf = buf.split(b"\n\n", 1)
            for line in ev.split(b"\n"):
                if line.startswith(b"data: "):
                    parts = line[6:].split()
                    events.append([int(parts[0]), int(parts[1]), now])
        if buf.startswith(b"0\r\n\r\n") or b"\r\n0\r\n\r\n" in buf:
            done = True  # the last chunk: the response is complete
            break
    return {"events": events, "done": done, "end_ns": time.time_ns(),
            "head": (head or buf)[:300].decode("latin-1")}


def ws(host, port, path, n):
    s = socket.create_connection((host, int(port)), timeout=T)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, host, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            return {"ok": False, "head": head.decode("latin-1")}
        head += b
    status = int(head.split(b" ")[1])
    ok = 0
    for i in range(int(n)):
        payload = ("message %d " % i).encode() * (1 + i % 50)
        mask = os.urandom(4)
        hdr = bytes([0x81])
        ln = len(payload)
        hdr += bytes([0x80 | ln]) if ln < 126 else bytes([0x80 | 126]) + struct.pack("!H", ln)
        s.sendall(hdr + mask + bytes(c ^ mask[j % 4] for j, c in enumerate(payload)))
        b0 = s.recv(2, socket.MSG_WAITALL)
        ln = b0[1] & 0x7F
        if ln == 126:
            ln = struct.unpack("!H", s.recv(2, socket.MSG_WAITALL))[0]
        data = s.recv(ln, socket.MSG_WAITALL) if ln else b""
        ok += data == payload
    return {"status": status, "echoed": ok}


def abort(url, seconds):
    h, p, path = split(url)
    s = socket.create_connection((h, p), timeout=T)
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, h)).encode())
    time.sleep(float(seconds))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return {"ok": True}


def get_on(c, h, p, path, headers=None):
    """One GET on connection c: (outcome, c), the outcome its status or
    the exception's name; a failed connection is replaced by a new one."""
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        r.read()
        return str(r.status), c
    except Exception as e:  # noqa: BLE001 - counted, reported
        c.close()
        return e.__class__.__name__, http.client.HTTPConnection(h, p, timeout=T)


def keepalive(url, conns, reqs):
    h, p, path = split(url)
    counts, lock = {}, threading.Lock()

    def worker():
        c = http.client.HTTPConnection(h, p, timeout=T)
        for _ in range(int(reqs)):
            k, c = get_on(c, h, p, path)
            with lock:
                counts[k] = counts.get(k, 0) + 1
    ts = [threading.Thread(target=worker) for _ in range(int(conns))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return {"counts": counts}


def conns(url, rate, seconds):
    """A new connection per request (Connection: close) at a constant rate
    from one thread: outcomes by status or exception."""
    h, p, path = split(url)
    rate, seconds = float(rate), float(seconds)
    counts = {}
    start = time.time() + 0.2
    i = 0
    while True:
        due = start + i / rate
        if due > start + seconds:
            break
        d = due - time.time()
        if d > 0:
            time.sleep(d)
        k, c = get_on(http.client.HTTPConnection(h, p, timeout=T), h, p, path,
                      {"Connection": "close"})
        c.close()
        counts[k] = counts.get(k, 0) + 1
        i += 1
    return {"counts": counts}


def latency(url, n):
    """n requests one after another on one keep-alive connection: status
    counts and the p50/p99/max latency in ms."""
    h, p, path = split(url)
    c = http.client.HTTPConnection(h, p, timeout=T)
    counts, ms = {}, []
    for _ in range(int(n)):
        t0 = time.perf_counter()
        k, c = get_on(c, h, p, path)
        ms.append((time.perf_counter() - t0) * 1000)
        counts[k] = counts.get(k, 0) + 1
    ms.sort()
    return {"counts": counts, "p50": ms[len(ms) // 2], "p99": ms[int(len(ms) * 0.99)], "max": ms[-1]}


def ids(url, n):
    """n requests on one keep-alive connection: the replica id of each."""
    h, p, path = split(url)
    c = http.client.HTTPConnection(h, p, timeout=T)
    out = []
    for _ in range(int(n)):
        c.request("GET", path)
        r = c.getresponse()
        out.append(json.loads(r.read()).get("replica_id"))
    return {"ids": out}


def load(url, rate, seconds, threads):
    h, p, path = split(url)
    rate, seconds, threads = float(rate), float(seconds), int(threads)
    counts, samples, lock = {}, {}, threading.Lock()
    start = time.time() + 0.2

    def worker(k):
        c = http.client.HTTPConnection(h, p, timeout=10)
        interval = threads / rate
        i = 0
        while True:
            due = start + (k / rate) + i * interval
            if due > start + seconds:
                break
            d = due - time.time()
            if d > 0:
                time.sleep(d)
            body = b""
            try:
                c.request("GET", path)
                r = c.getresponse()
                body = r.read()
                key = str(r.status)
            except Exception as e:  # noqa: BLE001
                key = e.__class__.__name__
                c = http.client.HTTPConnection(h, p, timeout=10)
            with lock:
                counts[key] = counts.get(key, 0) + 1
                if key != "200" and key not in samples:
                    samples[key] = body[:200].decode("utf-8", "replace")
            i += 1
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    # from the first request due to the last answer: RATE*SECONDS requests
    # in about SECONDS when the client kept the rate
    return {"counts": counts, "samples": samples, "elapsed": time.time() - start}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"raw": raw, "get": get, "upload": upload, "download": download, "sse": sse, "ws": ws,
          "abort": abort, "keepalive": keepalive, "load": load, "ids": ids,
          "latency": latency, "conns": conns}[cmd]
    print(json.dumps(fn(*args)), flush=True)


if __name__ == "__main__":
    main()
