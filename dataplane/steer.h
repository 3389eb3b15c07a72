/* Steering: which worker lcore owns a packet. A pure function of the
 * packet's addresses, never of the queue it arrived on (ARCHITECTURE.md), so
 * any lcore computes the same owner and hands the frame over if it is not
 * its own. Client-side flows: hash(client ip, client port) % n_workers.
 * Backend-side flows (to our local address): the worker whose slice of
 * local source ports holds the destination port. */
#ifndef WEIR_STEER_H
#define WEIR_STEER_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_jhash.h>
#include <rte_ip.h>

struct steer {
	unsigned int n_workers;
	uint32_t local_ip;       /* network order */
	uint16_t port_base;      /* first local source port toward backends */
	uint16_t ports_per_worker;
};

/* Owner of a client-side flow: src_ip (network order) and a 16-bit id in
 * network order (TCP/UDP source port, or the ICMP echo identifier). */
static inline unsigned int steer_client_owner(const struct steer *s,
					      uint32_t src_ip, uint16_t id)
{
	return rte_jhash_2words(src_ip, id, 0x77e1) % s->n_workers;
}

/* Owner of a backend-side flow by our local port (host order); ports outside
 * every slice go to worker 0, which will answer them with a reset. */
static inline unsigned int steer_local_port_owner(const struct steer *s,
						  uint16_t port)
{
	unsigned int w;

	if (port < s->port_base || !s->ports_per_worker)
		return 0;
	w = (unsigned int)(port - s->port_base) / s->ports_per_worker;
	return w < s->n_workers ? w : 0;
}

/* Owner of a validated IPv4 packet (ip points at its header, hdr_len and
 * total_len from ipv4_validate). Packets too short to carry ports belong to
 * worker 0. */
static inline unsigned int steer_ipv4_owner(const struct steer *s,
					    const uint8_t *ip, uint32_t hdr_len,
					    uint32_t total_len)
{
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto = ip[9];

	if (s->n_workers == 1 || total_len < hdr_len + 4)
		return 0;
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	memcpy(&sport, ip + hdr_len, 2);
	memcpy(&dport, ip + hdr_len + 2, 2);
	if (proto == IPPROTO_ICMP) {
		if (total_len < hdr_len + 8)
			return 0;
		memcpy(&sport, ip + hdr_len + 4, 2); /* echo identifier */
		return steer_client_owner(s, src, sport);
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if (dst == s->local_ip)
		return steer_local_port_owner(s, rte_be_to_cpu_16(dport));
	return steer_client_owner(s, src, sport);
}

#endif
