/* Virtual-time harness for the HTTP proxy: a client stack, the proxy's
 * stack and up to three replica stacks on a small virtual L2 (one FIFO
 * line, routed by destination IP, with per-link holds and SYN blackholes),
 * a scripted HTTP client and scripted replicas that speak through their own
 * small HTTP reader (not the proxy's parser), all driven by the TCP
 * harness's virtual clock. Header-only, one user per test program.
 *
 * Replicas act on the request target's query: /app/r?id=N&len=L&te=1
 * &delay=MS&rst=B answers request N with an L-byte body ('a'.. pattern
 * keyed by N), chunked if te=1, after MS virtual milliseconds, and resets
 * the connection once B body bytes are out (rst=0: never). Request bodies
 * carry the 'A'.. pattern keyed by N; the replica checks them and echoes
 * their length in X-Body, and the request's X-Id in X-Id. Any byte of
 * "BAD-" reaching a replica is counted: refused requests carry it.
 * A replica listed in ph_router_mask is an ingress request router instead:
 * it answers POST /internal/route with router_answer (router_status,
 * after router_delay_ms) and keeps the last call's body and headers. */
#ifndef WEIR_TEST_PROXY_HARNESS_H
#define WEIR_TEST_PROXY_HARNESS_H

#include <ctype.h>
#include <stdarg.h>
#include <strings.h>

#include <rte_hash.h>
#include <rte_random.h>

#include "http/proxy.h"
#include "table_fixture.h"
#include "tcp_harness.h"

enum {
	N_CLIENT,
	N_PROXY,
	N_R0,
	N_R1,
	N_R2,
	N_R3,
	PH_NODES
};
#define PH_REPLICAS 3 /* the usual world; up to PH_REP_MAX */
#define PH_REP_MAX 4
#define PH_PORT 8000
#define PH_RPORT 9000
#define PH_IP(n) ((n) < N_R0 ? 0x0a000001u + (n) : 0x0a000100u + (n)-1)

static struct proxy ph_px;
static int ph_errors; /* harness-level violations: any fails the case */

#define PH_FAIL(...)                                 \
	do {                                         \
		printf("#   harness: " __VA_ARGS__); \
		printf("\n");                        \
		ph_errors++;                         \
	} while (0)

/* ---- growable byte buffers ---- */

struct ph_buf {
	char *p;
	size_t len, cap;
};

