#!/usr/bin/env bash
# Weir's HTTP benchmark: weir-dp's HTTP proxy (busy-poll and back-off),
# HAProxy (nbthread 1) and nginx (one worker) in front of the same nginx
# replicas, in the same testbed and the same run; each load balancer on
# CPU 1, the client on CPU 0. See tools/bench/HTTP.md.
#
#   tools/bench/http_bench.sh [--short] [--wrk2 PATH] [--out FILE] [--reps N]
#                             [--rates R1,R2,..] [--lbs LB1,LB2,..]
#
#   full (default, ~14 min): saturation throughput (wrk, 64 connections, 10 s) and
#                   p50/p99/p99.9 at 1000, 5000, 10000 req/s (10 s each,
#                   32 connections, first second not counted); 3 runs,
#                   medians; the load balancers interleaved in each run
#   --short:        3 s of saturation, 1000 req/s for 3 s, 1 run (CI)
#   --wrk2 PATH:    the fixed-rate runs use wrk2 instead of weir-httpload
#   --lbs:          a subset of weir_busy,weir_backoff,haproxy,nginx
#
# Fixed-rate runs use weir-httpload (tools/bench/http/httpload.c): latency
# from each request's intended send time, no coordinated omission. Binaries
# come from ${WEIR_BUILD:-build} (weir-dp is not built here; weir-httpload is
# compiled into a temporary directory if the build has none). Runs as root;
# brings up its own testbed (${WEIR_BENCH_HTTP_TB:-wbhttp}, 4 nginx replicas)
# and tears it down on exit, also on failure or Ctrl-C. Prints the table on
# stdout, the progress on stderr; exit 0 if every load balancer served, 1 if
# one produced no throughput, 2 on usage or setup errors.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

HERE=$ROOT/tools/bench/http
TB_NAME=${WEIR_BENCH_HTTP_TB:-wbhttp}
REPLICAS=${WEIR_BENCH_HTTP_REPLICAS:-4}
LB_CPU=1 CLI_CPU=0
# The replicas share the client's CPU, so the load balancer's CPU is its
# own; WEIR_BENCH_HTTP_BE_CPUS changes that (a taskset list, "" = no pinning).
BE_CPUS=${WEIR_BENCH_HTTP_BE_CPUS-0}

MODE=full REPS=3 SAT_DUR=10 RATE_DUR=10 RATE_WARMUP=1 RATES=1000,5000,10000
SAT_CONNS=64 RATE_CONNS=32 WRK2= OUT= LBS=weir_busy,weir_backoff,haproxy,nginx
while [ $# -gt 0 ]; do
	case $1 in
	--short) MODE=short REPS=1 SAT_DUR=3 RATE_DUR=3 RATE_WARMUP=0.5 RATES=1000 ;;
	--wrk2) WRK2=$2; shift ;;
	--out) OUT=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--rates) RATES=$2; shift ;;
	--lbs) LBS=$2; shift ;;
	-h|--help) sed -n '2,26p' "$0"; exit 0 ;;
	*) echo "http_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $REPS =~ ^[0-9]+$ ]] && ((REPS >= 1 && REPS <= 20)) || { echo "http_bench: --reps 1..20" >&2; exit 2; }
[[ $RATES =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "http_bench: --rates R1,R2,.. (req/s)" >&2; exit 2; }
for lb in ${LBS//,/ }; do
	case $lb in weir_busy|weir_backoff|haproxy|nginx) ;; *) echo "http_bench: unknown LB $lb" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "http_bench: run as root (namespaces)" >&2; exit 2; }

[ -x "$WEIR_DP" ] || { echo "http_bench: no weir-dp in $BUILD: build first (meson setup $BUILD && ninja -C $BUILD)" >&2; exit 2; }
for b in wrk nginx haproxy curl taskset; do
	command -v $b >/dev/null || { echo "http_bench: $b missing (tools/setup.sh installs it)" >&2; exit 2; }
done
if [ -n "$WRK2" ] && ! [ -x "$WRK2" ]; then echo "http_bench: --wrk2 $WRK2 is not executable" >&2; exit 2; fi

