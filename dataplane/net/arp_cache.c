/* Neighbour cache: see arp_cache.h. Open addressing with linear probing and
 * backward-shift deletion (no tombstones), so a lookup stops at the first
 * free slot; writes are bracketed by the seqlock, which is what lets readers
 * on other lcores probe the table without taking a lock. */
#include <errno.h>
#include <string.h>

#include <rte_jhash.h>

#include "net/arp_cache.h"

#define SLOT_MASK (ARP_CACHE_SLOTS - 1)
#define MAX_USED (ARP_CACHE_SLOTS * 3 / 4)

void arp_params_default(struct arp_params *p)
{
	p->reachable_ns = 60ull * 1000000000;
	p->retry_ns = 1000000000ull;
	p->max_tries = 3;
	p->failed_ns = 3ull * 1000000000;
}

void arp_cache_init(struct arp_cache *c, const struct arp_params *p,
		    const struct arp_cache_ops *ops)
{
	memset(c, 0, sizeof(*c));
	rte_seqlock_init(&c->lock);
	c->params = *p;
	c->ops = *ops;
}

static inline uint32_t home_slot(uint32_t ip)
{
	return rte_jhash_1word(ip, 0x5eed) & SLOT_MASK;
}

/* Returns the slot holding ip, or the free slot where it would go. */
static uint32_t find_slot(const struct arp_cache *c, uint32_t ip)
{
	uint32_t i = home_slot(ip);

	while (c->slot[i].state != ARP_FREE && c->slot[i].ip != ip)
		i = (i + 1) & SLOT_MASK;
	return i;
}

int arp_cache_lookup(const struct arp_cache *c, uint32_t ip,
		     struct rte_ether_addr *mac)
{
	uint32_t seq, i;
	int rc;

	do {
		seq = rte_seqlock_read_begin(&c->lock);
		i = find_slot(c, ip);
		rc = -ENOENT;
		if (c->slot[i].state == ARP_REACHABLE ||
		    c->slot[i].state == ARP_REFRESHING) {
			*mac = c->slot[i].mac;
			rc = 0;
		}
	} while (rte_seqlock_read_retry(&c->lock, seq));
	return rc;
}

/* Removes slot i and shifts later members of its probe chain back, so that
 * every remaining key is still reachable from its home slot. */
static void remove_slot(struct arp_cache *c, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		j = (j + 1) & SLOT_MASK;
		if (c->slot[j].state == ARP_FREE)
			break;
		uint32_t h = home_slot(c->slot[j].ip);
		/* Move j into the hole i unless h lies cyclically in (i, j]. */
		if ((j > i && (h <= i || h > j)) ||
		    (j < i && (h <= i && h > j))) {
			c->slot[i] = c->slot[j];
			i = j;
		}
	}
	memset(&c->slot[i], 0, sizeof(c->slot[i]));
	c->n_used--;
}

static void release_held(struct arp_cache *c, struct arp_entry *e)
{
	for (unsigned int k = 0; k < e->n_held; k++)
		c->ops.release(c->ops.ctx, e->held[k], &e->mac);
	e->n_held = 0;
}

static void drop_held(struct arp_cache *c, struct arp_entry *e)
{
	for (unsigned int k = 0; k < e->n_held; k++)
		c->ops.drop(c->ops.ctx, e->held[k]);
	e->n_held = 0;
}

int arp_cache_learn(struct arp_cache *c, uint32_t ip,
		    const struct rte_ether_addr *mac, bool create, uint64_t now)
{
	uint32_t i = find_slot(c, ip);
	struct arp_entry *e = &c->slot[i];
	struct arp_entry held;

	if (e->state == ARP_FREE) {
		if (!create)
			return 0;
		if (c->n_used >= MAX_USED)
			return -ENOSPC;
		c->n_used++;
	}
	rte_seqlock_write_lock(&c->lock);
	e->ip = ip;
	e->mac = *mac;
	e->state = ARP_REACHABLE;
	e->tries = 0;
	e->deadline_ns = now + c->params.reachable_ns;
	held = *e;
	e->n_held = 0;
	rte_seqlock_write_unlock(&c->lock);
	/* Transmit outside the write section: readers need not wait on it. */
	release_held(c, &held);
	return 0;
}

