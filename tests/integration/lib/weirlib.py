"""Shared plumbing for Weir's integration tests: TAP output, the namespace
testbed, a weir-dp instance, and its telemetry. Tests read like a user's
session: bring up the testbed, start weir-dp, act as a client, check what the
client saw and what weir-dp counted. Everything started here is stopped on
exit, also when a test fails or is interrupted."""
import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BUILD = os.path.abspath(os.environ.get("WEIR_BUILD", os.path.join(ROOT, "build")))
TESTBED = os.path.join(ROOT, "tools", "testbed", "testbed.sh")
PY = "/usr/bin/python3"


class Tap:
    """TAP lines: 'ok N - name' / 'not ok N - name', then the plan and a
    '# N passed, M failed' summary; exit status 1 if anything failed."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.n += 1
        if not cond:
            self.failed += 1
        print(("ok" if cond else "not ok") + " %d - %s" % (self.n, name), flush=True)
        if not cond and diag is not None:
            for line in str(diag).splitlines()[-15:]:
                print("#   " + line, flush=True)
        return cond

    def done(self):
        print("1..%d" % self.n)
        print("# %d passed, %d failed" % (self.n - self.failed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def run(cmd, timeout=60, check=False, ns=None, **kw):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r


class Testbed:
    """tools/testbed/testbed.sh up/down with a name of our own."""

    def __init__(self, name, replicas=2, impair=None):
        # WEIR_TB_SUFFIX lets two checkouts run the same test at once.
        self.name = name + os.environ.get("WEIR_TB_SUFFIX", "")
        env = dict(os.environ, WEIR_BUILD=BUILD)
        if impair:
            env["WEIR_IMPAIR"] = impair
        self.env = env
        out = run(["bash", TESTBED, "up", self.name, str(replicas)], env=env, check=True).stdout
        self.vars = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
        self.vars = {k: v.strip('"') for k, v in self.vars.items()}
        atexit.register(self.down)

    def __getattr__(self, k):
        try:
            return self.vars[k.upper()]
        except KeyError:
            raise AttributeError(k)

    def down(self):
        run(["bash", TESTBED, "down", self.name], env=self.env)


def api(sock, method, path, body=None, timeout=10):
    """One HTTP request to weir-cp's API over its Unix socket: (status,
    parsed JSON or None)."""
    import http.client

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(sock)
    c = Conn("weir")
    try:
        c.request(method, path, body=body)
        r = c.getresponse()
        data = r.read()
    finally:
        c.close()
    return r.status, json.loads(data) if data else None


class WeirCP:
    """weir-cp run for one weir-dp (by its --file-prefix), in the root
    namespace (it only needs /dev/shm): its API socket and state file live
    in dir."""

    def __init__(self, prefix, dir, target_groups=None, balance=None, mgmt=None,
                 access_log=None, extra_args=()):
        self.prefix, self.dir = prefix, dir
        self.sock = os.path.join(dir, "cp.sock")
        self.log_path = os.path.join(dir, "weir-cp.log")
        self.args = [os.path.join(BUILD, "controlplane", "weir-cp"), "run", "--dp", prefix,
                     "--api", self.sock, "--state-dir", dir]
        if target_groups:
            self.args += ["--target-groups", target_groups]
        if balance:
            self.args += ["--balance", balance]
        if mgmt:
            self.args += ["--mgmt", mgmt]
        if access_log:
            self.args += ["--access-log", access_log]
        self.args += list(extra_args)
        self.proc = None
        self.start()
        atexit.register(self.stop)

    def start(self, timeout=15):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("weir-cp exited %s:\n%s" % (self.proc.returncode, self.output()))
            try:
                if self.info()["dataplane"]["attached"]:
                    return
            except (OSError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.05)
        raise RuntimeError("weir-cp not attached in %ds:\n%s" % (timeout, self.output()))

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def api(self, method, path, body=None, timeout=10):
        return api(self.sock, method, path, body, timeout)

    def info(self):
        return self.api("GET", "/api/v1/info")[1]

    def push(self, doc, wait_ms=5000, path="/api/v1/target_groups"):
        """PUT a table (a dict or JSON text); returns (status, reply)."""
        body = doc if isinstance(doc, (str, bytes)) else json.dumps(doc)
        return self.api("PUT", "%s?wait=%d" % (path, wait_ms), body)

    def wait_live(self, gen=None, timeout=10):
        """Until every worker holds the published table (or gen)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            t = self.info()["table"]
            if t["generation"] and t["live"] and (gen is None or t["generation"] >= gen):
                return t["generation"]
            time.sleep(0.02)
        raise RuntimeError("table not live in %ds: %s" % (timeout, self.info()))

    def kill(self):
        """SIGKILL, as an operator's mistake or the OOM killer would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self.log.closed:
            self.log.close()
        return self.proc.returncode if self.proc else None


class WeirDP:
    """One weir-dp process in the testbed's LB namespace. With an "http"
    section it also starts weir-cp for it (self.cp): tables come from
    weir-cp, so the config's "target_groups" (a file) and "balance" go to
    weir-cp run, and start-up waits until that first table is live."""

    def __init__(self, tb, workers=2, driver="af_xdp", extra=None, prefix=None,
                 cp=True, cp_mgmt=None, cp_access_log=None):
        self.tb = tb
        self.prefix = prefix or ("w" + tb.name)
        cfg = {"port": {"iface": tb.lb_if, "driver": driver},
               "vips": [tb.vip], "local_ip": tb.local_ip,
               "prefix_len": int(tb.prefix), "workers": workers}
        for k, v in (extra or {}).items():
            cfg[k] = v
        cp_args = {}
        if "http" in cfg and cp:
            cfg["http"] = dict(cfg["http"])
            cp_args = {"target_groups": cfg["http"].pop("target_groups", None),
                       "balance": cfg["http"].pop("balance", None), "mgmt": cp_mgmt,
                       "access_log": cp_access_log}
        self.cp = None
        self.dir = tempfile.mkdtemp(prefix="weir-dp-")
        self.cfg_path = os.path.join(self.dir, "weir.json")
        with open(self.cfg_path, "w") as f:
            json.dump(cfg, f)
        self.log_path = os.path.join(self.dir, "weir-dp.log")
        self.log = open(self.log_path, "w")
        cmd = ["ip", "netns", "exec", tb.ns_lb, os.path.join(BUILD, "weir-dp"),
               "--file-prefix=" + self.prefix, "--", "--config", self.cfg_path]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        self._wait_ready()
        if cp_args:
            self.cp = WeirCP(self.prefix, self.dir, **cp_args)
            if cp_args["target_groups"]:
                self.cp.wait_live()

    def _wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = self.output()
            if "weir-dp: ready" in text:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("weir-dp exited %s:\n%s" % (self.proc.returncode, text))
            time.sleep(0.1)
        raise RuntimeError("weir-dp not ready in %ds:\n%s" % (timeout, self.output()))

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def mac(self):
        for line in self.output().splitlines():
            if line.startswith("weir-dp: mac "):
                return line.split()[-1].lower()
        raise RuntimeError("no mac line")

    def telemetry(self, cmd):
        path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % self.prefix
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(5)
        try:
            s.connect(path)
            s.recv(4096)
            s.send(cmd.encode())
            return json.loads(s.recv(1 << 20).decode())[cmd.split(",")[0]]
        finally:
            s.close()

    def stats(self):
        return self.telemetry("/weir/stats")

    def stop(self, timeout=15):
        """SIGTERM, then wait; returns the exit status (None if killed).
        weir-cp goes first."""
        if self.cp:
            self.cp.stop()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        self.log.close()
        self.rundir_left = os.path.exists("/var/run/dpdk/" + self.prefix)
        shutil.rmtree("/var/run/dpdk/" + self.prefix, ignore_errors=True)
        return self.proc.returncode


def delta(after, before):
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


# ---- replicas, clients and metrics in the testbed --------------------------

CLIENT = os.path.join(ROOT, "tests", "integration", "lib", "http_client.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")


def wait_replica(tb, ip, port=30000, timeout=20):
    """Until the replica at ip:port answers /-/healthz (from the client
    namespace)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        r = run(["curl", "-s", "-m", "1", "http://%s:%d/-/healthz" % (ip, port)], ns=tb.ns_cli)
        if r.stdout == "success":
            return
        time.sleep(0.2)
    raise RuntimeError("replica %s did not start" % ip)


