#!/usr/bin/env bash
# The long impaired-transfer mode (not in CI): N MiB each way between the
# Linux client and weir-dp's source/sink apps (passive open) through
# weir-impair (5% loss, 10% reordering held for 3 frames, 1% duplication,
# each way), then the same through the same impairment with the Linux
# kernel serving the apps (weir-kapp) and both kernels on CUBIC
# (`ip route ... congctl cubic`). Prints both times and the ratio.
#
#   tools/bench/tcp_impaired.sh [--mib N] [--seed S]... [--out FILE] [--timeout S]
#
#   --mib N      MiB each way (default 100)
#   --seed S     weir-impair seed; repeat for several seeds (default 1); each
#                seed gets a fresh testbed, weir-dp first, then the kernel
#   --timeout S  per transfer (default 900)
#   --out FILE   JSON report
#
# Binaries from ${WEIR_BUILD:-build}; testbed ${WEIR_BENCH_TB:-wbimp}, torn
# down on exit. Exit 0 if every transfer was byte-exact.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

MIB=100 SEEDS=() TIMEOUT=900 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--mib) MIB=$2; shift ;;
	--seed) SEEDS+=("$2"); shift ;;
	--timeout) TIMEOUT=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "tcp_impaired: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
[ ${#SEEDS[@]} -gt 0 ] || SEEDS=(1)
[[ $MIB =~ ^[0-9]+$ ]] && ((MIB >= 1 && MIB <= 4096)) || { echo "tcp_impaired: --mib 1..4096" >&2; exit 2; }
[[ $TIMEOUT =~ ^[0-9]+$ ]] && ((TIMEOUT >= 10 && TIMEOUT <= 3600)) || { echo "tcp_impaired: --timeout 10..3600" >&2; exit 2; }
((${#SEEDS[@]} <= 10)) || { echo "tcp_impaired: at most 10 seeds" >&2; exit 2; }
for s in "${SEEDS[@]}"; do [[ $s =~ ^[0-9]+$ ]] || { echo "tcp_impaired: bad seed $s" >&2; exit 2; }; done
need_bins
IMPAIR_OPTS="--loss 5% --dup 1% --reorder 10%:3"
BYTES=$((MIB * 1048576))
WORK=$(mktemp -d /tmp/weir-impbench-XXXXXX)
trap 'bench_cleanup' EXIT
trap 'exit 130' INT TERM
TB_NAME=${WEIR_BENCH_TB:-wbimp}
# The bridge runs under a name of its own: another test's
# `pkill weir-impair` (pkill sees every PID namespace's processes, even
# when run under `ip netns exec`) would otherwise stop it mid-transfer.
IMPAIR_REAL=${WEIR_IMPAIR_BIN:-$BUILD/tools/impair/weir-impair}
[ -x "$IMPAIR_REAL" ] || { echo "tcp_impaired: $IMPAIR_REAL missing" >&2; exit 2; }
ln -s "$IMPAIR_REAL" "$WORK/wb-impair"
export WEIR_IMPAIR_BIN=$WORK/wb-impair

bridge_alive() { [ -n "$(ip netns pids "$TB-imp" 2>/dev/null)" ]; }

say "default congestion control: $(sysctl -n net.ipv4.tcp_congestion_control);" \
	"available: $(sysctl -n net.ipv4.tcp_available_congestion_control);" \
	"allowed (unprivileged): $(sysctl -n net.ipv4.tcp_allowed_congestion_control)"
grep -qw cubic /proc/sys/net/ipv4/tcp_available_congestion_control ||
	say "cubic is not listed as available: 'congctl cubic' will ask the kernel to load tcp_cubic"

impair_snapshot() { # impair_snapshot FILE: the bridge's counters now
	local p
	for p in $(ip netns pids "$TB-imp" 2>/dev/null); do kill -USR1 "$p" 2>/dev/null; done
	sleep 0.5
	cp "/tmp/weir-impair-$TB.json" "$1" 2>/dev/null || echo '{}' >"$1"
}

xfer() { # xfer SERVER SEED DIR: one timed transfer, its JSON appended
	local server=$1 seed=$2 dir=$3 out port=9002
	[ "$dir" = tx ] && port=9003
	netstat_snap "$NS_CLI" "$WORK/s$seed-$server-$dir-cli0.json"
	[ "$server" = kernel ] && netstat_snap "$NS_LB" "$WORK/s$seed-$server-$dir-lb0.json"
	out=$(client "$dir" "$VIP" "$port" "$BYTES" --timeout "$TIMEOUT" | grep '^{' | tail -1)
	[ -n "$out" ] || out='{"ok":false,"error":"no output"}'
	if ! bridge_alive; then # the run says nothing about TCP then
		say "seed $seed $server $dir: the impairment bridge is gone (killed from outside?): run invalid"
		out='{"ok":false,"error":"impairment bridge died during the transfer","client":'"$out"'}'
	fi
	say "seed $seed $server $dir: $out"
	printf '{"server":"%s","seed":%d,"dir":"%s",%s\n' "$server" "$seed" "$dir" "${out#\{}" >>"$WORK/xfers.jsonl"
	netstat_snap "$NS_CLI" "$WORK/s$seed-$server-$dir-cli1.json"
	[ "$server" = kernel ] && netstat_snap "$NS_LB" "$WORK/s$seed-$server-$dir-lb1.json"
	return 0
}

for seed in "${SEEDS[@]}"; do
	say "seed $seed: testbed $TB_NAME with weir-impair --seed $seed $IMPAIR_OPTS"
	rm -f "/tmp/weir-impair-$TB_NAME.json" # the bridge writes it once it is ready
	tb_up "$TB_NAME" "--seed $seed $IMPAIR_OPTS" || { echo "tcp_impaired: testbed failed" >&2; exit 1; }
	for ((i = 0; i < 100; i++)); do [ -s "/tmp/weir-impair-$TB.json" ] && break; sleep 0.1; done
	[ -s "/tmp/weir-impair-$TB.json" ] || { echo "tcp_impaired: weir-impair not ready:" >&2; cat "/tmp/weir-impair-$TB.log" >&2; exit 1; }
	if ! client_cc cubic; then
		echo "tcp_impaired: 'ip route replace ... congctl cubic' refused in $NS_CLI" >&2
		exit 1
	fi

	say "seed $seed: weir-dp (1 worker on CPU 1, idle back-off)"
	weir_start backoff "$BYTES" || exit 1
	wait_reachable || { echo "tcp_impaired: $VIP (weir-dp) unreachable through the bridge" >&2; cat "/tmp/weir-impair-$TB.log" >&2; exit 1; }
	tel /weir/tcp >"$WORK/s$seed-weir-tcp0.json"
	xfer weir "$seed" rx
	tel /weir/tcp >"$WORK/s$seed-weir-tcp1.json"
	xfer weir "$seed" tx
	tel /weir/tcp >"$WORK/s$seed-weir-tcp2.json"
	impair_snapshot "$WORK/s$seed-impair-weir.json"
	server_stop

	say "seed $seed: Linux kernel (weir-kapp on CPU 1), congctl cubic on both ends"
	if ! kernel_own_vip cubic; then
		echo "tcp_impaired: 'ip route replace ... congctl cubic' refused in $NS_LB" >&2
		exit 1
	fi
	ip -n "$NS_LB" route show dev "$LB_IF" >&2
	ip -n "$NS_CLI" route show dev "$CLI_IF" >&2
	KAPP_VERBOSE=1 kapp_start "$BYTES" || exit 1
	wait_reachable || { echo "tcp_impaired: $VIP (kernel) unreachable through the bridge" >&2; cat "/tmp/weir-impair-$TB.log" >&2; exit 1; }
	xfer kernel "$seed" rx
	xfer kernel "$seed" tx
	impair_snapshot "$WORK/s$seed-impair-all.json"
	server_stop
	cp "$WORK/kapp.log" "$WORK/s$seed-kapp.log"
	cp "/tmp/weir-impair-$TB.log" "$WORK/s$seed-impair.log" 2>/dev/null
	grep 'cc ' "$WORK/s$seed-kapp.log" | sed 's/^/# /' >&2
	tb_down
done

"$PY" - "$WORK" "$MIB" "${OUT:-}" "${SEEDS[*]}" "$IMPAIR_OPTS" <<'EOF'
import json, os, statistics, sys
work, mib, out, seeds, opts = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4].split(), sys.argv[5]
xf = [json.loads(l) for l in open(os.path.join(work, "xfers.jsonl")) if l.startswith("{")]
def load(p):
    try:
        with open(os.path.join(work, p)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
KEYS = ("retransmits", "rto_fires", "fast_recoveries", "tlp_probes", "lost_retransmits",
        "ooo_queued", "ooo_dropped", "segs_in", "segs_out", "delayed_acks", "nomem_mbuf", "nomem_reass")
LINUX_KEYS = {"Tcp:RetransSegs", "Tcp:OutSegs", "Tcp:InSegs", "TcpExt:TCPTimeouts", "TcpExt:TCPLossProbes",
    "TcpExt:TCPLossProbeRecovery", "TcpExt:TCPSackRecovery", "TcpExt:TCPRenoRecovery", "TcpExt:TCPFastRetrans",
    "TcpExt:TCPSlowStartRetrans", "TcpExt:TCPLostRetransmit", "TcpExt:TCPSACKReorder", "TcpExt:TCPDSACKRecv",
    "TcpExt:TCPSpuriousRTOs", "TcpExt:TCPSACKReneging", "TcpExt:TCPRenoReorder", "TcpExt:TCPTSReorder",
    "TcpExt:TCPDSACKOldSent", "TcpExt:TCPDSACKOfoSent", "TcpExt:TCPOFOQueue", "TcpExt:TCPDelivered",
    "TcpExt:TCPSackRecoveryFail", "TcpExt:TCPRenoFailures", "TcpExt:TCPSackFailures", "TcpExt:TCPLossFailures",
    "TcpExt:TCPDSACKIgnoredNoUndo", "TcpExt:TCPSpuriousRtxHostQueues", "TcpExt:TCPRcvCoalesce",
    "TcpExt:DelayedACKs", "TcpExt:TCPHPAcks", "TcpExt:TCPPureAcks", "TcpExt:TCPDSACKUndo", "TcpExt:TCPFullUndo",
    "TcpExt:TCPPartialUndo", "TcpExt:TCPLossUndo", "TcpExt:TCPSACKDiscard", "TcpExt:TCPDSACKIgnoredOld",
    "TcpExt:TCPRcvQDrop", "TcpExt:TCPZeroWindowDrop", "TcpExt:TCPOFODrop", "TcpExt:TCPWantZeroWindowAdv",
    "TcpExt:TCPToZeroWindowAdv", "TcpExt:TCPFromZeroWindowAdv", "TcpExt:TCPRetransFail",
    "TcpExt:TCPAbortOnData", "TcpExt:TCPAbortOnTimeout"}
rows, report, bad = [], {"mib": mib, "impairment": opts, "seeds": {}}, 0
for s in seeds:
    t = {(x["server"], x["dir"]): x for x in xf if str(x["seed"]) == s}
    c = [load("s%s-weir-tcp%d.json" % (s, i)) for i in range(3)]
    counters = {d: {k: c[i + 1].get(k, 0) - c[i].get(k, 0) for k in KEYS} for i, d in enumerate(("rx", "tx"))}
    imp_w, imp_a = load("s%s-impair-weir.json" % s), load("s%s-impair-all.json" % s)
    kcc = sorted({l.split(" cc ")[-1].strip() for l in open(os.path.join(work, "s%s-kapp.log" % s))
                  if " cc " in l}) if os.path.exists(os.path.join(work, "s%s-kapp.log" % s)) else []
    mib_d = {}
    for srv in ("weir", "kernel"):
        for d in ("rx", "tx"):
            for side in ("cli", "lb"):
                a, b = load("s%s-%s-%s-%s0.json" % (s, srv, d, side)), load("s%s-%s-%s-%s1.json" % (s, srv, d, side))
                dd = {k: b[k] - a.get(k, 0) for k in b if b[k] != a.get(k, 0) and k in LINUX_KEYS}
                if a:
                    mib_d["%s_%s_%s" % (srv, d, side)] = dd
    entry = {"linux_mib": mib_d, "weir_counters": counters, "impair_after_weir": imp_w, "impair_after_all": imp_a,
             "kernel_server_cc": kcc, "transfers": {}}
    for d in ("rx", "tx"):
        w, k = t.get(("weir", d), {}), t.get(("kernel", d), {})
        ws = w.get("seconds") if w.get("ok") else None
        ks = k.get("seconds") if k.get("ok") else None
        bad += (not w.get("ok")) + (not k.get("ok"))
        ratio = ws / ks if ws and ks else None
        entry["transfers"][d] = {"weir_s": ws, "linux_s": ks, "ratio": ratio, "weir": w, "linux": k}
        rows.append((s, d, ws, ks, ratio, k.get("cc", "?")))
    tw = [entry["transfers"][d]["weir_s"] for d in ("rx", "tx")]
    tk = [entry["transfers"][d]["linux_s"] for d in ("rx", "tx")]
    if None not in tw + tk:
        entry["both_ways"] = {"weir_s": sum(tw), "linux_s": sum(tk), "ratio": sum(tw) / sum(tk)}
        rows.append((s, "both", sum(tw), sum(tk), sum(tw) / sum(tk), ""))
    report["seeds"][s] = entry
f = lambda x: "FAIL" if x is None else "%.2f" % x  # noqa: E731
print("# %d MiB each way through weir-impair %s (per-direction, each way)" % (mib, opts))
print("%-5s %-5s %10s %10s %12s  %s" % ("seed", "dir", "weir s", "linux s", "weir/linux", "client cc"))
for s, d, ws, ks, r, cc in rows:
    print("%-5s %-5s %10s %10s %12s  %s" % (s, d, f(ws), f(ks), f(r), cc))
both = [e["both_ways"]["ratio"] for e in report["seeds"].values() if "both_ways" in e]
if both:
    report["median_ratio_both_ways"] = statistics.median(both)
    print("# median weir/linux (both ways): %.2f  (the issue's bound: 3.00)" % report["median_ratio_both_ways"])
for s, e in report["seeds"].items():
    for d in ("rx", "tx"):
        print("# seed %s weir %s counters: %s" % (s, d, " ".join("%s=%d" % kv for kv in e["weir_counters"][d].items())))
    print("# seed %s kernel server cc: %s" % (s, ",".join(e["kernel_server_cc"]) or "?"))
    # The Linux sender's view: the client sends in tx, the LB kernel in rx.
    for tag in ("weir_tx_cli", "kernel_tx_cli", "kernel_rx_lb", "weir_rx_cli", "kernel_rx_cli"):
        if tag in e["linux_mib"]:
            print("# seed %s linux %s: %s" % (s, tag, " ".join("%s=%d" % (k.split(":")[1], v)
                  for k, v in sorted(e["linux_mib"][tag].items()))))
if out:
    with open(out, "w") as fh:
        json.dump(report, fh, indent=1)
sys.exit(1 if bad else 0)
EOF
