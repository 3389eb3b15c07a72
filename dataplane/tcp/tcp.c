/* The socket-like API and the stack's lifecycle; see tcp.h. Connections
 * released while a callback may still hold them are parked on a list and
 * returned to the pool when the outermost entry point leaves the stack. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "tcp/tcp_flow.h"
#include "tcp/tcp_internal.h"

void tcp_config_defaults(struct tcp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_conns = 1024;
	cfg->mss = 1460;
	cfg->rcv_buf = 256 * 1024;
	cfg->snd_mbufs = 128;
	cfg->mbuf_reserve = 256;
	cfg->rto_min_us = TCP_RTO_MIN_DEFAULT_US;
	cfg->rto_max_us = TCP_RTO_MAX_DEFAULT_US;
	cfg->syn_retries = 5;
	cfg->data_retries = 8;
	cfg->delack_us = 40000;
	cfg->time_wait_ns = 2000000000ull;
	cfg->fin_wait2_ns = 30000000000ull;
	cfg->keepalive_intvl_ns = 10000000000ull;
	cfg->keepalive_probes = 5;
	cfg->challenge_ack_limit = 1000;
	cfg->tick_ns = TW_DEFAULT_TICK_NS;
	cfg->port_lo = 10000;
	cfg->port_hi = 59999;
	cfg->n_workers = 1;
}

#define DEFAULT(field)                      \
	do {                                \
		if (c->field == 0)          \
			c->field = d.field; \
	} while (0)

static void apply_defaults(struct tcp_config *c)
{
	struct tcp_config d;

	tcp_config_defaults(&d);
	DEFAULT(max_conns);
	DEFAULT(mss);
	DEFAULT(rcv_buf);
	DEFAULT(snd_mbufs);
	DEFAULT(rto_min_us);
	DEFAULT(rto_max_us);
	DEFAULT(syn_retries);
	DEFAULT(data_retries);
	DEFAULT(delack_us);
	DEFAULT(time_wait_ns);
	DEFAULT(fin_wait2_ns);
	DEFAULT(keepalive_intvl_ns);
	DEFAULT(keepalive_probes);
	DEFAULT(challenge_ack_limit);
	DEFAULT(tick_ns);
	DEFAULT(port_lo);
	DEFAULT(port_hi);
	DEFAULT(n_workers);
	if (c->snd_mbufs > TCP_SNDQ_MAX)
		c->snd_mbufs = TCP_SNDQ_MAX;
}

/* Pool objects start out released, so a walk over the pool can tell live
 * connections from free ones. */
static void tcb_obj_init(struct rte_mempool *mp, void *arg, void *obj,
			 unsigned int idx)
{
	struct tcp_conn *c = obj;

	(void)mp;
	(void)arg;
	(void)idx;
	memset(c, 0, sizeof(*c));
	c->flags = TCP_F_DEAD;
}

static void tcb_release_live(struct rte_mempool *mp, void *arg, void *obj,
			     unsigned int idx)
{
	struct tcp_conn *c = obj;

	(void)mp;
	(void)idx;
	if (!(c->flags & TCP_F_DEAD) && c->stk == arg) {
		c->flags |= TCP_F_CLOSED_APP; /* silently: nobody is told */
		tcp_conn_release(c);
	}
}

