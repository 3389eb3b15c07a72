"""weir-haproxy (#15) driven as Ray Serve drives haproxy: one weir-dp and
one weir-cp that are never restarted, and a run of Ray-shaped configs
(tests/integration/lib/raycfg.py), each started as
`weir-haproxy -db -f new.cfg -dR -sf OLD_PID -x admin.sock` with its
stdout/stderr on pipes nobody reads (as Ray does). Checks:

  - 12 successive configs (replicas added and removed, an app added and
    removed, scaled to zero and back, a drained node) under keep-alive
    load: no failed request; after each, the old stand-in has exited, the
    admin socket answers with the new pid, `show stat` parsed as Ray parses
    it (csv.DictReader) has exactly the config's backends and servers, all
    UP, and /-/routes and /-/healthz say what the config says;
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
             "--host", ip, "--port", "30000", "--route-prefix", "/"],
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
    8 s runs of http_client.py load (a new one every 7 s, so traffic never
    pauses however slow the machine makes the steps); stop() sums them."""
    CHUNK, EVERY = 8, 7

    def __init__(self, env, url, rate=80, threads=4):
        self.env, self.url, self.rate, self.threads = env, url, rate, threads
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
        counts, errors = {}, []
        for p in self.procs:
            out, err = p.communicate(timeout=self.CHUNK + 60)
            lines = [l for l in out.splitlines() if l.startswith("{")]
            res = json.loads(lines[-1]) if lines else {"error": (out + err)[-300:]}
            if "counts" not in res:
                errors.append(res)
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
        st = parse_stat(admin(env.sock, "show stat"))
        got = {px: {sv: r["status"] for sv, r in rows.items() if sv != "BACKEND"}
               for px, rows in st.items() if px != "http_frontend"}
        if ({px: set(s) for px, s in got.items()} == want and
                all(v == "UP" for s in got.values() for v in s.values())):
            return True, got
        time.sleep(0.1)
    return False, (want, got)


def sequence(env):
    """Ray's run of configs: (apps, health) per step."""
    A = lambda *idx: dict(name="app", prefix="/app", servers=[env.replica("app", i) for i in idx])
    B = lambda *idx: dict(name="app2", prefix="/app2", servers=[env.replica("app2", i) for i in idx])
    return [([A(0)], raycfg.HEALTHY), ([A(0, 1)], raycfg.HEALTHY), ([A(0, 1, 2)], raycfg.HEALTHY),
            ([A(0, 1, 2), B(3)], raycfg.HEALTHY), ([A(1, 2), B(3)], raycfg.HEALTHY),
            ([A(), B(3)], raycfg.HEALTHY),                      # app scaled to zero: the fallback serves it
            ([A(0), B(3)], raycfg.HEALTHY), ([A(0, 3), B(2)], raycfg.HEALTHY),
            ([A(0, 3)], raycfg.HEALTHY),                        # app2 removed
            ([A(0, 1, 2, 3)], raycfg.HEALTHY), ([A(0, 1)], raycfg.DRAINING),
            ([A(0, 1)], raycfg.HEALTHY)]


def test_reload_sequence(t, env):
    steps = sequence(env)
    # Ray's first config, before it has routes: nothing to push, weir-dp
    # keeps answering "not populated"
    _, _, secs = env.start(env.write([], raycfg.NOT_POPULATED))
    gen = env.cp.info()["table"]["generation"]
    got = env.get("/-/healthz")
    t.ok(secs is not None and gen == 0 and got == ("HTTP/1.1 503 Service Unavailable", raycfg.NOT_POPULATED),
         "the first stand-in attaches to the running weir-cp; before routes nothing is pushed", (secs, gen, got))
    # then the first routes, before the load (as HAProxy before any table)
    first, _, secs = env.start(env.write(*steps[0]))
    t.ok(secs is not None and env.cp.wait_live(), "the next config is live")
    load = Load(env, "http://%s:8000/app/x" % env.tb.vip)
    time.sleep(0.5)
    bad, took = [], []
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
        else:
            want_r = ("HTTP/1.1 200 OK", json.dumps({a["prefix"]: a["name"] for a in raycfg._sorted(apps)},
                                                    separators=(",", ":")))
            want_h = ("HTTP/1.1 200 OK", "success")
        routes, health_got = env.poll_get("/-/routes", want_r), env.poll_get("/-/healthz", want_h)
        if k == 5:  # scaled to zero: the head's proxy (replica 4) answers
            zero = env.poll_get("/app/x", None, lambda r: '"replica_id": "r4"' in r[1])
            ok &= '"replica_id": "r4"' in zero[1]
        if not (ok and same and routes == want_r and health_got == want_h):
            bad.append((k, ok, secs, got, routes, health_got, p.poll() is not None and p.stderr.read()[-300:]))
        took.append(secs or 0)
    t.ok(not bad, "%d successive configs (weir-cp named by WEIR_CP_SOCKET or weir-cp-socket): old stand-in "
         "gone, show stat = config (all UP), /-/routes and /-/healthz as the config says, "
         "the fallback serves the app scaled to zero" % len(steps), bad[:2])
    # Ray gives a new haproxy 5 s to answer show info
    t.ok(max(took) < 5.0, "each stand-in answered show info within %.2f s (max)" % max(took), took)
    return steps[-1][0], (load, len(steps))


def check_load(t, env, handle):
    """The load that ran through the configs (and the admin commands)."""
    load, n = handle
    counts, errors = load.stop()
    t.ok(not errors and set(counts) == {"200"} and counts.get("200", 0) > 300,
         "keep-alive load through all %d configs and the admin commands: every request 200 (%s)" % (n, counts),
         (counts, errors))
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
        check_load(t, env, load)
        test_router(t, env)
        test_bad_config(t, env, test_grpc_and_orphan(t, env))
    finally:
        env.stop()
    print("# %.1f s" % (time.time() - t0))
    t.done()


if __name__ == "__main__":
    main()
