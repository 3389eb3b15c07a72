/* proxy_backend: the backend side of the proxy: per-server pools of
 * keep-alive connections, picking a server and dispatching a request to
 * it, connect and its timeout, and what a failed attempt becomes (a retry
 * elsewhere, a backup, or 502/503/504). It never writes to the client
 * itself: answers and the response relay are proxy_session.c's, and the
 * active probes' outcomes proxy_health.c's.
 * Reading order: connections and the pool, the request's replay copy and
 * dispatch, failures, callbacks. */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "http/proxy_internal.h"
#include "tcp/tcp.h"

static const struct tcp_conn_ops backend_ops;

/* ---- backend connections and the pool ----------------------------------- */

static void bconn_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now);
static void retry_same(struct px_sess *s, uint32_t slot);

struct px_bconn *bconn_new(struct proxy *px, struct px_server *srv)
{
	struct px_bconn *b;
	char *buf;
	int err = 0;

	if (rte_mempool_get(px->bconn_pool, (void **)&b))
		return NULL;
	if (rte_mempool_get(px->buf_pool, (void **)&buf)) {
		rte_mempool_put(px->bconn_pool, b);
		return NULL;
	}
	memset(b, 0, offsetof(struct px_bconn, in));
	b->in.head = b->in.n = 0;
	b->respbuf = buf;
	b->px = px;
	b->srv = srv;
	b->slot = (uint32_t)(srv - px->servers);
	b->state = B_CONNECTING;
	tw_entry_init(&b->timer, bconn_timer);
	b->tc = tcp_connect(px->tcp, px->local_ip, rte_be_to_cpu_32(srv->ip),
			    srv->port, &backend_ops, b, &err);
	if (!b->tc) {
		rte_mempool_put(px->buf_pool, buf);
		rte_mempool_put(px->bconn_pool, b);
		return NULL;
	}
	srv->refs++;
	if (px->cfg.timeout_connect_ms) {
		b->deadline = px->now + px->cfg.timeout_connect_ms * NS_PER_MS;
		tw_arm(&px->wheel, &b->timer, b->deadline);
	}
	return b;
}

/* Takes b out of its server's idle pool, if it is there. */
static void pool_unlink(struct px_bconn *b)
{
	struct px_bconn **pp = &b->srv->idle;

	while (*pp && *pp != b)
		pp = &(*pp)->next_idle;
	if (*pp) {
		*pp = b->next_idle;
		b->srv->n_idle--;
	}
	b->next_idle = NULL;
}

/* Ends b's part in a request. reusable: back to its server's pool; else
 * its connection ends: gracefully once the response was complete (or it
 * was idle), with a reset mid-request, so the replica stops working on a
 * request nobody waits for. */
void bconn_release(struct px_bconn *b, bool reusable)
{
	struct proxy *px = b->px;

	if (b->sess) {
		if (b->state == B_ROUTE)
			b->sess->rb = NULL;
		else
			b->sess->bc = NULL;
		b->sess = NULL;
	}
	if (b->counted_active) {
		lb_release(&px->lb, b->slot);
		b->counted_active = false;
		px->q_kick = true; /* a slot came free: the queue may move */
	}
	tw_cancel(&px->wheel, &b->timer);
	if (reusable && b->tc && b->in.n == 0) {
		b->state = B_IDLE;
		b->idle_since = px->now;
		b->next_idle = b->srv->idle;
		b->srv->idle = b;
		b->srv->n_idle++;
		return;
	}
	if (b->state == B_IDLE)
		pool_unlink(b);
	segq_free(&b->in);
	if (b->tc) {
		if (b->resp_done || b->state == B_IDLE)
			tcp_close(b->tc);
		else
			tcp_abort(b->tc);
	}
	b->tc = NULL;
	b->srv->refs--;
	rte_mempool_put(px->buf_pool, b->respbuf);
	rte_mempool_put(px->bconn_pool, b);
}

/* Closes the pooled connections of srv idle for idle_ns or more. */
void pool_expire(struct px_server *srv, uint64_t now, uint64_t idle_ns)
{
	/* the pool is most recent first: the stale ones are at the end */
	for (struct px_bconn *b = srv->idle, *next; b; b = next) {
		next = b->next_idle;
		if (now - b->idle_since >= idle_ns)
			bconn_release(b, false);
	}
}

