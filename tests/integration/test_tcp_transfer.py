"""weir-dp's userspace TCP against Linux peers, 2 workers on one af_xdp
queue: byte-exact (SHA-256) transfers of 1 MiB and 10 MiB both ways, by
passive open (Linux client -> test app on the VIP) and active open (test
app -> Linux server in the backend namespace, from each worker's port
slice), on a clean path and through weir-impair (5% loss, 10% reordering,
1% duplication each way, 3 seeds). Then the error paths a proxy relies on,
a slow reader (zero window), 1,000 concurrent connections, and counters
back to their baseline (no TCB, mbuf or connection leak).

WEIR_TCP_LONG=1 adds the documented long mode (100 MiB each way through the
impairment, timed next to Linux<->Linux); it is not run in CI."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import PY, Tap, Testbed, WeirDP, delta, run  # noqa: E402

PEER = os.path.join(os.path.dirname(__file__), "lib", "tcppeer.py")
MiB = 1 << 20
SIZES = (MiB, 10 * MiB)
APPS = [{"port": 9000, "mode": "echo"}, {"port": 9001, "mode": "discard"},
        {"port": 9002, "mode": "source", "bytes": MiB},
        {"port": 9004, "mode": "source", "bytes": 10 * MiB},
        {"port": 9003, "mode": "sink"}]
SOURCE_PORT = {MiB: 9002, 10 * MiB: 9004}
IMPAIR = "--loss 5% --dup 1% --reorder 10%:3"


def peer(tb, ns, *args, timeout=240):
    r = run([PY, PEER, *map(str, args)], ns=ns, timeout=timeout)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    try:
        return json.loads(lines[-1]) if lines else {"ok": False, "err": r.stderr[-500:]}
    except ValueError:
        return {"ok": False, "err": r.stdout[-500:]}


def serve(tb, mode, port, *args):
    """Starts a Linux server in the backend namespace; returns the process
    once it listens."""
    p = subprocess.Popen(["ip", "netns", "exec", tb.ns_be, PY, PEER, mode, str(port), *map(str, args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if "listening" not in line:
        p.kill()
        raise RuntimeError("server did not start: " + line + p.stderr.read())
    return p


def finish(p, timeout=240):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    lines = [l for l in out.splitlines() if l.startswith("{")]
    return json.loads(lines[-1]) if lines else {"ok": False, "err": err[-500:]}


def connect_cmd(dp, be_ip, port, mode, nbytes, worker):
    return dp.telemetry("/weir/testapp/connect,%s:%d,%s,%d,%d" % (be_ip, port, mode, nbytes, worker))


def transfers(t, tb, dp, tag):
    be = tb.be_ips.split()[0]
    for n in SIZES:
        r = peer(tb, tb.ns_cli, "recv", tb.vip, SOURCE_PORT[n], n)
        t.ok(r.get("ok"), "%s: passive open, weir-dp sends %d MiB byte-exact" % (tag, n // MiB), r)
        r = peer(tb, tb.ns_cli, "send", tb.vip, 9003, n, n + 1)
        t.ok(r.get("ok"), "%s: passive open, weir-dp receives %d MiB byte-exact" % (tag, n // MiB), r)
    for i, n in enumerate(SIZES):
        w = i % 2
        p = serve(tb, "serve-recv", 7000 + i, n)
        connect_cmd(dp, be, 7000 + i, "source", n, w)
        r = finish(p)
        t.ok(r.get("ok"), "%s: active open from worker %d, weir-dp sends %d MiB byte-exact" % (tag, w, n // MiB), r)
        p = serve(tb, "serve-send", 7100 + i, n, n + 7)
        connect_cmd(dp, be, 7100 + i, "sink", 0, 1 - w)
        r = finish(p)
        t.ok(r.get("ok"), "%s: active open from worker %d, weir-dp receives %d MiB byte-exact"
             % (tag, 1 - w, n // MiB), r)


def wait_idle(dp, base, tb, timeout=15):
    """Waits until no connection is left and TCBs/mbufs are back to base.
    af_xdp frees sent mbufs only when a later TX burst reaps its completion
    ring, so a few pings run first to flush it."""
    deadline = time.time() + timeout
    while True:
        run(["ping", "-c", "5", "-i", "0.01", "-q", tb.vip], ns=tb.ns_cli)
        tcp = dp.telemetry("/weir/tcp")
        if (tcp["connections"] == 0 and tcp["tcbs_free"] == base["tcbs_free"]
                and tcp["mbufs_in_use"] <= base["mbufs_in_use"]) or time.time() > deadline:
            return tcp
        time.sleep(0.2)


def error_paths(t, tb, dp):
    be = tb.be_ips.split()[0]
    before = dp.telemetry("/weir/testapp")
    connect_cmd(dp, be, 7999, "source", 10, 0)  # nothing listens there: RST
    time.sleep(1)
    app = dp.telemetry("/weir/testapp")
    t.ok(app["refused"] == before["refused"] + 1, "connect to a closed port: RST -> refused", app)
    # A silent port: nftables in the backend namespace drops the SYNs.
    run(["nft", "add table inet weirtest"], ns=tb.ns_be)
    for cmd in (["nft", "add", "table", "inet", "weirtest"],
                ["nft", "add", "chain", "inet", "weirtest", "input",
                 "{ type filter hook input priority 0; }"],
                ["nft", "add", "rule", "inet", "weirtest", "input", "tcp", "dport", "7998", "drop"]):
        run(cmd, ns=tb.ns_be, check=True)
    connect_cmd(dp, be, 7998, "source", 10, 1)
    deadline = time.time() + 20
    while time.time() < deadline:
        app = dp.telemetry("/weir/testapp")
        if app["timeouts"] > before["timeouts"]:
            break
        time.sleep(0.5)
    t.ok(app["timeouts"] == before["timeouts"] + 1, "connect to a silent port: SYN retries -> timeout", app)
    # A client that resets mid-transfer (SO_LINGER 0).
    code = ("import socket,struct,time;s=socket.create_connection(('%s',9004));s.recv(65536);"
            "s.setsockopt(socket.SOL_SOCKET,socket.SO_LINGER,struct.pack('ii',1,0));s.close()" % tb.vip)
    tcp0 = dp.telemetry("/weir/tcp")
    run([PY, "-c", code], ns=tb.ns_cli, check=True)
    time.sleep(1)
    tcp1 = dp.telemetry("/weir/tcp")
    t.ok(tcp1["resets_rcvd"] > tcp0["resets_rcvd"], "a client RST mid-transfer is taken", tcp1)


PROBE = r"""
import sys
from scapy.all import IP, TCP, sr1, conf
conf.verb = 0
vip, port = sys.argv[1], int(sys.argv[2])
for name, flags in (("syn+fin", "SF"), ("no flags", ""), ("fin only", "F")):
    r = sr1(IP(dst=vip) / TCP(sport=40100 + len(name), dport=port, flags=flags, seq=1000),
            timeout=1)
    print(name, "silent" if r is None else "answered %s" % r[TCP].flags)
