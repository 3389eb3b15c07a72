"""TIME_WAIT without TCBs (#20), from a client's side: a closed-loop Linux
client opens a new connection per request to weir-dp's `source` test app
(64 bytes, then weir-dp closes first, so every connection ends in TIME_WAIT
on weir-dp's side) and must get 20,000 answers in a row with none refused,
from a TCB pool of 256 that TIME_WAIT used to fill within 256 closes. The
records stay within tcp.max_time_wait, and after 2 x tcp.time_wait_ms the
TCBs and the TIME_WAIT table are back to their baseline.

WEIR_TW_LONG=1 is the documented long mode: 60 s (WEIR_TW_SECONDS) at the
highest rate the testbed reaches (8 closed loops), same checks. Not in CI.
The connections per second reached are printed as a TAP comment."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import BUILD, Tap, Testbed, WeirDP, delta, run  # noqa: E402

TCPBENCH = os.path.join(BUILD, "tools", "bench", "weir-tcpbench")
PORT, BYTES = 9002, 64
TIME_WAIT_MS = 2000
MAX_TCBS, MAX_TW = 256, 65536
COUNT = 20000


def closed_loop(tb, args, timeout):
    r = run([TCPBENCH, "cps", tb.vip, str(PORT), "--source", str(BYTES), *args,
             "--timeout", str(timeout)], ns=tb.ns_cli, timeout=timeout + 30)
    lines = [l for l in r.stdout.splitlines() if l.startswith("{")]
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"ok": False, "err": r.stdout[-500:] + r.stderr[-500:]}


def wait_baseline(dp, base, tb, timeout):
    """Polls /weir/tcp until TCBs and the TIME_WAIT table are back to base
    (af_xdp reaps sent mbufs on later TX bursts: a ping flushes them)."""
    deadline = time.time() + timeout
    while True:
        tcp = dp.telemetry("/weir/tcp")
        if (tcp["connections"] == 0 and tcp["tcbs_free"] == base["tcbs_free"]
                and tcp["time_wait"] == 0) or time.time() > deadline:
            return tcp
        time.sleep(0.1)


def check_run(t, tb, dp, base, tag, res, expect_count):
    t0 = dp.telemetry("/weir/tcp")
    print("# %s: %s" % (tag, json.dumps(res)), flush=True)
    n = res.get("completed", 0)
    t.ok(res.get("ok") and (expect_count is None or n == expect_count) and res.get("failed") == 0
         and res.get("timeouts") == 0 and res.get("corrupt") == 0,
         "%s: %d connections answered in full, none failed or timed out" % (tag, n), res)
    t.ok(res.get("refused") == 0, "%s: no connection refused (RST)" % tag, res)
    d = delta(t0, base)
    print("# %s: %.0f connections/s; weir-dp counters: %s" % (tag, res.get("cps", 0), json.dumps(d)),
          flush=True)
    t.ok(d.get("nomem_tcb", 0) == 0 and d.get("resets_sent", 0) == 0,
         "%s: weir-dp never ran out of TCBs nor sent a RST" % tag, d)
    t.ok(d.get("tw_entered", 0) >= n and n > 0,
         "%s: every connection went through a TIME_WAIT record (%d entered)" % (tag, d.get("tw_entered", 0)), d)
    t.ok(t0["time_wait"] <= t0["time_wait_max"],
         "%s: records held (%d) within tcp.max_time_wait x workers (%d)" % (tag, t0["time_wait"], t0["time_wait_max"]),
         t0)
    end = wait_baseline(dp, base, tb, 2 * TIME_WAIT_MS / 1000.0)
    t.ok(end["connections"] == 0 and end["tcbs_free"] == base["tcbs_free"] and end["time_wait"] == 0,
         "%s: within 2 x tcp.time_wait_ms, TCBs (%d free) and TIME_WAIT (%d) back to baseline"
         % (tag, end["tcbs_free"], end["time_wait"]), end)
    d = delta(end, base)
    gone = d.get("tw_expired", 0) + d.get("tw_evicted", 0) + d.get("tw_reused", 0) + d.get("tw_killed", 0)
    t.ok(gone == d.get("tw_entered", 0),
         "%s: every record accounted for (expired %d, evicted %d)" % (tag, d.get("tw_expired", 0),
                                                                      d.get("tw_evicted", 0)), d)


def main():
    t = Tap()
    long_mode = os.environ.get("WEIR_TW_LONG") == "1"
    extra = {"test_apps": [{"port": PORT, "mode": "source", "bytes": BYTES}],
             "tcp": {"max_connections": MAX_TCBS, "max_time_wait": MAX_TW, "time_wait_ms": TIME_WAIT_MS}}
    tb = Testbed("wttw", replicas=1)
    dp = WeirDP(tb, workers=1, extra=extra)
    try:
        run(["ping", "-c", "3", "-i", "0.05", "-q", tb.vip], ns=tb.ns_cli)
        base = dp.telemetry("/weir/tcp")
        t.ok(base["tcbs_max"] == MAX_TCBS and base["time_wait_max"] == MAX_TW and
             0 < base["time_wait_bytes_per_record"] < 200,
             "weirctl's /weir/tcp shows both tables (%d TCBs, %d TIME_WAIT records of %d bytes)"
             % (base["tcbs_max"], base["time_wait_max"], base["time_wait_bytes_per_record"]), base)
        wctl = run([os.path.join(BUILD, "tools", "weirctl", "weirctl"), "--prefix", dp.prefix, "show", "tcp"])
        t.ok(wctl.returncode == 0 and "time_wait_max" in wctl.stdout and "tcbs_max" in wctl.stdout,
             "weirctl show tcp prints them", wctl.stdout + wctl.stderr)
        res = closed_loop(tb, ["--conc", "1", "--count", str(COUNT)], 240)
        check_run(t, tb, dp, base, "%d in a row" % COUNT, res, COUNT)
        if long_mode:
            secs = os.environ.get("WEIR_TW_SECONDS", "60")
            base = dp.telemetry("/weir/tcp")
            res = closed_loop(tb, ["--conc", "8", "--duration", secs], int(float(secs)) + 60)
            check_run(t, tb, dp, base, "long mode %s s" % secs, res, None)
    finally:
        rc = dp.stop()
        tb.down()
    t.ok(rc == 0, "weir-dp stops cleanly", dp.output()[-1500:])
    t.done()


if __name__ == "__main__":
    main()
