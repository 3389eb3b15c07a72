/* Worker lcores: see worker.h. Read worker_main() first: the whole loop is
 * on one screen, everything else is what it calls. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_random.h>

#include "net/arp.h"
#include "net/csum.h"
#include "net/eth.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "worker.h"

#define CNT(w, name) ((w)->stats->c[WEIR_CTR_##name]++)
#define ARP_WRITER 0 /* the worker that owns queue 0 */
#define ARP_TICK_NS 10000000ull /* neighbour retries are in 10 ms steps */
#define ETH_LEN ((uint32_t)sizeof(struct rte_ether_hdr))
#define CMD_RING 4096 /* commands and health messages waiting per worker */

static inline uint64_t now_ns(const struct dataplane *dp)
{
	return (uint64_t)((unsigned __int128)rte_get_tsc_cycles() *
			  1000000000u / dp->tsc_hz);
}

static void drop(struct worker *w, struct rte_mbuf *m, int reason)
{
	w->stats->c[reason]++;
	rte_pktmbuf_free(m);
}

/* ---- transmit ---------------------------------------------------------- */

static void tx_flush(struct worker *w)
{
	uint16_t sent;

	if (!w->n_tx)
		return;
	sent = rte_eth_tx_burst(w->dp->port.port_id, (uint16_t)w->queue,
				w->txbuf, (uint16_t)w->n_tx);
	for (uint16_t i = 0; i < sent; i++)
		w->stats->c[WEIR_CTR_tx_bytes] +=
			rte_pktmbuf_pkt_len(w->txbuf[i]);
	w->stats->c[WEIR_CTR_tx_frames] += sent;
	for (unsigned int i = sent; i < w->n_tx; i++)
		drop(w, w->txbuf[i], WEIR_CTR_drop_tx_full);
	w->n_tx = 0;
}

/* Sends a complete frame: on our own queue, or through the queue's lcore. */
static void tx_frame(struct worker *w, struct rte_mbuf *m)
{
	if (w->queue < 0) {
		if (rte_ring_sp_enqueue(w->out[RING_TX][w->tx_via], m))
			drop(w, m, WEIR_CTR_drop_tx_full);
		return;
	}
	w->txbuf[w->n_tx++] = m;
	if (w->n_tx == BURST)
		tx_flush(w);
}

static void set_l2(struct worker *w, struct rte_mbuf *m,
		   const struct rte_ether_addr *dst)
{
	eth_build(rte_pktmbuf_mtod(m, uint8_t *), dst, &w->dp->iface.mac,
		  RTE_ETHER_TYPE_IPV4);
}

/* ARP writer only: resolve the next hop of an IPv4 frame and send it, hold
 * it until the neighbour answers, or drop it. */
static void resolve_and_send(struct worker *w, struct rte_mbuf *m)
{
	struct rte_ether_addr mac;
	uint32_t dst, nh;
	int rc;

	memcpy(&dst, rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN + 16), 4);
	nh = net_next_hop(&w->dp->iface, dst);
	if (!nh)
		return drop(w, m, WEIR_CTR_drop_no_route);
	rc = arp_cache_resolve(w->dp->arp, nh, m, now_ns(w->dp), &mac);
	if (rc == 0) {
		set_l2(w, m, &mac);
		tx_frame(w, m);
	} else if (rc == -EHOSTUNREACH) {
		drop(w, m, WEIR_CTR_drop_arp_failed);
	} else if (rc < 0) {
		drop(w, m, WEIR_CTR_drop_arp_hold_full);
	}
}

/* Sends an IPv4 frame (Ethernet header space included, IP header final):
 * fills in the neighbour's MAC from the cache any lcore may read; on a miss
 * the ARP writer takes over. */
static void send_ipv4(struct worker *w, struct rte_mbuf *m)
{
	struct rte_ether_addr mac;
	uint32_t dst, nh;

	memcpy(&dst, rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN + 16), 4);
	nh = net_next_hop(&w->dp->iface, dst);
	if (!nh)
		return drop(w, m, WEIR_CTR_drop_no_route);
	if (arp_cache_lookup(w->dp->arp, nh, &mac) == 0) {
		set_l2(w, m, &mac);
		return tx_frame(w, m);
	}
	if (w->id == ARP_WRITER)
		return resolve_and_send(w, m);
	if (rte_ring_sp_enqueue(w->out[RING_RESOLVE][ARP_WRITER], m))
		drop(w, m, WEIR_CTR_drop_handoff_full);
}

