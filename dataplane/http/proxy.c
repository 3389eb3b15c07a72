/* The HTTP reverse proxy of one worker: see proxy.h. Reading order: the
 * session (client side) first, then the backend connection, then routing
 * and selection, then timers and set-up. Two rules keep lifetimes simple:
 * a function that may end a session returns whether it did (true = gone,
 * touch nothing more), and bytes are acknowledged to a sender
 * (tcp_recv_done) only once the other side's stack has taken them, which
 * is the whole back-pressure mechanism. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include "http/http_frontend.h"
#include "http/http_rewrite.h"
#include "http/proxy.h"
#include "lb/route.h"
#include "tcp/tcp.h"

#define QCAP 512 /* segments queued per direction (> a window) */
#define SWEEP_NS 50000000ull /* pool idle and re-probe sweep: 50 ms */
#define NS_PER_MS 1000000ull
#define CNT(px, n) ((px)->ctr[PX_CTR_##n]++)

enum sess_state {
	S_HEAD, /* reading a request head */
	S_BODY, /* forwarding the request body */
	S_WAIT_RESPONSE, /* request sent, response being relayed */
	S_TUNNEL, /* after 101: bytes both ways */
	S_LINGER, /* answered and half-closed: reading to the client's FIN */
};

enum bconn_state {
	B_CONNECTING,
	B_BUSY,
	B_IDLE,
	B_PROBE
};

/* A FIFO of single-segment mbufs. */
struct segq {
	uint16_t head, n;
	struct rte_mbuf *m[QCAP];
};

struct px_sess {
	struct proxy *px;
	struct tcp_conn *cc;
	uint32_t client_ip; /* network order */
	enum sess_state state;
	bool req_done; /* whole request forwarded */
	bool close_after; /* close the client after this response */
	bool head_method;
	bool resp_started; /* a byte of the response reached the client */
	bool peer_fin; /* the client half-closed */
	bool replayable; /* the whole request is still held */
	uint32_t backend; /* table index of the chosen backend */
	struct px_bconn *bc;
	uint16_t n_replay;
	uint32_t replay_bytes;
	uint8_t tries;
	struct lb_exclude excl; /* servers tried for this request */
	uint64_t deadline; /* current timeout, 0 = none */
	uint16_t deadline_status; /* 0: close silently; 408/504: answer */
	struct tw_entry timer;
	char *reqbuf; /* head_max bytes from buf_pool */
	struct http_body req_body;
	/* large members last: not cleared on allocation */
	struct rte_mbuf *replay[64]; /* request held for a retry (our refs) */
	struct segq in; /* client bytes not yet consumed */
	struct http_head req;
};

struct px_bconn {
	struct proxy *px;
	struct tcp_conn *tc;
	struct px_server *srv;
	uint32_t slot; /* srv's index: lb_release */
	enum bconn_state state;
	struct px_sess *sess;
	struct px_bconn *next_idle;
	bool head_done, resp_done, reused, got_bytes, counted_active;
	bool fin; /* the replica half-closed */
	uint64_t idle_since;
	struct tw_entry timer; /* connect timeout, probe timeout */
	uint64_t deadline;
	char *respbuf;
	struct http_body resp_body;
	/* large members last: not cleared on allocation */
	struct segq in; /* replica bytes not yet relayed */
	struct http_head resp;
};

static const struct tcp_conn_ops client_ops, backend_ops;

const char *proxy_counter_name(unsigned int id)
{
	static const char *const names[] = {
#define PX_X_NAME(n, h) #n,
		PROXY_COUNTERS(PX_X_NAME)
#undef PX_X_NAME
	};
	return id < PX_CTR_MAX ? names[id] : NULL;
}

/* ---- segment queues ------------------------------------------------------ */

/* Appends m, split into single segments. Returns false if it did not fit
 * (cannot happen within a TCP window; the caller drops the connection). */
static bool segq_push(struct segq *q, struct rte_mbuf *m)
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

static struct rte_mbuf *segq_peek(const struct segq *q)
{
	return q->n ? q->m[q->head] : NULL;
}

static void segq_pop(struct segq *q)
{
	q->head = (uint16_t)((q->head + 1) % QCAP);
	q->n--;
}

static void segq_free(struct segq *q)
{
	while (q->n) {
		rte_pktmbuf_free(segq_peek(q));
		segq_pop(q);
	}
}

/* Builds an mbuf chain holding len bytes of buf (for heads we wrote). */
static struct rte_mbuf *mbuf_from(struct proxy *px, const char *buf, size_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	while (len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(px->pkt_pool);
		uint16_t n;

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		n = (uint16_t)RTE_MIN(len, (size_t)rte_pktmbuf_tailroom(m));
		memcpy(rte_pktmbuf_append(m, n), buf, n);
		buf += n;
		len -= n;
		if (!head) {
			head = m;
		} else {
			tail->next = m;
			head->nb_segs++;
			head->pkt_len += n;
		}
		tail = m;
	}
	return head;
}

/* ---- servers ------------------------------------------------------------- */

static struct px_server *server_slot(struct proxy *px, uint64_t id, bool create)
{
	uint32_t mask = px->servers_cap - 1;
	uint32_t i = (uint32_t)(id ^ id >> 29) & mask;

