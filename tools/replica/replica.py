#!/usr/bin/python3
"""Weir's Ray Serve replica simulator (ASGI on uvicorn).

    /usr/bin/python3 tools/replica/replica.py --id ID --port PORT [--host H] [--name NAME]

Endpoints: see tools/replica/README.md.  The /big content is defined by
big_chunks() below (also documented in the README so tests can recompute it).
"""

import asyncio
import base64
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcore  # noqa: E402
from simcore import (BadRequest, CloseNow, Exchange, Health, flag_param, header,  # noqa: E402
                     int_param, query, raw_headers, raw_target, read_body,
                     send_json)

# ---------------------------------------------------------------------------
# /big content: a pure function of (total length L, offset).
# The body is cut in 4096-byte pages; page p is the 16 ASCII bytes
# "%015x\n" % p followed by BASE(L), the first 4080 bytes of
# sha256(b"weir-big %d %d" % (L, 0)) || sha256(... % (L, 1)) || ... (128 digests).
# The last page is truncated to L.  kb=K means L = K * 1024.
# ---------------------------------------------------------------------------
BIG_PAGE = 4096
BIG_HDR = 16
BIG_MAX = 4 << 30  # 4 GiB


def big_base(total):
    d = b"".join(hashlib.sha256(b"weir-big %d %d" % (total, j)).digest() for j in range(128))
    return d[:BIG_PAGE - BIG_HDR]


def big_chunks(total, pages_per_chunk=16):
    """Yield the /big body of `total` bytes in chunks of up to 64 KiB."""
    base = big_base(total)
    npages = (total + BIG_PAGE - 1) // BIG_PAGE
    for p0 in range(0, npages, pages_per_chunk):
        p1 = min(p0 + pages_per_chunk, npages)
        chunk = b"".join([b"%015x\n" % p + base for p in range(p0, p1)])
        end = min(p1 * BIG_PAGE, total)
        if end < p1 * BIG_PAGE:
            chunk = chunk[:end - p0 * BIG_PAGE]
        yield chunk


def big_sha256(total):
    h = hashlib.sha256()
    for c in big_chunks(total, 64):
        h.update(c)
    return h.hexdigest()


