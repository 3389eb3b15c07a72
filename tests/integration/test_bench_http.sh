#!/usr/bin/env bash
# CI smoke run of the HTTP benchmark (tools/bench/http_bench.sh --short): it
# must run end to end in its own testbed and print the table with every load
# balancer (weir busy, weir back-off, HAProxy, nginx) and every metric
# (saturation throughput, p50/p99/p99.9 at the fixed rate), non-zero
# throughput for each, a JSON report, and leave nothing behind. No ratio
# gates it: the CI machine's two CPUs are shared, so the numbers are noisy.
# TAP output.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export WEIR_BUILD=${WEIR_BUILD:-$ROOT/build}
export WEIR_BENCH_HTTP_TB=wbhci
. "$ROOT/tests/integration/lib/tap.sh"

TMP=$(mktemp -d /tmp/weir-test-bench-http-XXXXXX)
trap 'rm -rf "$TMP"; bash "$ROOT/tools/testbed/testbed.sh" down wbhci >/dev/null 2>&1; rm -rf /var/run/dpdk/wbhci' EXIT

timeout -k 5 115 bash "$ROOT/tools/bench/http_bench.sh" --short --out "$TMP/bench.json" >"$TMP/out" 2>"$TMP/err"
rc=$?
ok "$rc" "http_bench.sh --short ran to the end, every load balancer served (exit $rc)" "$(cat "$TMP/out" "$TMP/err")"
sed 's/^/# /' "$TMP/out"

head=$(grep '^metric' "$TMP/out" | head -1)
st=1
for lb in "weir busy" "weir backoff" haproxy nginx; do
	case $head in *"$lb"*) st=0 ;; *) st=1; break ;; esac
done
ok "$st" "the table has a column for weir busy, weir backoff, haproxy and nginx" "$head"

for m in "throughput req/s" "p50 us @ 1000 req/s" "p99 us @ 1000 req/s" "p99.9 us @ 1000 req/s"; do
	line=$(grep -F "$m" "$TMP/out" | head -1)
	# metric, then 4 LBs and 3 ratios; the 4 LB cells must be numbers > 0
	if [ -n "$line" ] && /usr/bin/python3 - "$line" "$m" <<'EOF'; then st=0; else st=1; fi
import re, sys
rest = sys.argv[1][sys.argv[1].index(sys.argv[2]) + len(sys.argv[2]):]
rest = re.sub(r"^\s*\([^)]*\)", "", rest)  # "(wrk, saturation)"
vals = rest.split()
sys.exit(0 if len(vals) == 7 and all(re.fullmatch(r"[0-9.]+", v) and float(v) > 0 for v in vals[:4]) else 1)
EOF
	ok "$st" "table row '$m' has a non-zero number for every load balancer" "$line"
done

/usr/bin/python3 - "$TMP/bench.json" >"$TMP/check" 2>&1 <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for lb in ("weir_busy", "weir_backoff", "haproxy", "nginx"):
    res = r["results"][lb]
    if not (res["sat"]["rps"]["median"] or 0) > 0:
        bad.append((lb, "sat.rps"))
    for k in ("p50_us", "p99_us", "p999_us"):
        if not (res["rate_1000"][k]["median"] or 0) > 0:
            bad.append((lb, "rate_1000." + k))
print("missing or zero:", bad, "failed runs:", r["failed_runs"], "incidents:", len(r["incidents"]))
for i in r["incidents"]:
    print("incident:", i.get("lb"), i.get("what"))
sys.exit(1 if bad else 0)
EOF
ok $? "the JSON report has throughput and p50/p99/p99.9 for every load balancer" "$(cat "$TMP/check")"
# Errors and non-2xx answers are reported, not gated: say them in the log.
grep '^incident:' "$TMP/check" | sed 's/^/# /'

left=$(ip netns list | awk '{print $1}' | grep -c '^wbhci-')
work=$(sed -n 's/^# work dir //p' "$TMP/err" | head -1)
if [ "$left" = 0 ] && [ ! -e /var/run/dpdk/wbhci ] && [ -n "$work" ] && [ ! -e "$work" ]; then st=0; else st=1; fi
ok "$st" "the benchmark tore its testbed, weir-dp's run dir and its work dir down" \
	"namespaces left: $left; work dir '$work' $([ -n "$work" ] && [ -e "$work" ] && echo left)"

tap_done
