"""Limits and queues (#14 point 2) through a real weir-dp with two workers
and a uvicorn replica that counts the requests it holds at once:

  - a group's maxconn_per_server 2 with 20 concurrent slow requests: never
    more than 2 at the replica, every request answered 200 (the rest
    waited in the queue);
  - timeout_queue_ms: requests that waited longer get 503, counted;
  - weir-cp --client-rate 20: one client sending 40 requests/s for 10 s
    gets 200 for 20/s (within 10 %), 429 with Retry-After for the rest;
  - --maxconnrate 20 and --maxsessrate 20: 40 new connections/s for 10 s,
    20/s taken (within 10 %), the rest refused;
  - bad limit arguments are refused by weir-cp with a message."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import weirlib  # noqa: E402
from weirlib import (BUILD, Testbed, WeirCP, WeirDP, client, client_bg, client_result,  # noqa: E402
                     cp_metrics, mval, run, run_suite, start_replicas)

RATE_S = int(os.environ.get("WEIR_LIMITS_RATE_S", "10"))


class Env(weirlib.Env):
    def __init__(self):
        sfx = os.environ.get("WEIR_TB_SUFFIX", "")
        self.tb = Testbed("wlimit", replicas=1)
        self.ip = self.tb.be_ips.split()[0]
        self.procs = start_replicas(self.tb, route_prefix="/app")
        self.dp = WeirDP(self.tb, workers=2, prefix="wlimit" + sfx,
                         extra={"http": {"port": 8000}}, cp=False)
        self.cp = None
        self.restart_cp()

    def restart_cp(self, *args, limits=None):
        if self.cp:
            self.cp.stop()
        self.cp = WeirCP(self.dp.prefix, self.dp.dir, extra_args=args)
        group = {"protocol": "HTTP", "route_prefix": "/app", "app_name": "app",
                 "targets": [{"ip": self.ip, "port": 30000, "instance_id": "n", "name": "r1",
                              "replica_id": "r1"}]}
        if limits:
            group["limits"] = limits
        st, r = self.cp.push({"target_groups": [group]})
        if st != 200:
            raise RuntimeError("push: %s %s" % (st, r))
        self.cp.wait_live()

    def url(self, path):
        return "http://%s:8000%s" % (self.tb.vip, path)

    def replica_stats(self, reset=False):
        r = run(["curl", "-s", "-m", "3"] + (["-X", "POST"] if reset else []) +
                ["http://%s:30000/-/admin/%s" % (self.ip, "reset" if reset else "stats")],
                ns=self.tb.ns_cli)
        import json
        return json.loads(r.stdout)

    def metric(self, name):
        time.sleep(0.5)  # the workers export their counters every 200 ms
        return mval(cp_metrics(self.cp.sock), name)



def concurrent(env, n, path):
    procs = [client_bg(env.tb, "keepalive", env.url(path), 1, 1) for _ in range(n)]
    counts = {}
    for p in procs:
        for k, v in client_result(p).get("counts", {"error": 1}).items():
            counts[k] = counts.get(k, 0) + v
    return counts


def test_maxconn_queue(t, env):
    env.restart_cp(limits={"maxconn_per_server": 2, "timeout_queue_ms": 30000})
    env.replica_stats(reset=True)
    t0 = time.time()
    counts = concurrent(env, 20, "/app/sleep?ms=300")
    took = time.time() - t0
    st = env.replica_stats()
    t.ok(counts == {"200": 20}, "maxconn 2: 20 concurrent slow requests, all answered 200", counts)
    t.ok(st["in_flight_max"] <= 2 and st["requests_total"] == 20,
         "never more than 2 at the replica (it counted %d at most, %d requests, %.1f s)"
         % (st["in_flight_max"], st["requests_total"], took))
    t.ok(env.metric("weir_http_queued_total") >= 10, "the rest were queued (%d)" %
         env.metric("weir_http_queued_total"))


def test_queue_timeout(t, env):
    env.restart_cp(limits={"maxconn_per_server": 2, "timeout_queue_ms": 500})
    counts = concurrent(env, 6, "/app/sleep?ms=2000")
    t.ok(counts.get("200", 0) + counts.get("503", 0) == 6 and counts.get("503", 0) >= 4 and
         counts.get("200", 0) >= 1, "timeout queue 500 ms behind 2 s requests: 503 for those that waited",
         counts)
    t.ok(env.metric("weir_http_queue_timeouts_total") == counts.get("503", 0),
         "each counted as a queue timeout")


def within(got, per_s, seconds):
    """A rate limit of per_s over seconds: 10 % below at most, and above
    by no more than the partial windows at both ends (one second's worth:
    the windows are whole seconds of weir-dp's clock)."""
    return 0.9 * per_s * seconds <= got <= per_s * (seconds + 1)


def test_client_rate(t, env):
    env.restart_cp("--client-rate", "20")
    r = client(env.tb, "load", env.url("/app/echo"), 40, RATE_S, 2, timeout=RATE_S + 60)
    c = r.get("counts", {})
    ok, limited = c.get("200", 0), c.get("429", 0)
    t.ok(within(ok, 20, RATE_S) and ok + limited == sum(c.values()),
         "--client-rate 20: %d of %d requests served in %d s (want 20/s within 10 %%), %d answered 429"
         % (ok, sum(c.values()), RATE_S, limited), c)
    reqs = b"GET /app/echo HTTP/1.1\r\nHost: w\r\n\r\n" * 29 + \
        b"GET /app/echo HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n"
    out = client(env.tb, "raw", env.tb.vip, 8000, reqs.hex())  # 30 in one go
    raw = bytes.fromhex(out.get("hex", ""))
    at = raw.find(b"HTTP/1.1 429")
    got = raw[at:] if at >= 0 else raw[:300]
    t.ok(got.startswith(b"HTTP/1.1 429 Too Many Requests\r\n") and b"\r\nRetry-After: 1\r\n" in got and
         raw.count(b"HTTP/1.1 ") == 30, "30 pipelined requests: all answered, those over the rate 429 with "
         "Retry-After", got[:200])


def test_conn_rates(t, env):
    for opt, ctr in (("--maxconnrate", "weir_http_refused_connrate_total"),
                     ("--maxsessrate", "weir_http_refused_sessrate_total")):
        env.restart_cp(opt, "20")
        r = client(env.tb, "conns", env.url("/app/echo"), 40, RATE_S, timeout=RATE_S + 60)
        c = r.get("counts", {})
        ok = c.get("200", 0)
        refused = sum(v for k, v in c.items() if k != "200")
        t.ok(within(ok, 20, RATE_S), "%s 20: %d of %d new connections taken in %d s (want 20/s within 10 %%)"
             % (opt, ok, sum(c.values()), RATE_S), c)
        t.ok(env.metric(ctr) >= refused * 0.9 and refused > 0, "the refused ones are counted (%s %d)"
             % (ctr, env.metric(ctr)))


def test_bad_args(t, env):
    cp = os.path.join(BUILD, "controlplane", "weir-cp")
    for args in (["--maxconn", "0"], ["--maxconn", "abc"], ["--client-rate", "70000"],
                 ["--maxconnrate", "-1"], ["--maxconn-per-server", "1e3"], ["--timeout-queue-ms", ""]):
        r = run([cp, "run", "--dp", "nosuch", "--api", "/tmp/x.sock"] + args, timeout=5)
        t.ok(r.returncode == 2 and args[0] in r.stderr, "weir-cp run %s: refused" % " ".join(args), r.stderr)
    st, j = env.cp.push({"target_groups": [{"protocol": "HTTP", "route_prefix": "/x", "app_name": "x",
                                            "targets": [], "limits": {"maxconn_per_server": -1}}]})
    t.ok(st == 400 and "limits.maxconn_per_server" in (j or {}).get("error", ""),
         "a group's bad limits: 400 naming the field", j)
    st, j = env.cp.push({"target_groups": [{"protocol": "HTTP", "route_prefix": "/x", "app_name": "x",
                                            "targets": [], "limits": "fast"}]})
    t.ok(st == 400 and "limits" in (j or {}).get("error", ""), "limits must be an object", j)


def main():
    run_suite(Env, [test_bad_args, test_maxconn_queue, test_queue_timeout, test_client_rate,
                    test_conn_rates])

if __name__ == "__main__":
    main()
