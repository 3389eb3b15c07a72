/* proxy_health: health as the proxy sees it: the node's, as /-/healthz
 * reports it, the active probes that bring a server marked down back
 * up (GET /-/healthz, 200 expected), and the export of every server's
 * state and counters for weir-cp (proxy_export). A probe rides a backend connection
 * in state B_PROBE; this file decides what its outcome means for the
 * server's lb_health and never touches a session or the pool. */
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "http/http_frontend.h"
#include "http/proxy_internal.h"
#include "tcp/tcp.h"

enum http_fe_health proxy_health(struct proxy *px)
{
	if (px->draining ||
	    (px->table && px->table->flags & WEIR_TABLE_F_DRAINING))
		return HTTP_FE_DRAINING;
	if (!px->table)
		return HTTP_FE_UNPOPULATED; /* no table yet, even an empty one */
	if (!px->table->n_http_backends)
		return HTTP_FE_NO_APPS;
	for (uint32_t i = 0; i < px->table->n_http_backends; i++)
		if (lb_pool_nbsrv(&px->lb, &px->backends[i].pool))
			return HTTP_FE_HEALTHY;
	return HTTP_FE_UNHEALTHY;
}

/* ---- active probes ------------------------------------------------------
 * One probe at a time per server, only for a server lb_health marks due
 * (a down server, every downinter). The next step grows this into full
 * active checks (per target group path, inter/fastinter/rise/fall): the
 * calls below are its whole interface with the rest of the proxy. */

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

/* Starts a re-probe of srv if its health says one is due (the sweep). */
void probe_if_due(struct proxy *px, struct px_server *srv, uint64_t now)
{
	if (lb_health_due(&srv->health, now))
		start_probe(px, srv);
}

/* Connected: sends the probe's request, what HAProxy's check sends. */
void probe_send(struct px_bconn *b)
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

/* Replica bytes: a complete head decides (200: up), then it closes. */
void probe_recv(struct px_bconn *b, struct rte_mbuf *m)
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

/* The probe's connection failed or timed out (its TCP connection is gone). */
void probe_failed(struct px_bconn *b, enum lb_fail_reason why)
{
	lb_health_probe_failed(&b->srv->health, b->px->now, why);
	bconn_release(b, false);
}

/* ---- the stats export --------------------------------------------------- */

uint32_t proxy_export(const struct proxy *px, struct weir_ctl_srv_stat *out,
		      uint32_t cap)
{
	uint32_t n = px->servers_cap < cap ? px->servers_cap : cap, used = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct px_server *srv = &px->servers[i];
		struct weir_ctl_srv_stat *o = &out[i];

		o->id = srv->id;
		if (!srv->id)
			continue;
		used = i + 1;
		o->scur = srv->load.active;
		o->smax = srv->smax;
		o->stot = srv->requests;
		o->econ = srv->econ;
		o->eresp = srv->failures - srv->econ;
		o->wretr = srv->retries_from;
		o->idle = srv->n_idle;
		for (unsigned int k = 1; k <= 5; k++) /* resp[] by class */
			o->hrsp[k - 1] = srv->resp[k];
		o->hrsp[5] = srv->resp[0];
		o->chkdown = atomic_load_explicit(&srv->health.went_down,
						  memory_order_relaxed);
		o->chkup = atomic_load_explicit(&srv->health.went_up,
						memory_order_relaxed);
		snprintf(o->status, sizeof(o->status), "%s",
			 lb_hs_status(lb_health_read(&srv->health)));
	}
	return used;
}
