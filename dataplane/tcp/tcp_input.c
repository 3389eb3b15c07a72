/* Segment arrival (RFC 9293 3.10.7) with RFC 5961 hardening, RFC 7323
 * PAWS/timestamps, SACK and NewReno loss detection. tcp_input() parses and
 * finds the flow; each state's handling is a short function below. */
#include <errno.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "tcp/tcp_flow.h"
#include "tcp/tcp_internal.h"

#define SEC_NS 1000000000ull

/* ---- parsing ---- */

/* Options sit at any byte offset: read them bytewise (an unaligned 32-bit
 * load is undefined behaviour, and DPDK's unaligned_uint32_t is a plain
 * uint32_t on x86). */
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void parse_options(const uint8_t *o, unsigned int n, struct tcp_seg *s)
{
	unsigned int i = 0;

	while (i < n) {
		uint8_t kind = o[i];

		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n)
			break; /* malformed: ignore the rest */
		uint8_t len = o[i + 1];
		const uint8_t *v = o + i + 2;

		if (kind == 2 && len == 4) {
			s->has_mss = true;
			s->mss = (uint16_t)(v[0] << 8 | v[1]);
		} else if (kind == 3 && len == 3) {
			s->has_ws = true;
			s->ws = v[0] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : v[0];
		} else if (kind == 4 && len == 2) {
			s->sack_perm = true;
		} else if (kind == 8 && len == 10) {
			s->has_ts = true;
			s->tsval = get32(v);
			s->tsecr = get32(v + 4);
		} else if (kind == 5 && len >= 10 && (len - 2) % 8 == 0) {
			for (unsigned int b = 0;
			     b < (len - 2u) / 8 &&
			     s->n_sack < TCP_SACK_MAX_BLOCKS;
			     b++) {
				const uint8_t *p = v + 8 * b;

				s->sack[s->n_sack].start = get32(p);
				s->sack[s->n_sack++].end = get32(p + 4);
			}
		}
		i += len;
	}
}

/* Validates the IPv4 and TCP headers and the checksum; fills *s and *k.
 * Returns 0, or -EINVAL (counted).
 *
 * The worker has run ipv4_validate() before, and these IPv4 checks repeat
 * part of it on purpose: tcp_input() is an entry point of its own (the
 * virtual-time harness and the robustness test feed it raw packets with
 * no ipv4_validate in front), and it reads ihl and total_length to find
 * the TCP header, so bounding them here is memory safety, not policy. The
 * rest (version, protocol, fragment bits) is three compares on a cache
 * line already loaded. Source/destination policy is ipv4_validate's alone. */
static int parse(struct tcp_stack *stk, struct rte_mbuf *m, struct tcp_seg *s,
		 struct tcp_flow_key *k)
{
	if (rte_pktmbuf_data_len(m) < 40)
		goto bad_hdr;
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned int ihl = (ip->version_ihl & 0xf) * 4u;
	unsigned int total = rte_be_to_cpu_16(ip->total_length);

	if ((ip->version_ihl >> 4) != 4 || ihl < 20 || total < ihl + 20 ||
	    total > rte_pktmbuf_pkt_len(m) ||
	    ip->next_proto_id != IPPROTO_TCP ||
	    (rte_be_to_cpu_16(ip->fragment_offset) &
	     (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)))
		goto bad_hdr;
	const struct rte_tcp_hdr *th =
		(const struct rte_tcp_hdr *)((const uint8_t *)ip + ihl);
	unsigned int thl = (th->data_off >> 4) * 4u;

	if (thl < 20 || ihl + thl > total ||
	    ihl + thl > rte_pktmbuf_data_len(m))
		goto bad_hdr;
	if (rte_pktmbuf_pkt_len(m) > total) /* Ethernet padding */
		rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - total));
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) !=
		    RTE_MBUF_F_RX_L4_CKSUM_GOOD &&
	    rte_ipv4_udptcp_cksum_mbuf_verify(m, ip, (uint16_t)ihl) != 0) {
		stk->stats.bad_csum++;
		return -EINVAL;
	}
	*s = (struct tcp_seg){ 0 };
	s->seq = rte_be_to_cpu_32(th->sent_seq);
	s->ack = rte_be_to_cpu_32(th->recv_ack);
	s->wnd = rte_be_to_cpu_16(th->rx_win);
	s->flags = th->tcp_flags & 0x3f;
	s->payload_off = ihl + thl;
	s->len = total - ihl - thl;
	parse_options((const uint8_t *)th + 20, thl - 20, s);
	k->local_ip = rte_be_to_cpu_32(ip->dst_addr);
	k->remote_ip = rte_be_to_cpu_32(ip->src_addr);
	k->local_port = rte_be_to_cpu_16(th->dst_port);
	k->remote_port = rte_be_to_cpu_16(th->src_port);
	return 0;