static inline void buf_put(struct ph_buf *b, const void *d, size_t n)
{
	if (!n)
		return; /* memcpy with a NULL buffer is undefined, even of 0 */
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + n)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (!b->p) {
			printf("Bail out! out of memory\n");
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void buf_printf(struct ph_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	buf_put(b, tmp, (size_t)n);
}

static inline void buf_free(struct ph_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static inline char req_byte(uint32_t id, size_t i)
{
	return (char)('A' + (id * 7 + i) % 26);
}

static inline char resp_byte(uint32_t id, size_t i)
{
	return (char)('a' + (id * 13 + i) % 26);
}

/* ---- a small HTTP/1.1 reader of our own ---- */

struct tm_msg {
	int status; /* response */
	char method[16], target[256]; /* request */
	bool chunked, close;
	long clen; /* -1: none */
	long xid, xbody; /* X-Id, X-Body; -1: none */
	char trunc[256], ctype[256]; /* X-Body-Truncated, Content-Type */
	bool http10;
	size_t head_len, total;
	const char *body; /* decoded, valid until the next tm_parse */
	size_t body_len;
};

static struct ph_buf tm_scratch;

static inline long tm_hex_line(const char *p, size_t n, size_t *used)
{
	const char *e = memmem(p, n, "\r\n", 2);
	long v = 0;
	size_t i;

	if (!e)
		return -2;
	for (i = 0; p + i < e && isxdigit((unsigned char)p[i]); i++)
		v = v * 16 +
		    (isdigit((unsigned char)p[i]) ?
			     p[i] - '0' :
			     (tolower((unsigned char)p[i]) - 'a' + 10));
	if (i == 0)
		return -1;
	*used = (size_t)(e - p) + 2;
	return v;
}

/* Parses one message at p: its length, 0 if incomplete, -1 if malformed. */
static inline long tm_parse(const char *p, size_t n, bool response,
			    struct tm_msg *m)
{
	/* memmem(NULL, 0, ...) is undefined: an empty buffer holds nothing */
	const char *end = n ? memmem(p, n, "\r\n\r\n", 4) : NULL, *l;
	size_t off;

	memset(m, 0, sizeof(*m));
	m->clen = m->xid = m->xbody = -1;
	if (!end)
		return n > 65536 ? -1 : 0;
	m->head_len = (size_t)(end - p) + 4;
	if (response) {
		if (n < 12 || memcmp(p, "HTTP/1.", 7))
			return -1;
		m->status = atoi(p + 9);
	} else if (sscanf(p, "%15s %255s", m->method, m->target) != 2) {
		return -1;
	} else {
		const char *eol = memmem(p, m->head_len, "\r\n", 2);

		m->http10 = eol && eol - p >= 8 &&
			    !memcmp(eol - 8, "HTTP/1.0", 8);
	}
	for (l = memmem(p, m->head_len, "\r\n", 2) + 2; l < end;) {
		const char *e = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
		const char *c = memchr(l, ':', (size_t)(e - l));
		char v[256] = "";
		size_t nl, vl;

		if (!c)
			return -1;
		nl = (size_t)(c - l);
		for (c++; *c == ' '; c++)
			;
		vl = (size_t)(e - c) < sizeof(v) - 1 ? (size_t)(e - c) :
						       sizeof(v) - 1;
		memcpy(v, c, vl);
		if (nl == 14 && !strncasecmp(l, "content-length", nl))
			m->clen = atol(v);
		else if (nl == 17 && !strncasecmp(l, "transfer-encoding", nl))
			m->chunked = strcasestr(v, "chunked") != NULL;
		else if (nl == 10 && !strncasecmp(l, "connection", nl))
			m->close = strcasestr(v, "close") != NULL;
		else if (nl == 4 && !strncasecmp(l, "x-id", nl))
			m->xid = atol(v);
		else if (nl == 6 && !strncasecmp(l, "x-body", nl))
			m->xbody = atol(v);
		else if (nl == 16 && !strncasecmp(l, "x-body-truncated", nl))
			snprintf(m->trunc, sizeof(m->trunc), "%s", v);
		else if (nl == 12 && !strncasecmp(l, "content-type", nl))
			snprintf(m->ctype, sizeof(m->ctype), "%s", v);
		l = e + 2;
	}
	off = m->head_len;
	tm_scratch.len = 0;
	if (m->chunked) {
		for (;;) {
			size_t used = 0;
			long sz = tm_hex_line(p + off, n - off, &used);

			if (sz == -2)
				return 0;
			if (sz < 0)
				return -1;
			off += used;
			if (sz == 0) { /* no trailers from our peers */
				if (n - off < 2)
					return 0;
				if (memcmp(p + off, "\r\n", 2))
					return -1;
				off += 2;
				break;
			}
			if (n - off < (size_t)sz + 2)
				return 0;
			buf_put(&tm_scratch, p + off, (size_t)sz);
			if (memcmp(p + off + sz, "\r\n", 2))
				return -1;
			off += (size_t)sz + 2;
		}
	} else if (m->clen > 0) {
		if (n - off < (size_t)m->clen)
			return 0;
		buf_put(&tm_scratch, p + off, (size_t)m->clen);
		off += (size_t)m->clen;
	}
	m->body = tm_scratch.p;
	m->body_len = tm_scratch.len;
	m->total = off;
	return (long)off;
}

static inline long tm_query(const char *target, const char *key)
{
	char k[32];
	const char *q = strchr(target, '?');

	snprintf(k, sizeof(k), "%s=", key);
	for (; q; q = strchr(q + 1, '&'))
		if (!strncmp(q + 1, k, strlen(k)))
			return atol(q + 1 + strlen(k));
	return 0;
}

/* ---- sending from a buffer as the stack takes it ---- */

static inline void ph_flush(struct tcp_conn *c, struct ph_buf *b, size_t *sent)
{
	while (c && *sent < b->len && tcp_send_space(c) > 0) {
		size_t n = b->len - *sent > 1400 ? 1400 : b->len - *sent;
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);

		if (!m)
			return;
		memcpy(rte_pktmbuf_append(m, (uint16_t)n), b->p + *sent, n);
		if (tcp_send(c, m)) {
			rte_pktmbuf_free(m);
			return;
		}
		*sent += n;
	}
}

/* ---- the virtual L2 ---- */

struct ph_node {
	uint32_t ip;
	struct tcp_stack *stk;
	struct capture cap;
};

struct ph_pkt {
	struct rte_mbuf *m;
	uint8_t from, to;
	uint64_t due;
};

#define PH_LINE 32768
static struct ph_node ph_node[PH_NODES];
static struct ph_pkt ph_line[PH_LINE];
static unsigned int ph_line_n;
static bool ph_hold[PH_NODES][PH_NODES]; /* from -> to waits */
static bool ph_blackhole_syn[PH_NODES]; /* SYNs to it are lost */
static uint64_t ph_latency;
static unsigned int ph_syns_dropped[PH_NODES];

static inline int ph_node_of(uint32_t ip)
{
	for (int i = 0; i < PH_NODES; i++)
		if (ph_node[i].stk && ph_node[i].ip == ip)
			return i;
	return -1;
}

static inline void ph_collect(void)
{
	for (int i = 0; i < PH_NODES; i++) {
		struct capture *cap = &ph_node[i].cap;

		for (unsigned int k = 0; k < cap->n; k++) {
			struct pkt p = decode(cap->m[k]);
			int to = ph_node_of(p.dst);

			if (to < 0 || (ph_blackhole_syn[to] &&
				       (p.flags & 0x12) == 0x02)) {
				if (to >= 0)
					ph_syns_dropped[to]++;
				rte_pktmbuf_free(cap->m[k]);
				continue;
			}
			if (ph_line_n == PH_LINE) {
				printf("Bail out! wire full\n");
				exit(1);
			}
			ph_line[ph_line_n++] =
				(struct ph_pkt){ cap->m[k], (uint8_t)i,
						 (uint8_t)to,
						 vnow + ph_latency };
		}
		cap->n = 0;
	}
}

/* Delivers what is due and not held, in order. Returns how many. */
static inline unsigned int ph_deliver(void)
{
	unsigned int n = ph_line_n, kept = 0, done = 0;
	static struct ph_pkt batch[PH_LINE];

	memcpy(batch, ph_line, n * sizeof(batch[0]));
	ph_line_n = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct ph_pkt *e = &batch[i];

		if (e->due > vnow || ph_hold[e->from][e->to]) {
			batch[kept++] = *e;
			continue;
		}
		tcp_input(ph_node[e->to].stk, e->m);
		done++;
	}
	/* kept ones go first: they were sent before what tcp_input made */
	memmove(ph_line + kept, ph_line, ph_line_n * sizeof(ph_line[0]));
	memcpy(ph_line, batch, kept * sizeof(batch[0]));
	ph_line_n += kept;
	return done;
}

