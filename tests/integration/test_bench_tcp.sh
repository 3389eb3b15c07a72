#!/usr/bin/env bash
# CI smoke run of the TCP benchmark (tools/bench/tcp_bench.sh --short): it
# must run end to end in its own testbed, produce the table with every
# metric, non-zero numbers for weir-dp (busy and back-off) and for the Linux
# kernel, a JSON report, and leave nothing behind. No ratio gates it: the
# CI machine's two CPUs are shared, so the numbers are noisy. TAP output.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export WEIR_BUILD=${WEIR_BUILD:-$ROOT/build}
export WEIR_BENCH_TB=wbtci
. "$ROOT/tests/integration/lib/tap.sh"

TMP=$(mktemp -d /tmp/weir-test-bench-XXXXXX)
trap 'rm -rf "$TMP"; bash "$ROOT/tools/testbed/testbed.sh" down wbtci >/dev/null 2>&1' EXIT

timeout -k 5 110 bash "$ROOT/tools/bench/tcp_bench.sh" --short --out "$TMP/bench.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
ok "$rc" "tcp_bench.sh --short ran to the end, every run correct (exit $rc)" "$(cat "$TMP/out" "$TMP/err")"
cat "$TMP/out" | sed 's/^/# /'

for m in "rx MB/s" "tx MB/s" "connections/s"; do
	line=$(grep "^$m" "$TMP/out" | head -1)
	# metric, weir busy, weir backoff, kernel, two ratios: numbers > 0
	if [ -n "$line" ] && /usr/bin/python3 - "$line" <<'EOF'; then st=0; else st=1; fi
import re, sys
vals = re.findall(r"\s(-|[0-9.]+)(?=\s|$)", sys.argv[1])[-5:]
sys.exit(0 if len(vals) == 5 and all(v != "-" and float(v) > 0 for v in vals[:3]) else 1)
EOF
	ok "$st" "table row '$m' has non-zero numbers for weir busy, weir backoff and the kernel" "$line"
done

/usr/bin/python3 - "$TMP/bench.json" >"$TMP/check" 2>&1 <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = [(c, m) for c in ("weir_busy", "weir_backoff", "kernel") for m in ("rx_MBps", "tx_MBps", "cps")
       if not (r["results"][c][m]["median"] or 0) > 0]
print("missing or zero:", bad, "failed runs:", r["failed_runs"])
sys.exit(1 if bad or r["failed_runs"] else 0)
EOF
ok $? "the JSON report has every metric for every server, no failed run" "$(cat "$TMP/check")"

left=$(ip netns list | awk '{print $1}' | grep -c '^wbtci-')
[ "$left" = 0 ] && [ ! -e /var/run/dpdk/wbtci ]
ok $? "the benchmark tore its testbed and weir-dp's run dir down" "namespaces left: $left"

tap_done
