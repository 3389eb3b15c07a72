"""weir-cp drives a running weir-dp (#12): tables are pushed over weir-cp's
API and adopted by both workers between bursts, never by a restart. Checks,
against one weir-dp process whose pid never changes:

  - Ray's table semantics byte for byte through live updates (not
    populated, no apps, a table), /-/routes matched without case;
  - 1,000 full updates in 10 s that add and remove replicas (new actor
    names too, so server slots are retired and reused) under a steady
    keep-alive load: no failed request, no reset, and the active table is
    the last push (generation and document);
  - a 5 s SSE stream from a replica completes intact after the replica is
    removed from the table;
  - kill -9 of weir-cp under load: nothing fails, weir-dp serves on; a
    restarted weir-cp reattaches, reports the active generation, and its
    next push takes effect; nothing is left behind after both stop;
  - malformed API input (over 25 kinds, and a client that stalls half-way)
    gets an error naming the problem and changes nothing."""
import glob
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import (PY, ROOT, Tap, Testbed, WeirDP, client, client_bg, client_result,  # noqa: E402
                     run, wait_replica)

CLIENT = os.path.join(os.path.dirname(__file__), "lib", "http_client.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")
N_REPLICAS = 4
UPDATES = int(os.environ.get("WEIR_CP_UPDATES", "1000"))


def resp(status, reason, body, ctype="text/plain"):
    return ("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n%s" % (status, reason, ctype, len(body), body)).encode()


NOT_POPULATED = resp(503, "Service Unavailable", "Route table is not populated yet.")
UNAVAILABLE = resp(503, "Service Unavailable", "Service Unavailable")
SUCCESS = resp(200, "OK", "success")


def not_found(path):
    return resp(404, "Not Found", "Path '%s' not found. Ping http://.../-/routes for available routes." % path)


class Env:
    def __init__(self):
        self.tb = Testbed("wtcp", replicas=N_REPLICAS)
        self.ips = self.tb.be_ips.split()
        self.procs = []
        for i, ip in enumerate(self.ips):
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.tb.ns_be, PY, REPLICA, "--id", "r%d" % (i + 1),
                 "--host", ip, "--port", "30000", "--route-prefix", "/"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for ip in self.ips:
            self.wait_replica(ip)
        self.mgmt = "127.0.0.1:%d" % (19400 + sum(map(ord, os.environ.get("WEIR_TB_SUFFIX", ""))) % 500)
        self.dp = WeirDP(self.tb, workers=2, prefix="wtcp" + os.environ.get("WEIR_TB_SUFFIX", ""),
                         extra={"http": {"port": 8000}}, cp_mgmt=self.mgmt)
        self.cp = self.dp.cp
        self.pid = self.dp.proc.pid

    def wait_replica(self, ip, timeout=20):
        wait_replica(self.tb, ip, 30000, timeout)

    def client(self, *args, timeout=120):
        return client(self.tb, *args, timeout=timeout)

    def client_bg(self, *args):
        return client_bg(self.tb, *args)

    @staticmethod
    def bg_result(p, timeout=120):
        return client_result(p, timeout)

    def get(self, path):
        """One request with Connection: close: the exact bytes answered."""
        req = "GET %s HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n" % path
        out = self.client("raw", self.tb.vip, 8000, req.encode().hex())
        return bytes.fromhex(out.get("hex", ""))

    def url(self, path):
        return "http://%s:8000%s" % (self.tb.vip, path)

    def target(self, i, incarnation=0):
        name = "r%d" % (i + 1) if not incarnation else "r%d-v%d" % (i + 1, incarnation)
        return {"ip": self.ips[i], "port": 30000, "instance_id": "node1",
                "name": "SERVE_REPLICA::app#App#" + name, "replica_id": name}

    def same_dp(self):
        return self.dp.alive() and self.dp.proc.pid == self.pid

    def stop(self):
        self.dp.stop()
        for p in self.procs:
            p.kill()
        self.tb.down()


def group(prefix, app, targets):
    return {"protocol": "HTTP", "route_prefix": prefix, "app_name": app, "targets": targets}