/* ---- ARP (worker 0 only) ----------------------------------------------- */

static void arp_send_request(void *ctx, uint32_t ip)
{
	struct worker *w = ctx;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->dp->port.pool);
	uint8_t *f;

	if (!m) {
		CNT(w, drop_nombuf);
		return;
	}
	f = (uint8_t *)rte_pktmbuf_append(m, ETH_LEN + ARP_PKT_LEN);
	arp_build(f, RTE_ARP_OP_REQUEST, &w->dp->iface.mac,
		  w->dp->iface.local_ip, NULL, ip);
	CNT(w, arp_requests_tx);
	tx_frame(w, m);
}

static void arp_release(void *ctx, void *pkt, const struct rte_ether_addr *mac)
{
	struct worker *w = ctx;

	set_l2(w, pkt, mac);
	tx_frame(w, pkt);
}

static void arp_drop(void *ctx, void *pkt)
{
	drop(ctx, pkt, WEIR_CTR_drop_arp_failed);
}

static void handle_arp(struct worker *w, struct rte_mbuf *m, uint32_t l3_len)
{
	struct arp_info a;
	uint8_t *f = rte_pktmbuf_mtod(m, uint8_t *);
	int rc = arp_validate(f + ETH_LEN, l3_len, &w->dp->iface, &a);

	if (rc)
		return drop(w, m, rc);
	/* RFC 826: we are the target, so the sender goes into the cache. */
	arp_cache_learn(w->dp->arp, a.spa, &a.sha, true, now_ns(w->dp));
	if (a.op != RTE_ARP_OP_REQUEST) {
		CNT(w, arp_replies_rx);
		rte_pktmbuf_free(m);
		return;
	}
	CNT(w, arp_requests_rx);
	arp_build(f, RTE_ARP_OP_REPLY, &w->dp->iface.mac, a.tpa, &a.sha, a.spa);
	rte_pktmbuf_trim(
		m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ETH_LEN - ARP_PKT_LEN));
	tx_frame(w, m);
}

/* ---- IPv4 -------------------------------------------------------------- */

static void handle_icmp(struct worker *w, struct rte_mbuf *m,
			const struct ipv4_info *ip)
{
	uint8_t *iph = rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN);
	uint8_t *icmp = iph + ip->hdr_len;
	uint16_t c = 0;
	int rc = icmp_validate_echo(icmp, ip->total_len - ip->hdr_len);

	if (rc)
		return drop(w, m, rc);
	icmp_echo_to_reply(icmp);
	memcpy(iph + 12, &ip->dst, 4);
	memcpy(iph + 16, &ip->src, 4);
	iph[8] = 64; /* TTL */
	memcpy(iph + 10, &c, 2);
	c = csum_buf(iph, ip->hdr_len);
	memcpy(iph + 10, &c, 2);
	/* Drop the Ethernet padding, if any, before sending back. */
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ETH_LEN -
				       ip->total_len));
	CNT(w, icmp_echo_replies);
	send_ipv4(w, m);
}

static void handle_ipv4(struct worker *w, struct rte_mbuf *m, uint32_t l3_len,
			bool owned);

/* A fragment goes to its fragment owner (steer.h), which reassembles it;
 * the whole datagram then starts over as if just received. */
static void handle_fragment(struct worker *w, struct rte_mbuf *m,
			    const struct ipv4_info *ip, bool owned)
{
	const uint8_t *iph = rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN);
	unsigned int owner;

	if (!w->reass)
		return drop(w, m, WEIR_CTR_drop_ip_fragment);
	if (!owned) {
		owner = steer_fragment_owner(&w->dp->steer, iph);
		if (owner != w->id) {
			if (rte_ring_sp_enqueue(w->out[RING_RX][owner], m))
				return drop(w, m, WEIR_CTR_drop_handoff_full);
			CNT(w, handoff_out);
			return;
		}
	}
	m = ipv4_reass_input(w->reass, m, ETH_LEN, ip->hdr_len, now_ns(w->dp),
			     w->stats->c);
	if (m)
		handle_ipv4(w, m, rte_pktmbuf_data_len(m) - ETH_LEN, false);
}