bad_hdr:
	stk->stats.bad_hdr++;
	return -EINVAL;
}

/* ---- helpers ---- */

static struct tcp_listener *find_listener(struct tcp_stack *stk,
					  const struct tcp_flow_key *k)
{
	struct tcp_listener *any = NULL;

	for (unsigned int i = 0; i < TCP_MAX_LISTENERS; i++) {
		struct tcp_listener *l = &stk->listeners[i];

		if (!l->used || l->port != k->local_port)
			continue;
		if (l->ip == k->local_ip)
			return l;
		if (l->ip == 0)
			any = l;
	}
	return any;
}

/* Options of the peer's SYN (passive) or SYN-ACK (active). */
static void negotiate(struct tcp_conn *c, const struct tcp_seg *s)
{
	const struct tcp_config *cfg = &c->stk->cfg;

	c->peer_mss = s->has_mss ? s->mss : TCP_DEFAULT_PEER_MSS;
	c->mss = c->peer_mss < cfg->mss ? c->peer_mss : cfg->mss;
	if (s->has_ws && !cfg->no_wscale) {
		c->flags |= TCP_F_WS_OK;
		c->snd_wscale = s->ws;
		c->rcv_wscale = tcp_wscale_for(cfg->rcv_buf);
	} else {
		c->snd_wscale = c->rcv_wscale = 0;
	}
	if (s->sack_perm && !cfg->no_sack)
		c->flags |= TCP_F_SACK_OK;
	if (s->has_ts && !cfg->no_timestamps) {
		c->flags |= TCP_F_TS_OK;
		c->ts_recent = s->tsval;
		c->ts_recent_ns = c->stk->now;
		c->mss -= 12; /* every segment carries the option */
	}
	if (c->mss < 64)
		c->mss = 64;
}

/* RFC 5961 7: one per-worker budget of challenge ACKs per second (and of
 * the ACKs TIME_WAIT records send to old segments). */
static bool challenge_ack_allowed(struct tcp_stack *stk)
{
	uint64_t sec = stk->now / SEC_NS;

	if (sec != stk->challenge_sec) {
		stk->challenge_sec = sec;
		stk->challenge_acks_this_sec = 0;
	}
	if (stk->challenge_acks_this_sec >= stk->cfg.challenge_ack_limit) {
		stk->stats.challenge_acks_limited++;
		return false;
	}
	stk->challenge_acks_this_sec++;
	stk->stats.challenge_acks++;
	return true;
}

static void send_challenge_ack(struct tcp_conn *c)
{
	if (challenge_ack_allowed(c->stk))
		tcp_send_ack(c);
}

/* Cuts m down to bytes [off, off+len), chains included: leading segments
 * that hold only headers or old bytes are freed, trailing ones trimmed. */