def start_replicas(tb, route_prefix="/", port=30000):
    """One tools/replica/replica.py per backend address of tb (ids r1,
    r2, ...), ready when this returns; killed at exit."""
    procs = [subprocess.Popen(
        ["ip", "netns", "exec", tb.ns_be, PY, REPLICA, "--id", "r%d" % (i + 1), "--host", ip,
         "--port", str(port), "--route-prefix", route_prefix],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i, ip in enumerate(tb.be_ips.split())]
    atexit.register(lambda: [p.kill() for p in procs])
    for ip in tb.be_ips.split():
        wait_replica(tb, ip, port)
    return procs


def client_bg(tb, *args, t=None):
    """http_client.py ARGS in the client namespace, in the background (t:
    its socket timeout, s)."""
    env = dict(os.environ, WEIR_CLIENT_T=str(t)) if t else None
    return subprocess.Popen(["ip", "netns", "exec", tb.ns_cli, PY, CLIENT, *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def client_result(p, timeout=120):
    """The JSON line a client_bg process printed (or {"error": ...})."""
    out, err = p.communicate(timeout=timeout)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": (out + err)[-800:]}


def client(tb, *args, timeout=120, t=None):
    """http_client.py ARGS in the client namespace: its JSON line."""
    return client_result(client_bg(tb, *args, t=t), timeout)


def cp_metrics(sock):
    """GET /metrics over weir-cp's API socket, parsed by Prometheus' own
    text parser: {(name, frozenset(labels)): value}."""
    from prometheus_client.parser import text_string_to_metric_families
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sock)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: weir\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    out = {}
    for fam in text_string_to_metric_families(data.split(b"\r\n\r\n", 1)[1].decode()):
        for smp in fam.samples:
            out[(smp.name, frozenset(smp.labels.items()))] = smp.value
    return out


def mval(m, name, **labels):
    """The sum of the samples of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, lab), v in m.items() if n == name and want <= lab)


def run_suite(make_env, tests, setup=None):
    """A test file's main: the Env, setup(env), each test(t, env) in turn,
    weir-dp still alive at the end; the Env is stopped whatever happens,
    and the TAP summary is the last line."""
    t = Tap()
    env = make_env()
    try:
        if setup:
            setup(env)
        for test in tests:
            test(t, env)
        t.ok(env.dp.alive(), "weir-dp is still running")
    finally:
        env.stop()
    t.done()


class Env:
    """What a test file's Env shares: the testbed, replicas (procs),
    weir-dp (dp) and weir-cp (cp) it started, stopped in that order's
    reverse; and the state of a backend's servers as weir-cp sums them."""

    cp = None

    def stop(self):
        if self.cp:
            self.cp.stop()
        self.dp.stop()
        for p in self.procs:
            p.kill()
        self.tb.down()

    def status(self, backend="http-app"):
        """{replica_id: status} of backend's servers."""
        st, j = self.cp.api("GET", "/api/v1/stats")
        return {s.get("replica_id"): s["status"] for b in j["backends"] if b["pxname"] == backend
                for s in b["servers"]}

    def wait_status(self, rid, want, timeout=10):
        """Until server rid is want; the time it was, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.status().get(rid) == want:
                return time.time()
            time.sleep(0.02)
        return None
