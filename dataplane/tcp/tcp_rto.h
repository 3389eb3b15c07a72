/* tcp_rto: the retransmission-timeout estimator of RFC 6298 with Karn's
 * rule and exponential back-off, in microseconds. Pure arithmetic on a
 * small struct embedded in the TCB: no clock reads, no allocation. */
#ifndef WEIR_TCP_RTO_H
#define WEIR_TCP_RTO_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_RTO_MIN_DEFAULT_US 200000u /* configurable; RFC says 1 s, */
/* 200 ms as Linux for LAN RTTs */
#define TCP_RTO_MAX_DEFAULT_US 60000000u /* RFC 6298 2.5: >= 60 s */
#define TCP_RTO_INITIAL_US 1000000u /* RFC 6298 2.1 */
#define TCP_RTO_MAX_BACKOFF 16

struct tcp_rto {
	uint32_t srtt_us; /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t rto_us; /* base RTO, before back-off */
	uint32_t min_us, max_us;
	uint32_t granularity_us; /* G of RFC 6298: the timer tick */
	uint8_t backoff; /* RTO doublings since the last new ACK */
	bool have_sample;
};

/* min_us/max_us 0 pick the defaults; granularity_us is the timer tick. */
void tcp_rto_init(struct tcp_rto *r, uint32_t min_us, uint32_t max_us,
		  uint32_t granularity_us);

/* Feeds one RTT measurement (RFC 6298 2.2/2.3, alpha 1/8, beta 1/4). */
void tcp_rto_sample(struct tcp_rto *r, uint32_t rtt_us);

/* Karn's rule (RFC 6298 3): a segment that was retransmitted gives no
 * sample, because the ACK cannot tell which copy it acknowledges. Returns
 * true if a sample was taken. Timestamps (RFC 7323) would remove the
 * ambiguity, but per-segment send times in ns are finer than TS ticks. */
bool tcp_rto_on_ack_segment(struct tcp_rto *r, uint64_t sent_ns,
			    bool retransmitted, uint64_t now_ns);

/* RFC 6298 5.5: the timer expired, double the RTO (bounded by max). */
void tcp_rto_backoff(struct tcp_rto *r);

/* A new ACK arrived: forget the back-off (RFC 6298 5.7 and Karn). */
static inline void tcp_rto_reset_backoff(struct tcp_rto *r)
{
	r->backoff = 0;
}

/* The RTO to arm now, back-off included, in us, within [min, max]. */
uint32_t tcp_rto_current(const struct tcp_rto *r);

#endif