int arp_cache_resolve(struct arp_cache *c, uint32_t ip, void *pkt, uint64_t now,
		      struct rte_ether_addr *mac)
{
	uint32_t i = find_slot(c, ip);
	struct arp_entry *e = &c->slot[i];

	switch (e->state) {
	case ARP_REACHABLE:
	case ARP_REFRESHING:
		*mac = e->mac;
		return 0;
	case ARP_FAILED:
		return -EHOSTUNREACH;
	case ARP_INCOMPLETE:
		if (e->n_held >= ARP_HOLD_MAX)
			return -ENOBUFS;
		e->held[e->n_held++] = pkt;
		return 1;
	default:
		break;
	}
	if (c->n_used >= MAX_USED)
		return -ENOSPC;
	c->n_used++;
	rte_seqlock_write_lock(&c->lock);
	e->ip = ip;
	e->state = ARP_INCOMPLETE;
	e->tries = 1;
	e->deadline_ns = now + c->params.retry_ns;
	e->held[0] = pkt;
	e->n_held = 1;
	rte_seqlock_write_unlock(&c->lock);
	c->ops.send_request(c->ops.ctx, ip);
	return 1;
}

/* Advances one entry whose deadline passed. Returns 1 if the slot was
 * removed (the caller must look at the same index again). */
static int expire_entry(struct arp_cache *c, uint32_t i, uint64_t now)
{
	struct arp_entry *e = &c->slot[i];
	struct arp_entry doomed;

	switch (e->state) {
	case ARP_INCOMPLETE:
	case ARP_REFRESHING:
		if (e->tries < c->params.max_tries) {
			e->tries++;
			e->deadline_ns = now + c->params.retry_ns;
			c->ops.send_request(c->ops.ctx, e->ip);
			return 0;
		}
		rte_seqlock_write_lock(&c->lock);
		if (e->state == ARP_REFRESHING) {
			remove_slot(c, i);
			rte_seqlock_write_unlock(&c->lock);
			return 1;
		}
		doomed = *e;
		e->n_held = 0;
		e->state = ARP_FAILED;
		e->deadline_ns = now + c->params.failed_ns;
		rte_seqlock_write_unlock(&c->lock);
		drop_held(c, &doomed);
		return 0;
	case ARP_REACHABLE:
		rte_seqlock_write_lock(&c->lock);
		e->state = ARP_REFRESHING;
		e->tries = 1;
		e->deadline_ns = now + c->params.retry_ns;
		rte_seqlock_write_unlock(&c->lock);
		c->ops.send_request(c->ops.ctx, e->ip);
		return 0;
	case ARP_FAILED:
		rte_seqlock_write_lock(&c->lock);
		remove_slot(c, i);
		rte_seqlock_write_unlock(&c->lock);
		return 1;
	default:
		return 0;
	}
}

unsigned int arp_cache_tick(struct arp_cache *c, uint64_t now)
{
	unsigned int changed = 0;

	for (uint32_t i = 0; i < ARP_CACHE_SLOTS; i++) {
		while (c->slot[i].state != ARP_FREE &&
		       c->slot[i].deadline_ns <= now) {
			changed++;
			if (!expire_entry(c, i, now))
				break;
		}
	}
	return changed;
}

unsigned int arp_cache_dump(const struct arp_cache *c, struct arp_entry *out,
			    unsigned int max)
{
	uint32_t seq;
	unsigned int n;

	do {
		seq = rte_seqlock_read_begin(&c->lock);
		n = 0;
		for (uint32_t i = 0; i < ARP_CACHE_SLOTS && n < max; i++)
			if (c->slot[i].state != ARP_FREE)
				out[n++] = c->slot[i];
	} while (rte_seqlock_read_retry(&c->lock, seq));
	return n;
}

const char *arp_state_name(enum arp_state s)
{
	static const char *const names[] = { "free", "incomplete", "reachable",
					     "refreshing", "failed" };

	return (unsigned int)s < RTE_DIM(names) ? names[s] : "?";
}
