"""A replica simulator that records every byte it receives, for tests that
must prove what reached a backend (test_http_framing.py). Run it in the
backend namespace:

  ip netns exec NS /usr/bin/python3 recording_replica.py HOST PORT LOG PORTFILE

Each connection gets a number; every recv() is appended to LOG as a record
"<conn> <kind> <len>\\n" followed by <len> bytes, kind A (accepted, no
bytes, written when the connection first speaks or ends), D (data), F
(the peer's FIN) or R (a reset); weir-dp's health checks (GET /-/healthz)
are answered and not recorded. A tells a test which connections opened
inside its window: a pooled connection from an earlier
case may close (F) at any time when the proxy's idle pool expires it. The
test reads the log from an offset (see read_log). Requests are answered
minimally, in order, keep-alive: once a head (and its Content-Length or
chunked body) is complete, "200 OK" with body "ok"; "/big-close/N": N
bytes, "Connection: close", then the replica's FIN at once. Stdlib only;
one thread per connection; stops on SIGTERM.
"""
import os
import re
import signal
import socket
import sys
import threading

LOCK = threading.Lock()


def record(log, conn, kind, data=b""):
    with LOCK:
        log.write(b"%d %s %d\n" % (conn, kind, len(data)) + data)
        log.flush()


def read_log(path, offset=0):
    """[(conn, kind, bytes)] recorded from offset on, and the new offset."""
    with open(path, "rb") as f:
        f.seek(offset)
        buf = f.read()
    out, p = [], 0
    while True:
        nl = buf.find(b"\n", p)
        if nl < 0:
            break
        conn, kind, n = buf[p:nl].split()
        n = int(n)
        if nl + 1 + n > len(buf):
            break
        out.append((int(conn), kind.decode(), buf[nl + 1:nl + 1 + n]))
        p = nl + 1 + n
    return out, offset + p


def request_end(buf):
    """Length of the first complete request in buf, or None."""
    h = buf.find(b"\r\n\r\n")
    if h < 0:
        return None
    head, p = buf[:h].lower(), h + 4
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip() == b"content-length":
            n = int(value.split(b",")[0])
            return p + n if len(buf) >= p + n else None
        if name.strip() == b"transfer-encoding" and b"chunked" in value:
            while True:  # chunks, then trailers up to the empty line
                e = buf.find(b"\r\n", p)
                if e < 0:
                    return None
                size = int(buf[p:e].split(b";")[0] or b"0", 16)
                p = e + 2
                if size == 0:
                    t = buf.find(b"\r\n\r\n", p - 2)
                    return t + 4 if t >= 0 else None
                p += size + 2
                if p > len(buf):
                    return None
    return p


HEALTH = b"GET /-/healthz "


def health_check(c, d):
    """weir-dp's active check (GET /-/healthz, Connection: close): answered,
    never recorded, so a test's window holds only what clients caused."""
    while b"\r\n\r\n" not in d:
        more = c.recv(65536)
        if not more:
            return
        d += more
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nsuccess")


def serve(c, conn, log):
    buf = b""
    opened = False
    try:
        while True:
            try:
                d = c.recv(65536)
            except ConnectionResetError:
                d = None
            if not opened:  # A when it first speaks (or ends)
                if d and d.startswith(HEALTH):  # one segment: weir-dp's own
                    health_check(c, d)
                    return
                record(log, conn, b"A")
                opened = True
            if d is None:
                record(log, conn, b"R")
                return
            if not d:
                record(log, conn, b"F")
                return
            record(log, conn, b"D", d)
            buf += d
            while True:
                try:
                    n = request_end(buf)
                except ValueError:  # not ours to judge: stop answering
                    n = None
                if n is None:
                    break
                req, buf = buf[:n], buf[n:]
                m = re.match(rb"[A-Z]+ /big-close/(\d+) ", req)
                if m:  # a body of N bytes, then the replica closes
                    size = int(m.group(1))
                    c.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                              b"Content-Length: %d\r\n\r\n" % size + b"b" * size)
                    c.shutdown(socket.SHUT_WR)
                    continue
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
                          b"Content-Type: text/plain\r\n\r\nok")
    except OSError:
        record(log, conn, b"R")
    finally:
        c.close()


def main():
    host, port, path, portfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    log = open(path, "ab")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(512)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    n = 0
    while True:
        c, _ = s.accept()
        n += 1
        threading.Thread(target=serve, args=(c, n, log), daemon=True).start()


if __name__ == "__main__":
    main()
