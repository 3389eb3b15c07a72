"""weir-dp as Ray Serve's HTTP ingress, end to end: real clients in the
client namespace, uvicorn replica simulators in the backend namespace,
Ray target groups loaded at start. Checks Ray's frontend byte strings,
longest-prefix routing by the replica ids that answer, bodies both ways
byte-exact, SSE latency against a direct connection, WebSocket through
the proxy, a client abort reaching the replica, connection pooling, a
replica killed under load with no failed request, and the fallback.

The 1 GiB transfers (WEIR_HTTP_BIG_MIB, default 1024; 0 skips them) also
watch weir-dp's mbufs in use: a proxy that buffered would grow by 500,000."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import PY, ROOT, Tap, Testbed, WeirDP, run  # noqa: E402

CLIENT = os.path.join(os.path.dirname(__file__), "lib", "http_client.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")
MiB = 1 << 20
RAY_500 = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 21\r\n\r\nInternal Server Error")

# name, address index (10.77.0.2x), route prefix served
REPLICAS = [("ra", 1, "/a"), ("rab", 2, "/a/b"), ("rabc", 3, "/a/b/c"),
            ("k1", 4, "/k"), ("k2", 5, "/k"), ("k3", 6, "/k"), ("k4", 7, "/k"),
            ("fb", 8, "/")]


def target(name, idx):
    return {"ip": "10.77.0.2%d" % idx, "port": 30000, "instance_id": "node",
            "name": "SERVE_REPLICA::app#D#" + name, "replica_id": name}


def groups(with_fallback=True):
    tg = {"target_groups": [
        {"protocol": "HTTP", "route_prefix": "/a", "app_name": "a", "targets": [target("ra", 1)]},
        {"protocol": "HTTP", "route_prefix": "/a/b", "app_name": "ab", "targets": [target("rab", 2)]},
        {"protocol": "HTTP", "route_prefix": "/a/b/c", "app_name": "abc", "targets": [target("rabc", 3)]},
        {"protocol": "HTTP", "route_prefix": "/k", "app_name": "k",
         "targets": [target("k%d" % i, 3 + i) for i in range(1, 5)]},
        {"protocol": "HTTP", "route_prefix": "/zero", "app_name": "zero", "targets": []},
        {"protocol": "HTTP", "route_prefix": "/bad", "app_name": "bad",
         "targets": [{"ip": "10.77.0.29", "port": 30000, "instance_id": "", "name": "garbage"}]},
    ]}
    if with_fallback:
        tg["fallback_targets"] = {"HTTP": target("fb", 8)}
    return tg


class Env:
    def __init__(self):
        self.tb = Testbed("wthttp", replicas=9)
        self.procs = {}
        self.tmp = tempfile.mkdtemp(prefix="weir-http-")
        for name, idx, prefix in REPLICAS:
            self.start_replica(name, idx, prefix)
        # A "replica" that answers garbage: the proxy must turn it into Ray's 500.
        # ... or, for /bad/close, a close-delimited response (no length).
        code = ("import socket;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
                "s.bind(('10.77.0.29',30000));s.listen(64)\n"
                "while True:\n c,_=s.accept();r=c.recv(65536)\n"
                " if b' /bad/close' in r: c.sendall(b'HTTP/1.1 200 OK\\r\\nX-Kind: close\\r\\n\\r\\n'+b'x'*100000)\n"
                " else: c.sendall(b'garbage\\r\\n\\r\\n')\n"
                " c.close()")
        self.procs["garbage"] = subprocess.Popen(["ip", "netns", "exec", self.tb.ns_be, PY, "-c", code])
        for name, idx, _ in REPLICAS:
            self.wait_replica(idx)
        self.dp = None

    def start_replica(self, name, idx, prefix):
        cmd = ["ip", "netns", "exec", self.tb.ns_be, PY, REPLICA, "--id", name, "--host",
               "10.77.0.2%d" % idx, "--port", "30000", "--route-prefix", prefix]
        self.procs[name] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait_replica(self, idx, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = run(["curl", "-s", "-m", "1", "http://10.77.0.2%d:30000/-/healthz" % idx], ns=self.tb.ns_cli)
            if r.stdout == "success":
                return True
            time.sleep(0.2)
        raise RuntimeError("replica 10.77.0.2%d did not start" % idx)

    def start_dp(self, tg, prefix="wthttp", http_extra=None):
        path = os.path.join(self.tmp, prefix + ".json")
        with open(path, "w") as f:
            json.dump(tg, f)
        http = {"port": 8000, "target_groups": path}
        http.update(http_extra or {})
        if tg is None:
            del http["target_groups"]
        self.dp = WeirDP(self.tb, workers=2, prefix=prefix, extra={"http": http})
        return self.dp

    def client(self, *args, timeout=180):
        r = run([PY, CLIENT, *map(str, args)], ns=self.tb.ns_cli, timeout=timeout)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if not lines:
            return {"error": (r.stdout + r.stderr)[-800:]}
        return json.loads(lines[-1])

    def url(self, path):
        return "http://%s:8000%s" % (self.tb.vip, path)

    def raw(self, data):
        out = self.client("raw", self.tb.vip, 8000, data.hex())
        return bytes.fromhex(out.get("hex", ""))

    def replica_stats(self, idx):
        r = run(["curl", "-s", "-m", "3", "http://10.77.0.2%d:30000/-/admin/stats" % idx], ns=self.tb.ns_cli)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return {}

    def stop(self):
        if self.dp:
            self.dp.stop()
        for p in self.procs.values():
            p.kill()
        self.tb.down()


def response_parts(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def test_unpopulated(t, env):
    dp = env.start_dp(None, prefix="wthttp0")
    try:
        got = env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.ok(got == b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 33\r\n"
             b"Connection: close\r\n\r\nRoute table is not populated yet.",
             "no table yet: /-/healthz is 503 'Route table is not populated yet.'", got)
        got = env.raw(b"GET /-/routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        t.ok(got.endswith(b"\r\n\r\nRoute table is not populated yet.") and got.startswith(b"HTTP/1.1 503 "),
             "no table yet: /-/routes is the same 503", got)
    finally:
        dp.stop()


def test_frontend_bytes(t, env):
    got = env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got == b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess",
         "/-/healthz: 200 success, byte for byte", got)
    got = env.raw(b"GET /-/HEALTHZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got.endswith(b"\r\n\r\nsuccess"), "/-/healthz matches without case (as Ray's config)", got)
    # longest prefix first, then alphabetical: "/zero" (5) before "/a/b" (4)
    want_routes = b'{"/a/b/c":"abc","/zero":"zero","/a/b":"ab","/bad":"bad","/a":"a","/k":"k"}'
    got = env.raw(b"GET /-/routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, body = response_parts(got)
    t.ok(head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n") and body == want_routes,
         "/-/routes: compact JSON in Ray's route order", got)
    got = env.raw(b"GET /nope/x?y=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got == b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n"
         b"Connection: close\r\n\r\nPath '/nope/x' not found. Ping http://.../-/routes for available routes.",
         "404 for an unrouted path, Ray's body byte for byte", got)
    got = env.raw(b"GET /bad/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got == RAY_500, "a replica answering garbage (502) becomes Ray's exact 500", got)
    got = env.raw(b"GET /bad/close HTTP/1.1\r\nHost: x\r\n\r\n")
    head, body = response_parts(got)
    t.ok(head.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in head and body == b"x" * 100000,
         "a close-delimited response is relayed whole, then the client is closed", head)


def replica_of(env, path):
    r = env.client("get", env.url(path))
    try:
        return json.loads(r["body"]).get("replica_id")
    except (KeyError, ValueError):
        return r


def test_routing(t, env):
    cases = [("/a", "ra"), ("/a/x", "ra"), ("/a?q=/a/b", "ra"), ("/a/b", "rab"), ("/a/b/x", "rab"),
             ("/a/b/c", "rabc"), ("/a/b/c/d/e", "rabc"), ("/a/bc", "ra"), ("/k/1", None)]
    for path, want in cases:
        got = replica_of(env, path)
        if want is None:
            ok = got in ("k1", "k2", "k3", "k4")
        else:
            ok = got == want
        t.ok(ok, "route %s -> %s" % (path, want or "one of k1..k4"), got)
    r = env.client("get", env.url("/ab"))
    t.ok(r.get("status") == 404, "/ab does not match /a (prefix + '/' rule)", r)
    r = env.client("get", env.url("/A"))
    t.ok(r.get("status") == 404, "routing is case-sensitive", r)
    r = env.client("get", env.url("/zero/x"))
    t.ok(r.get("status") == 200 and json.loads(r["body"]).get("replica_id") == "fb",
         "a group with targets: [] is served by the fallback", r.get("body", r)[:300])


def test_forwarded_headers(t, env):
    r = env.client("get", env.url("/a/h"))
    try:
        hdrs = {k.lower(): v for k, v in json.loads(r["body"])["headers"]}
    except (KeyError, ValueError):
        hdrs = {}
    t.ok(hdrs.get("x-forwarded-for") == env.tb.cli_ip and hdrs.get("x-forwarded-proto") == "http"
         and len(hdrs.get("x-request-id", "")) >= 16 and "connection" not in hdrs,
         "the replica sees X-Forwarded-For/-Proto, an X-Request-Id, no hop-by-hop Connection", hdrs)
    raw = env.raw(b"GET /a/h HTTP/1.1\r\nHost: x\r\nX-Request-Id: mine-123\r\n"
                  b"Connection: close, X-Drop\r\nX-Drop: 1\r\n\r\n")
    body = response_parts(raw)[1]
    t.ok(b'"mine-123"' in body and b"X-Drop" not in body and raw.startswith(b"HTTP/1.1 200 OK"),
         "X-Request-Id kept when given; fields named by Connection removed", raw[:600])


def test_timeouts_and_balance(t, env):
    env.start_dp(groups(), prefix="wthttp1", http_extra={
        "timeout_http_request_ms": 1000, "timeout_server_ms": 1000, "balance": "roundrobin"})
    try:
        t0 = time.time()
        got = env.raw(b"GET /a/x HTTP/1.1\r\nHost: x\r\n")
        t.ok(got.startswith(b"HTTP/1.1 408 Request Timeout\r\n") and b"Connection: close" in got
             and time.time() - t0 < 4, "a head slower than timeout_http_request: 408 and close", got)
        got = env.raw(b"GET /a/sleep?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n")
        t.ok(got == RAY_500, "a replica slower than timeout_server: 504 -> Ray's exact 500", got)
        r = env.client("ids", env.url("/k/x"), 40)
        counts = {i: r.get("ids", []).count(i) for i in ("k1", "k2", "k3", "k4")}
        t.ok(set(counts.values()) == {10}, "balance roundrobin: 40 requests, 10 on each replica", counts)
    finally:
        env.dp.stop()


def test_drain(t, env):
    env.dp.telemetry("/weir/drain,on")
    time.sleep(0.3)
    got = env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got == b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 27\r\n"
         b"Connection: close\r\n\r\nThis node is being drained.", "draining: /-/healthz is 503 'This node is being drained.'", got)
    got = env.raw(b"GET /-/routes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got.endswith(b"\r\n\r\nThis node is being drained."), "draining: /-/routes says the same", got)
    t.ok(replica_of(env, "/a/x") == "ra", "draining: requests are still served (Ray's drain)")
    env.dp.telemetry("/weir/drain,off")
    time.sleep(0.3)
    got = env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got.endswith(b"success"), "drain off: /-/healthz is 200 again", got)


def test_bodies(t, env):
    for n in (0, 1024, 10 * MiB):
        r = env.client("upload", env.url("/a/upload"), n, n + 3)
        ok = r.get("status") == 200 and r.get("echo", {}).get("body_sha256") == r.get("sha") \
            and r["echo"].get("body_len") == n
        t.ok(ok, "upload of %d bytes arrives byte-exact" % n, r)
    for kb in (0, 1, 10 * 1024):
        direct = env.client("download", "http://10.77.0.21:30000/a/big?kb=%d" % kb)
        r = env.client("download", env.url("/a/big?kb=%d" % kb))
        t.ok(r.get("status") == 200 and r.get("len") == kb * 1024 and r.get("sha") == direct.get("sha"),
             "download of %d KiB arrives byte-exact" % kb, (r, direct))
    r = env.client("download", env.url("/a/big?kb=1024&chunked=1"))
    direct = env.client("download", "http://10.77.0.21:30000/a/big?kb=1024&chunked=1")
    t.ok(r.get("len") == MiB and r.get("sha") == direct.get("sha"), "a chunked 1 MiB download byte-exact", r)
    gib = int(os.environ.get("WEIR_HTTP_BIG_MIB", "1024")) << 20
    if gib:
        test_gib(t, env, gib)


def bounded_transfer(env, args, timeout=900):
    """Runs a client transfer while sampling weir-dp's mbufs in use."""
    base = env.dp.telemetry("/weir/tcp")["mbufs_in_use"]
    p = subprocess.Popen(["ip", "netns", "exec", env.tb.ns_cli, PY, CLIENT, *map(str, args)],
                         stdout=subprocess.PIPE, text=True)
    peak, t0 = base, time.time()
    while p.poll() is None and time.time() - t0 < timeout:
        peak = max(peak, env.dp.telemetry("/weir/tcp")["mbufs_in_use"])
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
    out = p.communicate()[0]
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return (json.loads(lines[-1]) if lines else {}), peak - base, time.time() - t0


