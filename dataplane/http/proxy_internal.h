/* proxy_internal: what the proxy's files (proxy.c, proxy_session.c,
 * proxy_relay.c, proxy_backend.c, proxy_health.c, proxy_table.c,
 * proxy_guard.c, proxy_timeout.c, proxy_log.c, proxy_router.c) share and nobody else
 * may use: the session and backend-connection types, their states and
 * the events that move them, and the functions one file calls in another.
 * Same rules as proxy.h: never block, never allocate after init. Two
 * rules keep lifetimes simple: a function that may end a session returns
 * whether it did (true = gone, touch nothing more), and bytes are
 * acknowledged to a sender (tcp_recv_done) only once the other side's
 * stack has taken them, which is the whole back-pressure mechanism. */
#ifndef WEIR_PROXY_INTERNAL_H
#define WEIR_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "http/proxy.h"
#include "http/segq.h"

#define NS_PER_MS 1000000ull
#define CNT(px, n) ((px)->ctr[PX_CTR_##n]++)

/* A client session (proxy_session.c). Events: client bytes (c_on_recv),
 * the client's FIN (c_on_peer_fin), its error or close, the session timer
 * (sess_timer), and from the backend side a response head, its end, or a
 * failure (bconn_pump, bconn_failed).
 *   HEAD  --head done, local answer-->           HEAD
 *   HEAD  --head done, body follows-->           BODY
 *   HEAD  --head done, no body-->                WAIT_RESPONSE
 *   BODY  --body forwarded-->                    WAIT_RESPONSE
 *   BODY, WAIT_RESPONSE --101-->                 TUNNEL
 *   WAIT_RESPONSE --response relayed, kept-->    HEAD
 *   TUNNEL --client's FIN--> passed on (shutdown); --replica's FIN--> closed
 *   any   --answered, client may still send-->   LINGER (sess_close)
 *   LINGER --client's FIN or LINGER_NS-->        freed
 *   any   --error, abort, silent timeout-->      freed */
enum sess_state {
	S_HEAD, /* reading a request head */
	S_BODY, /* forwarding the request body */
	S_WAIT_RESPONSE, /* request sent, response being relayed */
	S_TUNNEL, /* after 101: bytes both ways */
	S_LINGER, /* answered and half-closed: reading to the client's FIN */
};

/* A backend connection (proxy_backend.c; probes: proxy_health.c). Events:
 * connected (b_on_connected), replica bytes (b_on_recv), its FIN, error or
 * close, the connect/probe timer (bconn_timer), the pool's idle sweep.
 *   CONNECTING --connected-->                    BUSY
 *   BUSY  --response complete, keep-alive-->     IDLE (bconn_release)
 *   IDLE  --picked for a request-->              BUSY (sess_dispatch_to)
 *   new   --a probe (start_probe)-->             PROBE
 *   PROBE --connected: GET /-/healthz, answer--> freed
 *   new   --a routed POST (router_call)-->      ROUTE
 *   ROUTE --connected: POST /internal/route, answer, failure--> freed
 *   any   --failure, idle too long, not reusable--> freed */
enum bconn_state {
	B_CONNECTING,
	B_BUSY,
	B_IDLE,
	B_PROBE,
	B_ROUTE /* an ingress request router call (proxy_router.c) */
};

#define PX_REPLAY_SEGS 256 /* segments held: the router buffer's body */

