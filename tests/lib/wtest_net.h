/* Shared fixtures for the net unit tests: the testbed's addresses as the
 * dataplane sees them (VIP 10.77.0.10, local 10.77.0.11, /24). */
#ifndef WEIR_WTEST_NET_H
#define WEIR_WTEST_NET_H

#include <rte_byteorder.h>

#include "net/net.h"

/* Network-order IPv4 address; RTE_IPV4 shifts an int, which UBSan flags
 * for a first octet >= 128. */
#define WT_IP4(a, b, c, d)                                           \
	rte_cpu_to_be_32((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | \
			 (uint32_t)(c) << 8 | (uint32_t)(d))

static inline void wt_test_iface(struct net_iface *iface)
{
	const struct rte_ether_addr mac = { { 0x02, 0, 0, 0, 0, 0x10 } };

	memset(iface, 0, sizeof(*iface));
	iface->mac = mac;
	iface->vips[0] = WT_IP4(10, 77, 0, 10);
	iface->n_vips = 1;
	iface->local_ip = WT_IP4(10, 77, 0, 11);
	iface->netmask = WT_IP4(255, 255, 255, 0);
	iface->gateway = 0;
}

#endif
