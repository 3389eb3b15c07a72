#!/usr/bin/env bash
# Integration test for tools/impair (weir-impair), run as root:
#   WEIR_BUILD=build tests/integration/test_impair.sh
# Builds namespaces wimp-a / wimp-m / wimp-b (veths wimp-a0/wimp-ma and
# wimp-mb/wimp-b0, 10.88.0.1/24 and 10.88.0.2/24) with
# tools/impair/impair-topology.sh, bridges them with weir-impair in wimp-m and
# checks each impairment against the tool's counters and what the kernel peers
# saw. Prints TAP; exits non-zero if a case fails. Tears everything down on
# exit, and removes leftovers of an earlier run first. Takes about 30 s.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WEIR_BUILD=${WEIR_BUILD:-build}
case "$WEIR_BUILD" in /*) ;; *) WEIR_BUILD=$PWD/$WEIR_BUILD ;; esac
BIN=$WEIR_BUILD/tools/impair/weir-impair
TOPO=$ROOT/tools/impair/impair-topology.sh
PY=/usr/bin/python3
NS_A=wimp-a NS_M=wimp-m NS_B=wimp-b
IP_B=10.88.0.2

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP needs root (network namespaces)"
	exit 0
fi
for need in "$BIN" "$PY"; do
	if [ ! -x "$need" ]; then
		echo "Bail out! $need not found or not executable (set WEIR_BUILD?)"
		exit 1
	fi
done

# A hard limit on the whole run: timeout sends TERM to this script, whose
# trap tears the topology down once the current (time-bounded) step ends.
# --foreground keeps Ctrl-C working from a terminal.
if [ -z "${WIMP_TIME_LIMITED:-}" ]; then
	WIMP_TIME_LIMITED=1 exec timeout --foreground -k 20 85 bash "$0" "$@"
fi

TMP=$(mktemp -d /tmp/wimp-test.XXXXXX)
IMPAIR_PID=
N=0 PASSED=0 FAILED=0

cleanup() {
	if [ -n "$IMPAIR_PID" ]; then
		kill -TERM "$IMPAIR_PID" 2>/dev/null
		wait "$IMPAIR_PID" 2>/dev/null
	fi
	"$TOPO" down wimp
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'echo "Bail out! interrupted (85 s time limit?)"; exit 130' INT TERM

# ---- TAP ----

CASE_OK=1
diag() { echo "# $*"; }
check() { # description, then a command that must succeed
	local what=$1
	shift
	if ! "$@"; then
		diag "FAILED: $what"
		CASE_OK=0
	fi
}
finish_case() {
	N=$((N + 1))
	if [ "$CASE_OK" = 1 ]; then
		echo "ok $N - $1"
		PASSED=$((PASSED + 1))
	else
		echo "not ok $N - $1"
		FAILED=$((FAILED + 1))
		if [ -s "$TMP/impair.err" ]; then
			sed 's/^/#   impair: /' "$TMP/impair.err"
		fi
	fi
	CASE_OK=1
}

# ---- helpers ----

in_a() { ip netns exec "$NS_A" "$@"; }
in_b() { ip netns exec "$NS_B" "$@"; }

# Evaluates a Python expression over the final counters (a2b, b2a, seed).
jq_py() { # file expr
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], d))' "$1" "$2"
}
counters_ok() { # expr that must be True
	[ "$(jq_py "$TMP/final.json" "$1")" = True ] || {
		diag "counters: $1 is false"
		return 1
	}
}

impair_start() { # weir-impair options...
	rm -f "$TMP/stats.json" "$TMP/final.json"
	ip netns exec "$NS_M" "$BIN" --a wimp-ma --b wimp-mb --stats "$TMP/stats.json" "$@" \
		>"$TMP/impair.out" 2>"$TMP/impair.err" &
	IMPAIR_PID=$!
	# The stats file appears once both sockets are bound.
	for _ in $(seq 50); do
		[ -s "$TMP/stats.json" ] && return 0
		kill -0 "$IMPAIR_PID" 2>/dev/null || break
		sleep 0.1
	done
	diag "weir-impair did not start: $(cat "$TMP/impair.err")"
	return 1
}

impair_stop() { # leaves the exit JSON in $TMP/final.json
	local rc
	kill -TERM "$IMPAIR_PID" 2>/dev/null
	wait "$IMPAIR_PID"
	rc=$?
	IMPAIR_PID=
	tail -n 1 "$TMP/impair.out" >"$TMP/final.json"
	diag "a2b $(jq_py "$TMP/final.json" 'a2b')"
	diag "b2a $(jq_py "$TMP/final.json" 'b2a')"
	[ "$rc" = 0 ] || diag "weir-impair exited with $rc"
	return "$rc"
}

# Icmp InEchos of a namespace, from /proc/net/snmp.
in_echos() {
	# shellcheck disable=SC2016 # awk's own $fields
	ip netns exec "$1" awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# Sends COUNT UDP datagrams of SIZE bytes (4-byte sequence + filler) from
# wimp-a, with GAP seconds between them (0: as fast as possible).
cat >"$TMP/udp_send.py" <<'EOF'
import socket, struct, sys, time
dst, count, size, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    s.sendto(struct.pack("!I", i) + bytes(size - 4), (dst, 5001))
    if gap:
        time.sleep(gap)
EOF
# Receives on wimp-b until idle for 1.5 s (or 20 s in all) and prints
# "<datagrams> <late arrivals> <sha256 of the sequence numbers in arrival order>".
cat >"$TMP/udp_recv.py" <<'EOF'
import hashlib, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5001))
open(sys.argv[2], "w").close()
s.settimeout(1.5)
seqs, end = [], time.monotonic() + 20
while time.monotonic() < end:
    try:
        seqs.append(s.recv(65536)[:4].hex())
    except socket.timeout:
        if seqs:
            break
late, top = 0, -1
for q in seqs:
    late += int(q, 16) < top
    top = max(top, int(q, 16))
print(len(seqs), late, hashlib.sha256(",".join(seqs).encode()).hexdigest())
EOF
# TCP: the server prints "<bytes> <sha256>" of what it read; the client sends
# 2 MiB of seeded bytes and prints the same for what it sent.
cat >"$TMP/tcp_server.py" <<'EOF'
import hashlib, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5002))
s.listen(1)
open(sys.argv[2], "w").close()
s.settimeout(30)
c, _ = s.accept()
c.settimeout(30)
h, n = hashlib.sha256(), 0
while True:
    b = c.recv(65536)
    if not b:
        break
    h.update(b)
    n += len(b)
print(n, h.hexdigest())
EOF
cat >"$TMP/tcp_client.py" <<'EOF'
import hashlib, random, socket, sys
data = random.Random(7).randbytes(2 << 20)
c = socket.create_connection((sys.argv[1], 5002), timeout=30)
c.sendall(data)
c.shutdown(socket.SHUT_WR)
c.recv(1)
print(len(data), hashlib.sha256(data).hexdigest())
EOF
# Captures UDP frames on wimp-b0 for port 5001 and prints
# "<frames> <frames whose UDP checksum verifies>".
cat >"$TMP/udp_csum.py" <<'EOF'
import socket, struct, sys, time
sys.path.insert(0, sys.argv[3])
from rawsend import csum  # the shared one: ~folded sum, 0 over a valid packet
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
s.bind((sys.argv[1], 0))
open(sys.argv[2], "w").close()
s.settimeout(1.0)
frames = good = 0
end = time.monotonic() + 10
while time.monotonic() < end:
    try:
        f = s.recv(65536)
    except socket.timeout:
        if frames:
            break
        continue
    ip = f[14:]
    ihl = (ip[0] & 15) * 4
    if ip[9] != 17:
        continue
    udp = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
    if struct.unpack("!H", udp[2:4])[0] != 5001:
        continue
    frames += 1
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    good += csum(pseudo + udp) == 0
print(frames, good)
EOF

# Sends COUNT seeded random frames (14..1514 bytes, any content) on wimp-a0.
cat >"$TMP/garbage.py" <<'EOF2'
import random, socket, sys, time
r = random.Random(int(sys.argv[2]))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
for i in range(int(sys.argv[3])):
    s.send(r.randbytes(r.choice([14, 15, 60, 61, 1513, 1514, r.randint(14, 1514)])))
    time.sleep(0.0005)
EOF2

wait_file() { # path: wait up to 5 s for a helper's ready file
	for _ in $(seq 50); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- cases ----

case_bad_args() {
	local rc
	"$BIN" --a wimp-none0 --b wimp-none1 2>"$TMP/err"
	rc=$?
	check "unknown interface exits non-zero" [ "$rc" -ne 0 ]
	check "unknown interface is named" grep -q wimp-none0 "$TMP/err"
	"$BIN" --a x --b y --loss 150% 2>"$TMP/err"
	rc=$?
	check "loss above 100% exits 2 (got $rc)" [ "$rc" -eq 2 ]
	check "bad option is named" grep -q -- --loss "$TMP/err"
	"$BIN" --a x --b y --reorder 10%:0 2>/dev/null
	check "reorder gap 0 rejected" [ $? -eq 2 ]
	finish_case "bad arguments give a clear message and a non-zero exit"
}

case_clean() {
	local out
	impair_start --seed 1 || { CASE_OK=0; finish_case "clean bridge"; return; }
	out=$(in_a ping -c 200 -i 0.005 -W 2 -q "$IP_B")
	check "200 pings, 0% loss" grep -q '200 received, 0% packet loss' <<<"$out"
	kill -USR1 "$IMPAIR_PID"
	sleep 0.3
	check "SIGUSR1 prints a JSON line" grep -q '^{"seed":1,' "$TMP/impair.out"
	impair_stop || CASE_OK=0
	check "counters" counters_ok 'a2b["in"] == a2b["out"] >= 200 and b2a["in"] == b2a["out"] >= 200'
	check "nothing impaired" counters_ok 'a2b["dropped"] + b2a["dropped"] + a2b["duplicated"] + a2b["oversize"] == 0'
	finish_case "clean bridge: 200 pings, no loss, in == out"
}

case_loss() {
	local out received
	impair_start --seed 11 --a2b-loss 10% || { CASE_OK=0; finish_case "loss"; return; }
	out=$(in_a ping -f -c 2000 -i 0.002 -W 1 -q "$IP_B")
	diag "$(grep -E 'transmitted' <<<"$out")"
	impair_stop || CASE_OK=0
	received=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out")
	check "2000 requests bridged" counters_ok 'a2b["in"] >= 2000'
	check "in == out + dropped" counters_ok 'a2b["in"] == a2b["out"] + a2b["dropped"]'
	# Binomial(n, 0.1) within 5 standard deviations.
	check "dropped within bounds" counters_ok \
		'abs(a2b["dropped"] - 0.1 * a2b["in"]) <= 5 * (a2b["in"] * 0.09) ** 0.5'
	check "b2a untouched" counters_ok 'b2a["dropped"] == 0 and b2a["in"] == b2a["out"]'
	check "ping replies == b2a out" counters_ok "b2a['out'] == ${received:-0}"
	finish_case "10% loss a2b: dropped within binomial bounds, in == out + dropped"
}

case_dup() {
	local out dups echos0 echos1
	echos0=$(in_echos "$NS_B")
	impair_start --seed 5 --a2b-dup 10% || { CASE_OK=0; finish_case "dup"; return; }
	out=$(in_a ping -c 200 -i 0.005 -W 2 -q "$IP_B")
	sleep 0.2
	impair_stop || CASE_OK=0
	echos1=$(in_echos "$NS_B")
	dups=$(sed -nE 's/.*\+([0-9]+) duplicates.*/\1/p' <<<"$out")
	diag "ping: ${dups:-0} duplicates; wimp-b saw $((echos1 - echos0)) echo requests"
	check "ping reports duplicates" [ "${dups:-0}" -gt 0 ]
	check "duplicated > 0, out == in + duplicated" \
		counters_ok 'a2b["duplicated"] > 0 and a2b["out"] == a2b["in"] + a2b["duplicated"]'
	check "wimp-b received a2b out echo requests" counters_ok "a2b['out'] == $((echos1 - echos0))"
	# The duplicate of the very last reply may arrive after ping has exited.
	check "ping's DUP count matches" counters_ok "a2b['duplicated'] - 1 <= ${dups:-0} <= a2b['duplicated']"
	finish_case "1 in 10 duplicated a2b: ping reports DUP!, counter matches"
}