static void handle_ipv4(struct worker *w, struct rte_mbuf *m, uint32_t l3_len,
			bool owned)
{
	const uint8_t *iph = rte_pktmbuf_mtod_offset(m, uint8_t *, ETH_LEN);
	struct ipv4_info ip;
	unsigned int owner;
	int rc = ipv4_validate(iph, l3_len, &w->dp->iface, &ip);

	if (rc)
		return drop(w, m, rc);
	if (ip.fragment)
		return handle_fragment(w, m, &ip, owned);
	if (!owned) {
		owner = steer_ipv4_owner(&w->dp->steer, iph, ip.hdr_len,
					 ip.total_len);
		if (owner != w->id) {
			if (rte_ring_sp_enqueue(w->out[RING_RX][owner], m))
				return drop(w, m, WEIR_CTR_drop_handoff_full);
			CNT(w, handoff_out);
			return;
		}
	}
	if (ip.proto == IPPROTO_ICMP)
		return handle_icmp(w, m, &ip);
	if (ip.proto == IPPROTO_TCP) {
		/* The stack takes the packet at its IPv4 header, padding cut. */
		rte_pktmbuf_adj(m, ETH_LEN);
		rte_pktmbuf_trim(
			m, (uint16_t)(rte_pktmbuf_pkt_len(m) - ip.total_len));
		CNT(w, tcp_segments_in);
		tcp_input(w->tcp, m);
		return;
	}
	drop(w, m, WEIR_CTR_drop_ip_unknown_proto);
}

/* Classifies one frame and passes it on; owned: it came from another lcore
 * that already found us to be its owner. */
static void rx_frame(struct worker *w, struct rte_mbuf *m, bool owned)
{
	uint16_t ethertype;
	uint32_t l3_off;
	int rc;

	if (!owned) {
		CNT(w, rx_frames);
		w->stats->c[WEIR_CTR_rx_bytes] += rte_pktmbuf_pkt_len(m);
	}
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m))
		return drop(w, m, WEIR_CTR_drop_nombuf);
	rc = eth_classify(rte_pktmbuf_mtod(m, uint8_t *),
			  rte_pktmbuf_data_len(m), &w->dp->iface.mac,
			  &ethertype, &l3_off);
	if (rc)
		return drop(w, m, rc);
	if (ethertype == RTE_ETHER_TYPE_ARP) {
		if (w->id == ARP_WRITER)
			return handle_arp(w, m,
					  rte_pktmbuf_data_len(m) - l3_off);
		if (rte_ring_sp_enqueue(w->out[RING_RX][ARP_WRITER], m))
			return drop(w, m, WEIR_CTR_drop_handoff_full);
		CNT(w, handoff_out);
		return;
	}
	handle_ipv4(w, m, rte_pktmbuf_data_len(m) - l3_off, owned);
}

/* ---- TCP's hooks and commands ------------------------------------------ */

/* The stack's output: an IPv4+TCP packet with Ethernet headroom left. */
static void tcp_out(void *ctx, struct rte_mbuf *m)
{
	struct worker *w = ctx;

	if (!rte_pktmbuf_prepend(m, ETH_LEN))
		return drop(w, m, WEIR_CTR_drop_nombuf);
	send_ipv4(w, m);
}

static uint64_t tcp_clock(void *ctx)
{
	return now_ns(ctx);
}

/* The proxies' health bus (proxy.h): a message for worker `to` rides
 * its command ring (multi-producer; never waits: full is -ENOBUFS and the
 * proxy sends again later). */
static int health_send(void *ctx, uint16_t to, const struct px_hmsg *m)
{
	struct dataplane *dp = ctx;

	if (to >= dp->n_workers)
		return -EINVAL;
	return worker_post(
		&dp->workers[to],
		&(struct worker_cmd){ .op = WORKER_CMD_HEALTH,
				      .mode = m->op,
				      .port = (uint16_t)(m->from | m->why << 8),
				      .ip = m->word,
				      .bytes = m->id });
}

