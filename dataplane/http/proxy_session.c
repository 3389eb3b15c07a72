/* proxy_session: the client side of the proxy: one session per client
 * connection, its state machine (S_HEAD .. S_LINGER, proxy_internal.h),
 * the request's routing and local answers, and the request body's relay
 * to the backend (the response's is proxy_relay.c). It never picks or
 * opens a backend connection itself (proxy_backend.c does) and never
 * acknowledges client bytes before they are copied into the head buffer
 * or taken by the backend's stack (back-pressure).
 * Reading order: ending a session and local answers, the request (head,
 * routing, body), then the callbacks. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "http/http_frontend.h"
#include "http/http_rewrite.h"
#include "http/proxy_internal.h"
#include "lb/route.h"
#include "tcp/tcp.h"

#define LINGER_NS (2000 * NS_PER_MS)

static const struct tcp_conn_ops client_ops;
static bool sess_pump(struct px_sess *s);
static void sess_free(struct px_sess *s);
static void sess_linger(struct px_sess *s);

/* ---- ending a session, local answers ------------------------------------ */

/* Closes the client after what is queued, and frees the session. If the
 * client may still be sending (a request refused before its end), closing
 * now would answer its next bytes with a RST that can destroy our answer
 * in its receive buffer: half-close, read and drop until its FIN or 2 s
 * (RFC 9112 9.6, staged close), then let go. */
void sess_close(struct px_sess *s)
{
	struct tcp_conn *cc = s->cc;

	router_abandon(s);
	if (cc && s->held_out) { /* our last bytes wait for its window */
		if (s->bc)
			bconn_release(s->bc, false);
		s->close_held = true;
		s->state = S_LINGER;
		sess_pump(s);
		sess_set_deadline(s, s->px->cfg.timeout_client_ms, 0);
		return;
	}
	if (cc && !s->peer_fin && s->state != S_LINGER) {
		sess_linger(s);
		return;
	}
	s->cc = NULL;
	if (cc)
		tcp_close(cc);
	sess_free(s);
}

/* Half-closes after what is queued and reads to the client's FIN (or 2 s);
 * a client that already sent its FIN is closed at once. */
static void sess_linger(struct px_sess *s)
{
	struct tcp_conn *cc = s->cc;

	if (s->peer_fin) {
		s->cc = NULL;
		tcp_close(cc);
		sess_free(s);
		return;
	}
	if (s->bc)
		bconn_release(s->bc, false);
	router_abandon(s);
	s->state = S_LINGER;
	sess_pump(s); /* queued bytes are read and dropped too: a window
		       * left shut would keep its FIN out */
	tcp_shutdown(cc);
	s->deadline = s->px->now + LINGER_NS;
	s->deadline_status = 0;
	tw_arm(&s->px->wheel, &s->timer, s->deadline);
}

/* The exchange is over and the connection stays: read the next request. */
bool sess_next_request(struct px_sess *s)
{
	s->state = S_HEAD;
	s->head_method = false;
	s->resp_started = false;
	http_head_reset(&s->req);
	return sess_pump(s);
}

void sess_abort(struct px_sess *s)
{
	struct tcp_conn *cc = s->cc;

	s->cc = NULL;
	if (cc)
		tcp_abort(cc);
	sess_free(s);
}

/* The replica's response broke off after it had started (its backend
 * connection is released). The client still gets what is queued (the end
 * of an earlier pipelined response, and this one's bytes, whose framing
 * shows the cut), then a FIN; a reset would destroy the queued bytes. A
 * response that would look whole that way (close-delimited, a tunnel)
 * gets a reset instead. */
void sess_cut(struct px_sess *s, bool looks_whole)
{
	plog_end(s, WEIR_LOG_F_ABORTED);
	if (looks_whole || s->state == S_TUNNEL)
		sess_abort(s);
	else
		sess_close(s);
}

/* Sends a response the proxy wrote itself; closes the session when close
 * is set. Returns true if the session is gone. */
bool sess_reply(struct px_sess *s, const char *buf, size_t len, uint16_t status,
		bool close)
{
	struct rte_mbuf *m = len ? mbuf_from(s->px, buf, len) : NULL;

	count_response(s->px, NULL, status);
	plog_status(s, status, false);
	if (!m || client_send_own(s, m)) {
		rte_pktmbuf_free(m);
		CNT(s->px, nomem);
		sess_abort(s);
		return true;
	}
	s->lg_out += len;
	plog_end(s, 0);
	s->resp_started = true;
	if (close) {
		sess_close(s);
		return true;
	}
	return false;
}

/* Answers an error of the proxy's own (Ray's 500 for 502/504 unless the
 * switch is off). Returns true if the session is gone. */
bool sess_error(struct px_sess *s, uint16_t status, bool close)
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

/* A client over its request rate: 429 with Retry-After (the window is a
 * second). A body is not read: the connection closes after it. Returns
 * true if the session is gone. */
