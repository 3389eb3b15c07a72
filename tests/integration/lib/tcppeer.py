"""A Linux TCP peer for weir-dp's test applications, run inside a test
namespace. Prints one JSON line with what it saw. Stdlib only; every
socket operation has a timeout.

  tcppeer.py send HOST PORT NBYTES SEED   connect, send seeded random bytes,
                                          half-close, read the sink's SHA-256
  tcppeer.py recv HOST PORT NBYTES        connect, read to EOF, check the
                                          source pattern (byte i = i mod 251)
  tcppeer.py serve-recv PORT NBYTES       accept one, read to EOF, check pattern
  tcppeer.py serve-send PORT NBYTES SEED  accept one, send, half-close, read SHA
  tcppeer.py connect HOST PORT            connect, report the outcome
"""
import hashlib
import json
import random
import socket
import sys
import time

TIMEOUT = 120
CHUNK = 65536


def pattern_sha(n):
    h = hashlib.sha256()
    block = bytes(range(251)) * 261  # 65511 bytes: a whole number of periods
    while n:
        k = min(n, len(block))
        h.update(block[:k])
        n -= k
    return h.hexdigest()


def random_stream(n, seed):
    rnd = random.Random(seed)
    while n:
        k = min(n, CHUNK)
        yield rnd.randbytes(k)
        n -= k


def send_and_check(s, n, seed):
    h = hashlib.sha256()
    for chunk in random_stream(n, seed):
        s.sendall(chunk)
        h.update(chunk)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        reply += b
    return {"sent": n, "sha": h.hexdigest(), "reply": reply.decode(errors="replace").strip(),
            "ok": reply.decode(errors="replace").strip() == h.hexdigest()}


def recv_and_check(s, n):
    h = hashlib.sha256()
    got = 0
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        h.update(b)
        got += len(b)
    return {"received": got, "ok": got == n and h.hexdigest() == pattern_sha(n)}


def listen(port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("0.0.0.0", port))
    ls.listen(4)
    ls.settimeout(TIMEOUT)
    print(json.dumps({"listening": port}), flush=True)
    s, _ = ls.accept()
    ls.close()
    s.settimeout(TIMEOUT)
    return s


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    t0 = time.time()
    if mode in ("send", "recv", "connect"):
        s = socket.socket()
        s.settimeout(TIMEOUT if mode != "connect" else 10)
        try:
            s.connect((args[0], int(args[1])))
        except OSError as e:
            print(json.dumps({"ok": False, "error": e.__class__.__name__}), flush=True)
            return
        if mode == "connect":
            out = {"ok": True}
        elif mode == "send":
            out = send_and_check(s, int(args[2]), int(args[3]))
        else:
            out = recv_and_check(s, int(args[2]))
    elif mode == "serve-recv":
        s = listen(int(args[0]))
        out = recv_and_check(s, int(args[1]))
    elif mode == "serve-send":
        s = listen(int(args[0]))
        out = send_and_check(s, int(args[1]), int(args[2]))
    else:
        sys.exit("unknown mode " + mode)
    s.close()
    out["seconds"] = round(time.time() - t0, 3)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
