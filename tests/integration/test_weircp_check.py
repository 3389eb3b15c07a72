"""weir-cp --check FILE, as an operator uses it on a target-group file: a good
file gives one summary line (groups, targets, routes in the order they
match) and status 0; a bad one gives the first error, naming the file and
the field, and status 1; a bad command line gives usage and status 2.
Needs no namespace and no root: nothing here reaches a network."""
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from weirlib import BUILD, Tap, run  # noqa: E402

CP = os.path.join(BUILD, "controlplane", "weir-cp")


def target(ip, port, name, **kw):
    return dict(ip=ip, port=port, instance_id="", name=name, **kw)


def group(prefix, app, targets, protocol="HTTP", **kw):
    return dict(protocol=protocol, route_prefix=prefix, app_name=app, targets=targets, **kw)


# The example on shared/ray-serve-interface.md.
RAY_EXAMPLE = {
    "target_groups": [
        {"protocol": "HTTP", "route_prefix": "/llm", "app_name": "llm",
         "targets": [{"ip": "10.0.0.21", "port": 30000, "instance_id": "a1",
                      "name": "SERVE_REPLICA::llm#LLMServer#x1", "replica_id": "x1"}],
         "ingress_request_router_targets": [{"ip": "10.0.0.25", "port": 30004, "instance_id": "r1",
                                             "name": "SERVE_REPLICA::llm#Router#r1"}]}
    ],
    "fallback_targets": {"HTTP": {"ip": "10.0.0.1", "port": 8500, "instance_id": "head",
                                  "name": "SERVE_PROXY_ACTOR-head"}},
}

NESTED = {
    "target_groups": [
        group("/", "root", [target("10.0.0.2", 30000, "SERVE_REPLICA::root#D#1")]),
        group("/a", "a", []),
        group("/a/b", "ab", [target("10.0.0.3", 30001, "r1"), target("10.0.0.4", 30002, "r2")]),
        group("/a/b", "ab", [target("10.0.0.3", 40001, "g1")], protocol="gRPC"),
    ],
    "fallback_targets": [target("10.0.0.1", 8500, "proxy"),
                         dict(target("10.0.0.1", 9500, "proxy"), protocol="gRPC")],
    "some_future_field": {"ignored": True},
}


def write(tmp, name, content):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


def main():
    t = Tap()
    tmp = tempfile.mkdtemp(prefix="weir-cpcheck-")
    try:
        check(t, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    t.done()


def check(t, tmp):
    path = write(tmp, "ray.json", RAY_EXAMPLE)
    r = run([CP, "--check", path])
    want = ("%s: ok: 1 groups (1 HTTP, 0 gRPC), 1 targets, 1 router targets, fallback HTTP; "
            "routes: /llm -> http-llm\n" % path)
    t.ok(r.returncode == 0 and r.stdout == want and r.stderr == "",
         "Ray's example: one summary line, status 0", r.stdout + r.stderr)

    path = write(tmp, "nested.json", NESTED)
    r = run([CP, "--check", path])
    t.ok(r.returncode == 0 and r.stdout.count("\n") == 1 and
         "4 groups (3 HTTP, 1 gRPC), 4 targets, 0 router targets, fallback HTTP+gRPC" in r.stdout and
         r.stdout.endswith("routes: /a/b -> http-ab, /a -> http-a, / -> http-root; gRPC apps: grpc-ab\n"),
         "nested prefixes listed longest first, unknown fields ignored", r.stdout + r.stderr)

    path = write(tmp, "empty.json", {"target_groups": []})
    r = run([CP, "--check", path])
    t.ok(r.returncode == 0 and "0 groups" in r.stdout and "every path 404" in r.stdout,
         "no groups is valid: everything 404", r.stdout + r.stderr)

    bad_port = json.loads(json.dumps(NESTED))
    bad_port["target_groups"][2]["targets"][1]["port"] = 70000
    dup_name = json.loads(json.dumps(NESTED))
    dup_name["target_groups"][2]["targets"][1]["name"] = "r1"
    bad = {
        "port.json": (bad_port, "target_groups[2].targets[1].port: 70000 is out of range (1-65535)"),
        "dup.json": (dup_name, 'target_groups[2].targets[1].name: "r1" duplicates targets[0]'),
        "ip.json": ({"target_groups": [group("/", "d", [target("10.0.0.256", 1, "r")])]},
                    'target_groups[0].targets[0].ip: "10.0.0.256" is not an IPv4 address'),
        "prefix.json": ({"target_groups": [group("app", "d", [])]},
                        "target_groups[0].route_prefix: \"app\" must start with '/'"),
        "same_route.json": ({"target_groups": [group("/x", "a", []), group("/x", "b", [])]},
                            'target_groups[1].route_prefix: "/x" is already used by target_groups[0] (HTTP)'),
        "proto.json": ({"target_groups": [group("/", "d", [], protocol="TCP")]},
                       'target_groups[0].protocol: "TCP" is not "HTTP" or "gRPC"'),
        "no_groups.json": ({"fallback_targets": {}}, "target_groups: missing"),
        "fallback.json": ({"target_groups": [], "fallback_targets": {"HTTP": {"ip": "10.0.0.1", "name": "p"}}},
                          "fallback_targets.HTTP.port: missing"),
        "not_json.json": ('{"target_groups": [', "not valid JSON"),
        "empty_file.json": ("", "not valid JSON"),
    }
    for name, (content, want) in bad.items():
        path = write(tmp, name, content)
        r = run([CP, "--check", path])
        line = r.stderr.strip()
        t.ok(r.returncode == 1 and r.stdout == "" and r.stderr.count("\n") == 1 and
             line.startswith("weir-cp: %s: %s" % (path, want)),
             "--check %s: status 1, '%s'" % (name, want), r.stdout + r.stderr)

    r = run([CP, "--check", os.path.join(tmp, "missing.json")])
    t.ok(r.returncode == 1 and "missing.json: No such file" in r.stderr, "a missing file is named", r.stderr)
    r = run([CP, "--check", tmp])
    t.ok(r.returncode == 1 and tmp in r.stderr, "a directory is refused", r.stderr)
    for args in (["--check"], ["--check", "a", "b"], ["--chek", "x"]):
        r = run([CP] + args)
        t.ok(r.returncode == 2 and "usage" in r.stderr and "--check FILE" in r.stderr,
             "weir-cp %s: usage, status 2" % " ".join(args), r.stderr)
    r = run([CP, "--version"])
    t.ok(r.returncode == 0 and r.stdout.startswith("weir-cp "), "--version still works", r.stderr)
    cfg = write(tmp, "dp.json", {"port": {"iface": "lb0"}, "vips": ["10.77.0.10"], "local_ip": "10.77.0.11"})
    r = run([os.path.join(BUILD, "weir-dp"), "--check-config", cfg])
    t.ok(r.returncode == 0 and "ok" in r.stdout, "weir-dp --check-config checks weir-dp's file", r.stderr)
    r = run([CP, "--check", cfg])
    t.ok(r.returncode == 1 and "target_groups: missing" in r.stderr,
         "a weir-dp config is not a target-group file", r.stderr)


if __name__ == "__main__":
    main()
