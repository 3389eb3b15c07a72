/* Segment construction and the send decision. Every segment is built
 * linear in a fresh mbuf from env.tx_pool (af_xdp cannot send chains) with
 * the payload copied from the send queue, which keeps the queued mbufs for
 * retransmission; IPv4 and TCP checksums are computed in software. */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "net/ipv4.h"
#include "tcp/tcp_internal.h"

#define TCP_IP_TTL 64
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8
#define TCP_MAX_OPTLEN 40

uint32_t tcp_ts_now(const struct tcp_conn *c)
{
	return (uint32_t)(c->stk->now / TCP_TS_HZ_NS) + c->ts_offset;
}

uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_max - c->snd_una;
}

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	const struct tcp_config *cfg = &c->stk->cfg;
	uint32_t used = c->rcv_unread + c->reass.bytes;
	uint32_t space = cfg->rcv_buf > used ? cfg->rcv_buf - used : 0;
	uint32_t max = 65535u << c->rcv_wscale;
	/* never offer more than the out-of-order queue can hold in full
	 * segments: one loss must not turn the rest of the window into
	 * receiver drops */
	uint32_t reass_room = (uint32_t)TCP_REASS_BLOCK_SEGS * cfg->mss;

	if (max > reass_room)
		max = reass_room;

	if (space > max)
		space = max;
	/* receiver SWS avoidance (RFC 9293 3.8.6.2.2): no tiny openings */
	if (space < cfg->rcv_buf / 2 && space < c->mss)
		space = 0;
	/* never shrink what was already offered */
	if (tcp_seq_gt(c->rcv_adv, c->rcv_nxt) &&
	    c->rcv_adv - c->rcv_nxt > space)
		space = c->rcv_adv - c->rcv_nxt;
	/* the scaled field rounds down: keep the edge exact */
	return space & ~((1u << c->rcv_wscale) - 1);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static unsigned int opt_ts(const struct tcp_conn *c, uint8_t *o)
{
	o[0] = TCPOPT_NOP;
	o[1] = TCPOPT_NOP;
	o[2] = TCPOPT_TS;
	o[3] = 10;
	put32(o + 4, tcp_ts_now(c));
	put32(o + 8, c->ts_recent);
	return 12;
}

/* SYN and SYN-ACK options: MSS, SACK-permitted, timestamps, window scale.
 * A SYN-ACK carries only what the peer offered (RFC 7323 2.2, RFC 2018 2). */
static unsigned int syn_options(const struct tcp_conn *c, uint8_t *o)
{
	const struct tcp_config *cfg = &c->stk->cfg;
	bool synack = c->state == TCP_SYN_RCVD;
	unsigned int n = 0;

	o[n++] = TCPOPT_MSS;
	o[n++] = 4;
	put16(o + n, cfg->mss);
	n += 2;
	if (!cfg->no_sack && (!synack || (c->flags & TCP_F_SACK_OK))) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_SACK_PERM;
		o[n++] = 2;
	}
	if (!cfg->no_timestamps && (!synack || (c->flags & TCP_F_TS_OK)))
		n += opt_ts(c, o + n);
	if (!cfg->no_wscale && (!synack || (c->flags & TCP_F_WS_OK))) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WS;
		o[n++] = 3;
		o[n++] = c->rcv_wscale;
	}
	return n;
}

/* Timestamps and SACK blocks: a pending D-SACK first (RFC 2883, sent
 * once), then the out-of-order data held. */
static unsigned int data_options(struct tcp_conn *c, uint8_t *o)
{
	struct tcp_sack_block b[TCP_SACK_MAX_BLOCKS];
	unsigned int n = 0, nb = 0, max;

	if (c->flags & TCP_F_TS_OK)
		n += opt_ts(c, o);
	if (!(c->flags & TCP_F_SACK_OK))
		return n;
	max = (TCP_MAX_OPTLEN - n - 4) / 8;
	if (c->dsack_end != c->dsack_start && max > 0) {
		b[nb].start = c->dsack_start;
		b[nb++].end = c->dsack_end;
		c->dsack_start = c->dsack_end = 0;
	}
	if (!tcp_reass_empty(&c->reass))
		nb += tcp_reass_sack_blocks(&c->reass, b + nb, max - nb);
	if (nb == 0)
		return n;
	o[n++] = TCPOPT_NOP;
	o[n++] = TCPOPT_NOP;
	o[n++] = TCPOPT_SACK;
	o[n++] = (uint8_t)(2 + 8 * nb);
	for (unsigned int i = 0; i < nb; i++, n += 8) {
		put32(o + n, b[i].start);
		put32(o + n + 4, b[i].end);
	}
	return n;
}