struct px_sess {
	struct proxy *px;
	struct px_sess *prev, *next; /* px->sessions: every open session */
	struct px_sess *qnext; /* px's queue, while queued */
	bool queued; /* waiting for a server below its maxconn */
	uint64_t q_deadline; /* then 503 (timeout queue); 0: none */
	struct tcp_conn *cc;
	uint32_t client_ip; /* network order */
	uint16_t client_port; /* host order */
	enum sess_state state;
	bool req_done; /* whole request forwarded */
	bool close_after; /* close the client after this response */
	bool head_method;
	bool resp_started; /* a byte of the response reached the client */
	bool peer_fin; /* the client half-closed */
	bool replayable; /* the whole request is still held */
	bool held; /* chunked head kept back until its first chunk line */
	bool close_held; /* close once held_out is sent */
	/* bytes of our own (a response head, a local answer) the client's
	 * full send queue did not take yet: sent first on its on_writable;
	 * meanwhile no relayed byte and no new request goes past them */
	struct rte_mbuf *held_out;
	uint32_t backend; /* table index of the chosen backend ... */
	uint64_t backend_gen; /* ... in this table generation */
	uint64_t backend_key; /* its px_backend.key, to find it again */
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
	struct http_body req_scan; /* ahead of req_body: every byte received */
	/* the access log (proxy_log.c): counts kept always, the record only
	 * while the log is on */
	bool lg_open; /* lrec describes the request in progress */
	uint64_t t_start; /* its first byte was read (stack clock); 0: none */
	uint64_t t_sent; /* it went to a replica; 0: not yet */
	uint64_t lg_in, lg_out; /* its bytes from and to the client */
	uint16_t replay_next; /* replay[] entries sent on bc so far */
	/* the ingress request router (proxy_router.c): the body is held into
	 * replay[] up to the router buffer, then the router is asked */
	bool routing; /* the router is being asked (or the body held) */
	bool rt_whole; /* the whole body is held */
	struct px_bconn *rb; /* the router call's connection */
	uint32_t rt_body; /* body bytes held */
	uint32_t rt_tried; /* router targets tried (bit per index % 32) */
	uint16_t rt_next; /* next replay[] entry to send to the router */
	uint64_t rt_deadline; /* the call's end (router_timeout_ms); 0: none */
	uint64_t rt_t0; /* the call began (stack clock); 0: not yet */
	uint32_t pin_slot; /* pinned to server slot - 1 (0: not pinned) */
	bool pin_drain_ok; /* that server may be draining: the request was
			    * its before the drain (a stale pooled retry) */
	/* large members last: not cleared on allocation */
	struct weir_ctl_log_rec lrec;
	struct rte_mbuf *
		replay[PX_REPLAY_SEGS]; /* request held for a retry (our refs) */
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
	bool rt_up; /* B_ROUTE: connected */
	uint32_t rt_len; /* B_ROUTE: answer body bytes kept after the head */
	uint64_t idle_since;
	struct tw_entry timer; /* connect timeout, probe timeout */
	uint64_t deadline;
	char *respbuf;
	struct http_body resp_body;
	/* large members last: not cleared on allocation */
	struct segq in; /* replica bytes not yet relayed */
	struct http_head resp;
};

/* A message with no body byte to relay: no framing, or Content-Length: 0,
 * which no body byte will ever complete. */
static inline bool body_empty(const struct http_message *m)
{
	return m->framing == HTTP_FRAMING_NONE ||
	       (m->framing == HTTP_FRAMING_LENGTH && m->content_length == 0);
}

static inline void mbuf_ref(struct rte_mbuf *m, int16_t d)
{
	for (; m; m = m->next)
		rte_mbuf_refcnt_update(m, d);
}

/* proxy.c */
/* Builds an mbuf chain holding len bytes of buf (for heads we wrote). */
struct rte_mbuf *mbuf_from(struct proxy *px, const char *buf, size_t len);

/* proxy_session.c */
int sess_on_accept(struct tcp_conn *c, void *ctx); /* tcp_listen's */
void sess_close(struct px_sess *s); /* graceful; may linger */
void sess_abort(struct px_sess *s); /* reset and free */
void sess_cut(struct px_sess *s, bool looks_whole); /* response broke off */
bool sess_error(struct px_sess *s, uint16_t status, bool close);
bool sess_reply(struct px_sess *s, const char *buf, size_t len, uint16_t status,
		bool close); /* our own answer */
void sess_arm_for_state(struct px_sess *s);
/* proxy_timeout.c: the session timer's callback; a deadline of ms (0:
 * none) that answers status when it fires (0: a silent abort) */
void sess_set_deadline(struct px_sess *s, uint32_t ms, uint16_t status);
void sess_timer(struct tw_wheel *w, struct tw_entry *e, uint64_t now);
bool sess_forward_body(struct px_sess *s); /* client -> backend */
bool sess_next_request(struct px_sess *s); /* kept: read the next one */

/* proxy_relay.c: the response relay and the bytes sent to the client */
bool bconn_pump(struct px_bconn *b); /* backend -> client */
bool sess_response_done(struct px_sess *s); /* next request, or close */
void count_response(struct proxy *px, struct px_server *srv, uint16_t status);
/* Our own bytes (held while the send queue is full); 0 or -errno. */
int client_send_own(struct px_sess *s, struct rte_mbuf *m);
/* Relayed bytes: -EAGAIN while our own are held (a send() for relay_front) */
int send_to_client(void *s, struct rte_mbuf *m);
/* Relays the first used bytes of q's head segment with send, acknowledging
 * them to from; false when not taken (q unchanged). */
bool relay_front(struct proxy *px, struct segq *q, size_t used,
		 int (*send)(void *, struct rte_mbuf *), void *arg,
		 struct tcp_conn *from);

