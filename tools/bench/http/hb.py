"""Helpers of tools/bench/http_bench.sh (no third-party modules).

  hb.py wrk FILE [RATE]     wrk's or wrk2's text output -> one JSON line
  hb.py cpu FILE1 FILE2     two /proc/stat copies -> {"cpu0": busy %, ...}
  hb.py lbcpu T0 T1 NS0 NS1 HZ [LCORES0 LCORES1]
                            the LB's CPU time (ticks) and wall time (ns) ->
                            its CPU %; with weir-dp's /weir/stats/lcores
                            before and after, its worker's busy-cycle share
  hb.py report RUNDIR OUT.json PARAMS.json
                            RUNDIR/runs.jsonl -> the table (stdout) and the
                            JSON report; exit 1 if an LB has no throughput

A run line of runs.jsonl: {"lb": "weir_busy", "rep": 1, "kind": "sat" | "rate",
"rate": R (rate runs), "ok": bool, "rps" | "achieved_rps", "p50_us", "p99_us",
"p999_us", "non_2xx", "errors", "timeouts", ...}."""
import json
import re
import statistics
import sys

LBS = [("weir_busy", "weir busy"), ("weir_backoff", "weir backoff"),
       ("haproxy", "haproxy"), ("nginx", "nginx")]
BASE = "haproxy"


def to_us(num, unit):
    return float(num) * {"us": 1.0, "ms": 1000.0, "s": 1e6, "m": 6e7}[unit]


