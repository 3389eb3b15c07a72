/* proxy_health: health as the proxy sees it: the node's, as /-/healthz
 * reports it; each server's state, decided by the one worker that owns it
 * and mirrored by the others (the bus); the owner's active checks (GET
 * <path>, the expected status, rise/fall at inter/fastinter/downinter);
 * and the export of every server's state and counters for weir-cp. A
 * check rides a backend connection in state B_PROBE; this file never
 * touches a session or the pool, and a worker never writes the state of
 * a server it does not own (only its mirror of it). */
#include <stdio.h>
#include <string.h>

#include <rte_mbuf.h>

#include "http/http_frontend.h"
#include "http/proxy_internal.h"
#include "tcp/tcp.h"

bool proxy_draining(const struct proxy *px)
{
	return px->draining ||
	       (px->table && px->table->flags & WEIR_TABLE_F_DRAINING);
}

enum http_fe_health proxy_health(struct proxy *px)
{
	if (proxy_draining(px))
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

/* ---- the owner and the bus ----------------------------------------------
 * One worker owns each server's state (owner_of, a function of the id):
 * it alone runs the state machine and the checks, and sends its word to
 * the others after every change. A message a full ring refuses is sent
 * again by the sweep (hb_dirty, hb_sync): states converge, never queue. */

static uint16_t owner_of(const struct proxy *px, uint64_t id)
{
	return px->bus.n <= 1 ? px->bus.self :
				(uint16_t)((id >> 16) % px->bus.n);
}

static bool is_owner(const struct proxy *px, const struct px_server *srv)
{
	return owner_of(px, srv->id) == px->bus.self;
}

static int bus_send(struct proxy *px, uint16_t to, const struct px_hmsg *m)
{
	int rc = px->bus.send(px->bus.ctx, to, m);

	if (rc)
		CNT(px, hbus_resent);
	return rc;
}

/* The owner tells every other worker its word. */
static void publish(struct proxy *px, struct px_server *srv)
{
	struct px_hmsg m = { .id = srv->id,
			     .word = lb_health_read(&srv->health),
			     .op = PX_HMSG_WORD,
			     .from = px->bus.self };

	srv->hb_dirty = false;
	for (uint16_t w = 0; w < px->bus.n; w++)
		if (w != px->bus.self && bus_send(px, w, &m))
			srv->hb_dirty = true;
}

/* After the owner's state machine ran: send the word if it changed. */
static void changed(struct proxy *px, struct px_server *srv, uint32_t before)
{
	uint32_t low = (1u << LB_HS_SEQ_SHIFT) - 1;

	if (px->bus.n > 1 &&
	    (lb_health_read(&srv->health) & low) != (before & low))
		publish(px, srv);
}

static void apply_event(struct proxy *px, struct px_server *srv, bool ok,
			enum lb_fail_reason why)
{
	uint32_t before = lb_health_read(&srv->health);

	if (ok)
		lb_health_on_success(&srv->health, px->now);
	else
		lb_health_on_failure(&srv->health, px->now, why);
	changed(px, srv, before);
}

void health_event(struct proxy *px, struct px_server *srv, bool ok,
		  enum lb_fail_reason why)
{
	struct px_hmsg m = { .id = srv->id,
			     .op = ok ? PX_HMSG_OK : PX_HMSG_FAIL,
			     .why = (uint8_t)why,
			     .from = px->bus.self };