	while (px->servers[i].id && px->servers[i].id != id)
		i = (i + 1) & mask;
	if (px->servers[i].id == id)
		return &px->servers[i];
	if (!create || px->n_servers >= px->servers_cap * 3 / 4)
		return NULL;
	px->n_servers++;
	px->servers[i].id = id;
	/* Ray announces running replicas: they start UP. */
	lb_health_init(&px->servers[i].health, NULL, true, px->now);
	return &px->servers[i];
}

struct px_server *proxy_server(struct proxy *px, uint64_t id)
{
	return server_slot(px, id, false);
}

static void count_response(struct proxy *px, struct px_server *srv,
			   uint16_t status)
{
	unsigned int cls = status / 100;

	if (cls < 1 || cls > 5)
		return;
	px->ctr[PX_CTR_resp_1xx + cls - 1]++;
	if (srv)
		srv->resp[cls]++;
}

/* ---- sending to the client ----------------------------------------------- */

static void sess_free(struct px_sess *s);
static bool sess_pump(struct px_sess *s);
static void bconn_release(struct px_bconn *b, bool reusable);
static bool bconn_pump(struct px_bconn *b);
static bool sess_forward_body(struct px_sess *s);

#define LINGER_NS (2000 * NS_PER_MS)

/* Closes the client after what is queued, and frees the session. If the
 * client may still be sending (a request refused before its end), closing
 * now would answer its next bytes with a RST that can destroy our answer
 * in its receive buffer: half-close, read and drop until its FIN or 2 s
 * (RFC 9112 9.6, staged close), then let go. */
static void sess_close(struct px_sess *s)
{
	struct tcp_conn *cc = s->cc;

	if (cc && !s->peer_fin && s->state != S_LINGER) {
		if (s->bc)
			bconn_release(s->bc, false);
		segq_free(&s->in);
		s->state = S_LINGER;
		tcp_shutdown(cc);
		s->deadline = s->px->now + LINGER_NS;
		s->deadline_status = 0;
		tw_arm(&s->px->wheel, &s->timer, s->deadline);
		return;
	}
	s->cc = NULL;
	if (cc)
		tcp_close(cc);
	sess_free(s);
}

/* The exchange is over and the connection stays: read the next request. */
static bool sess_next_request(struct px_sess *s)
{
	s->state = S_HEAD;
	s->head_method = false;
	s->resp_started = false;
	http_head_reset(&s->req);
	return sess_pump(s);
}

static void sess_abort(struct px_sess *s)
{
	struct tcp_conn *cc = s->cc;

	s->cc = NULL;
	if (cc)
		tcp_abort(cc);
	sess_free(s);
}

/* Sends a response the proxy wrote itself; closes the session when close
 * is set. Returns true if the session is gone. */
static bool sess_reply(struct px_sess *s, const char *buf, size_t len,
		       uint16_t status, bool close)
{
	struct rte_mbuf *m = len ? mbuf_from(s->px, buf, len) : NULL;

	count_response(s->px, NULL, status);
	if (!m || tcp_send(s->cc, m)) {
		rte_pktmbuf_free(m);
		CNT(s->px, nomem);
		sess_abort(s);
		return true;
	}
	s->resp_started = true;
	if (close) {
		sess_close(s);
		return true;
	}
	return false;
}

/* Answers an error of the proxy's own (Ray's 500 for 502/504 unless the
 * switch is off). Returns true if the session is gone. */
static bool sess_error(struct px_sess *s, uint16_t status, bool close)
{
	struct proxy *px = s->px;
	char buf[512];
	size_t n = http_fe_error(buf, sizeof(buf), status, px->cfg.ray_500,
				 close, s->head_method);
	uint16_t sent = px->cfg.ray_500 && (status == 502 || status == 504) ?
				500 :
				status;

	switch (status) {
	case 408:
		CNT(px, err_408);
		break;
	case 502:
		CNT(px, err_502);
		break;
	case 503:
		CNT(px, err_503);
		break;
	case 504:
		CNT(px, err_504);
		break;
	default:
		break;
	}
	return sess_reply(s, buf, n, sent, close);
}

/* ---- timers -------------------------------------------------------------- */

static void sess_set_deadline(struct px_sess *s, uint32_t ms, uint16_t status)
{
	struct proxy *px = s->px;

	s->deadline = ms ? px->now + ms * NS_PER_MS : 0;
	s->deadline_status = status;
	if (s->deadline)
		tw_arm(&px->wheel, &s->timer, s->deadline);
	else
		tw_cancel(&px->wheel, &s->timer);
}

/* Picks the timeout that applies in the session's state (Ray's names:
 * http-keep-alive between requests, http-request for a head, client for
 * an idle client, server while waiting for the replica). */