# Pings COUNT times at INTERVAL and checks every reply came and rtt min >= MIN ms.
ping_rtt_at_least() { # count interval min_ms
	local out min
	out=$(in_a ping -c "$1" -i "$2" -W 2 -q "$IP_B")
	min=$(sed -nE 's|^rtt min/avg/max/mdev = ([0-9.]+)/.*|\1|p' <<<"$out")
	diag "rtt: $(grep rtt <<<"$out")"
	check "$1 replies" grep -q " $1 received" <<<"$out"
	check "rtt min >= $3 ms" "$PY" -c "import sys; sys.exit(not ${min:-0} >= $3)"
}

case_delay() {
	impair_start --seed 3 --delay 10ms --jitter 2ms || { CASE_OK=0; finish_case "delay"; return; }
	ping_rtt_at_least 30 0.01 16 # 2 x (10 - 2)
	impair_stop || CASE_OK=0
	check "every frame delayed" counters_ok 'a2b["delayed"] == a2b["in"] == a2b["out"] and b2a["delayed"] == b2a["in"]'
	finish_case "10 ms delay + 2 ms jitter each way: rtt >= 16 ms, delayed == in"
}

case_rate_overflow() {
	impair_start --seed 4 --a2b-rate 1mbit --limit 16 || { CASE_OK=0; finish_case "rate"; return; }
	in_a timeout 20 "$PY" "$TMP/udp_send.py" "$IP_B" 200 1000 0
	sleep 0.5 # 16 queued 1042-byte frames drain in ~135 ms at 1 Mbit/s
	impair_stop || CASE_OK=0
	check "pool overflowed" counters_ok 'a2b["overflow"] > 0 and a2b["held"] == 0'
	check "in == out + overflow" counters_ok 'a2b["in"] == a2b["out"] + a2b["overflow"]'
	finish_case "1 Mbit/s with a 16-frame pool: burst overflows (tail drop), in == out + overflow"
}

