/* tcp_reass: the receiver's bounded out-of-order queue. Segments that
 * arrive above rcv_nxt are kept (by pointer: in weir-dp an rte_mbuf, held,
 * never copied) sorted, with overlaps trimmed, until the gap fills; the
 * queue also yields the SACK blocks to advertise (RFC 2018 4). It never
 * allocates: the owner attaches an array of descriptors (the TCP core
 * lends one from a pool only while data is out of order) and a full queue
 * refuses, it never grows. Buffers are opaque here, released through the
 * caller's free_fn. */
#ifndef WEIR_TCP_REASS_H
#define WEIR_TCP_REASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcp/tcp_sack.h"

struct tcp_reass_seg {
	uint32_t seq; /* sequence number of the first byte kept */
	uint32_t len; /* bytes kept */
	uint32_t off; /* offset of that byte in buf's payload */
	void *buf;
};

typedef void (*tcp_reass_free_fn)(void *buf);

struct tcp_reass {
	uint16_t n;
	uint16_t cap; /* 0 while no array is attached */
	uint32_t bytes; /* total bytes held */
	uint32_t last_seq; /* a byte of the most recent arrival (SACK order) */
	tcp_reass_free_fn free_fn;
	struct tcp_reass_seg *seg;
};

/* An empty queue with no array: inserts refuse until one is attached. */
void tcp_reass_init(struct tcp_reass *q, tcp_reass_free_fn free_fn);

/* Lends the queue an array of cap descriptors. Only while it is empty. */
static inline void tcp_reass_attach(struct tcp_reass *q,
				    struct tcp_reass_seg *segs, uint16_t cap)
{
	q->seg = segs;
	q->cap = cap;
}

/* Takes the array back once the queue is empty (NULL otherwise). */
static inline struct tcp_reass_seg *tcp_reass_detach(struct tcp_reass *q)
{
	struct tcp_reass_seg *segs = q->seg;

	if (q->n != 0)
		return NULL;
	q->seg = NULL;
	q->cap = 0;
	return segs;
}

enum tcp_reass_result {
	TCP_REASS_QUEUED = 0, /* held; ownership passed to the queue */
	TCP_REASS_DUPLICATE, /* nothing new: buf already freed */
	TCP_REASS_FULL, /* refused (full, or no array): the caller
				   still owns buf */
};

/* Queues [seq, seq+len) whose first byte is at `off` in buf. Bytes below
 * rcv_nxt and bytes already held are trimmed; held segments wholly covered
 * by the new one are released. */
enum tcp_reass_result tcp_reass_insert(struct tcp_reass *q, uint32_t rcv_nxt,
				       uint32_t seq, uint32_t len, void *buf,
				       uint32_t off);

/* If the first held segment is now in order (starts at or below rcv_nxt,
 * ends above it), removes it into *out trimmed to start at rcv_nxt and
 * returns true; segments left wholly below rcv_nxt are released. The
 * caller delivers out->len bytes and advances rcv_nxt. */
bool tcp_reass_pop(struct tcp_reass *q, uint32_t rcv_nxt,
		   struct tcp_reass_seg *out);

/* Up to max SACK blocks describing the held data, coalesced; the first
 * contains the most recent arrival, the rest follow by sequence. */
unsigned int tcp_reass_sack_blocks(const struct tcp_reass *q,
				   struct tcp_sack_block *blk,
				   unsigned int max);

/* Releases everything held (connection closed or aborted). */
void tcp_reass_purge(struct tcp_reass *q);

static inline bool tcp_reass_empty(const struct tcp_reass *q)
{
	return q->n == 0;
}

#endif
