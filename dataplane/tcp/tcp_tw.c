/* Compact TIME_WAIT (#20): a connection that enters TIME_WAIT gives its TCB
 * back and leaves a 48-byte record here (struct tcp_tw_rec), so closing
 * connections no longer fill the TCB pool: with a 2 s TIME_WAIT and 4096
 * TCBs a worker used to refuse SYNs past ~2,000 closes per second.
 *
 * What a record still does (RFC 9293 3.10.7.4, RFC 6191, RFC 7323 5):
 * re-ACKs a retransmitted FIN and restarts its 2MSL; ACKs an old duplicate
 * (it is never delivered: nothing is left to deliver it to); lets a SYN
 * that is provably newer (timestamp, else sequence number) reopen the
 * 4-tuple; dies on an exact RST. Same rules as the rest of the stack: no
 * lock, no heap after start-up, one owner. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "tcp/tcp_internal.h"

static uint64_t heap_allocated(void)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < rte_socket_count(); i++) {
		struct rte_malloc_socket_stats st;

		if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &st) ==
		    0)
			sum += st.heap_allocsz_bytes;
	}
	return sum;
}

static void tw_expire(struct tw_wheel *w, struct tw_entry *e, uint64_t now);

int tcp_tw_create(struct tcp_stack *stk)
{
	struct tcp_tw_table *t = &stk->tw;
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = stk->cfg.max_time_wait,
		.key_len = sizeof(struct tcp_flow_key),
		.hash_func = rte_hash_crc,
		.socket_id = stk->env.socket_id,
		/* a full bucket must not refuse a record the table has room
		 * for: positions index recs */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	uint64_t before = heap_allocated();

	snprintf(name, sizeof(name), "tcptw_%s", stk->env.name);
	t->max = stk->cfg.max_time_wait;
	t->n = 0;
	t->oldest = t->newest = TCP_TW_NONE;
	tw_entry_init(&t->timer, tw_expire);
	t->recs = rte_zmalloc_socket("tcp_tw", sizeof(*t->recs) * t->max,
				     RTE_CACHE_LINE_SIZE, stk->env.socket_id);
	if (t->recs == NULL)
		return -ENOMEM;
	t->index = rte_hash_create(&p);
	if (t->index == NULL) {
		int err = rte_errno;

		rte_free(t->recs);
		t->recs = NULL;
		return -err;
	}
	t->mem_bytes = heap_allocated() - before;
	return 0;
}

void tcp_tw_free(struct tcp_stack *stk)
{
	tw_cancel(&stk->wheel, &stk->tw.timer);
	rte_hash_free(stk->tw.index);
	rte_free(stk->tw.recs);
	stk->tw.index = NULL;
	stk->tw.recs = NULL;
}

static uint32_t rec_pos(const struct tcp_tw_table *t,
			const struct tcp_tw_rec *r)
{
	return (uint32_t)(r - t->recs);
}

static void list_unlink(struct tcp_tw_table *t, struct tcp_tw_rec *r)
{
	if (r->older != TCP_TW_NONE)
		t->recs[r->older].newer = r->newer;
	else
		t->oldest = r->newer;
	if (r->newer != TCP_TW_NONE)
		t->recs[r->newer].older = r->older;
	else
		t->newest = r->older;
}

static void list_append(struct tcp_tw_table *t, struct tcp_tw_rec *r)
{
	uint32_t pos = rec_pos(t, r);

	r->older = t->newest;
	r->newer = TCP_TW_NONE;
	if (t->newest != TCP_TW_NONE)
		t->recs[t->newest].newer = pos;
	else
		t->oldest = pos;
	t->newest = pos;
}

/* The wheel entry follows the oldest record, the first to expire. */
static void timer_follow_oldest(struct tcp_stack *stk)
{
	struct tcp_tw_table *t = &stk->tw;

	if (t->oldest == TCP_TW_NONE)
		tw_cancel(&stk->wheel, &t->timer);
	else
		tw_arm(&stk->wheel, &t->timer, t->recs[t->oldest].expires);
}

struct tcp_tw_rec *tcp_tw_lookup(struct tcp_stack *stk,
				 const struct tcp_flow_key *k)
{
	int pos;

	if (stk->tw.n == 0)
		return NULL; /* the common case costs no hash lookup */
	pos = rte_hash_lookup(stk->tw.index, k);
	return pos < 0 ? NULL : &stk->tw.recs[pos];
}

void tcp_tw_remove(struct tcp_stack *stk, struct tcp_tw_rec *r)
{
	struct tcp_tw_table *t = &stk->tw;
	bool was_oldest = rec_pos(t, r) == t->oldest;

	list_unlink(t, r);
	rte_hash_del_key(t->index, &r->key);
	t->n--;
	if (was_oldest)
		timer_follow_oldest(stk);
}

static void tw_expire(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct tcp_stack *stk =
		(struct tcp_stack *)((char *)e -
				     offsetof(struct tcp_stack, tw.timer));
	struct tcp_tw_table *t = &stk->tw;

	(void)w;
	now = stk->now;
	while (t->oldest != TCP_TW_NONE && t->recs[t->oldest].expires <= now) {
		struct tcp_tw_rec *r = &t->recs[t->oldest];

		list_unlink(t, r);
		rte_hash_del_key(t->index, &r->key);
		t->n--;
		stk->stats.tw_expired++;
	}
	timer_follow_oldest(stk);
}