case_tcp() {
	local spid sums csums
	rm -f "$TMP/tcp.ready"
	impair_start --seed 9 --loss 5% --reorder 10%:3 --dup 1% || { CASE_OK=0; finish_case "tcp"; return; }
	in_b timeout 40 "$PY" "$TMP/tcp_server.py" "$IP_B" "$TMP/tcp.ready" >"$TMP/tcp.server" &
	spid=$!
	wait_file "$TMP/tcp.ready" || diag "tcp server not ready"
	local t0=$SECONDS
	csums=$(in_a timeout 40 "$PY" "$TMP/tcp_client.py" "$IP_B")
	wait "$spid"
	sums=$(cat "$TMP/tcp.server")
	diag "2 MiB in $((SECONDS - t0)) s; sent: $csums; received: $sums"
	impair_stop || CASE_OK=0
	check "byte-exact" [ -n "$csums" ] && check "byte-exact" [ "$csums" = "$sums" ]
	check "reordered both ways" counters_ok 'a2b["reordered"] > 0 and b2a["reordered"] > 0'
	check "dropped and duplicated" counters_ok 'a2b["dropped"] > 0 and b2a["dropped"] > 0 and a2b["duplicated"] > 0'
	for d in a2b b2a; do
		check "$d balance" counters_ok \
			"${d}['in'] + ${d}['duplicated'] == ${d}['out'] + ${d}['dropped'] + ${d}['overflow'] + ${d}['tx_errors']"
	done
	finish_case "2 MiB TCP byte-exact through 5% loss + 10% reorder + 1% dup both ways"
}