WORK=$(mktemp -d /tmp/weir-http-bench-XXXXXX)
BE_PIDS=

HTTPLOAD=$BUILD/tools/bench/http/weir-httpload
if ! [ -x "$HTTPLOAD" ] && [ -z "$WRK2" ]; then
	HTTPLOAD=$WORK/weir-httpload
	cc -O2 -std=c11 -D_GNU_SOURCE -o "$HTTPLOAD" "$HERE/httpload.c" -lm ||
		{ echo "http_bench: cannot compile $HERE/httpload.c" >&2; rm -rf "$WORK"; exit 2; }
fi

# ---- teardown ------------------------------------------------------------

cleanup() {
	local p
	server_stop
	for p in $BE_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $BE_PIDS; do wait "$p" 2>/dev/null; done
	BE_PIDS=
	rm -rf "/var/run/dpdk/$TB_NAME"
	[ -n "${BENCH_KEEP:-}" ] && say "kept $WORK"
	bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- testbed and replicas --------------------------------------------------

say "work dir $WORK"
say "testbed $TB_NAME up with $REPLICAS replicas"
tb_up "$TB_NAME" "" "$REPLICAS" || { echo "http_bench: testbed failed" >&2; exit 2; }

i=0
for ip in $BE_IPS; do
	i=$((i + 1))
	d=$WORK/be$i
	mkdir -p "$d"
	cat >"$d/nginx.conf" <<EOF
worker_processes 1;
$(nginx_prologue "$d")
events { worker_connections 8192; }
$(nginx_http "$d")
    keepalive_timeout 60s;
    server {
        listen $ip:8080 backlog=4096;
        location / { return 200 "ok\n"; }
    }
}
EOF
	be_pin=()
	[ -n "$BE_CPUS" ] && be_pin=(taskset -c "$BE_CPUS")
	ip netns exec "$NS_BE" "${be_pin[@]}" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$d/stdout" 2>&1 &
	BE_PIDS="$BE_PIDS $!"
done
check_replicas() {
	local ip n=0
	for ip in $BE_IPS; do
		[ "$(ip netns exec "$NS_CLI" curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$ip:8080/")" = 200 ] && n=$((n + 1))
	done
	[ "$n" = "$REPLICAS" ]
}
for ((k = 0; k < 50; k++)); do check_replicas && break; sleep 0.1; done
check_replicas || { echo "http_bench: the nginx replicas do not answer:" >&2; cat "$WORK"/be*/error.log "$WORK"/be*/stdout >&2; exit 2; }
say "replicas: nginx on $BE_IPS port 8080 (CPU ${BE_CPUS:-any})"

# ---- load balancers --------------------------------------------------------

TG=$WORK/tg.json
"$PY" - "$TG" $BE_IPS <<'EOF'
import json, sys
targets = [{"ip": ip, "port": 8080, "instance_id": "", "name": "nginx-%d" % (i + 1)}
           for i, ip in enumerate(sys.argv[2:])]
json.dump({"target_groups": [{"protocol": "HTTP", "route_prefix": "/", "app_name": "bench",
                              "targets": targets}]}, open(sys.argv[1], "w"), indent=1)
EOF

tel_snap() { # tel_snap [FILE]: weir-dp's HTTP, TCP and port counters
	local j
	j=$(printf '{"http":%s,"tcp":%s,"stats":%s,"lcores":%s,"ethdev":%s,"xstats":%s}' "$(tel /weir/http)" \
		"$(tel /weir/tcp)" "$(tel /weir/stats)" "$(tel /weir/stats/lcores)" "$(tel /ethdev/stats,0)" \
		"$(tel /ethdev/xstats,0)")
	if [ -n "${1:-}" ]; then echo "$j" >"$1"; else echo "$j"; fi
}

