"""raycfg: writes HAProxy configs shaped like the ones Ray Serve's
HAProxyManager generates (python/ray/serve/_private/haproxy_templates.py),
written by hand from reading that template: the same sections, directives,
ACL names, rule order and blank lines for unset timeouts. Used by
test_weir_haproxy.py to replay Ray's sequence of configs, and to write the
fixture corpus in tests/fixtures/haproxy/ (python3 raycfg.py OUTDIR).

An app is a dict: {"name", "prefix", "servers": [(actor_name, ip, port)],
"protocol": "HTTP"|"gRPC", "routers": [(actor_name, ip, port)]}."""
import json
import os
import re
import sys

HEALTHY, DRAINING, NOT_POPULATED = "success", "This node is being drained.", "Route table is not populated yet."


def safe_name(name):
    """Ray's get_safe_name: '#' -> '-', '/' -> '.', other runs of
    characters outside [A-Za-z0-9._-] -> '_'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name.replace("#", "-").replace("/", "."))


def backend_name(app):
    return safe_name("%s-%s" % (app.get("protocol", "HTTP").lower(), app["name"]))


def _sorted(apps):
    return sorted(apps, key=lambda a: (-len(a["prefix"]), a["prefix"]))


def _global(o, sock, lua, bufsize):
    o += ["global",
          "    log /dev/log local0 debug",
          "    stats socket %s mode 666 level admin expose-fd listeners" % sock,
          "    stats timeout 30s",
          "    maxconn 20000",
          "    nbthread 4"]
    if lua:
        o.append("    lua-load-per-thread %s" % lua)
    o.append("    tune.bufsize %d" % bufsize)
    o.append("    hard-stop-after 120s")


def _defaults(o, errorfile, extra_defaults=()):
    o += ["defaults", "    mode http", "    option log-health-checks",
          "    ", "    timeout client 3600s", "    ", "    ",
          "    timeout http-keep-alive 90s", "    ",
          "    log global", "    option httplog", "    option abortonclose",
          "    option splice-request", "    option splice-response",
          "    # Set TCP_NODELAY on all connections", "    option http-no-delay",
          "    # Normalize 502 and 504 errors to 500 per Serve's default behavior",
          "    errorfile 502 %s" % errorfile, "    errorfile 504 %s" % errorfile]
    o += ["    " + l for l in extra_defaults]
    o.append("    balance leastconn")


def _healthz(o, http, health):
    o += ["    # Health check endpoint", "    acl healthcheck path -i /-/healthz",
          "    # Suppress logging for health checks",
          "    http-request set-log-level silent if healthcheck"]
    if health != HEALTHY:
        o.append('    http-request return status 503 content-type text/plain string "%s" if healthcheck' % health)
    elif http:
        for a in http:
            o.append("    acl backend_%s_server_up nbsrv(%s) ge 1" % (backend_name(a), backend_name(a)))
        for a in http:
            o.append('    http-request return status 200 content-type text/plain string "success" '
                     "if healthcheck backend_%s_server_up" % backend_name(a))
        o.append('    http-request return status 503 content-type text/plain string "Service Unavailable" if healthcheck')


def _routes(o, http, health):
    o += ["    # Routes endpoint", "    acl routes path -i /-/routes"]
    if health == HEALTHY:
        msg = json.dumps({a["prefix"]: a["name"] for a in http}, separators=(",", ":"))
        msg = msg.replace("\\", "\\\\").replace('"', '\\"')
        o.append('    http-request return status 200 content-type application/json string "%s" if routes' % msg)
    else:
        o.append('    http-request return status 503 content-type text/plain string "%s" if routes' % health)


def _frontend(o, http, health, router):
    o += ["frontend prometheus", "    bind :9101", "    mode http",
          "    http-request use-service prometheus-exporter if { path /metrics }", "    no log",
          "frontend http_frontend", "    bind *:8000"]
    _healthz(o, http, health)
    _routes(o, http, health)
    for a in http:
        p = a["prefix"]
        o.append("    acl is_%s path_beg %s" % (backend_name(a), "/" if p == "/" else p + "/"))
        o.append("    acl is_%s path %s" % (backend_name(a), p))
    if router:
        for a in http:
            if a.get("routers"):
                o.append("    http-request set-var(txn.ingress_request_router_app) str(%s) if is_%s "
                         "!{ var(txn.ingress_request_router_app) -m found }" % (backend_name(a), backend_name(a)))
        o += ["    acl has_ingress_request_router_app var(txn.ingress_request_router_app) -m found",
              "    http-request wait-for-body time 5s if METH_POST has_ingress_request_router_app",
              "    http-request lua.route_via_ingress_request_router if METH_POST has_ingress_request_router_app",
              '    http-request return status 503 content-type text/plain lf-string '
              '"Ingress request router failed: %[var(txn.ingress_request_router_failed)]" '
              "hdr X-Serve-Reason %[var(txn.ingress_request_router_failed)] "
              "if { var(txn.ingress_request_router_failed) -m found }"]
    o.append("    # Static routing based on path prefixes in decreasing length then alphabetical order")
    for a in http:
        if router and a.get("routers"):
            o.append("    use_backend %s-via-ingress-request-router if is_%s { var(txn.via_ingress_request_router) -m found }"
                     % (backend_name(a), backend_name(a)))
        o.append("    use_backend %s if is_%s" % (backend_name(a), backend_name(a)))
    o += ["    default_backend default_backend", "backend default_backend",
          "    http-request return status 404 content-type text/plain lf-string "
          "\"Path \\'%[path]\\' not found. Ping http://.../-/routes for available routes.\""]


def _http_backend(o, a, fallback, router):
    be = backend_name(a)
    o += ["backend %s" % be, "    log global", "    # Enable HTTP connection reuse for better performance",
          "    http-reuse always", "    # Health check configuration - use backend-specific or global defaults",
          "    option httpchk GET /-/healthz", "    http-check expect status 200",
          "    default-server fastinter 250ms downinter 250ms fall 2 rise 2 inter 5s check",
          "    # Servers in this backend"]
    for name, ip, port in a["servers"]:
        o.append("    server %s %s:%d check" % (safe_name(name), ip, port))
    if fallback:
        o.append("    server %s %s:%d check backup" % (safe_name(fallback[0]), fallback[1], fallback[2]))
    if router and a.get("routers"):
        o += ["backend %s-via-ingress-request-router" % be, "    log global", "    http-reuse always",
              "    option redispatch"]
        for name, _, _ in a["servers"]:
            o.append('    use-server %s if { var(txn.ingress_request_router_target) -m str "%s" }'
                     % (safe_name(name), safe_name(name)))
        for name, ip, port in a["servers"]:
            o.append("    server %s %s:%d track %s/%s" % (safe_name(name), ip, port, be, safe_name(name)))


def _grpc(o, grpc, health, fallback):
    o += ["frontend grpc_frontend", "    bind *:9000 proto h2", "    mode http", "    log global", "",
          "    # Health check endpoint (gRPC `Healthz`)",
          "    acl is_healthz path /ray.serve.RayServeAPIService/Healthz",
          "    http-request set-log-level silent if is_healthz"]
    if health != HEALTHY:
        o.append('    http-request return status 200 content-type application/grpc hdr grpc-status 14 '
                 'hdr grpc-message "%s" if is_healthz' % health)
    else:
        for a in grpc:
            o.append("    acl backend_%s_server_up nbsrv(%s) ge 1" % (backend_name(a), backend_name(a)))
        for a in grpc:
            o.append("    http-request return status 200 content-type application/grpc hdr grpc-status 0 "
                     "if is_healthz backend_%s_server_up" % backend_name(a))
        o.append('    http-request return status 200 content-type application/grpc hdr grpc-status 14 '
                 'hdr grpc-message "Service Unavailable" if is_healthz')
    o += ["", "    acl is_list_applications path /ray.serve.RayServeAPIService/ListApplications"]
    o.append("    use_backend grpc_fallback_backend if is_list_applications" if fallback else
             '    http-request return status 200 content-type application/grpc hdr grpc-status 14 '
             'hdr grpc-message "ListApplications is unavailable" if is_list_applications')
    for a in grpc:
        o.append("    acl is_%s req.hdr(application) -m str %s" % (backend_name(a), a["name"]))
        o.append("    use_backend %s if is_%s" % (backend_name(a), backend_name(a)))
    o.append("    default_backend %s" % (backend_name(grpc[0]) if len(grpc) == 1 else "default_grpc_backend"))
    if fallback:
        o += ["backend grpc_fallback_backend", "    mode http", "    log global",
              "    server %s %s:%d proto h2 check" % (safe_name(fallback[0]), fallback[1], fallback[2])]
    if len(grpc) != 1:
        o += ["backend default_grpc_backend", "    mode http", "    log global",
              "    acl has_application_header req.hdr(application) -m found",
              '    http-request return status 200 content-type application/grpc hdr grpc-status 5 '
              'hdr grpc-message "Application \'%[req.hdr(application)]\' not found." if has_application_header']
    for a in grpc:
        o += ["backend %s" % backend_name(a), "    mode http", "    log global", "    http-reuse always",
              "    option tcp-check", "    default-server fastinter 250ms downinter 250ms fall 2 rise 2 inter 5s check"]
        for name, ip, port in a["servers"]:
            o.append("    server %s %s:%d proto h2" % (safe_name(name), ip, port))
        if fallback:
            o.append("    server %s %s:%d proto h2 backup" % (safe_name(fallback[0]), fallback[1], fallback[2]))


def render(apps, sock, errorfile, fallback=None, grpc_fallback=None, health=HEALTHY, lua=None,
           extra_defaults=(), cp_socket=None):
    """The config text. fallback: (actor_name, ip, port) or None."""
    apps = _sorted(apps)
    http = [a for a in apps if a.get("protocol", "HTTP") == "HTTP"]
    grpc = [a for a in apps if a.get("protocol") == "gRPC"]
    router = bool(lua)
    o = []
    _global(o, sock, lua, 262144 if router else 16384)
    if cp_socket:
        o.append("    weir-cp-socket %s" % cp_socket)
    _defaults(o, errorfile, extra_defaults)
    _frontend(o, http, health, router)
    for a in http:
        _http_backend(o, a, fallback, router)
    if grpc:
        _grpc(o, grpc, health, grpc_fallback)
    o += ["listen stats", "  bind *:8404", "  stats enable", "  stats uri /stats", "  stats refresh 1s"]
    return "\n".join(o) + "\n"


def render_lua(apps):
    """Ray's router Lua, only the two tables weir-haproxy reads."""
    http = [a for a in _sorted(apps) if a.get("routers")]
    routers = ",\n".join('    ["%s"] = { host = "%s", port = %d, host_header = "%s:%d" }'
                         % (backend_name(a), min(a["routers"], key=lambda r: (r[1], r[2]))[1],
                            min(a["routers"], key=lambda r: (r[1], r[2]))[2],
                            min(a["routers"], key=lambda r: (r[1], r[2]))[1],
                            min(a["routers"], key=lambda r: (r[1], r[2]))[2]) for a in http)
    targets = ",\n".join('    ["%s"] = {\n' % backend_name(a) +
                         ",\n".join('        ["%s"] = "%s"' % (n, safe_name(n)) for n, _, _ in a["servers"])
                         + "\n    }" for a in http)
    return ("local ROUTER_REQUEST_TIMEOUT_S = 5\nlocal FORWARD_BODY = true\n\n"
            "local ROUTERS = {\n%s\n}\nlocal REPLICA_TARGETS = {\n%s\n}\n" % (routers, targets))


