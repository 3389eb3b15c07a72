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


class WeirDP:
    """One weir-dp process in the testbed's LB namespace."""

    def __init__(self, tb, workers=2, driver="af_xdp", extra=None, prefix=None):
        self.tb = tb
        self.prefix = prefix or ("w" + tb.name)
        cfg = {"port": {"iface": tb.lb_if, "driver": driver},
               "vips": [tb.vip], "local_ip": tb.local_ip,
               "prefix_len": int(tb.prefix), "workers": workers}
        for k, v in (extra or {}).items():
            cfg[k] = v
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
        """SIGTERM, then wait; returns the exit status (None if killed)."""
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
