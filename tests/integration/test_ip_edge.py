"""IPv4 input at the edge (#20), seen from clients on this machine.

Clients behind a routed hop: a router namespace (NAME-rt: 10.77.0.1 on the
testbed's bridge, 10.200.0.1/16 toward NAME-far) and a far client namespace
holding 10.200.1.255 and 10.200.2.0, ordinary host addresses of a /16 that
end in .255 and .0. weir-dp's gateway is the router, so its answers to them
go back through it; before #20 the .255 client was dropped as a directed
broadcast of weir-dp's own /24.

Then raw fragments from the on-link client (scapy): a SYN in two IP
fragments gets its SYN-ACK, a fragmented HTTP-like request to the echo app
is answered in full, an overlapping set is dropped and counted."""
import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import PY, Tap, Testbed, WeirDP, delta, run  # noqa: E402

ROUTER_IP = "10.77.0.1"
FAR_CLIENTS = ("10.200.1.255", "10.200.2.0")
APPS = [{"port": 9000, "mode": "echo"}]


class RoutedHop:
    """NAME-rt forwards between the testbed's bridge and NAME-far."""

    def __init__(self, tb):
        self.tb = tb
        self.rt, self.far = tb.name + "-rt", tb.name + "-far"
        self.down()
        for ns in (self.rt, self.far):
            run(["ip", "netns", "add", ns], check=True)
            run(["ip", "link", "set", "lo", "up"], ns=ns, check=True)
            run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"], ns=ns)
        r0, r1 = tb.name + "-r0", tb.name + "-r1"
        f0, f1 = tb.name + "-f0", tb.name + "-f1"
        for cmd in (["ip", "link", "add", r0, "type", "veth", "peer", "name", r1],
                    ["ip", "link", "set", r0, "netns", self.rt],
                    ["ip", "link", "set", r1, "netns", tb.ns_sw],
                    ["ip", "link", "add", f0, "type", "veth", "peer", "name", f1],
                    ["ip", "link", "set", f0, "netns", self.far],
                    ["ip", "link", "set", f1, "netns", self.rt]):
            run(cmd, check=True)
        for ns, dev in ((self.rt, r0), (tb.ns_sw, r1), (self.far, f0), (self.rt, f1)):
            # weir-dp (af_xdp) sees checksums as the kernel leaves them
            run(["ethtool", "-K", dev, "tx", "off", "gro", "off", "gso", "off", "tso", "off"], ns=ns)
            run(["ip", "link", "set", dev, "up"], ns=ns, check=True)
        run(["ip", "link", "set", r1, "master", "br0"], ns=tb.ns_sw, check=True)
        run(["ip", "addr", "add", ROUTER_IP + "/24", "dev", r0], ns=self.rt, check=True)
        run(["ip", "addr", "add", "10.200.0.1/16", "dev", f1], ns=self.rt, check=True)
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
             "net.ipv4.conf.default.rp_filter=0"], ns=self.rt, check=True)
        for a in FAR_CLIENTS:
            run(["ip", "addr", "add", a + "/16", "brd", "+", "dev", f0], ns=self.far, check=True)
        run(["ip", "route", "add", "default", "via", "10.200.0.1"], ns=self.far, check=True)

    def down(self):
        for ns in (self.rt, self.far):
            if run(["ip", "netns", "pids", ns]).returncode == 0:
                run(["ip", "netns", "del", ns])


ECHO = r"""
import socket, sys
src, vip = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind((src, 0))
s.settimeout(5)
s.connect((vip, 9000))
msg = b"hello from %s\n" % src.encode()
s.sendall(msg)
got = b""
while len(got) < len(msg):
    b = s.recv(256)
    if not b:
        break
    got += b
s.close()
print("echoed" if got == msg else "got %r" % got)
"""


def routed_clients(t, tb, dp):
    hop = RoutedHop(tb)
    try:
        for src in FAR_CLIENTS:
            before = dp.stats()
            r = run([PY, "-c", ECHO, src, tb.vip], ns=hop.far, timeout=20)
            after = dp.stats()
            t.ok(r.stdout.strip() == "echoed",
                 "off-link client %s behind the router is answered (echo through the gateway)" % src,
                 r.stdout + r.stderr + str(delta(after, before)))
            t.ok(after.get("drop_ip_bad_src", 0) == before.get("drop_ip_bad_src", 0),
                 "%s is not counted as a bad source" % src, delta(after, before))
    finally:
        hop.down()


