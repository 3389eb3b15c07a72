/* Ethernet: decides whether a received frame is for us and what it carries.
 * Pure functions over bytes (no mbuf), so malformed-frame cases are unit
 * tested without a port. Never allocates, never blocks. */
#ifndef WEIR_ETH_H
#define WEIR_ETH_H

#include <stdint.h>

#include <rte_ether.h>

/* Classifies a frame of len bytes addressed to our_mac. On success returns 0
 * and sets *ethertype (host order) and *l3_off. Otherwise returns the
 * WEIR_CTR_drop_* counter id naming why it must be dropped. VLAN tags are not
 * ours to strip: a tagged frame is an unknown EtherType. */
int eth_classify(const uint8_t *frame, uint32_t len,
		 const struct rte_ether_addr *our_mac, uint16_t *ethertype,
		 uint32_t *l3_off);

/* Writes an Ethernet header at frame: dst, src and EtherType (host order). */
void eth_build(uint8_t *frame, const struct rte_ether_addr *dst,
	       const struct rte_ether_addr *src, uint16_t ethertype);

#endif
