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
# Ray target groups: app "hello" on / with two replicas, app "llm" on /llm
# with one; Ray broadcasts this shape to its ingress.
set -- $BE_IPS
cat >$RUN/targets.json <<EOJ
{"target_groups": [
  {"protocol": "HTTP", "route_prefix": "/", "app_name": "hello", "targets": [
    {"ip": "$1", "port": 30000, "instance_id": "node1", "name": "SERVE_REPLICA::hello#Hello#replica1", "replica_id": "replica1"},
    {"ip": "$2", "port": 30000, "instance_id": "node1", "name": "SERVE_REPLICA::hello#Hello#replica2", "replica_id": "replica2"}]},
  {"protocol": "HTTP", "route_prefix": "/llm", "app_name": "llm", "targets": [
    {"ip": "$3", "port": 30000, "instance_id": "node2", "name": "SERVE_REPLICA::llm#LLM#replica3", "replica_id": "replica3"}]}
]}
EOJ
cat >$RUN/weir.json <<EOJ
{"port": {"iface": "$LB_IF"}, "vips": ["$VIP"], "local_ip": "$LOCAL_IP",
 "prefix_len": $PREFIX, "workers": 2, "idle": {"policy": "backoff"},
 "http": {"port": 8000, "target_groups": "$RUN/targets.json"}}
EOJ
i=0
for ip in $BE_IPS; do
	i=$((i + 1))
	prefix=/; [ $i = 3 ] && prefix=/llm
	ip netns exec "$NS_BE" /usr/bin/python3 tools/replica/replica.py --id "replica$i" \
		--host "$ip" --port 30000 --route-prefix $prefix >$RUN/replica$i.log 2>&1 &
done
for ip in $BE_IPS; do
	for _ in $(seq 100); do
		ip netns exec "$NS_CLI" curl -s -m 1 "http://$ip:30000/-/healthz" >/dev/null && break
		sleep 0.2
	done
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
echo "== through weir-dp's HTTP proxy (Ray's frontend on $VIP:8000):"
for path in /-/healthz /-/routes /hello /hello /llm/generate /nope; do
	printf '%-16s ' "$path"
	ip netns exec "$NS_CLI" curl -s -m 5 "http://$VIP:8000$path" | head -c 110; echo
done
echo
echo "== weir-dp's servers and HTTP counters (weirctl):"
build/tools/weirctl/weirctl --prefix $DP_PREFIX show servers
build/tools/weirctl/weirctl --prefix $DP_PREFIX show http
cat <<EOT

Demo running: weir-dp in namespace $NS_LB (log $RUN/weir-dp.log), replicas on $BE_IPS port 30000.
Try:
  ip netns exec $NS_CLI curl -s http://$VIP:8000/llm/anything
  ip netns exec $NS_CLI curl -sN "http://$VIP:8000/stream?n=5&ms=200"
  ip netns exec $NS_CLI curl -s --data-binary @/etc/services http://$VIP:8000/upload
  ip netns exec $NS_CLI ping -c 1000 -i 0.002 -q $VIP
  ip netns exec $NS_CLI arping -c 3 -I $CLI_IF $VIP
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show info
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show lcores
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show tcp
  build/tools/weirctl/weirctl --prefix $DP_PREFIX show arp
  dpdk-telemetry.py -f $DP_PREFIX        (then /weir/stats, /ethdev/stats,0)
Stop it with: tools/demo.sh stop
EOT
