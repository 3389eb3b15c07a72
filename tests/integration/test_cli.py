"""Bad command lines and bad config files: every program answers with a
clear message naming the problem and a non-zero status, never a crash.
Needs no namespace: nothing here reaches a network."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import BUILD, Tap, api, run  # noqa: E402

DP = os.path.join(BUILD, "weir-dp")
CP = os.path.join(BUILD, "controlplane", "weir-cp")
CTL = os.path.join(BUILD, "tools", "weirctl", "weirctl")
GOOD = {"port": {"iface": "lb0"}, "vips": ["10.77.0.10"], "local_ip": "10.77.0.11"}


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text if isinstance(text, str) else json.dumps(text))
    return path


def crashed(r):
    return r.returncode < 0 or r.returncode > 2


def main():
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="weir-cli-")
    good = write(tmp, "good.json", GOOD)
    r = run([DP, "--check-config", good])
    t.ok(r.returncode == 0 and "ok" in r.stdout, "weir-dp --check-config accepts a good file", r.stderr)
    r = run([CP, "--check-config", good])
    t.ok(r.returncode == 2 and "weir-dp --check-config" in r.stderr,
         "weir-cp --check-config says where it went (weir-cp has no dataplane code)", r.stderr)
    bad = {
        "no_iface.json": ({"port": {}, "vips": ["10.77.0.10"], "local_ip": "10.77.0.11"}, "port.iface: missing"),
        "bad_vip.json": (dict(GOOD, vips=["10.77.0.300"]), "vips[0]:"),
        "typo.json": (dict(GOOD, wrokers=2), "wrokers: unknown key"),
        "workers.json": (dict(GOOD, workers=99), "workers:"),
        "same_ip.json": (dict(GOOD, local_ip="10.77.0.10"), "local_ip: must differ"),
        "not_json.json": ("{\"port\": ", "not valid JSON"),
        "empty.json": ("", "not valid JSON"),
        "binary.json": ("\x00\x01\x02garbage", "not valid JSON"),
        "tg_key.json": (dict(GOOD, http={"target_groups": "/x.json"}),
                        "http.target_groups: tables come from weir-cp now"),
        "balance.json": (dict(GOOD, http={"balance": "roundrobin"}), "http.balance: the table carries it now"),
        "table_kb.json": (dict(GOOD, control={"table_kb": 10}), "control.table_kb"),
        "control_key.json": (dict(GOOD, control={"tables": 1}), "control.tables: unknown key"),
        "alog_pow2.json": (dict(GOOD, control={"access_log_records": 48}),
                           "control.access_log_records: 48 is not a power of two"),
        "alog_max.json": (dict(GOOD, control={"access_log_records": 1 << 20}), "control.access_log_records"),
    }
    for name, (content, want) in bad.items():
        path = write(tmp, name, content)
        r = run([DP, "--check-config", path])
        t.ok(r.returncode == 1 and want in r.stderr and path in r.stderr,
             "weir-dp --check-config %s: '%s'" % (name, want), r.stdout + r.stderr)
        r = run([DP, "--", "--config", path])
        t.ok(r.returncode == 1 and want in r.stderr,
             "weir-dp refuses %s before EAL init: '%s'" % (name, want), r.stdout + r.stderr)
    r = run([DP, "--check-config", os.path.join(tmp, "missing.json")])
    t.ok(r.returncode == 1 and "No such file" in r.stderr, "weir-dp --check-config: a missing file is named", r.stderr)
    for args in ([], ["--bogus"], ["run", "--bogus"], ["run", "extra"]):
        r = run([CP] + args)
        t.ok(r.returncode == 2 and "usage" in r.stderr, "weir-cp %s: usage, status 2" % args, r.stderr)
    for args in ([], ["--config", good], ["--", "--config"], ["--", "--bogus"], ["--", "--config", good, "extra"]):
        r = run([DP] + args)
        t.ok(r.returncode == 2 and "usage" in r.stderr and not crashed(r),
             "weir-dp %s: usage, status 2" % args, r.stdout + r.stderr)
    big = write(tmp, "big.json", dict(GOOD, memory={"mbufs": 4000000}))
    r = run([DP, "--file-prefix=wtclibig", "--", "--config", big], timeout=120)
    t.ok(r.returncode == 1 and "memory.mbufs" in r.stdout + r.stderr and "do not fit" in r.stdout + r.stderr,
         "weir-dp refuses a pool larger than its hugepages, naming memory.mbufs", r.stdout + r.stderr)
    r = run([DP, "--version"])
    t.ok(r.returncode == 0 and "weir-dp 0." in r.stdout, "weir-dp --version", r.stdout)
    cases = [([], 2, "usage"), (["show"], 2, "usage"), (["show", "nope"], 2, "unknown object"),
             (["list", "stats"], 2, "usage"), (["--prefix", "../x", "show", "stats"], 2, "--prefix"),
             (["--bogus", "show", "stats"], 2, "usage"),
             (["--prefix", "nosuchweir", "show", "stats"], 1, "cannot query")]
    for args, code, want in cases:
        r = run([CTL] + args)
        t.ok(r.returncode == code and want in r.stderr, "weirctl %s: status %d, '%s'" % (args, code, want),
             r.stdout + r.stderr)
    api_checks(t, tmp)
    t.done()


def api_checks(t, tmp):
    """weir-cp run with no weir-dp yet: the API validates and keeps pushes,
    and every bad input gets an error naming it, changing nothing."""
    import signal
    import subprocess
    import time
    sock = os.path.join(tmp, "cp.sock")
    p = subprocess.Popen([CP, "run", "--dp", "wtclinodp", "--api", sock, "--state-dir", tmp],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        st, j = api(sock, "GET", "/api/v1/info")
        t.ok(st == 200 and j["ok"] and j["dataplane"]["attached"] is False and j["table"]["generation"] == 0,
             "weir-cp run: /api/v1/info without a weir-dp", str(j))
        good = json.dumps([{"protocol": "HTTP", "route_prefix": "/", "app_name": "a",
                            "targets": [{"ip": "10.0.0.5", "port": 8000, "instance_id": "", "name": "a1"}]}])
        st, j = api(sock, "PUT", "/api/v1/target_groups", good)
        t.ok(st == 200 and j["ok"] and j["pending"] is True, "a valid push is kept pending", str(j))
        bad = [("PUT", "/api/v1/target_groups", good.replace("8000", "70000"), 400, "targets[0].port"),
               ("PUT", "/api/v1/target_groups", good.replace("10.0.0.5", "10.0.0.256"), 400, "targets[0].ip"),
               ("PUT", "/api/v1/target_groups", "{\"target_groups\": [", 400, "not valid JSON"),
               ("PUT", "/api/v1/target_groups", "{}", 400, "target_groups: missing"),
               ("PUT", "/api/v1/target_groups", "42", 400, "top level"),
               ("PUT", "/api/v1/fallback_targets", "{\"HTTP\": {\"ip\": \"1.2.3.4\"}}", 400, "fallback_targets.HTTP"),
               ("PUT", "/api/v1/target_groups", " " * (17 << 20), 413, "body over"),
               ("GET", "/api/v1/nope", None, 404, "no such endpoint"),
               ("DELETE", "/api/v1/table", None, 405, "method not allowed")]
        for method, path, body, code, want in bad:
            st, j = api(sock, method, path, body)
            t.ok(st == code and j and j["ok"] is False and want in j["error"],
                 "weir-cp API %s %s -> %d '%s'" % (method, path, code, want), "%s %s" % (st, j))
        st, j = api(sock, "GET", "/api/v1/table")
        doc = j and j.get("document") or {}
        t.ok(st == 200 and j["table"]["pushes"] == 1 and j["table"]["refused"] == 6 and
             doc.get("target_groups", [{}])[0].get("targets", [{}])[0].get("port") == 8000,
             "the refused pushes changed nothing: the table is the valid push", str(j))
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = None
    t.ok(rc == 0 and not os.path.exists(sock), "weir-cp stops on SIGTERM and removes its socket", p.stdout.read())


if __name__ == "__main__":
    main()