static struct rte_mbuf *mbuf_cut(struct rte_mbuf *m, uint32_t off, uint32_t len)
{
	while (off >= m->data_len && m->next != NULL) {
		struct rte_mbuf *next = m->next;

		next->nb_segs = (uint16_t)(m->nb_segs - 1);
		next->pkt_len = m->pkt_len - m->data_len;
		off -= m->data_len;
		m->next = NULL;
		m->nb_segs = 1;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	rte_pktmbuf_adj(m, (uint16_t)off);
	uint32_t keep = len;
	struct rte_mbuf *seg = m, *last = m;

	m->pkt_len = len;
	m->nb_segs = 0;
	while (seg != NULL) {
		last = seg;
		m->nb_segs++;
		if (seg->data_len >= keep) {
			seg->data_len = (uint16_t)keep;
			break;
		}
		keep -= seg->data_len;
		seg = seg->next;
	}
	if (last->next != NULL) {
		rte_pktmbuf_free(last->next);
		last->next = NULL;
	}
	return m;
}

/* Hands [off, off+len) of m to the application (which then owns it). */
static void deliver(struct tcp_conn *c, struct rte_mbuf *m, uint32_t off,
		    uint32_t len)
{
	if (c->ops == NULL || c->ops->on_recv == NULL) {
		rte_pktmbuf_free(m); /* nobody reads */
		return;
	}
	m = mbuf_cut(m, off, len);
	c->rcv_unread += len;
	c->ops->on_recv(c, c->user, m);
}

/* ---- connection-less segments ---- */

/* tw: the TIME_WAIT record this SYN reopens, or NULL. */
static int passive_open(struct tcp_stack *stk, struct tcp_listener *l,
			const struct tcp_flow_key *k, const struct tcp_seg *s,
			const struct tcp_tw_rec *tw)
{
	struct tcp_conn *c = tcp_conn_alloc(stk, k);

	if (c == NULL) {
		tcp_reply_rst(stk, k, s); /* counted clean refusal */
		return -ENOMEM;
	}
	if (tw != NULL) {
		/* RFC 6191 / RFC 9293 3.10.7.4: the new ISN lies above the
		 * old incarnation's sequence space (Linux: snd_nxt + 65537) */
		c->iss = tw->snd_nxt + 65537;
		c->flags |= TCP_F_ISS_SET;
	}
	c->listener = l;
	c->flags |= TCP_F_PASSIVE;
	c->state = TCP_SYN_RCVD;
	c->irs = s->seq;
	c->rcv_nxt = c->rcv_adv = s->seq + 1;
	negotiate(c, s);
	c->snd_wnd = s->wnd; /* a SYN's window is never scaled */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	stk->stats.passive_opens++;
	tcp_start_handshake(c);
	c->snd_wl2 = c->iss;
	return 0;
}

/* LISTEN (RFC 9293 3.10.7.2): SYN+FIN is no valid open and takes no TCB
 * (Linux drops it too); a segment with none of SYN, ACK, RST is "any other
 * control or text-bearing segment": dropped, not answered. True if dropped. */
static bool listen_discard(struct tcp_stack *stk, const struct tcp_seg *s)
{
	if (s->flags & (TH_ACK | TH_RST))
		return false; /* an ACK gets RST, a RST nothing: as before */
	if ((s->flags & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN)) {
		stk->stats.listen_syn_fin++;
		return true;
	}
	if (!(s->flags & TH_SYN)) {
		stk->stats.listen_no_flags++;
		return true;
	}
	return false;
}

static int input_no_conn(struct tcp_stack *stk, const struct tcp_flow_key *k,
			 const struct tcp_seg *s)
{
	struct tcp_listener *l;

	stk->stats.no_flow++;
	l = find_listener(stk, k);
	if (l != NULL && listen_discard(stk, s))
		return -ENOENT;
	if ((s->flags & (TH_SYN | TH_ACK | TH_RST)) == TH_SYN && l != NULL)
		return passive_open(stk, l, k, s, NULL);
	tcp_reply_rst(stk, k, s);
	return -ENOENT;
}

/* A segment for a 4-tuple in TIME_WAIT (no TCB, tcp_tw.c). A newer SYN
 * reopens it: the record goes, the SYN is taken as at a listener. */
static int input_time_wait(struct tcp_stack *stk, struct tcp_tw_rec *r,
			   const struct tcp_flow_key *k,
			   const struct tcp_seg *s)
{
	struct tcp_listener *l;
	struct tcp_tw_rec old;

	switch (tcp_tw_input(stk, r, s)) {
	case TCP_TW_REOPEN:
		old = *r;
		tcp_tw_remove(stk, r);
		l = find_listener(stk, k);
		if (l == NULL)
			return -ENOENT; /* nobody listens any more: drop */
		stk->stats.tw_reused++;
		return passive_open(stk, l, k, s, &old);
	case TCP_TW_ACK:
		if (challenge_ack_allowed(stk))
			tcp_tw_send_ack(stk, r);
		return 0;
	case TCP_TW_ACK_NOW:
		tcp_tw_send_ack(stk, r);
		return 0;
	case TCP_TW_DROP:
		break;
	}
	return 0;
}

/* ---- SYN_SENT (RFC 9293 3.10.7.3) ---- */

static void established(struct tcp_conn *c, const struct tcp_seg *s)
{
	c->state = TCP_ESTABLISHED;
	c->snd_wnd = s->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	c->retries = 0;
	c->t_rexmit = 0;
	tcp_rto_reset_backoff(&c->rto);
	tcp_cc_init(c);
	tcp_keepalive_reset(c);
	c->stk->stats.established++;
}

static void syn_sent_input(struct tcp_conn *c, const struct tcp_seg *s)
{
	bool ack_ok = tcp_seq_gt(s->ack, c->iss) &&
		      tcp_seq_leq(s->ack, c->snd_max);

	if ((s->flags & TH_ACK) && !ack_ok) {
		if (!(s->flags & TH_RST))
			tcp_reply_rst(c->stk, &c->key, s);
		return;
	}
	if (s->flags & TH_RST) {
		if (s->flags & TH_ACK)
			tcp_conn_error(c, TCP_ERR_REFUSED);
		return;
	}
	if (!(s->flags & TH_SYN))
		return;
	c->irs = s->seq;
	c->rcv_nxt = c->rcv_adv = s->seq + 1;
	negotiate(c, s);
	if (!(s->flags & TH_ACK)) { /* simultaneous open */
		c->state = TCP_SYN_RCVD;
		c->snd_wnd = s->wnd;
		tcp_send_syn(c);
		return;
	}
	/* the SYN's RTT is a valid first sample unless it was resent */
	if (c->retries == 0)
		tcp_rto_on_ack_segment(&c->rto, c->rtt_start_ns, false,
				       c->stk->now);
	c->snd_una = s->ack;
	established(c, s);
	c->snd_wnd = s->wnd; /* a SYN-ACK's window is never scaled */
	c->flags |= TCP_F_ACK_NOW;
	if (c->ops != NULL && c->ops->on_connected != NULL &&
	    !(c->flags & TCP_F_CLOSED_APP))
		c->ops->on_connected(c, c->user);
}

/* ---- synchronized states ---- */

/* RFC 7323 5.3 PAWS. True if the segment must be dropped. */
static bool paws_reject(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!(c->flags & TCP_F_TS_OK) || !s->has_ts || (s->flags & TH_RST))
		return false;
	if (!tcp_seq_lt(s->tsval, c->ts_recent))
		return false;
	/* A reordered or duplicated pure ACK is old by construction; its
	 * SACK blocks are still news (Linux's tcp_disordered_ack) */
	if (s->len == 0 && !(s->flags & (TH_SYN | TH_FIN)) &&
	    s->seq == c->rcv_nxt && tcp_seq_leq(s->ack, c->snd_max))
		return false;
	if (c->stk->now - c->ts_recent_ns > TCP_PAWS_IDLE_NS)
		return false; /* ts_recent too old to trust (5.5) */
	c->stk->stats.paws_drops++;
	return true;
}

