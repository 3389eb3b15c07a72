"""Scripted raw HTTP/1.x client for Weir's integration tests. Run it inside
the client namespace (ip netns exec NS /usr/bin/python3 http_rawclient.py
HOST PORT JOBFILE); it runs the jobs of JOBFILE one after the other and
prints one JSON list of results on stdout. Stdlib only; every socket
operation has a timeout.

A job is {"id": ..., "steps": [...], "nobody_first": N}; N (default 0)
final responses answer HEAD requests (no body). Each job opens one TCP connection
(TCP_NODELAY) and runs its steps on it:
  {"op": "send", "data": B64, "split": "whole" | "byte" | "at:K" | "seed:N[:MAX]",
   "pause_ms": P}  send the bytes whole, one byte per send(), in two sends
                   cut before byte K (at:K), or in pieces of 1..MAX (default 24) bytes cut by random.Random(N); P ms
                   between two sends (so each piece is its own segment)
  {"op": "read", "n": K, "timeout": T}
                   read until K responses (1xx included) are parsed, the
                   peer closes, or T seconds pass
  {"op": "close_wait", "timeout": T}
                   read until the peer closes (EOF or RST); bytes that still
                   arrive are reported as "extra"
  {"op": "open_check", "time": T}
                   the connection must stay open and silent for T seconds
  {"op": "shutdown"}  half-close (SHUT_WR); reading goes on
  {"op": "sleep", "time": T}
A result: {"id", "responses": [{"status", "reason", "version", "headers":
[[n, v]], "body_b64", "head_b64"}], "eof", "reset", "eof_after_s" (seconds
from the last send to the EOF/RST), "extra_b64" (unparsed bytes left),
"open" (open_check outcome), "send_error", "error", "connect_s", "sends"}.
"""
import base64
import json
import random
import socket
import sys
import time


class Incomplete(Exception):
    pass


def _line(buf, pos):
    i = buf.find(b"\r\n", pos)
    if i < 0:
        raise Incomplete()
    return buf[pos:i], i + 2