static bool sess_too_many(struct px_sess *s)
{
	static const char body[] = "Too Many Requests";
	char buf[256];
	int n;

	s->close_after |= !body_empty(&s->req.msg);
	n = snprintf(buf, sizeof(buf),
		     "HTTP/1.1 429 Too Many Requests\r\n"
		     "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		     "Retry-After: 1\r\n%s\r\n%s",
		     sizeof(body) - 1,
		     s->close_after ? "Connection: close\r\n" : "",
		     s->head_method ? "" : body);
	return sess_reply(s, buf, (size_t)n, 429, s->close_after);
}

/* ---- the request: head, routing, body ----------------------------------- */

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

/* Local answers and routing of a complete head. Returns true if gone. */
static bool sess_route(struct px_sess *s)
{
	struct proxy *px = s->px;
	const struct http_message *m = &s->req.msg;
	const char *target = http_span_ptr(&s->req, m->target);
	size_t plen;
	const char *path = route_target_path(target, m->target.len, &plen);
	enum http_fe_health st = proxy_health(px);
	char buf[4096];
	int be;
	size_t n;

	CNT(px, requests);
	plog_begin(s, path, plen);
	s->head_method = m->method == HTTP_METHOD_HEAD;
	s->close_after = !m->keep_alive ||
			 proxy_draining(px); /* drain: close */
	s->resp_started = false;
	if (http_fe_is_healthz(path, plen) || http_fe_is_routes(path, plen)) {
		bool hz = http_fe_is_healthz(path, plen);

		if (hz)
			CNT(px, local_healthz);
		else
			CNT(px, local_routes);
		s->close_after |= !body_empty(m); /* body unread */
		n = hz ? http_fe_healthz(buf, sizeof(buf), st, s->close_after,
					 s->head_method) :
			 http_fe_routes(buf, sizeof(buf), st, px->routes_json,
					px->routes_json_len, s->close_after,
					s->head_method);
		if (sess_reply(s, buf, n, http_fe_health_status(st, !hz),
			       s->close_after))
			return true;
		return sess_next_request(s);
	}
	if (!limits_admit_request(s)) /* over its rate: 429, stays open */
		return sess_too_many(s) || sess_next_request(s);
	be = px->table ? route_lookup(px->table, path, plen) : ROUTE_NO_MATCH;
	if (be < 0) {
		CNT(px, local_404);
		s->close_after |= !body_empty(m);
		n = http_fe_not_found(buf, sizeof(buf), path, plen,
				      s->close_after, s->head_method);
		if (sess_reply(s, buf, n, 404, s->close_after))
			return true;
		return sess_next_request(s);
	}
	if (!limits_admit_group(s, (uint32_t)be)) /* the group's own rate */
		return sess_too_many(s) || sess_next_request(s);
	sess_set_backend(s, (uint32_t)be);
	s->tries = 0;
	lb_exclude_init(&s->excl);
	if (!build_request_head(s)) {
		CNT(px, nomem);
		return sess_error(s, 503, true);
	}
	http_body_init(&s->req_body, &s->req);
	s->req_done = body_empty(m);
	s->state = s->req_done ? S_WAIT_RESPONSE : S_BODY;
	return router_start(s); /* asks a router, or the guard dispatches */
}

