"""Summarises the runs of tools/bench/tcp_bench.sh: reads RUNDIR/*.jsonl (one
weir-tcpbench JSON line per run, tagged with "config" and "metric"), prints
the table and writes the JSON report.

usage: /usr/bin/python3 report.py RUNDIR OUT.json PARAMS.json"""
import glob
import json
import os
import statistics
import sys

CONFIGS = [("weir_busy", "weir busy"), ("weir_backoff", "weir backoff"), ("kernel", "kernel")]
METRICS = [("rx_MBps", "rx MB/s (server sends)", "rx", "MBps"),
           ("tx_MBps", "tx MB/s (server receives)", "tx", "MBps"),
           ("cps", "connections/s", "cps", "cps")]


def main():
    rundir, out, params_path = sys.argv[1:4]
    with open(params_path) as f:
        params = json.load(f)
    runs = {c: {m[0]: [] for m in METRICS} for c, _ in CONFIGS}
    raw = {c: [] for c, _ in CONFIGS}
    for path in sorted(glob.glob(os.path.join(rundir, "*.jsonl"))):
        with open(path) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                c = r.get("config")
                if c not in runs:
                    continue
                raw[c].append(r)
                for key, _, mode, field in METRICS:
                    if r.get("metric") == mode:
                        # A failed run counts as 0: it must show, not vanish.
                        runs[c][key].append(float(r.get(field, 0)) if r.get("ok") else 0.0)
    extra = {}
    for c, _ in CONFIGS:
        p = os.path.join(rundir, c + ".counters.json")
        if os.path.exists(p):
            with open(p) as f:
                try:
                    extra[c] = json.load(f)
                except ValueError:
                    pass
    # The Linux side's TCP MIB deltas over each server's runs (client
    # namespace; LB namespace: only the kernel server uses it): what to
    # look at when a number is off (listen queue overflows, SYN retries).
    mib = {}
    for c, _ in CONFIGS:
        for side in ("cli", "lb"):
            try:
                with open(os.path.join(rundir, "%s.mib-%s0.json" % (c, side))) as f:
                    a = json.load(f)
                with open(os.path.join(rundir, "%s.mib-%s1.json" % (c, side))) as f:
                    b = json.load(f)
            except (OSError, ValueError):
                continue
            mib.setdefault(c, {})[side] = {k: b[k] - a.get(k, 0) for k in sorted(b)
                                           if b[k] != a.get(k, 0) and ":" in k}
    # Per-CPU backlog drops (/proc/net/softnet_stat, 2nd column; machine-
    # wide): frames the kernel dropped because a CPU's softirq fell behind,
    # which shows as retransmissions and stalls in whatever ran then.
    backlog_drops = {}
    for c, _ in CONFIGS:
        try:
            with open(os.path.join(rundir, c + ".softnet0")) as f:
                a = [int(l.split()[1], 16) for l in f]
            with open(os.path.join(rundir, c + ".softnet1")) as f:
                b = [int(l.split()[1], 16) for l in f]
            backlog_drops[c] = [y - x for x, y in zip(a, b)]
        except (OSError, ValueError, IndexError):
            pass
    res = {}
    for c, _ in CONFIGS:
        res[c] = {}
        for key, *_ in METRICS:
            v = runs[c][key]
            res[c][key] = {"median": round(statistics.median(v), 2) if v else None, "runs": v}
    ratios = {}
    for key, *_ in METRICS:
        k = res["kernel"][key]["median"]
        for c in ("weir_busy", "weir_backoff"):
            w = res[c][key]["median"]
            ratios.setdefault(c + "/kernel", {})[key] = round(w / k, 3) if w is not None and k else None
    failed = sum(1 for c in raw for r in raw[c] if not r.get("ok"))
    report = {"params": params, "results": res, "ratios": ratios, "failed_runs": failed,
              "runs": raw, "weir_counters": extra,
              "linux_mib": mib, "backlog_drops_per_cpu": backlog_drops}
    with open(out, "w") as f:
        json.dump(report, f, indent=1)

    def fmt(x):
        return "-" if x is None else ("%.0f" % x if x >= 100 else "%.2f" % x)

    hdr = ("metric", "weir busy", "weir backoff", "kernel", "busy/kernel", "backoff/kernel")
    rows = []
    for key, label, *_ in METRICS:
        rows.append((label, fmt(res["weir_busy"][key]["median"]), fmt(res["weir_backoff"][key]["median"]),
                     fmt(res["kernel"][key]["median"]),
                     fmt(ratios["weir_busy/kernel"][key]), fmt(ratios["weir_backoff/kernel"][key])))
    w = [max(len(r[i]) for r in rows + [hdr]) for i in range(len(hdr))]
    line = lambda r: "  ".join(r[0].ljust(w[0]) if i == 0 else r[i].rjust(w[i]) for i in range(len(r)))  # noqa
    print("# %s mode, %s of %d run(s); %d MiB per transfer, cps %g s at concurrency %d, kernel cc %s"
          % (params["mode"], "median" if params["reps"] > 1 else "one", params["reps"], params["mib"],
             params["duration"], params["conc"], params["cc"]))
    print(line(hdr))
    for r in rows:
        print(line(r))
    for c, label in CONFIGS:
        if sum(backlog_drops.get(c, [])):
            print("# %s: the kernel dropped %s frames from full CPU backlogs during these runs "
                  "(softnet_stat, per CPU): a loaded machine, expect retransmissions"
                  % (label, backlog_drops[c]))
    if failed:
        print("# %d run(s) failed (counted as 0); see %s" % (failed, out))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