def replica(app, dep, rid, ip, port=30000):
    return ("SERVE_REPLICA::%s#%s#%s" % (app, dep, rid), ip, port)


HEAD = ("SERVE_PROXY_ACTOR-head", "10.0.0.1", 8500)
GRPC_HEAD = ("SERVE_PROXY_ACTOR-head", "10.0.0.1", 9500)


def corpus(out):
    """The fixture corpus (tests/fixtures/haproxy/)."""
    sock, ef = "/tmp/weir-hap-fixture/admin.sock", "@DIR@/500.http"
    app = lambda n, p, k, **kw: dict(name=n, prefix=p, servers=[replica(n, "App", "r%d" % i, "10.0.0.%d" % (20 + i))
                                                                 for i in range(1, k + 1)], **kw)
    files = {
        "ray_unpopulated.cfg": render([], sock, ef, health=NOT_POPULATED),
        "ray_0apps.cfg": render([], sock, ef, fallback=HEAD),
        "ray_1app.cfg": render([app("app", "/app", 1)], sock, ef, fallback=HEAD),
        "ray_3apps.cfg": render([app("app1", "/app1", 2), app("root", "/", 1), app("deep", "/app2/v1", 3)],
                                sock, ef, fallback=HEAD),
        "ray_scaled_zero.cfg": render([app("app", "/app", 0), app("other", "/other", 1)], sock, ef,
                                      fallback=HEAD),
        "ray_draining.cfg": render([app("app", "/app", 2)], sock, ef, fallback=HEAD, health=DRAINING),
        "ray_router.cfg": render([app("llm", "/llm", 2, routers=[replica("llm", "Router", "q1", "10.0.0.25", 30004)])],
                                 sock, ef, fallback=HEAD, lua="@DIR@/ingress_request_router.lua"),
        "ray_grpc.cfg": render([app("app", "/app", 1), dict(app("app", "/app", 2), protocol="gRPC")],
                               sock, ef, fallback=HEAD, grpc_fallback=GRPC_HEAD),
    }
    files["ingress_request_router.lua"] = render_lua(
        [app("llm", "/llm", 2, routers=[replica("llm", "Router", "q1", "10.0.0.25", 30004)])])
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)


if __name__ == "__main__":
    corpus(sys.argv[1])