/* Feeds queued client bytes to the head parser. Returns true if gone. */
static bool sess_read_head(struct px_sess *s)
{
	struct rte_mbuf *m;

	while (s->state == S_HEAD && (m = segq_peek(&s->in))) {
		size_t used = 0;
		enum http_result r;

		if (!s->t_start)
			s->t_start = s->px->tcp->now;
		r = http_head_feed(&s->req, rte_pktmbuf_mtod(m, char *),
				   m->data_len, &used);
		tcp_recv_done(s->cc,
			      (uint32_t)used); /* copied into our buffer */
		s->lg_in += used;
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

/* Forwards body bytes (or tunnel bytes) from the client queue as far as
 * the backend takes them. Returns true if gone. */
bool sess_forward_body(struct px_sess *s)
{
	struct rte_mbuf *m;

	if (s->routing) /* the body is held for the router, or waits */
		return router_hold(s);
	while (s->bc && s->bc->state == B_BUSY &&
	       (s->state == S_TUNNEL || (s->state == S_BODY && !s->req_done)) &&
	       (m = segq_peek(&s->in))) {
		struct http_body next = s->req_body;
		size_t used = m->data_len;
		enum http_result r = HTTP_NEED_MORE;

		if (s->state == S_BODY) {
			r = http_body_feed(&next, rte_pktmbuf_mtod(m, char *),
					   m->data_len, &used);
			if (r == HTTP_ERROR) /* req_scan saw it first */
				return sess_body_refused(
					s, http_body_error(&next),
					http_body_error_status(&next));
		}
		if (used && !relay_front(s->px, &s->in, used, send_to_backend,
					 s, s->cc))
			break; /* the backend's on_writable resumes */
		s->lg_in += used;
		s->req_body = next;
		if (r == HTTP_COMPLETE) {
			s->req_done = true;
			s->state = S_WAIT_RESPONSE;
			sess_arm_for_state(s);
		}
	}
	if (s->peer_fin && s->state == S_BODY && !s->req_done && !s->in.n) {
		/* the client half-closed before its body ended: it never will
		 * (RFC 9112 8, incomplete message); the replica gets a reset */
		sess_abort(s);
		return true;
	}
	return false;
}

/* Moves the session on with what it has. Returns true if it is gone. */
static bool sess_pump(struct px_sess *s)
{
	switch (s->state) {
	case S_HEAD:
		if (s->held_out)
			return false; /* the next request waits for our bytes */
		if (sess_read_head(s))
			return true;
		if (s->state == S_HEAD && s->peer_fin) { /* cannot end now */
			sess_close(s);
			return true;
		}
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

/* ---- client callbacks --------------------------------------------------- */

static void sess_free(struct px_sess *s)
{
	struct proxy *px = s->px;

	tw_cancel(&px->wheel, &s->timer);
	if (s->prev)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	px->n_sessions--;
	limits_conn_gone(px);
	limits_dequeue(s);
	if (s->lg_open) /* a tunnel ends this way; anything else broke off */
		plog_end(s, s->state == S_TUNNEL ? 0 : WEIR_LOG_F_ABORTED);
	router_abandon(s);
	if (s->bc) {
		CNT(px, client_aborts);
		bconn_release(s->bc, false); /* never pooled mid-request */
	}
	segq_free(&s->in);
	release_replay(s);
	rte_pktmbuf_free(s->held_out);
	rte_mempool_put(px->buf_pool, s->reqbuf);
	rte_mempool_put(px->sess_pool, s);
}

static void c_on_recv(struct tcp_conn *c, void *user, struct rte_mbuf *m)
{
	struct px_sess *s = user;
	uint16_t from = s->in.n;

	(void)c;
	if (!segq_push(&s->in, m)) {
		sess_abort(s);
		return;
	}
	if (sess_guard_recv(s, from)) /* checked before any is relayed */
		return;
	sess_pump(s);
}

static void c_on_writable(struct tcp_conn *c, void *user)
{
	struct px_sess *s = user;

	(void)c;
	if (s->held_out) {
		int rc = tcp_send(s->cc, s->held_out);

		if (rc == -EAGAIN || rc == -ENOBUFS)
			return; /* the next on_writable */
		if (rc)
			rte_pktmbuf_free(s->held_out);
		s->held_out = NULL;
		if (s->close_held) {
			s->close_held = false;
			sess_linger(s);
			return;
		}
		sess_arm_for_state(s);
	}
	if (s->bc && bconn_pump(s->bc))
		return;
	if (s->state == S_HEAD)
		sess_pump(s); /* pipelined requests waited for our bytes */
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
	if (sess_guard_fin(s))
		return;
	if (s->state == S_HEAD && s->in.n == 0) {
		sess_close(
			s); /* no request pending, or one that cannot end now */
		return;
	}
	/* The request in progress, and every one pipelined behind it, still
	 * gets its answer: sess_response_done closes once none is left. */
	if (s->state == S_BODY)
		sess_forward_body(s); /* ends it if the body cannot end now */
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

int sess_on_accept(struct tcp_conn *c, void *ctx)
{
	struct proxy *px = ctx;
	struct px_sess *s;
	char *buf;

	if (!limits_admit_conn(px))
		return -ECONNREFUSED; /* counted: maxconn, a rate */
	if (rte_mempool_get(px->sess_pool, (void **)&s)) {
		CNT(px, sessions_refused);
		limits_conn_gone(px);
		return -ENOMEM;
	}
	if (rte_mempool_get(px->buf_pool, (void **)&buf)) {
		rte_mempool_put(px->sess_pool, s);
		CNT(px, sessions_refused);
		limits_conn_gone(px);
		return -ENOMEM;
	}
	memset(s, 0, offsetof(struct px_sess, replay));
	s->in.head = s->in.n = 0;
	s->px = px;
	s->cc = c;
	s->reqbuf = buf;
	s->client_ip = rte_cpu_to_be_32(tcp_conn_key(c)->remote_ip);
	s->client_port = tcp_conn_key(c)->remote_port;
	s->state = S_HEAD;
	http_request_init(&s->req, buf, px->cfg.head_max, NULL);
	tw_entry_init(&s->timer, sess_timer);
	tcp_conn_set_ops(c, &client_ops, s);
	s->next = px->sessions;
	if (s->next)
		s->next->prev = s;
	px->sessions = s;
	px->n_sessions++;
	CNT(px, sessions);
	sess_arm_for_state(s);
	return 0;
}