"""


def listener_probes(t, tb, dp):
    """#20: a listener drops SYN+FIN and segments without SYN/ACK/RST with no
    answer and counts them, as Linux does."""
    tcp0 = dp.telemetry("/weir/tcp")
    r = run([PY, "-c", PROBE, tb.vip, "9004"], ns=tb.ns_cli, timeout=30)
    lines = r.stdout.split("\n")
    t.ok(r.returncode == 0 and all(l.endswith("silent") for l in lines if l),
         "SYN+FIN, a flagless and a FIN-only segment to a listener get no answer",
         r.stdout + r.stderr)
    tcp1 = dp.telemetry("/weir/tcp")
    t.ok(tcp1["listen_syn_fin"] - tcp0["listen_syn_fin"] == 1 and
         tcp1["listen_no_flags"] - tcp0["listen_no_flags"] == 2 and
         tcp1["passive_opens"] == tcp0["passive_opens"],
         "they are counted (listen_syn_fin, listen_no_flags) and take no TCB",
         delta(tcp1, tcp0))


def slow_reader(t, tb, dp):
    """A reader with a tiny buffer that pauses: weir-dp must probe the zero
    window and still deliver every byte."""
    code = r"""
import hashlib,socket,time
s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,4096)
s.connect(('%s',9002));s.settimeout(60);h=hashlib.sha256();n=0
time.sleep(1.5)
while True:
    b=s.recv(4096)
    if not b: break
    h.update(b);n+=len(b)
    if n < 200000: time.sleep(0.002)
ref=hashlib.sha256();m=%d;blk=bytes(range(251))*261
while m:
    k=min(m,len(blk));ref.update(blk[:k]);m-=k