def test_ray_semantics(t, env):
    t.ok(env.get("/-/healthz") == NOT_POPULATED, "before any table: /-/healthz 503 not populated",
         env.get("/-/healthz"))
    t.ok(env.get("/-/routes") == NOT_POPULATED, "before any table: /-/routes 503 not populated")
    t.ok(env.get("/-/ROUTES") == NOT_POPULATED, "/-/ROUTES is /-/routes (path -i)")
    t.ok(env.get("/app") == NOT_POPULATED or env.get("/app").startswith(b"HTTP/1.1 404"),
         "before any table: an app path is not proxied")
    st, r = env.cp.push({"target_groups": []})
    t.ok(st == 200 and r.get("live"), "an empty table is pushed and live", r)
    t.ok(env.get("/app/x") == not_found("/app/x"), "no apps: every path 404 with Ray's body",
         env.get("/app/x"))
    t.ok(env.get("/") == not_found("/"), "no apps: / is 404 too")
    t.ok(env.get("/-/routes") == resp(200, "OK", "{}", "application/json"),
         "no apps: /-/routes 200 {}", env.get("/-/routes"))
    t.ok(env.get("/-/Routes") == resp(200, "OK", "{}", "application/json"),
         "no apps: /-/Routes (any case) 200 {}")
    t.ok(env.get("/-/healthz") == UNAVAILABLE, "no apps: /-/healthz 503 Service Unavailable",
         env.get("/-/healthz"))
    st, r = env.cp.push({"target_groups": [group("/app", "app", [env.target(0)])]})
    t.ok(st == 200 and r.get("live"), "a table with one app is live", r)
    t.ok(env.get("/-/healthz") == SUCCESS, "one app: /-/healthz 200 success")
    t.ok(env.get("/-/ROUTES") == resp(200, "OK", '{"/app":"app"}', "application/json"),
         "one app: /-/ROUTES 200 with the routes", env.get("/-/ROUTES"))
    got = env.get("/app/hello")
    t.ok(got.startswith(b"HTTP/1.1 200") and b'"replica_id": "r1"' in got, "one app: /app/hello reaches r1",
         got[:300])
    t.ok(env.get("/other") == not_found("/other"), "one app: /other 404")
    st, r = env.cp.push({"target_groups": []})
    t.ok(env.get("/app/hello") == not_found("/app/hello") and env.get("/-/healthz") == UNAVAILABLE,
         "back to no apps: 404 and 503, live")
    t.ok(env.same_dp(), "Ray's semantics all through live updates: weir-dp never restarted")


def test_update_storm(t, env):
    rng = random.Random(int(os.environ.get("WEIR_SEED", "12")))
    st, r = env.cp.push({"target_groups": [group("/app", "app", [env.target(0)])]})
    base = env.dp.telemetry("/weir/http")
    load_s = 14
    load = env.client_bg("load", env.url("/app/x"), 150, load_s, 6)
    time.sleep(1.5)
    t0 = time.time()
    last_doc, last_gen, errors, statuses = None, 0, [], {}
    for k in range(UPDATES):
        inc = k // 50
        members = [i for i in range(N_REPLICAS) if rng.random() < 0.6] or [rng.randrange(N_REPLICAS)]
        groups = [group("/app", "app", [env.target(i, inc) for i in members])]
        if k % 3:
            groups.append(group("/other", "other", [env.target(rng.randrange(N_REPLICAS), inc)]))
        doc = {"target_groups": groups}
        st, r = env.cp.push(doc, wait_ms=0)
        statuses[st] = statuses.get(st, 0) + 1
        if st != 200:
            errors.append(r)
        else:
            last_doc, last_gen = doc, r.get("generation") or last_gen
    took = time.time() - t0
    res = env.bg_result(load, timeout=load_s + 60)
    counts = res.get("counts", res)
    t.ok(statuses == {200: UPDATES}, "%d pushes accepted" % UPDATES, (statuses, errors[:3]))
    t.ok(took <= 10.0, "%d updates in %.2f s (<= 10 s)" % (UPDATES, took))
    t.ok(set(counts) == {"200"} and counts["200"] > 1000,
         "keep-alive load through %d updates: every request 200, none reset" % UPDATES, res)
    gen = env.cp.wait_live(timeout=10)
    st, tab = env.cp.api("GET", "/api/v1/table")
    doc = tab.get("document") or {}
    t.ok(tab["table"]["generation"] == gen and doc.get("target_groups") == last_doc["target_groups"],
         "the active table is the last push (generation %s, same document)" % gen,
         (tab["table"], str(doc)[:300], str(last_doc)[:300]))
    info = env.cp.info()
    t.ok(info["dataplane"]["worker_generations"] == [gen, gen], "both workers hold generation %s" % gen, info)
    after = env.dp.telemetry("/weir/http")
    adopted = after.get("tables", 0) - base.get("tables", 0)
    t.ok(0 < adopted <= 2 * UPDATES, "the workers adopted %d tables (bursts coalesce)" % adopted,
         {k: after[k] - base.get(k, 0) for k in after if after[k] != base.get(k, 0)})
    # replicas answer with their own id (r1..r4), whatever the table calls them
    members = ["r%d" % (env.ips.index(tg["ip"]) + 1) for tg in last_doc["target_groups"][0]["targets"]]
    ids = env.client("ids", env.url("/app/y"), 12).get("ids", [])
    t.ok(ids and set(ids) <= set(members) and set(ids) == set(members),
         "traffic reaches exactly the last table's replicas", (ids, members))
    t.ok(env.same_dp(), "1,000 updates: weir-dp never restarted")


