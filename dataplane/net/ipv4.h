/* IPv4 receive validation (RFC 791, RFC 1122 §3.2.1) and header building.
 * Pure functions over bytes so every malformed case has a unit test; no
 * allocation, no state. A fragment passes with info->fragment set when it
 * is well formed (reassembly is ipv4_reass.h's, in the worker); one that
 * is empty, misaligned or would end past 64 KiB is refused here. */
#ifndef WEIR_IPV4_H
#define WEIR_IPV4_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"

struct ipv4_info {
	uint32_t src, dst; /* network order */
	uint32_t hdr_len; /* bytes, options included */
	uint32_t total_len; /* bytes, from the header; <= the frame's L3 bytes */
	uint8_t proto;
	uint8_t ttl;
	bool fragment; /* MF or an offset: for reassembly, not delivery */
};

/* Validates the IPv4 packet of len bytes at pkt (len = what the frame holds
 * after the Ethernet header, padding included) for local delivery on iface.
 * Returns 0 and fills *info, or a WEIR_CTR_drop_* counter id. Checks, in
 * order: length, version, IHL, total length, checksum, fragment shape,
 * TTL, source, destination. */
int ipv4_validate(const uint8_t *pkt, uint32_t len,
		  const struct net_iface *iface, struct ipv4_info *info);

/* Writes a 20-byte IPv4 header (no options, DF set) with its checksum.
 * payload_len excludes the header. Addresses in network order. */
void ipv4_build(uint8_t *pkt, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t payload_len, uint16_t id, uint8_t ttl);

#endif