print(n, h.hexdigest()==ref.hexdigest())
""" % (tb.vip, MiB)
    before = dp.telemetry("/weir/tcp")
    r = run([PY, "-c", code], ns=tb.ns_cli, timeout=90)
    after = dp.telemetry("/weir/tcp")
    t.ok(r.stdout.strip() == "%d True" % MiB, "slow reader with a 4 KiB buffer gets 1 MiB byte-exact",
         r.stdout + r.stderr)
    t.ok(after["persist_probes"] > before["persist_probes"], "the zero window was probed (persist timer)",
         {k: after[k] - before[k] for k in after})


def many_connections(t, tb, dp, n=1000):
    code = r"""
import resource,socket,selectors
resource.setrlimit(resource.RLIMIT_NOFILE,(4096,4096))
socks=[]
for i in range(%d):
    s=socket.create_connection(('%s',9000),timeout=30);socks.append(s)
for i,s in enumerate(socks): s.sendall(b'conn %%05d\n' %% i)
ok=0
for i,s in enumerate(socks):
    want=b'conn %%05d\n' %% i;got=b''
    while len(got)<len(want):
        b=s.recv(64)
        if not b: break
        got+=b
    ok+=got==want
for s in socks: s.close()
print(ok)
""" % (n, tb.vip)
    r = run([PY, "-c", code], ns=tb.ns_cli, timeout=120)
    t.ok(r.stdout.strip() == str(n), "%d concurrent connections opened, echoed and closed" % n,
         r.stdout + r.stderr)


def main():
    t = Tap()
    extra = {"test_apps": APPS, "tcp": {"time_wait_ms": 500, "syn_retries": 2, "max_connections": 2048}}
    tb = Testbed("wttcp", replicas=1)
    dp = WeirDP(tb, workers=2, extra=extra)
    try:
        run(["ping", "-c", "5", "-i", "0.01", "-q", tb.vip], ns=tb.ns_cli)
        base = dp.telemetry("/weir/tcp")  # measured like wait_idle measures
        transfers(t, tb, dp, "clean path")
        lc = dp.telemetry("/weir/stats/lcores")
        t.ok(all(lc["worker%d" % i]["tcp_segments_in"] > 0 for i in (0, 1)),
             "both workers carried TCP (hand-off from the single queue)", lc)
        error_paths(t, tb, dp)
        listener_probes(t, tb, dp)
        slow_reader(t, tb, dp)
        many_connections(t, tb, dp)
        tcp = wait_idle(dp, base, tb)
        t.ok(tcp["connections"] == 0 and tcp["tcbs_free"] == base["tcbs_free"],
             "TCBs back to baseline (%d free)" % base["tcbs_free"], tcp)
        t.ok(tcp["mbufs_in_use"] <= base["mbufs_in_use"], "mbufs back to baseline (%d)" % base["mbufs_in_use"], tcp)
    finally:
        rc = dp.stop()
        tb.down()
    t.ok(rc == 0, "weir-dp stops cleanly after the clean-path tests", dp.output()[-1500:])
    for seed in map(int, os.environ.get("WEIR_TCP_SEEDS", "1 2 3").split()):
        tb = Testbed("wttcpi", replicas=1, impair="--seed %d %s" % (seed, IMPAIR))
        dp = WeirDP(tb, workers=2, extra=extra, prefix="wttcpi")
        try:
            transfers(t, tb, dp, "impaired seed %d" % seed)
            tcp = dp.telemetry("/weir/tcp")
            t.ok(tcp["retransmits"] > 0, "seed %d: weir-dp retransmitted lost segments" % seed, tcp)
        finally:
            dp.stop()
            # our own bridge only: pkill would reach every weir-impair on the host
            for pid in run(["ip", "netns", "pids", tb.name + "-imp"]).stdout.split():
                run(["kill", "-INT", pid])
            time.sleep(0.5)
            tb.down()
        try:
            with open("/tmp/weir-impair-%s.json" % tb.name) as f:
                imp = json.load(f)
        except (OSError, ValueError) as e:
            imp = {"error": str(e)}
        ok = all(imp.get(d, {}).get(k, 0) > 0 for d in ("a2b", "b2a") for k in ("dropped", "duplicated", "reordered"))
        t.ok(ok, "seed %d: the impairment really dropped, duplicated and reordered both ways" % seed, imp)
    t.done()


if __name__ == "__main__":
    main()