def test_sse_on_removed_replica(t, env):
    inc = 100
    st, r = env.cp.push({"target_groups": [group("/", "sse", [env.target(0, inc)]),
                                           group("/app", "app", [env.target(1, inc)])]})
    t.ok(st == 200 and r.get("live"), "SSE app on r1 only is live", r)
    sse = env.client_bg("sse", env.url("/stream?n=25&ms=200"))
    time.sleep(1.0)
    st, r = env.cp.push({"target_groups": [group("/", "sse", [env.target(2, inc)]),
                                           group("/app", "app", [env.target(1, inc)])]})
    t.ok(st == 200 and r.get("live"), "r1 removed from the table mid-stream", r)
    nxt = env.client("ids", env.url("/x"), 4).get("ids")
    t.ok(nxt == ["r3"] * 4, "new requests go to the replica that replaced it", nxt)
    res = env.bg_result(sse, timeout=60)
    ev = [e[0] for e in res.get("events", [])]
    t.ok(ev == list(range(25)), "the 5 s stream from the removed replica completed intact (25 events)",
         res if not ev else ev)


DRAINED = resp(503, "Service Unavailable", "This node is being drained.")
CTL = os.path.join(os.environ.get("WEIR_BUILD", os.path.join(ROOT, "build")), "tools", "weirctl", "weirctl")


def ctl(env, *args):
    return run([CTL, "--prefix", env.dp.prefix, "--cp", env.cp.sock, *args])


def metrics(env):
    """/metrics from the management address, parsed by Prometheus' own
    text parser: {(name, frozenset(labels)): value}."""
    import urllib.request
    from prometheus_client.parser import text_string_to_metric_families
    text = urllib.request.urlopen("http://%s/metrics" % env.mgmt, timeout=10).read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            out[(smp.name, frozenset(smp.labels.items()))] = smp.value
    return out


def msum(m, name, **labels):
    want = set(labels.items())
    return sum(v for (n, lab), v in m.items() if n == name and want <= lab)


def stat_servers(env):
    st, j = env.cp.api("GET", "/api/v1/stats")
    return {s["replica_id"]: s for b in j["backends"] for s in b["servers"]}, j