static inline void ph_settle(void)
{
	for (int r = 0; r < 100000; r++) {
		ph_collect();
		if (!ph_deliver()) {
			ph_collect();
			return;
		}
	}
	PH_FAIL("the wire never settled");
}

/* ---- the scripted client ---- */

enum ph_kind {
	K_NORMAL, /* 200 with its body expected */
	K_BAD, /* malformed: 400 expected, nothing reaches a replica */
	K_RST, /* the replica resets mid-response: may end truncated */
	K_SLOW, /* answered after the server timeout: Ray's 500 expected */
	K_LOCAL, /* answered by the proxy itself (404, healthz): any status */
};

struct ph_expect {
	uint32_t id;
	enum ph_kind kind;
	uint32_t resp_len, body_len;
	int status; /* 0 until answered */
	uint64_t seq; /* the order it was answered in, over every client */
};

#define PH_EXPECT_MAX 64
struct ph_client {
	struct tcp_conn *c;
	bool used, connected, fin, gone, reset, we_closed;
	struct ph_buf out, in;
	size_t sent, parsed;
	uint32_t unread, rate; /* rate: bytes acknowledged per tick; 0 all */
	uint64_t rx_total;
	char last[256]; /* the start of the last response, as received */
	size_t last_len;
	struct ph_expect exp[PH_EXPECT_MAX];
	unsigned int n_exp, n_answered;
	bool saw_close; /* a response ended the connection (close, error) */
};

#define PH_CLIENTS 16
static struct ph_client ph_cli[PH_CLIENTS];
static uint64_t ph_answers, ph_answers_ok;

static inline void ph_check_response(struct ph_client *cl, struct tm_msg *m)
{
	struct ph_expect *e;

	if (cl->n_answered == cl->n_exp) {
		PH_FAIL("client %d: a response (status %d) nobody asked for",
			(int)(cl - ph_cli), m->status);
		return;
	}
	e = &cl->exp[cl->n_answered++];
	e->status = m->status;
	ph_answers++;
	e->seq = ph_answers;
	cl->saw_close |= m->close || m->status >= 400;
	if (e->kind == K_LOCAL)
		return;
	if (e->kind == K_BAD) { /* refused at the head, whatever else */
		if (m->status != 400)
			PH_FAIL("request %u: malformed, answered %d", e->id,
				m->status);
		return;
	}
	if (m->status == 200 && e->kind == K_NORMAL) {
		bool body_ok = m->body_len == e->resp_len;

		for (size_t i = 0; body_ok && i < m->body_len; i++)
			body_ok = m->body[i] == resp_byte(e->id, i);
		if (m->xid != (long)e->id || m->xbody != (long)e->body_len ||
		    !body_ok)
			PH_FAIL("request %u: 200 with X-Id %ld X-Body %ld, "
				"body %zu bytes %s (want %u, %u bytes)",
				e->id, m->xid, m->xbody, m->body_len,
				body_ok ? "ok" : "wrong", e->body_len,
				e->resp_len);
		else
			ph_answers_ok++;
		return;
	}
	if (m->status == 500) { /* a replica failed or timed out */
		static const char ray[] = HTTP_FE_RAY_500;

		if (m->total != sizeof(ray) - 1)
			PH_FAIL("request %u: a 500 that is not Ray's", e->id);
		return;
	}
	if (m->status == 503 || m->status == 429)
		return; /* no server could take it; a limit refused it */
	PH_FAIL("request %u (kind %d): unexpected status %d", e->id, e->kind,
		m->status);
}

static inline void ph_client_parse(struct ph_client *cl)
{
	for (;;) {
		struct tm_msg m;
		long n = tm_parse(cl->in.p + cl->parsed,
				  cl->in.len - cl->parsed, true, &m);

		if (n == 0)
			return;
		if (n < 0) {
			PH_FAIL("client %d: garbage from the proxy",
				(int)(cl - ph_cli));
			cl->parsed = cl->in.len;
			return;
		}
		cl->last_len = (size_t)n < sizeof(cl->last) ? (size_t)n :
							      sizeof(cl->last);
		memcpy(cl->last, cl->in.p + cl->parsed, cl->last_len);
		cl->parsed += (size_t)n;
		ph_check_response(cl, &m);
		if (cl->parsed == cl->in.len)
			cl->in.len = cl->parsed = 0;
	}
}

static inline void c_recv(struct tcp_conn *c, void *u, struct rte_mbuf *m)
{
	struct ph_client *cl = u;
	uint32_t n = rte_pktmbuf_pkt_len(m);

	for (struct rte_mbuf *x = m; x; x = x->next)
		buf_put(&cl->in, rte_pktmbuf_mtod(x, char *), x->data_len);
	rte_pktmbuf_free(m);
	cl->rx_total += n;
	if (cl->rate)
		cl->unread += n;
	else
		tcp_recv_done(c, n);
	ph_client_parse(cl);
}

static inline void c_connected(struct tcp_conn *c, void *u)
{
	struct ph_client *cl = u;

	cl->connected = true;
	ph_flush(c, &cl->out, &cl->sent);
}

static inline void c_writable(struct tcp_conn *c, void *u)
{
	struct ph_client *cl = u;

	ph_flush(c, &cl->out, &cl->sent);
}

