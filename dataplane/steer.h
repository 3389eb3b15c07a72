/* Steering: which worker lcore owns a packet. A pure function of the
 * packet's addresses, never of the queue it arrived on (ARCHITECTURE.md), so
 * any lcore computes the same owner and hands the frame over if it is not
 * its own. The ownership rules themselves are TCP's (tcp/tcp_flow.h):
 * client flows by hash(client ip, client port), backend flows (to our local
 * address) by the worker whose slice of source ports holds the port. */
#ifndef WEIR_STEER_H
#define WEIR_STEER_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "tcp/tcp_flow.h"

struct steer {
	unsigned int n_workers;
	uint32_t local_ip; /* network order */
	uint16_t port_lo, port_hi; /* all workers' local source ports */
};

/* Owner of a validated IPv4 packet (ip points at its header; hdr_len and
 * total_len from ipv4_validate). ICMP echoes are client flows keyed by
 * their identifier; packets that carry no ports belong to worker 0. */
static inline unsigned int steer_ipv4_owner(const struct steer *s,
					    const uint8_t *ip, uint32_t hdr_len,
					    uint32_t total_len)
{
	uint32_t src, dst;
	uint16_t sport, dport;
	unsigned int w;
	uint8_t proto = ip[9];

	if (s->n_workers == 1 || total_len < hdr_len + 8)
		return 0;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	memcpy(&sport, ip + hdr_len, 2);
	memcpy(&dport, ip + hdr_len + 2, 2);
	if (proto == IPPROTO_ICMP)
		memcpy(&sport, ip + hdr_len + 4, 2); /* echo identifier */
	else if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if (proto != IPPROTO_ICMP && dst == s->local_ip) {
		w = tcp_owner_backend(rte_be_to_cpu_16(dport), s->port_lo,
				      s->port_hi, s->n_workers);
		return w < s->n_workers ? w : 0;
	}
	return tcp_owner_client(rte_be_to_cpu_32(src), rte_be_to_cpu_16(sport),
				s->n_workers);
}

/* Owner of an IPv4 fragment: only the first carries ports, so every
 * fragment of a datagram goes to the worker chosen by its RFC 791 key
 * (source, destination, identification); that worker reassembles it and
 * steers the whole datagram by steer_ipv4_owner(). */
static inline unsigned int steer_fragment_owner(const struct steer *s,
						const uint8_t *ip)
{
	uint32_t src, dst;
	uint16_t id;

	if (s->n_workers == 1)
		return 0;
	memcpy(&id, ip + 4, 2);
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	return tcp_flow_mix32(src ^ tcp_flow_mix32(dst ^ id)) % s->n_workers;
}

#endif
