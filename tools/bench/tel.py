"""tel.py SOCKET CMD: one DPDK telemetry command to weir-dp; prints its
value as JSON ({"error": ...} when weir-dp cannot be reached). For the
benchmark scripts."""
import json
import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
    s.recv(4096)
    s.send(sys.argv[2].encode())
    print(json.dumps(json.loads(s.recv(1 << 20).decode())[sys.argv[2].split(",")[0]]))
except Exception as e:  # noqa: BLE001 - reported as data, the bench goes on
    print(json.dumps({"error": str(e)}))