/* RFC 5961 3.2: only an exact RST resets; in-window gets a challenge. */
static void rst_input(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (s->seq != c->rcv_nxt) {
		send_challenge_ack(c);
		return;
	}
	switch (c->state) {
	case TCP_SYN_RCVD:
		if (c->flags & TCP_F_PASSIVE) { /* back to LISTEN: forget it */
			c->stk->stats.resets_rcvd++;
			tcp_conn_release(c);
			return;
		}
		tcp_conn_error(c, TCP_ERR_REFUSED);
		return;
	default: /* CLOSING and LAST_ACK too: our FIN may not have arrived */
		tcp_conn_error(c, TCP_ERR_RESET);
	}
}

/* Lost retransmission detection, RACK's time-order idea (RFC 8985 2)
 * with sequence numbers standing in for send times: data first sent
 * after one of our retransmissions has been SACKed while the retransmitted
 * range still is missing, so that copy was lost too. It goes again at once
 * instead of waiting for the RTO (RFC 6675 alone would wait). */
static void detect_lost_retransmissions(struct tcp_conn *c)
{
	uint32_t high = tcp_sack_high(&c->sack, c->snd_una);
	unsigned int i = 0;

	while (i < c->rxt_n) {
		struct tcp_rxt_rec r = c->rxt_log[i];

		if (tcp_seq_leq(r.end, c->snd_una) ||
		    tcp_sack_is_sacked(&c->sack, r.seq)) { /* it arrived */
			c->rxt_log[i] = c->rxt_log[--c->rxt_n];
			continue;
		}
		if ((c->flags & TCP_F_IN_RECOVERY) &&
		    tcp_seq_gt(high, r.fence)) {
			uint32_t seq = tcp_seq_max(r.seq, c->snd_una);

			c->stk->stats.lost_retransmits++;
			tcp_retransmit(c, seq,
				       r.end - seq); /* re-logs, new fence */
		}
		i++;
	}
}

