/* proxy_guard: never forward what is already known to be invalid. A
 * look-ahead decoder (px_sess.req_scan) reads every chunked body byte as
 * it arrives, before any of it is relayed, so framing that is invalid in
 * the bytes received is refused while nothing of it has left; and the
 * head of a chunked request is held until its first chunk-size line has
 * been read (as long as it fits the head buffer), so the common smuggling
 * shape - a head and a poisoned first chunk in one segment - never reaches
 * a replica at all (#13). When invalid framing shows up later, the
 * backend connection is reset, never pooled, and counted (body_reset).
 * It only reads client bytes, never acknowledges or relays them: the
 * session (proxy_session.c) and the backend side (proxy_backend.c) do. */
#include <rte_mbuf.h>

#include "http/proxy_internal.h"

/* Feeds queued client segments from..n-1 to the look-ahead decoder. */
static enum http_result scan_queue(struct px_sess *s, uint16_t from)
{
	enum http_result r = HTTP_NEED_MORE;
	uint16_t i;

	for (i = from; i < s->in.n && r == HTTP_NEED_MORE; i++) {
		struct rte_mbuf *m = segq_at(&s->in, i);
		size_t used;

		r = http_body_feed(&s->req_scan, rte_pktmbuf_mtod(m, char *),
				   m->data_len, &used);
	}
	return r;
}

/* Whether a byte of this request has been handed to a backend's stack:
 * the head goes when the connection is up (sess_send_request). */
static bool request_sent(const struct px_sess *s)
{
	return s->bc && s->bc->state != B_CONNECTING;
}

bool sess_body_refused(struct px_sess *s, enum http_error e, uint16_t status)
{
	struct proxy *px = s->px;
	bool sent = request_sent(s);

	CNT(px, err_parse);
	px->parse_errors[e]++;
	s->held = false;
	if (sent)
		CNT(px, body_reset);
	if (s->bc) /* never pooled: mid-request it ends with a reset */
		bconn_release(s->bc, false);
	release_replay(s);
	if (s->resp_started) { /* a 400 cannot follow a response begun */
		sess_abort(s);
		return true;
	}
	return sess_error(s, status, true);
}

/* Still worth holding: the first chunk-size line is not complete and the
 * head plus what follows it still fit the head buffer. */
static bool keep_holding(const struct px_sess *s)
{
	uint32_t queued = 0;
	uint16_t i;

	if (s->req_scan.chunk_lines > 0 || s->peer_fin)
		return false;
	for (i = 0; i < s->in.n; i++)
		queued += segq_at(&s->in, i)->data_len;
	return s->req.msg.head_len + queued < s->px->cfg.head_max;
}

/* Held and the client half-closed: the body cannot end any more. */
static bool refuse_truncated(struct px_sess *s)
{
	return sess_body_refused(s, HTTP_ERR_TRUNCATED,
				 http_error_status(HTTP_ERR_TRUNCATED));
}

bool sess_guard_start(struct px_sess *s)
{
	enum http_result r;

	s->req_scan = s->req_body;
	s->held = false;
	if (s->req_scan.framing != HTTP_FRAMING_CHUNKED)
		return sess_dispatch(s);
	r = scan_queue(s, 0);
	if (r == HTTP_ERROR)
		return sess_body_refused(s, http_body_error(&s->req_scan),
					 http_body_error_status(&s->req_scan));
	/* A client that waits for 100 Continue sends no chunk before it:
	 * holding its head would only stall it. */
	if (r == HTTP_NEED_MORE && !s->req.msg.expect_continue &&
	    keep_holding(s)) {
		s->held = true;
		sess_arm_for_state(s);
		return false;
	}
	if (r == HTTP_NEED_MORE && s->peer_fin)
		return refuse_truncated(s); /* its end can never come */
	return sess_dispatch(s);
}

bool sess_guard_recv(struct px_sess *s, uint16_t from)
{
	enum http_result r;

	if (s->state != S_BODY || s->req_done ||
	    s->req_scan.framing != HTTP_FRAMING_CHUNKED)
		return false;
	r = scan_queue(s, from);
	if (r == HTTP_ERROR)
		return sess_body_refused(s, http_body_error(&s->req_scan),
					 http_body_error_status(&s->req_scan));
	if (!s->held || (r == HTTP_NEED_MORE && keep_holding(s)))
		return false;
	s->held = false;
	return sess_dispatch(s);
}

bool sess_guard_fin(struct px_sess *s)
{
	if (!s->held)
		return false;
	return refuse_truncated(s);
}
