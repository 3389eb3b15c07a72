/* The HTTP reverse proxy of one worker: see proxy.h. This file keeps
 * what belongs to no one side: counter names, the mbuf helper, the sweep
 * timer, set-up and tear-down. The rest, in reading order:
 * proxy_session.c (the client side), proxy_relay.c (the response),
 * proxy_backend.c (pool, dispatch, retries), proxy_health.c (server
 * health, checks), proxy_table.c (table adoption); proxy_internal.h names the
 * states and the two rules that keep lifetimes simple. Nothing here runs
 * per packet. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_random.h>

#include "http/proxy_internal.h"
#include "tcp/tcp.h"

#define SWEEP_NS 50000000ull /* pool idle and re-probe sweep: 50 ms */

const char *proxy_counter_name(unsigned int id)
{
	static const char *const names[] = {
#define PX_X_NAME(n, h) #n,
		PROXY_COUNTERS(PX_X_NAME)
#undef PX_X_NAME
	};
	return id < PX_CTR_MAX ? names[id] : NULL;
}

/* Builds an mbuf chain holding len bytes of buf (for heads we wrote). */
struct rte_mbuf *mbuf_from(struct proxy *px, const char *buf, size_t len)
{
	struct rte_mbuf *head = NULL, *tail = NULL;

	while (len) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(px->pkt_pool);
		uint16_t n;

		if (!m) {
			rte_pktmbuf_free(head);
			return NULL;
		}
		n = (uint16_t)RTE_MIN(len, (size_t)rte_pktmbuf_tailroom(m));
		memcpy(rte_pktmbuf_append(m, n), buf, n);
		buf += n;
		len -= n;
		if (!head) {
			head = m;
		} else {
			tail->next = m;
			head->nb_segs++;
			head->pkt_len += n;
		}
		tail = m;
	}
	return head;
}

/* ---- the node drain -------------------------------------------------------
 * Seen by the sweep: from its start every response carries Connection:
 * close (sess_route, relay_head); once the table's grace has passed the
 * listener goes, so new connections are refused, and the keep-alive
 * connections still idle are closed (not before: a client may be sending
 * on one as we close it, and upstream balancers need the grace to move
 * away); what is in flight finishes. Drained is measured, by weir-cp: no session left on any
 * worker (the export's sessions_now and refusing). */

static bool idle_session(const struct px_sess *s)
{
	return s->state == S_HEAD && s->req.len == 0 && s->in.n == 0 &&
	       !s->bc && !s->held_out;
}

static void drain_tick(struct proxy *px, uint64_t now)
{
	bool on = proxy_draining(px);
	uint64_t grace = px->table ? px->table->drain_grace_ms * NS_PER_MS : 0;

	if (on && !px->drain_t0)
		px->drain_t0 = now ? now : 1;
	if (on && !px->refusing && now - px->drain_t0 >= grace) {
		tcp_unlisten(px->tcp, 0, px->cfg.port);
		px->refusing = true;
		for (struct px_sess *s = px->sessions, *nx; s; s = nx) {
			nx = s->next;
			if (idle_session(s))
				sess_close(s);
		}
	}
	if (!on && px->drain_t0) {
		px->drain_t0 = 0;
		if (px->refusing && tcp_listen(px->tcp, 0, px->cfg.port,
					       sess_on_accept, px) == 0)
			px->refusing = false;
	}
}

/* ---- timers ------------------------------------------------------------- */

static void sweep(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct proxy *px = container_of(e, struct proxy, sweep);
	uint64_t idle_ns = px->cfg.pool_idle_ms * NS_PER_MS;

	drain_tick(px, now);
	for (uint32_t i = 0; i < px->servers_cap; i++) {
		struct px_server *srv = &px->servers[i];

		if (!srv->id)
			continue;
		pool_expire(srv, now, idle_ns);
		if (srv->in_table)
			health_sweep(px, srv, now);
	}
	tw_arm(w, e, now + SWEEP_NS);
}

