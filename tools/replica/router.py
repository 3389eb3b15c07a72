#!/usr/bin/python3
"""Weir's ingress request router simulator (a router replica of a
router-bearing Ray Serve app).

    /usr/bin/python3 tools/replica/router.py --id ID --port PORT --rule RULE [--host H]

POST /internal/route (JSON body = the client's request body, maybe
truncated) answers {"replica_id": "<id>"} according to RULE:
  fixed:<id>                 always <id>
  roundrobin:<id1>,<id2>,..  cycle through the ids
  field:<key>                body[<key>] (400 if the body is not a JSON object with <key>)
  error:<status>             answer <status> (200..599) with a JSON error body
  sleep:<ms>:<id>            answer <id> after <ms> ms (cancelled if the caller leaves)
  garbage                    200 application/json whose body is not JSON
Every request except /-/... is logged; see GET /-/admin/log.
"""

import asyncio
import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcore  # noqa: E402
from simcore import (BadRequest, Exchange, Health, header, int_param, query,  # noqa: E402
                     raw_headers, raw_target, read_body, send_bytes, send_json)

GARBAGE = b"<html>this is not JSON {\"replica_id\": </html>"
ROUTE_BODY_KEEP = 4 << 20  # bodies above this are hashed only (and are not JSON-parsed)


def parse_rule(s):
    """Return (kind, params); raise ValueError with a message."""
    kind, _, rest = s.partition(":")
    if kind == "fixed" and rest:
        return kind, {"id": rest}
    if kind == "roundrobin" and rest:
        ids = [x for x in rest.split(",")]
        if not all(ids):
            raise ValueError("roundrobin: empty id in %r" % rest)
        return kind, {"ids": ids}
    if kind == "field" and rest:
        return kind, {"key": rest}
    if kind == "error":
        try:
            st = int(rest)
        except ValueError:
            raise ValueError("error:<status> needs an integer status")
        if not 200 <= st <= 599:
            raise ValueError("error status must be 200..599")
        return kind, {"status": st}
    if kind == "sleep":
        ms, sep, rid = rest.partition(":")
        try:
            msi = int(ms)
        except ValueError:
            raise ValueError("sleep:<ms>:<id> needs an integer ms")
        if not sep or not rid or not 0 <= msi <= 3600000:
            raise ValueError("sleep:<ms>:<id> needs 0 <= ms <= 3600000 and an id")
        return kind, {"ms": msi, "id": rid}
    if kind == "garbage" and not rest:
        return kind, {}
    raise ValueError("unknown rule %r (fixed:<id> | roundrobin:<a>,<b>,.. | field:<key> | "
                     "error:<status> | sleep:<ms>:<id> | garbage)" % s)


