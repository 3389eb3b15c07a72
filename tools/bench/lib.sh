# Shared by every benchmark script (sourced, not run): the testbed, weir-dp,
# weir-kapp or another server in its LB namespace, the VIP handed to the
# kernel and back, telemetry. Every wait is bounded; bench_cleanup (on the
# EXIT trap) stops what was started here, by PID, and tears the testbed down.
# One server runs at a time: SERVER_PID, SERVER_KIND (weir* for weir-dp).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PY=/usr/bin/python3
BUILD=${WEIR_BUILD:-build}
if [[ $BUILD != /* ]]; then
	if [ -d "$BUILD" ]; then BUILD=$(cd "$BUILD" && pwd); else BUILD=$ROOT/$BUILD; fi
fi
export WEIR_BUILD=$BUILD
WEIR_DP=$BUILD/weir-dp # linked at the top of the build tree
[ -x "$WEIR_DP" ] || [ ! -x "$BUILD/dataplane/weir-dp" ] || WEIR_DP=$BUILD/dataplane/weir-dp # older trees
KAPP=$BUILD/tools/bench/weir-kapp
TCPBENCH=$BUILD/tools/bench/weir-tcpbench
TESTBED=$ROOT/tools/testbed/testbed.sh

SERVER_PID= # weir-dp or weir-kapp, whichever runs now
CP_PID= # weir-cp beside a weir-dp HTTP proxy
WEIR_CP=$BUILD/controlplane/weir-cp
SERVER_KIND=
TB_UP=
WORK=

say() { echo "# $*" >&2; }

need_bins() {
	local b
	for b in "$WEIR_DP" "$KAPP" "$TCPBENCH"; do
		[ -x "$b" ] || { echo "bench: $b missing: build first (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 2; }
	done
	[ "$(id -u)" = 0 ] || { echo "bench: run as root (namespaces)" >&2; exit 2; }
}

# tb_up NAME [IMPAIR [BACKENDS]]: the testbed (BACKENDS addresses in the
# backend namespace, default 1), its variables in this shell.
tb_up() {
	local out n=${3:-1}
	TB=$1
	if [ -n "${2:-}" ]; then
		out=$(WEIR_IMPAIR="$2" bash "$TESTBED" up "$TB" "$n") || return 1
	else
		out=$(env -u WEIR_IMPAIR bash "$TESTBED" up "$TB" "$n") || return 1
	fi
	TB_UP=1
	eval "$out"
	PREFIX_DPDK=$TB
}

# wait_ready LOG TEXT TENTHS: TEXT shows in LOG while SERVER_PID lives,
# within TENTHS tenths of a second; else the log's tail on stderr, 1.
wait_ready() {
	local i
	for ((i = 0; i < $3; i++)); do
		grep -q "$2" "$1" && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$2" "$1" && return 0
	echo "bench: $SERVER_KIND not ready ('$2' missing):" >&2
	tail -20 "$1" >&2
	return 1
}

# weir_launch KIND CFG LOG: weir-dp with CFG in the LB namespace, its DPDK
# files under PREFIX_DPDK; waits (30 s at most) for "weir-dp: ready".
weir_launch() {
	ip netns exec "$NS_LB" "$WEIR_DP" --file-prefix="$PREFIX_DPDK" -- --config "$2" >"$3" 2>&1 &
	SERVER_PID=$! SERVER_KIND=$1
	wait_ready "$3" "weir-dp: ready" 300
}

# weir_cp_start TG LOG: weir-cp for the running weir-dp with the target
# groups file TG as its first table; waits (10 s at most) until every worker
# holds it. Its API socket is $WORK/cp.sock.
weir_cp_start() {
	"$WEIR_CP" run --dp "$PREFIX_DPDK" --api "$WORK/cp.sock" --state-dir "$WORK" \
		--target-groups "$1" >"$2" 2>&1 &
	CP_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		curl -s --unix-socket "$WORK/cp.sock" http://weir/api/v1/info 2>/dev/null |
			grep -q '"live":true' && return 0
		sleep 0.05
	done
	echo "weir-cp: table not live in 10 s: $(cat "$2")" >&2
	return 1
}

# The server side: weir-dp with the test apps, or weir-kapp on the kernel.
# weir_start POLICY SOURCE_BYTES: 1 worker on CPU 1 (its main lcore blocks
# on CPU 0).
weir_start() {
	local policy=$1 bytes=$2 cfg=$WORK/weir-$1.json log=$WORK/weir-dp-$1.log
	cat >"$cfg" <<EOF
{"port": {"iface": "$LB_IF", "driver": "af_xdp"},
 "vips": ["$VIP"], "local_ip": "$LOCAL_IP", "prefix_len": $PREFIX,
 "workers": 1, "cpus": [1], "idle": {"policy": "$policy"},
 "tcp": {"max_connections": 4096},
 "test_apps": [{"port": 9000, "mode": "echo"}, {"port": 9001, "mode": "discard"},
               {"port": 9002, "mode": "source", "bytes": $bytes}, {"port": 9003, "mode": "sink"}]}
EOF
	weir_launch weir "$cfg" "$log" || return 1
	ip netns exec "$NS_CLI" ping -c 3 -i 0.05 -W 1 -q "$VIP" >/dev/null 2>&1 || true
}

# tel CMD: one DPDK telemetry command to weir-dp, its value as JSON.
tel() {
	"$PY" "$(dirname "${BASH_SOURCE[0]}")/tel.py" "/var/run/dpdk/$PREFIX_DPDK/dpdk_telemetry.v2" "$1"
}

# server_stop: TERM, 15 s at most, then KILL; weir-dp's run dir goes too.
server_stop() {
	local i
	if [ -n "$CP_PID" ]; then
		kill -TERM "$CP_PID" 2>/dev/null
		wait "$CP_PID" 2>/dev/null
		CP_PID=
	fi
	[ -n "$SERVER_PID" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null
	for ((i = 0; i < 150; i++)); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	[[ $SERVER_KIND == weir* ]] && rm -rf "/var/run/dpdk/$PREFIX_DPDK"
	SERVER_PID= SERVER_KIND=
}

# kernel_own_vip [CC]: give the VIP to the LB namespace's kernel, on the
# same veth weir-dp used; with CC, its subnet route carries congctl CC.
kernel_own_vip() {
	ip -n "$NS_LB" link set dev "$LB_IF" xdp off 2>/dev/null || true # a crashed weir-dp's program
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.conf.all.arp_ignore=0 "net.ipv4.conf.$LB_IF.arp_ignore=0"
	ip -n "$NS_LB" addr replace "$VIP/$PREFIX" dev "$LB_IF"
	if [ -n "${1:-}" ]; then
		ip -n "$NS_LB" route replace "${VIP%.*}.0/$PREFIX" dev "$LB_IF" proto kernel scope link src "$VIP" congctl "$1" || return 1
	fi
	neigh_flush
}

# kernel_drop_vip: the VIP back to weir-dp (the kernel neither owns it nor
# answers ARP for addresses it lacks).
kernel_drop_vip() {
	ip -n "$NS_LB" addr del "$VIP/$PREFIX" dev "$LB_IF" 2>/dev/null || true
	ip netns exec "$NS_LB" sysctl -qw net.ipv4.conf.all.arp_ignore=8
	neigh_flush
}

# neigh_flush: the client and the backends learn the VIP's (and the local
# address's) MAC anew, after the owner changed.
neigh_flush() {
	ip -n "$NS_CLI" neigh flush dev "$CLI_IF" 2>/dev/null || true
	ip -n "$NS_BE" neigh flush dev "$BE_IF" 2>/dev/null || true
}

# nginx_prologue DIR: the lines every nginx we start shares (no daemon, its
# files under DIR, no access log, long keep-alive); the caller adds the
# events block's size and its servers, then closes the http block.
nginx_prologue() {
	cat <<EOF
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
EOF
}

# nginx_http DIR: the opening of the http block, shared likewise.
nginx_http() {
	mkdir -p "$1/tmp"
	cat <<EOF
http {
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
    keepalive_requests 10000000;
EOF
}

# haproxy_cfg FILE PORT SERVER_IP...: HAProxy as the benchmarks run it in
# front of nginx replicas on port 8080 (nbthread 1, Ray Serve's timeouts,
# leastconn, backend connections reused), listening on $VIP:PORT.
haproxy_cfg() {
	local f=$1 port=$2 i=0 ip
	shift 2
	{
		cat <<EOF
global
    nbthread 1
    maxconn 9000
    log stderr format short local0 err
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 3600s
    timeout server 60s
    timeout http-keep-alive 90s
    timeout http-request 60s
frontend bench
    bind $VIP:$port
    default_backend replicas
backend replicas
    balance leastconn
EOF
		for ip in "$@"; do
			i=$((i + 1))
			echo "    server nginx-$i $ip:8080"
		done
	} >"$f"
}

# client_cc CC: the client's subnet route carries congctl CC.
client_cc() {
	ip -n "$NS_CLI" route replace "${CLI_IP%.*}.0/$PREFIX" dev "$CLI_IF" proto kernel scope link src "$CLI_IP" congctl "$1"
}

kapp_start() {
	local bytes=$1 log=$WORK/kapp.log
	ip netns exec "$NS_LB" taskset -c 1 "$KAPP" --listen "$VIP" --app 9000:echo --app 9001:discard \
		--app "9002:source:$bytes" --app 9003:sink ${KAPP_VERBOSE:+--verbose} >"$log" 2>&1 &
	SERVER_PID=$! SERVER_KIND=kapp
	wait_ready "$log" "weir-kapp: ready" 100 || return 1
	ip netns exec "$NS_CLI" ping -c 3 -i 0.05 -W 1 -q "$VIP" >/dev/null 2>&1 || true
}

# wait_reachable: the VIP answers ping from the client namespace (ARP
# included); up to 20 tries, since an impaired path loses some.
wait_reachable() {
	local i
	for ((i = 0; i < 20; i++)); do
		ip netns exec "$NS_CLI" ping -c 1 -W 1 -q "$VIP" >/dev/null 2>&1 && return 0
	done
	return 1
}

# client ARGS...: weir-tcpbench in the client namespace on CPU 0.
client() {
	ip netns exec "$NS_CLI" taskset -c 0 "$TCPBENCH" "$@"
}

# netstat_snap NS FILE: the namespace's TCP MIB counters (Tcp: and TcpExt:
# of /proc/net/snmp and /proc/net/netstat) as one JSON object.
netstat_snap() {
	ip netns exec "$1" "$PY" - >"$2" <<'EOF'
import json
out = {}
for path in ("/proc/net/snmp", "/proc/net/netstat"):
    lines = open(path).read().splitlines()
    for names, vals in zip(lines[::2], lines[1::2]):
        pre = names.split(":")[0]
        if pre not in ("Tcp", "TcpExt"):
            continue
        for k, v in zip(names.split()[1:], vals.split()[1:]):
            out[pre + ":" + k] = int(v)
print(json.dumps(out))
EOF
}

# tb_down: the testbed (and what runs in it) away; the impairment bridge
# first gets SIGINT so it flushes and writes its counters.
tb_down() {
	local p
	[ -n "$TB_UP" ] || return 0
	if ip netns list | awk '{print $1}' | grep -qx "$TB-imp"; then
		for p in $(ip netns pids "$TB-imp" 2>/dev/null); do kill -INT "$p" 2>/dev/null; done
		sleep 0.3
	fi
	bash "$TESTBED" down "$TB" >/dev/null 2>&1
	TB_UP=
}

bench_cleanup() {
	server_stop
	tb_down
	[ -n "$WORK" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"
	return 0
}