static inline void c_peer_fin(struct tcp_conn *c, void *u)
{
	struct ph_client *cl = u;

	cl->fin = true;
	cl->gone = true;
	cl->c = NULL;
	tcp_close(c); /* the proxy closed: so do we */
}

static inline void c_error(struct tcp_conn *c, void *u, enum tcp_error e)
{
	struct ph_client *cl = u;

	(void)c, (void)e;
	cl->gone = cl->reset = true;
	cl->c = NULL;
}

static inline void c_closed(struct tcp_conn *c, void *u)
{
	struct ph_client *cl = u;

	(void)c;
	cl->gone = true;
	cl->c = NULL;
}

static const struct tcp_conn_ops ph_client_ops = {
	.on_connected = c_connected,
	.on_recv = c_recv,
	.on_writable = c_writable,
	.on_peer_fin = c_peer_fin,
	.on_error = c_error,
	.on_closed = c_closed,
};

static inline struct ph_client *ph_connect(void)
{
	for (int i = 0; i < PH_CLIENTS; i++) {
		struct ph_client *cl = &ph_cli[i];
		int err = 0;

		if (cl->used)
			continue;
		buf_free(&cl->out);
		buf_free(&cl->in);
		memset(cl, 0, sizeof(*cl));
		cl->used = true;
		cl->c = tcp_connect(ph_node[N_CLIENT].stk, PH_IP(N_CLIENT),
				    PH_IP(N_PROXY), PH_PORT, &ph_client_ops, cl,
				    &err);
		if (!cl->c)
			PH_FAIL("client connect: %d", err);
		return cl;
	}
	PH_FAIL("no client slot");
	return NULL;
}

/* Appends raw bytes to the client's stream. */
static inline void ph_write(struct ph_client *cl, const void *d, size_t n)
{
	if (cl->sent == cl->out.len)
		cl->out.len = cl->sent = 0;
	buf_put(&cl->out, d, n);
	if (cl->c && cl->connected)
		ph_flush(cl->c, &cl->out, &cl->sent);
}

struct ph_req {
	uint32_t id, resp_len, body_len;
	bool resp_chunked, req_chunked;
	uint32_t delay_ms, rst;
	enum ph_kind kind;
	bool close; /* Connection: close */
};

/* Writes a request as the client would and records what it expects;
 * bytes past `cut` (request bytes, 0: all) are not written. Returns the
 * request's length. */
static inline size_t ph_request(struct ph_client *cl, const struct ph_req *r,
				size_t cut)
{
	struct ph_buf b = { 0 };
	bool body = r->body_len || r->req_chunked;

	if (r->kind == K_BAD) /* two Content-Length values: 400 */
		buf_printf(&b,
			   "POST /app/BAD-%u HTTP/1.1\r\nHost: t\r\n"
			   "Content-Length: 4\r\nContent-Length: 5\r\n\r\n"
			   "BAD-",
			   r->id);
	else
		buf_printf(&b,
			   "%s /app/r?id=%u&len=%u&te=%d&delay=%u&rst=%u "
			   "HTTP/1.1\r\nHost: t\r\nX-Id: %u\r\n%s",
			   body ? "POST" : "GET", r->id, r->resp_len,
			   r->resp_chunked, r->delay_ms, r->rst, r->id,
			   r->close ? "Connection: close\r\n" : "");
	if (r->kind != K_BAD && r->req_chunked) {
		buf_printf(&b, "Transfer-Encoding: chunked\r\n\r\n");
		for (size_t i = 0, k = 0; i < r->body_len; k++) {
			size_t n = 1 + (r->id * 31 + k * 977) % 3000;

			n = n > r->body_len - i ? r->body_len - i : n;
			buf_printf(&b, "%zx\r\n", n);
			for (size_t j = 0; j < n; j++, i++) {
				char ch = req_byte(r->id, i);

				buf_put(&b, &ch, 1);
			}
			buf_printf(&b, "\r\n");
		}
		buf_printf(&b, "0\r\n\r\n");
	} else if (r->kind != K_BAD) {
		if (body)
			buf_printf(&b, "Content-Length: %u\r\n", r->body_len);
		buf_printf(&b, "\r\n");
		for (size_t i = 0; i < r->body_len; i++) {
			char ch = req_byte(r->id, i);

			buf_put(&b, &ch, 1);
		}
	}
	if (cl->n_exp < PH_EXPECT_MAX)
		cl->exp[cl->n_exp++] =
			(struct ph_expect){ .id = r->id,
					    .kind = r->kind,
					    .resp_len = r->resp_len,
					    .body_len = r->body_len };
	else
		PH_FAIL("too many requests on one connection");
	ph_write(cl, b.p, cut && cut < b.len ? cut : b.len);
	size_t len = b.len;

	buf_free(&b);
	return len;
}

/* The client lets go: abort (RST) or close (FIN). */
static inline void ph_client_close(struct ph_client *cl, bool abort)
{
	cl->we_closed = true;
	if (cl->c) {
		if (abort)
			tcp_abort(cl->c);
		else
			tcp_close(cl->c);
	}
	cl->c = NULL;
	cl->gone = true;
}

/* Every request answered once, unless the connection was let go or cut
 * for a reason that excuses the rest: the client closed it, a response
 * ended the connection (an error, or Connection: close), or a replica
 * reset the request being answered. Marks the slot free. */