struct tcp_stack *tcp_stack_create(const struct tcp_config *cfg,
				   const struct tcp_env *env)
{
	char name[RTE_MEMPOOL_NAMESIZE];

	if (cfg == NULL || env == NULL || env->output == NULL ||
	    env->clock == NULL || env->tx_pool == NULL || env->name == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	struct tcp_stack *stk = rte_zmalloc_socket(
		"tcp_stack", sizeof(*stk), RTE_CACHE_LINE_SIZE, env->socket_id);
	if (stk == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	stk->cfg = *cfg;
	apply_defaults(&stk->cfg);
	stk->env = *env;
	if (stk->cfg.rss_key != NULL && stk->cfg.rss_reta_size == 0)
		stk->cfg.rss_reta_size = 128;
	if (stk->cfg.worker_id >= stk->cfg.n_workers ||
	    stk->cfg.port_hi < stk->cfg.port_lo ||
	    (stk->cfg.rss_key != NULL &&
	     stk->cfg.rss_queue >= stk->cfg.rss_n_queues)) {
		rte_free(stk);
		rte_errno = EINVAL;
		return NULL;
	}
	stk->now = env->clock(env->clock_ctx);
	snprintf(name, sizeof(name), "tcb_%s", env->name);
	/* single producer and consumer: only the owning worker touches it */
	stk->tcb_pool = rte_mempool_create(
		name, stk->cfg.max_conns, sizeof(struct tcp_conn), 0, 0, NULL,
		NULL, tcb_obj_init, NULL, env->socket_id,
		RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	snprintf(name, sizeof(name), "reass_%s", env->name);
	if (stk->cfg.reass_blocks == 0)
		stk->cfg.reass_blocks = stk->cfg.max_conns / 4 + 8;
	if (stk->tcb_pool != NULL)
		stk->reass_pool = rte_mempool_create(
			name, stk->cfg.reass_blocks,
			sizeof(struct tcp_reass_seg) * TCP_REASS_BLOCK_SEGS, 0,
			0, NULL, NULL, NULL, NULL, env->socket_id,
			RTE_MEMPOOL_F_SP_PUT | RTE_MEMPOOL_F_SC_GET);
	if (stk->cfg.max_time_wait == 0)
		stk->cfg.max_time_wait = 4 * stk->cfg.max_conns;
	if (stk->cfg.max_time_wait < 8)
		stk->cfg.max_time_wait = 8; /* rte_hash's least */
	if (stk->tcb_pool == NULL || stk->reass_pool == NULL ||
	    tcp_flow_table_create(stk) != 0 || tcp_tw_create(stk) != 0) {
		int err = rte_errno ? rte_errno : ENOMEM;

		tcp_tw_free(stk);
		rte_hash_free(stk->flows);
		rte_mempool_free(stk->reass_pool);
		rte_mempool_free(stk->tcb_pool);
		rte_free(stk);
		rte_errno = err;
		return NULL;
	}
	tw_init(&stk->wheel, stk->cfg.tick_ns, stk->now);
	tcp_port_slice(stk->cfg.port_lo, stk->cfg.port_hi, stk->cfg.worker_id,
		       stk->cfg.n_workers, &stk->slice_lo, &stk->slice_hi);
	stk->next_port = (uint16_t)(stk->slice_lo +
				    tcp_siphash24(env->isn_secret, "port", 4) %
					    ((unsigned int)stk->slice_hi -
					     stk->slice_lo + 1));
	return stk;
}

void tcp_stack_free(struct tcp_stack *stk)
{
	if (stk == NULL)
		return;
	tcp_stack_enter(stk);
	rte_mempool_obj_iter(stk->tcb_pool, tcb_release_live, stk);
	tcp_stack_leave(stk);
	tcp_tw_free(stk);
	rte_hash_free(stk->flows);
	rte_mempool_free(stk->reass_pool);
	rte_mempool_free(stk->tcb_pool);
	rte_free(stk);
}

void tcp_stack_enter(struct tcp_stack *stk)
{
	if (stk->depth++ == 0)
		stk->now = stk->env.clock(stk->env.clock_ctx);
}

void tcp_stack_leave(struct tcp_stack *stk)
{
	if (--stk->depth != 0)
		return;
	while (stk->dead != NULL) {
		struct tcp_conn *c = stk->dead;

		stk->dead = c->next_dead;
		rte_mempool_put(stk->tcb_pool, c);
		stk->n_conns--;
	}
}

static void reass_free(void *buf)
{
	rte_pktmbuf_free(buf);
}

bool tcp_reass_block_get(struct tcp_conn *c)
{
	void *blk;

	if (c->reass.seg != NULL)
		return true;
	if (rte_mempool_get(c->stk->reass_pool, &blk) != 0) {
		c->stk->stats.nomem_reass++;
		return false;
	}
	tcp_reass_attach(&c->reass, blk, TCP_REASS_BLOCK_SEGS);
	return true;
}

void tcp_reass_block_put(struct tcp_conn *c)
{
	struct tcp_reass_seg *blk = tcp_reass_detach(&c->reass);

	if (blk != NULL)
		rte_mempool_put(c->stk->reass_pool, blk);
}

struct tcp_conn *tcp_conn_alloc(struct tcp_stack *stk,
				const struct tcp_flow_key *k)
{
	struct tcp_conn *c;

	if (rte_mempool_get(stk->tcb_pool, (void **)&c) != 0) {
		stk->stats.nomem_tcb++;
		return NULL;
	}
	memset(c, 0, offsetof(struct tcp_conn, sndq));
	c->stk = stk;
	c->key = *k;
	c->state = TCP_CLOSED;
	tw_entry_init(&c->timer, tcp_timer_fire);
	tcp_rto_init(&c->rto, stk->cfg.rto_min_us, stk->cfg.rto_max_us,
		     (uint32_t)(stk->cfg.tick_ns / 1000));
	tcp_reass_init(&c->reass, reass_free);
	tcp_sack_reset(&c->sack);
	c->mss = TCP_DEFAULT_PEER_MSS;
	c->last_rcv_ns = stk->now;
	if (tcp_flow_add(stk, c) != 0) {
		rte_mempool_put(stk->tcb_pool, c);
		stk->stats.nomem_tcb++;
		return NULL;
	}
	stk->n_conns++;
	return c;
}

static void sndq_purge(struct tcp_conn *c)
{
	while (c->sndq_n > 0) {
		rte_pktmbuf_free(c->sndq[c->sndq_head]);
		c->sndq_head = (uint16_t)((c->sndq_head + 1) % TCP_SNDQ_MAX);
		c->sndq_n--;
	}
	c->sndq_bytes = 0;
	c->sndq_head_off = 0;
}

void tcp_conn_release(struct tcp_conn *c)
{
	struct tcp_stack *stk = c->stk;

	if (c->flags & TCP_F_DEAD)
		return;
	c->flags |= TCP_F_DEAD;
	tw_cancel(&stk->wheel, &c->timer);
	tcp_flow_del(stk, c);
	sndq_purge(c);
	tcp_reass_purge(&c->reass);
	tcp_reass_block_put(c);
	c->state = TCP_CLOSED;
	c->next_dead = stk->dead;
	stk->dead = c;
}

void tcp_conn_error(struct tcp_conn *c, enum tcp_error err)
{
	bool tell = !(c->flags & (TCP_F_CLOSED_APP | TCP_F_DEAD));

	switch (err) {
	case TCP_ERR_RESET:
		c->stk->stats.resets_rcvd++;
		break;
	case TCP_ERR_TIMEOUT:
		c->stk->stats.conn_timeouts++;
		break;
	case TCP_ERR_REFUSED:
		c->stk->stats.refused++;
		break;
	case TCP_ERR_NOMEM:
		c->stk->stats.nomem_mbuf++;
		break;
	}
	tcp_conn_release(c);
	if (tell && c->ops != NULL && c->ops->on_error != NULL)
		c->ops->on_error(c, c->user, err);
}

void tcp_conn_closed(struct tcp_conn *c)
{
	bool tell = !(c->flags & (TCP_F_CLOSED_APP | TCP_F_DEAD));

	c->stk->stats.closed++;
	tcp_conn_release(c);
	if (tell && c->ops != NULL && c->ops->on_closed != NULL)
		c->ops->on_closed(c, c->user);
}

/* Our FIN is acknowledged and the peer's received: the application is
 * told on_closed now (TIME_WAIT is the stack's business), the ACK of the
 * peer's FIN leaves from the full TCB, and a compact record (tcp_tw.c)
 * takes over the 4-tuple while the TCB goes back to the pool. */
void tcp_enter_time_wait(struct tcp_conn *c)
{
	c->state = TCP_TIME_WAIT;
	if (!(c->flags & TCP_F_CLOSED_APP)) {
		c->flags |= TCP_F_CLOSED_APP;
		c->stk->stats.closed++;
		if (c->ops != NULL && c->ops->on_closed != NULL)
			c->ops->on_closed(c, c->user);
	}
	if (c->flags & TCP_F_DEAD)
		return; /* the application aborted it from on_closed */
	if (c->flags & TCP_F_ACK_NOW)
		tcp_send_ack(c);
	tcp_tw_add(c);
	tcp_conn_release(c);
}

void tcp_sndq_drop_acked(struct tcp_conn *c, uint32_t acked)
{
	if (acked > c->sndq_bytes)
		acked = c->sndq_bytes;
	c->sndq_bytes -= acked;
	while (acked > 0 && c->sndq_n > 0) {
		struct rte_mbuf *m = c->sndq[c->sndq_head];
		uint32_t left = rte_pktmbuf_pkt_len(m) - c->sndq_head_off;

		if (acked < left) {
			c->sndq_head_off += acked;
			return;
		}
		acked -= left;
		rte_pktmbuf_free(m);
		c->sndq_head = (uint16_t)((c->sndq_head + 1) % TCP_SNDQ_MAX);
		c->sndq_n--;
		c->sndq_head_off = 0;
	}
}

void tcp_start_handshake(struct tcp_conn *c)
{
	struct tcp_stack *stk = c->stk;

	if (!(c->flags & TCP_F_ISS_SET))
		c->iss = tcp_isn(stk->env.isn_secret, &c->key, stk->now);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	/* RFC 7323 5.4: a per-connection random timestamp offset */
	c->ts_offset = (uint32_t)tcp_siphash24(stk->env.isn_secret, &c->key,
					       sizeof(c->key));
	c->rtt_start_ns = stk->now; /* the SYN's RTT is the first sample */
	tcp_cc_init(c);
	tcp_send_syn(c);
	tcp_rexmit_restart(c);
	tcp_timer_update(c);
}

/* ---- listening ---- */

int tcp_listen(struct tcp_stack *stk, uint32_t ip, uint16_t port,
	       tcp_accept_fn on_accept, void *ctx)
{
	struct tcp_listener *free_slot = NULL;

	for (unsigned int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &stk->listeners[i];

		if (l->used && l->ip == ip && l->port == port)
			return -EEXIST;
		if (!l->used && free_slot == NULL)
			free_slot = l;
	}
	if (free_slot == NULL)
		return -ENOSPC;
	*free_slot = (struct tcp_listener){ .ip = ip,
					    .port = port,
					    .used = true,
					    .on_accept = on_accept,
					    .ctx = ctx };
	return 0;
}

int tcp_unlisten(struct tcp_stack *stk, uint32_t ip, uint16_t port)
{
	for (unsigned int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &stk->listeners[i];

		if (l->used && l->ip == ip && l->port == port) {
			l->used = false;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- connections ---- */

struct tcp_conn *tcp_connect(struct tcp_stack *stk, uint32_t local_ip,
			     uint32_t remote_ip, uint16_t remote_port,
			     const struct tcp_conn_ops *ops, void *user,
			     int *err)
{
	struct tcp_flow_key k = { .local_ip = local_ip,
				  .remote_ip = remote_ip,
				  .remote_port = remote_port };
	struct tcp_conn *c = NULL;
	int rc;

	tcp_stack_enter(stk);
	rc = tcp_flow_pick_port(stk, &k);
	if (rc < 0) {
		stk->stats.no_port++;
		goto out;
	}
	c = tcp_conn_alloc(stk, &k);
	if (c == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	rc = 0;
	c->ops = ops;
	c->user = user;
	c->state = TCP_SYN_SENT;
	c->rcv_wscale = stk->cfg.no_wscale ? 0 :
					     tcp_wscale_for(stk->cfg.rcv_buf);
	stk->stats.active_opens++;
	tcp_start_handshake(c);
out:
	tcp_stack_leave(stk);
	if (err != NULL)
		*err = rc;
	return c;
}

void tcp_conn_set_ops(struct tcp_conn *c, const struct tcp_conn_ops *ops,
		      void *user)
{
	c->ops = ops;
	c->user = user;
}

uint32_t tcp_send_space(const struct tcp_conn *c)
{
	if (c->flags & (TCP_F_DEAD | TCP_F_FIN_QUEUED))
		return 0;
	return c->stk->cfg.snd_mbufs > c->sndq_n ?
		       c->stk->cfg.snd_mbufs - c->sndq_n :
		       0;
}

uint32_t tcp_send_queued(const struct tcp_conn *c)
{
	return c->sndq_bytes;
}

int tcp_send(struct tcp_conn *c, struct rte_mbuf *m)
{
	struct tcp_stack *stk = c->stk;

	if (c->flags & (TCP_F_DEAD | TCP_F_FIN_QUEUED | TCP_F_CLOSED_APP))
		return -EPIPE;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT &&
	    c->state != TCP_SYN_SENT && c->state != TCP_SYN_RCVD)
		return -EPIPE;
	if (rte_pktmbuf_pkt_len(m) == 0)
		return -EINVAL;
	if (tcp_send_space(c) == 0) {
		c->flags |= TCP_F_WANT_WRITE;
		return -EAGAIN;
	}
	if (rte_mempool_avail_count(m->pool) < stk->cfg.mbuf_reserve) {
		stk->stats.nomem_mbuf++;
		c->flags |= TCP_F_WANT_WRITE;
		return -ENOBUFS;
	}
	c->sndq[(c->sndq_head + c->sndq_n) % TCP_SNDQ_MAX] = m;
	c->sndq_n++;
	c->sndq_bytes += rte_pktmbuf_pkt_len(m);
	tcp_stack_enter(stk);
	tcp_output(c);
	tcp_stack_leave(stk);
	return 0;
}

void tcp_recv_done(struct tcp_conn *c, uint32_t bytes)
{
	uint32_t before;

	if (c->flags & TCP_F_DEAD)
		return;
	tcp_stack_enter(c->stk);
	before = tcp_rcv_window(c);
	c->rcv_unread -= bytes < c->rcv_unread ? bytes : c->rcv_unread;
	/* RFC 9293 3.8.6.2.2 (receiver SWS avoidance): announce the window
	 * once it grew by a segment or half the buffer */
	if (tcp_rcv_window(c) - before >= c->mss ||
	    (before == 0 && tcp_rcv_window(c) > 0)) {
		/* Inside this connection's input (the application consumed in
		 * on_recv) the ACK waits until the reassembly queue is drained:
		 * sent now it would carry a stale SACK block */
		if (c->stk->input_conn == c)
			c->flags |= TCP_F_ACK_NOW;
		else
			tcp_send_ack(c);
	}
	tcp_stack_leave(c->stk);
}

int tcp_shutdown(struct tcp_conn *c)
{
	if (c->flags & (TCP_F_DEAD | TCP_F_FIN_QUEUED))
		return -EPIPE;
	tcp_stack_enter(c->stk);
	switch (c->state) {
	case TCP_SYN_SENT:
		tcp_conn_release(c);
		break;
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		c->flags |= TCP_F_FIN_QUEUED;
		c->state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		c->flags |= TCP_F_FIN_QUEUED;
		c->state = TCP_LAST_ACK;
		break;
	default:
		break;
	}
	if (!(c->flags & TCP_F_DEAD) && c->state != TCP_SYN_RCVD)
		tcp_output(c);
	tcp_stack_leave(c->stk);
	return 0;
}

void tcp_close(struct tcp_conn *c)
{
	if (c->flags & TCP_F_DEAD)
		return;
	tcp_stack_enter(c->stk);
	c->flags |= TCP_F_CLOSED_APP;
	c->ops = NULL;
	c->user = NULL;
	c->t_idle = 0;
	if (!(c->flags & TCP_F_FIN_QUEUED))
		tcp_shutdown(c);
	if (!(c->flags & TCP_F_DEAD) && c->state == TCP_FIN_WAIT_2)
		c->t_2msl = c->stk->now + c->stk->cfg.fin_wait2_ns;
	if (!(c->flags & TCP_F_DEAD))
		tcp_timer_update(c);
	tcp_stack_leave(c->stk);
}

void tcp_abort(struct tcp_conn *c)
{
	if (c->flags & TCP_F_DEAD)
		return;
	tcp_stack_enter(c->stk);
	c->flags |= TCP_F_CLOSED_APP;
	if (c->state != TCP_SYN_SENT && c->state != TCP_TIME_WAIT &&
	    c->state != TCP_CLOSED)
		tcp_send_rst(c);
	c->stk->stats.aborted++;
	tcp_conn_release(c);
	tcp_stack_leave(c->stk);
}

void tcp_set_idle_timeout(struct tcp_conn *c, uint64_t ns)
{
	if (c->flags & TCP_F_DEAD)
		return;
	tcp_stack_enter(c->stk);
	c->t_idle = ns ? c->last_rcv_ns + ns : 0;
	c->idle_ns = ns;
	tcp_timer_update(c);
	tcp_stack_leave(c->stk);
}

uint32_t tcp_conn_count(const struct tcp_stack *stk)
{
	return stk->n_conns;
}

unsigned int tcp_tcb_free_count(const struct tcp_stack *stk)
{
	return rte_mempool_avail_count(stk->tcb_pool);
}

const char *tcp_state_name(enum tcp_state s)
{
	static const char *const names[TCP_STATE_COUNT] = {
		"CLOSED",      "LISTEN",     "SYN_SENT",   "SYN_RCVD",
		"ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",
		"CLOSING",     "LAST_ACK",   "TIME_WAIT",
	};

	return (unsigned int)s < TCP_STATE_COUNT ? names[s] : "?";
}