class Replica:
    def __init__(self, rid, name="", route_prefixes=("/",)):
        self.id = rid
        self.name = name
        self.prefixes = sorted(set(route_prefixes), key=len, reverse=True)
        self.health = Health()
        self.close_after_headers = 0
        self.sha_cache = {}
        self.sha_futs = {}
        self.started = time.time()
        self.in_flight = 0
        self.ws_active = 0
        self.reset()

    def reset(self):
        self.c = {
            "requests_total": 0,      # data-plane requests started (not /-/...)
            "in_flight_max": 0,       # the most in flight at once
            "requests_served": 0,     # ... whose response completed
            "cancelled": 0,           # ... whose client went away first
            "closed_after_headers": 0,
            "bad_requests": 0,
            "errors": 0,              # unexpected exceptions (should stay 0)
            "bytes_received": 0,      # request body bytes (data plane)
            "bytes_sent": 0,          # response body bytes (data plane)
            "ws_sessions_total": 0,
            "ws_messages": 0,
            "admin_requests": 0,
        }
        self.by_endpoint = {}
        self.cancelled_by_endpoint = {}
        self.health.checks = 0

    def stats(self):
        rss, hwm = simcore.mem_kb()
        d = {"replica_id": self.id, "replica_name": self.name, "pid": os.getpid(),
             "uptime_s": round(time.time() - self.started, 3)}
        d.update(self.c)
        d.update({"in_flight": self.in_flight, "ws_sessions_active": self.ws_active,
                  "by_endpoint": self.by_endpoint,
                  "cancelled_by_endpoint": self.cancelled_by_endpoint,
                  "healthz_total": self.health.checks, "health": self.health.as_dict(),
                  "close_after_headers_pending": self.close_after_headers,
                  "rss_kb": rss, "peak_rss_kb": hwm})
        return d

    def local_path(self, path):
        """Path with the app's route prefix removed (for endpoint matching only)."""
        for p in self.prefixes:
            if p == "/":
                return path
            if path == p:
                return "/"
            if path.startswith(p + "/"):
                return path[len(p):]
        return path

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)

    async def http(self, scope, receive, send):
        method = scope["method"]
        lp = self.local_path(scope["path"])
        if lp.startswith("/-/"):
            await self.admin(scope, receive, send, method, lp)
            return

        if method == "GET" and lp == "/stream":
            ep, fn = "stream", self.h_stream
        elif method == "GET" and lp == "/sleep":
            ep, fn = "sleep", self.h_sleep
        elif method in ("GET", "HEAD") and lp == "/big":
            ep, fn = "big", self.h_big
        elif method == "POST" and lp == "/upload":
            ep, fn = "upload", self.h_upload
        else:
            ep, fn = "echo", self.h_echo

        c = self.c
        c["requests_total"] += 1
        self.by_endpoint[ep] = self.by_endpoint.get(ep, 0) + 1
        self.in_flight += 1
        self.c["in_flight_max"] = max(self.c["in_flight_max"], self.in_flight)
        outcome = "error"  # served | cancelled | closed | error
        try:
            body = await read_body(receive, simcore.BODY_KEEP if ep == "echo" else 0)
            c["bytes_received"] += body.length
            if not body.complete:
                outcome = "cancelled"  # client left mid-upload
                return
            if self.close_after_headers > 0:
                self.close_after_headers -= 1
                c["closed_after_headers"] += 1
                outcome = "closed"
                await send({"type": "http.response.start", "status": 200,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", b"1000")]})
                raise CloseNow()  # uvicorn closes the connection
            ex = Exchange(receive, send)
            counting = _CountingSend(ex.send, c)
            try:
                ok = await ex.run(lambda s: fn(scope, body, counting.send))
            except BadRequest as e:
                c["bad_requests"] += 1
                await send_json(send, 400, {"replica_id": self.id, "error": str(e)})
                ok = True
            outcome = "served" if ok else "cancelled"
        finally:
            self.in_flight -= 1
            if outcome == "served":
                c["requests_served"] += 1
            elif outcome == "cancelled":
                c["cancelled"] += 1
                self.cancelled_by_endpoint[ep] = self.cancelled_by_endpoint.get(ep, 0) + 1
            elif outcome == "error":
                c["errors"] += 1

    # ---------------------------------------------------------------- admin
    async def admin(self, scope, receive, send, method, lp):
        body = await read_body(receive, 4096)
        if not body.complete:
            return
        ex = Exchange(receive, send)

        async def fn(s):
            if lp == "/-/healthz" and method in ("GET", "HEAD"):
                await self.health.healthz(s)
                return
            self.c["admin_requests"] += 1
            text = (body.kept or b"").decode("latin-1").strip()
            try:
                if lp == "/-/admin/stats" and method == "GET":
                    await send_json(s, 200, self.stats())
                elif lp == "/-/admin/reset" and method == "POST":
                    self.reset()
                    await send_json(s, 200, self.stats())
                elif lp == "/-/admin/health" and method in ("GET", "POST"):
                    if method == "POST":
                        self.health.set_from_text(text)
                    await send_json(s, 200, self.health.as_dict())
                elif lp == "/-/admin/close-after-headers" and method == "POST":
                    n = int(text) if text else 1
                    if n < 0:
                        raise ValueError
                    self.close_after_headers = n
                    await send_json(s, 200, {"close_after_headers": n})
                else:
                    await send_json(s, 404, {"replica_id": self.id, "error": "unknown admin endpoint",
                                             "path": raw_target(scope)})
            except (BadRequest, ValueError) as e:
                await send_json(s, 400, {"replica_id": self.id, "error": str(e) or "bad body"})

        await ex.run(fn)

    # ------------------------------------------------------------ endpoints
    async def h_echo(self, scope, body, send):
        st = 200
        want = header(scope, "x-echo-status")
        if want:
            try:
                st = int(want)
            except ValueError:
                raise BadRequest("X-Echo-Status must be an integer")
            if not 200 <= st <= 599:
                raise BadRequest("X-Echo-Status must be 200..599")
        client = scope.get("client")
        d = {
            "replica_id": self.id,
            "replica_name": self.name,
            "method": scope["method"],
            "path": raw_target(scope),
            "http_version": scope.get("http_version"),
            "headers": raw_headers(scope),
            "body_len": body.length,
            "body_sha256": body.sha256,
            "client": list(client) if client else None,
        }
        if body.kept is not None:
            try:
                d["body"] = body.kept.decode("utf-8")
            except UnicodeDecodeError:
                d["body"] = body.kept.decode("utf-8", "replace")
                d["body_b64"] = base64.b64encode(body.kept).decode()
        await send_json(send, st, d)

    async def h_upload(self, scope, body, send):
        await send_json(send, 200, {"replica_id": self.id, "body_len": body.length,
                                    "body_sha256": body.sha256})

    async def h_sleep(self, scope, body, send):
        ms = int_param(query(scope), "ms", 1000, 0, 3600000)
        await asyncio.sleep(ms / 1000.0)
        await send_json(send, 200, {"replica_id": self.id, "slept_ms": ms})

    async def h_stream(self, scope, body, send):
        q = query(scope)
        n = int_param(q, "n", 10, 0, 1000000)
        ms = int_param(q, "ms", 100, 0, 3600000)
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
            (b"x-accel-buffering", b"no")]})
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        for i in range(n):
            if i:
                delay = t0 + i * ms / 1000.0 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            await send({"type": "http.response.body", "more_body": True,
                        "body": b"data: %d %d\n\n" % (i, time.time_ns())})
        await send({"type": "http.response.body", "body": b""})

    async def h_big(self, scope, body, send):
        q = query(scope)
        if "bytes" in q:
            total = int_param(q, "bytes", 0, 0, BIG_MAX)
        else:
            total = int_param(q, "kb", 1, 0, BIG_MAX // 1024) * 1024
        chunked = flag_param(q, "chunked")
        hdrs = [(b"content-type", b"application/octet-stream")]
        if not chunked:
            hdrs.append((b"content-length", str(total).encode()))
        if not flag_param(q, "nohash"):
            hdrs.append((b"x-body-sha256", (await self.big_digest(total)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": hdrs})
        if scope["method"] != "HEAD":
            for chunk in big_chunks(total):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def big_digest(self, total):
        d = self.sha_cache.get(total)
        if d is not None:
            return d
        if total <= (4 << 20):
            d = self.sha_cache[total] = big_sha256(total)
            return d
        fut = self.sha_futs.get(total)
        if fut is None:
            # hashing 1 GiB takes a few seconds: do it off the event loop, once
            fut = asyncio.get_running_loop().run_in_executor(None, big_sha256, total)
            self.sha_futs[total] = fut
        try:
            d = await asyncio.shield(fut)
        finally:
            if fut.done():
                self.sha_futs.pop(total, None)
        self.sha_cache[total] = d
        return d

    # ------------------------------------------------------------ websocket
    async def websocket(self, scope, receive, send):
        msg = await receive()
        if msg["type"] != "websocket.connect":
            return
        if self.local_path(scope["path"]) != "/ws":
            await send({"type": "websocket.close", "code": 1008})  # -> HTTP 403
            return
        acc = {"type": "websocket.accept", "headers": [(b"x-replica-id", self.id.encode())]}
        if scope.get("subprotocols"):
            acc["subprotocol"] = scope["subprotocols"][0]
        await send(acc)
        self.c["ws_sessions_total"] += 1
        self.ws_active += 1
        try:
            while True:
                m = await receive()
                if m["type"] == "websocket.receive":
                    self.c["ws_messages"] += 1
                    if m.get("bytes") is not None:
                        out = {"type": "websocket.send", "bytes": m["bytes"]}
                    else:
                        out = {"type": "websocket.send", "text": m.get("text") or ""}
                    try:
                        await send(out)
                    except Exception:
                        break
                elif m["type"] == "websocket.disconnect":
                    break
        finally:
            self.ws_active -= 1


class _CountingSend:
    def __init__(self, send, counters):
        self._send = send
        self._c = counters

    async def send(self, msg):
        if msg["type"] == "http.response.body":
            self._c["bytes_sent"] += len(msg.get("body", b""))
        await self._send(msg)


def main(argv=None):
    p = simcore.base_arg_parser("replica.py", "Ray Serve replica simulator for Weir tests")
    p.add_argument("--route-prefix", action="append", default=None,
                   help="app route prefix stripped before matching endpoints (repeatable; "
                        "the echo still reports the path as received). Default: /")
    p.add_argument("--ws-ping-interval", type=float, default=20.0,
                   help="WebSocket ping interval in s (0 = off; uvicorn default 20)")
    p.add_argument("--health", default="200",
                   help="initial /-/healthz answer: '<status> [<delay_ms>]' (default 200)")
    args = p.parse_args(argv)
    app = Replica(args.id, args.name, args.route_prefix or ["/"])
    try:
        app.health.set_from_text(args.health)
    except BadRequest as e:
        p.error("--health: %s" % e)
    simcore.serve(app, args, ws=True, ws_ping_interval=args.ws_ping_interval or None)


if __name__ == "__main__":
    main()