static inline void ph_client_retire(struct ph_client *cl)
{
	ph_client_parse(cl);
	if (cl->n_answered < cl->n_exp) {
		struct ph_expect *e = &cl->exp[cl->n_answered];

		if (!cl->we_closed && !cl->saw_close && e->kind != K_RST)
			PH_FAIL("client %d: request %u (kind %d) never "
				"answered (%s)",
				(int)(cl - ph_cli), e->id, e->kind,
				cl->reset ? "reset" :
				cl->fin	  ? "closed" :
					    "open");
	}
	cl->used = false;
}

/* ---- the scripted replicas ---- */

struct ph_rconn {
	struct tcp_conn *c;
	int replica;
	struct ph_buf in, out;
	size_t parsed, sent, scanned;
	uint64_t rx_total;
	uint32_t unread;
	bool busy, responded, close_after;
	bool counted; /* its first bytes were seen (accepted counted) */
	bool route; /* answering a router call */
	bool busy_counted; /* in its replica's busy_now */
	uint64_t respond_at, idle_since;
	uint32_t id, len, te, rst, body_len;
	uint16_t status; /* of the response: 200, or a health answer */
	size_t rst_at; /* out offset where the reset comes */
	struct ph_rconn *next;
};

struct ph_replica {
	int node;
	uint32_t read_rate; /* bytes acknowledged per tick; 0 all */
	uint64_t idle_close_ns; /* closes connections idle that long */
	/* accepted: connections that carried bytes (the proxy's health checks
	 * apart) */
	uint64_t accepted, requests, healthz, bad_bytes, resets;
	uint16_t hz_status; /* its health answer: 0 is 200 */
	uint32_t hz_delay_ms; /* answered that late */
	uint64_t hz_first_bad; /* vnow of the first answer other than 200 */
	uint64_t max_queued; /* largest unsent response backlog */
	uint32_t busy_now, busy_max; /* requests it is answering at once */
	struct ph_rconn *conns;
	/* as a router (ph_router_mask) */
	const char *router_answer; /* its answer's body */
	uint16_t router_status; /* 0 is 200 */
	uint32_t router_delay_ms;
	uint64_t routes; /* calls it got */
	struct tm_msg route_msg; /* the last call's head (body pointer aside) */
	struct ph_buf route_body; /* and body */
};

static struct ph_replica ph_rep[PH_REP_MAX];
static unsigned int ph_router_mask; /* replicas that are router targets */
static uint8_t ph_router_failure; /* the backend's knobs, patched in */
static uint32_t ph_router_timeout_ms;
static unsigned int ph_n_rep;
/* What ph_setup puts in the table: the group's extra JSON members (e.g.
 * ",\"health_check\":{...}"), whether the last replica is the fallback
 * rather than a target, and the path the replicas answer as health. */
static const char *ph_group_extra = "";
static bool ph_last_is_fallback;
static const char *ph_hz_path = "/-/healthz";

static inline void ph_rconn_free(struct ph_rconn *rc)
{
	struct ph_rconn **pp = &ph_rep[rc->replica].conns;

	if (rc->busy_counted)
		ph_rep[rc->replica].busy_now--;
	while (*pp != rc)
		pp = &(*pp)->next;
	*pp = rc->next;
	buf_free(&rc->in);
	buf_free(&rc->out);
	free(rc);
}

/* Checks and answers the next complete request, if any. */
static inline void ph_rconn_next(struct ph_rconn *rc)
{
	struct ph_replica *r = &ph_rep[rc->replica];
	struct tm_msg m;
	long n;

	if (rc->busy)
		return;
	n = tm_parse(rc->in.p + rc->parsed, rc->in.len - rc->parsed, false, &m);
	if (n <= 0) {
		if (n < 0)
			PH_FAIL("replica %d: a malformed request", rc->replica);
		return;
	}
	rc->parsed += (size_t)n;
	if (rc->parsed == rc->in.len)
		rc->in.len = rc->parsed = rc->scanned = 0;
	rc->busy = true;
	rc->responded = false;
	rc->close_after = m.close;
	rc->status = 200;
	rc->route = false;
	if (!strcmp(m.target, ph_hz_path)) {
		r->healthz++;
		rc->id = rc->len = rc->te = rc->rst = 0;
		rc->respond_at = vnow + (uint64_t)r->hz_delay_ms * MS;
		rc->body_len = 0;
		rc->status = r->hz_status ? r->hz_status : 200;
		if (rc->status != 200 && !r->hz_first_bad)
			r->hz_first_bad = vnow;
		return;
	}
	if (!strcmp(m.target, "/internal/route")) {
		r->routes++;
		r->route_msg = m;
		r->route_body.len = 0;
		buf_put(&r->route_body, m.body, m.body_len);
		rc->route = true;
		rc->close_after = true; /* HTTP/1.0 */
		rc->status = r->router_status ? r->router_status : 200;
		rc->respond_at = vnow + (uint64_t)r->router_delay_ms * MS;
		return;
	}
	rc->route = false;
	r->requests++;
	rc->busy_counted = true; /* a request (a health check is not) */
	if (++r->busy_now > r->busy_max)
		r->busy_max = r->busy_now;
	rc->id = (uint32_t)tm_query(m.target, "id");
	rc->len = (uint32_t)tm_query(m.target, "len");
	rc->te = (uint32_t)tm_query(m.target, "te");
	rc->rst = (uint32_t)tm_query(m.target, "rst");
	rc->respond_at = vnow + (uint64_t)tm_query(m.target, "delay") * MS;
	rc->body_len = (uint32_t)m.body_len;
	if (m.xid != (long)rc->id)
		PH_FAIL("replica %d: X-Id %ld for id %u", rc->replica, m.xid,
			rc->id);
	for (size_t i = 0; i < m.body_len; i++)
		if (m.body[i] != req_byte(rc->id, i)) {
			PH_FAIL("replica %d: request %u body byte %zu wrong",
				rc->replica, rc->id, i);
			break;
		}
}

