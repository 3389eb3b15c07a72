/* proxy_router: the ingress request router callout: a routed POST asks a
 * router target for its replica and is pinned there (else falls through or
 * gets 503). Never blocks, never takes a buffer per request (the body waits
 * in the session's replay hold; only cJSON's parse of the answer allocates)
 * and never touches a request that is not routed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <rte_mbuf.h>

#include "http/proxy_internal.h"
#include "tcp/tcp.h"

/* A router target that does not take the connection within this (or
 * timeout_connect_ms) is given up for the next: a dead router must not
 * cost the whole router timeout. */
#define RT_CONNECT_MS 1000u

/* Why a call failed: the answer's X-Serve-Reason, and its counter. */
enum rt_fail {
	RT_CONNECT,
	RT_TIMEOUT,
	RT_STATUS,
	RT_JSON,
	RT_NO_FIELD,
	RT_UNKNOWN,
	RT_DOWN,
};

static const char *const rt_reason[] = {
	[RT_CONNECT] = "router unreachable",
	[RT_TIMEOUT] = "router timed out",
	[RT_STATUS] = "router answered an error",
	[RT_JSON] = "router answer is not JSON",
	[RT_NO_FIELD] = "router answer has no replica_id",
	[RT_UNKNOWN] = "unknown replica_id",
	[RT_DOWN] = "replica unavailable",
};

static const struct weir_table_backend *cur_backend(struct px_sess *s)
{
	if (!sess_backend_current(s))
		return NULL;
	return &weir_table_backends(s->px->table)[s->backend];
}

/* ---- the outcome -------------------------------------------------------- */

/* 503 mode: Ray's answer, and the connection closes. */
static bool router_503(struct px_sess *s, const char *reason)
{
	char buf[512];
	char body[128];
	int bl = snprintf(body, sizeof(body),
			  "Ingress request router failed: %s", reason);
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 503 Service Unavailable\r\n"
			 "Content-Type: text/plain\r\nContent-Length: %d\r\n"
			 "X-Serve-Reason: %s\r\nConnection: close\r\n\r\n%s",
			 bl, reason, body);

	return sess_reply(s, buf, (size_t)n, 503, true);
}

/* The call failed: counted, then normal balancing or 503. Returns true if
 * the session is gone. */
static bool router_fail(struct px_sess *s, enum rt_fail f)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be;

	plog_router(s, (uint8_t)(WEIR_LOG_RT_CONNECT + f), NULL);
	switch (f) {
	case RT_CONNECT:
		CNT(px, router_fail_connect);
		break;
	case RT_TIMEOUT:
		CNT(px, router_fail_timeout);
		break;
	case RT_STATUS:
		CNT(px, router_fail_status);
		break;
	case RT_JSON:
	case RT_NO_FIELD:
		CNT(px, router_fail_json);
		break;
	case RT_UNKNOWN:
		CNT(px, router_fail_unknown);
		break;
	case RT_DOWN:
		CNT(px, router_fail_down);
		break;
	}
	s->routing = false;
	be = cur_backend(s);
	if (be && be->knobs.router_failure == WEIR_ROUTER_FAIL_503)
		return router_503(s, rt_reason[f]);
	return sess_dispatch(s); /* the app gone: 503 there */
}

/* The replica of the request's backend named id (its replica_id, or its
 * name: Ray's routers answer either): its member position, -1 unknown, -2
 * not usable. */
static int find_replica(struct px_sess *s, const char *id)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be = cur_backend(s);
	const struct weir_table_server *ts;

	if (!be)
		return -1;
	ts = weir_table_servers(px->table);
	for (uint32_t i = 0; i < be->n_servers; i++) {
		const struct weir_table_server *t = &ts[be->first_server + i];
		uint32_t slot = px->members[be->first_server + i].srv;

		if ((!t->replica_id[0] || strcmp(t->replica_id, id)) &&
		    strcmp(t->name, id))
			continue;
		return lb_hs_usable(lb_health_read(&px->servers[slot].health)) ?
			       (int)i :
			       -2;
	}
	return -1;
}

/* The router's answer body (len bytes at p): pin, or fail. Returns true if
 * the session is gone. */