/* ---- the replay copy, dispatch ------------------------------------------ */

void release_replay(struct px_sess *s)
{
	for (unsigned int i = 0; i < s->n_replay; i++)
		rte_pktmbuf_free(s->replay[i]);
	s->n_replay = 0;
	s->replay_bytes = 0;
	s->replay_next = 0;
}

/* Keeps a reference to m for a retry while the request still fits. */
static void hold_for_replay(struct px_sess *s, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (!s->replayable)
		return;
	if (s->n_replay == RTE_DIM(s->replay) ||
	    s->replay_bytes + len > s->px->cfg.replay_max) {
		s->replayable =
			false; /* streamed past the buffer: never replayed */
		release_replay(s);
		return;
	}
	mbuf_ref(m, 1);
	s->replay[s->n_replay++] = m;
	s->replay_bytes += len;
}

/* Sends m to the backend, keeping a copy for a retry. 0, or -EAGAIN /
 * -ENOBUFS when the backend's queue is full (m untouched). */
int to_backend(struct px_sess *s, struct rte_mbuf *m)
{
	int rc;

	if (!s->bc || s->bc->state != B_BUSY || s->replay_next < s->n_replay)
		return -EAGAIN; /* the held request goes first */
	hold_for_replay(s, m);
	rc = tcp_send(s->bc->tc, m);
	if (rc && s->n_replay && s->replay[s->n_replay - 1] == m) {
		mbuf_ref(m, -1); /* not taken: drop the extra reference */
		s->replay_bytes -= rte_pktmbuf_pkt_len(m);
		s->n_replay--;
	}
	s->replay_next = s->n_replay;
	return rc;
}

/* Sends what is held of the request (the head, and any body already
 * forwarded or held for the router) on a fresh backend connection, as far
 * as its queue takes it (its on_writable resumes), then the rest of the
 * body as it comes. Returns true if the session is gone. */
static bool sess_send_request(struct px_sess *s)
{
	struct px_bconn *b = s->bc;

	for (unsigned int i = s->replay_next; i < s->n_replay; i++) {
		struct rte_mbuf *m = s->replay[i];
		int rc;

		mbuf_ref(m, 1); /* one for the stack; ours stays */
		rc = tcp_send(b->tc, m);
		if (rc && i > 0 && (rc == -EAGAIN || rc == -ENOBUFS)) {
			mbuf_ref(m, -1);
			return false; /* the queue is full: on_writable */
		}
		if (rc) {
			bool stale = i == 0 && b->reused && !b->got_bytes;
			uint32_t slot = b->slot;

			mbuf_ref(m, -1);
			bconn_release(b, false);
			if (stale) { /* a pooled connection already dying */
				CNT(s->px, pool_retry_stale);
				s->tries--;
				s->excl.n--;
				retry_same(s, slot);
				return sess_dispatch(s);
			}
			CNT(s->px, e502_send);
			return sess_error(s, 502, true);
		}
		s->replay_next = (uint16_t)(i + 1);
	}
	return sess_forward_body(s);
}

/* Sends the request to member pos of its backend (lb counted it), on a
 * pooled connection or a new one. Returns true if the session is gone. */
bool sess_dispatch_to(struct px_sess *s, int pos)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be =
		&weir_table_backends(px->table)[s->backend];
	const struct weir_table_server *t;
	struct px_backend *pb = &px->backends[s->backend];
	uint32_t slot = pb->pool.members[pos].srv;
	struct px_server *srv = &px->servers[slot];
	struct px_bconn *b;

	t = &weir_table_servers(px->table)[be->first_server + (uint32_t)pos];
	srv->ip = t->ip;
	srv->port = t->port;
	lb_exclude_add(&s->excl, slot);
	s->tries++;
	plog_dispatch(s, be->name, t);
	b = srv->idle;
	if (b) {
		pool_unlink(b);
		b->state = B_BUSY;
		b->reused = true;
		CNT(px, pool_reuse);
	} else {
		b = bconn_new(px, srv);
		if (!b) {
			lb_release(&px->lb, slot);
			CNT(px, nomem);
			return sess_error(s, 503, true);
		}
		b->reused = false;
		CNT(px, pool_new);
	}
	b->counted_active = true;
	b->sess = s;
	b->head_done = b->resp_done = b->got_bytes = false;
	http_response_init(&b->resp, b->respbuf, px->cfg.head_max, NULL,
			   s->req.msg.method);
	srv->requests++;
	if (srv->load.active > srv->smax)
		srv->smax = srv->load.active;
	s->bc = b;
	s->replay_next = 0; /* all of the held request goes on b */
	sess_arm_for_state(s);
	if (b->state == B_CONNECTING)
		return false; /* on_connected sends */
	return sess_send_request(s);
}

