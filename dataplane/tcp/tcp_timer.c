/* Connection timers on the worker's wheel. A connection has one wheel
 * entry armed for its earliest deadline; deadlines moving later cost
 * nothing (the entry fires early, finds nothing due and re-arms), moving
 * earlier re-arms it: O(1) either way. */
#include <stddef.h>

#include "tcp/tcp_internal.h"

void tcp_timer_update(struct tcp_conn *c)
{
	uint64_t d[] = { c->t_rexmit, c->t_delack, c->t_persist, c->t_keepalive,
			 c->t_2msl,   c->t_idle,   c->t_tlp };
	uint64_t next = 0;

	if (c->flags & TCP_F_DEAD)
		return;
	for (unsigned int i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (d[i] != 0 && (next == 0 || d[i] < next))
			next = d[i];
	if (next == 0)
		tw_cancel(&c->stk->wheel, &c->timer);
	else
		tw_arm_earliest(&c->stk->wheel, &c->timer, next);
}

void tcp_rexmit_restart(struct tcp_conn *c)
{
	c->t_rexmit = c->stk->now + (uint64_t)tcp_rto_current(&c->rto) * 1000;
}

void tcp_delack_arm(struct tcp_conn *c)
{
	if (c->t_delack == 0)
		c->t_delack =
			c->stk->now + (uint64_t)c->stk->cfg.delack_us * 1000;
}

void tcp_keepalive_reset(struct tcp_conn *c)
{
	if (c->stk->cfg.keepalive_ns == 0)
		return;
	c->ka_probes = 0;
	c->t_keepalive = c->stk->now + c->stk->cfg.keepalive_ns;
}

static bool due(uint64_t t, uint64_t now)
{
	return t != 0 && t <= now;
}

/* RFC 6298 5.4-5.7 for data, RFC 9293 3.8.1 / 6298 5.7 for the SYN. */
static void rexmit_timeout(struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->stk->cfg;

	c->t_rexmit = 0;
	c->stk->stats.rto_fires++;
	c->retries++;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RCVD:
		if (c->retries > cfg->syn_retries) {
			if (c->state == TCP_SYN_RCVD)
				tcp_send_rst(c);
			tcp_conn_error(c, TCP_ERR_TIMEOUT);
			return;
		}
		tcp_rto_backoff(&c->rto);
		c->flags &= ~TCP_F_RTT_TIMING;
		tcp_send_syn(c);
		tcp_rexmit_restart(c);
		return;
	case TCP_CLOSED:
	case TCP_LISTEN:
	case TCP_TIME_WAIT:
		return;
	default:
		break;
	}
	if (c->snd_una == c->snd_max)
		return; /* nothing outstanding: a stale deadline */
	if (c->snd_wnd == 0) {
		/* the peer shrank its window to zero under our data: what
		 * we resend it must drop, so probe instead, and do not
		 * count it toward giving up while it answers */
		c->retries--;
		tcp_rto_backoff(&c->rto);
		tcp_send_persist_probe(c);
		tcp_rexmit_restart(c);
		return;
	}
	if (c->retries > cfg->data_retries) {
		tcp_send_rst(c);
		tcp_conn_error(c, TCP_ERR_TIMEOUT);
		return;
	}
	tcp_rto_backoff(&c->rto);
	tcp_cc_on_rto(c);
	/* go back N: everything outstanding is presumed lost; the SACK
	 * scoreboard may be reneged (RFC 2018 8), so it is forgotten */
	tcp_sack_reset(&c->sack);
	c->flags &= ~TCP_F_RTT_TIMING;
	c->snd_nxt = c->snd_una;
	c->high_rxt = c->snd_una;
	tcp_rexmit_restart(c);
	tcp_output(c);
}

/* RFC 8985 7.2: after new data went out (or was acknowledged) with more
 * in flight, probe the tail after PTO = 2 SRTT instead of waiting for the
 * RTO. With one segment out the peer may be delaying its ACK: the RFC's
 * WCDelAckT is 200 ms, we take the minimum RTO (as Linux does), so then
 * the RTO usually comes first. A 1 ms floor keeps the probe from racing
 * the ACK on sub-millisecond paths. */
void tcp_tlp_schedule(struct tcp_conn *c)
{
	uint64_t pto;

	if (!(c->flags & TCP_F_TLP_RESCHED))
		return;
	c->flags &= ~TCP_F_TLP_RESCHED;
	c->t_tlp = 0;
	if (((c->flags & TCP_F_IN_RECOVERY) || c->sack.n > 0) &&
	    (c->flags & TCP_F_SACK_OK) && c->rto.have_sample &&
	    !c->stk->cfg.no_tlp && c->snd_una != c->snd_max) {
		/* RACK's reordering-window timer, simplified (RFC 8985 6.2),
		 * with sequence order standing in for send times: while a hole
		 * lies below SACKed data (or in recovery) and neither the
		 * cumulative ACK nor the SACKs moved for 2 SRTT (>= 2 ms), the
		 * hole is presumed lost: recovery starts (or its first hole is
		 * sent again), instead of a 200 ms RTO that would collapse
		 * cwnd and resend everything. Too few segments in flight for
		 * DupThresh is exactly when this matters. */
		pto = 2ull * c->rto.srtt_us * 1000;
		if (pto < 2 * TCP_TLP_MIN_NS)
			pto = 2 * TCP_TLP_MIN_NS;
		if (c->t_rexmit == 0 || c->stk->now + pto < c->t_rexmit)
			c->t_tlp = c->stk->now + pto;
		return;
	}
	if (!(c->flags & TCP_F_SACK_OK) || !c->rto.have_sample ||
	    c->stk->cfg.no_tlp ||
	    (c->flags & (TCP_F_IN_RECOVERY | TCP_F_TLP_OUT)) ||
	    c->snd_una == c->snd_max || c->snd_nxt != c->snd_max)
		return;
	pto = 2ull * c->rto.srtt_us * 1000;
	if (tcp_flight(c) <= c->mss)
		pto += (uint64_t)c->stk->cfg.rto_min_us * 1000;
	if (pto < TCP_TLP_MIN_NS)
		pto = TCP_TLP_MIN_NS;
	if (c->t_rexmit != 0 && c->stk->now + pto >= c->t_rexmit)
		return; /* the RTO comes first anyway */
	c->t_tlp = c->stk->now + pto;
}

