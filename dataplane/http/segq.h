/* segq: a FIFO of single-segment mbufs, one per direction of a proxied
 * connection: the bytes a side sent that the other side has not taken
 * yet. It only queues and frees; it never acknowledges bytes to TCP (the
 * caller does, once they are relayed) and never allocates. */
#ifndef WEIR_HTTP_SEGQ_H
#define WEIR_HTTP_SEGQ_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#define QCAP 512 /* segments queued per direction (> a window) */

struct segq {
	uint16_t head, n;
	struct rte_mbuf *m[QCAP];
};

/* Appends m, split into single segments. Returns false if it did not fit
 * (cannot happen within a TCP window; the caller drops the connection). */
static inline bool segq_push(struct segq *q, struct rte_mbuf *m)
{
	while (m) {
		struct rte_mbuf *next = m->next;

		if (q->n == QCAP) {
			rte_pktmbuf_free(m);
			return false;
		}
		m->next = NULL;
		m->nb_segs = 1;
		m->pkt_len = m->data_len;
		if (m->data_len)
			q->m[(q->head + q->n++) % QCAP] = m;
		else
			rte_pktmbuf_free(m);
		m = next;
	}
	return true;
}

static inline struct rte_mbuf *segq_peek(const struct segq *q)
{
	return q->n ? q->m[q->head] : NULL;
}

/* The i-th queued segment (0 is the head), i < q->n. */
static inline struct rte_mbuf *segq_at(const struct segq *q, uint16_t i)
{
	return q->m[(q->head + i) % QCAP];
}

static inline void segq_pop(struct segq *q)
{
	q->head = (uint16_t)((q->head + 1) % QCAP);
	q->n--;
}

static inline void segq_free(struct segq *q)
{
	while (q->n) {
		rte_pktmbuf_free(segq_peek(q));
		segq_pop(q);
	}
}

#endif