/* Points s->backend into the current table: a table adopted since the
 * request was routed may have renumbered its backend (found again by
 * name) or removed it. Returns false when it is gone. */
bool sess_backend_current(struct px_sess *s)
{
	const struct proxy *px = s->px;

	if (!px->table)
		return false;
	if (s->backend_gen == px->table->generation)
		return true;
	for (uint32_t i = 0; i < px->table->n_backends; i++)
		if (px->backends[i].key == s->backend_key) {
			s->backend = i;
			s->backend_gen = px->table->generation;
			return true;
		}
	return false;
}

void sess_set_backend(struct px_sess *s, uint32_t be)
{
	s->backend = be;
	s->backend_gen = s->px->table->generation;
	s->backend_key = s->px->backends[be].key;
}

/* A pooled connection died under a request before a byte came back: the
 * retry goes to the same server if it can (even draining since: the
 * request was its before the drain, as HAProxy keeps a request on its
 * server), else it is balanced as usual. */
static void retry_same(struct px_sess *s, uint32_t slot)
{
	if (!s->pin_slot) {
		s->pin_slot = slot + 1;
		s->pin_drain_ok = true;
	}
}

/* The member position of the server the router pinned the request to,
 * counted as lb_select would, while it is usable and not tried (a stale
 * pooled connection is not a try); -EBUSY while it is at its maxconn (the
 * request waits for it, as HAProxy queues on a server); -1 otherwise:
 * balanced as usual (a failed pinned replica is redispatched, Ray's
 * option redispatch). */
static int pinned_pos(struct px_sess *s, const struct px_backend *pb)
{
	uint32_t slot = s->pin_slot - 1, w;

	if (!s->pin_slot || lb_exclude_has(&s->excl, slot))
		return -1;
	w = lb_health_read(&s->px->servers[slot].health);
	if (!lb_hs_usable(w) && !(s->pin_drain_ok && lb_hs_up(w) &&
				  lb_hs_admin(w) == LB_ADMIN_DRAIN))
		return -1;
	for (uint32_t i = 0; i < pb->pool.n; i++) {
		const struct lb_member *m = &pb->pool.members[i];

		if (m->srv != slot)
			continue;
		if (m->maxconn &&
		    lb_ctx_load(&s->px->lb, slot)->active >= m->maxconn)
			return -EBUSY;
		lb_take(&s->px->lb, slot);
		return (int)i;
	}
	return -1;
}

/* Picks a server for the request (excluding those tried) and sends it
 * there. Returns true if gone. */
bool sess_dispatch(struct px_sess *s)
{
	struct px_backend *pb;
	int pos;

	if (!sess_backend_current(s)) {
		CNT(s->px, backend_gone);
		return sess_error(s, 503, true);
	}
	pb = &s->px->backends[s->backend];
	pos = pinned_pos(s, pb);
	if (pos >= 0)
		return sess_dispatch_to(s, pos);
	if (pos != -EBUSY)
		pos = lb_select(&s->px->lb, &pb->pool, &pb->sched, &s->excl);
	if (pos == -EBUSY) { /* every server (or the pinned one) full: wait */
		limits_enqueue(s, weir_table_backends(s->px->table)[s->backend]
					  .knobs.timeouts.queue_ms);
		return false;
	}
	if (pos < 0)
		return sess_error(s, 503, true);
	return sess_dispatch_to(s, pos);
}