def test_weirctl_metrics_admin(t, env):
    doc = {"target_groups": [group("/app", "app", [env.target(0, 300), env.target(1, 300)])]}
    path = os.path.join(env.dp.dir, "t300.json")
    with open(path, "w") as f:
        json.dump(doc, f)
    r = ctl(env, "push", path)
    t.ok(r.returncode == 0 and "live on every worker" in r.stdout, "weirctl push FILE: live", r.stdout + r.stderr)
    gen = env.cp.info()["table"]["generation"]
    ka = env.client("keepalive", env.url("/app/m"), 2, 20)
    t.ok(ka.get("counts") == {"200": 40}, "40 requests through the new table", ka)
    time.sleep(0.6)  # the workers export every 200 ms
    r = ctl(env, "show", "stat")
    rows = [l.split(",") for l in r.stdout.splitlines() if l.startswith("http-app,")]
    srv = [x for x in rows if x[1] != "BACKEND"]
    be = [x for x in rows if x[1] == "BACKEND"]
    t.ok(r.stdout.startswith("# pxname,svname,status,weight,scur,smax,stot,qcur,ereq,econ,eresp,wretr,hrsp_2xx,hrsp_5xx")
         and len(srv) == 2 and sum(int(x[6]) for x in srv) == 40 and sum(int(x[12]) for x in srv) == 40
         and be and be[0][2] == "UP" and int(be[0][6]) == 40,
         "weirctl show stat: HAProxy's columns, 40 requests and 40 2xx over the two servers", r.stdout + r.stderr)
    m = metrics(env)
    t.ok(msum(m, "haproxy_server_sessions_total", proxy="http-app") == 40
         and msum(m, "haproxy_server_http_responses_total", proxy="http-app", code="2xx") == 40
         and msum(m, "haproxy_backend_http_responses_total", proxy="http-app", code="2xx") == 40
         and m.get(("haproxy_backend_status", frozenset({"proxy": "http-app", "state": "UP"}.items()))) == 1
         and ("haproxy_backend_current_sessions", frozenset({"proxy": "http-app"}.items())) in m
         and msum(m, "haproxy_frontend_http_requests_total") >= 40
         and m.get(("weir_table_version", frozenset())) == gen,
         "/metrics parses as Prometheus text, promex names agree with the 40 requests",
         {k: v for k, v in m.items() if "http-app" in str(k) or "weir_table" in k[0]})
    t.ok(msum(m, "weir_dp_rx_frames_total") > 0 and msum(m, "weir_http_requests_total") >= 40,
         "/metrics has weir's per-worker counters")
    servers, _ = stat_servers(env)
    r1 = servers["r1-v300"]["svname"]
    r = ctl(env, "set", "server", "http-app/" + r1, "state", "drain")
    t.ok(r.returncode == 0, "weirctl set server ... state drain", r.stdout + r.stderr)
    ids = env.client("ids", env.url("/app/d"), 8).get("ids")
    t.ok(ids == ["r2"] * 8, "a drained server takes no new requests", ids)
    time.sleep(0.6)
    servers, _ = stat_servers(env)
    m = metrics(env)
    t.ok(servers["r1-v300"]["status"] == "DRAIN" and m.get((
        "haproxy_server_status", frozenset({"proxy": "http-app", "server": r1, "state": "DRAIN"}.items()))) == 1,
         "show stat and /metrics say DRAIN", servers["r1-v300"])
    r = ctl(env, "set", "server", "http-app/" + r1, "state", "maint")
    ids = env.client("ids", env.url("/app/d"), 6).get("ids")
    t.ok(r.returncode == 0 and ids == ["r2"] * 6, "maint: still no requests to it", (r.stderr, ids))
    r = ctl(env, "set", "server", "http-app/" + r1, "state", "ready")
    ids = env.client("ids", env.url("/app/d"), 12).get("ids") or []
    t.ok(r.returncode == 0 and set(ids) == {"r1", "r2"}, "ready again: it takes requests", ids)
    for args, want in ((["set", "server", "http-app/nosuch", "state", "drain"], "no server"),
                       (["set", "server", "http-app/" + r1, "state", "sleepy"], "state: must be"),
                       (["set", "server", "http-app/" + r1, "weight", "300"], "weight: must be")):
        r = ctl(env, *args)
        t.ok(r.returncode == 1 and want in r.stderr, "weirctl %s: exit 1, '%s'" % (" ".join(args[:3]), want),
             r.stdout + r.stderr)
    r = ctl(env, "set", "server", "http-app/" + r1, "weight", "0")
    ids = env.client("ids", env.url("/app/w"), 6).get("ids")
    t.ok(r.returncode == 0 and ids == ["r2"] * 6, "weight 0: no new requests", (r.stderr, ids))
    ctl(env, "set", "server", "http-app/" + r1, "weight", "1")
    r = ctl(env, "drain", "on")
    ids = env.client("ids", env.url("/app/x"), 4).get("ids")
    t.ok(r.returncode == 0 and env.get("/-/healthz") == DRAINED and env.get("/-/routes") == DRAINED
         and ids and len(ids) == 4, "weirctl drain on: healthz and routes 503 drained, requests still served",
         (r.stdout + r.stderr, env.get("/-/healthz")))
    r = ctl(env, "show", "info")
    t.ok(r.returncode == 0 and "drain        on" in r.stdout and "connections" in r.stdout,
         "weirctl show info: drain on, connection totals", r.stdout)
    r = ctl(env, "drain", "off")
    t.ok(r.returncode == 0 and env.get("/-/healthz") == SUCCESS, "weirctl drain off: healthz 200 again")
    bad = os.path.join(env.dp.dir, "bad.json")
    with open(bad, "w") as f:
        f.write('{"target_groups": [{"protocol": "HTTP", "route_prefix": "x"}]}')
    gen = env.cp.info()["table"]["generation"]
    r = ctl(env, "push", bad)
    t.ok(r.returncode == 1 and "route_prefix" in r.stderr and env.cp.info()["table"]["generation"] == gen,
         "weirctl push of a bad file: exit 1 naming the field, nothing changed", r.stderr)
    r = ctl(env, "--json", "show", "table")
    t.ok(r.returncode == 0 and json.loads(r.stdout)["table"]["generation"] == gen, "weirctl --json show table")
    for args, code, want in (([CTL, "--cp", "/nonexistent/cp.sock", "show", "stat"], 1, "weir-cp is not running"),
                             ([CTL, "--cp", env.cp.sock, "push", "/nonexistent.json"], 1, "No such file"),
                             ([CTL, "--cp", env.cp.sock, "drain", "maybe"], 2, "usage"),
                             ([CTL, "--cp", env.cp.sock, "set", "server", "x"], 2, "usage")):
        r = run(args)
        t.ok(r.returncode == code and want in r.stderr, "weirctl %s: exit %d, '%s'" % (" ".join(args[3:]), code, want),
             r.stdout + r.stderr)