def parse_response(buf, pos, eof, nobody=False):
    """One response from buf[pos:]: (dict, new_pos), or raises Incomplete.
    Bodies: 1xx/204/304 and answers to HEAD (nobody) none, chunked,
    Content-Length, else until EOF."""
    end = buf.find(b"\r\n\r\n", pos)
    if end < 0:
        raise Incomplete()
    head = buf[pos:end + 2]
    lines = head.split(b"\r\n")[:-1]
    status_line = lines[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("bad status line %r" % status_line)
    version, status = parts[0], int(parts[1])
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for l in lines[1:]:
        n, _, v = l.decode("latin-1").partition(":")
        headers.append([n, v.strip()])
    hmap = {}
    for n, v in headers:
        hmap.setdefault(n.lower(), v)
    p = end + 4
    body = b""
    if 100 <= status < 200 or status in (204, 304) or (nobody and status >= 200):
        pass
    elif "chunked" in hmap.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            l, p = _line(buf, p)
            size = int(l.split(b";")[0].strip(), 16)
            if size == 0:
                while True:  # trailer section
                    l, p = _line(buf, p)
                    if l == b"":
                        break
                break
            if len(buf) < p + size + 2:
                raise Incomplete()
            chunks.append(buf[p:p + size])
            p += size + 2
        body = b"".join(chunks)
    elif "content-length" in hmap:
        n = int(hmap["content-length"])
        if len(buf) < p + n:
            raise Incomplete()
        body = buf[p:p + n]
        p += n
    else:
        if not eof:
            raise Incomplete()
        body = buf[p:]
        p = len(buf)
    return ({"status": status, "reason": reason, "version": version,
             "headers": headers, "body_b64": base64.b64encode(body).decode(),
             "head_b64": base64.b64encode(head).decode()}, p)


def pieces(data, split):
    if split == "whole":
        return [data]
    if split == "byte":
        return [data[i:i + 1] for i in range(len(data))]
    if split.startswith("at:"):  # two sends, cut before byte K
        k = int(split[3:])
        return [data[:k], data[k:]]
    if split.startswith("seed:"):
        f = split.split(":")
        rng = random.Random(int(f[1]))
        mx = int(f[2]) if len(f) > 2 else 24
        out, i = [], 0
        while i < len(data):
            n = rng.randint(1, mx)
            out.append(data[i:i + n])
            i += n
        return out
    raise ValueError("split %r" % split)


class Conn:
    def __init__(self, host, port, res, nobody_first=0):
        self.res = res
        self.nobody_first = nobody_first  # leading final responses to HEAD
        self.buf = b""
        self.pos = 0
        self.last_send = time.monotonic()
        t0 = time.monotonic()
        self.s = socket.create_connection((host, port), timeout=3)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        res["connect_s"] = round(time.monotonic() - t0, 4)

    def closed(self):
        return self.res["eof"] or self.res["reset"]

    def _recv(self, timeout):
        """One recv; False on timeout or close."""
        if self.closed():
            return False
        self.s.settimeout(max(timeout, 0.001))
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            self.res["reset"] = True
            self.res["eof_after_s"] = round(time.monotonic() - self.last_send, 4)
            return False
        if not d:
            self.res["eof"] = True
            self.res["eof_after_s"] = round(time.monotonic() - self.last_send, 4)
            return False
        self.buf += d
        return True

    def _parse(self):
        while self.pos < len(self.buf):
            finals = sum(1 for r in self.res["responses"] if r["status"] >= 200)
            try:
                r, p = parse_response(self.buf, self.pos, self.closed(),
                                      finals < self.nobody_first)
            except Incomplete:
                return
            self.res["responses"].append(r)
            self.pos = p

    def send(self, step):
        pause = step.get("pause_ms", 0) / 1000.0
        ps = pieces(base64.b64decode(step["data"]), step.get("split", "whole"))
        self.s.settimeout(5)
        for i, p in enumerate(ps):
            try:
                self.s.sendall(p)
            except (BrokenPipeError, ConnectionResetError, socket.timeout) as e:
                self.res["send_error"] = "%s after %d of %d sends" % (
                    type(e).__name__, i, len(ps))
                break
            self.res["sends"] += 1
            self.last_send = time.monotonic()
            if pause and i + 1 < len(ps):
                time.sleep(pause)

    def read(self, step):
        want = step.get("n", 1)
        deadline = time.monotonic() + step.get("timeout", 3)
        while True:
            self._parse()
            if len(self.res["responses"]) >= want:
                return
            left = deadline - time.monotonic()
            if left <= 0 or not self._recv(left):
                if self.closed():
                    self._parse()
                return

    def close_wait(self, step):
        deadline = time.monotonic() + step.get("timeout", 2)
        while not self.closed():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._recv(left)
        self._parse()

    def open_check(self, step):
        deadline = time.monotonic() + step.get("time", 0.3)
        n = len(self.buf)
        while not self.closed():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._recv(left)
        self.res["open"] = not self.closed() and len(self.buf) == n


def run_job(host, port, job):
    res = {"id": job.get("id"), "responses": [], "eof": False, "reset": False,
           "eof_after_s": None, "extra_b64": "", "open": None, "send_error": None,
           "error": None, "sends": 0}
    c = None
    try:
        c = Conn(host, port, res, job.get("nobody_first", 0))
        for st in job["steps"]:
            op = st["op"]
            if op == "send":
                c.send(st)
            elif op == "read":
                c.read(st)
            elif op == "close_wait":
                c.close_wait(st)
            elif op == "open_check":
                c.open_check(st)
            elif op == "shutdown":
                c.s.shutdown(socket.SHUT_WR)
            elif op == "sleep":
                time.sleep(st["time"])
            else:
                raise ValueError("op %r" % op)
    except Exception as e:  # reported, the next job still runs
        res["error"] = "%s: %s" % (type(e).__name__, e)
    finally:
        if c is not None:
            res["extra_b64"] = base64.b64encode(c.buf[c.pos:]).decode()
            c.s.close()
    return res


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path) as f:
        jobs = json.load(f)
    out = [run_job(host, port, j) for j in jobs]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