bool sess_dispatch_queued(struct px_sess *s)
{
	struct px_backend *pb;
	int pos;

	if (!sess_backend_current(s)) {
		limits_dequeue(s);
		CNT(s->px, backend_gone);
		return sess_error(s, 503, true);
	}
	pb = &s->px->backends[s->backend];
	pos = pinned_pos(s, pb);
	if (pos == -1)
		pos = lb_select(&s->px->lb, &pb->pool, &pb->sched, &s->excl);
	if (pos == -EBUSY)
		return false; /* still full: keeps its place */
	limits_dequeue(s);
	if (pos < 0)
		return sess_error(s, 503, true);
	sess_dispatch_to(s, pos);
	return true;
}

/* The retries are spent and no replica could even be reached: the
 * fallback (a backup) is what it is for, even before passive health has
 * marked every replica down on this worker. Returns the member position of
 * a usable backup not tried yet, or -1. */
static int untried_backup(struct px_sess *s)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be;
	struct px_backend *pb;

	if (!sess_backend_current(s))
		return -1;
	be = &weir_table_backends(px->table)[s->backend];
	pb = &px->backends[s->backend];
	for (uint32_t i = be->n_servers; i < be->n_servers + be->n_backups;
	     i++) {
		uint32_t slot = pb->pool.members[i].srv;

		if (!lb_exclude_has(&s->excl, slot) &&
		    lb_hs_usable(lb_health_read(&px->servers[slot].health))) {
			lb_ctx_load(&px->lb, slot)
				->active++; /* as lb_select counts */
			return (int)i;
		}
	}
	return -1;
}

/* ---- backend failures and callbacks ------------------------------------- */

/* Whether a failed attempt may go to another server: nothing answered,
 * the whole request still held, and a connect failure (any method), or an
 * empty answer to an idempotent request or on a reused connection. */
static bool may_retry(const struct px_sess *s, const struct px_bconn *b,
		      bool connect_failed)
{
	enum http_method mth = s->req.msg.method;
	bool idempotent = mth == HTTP_METHOD_GET || mth == HTTP_METHOD_HEAD ||
			  mth == HTTP_METHOD_PUT || mth == HTTP_METHOD_DELETE ||
			  mth == HTTP_METHOD_OPTIONS;

	if (s->resp_started || b->got_bytes || !s->replayable ||
	    s->state == S_TUNNEL)
		return false;
	if (b->reused)
		return true; /* a stale pooled connection: one transparent retry */
	if (s->tries > s->px->cfg.retries)
		return false;
	return connect_failed || idempotent;
}

/* The backend connection failed or closed early; its TCP connection is
 * already gone (or being released by the stack). */
void bconn_failed(struct px_bconn *b, enum lb_fail_reason why,
		  bool connect_failed)
{
	struct px_sess *s = b->sess;
	struct proxy *px = b->px;
	bool stale = b->reused && !b->got_bytes;
	bool close_framed = b->head_done &&
			    b->resp.msg.framing == HTTP_FRAMING_CLOSE;

	b->tc = NULL;
	if (b->state == B_PROBE) {
		probe_failed(b, why);
		return;
	}
	if (b->state == B_ROUTE) {
		router_failed(b, why);
		return;
	}
	if (!stale) {
		b->srv->failures++;
		b->srv->econ += connect_failed;
		health_event(px, b->srv, false, why);
	}
	if (!s) {
		bconn_release(b, false);
		return;
	}
	if (may_retry(s, b, connect_failed)) {
		if (stale) {
			CNT(px, pool_retry_stale);
			s->tries--; /* a dead pooled connection is not a real try */
			s->excl.n--; /* and its server may be picked again */
			retry_same(s, b->slot);
		} else {
			CNT(px, retries);
			b->srv->retries_from++;
		}
		bconn_release(b, false);
		sess_dispatch(s);
		return;
	}
	bconn_release(b, false);
	if (s->resp_started) {
		CNT(px, backend_aborts);
		sess_cut(s, close_framed);
		return;
	}
	if (connect_failed && s->replayable) {
		int pos = untried_backup(s);

		if (pos >= 0) {
			CNT(px, retries);
			sess_dispatch_to(s, pos);
			return;
		}
	}
	if (!connect_failed && why != LB_FAIL_TIMEOUT)
		CNT(px, e502_closed); /* every 502 has its backend-side cause */
	/* HAProxy's statuses: no connection to any server is 503 (its "SC"
	 * termination), a server lost mid-request 502, a server that
	 * timed out answering 504. */
	sess_error(s,
		   connect_failed	  ? 503 :
		   why == LB_FAIL_TIMEOUT ? 504 :
					    502,
		   true);
}