def leftovers(prefix):
    return (glob.glob("/dev/hugepages/%s*" % prefix) + glob.glob("/dev/shm/weir-%s" % prefix)
            + glob.glob("/var/run/dpdk/%s" % prefix))


def test_kill_cp(t, env):
    doc = {"target_groups": [group("/app", "app", [env.target(0, 200), env.target(1, 200)])]}
    st, r = env.cp.push(doc)
    gen = r.get("generation")
    load = env.client_bg("load", env.url("/app/k"), 150, 6, 4)
    time.sleep(1.5)
    env.cp.kill()
    time.sleep(1.5)
    t.ok(env.get("/-/healthz") == SUCCESS, "weir-cp killed (-9): weir-dp still serves its table")
    res = env.bg_result(load, timeout=60)
    counts = res.get("counts", res)
    t.ok(set(counts) == {"200"}, "load across kill -9 of weir-cp: every request 200", counts)
    env.cp.start()
    info = env.cp.info()
    t.ok(info["ok"] and info["dataplane"]["attached"] and info["table"]["generation"] == gen,
         "restarted weir-cp reattaches and reports the active generation %s" % gen, info)
    st, tab = env.cp.api("GET", "/api/v1/table")
    t.ok((tab.get("document") or {}).get("target_groups") == doc["target_groups"],
         "restarted weir-cp carries the active document (state file)")
    r = ctl(env, "show", "info")
    t.ok(r.returncode == 0 and "generation %s" % gen in r.stdout, "weirctl show info works after the restart",
         r.stdout + r.stderr)
    doc2 = {"target_groups": [group("/app", "app", [env.target(3, 200)])]}
    st, r = env.cp.push(doc2)
    t.ok(st == 200 and r.get("live") and r.get("generation") == gen + 1,
         "a push after the restart takes effect (generation %s)" % (gen + 1), r)
    ids = env.client("ids", env.url("/app/k"), 4).get("ids")
    t.ok(ids == ["r4"] * 4, "... and traffic follows it", ids)
    t.ok(env.same_dp(), "weir-cp killed and restarted: weir-dp never restarted")