/* RFC 8985 7.3: resend the last segment (the FIN if that is last) so its
 * ACK or SACK reveals a tail loss; then the RTO guards as usual. */
static void tlp_timeout(struct tcp_conn *c)
{
	uint32_t flight = tcp_flight(c);
	uint32_t len = flight < c->mss ? flight : c->mss;

	c->t_tlp = 0;
	if (c->snd_una == c->snd_max)
		return;
	if (!(c->flags & TCP_F_IN_RECOVERY) && c->sack.n > 0) {
		tcp_cc_enter_recovery(c); /* retransmits the first hole */
		c->flags |= TCP_F_TLP_RESCHED;
		tcp_tlp_schedule(c);
		return;
	}
	if (c->flags & TCP_F_IN_RECOVERY) { /* the stalled-recovery timer */
		uint32_t hole = c->snd_max - c->snd_una < c->mss ?
					c->snd_max - c->snd_una :
					c->mss;

		c->stk->stats.lost_retransmits++;
		tcp_retransmit(c, c->snd_una, hole);
		c->flags |= TCP_F_TLP_RESCHED;
		tcp_tlp_schedule(c);
		return;
	}
	c->stk->stats.tlp_probes++;
	c->flags |= TCP_F_TLP_OUT;
	if (c->flags & TCP_F_FIN_SENT)
		tcp_retransmit(c, c->snd_max - 1, 0);
	else
		tcp_retransmit(c, c->snd_max - len, len);
	tcp_rexmit_restart(c);
}

static void persist_timeout(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)tcp_rto_current(&c->rto) * 1000;

	c->t_persist = 0;
	if (c->snd_wnd != 0 || c->snd_una + c->sndq_bytes == c->snd_nxt)
		return; /* window opened or nothing waits */
	tcp_send_persist_probe(c);
	if (c->persist_backoff < TCP_RTO_MAX_BACKOFF)
		c->persist_backoff++;
	rto <<= c->persist_backoff;
	if (rto > (uint64_t)c->stk->cfg.rto_max_us * 1000)
		rto = (uint64_t)c->stk->cfg.rto_max_us * 1000;
	c->t_persist = c->stk->now + rto;
}

static void keepalive_timeout(struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->stk->cfg;

	c->t_keepalive = 0;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return;
	if (c->ka_probes >= cfg->keepalive_probes) {
		tcp_send_rst(c);
		tcp_conn_error(c, TCP_ERR_TIMEOUT);
		return;
	}
	c->ka_probes++;
	tcp_send_keepalive(c);
	c->t_keepalive = c->stk->now + cfg->keepalive_intvl_ns;
}

void tcp_timer_fire(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct tcp_conn *c =
		(struct tcp_conn *)((char *)e -
				    offsetof(struct tcp_conn, timer));

	(void)w;
	(void)now; /* the stack clock was read by tcp_timers_run() */
	now = c->stk->now;
	if (due(c->t_2msl, now)) {
		c->t_2msl = 0;
		/* an orphan stuck in FIN_WAIT_2 (TIME_WAIT has no TCB) */
		if (c->state == TCP_FIN_WAIT_2) {
			tcp_conn_release(c);
			return;
		}
	}
	if (due(c->t_idle, now)) {
		c->t_idle = 0;
		tcp_send_rst(c);
		tcp_conn_error(c, TCP_ERR_TIMEOUT);
		return;
	}
	if (due(c->t_rexmit, now)) {
		c->t_tlp = 0;
		rexmit_timeout(c);
	}
	if (!(c->flags & TCP_F_DEAD) && due(c->t_tlp, now))
		tlp_timeout(c);
	if (!(c->flags & TCP_F_DEAD) && due(c->t_persist, now))
		persist_timeout(c);
	if (!(c->flags & TCP_F_DEAD) && due(c->t_keepalive, now))
		keepalive_timeout(c);
	if (!(c->flags & TCP_F_DEAD) && due(c->t_delack, now)) {
		c->t_delack = 0;
		c->stk->stats.delayed_acks++;
		tcp_send_ack(c);
	}
	tcp_timer_update(c);
}

void tcp_timers_run(struct tcp_stack *stk)
{
	tcp_stack_enter(stk);
	tw_advance(&stk->wheel, stk->now);
	tcp_stack_leave(stk);
}

uint64_t tcp_next_timer(const struct tcp_stack *stk)
{
	return tw_next_expiry(&stk->wheel);
}