# wait_serving: the VIP answers 200 through the LB (10 s at most)
wait_serving() {
	local k
	for ((k = 0; k < 100; k++)); do
		[ "$(ip netns exec "$NS_CLI" curl -s -m 1 -o /dev/null -w '%{http_code}' "http://$VIP:8000/")" = 200 ] && return 0
		kill -0 "$SERVER_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

lb_start() { # lb_start LB REP
	local lb=$1 log=$WORK/$1-$2.log
	case $lb in
	weir_busy|weir_backoff)
		kernel_drop_vip
		local cfg=$WORK/weir-$lb.json
		cat >"$cfg" <<EOF
{"port": {"iface": "$LB_IF", "driver": "af_xdp"},
 "vips": ["$VIP"], "local_ip": "$LOCAL_IP", "prefix_len": $PREFIX,
 "workers": 1, "cpus": [$LB_CPU], "idle": {"policy": "${lb#weir_}"},
 "tcp": {"max_connections": 4096},
 "http": {"port": 8000}}
EOF
		weir_launch "$lb" "$cfg" "$log" || return 1
		weir_cp_start "$TG" "$WORK/$lb-$2.cp.log" || return 1
		;;
	haproxy)
		kernel_own_vip
		# shellcheck disable=SC2086
		haproxy_cfg "$WORK/haproxy.cfg" 8000 $BE_IPS
		haproxy -c -f "$WORK/haproxy.cfg" >"$log" 2>&1 || { echo "http_bench: haproxy config refused:" >&2; cat "$log" >&2; return 1; }
		ip netns exec "$NS_LB" taskset -c $LB_CPU haproxy -db -f "$WORK/haproxy.cfg" >>"$log" 2>&1 &
		SERVER_PID=$! SERVER_KIND=haproxy
		;;
	nginx)
		kernel_own_vip
		local d=$WORK/nginx-lb
		mkdir -p "$d"
		cat >"$d/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 20000;