def bad_inputs(env):
    T = env.target
    good = lambda *g: json.dumps({"target_groups": list(g)})  # noqa: E731
    tg = lambda **kw: dict(group("/b", "b", [T(0)]), **kw)  # noqa: E731
    tgt = lambda **kw: dict(T(0), **kw)  # noqa: E731
    P, F = "/api/v1/target_groups", "/api/v1/fallback_targets"
    return [
        (P, '{"target_groups": [', 400, "not valid JSON"),
        (P, "", 400, "not valid JSON"),
        (P, "42", 400, "top level"),
        (P, "{}", 400, "target_groups: missing"),
        (P, '{"target_groups": {}}', 400, "target_groups: must be a list"),
        (P, good(tg(protocol="TCP")), 400, "target_groups[0].protocol"),
        (P, good(tg(protocol=7)), 400, "target_groups[0].protocol"),
        (P, good(tg(route_prefix="")), 400, "target_groups[0].route_prefix"),
        (P, good(tg(route_prefix="b")), 400, "must start with '/'"),
        (P, good(tg(route_prefix="/b/")), 400, "must not end with '/'"),
        (P, good(tg(route_prefix=5)), 400, "target_groups[0].route_prefix"),
        (P, good(tg(app_name="")), 400, "target_groups[0].app_name: must not be empty"),
        (P, good(tg(app_name="x" * 300)), 400, "target_groups[0].app_name"),
        (P, good(tg(targets="r1")), 400, "target_groups[0].targets: must be a list"),
        (P, good(tg(targets=[tgt(ip="10.0.0.256")])), 400, "targets[0].ip"),
        (P, good(tg(targets=[tgt(ip="not-an-ip")])), 400, "targets[0].ip"),
        (P, good(tg(targets=[tgt(ip=17)])), 400, "targets[0].ip"),
        (P, good(tg(targets=[tgt(port=70000)])), 400, "targets[0].port: 70000 is out of range"),
        (P, good(tg(targets=[tgt(port=0)])), 400, "targets[0].port"),
        (P, good(tg(targets=[tgt(port=-1)])), 400, "targets[0].port"),
        (P, good(tg(targets=[tgt(port="80")])), 400, "targets[0].port: must be an integer"),
        (P, good(tg(targets=[tgt(port=80.5)])), 400, "targets[0].port: 80.5 is not an integer"),
        (P, good(tg(targets=[tgt(name="")])), 400, "targets[0].name: must not be empty"),
        (P, good(tg(targets=[tgt(name="n" * 400)])), 400, "targets[0].name: 400 bytes is too long"),
        (P, good(tg(targets=[T(0), dict(T(1), replica_id=T(0)["replica_id"])])), 400,
         "targets[1].replica_id: \"r1\" duplicates targets[0]"),
        (P, good(tg(targets=[T(0), dict(T(1), name=T(0)["name"])])), 400, "targets[1].name"),
        (P, good(tg(), group("/b", "c", [T(1)])), 400, "is already used by target_groups[0]"),
        (P, good(tg(), tg()), 400, "target_groups[1]"),
        (F, '{"HTTP": {"ip": "10.0.0.300", "port": 1, "name": "p"}}', 400, "ip"),
        (F, '{"HTTP": 5}', 400, "HTTP"),
        (F, "[", 400, "not valid JSON"),
        ("/api/v1/nope", "{}", 404, ""),
        (P, "x" * (10 << 20), 400, "not valid JSON"),
        (P, " " * (17 << 20), 413, "body over"),
    ]


def test_bad_api_input(t, env):
    gen = env.cp.info()["table"]["generation"]
    cases = bad_inputs(env)
    ok = 0
    for path, body, code, want in cases:
        st, r = env.cp.api("PUT", path, body, timeout=30)
        err = (r or {}).get("error", "")
        good = st == code and (r or {}).get("ok") is False and want in err
        ok += good
        if not good:
            t.ok(False, "bad input to %s answered %d naming %r" % (path, code, want), (st, r, body[:200]))
    t.ok(ok == len(cases) and len(cases) >= 25, "%d malformed API inputs: each an error naming the problem" % len(cases))
    st, r = env.cp.api("DELETE", "/api/v1/target_groups")
    t.ok(st == 405, "DELETE /api/v1/target_groups: 405", (st, r))
    # a client that sends half a request and stalls does not stop the others
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(env.cp.sock)
    s.sendall(b"PUT /api/v1/target_groups HTTP/1.1\r\nHost: w\r\nContent-Length: 5000\r\n\r\n{\"target_")
    t0 = time.time()
    info = env.cp.info()
    t.ok(info["ok"] and time.time() - t0 < 2, "weir-cp answers others while a client stalls mid-body")
    s.close()
    t.ok(env.cp.info()["table"]["generation"] == gen and env.cp.proc.poll() is None,
         "after all of them: weir-cp runs, the active generation is still %s" % gen)
    t.ok(env.get("/-/healthz") == SUCCESS, "... and weir-dp still serves its table")


def test_nothing_left(t, env):
    prefix = env.dp.prefix
    env.dp.stop()
    left = leftovers(prefix)
    t.ok(not left, "weir-dp and weir-cp stopped: nothing in /dev/hugepages, /dev/shm, /var/run/dpdk", left)


def main():
    t = Tap()
    env = Env()
    try:
        test_ray_semantics(t, env)
        test_update_storm(t, env)
        test_sse_on_removed_replica(t, env)
        test_bad_api_input(t, env)
        test_weirctl_metrics_admin(t, env)
        test_kill_cp(t, env)
        test_nothing_left(t, env)
    except Exception as e:  # noqa: BLE001 - a crash is a failure, with its story
        import traceback
        t.ok(False, "test run crashed: %s" % e, traceback.format_exc() + "\n" + env.dp.output()[-2000:])
    finally:
        env.stop()
    t.done()


if __name__ == "__main__":
    main()
