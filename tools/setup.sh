#!/usr/bin/env bash
# Fresh-machine setup for Weir on Debian 12: installs every package the build,
# tests, demo and benchmarks need, reserves hugepages and mounts hugetlbfs and
# bpffs. Idempotent: a second run changes nothing and exits 0.
set -euo pipefail

PKGS=(
  # build
  build-essential meson ninja-build pkg-config clang llvm libclang-rt-14-dev clang-format
  dpdk dpdk-dev libdpdk-dev libcjson-dev libbpf-dev libxdp-dev libpcap-dev libssl-dev
  libmicrohttpd-dev
  # testbed and tests
  iproute2 ethtool iputils-ping iputils-arping curl socat tcpdump nftables
  python3 python3-scapy python3-uvicorn python3-starlette python3-websockets python3-prometheus-client
  # benchmarks and comparison load balancers
  wrk nghttp2-client nginx-light haproxy valgrind
)

need=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts these on install; Weir's tests and benchmarks start their own.
  for s in nginx haproxy; do
    systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true
    pkill -x "$s" >/dev/null 2>&1 || true
  done
fi

# Hugepages: 2 MiB pages; weir-dp instances use --huge-unlink and their own
# --file-prefix, so nothing is left in /dev/hugepages after they exit.
WANT_HUGEPAGES=${WEIR_HUGEPAGES:-1024}
have=$(cat /proc/sys/vm/nr_hugepages)
if ((have < WANT_HUGEPAGES)); then
  sysctl -q -w vm.nr_hugepages="$WANT_HUGEPAGES"
fi
mkdir -p /dev/hugepages
mountpoint -q /dev/hugepages || mount -t hugetlbfs nodev /dev/hugepages
# libxdp needs bpffs to load its dispatcher; without it, it warns and falls back.
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true

echo "setup: ok ($(cat /proc/sys/vm/nr_hugepages) hugepages of 2 MiB)"
