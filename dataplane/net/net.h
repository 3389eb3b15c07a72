/* The addresses this dataplane owns on one port, and the next-hop rule.
 * Read-only after start-up and shared by every lcore; holds no state that
 * changes per packet, so it needs no lock. */
#ifndef WEIR_NET_H
#define WEIR_NET_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>

#define NET_MAX_VIPS 16

/* All IPv4 addresses are in network byte order. */
struct net_iface {
	struct rte_ether_addr mac;
	uint32_t vips[NET_MAX_VIPS]; /* addresses clients connect to */
	unsigned int n_vips;
	uint32_t local_ip; /* source address toward backends; not a VIP */
	uint32_t netmask; /* of the on-link subnet */
	uint32_t gateway; /* 0: everything off-link is unreachable */
	uint16_t mtu;
};

/* Returns true when ip is a VIP or the local address of iface. */
static inline bool net_is_ours(const struct net_iface *iface, uint32_t ip)
{
	if (ip == iface->local_ip)
		return true;
	for (unsigned int i = 0; i < iface->n_vips; i++)
		if (iface->vips[i] == ip)
			return true;
	return false;
}

/* Returns the IPv4 next hop for dst: dst itself when on-link, else the
 * gateway; 0 when there is no route (off-link and no gateway). */
static inline uint32_t net_next_hop(const struct net_iface *iface, uint32_t dst)
{
	uint32_t subnet = iface->local_ip & iface->netmask;

	if ((dst & iface->netmask) == subnet)
		return dst;
	return iface->gateway;
}

#endif