static void bconn_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct px_bconn *b = container_of(e, struct px_bconn, timer);
	struct tcp_conn *tc = b->tc;

	(void)w;
	if (!b->deadline || now < b->deadline || !tc)
		return;
	b->tc = NULL;
	tcp_abort(tc);
	bconn_failed(b, LB_FAIL_TIMEOUT, b->state == B_CONNECTING);
}

static void b_on_connected(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;

	(void)c;
	if (b->state == B_PROBE) { /* its timeout runs to the answer */
		probe_send(b);
		return;
	}
	if (b->state == B_ROUTE) { /* its timeout runs to the answer */
		router_connected(b);
		return;
	}
	b->deadline = 0;
	tw_cancel(&b->px->wheel, &b->timer);
	b->state = B_BUSY;
	health_event(b->px, b->srv, true, LB_FAIL_CONNECT);
	if (b->sess)
		sess_send_request(b->sess);
}

static void b_on_recv(struct tcp_conn *c, void *user, struct rte_mbuf *m)
{
	struct px_bconn *b = user;

	(void)c;
	b->got_bytes = true;
	if (b->state == B_PROBE) {
		probe_recv(b, m);
		return;
	}
	if (b->state == B_ROUTE) {
		router_recv(b, m);
		return;
	}
	if (!b->sess) { /* an idle pooled connection talking: drop it */
		rte_pktmbuf_free(m);
		bconn_release(b, false);
		return;
	}
	if (!segq_push(&b->in, m)) {
		struct px_sess *s = b->sess;

		bconn_release(b, false);
		sess_abort(s);
		return;
	}
	bconn_pump(b);
}

static void b_on_writable(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;

	(void)c;
	if (b->state == B_ROUTE)
		router_writable(b);
	else if (b->sess && b->sess->replay_next < b->sess->n_replay)
		sess_send_request(b->sess); /* the held request's rest */
	else if (b->sess)
		sess_forward_body(b->sess);
}

static void b_on_peer_fin(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;
	struct px_sess *s = b->sess;

	if (b->state == B_ROUTE) {
		router_fin(b);
		return;
	}
	if (b->state == B_PROBE || !s) {
		if (b->state == B_PROBE)
			bconn_failed(b, LB_FAIL_STATUS, false), tcp_abort(c);
		else
			bconn_release(b,
				      false); /* idle in the pool: close it */
		return;
	}
	if (s->state == S_TUNNEL) {
		bconn_release(b, false);
		sess_close(s);
		return;
	}
	if (b->head_done &&
	    (b->resp.msg.framing == HTTP_FRAMING_CLOSE || b->in.n)) {
		/* a close-delimited body ends here, any other may still end
		 * in what is queued (a slow client): once that is relayed,
		 * bconn_pump finishes the response or finds it cut short */
		b->fin = true;
		bconn_pump(b);
		return;
	}
	/* closed before the response ended */
	b->tc = NULL;
	tcp_abort(c);
	bconn_failed(b, LB_FAIL_RESET, false);
}

static void b_on_error(struct tcp_conn *c, void *user, enum tcp_error err)
{
	struct px_bconn *b = user;
	bool connecting = b->state == B_CONNECTING;

	(void)c;
	b->tc = NULL;
	if (b->state == B_IDLE)
		pool_unlink(b);
	bconn_failed(b,
		     err == TCP_ERR_TIMEOUT ? LB_FAIL_TIMEOUT :
		     connecting		    ? LB_FAIL_CONNECT :
					      LB_FAIL_RESET,
		     connecting);
}

static void b_on_closed(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;

	(void)c;
	b->tc = NULL;
	if (b->state == B_IDLE)
		pool_unlink(b);
	if (b->sess && !b->resp_done) {
		bconn_failed(b, LB_FAIL_RESET, false);
		return;
	}
	b->resp_done = true;
	bconn_release(b, false);
}

static const struct tcp_conn_ops backend_ops = {
	.on_connected = b_on_connected,
	.on_recv = b_on_recv,
	.on_writable = b_on_writable,
	.on_peer_fin = b_on_peer_fin,
	.on_error = b_on_error,
	.on_closed = b_on_closed,
};