def parse_wrk(text, rate=None):
    """wrk 4.x (--latency) and wrk2 (--latency, HdrHistogram lines)."""
    out = {"ok": False}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", text)
    if m:
        out["rps"] = float(m.group(1))
        out["ok"] = True
    m = re.search(r"(\d+) requests in ([0-9.]+)(us|ms|s|m),", text)
    if m:
        out["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        c, r, w, t = (int(x) for x in m.groups())
        out["errors"] = c + r + w
        out["timeouts"] = t
        out["socket_errors"] = {"connect": c, "read": r, "write": w, "timeout": t}
    else:
        out["errors"] = 0
        out["timeouts"] = 0
    # wrk2: " 99.900%    1.23ms"; wrk: "     99%    1.23ms"
    pct = {}
    for m in re.finditer(r"^\s*([0-9.]+)%\s+([0-9.]+)(us|ms|s|m)\s*$", text, re.M):
        pct[float(m.group(1))] = to_us(m.group(2), m.group(3))
    for p, key in ((50.0, "p50_us"), (90.0, "p90_us"), (99.0, "p99_us"), (99.9, "p999_us")):
        if p in pct:
            out[key] = round(pct[p], 1)
    m = re.search(r"Latency\s+([0-9.]+)(us|ms|s|m)\s+([0-9.]+)(us|ms|s|m)\s+([0-9.]+)(us|ms|s|m)", text)
    if m:
        out["mean_us"] = round(to_us(m.group(1), m.group(2)), 1)
        out["max_us"] = round(to_us(m.group(5), m.group(6)), 1)
    if rate is not None:
        out["rate"] = float(rate)
        out["achieved_rps"] = out.get("rps", 0.0)
    return out


def cpu_busy(a_path, b_path):
    def read(p):
        d = {}
        with open(p) as f:
            for line in f:
                if re.match(r"cpu\d+ ", line):
                    name, *v = line.split()
                    v = [int(x) for x in v]
                    idle = v[3] + (v[4] if len(v) > 4 else 0)
                    d[name] = (sum(v[:8]), idle)
        return d
    a, b = read(a_path), read(b_path)
    out = {}
    for k in sorted(b):
        if k in a:
            tot = b[k][0] - a[k][0]
            idle = b[k][1] - a[k][1]
            out[k] = round(100.0 * (tot - idle) / tot, 1) if tot > 0 else None
    return out


def med(v):
    v = [x for x in v if x is not None]
    return round(statistics.median(v), 1) if v else None


def fmt(x, nd=0):
    if x is None:
        return "-"
    if nd == 0:
        return "%.0f" % x
    return "%.*f" % (nd, x)


def report(rundir, out_path, params_path):
    global LBS
    with open(params_path) as f:
        params = json.load(f)
    chosen = [x for x in str(params.get("lbs", "")).split(",") if x]
    if chosen:  # --lbs: only those columns (haproxy stays the ratios' base if run)
        LBS = [(lb, n) for lb, n in LBS if lb in chosen]
    runs = []
    with open(rundir + "/runs.jsonl") as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    runs.append(json.loads(line))
                except ValueError:
                    pass
    incidents = []
    try:
        with open(rundir + "/incidents.jsonl") as f:
            incidents = [json.loads(l) for l in f if l.strip()]
    except (OSError, ValueError):
        pass
    rates = sorted({int(r["rate"]) for r in runs if r.get("kind") == "rate" and "rate" in r})
    res = {}
    for lb, _ in LBS:
        mine = [r for r in runs if r.get("lb") == lb]
        sat = [r for r in mine if r.get("kind") == "sat"]
        d = {"sat": {
            "rps": {"median": med([r.get("rps", 0.0) if r.get("ok") else 0.0 for r in sat]),
                    "runs": [r.get("rps", 0.0) if r.get("ok") else 0.0 for r in sat]},
            "p50_us": {"median": med([r.get("p50_us") for r in sat]), "runs": [r.get("p50_us") for r in sat]},
            "p99_us": {"median": med([r.get("p99_us") for r in sat]), "runs": [r.get("p99_us") for r in sat]},
            "non_2xx": sum(r.get("non_2xx", 0) for r in sat),
            "errors": sum(r.get("errors", 0) for r in sat),
            "late": sum(r.get("timeouts", 0) for r in sat),
            "cpu_busy": [r.get("cpu_busy") for r in sat]}}
        for rate in rates:
            rr = [r for r in mine if r.get("kind") == "rate" and int(r.get("rate", -1)) == rate]
            e = {}
            for k in ("p50_us", "p99_us", "p999_us", "max_us", "achieved_rps"):
                vals = [r.get(k) if r.get("ok") else None for r in rr]
                e[k] = {"median": med(vals), "runs": vals}
            e["non_2xx"] = sum(r.get("non_2xx", 0) for r in rr)
            e["errors"] = sum(r.get("errors", 0) + r.get("parse_errors", 0) for r in rr)
            # Overload rather than failure: requests still unanswered after
            # 5 s, or never sent before the end of the 5 s drain.
            e["late"] = sum(r.get("timeouts", 0) + r.get("unsent", 0) for r in rr)
            e["failed_runs"] = sum(1 for r in rr if not r.get("ok"))
            d["rate_%d" % rate] = e
        d["runs"] = len(sat)
        res[lb] = d

    # Rows: (label, key path, decimals); ratios are LB / haproxy.
    rows = [("throughput req/s (wrk, saturation)", ("sat", "rps"), 0)]
    for rate in rates:
        for k, lab in (("p50_us", "p50"), ("p99_us", "p99"), ("p999_us", "p99.9")):
            rows.append(("%s us @ %d req/s" % (lab, rate), ("rate_%d" % rate, k), 0))
    ratios = {}
    have_base = any(lb == BASE for lb, _ in LBS)
    for lb, _ in LBS:
        if lb == BASE or not have_base:
            continue
        ratios[lb] = {}
        for label, (a, b), _ in rows:
            x = res[lb].get(a, {}).get(b, {}).get("median")
            y = res[BASE].get(a, {}).get(b, {}).get("median")
            ratios[lb]["%s.%s" % (a, b)] = round(x / y, 2) if x is not None and y else None

    others = [lb for lb, _ in LBS if lb != BASE] if have_base else []
    head = ["metric (median of %d)" % max(1, max(res[lb]["runs"] for lb, _ in LBS))] + \
        [n for _, n in LBS] + ["%s/hap" % {"weir_busy": "busy", "weir_backoff": "backoff"}.get(o, o) for o in others]
    table = [head]
    for label, (a, b), nd in rows:
        line = [label]
        for lb, _ in LBS:
            line.append(fmt(res[lb].get(a, {}).get(b, {}).get("median"), nd))
        for o in others:
            r = ratios[o]["%s.%s" % (a, b)]
            line.append("-" if r is None else "%.2f" % r)
        table.append(line)
    errs = ["errors+non-2xx (all runs)"]
    late = ["timeouts+unsent (overload, all runs)"]
    for lb, _ in LBS:
        n = res[lb]["sat"]["non_2xx"] + res[lb]["sat"]["errors"]
        m = res[lb]["sat"]["late"]
        for rate in rates:
            e = res[lb]["rate_%d" % rate]
            n += e["non_2xx"] + e["errors"]
            m += e["late"]
        errs.append(str(n))
        late.append(str(m))
    table.append(errs + [""] * len(others))
    table.append(late + [""] * len(others))
    cpu = ["CPU0/CPU1 busy % at saturation"]
    for lb, _ in LBS:
        c = [x for x in res[lb]["sat"]["cpu_busy"] if x]
        if c:
            c0 = med([x.get("cpu0") for x in c])
            c1 = med([x.get("cpu1") for x in c])
            cpu.append("%s/%s" % (fmt(c0), fmt(c1)))
        else:
            cpu.append("-")
    table.append(cpu + [""] * len(others))
    lbc = ["LB CPU % at sat. (weir: busy cycles)"]
    for lb, _ in LBS:
        sat = [r for r in runs if r.get("lb") == lb and r.get("kind") == "sat"]
        p = med([r.get("lb_proc_cpu_pct") for r in sat])
        w = med([r.get("weir_worker_busy_pct") for r in sat])
        lbc.append("%s (%s)" % (fmt(p), fmt(w)) if w is not None else fmt(p))
        res[lb]["sat"]["lb_proc_cpu_pct"] = p
        res[lb]["sat"]["weir_worker_busy_pct"] = w
    table.append(lbc + [""] * len(others))
    # Efficiency, robust to other work on the LB's CPU: saturation req/s per
    # CPU-second the LB actually used (weir-dp: its process share times the
    # worker's busy-cycle share, i.e. without the spinning).
    eff = ["req/s per LB CPU-second at sat."]
    effv = {}
    for lb, _ in LBS:
        vals = []
        for r in runs:
            if r.get("lb") != lb or r.get("kind") != "sat" or not r.get("ok"):
                continue
            c = r.get("lb_proc_cpu_pct")
            if not c:
                continue
            if r.get("weir_worker_busy_pct") is not None:
                c = c * r["weir_worker_busy_pct"] / 100.0
            if c > 0:
                vals.append(r.get("rps", 0.0) / (c / 100.0))
        effv[lb] = med(vals)
        res[lb]["sat"]["rps_per_cpu"] = {"median": effv[lb], "runs": [round(v, 1) for v in vals]}
        eff.append(fmt(effv[lb]))
    for o in others:
        y = effv.get(BASE)
        eff.append("%.2f" % (effv[o] / y) if effv.get(o) and y else "-")
        ratios[o]["sat.rps_per_cpu"] = round(effv[o] / y, 2) if effv.get(o) and y else None
    table.append(eff)
    sd = ["kernel backlog drops (all runs)"]
    for lb, _ in LBS:
        v = [r.get("softnet_drops") for r in runs if r.get("lb") == lb and r.get("kind") == "sys"]
        v = [x for x in v if isinstance(x, int)]
        sd.append(str(sum(v)) if v else "-")
        res[lb]["softnet_drops"] = sum(v) if v else None
    table.append(sd + [""] * len(others))
    # weir-dp's own view: TCP retransmissions (RTO) and 5xx it answered.
    wc = {}
    try:
        with open(rundir + "/weir_counters.json") as f:
            wc = json.load(f)
    except (OSError, ValueError):
        pass
    if wc:
        row = ["weir TCP retransmits / 5xx (all runs)"]
        for lb, _ in LBS:
            runs_lb = [v for k, v in wc.items() if k.rsplit("-", 1)[0] == lb]
            if not runs_lb:
                row.append("")
                continue
            rx = sum((v.get("tcp") or {}).get("retransmits", 0) or 0 for v in runs_lb)
            e5 = sum((v.get("http") or {}).get("resp_5xx", 0) or 0 for v in runs_lb)
            row.append("%d / %d" % (rx, e5))
        table.append(row + [""] * len(others))
    widths = [max(len(r[i]) for r in table) for i in range(len(head))]
    lines = []
    for i, r in enumerate(table):
        lines.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)).rstrip())
        if i == 0:
            lines.append("-" * len(lines[0]))
    print("\n".join(lines))
    print()
    print("ratios: LB / haproxy (throughput: higher is better; latency: lower is better)")
    loads = [r["load1"] for r in runs if isinstance(r.get("load1"), (int, float))]
    if loads:
        print("machine load (1-min average) during the runs: %.2f..%.2f on %s CPUs"
              % (min(loads), max(loads), params.get("cpus", "?")))
    # Spread: min..max of each cell over the runs, when there is more than one.
    if max(res[lb]["runs"] for lb, _ in LBS) > 1:
        print("spread (min..max over runs):")
        for label, (a, b), _ in rows:
            cells = []
            for lb, n in LBS:
                v = [x for x in res[lb].get(a, {}).get(b, {}).get("runs", []) if x is not None]
                cells.append("%s %s..%s" % (n, fmt(min(v)), fmt(max(v))) if v else "%s -" % n)
            print("  %-34s %s" % (label, "; ".join(cells)))
    for inc in incidents:
        print("INCIDENT: %s" % json.dumps(inc))
    zero = [lb for lb, _ in LBS if not (res[lb]["sat"]["rps"]["median"] or 0) > 0]
    failed = sum(1 for r in runs if not r.get("ok"))
    report = {"params": params, "results": res, "ratios_to_haproxy": ratios,
              "rates": rates, "table": lines, "incidents": incidents,
              "failed_runs": failed, "no_throughput": zero, "weir_counters": wc}
    with open(out_path, "w") as f:
        json.dump(report, f, indent=1)
    return 1 if zero else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "wrk":
        with open(sys.argv[2]) as f:
            text = f.read()
        print(json.dumps(parse_wrk(text, sys.argv[3] if len(sys.argv) > 3 else None)))
        return 0
    if cmd == "cpu":
        print(json.dumps(cpu_busy(sys.argv[2], sys.argv[3])))
        return 0
    if cmd == "lbcpu":  # T0 T1 NS0 NS1 HZ [LCORES0 LCORES1]
        t0, t1, s0, s1, hz = (float(x) for x in sys.argv[2:7])
        out = {"lb_proc_cpu_pct": round(100.0 * (t1 - t0) / hz / ((s1 - s0) / 1e9), 1)}
        try:
            a = json.loads(sys.argv[7])["worker0"]
            b = json.loads(sys.argv[8])["worker0"]
            busy = b["poll_busy_cycles"] - a["poll_busy_cycles"]
            idle = b["poll_idle_cycles"] - a["poll_idle_cycles"]
            out["weir_worker_busy_pct"] = round(100.0 * busy / (busy + idle), 1)
            out["weir_idle_sleeps"] = b["idle_sleeps"] - a["idle_sleeps"]
        except (IndexError, KeyError, ValueError, TypeError, ZeroDivisionError):
            pass
        print(json.dumps(out))
        return 0
    if cmd == "report":
        return report(sys.argv[2], sys.argv[3], sys.argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
