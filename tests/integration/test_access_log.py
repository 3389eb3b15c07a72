"""The access log (#12): weir-dp's workers put one record per request into
lossy rings in the control segment, weir-cp writes them as JSON lines.
Checks, against one weir-dp with two workers and real replicas:

  - one line per request with what the client and the replica saw: time,
    client address, method, path, status, bytes both ways, durations,
    backend, server, replica id, retries; a 404, a /-/healthz and a
    malformed request (400) are logged as local answers;
  - the log on a FIFO nobody reads, then weir-cp stopped (SIGSTOP): the
    request latency stays what it was with the log written, nothing
    fails, and the records that found no room are counted as dropped
    (weir_access_log_dropped_total); once weir-cp runs again, logging
    resumes;
  - a bad --access-log path is refused at start with a message naming it."""
import fcntl
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import weirlib  # noqa: E402
from weirlib import (BUILD, Testbed, WeirCP, WeirDP, client, cp_metrics, mval,  # noqa: E402
                     run, run_suite, start_replicas)

RING = 64  # records per worker ring: small, so a stalled writer fills it fast
N_LAT = int(os.environ.get("WEIR_ALOG_REQUESTS", "400"))


class Env(weirlib.Env):
    def __init__(self):
        sfx = os.environ.get("WEIR_TB_SUFFIX", "")
        self.tb = Testbed("walog", replicas=2)
        self.ips = self.tb.be_ips.split()
        self.procs = start_replicas(self.tb)
        self.dp = WeirDP(self.tb, workers=2, prefix="walog" + sfx,
                         extra={"http": {"port": 8000}, "control": {"access_log_records": RING}},
                         cp=False)
        self.log = os.path.join(self.dp.dir, "access.log")
        self.cp = self.start_cp(self.log)

    def start_cp(self, path):
        cp = WeirCP(self.dp.prefix, self.dp.dir, access_log=path)
        st, r = cp.push({"target_groups": [{
            "protocol": "HTTP", "route_prefix": "/app", "app_name": "app",
            "targets": [{"ip": ip, "port": 30000, "instance_id": "node1",
                         "name": "SERVE_REPLICA::app#App#r%d" % (i + 1),
                         "replica_id": "r%d" % (i + 1)} for i, ip in enumerate(self.ips)]}]})
        if st != 200:
            raise RuntimeError("push: %s %s" % (st, r))
        cp.wait_live()
        return cp

    def client(self, *args, timeout=120):
        return client(self.tb, *args, timeout=timeout)

    def url(self, path):
        return "http://%s:8000%s" % (self.tb.vip, path)

    def metrics(self):
        return cp_metrics(self.cp.sock)



def read_lines(path, want, timeout=5):
    deadline = time.time() + timeout
    while True:
        with open(path) as f:
            lines = f.read().splitlines()
        if len(lines) >= want or time.time() > deadline:
            return lines
        time.sleep(0.05)