static bool router_decide(struct px_sess *s, const char *p, size_t len)
{
	cJSON *j = cJSON_ParseWithLength(p, len);
	const cJSON *id =
		j ? cJSON_GetObjectItemCaseSensitive(j, "replica_id") : NULL;
	char named[64];
	int pos;

	if (!j)
		return router_fail(s, RT_JSON);
	if (!cJSON_IsString(id) || !id->valuestring) {
		cJSON_Delete(j);
		return router_fail(s, RT_NO_FIELD);
	}
	pos = find_replica(s, id->valuestring);
	snprintf(named, sizeof(named), "%s", id->valuestring);
	cJSON_Delete(j);
	plog_router(s, WEIR_LOG_RT_OK, named); /* the outcome may change */
	if (pos < 0)
		return router_fail(s, pos == -1 ? RT_UNKNOWN : RT_DOWN);
	CNT(s->px, router_ok);
	s->routing = false;
	s->pin_slot = s->px->backends[s->backend].pool.members[pos].srv + 1;
	return sess_dispatch(s); /* pinned: lb_select not asked */
}

/* ---- the call ----------------------------------------------------------- */

/* Router target index of be for the next call, round robin among the
 * usable ones this request has not tried; -1 if none. */
static int pick_router(struct px_sess *s, const struct weir_table_backend *be)
{
	struct proxy *px = s->px;

	for (uint32_t k = 0; k < be->n_routers; k++) {
		uint32_t i = (px->rt_cursor + k) % be->n_routers;
		uint32_t slot = px->members[be->first_router + i].srv;

		if (s->rt_tried & 1u << (i % 32) ||
		    !lb_hs_usable(lb_health_read(&px->servers[slot].health)))
			continue;
		px->rt_cursor = i + 1;
		s->rt_tried |= 1u << (i % 32);
		return (int)i;
	}
	return -1;
}

/* When the attempt on b gives up connecting: the connect budget, within
 * the call's one timeout (failovers included). */
static uint64_t connect_deadline(struct px_sess *s,
				 const struct weir_table_backend *be)
{
	const struct proxy *px = s->px;
	uint32_t ms = px->cfg.timeout_connect_ms ? px->cfg.timeout_connect_ms :
						   RT_CONNECT_MS;
	uint64_t t = px->now + (uint64_t)ms * NS_PER_MS;

	if (!s->rt_deadline)
		s->rt_deadline =
			px->now +
			(uint64_t)be->knobs.router_timeout_ms * NS_PER_MS;
	return t < s->rt_deadline ? t : s->rt_deadline;
}

/* Opens a call to a router target (the next one after a refused connect).
 * Returns true if the session is gone. */
static bool router_call(struct px_sess *s)
{
	struct proxy *px = s->px;
	const struct weir_table_backend *be = cur_backend(s);
	struct px_server *srv;
	struct px_bconn *b;
	int i;

	for (;;) {
		i = be ? pick_router(s, be) : -1;
		if (i < 0)
			return router_fail(s, RT_CONNECT);
		srv = &px->servers[px->members[be->first_router + (uint32_t)i]
					   .srv];
		b = bconn_new(px, srv);
		if (b)
			break;
		CNT(px, nomem);
	}
	if (s->rt_tried & ~(1u << (i % 32))) /* another one was tried */
		CNT(px, router_failover);
	if (!s->rt_t0)
		s->rt_t0 = px->tcp->now ? px->tcp->now : 1;
	b->state = B_ROUTE;
	b->sess = s;
	s->rb = b;
	s->rt_next = 1; /* replay[0] is the replica's head */
	b->deadline = connect_deadline(s, be);
	tw_arm(&px->wheel, &b->timer, b->deadline);
	http_response_init(&b->resp, b->respbuf, px->cfg.head_max, NULL,
			   HTTP_METHOD_POST);
	return false;
}

/* Sends the held body to the router as far as its queue takes it. */
static bool router_send_body(struct px_bconn *b)
{
	struct px_sess *s = b->sess;

	while (s->rt_next < s->n_replay) {
		struct rte_mbuf *m = s->replay[s->rt_next];
		int rc;

		mbuf_ref(m, 1); /* one for the stack; ours stays */
		rc = tcp_send(b->tc, m);
		if (rc) {
			mbuf_ref(m, -1);
			return rc == -EAGAIN || rc == -ENOBUFS;
		}
		s->rt_next++;
	}
	return true;
}