/* Returns the number of newly SACKed bytes. */
static uint32_t sack_input(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!(c->flags & TCP_F_SACK_OK) || s->n_sack == 0)
		return 0;
	return tcp_sack_update(&c->sack, c->snd_una, c->snd_max, s->sack,
			       s->n_sack);
}

/* A cumulative ACK for new data (or our FIN). */
static void ack_new(struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t acked = s->ack - c->snd_una;

	if ((c->flags & TCP_F_RTT_TIMING) && tcp_seq_gt(s->ack, c->rtt_seq)) {
		c->flags &= ~TCP_F_RTT_TIMING;
		tcp_rto_on_ack_segment(&c->rto, c->rtt_start_ns, false,
				       c->stk->now);
	}
	tcp_rto_reset_backoff(&c->rto);
	c->retries = 0;
	tcp_sndq_drop_acked(c, acked);
	c->snd_una = s->ack;
	c->flags &= ~TCP_F_TLP_OUT; /* the probe, or what it probed, arrived */
	c->flags |= TCP_F_TLP_RESCHED;
	if (tcp_seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	if (tcp_seq_lt(c->high_rxt, c->snd_una))
		c->high_rxt = c->snd_una;
	tcp_sack_advance(&c->sack, c->snd_una);
	if (c->flags & TCP_F_IN_RECOVERY) {
		if (tcp_seq_geq(s->ack, c->recover)) {
			tcp_cc_exit_recovery(c);
		} else if (!(c->flags & TCP_F_SACK_OK)) {
			/* RFC 6582 3.2 (5): partial ACK, resend the next hole
			 * and deflate by what was acknowledged */
			tcp_retransmit(c, c->snd_una, c->mss);
			c->cwnd = c->cwnd > acked ? c->cwnd - acked + c->mss :
						    c->mss;
		}
	} else {
		tcp_cc_on_ack(c, acked);
		c->dupacks = 0;
	}
	if (c->snd_una == c->snd_max)
		c->t_rexmit = 0;
	else
		tcp_rexmit_restart(c); /* RFC 6298 5.3 */
}

static void dup_ack(struct tcp_conn *c)
{
	if (c->dupacks < UINT8_MAX)
		c->dupacks++;
	if (c->flags & TCP_F_IN_RECOVERY)
		return;
	/* RFC 6675 5 (2): DupThresh duplicates, or IsLost(HighACK + 1) */
	if (c->dupacks >= TCP_SACK_DUPTHRESH ||
	    ((c->flags & TCP_F_SACK_OK) &&
	     tcp_sack_is_lost(&c->sack, c->snd_una, c->mss)))
		tcp_cc_enter_recovery(c);
}

static void window_update(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!(tcp_seq_lt(c->snd_wl1, s->seq) ||
	      (c->snd_wl1 == s->seq && tcp_seq_leq(c->snd_wl2, s->ack))))
		return;
	c->snd_wnd = s->wnd << c->snd_wscale;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	if (c->snd_wnd > c->max_snd_wnd)
		c->max_snd_wnd = c->snd_wnd;
	if (c->snd_wnd > 0)
		c->t_persist = 0;
}

static bool fin_acked(const struct tcp_conn *c)
{
	return (c->flags & TCP_F_FIN_SENT) && c->snd_una == c->snd_max &&
	       c->sndq_bytes == 0;
}