void proxy_timers(struct proxy *px, uint64_t now)
{
	px->now = now;
	tw_advance(&px->wheel, now);
	if (px->q_kick && px->q_head)
		limits_kick(px);
}

uint64_t proxy_next_timer(const struct proxy *px)
{
	return tw_next_expiry(&px->wheel);
}

/* ---- set-up ------------------------------------------------------------- */

void proxy_config_defaults(struct proxy_config *c)
{
	memset(c, 0, sizeof(*c));
	c->port = 8000;
	c->max_sessions = 4096;
	c->max_backend_conns = 4096;
	c->head_max = 16384;
	c->replay_max = 16384;
	c->timeout_client_ms = 3600000;
	c->timeout_keep_alive_ms = 90000;
	c->pool_idle_ms = 4000;
	c->retries = 1;
	c->router_buffer = 262144;
	c->ray_500 = true;
}

static struct rte_mempool *make_pool(const char *name, const char *what,
				     uint32_t n, uint32_t size)
{
	char pool[RTE_MEMPOOL_NAMESIZE];

	snprintf(pool, sizeof(pool), "%s_%s", name, what);
	return rte_mempool_create(pool, n, size, 0, 0, NULL, NULL, NULL, NULL,
				  SOCKET_ID_ANY, 0);
}

int proxy_init(struct proxy *px, const struct proxy_config *cfg,
	       struct tcp_stack *tcp, struct rte_mempool *pkt_pool,
	       uint32_t local_ip, const char *name, uint64_t now)
{
	memset(px, 0, sizeof(*px));
	px->cfg = *cfg;
	px->tcp = tcp;
	px->pkt_pool = pkt_pool;
	px->local_ip = local_ip;
	px->now = now;
	px->req_id_salt = (uint32_t)rte_rand();
	px->sess_pool = make_pool(name, "ss", cfg->max_sessions,
				  sizeof(struct px_sess));
	px->bconn_pool = make_pool(name, "bc", cfg->max_backend_conns,
				   sizeof(struct px_bconn));
	px->buf_pool = make_pool(name, "hb",
				 cfg->max_sessions + cfg->max_backend_conns,
				 cfg->head_max);
	px->servers_cap = 4096;
	px->servers =
		rte_zmalloc(NULL, sizeof(*px->servers) * px->servers_cap, 64);
	px->srv_index_mask = px->servers_cap * 2 - 1;
	px->srv_index = rte_zmalloc(
		NULL, sizeof(*px->srv_index) * (px->srv_index_mask + 1), 64);
	px->routes_json = rte_malloc(NULL, 65536, 0);
	px->scratch = rte_malloc(NULL, 65536, 0);
	if (!px->sess_pool || !px->bconn_pool || !px->buf_pool ||
	    !px->servers || !px->srv_index || !px->routes_json || !px->scratch)
		return -ENOMEM;
	lb_ctx_init_strided(&px->lb, &px->servers[0].load,
			    sizeof(px->servers[0]), &px->servers[0].health,
			    sizeof(px->servers[0]), px->servers_cap,
			    rte_rand());
	px->bus = (struct proxy_bus){ .self = 0, .n = 1 };
	if (limits_init(px))
		return -ENOMEM;
	tw_init(&px->wheel, 0, now);
	tw_entry_init(&px->sweep, sweep);
	tw_arm(&px->wheel, &px->sweep, now + SWEEP_NS);
	return tcp_listen(tcp, 0, cfg->port, sess_on_accept, px);
}

void proxy_fini(struct proxy *px)
{
	limits_fini(px);
	rte_mempool_free(px->sess_pool);
	rte_mempool_free(px->bconn_pool);
	rte_mempool_free(px->buf_pool);
	rte_free(px->servers);
	rte_free(px->srv_index);
	rte_free(px->routes_json);
	rte_free(px->scratch);
	rte_free(px->members);
	rte_free(px->wrr);
	rte_free(px->backends);
}
