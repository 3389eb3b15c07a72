#!/usr/bin/env bash
# Connection per request (#20): every request on a fresh connection that the
# server closes first, so each one leaves a TIME_WAIT on the server's side.
# Same testbed, same run, the load balancer on CPU 1 and the client on CPU 0:
#
#   tcp  rows: weir-tcpbench cps --source 64 (N closed loops: connect, read
#              64 bytes to the server's FIN, close) against weir-dp's source
#              test app and weir-kapp's (the Linux kernel)
#   http rows: wrk -H 'Connection: close' (N connections, so N closed loops)
#              against weir-dp's HTTP proxy and HAProxy (nbthread 1), one
#              nginx replica behind both
#
# Reports connections per second, refused connections and errors, and the
# TIME_WAIT each server held: peak records (sampled every 0.5 s), evicted
# (weir-dp) and the memory per record: weir-dp's measured table over its
# size (/weir/tcp time_wait_bytes_per_record, index included), Linux's
# tw_sock_TCP slab object (/proc/slabinfo, without its hash bucket).
#
#   tools/bench/cpr_bench.sh [--short] [--duration S] [--conc N] [--max-tw N]
#
#   default: 10 s per row, 8 loops; --short: 3 s; --max-tw: weir-dp's
#   tcp.max_time_wait (65536: no eviction at this testbed's rates).
# Runs as root; its own testbed (${WEIR_BENCH_CPR_TB:-wbcpr}), torn down on
# exit. Table on stdout, progress on stderr, JSON in $WORK/report.json
# (--out FILE to keep it). Exit 0 if every row served with 0 refused.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

TB_NAME=${WEIR_BENCH_CPR_TB:-wbcpr}
DUR=10 CONC=8 MAX_TW=65536 OUT= BYTES=64
while [ $# -gt 0 ]; do
	case $1 in
	--short) DUR=3 ;;
	--duration) DUR=$2; shift ;;
	--conc) CONC=$2; shift ;;
	--max-tw) MAX_TW=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "cpr_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $DUR =~ ^[0-9]+$ ]] && ((DUR >= 1 && DUR <= 120)) || { echo "cpr_bench: --duration 1..120" >&2; exit 2; }
[[ $CONC =~ ^[0-9]+$ ]] && ((CONC >= 1 && CONC <= 256)) || { echo "cpr_bench: --conc 1..256" >&2; exit 2; }
need_bins
for b in wrk nginx haproxy taskset ss; do
	command -v $b >/dev/null || { echo "cpr_bench: $b missing (tools/setup.sh installs it)" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/weir-cpr-bench-XXXXXX)
BE_PID= HA_PID= SAMPLER=
cleanup() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	[ -n "$HA_PID" ] && kill -TERM "$HA_PID" 2>/dev/null && wait "$HA_PID" 2>/dev/null
	[ -n "$BE_PID" ] && kill -TERM "$BE_PID" 2>/dev/null && wait "$BE_PID" 2>/dev/null
	rm -rf "/var/run/dpdk/$TB_NAME"
	bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "testbed $TB_NAME, $CONC loops, ${DUR}s per row"
tb_up "$TB_NAME" "" 1 || { echo "cpr_bench: testbed failed" >&2; exit 2; }
BE=${BE_IPS%% *}
d=$WORK/be
mkdir -p "$d"
cat >"$d/nginx.conf" <<EOF
worker_processes 1;
$(nginx_prologue "$d")
events { worker_connections 8192; }
$(nginx_http "$d")
    keepalive_timeout 60s;
    server { listen $BE:8080 backlog=4096; location / { return 200 "ok\n"; } }
}
EOF
ip netns exec "$NS_BE" taskset -c 0 nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout" 2>&1 &
BE_PID=$!
cat >"$WORK/tg.json" <<EOF
{"target_groups": [{"protocol": "HTTP", "route_prefix": "/", "app_name": "bench",
  "targets": [{"ip": "$BE", "port": 8080, "instance_id": "", "name": "nginx-1"}]}]}
EOF

cli() { ip netns exec "$NS_CLI" taskset -c 0 "$@"; }

# sample KIND FILE PORT: peak TIME_WAIT every 0.5 s until killed (weir-dp
# from /weir/tcp, the kernel from ss in the LB namespace, on PORT only)
sample() {
	local n peak=0
	while :; do
		if [ "$1" = weir ]; then
			n=$(tel /weir/tcp | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["time_wait"])' 2>/dev/null)
		else
			n=$(ip netns exec "$NS_LB" ss -Htan state time-wait "( sport = :$3 )" 2>/dev/null | wc -l)
		fi
		[ -n "$n" ] && ((n > peak)) && peak=$n && echo "$peak" >"$2"
		sleep 0.5
	done
}

