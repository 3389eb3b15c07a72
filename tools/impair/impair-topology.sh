#!/usr/bin/env bash
# impair-topology.sh: build or remove the three-namespace topology that
# weir-impair bridges (the README example and tests/integration/test_impair.sh).
#
#   PREFIX-a                PREFIX-m                          PREFIX-b
#   PREFIX-a0 ---- veth ---- PREFIX-ma [weir-impair] PREFIX-mb ---- veth ---- PREFIX-b0
#   NET.1/24                                                                  NET.2/24
#
# usage: impair-topology.sh up|down [PREFIX]     (PREFIX default "wimp", <= 11 chars)
# env:   IMPAIR_NET=10.88.0   first three octets of the /24
#
# "up" removes leftovers of the same PREFIX first, disables IPv6 and uses
# static neighbour entries so that only the traffic you send crosses the
# bridge (no ND/MLD/ARP chatter in the counters), and turns off GRO/GSO/TSO
# everywhere plus tx checksum offload on the kernel peers. "down" ends the
# processes still running inside these namespaces (by pid) and deletes them,
# which deletes the veths too. Needs root, iproute2 and ethtool.
set -eu

cmd=${1:-}
P=${2:-wimp}
NET=${IMPAIR_NET:-10.88.0}
NS_A=$P-a NS_M=$P-m NS_B=$P-b

if [ ${#P} -gt 11 ] || [ -z "$P" ]; then
	echo "impair-topology.sh: PREFIX must be 1..11 characters (interface names are <= 15)" >&2
	exit 2
fi

down() {
	local ns pids
	for ns in "$NS_A" "$NS_M" "$NS_B"; do
		[ -e "/run/netns/$ns" ] || continue
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			# shellcheck disable=SC2086
			kill -TERM $pids 2>/dev/null || true
			sleep 0.2
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
		fi
		ip netns del "$ns" 2>/dev/null || true
	done
}

in_ns() { ip netns exec "$@"; }

offloads_off() { # ns dev [extra ethtool features...]
	local ns=$1 dev=$2
	shift 2
	in_ns "$ns" ethtool -K "$dev" gro off gso off tso off "$@" >/dev/null 2>&1 ||
		in_ns "$ns" ethtool -K "$dev" gro off gso off "$@" >/dev/null
}

mac_of() { in_ns "$1" cat "/sys/class/net/$2/address"; }

up() {
	local ns mac_a mac_b
	down
	for ns in "$NS_A" "$NS_M" "$NS_B"; do
		ip netns add "$ns"
		# Before any link exists, so new interfaces inherit it: no IPv6 chatter.
		in_ns "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1 \
			2>/dev/null || true
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_M" link add "$P-ma" type veth peer name "$P-a0" netns "$NS_A"
	ip -n "$NS_M" link add "$P-mb" type veth peer name "$P-b0" netns "$NS_B"
	offloads_off "$NS_M" "$P-ma"
	offloads_off "$NS_M" "$P-mb"
	offloads_off "$NS_A" "$P-a0" tx off
	offloads_off "$NS_B" "$P-b0" tx off
	ip -n "$NS_A" addr add "$NET.1/24" dev "$P-a0"
	ip -n "$NS_B" addr add "$NET.2/24" dev "$P-b0"
	ip -n "$NS_M" link set "$P-ma" up
	ip -n "$NS_M" link set "$P-mb" up
	ip -n "$NS_A" link set "$P-a0" up
	ip -n "$NS_B" link set "$P-b0" up
	mac_a=$(mac_of "$NS_A" "$P-a0")
	mac_b=$(mac_of "$NS_B" "$P-b0")
	ip -n "$NS_A" neigh replace "$NET.2" lladdr "$mac_b" dev "$P-a0" nud permanent
	ip -n "$NS_B" neigh replace "$NET.1" lladdr "$mac_a" dev "$P-b0" nud permanent
}

case "$cmd" in
up) up ;;
down) down ;;
*)
	echo "usage: impair-topology.sh up|down [PREFIX]" >&2
	exit 2
	;;
esac