/* RFC 9293 3.10.7.4 fifth step. False if the segment must be dropped. */
static bool ack_input(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (c->state == TCP_SYN_RCVD) {
		if (!tcp_seq_gt(s->ack, c->snd_una) ||
		    tcp_seq_gt(s->ack, c->snd_max)) {
			tcp_reply_rst(c->stk, &c->key, s);
			return false;
		}
		if (c->retries == 0) /* Karn: only an unrepeated SYN-ACK */
			tcp_rto_on_ack_segment(&c->rto, c->rtt_start_ns, false,
					       c->stk->now);
		c->snd_una = s->ack;
		established(c, s);
		if (!(c->flags & TCP_F_PASSIVE)) { /* simultaneous open */
			if (c->ops != NULL && c->ops->on_connected != NULL)
				c->ops->on_connected(c, c->user);
		} else if (c->listener == NULL || !c->listener->used ||
			   (c->listener->on_accept != NULL &&
			    c->listener->on_accept(c, c->listener->ctx) < 0)) {
			tcp_abort(c); /* refused, or the listener went away */
			return false;
		}
		if (c->flags & TCP_F_DEAD)
			return false;
	}
	/* RFC 5961 5.2: acceptable ACKs lie in [snd_una - max_wnd, snd_max] */
	if (tcp_seq_gt(s->ack, c->snd_max) ||
	    tcp_seq_lt(s->ack, c->snd_una - c->max_snd_wnd)) {
		send_challenge_ack(c);
		return false;
	}
	bool is_dup = s->ack == c->snd_una && s->len == 0 &&
		      !(s->flags & (TH_SYN | TH_FIN)) &&
		      c->snd_max != c->snd_una &&
		      (s->wnd << c->snd_wscale) == c->snd_wnd;

	/* RFC 6675 2: with SACK, an ACK that SACKs new data is a duplicate
	 * whatever its window says (a growing receive window made us ignore
	 * the very ACKs that reported the losses) */
	if (sack_input(c, s) && s->ack == c->snd_una && s->len == 0 &&
	    c->snd_max != c->snd_una) {
		is_dup = true;
	}
	if (c->flags & TCP_F_SACK_OK)
		c->flags |=
			TCP_F_TLP_RESCHED; /* any ACK: re-plan the probe/stall timer */
	if (tcp_seq_gt(s->ack, c->snd_una))
		ack_new(c, s);
	else if (is_dup)
		dup_ack(c);
	/* RFC 6675 5 (2): IsLost(HighACK + 1) is checked after every
	 * scoreboard update, not only on duplicates */
	if (!(c->flags & TCP_F_IN_RECOVERY) && (c->flags & TCP_F_SACK_OK) &&
	    c->snd_max != c->snd_una &&
	    tcp_sack_is_lost(&c->sack, c->snd_una, c->mss))
		tcp_cc_enter_recovery(c);
	detect_lost_retransmissions(c);
	window_update(c, s);
	if (!fin_acked(c))
		return true;
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		c->state = TCP_FIN_WAIT_2;
		if (c->flags & TCP_F_CLOSED_APP)
			c->t_2msl = c->stk->now + c->stk->cfg.fin_wait2_ns;
		break;
	case TCP_CLOSING:
		tcp_enter_time_wait(c);
		break;
	case TCP_LAST_ACK:
		tcp_conn_closed(c);
		return false;
	default:
		break;
	}
	return true;
}

/* In-order data (already trimmed to start at rcv_nxt) and the reassembly
 * queue behind it. */
static void data_in_order(struct tcp_conn *c, struct rte_mbuf *m, uint32_t off,
			  uint32_t len)
{
	bool had_gap = !tcp_reass_empty(&c->reass);
	struct tcp_reass_seg r;

	c->rcv_nxt += len;
	deliver(c, m, off, len);
	while (!(c->flags & TCP_F_DEAD) &&
	       tcp_reass_pop(&c->reass, c->rcv_nxt, &r)) {
		c->rcv_nxt += r.len;
		deliver(c, r.buf, r.off, r.len);
	}
	if (c->flags & TCP_F_DEAD)
		return;
	if (had_gap && tcp_reass_empty(&c->reass))
		tcp_reass_block_put(c);
	/* RFC 9293 3.8.6.3 / RFC 5681 4.2: ACK at least every second full
	 * segment, and at once when a gap filled. Also at once for a runt
	 * (shorter than the MSS): it means the sender ran out of data, and a
	 * Nagle sender (uvicorn streaming SSE) holds its next small write
	 * until this ACK: delaying it added 40 ms per event through the proxy
	 * (tests/integration/test_http_proxy.py measures it). */
	if (had_gap || len < c->mss || ++c->unacked_segs >= 2)
		c->flags |= TCP_F_ACK_NOW;
	else
		tcp_delack_arm(c);
}

/* Data above rcv_nxt: held, and answered at once with SACK blocks. Not
 * from a pool down to its reserve, which must stay free for the in-order
 * data and ACKs that release memory. Consumes m. */
