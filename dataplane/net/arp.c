/* ARP packets: see arp.h. */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>

#include "net/arp.h"
#include "net/eth.h"
#include "weir/stats.h"

static int arp_bad_sender(const struct net_iface *iface,
			  const struct rte_arp_ipv4 *a)
{
	uint32_t h = rte_be_to_cpu_32(a->arp_sip);

	if (rte_is_multicast_ether_addr(&a->arp_sha) ||
	    rte_is_zero_ether_addr(&a->arp_sha))
		return 1;
	/* sip 0 is an RFC 5227 probe: legitimate, but nothing to learn or
	 * answer for a load balancer that never probes its own addresses. */
	if (h == 0 || h == 0xffffffffu || (h >> 28) >= 0xe)
		return 1;
	/* Someone else claiming our address is a conflict, not a neighbour. */
	return net_is_ours(iface, a->arp_sip);
}

int arp_validate(const uint8_t *pkt, uint32_t len,
		 const struct net_iface *iface, struct arp_info *info)
{
	struct rte_arp_hdr ah;

	if (len < sizeof(ah))
		return WEIR_CTR_drop_arp_runt;
	memcpy(&ah, pkt, sizeof(ah));
	if (ah.arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER))
		return WEIR_CTR_drop_arp_bad_htype;
	if (ah.arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return WEIR_CTR_drop_arp_bad_ptype;
	if (ah.arp_hlen != RTE_ETHER_ADDR_LEN || ah.arp_plen != 4)
		return WEIR_CTR_drop_arp_bad_len;
	info->op = rte_be_to_cpu_16(ah.arp_opcode);
	if (info->op != RTE_ARP_OP_REQUEST && info->op != RTE_ARP_OP_REPLY)
		return WEIR_CTR_drop_arp_bad_op;
	if (arp_bad_sender(iface, &ah.arp_data))
		return WEIR_CTR_drop_arp_bad_sender;
	if (!net_is_ours(iface, ah.arp_data.arp_tip))
		return WEIR_CTR_drop_arp_not_for_us;
	rte_ether_addr_copy(&ah.arp_data.arp_sha, &info->sha);
	info->spa = ah.arp_data.arp_sip;
	info->tpa = ah.arp_data.arp_tip;
	return 0;
}

void arp_build(uint8_t *frame, uint16_t op, const struct rte_ether_addr *sha,
	       uint32_t spa, const struct rte_ether_addr *tha, uint32_t tpa)
{
	static const struct rte_ether_addr bcast = {
		.addr_bytes = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }
	};
	struct rte_arp_hdr ah = {
		.arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER),
		.arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4),
		.arp_hlen = RTE_ETHER_ADDR_LEN,
		.arp_plen = 4,
		.arp_opcode = rte_cpu_to_be_16(op),
	};
	int is_req = op == RTE_ARP_OP_REQUEST;

	rte_ether_addr_copy(sha, &ah.arp_data.arp_sha);
	ah.arp_data.arp_sip = spa;
	if (is_req)
		memset(&ah.arp_data.arp_tha, 0, sizeof(ah.arp_data.arp_tha));
	else
		rte_ether_addr_copy(tha, &ah.arp_data.arp_tha);
	ah.arp_data.arp_tip = tpa;
	eth_build(frame, is_req ? &bcast : tha, sha, RTE_ETHER_TYPE_ARP);
	memcpy(frame + sizeof(struct rte_ether_hdr), &ah, sizeof(ah));
}
