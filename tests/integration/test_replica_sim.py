#!/usr/bin/python3
"""Integration test of Weir's Ray Serve simulators (tools/replica/).

Run:  /usr/bin/python3 tests/integration/test_replica_sim.py [--gib]
(--gib adds 1 GiB upload/download cases; slower, limit 240 s.)
Starts replica.py and router.py on free loopback ports, exercises every
endpoint with the standard library only, prints TAP, exits non-zero on any
failure.  The whole run is bounded (alarm at 58 s); processes are killed in
a finally block.
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM = os.path.join(ROOT, "tools", "replica")
PY = "/usr/bin/python3"
HOST = "127.0.0.1"
IO_TIMEOUT = 10.0
RUN_LIMIT_S = 58

EMPTY_SHA = hashlib.sha256(b"").hexdigest()


class Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise Timeout("test run exceeded %d s" % RUN_LIMIT_S)


# ---------------------------------------------------------------- helpers
def _die_with_parent():
    """Child side of Popen: get SIGKILL if this test process dies (even by SIGKILL)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class Proc:
    def __init__(self, tmp, name, args):
        self.name = name
        self.port_file = os.path.join(tmp, name + ".port")
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen([PY] + args + ["--port", "0", "--port-file", self.port_file],
                                  stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                  preexec_fn=_die_with_parent)
        self.port = None

    def wait_ready(self, limit=10.0):
        t_end = time.monotonic() + limit
        while time.monotonic() < t_end:
            if self.p.poll() is not None:
                raise RuntimeError("%s exited with %s" % (self.name, self.p.returncode))
            if self.port is None and os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
            if self.port is not None:
                try:
                    st, _, body = request(self.port, "GET", "/-/healthz", timeout=1.0)
                    if st == 200 and body == b"success":
                        return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError("%s not ready after %.0f s" % (self.name, limit))

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(2)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(2)
        self.log.close()

    def log_tail(self, n=15):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace").splitlines()[-n:]
        except OSError:
            return []


def request(port, method, path, body=None, headers=None, timeout=IO_TIMEOUT):
    """One request on a fresh connection -> (status, HTTPResponse headers, body bytes)."""
    c = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, r, data
    finally:
        c.close()


def get_json(port, path, method="GET", body=None, headers=None):
    st, r, data = request(port, method, path, body, headers)
    return st, r, json.loads(data)


def raw_exchange(port, data, timeout=IO_TIMEOUT):
    """Send raw bytes, read until the server closes -> (status, headers dict lowercased, body)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    try:
        s.sendall(data)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        n, _, v = ln.partition(":")
        hdrs[n.strip().lower()] = v.strip()
    return status, hdrs, body


def route_req(port, body, truncated=None, path="/internal/route", timeout=IO_TIMEOUT):
    """The router call exactly as Weir/HAProxy makes it (HTTP/1.0)."""
    extra = "X-Body-Truncated: %s\r\n" % truncated if truncated else ""
    req = ("POST %s HTTP/1.0\r\nContent-Type: application/json\r\n%sContent-Length: %d\r\n\r\n"
           % (path, extra, len(body))).encode() + body
    return raw_exchange(port, req, timeout)


# /big content, recomputed from the README's definition (independent of replica.py)
def big_expected(total):
    base = b"".join(hashlib.sha256(b"weir-big %d %d" % (total, j)).digest() for j in range(128))[:4080]
    out = bytearray()
    p = 0
    while len(out) < total:
        out += b"%015x\n" % p + base
        p += 1
    return bytes(out[:total])


class WS:
    """Minimal RFC 6455 client (masked frames, no extensions)."""

    GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, path):
        self.s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        key = base64.b64encode(os.urandom(16))
        self.s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                       b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            n, _, v = ln.partition(":")
            self.headers[n.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(key + self.GUID).digest()).decode()
        self.accept_ok = self.headers.get("sec-websocket-accept") == want

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("websocket closed")
            self.buf += chunk
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            hdr = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            hdr = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            hdr = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload)) if n < 4096 else \
            (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (n // 4 + 1))[:n], "big")).to_bytes(n, "big")
        self.s.sendall(hdr + mask + masked)

    def recv(self):
        """-> (opcode, payload) of the next data/close frame (answers pings)."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(self._read(2), "big")
            elif n == 127:
                n = int.from_bytes(self._read(8), "big")
            mask = self._read(4) if b1 & 0x80 else None
            payload = self._read(n)
            if mask:
                payload = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
            op = b0 & 0x0F
            if op == 9:
                self.send(10, payload)
                continue
            if op == 10:
                continue
            return op, payload

    def close(self):
        try:
            self.send(8, (1000).to_bytes(2, "big"))
            self.recv()
        except OSError:
            pass
        self.s.close()