/* Copies len queued bytes starting off bytes after snd_una into dst. */
static void copy_from_sndq(const struct tcp_conn *c, uint32_t off, uint32_t len,
			   uint8_t *dst)
{
	unsigned int i = c->sndq_head;

	off += c->sndq_head_off;
	while (len > 0) {
		const struct rte_mbuf *m = c->sndq[i];
		uint32_t mlen = rte_pktmbuf_pkt_len(m);

		if (off >= mlen) {
			off -= mlen;
		} else {
			uint32_t n = mlen - off < len ? mlen - off : len;
			const void *p = rte_pktmbuf_read(m, off, n, dst);

			if (p != dst)
				memcpy(dst, p, n);
			dst += n;
			len -= n;
			off = 0;
		}
		i = (i + 1) % TCP_SNDQ_MAX;
	}
}

struct seg_spec {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win; /* already scaled */
	const uint8_t *opt;
	unsigned int optlen;
	const struct tcp_conn *data_from; /* payload source, or NULL */
	uint32_t data_off, data_len;
};

/* Builds and emits one IPv4+TCP packet. Returns 0 or -ENOBUFS. */
static int emit(struct tcp_stack *stk, const struct tcp_flow_key *k,
		const struct seg_spec *s)
{
	unsigned int thl = 20 + s->optlen;
	unsigned int total = 20 + thl + s->data_len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(stk->env.tx_pool);
	uint8_t *p;

	if (m == NULL ||
	    (p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total)) == NULL) {
		rte_pktmbuf_free(m);
		stk->stats.nomem_mbuf++;
		return -ENOBUFS;
	}
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(p + 20);

	ipv4_build(p, rte_cpu_to_be_32(k->local_ip),
		   rte_cpu_to_be_32(k->remote_ip), IPPROTO_TCP,
		   (uint16_t)(total - 20), (uint16_t)stk->ip_id++, TCP_IP_TTL);
	th->src_port = rte_cpu_to_be_16(k->local_port);
	th->dst_port = rte_cpu_to_be_16(k->remote_port);
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32((s->flags & TH_ACK) ? s->ack : 0);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(s->win);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (s->optlen)
		memcpy(p + 40, s->opt, s->optlen);
	if (s->data_len)
		copy_from_sndq(s->data_from, s->data_off, s->data_len,
			       p + 40 + s->optlen);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	m->l2_len = 0;
	m->l3_len = 20;
	m->l4_len = (uint8_t)thl;
	m->packet_type = RTE_PTYPE_L3_IPV4 | RTE_PTYPE_L4_TCP;
	stk->stats.segs_out++;
	if (s->flags & TH_RST)
		stk->stats.resets_sent++;
	stk->env.output(stk->env.output_ctx, m);
	return 0;
}

/* One segment from the TCB: data [seq, seq+len) from the send queue (seq
 * at or above snd_una), with the current ACK and window. */
static int xmit(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	uint8_t opt[TCP_MAX_OPTLEN];
	uint32_t win = tcp_rcv_window(c);
	struct seg_spec s = { .seq = seq,
			      .ack = c->rcv_nxt,
			      .flags = flags,
			      .opt = opt,
			      .data_from = c,
			      .data_off = seq - c->snd_una,
			      .data_len = len };

	if (flags & TH_SYN) {
		s.optlen = syn_options(c, opt);
		s.win = (uint16_t)(win > 65535 ? 65535 :
						 win); /* never scaled */
	} else {
		s.optlen = data_options(c, opt);
		s.win = (uint16_t)(win >> c->rcv_wscale);
	}
	if (emit(c->stk, &c->key, &s) != 0)
		return -ENOBUFS;
	if (flags & TH_ACK) {
		c->last_ack_sent = c->rcv_nxt;
		if (tcp_seq_gt(c->rcv_nxt + win, c->rcv_adv))
			c->rcv_adv = c->rcv_nxt + win;
		c->unacked_segs = 0;
		c->t_delack = 0;
		c->flags &= ~TCP_F_ACK_NOW;
	}
	return 0;
}

void tcp_send_ack(struct tcp_conn *c)
{
	xmit(c, c->snd_nxt, 0, TH_ACK);
}