static void ooo_input(struct tcp_conn *c, struct rte_mbuf *m, uint32_t seq,
		      uint32_t len, uint32_t off)
{
	struct tcp_stats *st = &c->stk->stats;
	enum tcp_reass_result r = TCP_REASS_FULL;

	if (rte_mempool_avail_count(m->pool) < c->stk->cfg.mbuf_reserve)
		st->nomem_mbuf++;
	else if (tcp_reass_block_get(c))
		r = tcp_reass_insert(&c->reass, c->rcv_nxt, seq, len, m, off);
	if (r == TCP_REASS_FULL) {
		st->ooo_dropped++;
		rte_pktmbuf_free(m);
	} else if (r == TCP_REASS_QUEUED) {
		st->ooo_queued++;
	}
	if (tcp_reass_empty(&c->reass))
		tcp_reass_block_put(c);
	c->flags |= TCP_F_ACK_NOW;
}

/* Payload of an acceptable segment. Consumes m. */
static void data_input(struct tcp_conn *c, const struct tcp_seg *s,
		       struct rte_mbuf *m)
{
	uint32_t seq = s->seq, off = s->payload_off, len = s->len;
	uint32_t wnd = tcp_seq_gt(c->rcv_adv, c->rcv_nxt) ?
			       c->rcv_adv - c->rcv_nxt :
			       0;

	if (c->state != TCP_ESTABLISHED && c->state != TCP_FIN_WAIT_1 &&
	    c->state != TCP_FIN_WAIT_2) {
		rte_pktmbuf_free(m);
		return;
	}
	if (c->flags & TCP_F_CLOSED_APP) {
		/* nobody will read it: RFC 9293 3.10.7.4 (data after close) */
		rte_pktmbuf_free(m);
		tcp_send_rst(c);
		c->stk->stats.aborted++;
		tcp_conn_release(c);
		return;
	}
	if (tcp_seq_lt(seq, c->rcv_nxt)) { /* retransmitted front */
		off += c->rcv_nxt - seq;
		len -= c->rcv_nxt - seq;
		seq = c->rcv_nxt;
	}
	uint32_t room = wnd > seq - c->rcv_nxt ? wnd - (seq - c->rcv_nxt) : 0;

	if (len > room) /* beyond the window we offered */
		len = room;
	if (len == 0) {
		rte_pktmbuf_free(m);
		c->flags |= TCP_F_ACK_NOW;
		return;
	}
	if (seq == c->rcv_nxt) {
		data_in_order(c, m, off, len);
		return;
	}
	ooo_input(c, m, seq, len, off);
}

/* RFC 9293 3.10.7.4 eighth step. */
static void fin_input(struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->flags |= TCP_F_ACK_NOW | TCP_F_PEER_FIN;
	switch (c->state) {
	case TCP_SYN_RCVD:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		if (fin_acked(c))
			tcp_enter_time_wait(c);
		else
			c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		tcp_enter_time_wait(c);
		break;
	default:
		return;
	}
	if (c->state != TCP_TIME_WAIT && !(c->flags & TCP_F_CLOSED_APP) &&
	    c->ops != NULL && c->ops->on_peer_fin != NULL)
		c->ops->on_peer_fin(c, c->user);
}

/* A segment outside the receive window: ACK it (unless it is a RST), and
 * report a duplicate's range as a D-SACK (RFC 2883), so the sender can tell
 * a spurious retransmission from a loss. */
static void unacceptable(struct tcp_conn *c, const struct tcp_seg *s)
{
	if (!(s->flags & TH_RST))
		c->flags |= TCP_F_ACK_NOW;
	if (s->len && (c->flags & TCP_F_SACK_OK) &&
	    tcp_seq_leq(s->seq + s->len, c->rcv_nxt)) {
		c->dsack_start = s->seq;
		c->dsack_end = s->seq + s->len;
	}
}

/* An acceptable segment arrived: TS.Recent (RFC 7323 4.3: the timestamp of
 * the segment at the window's edge), and the idle and keepalive clocks. */
static void note_arrival(struct tcp_conn *c, const struct tcp_seg *s,
			 uint32_t seg_len)
{
	if ((c->flags & TCP_F_TS_OK) && s->has_ts &&
	    tcp_seq_leq(s->seq, c->last_ack_sent) &&
	    tcp_seq_leq(c->last_ack_sent, s->seq + seg_len)) {
		c->ts_recent = s->tsval;
		c->ts_recent_ns = c->stk->now;
	}
	c->last_rcv_ns = c->stk->now;
	if (c->idle_ns)
		c->t_idle = c->stk->now + c->idle_ns;
	tcp_keepalive_reset(c);
}

