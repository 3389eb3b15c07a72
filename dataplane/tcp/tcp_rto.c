/* RFC 6298 estimator; see tcp_rto.h. */
#include "tcp/tcp_rto.h"

static uint32_t clamp_u32(uint64_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : (uint32_t)v;
}

void tcp_rto_init(struct tcp_rto *r, uint32_t min_us, uint32_t max_us,
		  uint32_t granularity_us)
{
	r->min_us = min_us ? min_us : TCP_RTO_MIN_DEFAULT_US;
	r->max_us = max_us ? max_us : TCP_RTO_MAX_DEFAULT_US;
	if (r->max_us < r->min_us)
		r->max_us = r->min_us;
	r->granularity_us = granularity_us;
	r->srtt_us = 0;
	r->rttvar_us = 0;
	r->rto_us = clamp_u32(TCP_RTO_INITIAL_US, r->min_us, r->max_us);
	r->backoff = 0;
	r->have_sample = false;
}

void tcp_rto_sample(struct tcp_rto *r, uint32_t rtt_us)
{
	if (rtt_us == 0)
		rtt_us = 1;
	if (!r->have_sample) {
		/* 2.2: SRTT <- R, RTTVAR <- R/2 */
		r->srtt_us = rtt_us;
		r->rttvar_us = rtt_us / 2;
		r->have_sample = true;
	} else {
		/* 2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'| (RTTVAR first,
		 * with the old SRTT), SRTT <- 7/8 SRTT + 1/8 R' */
		uint32_t err = r->srtt_us > rtt_us ? r->srtt_us - rtt_us :
						     rtt_us - r->srtt_us;

		r->rttvar_us =
			(uint32_t)(((uint64_t)r->rttvar_us * 3 + err) / 4);
		r->srtt_us =
			(uint32_t)(((uint64_t)r->srtt_us * 7 + rtt_us) / 8);
	}
	uint64_t k_var = (uint64_t)r->rttvar_us * 4;

	if (k_var < r->granularity_us)
		k_var = r->granularity_us;
	r->rto_us =
		clamp_u32((uint64_t)r->srtt_us + k_var, r->min_us, r->max_us);
}

bool tcp_rto_on_ack_segment(struct tcp_rto *r, uint64_t sent_ns,
			    bool retransmitted, uint64_t now_ns)
{
	if (retransmitted || now_ns < sent_ns)
		return false;
	uint64_t us = (now_ns - sent_ns) / 1000;

	tcp_rto_sample(r, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
	return true;
}

void tcp_rto_backoff(struct tcp_rto *r)
{
	if (r->backoff < TCP_RTO_MAX_BACKOFF &&
	    ((uint64_t)r->rto_us << r->backoff) < r->max_us)
		r->backoff++;
}

uint32_t tcp_rto_current(const struct tcp_rto *r)
{
	return clamp_u32((uint64_t)r->rto_us << r->backoff, r->min_us,
			 r->max_us);
}