/* The call's connection gives up with f (its TCP connection is gone or
 * going); the session falls through. */
static void router_drop(struct px_bconn *b, enum rt_fail f)
{
	struct px_sess *s = b->sess;

	bconn_release(b, false);
	if (s)
		router_fail(s, f);
}

void router_connected(struct px_bconn *b)
{
	struct px_sess *s = b->sess;
	struct proxy *px = b->px;
	char head[256];
	int n;
	struct rte_mbuf *m;

	b->rt_up = true;
	health_event(px, b->srv, true, LB_FAIL_CONNECT);
	if (!s) {
		bconn_release(b, false);
		return;
	}
	b->deadline = s->rt_deadline; /* connected: the answer's turn */
	tw_arm(&px->wheel, &b->timer, b->deadline);
	n = snprintf(head, sizeof(head),
		     "POST /internal/route HTTP/1.0\r\n"
		     "Content-Type: application/json\r\nContent-Length: %u\r\n",
		     s->rt_body);
	if (!s->rt_whole) {
		CNT(px, router_truncated);
		n += snprintf(head + n, sizeof(head) - (size_t)n,
			      "X-Body-Truncated: %u/%llu\r\n", s->rt_body,
			      (unsigned long long)s->req.msg.content_length);
	}
	n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
	m = mbuf_from(px, head, (size_t)n);
	if (!m || tcp_send(b->tc, m)) {
		rte_pktmbuf_free(m);
		router_drop(b, RT_CONNECT);
		return;
	}
	if (!router_send_body(b))
		router_drop(b, RT_CONNECT);
}

void router_writable(struct px_bconn *b)
{
	if (b->sess && b->rt_up && !router_send_body(b))
		router_drop(b, RT_CONNECT);
}

/* The answer is complete: the connection goes, the session is decided. */
static void router_answered(struct px_bconn *b)
{
	struct px_sess *s = b->sess;
	char *body = b->respbuf + b->resp.len;
	size_t len = b->rt_len;

	b->resp_done = true; /* closed gracefully */
	s->rb = NULL; /* the buffer stays until the decision is made */
	b->sess = NULL;
	router_decide(s, body, len);
	bconn_release(b, false);
}

/* Takes answer bytes: the head, then the body kept after it in respbuf.
 * Returns HTTP_COMPLETE (answered), HTTP_ERROR (f set) or NEED_MORE. */
static enum http_result router_take(struct px_bconn *b, const char *p, size_t n,
				    enum rt_fail *f)
{
	struct proxy *px = b->px;

	while (n) {
		size_t used = 0;
		enum http_result r;

		if (!b->head_done) {
			r = http_head_feed(&b->resp, p, n, &used);
			p += used, n -= used;
			if (r == HTTP_NEED_MORE)
				return r;
			if (r == HTTP_ERROR || b->resp.msg.status != 200) {
				*f = RT_STATUS;
				return HTTP_ERROR;
			}
			b->head_done = true;
			b->rt_len = 0;
			http_body_init(&b->resp_body, &b->resp);
			if (body_empty(&b->resp.msg))
				return HTTP_COMPLETE;
			continue;
		}
		r = http_body_feed(&b->resp_body, p, n, &used);
		if (r == HTTP_ERROR ||
		    b->resp.len + b->rt_len + used >= px->cfg.head_max) {
			*f = RT_JSON; /* garbled or too long for an id */
			return HTTP_ERROR;
		}
		memcpy(b->respbuf + b->resp.len + b->rt_len, p, used);
		b->rt_len += (uint32_t)used;
		p += used, n -= used;
		if (r == HTTP_COMPLETE)
			return r;
	}
	return HTTP_NEED_MORE;
}

void router_recv(struct px_bconn *b, struct rte_mbuf *m)
{
	enum http_result r = HTTP_NEED_MORE;
	enum rt_fail f = RT_STATUS;

	for (struct rte_mbuf *x = m; x && r == HTTP_NEED_MORE; x = x->next)
		r = router_take(b, rte_pktmbuf_mtod(x, char *), x->data_len,
				&f);
	if (b->tc)
		tcp_recv_done(b->tc, rte_pktmbuf_pkt_len(m));
	rte_pktmbuf_free(m);
	if (!b->sess) {
		bconn_release(b, false);
		return;
	}
	if (r == HTTP_COMPLETE)
		router_answered(b);
	else if (r == HTTP_ERROR)
		router_drop(b, f);
}