static inline void ph_rconn_respond(struct ph_rconn *rc)
{
	struct ph_buf *o = &rc->out;
	size_t body_start;
	const char *ans = ph_rep[rc->replica].router_answer;

	if (rc->route) {
		ans = ans ? ans : "";
		buf_printf(o,
			   "HTTP/1.0 %u X\r\nContent-Type: application/json\r\n"
			   "Content-Length: %zu\r\n\r\n",
			   rc->status, strlen(ans));
		buf_put(o, ans, strlen(ans));
		rc->rst_at = 0;
		rc->responded = true;
		return;
	}
	if (rc->te)
		buf_printf(o,
			   "HTTP/1.1 %u X\r\nX-Id: %u\r\nX-Body: %u\r\n"
			   "Transfer-Encoding: chunked\r\n%s\r\n",
			   rc->status, rc->id, rc->body_len,
			   rc->close_after ? "Connection: close\r\n" : "");
	else
		buf_printf(o,
			   "HTTP/1.1 %u X\r\nX-Id: %u\r\nX-Body: %u\r\n"
			   "Content-Length: %u\r\n%s\r\n",
			   rc->status, rc->id, rc->body_len, rc->len,
			   rc->close_after ? "Connection: close\r\n" : "");
	body_start = o->len;
	for (size_t i = 0, k = 0; i < rc->len; k++) {
		size_t n = rc->te ? 1 + (rc->id * 17 + k * 1231) % 4000 :
				    rc->len;

		n = n > rc->len - i ? rc->len - i : n;
		if (rc->te)
			buf_printf(o, "%zx\r\n", n);
		for (size_t j = 0; j < n; j++, i++) {
			char ch = resp_byte(rc->id, i);

			buf_put(o, &ch, 1);
		}
		if (rc->te)
			buf_printf(o, "\r\n");
	}
	if (rc->te)
		buf_printf(o, "0\r\n\r\n");
	rc->rst_at = rc->rst ? body_start + rc->rst : 0;
	rc->responded = true;
}

/* A replica connection moves on: called by the clock (clock: the slow
 * reader's allowance comes back) and by its callbacks. Returns false once
 * it is gone. */
static inline bool ph_rconn_tick(struct ph_rconn *rc, bool clock)
{
	struct ph_replica *r = &ph_rep[rc->replica];

	if (clock && rc->unread) {
		uint32_t k = r->read_rate && r->read_rate < rc->unread ?
				     r->read_rate :
				     rc->unread;

		tcp_recv_done(rc->c, k);
		rc->unread -= k;
	}
	ph_rconn_next(rc);
	if (rc->busy && !rc->responded && vnow >= rc->respond_at)
		ph_rconn_respond(rc);
	if (rc->busy && rc->responded) {
		size_t lim = rc->rst_at ? rc->rst_at : rc->out.len;
		struct ph_buf cut = rc->out;

		cut.len = lim;
		ph_flush(rc->c, &cut, &rc->sent);
		if (rc->out.len - rc->sent > r->max_queued)
			r->max_queued = rc->out.len - rc->sent;
		if (rc->rst_at && rc->sent == lim &&
		    tcp_send_queued(rc->c) == 0) {
			r->resets++;
			tcp_abort(rc->c);
			ph_rconn_free(rc);
			return false;
		}
		if (rc->sent < rc->out.len)
			return true;
		rc->busy = false;
		if (rc->busy_counted)
			ph_rep[rc->replica].busy_now--;
		rc->busy_counted = false;
		rc->out.len = rc->sent = 0;
		rc->idle_since = vnow;
		if (rc->close_after) {
			tcp_close(rc->c);
			ph_rconn_free(rc);
			return false;
		}
		ph_rconn_next(rc);
		return true;
	}
	if (!rc->busy && r->idle_close_ns && rc->parsed == rc->in.len &&
	    vnow - rc->idle_since >= r->idle_close_ns) {
		tcp_close(rc->c);
		ph_rconn_free(rc);
		return false;
	}
	return true;
}

static inline void r_recv(struct tcp_conn *c, void *u, struct rte_mbuf *m)
{
	struct ph_rconn *rc = u;
	struct ph_replica *r = &ph_rep[rc->replica];
	uint32_t n = rte_pktmbuf_pkt_len(m);
	size_t from;

	for (struct rte_mbuf *x = m; x; x = x->next)
		buf_put(&rc->in, rte_pktmbuf_mtod(x, char *), x->data_len);
	rte_pktmbuf_free(m);
	rc->rx_total += n;
	if (!rc->counted) { /* its first bytes: the proxy's own check? */
		char hc[96];
		int k = snprintf(hc, sizeof(hc), "GET %s ", ph_hz_path);

		rc->counted = true;
		if (rc->in.len < (size_t)k || memcmp(rc->in.p, hc, (size_t)k))
			r->accepted++;
	}
	from = rc->scanned > 3 ? rc->scanned - 3 : 0;
	for (char *p = rc->in.p + from;
	     (p = memmem(p, rc->in.len - (size_t)(p - rc->in.p), "BAD-", 4));
	     p += 4)
		r->bad_bytes += 4;
	rc->scanned = rc->in.len;
	if (r->read_rate)
		rc->unread += n;
	else
		tcp_recv_done(c, n);
	rc->idle_since = vnow;
	ph_rconn_tick(rc, false);
}

