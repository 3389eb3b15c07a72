"""weir-dp never forwards what is already known to be invalid (#13), shown
with a replica that records every byte it receives (lib/recording_replica.py).

1. Refused requests (invalid chunk sizes and extensions, CL/TE conflicts,
   differing Content-Lengths, empty Host, framing fields in trailers...):
   sent whole, in two sends cut at every byte of the head and first chunk
   line, and (when the invalid byte is in that prefix) one byte per send:
   the client gets the status with "Connection: close" and EOF, and the
   replica receives NOTHING - not one byte - for any of them.
2. Normalised requests ('Content-Length: 5, 5', repeated equal
   Content-Lengths, absolute-form targets with and without Host, a 32-digit
   chunk size): the same variants; the replica receives, byte for byte,
   the normalised request (origin-form, the authority as Host, one
   Content-Length; only X-Request-Id is masked). An absolute-form target is
   routed by its own path (/mix/... goes to the other target group).
3. A held chunked head whose client half-closes: 400, 0 bytes forwarded.
   Invalid framing arriving after the head went (mid-stream): the client
   gets 400 and EOF, the replica sees the valid prefix and then a reset
   (the connection is never pooled), and /weir/http counts body_reset.
4. 10,000 requests against two healthy Ray-like replicas (tools/replica):
   short connections, keep-alive runs, pipelined bursts, client half-close
   after the request, early client close right after the head; no 502 or
   503 (no 5xx at all), and the pool counters add up.

Run: WEIR_TB_SUFFIX=h WEIR_BUILD=/tmp/b-h13 /usr/bin/python3 tests/integration/test_http_framing.py
"""
import base64
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from weirlib import PY, ROOT, Tap, Testbed, WeirDP, delta, run  # noqa: E402
from recording_replica import read_log, request_end  # noqa: E402

CLIENT = os.path.join(HERE, "lib", "http_rawclient.py")
MIX = os.path.join(HERE, "lib", "http_mix.py")
RECORDER = os.path.join(HERE, "lib", "recording_replica.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")
PORT = 8000
REC_PORT = 30000
SIM_PORT = 30001
B64 = lambda b: base64.b64encode(b).decode()  # noqa: E731


def unb64(s):
    return base64.b64decode(s or "")


