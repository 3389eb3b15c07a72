#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, brings up the
# namespace testbed ("demo"), starts weir-dp (2 workers, idle back-off on),
# weir-cp (the control plane) and three Ray Serve replica simulators, pushes
# a table, sends traffic, pushes a second table with a replica added and
# shows traffic reaching it without a restart, and prints what to try.
# 'tools/demo.sh stop' tears it all down.
set -euo pipefail
cd "$(dirname "$0")/.."
TB=demo DP_PREFIX=weirdemo RUN=/tmp/weir-demo

stop() {
	if [ -f $RUN/weir-cp.pid ]; then
		kill "$(cat $RUN/weir-cp.pid)" 2>/dev/null || true
	fi
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
# Ray target groups: app "hello" on / and app "llm" on /llm; Ray broadcasts
# this shape to its ingress. The first table gives hello one replica, the
# second (pushed while traffic flows) two.
set -- $BE_IPS
targets() { # the replicas of hello, as a JSON list of targets
	local out="" n=0 ip
	for ip in "$@"; do
		n=$((n + 1))
		out="$out${out:+,}{\"ip\": \"$ip\", \"port\": 30000, \"instance_id\": \"node1\", \"name\": \"SERVE_REPLICA::hello#Hello#replica$n\", \"replica_id\": \"replica$n\"}"
	done
	echo "$out"
}
table() {
	cat <<EOJ
{"target_groups": [
  {"protocol": "HTTP", "route_prefix": "/", "app_name": "hello", "targets": [$(targets "$@")]},
  {"protocol": "HTTP", "route_prefix": "/llm", "app_name": "llm", "targets": [
    {"ip": "$LLM_IP", "port": 30000, "instance_id": "node2", "name": "SERVE_REPLICA::llm#LLM#replica3", "replica_id": "replica3"}]}
]}
EOJ
}
LLM_IP=$3
table "$1" >$RUN/targets.json
table "$1" "$2" >$RUN/targets2.json
cat >$RUN/weir.json <<EOJ
{"port": {"iface": "$LB_IF"}, "vips": ["$VIP"], "local_ip": "$LOCAL_IP",
 "prefix_len": $PREFIX, "workers": 2, "idle": {"policy": "backoff"},
 "http": {"port": 8000}}
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
# weir-cp needs no namespace: it finds weir-dp's control segment by name.
build/controlplane/weir-cp run --dp $DP_PREFIX --api $RUN/cp.sock --state-dir $RUN \
	--target-groups $RUN/targets.json >$RUN/weir-cp.log 2>&1 &
echo $! >$RUN/weir-cp.pid
cpapi() { curl -s --unix-socket $RUN/cp.sock "$@"; }
for _ in $(seq 100); do cpapi http://weir/api/v1/info | grep -q '"live":true' && break; sleep 0.1; done
grep "weir-cp:" $RUN/weir-cp.log
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
echo "== table 1 has one replica of hello: 6 requests to / answered by"
for _ in 1 2 3 4 5 6; do ip netns exec "$NS_CLI" curl -s -m 5 "http://$VIP:8000/" | grep -o '"replica_id": *"[^"]*"' | head -1; done | sort | uniq -c
echo
echo "== push table 2 (replica2 added) to weir-cp; no restart, no reload:"
cpapi -X PUT --data-binary @$RUN/targets2.json "http://weir/api/v1/target_groups?wait=2000"; echo
for _ in 1 2 3 4 5 6; do ip netns exec "$NS_CLI" curl -s -m 5 "http://$VIP:8000/" | grep -o '"replica_id": *"[^"]*"' | head -1; done | sort | uniq -c
echo
echo "== weir-dp's servers and HTTP counters (weirctl):"
build/tools/weirctl/weirctl --prefix $DP_PREFIX show servers
build/tools/weirctl/weirctl --prefix $DP_PREFIX show http
cat <<EOT

Demo running: weir-dp in namespace $NS_LB (log $RUN/weir-dp.log), weir-cp (log
$RUN/weir-cp.log, API $RUN/cp.sock), replicas on $BE_IPS port 30000.
Try:
  curl -s --unix-socket $RUN/cp.sock http://weir/api/v1/info
  curl -s --unix-socket $RUN/cp.sock -X PUT --data-binary @$RUN/targets.json http://weir/api/v1/target_groups
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
