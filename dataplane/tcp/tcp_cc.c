/* Congestion control: NewReno (RFC 5681, RFC 6582) with the RFC 6675
 * pipe when SACK is on; see tcp.h for why not CUBIC. Byte counting with
 * L = 1 SMSS in slow start (RFC 3465), initial window 10 (RFC 6928). */
#include "tcp/tcp_internal.h"

static uint32_t half_flight(const struct tcp_conn *c)
{
	uint32_t h = tcp_flight(c) / 2;

	return h > 2u * c->mss ? h : 2u * c->mss; /* RFC 5681 (4) */
}

void tcp_cc_init(struct tcp_conn *c)
{
	c->cwnd = 10u * c->mss;
	c->ssthresh = UINT32_MAX;
	c->bytes_acked = 0;
	c->dupacks = 0;
	c->flags &= ~TCP_F_IN_RECOVERY;
}

void tcp_cc_on_ack(struct tcp_conn *c, uint32_t acked)
{
	if (c->flags & TCP_F_IN_RECOVERY)
		return;
	if (c->cwnd < c->ssthresh) {
		c->cwnd += acked < c->mss ? acked : c->mss;
		return;
	}
	/* congestion avoidance: one SMSS per cwnd of acknowledged bytes */
	c->bytes_acked += acked;
	if (c->bytes_acked >= c->cwnd) {
		c->bytes_acked -= c->cwnd;
		c->cwnd += c->mss;
	}
}

void tcp_cc_enter_recovery(struct tcp_conn *c)
{
	c->stk->stats.fast_recoveries++;
	c->flags |= TCP_F_IN_RECOVERY;
	c->t_tlp = 0;
	c->rxt_n = 0;
	c->recover = c->snd_max;
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
	c->bytes_acked = 0;
	/* RFC 6675 5 (4.2) / RFC 6582 3.2 (2): the first unacknowledged
	 * segment is retransmitted at once */
	uint32_t len = tcp_flight(c) < c->mss ? tcp_flight(c) : c->mss;

	tcp_retransmit(c, c->snd_una, len);
	c->high_rxt = c->snd_una + len;
}

void tcp_cc_exit_recovery(struct tcp_conn *c)
{
	uint32_t flight = tcp_flight(c);
	uint32_t limit = (flight > c->mss ? flight : c->mss) + c->mss;

	c->flags &= ~TCP_F_IN_RECOVERY;
	/* RFC 6582 3.2 (3) option 1 deflates to FlightSize + MSS, but after a
	 * long recovery the flight is tiny and so the next loss could not
	 * gather three duplicates: measured, it ended most recoveries in an
	 * RTO. Keep ssthresh (option 2, as PRR ends), never below 2 MSS. */
	(void)limit;
	c->cwnd = c->ssthresh > 2u * c->mss ? c->ssthresh : 2u * c->mss;
	c->dupacks = 0;
}

void tcp_cc_on_rto(struct tcp_conn *c)
{
	c->ssthresh = half_flight(c);
	c->cwnd = c->mss; /* loss window, RFC 5681 (5) */
	c->rxt_n = 0;
	c->bytes_acked = 0;
	c->dupacks = 0;
	c->flags &= ~TCP_F_IN_RECOVERY;
}

uint32_t tcp_cc_send_allowance(const struct tcp_conn *c)
{
	uint32_t pipe;

	if (!(c->flags & TCP_F_IN_RECOVERY)) {
		pipe = c->snd_nxt - c->snd_una; /* after an RTO: only re-sent */
	} else if (c->flags & TCP_F_SACK_OK) {
		pipe = tcp_sack_pipe(&c->sack, c->snd_una, c->snd_max,
				     c->high_rxt, c->mss);
	} else {
		/* NewReno: each duplicate ACK is a segment that left */
		uint32_t left = (uint32_t)c->dupacks * c->mss;
		uint32_t flight = tcp_flight(c);

		pipe = flight > left ? flight - left : 0;
	}
	return c->cwnd > pipe ? c->cwnd - pipe : 0;
}
