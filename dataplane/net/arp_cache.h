/* The neighbour (ARP) cache of one port. Single writer: the lcore that owns
 * the port's first queue learns, resolves, retries and expires entries; every
 * lcore may read through arp_cache_lookup(), which never blocks (seqlock:
 * a reader that raced a write simply reads again). Packets waiting for a
 * resolution are held here (bounded per entry) as opaque pointers, so this
 * module needs no mbuf and runs in virtual time in unit tests. */
#ifndef WEIR_ARP_CACHE_H
#define WEIR_ARP_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_seqlock.h>

#define ARP_CACHE_SLOTS 1024 /* power of two; filled to 3/4 at most */
#define ARP_HOLD_MAX 8 /* packets held per unresolved neighbour */

enum arp_state {
	ARP_FREE = 0,
	ARP_INCOMPLETE, /* request sent, no answer yet, packets may be held */
	ARP_REACHABLE, /* answered recently */
	ARP_REFRESHING, /* past its lifetime: still used, being re-requested */
	ARP_FAILED, /* no answer: packets to it are dropped for a while */
};

struct arp_params {
	uint64_t reachable_ns; /* lifetime of an answer before a refresh */
	uint64_t retry_ns; /* between two requests for one address */
	uint32_t max_tries; /* requests before giving up */
	uint64_t failed_ns; /* how long a failure is remembered */
};

struct arp_entry {
	uint32_t ip; /* network order; 0 in a free slot */
	uint8_t state;
	uint8_t tries;
	uint8_t n_held;
	struct rte_ether_addr mac;
	uint64_t deadline_ns; /* next retry, refresh, or forget, by state */
	void *held[ARP_HOLD_MAX];
};

/* Callbacks into the lcore that owns the cache (all called by the writer). */
struct arp_cache_ops {
	void (*send_request)(void *ctx, uint32_t ip);
	/* A held packet's neighbour answered: address it to mac and send it. */
	void (*release)(void *ctx, void *pkt, const struct rte_ether_addr *mac);
	/* A held packet cannot be delivered: free it and count the drop. */
	void (*drop)(void *ctx, void *pkt);
	void *ctx;
};

struct arp_cache {
	rte_seqlock_t lock;
	struct arp_params params;
	struct arp_cache_ops ops;
	uint32_t n_used;
	struct arp_entry slot[ARP_CACHE_SLOTS];
};

/* Fills params with the defaults: 60 s lifetime, 1 s retry, 3 tries,
 * failures remembered 3 s. */
void arp_params_default(struct arp_params *p);

/* Initialises an empty cache. */
void arp_cache_init(struct arp_cache *c, const struct arp_params *p,
		    const struct arp_cache_ops *ops);

/* Any lcore. Returns 0 and the MAC of ip when it is known (reachable or
 * being refreshed), -ENOENT otherwise. Never blocks, never writes. */
int arp_cache_lookup(const struct arp_cache *c, uint32_t ip,
		     struct rte_ether_addr *mac);

/* Writer only. Records that ip is at mac (an ARP reply, or a request from
 * ip to us). An existing entry is updated and its held packets released;
 * a new entry is made only when create is true (RFC 826: create when we are
 * the target). Returns 0, or -ENOSPC when the table is full. */
int arp_cache_learn(struct arp_cache *c, uint32_t ip,
		    const struct rte_ether_addr *mac, bool create,
		    uint64_t now);

/* Writer only. Asks for the MAC of ip on behalf of pkt. Returns 0 and fills
 * *mac when known (the caller sends pkt); 1 when pkt is now held until the
 * answer (a request was sent if none was pending); -ENOBUFS when the hold
 * queue is full, -EHOSTUNREACH when ip recently failed, -ENOSPC when the
 * table is full: in these cases the caller still owns pkt and drops it. */
int arp_cache_resolve(struct arp_cache *c, uint32_t ip, void *pkt, uint64_t now,
		      struct rte_ether_addr *mac);

/* Writer only; call every few ms. Retries pending requests, gives up on
 * silent neighbours (their held packets are dropped), refreshes expired
 * answers and forgets old failures. Returns the number of entries visited
 * that changed. */
unsigned int arp_cache_tick(struct arp_cache *c, uint64_t now);

/* Any lcore. Copies up to max entries that are not free into out; returns
 * how many. For show commands, not the fast path. */
unsigned int arp_cache_dump(const struct arp_cache *c, struct arp_entry *out,
			    unsigned int max);

/* Returns the name of a state ("reachable", ...). */
const char *arp_state_name(enum arp_state s);

#endif
