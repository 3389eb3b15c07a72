/* Test applications: see testapp.h. Each mode is a handful of TCP
 * callbacks. Back-pressure is real: echo stops reading (no tcp_recv_done)
 * while its replies wait for send space, and source fills the send queue
 * only as on_writable frees it. */
#define OPENSSL_API_COMPAT \
	10101 /* SHA256_CTX lives in our mempool: no malloc */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "app/testapp.h"
#include "tcp/tcp.h"

#define PENDING_MAX 256 /* more than a full receive window of segments */

struct testapp_conn {
	struct testapp *app;
	enum cfg_app_mode mode;
	uint64_t to_send, sent, received;
	bool peer_fin, closing;
	struct rte_mbuf *held; /* source: built, refused by a full queue */
	uint16_t pend_head, pend_n;
	struct rte_mbuf *pend[PENDING_MAX]; /* echo replies awaiting space */
	SHA256_CTX sha;
};

static void conn_free(struct testapp_conn *tc)
{
	rte_pktmbuf_free(tc->held);
	while (tc->pend_n) {
		rte_pktmbuf_free(tc->pend[tc->pend_head]);
		tc->pend_head = (uint16_t)((tc->pend_head + 1) % PENDING_MAX);
		tc->pend_n--;
	}
	rte_mempool_put(tc->app->conns, tc);
}

static void finish(struct tcp_conn *c, struct testapp_conn *tc)
{
	tc->closing = true;
	tc->app->stats.completed++;
	tcp_close(c);
	conn_free(tc);
}

/* Source: queue pattern bytes until the stack says -EAGAIN (which is what
 * arms on_writable); the refused mbuf is kept for the next try. */
static void source_fill(struct tcp_conn *c, struct testapp_conn *tc)
{
	struct testapp *a = tc->app;

	while (tc->sent < tc->to_send || tc->held) {
		struct rte_mbuf *m = tc->held;
		uint32_t n;

		if (!m) {
			m = rte_pktmbuf_alloc(a->pkt_pool);
			if (!m)
				return; /* retried on the next on_writable */
			n = (uint32_t)RTE_MIN(
				tc->to_send - tc->sent,
				(uint64_t)rte_pktmbuf_tailroom(m));
			uint8_t *p =
				(uint8_t *)rte_pktmbuf_append(m, (uint16_t)n);
			for (uint32_t i = 0; i < n; i++)
				p[i] = (uint8_t)((tc->sent + i) %
						 TESTAPP_PATTERN_PERIOD);
			tc->sent += n;
		}
		n = rte_pktmbuf_pkt_len(m);
		if (tcp_send(c, m)) {
			tc->held = m;
			return;
		}
		tc->held = NULL;
		a->stats.bytes_out += n;
	}
	if (!tc->closing) {
		tc->closing = true;
		tcp_shutdown(c);
	}
}

/* Echo: send what waits, in order; re-open the window for what went out. */
static void echo_flush(struct tcp_conn *c, struct testapp_conn *tc)
{
	while (tc->pend_n) {
		struct rte_mbuf *m = tc->pend[tc->pend_head];
		uint32_t len = rte_pktmbuf_pkt_len(m);

		if (tcp_send(c, m))
			return;
		tc->pend_head = (uint16_t)((tc->pend_head + 1) % PENDING_MAX);
		tc->pend_n--;
		tc->app->stats.bytes_out += len;
		tcp_recv_done(c, len);
	}
	if (tc->peer_fin && !tc->closing) {
		tc->closing = true;
		tcp_shutdown(c); /* echo the half-close too */
	}
}

static void sink_answer(struct tcp_conn *c, struct testapp_conn *tc)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(tc->app->pkt_pool);
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char *p;

	SHA256_Final(digest, &tc->sha);
	if (!m || !(p = rte_pktmbuf_append(m, 2 * SHA256_DIGEST_LENGTH + 1))) {
		rte_pktmbuf_free(m);
		tc->app->stats.failed++;
		tcp_abort(c);
		conn_free(tc);
		return;
	}
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		sprintf(p + 2 * i, "%02x", digest[i]);
	p[2 * SHA256_DIGEST_LENGTH] = '\n';
	if (tcp_send(c, m))
		rte_pktmbuf_free(m);
	else
		tc->app->stats.sha_sent++;
	finish(c, tc);
}

static void on_recv(struct tcp_conn *c, void *user, struct rte_mbuf *m)
{
	struct testapp_conn *tc = user;
	uint32_t len = rte_pktmbuf_pkt_len(m);

	tc->received += len;
	tc->app->stats.bytes_in += len;
	if (tc->mode == APP_ECHO) {
		if (tc->pend_n ==
		    PENDING_MAX) { /* cannot happen within the window */
			rte_pktmbuf_free(m);
			tcp_recv_done(c, len);
			return;
		}
		tc->pend[(tc->pend_head + tc->pend_n) % PENDING_MAX] = m;
		tc->pend_n++;
		echo_flush(c, tc);
		return;
	}
	if (tc->mode == APP_SINK)
		for (struct rte_mbuf *s = m; s; s = s->next)
			SHA256_Update(&tc->sha, rte_pktmbuf_mtod(s, void *),
				      s->data_len);
	rte_pktmbuf_free(m);
	tcp_recv_done(c, len);
}

