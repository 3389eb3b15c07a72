/* proxy_relay: the response side of a session: replica bytes relayed to
 * the client (the head rewritten, the body as framed, a tunnel's bytes)
 * and the rules every byte to the client follows: relayed bytes only as
 * fast as the client takes them (back-pressure), and bytes of our own
 * (a head, a local answer) held in the session when its send queue is
 * full, never dropped and never overtaken. It never reads client bytes
 * (proxy_session.c) or picks a replica (proxy_backend.c). */
#include <errno.h>

#include <rte_mbuf.h>

#include "http/http_rewrite.h"
#include "http/proxy_internal.h"
#include "tcp/tcp.h"

void count_response(struct proxy *px, struct px_server *srv, uint16_t status)
{
	unsigned int cls = status / 100;

	if (cls < 1 || cls > 5)
		return;
	px->ctr[PX_CTR_resp_1xx + cls - 1]++;
	if (srv)
		srv->resp[cls]++;
}

/* Sends bytes of our own (a head we wrote, a local answer): a full send
 * queue holds them in the session, behind any already held, until the
 * client's on_writable. 0, or a negative errno from tcp_send (m not
 * taken). */
int client_send_own(struct px_sess *s, struct rte_mbuf *m)
{
	int rc;

	if (s->held_out)
		return rte_pktmbuf_chain(s->held_out, m);
	rc = tcp_send(s->cc, m);
	if (rc != -EAGAIN)
		return rc;
	s->held_out = m;
	return 0;
}

/* Relayed bytes: never past bytes of our own still held. */
int send_to_client(void *arg, struct rte_mbuf *m)
{
	struct px_sess *s = arg;

	return s->held_out ? -EAGAIN : tcp_send(s->cc, m);
}

/* Relays the first used bytes of q's head segment with send (the segment
 * itself, or a clone cut to them) and drops them from q; from, the
 * connection they came in on, gets them acknowledged (back-pressure).
 * Returns false when they were not taken: q is unchanged and the
 * receiving side's on_writable resumes. */
bool relay_front(struct proxy *px, struct segq *q, size_t used,
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

/* The response ended: next request, or close. Returns true if gone. */
bool sess_response_done(struct px_sess *s)
{
	struct px_bconn *b = s->bc;
	bool reusable = b && b->resp.msg.keep_alive && s->req_done &&
			b->resp.msg.framing != HTTP_FRAMING_CLOSE && !b->fin;

	plog_end(s, 0);
	if (b) {
		b->resp_done = true;
		bconn_release(b, reusable);
	}
	release_replay(s);
	if (s->close_after || !s->req_done || (s->peer_fin && !s->in.n)) {
		sess_close(s);
		return true;
	}
	return sess_next_request(s);
}

/* ---- relaying the response ---------------------------------------------- */

static bool send_head_to_client(struct px_bconn *b, bool close)
{
	struct px_sess *s = b->sess;
	size_t n = http_rw_response(s->px->scratch, 65536, &b->resp,
				    s->req.msg.version_minor, close);
	struct rte_mbuf *h = n ? mbuf_from(s->px, s->px->scratch, n) : NULL;

	count_response(s->px, b->srv, b->resp.msg.status);
	plog_status(s, b->resp.msg.status, true);
	s->lg_out += n;
	if (!h || client_send_own(s, h)) {
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
	} else if (!s->req_done || m->framing == HTTP_FRAMING_CLOSE ||
		   (s->peer_fin && !s->in.n) || proxy_draining(s->px)) {
		s->close_after = true; /* the last one it will get */
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
	if (body_empty(m))
		return sess_response_done(s);
	return false;
}

/* Relays replica bytes to the client as far as it takes them. Returns
 * true if the session is gone. */
bool bconn_pump(struct px_bconn *b)
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
				CNT(s->px, e502_bad_head);
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
		if (used && !relay_front(s->px, &b->in, used, send_to_client, s,
					 b->tc)) {
			/* the client's on_writable resumes; until then the
			 * wait is the client's, not the replica's */
			if (s->state == S_WAIT_RESPONSE)
				sess_set_deadline(
					s, s->px->cfg.timeout_client_ms, 0);
			return false;
		}
		b->resp_body = next;
		s->lg_out += used;
		if (r == HTTP_COMPLETE)
			return sess_response_done(s);
		if (used && s->state == S_WAIT_RESPONSE)
			sess_arm_for_state(s); /* timeout server: inactivity */
	}
	if (b->fin && b->sess && b->in.n == 0) {
		struct px_sess *s = b->sess;

		if (http_body_eof(&b->resp_body) == HTTP_COMPLETE)
			return sess_response_done(s);
		CNT(s->px, backend_aborts); /* closed before the body ended */
		bconn_release(b, false);
		sess_cut(s, false);
		return true;
	}
	return false;
}
