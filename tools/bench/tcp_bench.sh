#!/usr/bin/env bash
# Weir's TCP benchmark: single-connection throughput (both directions) and
# connections per second, through weir-dp's userspace TCP and through the
# Linux kernel serving the same test applications (weir-kapp), in the same
# topology and the same run. See tools/bench/README.md.
#
#   tools/bench/tcp_bench.sh [--short] [--out FILE] [--reps N] [--mib N]
#                            [--duration S] [--conc N] [--cc ALGO]
#
#   full (default): 200 MiB transfers, 10 s of connections at concurrency
#                   64, median of 3 runs of each
#   --short:        20 MiB, 2 s at concurrency 32, 1 run (the CI smoke run)
#
# Binaries come from ${WEIR_BUILD:-build} (nothing is built here). Runs as
# root; brings up its own testbed (${WEIR_BENCH_TB:-wbtcp}) and tears it
# down on exit, also on failure or Ctrl-C. Prints the table on stdout, the
# progress on stderr; exit 0 if every run was correct, 1 if one failed.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

MODE=full REPS=3 MIB=200 DURATION=10 CONC=64 CC=cubic OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--short) MODE=short REPS=1 MIB=20 DURATION=2 CONC=32 ;;
	--out) OUT=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--mib) MIB=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--conc) CONC=$2; shift ;;
	--cc) CC=$2; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "tcp_bench: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[[ $REPS =~ ^[0-9]+$ ]] && ((REPS >= 1 && REPS <= 20)) || { echo "tcp_bench: --reps 1..20" >&2; exit 2; }
[[ $MIB =~ ^[0-9]+$ ]] && ((MIB >= 1 && MIB <= 4096)) || { echo "tcp_bench: --mib 1..4096" >&2; exit 2; }
[[ $DURATION =~ ^[0-9]+$ ]] && ((DURATION >= 1 && DURATION <= 120)) || { echo "tcp_bench: --duration 1..120" >&2; exit 2; }
[[ $CONC =~ ^[0-9]+$ ]] && ((CONC >= 1 && CONC <= 4000)) || { echo "tcp_bench: --conc 1..4000" >&2; exit 2; }
need_bins
BYTES=$((MIB * 1048576))
WORK=$(mktemp -d /tmp/weir-bench-XXXXXX)
trap 'bench_cleanup' EXIT
trap 'exit 130' INT TERM
TB_NAME=${WEIR_BENCH_TB:-wbtcp}

# A transfer gets 30 s + 1 s per MiB: generous, but bounded.
XFER_TIMEOUT=$((30 + MIB))

# measure CONFIG: REPS rounds of rx, tx, cps against the server now running.
measure() {
	local cfg=$1 r out
	netstat_snap "$NS_CLI" "$WORK/$cfg.mib-cli0.json"
	netstat_snap "$NS_LB" "$WORK/$cfg.mib-lb0.json"
	cp /proc/net/softnet_stat "$WORK/$cfg.softnet0"
	for ((r = 1; r <= REPS; r++)); do
		for m in rx tx cps; do
			case $m in
			rx) out=$(client rx "$VIP" 9002 "$BYTES" --timeout $XFER_TIMEOUT) ;;
			tx) out=$(client tx "$VIP" 9003 "$BYTES" --timeout $XFER_TIMEOUT) ;;
			cps) out=$(client cps "$VIP" 9000 --conc "$CONC" --duration "$DURATION" --timeout $((DURATION + 30))) ;;
			esac
			out=$(printf '%s\n' "$out" | grep '^{' | tail -1)
			[ -n "$out" ] || out='{"ok":false,"error":"no output"}'
			say "$cfg run $r $m: $out"
			printf '{"config":"%s","metric":"%s","rep":%d,%s\n' "$cfg" "$m" "$r" "${out#\{}" >>"$WORK/$cfg.jsonl"
			sleep 0.5
		done
	done
	netstat_snap "$NS_CLI" "$WORK/$cfg.mib-cli1.json"
	netstat_snap "$NS_LB" "$WORK/$cfg.mib-lb1.json"
	cp /proc/net/softnet_stat "$WORK/$cfg.softnet1"
}

say "testbed $TB_NAME up"
tb_up "$TB_NAME" || { echo "tcp_bench: testbed failed" >&2; exit 1; }
client_cc "$CC" || { echo "tcp_bench: 'ip route ... congctl $CC' refused in the client namespace" >&2; exit 1; }

for policy in busy backoff; do
	say "weir-dp, 1 worker on CPU 1, idle policy $policy"
	weir_start "$policy" "$BYTES" || exit 1
	wait_reachable || { echo "tcp_bench: $VIP (weir-dp) does not answer" >&2; exit 1; }
	before=$(tel /weir/tcp)
	measure "weir_$policy"
	after=$(tel /weir/tcp)
	printf '{"before":%s,"after":%s,"lcores":%s}\n' "$before" "$after" "$(tel /weir/stats/lcores)" \
		>"$WORK/weir_$policy.counters.json"
	server_stop
done

say "Linux kernel (weir-kapp on CPU 1) owns $VIP on $LB_IF, congctl $CC"
kernel_own_vip "$CC" || { echo "tcp_bench: 'ip route ... congctl $CC' refused in the LB namespace" >&2; exit 1; }
kapp_start "$BYTES" || exit 1
wait_reachable || { echo "tcp_bench: $VIP (kernel) does not answer" >&2; exit 1; }
measure kernel
server_stop

cat >"$WORK/params.json" <<EOF
{"mode": "$MODE", "reps": $REPS, "mib": $MIB, "duration": $DURATION, "conc": $CONC, "cc": "$CC",
 "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)", "kernel": "$(uname -r)", "cpus": $(nproc),
 "weir_dp": "1 worker on CPU 1 (af_xdp, 1 queue), main lcore CPU 0",
 "kernel_server": "weir-kapp on CPU 1 (taskset), VIP on lb0",
 "client": "weir-tcpbench on CPU 0 (taskset) in the client namespace",
 "default_kernel_cc": "$(ip netns exec "$NS_LB" sysctl -n net.ipv4.tcp_congestion_control)"}
EOF
"$PY" "$ROOT/tools/bench/report.py" "$WORK" "${OUT:-$WORK/report.json}" "$WORK/params.json"
rc=$?
[ -n "$OUT" ] && say "JSON written to $OUT"
exit $rc
