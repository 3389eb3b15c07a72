#!/usr/bin/python3
"""Table update latency: from weir-cp's API reply to the new table being
live on every weir-dp worker, over N updates (default 1,000), p50/p99/max.

  tools/bench/cp_update_bench.py [--updates N] [--load RATE] [--idle busy|backoff]

Brings up its own namespace testbed (tools/testbed) with 2 replicas, starts
weir-dp (2 workers) and weir-cp, then pushes N full target-group documents
one after another over the API (each adds or removes a replica). For each,
it takes the moment the reply arrived (CLOCK_REALTIME), then reads the
control segment itself (/dev/shm/weir-<prefix>, include/weir/ctl.h) until
every worker holds that generation, and takes the latest worker's own
adoption stamp (adopted_ns, written by the worker as it swaps). The
latency is adopted - reply: negative when the workers had the table before
the reply reached us (the API answers after publishing, without waiting).
It also gives adopted - published (the segment's own publish stamp): how
long the workers take to pick a snapshot up between bursts.
With --load, a keep-alive client sends RATE requests/s through weir-dp
meanwhile. Not a CI gate: the numbers go into the closing note."""
import argparse
import json
import mmap
import os
import struct
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "lib"))
from weirlib import PY, Testbed, WeirDP, run  # noqa: E402

CLIENT = os.path.join(ROOT, "tests", "integration", "lib", "http_client.py")
REPLICA = os.path.join(ROOT, "tools", "replica", "replica.py")
# include/weir/ctl.h: the header's first line, then `current`, then workers
OFF_NWORKERS, OFF_CURRENT, OFF_WORKERS, WORKER_SIZE = 24, 64, 128, 64


class Segment:
    def __init__(self, prefix):
        fd = os.open("/dev/shm/weir-" + prefix, os.O_RDONLY)
        self.m = mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ)
        os.close(fd)
        self.n = struct.unpack_from("<I", self.m, OFF_NWORKERS)[0]

    def published_ns(self):
        return struct.unpack_from("<Q", self.m, OFF_CURRENT + 8)[0]

    def workers(self):
        """[(held_gen, adopted_ns)] per worker."""
        return [struct.unpack_from("<QQ", self.m, OFF_WORKERS + i * WORKER_SIZE) for i in range(self.n)]


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--updates", type=int, default=1000)
    ap.add_argument("--load", type=int, default=0, help="requests/s through weir-dp meanwhile")
    ap.add_argument("--idle", default="backoff", choices=("busy", "backoff"))
    a = ap.parse_args()
    tb = Testbed("wbcp", replicas=2)
    ips = tb.be_ips.split()
    procs = [__import__("subprocess").Popen(
        ["ip", "netns", "exec", tb.ns_be, PY, REPLICA, "--id", "r%d" % i, "--host", ip, "--port", "30000"],
        stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w")) for i, ip in enumerate(ips)]
    for ip in ips:
        for _ in range(100):
            if run(["curl", "-s", "-m", "1", "http://%s:30000/-/healthz" % ip], ns=tb.ns_cli).stdout == "success":
                break
            time.sleep(0.2)
    dp = WeirDP(tb, workers=2, prefix="wbcp", extra={"http": {"port": 8000}, "idle": {"policy": a.idle}})
    load = None
    try:
        seg = Segment(dp.prefix)

        def doc(k):
            ts = [{"ip": ip, "port": 30000, "instance_id": "n", "name": "SERVE_REPLICA::a#A#r%d-%d" % (i, k // 7),
                   "replica_id": "r%d" % i} for i, ip in enumerate(ips) if i == 0 or k % 2]
            return {"target_groups": [{"protocol": "HTTP", "route_prefix": "/", "app_name": "a", "targets": ts}]}
        dp.cp.push(doc(0))
        if a.load:
            load = __import__("subprocess").Popen(
                ["ip", "netns", "exec", tb.ns_cli, PY, CLIENT, "load", "http://%s:8000/x" % tb.vip,
                 str(a.load), str(a.updates / 200.0 + 30), "4"], stdout=__import__("subprocess").PIPE, text=True)
            time.sleep(1)
        lat, pub = [], []
        for k in range(1, a.updates + 1):
            st, r = dp.cp.push(doc(k), wait_ms=0)
            reply_ns = time.time_ns()
            gen = r["generation"]
            deadline = time.time() + 5
            while True:
                ws = seg.workers()
                if all(h >= gen for h, _ in ws):
                    break
                if time.time() > deadline:
                    raise RuntimeError("generation %d not live in 5 s: %s" % (gen, ws))
            live_ns = max(t for _, t in ws)
            lat.append((live_ns - reply_ns) / 1000.0)
            pub.append((live_ns - seg.published_ns()) / 1000.0)
        res = {"updates": a.updates, "idle": a.idle, "load_rps": a.load,
               "reply_to_live_us": {"p50": round(percentile(lat, 50), 1), "p99": round(percentile(lat, 99), 1),
                                    "max": round(max(lat), 1), "min": round(min(lat), 1)},
               "publish_to_live_us": {"p50": round(percentile(pub, 50), 1), "p99": round(percentile(pub, 99), 1),
                                      "max": round(max(pub), 1)}}
        if load:
            load.kill()
        print(json.dumps(res))
    finally:
        if load and load.poll() is None:
            load.kill()
        dp.stop()
        for p in procs:
            p.kill()
        tb.down()


if __name__ == "__main__":
    main()
