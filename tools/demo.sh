#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, brings up the
# namespace testbed ("demo"), starts weir-dp (2 workers, idle back-off on)
# and three Ray Serve replica simulators, sends some traffic, and prints what
# to try. 'tools/demo.sh stop' tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
TB=demo DP_PREFIX=weirdemo RUN=/tmp/weir-demo

stop() {
	if [ -f $RUN/weir-dp.pid ]; then
		kill "$(cat $RUN/weir-dp.pid)" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$(cat $RUN/weir-dp.pid)" 2>/dev/null || break; sleep 0.1; done
	fi
	bash tools/testbed/testbed.sh down $TB
	rm -rf $RUN /var/run/dpdk/$DP_PREFIX
}

if [ "${1:-start}" = stop ]; then
	stop
	echo "demo stopped"
	exit 0
fi

bash tools/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
stop >/dev/null 2>&1 || true
mkdir -p $RUN
eval "$(bash tools/testbed/testbed.sh up $TB 3)"
cat >$RUN/weir.json <<EOJ
{"port": {"iface": "$LB_IF"}, "vips": ["$VIP"], "local_ip": "$LOCAL_IP",
 "prefix_len": $PREFIX, "workers": 2, "idle": {"policy": "backoff"}}
EOJ
i=0
for ip in $BE_IPS; do
	i=$((i + 1))
	ip netns exec "$NS_BE" /usr/bin/python3 tools/replica/replica.py --id "replica$i" \
		--host "$ip" --port 8000 >$RUN/replica$i.log 2>&1 &
done
ip netns exec "$NS_LB" build/weir-dp --file-prefix=$DP_PREFIX -- --config $RUN/weir.json \
	>$RUN/weir-dp.log 2>&1 &
echo $! >$RUN/weir-dp.pid
for _ in $(seq 100); do grep -q "weir-dp: ready" $RUN/weir-dp.log && break; sleep 0.1; done
grep "weir-dp:" $RUN/weir-dp.log
sleep 1
echo
echo "== ping the VIP $VIP from the client namespace (answered by weir-dp):"
ip netns exec "$NS_CLI" ping -c 5 -i 0.2 "$VIP" | tail -2
echo
echo "== a replica answers from the backend namespace (HTTP proxying comes with the TCP/HTTP issues):"
ip netns exec "$NS_CLI" curl -s -m 5 "http://${BE_IPS%% *}:8000/-/healthz"; echo
echo
echo "== weir-dp's counters (weirctl):"
build/tools/weirctl/weirctl --prefix $DP_PREFIX show stats
cat <<EOT

Demo running: weir-dp in namespace $NS_LB (log $RUN/weir-dp.log), replicas on $BE_IPS port 8000.
Try:
  ip netns exec $NS_CLI ping -c 1000 -i 0.002 -q $VIP
  ip netns exec $NS_CLI arping -c 3 -I $CLI_IF $VIP
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show info
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show lcores
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show arp
  dpdk-telemetry.py -f $DP_PREFIX        (then /weir/stats, /ethdev/stats,0)
Stop it with: tools/demo.sh stop
EOT
