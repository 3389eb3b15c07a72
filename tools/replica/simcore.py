"""Shared plumbing of Weir's Ray Serve simulators (replica.py, router.py).

Plain ASGI on Debian's uvicorn 0.17 (h11 HTTP/1.1, `websockets` for WebSocket).
Run the apps with /usr/bin/python3 (the pyenv python3 on PATH does not see
Debian's dist-packages).  Only the standard library is imported at module
level, so tests may import this file without uvicorn.
"""

import argparse
import asyncio
import hashlib
import json
import logging
import os
import socket
import sys
import time
from urllib.parse import parse_qsl

BODY_KEEP = 64 * 1024  # echo bodies up to this size are returned as text


class BadRequest(Exception):
    """Raised by handlers for a 400 answer (bad query parameter...)."""


class CloseNow(Exception):
    """Raised after the response headers went out: uvicorn then closes the
    connection (used by close-after-headers).  Its log record is filtered."""


class _DropCloseNow(logging.Filter):
    def filter(self, record):
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, CloseNow)


# --------------------------------------------------------------------------
# HTTP protocol: uvicorn's h11 protocol, plus the raw request target and the
# header names as they arrived (uvicorn lowercases names and splits the
# query off the path; an echo server for a load balancer wants the bytes).
# --------------------------------------------------------------------------
def make_protocol_class():
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class RawH11Protocol(H11Protocol):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._weir_raw = None
            orig_next_event = self.conn.next_event

            def next_event():
                ev = orig_next_event()
                if type(ev) is h11.Request:
                    self._weir_raw = (ev.target, list(ev.headers.raw_items()))
                return ev

            self.conn.next_event = next_event

        def handle_events(self):
            super().handle_events()
            # The request task was created by super().handle_events() but has
            # not run yet (same loop iteration): annotate its scope now.
            raw = self._weir_raw
            if raw is not None and self.scope is not None:
                self.scope["weir.raw_target"] = raw[0]
                self.scope["weir.raw_headers"] = raw[1]
                self._weir_raw = None

    return RawH11Protocol


# --------------------------------------------------------------------------
# Request helpers
# --------------------------------------------------------------------------
def raw_target(scope):
    """The request target exactly as received (path + '?' + query)."""
    t = scope.get("weir.raw_target")
    if t is not None:
        return t.decode("latin-1")
    rp = scope.get("raw_path") or scope["path"].encode()
    if isinstance(rp, str):
        rp = rp.encode("latin-1")
    qs = scope.get("query_string") or b""
    return (rp + (b"?" + qs if qs else b"")).decode("latin-1")


def raw_headers(scope):
    """[[name, value], ...] in arrival order, names with their original case."""
    hs = scope.get("weir.raw_headers") or scope.get("headers") or []
    return [[n.decode("latin-1"), v.decode("latin-1")] for n, v in hs]


def header(scope, name):
    """First value of a header (case-insensitive), or None."""
    name = name.lower().encode()
    for n, v in scope.get("headers") or []:
        if n == name:
            return v.decode("latin-1")
    return None


def query(scope):
    qs = (scope.get("query_string") or b"").decode("latin-1")
    return dict(parse_qsl(qs, keep_blank_values=True))


def int_param(q, name, default, lo, hi):
    v = q.get(name)
    if v is None or v == "":
        return default
    try:
        n = int(v)
    except ValueError:
        raise BadRequest("%s must be an integer" % name)
    if n < lo or n > hi:
        raise BadRequest("%s must be in [%d, %d]" % (name, lo, hi))
    return n


def flag_param(q, name):
    return q.get(name, "0").lower() in ("1", "true", "yes", "on")


class Body:
    """Result of reading a request body: length, sha256, kept bytes."""

    __slots__ = ("length", "sha256", "kept", "complete")

    def __init__(self):
        self.length = 0
        self.sha256 = None
        self.kept = None
        self.complete = False


async def read_body(receive, keep=BODY_KEEP):
    """Read the request body streaming: hash as it comes, keep at most
    `keep` bytes (kept is None if the body was longer).  Memory stays
    bounded: uvicorn pauses reading above 64 KiB of unconsumed body.
    `complete` is False if the client went away mid-body."""
    h = hashlib.sha256()
    b = Body()
    buf = bytearray()
    over = False
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            b.sha256 = h.hexdigest()
            return b
        chunk = msg.get("body", b"")
        if chunk:
            h.update(chunk)
            b.length += len(chunk)
            if not over:
                if len(buf) + len(chunk) > keep:
                    over = True
                    buf = None
                else:
                    buf += chunk
        if not msg.get("more_body", False):
            break
    b.sha256 = h.hexdigest()
    b.kept = None if over else bytes(buf)
    b.complete = True
    return b