	if (is_owner(px, srv)) {
		apply_event(px, srv, ok, why);
		return;
	}
	/* a success matters to the owner only while failures are counted */
	if (!ok || lb_health_read(&srv->health) & LB_HS_TRANSITIONAL)
		bus_send(px, owner_of(px, srv->id), &m); /* lost: passive */
}

void health_new_server(struct proxy *px, struct px_server *srv)
{
	srv->hb_sync = !is_owner(px, srv); /* ask for the owner's word */
}

void proxy_set_bus(struct proxy *px, const struct proxy_bus *bus)
{
	px->bus = *bus;
	if (px->bus.n == 0)
		px->bus.n = 1;
}

void proxy_health_msg(struct proxy *px, const struct px_hmsg *m)
{
	struct px_server *srv = proxy_server(px, m->id);
	struct px_hmsg w;

	if (!srv)
		return; /* not (or no longer) in our table: nothing to keep */
	switch (m->op) {
	case PX_HMSG_FAIL:
	case PX_HMSG_OK:
		if (is_owner(px, srv) && m->why < LB_FAIL__COUNT)
			apply_event(px, srv, m->op == PX_HMSG_OK,
				    (enum lb_fail_reason)m->why);
		break;
	case PX_HMSG_WORD:
		if (!is_owner(px, srv))
			lb_health_mirror(&srv->health, m->word, px->now);
		break;
	case PX_HMSG_SYNC:
		w = (struct px_hmsg){ .id = srv->id,
				      .word = lb_health_read(&srv->health),
				      .op = PX_HMSG_WORD,
				      .from = px->bus.self };
		if (is_owner(px, srv) && m->from < px->bus.n &&
		    bus_send(px, m->from, &w))
			srv->hb_dirty = true;
		break;
	default:
		break;
	}
}

/* ---- active checks ------------------------------------------------------
 * The owner checks each server of its table: GET <path> every inter while
 * UP, fastinter while going up or down, downinter while DOWN (lb_health
 * schedules), one at a time, a check unanswered within its timeout
 * failed. Router and fallback targets are servers like any other. */

static void start_probe(struct proxy *px, struct px_server *srv)
{
	struct px_bconn *b;
	uint32_t before = lb_health_read(&srv->health);

	if (!srv->ip || lb_health_probe_begin(&srv->health, px->now))
		return; /* -EBUSY: one already in flight */
	b = bconn_new(px, srv);
	if (!b) {
		lb_health_probe_failed(&srv->health, px->now, LB_FAIL_CONNECT);
		changed(px, srv, before);
		return;
	}
	b->state = B_PROBE;
	b->deadline = px->now + (uint64_t)srv->hc_timeout_ms * NS_PER_MS;
	tw_arm(&px->wheel, &b->timer, b->deadline);
	CNT(px, probes);
}

void health_sweep(struct proxy *px, struct px_server *srv, uint64_t now)
{
	struct px_hmsg m = { .id = srv->id,
			     .op = PX_HMSG_SYNC,
			     .from = px->bus.self };

	if (!is_owner(px, srv)) {
		if (srv->hb_sync && !bus_send(px, owner_of(px, srv->id), &m))
			srv->hb_sync = false;
		return;
	}
	if (srv->hb_dirty)
		publish(px, srv);
	if (lb_hs_admin(lb_health_read(&srv->health)) != LB_ADMIN_MAINT &&
	    lb_health_due(&srv->health, now))
		start_probe(px, srv);
}

/* Connected: sends the check's request, what HAProxy's httpchk sends. */
void probe_send(struct px_bconn *b)
{
	const struct px_server *srv = b->srv;
	const uint8_t *ip = (const uint8_t *)&srv->ip; /* network order */
	char req[WEIR_TABLE_HEALTH_PATH_MAX + 160];
	int n = snprintf(req, sizeof(req),
			 "GET %s HTTP/1.1\r\nHost: %u.%u.%u.%u:%u\r\n"
			 "User-Agent: weir-health\r\nConnection: close\r\n\r\n",
			 srv->hc_path[0] ? srv->hc_path : "/-/healthz", ip[0],
			 ip[1], ip[2], ip[3], srv->port);
	struct rte_mbuf *m = mbuf_from(b->px, req, (size_t)n);

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

/* Replica bytes: a complete head decides (the expected status: up), then
 * it closes. */
void probe_recv(struct px_bconn *b, struct rte_mbuf *m)
{
	struct proxy *px = b->px;
	struct px_server *srv = b->srv;
	uint32_t before = lb_health_read(&srv->health);
	uint16_t want = srv->hc_expect ? srv->hc_expect : 200;
	enum http_result r = HTTP_NEED_MORE;

	for (struct rte_mbuf *x = m; x && r == HTTP_NEED_MORE; x = x->next) {
		size_t used;

		r = http_head_feed(&b->resp, rte_pktmbuf_mtod(x, char *),
				   x->data_len, &used);
	}
	rte_pktmbuf_free(m);
	if (r == HTTP_NEED_MORE)
		return;
	if (r == HTTP_COMPLETE && b->resp.msg.status == want)
		lb_health_probe_ok(&srv->health, px->now);
	else
		lb_health_probe_failed(&srv->health, px->now, LB_FAIL_STATUS);
	changed(px, srv, before);
	b->resp_done = true; /* close gracefully */
	bconn_release(b, false);
}

/* The check's connection failed or timed out (its TCP connection is gone). */
void probe_failed(struct px_bconn *b, enum lb_fail_reason why)
{
	struct px_server *srv = b->srv;
	uint32_t before = lb_health_read(&srv->health);

	lb_health_probe_failed(&srv->health, b->px->now, why);
	changed(b->px, srv, before);
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
