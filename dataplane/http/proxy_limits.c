/* proxy_limits: what the node admits and what waits. Node-wide limits
 * (client connections at once, new connections and sessions per second,
 * requests per second per client address) are counted in one struct all
 * workers share (px_shared), with atomics only: a worker never waits for
 * another. Per-server maxconn is each worker's share of it (proxy_table.c)
 * and a request that finds every server full waits in this worker's FIFO
 * until a slot frees or its timeout queue (503). A refusal is counted and
 * answered at once; it never blocks and never allocates after init. */
#include <errno.h>

#include <rte_malloc.h>

#include "http/proxy_internal.h"
#include "tcp/tcp.h"

#define LIM_NS_PER_S 1000000000ull

int limits_init(struct proxy *px)
{
	px->shared = rte_zmalloc("weir_px_shared", sizeof(*px->shared), 64);
	px->own_shared = px->shared != NULL;
	return px->shared ? 0 : -ENOMEM;
}

void limits_fini(struct proxy *px)
{
	if (px->own_shared)
		rte_free(px->shared);
	px->shared = NULL;
}

void proxy_set_shared(struct proxy *px, struct px_shared *sh)
{
	limits_fini(px);
	px->shared = sh;
	px->own_shared = false;
}

static uint32_t second(const struct proxy *px)
{
	return (uint32_t)(px->tcp->now / LIM_NS_PER_S);
}

/* One more in this second's window, unless limit are in it already. */
static bool window_take(_Atomic uint64_t *w, uint32_t sec, uint32_t limit)
{
	uint64_t old = atomic_load_explicit(w, memory_order_relaxed), nv;

	do {
		uint32_t n = (uint32_t)(old >> 32) == sec ? (uint32_t)old : 0;

		if (n >= limit)
			return false;
		nv = ((uint64_t)sec << 32) | (n + 1);
	} while (!atomic_compare_exchange_weak_explicit(
		w, &old, nv, memory_order_relaxed, memory_order_relaxed));
	return true;
}

bool limits_admit_conn(struct proxy *px)
{
	const struct weir_table *t = px->table;
	struct px_shared *sh = px->shared;
	uint32_t n = atomic_fetch_add_explicit(&sh->sessions, 1,
					       memory_order_relaxed);

	if (t && t->maxconn && n >= t->maxconn) {
		CNT(px, refused_maxconn);
		limits_conn_gone(px);
		return false;
	}
	if (t && t->maxconnrate &&
	    !window_take(&sh->conn_window, second(px), t->maxconnrate)) {
		CNT(px, refused_connrate);
		limits_conn_gone(px);
		return false;
	}
	if (t && t->maxsessrate &&
	    !window_take(&sh->sess_window, second(px), t->maxsessrate)) {
		CNT(px, refused_sessrate);
		limits_conn_gone(px);
		return false;
	}
	return true;
}

void limits_conn_gone(struct proxy *px)
{
	atomic_fetch_sub_explicit(&px->shared->sessions, 1,
				  memory_order_relaxed);
}

/* A client's slot holds its tag (its address, or its address mixed with
 * a backend's key for a group's own rate), the second and its requests in
 * it; another tag hashing there takes the slot over (it then starts from
 * 0: a collision is lenient, never stricter). */
static bool client_take(struct px_sess *s, uint32_t tag, uint32_t limit)
{
	uint32_t sec = second(s->px) & 0xffff;
	uint32_t h = (uint32_t)((tag * 0x9e3779b97f4a7c15ull) >> 48);
	_Atomic uint64_t *slot =
		&s->px->shared->client[h & (PX_CLIENT_SLOTS - 1)];
	uint64_t old = atomic_load_explicit(slot, memory_order_relaxed), nv;

	do {
		bool same = (uint32_t)(old >> 32) == tag &&
			    ((old >> 16) & 0xffff) == sec;
		uint32_t n = same ? (uint32_t)(old & 0xffff) : 0;

		if (n >= limit) {
			CNT(s->px, refused_client_rate);
			return false;
		}
		nv = ((uint64_t)tag << 32) | ((uint64_t)sec << 16) | (n + 1);
	} while (!atomic_compare_exchange_weak_explicit(
		slot, &old, nv, memory_order_relaxed, memory_order_relaxed));
	return true;
}

bool limits_admit_request(struct px_sess *s)
{
	const struct weir_table *t = s->px->table;

	return !t || !t->client_rps ||
	       client_take(s, s->client_ip, t->client_rps);
}

bool limits_admit_group(struct px_sess *s, uint32_t be)
{
	const struct weir_table *t = s->px->table;
	uint32_t limit = weir_table_backends(t)[be].knobs.client_rps;
	uint64_t key = s->px->backends[be].key;

	return !limit ||
	       client_take(s, s->client_ip ^ (uint32_t)(key ^ (key >> 32)) ^ 1,
			   limit);
}

/* ---- the queue ---------------------------------------------------------- */

void limits_enqueue(struct px_sess *s, uint32_t queue_ms)
{
	struct proxy *px = s->px;

	s->queued = true;
	s->qnext = NULL;
	if (px->q_tail)
		px->q_tail->qnext = s;
	else
		px->q_head = s;
	px->q_tail = s;
	px->q_len++;
	CNT(px, queued);
	s->q_deadline = queue_ms ? px->now + queue_ms * NS_PER_MS : 0;
	sess_arm_for_state(s);
}

void limits_dequeue(struct px_sess *s)
{
	struct proxy *px = s->px;
	struct px_sess **pp = &px->q_head, *prev = NULL;

	if (!s->queued)
		return;
	while (*pp && *pp != s) {
		prev = *pp;
		pp = &(*pp)->qnext;
	}
	if (*pp)
		*pp = s->qnext;
	if (px->q_tail == s)
		px->q_tail = prev;
	px->q_len--;
	s->queued = false;
	s->qnext = NULL;
}

uint32_t proxy_export_queues(const struct proxy *px,
			     struct weir_ctl_queue_stat *out, uint32_t cap)
{
	uint32_t n = 0, i;

	for (const struct px_sess *s = px->q_head; s; s = s->qnext) {
		for (i = 0; i < n && out[i].key != s->backend_key; i++)
			;
		if (i == cap)
			continue; /* more backends queueing at once than room */
		if (i == n)
			out[n++] = (struct weir_ctl_queue_stat){ s->backend_key,
								 0, 0 };
		out[i].qcur++;
	}
	return n;
}

/* In FIFO order, each queued request that a server now has room for goes
 * there; the others keep their place. */
void limits_kick(struct proxy *px)
{
	struct px_sess *s = px->q_head, *next;

	px->q_kick = false;
	for (uint32_t n = px->q_len; s && n; n--, s = next) {
		next = s->qnext; /* s may leave the queue, or end */
		sess_dispatch_queued(s);
	}
}
