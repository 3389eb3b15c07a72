"""weir-haproxy (#15) driven as Ray Serve drives haproxy: one weir-dp and
one weir-cp that are never restarted, and a run of Ray-shaped configs
(tests/integration/lib/raycfg.py), each started as
`weir-haproxy -db -f new.cfg -dR -sf OLD_PID -x admin.sock` with its
stdout/stderr on pipes nobody reads (as Ray does). Checks:

  - Ray's first configs (no routes yet, then no apps), then 20 successive
    configs (replicas added and removed, apps added and removed, scaled to
    zero and back twice, a drained node) under 200 req/s of keep-alive
    load: no failed request, no reset connection; after each, the old
    stand-in has exited, the admin socket answers with the new pid, `show
    stat` parsed as Ray parses it (csv.DictReader) and by a parser written
    from HAProxy's documented format (lib/hapstats.py) has exactly the
    config's backends and servers, all UP, and /-/routes and /-/healthz say
    what the config says; weir-cp's table has the backends' health checks,
    and the drain has hard-stop-after as its grace;
  - under that load, N requests held open on one app: its servers' scur
    sums to N (and its BACKEND row's scur is N), qcur is 0 everywhere;
  - Ray's drain (set server ... state drain on every server, then show
    stat polled every 100 ms) never sees Σscur+Σqcur = 0 while a 10 s
    stream is in flight, sees 0 soon after it ends, and the stream is
    intact;
  - show info, show servers state (version 1) parsed; set server ... state
    drain shows DRAIN in show stat, ready brings UP back; disable/enable
    server is MAINT/UP; ';'-separated commands; prompt mode; unknown and
    malformed input answered, never a crash;
  - a router-bearing config puts its router and the replicas' actor names
    in weir-cp's table; a gRPC app its gRPC group; a stand-in whose socket
    is taken over without -sf exits by itself;
  - a bad config is refused (-c and -db) with its line, and the running
    stand-in keeps the socket; weir-dp's pid never changes."""
import atexit
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import hapstats  # noqa: E402
import raycfg  # noqa: E402
from weirlib import BUILD, PY, ROOT, Tap, Testbed, WeirDP, run  # noqa: E402

CLIENT = os.path.join(os.path.dirname(__file__), "lib", "http_client.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")
HAP = os.path.join(BUILD, "tools", "weir-haproxy", "weir-haproxy")
SUFFIX = os.environ.get("WEIR_TB_SUFFIX", "")


def admin(sock, cmd, timeout=5):
    """One command, as Ray's _send_socket_command: write, read to EOF."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall(cmd if isinstance(cmd, bytes) else (cmd + "\n").encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out.decode("utf-8", "replace")
            out += b
    finally:
        s.close()


def parse_stat(text):
    """Ray's _parse_haproxy_csv_stats: {backend: {server: row}}."""
    out = {}
    for row in csv.DictReader(io.StringIO(text.replace("# ", "", 1))):
        px, sv = (row.get("pxname") or "").strip(), (row.get("svname") or "").strip()
        if px and sv:
            out.setdefault(px, {})[sv] = row
    return out


def parse_info(text):
    return dict(l.split(": ", 1) for l in text.splitlines() if ": " in l)


