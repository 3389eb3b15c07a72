/* ipv4_reass: IPv4 reassembly for one worker, through DPDK's rte_ip_frag
 * (RFC 791 3.2, RFC 815), bounded three ways: datagrams in progress
 * (max_datagrams), how long one may wait (timeout), and fragments per
 * datagram (max_fragments, at most DPDK's RTE_LIBRTE_IP_FRAG_MAX_FRAG).
 * What it refuses is dropped and counted, never merged: overlapping or
 * duplicated pieces end the whole datagram (rte_ip_frag's rule, and RFC
 * 5722's for IPv6), a set that would end past 64 KiB or has more pieces
 * than allowed is dropped, a full table drops the newcomer.
 *
 * Single owner (the worker that owns the fragments: steer.h sends every
 * fragment of a datagram to one worker); no lock; allocates only at
 * creation. The counters it bumps are the caller's WEIR_CTR_* block. */
#ifndef WEIR_IPV4_REASS_H
#define WEIR_IPV4_REASS_H

#include <stdint.h>

struct rte_mbuf;
struct ipv4_reass;

struct ipv4_reass_config {
	uint32_t max_datagrams; /* in progress at once */
	uint64_t timeout_ns; /* first fragment to last */
	uint8_t max_fragments; /* per datagram, 2..IPV4_REASS_MAX_FRAGMENTS */
};

#define IPV4_REASS_MAX_FRAGMENTS 8 /* RTE_LIBRTE_IP_FRAG_MAX_FRAG */

/* Creates one worker's table on socket. Returns NULL for a bad config
 * (max_datagrams 0, max_fragments out of range) or no memory. */
struct ipv4_reass *ipv4_reass_create(const struct ipv4_reass_config *cfg,
				     int socket, const char *name);

/* Frees the table and every fragment it holds. NULL is harmless. */
void ipv4_reass_free(struct ipv4_reass *r);

/* Takes one validated fragment: m holds the frame from its Ethernet header
 * (eth_len bytes) on, the IPv4 header hdr_len bytes. Always consumes m.
 * Returns the reassembled datagram as one linear mbuf (Ethernet header
 * kept, IPv4 header rewritten: no fragment bits, new total length and
 * checksum) once complete, else NULL. ctr is the lcore's counter block. */
struct rte_mbuf *ipv4_reass_input(struct ipv4_reass *r, struct rte_mbuf *m,
				  uint32_t eth_len, uint32_t hdr_len,
				  uint64_t now_ns, uint64_t *ctr);

/* Drops the datagrams that timed out (counted), at most every timeout / 4.
 * Call between bursts. */
void ipv4_reass_expire(struct ipv4_reass *r, uint64_t now_ns, uint64_t *ctr);

/* Datagrams in progress (the side table's live entries). */
uint32_t ipv4_reass_pending(const struct ipv4_reass *r, uint64_t now_ns);

#endif
