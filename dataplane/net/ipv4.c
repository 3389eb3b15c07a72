/* IPv4 validation and building: see ipv4.h. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "net/csum.h"
#include "net/ipv4.h"
#include "weir/stats.h"

/* RFC 1122 §3.2.1.3: a source that is 0, limited broadcast, class D/E,
 * loopback, or one of our own addresses must be discarded. */
static int ipv4_bad_source(const struct net_iface *iface, uint32_t src)
{
	uint32_t h = rte_be_to_cpu_32(src);

	if (h == 0 || h == 0xffffffffu || (h >> 28) >= 0xe || (h >> 24) == 127)
		return 1;
	/* Directed broadcast of the on-link subnet only: off-link, an address
	 * ending in .255 (or .0) is an ordinary host behind the gateway. A /31
	 * or /32 has no broadcast address (RFC 3021). */
	if ((src & iface->netmask) == (iface->local_ip & iface->netmask) &&
	    rte_be_to_cpu_32(~iface->netmask) > 1 &&
	    (src & ~iface->netmask) == ~iface->netmask)
		return 1;
	return net_is_ours(iface, src);
}

/* RFC 791 3.2: a fragment carries data, all but the last a multiple of 8
 * bytes, and the datagram it belongs to fits the 16-bit total length. */
static int ipv4_bad_fragment(uint16_t frag, uint32_t hlen, uint32_t tlen)
{
	uint32_t data = tlen - hlen;
	uint32_t off = (uint32_t)(frag & RTE_IPV4_HDR_OFFSET_MASK) *
		       RTE_IPV4_HDR_OFFSET_UNITS;

	if (data == 0 || hlen + off + data > UINT16_MAX)
		return 1;
	return (frag & RTE_IPV4_HDR_MF_FLAG) && data % 8 != 0;
}

int ipv4_validate(const uint8_t *pkt, uint32_t len,
		  const struct net_iface *iface, struct ipv4_info *info)
{
	struct rte_ipv4_hdr ih;
	uint32_t hlen, tlen;
	uint16_t frag;

	if (len < sizeof(ih))
		return WEIR_CTR_drop_ip_runt;
	memcpy(&ih, pkt, sizeof(ih));
	if ((ih.version_ihl >> 4) != 4)
		return WEIR_CTR_drop_ip_bad_version;
	hlen = (uint32_t)(ih.version_ihl & 0xf) * 4;
	if (hlen < sizeof(ih))
		return WEIR_CTR_drop_ip_bad_ihl;
	tlen = rte_be_to_cpu_16(ih.total_length);
	if (tlen < hlen)
		return WEIR_CTR_drop_ip_bad_totlen;
	if (hlen > len || tlen > len)
		return WEIR_CTR_drop_ip_truncated;
	if (csum_buf(pkt, hlen) != 0)
		return WEIR_CTR_drop_ip_bad_csum;
	frag = rte_be_to_cpu_16(ih.fragment_offset);
	info->fragment =
		(frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0;
	if (info->fragment && ipv4_bad_fragment(frag, hlen, tlen))
		return WEIR_CTR_drop_ip_frag_bad;
	/* No router forwards a TTL of 0; such a packet is forged or broken. */
	if (ih.time_to_live == 0)
		return WEIR_CTR_drop_ip_ttl_zero;
	if (ipv4_bad_source(iface, ih.src_addr))
		return WEIR_CTR_drop_ip_bad_src;
	if (!net_is_ours(iface, ih.dst_addr))
		return WEIR_CTR_drop_ip_not_for_us;
	info->src = ih.src_addr;
	info->dst = ih.dst_addr;
	info->hdr_len = hlen;
	info->total_len = tlen;
	info->proto = ih.next_proto_id;
	info->ttl = ih.time_to_live;
	return 0;
}

void ipv4_build(uint8_t *pkt, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t payload_len, uint16_t id, uint8_t ttl)
{
	struct rte_ipv4_hdr ih = {
		.version_ihl = RTE_IPV4_VHL_DEF,
		.total_length =
			rte_cpu_to_be_16((uint16_t)(sizeof(ih) + payload_len)),
		.packet_id = rte_cpu_to_be_16(id),
		.fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG),
		.time_to_live = ttl,
		.next_proto_id = proto,
		.src_addr = src,
		.dst_addr = dst,
	};

	ih.hdr_checksum = csum_buf(&ih, sizeof(ih));
	memcpy(pkt, &ih, sizeof(ih));
}