void router_fin(struct px_bconn *b)
{
	if (b->sess && b->head_done &&
	    http_body_eof(&b->resp_body) == HTTP_COMPLETE) {
		router_answered(b); /* a close-delimited answer */
		return;
	}
	router_drop(b, RT_STATUS);
}

void router_failed(struct px_bconn *b, enum lb_fail_reason why)
{
	struct px_sess *s = b->sess;
	/* not connected, and time left: the next router target */
	bool refused = !b->rt_up && (!s || b->px->now < s->rt_deadline);

	/* passive health: toward fall */
	health_event(b->px, b->srv, false, b->rt_up ? why : LB_FAIL_CONNECT);
	b->srv->failures++;
	b->srv->econ += !b->rt_up;
	bconn_release(b, false);
	if (!s)
		return;
	if (refused) { /* the next router target, if one is left */
		router_call(s);
		return;
	}
	router_fail(s, why == LB_FAIL_TIMEOUT ? RT_TIMEOUT : RT_STATUS);
}

/* ---- the session side --------------------------------------------------- */

/* Holds a body segment for the router (relay_front's send: m is ours). */
static int hold_send(void *arg, struct rte_mbuf *m)
{
	struct px_sess *s = arg;

	s->replay[s->n_replay++] = m;
	s->replay_bytes += rte_pktmbuf_pkt_len(m);
	return 0;
}

/* The body is held as far as the buffer goes: the call can start. A
 * client that waits for 100 Continue sends none before it (the replica
 * sends it): the router gets what came, holding would only stall it. */
static bool hold_done(const struct px_sess *s)
{
	return s->rt_whole || s->rt_body >= s->px->cfg.router_buffer ||
	       s->n_replay == PX_REPLAY_SEGS || s->req.msg.expect_continue;
}

bool router_hold(struct px_sess *s)
{
	struct rte_mbuf *m;

	if (s->rb)
		return false; /* asked: the rest waits in s->in (unread) */
	while (!hold_done(s) && (m = segq_peek(&s->in))) {
		struct http_body next = s->req_body;
		size_t room = s->px->cfg.router_buffer - s->rt_body;
		size_t used = m->data_len < room ? m->data_len : room;
		enum http_result r = http_body_feed(
			&next, rte_pktmbuf_mtod(m, char *), used, &used);

		if (r == HTTP_ERROR)
			return sess_body_refused(s, http_body_error(&next),
						 http_body_error_status(&next));
		if (used &&
		    !relay_front(s->px, &s->in, used, hold_send, s, s->cc))
			return false; /* no mbuf for a clone: next bytes */
		s->lg_in += used;
		s->req_body = next;
		s->rt_body += (uint32_t)used;
		if (r == HTTP_COMPLETE) {
			s->rt_whole = s->req_done = true;
			s->state = S_WAIT_RESPONSE;
		}
	}
	if (hold_done(s))
		return router_call(s);
	if (s->peer_fin && !s->in.n) { /* the body cannot end any more */
		sess_abort(s);
		return true;
	}
	return false;
}

bool router_start(struct px_sess *s)
{
	const struct weir_table_backend *be =
		&weir_table_backends(s->px->table)[s->backend];

	s->req_scan = s->req_body; /* the guard's, for a chunked body */
	s->held = false;
	s->rt_tried = 0;
	s->rt_body = 0;
	s->rt_deadline = 0;
	s->rt_t0 = 0;
	s->pin_slot = 0;
	s->pin_drain_ok = false;
	s->routing = false;
	if (s->req.msg.method != HTTP_METHOD_POST || !be->n_routers ||
	    s->req_body.framing == HTTP_FRAMING_CHUNKED)
		return sess_guard_start(s);
	s->routing = true;
	s->rt_whole = s->req_done;
	/* no replica is waited for yet: the client's inactivity applies */
	sess_set_deadline(s, s->px->cfg.timeout_client_ms, 0);
	return router_hold(s);
}

void router_abandon(struct px_sess *s)
{
	struct px_bconn *b = s->rb;

	s->routing = false;
	if (b)
		bconn_release(b, false); /* clears s->rb */
}
