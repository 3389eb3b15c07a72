"""The measured node drain (#14 point 3) through a real weir-dp with two
workers: with a 60 s event stream in flight, `weirctl drain on --grace-ms
2000`:

  - /-/healthz answers 503 "This node is being drained." at once;
  - a new request's answer says Connection: close;
  - after the grace new connections are refused and an idle keep-alive
    connection is let go;
  - the stream completes intact (every event, in order);
  - weir-cp reports drained only after the stream ended (never before),
    and within 1 s of it; `weirctl show info` says so;
  - drain off: new connections are taken again."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
import weirlib  # noqa: E402
from weirlib import (BUILD, PY, Testbed, WeirDP, client, client_bg, run, run_suite,  # noqa: E402
                     start_replicas)

CTL = os.path.join(BUILD, "tools", "weirctl", "weirctl")
STREAM_S = int(os.environ.get("WEIR_DRAIN_STREAM_S", "60"))
DRAINED = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
           b"Content-Length: 27\r\nConnection: close\r\n\r\nThis node is being drained.")


class Env(weirlib.Env):
    def __init__(self):
        sfx = os.environ.get("WEIR_TB_SUFFIX", "")
        self.tb = Testbed("wdrain", replicas=2)
        self.ips = self.tb.be_ips.split()
        self.procs = start_replicas(self.tb, route_prefix="/app")
        self.dp = WeirDP(self.tb, workers=2, prefix="wdrain" + sfx, extra={"http": {"port": 8000}})
        self.cp = self.dp.cp
        st, r = self.cp.push({"target_groups": [{
            "protocol": "HTTP", "route_prefix": "/app", "app_name": "app",
            "targets": [{"ip": ip, "port": 30000, "instance_id": "n", "name": "r%d" % (i + 1),
                         "replica_id": "r%d" % (i + 1)} for i, ip in enumerate(self.ips)]}]})
        if st != 200:
            raise RuntimeError("push: %s %s" % (st, r))

    def client_bg(self, *args, t=30):
        return client_bg(self.tb, *args, t=t)

    def client(self, *args):
        return client(self.tb, *args, timeout=60)

    def raw(self, data):
        out = self.client("raw", self.tb.vip, 8000, data.hex())
        return bytes.fromhex(out.get("hex", "")) if "hex" in out else out

    def ctl(self, *args):
        return run([CTL, "--prefix", self.dp.prefix, "--cp", self.cp.sock, *args])

    def drain(self):
        return self.cp.info().get("drain", {})



IDLE = r'''
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8000), timeout=10)
s.sendall(b"GET /app/echo HTTP/1.1\r\nHost: w\r\n\r\n")
buf = b""
while b"r1" not in buf and b"r2" not in buf:
    buf += s.recv(65536)
print("ready", flush=True)
t0 = time.time()
s.settimeout(15)
try:
    while s.recv(65536):
        pass
    print("closed %.2f" % (time.time() - t0), flush=True)
except Exception as e:
    print("error %s" % e, flush=True)
'''


def test_drain(t, env):
    stream = env.client_bg("sse", "http://%s:8000/app/stream?n=%d&ms=1000" % (env.tb.vip, STREAM_S + 1),
                           t=STREAM_S + 30)
    idle = subprocess.Popen(["ip", "netns", "exec", env.tb.ns_cli, PY, "-c", IDLE, env.tb.vip],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    t.ok(idle.stdout.readline().strip() == "ready", "an idle keep-alive client is connected")
    time.sleep(1.0)
    r = env.ctl("drain", "on", "--grace-ms", "2000")
    t_drain = time.time()
    t.ok(r.returncode == 0, "weirctl drain on --grace-ms 2000", r.stdout + r.stderr)
    t.ok(env.raw(b"GET /-/healthz HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n") == DRAINED,
         "draining: /-/healthz 503 'This node is being drained.' byte for byte")
    got = env.raw(b"GET /app/echo HTTP/1.1\r\nHost: w\r\n\r\n")
    t.ok(isinstance(got, bytes) and got.startswith(b"HTTP/1.1 200") and b"\r\nConnection: close\r\n" in
         got.split(b"\r\n\r\n")[0] + b"\r\n", "draining: a keep-alive request is served, with Connection: close",
         got[:300])
    time.sleep(max(0, t_drain + 2.7 - time.time()))
    r = run(["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}",
             "http://%s:8000/app/echo" % env.tb.vip], ns=env.tb.ns_cli)
    t.ok(r.returncode == 7 and r.stdout == "000", "after the grace: a new connection is refused (curl %d)"
         % r.returncode, r.stdout + r.stderr)
    line = idle.stdout.readline().strip()
    t.ok(line.startswith("closed") and 2.5 < float(line.split()[1]) < 4.5,
         "the idle keep-alive client is let go at the grace's end (%s)" % line)
    d = env.drain()
    t.ok(d.get("on") and d.get("refusing") and not d.get("drained") and d.get("sessions", 0) >= 1,
         "draining with the stream open: refusing, not drained (%s)" % d)
    early = []
    while stream.poll() is None:
        d = env.drain()
        if stream.poll() is not None:
            break
        if d.get("drained"):
            early.append(d)
        time.sleep(0.1)
    t_end = time.time()
    t.ok(not early, "never drained while the stream ran", early[:3])
    out, _ = stream.communicate()
    lines = [l for l in out.splitlines() if l.startswith("{")]
    ev = json.loads(lines[-1])["events"] if lines else []
    t.ok([e[0] for e in ev] == list(range(STREAM_S + 1)), "the %d s stream completed intact (%d events)"
         % (STREAM_S, len(ev)))
    t_drained = None
    deadline = time.time() + 5
    while time.time() < deadline:
        if env.drain().get("drained"):
            t_drained = time.time()
            break
        time.sleep(0.05)
    t.ok(t_drained is not None and t_drained - t_end <= 1.0,
         "drained %.2f s after the stream ended" % ((t_drained or 0) - t_end))
    r = env.ctl("show", "info")
    t.ok(r.returncode == 0 and "refusing new connections" in r.stdout and ": drained" in r.stdout,
         "weirctl show info: drained", r.stdout)
    r = env.ctl("drain", "off")
    ok = False
    deadline = time.time() + 5
    while time.time() < deadline and not ok:
        ok = env.client("get", "http://%s:8000/app/echo" % env.tb.vip).get("status") == 200
        time.sleep(0.1)
    t.ok(r.returncode == 0 and ok, "drain off: new connections are served again")
    idle.kill()


def test_bad_input(t, env):
    for args, want in ((["drain", "on", "--grace-ms", "-5"], "usage"),
                       (["drain", "on", "--grace-ms", "x"], "usage"),
                       (["drain", "on", "--grace-ms", "99999999"], "usage"),
                       (["drain", "off", "--grace-ms", "10"], "usage"),
                       (["drain", "on", "--grace", "10"], "usage")):
        r = env.ctl(*args)
        t.ok(r.returncode == 2 and want in r.stderr, "weirctl %s: usage, exit 2" % " ".join(args), r.stderr)
    for body in ('{"drain": true, "grace_ms": -1}', '{"drain": true, "grace_ms": 1.5}',
                 '{"drain": true, "grace_ms": "5"}', '{"drain": true, "grace_ms": 3600001}'):
        st, j = env.cp.api("PUT", "/api/v1/drain", body)
        t.ok(st == 400 and "grace_ms" in (j or {}).get("error", ""), "PUT drain %s: 400 naming grace_ms" % body, j)
    t.ok(not env.drain().get("on"), "the refused drains changed nothing")


def main():
    run_suite(Env, [test_bad_input, test_drain], setup=lambda env: env.cp.wait_live())

if __name__ == "__main__":
    main()