def test_lines(t, env):
    n0 = len(read_lines(env.log, 0, 0))
    r = env.client("keepalive", env.url("/app/echo"), 2, 10)
    t.ok(r.get("counts") == {"200": 20}, "20 requests through weir-dp", r)
    env.client("get", env.url("/nope"))
    env.client("get", env.url("/-/healthz"))
    env.client("raw", env.tb.vip, 8000, b"GET /app HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".hex())
    lines = read_lines(env.log, n0 + 23)[n0:]
    recs = []
    try:
        recs = [json.loads(l) for l in lines]
        parsed = True
    except ValueError as e:
        parsed = e
    t.ok(parsed is True and len(recs) == 23, "23 requests, 23 JSON lines", "%s\n%s" % (parsed, lines[-5:]))
    ok = [x for x in recs if x.get("status") == 200 and x.get("path") == "/app/echo"]
    t.ok(len(ok) == 20, "20 lines for the proxied requests", recs[:3])
    keys = {"time", "worker", "client", "method", "path", "status", "bytes_in", "bytes_out",
            "total_ms", "backend_ms", "backend", "server", "replica_id", "retries", "local",
            "aborted", "bad_request", "router"}
    t.ok(all(set(x) == keys for x in recs), "every line has the fields", recs[:1])
    t.ok(all(x["client"].split(":")[0] == env.tb.cli_ip and x["method"] == "GET" and
             x["backend"] == "http-app" and x["replica_id"] in ("r1", "r2") and
             x["server"] == "SERVE_REPLICA__app-App-" + x["replica_id"] and x["retries"] == 0 and
             x["bytes_in"] > 30 and x["bytes_out"] > 100 and not x["local"] and not x["aborted"] and
             x["backend_ms"] is not None and 0 <= x["backend_ms"] <= x["total_ms"] < 5000
             for x in ok), "proxied lines: client, route, replica, bytes, durations", ok[:2])
    t.ok({x["replica_id"] for x in ok} == {"r1", "r2"}, "both replicas appear")
    now = time.time()
    t.ok(all(abs(time.mktime(time.strptime(x["time"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone - now) < 60
             for x in recs), "times are wall-clock UTC", recs[0]["time"] if recs else None)
    t.ok(len({x["worker"] for x in ok}) >= 1 and all(x["worker"] in (0, 1) for x in recs), "worker ids")
    nf = [x for x in recs if x["status"] == 404]
    t.ok(len(nf) == 1 and nf[0]["path"] == "/nope" and nf[0]["local"] and nf[0]["backend_ms"] is None
         and nf[0]["server"] == "", "404 logged as a local answer", nf)
    hz = [x for x in recs if x["path"] == "/-/healthz"]
    t.ok(len(hz) == 1 and hz[0]["status"] == 200 and hz[0]["local"], "/-/healthz logged", hz)
    bad = [x for x in recs if x["status"] == 400]
    t.ok(len(bad) == 1 and bad[0]["bad_request"] and bad[0]["bytes_in"] > 0, "malformed request: 400, bad_request",
         bad)
    m = env.metrics()
    t.ok(mval(m, "weir_access_log_enabled") == 1 and mval(m, "weir_access_log_lines_total") >= n0 + 23
         and mval(m, "weir_access_log_dropped_total") == 0, "metrics: enabled, lines, no drops",
         {k: v for k, v in m.items() if k[0].startswith("weir_access_log")})


def latency(env):
    r = env.client("latency", env.url("/app/echo"), N_LAT)
    return r


def test_blocked(t, env):
    base = latency(env)
    t.ok(base.get("counts") == {"200": N_LAT}, "baseline: %d requests, log written" % N_LAT, base)

    # the log on a FIFO that is open for reading and never read
    fifo = os.path.join(env.dp.dir, "access.fifo")
    os.mkfifo(fifo)
    rd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    fcntl.fcntl(rd, 1031, 4096)  # F_SETPIPE_SZ: one page, full at once
    env.cp.stop()
    env.cp = WeirCP(env.dp.prefix, env.dp.dir, access_log=fifo)
    blocked = latency(env)
    m = env.metrics()
    drops = mval(m, "weir_access_log_dropped_total", stage="dataplane")
    t.ok(blocked.get("counts") == {"200": N_LAT}, "FIFO never read: every request answered", blocked)
    t.ok(blocked.get("p50", 1e9) <= 1.5 * base["p50"] + 1 and blocked.get("p99", 1e9) <= 2 * base["p99"] + 5,
         "FIFO never read: latency unchanged (p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms)"
         % (base.get("p50", 0), blocked.get("p50", 0), base.get("p99", 0), blocked.get("p99", 0)))
    t.ok(drops >= N_LAT - 2 * RING - 40, "FIFO never read: %d records dropped and counted" % drops,
         {k: v for k, v in m.items() if k[0].startswith("weir_access_log")})
    got = b""
    try:
        while True:
            b = os.read(rd, 65536)
            if not b:
                break
            got += b
    except BlockingIOError:
        pass
    t.ok(all(json.loads(l)["status"] == 200 for l in got.decode().splitlines()) and got,
         "what reached the FIFO is whole lines (%d)" % len(got.splitlines()))

    # weir-cp stopped (SIGSTOP): nobody drains the rings
    before = drops
    env.cp.proc.send_signal(signal.SIGSTOP)
    try:
        stopped = latency(env)
    finally:
        env.cp.proc.send_signal(signal.SIGCONT)
    t.ok(stopped.get("counts") == {"200": N_LAT}, "weir-cp stopped: every request answered", stopped)
    t.ok(stopped.get("p50", 1e9) <= 1.5 * base["p50"] + 1 and stopped.get("p99", 1e9) <= 2 * base["p99"] + 5,
         "weir-cp stopped: latency unchanged (p50 %.2f -> %.2f ms, p99 %.2f -> %.2f ms)"
         % (base.get("p50", 0), stopped.get("p50", 0), base.get("p99", 0), stopped.get("p99", 0)))
    time.sleep(0.3)
    m = env.metrics()
    drops = mval(m, "weir_access_log_dropped_total", stage="dataplane")
    t.ok(drops - before >= N_LAT - 2 * RING, "weir-cp stopped: %d more records dropped" % (drops - before))
    os.close(rd)

    # back to a file: logging resumes
    env.cp.stop()
    env.cp = WeirCP(env.dp.prefix, env.dp.dir, access_log=env.log)
    n0 = len(read_lines(env.log, 0, 0))
    r = env.client("keepalive", env.url("/app/again"), 1, 5)
    lines = [json.loads(l) for l in read_lines(env.log, n0 + 5)[n0:]]
    t.ok(r.get("counts") == {"200": 5} and sum(x["path"] == "/app/again" for x in lines) == 5,
         "a new weir-cp writes the log again", lines[-3:])


def test_bad_path(t, env):
    r = run([os.path.join(BUILD, "controlplane", "weir-cp"), "run", "--dp", env.dp.prefix + "x",
             "--api", os.path.join(env.dp.dir, "x.sock"), "--state-dir", env.dp.dir,
             "--access-log", "/nonexistent/dir/access.log"], timeout=10)
    t.ok(r.returncode == 1 and "/nonexistent/dir/access.log" in r.stderr, "a bad --access-log path is refused",
         r.stderr)


def main():
    run_suite(Env, [test_lines, test_blocked, test_bad_path])

if __name__ == "__main__":
    main()