static void sess_arm_for_state(struct px_sess *s)
{
	const struct proxy_config *c = &s->px->cfg;

	switch (s->state) {
	case S_HEAD:
		if (s->req.len == 0 && s->in.n == 0)
			sess_set_deadline(s, c->timeout_keep_alive_ms, 0);
		else if (c->timeout_http_request_ms)
			sess_set_deadline(s, c->timeout_http_request_ms, 408);
		else
			sess_set_deadline(s, c->timeout_client_ms, 408);
		break;
	case S_BODY:
		sess_set_deadline(s, c->timeout_client_ms, 0);
		break;
	case S_WAIT_RESPONSE:
		sess_set_deadline(s, c->timeout_server_ms, 504);
		break;
	case S_TUNNEL:
		sess_set_deadline(s, c->timeout_client_ms, 0);
		break;
	case S_LINGER:
		break; /* its own deadline, set by sess_close */
	}
}

static void sess_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct px_sess *s = container_of(e, struct px_sess, timer);

	(void)w;
	if (!s->deadline || now < s->deadline)
		return;
	if (s->deadline_status == 504 && s->bc && !s->resp_started) {
		struct px_bconn *b = s->bc;

		if (b->srv)
			lb_health_on_failure(&b->srv->health, now,
					     LB_FAIL_TIMEOUT);
		bconn_release(b, false);
		sess_error(s, 504, true);
		return;
	}
	if (s->state == S_LINGER) {
		s->peer_fin = true; /* stop waiting: let go */
		sess_close(s);
		return;
	}
	if (s->deadline_status == 408 && !s->resp_started &&
	    s->state == S_HEAD) {
		sess_error(s, 408, true);
		return;
	}
	sess_abort(s);
}

/* ---- backend connections ------------------------------------------------- */

static void bconn_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now);