void tcp_tw_add(struct tcp_conn *c)
{
	struct tcp_stack *stk = c->stk;
	struct tcp_tw_table *t = &stk->tw;
	int pos;

	if (t->n == t->max) {
		stk->stats.tw_evicted++;
		tcp_tw_remove(stk, &t->recs[t->oldest]);
	}
	pos = rte_hash_add_key(t->index, &c->key);
	if (pos < 0 || (uint32_t)pos >= t->max) {
		if (pos >= 0)
			rte_hash_del_key(t->index, &c->key);
		stk->stats.tw_evicted++; /* no room after all: as if evicted */
		return;
	}
	struct tcp_tw_rec *r = &t->recs[pos];

	*r = (struct tcp_tw_rec){
		.expires = stk->now + stk->cfg.time_wait_ns,
		.key = c->key,
		.snd_nxt = c->snd_max,
		.rcv_nxt = c->rcv_nxt,
		.ts_recent = c->ts_recent,
		.ts_offset = c->ts_offset,
		.wnd = (uint16_t)(tcp_rcv_window(c) >> c->rcv_wscale),
		.rcv_wscale = c->rcv_wscale,
		.ts_ok = !!(c->flags & TCP_F_TS_OK),
	};
	list_append(t, r);
	t->n++;
	stk->stats.tw_entered++;
	if (t->oldest == (uint32_t)pos)
		timer_follow_oldest(stk);
}

/* RFC 9293 3.10.7.4 (TIME-WAIT): a retransmitted FIN restarts the 2MSL;
 * the record moves to the newest end, which keeps the list in expiry
 * order. */
static void restart_2msl(struct tcp_stack *stk, struct tcp_tw_rec *r)
{
	struct tcp_tw_table *t = &stk->tw;
	bool was_oldest = rec_pos(t, r) == t->oldest;

	list_unlink(t, r);
	r->expires = stk->now + stk->cfg.time_wait_ns;
	list_append(t, r);
	if (was_oldest)
		timer_follow_oldest(stk);
}

/* RFC 6191 4: with timestamps on both incarnations a SYN is newer when its
 * TSval is above TS.Recent; otherwise when its sequence number is above
 * the last one seen. */
static bool syn_is_newer(const struct tcp_tw_rec *r, const struct tcp_seg *s)
{
	if (r->ts_ok && s->has_ts)
		return tcp_seq_gt(s->tsval, r->ts_recent);
	return tcp_seq_gt(s->seq, r->rcv_nxt);
}

enum tcp_tw_verdict tcp_tw_input(struct tcp_stack *stk, struct tcp_tw_rec *r,
				 const struct tcp_seg *s)
{
	uint32_t seg_end = s->seq + s->len + !!(s->flags & TH_FIN);

	if (s->flags & TH_RST) {
		if (s->seq == r->rcv_nxt) { /* RFC 5961 3.2: exact only */
			stk->stats.tw_killed++;
			tcp_tw_remove(stk, r);
		}
		return TCP_TW_DROP;
	}
	if ((s->flags & (TH_SYN | TH_ACK)) == TH_SYN) {
		if (syn_is_newer(r, s))
			return TCP_TW_REOPEN;
		return TCP_TW_ACK; /* an old SYN: the ACK tells the truth */
	}
	/* RFC 7323 5.3 PAWS: an older timestamp is an old duplicate */
	if (r->ts_ok && s->has_ts && tcp_seq_lt(s->tsval, r->ts_recent)) {
		stk->stats.paws_drops++;
		stk->stats.tw_old_dups++;
		return TCP_TW_ACK;
	}
	if ((s->flags & TH_FIN) && seg_end == r->rcv_nxt) {
		stk->stats.tw_fin_reacked++;
		if (r->ts_ok && s->has_ts)
			r->ts_recent = s->tsval;
		restart_2msl(stk, r);
		return TCP_TW_ACK_NOW;
	}
	if (tcp_seq_lt(s->seq, r->rcv_nxt) || s->len > 0 ||
	    (s->flags & TH_SYN)) {
		stk->stats.tw_old_dups++; /* never delivered: ACK what we have */
		return TCP_TW_ACK;
	}
	return TCP_TW_DROP; /* a bare ACK at rcv_nxt: nothing to say */
}

bool tcp_tw_port_busy(struct tcp_stack *stk, const struct tcp_flow_key *k)
{
	struct tcp_tw_rec *r = tcp_tw_lookup(stk, k);

	if (r == NULL)
		return false;
	/* Linux's tcp_tw_reuse: with timestamps, and quiet for a second, the
	 * peer's PAWS rejects old duplicates of the previous incarnation */
	if (r->ts_ok &&
	    stk->now + stk->cfg.time_wait_ns >= r->expires + 1000000000ull) {
		stk->stats.tw_reused++;
		tcp_tw_remove(stk, r);
		return false;
	}
	return true;
}

uint32_t tcp_time_wait_count(const struct tcp_stack *stk)
{
	return stk->tw.n;
}

uint64_t tcp_time_wait_bytes(const struct tcp_stack *stk)
{
	return stk->tw.mem_bytes;
}