static void synchronized_input(struct tcp_conn *c, const struct tcp_seg *s,
			       struct rte_mbuf *m)
{
	uint32_t wnd = tcp_seq_gt(c->rcv_adv, c->rcv_nxt) ?
			       c->rcv_adv - c->rcv_nxt :
			       0;
	uint32_t seg_len =
		s->len + !!(s->flags & TH_SYN) + !!(s->flags & TH_FIN);

	if (c->state == TCP_SYN_RCVD &&
	    (s->flags & (TH_SYN | TH_ACK)) == TH_SYN &&
	    s->seq == c->irs) { /* our SYN-ACK was lost */
		tcp_send_syn(c);
		goto drop;
	}
	if (paws_reject(c, s)) {
		c->flags |= TCP_F_ACK_NOW;
		goto drop;
	}
	if (!tcp_seq_acceptable(s->seq, seg_len, c->rcv_nxt, wnd)) {
		unacceptable(c, s);
		goto drop;
	}
	if (s->flags & TH_RST) {
		rst_input(c, s);
		goto drop;
	}
	if (s->flags & TH_SYN) { /* RFC 5961 4.2 */
		send_challenge_ack(c);
		goto drop;
	}
	if (!(s->flags & TH_ACK))
		goto drop;
	note_arrival(c, s, seg_len);
	/* entering TIME_WAIT (CLOSING, our FIN acked) releases the TCB */
	if (!ack_input(c, s) || (c->flags & TCP_F_DEAD))
		goto drop;
	uint32_t fin_seq = s->seq + s->len;

	if (s->len > 0)
		data_input(c, s, m);
	else
		rte_pktmbuf_free(m);
	m = NULL;
	/* a FIN counts once everything before it arrived (an out-of-order
	 * FIN is not held: the peer retransmits it) */
	if ((s->flags & TH_FIN) && fin_seq == c->rcv_nxt &&
	    !(c->flags & (TCP_F_PEER_FIN | TCP_F_DEAD)))
		fin_input(c);
	return;
drop:
	rte_pktmbuf_free(m);
}

static void after_input(struct tcp_conn *c)
{
	if (c->flags & TCP_F_DEAD)
		return;
	if ((c->flags & TCP_F_WANT_WRITE) && tcp_send_space(c) > 0 &&
	    c->state != TCP_SYN_SENT && c->state != TCP_SYN_RCVD) {
		c->flags &= ~TCP_F_WANT_WRITE;
		if (c->ops != NULL && c->ops->on_writable != NULL &&
		    !(c->flags & TCP_F_CLOSED_APP))
			c->ops->on_writable(c, c->user);
		if (c->flags & TCP_F_DEAD)
			return;
	}
	tcp_output(c);
}

int tcp_input(struct tcp_stack *stk, struct rte_mbuf *m)
{
	struct tcp_seg s;
	struct tcp_flow_key k;
	int rc = 0;

	tcp_stack_enter(stk);
	stk->stats.segs_in++;
	if (parse(stk, m, &s, &k) != 0) {
		rte_pktmbuf_free(m);
		tcp_stack_leave(stk);
		return -EINVAL;
	}
	struct tcp_conn *c = tcp_flow_lookup(stk, &k);

	struct tcp_tw_rec *tw = c == NULL ? tcp_tw_lookup(stk, &k) : NULL;

	if (tw != NULL) {
		rc = input_time_wait(stk, tw, &k, &s) == 0 ? 0 : -ENOENT;
		rte_pktmbuf_free(m);
	} else if (c == NULL) {
		rc = input_no_conn(stk, &k, &s) == 0 ? 0 : -ENOENT;
		rte_pktmbuf_free(m);
	} else if (c->state == TCP_SYN_SENT) {
		syn_sent_input(c, &s);
		rte_pktmbuf_free(m);
		after_input(c);
	} else {
		stk->input_conn =
			c; /* tcp_recv_done defers its ACK to the end */
		synchronized_input(c, &s, m);
		stk->input_conn = NULL;
		after_input(c);
	}
	tcp_stack_leave(stk);
	return rc;
}