# One deterministic run: 500 UDP datagrams at ~1 ms; writes the a2b decision
# counters and the receiver's arrival-order digest on one line to $TMP/det.TAG.
determinism_run() { # seed tag
	local rpid
	rm -f "$TMP/udp.ready"
	in_b timeout 30 "$PY" "$TMP/udp_recv.py" "$IP_B" "$TMP/udp.ready" >"$TMP/udp.recv" &
	rpid=$!
	wait_file "$TMP/udp.ready" || diag "udp receiver not ready"
	# A long hold: a held frame leaves by its gap, not by a timer, on a loaded host.
	impair_start --seed "$1" --a2b-loss 10% --a2b-dup 5% --a2b-reorder 10%:2 --a2b-reorder-hold 5s ||
		CASE_OK=0
	in_a timeout 20 "$PY" "$TMP/udp_send.py" "$IP_B" 500 200 0.001
	sleep 0.3
	impair_stop || CASE_OK=0 # flushes anything still held
	wait "$rpid"
	echo "$(jq_py "$TMP/final.json" \
		'[a2b[k] for k in ("in", "out", "bytes_out", "dropped", "duplicated", "reordered", "reorder_timeouts", "kernel_drops")]') $(cat "$TMP/udp.recv")" >"$TMP/det.$2"
}

case_determinism() {
	local r1 r2 r3
	determinism_run 42 1
	determinism_run 42 2
	determinism_run 43 3
	r1=$(cat "$TMP/det.1") r2=$(cat "$TMP/det.2") r3=$(cat "$TMP/det.3")
	diag "seed 42: $r1"
	diag "seed 42: $r2"
	diag "seed 43: $r3"
	check "500 datagrams bridged, nothing else" grep -q '^\[500, ' <<<"$r1"
	check "the receiver saw datagrams out of order" [ "$(cut -d' ' -f10 <<<"$r1")" -gt 0 ]
	check "same seed, same input: same counters and arrival order" [ "$r1" = "$r2" ]
	check "another seed differs" [ "$r1" != "$r3" ]
	finish_case "same seed + same 500 datagrams -> same counters and same arrival order"
}

