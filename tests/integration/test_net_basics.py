"""weir-dp on the namespace testbed with 2 workers on one veth queue
(net_af_xdp): ARP and ping from a real client, then malformed frames of
every kind we can put on a veth, each dropped and counted under its own
reason, and weir-dp still answers afterwards and stops cleanly."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import BUILD, PY, Tap, Testbed, WeirDP, delta, run  # noqa: E402

RAWSEND = os.path.join(os.path.dirname(__file__), "lib", "rawsend.py")

# kind -> the counter that must grow by exactly COUNT
EXPECT = {
    "eth_not_for_us": "drop_eth_not_for_us",
    "eth_ipv6": "drop_eth_unknown_type",
    "eth_vlan": "drop_eth_unknown_type",
    "arp_runt": "drop_arp_runt",
    "arp_bad_htype": "drop_arp_bad_htype",
    "arp_bad_ptype": "drop_arp_bad_ptype",
    "arp_bad_len": "drop_arp_bad_len",
    "arp_bad_op": "drop_arp_bad_op",
    "arp_bad_sender": "drop_arp_bad_sender",
    "arp_not_for_us": "drop_arp_not_for_us",
    "ip_runt": "drop_ip_runt",
    "ip_bad_version": "drop_ip_bad_version",
    "ip_bad_ihl": "drop_ip_bad_ihl",
    "ip_bad_totlen": "drop_ip_bad_totlen",
    "ip_truncated": "drop_ip_truncated",
    "ip_bad_csum": "drop_ip_bad_csum",
    "ip_frag_empty": "drop_ip_frag_bad",
    "ip_frag_unaligned": "drop_ip_frag_bad",
    "ip_frag_past_64k": "drop_ip_frag_bad",
    "ip_ttl_zero": "drop_ip_ttl_zero",
    "ip_src_multicast": "drop_ip_bad_src",
    "ip_src_loopback": "drop_ip_bad_src",
    "ip_dst_not_ours": "drop_ip_not_for_us",
    "ip_udp": "drop_ip_unknown_proto",
    "icmp_runt": "drop_icmp_runt",
    "icmp_bad_csum": "drop_icmp_bad_csum",
    "icmp_timestamp": "drop_icmp_unhandled",
}
COUNT = 3


def ping(tb, dst, n, interval="0.002", extra=()):
    r = run(["ping", "-c", str(n), "-i", interval, "-W", "1", "-q", *extra, dst],
            ns=tb.ns_cli, timeout=60)
    return r, ("0% packet loss" in r.stdout and " 0 received" not in r.stdout)


def test_arp_and_ping(t, tb, dp):
    info = dp.telemetry("/weir/info")
    t.ok(info["driver"] == "net_af_xdp" and info["queues"] == 1 and info["workers"] == 2,
         "weir-dp runs 2 workers on one net_af_xdp queue", info)
    for addr in (tb.vip, tb.local_ip):
        r = run(["arping", "-c", "3", "-w", "5", "-I", tb.cli_if, addr], ns=tb.ns_cli)
        got = r.stdout.count("reply from") if "reply from" in r.stdout else r.stdout.count("Unicast reply")
        t.ok(r.returncode == 0 and got >= 3, "arping %s answered 3 times" % addr, r.stdout + r.stderr)
        t.ok(dp.mac() in r.stdout.lower(), "arping %s answers with weir-dp's MAC" % addr, r.stdout)
    before = dp.stats()
    r, ok = ping(tb, tb.vip, 1000)
    t.ok(ok and "1000 received" in r.stdout, "1000 pings to the VIP, 0 loss", r.stdout + r.stderr)
    # Many echo identifiers spread over both workers: the hand-off path.
    procs = [subprocess.Popen(["ip", "netns", "exec", tb.ns_cli, "ping", "-c", "20", "-i",
                               "0.005", "-W", "1", "-q", tb.vip], stdout=subprocess.PIPE, text=True)
             for _ in range(8)]
    outs = [p.communicate(timeout=30)[0] for p in procs]
    t.ok(all("20 received" in o for o in outs), "8 concurrent pingers, 0 loss", "\n".join(outs))
    d = delta(dp.stats(), before)
    t.ok(d.get("icmp_echo_replies") == 1160, "every echo request answered and counted", d)
    lc = dp.telemetry("/weir/stats/lcores")
    t.ok(lc["worker1"]["icmp_echo_replies"] > 0 and lc["worker0"]["handoff_out"] > 0,
         "worker 1 answered pings handed off by worker 0", lc)
    arp = dp.telemetry("/weir/arp")
    t.ok(any(e.startswith(tb.cli_ip + " ") and e.endswith("reachable") for e in arp),
         "the client is in the neighbour cache", arp)


def send(tb, mac, kind, count):
    run([PY, RAWSEND, tb.cli_if, mac, tb.cli_ip, tb.vip, kind, str(count)],
        ns=tb.ns_cli, check=True)


def wait_stats(dp, before, counter, want, timeout=3.0):
    deadline = time.time() + timeout
    while True:
        d = delta(dp.stats(), before)
        if d.get(counter, 0) >= want or time.time() > deadline:
            return d
        time.sleep(0.05)


def test_malformed(t, tb, dp):
    mac = dp.mac()
    for kind, counter in EXPECT.items():
        before = dp.stats()
        send(tb, mac, kind, COUNT)
        d = wait_stats(dp, before, counter, COUNT)
        time.sleep(0.05)
        d = delta(dp.stats(), before)
        ok = d.get(counter) == COUNT and not d.get("icmp_echo_replies") and not d.get("tx_frames")
        t.ok(ok, "malformed %s: dropped, counted as %s" % (kind, counter), d)
    before = dp.stats()
    send(tb, mac, "valid_ping", COUNT)
    d = wait_stats(dp, before, "icmp_echo_replies", COUNT)
    t.ok(d.get("icmp_echo_replies") == COUNT, "a hand-made valid ping is answered (control case)", d)
    r, ok = ping(tb, tb.vip, 100)
    t.ok(ok and dp.alive(), "weir-dp still answers 100 pings after the malformed frames", r.stdout)


def test_weirctl(t, dp):
    ctl = os.path.join(BUILD, "tools", "weirctl", "weirctl")
    r = run([ctl, "--prefix", dp.prefix, "show", "info"])
    t.ok(r.returncode == 0 and "net_af_xdp" in r.stdout and "10.77.0.10" in r.stdout,
         "weirctl show info names the driver and the VIP", r.stdout + r.stderr)
    r = run([ctl, "--prefix", dp.prefix, "show", "stats"])
    line = [l for l in r.stdout.splitlines() if l.startswith("icmp_echo_replies")]
    t.ok(r.returncode == 0 and line and int(line[0].split()[1]) >= 1160,
         "weirctl show stats reports the echo replies", r.stdout + r.stderr)
    r = run([ctl, "--prefix", dp.prefix, "--json", "show", "arp"])
    t.ok(r.returncode == 0 and "reachable" in r.stdout, "weirctl --json show arp", r.stdout + r.stderr)


def test_af_packet_fallback(t, tb):
    dp = WeirDP(tb, workers=2, driver="af_packet", prefix="wtnetpk")
    try:
        info = dp.telemetry("/weir/info")
        r, ok = ping(tb, tb.vip, 50)
        t.ok(info["driver"] == "net_af_packet" and ok, "net_af_packet driver answers 50 pings",
             r.stdout + str(info))
    finally:
        t.ok(dp.stop() == 0, "the net_af_packet instance stops cleanly", dp.output()[-1500:])


def main():
    t = Tap()
    tb = Testbed("wtnet", replicas=1)
    dp = WeirDP(tb, workers=2, driver="af_xdp")
    try:
        test_arp_and_ping(t, tb, dp)
        test_weirctl(t, dp)
        test_malformed(t, tb, dp)
    finally:
        out = dp.output()
        rc = dp.stop()
    t.ok(rc == 0 and "weir-dp: stopped" in dp.output(), "SIGTERM stops weir-dp cleanly", out[-2000:])
    left = [f for f in os.listdir("/dev/hugepages") if f.startswith(dp.prefix)]
    t.ok(not left and not dp.rundir_left, "no hugepage files or runtime dir left behind", left)
    test_af_packet_fallback(t, tb)
    tb.down()
    t.done()


if __name__ == "__main__":
    main()
