/* tcp_seq: wrap-safe TCP sequence-number arithmetic (RFC 9293 3.4, RFC 1982
 * serial numbers). Header-only, pure; every comparison of sequence or ack
 * numbers in the TCP core goes through these, never through < on uint32_t. */
#ifndef WEIR_TCP_SEQ_H
#define WEIR_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* a < b in sequence space: valid while the two are within 2^31 of each
 * other, which the window limits guarantee. */
static inline bool tcp_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool tcp_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

static inline bool tcp_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static inline bool tcp_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

static inline uint32_t tcp_seq_max(uint32_t a, uint32_t b)
{
	return tcp_seq_gt(a, b) ? a : b;
}

static inline uint32_t tcp_seq_min(uint32_t a, uint32_t b)
{
	return tcp_seq_lt(a, b) ? a : b;
}

/* lo <= s < hi */
static inline bool tcp_seq_in(uint32_t s, uint32_t lo, uint32_t hi)
{
	return tcp_seq_geq(s, lo) && tcp_seq_lt(s, hi);
}

/* RFC 9293 3.10.7.4 acceptability test of a segment [seq, seq+len) against
 * the receive window [rcv_nxt, rcv_nxt+rcv_wnd). */
static inline bool tcp_seq_acceptable(uint32_t seq, uint32_t len,
				      uint32_t rcv_nxt, uint32_t rcv_wnd)
{
	if (rcv_wnd == 0)
		return len == 0 && seq == rcv_nxt;
	if (len == 0)
		return tcp_seq_in(seq, rcv_nxt, rcv_nxt + rcv_wnd);
	return tcp_seq_in(seq, rcv_nxt, rcv_nxt + rcv_wnd) ||
	       tcp_seq_in(seq + len - 1, rcv_nxt, rcv_nxt + rcv_wnd);
}

#endif