void tcp_send_syn(struct tcp_conn *c)
{
	if (c->state == TCP_SYN_SENT) {
		xmit(c, c->iss, 0, TH_SYN);
	} else {
		xmit(c, c->iss, 0, TH_SYN | TH_ACK);
	}
	c->snd_nxt = c->iss + 1;
	c->snd_max = tcp_seq_max(c->snd_max, c->snd_nxt);
}

void tcp_send_rst(struct tcp_conn *c)
{
	struct seg_spec s = { .seq = c->snd_max,
			      .ack = c->rcv_nxt,
			      .flags = TH_RST | TH_ACK };

	emit(c->stk, &c->key, &s);
}

void tcp_reply_rst(struct tcp_stack *stk, const struct tcp_flow_key *k,
		   const struct tcp_seg *seg)
{
	struct seg_spec s = { 0 };

	if (seg->flags & TH_RST)
		return; /* never answer a RST */
	if (seg->flags & TH_ACK) {
		s.seq = seg->ack;
		s.flags = TH_RST;
	} else {
		s.ack = seg->seq + seg->len + !!(seg->flags & TH_SYN) +
			!!(seg->flags & TH_FIN);
		s.flags = TH_RST | TH_ACK;
	}
	emit(stk, k, &s);
}

/* The ACK a TIME_WAIT record answers with: its sequence numbers, the
 * window it closed with and, if the connection used them, timestamps on
 * the connection's own clock offset. */
void tcp_tw_send_ack(struct tcp_stack *stk, const struct tcp_tw_rec *r)
{
	uint8_t opt[12];
	struct seg_spec s = { .seq = r->snd_nxt,
			      .ack = r->rcv_nxt,
			      .flags = TH_ACK,
			      .win = r->wnd,
			      .opt = opt };

	if (r->ts_ok) {
		opt[0] = TCPOPT_NOP;
		opt[1] = TCPOPT_NOP;
		opt[2] = TCPOPT_TS;
		opt[3] = 10;
		put32(opt + 4,
		      (uint32_t)(stk->now / TCP_TS_HZ_NS) + r->ts_offset);
		put32(opt + 8, r->ts_recent);
		s.optlen = 12;
	}
	emit(stk, &r->key, &s);
}

/* Keepalive and zero-window probe: an empty segment one below snd_una,
 * which the peer must answer with an ACK carrying its window (the form
 * Linux uses; it sends no byte the peer would have to drop). */
static void send_probe(struct tcp_conn *c)
{
	xmit(c, c->snd_una - 1, 0, TH_ACK);
}

void tcp_send_keepalive(struct tcp_conn *c)
{
	send_probe(c);
}

void tcp_send_persist_probe(struct tcp_conn *c)
{
	c->stk->stats.persist_probes++;
	send_probe(c);
}

static uint32_t data_end(const struct tcp_conn *c)
{
	return c->snd_una + c->sndq_bytes;
}

/* Remembers a retransmission for lost-retransmission detection; the
 * oldest record gives way when the log is full (its loss then waits for
 * the RTO, as without the log). */
static void rxt_log_add(struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	unsigned int i;

	for (i = 0; i < c->rxt_n; i++)
		if (c->rxt_log[i].seq == seq)
			break;
	if (i == c->rxt_n) {
		if (c->rxt_n == TCP_RXT_LOG) {
			for (unsigned int j = 1; j < TCP_RXT_LOG; j++)
				c->rxt_log[j - 1] = c->rxt_log[j];
			c->rxt_n--;
		}
		i = c->rxt_n++;
	}
	c->rxt_log[i] = (struct tcp_rxt_rec){ seq, end, c->snd_max };
}

int tcp_retransmit(struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint32_t end = data_end(c);
	uint8_t flags = TH_ACK;

	if (tcp_seq_geq(seq, end)) {
		if (!(c->flags & TCP_F_FIN_SENT))
			return 0;
		len = 0;
		flags |= TH_FIN;
		seq = end;
	} else if (tcp_seq_gt(seq + len, end)) {
		len = end - seq;
	}
	c->stk->stats.retransmits++;
	if (len > 0)
		rxt_log_add(c, seq, seq + len);
	if ((c->flags & TCP_F_RTT_TIMING) && tcp_seq_leq(seq, c->rtt_seq))
		c->flags &= ~TCP_F_RTT_TIMING; /* Karn */
	return xmit(c, seq, len, flags);
}

