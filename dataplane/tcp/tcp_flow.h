/* tcp_flow: who owns a connection, and its identity. Pure functions any
 * lcore may call on any packet (ownership is a function of addresses, never
 * of where a packet arrived), the RSS-aware source-port choice, and RFC 6528
 * ISNs. No state, no allocation, no locks. */
#ifndef WEIR_TCP_FLOW_H
#define WEIR_TCP_FLOW_H

#include <stddef.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* murmur3's finaliser: a cheap, well-mixed 32-bit hash. */
static inline uint32_t tcp_flow_mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Owner of a client connection: hash(client ip, client port) % n_workers
 * (host byte order). */
static inline unsigned int tcp_owner_client(uint32_t client_ip,
					    uint16_t client_port,
					    unsigned int n_workers)
{
	uint32_t h = tcp_flow_mix32(client_ip ^ tcp_flow_mix32(client_port));

	return n_workers > 1 ? h % n_workers : 0;
}

/* Worker w's slice of local source ports [lo, hi]: equal shares, the last
 * worker taking the remainder. */
static inline void tcp_port_slice(uint16_t lo, uint16_t hi, unsigned int w,
				  unsigned int n_workers, uint16_t *first,
				  uint16_t *last)
{
	unsigned int n = n_workers ? n_workers : 1;
	unsigned int size = ((unsigned int)hi - lo + 1) / n;

	*first = (uint16_t)(lo + w * size);
	*last = w + 1 == n ? hi : (uint16_t)(*first + size - 1);
}

/* Owner of a backend connection: the worker whose slice holds the local
 * source port; n_workers if the port is outside [lo, hi] (not ours). */
static inline unsigned int tcp_owner_backend(uint16_t local_port, uint16_t lo,
					     uint16_t hi,
					     unsigned int n_workers)
{
	unsigned int n = n_workers ? n_workers : 1;
	unsigned int size = ((unsigned int)hi - lo + 1) / n;

	if (local_port < lo || local_port > hi)
		return n_workers;
	unsigned int w = (local_port - lo) / size;

	return w >= n ? n - 1 : w;
}

/* The symmetric Toeplitz key (0x6d5a repeated): hash(a->b) == hash(b->a),
 * so both directions of a connection land on the same queue. */
extern const uint8_t tcp_rss_symmetric_key[40];

/* RSS queue the NIC picks for a packet src->dst with a RETA filled round
 * robin (reta[i] = i % n_queues), computed with rte_softrss. */
unsigned int tcp_rss_queue(const uint8_t *rss_key, uint32_t src_ip,
			   uint32_t dst_ip, uint16_t sport, uint16_t dport,
			   unsigned int reta_size, unsigned int n_queues);

/* A source port in [first, last], starting the search at `start`, such
 * that replies from remote_ip:remote_port to local_ip:port land on
 * `queue`. Returns the port, or -EADDRNOTAVAIL if none does. */
int tcp_rss_pick_port(const uint8_t *rss_key, uint32_t local_ip,
		      uint32_t remote_ip, uint16_t remote_port,
		      unsigned int queue, unsigned int n_queues,
		      unsigned int reta_size, uint16_t first, uint16_t last,
		      uint16_t start);

/* SipHash-2-4 of `len` bytes under a 16-byte key. */
uint64_t tcp_siphash24(const uint8_t key[16], const void *data, size_t len);

/* RFC 6528: ISN = M + F(localip, localport, remoteip, remoteport, key),
 * M a 4 us clock, F SipHash. */
uint32_t tcp_isn(const uint8_t secret[16], const struct tcp_flow_key *k,
		 uint64_t now_ns);

#endif