def test_gib(t, env, n):
    label = "%d MiB" % (n >> 20)
    r, grew, secs = bounded_transfer(env, ["upload", env.url("/a/upload"), n, 11])
    t.ok(r.get("echo", {}).get("body_sha256") == r.get("sha") and r["echo"].get("body_len") == n,
         "%s upload byte-exact (%.1f s)" % (label, secs), r)
    # 1 GiB is 500,000 mbufs; bounded means a few windows' worth
    t.ok(grew < 4096, "mbufs in use stayed bounded during the upload (+%d)" % grew)
    r, grew, secs = bounded_transfer(env, ["download", env.url("/a/big?kb=%d" % (n >> 10))])
    want = dict((k.lower(), v) for k, v in r.get("headers", [])).get("x-body-sha256")
    t.ok(r.get("len") == n and r.get("sha") == want, "%s download byte-exact (%.1f s)" % (label, secs),
         {k: r.get(k) for k in ("status", "len", "sha")})
    t.ok(grew < 4096, "mbufs in use stayed bounded during the download (+%d)" % grew)


def test_sse(t, env):
    direct = env.client("sse", "http://10.77.0.21:30000/a/stream?n=50&ms=20").get("events", [])
    proxied = env.client("sse", env.url("/a/stream?n=50&ms=20")).get("events", [])
    # delay of each token from its send time, proxied vs direct (median)
    dd = sorted(e[2] - e[1] for e in direct)
    base = dd[len(dd) // 2] if dd else 0
    late = [e for e in proxied if (e[2] - e[1]) - base > 10_000_000]
    t.ok(len(proxied) == 50 and len(late) <= 2,
         "SSE: 50 tokens, >= 48 within 10 ms of a direct connection's delay", {"n": len(proxied), "late": late[:5]})


def test_ws_and_abort(t, env):
    r = env.client("ws", env.tb.vip, 8000, "/a/ws", 20)
    t.ok(r.get("status") == 101 and r.get("echoed") == 20, "WebSocket echo through the proxy (101, 20 messages)", r)
    # The replica may still be busy with the big transfers before: let it
    # go idle, so the request is surely in its handler when the client goes.
    deadline = time.time() + 15
    while time.time() < deadline and env.replica_stats(1).get("in_flight", 0) > 0:
        time.sleep(0.2)
    before = env.replica_stats(1).get("cancelled", 0)
    env.client("abort", env.url("/a/sleep?ms=8000"), 1.5)
    deadline = time.time() + 8
    after = before
    while time.time() < deadline and after <= before:
        time.sleep(0.2)
        after = env.replica_stats(1).get("cancelled", 0)
    t.ok(after > before, "a client that goes away makes the replica cancel its work", (before, after))


def http_stats(env):
    return env.dp.telemetry("/weir/http")


def test_pooling(t, env):
    before = http_stats(env)
    r = env.client("keepalive", env.url("/k/x"), 100, 100, timeout=300)
    after = http_stats(env)
    reuse = after["pool_reuse"] - before["pool_reuse"]
    new = after["pool_new"] - before["pool_new"]
    t.ok(r.get("counts") == {"200": 10000}, "10,000 requests over 100 connections, all 200", r)
    t.ok(reuse + new >= 10000 and reuse >= 0.95 * (reuse + new),
         "pooled backend connections reused for >= 95%% of requests (%d reused, %d new)" % (reuse, new))


def test_kill_under_load(t, env):
    load = subprocess.Popen(["ip", "netns", "exec", env.tb.ns_cli, PY, CLIENT, "load", env.url("/k/x"),
                             "500", "6", "25"], stdout=subprocess.PIPE, text=True)
    time.sleep(2.5)
    env.procs["k2"].send_signal(signal.SIGKILL)
    out, _ = load.communicate(timeout=60)
    res = json.loads(out.strip().splitlines()[-1])
    counts = res.get("counts", {})
    total = sum(counts.values())
    t.ok(total >= 2500 and set(counts) == {"200"},
         "one of 4 replicas killed under 500 req/s: zero failed requests (%d sent)" % total, counts)
    servers = env.dp.telemetry("/weir/servers")
    t.ok(any("k2" in s and ",DOWN," in s for s in servers), "the killed replica is marked DOWN", servers)
    # It comes back: the GET /-/healthz re-probes (every downinter) see
    # `rise` successes and it is UP again, with its transitions counted.
    env.start_replica("k2", 5, "/k")
    env.wait_replica(5)
    deadline, line = time.time() + 10, ""
    while time.time() < deadline:
        line = next((s for s in env.dp.telemetry("/weir/servers") if "k2" in s and ",DOWN," in s), "")
        if not line:
            break
        time.sleep(0.25)
    servers = env.dp.telemetry("/weir/servers")
    k2 = [s for s in servers if "k2" in s]
    # downs,ups are the last two fields, summed over the workers (each
    # worker keeps its own passive health)
    t.ok(k2 and all(",UP," in s and int(s.split(",")[-2]) == int(s.split(",")[-1]) >= 1 for s in k2),
         "the replica, restarted, is re-probed back UP (as many ups as downs)", servers)


def all_down(t, env):
    for k in ("k1", "k2", "k3", "k4"):  # k2 came back in test_kill_under_load
        env.procs[k].send_signal(signal.SIGKILL)
    got = []
    for _ in range(40):  # passive health converges within a few requests
        got.append(env.client("get", env.url("/k/x")).get("status"))
        if got[-6:] == [200] * 6:  # both workers (each keeps its own passive health)
            break
    r = env.client("get", env.url("/k/x"))
    t.ok(r.get("status") == 200 and json.loads(r["body"]).get("replica_id") == "fb",
         "all replicas down, with a fallback: the fallback serves", (got, r.get("body", r)[:200]))
    env.dp.stop()
    env.start_dp(groups(with_fallback=False), prefix="wthttp2")
    got = [env.client("get", env.url("/k/x")).get("status") for _ in range(6)]
    got503 = env.raw(b"GET /k/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got503.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"),
         "all replicas down, no fallback: 503", (got, got503))
    got = env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    t.ok(got.startswith(b"HTTP/1.1 200 OK"), "healthz stays 200 while another app has a server up", got)
    # Now every replica of every app: passive health needs traffic to see it
    for k in ("ra", "rab", "rabc", "garbage"):
        env.procs[k].send_signal(signal.SIGKILL)
    want = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
            b"Connection: close\r\n\r\nService Unavailable")
    seen = []
    for _ in range(30):
        for path in ("/a/x", "/a/b/x", "/a/b/c/x", "/bad/x", "/k/x"):
            env.client("get", env.url(path))
        seen = [env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                for _ in range(4)]
        if all(g == want for g in seen):
            break
    t.ok(all(g == want for g in seen), "no server of any app up: /-/healthz is 503 'Service Unavailable'", seen)


def main():
    t = Tap()
    env = Env()
    try:
        test_unpopulated(t, env)
        test_timeouts_and_balance(t, env)
        env.start_dp(groups())
        test_frontend_bytes(t, env)
        test_routing(t, env)
        test_forwarded_headers(t, env)
        test_drain(t, env)
        test_bodies(t, env)
        test_sse(t, env)
        test_ws_and_abort(t, env)
        test_pooling(t, env)
        test_kill_under_load(t, env)
        all_down(t, env)
    finally:
        env.stop()
    t.done()


if __name__ == "__main__":
    main()