int worker_post(struct worker *w, const struct worker_cmd *cmd)
{
	struct worker_cmd copy =
		*cmd; /* the ring API takes a non-const pointer */

	return rte_ring_mp_enqueue_elem(w->ctl, &copy, sizeof(copy)) ?
		       -ENOBUFS :
		       0;
}

static unsigned int poll_commands(struct worker *w)
{
	struct worker_cmd cmd;
	unsigned int n = 0;

	while (rte_ring_sc_dequeue_elem(w->ctl, &cmd, sizeof(cmd)) == 0) {
		if (cmd.op == WORKER_CMD_CONNECT)
			testapp_connect(&w->app, cmd.ip, cmd.port,
					(enum cfg_app_mode)cmd.mode, cmd.bytes);
		else if (cmd.op == WORKER_CMD_DRAIN && w->px)
			w->px->draining = cmd.bytes != 0;
		else if (cmd.op == WORKER_CMD_HEALTH && w->px)
			proxy_health_msg(
				w->px, &(struct px_hmsg){
					       .id = cmd.bytes,
					       .word = cmd.ip,
					       .op = cmd.mode,
					       .why = (uint8_t)(cmd.port >> 8),
					       .from = cmd.port & 0xff });
		n++;
	}
	return n;
}

/* ---- the loop ---------------------------------------------------------- */

/* Adopts a table weir-cp published, between bursts: the proxy swaps to it
 * and, once it no longer reads the old one, the worker says which
 * generation it holds (which frees the old slot for weir-cp). A table the
 * proxy cannot take is tried again on the next poll. Returns 1 if one
 * was adopted. */
/* Every EXPORT_NS the worker copies its counters and its proxy's server
 * state into its block of the control segment, for weir-cp's stats and
 * /metrics (a seqlock: weir-cp copies and retries; the worker never
 * waits). Counter order is the one main.c names (ctl_name_counters). */
#define EXPORT_NS 200000000ull

/* The access log follows weir-cp's switch (log_on), read every loop (one
 * relaxed load), so the first request after weir-cp turns it on is
 * logged. The clock offset (the stack clock is the TSC's, not the wall's)
 * is refreshed with every export. */
static bool log_wanted(const struct weir_ctl *c)
{
	return c->log_recs &&
	       atomic_load_explicit(&c->log_on, memory_order_relaxed);
}

static void set_log(struct worker *w, uint64_t now, uint64_t rt_now)
{
	struct weir_ctl *c = w->ctlw.ctl;

	proxy_set_log(w->px, log_wanted(c) ? weir_ctl_log(c, w->id) : NULL,
		      c->log_recs, (uint16_t)w->id, (int64_t)(rt_now - now));
}

static void poll_log_switch(struct worker *w)
{
	if (w->px && w->ctlw.ctl &&
	    log_wanted(w->ctlw.ctl) != (w->px->log != NULL))
		set_log(w, now_ns(w->dp), ctl_realtime_ns());
}

/* What drained is measured from: open sessions, and whether this worker
 * drains and refuses new connections yet. */
static void export_drain(struct worker *w, struct weir_ctl_wstats *ws,
			 uint64_t now)
{
	const struct proxy *px = w->px;

	ws->sessions_now = px ? px->n_sessions : 0;
	ws->bconns_now = px ? rte_mempool_in_use_count(px->bconn_pool) : 0;
	ws->drain_ns =
		px && px->drain_t0 ? ws->updated_ns - (now - px->drain_t0) : 0;
	ws->refusing = px && px->refusing;
	ws->n_queues =
		px ? proxy_export_queues(px, ws->queue, WEIR_CTL_STAT_QUEUES) :
		     0;
}