/* proxy_guard.c: chunked request bodies checked before they are relayed */
bool sess_guard_start(struct px_sess *s); /* head routed: hold or dispatch */
bool sess_guard_recv(struct px_sess *s, uint16_t from); /* new segments */
bool sess_guard_fin(struct px_sess *s); /* the client half-closed */
/* Invalid body framing: 400 (or status) and close, the backend reset. */
bool sess_body_refused(struct px_sess *s, enum http_error e, uint16_t status);

/* proxy_log.c: the request's access-log record (no-ops while it is off).
 * begin: routed (method, path); dispatch: sent to server t of backend;
 * status: a response head went to the client (from_replica: relayed, else
 * our own, which opens a record for a request refused before routing);
 * end: the exchange is over (flags: WEIR_LOG_F_ABORTED), the record goes
 * to the ring. */
void plog_begin(struct px_sess *s, const char *path, size_t plen);
void plog_dispatch(struct px_sess *s, const char *backend,
		   const struct weir_table_server *t);
void plog_status(struct px_sess *s, uint16_t status, bool from_replica);
void plog_end(struct px_sess *s, uint8_t flags);
/* The router call ended (outcome: enum weir_log_router); id: the replica
 * it named, or NULL to keep what was recorded. */
void plog_router(struct px_sess *s, uint8_t outcome, const char *id);

/* proxy_limits.c: admission (node maxconn, connection and session rates,
 * the per-client request rate) and the queue of requests waiting for a
 * server. admit_conn: a client connection may open (counted until
 * limits_conn_gone); admit_request / admit_group: false when the client is
 * over the node's rate / its group's (the caller answers 429);
 * enqueue/dequeue: the FIFO; kick: between
 * bursts, queued requests go to servers that have room again. */
bool limits_admit_conn(struct proxy *px);
void limits_conn_gone(struct proxy *px);
bool limits_admit_request(struct px_sess *s);
bool limits_admit_group(struct px_sess *s, uint32_t be); /* its own rate */
void limits_enqueue(struct px_sess *s, uint32_t queue_ms);
void limits_dequeue(struct px_sess *s);
void limits_kick(struct proxy *px);
int limits_init(struct proxy *px);
void limits_fini(struct proxy *px);

/* proxy_backend.c */
struct px_bconn *bconn_new(struct proxy *px, struct px_server *srv);
void bconn_release(struct px_bconn *b, bool reusable);
void bconn_failed(struct px_bconn *b, enum lb_fail_reason why,
		  bool connect_failed);
bool sess_dispatch(struct px_sess *s);
/* Sends the request to member pos of its backend (lb counted it). */
bool sess_dispatch_to(struct px_sess *s, int pos);
/* Points s->backend into the current table; false when it is gone. */
bool sess_backend_current(struct px_sess *s);
/* A queued request: dispatched if a server has room (true if the session
 * is gone or left the queue), or left waiting. */
bool sess_dispatch_queued(struct px_sess *s);
/* Routes s to table backend be of the current table. */
void sess_set_backend(struct px_sess *s, uint32_t be);
void release_replay(struct px_sess *s); /* drops the request's copy */
int to_backend(struct px_sess *s, struct rte_mbuf *m); /* + replay copy */
void pool_expire(struct px_server *srv, uint64_t now, uint64_t idle_ns);

/* proxy_health.c: the server's state across workers (its owner decides)
 * and the active checks, over a B_PROBE connection. health_event: live
 * traffic with srv succeeded (ok) or failed (why); health_sweep: the
 * periodic sweep (checks due, messages to send again); health_new_server:
 * a slot was made for a server. */
void health_event(struct proxy *px, struct px_server *srv, bool ok,
		  enum lb_fail_reason why);
void health_sweep(struct proxy *px, struct px_server *srv, uint64_t now);
void health_new_server(struct proxy *px, struct px_server *srv);
void probe_send(struct px_bconn *b); /* connected */
void probe_recv(struct px_bconn *b, struct rte_mbuf *m);
void probe_failed(struct px_bconn *b, enum lb_fail_reason why);

/* proxy_router.c: the ingress request router callout. router_start: a
 * routed head: a POST to a backend with routers holds its body and asks a
 * router (else the guard and dispatch as usual); router_hold: client body
 * bytes while holding; router_abandon: the session ends or answers (its
 * call, if any, is dropped); the rest are a B_ROUTE connection's events. */
bool router_start(struct px_sess *s);
bool router_hold(struct px_sess *s);
void router_abandon(struct px_sess *s);
void router_connected(struct px_bconn *b);
void router_writable(struct px_bconn *b);
void router_recv(struct px_bconn *b, struct rte_mbuf *m);
void router_fin(struct px_bconn *b);
void router_failed(struct px_bconn *b, enum lb_fail_reason why);

#endif