# ---------------------------------------------------------------- TAP
class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def case(self, name, fn):
        self.n += 1
        try:
            fn()
            print("ok %d - %s" % (self.n, name), flush=True)
        except Timeout:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            print("# run time limit hit", flush=True)
            raise
        except Exception as e:
            self.failed += 1
            print("not ok %d - %s" % (self.n, name), flush=True)
            for ln in ("%s: %s" % (type(e).__name__, e)).splitlines() + \
                    traceback.format_exc().splitlines()[-6:]:
                print("#   " + ln, flush=True)

    def fail_rest(self, name, why):
        self.n += 1
        self.failed += 1
        print("not ok %d - %s" % (self.n, name), flush=True)
        print("#   " + why, flush=True)


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


# ---------------------------------------------------------------- tests
def replica_cases(t, rp, rid):
    port = rp.port

    def stats():
        st, _, d = get_json(port, "/-/admin/stats")
        eq(st, 200, "stats status")
        return d

    def healthz():
        st, r, body = request(port, "GET", "/-/healthz")
        eq(st, 200, "status")
        eq(body, b"success", "body")
        eq(r.getheader("Content-Type").split(";")[0], "text/plain", "content-type")
        eq(r.getheader("X-Replica-Id"), rid, "X-Replica-Id")
    t.case("replica: GET /-/healthz is 200 text/plain 'success' with X-Replica-Id", healthz)

    def health_toggle():
        st, _, d = get_json(port, "/-/admin/health", "POST", b"503")
        eq((st, d["status"]), (200, 503), "admin set 503")
        st, r, body = request(port, "GET", "/-/healthz")
        eq(st, 503, "healthz while failing")
        eq(r.getheader("X-Replica-Id"), rid, "X-Replica-Id")
        st, _, d = get_json(port, "/-/admin/health", "POST", b"200")
        eq(d["status"], 200, "admin set 200")
        st, _, body = request(port, "GET", "/-/healthz")
        eq((st, body), (200, b"success"), "healthz restored")
        st, _, d = get_json(port, "/-/admin/health", "POST", b"nope")
        eq(st, 400, "bad admin body")
        st, _, d = get_json(port, "/-/admin/health", "POST", b"200 300")
        eq(d["delay_ms"], 300, "admin set delay")
        t0 = time.monotonic()
        st, _, body = request(port, "GET", "/-/healthz")
        el = time.monotonic() - t0
        eq((st, body), (200, b"success"), "delayed healthz")
        check(0.29 <= el < 3, "healthz delay %.3f s" % el)
        get_json(port, "/-/admin/health", "POST", b"200")
    t.case("replica: POST /-/admin/health 503/200 (and delay) flips /-/healthz", health_toggle)

    base = stats()

    def echo_get():
        path = "/Some/Path%20x?a=1&b=%2Fc&a=2"
        raw = ("GET %s HTTP/1.1\r\nHost: sim\r\nX-Test-One: first\r\nx-lower: 2\r\n"
               "X-Test-One: again\r\nConnection: close\r\n\r\n" % path).encode()
        st, h, body = raw_exchange(port, raw)
        eq(st, 200, "status")
        eq(h.get("x-replica-id"), rid, "X-Replica-Id")
        d = json.loads(body)
        eq(d["replica_id"], rid, "replica_id")
        eq(d["method"], "GET", "method")
        eq(d["path"], path, "path (raw, with query)")
        eq(d["headers"], [["Host", "sim"], ["X-Test-One", "first"], ["x-lower", "2"],
                          ["X-Test-One", "again"], ["Connection", "close"]], "headers in arrival order")
        eq((d["body_len"], d["body_sha256"], d.get("body")), (0, EMPTY_SHA, ""), "empty body")
    t.case("replica: echo GET reports raw path+query and headers in order/case", echo_get)

    def echo_methods():
        for m in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            body = ("body for %s \u00e9" % m).encode()
            st, r, d = get_json(port, "/api/v1/thing?q=%d" % len(m), m, body,
                                {"Content-Type": "text/plain"})
            eq(st, 200, m + " status")
            eq(d["method"], m, "method")
            eq(d["path"], "/api/v1/thing?q=%d" % len(m), "path")
            eq(d["body_len"], len(body), "body_len")
            eq(d["body_sha256"], hashlib.sha256(body).hexdigest(), "body_sha256")
            eq(d["body"], body.decode(), "body")
        # paths of special endpoints with other methods are echoed too
        st, _, d = get_json(port, "/stream?n=1", "POST", b"x")
        eq((st, d["method"], d["path"]), (200, "POST", "/stream?n=1"), "POST /stream echoes")
    t.case("replica: echo for POST/PUT/PATCH/DELETE/OPTIONS with body", echo_methods)

    def echo_big_body():
        body = bytes(range(256)) * 400  # 100 KiB > 64 KiB: no body text
        st, _, d = get_json(port, "/x", "POST", body)
        eq(d["body_len"], len(body), "body_len")
        eq(d["body_sha256"], hashlib.sha256(body).hexdigest(), "sha")
        check("body" not in d, "body text must be omitted above 64 KiB")
        body = b"\xff\xfe" * 10
        st, _, d = get_json(port, "/x", "POST", body)
        eq(base64.b64decode(d["body_b64"]), body, "body_b64 for non-UTF-8")
        st, r, d = get_json(port, "/x", "GET", None, {"X-Echo-Status": "503"})
        eq((st, d["replica_id"]), (503, rid), "X-Echo-Status")
    t.case("replica: echo omits body > 64 KiB, base64 for binary, X-Echo-Status", echo_big_body)

    def uploads():
        for size in (0, 1024):
            body = os.urandom(size)
            st, r, d = get_json(port, "/upload", "POST", body)
            eq(st, 200, "status")
            eq((d["body_len"], d["body_sha256"]), (size, hashlib.sha256(body).hexdigest()),
               "upload %d B" % size)
        # 10 MiB streamed with Content-Length
        block = bytes(range(256)) * 256
        h = hashlib.sha256()
        c = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
        try:
            c.putrequest("POST", "/upload")
            c.putheader("Content-Length", str(160 * len(block)))
            c.putheader("Content-Type", "application/octet-stream")
            c.endheaders()
            for i in range(160):
                chunk = b"%08d" % i + block[8:]
                h.update(chunk)
                c.send(chunk)
            r = c.getresponse()
            d = json.loads(r.read())
        finally:
            c.close()
        eq((r.status, d["body_len"], d["body_sha256"]), (200, 10 << 20, h.hexdigest()), "10 MiB upload")
        # chunked transfer encoding
        parts = [os.urandom(1000) for _ in range(20)]
        c = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
        try:
            c.request("POST", "/upload", body=iter(parts), encode_chunked=True,
                      headers={"Transfer-Encoding": "chunked"})
            r = c.getresponse()
            d = json.loads(r.read())
        finally:
            c.close()
        eq((d["body_len"], d["body_sha256"]), (20000, hashlib.sha256(b"".join(parts)).hexdigest()),
           "chunked upload")
    t.case("replica: POST /upload sha256 of 0 B, 1 KiB, 10 MiB and chunked", uploads)

    def memory_bounded():
        d = stats()
        # the 10 MiB upload above must not have been buffered whole
        grew = d["peak_rss_kb"] - base["peak_rss_kb"]
        print("# replica peak RSS %d KiB (+%d KiB)" % (d["peak_rss_kb"], grew))
        check(grew < 8 * 1024, "peak RSS grew %d KiB during the tests" % grew)
    t.case("replica: peak RSS grew < 8 MiB across the 10 MiB upload", memory_bounded)

    def big():
        for q, total in (("kb=0", 0), ("kb=1", 1024), ("kb=5", 5120), ("kb=1000", 1024000),
                         ("bytes=12345", 12345)):
            exp = big_expected(total)
            st, r, data = request(port, "GET", "/big?" + q)
            eq(st, 200, q + " status")
            eq(r.getheader("Content-Length"), str(total), q + " Content-Length")
            eq(len(data), total, q + " length")
            check(data == exp, q + " content differs from the documented pattern")
            eq(r.getheader("X-Body-SHA256"), hashlib.sha256(exp).hexdigest(), q + " X-Body-SHA256")
        st, r, data = request(port, "GET", "/big?kb=300&chunked=1")
        eq(r.getheader("Content-Length"), None, "chunked: no Content-Length")
        eq(r.getheader("Transfer-Encoding"), "chunked", "chunked: Transfer-Encoding")
        exp = big_expected(300 * 1024)
        check(data == exp, "chunked content differs")
        eq(r.getheader("X-Body-SHA256"), hashlib.sha256(exp).hexdigest(), "chunked X-Body-SHA256")
        st, r, data = request(port, "HEAD", "/big?kb=7")
        eq((st, r.getheader("Content-Length"), data), (200, "7168", b""), "HEAD /big")
        st, r, data = request(port, "GET", "/big?kb=abc")
        eq(st, 400, "bad kb")
    t.case("replica: GET /big content/length/X-Body-SHA256 (0..1000 KiB, chunked, HEAD)", big)

    def sse():
        c = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
        try:
            t0 = time.monotonic()
            c.request("GET", "/stream?n=5&ms=100")
            r = c.getresponse()
            eq(r.status, 200, "status")
            eq(r.getheader("Content-Type"), "text/event-stream", "content-type")
            eq(r.getheader("X-Replica-Id"), rid, "X-Replica-Id")
            events, arrivals = [], []
            while len(events) < 6:
                line = r.fp.readline()  # raw chunked framing: size line, data, CRLF
                if not line:
                    break
                if line.startswith(b"data: "):
                    events.append(line[6:].split())
                    arrivals.append(time.monotonic() - t0)
                if line.strip() == b"0":  # last chunk
                    break
        finally:
            c.close()
        eq([int(e[0]) for e in events], [0, 1, 2, 3, 4], "event indices")
        sent = [int(e[1]) for e in events]
        gaps = [(b - a) / 1e6 for a, b in zip(sent, sent[1:])]
        check(all(60 <= g <= 400 for g in gaps), "send-time gaps (ms) %r" % gaps)
        check(abs(sent[0] / 1e9 - time.time()) < 30, "send time is ns since epoch")
        check(arrivals[0] < 0.3, "first event arrived late (%.3f s): not flushed?" % arrivals[0])
        check(arrivals[-1] - arrivals[0] >= 0.3, "arrivals not spread: %r" % arrivals)
    t.case("replica: GET /stream?n=5&ms=100 SSE events flushed ~100 ms apart", sse)

    def sleep_ok():
        t0 = time.monotonic()
        st, r, d = get_json(port, "/sleep?ms=150")
        el = time.monotonic() - t0
        eq((st, d["replica_id"], d["slept_ms"]), (200, rid, 150), "answer")
        check(0.14 <= el < 3, "elapsed %.3f" % el)
    t.case("replica: GET /sleep?ms=150 waits and answers", sleep_ok)

    def sleep_cancel():
        before = stats()
        s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        s.sendall(b"GET /sleep?ms=20000 HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)
        mid = stats()
        eq(mid["in_flight"], before["in_flight"] + 1, "in_flight while sleeping")
        s.close()
        d = mid
        for _ in range(40):
            d = stats()
            if d["cancelled"] > before["cancelled"]:
                break
            time.sleep(0.05)
        eq(d["cancelled"], before["cancelled"] + 1, "cancelled")
        eq(d["cancelled_by_endpoint"].get("sleep", 0),
           before["cancelled_by_endpoint"].get("sleep", 0) + 1, "cancelled sleep")
        eq(d["in_flight"], 0, "in_flight after cancel")
    t.case("replica: /sleep cancelled when the client disconnects (counted)", sleep_cancel)

    def stream_cancel():
        before = stats()
        s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        s.sendall(b"GET /stream?n=1000&ms=50 HTTP/1.1\r\nHost: x\r\n\r\n")
        check(b"data: 0" in s.recv(4096) or b"data: 0" in s.recv(4096), "first event")
        s.close()
        d = before
        for _ in range(40):
            d = stats()
            if d["cancelled"] > before["cancelled"]:
                break
            time.sleep(0.05)
        eq(d["cancelled_by_endpoint"].get("stream", 0),
           before["cancelled_by_endpoint"].get("stream", 0) + 1, "cancelled stream")
        eq(d["in_flight"], 0, "in_flight")
    t.case("replica: /stream stops and is counted cancelled on disconnect", stream_cancel)

    def upload_cancel():
        before = stats()
        s = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        s.sendall(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n" + b"u" * 100000)
        time.sleep(0.2)
        s.close()
        d = before
        for _ in range(40):
            d = stats()
            if d["cancelled"] > before["cancelled"]:
                break
            time.sleep(0.05)
        eq(d["cancelled_by_endpoint"].get("upload", 0),
           before["cancelled_by_endpoint"].get("upload", 0) + 1, "cancelled upload")
        eq(d["in_flight"], 0, "in_flight")
    t.case("replica: upload abandoned mid-body is counted cancelled", upload_cancel)

    def websocket():
        before = stats()
        w = WS(port, "/ws")
        try:
            eq(w.status, 101, "handshake status")
            check(w.accept_ok, "Sec-WebSocket-Accept")
            eq(w.headers.get("x-replica-id"), rid, "X-Replica-Id on handshake")
            w.send(1, "héllo".encode())
            eq(w.recv(), (1, "héllo".encode()), "text echo")
            blob = os.urandom(70000)
            w.send(2, blob)
            eq(w.recv(), (2, blob), "binary echo (70000 B)")
            w.send(2, b"")
            eq(w.recv(), (2, b""), "empty binary echo")
            mid = stats()
            eq(mid["ws_sessions_active"], before["ws_sessions_active"] + 1, "ws active")
        finally:
            w.close()
        d = stats()
        eq(d["ws_sessions_total"], before["ws_sessions_total"] + 1, "ws_sessions_total")
        eq(d["ws_messages"], before["ws_messages"] + 3, "ws_messages")
        w = WS(port, "/not-ws")
        w.s.close()
        eq(w.status, 403, "websocket on another path")
    t.case("replica: WebSocket /ws echoes text and binary, counts sessions", websocket)

    def close_after_headers():
        st, _, d = get_json(port, "/-/admin/close-after-headers", "POST", b"1")
        eq(d["close_after_headers"], 1, "armed")
        st, h, body = raw_exchange(port, b"GET /anything HTTP/1.1\r\nHost: x\r\n\r\n")
        eq(st, 200, "status line sent")
        eq(h.get("content-length"), "1000", "promised length")
        eq(body, b"", "no body before close")
        st, _, d = get_json(port, "/anything")
        eq((st, d["path"]), (200, "/anything"), "next request normal")
    t.case("replica: /-/admin/close-after-headers closes after the headers once", close_after_headers)

    def prefix_and_keepalive():
        c = http.client.HTTPConnection(HOST, port, timeout=IO_TIMEOUT)
        try:
            c.request("GET", "/app/sleep?ms=1")
            r = c.getresponse()
            d = json.loads(r.read())
            eq(d.get("slept_ms"), 1, "/app/sleep with --route-prefix /app")
            c.request("GET", "/app/x?y")
            r = c.getresponse()
            d = json.loads(r.read())
            eq(d["path"], "/app/x?y", "echo keeps the prefix")
            c.request("GET", "/app/-/healthz")
            r = c.getresponse()
            eq(r.read(), b"success", "healthz under prefix")
        finally:
            c.close()
    t.case("replica: --route-prefix strips for matching only; keep-alive reuse", prefix_and_keepalive)

    def stats_final():
        d = stats()
        for k in ("requests_total", "requests_served", "in_flight", "cancelled",
                  "ws_sessions_total", "ws_sessions_active", "healthz_total"):
            check(isinstance(d.get(k), int), "stats field %s" % k)
        eq(d["in_flight"], 0, "in_flight")
        eq(d["errors"], 0, "errors")
        eq(d["replica_id"], rid, "replica_id")
        check(d["requests_served"] >= 20, "requests_served %d" % d["requests_served"])
        eq(d["requests_total"], d["requests_served"] + d["cancelled"] + d["closed_after_headers"],
           "total = served + cancelled + closed")
    t.case("replica: GET /-/admin/stats counters are consistent", stats_final)


def router_cases(t, rt):
    port = rt.port

    def set_rule(rule):
        st, _, d = get_json(port, "/-/admin/rule", "POST", rule.encode())
        eq((st, d.get("rule")), (200, rule), "set rule " + rule)

    def answer(body=b"{}", truncated=None):
        st, h, data = route_req(port, body, truncated)
        return st, h, data

    def healthz():
        st, r, body = request(port, "GET", "/-/healthz")
        eq((st, body), (200, b"success"), "healthz")
    t.case("router: GET /-/healthz is 200 'success'", healthz)

    def fixed():
        st, h, data = answer(b'{"prompt": "hi"}')
        eq(st, 200, "status")
        eq(h.get("content-type"), "application/json", "content-type")
        eq(json.loads(data), {"replica_id": "r-fixed"}, "answer")
    t.case("router: --rule fixed:r-fixed (HTTP/1.0 POST /internal/route)", fixed)

    def roundrobin():
        set_rule("roundrobin:a,b,c")
        got = [json.loads(answer()[2])["replica_id"] for _ in range(4)]
        eq(got, ["a", "b", "c", "a"], "sequence")
    t.case("router: rule roundrobin:a,b,c cycles", roundrobin)

    def field():
        set_rule("field:model")
        st, _, data = answer(b'{"model": "m-7", "x": 1}')
        eq((st, json.loads(data)), (200, {"replica_id": "m-7"}), "field present")
        st, _, _ = answer(b'{"other": 1}')
        eq(st, 400, "field missing")
        st, _, _ = answer(b'{"model": "trunc', truncated="16/300")
        eq(st, 400, "truncated JSON")
    t.case("router: rule field:model uses body[model]", field)

    def error():
        for code in (503, 500, 404):
            set_rule("error:%d" % code)
            st, _, _ = answer()
            eq(st, code, "error status")
    t.case("router: rule error:<status> answers that status", error)

    def sleep():
        set_rule("sleep:300:slow")
        t0 = time.monotonic()
        st, _, data = answer()
        el = time.monotonic() - t0
        eq((st, json.loads(data)), (200, {"replica_id": "slow"}), "answer")
        check(0.29 <= el < 3, "elapsed %.3f" % el)
        # a caller that gives up (router timeout) cancels the sleep
        set_rule("sleep:5000:slow")
        st0, _, s0 = get_json(port, "/-/admin/stats")
        try:
            route_req(port, b"{}", timeout=0.2)
            raise AssertionError("expected a client timeout")
        except socket.timeout:
            pass
        d = s0
        for _ in range(40):
            _, _, d = get_json(port, "/-/admin/stats")
            if d["cancelled"] > s0["cancelled"]:
                break
            time.sleep(0.05)
        eq(d["cancelled"], s0["cancelled"] + 1, "router cancelled count")
        eq(d["in_flight"], 0, "router in_flight")
    t.case("router: rule sleep:<ms>:<id> delays; caller timeout cancels it", sleep)

    def garbage():
        set_rule("garbage")
        st, _, data = answer()
        eq(st, 200, "status")
        try:
            json.loads(data)
            raise AssertionError("garbage body parsed as JSON: %r" % data)
        except ValueError:
            pass
    t.case("router: rule garbage answers a non-JSON body", garbage)

    def other_paths():
        set_rule("fixed:z")
        st, _, _ = route_req(port, b"{}", path="/elsewhere")
        eq(st, 404, "other path")
        st, _, _ = request(port, "GET", "/internal/route")
        eq(st, 405, "GET /internal/route")
        st, _, d = get_json(port, "/-/admin/rule", "POST", b"bogus:rule")
        eq(st, 400, "bad rule rejected")
    t.case("router: 404 elsewhere, 405 for GET, bad runtime rule rejected", other_paths)

    def log():
        st, _, d = get_json(port, "/-/admin/log")
        eq(st, 200, "status")
        body = b'{"model": "m-9", "pad": "' + b"x" * 100 + b'"}'
        _, _, before = get_json(port, "/-/admin/log")
        route_req(port, body[:50], truncated="50/%d" % len(body))
        _, _, d = get_json(port, "/-/admin/log?since=%d" % before["count"])
        eq(len(d["requests"]), 1, "one new entry")
        e = d["requests"][0]
        eq((e["method"], e["path"], e["http_version"]), ("POST", "/internal/route", "1.0"), "request line")
        eq(e["content_type"], "application/json", "content_type")
        eq(e["x_body_truncated"], "50/%d" % len(body), "x_body_truncated")
        eq(e["body_len"], 50, "body_len")
        eq(e["body_sha256"], hashlib.sha256(body[:50]).hexdigest(), "body_sha256")
        eq((e["status"], e["replica_id"], e["outcome"]), (200, "z", "answered"), "answer logged")
        check(["Content-Type", "application/json"] in e["headers"], "headers list")
        check(all(x["path"] != "/-/healthz" for x in d["requests"]), "healthz not logged")
        check(before["healthz_total"] >= 2, "healthz counted")
    t.case("router: GET /-/admin/log records method/path/headers/truncation/body length", log)


def gib_cases(t, rp):
    """Optional (--gib): 1 GiB upload and download in bounded replica memory."""
    port = rp.port
    _, _, base = get_json(port, "/-/admin/stats")

    def upload_gib():
        block = bytes(range(256)) * 256
        h = hashlib.sha256()
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            c.putrequest("POST", "/upload")
            c.putheader("Content-Length", str(1 << 30))
            c.endheaders()
            for i in range(16384):
                chunk = b"%08d" % i + block[8:]
                h.update(chunk)
                c.send(chunk)
            r = c.getresponse()
            d = json.loads(r.read())
        finally:
            c.close()
        eq((d["body_len"], d["body_sha256"]), (1 << 30, h.hexdigest()), "1 GiB upload")
    t.case("replica: POST /upload of 1 GiB (streamed)", upload_gib)

    def big_gib():
        c = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            c.request("GET", "/big?kb=1048576")
            r = c.getresponse()
            eq(r.getheader("Content-Length"), str(1 << 30), "Content-Length")
            h = hashlib.sha256()
            n = 0
            while True:
                data = r.read(1 << 20)
                if not data:
                    break
                for off in range(0, len(data), 4096):
                    if data[off:off + 16] != b"%015x\n" % ((n + off) // 4096):
                        raise AssertionError("page header wrong at offset %d" % (n + off))
                h.update(data)
                n += len(data)
        finally:
            c.close()
        eq(n, 1 << 30, "length")
        eq(r.getheader("X-Body-SHA256"), h.hexdigest(), "X-Body-SHA256")
    t.case("replica: GET /big?kb=1048576 (1 GiB) length, page headers, sha256", big_gib)

    def mem():
        _, _, d = get_json(port, "/-/admin/stats")
        grew = d["peak_rss_kb"] - base["peak_rss_kb"]
        print("# replica peak RSS %d KiB (+%d KiB)" % (d["peak_rss_kb"], grew))
        check(grew < 16 * 1024, "peak RSS grew %d KiB over 1 GiB transfers" % grew)
    t.case("replica: peak RSS grew < 16 MiB over the 1 GiB transfers", mem)


def cli_cases(t):
    def bad_rule():
        p = subprocess.run([PY, os.path.join(SIM, "router.py"), "--id", "x", "--port", "0",
                            "--rule", "nonsense"], capture_output=True, timeout=15)
        eq(p.returncode, 2, "exit status")
        check(b"unknown rule" in p.stderr, "message: %r" % p.stderr[-200:])
    t.case("router: bad --rule exits 2 with a message", bad_rule)


def main():
    global RUN_LIMIT_S
    gib = "--gib" in sys.argv[1:]
    if gib:
        RUN_LIMIT_S = 240
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(RUN_LIMIT_S)
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="weir-replica-sim-")
    procs = []
    try:
        rp = Proc(tmp, "replica", [os.path.join(SIM, "replica.py"), "--id", "rep-1",
                                   "--name", "SERVE_REPLICA::app#Dep#rep-1",
                                   "--route-prefix", "/app"])
        procs.append(rp)
        rt = Proc(tmp, "router", [os.path.join(SIM, "router.py"), "--id", "router-1",
                                  "--rule", "fixed:r-fixed"])
        procs.append(rt)
        started = True
        for p in procs:
            try:
                p.wait_ready()
            except Exception as e:
                started = False
                t.fail_rest("%s starts and answers /-/healthz" % p.name, str(e))
                for ln in p.log_tail():
                    print("#   | " + ln)
        if started:
            replica_cases(t, rp, "rep-1")
            router_cases(t, rt)
            cli_cases(t)
            if gib:
                gib_cases(t, rp)
    except Timeout as e:
        t.fail_rest("run finished in time", str(e))
    finally:
        signal.alarm(0)
        for p in procs:
            try:
                p.stop()
            except Exception:
                pass
        if t.failed:
            for p in procs:
                print("# --- %s log (tail) ---" % p.name)
                for ln in p.log_tail():
                    print("#   | " + ln)
        shutil.rmtree(tmp, ignore_errors=True)
    print("1..%d" % t.n)
    print("# %d passed, %d failed" % (t.n - t.failed, t.failed))
    return 1 if t.failed else 0


if __name__ == "__main__":
    sys.exit(main())