static void export_stats(struct worker *w, uint64_t now)
{
	struct weir_ctl_wstats *ws;
	unsigned int k = 0;

	if (!w->ctlw.ctl || now < w->next_export_ns)
		return;
	w->next_export_ns = now + EXPORT_NS;
	ws = weir_ctl_wstats(w->ctlw.ctl, w->id);
	atomic_fetch_add_explicit(&ws->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (unsigned int c = 0; c < WEIR_CTR_MAX && k < WEIR_CTL_COUNTERS; c++)
		ws->ctr[k++] = w->stats->c[c];
	for (unsigned int c = 0;
	     w->px && c < PX_CTR_MAX && k < WEIR_CTL_COUNTERS; c++)
		ws->ctr[k++] = w->px->ctr[c];
	ws->n_srv =
		w->px ? proxy_export(w->px, ws->srv, WEIR_CTL_STAT_SERVERS) : 0;
	ws->updated_ns = ctl_realtime_ns();
	export_drain(w, ws, now);
	atomic_fetch_add_explicit(&ws->seq, 1, memory_order_release);
	if (w->px)
		set_log(w, now, ws->updated_ns);
}

static unsigned int poll_table(struct worker *w)
{
	const struct weir_table *t = ctl_dp_poll(&w->ctlw);

	if (!t)
		return 0;
	if (w->px && proxy_set_table(w->px, t)) {
		CNT(w, table_adopt_failed);
		w->ctlw.seen = 0;
		return 0;
	}
	ctl_dp_held(&w->ctlw, t->generation, ctl_realtime_ns());
	return 1;
}

/* Drains what other lcores sent us. Returns the number of frames. */
static unsigned int poll_rings(struct worker *w)
{
	struct rte_mbuf *pkts[BURST];
	unsigned int total = 0, n;

	for (unsigned int p = 0; p < w->dp->n_workers; p++) {
		struct worker *peer = &w->dp->workers[p];

		if (p == w->id)
			continue;
		n = rte_ring_sc_dequeue_burst(peer->out[RING_RX][w->id],
					      (void **)pkts, BURST, NULL);
		w->stats->c[WEIR_CTR_handoff_in] += n;
		for (unsigned int i = 0; i < n; i++)
			rx_frame(w, pkts[i], true);
		total += n;
		if (w->queue >= 0) {
			n = rte_ring_sc_dequeue_burst(peer->out[RING_TX][w->id],
						      (void **)pkts, BURST,
						      NULL);
			for (unsigned int i = 0; i < n; i++)
				tx_frame(w, pkts[i]);
			total += n;
		}
		if (w->id == ARP_WRITER) {
			n = rte_ring_sc_dequeue_burst(
				peer->out[RING_RESOLVE][w->id], (void **)pkts,
				BURST, NULL);
			for (unsigned int i = 0; i < n; i++)
				resolve_and_send(w, pkts[i]);
			total += n;
		}
	}
	return total;
}

static unsigned int poll_once(struct worker *w)
{
	struct rte_mbuf *pkts[BURST];
	unsigned int n = 0;

	if (w->queue >= 0) {
		n = rte_eth_rx_burst(w->dp->port.port_id, (uint16_t)w->queue,
				     pkts, BURST);
		for (unsigned int i = 0; i < n; i++)
			rx_frame(w, pkts[i], false);
	}
	n += poll_rings(w);
	n += poll_commands(w);
	n += poll_table(w);
	poll_log_switch(w);
	tcp_timers_run(w->tcp);
	if (w->reass)
		ipv4_reass_expire(w->reass, now_ns(w->dp), w->stats->c);
	if (w->px)
		proxy_timers(w->px, now_ns(w->dp));
	if (w->id == ARP_WRITER) {
		uint64_t now = now_ns(w->dp);

		if (now >= w->next_arp_tick_ns) {
			arp_cache_tick(w->dp->arp, now);
			w->next_arp_tick_ns = now + ARP_TICK_NS;
		}
	}
	export_stats(w, now_ns(w->dp));
	if (w->queue >= 0)
		tx_flush(w);
	return n;
}

/* Microseconds until the worker's next TCP timer (at least 1). */
static uint32_t sleep_until_timer_us(const struct worker *w)
{
	uint64_t next = tcp_next_timer(w->tcp), now = now_ns(w->dp);

	if (w->px)
		next = RTE_MIN(next, proxy_next_timer(w->px));
	if (next == UINT64_MAX || next > now + 1000000000ull)
		return UINT32_MAX;
	return next <= now + 1000 ? 1 : (uint32_t)((next - now) / 1000);
}

/* Idle back-off: after spin_polls empty polls, sleep 1 us, doubling up to
 * max_sleep_us; once idle for deep_after_ms, up to deep_sleep_us (a node
 * with no traffic then costs a few % of a CPU, not 100 %). Any work resets
 * it. Sleeps stay far below the timers we run (the shortest is the 10 ms
 * ARP tick), so they never delay one. */
static void idle_backoff(struct worker *w, uint64_t now_tsc)
{
	const struct dp_config *cfg = &w->dp->cfg;
	uint64_t deep_tsc = cfg->idle.deep_after_ms * (w->dp->tsc_hz / 1000);
	uint32_t cap = cfg->idle.max_sleep_us;
	struct timespec ts;

	if (w->idle_polls++ == 0)
		w->idle_since = now_tsc;
	if (cfg->idle.policy == CFG_IDLE_BUSY ||
	    w->idle_polls < cfg->idle.spin_polls) {
		rte_pause();
		return;
	}
	if (now_tsc - w->idle_since >= deep_tsc)
		cap = cfg->idle.deep_sleep_us;
	cap = RTE_MIN(cap, sleep_until_timer_us(w));
	ts.tv_sec = 0;
	ts.tv_nsec = (long)w->sleep_us * 1000;
	if (w->sleep_us > cap)
		ts.tv_nsec = (long)cap * 1000;
	nanosleep(&ts, NULL);
	CNT(w, idle_sleeps);
	w->sleep_us = RTE_MIN(w->sleep_us * 2, cap);
}

int worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t t0 = rte_get_tsc_cycles(), t1;

	/* The default 50 us slack would stretch every short idle sleep. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	w->sleep_us = 1;
	while (!w->dp->quit) {
		unsigned int n = poll_once(w);

		t1 = rte_get_tsc_cycles();
		if (n) {
			w->stats->c[WEIR_CTR_poll_busy_cycles] += t1 - t0;
			w->idle_polls = 0;
			w->sleep_us = 1;
		} else {
			w->stats->c[WEIR_CTR_poll_idle_cycles] += t1 - t0;
			idle_backoff(w, t1);
		}
		t0 = t1;
	}
	if (w->queue >= 0)
		tx_flush(w);
	return 0;
}

/* ---- set-up ------------------------------------------------------------ */

static int make_rings(struct dataplane *dp, char *err, size_t errlen)
{
	static const char *const kind[] = { "rx", "tx", "rs" };
	char name[RTE_RING_NAMESIZE];

	for (unsigned int i = 0; i < dp->n_workers; i++)
		for (unsigned int k = 0; k < 3; k++)
			for (unsigned int j = 0; j < dp->n_workers; j++) {
				if (i == j)
					continue;
				snprintf(name, sizeof(name), "weir_%s_%u_%u",
					 kind[k], i, j);
				dp->workers[i].out[k][j] = rte_ring_create(
					name, dp->cfg.memory.ring_size,
					rte_socket_id(),
					RING_F_SP_ENQ | RING_F_SC_DEQ);
				if (!dp->workers[i].out[k][j]) {
					snprintf(err, errlen,
						 "memory.ring_size: "
						 "cannot create ring %s (%s)",
						 name, rte_strerror(rte_errno));
					return -ENOMEM;
				}
			}
	return 0;
}

static void tcp_config_from(const struct dataplane *dp, unsigned int worker,
			    struct tcp_config *tc)
{
	const struct dp_config *cfg = &dp->cfg;

	tcp_config_defaults(tc);
	tc->max_conns = cfg->tcp.max_connections;
	tc->max_time_wait = cfg->tcp.max_time_wait;
	tc->mss = (uint16_t)(cfg->port.mtu - 40);
	tc->rcv_buf = cfg->tcp.rcv_buf_kb * 1024;
	tc->snd_mbufs = (uint16_t)cfg->tcp.snd_mbufs;
	tc->rto_min_us = cfg->tcp.rto_min_ms * 1000;
	tc->time_wait_ns = cfg->tcp.time_wait_ms * 1000000ull;
	tc->delack_us = cfg->tcp.delack_ms * 1000;
	tc->syn_retries = (uint8_t)cfg->tcp.syn_retries;
	tc->port_lo = dp->steer.port_lo;
	tc->port_hi = dp->steer.port_hi;
	tc->worker_id = (uint16_t)worker;
	tc->n_workers = (uint16_t)dp->n_workers;
}

/* The worker's HTTP proxy, joined to the others (health bus, limits). */
static int make_proxy(struct dataplane *dp, struct worker *w, char *err,
		      size_t errlen)
{
	char name[32];
	const struct dp_config *c = &dp->cfg;
	struct proxy_config pc;

	proxy_config_defaults(&pc);
	pc.port = c->http.port;
	pc.max_sessions = c->http.max_sessions;
	pc.max_backend_conns = c->http.max_sessions;
	pc.head_max = c->http.buffer_kb * 1024;
	pc.replay_max = pc.head_max;
	pc.router_buffer = c->http.router_buffer_kb * 1024;
	pc.retries = c->http.retries;
	pc.ray_500 = c->http.ray_500;
	pc.timeout_client_ms = c->http.timeout_client_ms;
	pc.timeout_keep_alive_ms = c->http.timeout_keep_alive_ms;
	pc.timeout_http_request_ms = c->http.timeout_http_request_ms;
	pc.timeout_connect_ms = c->http.timeout_connect_ms;
	pc.timeout_server_ms = c->http.timeout_server_ms;
	pc.pool_idle_ms = c->http.pool_idle_ms;
	snprintf(name, sizeof(name), "px%u", w->id);
	w->px = rte_zmalloc("weir_proxy", sizeof(*w->px), RTE_CACHE_LINE_SIZE);
	if (!w->px ||
	    proxy_init(w->px, &pc, w->tcp, dp->port.pool,
		       rte_be_to_cpu_32(c->local_ip), name, now_ns(dp))) {
		snprintf(err, errlen,
			 "http: cannot start the proxy on worker %u "
			 "(http.max_sessions too large for the hugepages?)",
			 w->id);
		return -ENOMEM;
	}
	proxy_set_bus(w->px, &(struct proxy_bus){ .self = (uint16_t)w->id,
						  .n = (uint16_t)dp->n_workers,
						  .send = health_send,
						  .ctx = dp });
	if (!dp->px_shared)
		dp->px_shared = rte_zmalloc("weir_px_shared",
					    sizeof(*dp->px_shared), 64);
	if (!dp->px_shared) {
		snprintf(err, errlen, "http: no memory for the limits");
		return -ENOMEM;
	}
	proxy_set_shared(w->px, dp->px_shared);
	return 0;
}

/* Each worker's TCP stack (TCBs, flow table) and test applications, made
 * here on the main lcore: creating them allocates, the fast path never. */
static int make_tcp(struct dataplane *dp, struct worker *w, char *err,
		    size_t errlen)
{
	struct tcp_env env = {
		.output = tcp_out,
		.output_ctx = w,
		.clock = tcp_clock,
		.clock_ctx = dp,
		.tx_pool = dp->port.pool,
		.socket_id = (int)rte_socket_id(),
	};
	struct tcp_config tc;
	char name[32], rname[RTE_RING_NAMESIZE];

	snprintf(name, sizeof(name), "w%u", w->id);
	env.name = name;
	for (unsigned int i = 0; i < sizeof(env.isn_secret); i++)
		env.isn_secret[i] = (uint8_t)rte_rand();
	tcp_config_from(dp, w->id, &tc);
	w->tcp = tcp_stack_create(&tc, &env);
	if (!w->tcp) {
		snprintf(err, errlen,
			 "tcp.max_connections / tcp.max_time_wait: cannot "
			 "create worker %u's TCP stack (%s)",
			 w->id, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	snprintf(name, sizeof(name), "weir_app_%u", w->id);
	if (testapp_init(&w->app, w->tcp, dp->port.pool, &dp->cfg, name)) {
		snprintf(err, errlen, "test_apps: cannot start on worker %u",
			 w->id);
		return -ENOMEM;
	}
	if (dp->cfg.http.enabled && make_proxy(dp, w, err, errlen))
		return -ENOMEM;
	snprintf(rname, sizeof(rname), "weir_ctl_%u", w->id);
	w->ctl = rte_ring_create_elem(rname, sizeof(struct worker_cmd),
				      CMD_RING, rte_socket_id(), RING_F_SC_DEQ);
	if (!w->ctl) {
		snprintf(err, errlen,
			 "cannot create the control ring of worker %u", w->id);
		return -ENOMEM;
	}
	return 0;
}

/* The worker's IPv4 reassembly table (none when max_datagrams is 0). */
static int make_reass(struct dataplane *dp, struct worker *w, char *err,
		      size_t errlen)
{
	struct ipv4_reass_config rc = {
		.max_datagrams = dp->cfg.reass.max_datagrams,
		.timeout_ns = dp->cfg.reass.timeout_ms * 1000000ull,
		.max_fragments = (uint8_t)dp->cfg.reass.max_fragments,
	};
	char name[32];

	if (rc.max_datagrams == 0)
		return 0;
	snprintf(name, sizeof(name), "weir_reass_%u", w->id);
	w->reass = ipv4_reass_create(&rc, (int)rte_socket_id(), name);
	if (!w->reass) {
		snprintf(err, errlen,
			 "ip_reassembly: cannot create worker %u's table "
			 "(no hugepage memory?)",
			 w->id);
		return -ENOMEM;
	}
	return 0;
}

int workers_init(struct dataplane *dp, char *err, size_t errlen)
{
	struct arp_params ap = {
		.reachable_ns = dp->cfg.arp.reachable_s * 1000000000ull,
		.retry_ns = dp->cfg.arp.retry_ms * 1000000ull,
		.max_tries = dp->cfg.arp.tries,
		.failed_ns = dp->cfg.arp.failed_s * 1000000000ull,
	};
	struct arp_cache_ops ops = { arp_send_request, arp_release, arp_drop,
				     &dp->workers[ARP_WRITER] };
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	dp->tsc_hz = rte_get_tsc_hz();
	dp->arp =
		rte_zmalloc("weir_arp", sizeof(*dp->arp), RTE_CACHE_LINE_SIZE);
	if (!dp->arp) {
		snprintf(err, errlen, "no hugepage memory for the ARP cache");
		return -ENOMEM;
	}
	arp_cache_init(dp->arp, &ap, &ops);
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct worker *w = &dp->workers[i];

		w->id = i;
		w->lcore_id = lcore;
		lcore = rte_get_next_lcore(lcore, 1, 0);
		w->dp = dp;
		w->stats = &dp->stats[i];
		w->queue = i < dp->port.n_queues ? (int)i : -1;
		w->tx_via = i % dp->port.n_queues;
		ctl_dp_bind(&w->ctlw, dp->seg.ctl, i);
	}
	for (unsigned int i = 0; i < dp->n_workers; i++) {
		int rc = make_tcp(dp, &dp->workers[i], err, errlen);

		if (!rc)
			rc = make_reass(dp, &dp->workers[i], err, errlen);

		if (rc)
			return rc;
	}
	return make_rings(dp, err, errlen);
}

void workers_fini(struct dataplane *dp)
{
	void *m;

	for (unsigned int i = 0; i < dp->n_workers; i++) {
		struct worker *w = &dp->workers[i];

		if (w->tcp)
			tcp_stack_free(w->tcp);
		w->tcp = NULL;
		if (w->px) {
			proxy_fini(w->px);
			rte_free(w->px);
			w->px = NULL;
		}
		testapp_fini(&w->app);
		ipv4_reass_free(w->reass);
		w->reass = NULL;
		rte_ring_free(w->ctl);
	}
	rte_free(dp->px_shared);
	dp->px_shared = NULL;

	for (unsigned int i = 0; i < dp->n_workers; i++)
		for (unsigned int k = 0; k < 3; k++)
			for (unsigned int j = 0; j < dp->n_workers; j++) {
				struct rte_ring *r = dp->workers[i].out[k][j];

				if (!r)
					continue;
				while (rte_ring_dequeue(r, &m) == 0)
					rte_pktmbuf_free(m);
				rte_ring_free(r);
			}
	rte_free(dp->arp);
}
