/* Ethernet classification: see eth.h. */
#include <string.h>

#include <rte_byteorder.h>

#include "net/eth.h"
#include "weir/stats.h"

int eth_classify(const uint8_t *frame, uint32_t len,
		 const struct rte_ether_addr *our_mac, uint16_t *ethertype,
		 uint32_t *l3_off)
{
	struct rte_ether_hdr eh;

	if (len < sizeof(eh))
		return WEIR_CTR_drop_eth_runt;
	memcpy(&eh, frame, sizeof(eh));
	if (!rte_is_broadcast_ether_addr(&eh.dst_addr) &&
	    !rte_is_same_ether_addr(&eh.dst_addr, our_mac))
		return WEIR_CTR_drop_eth_not_for_us;
	/* A group source address is never legitimate (IEEE 802.3 §3.2.3). */
	if (rte_is_multicast_ether_addr(&eh.src_addr))
		return WEIR_CTR_drop_eth_bad_src;
	*ethertype = rte_be_to_cpu_16(eh.ether_type);
	if (*ethertype != RTE_ETHER_TYPE_ARP &&
	    *ethertype != RTE_ETHER_TYPE_IPV4)
		return WEIR_CTR_drop_eth_unknown_type;
	*l3_off = sizeof(eh);
	return 0;
}

void eth_build(uint8_t *frame, const struct rte_ether_addr *dst,
	       const struct rte_ether_addr *src, uint16_t ethertype)
{
	struct rte_ether_hdr eh;

	rte_ether_addr_copy(dst, &eh.dst_addr);
	rte_ether_addr_copy(src, &eh.src_addr);
	eh.ether_type = rte_cpu_to_be_16(ethertype);
	memcpy(frame, &eh, sizeof(eh));
}