def show(b, limit=200):
    if len(b) > limit:
        return repr(b[:limit // 2]) + " ...(%d bytes)... " % len(b) + repr(b[-limit // 2:])
    return repr(b)


class Env:
    """Testbed; a recording replica (route "/") and two replica.py
    simulators (route "/mix"); weir-dp with the HTTP proxy on VIP:8000."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="weir-hf-")
        self.procs = []
        self.tb = Testbed("wthf", replicas=2)
        ips = self.tb.be_ips.split()
        self.log = os.path.join(self.tmp, "recorded.log")
        pf = os.path.join(self.tmp, "rec.port")
        self.spawn([PY, RECORDER, ips[0], str(REC_PORT), self.log, pf], "rec")
        ports = [pf]
        sims = []
        for i, ip in enumerate(ips[:2]):
            rid = "s%d" % (i + 1)
            pf = os.path.join(self.tmp, rid + ".port")
            self.spawn([PY, REPLICA, "--id", rid, "--host", ip, "--port", str(SIM_PORT),
                        "--port-file", pf, "--route-prefix", "/mix",
                        "--timeout-keep-alive", os.environ.get("WEIR_HF_KEEPALIVE", "5")], rid)
            ports.append(pf)
            sims.append({"ip": ip, "port": SIM_PORT, "instance_id": "n%d" % i,
                         "name": "SERVE_REPLICA::mix#App#" + rid, "replica_id": rid})
        deadline = time.time() + 20
        for pf in ports:
            while not os.path.exists(pf):
                if time.time() > deadline or any(p.poll() is not None for p in self.procs):
                    raise RuntimeError("a replica did not start")
                time.sleep(0.1)
        tg = {"target_groups": [
            {"protocol": "HTTP", "route_prefix": "/", "app_name": "rec",
             "targets": [{"ip": ips[0], "port": REC_PORT, "instance_id": "n0",
                          "name": "SERVE_REPLICA::rec#App#rec", "replica_id": "rec"}]},
            {"protocol": "HTTP", "route_prefix": "/mix", "app_name": "mix", "targets": sims}]}
        path = os.path.join(self.tmp, "tg.json")
        with open(path, "w") as f:
            json.dump(tg, f)
        self.dp = WeirDP(self.tb, workers=2, extra={"http": {"port": PORT, "target_groups": path}})
        self.offset = 0

    def spawn(self, cmd, name):
        out = open(os.path.join(self.tmp, name + ".out"), "w")
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.tb.ns_be] + cmd,
                                           stdout=out, stderr=subprocess.STDOUT))

    def client(self, jobs, timeout=600):
        path = os.path.join(self.tmp, "jobs.json")
        with open(path, "w") as f:
            json.dump(jobs, f)
        r = run([PY, CLIENT, self.tb.vip, str(PORT), path], ns=self.tb.ns_cli, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("http_rawclient failed: %s" % r.stderr[-2000:])
        return json.loads(r.stdout)

    def recorded(self):
        """What the recording replica received since the last call:
        {conn: [(kind, bytes)...]}, connections in order of first record."""
        time.sleep(0.3)  # let the last bytes land in the log
        recs, self.offset = read_log(self.log, self.offset)
        out = {}
        for conn, kind, data in recs:
            out.setdefault(conn, []).append((kind, data))
        return out

    def counters(self):
        return self.dp.telemetry("/weir/http")

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        rc = self.dp.stop() if hasattr(self, "dp") else None
        self.tb.down()
        return rc


def data_bytes(rec):
    return {c: b"".join(d for k, d in ev if k == "D") for c, ev in rec.items()}


def requests_in(rec):
    """Every complete request the replica received, in order per connection,
    and the bytes left over (a request cut short)."""
    reqs, left = [], b""
    for c, buf in data_bytes(rec).items():
        while buf:
            n = request_end(buf)
            if n is None:
                left += buf
                break
            reqs.append(buf[:n])
            buf = buf[n:]
    return reqs, left


def mask(req):
    return re.sub(rb"\r\nX-Request-Id: [^\r]*\r\n", b"\r\nX-Request-Id: *\r\n", req)


# ---- the cases ----------------------------------------------------------

CHK = b"POST /f/chunked HTTP/1.1\r\nHost: weir.test\r\nTransfer-Encoding: chunked\r\n\r\n"

# (name, bytes, status); the splits cut inside the head and first chunk
# line (prefix_len), so the invalid part always arrives with or after it.
REFUSED = [
    ("chunk size over 64 bits", CHK + b"10000000000000000\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size not hex", CHK + b"5g\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk size 35 digits (leading zeros)", CHK + b"0" * 34 + b"5\r\nhello\r\n0\r\n\r\n", 400),
    ("bad chunk extension (open quote)", CHK + b"5;a=\"x\r\nhello\r\n0\r\n\r\n", 400),
    ("bad chunk extension (no name)", CHK + b"5;=1\r\nhello\r\n0\r\n\r\n", 400),
    ("valid first chunk, poisoned second in the same send",
     CHK + b"5\r\nhello\r\nZZ\r\n0\r\n\r\n", 400),
    ("trailer Content-Length", CHK + b"0\r\nContent-Length: 5\r\n\r\n", 400),
    ("CL and TE", b"POST /f/clte HTTP/1.1\r\nHost: weir.test\r\nContent-Length: 5\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
    ("TE and CL with a smuggled request", b"POST /f/tecl HTTP/1.1\r\nHost: weir.test\r\n"
     b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n",
     400),
    ("differing Content-Length list", b"POST /f/cl HTTP/1.1\r\nHost: weir.test\r\n"
     b"Content-Length: 5, 6\r\n\r\nhello", 400),
    ("empty Host", b"GET /f/host HTTP/1.1\r\nHost:\r\n\r\n", 400),
    ("whitespace-only Host", b"GET /f/host HTTP/1.1\r\nHost:  \t \r\n\r\n", 400),
    ("absolute-form with userinfo", b"GET http://u@weir.test/f HTTP/1.1\r\nHost: weir.test\r\n\r\n",
     400),
]


def prefix_len(data):
    """Bytes of the head and, for a chunked body, its first chunk line."""
    h = data.index(b"\r\n\r\n") + 4
    if b"transfer-encoding: chunked" in data[:h].lower():
        return data.index(b"\r\n", h) + 2
    return h


def error_in_prefix(name):
    return name not in ("valid first chunk, poisoned second in the same send",
                        "trailer Content-Length")


def variants(data, with_byte):
    """(label, split) for one case: whole, two sends cut at every byte of
    the head and first chunk line, and one byte per send."""
    p = prefix_len(data)
    v = [("whole", "whole")] + [("cut at %d" % k, "at:%d" % k) for k in range(1, p)]
    if with_byte:
        v.append(("byte by byte", "byte"))
    return v


def test_refused(t, env):
    c0 = env.counters()
    env.recorded()
    total = 0
    for name, data, status in REFUSED:
        vs = variants(data, error_in_prefix(name))
        jobs = [{"id": label, "steps": [
            {"op": "send", "data": B64(data), "split": split, "pause_ms": 3 if split != "byte" else 1},
            {"op": "read", "n": 1, "timeout": 3}, {"op": "close_wait", "timeout": 2}]}
            for label, split in vs]
        res = env.client(jobs)
        total += len(jobs)
        bad = []
        for (label, _), r in zip(vs, res):
            rs = r["responses"]
            st = [x["status"] for x in rs]
            conn = [v for n, v in rs[0]["headers"] if n.lower() == "connection"] if rs else []
            if st != [status] or conn != ["close"] or not (r["eof"] or r["reset"]) or \
                    unb64(r["extra_b64"]):
                bad.append("%s: statuses %s, Connection %s, eof %s reset %s, extra %s"
                           % (label, st, conn, r["eof"], r["reset"], show(unb64(r["extra_b64"]))))
        t.ok(not bad, "refused %s: %d variants, each %d + Connection: close + closed"
             % (name, len(vs), status), "\n".join(bad[:10]))
        got = {c: b for c, b in data_bytes(env.recorded()).items() if b}
        t.ok(not got, "refused %s: the replica received 0 bytes in all %d variants" % (name, len(vs)),
             "\n".join("conn %d: %s" % (c, show(b)) for c, b in got.items()))
    c1 = env.counters()
    d = delta(c1, c0)
    t.ok(d.get("err_parse") == total and d.get("body_reset", 0) == 0 and
         d.get("pool_new", 0) == 0 and d.get("pool_reuse", 0) == 0,
         "/weir/http: %d refusals counted, none dispatched, none reset mid-stream" % total, d)


def fwd(head_lines, body=b""):
    """The request as the replica must receive it: our three fields last."""
    return (head_lines + b"X-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\n"
            b"X-Request-Id: *\r\n\r\n" + body)


def normalised_cases():
    return [
        ("Content-Length: 5, 5", b"POST /n/cl55 HTTP/1.1\r\nHost: weir.test\r\n"
         b"Content-Length: 5, 5\r\n\r\nhello",
         fwd(b"POST /n/cl55 HTTP/1.1\r\nHost: weir.test\r\nContent-Length: 5\r\n", b"hello")),
        ("two equal Content-Length fields", b"POST /n/cl2 HTTP/1.1\r\nHost: weir.test\r\n"
         b"Content-Length: 5\r\nX-A: 1\r\ncontent-length: 005\r\n\r\nhello",
         fwd(b"POST /n/cl2 HTTP/1.1\r\nHost: weir.test\r\nContent-Length: 5\r\nX-A: 1\r\n", b"hello")),
        ("absolute-form: the authority replaces Host",
         b"GET http://auth.example:8000/n/abs?q=1 HTTP/1.1\r\nHost: ignored.example\r\nX-A: 1\r\n\r\n",
         fwd(b"GET /n/abs?q=1 HTTP/1.1\r\nHost: auth.example:8000\r\nX-A: 1\r\n")),
        ("absolute-form with an empty Host, no path",
         b"GET HTTP://Auth.Example?x=1 HTTP/1.1\r\nHost:\r\n\r\n",
         fwd(b"GET /?x=1 HTTP/1.1\r\nHost: Auth.Example\r\n")),
        ("absolute-form, HTTP/1.0 without Host",
         b"GET http://auth.example/n/abs10 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
         fwd(b"GET /n/abs10 HTTP/1.0\r\nHost: auth.example\r\n").replace(
             b"X-Request-Id: *\r\n", b"X-Request-Id: *\r\nConnection: keep-alive\r\n")),
        ("chunk-size token of 32 digits", CHK + b"0" * 31 + b"5\r\nhello\r\n0\r\n\r\n",
         fwd(b"POST /f/chunked HTTP/1.1\r\nHost: weir.test\r\nTransfer-Encoding: chunked\r\n",
             b"0" * 31 + b"5\r\nhello\r\n0\r\n\r\n")),
    ]


def test_normalised(t, env):
    env.recorded()
    for name, data, want in normalised_cases():
        want = want.replace(b"X-Forwarded-For: %s", b"X-Forwarded-For: " + env.tb.cli_ip.encode())
        vs = variants(data, True)
        jobs = [{"id": label, "steps": [
            {"op": "send", "data": B64(data), "split": split, "pause_ms": 3 if split != "byte" else 1},
            {"op": "read", "n": 1, "timeout": 3}]} for label, split in vs]
        res = env.client(jobs)
        st = [r["responses"][0]["status"] if r["responses"] else None for r in res]
        t.ok(st == [200] * len(vs), "%s: %d variants, each 200" % (name, len(vs)),
             [(lab, s) for (lab, _), s in zip(vs, st) if s != 200][:10])
        reqs, left = requests_in(env.recorded())
        wrong = [show(mask(r), 400) for r in reqs if mask(r) != want]
        t.ok(len(reqs) == len(vs) and not wrong and not left,
             "%s: the replica received the normalised request byte for byte, %d times (got %d)"
             % (name, len(vs), len(reqs)),
             "\n".join(["want " + show(want, 400)] + wrong[:3] + ["left " + show(left)]))
    # routing uses the absolute-form's path: /mix/... is the other group
    res = env.client([{"id": "abs mix", "steps": [
        {"op": "send", "data": B64(b"GET http://auth.example/mix/abs?z=1 HTTP/1.1\r\n"
                                   b"Host: other\r\n\r\n")},
        {"op": "read", "n": 1, "timeout": 3}]}])[0]
    echo = json.loads(unb64(res["responses"][0]["body_b64"])) if res["responses"] else {}
    hosts = [v for n, v in echo.get("headers", []) if n.lower() == "host"]
    t.ok(echo.get("path") == "/mix/abs?z=1" and hosts == ["auth.example"] and
         not data_bytes(env.recorded()),
         "absolute-form http://auth.example/mix/abs is routed by its path to /mix, origin-form, "
         "Host: auth.example", echo)


MID = [
    ("bad chunk size after a valid chunk", CHK + b"5\r\nhello\r\n", b"ZZ\r\n0\r\n\r\n"),
    ("chunk size over 64 bits after a valid chunk", CHK + b"5\r\nhello\r\n",
     b"10000000000000000\r\n"),
    ("Content-Length in the trailers", CHK + b"5\r\nhello\r\n0\r\n", b"Content-Length: 5\r\n\r\n"),
]


def test_held_truncated(t, env):
    """A chunked head held for its first chunk line, then the client's FIN:
    the body can never end, so 400 and nothing reaches the replica."""
    env.recorded()
    c0 = env.counters()
    res = env.client([{"id": "held", "steps": [
        {"op": "send", "data": B64(CHK + b"5")}, {"op": "sleep", "time": 0.3},
        {"op": "shutdown"}, {"op": "read", "n": 1, "timeout": 3},
        {"op": "close_wait", "timeout": 2}]}])[0]
    st = [r["status"] for r in res["responses"]]
    got = {c: b for c, b in data_bytes(env.recorded()).items() if b}
    d = delta(env.counters(), c0)
    t.ok(st == [400] and res["eof"] and not got and d.get("refused_truncated") == 1,
         "chunked head held, then the client half-closes: 400, closed, 0 bytes to the replica",
         {"statuses": st, "eof": res["eof"], "replica": got, "counters": d})


def test_close_after_response(t, env):
    """A replica that sends a whole response and closes at once, to a
    client that reads late: the proxy still holds most of the body when
    the replica's FIN comes; the client must get all of it."""
    size = 1 << 20
    res = env.client([{"id": "slow reader", "steps": [
        {"op": "send", "data": B64(b"GET /big-close/%d HTTP/1.1\r\nHost: weir\r\n\r\n" % size)},
        {"op": "sleep", "time": 1.0}, {"op": "read", "n": 1, "timeout": 10},
        {"op": "send", "data": B64(b"GET /after HTTP/1.1\r\nHost: weir\r\n\r\n")},
        {"op": "read", "n": 2, "timeout": 3}]}])[0]
    rs = res["responses"]
    got = len(unb64(rs[0]["body_b64"])) if rs else None
    t.ok(len(rs) == 2 and rs[0]["status"] == 200 and got == size and rs[1]["status"] == 200
         and not res["reset"],
         "replica answers 1 MiB and closes at once, client reads late: the whole body arrives, "
         "and the client connection serves the next request",
         {"body": got, "statuses": [r["status"] for r in rs], "reset": res["reset"],
          "error": res["error"]})
    env.recorded()


def test_mid_stream(t, env):
    env.recorded()
    for name, first, rest in MID:
        c0 = env.counters()
        res = env.client([{"id": name, "steps": [
            {"op": "send", "data": B64(first)}, {"op": "sleep", "time": 0.4},
            {"op": "send", "data": B64(rest)}, {"op": "read", "n": 1, "timeout": 3},
            {"op": "close_wait", "timeout": 2}]}])[0]
        st = [r["status"] for r in res["responses"]]
        t.ok(st == [400] and (res["eof"] or res["reset"]),
             "mid-stream %s: the client gets 400 and the connection closes" % name, res)
        rec = env.recorded()
        h = first.index(b"\r\n\r\n") + 2
        want = first[:h] + (b"X-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\nX-Request-Id: *\r\n\r\n"
                            % env.tb.cli_ip.encode()) + first[h + 2:]
        data = data_bytes(rec)
        got = {c: (mask(data[c]), [k for k, _ in ev if k not in ("A", "D")])
               for c, ev in rec.items()}
        # The case's own connection is the one that carried bytes (new, or
        # reused from the pool). Any other may only be a connection pooled
        # by an earlier case that the idle pool closes now: opened before
        # this window, a FIN and not one byte.
        new = [c for c, ev in rec.items() if ev[0][0] == "A"]
        mine = [c for c in got if got[c][0]]
        stray = [c for c in got if c not in mine and (c in new or got[c] != (b"", ["F"]))]
        ok = len(mine) == 1 and got[mine[0]] == (want, ["R"]) and not stray
        t.ok(ok, "mid-stream %s: the replica got the valid prefix, then a reset (not pooled)" % name,
             "want %s + R\ngot %s" % (show(want, 400), {c: (show(b, 400), k, c in new)
                                                       for c, (b, k) in got.items()}))
        d = delta(env.counters(), c0)
        t.ok(d.get("body_reset") == 1 and d.get("err_parse") == 1,
             "mid-stream %s: counted as body_reset" % name, d)


def test_mix(t, env, total=10000):
    c0 = env.counters()
    idle = os.environ.get("WEIR_HF_IDLE", "4.5:5.5")
    r = run([PY, MIX, env.tb.vip, str(PORT), str(total), "/mix/", idle], ns=env.tb.ns_cli,
            timeout=600)
    if r.returncode != 0:
        t.ok(False, "the mixed-load client ran", r.stderr[-2000:])
        return
    out = json.loads(r.stdout)
    print("# mix: %s" % json.dumps(out), flush=True)
    time.sleep(0.5)
    d = delta(env.counters(), c0)
    st = out["statuses"]
    t.ok(out["requests"] >= total and not out["n_errors"],
         "mixed load: %d requests sent (%d answered), every one expected answered (%d not)"
         % (out["requests"], out["answered"], out["n_errors"]), out["errors"][:10])
    bad = {s: n for s, n in st.items() if s != "200"}
    t.ok(not bad and d.get("err_502", 0) == 0 and d.get("err_503", 0) == 0,
         "mixed load: every answer is 200, no 502/503 (answers %s)" % st,
         {"statuses": st, "counters": d})
    dispatched = d.get("pool_new", 0) + d.get("pool_reuse", 0)
    routed = d.get("requests", 0) - d.get("local_404", 0) - d.get("local_healthz", 0) - \
        d.get("local_routes", 0)
    t.ok(dispatched == routed + d.get("retries", 0) + d.get("pool_retry_stale", 0) and
         routed >= out["answered"],
         "pool counters add up: new %d + reuse %d = routed %d + retries %d + stale retries %d"
         % (d.get("pool_new", 0), d.get("pool_reuse", 0), routed, d.get("retries", 0),
            d.get("pool_retry_stale", 0)), d)


def main():
    t = Tap()
    t0 = time.time()
    env = None
    try:
        env = Env()
        deadline = time.time() + 30
        while time.time() < deadline:
            res = env.client([{"id": "ready", "steps": [
                {"op": "send", "data": B64(b"GET /ready HTTP/1.1\r\nHost: weir\r\n\r\n")},
                {"op": "read", "n": 1, "timeout": 2}]}])[0]
            if res["responses"] and res["responses"][0]["status"] == 200:
                break
            time.sleep(0.3)
        t.ok(res["responses"] and res["responses"][0]["status"] == 200,
             "the proxy answers through the recording replica", res)
        only = os.environ.get("WEIR_HF_ONLY", "refused,normalised,mid,mix").split(",")
        if "refused" in only:
            test_refused(t, env)
        if "normalised" in only:
            test_normalised(t, env)
        if "mid" in only:
            test_close_after_response(t, env)
            test_held_truncated(t, env)
            test_mid_stream(t, env)
        if "mix" in only:
            test_mix(t, env, int(os.environ.get("WEIR_HF_MIX", "10000")))
        t.ok(env.dp.alive(), "weir-dp is still running")
    except Exception:
        import traceback
        t.ok(False, "the test ran to the end", traceback.format_exc())
    finally:
        if env is not None and hasattr(env, "dp"):
            out = env.dp.output()
            rc = env.down()
            t.ok(rc == 0, "weir-dp stops cleanly on SIGTERM", out[-1500:])
        elif env is not None:
            env.tb.down()
    print("# %.1f s" % (time.time() - t0))
    t.done()


if __name__ == "__main__":
    main()