class Exchange:
    """Response phase of one request, after its body was read.

    run(fn) awaits fn(send); meanwhile a watcher waits for http.disconnect
    and cancels fn if the client goes away before the response is complete.
    run() returns True if the response completed, False if the client left.
    """

    def __init__(self, receive, send):
        self._receive = receive
        self._send = send
        self.complete = False
        self.gone = False
        self.started = False
        self._finished = False

    async def send(self, msg):
        if msg["type"] == "http.response.start":
            self.started = True
        elif msg["type"] == "http.response.body" and not msg.get("more_body", False):
            self.complete = True
        await self._send(msg)

    async def run(self, fn):
        task = asyncio.current_task()

        async def watch():
            msg = await self._receive()
            if msg["type"] == "http.disconnect" and not self.complete and not self._finished:
                self.gone = True
                task.cancel()

        watcher = asyncio.ensure_future(watch())
        try:
            await fn(self.send)
        except asyncio.CancelledError:
            if not self.gone:
                raise
            task.uncancel()
        finally:
            self._finished = True
            watcher.cancel()
        return self.complete and not self.gone


def _hdrs(ctype, length, extra):
    h = [(b"content-type", ctype.encode() if isinstance(ctype, str) else ctype)]
    if length is not None:
        h.append((b"content-length", str(length).encode()))
    for n, v in extra or ():
        h.append((n.encode() if isinstance(n, str) else n, v.encode() if isinstance(v, str) else v))
    return h


async def send_bytes(send, status, body, ctype="text/plain", headers=None):
    await send({"type": "http.response.start", "status": status,
                "headers": _hdrs(ctype, len(body), headers)})
    await send({"type": "http.response.body", "body": body})


async def send_json(send, status, obj, headers=None):
    await send_bytes(send, status, json.dumps(obj).encode(), "application/json", headers)


# --------------------------------------------------------------------------
# Health state shared by both apps: GET /-/healthz, POST /-/admin/health
# --------------------------------------------------------------------------
class Health:
    def __init__(self):
        self.status = 200
        self.delay_ms = 0
        self.checks = 0
        self.first_bad_at = None  # time.time() of the first non-200 answer

    def set_from_text(self, text):
        """'503' | '200' | '<status> <delay_ms>'"""
        parts = text.split()
        if not parts or len(parts) > 2:
            raise BadRequest("body must be '<status> [<delay_ms>]'")
        try:
            st = int(parts[0])
            delay = int(parts[1]) if len(parts) > 1 else 0
        except ValueError:
            raise BadRequest("body must be '<status> [<delay_ms>]'")
        if not 200 <= st <= 599 or not 0 <= delay <= 3600000:
            raise BadRequest("status must be 200..599, delay 0..3600000 ms")
        self.status, self.delay_ms = st, delay
        self.first_bad_at = None

    def as_dict(self):
        return {"status": self.status, "delay_ms": self.delay_ms, "checks": self.checks,
                "first_bad_at": self.first_bad_at}

    async def healthz(self, send):
        self.checks += 1
        if self.status != 200 and self.first_bad_at is None:
            self.first_bad_at = time.time()
        if self.delay_ms:
            await asyncio.sleep(self.delay_ms / 1000.0)
        if self.status == 200:
            await send_bytes(send, 200, b"success", "text/plain")
        else:
            await send_bytes(send, self.status, b"unhealthy", "text/plain")


def mem_kb():
    """(VmRSS, VmHWM) of this process in KiB."""
    rss = hwm = None
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


# --------------------------------------------------------------------------
# Command line and server
# --------------------------------------------------------------------------
def base_arg_parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--id", required=True, help="replica id (X-Replica-Id header, replica_id in JSON)")
    p.add_argument("--port", type=int, required=True, help="TCP port; 0 = any free port (see --port-file)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1; Ray binds 0.0.0.0)")
    p.add_argument("--name", default="", help="actor name, e.g. SERVE_REPLICA::app#Dep#id (reported in JSON)")
    p.add_argument("--port-file", default=None,
                   help="write the bound port here (atomically) once listening")
    p.add_argument("--timeout-keep-alive", type=int, default=5,
                   help="idle keep-alive timeout in s (uvicorn's and Ray's default: 5)")
    p.add_argument("--log-level", default="warning",
                   choices=["critical", "error", "warning", "info", "debug", "trace"])
    p.add_argument("--access-log", action="store_true", help="enable uvicorn's access log")
    p.add_argument("--backlog", type=int, default=2048)
    return p


def serve(app, args, ws=True, ws_ping_interval=20.0):
    """Bind, listen, announce, then run uvicorn on the socket until SIGINT/SIGTERM."""
    import uvicorn

    fam = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(fam, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    sock.listen(args.backlog)  # connections queue from now on
    port = sock.getsockname()[1]
    if args.port_file:
        tmp = args.port_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("%s id=%s listening on %s:%d pid=%d" % (os.path.basename(sys.argv[0]), args.id,
                                                   args.host, port, os.getpid()), flush=True)
    config = uvicorn.Config(
        app,
        http=make_protocol_class(),
        ws="websockets" if ws else "none",
        lifespan="off",
        log_level=args.log_level,
        access_log=args.access_log,
        timeout_keep_alive=args.timeout_keep_alive,
        headers=[("X-Replica-Id", args.id)],
        ws_ping_interval=ws_ping_interval,
        backlog=args.backlog,
    )
    server = uvicorn.Server(config)
    config.load()  # configures logging; add our filter afterwards
    logging.getLogger("uvicorn.error").addFilter(_DropCloseNow())
    server.run(sockets=[sock])


def now_ns():
    return time.time_ns()
