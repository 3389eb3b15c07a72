/* Out-of-order queue; see tcp_reass.h. Entries are kept sorted and
 * disjoint, so every query is a walk over at most `cap` items. */
#include <stddef.h>

#include "tcp/tcp_reass.h"
#include "tcp/tcp_seq.h"

void tcp_reass_init(struct tcp_reass *q, tcp_reass_free_fn free_fn)
{
	q->n = 0;
	q->cap = 0;
	q->bytes = 0;
	q->last_seq = 0;
	q->free_fn = free_fn;
	q->seg = NULL;
}

static void remove_at(struct tcp_reass *q, unsigned int i, bool release)
{
	if (release && q->free_fn != NULL)
		q->free_fn(q->seg[i].buf);
	q->bytes -= q->seg[i].len;
	for (unsigned int j = i; j + 1 < q->n; j++)
		q->seg[j] = q->seg[j + 1];
	q->n--;
}

enum tcp_reass_result tcp_reass_insert(struct tcp_reass *q, uint32_t rcv_nxt,
				       uint32_t seq, uint32_t len, void *buf,
				       uint32_t off)
{
	uint32_t end = seq + len;
	unsigned int i = 0;

	if (tcp_seq_lt(seq, rcv_nxt)) { /* trim what was already received */
		if (tcp_seq_leq(end, rcv_nxt))
			goto duplicate;
		off += rcv_nxt - seq;
		seq = rcv_nxt;
	}
	/* skip held segments that end before us; trim against the one that
	 * overlaps our front */
	while (i < q->n && tcp_seq_leq(q->seg[i].seq + q->seg[i].len, seq))
		i++;
	if (i < q->n && tcp_seq_leq(q->seg[i].seq, seq)) {
		uint32_t held_end = q->seg[i].seq + q->seg[i].len;

		if (tcp_seq_geq(held_end, end))
			goto duplicate;
		off += held_end - seq;
		seq = held_end;
		i++;
	}
	/* release held segments we cover entirely; trim our back against
	 * the next one that starts inside us */
	while (i < q->n && tcp_seq_leq(q->seg[i].seq + q->seg[i].len, end))
		remove_at(q, i, true);
	if (i < q->n && tcp_seq_lt(q->seg[i].seq, end))
		end = q->seg[i].seq;
	if (tcp_seq_leq(end, seq))
		goto duplicate;
	if (q->n >= q->cap)
		return TCP_REASS_FULL;
	for (unsigned int j = q->n; j > i; j--)
		q->seg[j] = q->seg[j - 1];
	q->seg[i] = (struct tcp_reass_seg){
		.seq = seq, .len = end - seq, .off = off, .buf = buf
	};
	q->n++;
	q->bytes += end - seq;
	q->last_seq = seq;
	return TCP_REASS_QUEUED;

duplicate:
	if (q->free_fn != NULL)
		q->free_fn(buf);
	return TCP_REASS_DUPLICATE;
}

bool tcp_reass_pop(struct tcp_reass *q, uint32_t rcv_nxt,
		   struct tcp_reass_seg *out)
{
	while (q->n > 0) {
		struct tcp_reass_seg *s = &q->seg[0];
		uint32_t end = s->seq + s->len;

		if (tcp_seq_gt(s->seq, rcv_nxt))
			return false;
		if (tcp_seq_leq(end, rcv_nxt)) {
			remove_at(q, 0, true);
			continue;
		}
		*out = *s;
		out->off += rcv_nxt - s->seq;
		out->len = end - rcv_nxt;
		out->seq = rcv_nxt;
		remove_at(q, 0, false);
		return true;
	}
	return false;
}

/* The i-th coalesced run of held data starting at entry *pos; advances
 * *pos past it. */
static struct tcp_sack_block next_run(const struct tcp_reass *q,
				      unsigned int *pos)
{
	unsigned int i = *pos;
	struct tcp_sack_block b = { q->seg[i].seq,
				    q->seg[i].seq + q->seg[i].len };

	for (i++; i < q->n && q->seg[i].seq == b.end; i++)
		b.end = q->seg[i].seq + q->seg[i].len;
	*pos = i;
	return b;
}

unsigned int tcp_reass_sack_blocks(const struct tcp_reass *q,
				   struct tcp_sack_block *blk, unsigned int max)
{
	struct tcp_sack_block first = { 0, 0 };
	unsigned int pos = 0, out = 0;
	bool found = false;

	if (q->n == 0 || max == 0)
		return 0;
	while (pos < q->n) { /* the run holding the latest arrival leads */
		struct tcp_sack_block b = next_run(q, &pos);

		if (tcp_seq_in(q->last_seq, b.start, b.end)) {
			first = b;
			found = true;
			break;
		}
	}
	/* the latest arrival may have been merged away: then no block
	 * leads (a {0,0} block would read as a D-SACK) */
	if (found)
		blk[out++] = first;
	for (pos = 0; pos < q->n && out < max;) {
		struct tcp_sack_block b = next_run(q, &pos);

		if (!found || b.start != first.start)
			blk[out++] = b;
	}
	return out;
}

void tcp_reass_purge(struct tcp_reass *q)
{
	while (q->n > 0)
		remove_at(q, q->n - 1, true);
}
