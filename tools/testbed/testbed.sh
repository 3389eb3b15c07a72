#!/usr/bin/env bash
# Weir's namespace testbed: a client, the load balancer and the backends, each
# in its own network namespace, joined by veth pairs on a bridge that lives in
# a fourth ("switch") namespace. Names and addresses are a pure function of
# the testbed name, so tests and the demo share it and two testbeds with
# different names never collide. Nothing here touches the root namespace's
# links except for the moment a veth pair is created.
#
#   testbed.sh up   [NAME] [REPLICAS]   create (tearing down a leftover first)
#   testbed.sh down [NAME]              delete, killing what runs inside
#   testbed.sh env  [NAME] [REPLICAS]   print the names/addresses as shell vars
#
#      NAME-cli  cli0 10.77.0.2 ---+
#      NAME-lb   lb0  (no IP: weir-dp owns VIP 10.77.0.10, local 10.77.0.11)
#      NAME-be   be0  10.77.0.21 .. 10.77.0.(20+REPLICAS)  |  bridge br0
#      NAME-sw   br0 with the three peers                 ---+
#
# With WEIR_IMPAIR="<weir-impair options>", the lb link runs through
# weir-impair in NAME-imp (lb0 <-> imp-a ~ weir-impair ~ imp-b <-> br0).
set -euo pipefail

cmd=${1:-}
NAME=${2:-${WEIR_TB:-wt}}
REPLICAS=${3:-3}
[[ $NAME =~ ^[a-z][a-z0-9]{0,7}$ ]] || { echo "testbed: name must be 1-8 of [a-z0-9], starting with a letter" >&2; exit 2; }
[[ $REPLICAS =~ ^[0-9]+$ ]] && ((REPLICAS >= 1 && REPLICAS <= 50)) || { echo "testbed: replicas must be 1..50" >&2; exit 2; }

SUBNET=10.77.0
NS_CLI=$NAME-cli NS_LB=$NAME-lb NS_BE=$NAME-be NS_SW=$NAME-sw NS_IMP=$NAME-imp
CLI_IP=$SUBNET.2 VIP=$SUBNET.10 LOCAL_IP=$SUBNET.11 PREFIX=24
BE_IPS=$(for ((i = 1; i <= REPLICAS; i++)); do printf '%s.%d ' $SUBNET $((20 + i)); done)
IMPAIR_BIN=${WEIR_IMPAIR_BIN:-${WEIR_BUILD:-build}/tools/impair/weir-impair}

print_env() {
	cat <<EOV
NS_CLI=$NS_CLI
NS_LB=$NS_LB
NS_BE=$NS_BE
NS_SW=$NS_SW
CLI_IF=cli0
LB_IF=lb0
BE_IF=be0
CLI_IP=$CLI_IP
VIP=$VIP
LOCAL_IP=$LOCAL_IP
PREFIX=$PREFIX
BE_IPS="${BE_IPS% }"
EOV
}

ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

down() {
	for ns in $NS_CLI $NS_LB $NS_BE $NS_IMP $NS_SW; do
		ns_exists "$ns" || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		[ -z "$pids" ] || kill $pids 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			[ -z "$pids" ] && break
			sleep 0.2
		done
		[ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
		ip netns del "$ns"
	done
	# A veth end left in the root namespace by an interrupted 'up'.
	for l in $NAME-c0 $NAME-l0 $NAME-b0 $NAME-i0 $NAME-i1; do
		ip link del "$l" 2>/dev/null || true
	done
}

# Every namespace: loopback up, no IPv6 (no RS/NDP noise in drop counters).
mkns() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# veth pair: end $2 (renamed $3) goes to namespace $1, end $4 to the switch
# namespace as port $5 of br0. Kernel peers must not leave checksums partial
# (af_xdp sees them as they are), and GRO would hand AF_PACKET super-frames.
link() {
	local ns=$1 a=$2 aname=$3 b=$4 bname=$5 swns=${6:-$NS_SW}
	ip link add "$a" type veth peer name "$b"
	ip link set "$a" netns "$ns"
	ip link set "$b" netns "$swns"
	ip -n "$ns" link set "$a" name "$aname"
	ip -n "$swns" link set "$b" name "$bname"
	for x in "$ns:$aname" "$swns:$bname"; do
		ip netns exec "${x%%:*}" ethtool -K "${x#*:}" tx off gro off gso off tso off >/dev/null 2>&1 || true
		# VLAN offload would carry a tag beside the frame, and copy-mode
		# XDP would hand weir-dp the frame without it.
		ip netns exec "${x%%:*}" ethtool -K "${x#*:}" rxvlan off txvlan off >/dev/null 2>&1 || true
	done
	ip -n "$ns" link set "$aname" up
	ip -n "$swns" link set "$bname" up
}

up() {
	down
	for ns in $NS_SW $NS_CLI $NS_LB $NS_BE; do mkns "$ns"; done
	# br_netfilter (built in here) would drop malformed IPv4 before it
	# reaches weir-dp; a switch does not, and our tests send such frames.
	ip netns exec $NS_SW sysctl -qw net.bridge.bridge-nf-call-iptables=0 \
		net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 2>/dev/null || true
	ip -n $NS_SW link add br0 type bridge
	ip -n $NS_SW link set br0 type bridge forward_delay 0 stp_state 0
	ip -n $NS_SW link set br0 up
	link $NS_CLI $NAME-c0 cli0 $NAME-c1 p-cli
	link $NS_BE $NAME-b0 be0 $NAME-b1 p-be
	if [ -n "${WEIR_IMPAIR:-}" ]; then
		mkns $NS_IMP
		link $NS_LB $NAME-l0 lb0 $NAME-i0 imp-a $NS_IMP
		link $NS_IMP $NAME-i1 imp-b $NAME-l1 p-lb
		ip -n $NS_IMP link set imp-a promisc on
		ip -n $NS_IMP link set imp-b promisc on
		# shellcheck disable=SC2086
		ip netns exec $NS_IMP "$IMPAIR_BIN" --a imp-a --b imp-b $WEIR_IMPAIR \
			--stats "/tmp/weir-impair-$NAME.json" >/tmp/weir-impair-$NAME.log 2>&1 &
	else
		link $NS_LB $NAME-l0 lb0 $NAME-l1 p-lb
	fi
	for p in p-cli p-lb p-be; do ip -n $NS_SW link set "$p" master br0; done
	ip -n $NS_CLI addr add $CLI_IP/$PREFIX dev cli0
	for a in $BE_IPS; do ip -n $NS_BE addr add "$a/$PREFIX" dev be0; done
	# Clients open many short connections.
	ip netns exec $NS_CLI sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec $NS_BE sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=4096
	# The LB namespace's kernel owns no address: weir-dp answers for them.
	ip netns exec $NS_LB sysctl -qw net.ipv4.conf.all.arp_ignore=8
}

case $cmd in
up) up; print_env ;;
down) down ;;
env) print_env ;;
*) sed -n '2,22p' "$0" >&2; exit 2 ;;
esac