static void on_writable(struct tcp_conn *c, void *user)
{
	struct testapp_conn *tc = user;

	if (tc->mode == APP_ECHO)
		echo_flush(c, tc);
	else if (tc->mode == APP_SOURCE)
		source_fill(c, tc);
}

static void on_peer_fin(struct tcp_conn *c, void *user)
{
	struct testapp_conn *tc = user;

	tc->peer_fin = true;
	switch (tc->mode) {
	case APP_ECHO:
		echo_flush(c, tc);
		break;
	case APP_SINK:
		sink_answer(c, tc);
		break;
	case APP_SOURCE:
		if (tc->sent == tc->to_send && !tc->held)
			finish(c, tc);
		break;
	default:
		finish(c, tc);
	}
}

static void on_error(struct tcp_conn *c, void *user, enum tcp_error err)
{
	struct testapp_conn *tc = user;

	(void)c;
	if (err == TCP_ERR_REFUSED)
		tc->app->stats.refused++;
	else if (err == TCP_ERR_TIMEOUT)
		tc->app->stats.timeouts++;
	tc->app->stats.failed++;
	conn_free(tc);
}

static void on_closed(struct tcp_conn *c, void *user)
{
	struct testapp_conn *tc = user;

	(void)c;
	tc->app->stats.completed++;
	conn_free(tc);
}

static void start(struct tcp_conn *c, struct testapp_conn *tc)
{
	if (tc->mode == APP_SOURCE)
		source_fill(c, tc);
}

static void on_connected(struct tcp_conn *c, void *user)
{
	struct testapp_conn *tc = user;

	tc->app->stats.connected++;
	start(c, tc);
}

static const struct tcp_conn_ops ops = {
	.on_connected = on_connected,
	.on_recv = on_recv,
	.on_writable = on_writable,
	.on_peer_fin = on_peer_fin,
	.on_error = on_error,
	.on_closed = on_closed,
};

static struct testapp_conn *conn_new(struct testapp *a, enum cfg_app_mode mode,
				     uint64_t bytes)
{
	struct testapp_conn *tc;

	if (rte_mempool_get(a->conns, (void **)&tc))
		return NULL;
	memset(tc, 0, offsetof(struct testapp_conn, pend));
	tc->app = a;
	tc->mode = mode;
	tc->to_send = mode == APP_SOURCE ? bytes : 0;
	if (mode == APP_SINK)
		SHA256_Init(&tc->sha);
	return tc;
}

static int on_accept(struct tcp_conn *c, void *ctx)
{
	struct testapp_listener *l = ctx;
	struct testapp_conn *tc = conn_new(l->app, l->mode, l->bytes);

	if (!tc)
		return -ENOMEM; /* refused with RST */
	l->app->stats.accepted++;
	tcp_conn_set_ops(c, &ops, tc);
	start(c, tc);
	return 0;
}

int testapp_connect(struct testapp *a, uint32_t ip, uint16_t port,
		    enum cfg_app_mode mode, uint64_t bytes)
{
	struct testapp_conn *tc = conn_new(a, mode, bytes);
	struct tcp_conn *c;
	int err = 0;

	if (!tc)
		return -ENOMEM;
	c = tcp_connect(a->tcp, a->local_ip, ip, port, &ops, tc, &err);
	if (!c) {
		a->stats.failed++;
		conn_free(tc);
		return err ? err : -ENOMEM;
	}
	return 0;
}

int testapp_init(struct testapp *a, struct tcp_stack *tcp,
		 struct rte_mempool *pkt_pool, const struct dp_config *cfg,
		 const char *name)
{
	int rc;

	memset(a, 0, sizeof(*a));
	a->tcp = tcp;
	a->pkt_pool = pkt_pool;
	a->local_ip = rte_be_to_cpu_32(cfg->local_ip);
	a->conns = rte_mempool_create(name, cfg->tcp.max_connections,
				      sizeof(struct testapp_conn), 0, 0, NULL,
				      NULL, NULL, NULL, SOCKET_ID_ANY, 0);
	if (!a->conns)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->n_apps; i++) {
		struct testapp_listener *l = &a->listeners[a->n_listeners++];

		l->app = a;
		l->mode = cfg->apps[i].mode;
		l->bytes = cfg->apps[i].bytes;
		rc = tcp_listen(tcp, 0, cfg->apps[i].port, on_accept, l);
		if (rc)
			return rc;
	}
	return 0;
}

void testapp_fini(struct testapp *a)
{
	rte_mempool_free(a->conns);
	a->conns = NULL;
}
