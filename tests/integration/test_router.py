"""The ingress request router (#14 point 4) through a real weir-dp with two
workers, uvicorn replicas r1, r2 (tools/replica/replica.py) and routers
rt1, rt2 (tools/replica/router.py) as a group's
ingress_request_router_targets:

  - pinning: every POST goes to the replica the router names (its echo
    says which), the router saw `POST /internal/route HTTP/1.0` with the
    body as sent; a GET is never routed;
  - failures fall through to normal balancing, each counted: a non-200
    answer, garbage, an unknown id, a replica that is down, a router
    slower than --router-timeout-ms;
  - a router target that refuses connections: the call fails over to the
    other one;
  - a 1 MiB body: the router gets 256 KiB and X-Body-Truncated, the replica
    the whole body (its sha256);
  - --router-failure 503: the 503 with X-Serve-Reason, nothing reaches a
    replica."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import weirlib  # noqa: E402
from weirlib import (PY, ROOT, Testbed, WeirCP, WeirDP, client, client_bg, client_result,  # noqa: E402
                     run, run_suite, start_replicas)

ROUTER = os.path.join(ROOT, "tools", "replica", "router.py")
RPORT = 30004
HC = {"inter_ms": 1000, "fastinter_ms": 250, "downinter_ms": 250, "fall": 2, "rise": 2,
      "timeout_ms": 500}


class Env(weirlib.Env):
    def __init__(self):
        sfx = os.environ.get("WEIR_TB_SUFFIX", "")
        self.tb = Testbed("wrout", replicas=2)
        self.ips = self.tb.be_ips.split()
        self.procs = start_replicas(self.tb)
        for i, ip in enumerate(self.ips):
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.tb.ns_be, PY, ROUTER, "--id", "rt%d" % (i + 1),
                 "--host", ip, "--port", str(RPORT), "--rule", "fixed:r2"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for ip in self.ips:
            self.wait_router(ip)
        self.dp = WeirDP(self.tb, workers=2, prefix="wrout" + sfx,
                         extra={"http": {"port": 8000}}, cp=False)
        self.cp = None
        self.routers = [0, 1]
        self.restart_cp("--router-timeout-ms", "1000")

    def wait_router(self, ip):
        deadline = time.time() + 20
        while time.time() < deadline:
            r = run(["curl", "-s", "-m", "1", "http://%s:%d/-/healthz" % (ip, RPORT)],
                    ns=self.tb.ns_cli)
            if r.stdout == "success":
                return
            time.sleep(0.2)
        raise RuntimeError("router on %s did not start" % ip)

    def restart_cp(self, *args):
        if self.cp:
            self.cp.stop()
        self.cp = WeirCP(self.dp.prefix, self.dp.dir, extra_args=args)
        self.push()

    def push(self, routers=None, settle=0.5):
        """routers: (ip index, port) of each router target."""
        routers = routers or [(0, RPORT), (1, RPORT)]
        group = {"protocol": "HTTP", "route_prefix": "/app", "app_name": "app",
                 "health_check": HC,
                 "targets": [{"ip": ip, "port": 30000, "instance_id": "n",
                              "name": "SERVE_REPLICA::app#App#r%d" % (i + 1),
                              "replica_id": "r%d" % (i + 1)} for i, ip in enumerate(self.ips)],
                 "ingress_request_router_targets": [
                     {"ip": self.ips[i], "port": p, "instance_id": "n",
                      "name": "SERVE_REPLICA::app#Router#rt%d_%d" % (i + 1, p),
                      "replica_id": "rt%d_%d" % (i + 1, p)} for i, p in routers]}
        st, r = self.cp.push({"target_groups": [group]})
        if st != 200:
            raise RuntimeError("push: %s %s" % (st, r))
        self.cp.wait_live()
        time.sleep(settle)

    def url(self, path):
        return "http://%s:8000%s" % (self.tb.vip, path)

    def counters(self):
        time.sleep(0.5)  # the workers export their counters every 200 ms
        st, j = self.cp.api("GET", "/api/v1/stats")
        return j["counters"]

    def curl(self, ip, port, path, method="GET", body=None):
        r = run(["curl", "-s", "-m", "3", "-X", method] + (["--data-binary", body] if body else []) +
                ["http://%s:%d%s" % (ip, port, path)], ns=self.tb.ns_cli)
        return r.stdout

    def rule(self, rule):
        for ip in self.ips:
            self.curl(ip, RPORT, "/-/admin/rule", "POST", rule)

    def router_log(self, i):
        return json.loads(self.curl(self.ips[i], RPORT, "/-/admin/log"))

    def set_health(self, i, status):
        self.curl(self.ips[i], 30000, "/-/admin/health", "POST", str(status))

    def post(self, n=100, seed=1, path="/app/echo"):
        return client(self.tb, "upload", self.url(path), n, seed)



def delta(a, b, k):
    return b.get("http_" + k, 0) - a.get("http_" + k, 0)


def test_pinned(t, env):
    c0 = env.counters()
    logs0 = [env.router_log(i)["count"] for i in range(2)]
    outs = [env.post(100 + i, i) for i in range(10)]
    ids = [o.get("echo", {}).get("replica_id") for o in outs]
    c1 = env.counters()
    t.ok(ids == ["r2"] * 10, "every POST pinned to r2, the router's choice", ids)
    t.ok(all(o.get("echo", {}).get("body_sha256") == o.get("sha") for o in outs),
         "the replica got each body whole")
    t.ok(delta(c0, c1, "router_ok") == 10, "router_ok counted 10", delta(c0, c1, "router_ok"))
    logs = [env.router_log(i) for i in range(2)]
    calls = sum(l["count"] for l in logs) - sum(logs0)
    t.ok(calls == 10 and logs[0]["count"] > logs0[0] and logs[1]["count"] > logs0[1],
         "10 router calls, over both router targets", [l["count"] for l in logs])
    last = max((r for l in logs for r in l["requests"]), key=lambda r: r["time"])
    t.ok(last["method"] == "POST" and last["path"] == "/internal/route" and
         last["http_version"] == "1.0" and last["content_type"] == "application/json" and
         last["body_len"] == 109 and not last.get("x_body_truncated"),
         "the call: POST /internal/route HTTP/1.0, JSON, the whole body", last)
    r = client(env.tb, "ids", env.url("/app/echo"), 10)
    logs2 = [env.router_log(i)["count"] for i in range(2)]
    t.ok(sum(logs2) == sum(l["count"] for l in logs) and set(r.get("ids", [])) == {"r1", "r2"},
         "GETs are not routed (balanced over r1 and r2)", r)


def test_failures(t, env):
    cases = [("error:500", "router_fail_status"), ("garbage", "router_fail_json"),
             ("fixed:nobody", "router_fail_unknown"), ("sleep:3000:r2", "router_fail_timeout")]
    for rule, ctr in cases:
        env.rule(rule)
        c0 = env.counters()
        t0 = time.time()
        outs = [env.post(50, i) for i in range(4)]
        took = time.time() - t0
        c1 = env.counters()
        ids = sorted(set(o.get("echo", {}).get("replica_id") for o in outs))
        t.ok(all(o.get("status") == 200 for o in outs) and set(ids) <= {"r1", "r2"} and
             delta(c0, c1, ctr) == 4 and delta(c0, c1, "router_ok") == 0,
             "rule %s: 4 requests fall through to balancing, %s counted 4 (%.1f s)"
             % (rule, ctr, took), {"ids": ids, ctr: delta(c0, c1, ctr)})
    env.rule("fixed:r2")


def test_down_replica(t, env):
    env.set_health(1, 503)
    down = env.wait_status("r2", "DOWN")
    c0 = env.counters()
    outs = [env.post(50, i) for i in range(4)]
    c1 = env.counters()
    ids = [o.get("echo", {}).get("replica_id") for o in outs]
    t.ok(down and ids == ["r1"] * 4 and delta(c0, c1, "router_fail_down") == 4,
         "the router names r2, which is down: r1 serves, router_fail_down counted", ids)
    env.set_health(1, 200)
    env.wait_status("r2", "UP")


def test_failover(t, env):
    c0 = env.counters()
    env.push([(0, 30009), (1, RPORT)], settle=0)  # nothing listens on :30009
    outs = [env.post(50, i) for i in range(6)]
    c1 = env.counters()
    ids = [o.get("echo", {}).get("replica_id") for o in outs]
    t.ok(ids == ["r2"] * 6 and delta(c0, c1, "router_ok") == 6 and
         delta(c0, c1, "router_failover") >= 1,
         "a router target refusing connections: calls fail over to the other (%d failovers)"
         % delta(c0, c1, "router_failover"), ids)
    env.push()


def test_big_body(t, env):
    env.rule("fixed:r1")
    n = 1 << 20
    o = env.post(n, 7)
    logs = [env.router_log(i) for i in range(2)]
    last = max((r for l in logs for r in l["requests"]), key=lambda r: r["time"])
    echo = o.get("echo", {})
    t.ok(o.get("status") == 200 and echo.get("replica_id") == "r1" and echo.get("body_len") == n
         and echo.get("body_sha256") == o.get("sha"),
         "1 MiB POST: pinned to r1, which got it whole", {k: echo.get(k) for k in ("replica_id", "body_len")})
    t.ok(last["body_len"] == 262144 and last["x_body_truncated"] == "262144/%d" % n and
         str(last["content_length"]) == "262144",
         "the router got 256 KiB and X-Body-Truncated: 262144/1048576",
         {k: last.get(k) for k in ("body_len", "x_body_truncated", "content_length")})
    env.rule("fixed:r2")


def test_503_mode(t, env):
    env.restart_cp("--router-timeout-ms", "1000", "--router-failure", "503")
    env.rule("fixed:nobody")
    body = "Ingress request router failed: unknown replica_id"
    want = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\nX-Serve-Reason: unknown replica_id\r\nConnection: close\r\n\r\n%s"
            % (len(body), body)).encode()
    req = b"POST /app/echo HTTP/1.1\r\nHost: weir\r\nContent-Length: 5\r\n\r\nhello"
    out = client(env.tb, "raw", env.tb.vip, 8000, req.hex())
    got = bytes.fromhex(out.get("hex", ""))
    t.ok(got == want, "--router-failure 503: the 503 with X-Serve-Reason, byte for byte", got)
    env.rule("fixed:r2")
    o = env.post(10, 1)
    t.ok(o.get("echo", {}).get("replica_id") == "r2", "503 mode, router answering: pinned as before")
    env.restart_cp("--router-timeout-ms", "1000")


def setup(env):
    env.cp.wait_live()
    time.sleep(1)


def test_slow_router(t, env):
    """A router that takes 5 s (over the 1 s router timeout the test runs
    weir-cp with, so the call is cut and balanced) delays only its own
    request: GETs meanwhile keep their latency."""
    env.rule("sleep:5000:r1")
    slow = client_bg(env.tb, "upload", env.url("/app/echo"), 100, 3)
    time.sleep(0.2)
    r = client(env.tb, "latency", env.url("/app/echo"), 40)
    keep = client(env.tb, "keepalive", env.url("/app/echo"), 4, 5)
    out = client_result(slow)
    t.ok(r.get("counts") == {"200": 40} and r.get("p99", 1e9) < 250 and keep.get("counts") == {"200": 20},
         "while a router call hangs: 40 GETs p50 %.1f ms p99 %.1f ms, 20 more over 4 connections, all 200"
         % (r.get("p50", 0), r.get("p99", 0)), r)
    t.ok(out.get("status") == 200, "the slow router's request itself is balanced after the timeout", out)
    env.rule("fixed:r2")


def test_all_routers_down(t, env):
    """Every router target down (its checks fail): POSTs are balanced as
    usual, each counted as router_fail_connect (no router took it)."""
    for ip in env.ips:
        env.curl(ip, RPORT, "/-/admin/health", "POST", "503")
    c0 = env.counters()
    deadline = time.time() + 15
    while time.time() < deadline:  # until both routers are out
        env.post(50, 1)
        if delta(c0, env.counters(), "router_fail_connect") >= 1:
            break
    c0 = env.counters()
    outs = [env.post(50, i) for i in range(8)]
    c1 = env.counters()
    ids = {o.get("echo", {}).get("replica_id") for o in outs}
    t.ok(all(o.get("status") == 200 for o in outs) and ids == {"r1", "r2"} and
         delta(c0, c1, "router_fail_connect") == 8 and delta(c0, c1, "router_ok") == 0,
         "every router down: 8 POSTs balanced over r1 and r2, router_fail_connect 8", sorted(ids))
    for ip in env.ips:
        env.curl(ip, RPORT, "/-/admin/health", "POST", "200")
    time.sleep(1.5)  # rise 2 at fastinter


def main():
    run_suite(Env, [test_pinned, test_failures, test_down_replica, test_failover, test_big_body,
                    test_slow_router, test_all_routers_down, test_503_mode], setup)


if __name__ == "__main__":
    main()