# row NAME KIND TRANSPORT: one measured run, its JSON line in rows.jsonl
row() {
	local name=$1 kind=$2 tr=$3 f=$WORK/$1.out peakf=$WORK/$1.peak t0= t1= j
	echo 0 >"$peakf"
	[ "$kind" = weir ] && t0=$(tel /weir/tcp)
	local port=9002
	[ "$tr" = http ] && port=8000
	sample "$kind" "$peakf" "$port" &
	SAMPLER=$!
	if [ "$tr" = tcp ]; then
		cli "$TCPBENCH" cps "$VIP" 9002 --source $BYTES --conc "$CONC" --duration "$DUR" >"$f" 2>&1
	else
		cli wrk -t1 -c"$CONC" -d"${DUR}s" --timeout 5s -H 'Connection: close' "http://$VIP:8000/" >"$f" 2>&1
	fi
	kill "$SAMPLER" 2>/dev/null
	wait "$SAMPLER" 2>/dev/null
	SAMPLER=
	[ "$kind" = weir ] && t1=$(tel /weir/tcp)
	j=$("$PY" - "$name" "$tr" "$f" "$(cat "$peakf")" "$t0" "$t1" <<'EOF'
import json, re, sys
name, tr, path, peak, t0, t1 = sys.argv[1:7]
text = open(path).read()
r = {"row": name, "transport": tr, "tw_peak": int(peak or 0)}
if tr == "tcp":
    lines = [l for l in text.splitlines() if l.startswith("{")]
    b = json.loads(lines[-1]) if lines else {}
    r.update(ok=b.get("ok", False), cps=b.get("cps", 0), completed=b.get("completed", 0),
             refused=b.get("refused", 0), errors=b.get("failed", 0) + b.get("timeouts", 0) + b.get("corrupt", 0))
else:
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    n = re.search(r"(\d+) requests in", text)
    se = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = [int(x) for x in se.groups()] if se else [0, 0, 0, 0]
    r.update(ok=bool(m), cps=float(m.group(1)) if m else 0, completed=int(n.group(1)) if n else 0,
             refused=errs[0], errors=sum(errs[1:]) + (int(bad.group(1)) if bad else 0))
if t0 and t1:
    a, b = json.loads(t0), json.loads(t1)
    r["weir"] = {k: b[k] - a.get(k, 0) for k in ("tw_entered", "tw_expired", "tw_evicted", "tw_reused",
                                                  "nomem_tcb", "resets_sent", "passive_opens")}
    r["bytes_per_record"] = b["time_wait_bytes_per_record"]
    r["time_wait_max"] = b["time_wait_max"]
print(json.dumps(r))
EOF
)
	say "$name: $j"
	echo "$j" >>"$WORK/rows.jsonl"
}

# ---- weir-dp: source app and HTTP proxy in one instance --------------------
kernel_drop_vip
cat >"$WORK/weir.json" <<EOF
{"port": {"iface": "$LB_IF", "driver": "af_xdp"},
 "vips": ["$VIP"], "local_ip": "$LOCAL_IP", "prefix_len": $PREFIX,
 "workers": 1, "cpus": [1], "idle": {"policy": "backoff"},
 "tcp": {"max_connections": 4096, "max_time_wait": $MAX_TW},
 "test_apps": [{"port": 9002, "mode": "source", "bytes": $BYTES}],
 "http": {"port": 8000, "target_groups": "$WORK/tg.json"}}
EOF
weir_launch weir "$WORK/weir.json" "$WORK/weir-dp.log" || exit 2
cli ping -c 3 -i 0.05 -W 1 -q "$VIP" >/dev/null 2>&1
for ((k = 0; k < 50; k++)); do
	[ "$(cli curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$VIP:8000/")" = 200 ] && break
	sleep 0.2
done
row weir_tcp weir tcp
sleep $((2 * 2 + 1)) # the previous row's records expire (2 x time_wait)
row weir_http weir http
server_stop

# ---- the kernel: weir-kapp's source app and HAProxy -------------------------
kernel_own_vip
ip netns exec "$NS_LB" taskset -c 1 "$KAPP" --listen "$VIP" --app "9002:source:$BYTES" >"$WORK/kapp.log" 2>&1 &
SERVER_PID=$! SERVER_KIND=kapp
wait_ready "$WORK/kapp.log" "weir-kapp: ready" 100 || exit 2
haproxy_cfg "$WORK/haproxy.cfg" 8000 "$BE"
ip netns exec "$NS_LB" taskset -c 1 haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HA_PID=$!
cli ping -c 3 -i 0.05 -W 1 -q "$VIP" >/dev/null 2>&1
for ((k = 0; k < 50; k++)); do
	[ "$(cli curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$VIP:8000/")" = 200 ] && break
	sleep 0.2
done
kill -0 "$HA_PID" 2>/dev/null || { echo "cpr_bench: haproxy did not start:" >&2; tail -5 "$WORK/haproxy.log" >&2; }
row kernel_tcp kapp tcp
row haproxy_http haproxy http
LINUX_TW=$(awk '$1 == "tw_sock_TCP" {print $4}' /proc/slabinfo 2>/dev/null)
server_stop
kill -TERM "$HA_PID" 2>/dev/null && wait "$HA_PID" 2>/dev/null
HA_PID=
kernel_drop_vip

REPORT=${OUT:-$WORK/report.json}
"$PY" - "$WORK/rows.jsonl" "$REPORT" "${LINUX_TW:-0}" "$DUR" "$CONC" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
linux_tw, dur, conc = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print("| row | conn/s | completed | refused | errors | TIME_WAIT peak | evicted | bytes/TW record |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    w = r.get("weir", {})
    per = r.get("bytes_per_record") or (linux_tw if r["row"].startswith(("kernel", "haproxy")) else 0)
    print("| %s | %.0f | %d | %d | %d | %d | %s | %s |" % (
        r["row"], r["cps"], r["completed"], r["refused"], r["errors"], r["tw_peak"],
        w.get("tw_evicted", "-"), per or "?"))
print("\n%d closed loops, %d s per row; weir-dp bytes/record: its table's measured heap over "
      "tcp.max_time_wait (rte_hash index included); Linux: the tw_sock_TCP slab object." % (conc, dur))
json.dump({"rows": rows, "linux_tw_sock_bytes": linux_tw, "duration_s": dur, "loops": conc},
          open(sys.argv[2], "w"), indent=1)
ok = all(r["ok"] and r["refused"] == 0 and r["completed"] > 0 for r in rows)
sys.exit(0 if ok else 1)
EOF
rc=$?
[ -n "$OUT" ] && say "JSON written to $OUT"
exit $rc
