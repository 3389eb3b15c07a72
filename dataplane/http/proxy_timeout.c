/* proxy_timeout: a client session's timeouts: which one applies in each
 * state (Ray's names: http-keep-alive, http-request, client, server) and
 * what its expiry does (408, 504 as Ray's 500, a linger let go, or a
 * silent abort). It never touches the pool or a replica's bytes. */
#include "http/proxy_internal.h"
#include "lb/lb_health.h"

void sess_set_deadline(struct px_sess *s, uint32_t ms, uint16_t status)
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
void sess_arm_for_state(struct px_sess *s)
{
	const struct proxy_config *c = &s->px->cfg;

	if (s->queued) { /* timeout queue, from when it was queued */
		s->deadline = s->q_deadline;
		s->deadline_status = 503;
		if (s->deadline)
			tw_arm(&s->px->wheel, &s->timer, s->deadline);
		else
			tw_cancel(&s->px->wheel, &s->timer);
		return;
	}
	switch (s->state) {
	case S_HEAD:
		if (s->req.len == 0 && s->in.n == 0)
			sess_set_deadline(s, c->timeout_keep_alive_ms, 0);
		else if (c->timeout_http_request_ms)
			sess_set_deadline(s, c->timeout_http_request_ms, 408);
		else
			sess_set_deadline(s, c->timeout_client_ms, 408);
		break;
	case S_BODY: /* held: the request is not complete yet (408) */
		if (s->held && c->timeout_http_request_ms)
			sess_set_deadline(s, c->timeout_http_request_ms, 408);
		else
			sess_set_deadline(s, c->timeout_client_ms,
					  s->held ? 408 : 0);
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

void sess_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct px_sess *s = container_of(e, struct px_sess, timer);

	(void)w;
	if (!s->deadline || now < s->deadline)
		return;
	if (s->queued) { /* no server had room in time */
		limits_dequeue(s);
		CNT(s->px, queue_timeouts);
		sess_error(s, 503, true);
		return;
	}
	if (s->deadline_status == 504 && s->bc && !s->resp_started) {
		struct px_bconn *b = s->bc;

		if (b->srv)
			health_event(s->px, b->srv, false, LB_FAIL_TIMEOUT);
		bconn_release(b, false);
		sess_error(s, 504, true);
		return;
	}
	if (s->state == S_LINGER && s->held_out) {
		sess_abort(s); /* it never read our last bytes */
		return;
	}
	if (s->state == S_LINGER) {
		s->peer_fin = true; /* stop waiting: let go */
		sess_close(s);
		return;
	}
	if (s->deadline_status == 408 && !s->resp_started &&
	    (s->state == S_HEAD || s->held)) {
		sess_error(s, 408, true);
		return;
	}
	sess_abort(s);
}