$(nginx_prologue "$d")
events { worker_connections 9000; }
$(nginx_http "$d")
    keepalive_timeout 3600s;
    upstream replicas {
        least_conn;
$(for ip in $BE_IPS; do echo "        server $ip:8080;"; done)
        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 60s;
    }
    server {
        listen $VIP:8000 backlog=4096;
        location / {
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
		ip netns exec "$NS_LB" taskset -c $LB_CPU nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" >"$log" 2>&1 &
		SERVER_PID=$! SERVER_KIND=nginx
		;;
	esac
	wait_serving || { echo "http_bench: $lb does not serve $VIP:8000:" >&2; tail -20 "$log" >&2; return 1; }
}

lb_alive() { [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; }

incident() { # incident LB REP WHAT: recorded in the report, printed at the end
	local lb=$1 rep=$2 what=$3 f=$WORK/$1-$2.incident.json
	say "INCIDENT $lb run $rep: $what"
	{
		printf '{"lb":"%s","rep":%d,"what":%s' "$lb" "$rep" "$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$what")"
		if [[ $lb == weir* ]]; then
			printf ',"log_tail":%s' "$("$PY" -c 'import json,sys; print(json.dumps(open(sys.argv[1]).read()[-3000:]))' "$WORK/$lb-$rep.log")"
			lb_alive && printf ',"telemetry":%s' "$(tel_snap)"
		fi
		echo "}"
	} >>"$WORK/incidents.jsonl"
}

# ---- measurements ----------------------------------------------------------

record() { # record LB REP KIND JSON (with the machine's load average: noise)
	printf '{"lb":"%s","rep":%d,"kind":"%s","load1":%s,%s\n' "$1" "$2" "$3" \
		"$(cut -d' ' -f1 /proc/loadavg)" "${4#\{}" >>"$WORK/runs.jsonl"
}

cli() { ip netns exec "$NS_CLI" taskset -c $CLI_CPU "$@"; }

# lb_ticks: CPU time (user+system, clock ticks) of the LB's processes so far
lb_ticks() {
	local p t=0
	for p in $SERVER_PID $(pgrep -P "$SERVER_PID" 2>/dev/null); do
		[ -r "/proc/$p/stat" ] || continue
		t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
	done
	echo $t
}

saturation() { # saturation LB REP
	local lb=$1 rep=$2 f=$WORK/$1-$2-sat.txt j cpu t0 t1 s0 s1 l0= l1= lbcpu
	[[ $lb == weir* ]] && l0=$(tel /weir/stats/lcores)
	t0=$(lb_ticks) s0=$(date +%s%N)
	cat /proc/stat >"$WORK/stat.a"
	cli wrk -t1 -c$SAT_CONNS -d${SAT_DUR}s --timeout 5s --latency "http://$VIP:8000/" >"$f" 2>&1
	cat /proc/stat >"$WORK/stat.b"
	t1=$(lb_ticks) s1=$(date +%s%N)
	[[ $lb == weir* ]] && l1=$(tel /weir/stats/lcores)
	cpu=$("$PY" "$HERE/hb.py" cpu "$WORK/stat.a" "$WORK/stat.b")
	# The LB's own CPU use: its processes' CPU time over the wall time; for
	# weir-dp also the worker's share of cycles spent on work (poll_busy).
	lbcpu=$("$PY" "$HERE/hb.py" lbcpu "$t0" "$t1" "$s0" "$s1" "$(getconf CLK_TCK)" "$l0" "$l1")
	j=$("$PY" "$HERE/hb.py" wrk "$f")
	j="${j%\}},\"cpu_busy\":$cpu,${lbcpu#\{}"
	say "$lb run $rep saturation: $j"
	record "$lb" "$rep" sat "$j"
	grep -q '"ok": true' <<<"$j" || incident "$lb" "$rep" "saturation run produced no result: $(tail -5 "$f" | tr '\n' ' ')"
	grep -Eq '"non_2xx": [1-9]|"errors": [1-9]|"timeouts": [1-9]' <<<"$j" &&
		incident "$lb" "$rep" "saturation run: non-2xx or socket errors: $(grep -E 'Non-2xx|Socket errors' "$f" | tr '\n' ' ')"
}

fixed_rate() { # fixed_rate LB REP RATE
	local lb=$1 rep=$2 rate=$3 f=$WORK/$1-$2-r$3.txt j
	if [ -n "$WRK2" ]; then
		cli "$WRK2" -t1 -c$RATE_CONNS -d${RATE_DUR}s -R"$rate" --timeout 5s --latency "http://$VIP:8000/" >"$f" 2>&1
		j=$("$PY" "$HERE/hb.py" wrk "$f" "$rate")
	else
		cli "$HTTPLOAD" --host "$VIP" --port 8000 --rate "$rate" --conns $RATE_CONNS \
			--duration "$RATE_DUR" --warmup "$RATE_WARMUP" --timeout 5 >"$f" 2>&1
		j=$(grep '^{' "$f" | tail -1)
		[ -n "$j" ] || j="{\"ok\":false,\"rate\":$rate,\"error\":$("$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$(tail -3 "$f")")}"
	fi
	say "$lb run $rep at $rate req/s: $j"
	record "$lb" "$rep" rate "$j"
	grep -Eq '"ok": ?true' <<<"$j" || incident "$lb" "$rep" "fixed rate $rate: no result"
	grep -Eq '"(non_2xx|errors|parse_errors)": ?[1-9]' <<<"$j" &&
		incident "$lb" "$rep" "fixed rate $rate req/s: non-2xx answers, connection errors or malformed answers"
	grep -Eq '"(timeouts|unsent)": ?[1-9]' <<<"$j" &&
		incident "$lb" "$rep" "fixed rate $rate req/s: overload: requests unanswered after 5 s or not sent by the end of the drain"
}

# softnet_drops: packets the kernel dropped for a full per-CPU backlog
# (/proc/net/softnet_stat, 2nd column, summed over CPUs): veth delivers
# every frame of the testbed through it.
softnet_drops() {
	local t=0 d
	for d in $(awk '{print $2}' /proc/net/softnet_stat); do t=$((t + 16#$d)); done
	echo $t
}

measure() { # measure LB REP
	local lb=$1 rep=$2 rate sd0
	[ "$MODE" = full ] && cli wrk -t1 -c$SAT_CONNS -d1s "http://$VIP:8000/" >/dev/null 2>&1 # warm-up
	sd0=$(softnet_drops)
	[[ $lb == weir* ]] && tel_snap "$WORK/$lb-$rep.tel-before.json"
	saturation "$lb" "$rep"
	for rate in ${RATES//,/ }; do
		lb_alive || break
		sleep 0.5
		fixed_rate "$lb" "$rep" "$rate"
	done
	if [[ $lb == weir* ]] && lb_alive; then
		tel_snap "$WORK/$lb-$rep.tel-after.json"
		"$PY" - "$WORK/$lb-$rep.tel-before.json" "$WORK/$lb-$rep.tel-after.json" >"$WORK/$lb-$rep.tel-delta.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def d(x, y):
    if isinstance(y, dict):
        return {k: d(x.get(k) if isinstance(x, dict) else None, v) for k, v in y.items()
                if isinstance(v, (int, dict)) and not isinstance(v, bool)}
    return y - (x or 0) if isinstance(y, int) else None
print(json.dumps({k: d(a.get(k), b.get(k, {})) for k in ("http", "tcp", "stats", "ethdev", "xstats")}))
EOF
		say "$lb run $rep weir-dp HTTP counters (delta): $("$PY" -c 'import json,sys; h=json.load(open(sys.argv[1]))["http"]; print({k: v for k, v in h.items() if v})' "$WORK/$lb-$rep.tel-delta.json" 2>/dev/null)"
	fi
	record "$lb" "$rep" sys "{\"ok\":true,\"softnet_drops\":$(($(softnet_drops) - sd0))}"
	if ! lb_alive; then
		incident "$lb" "$rep" "the load balancer died during the run: $(tail -5 "$WORK/$lb-$rep.log" | tr '\n' ' ')"
	fi
}

start=$(date +%s)
for ((rep = 1; rep <= REPS; rep++)); do
	for lb in ${LBS//,/ }; do
		say "run $rep/$REPS: $lb (CPU $LB_CPU), client on CPU $CLI_CPU"
		if lb_start "$lb" "$rep"; then
			measure "$lb" "$rep"
		else
			incident "$lb" "$rep" "did not start or serve"
		fi
		server_stop
		sleep 0.5
	done
done
kernel_drop_vip

cat >"$WORK/params.json" <<EOF
{"mode": "$MODE", "reps": $REPS, "rates": [$RATES], "lbs": "$LBS",
 "saturation": {"tool": "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')", "connections": $SAT_CONNS, "threads": 1, "duration_s": $SAT_DUR},
 "fixed_rate": {"tool": "${WRK2:-weir-httpload}", "connections": $RATE_CONNS, "duration_s": $RATE_DUR, "warmup_s": $RATE_WARMUP},
 "replicas": {"count": $REPLICAS, "server": "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), 1 worker each, return 200 \"ok\\\\n\"", "cpus": "${BE_CPUS:-any}"},
 "lb_cpu": $LB_CPU, "client_cpu": $CLI_CPU,
 "haproxy": "$(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'), nbthread 1, maxconn 9000, leastconn, http-reuse always",
 "nginx_lb": "1 worker, upstream keepalive 256, least_conn",
 "weir": "1 worker on CPU $LB_CPU (af_xdp, 1 queue), main lcore blocked on CPU 0",
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "elapsed_s": $(($(date +%s) - start)),
 "kernel": "$(uname -r)", "cpus": $(nproc), "loadavg_end": "$(cut -d' ' -f1-3 /proc/loadavg)"}
EOF
# weir-dp's counters of each run, for the report.
"$PY" - "$WORK" >"$WORK/weir_counters.json" <<'EOF'
import glob, json, os, sys
out = {}
for p in sorted(glob.glob(os.path.join(sys.argv[1], "*.tel-delta.json"))):
    try:
        out[os.path.basename(p).replace(".tel-delta.json", "")] = json.load(open(p))
    except ValueError:
        pass
print(json.dumps(out))
EOF
REPORT=${OUT:-$WORK/report.json}
"$PY" "$HERE/hb.py" report "$WORK" "$REPORT" "$WORK/params.json"
rc=$?
[ -n "$OUT" ] && say "JSON written to $OUT"
exit $rc