class Env:
    def __init__(self):
        self.tb = Testbed("whap", replicas=4)
        self.ips = self.tb.be_ips.split()
        self.procs = [subprocess.Popen(
            ["ip", "netns", "exec", self.tb.ns_be, PY, REPLICA, "--id", "r%d" % (i + 1),
             "--host", ip, "--port", "30000", "--route-prefix", "/", "--route-prefix", "/app",
             "--route-prefix", "/app2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, ip in enumerate(self.ips)]
        for ip in self.ips:
            self.wait_replica(ip)
        self.dp = WeirDP(self.tb, workers=2, prefix="whap" + SUFFIX, extra={"http": {"port": 8000}})
        self.cp = self.dp.cp
        self.dp_pid = self.dp.proc.pid
        self.dir = tempfile.mkdtemp(prefix="weir-hap-")
        atexit.register(shutil.rmtree, self.dir, True)
        self.sock = os.path.join(self.dir, "admin.sock")
        self.errorfile = os.path.join(self.dir, "500.http")
        with open(self.errorfile, "w") as f:
            f.write("HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                    "Content-Length: 21\r\n\r\nInternal Server Error")
        self.hap = None
        self.n = 0
        self.env = dict(os.environ, WEIR_CP_SOCKET=self.cp.sock)

    def wait_replica(self, ip, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if run(["curl", "-s", "-m", "1", "http://%s:30000/-/healthz" % ip], ns=self.tb.ns_cli).stdout == "success":
                return
            time.sleep(0.2)
        raise RuntimeError("replica %s did not start" % ip)

    def replica(self, app, i):
        return raycfg.replica(app, "App", "r%d" % (i + 1), self.ips[i])

    def fallback(self):
        # the head node's Serve proxy: here replica 4, which answers any path
        return ("SERVE_PROXY_ACTOR-head", self.ips[3], 30000)

    def write(self, apps, health=raycfg.HEALTHY, extra_defaults=()):
        """Every other config names weir-cp with the weir-cp-socket
        directive instead of WEIR_CP_SOCKET (see start)."""
        self.n += 1
        path = os.path.join(self.dir, "haproxy-%d.cfg" % self.n)
        with open(path, "w") as f:
            f.write(raycfg.render(apps, self.sock, self.errorfile, fallback=self.fallback(), health=health,
                                  extra_defaults=extra_defaults,
                                  cp_socket=self.cp.sock if self.n % 2 == 0 else None))
        return path

    def start(self, cfg):
        """Ray's _start_and_wait_for_haproxy: (new proc, old proc or None,
        seconds until show info answers with the new pid)."""
        args = [HAP, "-db", "-f", cfg, "-dR"]
        old = self.hap
        if old:
            args += ["-sf", str(old.pid), "-x", self.sock]
        t0 = time.time()
        with open(cfg) as f:
            env = dict(self.env) if "weir-cp-socket" not in f.read() else \
                {k: v for k, v in self.env.items() if k != "WEIR_CP_SOCKET"}
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = t0 + 5
        while time.time() < deadline:
            if p.poll() is not None:
                return p, old, None
            try:
                if parse_info(admin(self.sock, "show info")).get("Pid") == str(p.pid):
                    self.hap = p
                    return p, old, time.time() - t0
            except OSError:
                pass
            time.sleep(0.05)
        return p, old, None

    def get(self, path):
        req = "GET %s HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n" % path
        r = run([PY, CLIENT, "raw", self.tb.vip, "8000", req.encode().hex()], ns=self.tb.ns_cli)
        lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
        raw = bytes.fromhex(json.loads(lines[-1]).get("hex", "")) if lines else b""
        head, _, body = raw.partition(b"\r\n\r\n")
        return head.split(b"\r\n", 1)[0].decode(errors="replace"), body.decode(errors="replace")

    def poll_get(self, path, want, pred=None, timeout=3):
        """GET until the answer is want (or pred(answer)); the last one."""
        deadline = time.time() + timeout
        while True:
            got = self.get(path)
            if (pred(got) if pred else got == want) or time.time() > deadline:
                return got
            time.sleep(0.1)

    def stop(self):
        if self.hap and self.hap.poll() is None:
            self.hap.send_signal(signal.SIGUSR1)
            self.hap.wait(5)
        self.dp.stop()
        for p in self.procs:
            p.kill()
        self.tb.down()


class Load:
    """Keep-alive GETs for as long as the test needs them: overlapping
    8 s runs of http_client.py load at a constant rate (a new one every
    7 s, so traffic never drops below the rate however slow the machine
    makes the steps); stop() sums them."""
    CHUNK, EVERY = 8, 7

    def __init__(self, env, url, rate=200, threads=8):
        self.env, self.url, self.rate, self.threads = env, url, rate, threads
        self.t0 = time.time()
        self.procs, self.stopped = [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped.is_set():
            self.procs.append(subprocess.Popen(
                ["ip", "netns", "exec", self.env.tb.ns_cli, PY, CLIENT, "load", self.url, str(self.rate),
                 str(self.CHUNK), str(self.threads)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            self.stopped.wait(self.EVERY)

    def stop(self):
        self.stopped.set()
        self.thread.join()
        self.seconds = time.time() - self.t0
        counts, errors, self.rates = {}, [], []
        for p in self.procs:
            out, err = p.communicate(timeout=self.CHUNK + 60)
            lines = [l for l in out.splitlines() if l.startswith("{")]
            res = json.loads(lines[-1]) if lines else {"error": (out + err)[-300:]}
            if "counts" not in res:
                errors.append(res)
            else:  # the rate this run kept
                self.rates.append(sum(res["counts"].values()) / max(res.get("elapsed", 1e9), 1e-3))
            for k, v in res.get("counts", {}).items():
                counts[k] = counts.get(k, 0) + v
        return counts, errors


def expected(apps):
    """{backend: set(servers)} as the config says (fallback included)."""
    out = {}
    for a in apps:
        be = raycfg.backend_name(a)
        out[be] = {raycfg.safe_name(n) for n, _, _ in a["servers"]} | {"SERVE_PROXY_ACTOR-head"}
    return out


def wait_stat(env, apps, timeout=4):
    """Until show stat has exactly the config's backends and servers, all UP."""
    want = expected(apps)
    deadline = time.time() + timeout
    got = {}
    while time.time() < deadline:
        text = admin(env.sock, "show stat")
        st = parse_stat(text)
        got = {px: {sv: r["status"] for sv, r in rows.items() if sv != "BACKEND"}
               for px, rows in st.items() if px != "http_frontend"}
        try:  # HAProxy's documented format says the same
            doc = {}
            for r in hapstats.servers(hapstats.parse_stat(text)):
                doc.setdefault(r["pxname"], {})[r["svname"]] = r["status"]
        except ValueError as e:
            doc = str(e)
        if doc != got:
            return False, ("hapstats", doc, got)
        if ({px: set(s) for px, s in got.items()} == want and
                all(v == "UP" for s in got.values() for v in s.values())):
            return True, got
        time.sleep(0.1)
    return False, (want, got)


def sequence(env):
    """Ray's run of configs: (apps, health) per step."""
    A = lambda *idx: dict(name="app", prefix="/app", servers=[env.replica("app", i) for i in idx])
    B = lambda *idx: dict(name="app2", prefix="/app2", servers=[env.replica("app2", i) for i in idx])
    C = lambda *idx: dict(name="app3", prefix="/app/v2", servers=[env.replica("app3", i) for i in idx])
    H, D = raycfg.HEALTHY, raycfg.DRAINING
    return [([A(0)], H), ([A(0, 1)], H), ([A(0, 1, 2)], H), ([A(0, 1, 2), B(3)], H),
            ([A(1, 2), B(3)], H),
            ([A(), B(3)], H),                                  # app scaled to zero: the fallback serves it
            ([A(0), B(3)], H), ([A(0, 3), B(2)], H),
            ([A(0, 3)], H),                                    # app2 removed
            ([A(0, 1, 2, 3)], H), ([A(0, 1)], D), ([A(0, 1)], H),
            ([A(0, 1), C(2)], H),                              # app3 added, a longer prefix inside /app
            ([A(1), C(2, 3)], H), ([A(), C(2, 3)], H),         # scaled to zero again
            ([A(2), C(3)], H), ([A(0, 1, 2, 3), B(1), C(3)], H),
            ([A(0, 1, 2, 3), B(1)], H),                        # app3 removed
            ([A(0, 1)], H), ([A(0), B(3)], H)]


RAY_CHECK = {"path": "/-/healthz", "inter_ms": 5000, "fastinter_ms": 250, "downinter_ms": 250, "rise": 2,
             "fall": 2, "timeout_ms": 5000, "expect_status": 200}


def first_configs(t, env):
    """Ray's first config, before it has routes: nothing to push, weir-dp
    keeps answering "not populated"; then its config with no apps."""
    _, _, secs = env.start(env.write([], raycfg.NOT_POPULATED))
    gen = env.cp.info()["table"]["generation"]
    got = env.get("/-/healthz")
    t.ok(secs is not None and gen == 0 and got == ("HTTP/1.1 503 Service Unavailable", raycfg.NOT_POPULATED),
         "the first stand-in attaches to the running weir-cp; before routes nothing is pushed", (secs, gen, got))
    _, _, secs = env.start(env.write([]))
    live = secs is not None and env.cp.wait_live()
    rows = hapstats.parse_stat(admin(env.sock, "show stat"))
    app = env.poll_get("/app/x", None, lambda r: r[0].startswith("HTTP/1.1 404"))
    routes = env.poll_get("/-/routes", ("HTTP/1.1 200 OK", "{}"))
    t.ok(live and [r["kind"] for r in rows] == ["frontend"] and app[0].startswith("HTTP/1.1 404")
         and routes == ("HTTP/1.1 200 OK", "{}"),
         "the no-apps config: pushed, show stat has no backend, /app/x 404, /-/routes {}", (live, rows, app, routes))


def test_reload_sequence(t, env):
    steps = sequence(env)
    first_configs(t, env)
    # then the first routes, before the load (as HAProxy before any table)
    first, _, secs = env.start(env.write(*steps[0]))
    t.ok(secs is not None and env.cp.wait_live(), "the next config is live")
    _, tab = env.cp.api("GET", "/api/v1/table")
    hc = (((tab or {}).get("document") or {}).get("target_groups") or [{}])[0].get("health_check")
    t.ok(hc == RAY_CHECK, "Ray's check lines are the group's health_check in weir-cp's table", hc)
    load = Load(env, "http://%s:8000/app/x" % env.tb.vip)
    time.sleep(0.5)
    bad, took, drain = [], [], None
    for k, (apps, health) in enumerate(steps):
        p, old, secs = (first, None, secs) if k == 0 else env.start(env.write(apps, health))
        ok = secs is not None
        if old:
            try:
                ok &= old.wait(3) == 0
            except subprocess.TimeoutExpired:
                ok = False
        same, got = wait_stat(env, apps)
        if health == raycfg.DRAINING:
            want_r = ("HTTP/1.1 503 Service Unavailable", raycfg.DRAINING)
            want_h = want_r
            drain = env.cp.info().get("drain", {})
        else:
            want_r = ("HTTP/1.1 200 OK", json.dumps({a["prefix"]: a["name"] for a in raycfg._sorted(apps)},
                                                    separators=(",", ":")))
            want_h = ("HTTP/1.1 200 OK", "success")
        routes, health_got = env.poll_get("/-/routes", want_r), env.poll_get("/-/healthz", want_h)
        if not apps[0]["servers"]:  # scaled to zero: the head's proxy (replica 4) answers
            zero = env.poll_get("/app/x", None, lambda r: '"replica_id": "r4"' in r[1])
            ok &= '"replica_id": "r4"' in zero[1]
        if not (ok and same and routes == want_r and health_got == want_h):
            bad.append((k, ok, secs, got, routes, health_got, p.poll() is not None and p.stderr.read()[-300:]))
        took.append(secs or 0)
    t.ok(not bad, "%d successive configs (weir-cp named by WEIR_CP_SOCKET or weir-cp-socket): old stand-in "
         "gone, show stat = config (all UP), /-/routes and /-/healthz as the config says, "
         "the fallback serves the app scaled to zero" % len(steps), bad[:2])
    t.ok(drain and drain.get("on") and drain.get("grace_ms") == 120000 and not drain.get("refusing"),
         "Ray's drain is weir-cp's drain with hard-stop-after (120 s) as its grace: still accepting", drain)
    # Ray gives a new haproxy 5 s to answer show info
    t.ok(max(took) < 5.0, "each stand-in answered show info within %.2f s (max)" % max(took), took)
    return steps[-1][0], (load, len(steps))


def check_load(t, env, handle):
    """The load that ran through the configs (and the admin commands)."""
    load, n = handle
    counts, errors = load.stop()
    failed = sum(v for k, v in counts.items() if k != "200")
    resets = sum(v for k, v in counts.items() if k in ("ConnectionResetError", "RemoteDisconnected",
                                                        "BrokenPipeError", "ConnectionAbortedError"))
    total = sum(counts.values())
    low = min(load.rates or [0])
    t.ok(not errors and failed == 0 and resets == 0 and low >= 0.85 * load.rate,
         "keep-alive load at %d req/s (every run kept >= %.0f req/s) through all %d configs, the admin commands "
         "and held requests: %d requests over %.1f s, %d failed, %d reset (%s)"
         % (load.rate, low, n, total, load.seconds, failed, resets, counts), (counts, errors, load.rates))
    t.ok(env.dp.alive() and env.dp.proc.pid == env.dp_pid, "weir-dp never restarted")


def test_admin(t, env, apps):
    info = parse_info(admin(env.sock, "show info"))
    t.ok(info.get("Name") == "HAProxy" and info.get("Version", "").startswith("2.8")
         and info.get("Pid") == str(env.hap.pid) and int(info.get("Uptime_sec", "-1")) >= 0
         and info.get("Weir_cp") == "up", "show info: Name, Version, Pid, Uptime, weir-cp up", info)
    text = admin(env.sock, "show servers state")
    lines = text.splitlines()
    rows = [l.split() for l in lines[2:] if l.strip()]
    hdr = lines[1].split()[1:] if len(lines) > 1 else []
    ok = lines[0] == "1" and hdr[:7] == ["be_id", "be_name", "srv_id", "srv_name", "srv_addr",
                                           "srv_op_state", "srv_admin_state"]
    by = {(r[1], r[3]): dict(zip(hdr, r)) for r in rows if len(r) == len(hdr)}
    srv = raycfg.safe_name(apps[0]["servers"][0][0])
    ok &= len(by) == len(rows) == sum(len(s) for s in expected(apps).values())
    ok &= by.get(("http-app", srv), {}).get("srv_addr") == env.ips[0]
    ok &= by.get(("http-app", srv), {}).get("srv_op_state") == "2"
    t.ok(ok, "show servers state: version 1, its header, one row per server with address and state", text[:600])

    def status(sv, want, timeout=3):
        # the workers take a server state with the next table and export
        # their stats every 200 ms: poll, as Ray does
        deadline = time.time() + timeout
        while True:
            got = parse_stat(admin(env.sock, "show stat")).get("http-app", {}).get(sv, {}).get("status")
            if got == want or time.time() > deadline:
                return got
            time.sleep(0.1)

    r = admin(env.sock, "set server http-app/%s state drain" % srv)
    t.ok(r.strip() == "" and status(srv, "DRAIN") == "DRAIN", "set server ... state drain: DRAIN in show stat", r)
    st = admin(env.sock, "show servers state http-app")
    row = ([l.split() for l in st.splitlines() if srv in l] or [[]])[0]
    t.ok(row[5:7] == ["2", "8"], "show servers state: op state 2, admin state 8 (drain)", st)
    admin(env.sock, "set server http-app/%s state ready" % srv)
    t.ok(status(srv, "UP") == "UP", "set server ... state ready: UP again")
    r = admin(env.sock, "disable server http-app/%s" % srv)
    t.ok(status(srv, "MAINT") == "MAINT", "disable server: MAINT", r)
    admin(env.sock, "enable server http-app/%s" % srv)
    t.ok(status(srv, "UP") == "UP", "enable server: UP")
    r = admin(env.sock, "set server http-app/nope state drain")
    t.ok("No such server." in r, "set server on an unknown server: No such server.", r)
    r = admin(env.sock, "set server http-app/%s state sleepy" % srv)
    t.ok("expects 'ready', 'drain' and 'maint'" in r, "set server with a bad state is refused", r)
    r = admin(env.sock, "show info;show stat")
    t.ok(r.startswith("Name: HAProxy") and "# pxname,svname," in r, "';'-separated commands: both answered")
    r = admin(env.sock, "frobnicate")
    t.ok(r.startswith("Unknown command: 'frobnicate'") and "show stat" in r, "unknown command: HAProxy's answer",
         r[:200])
    r = admin(env.sock, b"prompt\nshow info\nhelp\nquit\n")
    t.ok(r.startswith("\n> ") and "Name: HAProxy" in r and r.count("> ") >= 3, "prompt mode: prompts, answers, quit",
         r[:300])


def test_malformed(t, env):
    cases = [b"A" * 10000 + b"\n", b"show\x00info\n", b"\xff\xfe garbage\n", b"set server\n",
             b"set server x state drain\n", b"show servers state nope\n", b";;;\n", b"show stat typed json\n",
             b"\n", b"set server /x state drain\n", b"set server a/b weight 9999\n"]
    answers = []
    for c in cases:
        try:
            answers.append(admin(env.sock, c))
        except OSError as e:
            answers.append("error %s" % e)
    ok = all(not a.startswith("error") for a in answers)
    # a client that connects and says nothing does not block the others
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    idle.connect(env.sock)
    ok &= parse_info(admin(env.sock, "show info")).get("Pid") == str(env.hap.pid)
    idle.close()
    t.ok(ok and env.hap.poll() is None, "%d malformed inputs answered; an idle client blocks nobody; still alive"
         % len(cases), answers)
    t.ok("Command line too long" in answers[0] and "Can't find backend." in answers[5]
         and "no arguments" in answers[7]
         and "Require 'backend/server'" in answers[4], "malformed input gets HAProxy's errors", answers[:6])


def stat_rows(env):
    return hapstats.parse_stat(admin(env.sock, "show stat"))


def client(env, *args):
    """http_client.py ARGS in the client namespace, in the background."""
    return subprocess.Popen(["ip", "netns", "exec", env.tb.ns_cli, PY, CLIENT] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result(p, timeout):
    out, err = p.communicate(timeout=timeout)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": (out + err)[-300:]}


def poll_rows(env, pred, timeout):
    """show stat (parsed from HAProxy's format) every 100 ms until
    pred(rows); (seconds it took or None, the last rows)."""
    t0 = time.time()
    while True:
        rows = stat_rows(env)
        if pred(rows):
            return time.time() - t0, rows
        if time.time() - t0 > timeout:
            return None, rows
        time.sleep(0.1)


def test_held(t, env, apps, n=5, ms=8000):
    """Ray reads pxname svname status scur qcur: with n requests held open
    on http-app2 (its replica sleeps) while the load runs on http-app, the
    server rows' scur sums to n, the BACKEND row says n, qcur is 0."""
    vip = "http://%s:8000" % env.tb.vip
    held = [client(env, "get", vip + "/app2/sleep?ms=%d" % ms) for _ in range(n)]
    app2 = lambda rows: hapstats.sum_field(hapstats.servers(rows, "http-app2"), "scur")
    secs, rows = poll_rows(env, lambda r: app2(r) == n, 5)
    samples = []
    for _ in range(10 if secs is not None else 0):  # 1 s of it: steady at n
        rows = stat_rows(env)
        be = [r for r in rows if r["pxname"] == "http-app2" and r["kind"] == "backend"]
        samples.append((app2(rows), hapstats.sum_field(be, "scur"), hapstats.sum_field(rows, "qcur")))
        time.sleep(0.1)
    info = hapstats.parse_info(admin(env.sock, "show info"))
    state = hapstats.parse_servers_state(admin(env.sock, "show servers state"))
    t.ok(secs is not None and samples and all(x == (n, n, 0) for x in samples),
         "%d requests held open on http-app2 under load: its servers' scur sums to %d within %.1f s (the 200 ms "
         "stats export), its BACKEND scur is %d, qcur 0 on every row, for %d polls"
         % (n, n, secs or -1, n, len(samples)), (secs, samples, [(r["pxname"], r["svname"], r["scur"]) for r in rows]))
    want = {(be, sv) for be, svs in expected(apps).items() for sv in svs}
    t.ok(int(info["CurrConns"]) >= n and {(r["be_name"], r["srv_name"]) for r in state} == want
         and all(r["srv_op_state"] == "2" for r in state),
         "show info (CurrConns %s >= %d) and show servers state (one running server per config server) parse "
         "as HAProxy documents them" % (info["CurrConns"], n), (info, state))
    res = [result(p, ms / 1000.0 + 30) for p in held]
    secs, rows = poll_rows(env, lambda r: app2(r) == 0, 3)
    t.ok(all(r.get("status") == 200 for r in res) and secs is not None,
         "the held requests are answered 200, and scur is back to 0 after them", (res, secs))


def drain_poll(env, stream):
    """Ray's drain poll: show stat every 100 ms, Σscur+Σqcur over the
    server rows and over the BACKEND rows, until the stream is done and
    the sum is 0 (or 5 s after). [(time_ns, servers' sum, backends' sum)]."""
    samples, ended = [], None
    while True:
        now = time.time_ns()
        rows = stat_rows(env)
        sv = hapstats.servers(rows)
        be = [r for r in rows if r["kind"] == "backend"]
        total = (hapstats.sum_field(sv, "scur") + hapstats.sum_field(sv, "qcur"),
                 hapstats.sum_field(be, "scur") + hapstats.sum_field(be, "qcur"))
        samples.append((now,) + total)
        if ended is None and stream.poll() is not None:
            ended = time.time()
        if ended is not None and (total == (0, 0) or time.time() - ended > 5):
            return samples, rows
        time.sleep(0.1)


def test_drain_stream(t, env):
    """Ray's drain: every server of the node set to drain over the admin
    socket, then show stat polled until Σscur+Σqcur = 0. A 10 s stream
    (11 events, 1 s apart) in flight keeps the sum above 0 until it ends."""
    stream = client(env, "sse", "http://%s:8000/app/stream?n=11&ms=1000" % env.tb.vip)
    secs, rows = poll_rows(env, lambda r: hapstats.sum_field(hapstats.servers(r), "scur") >= 1, 5)
    targets = [(r["pxname"], r["svname"]) for r in hapstats.servers(rows)]
    answers = [admin(env.sock, "set server %s/%s state drain" % x).strip() for x in targets]
    samples, rows = drain_poll(env, stream)
    res = result(stream, 30)
    ev = res.get("events") or [[0, 0, 0]]
    last = ev[-1][2]  # the last event's arrival: the stream's end
    during = [x for x in samples if x[0] < last]
    after = [x for x in samples if x[0] >= last and x[1:] == (0, 0)]
    zero = (after[0][0] - last) / 1e9 if after else None
    t.ok(secs is not None and not any(answers) and targets and
         all(r["status"] == "DRAIN" for r in hapstats.servers(rows)),
         "set server ... state drain on all %d servers of the node: DRAIN in show stat" % len(targets),
         (secs, answers, [(r["svname"], r["status"]) for r in hapstats.servers(rows)]))
    t.ok(len(during) >= 30 and all(x[1] > 0 and x[2] > 0 for x in during),
         "Ray's drain poll: Σscur+Σqcur > 0 (servers' and backends' rows) in all %d polls while the stream was "
         "in flight" % len(during), [x for x in during if not (x[1] > 0 and x[2] > 0)][:5] or len(during))
    t.ok(zero is not None and zero <= 1.5, "... and 0 %.2f s after its end" % (zero if zero is not None else -1),
         samples[-5:])
    t.ok(res.get("done") and [e[0] for e in ev] == list(range(11)) and ev[-1][2] - ev[0][2] >= 9.5e9,
         "the stream completed intact: 11 events in order over %.1f s, then its last chunk"
         % ((ev[-1][2] - ev[0][2]) / 1e9), res)
    for x in targets:  # what Ray would do next is stop the node; the next tests want them back
        admin(env.sock, "set server %s/%s state ready" % x)


def test_router(t, env):
    """A router-bearing app: its router (from Ray's Lua file) and the
    replicas' actor names reach weir-cp's table."""
    app = dict(name="llm", prefix="/llm", servers=[env.replica("llm", 0), env.replica("llm", 1)],
               routers=[raycfg.replica("llm", "Router", "q1", env.ips[2], 30000)])
    lua = os.path.join(env.dir, "ingress_request_router.lua")
    with open(lua, "w") as f:
        f.write(raycfg.render_lua([app]))
    env.n += 1
    cfg = os.path.join(env.dir, "haproxy-%d.cfg" % env.n)
    with open(cfg, "w") as f:
        f.write(raycfg.render([app], env.sock, env.errorfile, fallback=env.fallback(), lua=lua))
    p, old, secs = env.start(cfg)
    _, tab = env.cp.api("GET", "/api/v1/table")
    g = ((tab or {}).get("document") or {}).get("target_groups", [{}])[0]
    routers = g.get("ingress_request_router_targets", [])
    t.ok(secs is not None and routers and routers[0].get("ip") == env.ips[2]
         and [x.get("replica_id") for x in g.get("targets", [])] == [n for n, _, _ in app["servers"]],
         "router config: the router and the replicas' actor names (replica ids) are in weir-cp's table",
         (secs, g))
    return [app]


def test_grpc_and_orphan(t, env):
    """A gRPC app beside its HTTP app reaches weir-cp's table and show
    stat; and a stand-in started without -sf (Ray's actor restarted, say)
    takes the socket, after which the old one exits by itself."""
    http = dict(name="app", prefix="/app", servers=[env.replica("app", 0)])
    grpc = dict(name="app", prefix="/app", protocol="gRPC", servers=[env.replica("app", 1)])
    env.n += 1
    cfg = os.path.join(env.dir, "haproxy-%d.cfg" % env.n)
    with open(cfg, "w") as f:
        f.write(raycfg.render([http, grpc], env.sock, env.errorfile, fallback=env.fallback(),
                              grpc_fallback=env.fallback()))
    old = env.hap
    env.hap = None  # no -sf: an orphan in the making
    p, _, secs = env.start(cfg)
    _, tab = env.cp.api("GET", "/api/v1/table")
    groups = ((tab or {}).get("document") or {}).get("target_groups", [])
    # the workers export their stats every 200 ms: the new backend's rows
    # may come a moment after the table (as for Ray's polls)
    poll_rows(env, lambda rows: any(r["pxname"] == "grpc-app" for r in rows), 3)
    st = parse_stat(admin(env.sock, "show stat"))
    t.ok(secs is not None and [g.get("protocol") for g in groups] == ["HTTP", "gRPC"]
         and set(st.get("grpc-app", {})) == {"BACKEND", raycfg.safe_name(grpc["servers"][0][0]),
                                             "SERVE_PROXY_ACTOR-head"},
         "a gRPC app: its group is in weir-cp's table and its backend in show stat", (groups, list(st)))
    try:
        rc = old.wait(3)
    except subprocess.TimeoutExpired:
        rc = None
    t.ok(rc == 0, "the stand-in whose socket was taken over without -sf exits by itself (%s)" % rc)
    return [http]


def test_bad_config(t, env, apps):
    good = env.write(apps)
    with open(good) as f:
        text = f.read()
    bad = os.path.join(env.dir, "bad.cfg")
    with open(bad, "w") as f:
        f.write(text.replace("    balance leastconn", "    balance source"))
    line = text.split("\n").index("    balance leastconn") + 1
    r = run([HAP, "-c", "-f", bad])
    t.ok(r.returncode != 0 and ("bad.cfg:%d]" % line) in r.stderr, "-c refuses a bad config naming line %d" % line,
         r.stderr)
    r = run([HAP, "-c", "-f", good])
    t.ok(r.returncode == 0 and "Configuration file is valid" in r.stdout, "-c accepts a good one", r.stderr)
    gen = env.cp.info()["table"]["generation"]
    old = env.hap
    p, _, secs = env.start(bad)
    env.hap = old
    t.ok(p.wait(5) == 1 and secs is None and old.poll() is None and
         parse_info(admin(env.sock, "show info")).get("Pid") == str(old.pid)
         and env.cp.info()["table"]["generation"] == gen,
         "-db with a bad config exits 1, pushes nothing; the running stand-in keeps the socket")
    r = run([HAP, "-vv"])
    t.ok(r.returncode == 0 and r.stdout.startswith("HAProxy version 2.8") and "Weir" in r.stdout,
         "-vv: a version line Ray's check accepts, saying it is Weir's", r.stdout)
    old.send_signal(signal.SIGUSR1)
    t.ok(old.wait(5) == 0 and not os.path.exists(env.sock), "SIGUSR1 (-sf): exits 0 and removes its socket")
    env.hap = None
    # Ray restarted (no routes yet) on a weir-cp that has a table: the
    # empty table goes in, never the last session's replicas
    gen = env.cp.info()["table"]["generation"]
    _, _, secs = env.start(env.write([], raycfg.NOT_POPULATED))
    t.ok(secs is not None and env.cp.info()["table"]["generation"] > gen
         and env.poll_get("/app/x", None, lambda r: r[0].startswith("HTTP/1.1 404"))[0].startswith("HTTP/1.1 404"),
         "a new Ray session's first config replaces the old table with no apps")


def main():
    t = Tap()
    t0 = time.time()
    env = Env()
    try:
        apps, load = test_reload_sequence(t, env)
        test_admin(t, env, apps)
        test_malformed(t, env)
        test_held(t, env, apps)
        check_load(t, env, load)
        test_drain_stream(t, env)
        test_router(t, env)
        test_bad_config(t, env, test_grpc_and_orphan(t, env))
    finally:
        env.stop()
    print("# %.1f s" % (time.time() - t0))
    t.done()


if __name__ == "__main__":
    main()