/* RFC 6675 / NewReno recovery transmissions. Returns false when the
 * allowance or the scoreboard says stop. */
static bool recovery_step(struct tcp_conn *c, bool new_data)
{
	uint32_t seq = 0, len = 0;

	if (tcp_cc_send_allowance(c) < c->mss)
		return false;
	switch (tcp_sack_next_seg(&c->sack, c->snd_una, c->snd_max, c->high_rxt,
				  c->mss, new_data, &seq, &len)) {
	case TCP_SACK_NEXT_LOST:
	case TCP_SACK_NEXT_RULE3:
		if (tcp_retransmit(c, seq, len) != 0)
			return false;
		c->high_rxt = seq + len;
		return true;
	default:
		return false;
	}
}

/* Sends new (or, after an RTO, re-sent) data from snd_nxt, then the FIN. */
static void send_data(struct tcp_conn *c)
{
	uint32_t end = data_end(c);

	while (tcp_seq_lt(c->snd_nxt, end)) {
		uint32_t wnd_edge = c->snd_una + c->snd_wnd;
		uint32_t len = end - c->snd_nxt;
		uint32_t allow = tcp_cc_send_allowance(c);

		if (len > c->mss)
			len = c->mss;
		if (!tcp_seq_lt(c->snd_nxt, wnd_edge))
			break;
		if (wnd_edge - c->snd_nxt < len)
			len = wnd_edge - c->snd_nxt;
		if (allow < len)
			len = allow;
		/* sender SWS avoidance: a runt only when it is all we have
		 * or nothing is in flight (no Nagle delay: a proxy wants
		 * its bytes out) */
		if (len == 0 || (len < c->mss && len < end - c->snd_nxt &&
				 c->snd_nxt != c->snd_una))
			break;
		bool resend = tcp_seq_lt(c->snd_nxt, c->snd_max);

		if (xmit(c, c->snd_nxt, len,
			 TH_ACK | (c->snd_nxt + len == end ? TH_PSH : 0)) != 0)
			break;
		if (resend) {
			c->stk->stats.retransmits++;
		} else {
			c->flags |= TCP_F_TLP_RESCHED;
			if (!(c->flags & TCP_F_RTT_TIMING)) {
				c->flags |= TCP_F_RTT_TIMING;
				c->rtt_seq = c->snd_nxt;
				c->rtt_start_ns = c->stk->now;
			}
		}
		c->snd_nxt += len;
		c->snd_max = tcp_seq_max(c->snd_max, c->snd_nxt);
		if (c->t_rexmit == 0)
			tcp_rexmit_restart(c);
	}
	if ((c->flags & TCP_F_FIN_QUEUED) && c->snd_nxt == end) {
		if (xmit(c, end, 0, TH_ACK | TH_FIN) == 0) {
			c->flags |= TCP_F_FIN_SENT;
			c->snd_nxt = end + 1;
			c->snd_max = tcp_seq_max(c->snd_max, c->snd_nxt);
			if (c->t_rexmit == 0)
				tcp_rexmit_restart(c);
		}
	}
}

void tcp_output(struct tcp_conn *c)
{
	if (c->flags & TCP_F_DEAD)
		return;
	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_FIN_WAIT_2:
		break;
	default:
		if (c->flags & TCP_F_ACK_NOW)
			tcp_send_ack(c);
		tcp_timer_update(c);
		return;
	}
	uint32_t end = data_end(c);

	if (c->flags & TCP_F_IN_RECOVERY) {
		bool new_data = tcp_seq_lt(c->snd_nxt, end) &&
				tcp_seq_lt(c->snd_nxt, c->snd_una + c->snd_wnd);

		while (recovery_step(c, new_data))
			;
	}
	send_data(c);
	/* zero window with data waiting and nothing in flight: persist */
	if (tcp_seq_lt(c->snd_nxt, end) && c->snd_wnd == 0 &&
	    c->snd_max == c->snd_una && c->t_persist == 0) {
		uint64_t t = (uint64_t)tcp_rto_current(&c->rto) * 1000;

		c->persist_backoff = 0;
		c->t_persist = c->stk->now + t;
		c->t_rexmit = 0;
	}
	if (c->flags & TCP_F_ACK_NOW)
		tcp_send_ack(c);
	tcp_tlp_schedule(c);
	tcp_timer_update(c);
}
