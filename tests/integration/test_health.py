"""Active health checks through a real weir-dp with two workers (#14 point
1): each server is checked by the one worker that owns it, and both
workers follow its state. Against uvicorn replicas whose /-/healthz the
test turns bad and good (POST /-/admin/health):

  - a replica whose check fails while it still answers traffic is DOWN
    within fall x fastinter + timeout of its first failed check (measured,
    plus the 200 ms of the workers' stats export), and neither worker
    sends it a request (client connections land on both workers);
  - it returns after rise successes and gets requests again;
  - the fallback serves only while every replica is down; with it down
    too, /-/healthz answers 503 "Service Unavailable" byte for byte;
  - a group's own health path is the one checked (/-/healthz is not);
  - each server is checked by one worker only (the check rate)."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import weirlib  # noqa: E402
from weirlib import Testbed, WeirDP, client, cp_metrics, run, run_suite, start_replicas  # noqa: E402

HC = {"inter_ms": 1000, "fastinter_ms": 250, "downinter_ms": 250, "fall": 2, "rise": 2,
      "timeout_ms": 500}
EXPORT_S = 0.2  # workers export their server state every 200 ms


def resp(status, reason, body):
    return ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n%s" % (status, reason, len(body), body)).encode()


class Env(weirlib.Env):
    def __init__(self):
        sfx = os.environ.get("WEIR_TB_SUFFIX", "")
        self.tb = Testbed("whlth", replicas=3)
        self.ips = self.tb.be_ips.split()
        self.procs = start_replicas(self.tb)
        self.dp = WeirDP(self.tb, workers=2, prefix="whlth" + sfx, extra={"http": {"port": 8000}})
        self.cp = self.dp.cp

    def target(self, i):
        return {"ip": self.ips[i], "port": 30000, "instance_id": "node1",
                "name": "SERVE_REPLICA::app#App#r%d" % (i + 1), "replica_id": "r%d" % (i + 1)}

    def push(self, hc):
        group = {"protocol": "HTTP", "route_prefix": "/app", "app_name": "app",
                 "targets": [self.target(0), self.target(1)], "health_check": hc}
        st, r = self.cp.push({"target_groups": [group], "fallback_targets": {"HTTP": self.target(2)}})
        if st != 200:
            raise RuntimeError("push: %s %s" % (st, r))

    def client(self, *args, timeout=120):
        return client(self.tb, *args, timeout=timeout)

    def replica(self, i, method="GET", path="/-/admin/stats", body=None):
        r = run(["curl", "-s", "-m", "3", "-X", method] + (["--data", body] if body else []) +
                ["http://%s:30000%s" % (self.ips[i], path)], ns=self.tb.ns_cli)
        return json.loads(r.stdout)

    def set_health(self, i, status):
        return self.replica(i, "POST", "/-/admin/health", str(status))

    def spread(self, n_conns=16, per=5):
        """Requests over many connections (they land on both workers): the
        replica ids that answered."""
        out = []
        for _ in range(n_conns):
            r = self.client("ids", "http://%s:8000/app/echo" % self.tb.vip, per)
            out += r.get("ids", ["error"])
        return out

    def worker_requests(self):
        return {dict(lab)["worker"]: v for (n, lab), v in cp_metrics(self.cp.sock).items()
                if n == "weir_http_requests_total"}

    def get(self, path):
        req = "GET %s HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n" % path
        out = self.client("raw", self.tb.vip, 8000, req.encode().hex())
        return bytes.fromhex(out.get("hex", ""))



def test_one_checker(t, env):
    """inter 1 s and one owner per server: about 3 checks in 3 s, not 6."""
    c0 = [env.replica(i)["healthz_total"] for i in range(3)]
    time.sleep(3.0)
    c1 = [env.replica(i)["healthz_total"] for i in range(3)]
    d = [b - a for a, b in zip(c0, c1)]
    t.ok(all(2 <= x <= 4 for x in d), "each server checked by one worker: %s checks in 3 s at inter 1 s" % d)


def test_down_and_back(t, env):
    ids = env.spread()
    t.ok(set(ids) == {"r1", "r2"}, "healthy: r1 and r2 serve, not the fallback", sorted(set(ids)))
    env.set_health(0, 503)
    t_down = env.wait_status("r1", "DOWN")
    first = env.replica(0, path="/-/admin/health").get("first_bad_at")
    bound = HC["fall"] * HC["fastinter_ms"] / 1000 + HC["timeout_ms"] / 1000
    took = t_down - first if t_down and first else None
    t.ok(took is not None and took <= bound + EXPORT_S + 0.1,
         "r1's check fails: DOWN %.0f ms after its first failed check (bound %.0f ms + %.0f ms export)"
         % ((took or 0) * 1000, bound * 1000, EXPORT_S * 1000))
    w0 = env.worker_requests()
    before = env.replica(0)["by_endpoint"].get("echo", 0)
    ids = env.spread()
    w1 = env.worker_requests()
    t.ok(set(ids) == {"r2"} and env.replica(0)["by_endpoint"].get("echo", 0) == before,
         "r1 down: no request reaches it (%d requests)" % len(ids), sorted(set(ids)))
    busy = [w for w in w1 if w1[w] > w0.get(w, 0)]
    t.ok(len(busy) == 2, "both workers served those requests (and avoided r1)", {"before": w0, "after": w1})
    env.set_health(0, 200)
    t_up = env.wait_status("r1", "UP")
    t.ok(t_up is not None, "r1 healthy again: UP after rise checks")
    ids = env.spread()
    t.ok("r1" in ids, "r1 gets requests again", sorted(set(ids)))


def test_fallback(t, env):
    env.set_health(0, 503)
    env.set_health(1, 503)
    ok = env.wait_status("r1", "DOWN") and env.wait_status("r2", "DOWN")
    ids = env.spread(8, 5)
    t.ok(ok and set(ids) == {"r3"}, "every replica down: the fallback serves", sorted(set(ids)))
    t.ok(env.get("/-/healthz") == resp(200, "OK", "success"), "the fallback up: /-/healthz 200")
    env.set_health(2, 503)
    deadline = time.time() + 10
    got = b""
    while time.time() < deadline:
        got = env.get("/-/healthz")
        if got.startswith(b"HTTP/1.1 503"):
            break
        time.sleep(0.1)
    t.ok(got == resp(503, "Service Unavailable", "Service Unavailable"),
         "replicas and fallback down: /-/healthz 503 byte for byte", got)
    env.set_health(0, 200)
    env.set_health(1, 200)
    env.set_health(2, 200)
    ok = env.wait_status("r1", "UP") and env.wait_status("r2", "UP")
    time.sleep(1.0)  # the fallback's own rise
    ids = env.spread(8, 5)
    t.ok(ok and set(ids) <= {"r1", "r2"} and ids, "replicas back: the fallback stops serving",
         sorted(set(ids)))


def test_custom_path(t, env):
    env.push(dict(HC, path="/custom-hz"))
    time.sleep(0.5)
    h0 = [env.replica(i)["healthz_total"] for i in range(3)]
    e0 = env.replica(0)["by_endpoint"].get("echo", 0)
    time.sleep(2.5)
    h1 = [env.replica(i)["healthz_total"] for i in range(3)]
    e1 = env.replica(0)["by_endpoint"].get("echo", 0)
    t.ok(h1 == h0 and e1 >= e0 + 2, "health_check.path: /custom-hz is checked, /-/healthz is not "
         "(healthz %s -> %s, r1's /custom-hz %d -> %d)" % (h0, h1, e0, e1))
    env.set_health(0, 503)  # its /-/healthz, which nobody checks now
    time.sleep(2)
    t.ok(env.status().get("r1") == "UP", "r1's /-/healthz failing does not matter to that group")
    env.set_health(0, 200)


def setup(env):
    env.push(HC)
    env.cp.wait_live()
    time.sleep(1)


def main():
    run_suite(Env, [test_one_checker, test_down_and_back, test_fallback, test_custom_path], setup)

if __name__ == "__main__":
    main()