static inline void r_gone(struct tcp_conn *c, void *u, enum tcp_error e)
{
	(void)c, (void)e;
	ph_rconn_free(u);
}

static inline void r_closed(struct tcp_conn *c, void *u)
{
	r_gone(c, u, 0);
}

static inline void r_peer_fin(struct tcp_conn *c, void *u)
{
	tcp_close(c); /* the proxy let go: nothing more to answer */
	ph_rconn_free(u);
}

static inline void r_writable(struct tcp_conn *c, void *u)
{
	(void)c;
	ph_rconn_tick(u, false);
}

static const struct tcp_conn_ops ph_replica_ops = {
	.on_recv = r_recv,
	.on_writable = r_writable,
	.on_peer_fin = r_peer_fin,
	.on_error = r_gone,
	.on_closed = r_closed,
};

static inline int r_accept(struct tcp_conn *c, void *ctx)
{
	struct ph_replica *r = ctx;
	struct ph_rconn *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return -1;
	rc->c = c;
	rc->replica = (int)(r - ph_rep);
	rc->idle_since = vnow;
	rc->next = r->conns;
	r->conns = rc;
	tcp_conn_set_ops(c, &ph_replica_ops, rc);
	return 0;
}

/* ---- the proxy, set-up, time ---- */

static struct weir_table *ph_table;
static unsigned int ph_gen;
static unsigned int ph_pool_base; /* mbufs in use after set-up */

static inline uint64_t ph_ctr(enum proxy_counter c)
{
	return ph_px.ctr[c];
}

/* One tick of the world: time moves by dt, every timer runs, the
 * scripted peers act, the wire settles. */
static inline void ph_step(uint64_t dt)
{
	vnow += dt;
	for (int i = 0; i < PH_NODES; i++)
		if (ph_node[i].stk)
			tcp_timers_run(ph_node[i].stk);
	proxy_timers(&ph_px, vnow);
	for (int i = 0; i < PH_CLIENTS; i++) {
		struct ph_client *cl = &ph_cli[i];

		if (!cl->c)
			continue;
		if (cl->unread) { /* rate 0 now: what was held goes too */
			uint32_t k = cl->rate && cl->rate < cl->unread ?
					     cl->rate :
					     cl->unread;

			tcp_recv_done(cl->c, k);
			cl->unread -= k;
		}
		if (cl->connected)
			ph_flush(cl->c, &cl->out, &cl->sent);
	}
	for (unsigned int i = 0; i < ph_n_rep; i++)
		for (struct ph_rconn *rc = ph_rep[i].conns, *nx; rc; rc = nx) {
			nx = rc->next;
			ph_rconn_tick(rc, true);
		}
	ph_settle();
}

/* Runs ph_step(step) until `until` returns true or ns have passed.
 * Returns whether it came true. */
static inline bool ph_run_until(bool (*until)(void), uint64_t ns, uint64_t step)
{
	for (uint64_t t = 0; t < ns; t += step) {
		if (until && until())
			return true;
		ph_step(step);
	}
	return until ? until() : true;
}

static inline void ph_run(uint64_t ns)
{
	ph_run_until(NULL, ns, MS);
}

static inline void ph_eal_once(void)
{
	static bool done;

	if (!done) {
		h_eal_init();
		done = true;
	}
}

/* A world with n replicas (10.0.1.1.. :9000) behind one route, /app. */
static inline void ph_setup(unsigned int n, const struct proxy_config *pc_in)
{
	char json[4096], name[32];
	struct proxy_config pc;
	size_t off;

	ph_eal_once();
	ph_gen++;
	ph_errors = 0;
	memset(ph_rep, 0, sizeof(ph_rep));
	memset(ph_hold, 0, sizeof(ph_hold));
	memset(ph_blackhole_syn, 0, sizeof(ph_blackhole_syn));
	memset(ph_syns_dropped, 0, sizeof(ph_syns_dropped));
	ph_latency = 0;
	ph_answers = ph_answers_ok = 0;
	ph_n_rep = n;
	for (int i = 0; i < PH_NODES; i++) {
		ph_node[i].ip = PH_IP(i);
		ph_node[i].stk = NULL;
		if (i >= N_R0 + (int)n)
			continue;
		snprintf(name, sizeof(name), "n%d_%u", i, ph_gen);
		ph_node[i].stk = h_stack(name, &ph_node[i].cap, NULL);
		if (!ph_node[i].stk) {
			printf("Bail out! no stack\n");
			exit(1);
		}
	}
	off = (size_t)snprintf(
		json, sizeof(json),
		"{\"target_groups\":[{\"protocol\":\"HTTP\","
		"\"route_prefix\":\"/app\",\"app_name\":\"app\"%s,"
		"\"targets\":[",
		ph_group_extra);
	for (unsigned int pass = 0, k = 0; pass < 2; pass++) {
		if (pass == 1 && ph_router_mask) /* the router targets */
			off += (size_t)snprintf(
				json + off, sizeof(json) - off,
				"],\"ingress_request_router_targets\":[");
		k = 0;
		for (unsigned int i = 0; i < n; i++) {
			struct ph_replica *r = &ph_rep[i];
			bool fb = ph_last_is_fallback && i == n - 1;

			if (!!(ph_router_mask & 1u << i) != (pass == 1))
				continue;
			r->node = N_R0 + (int)i;
			tcp_listen(ph_node[r->node].stk, 0, PH_RPORT, r_accept,
				   r);
			off += (size_t)snprintf(
				json + off, sizeof(json) - off,
				"%s%s{\"ip\":\"10.0.1.%u\",\"port\":%u,"
				"\"instance_id\":\"\",\"name\":\"r%u\"}",
				fb  ? "]}],\"fallback_targets\":{\"HTTP\":" :
				k++ ? "," :
				      "",
				"", i + 1, PH_RPORT, i);
		}
	}
	snprintf(json + off, sizeof(json) - off, "%s",
		 ph_last_is_fallback ? "}}" : "]}]}");
	ph_table = fixture_table(json, 1);
	if (ph_table && ph_table->n_backends) { /* knobs the JSON cannot set */
		struct weir_table_backend *be =
			(struct weir_table_backend *)weir_table_backends(
				ph_table);

		be->knobs.router_failure = ph_router_failure;
		if (ph_router_timeout_ms)
			be->knobs.router_timeout_ms = ph_router_timeout_ms;
	}
	if (pc_in) {
		pc = *pc_in;
	} else {
		proxy_config_defaults(&pc);
		pc.max_sessions = 64;
		pc.max_backend_conns = 64;
	}
	pc.port = PH_PORT;
	snprintf(name, sizeof(name), "px%u", ph_gen);
	if (!ph_table ||
	    proxy_init(&ph_px, &pc, ph_node[N_PROXY].stk, pool, PH_IP(N_PROXY),
		       name, vnow) ||
	    proxy_set_table(&ph_px, ph_table)) {
		printf("Bail out! proxy set-up\n");
		exit(1);
	}
	ph_pool_base = rte_mempool_in_use_count(pool);
}