static struct px_bconn *bconn_new(struct proxy *px, struct px_server *srv)
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
static void bconn_release(struct px_bconn *b, bool reusable)
{
	struct proxy *px = b->px;

	if (b->sess) {
		b->sess->bc = NULL;
		b->sess = NULL;
	}
	if (b->counted_active) {
		lb_release(&px->lb, b->slot);
		b->counted_active = false;
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
	rte_mempool_put(px->buf_pool, b->respbuf);
	rte_mempool_put(px->bconn_pool, b);
}

/* ---- dispatch ------------------------------------------------------------ */

static void release_replay(struct px_sess *s)
{
	for (unsigned int i = 0; i < s->n_replay; i++)
		rte_pktmbuf_free(s->replay[i]);
	s->n_replay = 0;
	s->replay_bytes = 0;
}

static void mbuf_ref(struct rte_mbuf *m, int16_t d)
{
	for (; m; m = m->next)
		rte_mbuf_refcnt_update(m, d);
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
static int to_backend(struct px_sess *s, struct rte_mbuf *m)
{
	int rc;

	if (!s->bc || s->bc->state != B_BUSY)
		return -EAGAIN;
	hold_for_replay(s, m);
	rc = tcp_send(s->bc->tc, m);
	if (rc && s->n_replay && s->replay[s->n_replay - 1] == m) {
		mbuf_ref(m, -1); /* not taken: drop the extra reference */
		s->replay_bytes -= rte_pktmbuf_pkt_len(m);
		s->n_replay--;
	}
	return rc;
}

/* Sends what is held of the request (the head, and any body already
 * forwarded) on a fresh backend connection, then the rest of the body as
 * it comes. Returns true if the session is gone. */
static bool sess_send_request(struct px_sess *s)
{
	struct px_bconn *b = s->bc;

	for (unsigned int i = 0; i < s->n_replay; i++) {
		struct rte_mbuf *m = s->replay[i];

		mbuf_ref(m, 1); /* one for the stack; ours stays */
		if (tcp_send(b->tc, m)) {
			mbuf_ref(m, -1);
			bconn_release(b, false);
			return sess_error(s, 502, true);
		}
	}
	return sess_forward_body(s);
}

/* Sends the request to member pos of its backend (lb counted it), on a
 * pooled connection or a new one. Returns true if the session is gone. */
static bool sess_dispatch_to(struct px_sess *s, int pos)
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
	s->bc = b;
	sess_arm_for_state(s);
	if (b->state == B_CONNECTING)
		return false; /* on_connected sends */
	return sess_send_request(s);
}

/* Picks a server for the request (excluding those tried) and sends it
 * there. Returns true if gone. */
static bool sess_dispatch(struct px_sess *s)
{
	struct px_backend *pb = &s->px->backends[s->backend];
	int pos = lb_select(&s->px->lb, &pb->pool, &pb->sched, &s->excl);

	if (pos < 0)
		return sess_error(s, 503, true);
	return sess_dispatch_to(s, pos);
}

/* The retries are spent and no replica could even be reached: the
 * fallback (a backup) is what it is for, even before passive health has
 * marked every replica down on this worker. Returns the member position of
 * a usable backup not tried yet, or -1. */
static int untried_backup(struct px_sess *s)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be =
		&weir_table_backends(px->table)[s->backend];
	struct px_backend *pb = &px->backends[s->backend];

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

/* Writes the request head for the backend as the first held segment. */
static bool build_request_head(struct px_sess *s)
{
	struct proxy *px = s->px;
	char id[40];
	struct http_rw_request o = { .client_ip = s->client_ip,
				     .request_id = id,
				     .upgrade = s->req.msg.upgrade };
	struct rte_mbuf *m;
	size_t n;

	snprintf(id, sizeof(id), "%08x%016llx", px->req_id_salt,
		 (unsigned long long)++px->req_id);
	n = http_rw_request(px->scratch, 65536, &s->req, &o);
	m = n ? mbuf_from(px, px->scratch, n) : NULL;
	if (!m)
		return false;
	release_replay(s);
	s->replayable = true;
	s->replay[s->n_replay++] = m; /* the head is always held: our copy */
	s->replay_bytes = (uint32_t)n;
	return true;
}

int proxy_health(struct proxy *px)
{
	if (px->draining)
		return HTTP_FE_DRAINING;
	if (!px->table || !px->table->n_backends)
		return HTTP_FE_UNPOPULATED;
	for (uint32_t i = 0; i < px->table->n_http_backends; i++)
		if (lb_pool_nbsrv(&px->lb, &px->backends[i].pool))
			return HTTP_FE_HEALTHY;
	return HTTP_FE_UNHEALTHY;
}

/* Local answers and routing of a complete head. Returns true if gone. */
static bool sess_route(struct px_sess *s)
{
	struct proxy *px = s->px;
	const struct http_message *m = &s->req.msg;
	const char *target = http_span_ptr(&s->req, m->target);
	size_t plen;
	const char *path = route_target_path(target, m->target.len, &plen);
	enum http_fe_health st = (enum http_fe_health)proxy_health(px);
	char buf[4096];
	int be;
	size_t n;

	CNT(px, requests);
	s->head_method = m->method == HTTP_METHOD_HEAD;
	s->close_after = !m->keep_alive;
	s->resp_started = false;
	if (http_fe_is_healthz(path, plen) || http_fe_is_routes(path, plen)) {
		bool hz = http_fe_is_healthz(path, plen);

		if (hz)
			CNT(px, local_healthz);
		else
			CNT(px, local_routes);
		s->close_after |= m->framing !=
				  HTTP_FRAMING_NONE; /* body unread */
		n = hz ? http_fe_healthz(buf, sizeof(buf), st, s->close_after,
					 s->head_method) :
			 http_fe_routes(buf, sizeof(buf), st, px->routes_json,
					px->routes_json_len, s->close_after,
					s->head_method);
		if (sess_reply(s, buf, n, st == HTTP_FE_HEALTHY ? 200 : 503,
			       s->close_after))
			return true;
		return sess_next_request(s);
	}
	be = px->table ? route_lookup(px->table, path, plen) : ROUTE_NO_MATCH;
	if (be < 0) {
		CNT(px, local_404);
		s->close_after |= m->framing != HTTP_FRAMING_NONE;
		n = http_fe_not_found(buf, sizeof(buf), path, plen,
				      s->close_after, s->head_method);
		if (sess_reply(s, buf, n, 404, s->close_after))
			return true;
		return sess_next_request(s);
	}
	s->backend = (uint32_t)be;
	s->tries = 0;
	lb_exclude_init(&s->excl);
	if (!build_request_head(s)) {
		CNT(px, nomem);
		return sess_error(s, 503, true);
	}
	http_body_init(&s->req_body, &s->req);
	s->req_done = m->framing == HTTP_FRAMING_NONE;
	s->state = s->req_done ? S_WAIT_RESPONSE : S_BODY;
	return sess_dispatch(s);
}

/* ---- the session's input ------------------------------------------------- */

/* Feeds queued client bytes to the head parser. Returns true if gone. */
static bool sess_read_head(struct px_sess *s)
{
	struct rte_mbuf *m;

	while (s->state == S_HEAD && (m = segq_peek(&s->in))) {
		size_t used = 0;
		enum http_result r = http_head_feed(&s->req,
						    rte_pktmbuf_mtod(m, char *),
						    m->data_len, &used);

		tcp_recv_done(s->cc,
			      (uint32_t)used); /* copied into our buffer */
		if (used == m->data_len) {
			segq_pop(&s->in);
			rte_pktmbuf_free(m);
		} else {
			rte_pktmbuf_adj(m, (uint16_t)used);
		}
		if (r == HTTP_COMPLETE)
			return sess_route(s);
		if (r == HTTP_ERROR) {
			enum http_error e = http_head_error(&s->req);

			CNT(s->px, err_parse);
			s->px->parse_errors[e]++;
			s->head_method =
				false; /* this request's, not the last one's */
			return sess_error(s, http_head_error_status(&s->req),
					  true);
		}
	}
	return false;
}

static int send_to_backend(void *s, struct rte_mbuf *m)
{
	return to_backend(s, m);
}

static int send_to_client(void *s, struct rte_mbuf *m)
{
	return tcp_send(((struct px_sess *)s)->cc, m);
}

/* Relays the first used bytes of q's head segment with send (the segment
 * itself, or a clone cut to them) and drops them from q; from, the
 * connection they came in on, gets them acknowledged (back-pressure).
 * Returns false when they were not taken: q is unchanged and the
 * receiving side's on_writable resumes. */
static bool relay_front(struct proxy *px, struct segq *q, size_t used,
			int (*send)(void *, struct rte_mbuf *), void *arg,
			struct tcp_conn *from)
{
	struct rte_mbuf *m = segq_peek(q);
	struct rte_mbuf *out =
		used == m->data_len ? m : rte_pktmbuf_clone(m, px->pkt_pool);

	if (!out)
		return false;
	if (out != m)
		rte_pktmbuf_trim(out, (uint16_t)(m->data_len - used));
	if (send(arg, out)) {
		if (out != m)
			rte_pktmbuf_free(out);
		return false;
	}
	if (out == m)
		segq_pop(q);
	else
		rte_pktmbuf_adj(m, (uint16_t)used);
	if (from)
		tcp_recv_done(from, (uint32_t)used);
	return true;
}

/* Forwards body bytes (or tunnel bytes) from the client queue as far as
 * the backend takes them. Returns true if gone. */
static bool sess_forward_body(struct px_sess *s)
{
	struct rte_mbuf *m;

	while (s->bc && s->bc->state == B_BUSY &&
	       (s->state == S_TUNNEL || (s->state == S_BODY && !s->req_done)) &&
	       (m = segq_peek(&s->in))) {
		struct http_body next = s->req_body;
		size_t used = m->data_len;
		enum http_result r = HTTP_NEED_MORE;

		if (s->state == S_BODY) {
			r = http_body_feed(&next, rte_pktmbuf_mtod(m, char *),
					   m->data_len, &used);
			if (r == HTTP_ERROR) {
				CNT(s->px, err_parse);
				s->px->parse_errors[http_body_error(&next)]++;
				bconn_release(s->bc, false);
				return sess_error(
					s, http_body_error_status(&next), true);
			}
		}
		if (used && !relay_front(s->px, &s->in, used, send_to_backend,
					 s, s->cc))
			break; /* the backend's on_writable resumes */
		s->req_body = next;
		if (r == HTTP_COMPLETE) {
			s->req_done = true;
			s->state = S_WAIT_RESPONSE;
			sess_arm_for_state(s);
		}
	}
	return false;
}

/* Moves the session on with what it has. Returns true if it is gone. */
static bool sess_pump(struct px_sess *s)
{
	switch (s->state) {
	case S_HEAD:
		if (sess_read_head(s))
			return true;
		if (s->state == S_HEAD)
			sess_arm_for_state(s);
		return false;
	case S_BODY:
	case S_TUNNEL:
		return sess_forward_body(s);
	case S_WAIT_RESPONSE:
		return false; /* pipelined input waits for the response */
	case S_LINGER:
		while (s->in.n) { /* read and dropped */
			tcp_recv_done(s->cc, segq_peek(&s->in)->data_len);
			rte_pktmbuf_free(segq_peek(&s->in));
			segq_pop(&s->in);
		}
		return false;
	}
	return false;
}

/* The response ended: next request, or close. Returns true if gone. */
static bool sess_response_done(struct px_sess *s)
{
	struct px_bconn *b = s->bc;
	bool reusable = b && b->resp.msg.keep_alive && s->req_done &&
			b->resp.msg.framing != HTTP_FRAMING_CLOSE;

	if (b) {
		b->resp_done = true;
		bconn_release(b, reusable);
	}
	release_replay(s);
	if (s->close_after || !s->req_done) {
		sess_close(s);
		return true;
	}
	return sess_next_request(s);
}

/* ---- relaying the response ----------------------------------------------- */

static bool send_head_to_client(struct px_bconn *b, bool close)
{
	struct px_sess *s = b->sess;
	size_t n = http_rw_response(s->px->scratch, 65536, &b->resp,
				    s->req.msg.version_minor, close);
	struct rte_mbuf *h = n ? mbuf_from(s->px, s->px->scratch, n) : NULL;

	count_response(s->px, b->srv, b->resp.msg.status);
	if (!h || tcp_send(s->cc, h)) {
		rte_pktmbuf_free(h);
		CNT(s->px, nomem);
		bconn_release(b, false);
		sess_abort(s);
		return true;
	}
	return false;
}

/* Relays a complete response head. Returns true if the session is gone. */
static bool relay_head(struct px_bconn *b)
{
	struct px_sess *s = b->sess;
	const struct http_message *m = &b->resp.msg;

	release_replay(s); /* the replica answered: never replayed again */
	s->replayable = false;
	if (m->status < 200 && m->status != 101) {
		/* 1xx (100 Continue): relay, then read the final response */
		if (send_head_to_client(b, false))
			return true;
		http_response_init(&b->resp, b->respbuf, s->px->cfg.head_max,
				   NULL, s->req.msg.method);
		return false;
	}
	if (m->status == 101) {
		s->state = S_TUNNEL;
		CNT(s->px, upgrades);
	} else if (!s->req_done || m->framing == HTTP_FRAMING_CLOSE) {
		s->close_after = true;
	}
	if (send_head_to_client(b, s->close_after && m->status != 101))
		return true;
	s->resp_started = true;
	b->head_done = true;
	http_body_init(&b->resp_body, &b->resp);
	if (s->state == S_TUNNEL) {
		sess_arm_for_state(s);
		return sess_forward_body(s);
	}
	if (m->framing == HTTP_FRAMING_NONE)
		return sess_response_done(s);
	return false;
}

/* Relays replica bytes to the client as far as it takes them. Returns
 * true if the session is gone. */
static bool bconn_pump(struct px_bconn *b)
{
	struct rte_mbuf *m;

	while (b->sess && (m = segq_peek(&b->in))) {
		struct px_sess *s = b->sess;
		size_t used = m->data_len;
		enum http_result r = HTTP_NEED_MORE;

		if (!b->head_done) {
			r = http_head_feed(&b->resp,
					   rte_pktmbuf_mtod(m, char *),
					   m->data_len, &used);
			tcp_recv_done(b->tc, (uint32_t)used);
			if (used == m->data_len) {
				segq_pop(&b->in);
				rte_pktmbuf_free(m);
			} else {
				rte_pktmbuf_adj(m, (uint16_t)used);
			}
			if (r == HTTP_ERROR) {
				b->srv->failures++;
				bconn_release(b, false);
				return sess_error(s, 502, true);
			}
			if (r == HTTP_COMPLETE && relay_head(b))
				return true;
			continue;
		}
		struct http_body next = b->resp_body;

		if (s->state != S_TUNNEL) {
			r = http_body_feed(&next, rte_pktmbuf_mtod(m, char *),
					   m->data_len, &used);
			if (r == HTTP_ERROR) {
				CNT(s->px, backend_aborts);
				bconn_release(b, false);
				sess_abort(s);
				return true;
			}
		}
		if (used &&
		    !relay_front(s->px, &b->in, used, send_to_client, s, b->tc))
			return false; /* the client's on_writable resumes */
		b->resp_body = next;
		if (r == HTTP_COMPLETE)
			return sess_response_done(s);
	}
	if (b->fin && b->sess && b->in.n == 0 &&
	    http_body_eof(&b->resp_body) == HTTP_COMPLETE)
		return sess_response_done(b->sess);
	return false;
}

/* ---- backend failures and callbacks -------------------------------------- */

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
static void bconn_failed(struct px_bconn *b, enum lb_fail_reason why,
			 bool connect_failed)
{
	struct px_sess *s = b->sess;
	struct proxy *px = b->px;
	bool stale = b->reused && !b->got_bytes;

	b->tc = NULL;
	if (b->state == B_PROBE) {
		lb_health_probe_failed(&b->srv->health, px->now, why);
		bconn_release(b, false);
		return;
	}
	if (!stale) {
		b->srv->failures++;
		lb_health_on_failure(&b->srv->health, px->now, why);
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
		sess_abort(s);
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

/* The probe's request: what HAProxy's check sends. */
static void probe_send(struct px_bconn *b)
{
	static const char req[] =
		"GET /-/healthz HTTP/1.1\r\nHost: weir\r\n"
		"User-Agent: weir-health\r\nConnection: close\r\n\r\n";
	struct rte_mbuf *m = mbuf_from(b->px, req, sizeof(req) - 1);

	http_response_init(&b->resp, b->respbuf, b->px->cfg.head_max, NULL,
			   HTTP_METHOD_GET);
	if (!m || tcp_send(b->tc, m)) {
		struct tcp_conn *tc = b->tc;

		rte_pktmbuf_free(m);
		b->tc = NULL;
		tcp_abort(tc);
		bconn_failed(b, LB_FAIL_CONNECT, false);
	}
}

static void probe_recv(struct px_bconn *b, struct rte_mbuf *m)
{
	struct proxy *px = b->px;
	enum http_result r = HTTP_NEED_MORE;

	for (struct rte_mbuf *x = m; x && r == HTTP_NEED_MORE; x = x->next) {
		size_t used;

		r = http_head_feed(&b->resp, rte_pktmbuf_mtod(x, char *),
				   x->data_len, &used);
	}
	rte_pktmbuf_free(m);
	if (r == HTTP_NEED_MORE)
		return;
	if (r == HTTP_COMPLETE && b->resp.msg.status == 200)
		lb_health_probe_ok(&b->srv->health, px->now);
	else
		lb_health_probe_failed(&b->srv->health, px->now,
				       LB_FAIL_STATUS);
	b->resp_done = true; /* close gracefully */
	bconn_release(b, false);
}

static void b_on_connected(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;

	(void)c;
	b->deadline = 0;
	tw_cancel(&b->px->wheel, &b->timer);
	if (b->state == B_PROBE) {
		probe_send(b);
		return;
	}
	b->state = B_BUSY;
	lb_health_on_success(&b->srv->health, b->px->now);
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
	if (b->sess)
		sess_forward_body(b->sess);
}

static void b_on_peer_fin(struct tcp_conn *c, void *user)
{
	struct px_bconn *b = user;
	struct px_sess *s = b->sess;

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
	if (b->head_done && b->resp.msg.framing == HTTP_FRAMING_CLOSE) {
		/* a close-delimited body ends here, once what is queued is
		 * relayed (bconn_pump finishes it then) */
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

/* ---- client callbacks ---------------------------------------------------- */

static void sess_free(struct px_sess *s)
{
	struct proxy *px = s->px;

	tw_cancel(&px->wheel, &s->timer);
	if (s->bc) {
		CNT(px, client_aborts);
		bconn_release(s->bc, false); /* never pooled mid-request */
	}
	segq_free(&s->in);
	release_replay(s);
	rte_mempool_put(px->buf_pool, s->reqbuf);
	rte_mempool_put(px->sess_pool, s);
}

static void c_on_recv(struct tcp_conn *c, void *user, struct rte_mbuf *m)
{
	struct px_sess *s = user;

	(void)c;
	if (!segq_push(&s->in, m)) {
		sess_abort(s);
		return;
	}
	sess_pump(s);
}

static void c_on_writable(struct tcp_conn *c, void *user)
{
	struct px_sess *s = user;

	(void)c;
	if (s->bc)
		bconn_pump(s->bc);
}

static void c_on_peer_fin(struct tcp_conn *c, void *user)
{
	struct px_sess *s = user;

	(void)c;
	s->peer_fin = true;
	if (s->state == S_LINGER) {
		sess_close(s);
		return;
	}
	if (s->state == S_TUNNEL && s->bc && s->bc->tc) {
		tcp_shutdown(s->bc->tc);
		return;
	}
	if (s->state == S_HEAD && s->in.n == 0) {
		sess_close(
			s); /* no request pending, or one that cannot end now */
		return;
	}
	s->close_after =
		true; /* the request in progress still gets its answer */
}

static void c_on_error(struct tcp_conn *c, void *user, enum tcp_error err)
{
	struct px_sess *s = user;

	(void)c, (void)err;
	s->cc = NULL;
	sess_free(s);
}

static void c_on_closed(struct tcp_conn *c, void *user)
{
	c_on_error(c, user, 0);
}

static const struct tcp_conn_ops client_ops = {
	.on_recv = c_on_recv,
	.on_writable = c_on_writable,
	.on_peer_fin = c_on_peer_fin,
	.on_error = c_on_error,
	.on_closed = c_on_closed,
};

static int on_accept(struct tcp_conn *c, void *ctx)
{
	struct proxy *px = ctx;
	struct px_sess *s;
	char *buf;

	if (rte_mempool_get(px->sess_pool, (void **)&s)) {
		CNT(px, sessions_refused);
		return -ENOMEM;
	}
	if (rte_mempool_get(px->buf_pool, (void **)&buf)) {
		rte_mempool_put(px->sess_pool, s);
		CNT(px, sessions_refused);
		return -ENOMEM;
	}
	memset(s, 0, offsetof(struct px_sess, replay));
	s->in.head = s->in.n = 0;
	s->px = px;
	s->cc = c;
	s->reqbuf = buf;
	s->client_ip = rte_cpu_to_be_32(tcp_conn_key(c)->remote_ip);
	s->state = S_HEAD;
	http_request_init(&s->req, buf, px->cfg.head_max, NULL);
	tw_entry_init(&s->timer, sess_timer);
	tcp_conn_set_ops(c, &client_ops, s);
	CNT(px, sessions);
	sess_arm_for_state(s);
	return 0;
}

/* ---- table, timers, set-up ----------------------------------------------- */

int proxy_set_table(struct proxy *px, const struct weir_table *t)
{
	struct lb_member *members = NULL;
	struct px_backend *bes = NULL;
	int64_t *wrr = NULL;

	if (t && t->n_servers) {
		members = rte_zmalloc(NULL, sizeof(*members) * t->n_servers, 0);
		wrr = rte_zmalloc(NULL, sizeof(*wrr) * t->n_servers, 0);
	}
	if (t && t->n_backends)
		bes = rte_zmalloc(NULL, sizeof(*bes) * t->n_backends, 0);
	if (t &&
	    ((t->n_servers && (!members || !wrr)) || (t->n_backends && !bes))) {
		rte_free(members), rte_free(wrr), rte_free(bes);
		return -ENOMEM;
	}
	for (uint32_t i = 0; t && i < t->n_servers; i++) {
		const struct weir_table_server *ts = &weir_table_servers(t)[i];
		struct px_server *srv = server_slot(px, ts->id, true);

		if (!srv) {
			rte_free(members), rte_free(wrr), rte_free(bes);
			return -ENOSPC;
		}
		const struct weir_table_health *th =
			&weir_table_backends(t)[ts->backend].knobs.health;
		struct lb_health_cfg hc = {
			.fall = th->fall,
			.rise = th->rise,
			.inter_ns = th->inter_ms * NS_PER_MS,
			.fastinter_ns = th->fastinter_ms * NS_PER_MS,
			.downinter_ns = th->downinter_ms * NS_PER_MS,
		};

		srv->ip = ts->ip;
		srv->port = ts->port;
		if (lb_health_cfg_check(&hc) ==
		    0) /* the table's knobs, state kept */
			lb_health_set_config(&srv->health, &hc, px->now);
		members[i].srv = (uint32_t)(srv - px->servers);
		members[i].weight = ts->weight;
		members[i].flags =
			ts->flags & WEIR_SERVER_F_BACKUP ? LB_MEMBER_BACKUP : 0;
		members[i].maxconn = ts->maxconn;
	}
	for (uint32_t i = 0; t && i < t->n_backends; i++) {
		const struct weir_table_backend *be =
			&weir_table_backends(t)[i];

		bes[i].pool.members = &members[be->first_server];
		bes[i].pool.n = be->n_servers + be->n_backups;
		bes[i].pool.algo = (enum lb_algo)be->knobs.balance;
		bes[i].pool.version = t->generation;
		lb_sched_init(&bes[i].sched, &wrr[be->first_server],
			      bes[i].pool.n);
	}
	rte_free(px->members), rte_free(px->wrr), rte_free(px->backends);
	px->members = members;
	px->wrr = wrr;
	px->backends = bes;
	px->table = t;
	px->routes_json_len = 0;
	if (t) {
		size_t n = route_routes_json(t, px->routes_json, 65536);

		px->routes_json_len = n < 65536 ? (uint32_t)n : 0;
	}
	return 0;
}

/* Starts a re-probe of a down server: GET /-/healthz, 200 expected. */
static void start_probe(struct proxy *px, struct px_server *srv)
{
	struct px_bconn *b;

	if (!srv->ip || lb_health_probe_begin(&srv->health, px->now))
		return; /* -EBUSY: one already in flight */
	b = bconn_new(px, srv);
	if (!b) {
		lb_health_probe_failed(&srv->health, px->now, LB_FAIL_CONNECT);
		return;
	}
	b->state = B_PROBE;
	/* a probe never waits longer than the re-probe interval */
	b->deadline = px->now + srv->health.cfg.downinter_ns * 4;
	tw_arm(&px->wheel, &b->timer, b->deadline);
	CNT(px, probes);
}

static void sweep(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct proxy *px = container_of(e, struct proxy, sweep);
	uint64_t idle_ns = px->cfg.pool_idle_ms * NS_PER_MS;

	for (uint32_t i = 0; i < px->servers_cap; i++) {
		struct px_server *srv = &px->servers[i];

		if (!srv->id)
			continue;
		/* the pool is most recent first: the stale ones are at the end */
		for (struct px_bconn *b = srv->idle, *next; b; b = next) {
			next = b->next_idle;
			if (now - b->idle_since >= idle_ns)
				bconn_release(b, false);
		}
		if (lb_health_due(&srv->health, now))
			start_probe(px, srv);
	}
	tw_arm(w, e, now + SWEEP_NS);
}

void proxy_timers(struct proxy *px, uint64_t now)
{
	px->now = now;
	tw_advance(&px->wheel, now);
}

uint64_t proxy_next_timer(const struct proxy *px)
{
	return tw_next_expiry(&px->wheel);
}

void proxy_config_defaults(struct proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 8000;
	c->max_sessions = 4096;
	c->max_backend_conns = 4096;
	c->head_max = 16384;
	c->replay_max = 16384;
	c->timeout_client_ms = 3600000;
	c->timeout_keep_alive_ms = 90000;
	c->pool_idle_ms = 4000;
	c->retries = 1;
	c->ray_500 = true;
}

static struct rte_mempool *make_pool(const char *name, const char *what,
				     uint32_t n, uint32_t size)
{
	char pool[RTE_MEMPOOL_NAMESIZE];

	snprintf(pool, sizeof(pool), "%s_%s", name, what);
	return rte_mempool_create(pool, n, size, 0, 0, NULL, NULL, NULL, NULL,
				  SOCKET_ID_ANY, 0);
}

int proxy_init(struct proxy *px, const struct proxy_config *cfg,
	       struct tcp_stack *tcp, struct rte_mempool *pkt_pool,
	       uint32_t local_ip, const char *name, uint64_t now)
{
	memset(px, 0, sizeof(*px));
	px->cfg = *cfg;
	px->tcp = tcp;
	px->pkt_pool = pkt_pool;
	px->local_ip = local_ip;
	px->now = now;
	px->req_id_salt = (uint32_t)rte_rand();
	px->sess_pool = make_pool(name, "ss", cfg->max_sessions,
				  sizeof(struct px_sess));
	px->bconn_pool = make_pool(name, "bc", cfg->max_backend_conns,
				   sizeof(struct px_bconn));
	px->buf_pool = make_pool(name, "hb",
				 cfg->max_sessions + cfg->max_backend_conns,
				 cfg->head_max);
	px->servers_cap = 4096;
	px->servers =
		rte_zmalloc(NULL, sizeof(*px->servers) * px->servers_cap, 64);
	px->routes_json = rte_malloc(NULL, 65536, 0);
	px->scratch = rte_malloc(NULL, 65536, 0);
	if (!px->sess_pool || !px->bconn_pool || !px->buf_pool ||
	    !px->servers || !px->routes_json || !px->scratch)
		return -ENOMEM;
	lb_ctx_init_strided(&px->lb, &px->servers[0].load,
			    sizeof(px->servers[0]), &px->servers[0].health,
			    sizeof(px->servers[0]), px->servers_cap,
			    rte_rand());
	tw_init(&px->wheel, 0, now);
	tw_entry_init(&px->sweep, sweep);
	tw_arm(&px->wheel, &px->sweep, now + SWEEP_NS);
	return tcp_listen(tcp, 0, cfg->port, on_accept, px);
}

void proxy_fini(struct proxy *px)
{
	rte_mempool_free(px->sess_pool);
	rte_mempool_free(px->bconn_pool);
	rte_mempool_free(px->buf_pool);
	rte_free(px->servers);
	rte_free(px->routes_json);
	rte_free(px->scratch);
	rte_free(px->members);
	rte_free(px->wrr);
	rte_free(px->backends);
}
