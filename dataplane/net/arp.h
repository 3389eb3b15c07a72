/* ARP (RFC 826) for Ethernet/IPv4: validates a received packet and builds
 * requests and replies. Pure functions over bytes; the neighbour state lives
 * in arp_cache.h. We answer for every address we own (VIPs and the local
 * address) and learn senders that talk to us, as RFC 826's merge step says. */
#ifndef WEIR_ARP_H
#define WEIR_ARP_H

#include <stdint.h>

#include <rte_ether.h>

#include "net/net.h"

#define ARP_PKT_LEN 28 /* Ethernet/IPv4 ARP body, after the Ethernet header */

struct arp_info {
	uint16_t op; /* RTE_ARP_OP_REQUEST or RTE_ARP_OP_REPLY (host order) */
	struct rte_ether_addr sha;
	uint32_t spa, tpa; /* network order */
};

/* Validates the ARP packet of len bytes at pkt, received on iface. Returns 0
 * and fills *info when it targets one of our addresses, else a
 * WEIR_CTR_drop_* counter id. */
int arp_validate(const uint8_t *pkt, uint32_t len,
		 const struct net_iface *iface, struct arp_info *info);

/* Writes a full Ethernet+ARP frame (42 bytes) at frame. For a request,
 * tha/dst_mac are zero/broadcast as RFC 826 and RFC 5227 use them. */
void arp_build(uint8_t *frame, uint16_t op, const struct rte_ether_addr *sha,
	       uint32_t spa, const struct rte_ether_addr *tha, uint32_t tpa);

#endif