/* A proxy config small enough for tests, with Ray's defaults otherwise. */
static inline struct proxy_config ph_config(void)
{
	struct proxy_config pc;

	proxy_config_defaults(&pc);
	pc.max_sessions = 64;
	pc.max_backend_conns = 64;
	return pc;
}

/* Names the connections a stack still holds (a leak's diagnosis). */
static inline void ph_dump_tcbs(int n)
{
	uint32_t it = 0;
	const void *k;
	void *d;

	while (rte_hash_iterate(ph_node[n].stk->flows, &k, &d, &it) >= 0) {
		const struct tcp_conn *c = d;

		printf("#   left: port %u -> %u %s, %u bytes queued, "
		       "send window %u, %u bytes unread\n",
		       c->key.local_port, c->key.remote_port,
		       tcp_state_name(c->state), c->sndq_bytes, c->snd_wnd,
		       c->rcv_unread);
	}
}

/* Lets everything end (clients closed, pools idle out, TIME_WAIT over),
 * checks nothing leaked, and tears the world down. */
static inline void ph_teardown(void)
{
	for (int i = 0; i < PH_CLIENTS; i++) {
		if (ph_cli[i].used && !ph_cli[i].gone)
			ph_client_close(&ph_cli[i], false);
	}
	memset(ph_hold, 0, sizeof(ph_hold));
	/* no table: no new health check starts while everything ends (one
	 * may still be in flight; it ends within its timeout) */
	proxy_set_table(&ph_px, NULL);
	ph_run_until(NULL, 12 * SEC, 10 * MS);
	for (int i = 0; i < PH_CLIENTS; i++)
		if (ph_cli[i].used)
			ph_client_retire(&ph_cli[i]);
	if (rte_mempool_in_use_count(ph_px.sess_pool))
		PH_FAIL("%u sessions leaked",
			rte_mempool_in_use_count(ph_px.sess_pool));
	if (rte_mempool_in_use_count(ph_px.bconn_pool))
		PH_FAIL("%u backend connections leaked",
			rte_mempool_in_use_count(ph_px.bconn_pool));
	if (rte_mempool_in_use_count(ph_px.buf_pool))
		PH_FAIL("%u head buffers leaked",
			rte_mempool_in_use_count(ph_px.buf_pool));
	for (int i = 0; i < PH_NODES; i++)
		if (ph_node[i].stk && tcp_conn_count(ph_node[i].stk)) {
			PH_FAIL("node %d: %u TCBs left", i,
				tcp_conn_count(ph_node[i].stk));
			ph_dump_tcbs(i);
		}
	for (unsigned int i = 0; i < ph_n_rep; i++) {
		if (ph_rep[i].conns)
			PH_FAIL("replica %u: connections left", i);
		if (ph_rep[i].bad_bytes)
			PH_FAIL("replica %u: %llu bytes of a refused request",
				i, (unsigned long long)ph_rep[i].bad_bytes);
	}
	if (ph_line_n)
		PH_FAIL("%u packets still on the wire", ph_line_n);
	if (rte_mempool_in_use_count(pool) != ph_pool_base)
		PH_FAIL("mbufs in use: %u, baseline %u",
			rte_mempool_in_use_count(pool), ph_pool_base);
	for (unsigned int i = 0; i < ph_n_rep; i++) {
		while (ph_rep[i].conns)
			ph_rconn_free(ph_rep[i].conns);
		buf_free(&ph_rep[i].route_body);
	}
	for (int i = 0; i < PH_NODES; i++)
		if (ph_node[i].stk) {
			tcp_stack_free(ph_node[i].stk);
			ph_node[i].stk = NULL;
		}
	proxy_fini(&ph_px);
	free(ph_table);
	ph_table = NULL;
	for (int i = 0; i < PH_CLIENTS; i++) {
		buf_free(&ph_cli[i].out);
		buf_free(&ph_cli[i].in);
		memset(&ph_cli[i], 0, sizeof(ph_cli[i]));
	}
	if (ph_errors)
		wt_case_failed = 1;
}

#endif