FRAG = r"""
import json, sys, time
from scapy.all import IP, TCP, Raw, fragment, send, sniff, conf
conf.verb = 0
iface, vip, port, sport, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
OPTS = [("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]


def from_vip(p):
    return p.haslayer(TCP) and p[IP].src == vip and p[TCP].dport == sport


def send_and_wait(pkts, want, timeout=3):
    from scapy.all import AsyncSniffer
    s = AsyncSniffer(iface=iface, lfilter=from_vip, store=True)
    s.start()
    time.sleep(0.3)
    send(pkts, iface=iface)
    end = time.time() + timeout
    while time.time() < end and not any(want(p) for p in (s.results or [])):
        time.sleep(0.05)
    s.stop()
    return s.results or []


def synack(p):
    return (int(p[TCP].flags) & 0x12) == 0x12


syn = IP(dst=vip, id=sport) / TCP(sport=sport, dport=port, flags="S", seq=1000, options=OPTS)
out = {"mode": mode}
if mode == "overlap":
    raw = bytes(syn[TCP])  # checksum computed by bytes() on the layer above
    raw = bytes(IP(dst=vip, id=sport, proto=6) / Raw(raw))[20:]
    a = IP(dst=vip, id=sport, proto=6, flags="MF", frag=0) / Raw(raw[:24])
    b = IP(dst=vip, id=sport, proto=6, frag=2) / Raw(raw[16:])
    got = send_and_wait([a, b], synack, timeout=2)
    out["synack"] = any(synack(p) for p in got)
    print(json.dumps(out))
    sys.exit(0)
frags = fragment(syn, fragsize=16)
out["syn_fragments"] = len(frags)
got = send_and_wait(frags, synack)
sa = [p for p in got if synack(p)]
out["synack"] = bool(sa)
if not sa or mode == "syn":
    if sa:
        send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="R", seq=1001), iface=iface)
    print(json.dumps(out))
    sys.exit(0)
srv = sa[0][TCP].seq + 1
send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="A", seq=1001, ack=srv), iface=iface)
req = (b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 300 + b"\r\nConnection: close\r\n\r\n")
data = IP(dst=vip, id=sport + 1) / TCP(sport=sport, dport=port, flags="PA", seq=1001, ack=srv) / Raw(req)
frags = fragment(data, fragsize=128)
out["request_fragments"] = len(frags)
got = send_and_wait(frags, lambda p: p.haslayer(Raw), timeout=5)
body = b"".join(bytes(p[Raw].load) for p in got if p.haslayer(Raw))
out["response_head"] = body[:40].decode("latin-1")
send(IP(dst=vip) / TCP(sport=sport, dport=port, flags="R", seq=1001 + len(req)), iface=iface)
print(json.dumps(out))
"""


def frag_probe(tb, port, sport, mode):
    r = run([PY, "-c", FRAG, tb.cli_if, tb.vip, str(port), str(sport), mode], ns=tb.ns_cli, timeout=60)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"err": r.stdout[-800:] + r.stderr[-800:]}


NFT = [["nft", "add", "table", "inet", "weirfrag"],
       ["nft", "add", "chain", "inet", "weirfrag", "out", "{ type filter hook output priority 0; }"],
       # the client's kernel knows nothing of scapy's connections: no RST
       ["nft", "add", "rule", "inet", "weirfrag", "out", "tcp", "sport", "41000-41999",
        "tcp", "flags", "&", "rst", "==", "rst", "drop"]]


def fragments(t, tb, dp, be):
    for cmd in NFT:
        run(cmd, ns=tb.ns_cli, check=True)
    try:
        before = dp.stats()
        res = [frag_probe(tb, 9000, 41000 + i, "syn") for i in range(6)]
        after = dp.stats()
        d = delta(after, before)
        t.ok(all(r.get("synack") and r.get("syn_fragments", 0) >= 2 for r in res),
             "a SYN in two IP fragments gets its SYN-ACK (6 connections over both workers)",
             json.dumps(res) + " " + json.dumps(d))
        t.ok(d.get("ip_reassembled", 0) == 6 and d.get("ip_frags_in", 0) == 12,
             "12 fragments in, 6 datagrams reassembled, counted", d)
        before = dp.stats()
        r = frag_probe(tb, 8000, 41100, "http")
        d = delta(dp.stats(), before)
        t.ok(r.get("synack") and r.get("request_fragments", 0) >= 3 and
             r.get("response_head", "").startswith("HTTP/1.1 200"),
             "a fragmented HTTP request (%s fragments) is served: %r" % (r.get("request_fragments"),
                                                                       r.get("response_head")),
             json.dumps(r) + " " + json.dumps(d))
        before = dp.stats()
        r = frag_probe(tb, 9000, 41200, "overlap")
        d = delta(dp.stats(), before)
        t.ok(r.get("synack") is False, "an overlapping fragment set is not answered", r)
        t.ok(d.get("drop_ip_frag_invalid", 0) == 1 and d.get("ip_reassembled", 0) == 0,
             "it is dropped whole and counted (drop_ip_frag_invalid)", d)
    finally:
        run(["nft", "delete", "table", "inet", "weirfrag"], ns=tb.ns_cli)


def backend(tb):
    """A Python HTTP server in the backend namespace, and its target group."""
    be = tb.be_ips.split()[0]
    d = tempfile.mkdtemp(prefix="weir-edge-")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("served\n")
    p = subprocess.Popen(["ip", "netns", "exec", tb.ns_be, PY, "-m", "http.server", "8080", "--bind", be,
                          "--directory", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    atexit.register(p.kill)
    tg = os.path.join(d, "tg.json")
    with open(tg, "w") as f:
        # http.server has no /-/healthz: its check asks for / instead
        json.dump({"target_groups": [{"protocol": "HTTP", "route_prefix": "/", "app_name": "edge",
                                      "health_check": {"path": "/"},
                                      "targets": [{"ip": be, "port": 8080, "instance_id": "",
                                                   "name": "py-1"}]}]}, f)
    for _ in range(50):
        if run(["curl", "-s", "-m", "1", "-o", "/dev/null", "http://%s:8080/" % be], ns=tb.ns_cli).returncode == 0:
            break
        time.sleep(0.1)
    return p, tg


def main():
    t = Tap()
    tb = Testbed("wtedge", replicas=1)
    be, tg = backend(tb)
    dp = WeirDP(tb, workers=2, extra={"test_apps": APPS, "gateway": ROUTER_IP,
                                      "http": {"port": 8000, "target_groups": tg}})
    try:
        run(["ping", "-c", "3", "-i", "0.05", "-q", tb.vip], ns=tb.ns_cli)
        routed_clients(t, tb, dp)
        fragments(t, tb, dp, be)
    finally:
        be.kill()
        rc = dp.stop()
        tb.down()
    t.ok(rc == 0, "weir-dp stops cleanly", dp.output()[-1500:])
    t.done()


if __name__ == "__main__":
    main()