case_checksum() {
	local rpid got
	in_a ethtool -K wimp-a0 tx on >/dev/null
	rm -f "$TMP/cap.ready"
	in_b timeout 20 "$PY" "$TMP/udp_csum.py" wimp-b0 "$TMP/cap.ready" "$HERE/lib" >"$TMP/cap.out" &
	rpid=$!
	wait_file "$TMP/cap.ready" || diag "capture not ready"
	impair_start --seed 2 || CASE_OK=0
	in_a timeout 10 "$PY" "$TMP/udp_send.py" "$IP_B" 50 300 0.001
	sleep 0.2
	impair_stop || CASE_OK=0
	wait "$rpid"
	in_a ethtool -K wimp-a0 tx off >/dev/null
	got=$(cat "$TMP/cap.out")
	diag "captured frames / valid checksums: $got"
	check "50 frames, all checksums valid" [ "$got" = "50 50" ]
	check "partial checksums completed" counters_ok 'a2b["csum_fixed"] == 50'
	finish_case "tx checksum offload on the sender: weir-impair completes checksums"
}

case_reorder_timeout() {
	impair_start --seed 6 --a2b-reorder 100%:3 --a2b-reorder-hold 30ms || { CASE_OK=0; finish_case "hold"; return; }
	ping_rtt_at_least 5 0.1 30
	impair_stop || CASE_OK=0
	check "every hold timed out" counters_ok 'a2b["reordered"] == a2b["reorder_timeouts"] == 5 and a2b["out"] == 5'
	finish_case "a held frame leaves after --reorder-hold when no later frame comes"
}

case_garbage() {
	impair_start --seed 8 --dup 20% --reorder 20%:2 --delay 1ms --jitter 1ms --jitter-dist normal ||
		{ CASE_OK=0; finish_case "garbage"; return; }
	in_a timeout 20 "$PY" "$TMP/garbage.py" wimp-a0 1 400
	sleep 0.2
	impair_stop || CASE_OK=0
	check "400 random frames in" counters_ok 'a2b["in"] == 400'
	check "all forwarded (+ duplicates)" counters_ok \
		'a2b["out"] == a2b["in"] + a2b["duplicated"] and a2b["tx_errors"] + a2b["rx_errors"] == 0'
	finish_case "400 random frames (any bytes, 14..1514): forwarded, no error, clean exit"
}

# Leaves a stalled TCP connection behind, so it runs last.
case_gro_oversize() {
	local spid
	ip netns exec "$NS_M" ethtool -K wimp-ma gro on >/dev/null
	impair_start --seed 1 || CASE_OK=0
	in_b timeout 5 "$PY" -c 'import socket
s = socket.socket(); s.bind(("10.88.0.2", 5003)); s.listen(1); c, _ = s.accept(); c.settimeout(3)
while c.recv(65536): pass' 2>/dev/null &
	spid=$!
	sleep 0.3
	in_a timeout 3 "$PY" -c 'import socket
socket.create_connection(("10.88.0.2", 5003), timeout=2).sendall(bytes(300000))' 2>/dev/null
	wait "$spid"
	impair_stop || CASE_OK=0
	ip netns exec "$NS_M" ethtool -K wimp-ma gro off >/dev/null
	check "GRO super-frames counted as oversize" counters_ok 'a2b["oversize"] > 0'
	check "hint printed" grep -q 'ethtool -K wimp-ma gro off' "$TMP/impair.err"
	finish_case "GRO left on: frames above MTU are counted (oversize) and dropped, with a hint"
}

# ---- run ----

START=$SECONDS
"$TOPO" up wimp || {
	echo "Bail out! could not build the wimp topology"
	exit 1
}
case_bad_args
case_clean
case_loss
case_dup
case_delay
case_rate_overflow
case_reorder_timeout
case_determinism
case_garbage
case_checksum
# Last: a FIN retransmitted after a loss could otherwise reach a later case.
case_tcp
case_gro_oversize
echo "1..$N"
echo "# $PASSED passed, $FAILED failed ($((SECONDS - START)) s)"
[ "$FAILED" -eq 0 ]