class Router:
    def __init__(self, rid, name, rule, log_max=10000):
        self.id = rid
        self.name = name
        self.health = Health()
        self.set_rule(rule)
        self.log = collections.deque(maxlen=log_max)
        self.seq = 0
        self.in_flight = 0
        self.cancelled = 0
        self.answers = {}

    def set_rule(self, rule):
        self.kind, self.params = parse_rule(rule)
        self.rule = rule
        self.rr = 0

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await receive()
                await send({"type": "websocket.close", "code": 1008})
            return
        method, path = scope["method"], scope["path"]
        if path.startswith("/-/"):
            await self.admin(scope, receive, send, method, path)
            return

        self.seq += 1
        entry = {
            "seq": self.seq,
            "time": time.time(),
            "method": method,
            "path": raw_target(scope),
            "http_version": scope.get("http_version"),
            "headers": raw_headers(scope),
            "content_type": header(scope, "content-type"),
            "content_length": header(scope, "content-length"),
            "x_body_truncated": header(scope, "x-body-truncated"),
            "body_len": None,
            "body_sha256": None,
            "status": None,
            "replica_id": None,
            "rule": self.rule,
            "outcome": "in-flight",
        }
        self.log.append(entry)
        self.in_flight += 1
        try:
            body = await read_body(receive, ROUTE_BODY_KEEP)
            entry["body_len"], entry["body_sha256"] = body.length, body.sha256
            if not body.complete:
                entry["outcome"] = "cancelled"
                self.cancelled += 1
                return
            ex = Exchange(receive, send)

            async def fn(s):
                if path != "/internal/route":
                    entry["status"] = 404
                    await send_json(s, 404, {"error": "not found", "path": entry["path"]})
                elif method != "POST":
                    entry["status"] = 405
                    await send_json(s, 405, {"error": "method not allowed"})
                else:
                    await self.route(body, entry, s)

            done = await ex.run(fn)
            entry["outcome"] = "answered" if done else "cancelled"
            if not done:
                self.cancelled += 1
            else:
                k = str(entry["status"])
                self.answers[k] = self.answers.get(k, 0) + 1
        finally:
            self.in_flight -= 1
            if entry["outcome"] == "in-flight":
                entry["outcome"] = "error"

    async def route(self, body, entry, send):
        kind, p = self.kind, self.params
        rid = None
        if kind == "fixed":
            rid = p["id"]
        elif kind == "roundrobin":
            rid = p["ids"][self.rr % len(p["ids"])]
            self.rr += 1
        elif kind == "field":
            try:
                obj = json.loads(body.kept) if body.kept is not None else None
            except ValueError:
                obj = None
            if not isinstance(obj, dict):
                entry["status"] = 400
                await send_json(send, 400, {"error": "body is not a JSON object"})
                return
            if p["key"] not in obj:
                entry["status"] = 400
                await send_json(send, 400, {"error": "field %r missing" % p["key"]})
                return
            v = obj[p["key"]]
            rid = v if isinstance(v, str) else json.dumps(v)
        elif kind == "error":
            entry["status"] = p["status"]
            await send_json(send, p["status"], {"error": "router configured to fail",
                                                "status": p["status"]})
            return
        elif kind == "sleep":
            await asyncio.sleep(p["ms"] / 1000.0)
            rid = p["id"]
        elif kind == "garbage":
            entry["status"] = 200
            await send_bytes(send, 200, GARBAGE, "application/json")
            return
        entry["status"] = 200
        entry["replica_id"] = rid
        await send_json(send, 200, {"replica_id": rid})

    async def admin(self, scope, receive, send, method, path):
        body = await read_body(receive, 4096)
        if not body.complete:
            return
        text = (body.kept or b"").decode("latin-1").strip()

        async def fn(s):
            try:
                if path == "/-/healthz" and method in ("GET", "HEAD"):
                    await self.health.healthz(s)
                elif path == "/-/admin/log" and method == "GET":
                    since = int_param(query(scope), "since", 0, 0, 1 << 62)
                    reqs = [e for e in self.log if e["seq"] > since]
                    await send_json(s, 200, {"router_id": self.id, "rule": self.rule,
                                             "count": self.seq, "healthz_total": self.health.checks,
                                             "requests": reqs})
                elif (path == "/-/admin/log" and method == "DELETE") or \
                        (path == "/-/admin/log/clear" and method == "POST"):
                    self.log.clear()
                    await send_json(s, 200, {"cleared": True, "count": self.seq})
                elif path == "/-/admin/rule" and method in ("GET", "POST"):
                    if method == "POST":
                        try:
                            self.set_rule(text)
                        except ValueError as e:
                            raise BadRequest(str(e))
                    await send_json(s, 200, {"rule": self.rule})
                elif path == "/-/admin/health" and method in ("GET", "POST"):
                    if method == "POST":
                        self.health.set_from_text(text)
                    await send_json(s, 200, self.health.as_dict())
                elif path == "/-/admin/stats" and method == "GET":
                    await send_json(s, 200, {"router_id": self.id, "router_name": self.name,
                                             "pid": os.getpid(), "rule": self.rule,
                                             "requests_total": self.seq, "in_flight": self.in_flight,
                                             "cancelled": self.cancelled, "answers": self.answers,
                                             "healthz_total": self.health.checks})
                else:
                    await send_json(s, 404, {"error": "unknown admin endpoint"})
            except BadRequest as e:
                await send_json(s, 400, {"error": str(e)})

        await Exchange(receive, send).run(fn)


def main(argv=None):
    p = simcore.base_arg_parser("router.py", "Ray Serve ingress request router simulator")
    p.add_argument("--rule", required=True,
                   help="fixed:<id> | roundrobin:<id1>,<id2>,... | field:<jsonkey> | "
                        "error:<status> | sleep:<ms>:<id> | garbage")
    p.add_argument("--log-max", type=int, default=10000, help="log entries kept (oldest dropped)")
    args = p.parse_args(argv)
    try:
        app = Router(args.id, args.name, args.rule, args.log_max)
    except ValueError as e:
        p.error(str(e))
    simcore.serve(app, args, ws=False)


if __name__ == "__main__":
    main()
