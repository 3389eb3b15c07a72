/* tcp_sack: the sender's SACK scoreboard (RFC 2018 blocks in) and the
 * RFC 6675 loss-recovery queries over it: IsLost, NextSeg, pipe. A fixed
 * array of ranges inside the TCB: no allocation, no clock, no mbufs. When
 * the array is full the highest range is forgotten, which only makes
 * recovery more conservative (those bytes are counted as in flight). */
#ifndef WEIR_TCP_SACK_H
#define WEIR_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#define TCP_SACK_MAX_RANGES 16
#define TCP_SACK_DUPTHRESH 3 /* RFC 6675 DupThresh */
#define TCP_SACK_MAX_BLOCKS 4 /* at most 4 blocks fit in the option space */

struct tcp_sack_block {
	uint32_t start; /* first sequence number of the block */
	uint32_t end; /* one past its last */
};

struct tcp_sack_board {
	uint8_t n; /* ranges in use, sorted, disjoint */
	uint32_t sacked_bytes; /* total bytes covered */
	struct tcp_sack_block r[TCP_SACK_MAX_RANGES];
};

enum tcp_sack_next {
	TCP_SACK_NEXT_NONE = 0, /* nothing may be sent */
	TCP_SACK_NEXT_LOST, /* rule 1: retransmit a lost hole */
	TCP_SACK_NEXT_NEW, /* rule 2: send new data */
	TCP_SACK_NEXT_RULE3, /* rule 3: retransmit a not-yet-lost hole */
};

static inline void tcp_sack_reset(struct tcp_sack_board *sb)
{
	sb->n = 0;
	sb->sacked_bytes = 0;
}

/* Merges the peer's SACK blocks into the board, drops everything at or
 * below snd_una, ignores blocks outside (snd_una, snd_nxt] (D-SACKs and
 * garbage). Returns the number of newly SACKed bytes. */
uint32_t tcp_sack_update(struct tcp_sack_board *sb, uint32_t snd_una,
			 uint32_t snd_nxt, const struct tcp_sack_block *blk,
			 unsigned int n);

/* Cumulative ACK moved: forget ranges below snd_una. */
void tcp_sack_advance(struct tcp_sack_board *sb, uint32_t snd_una);

bool tcp_sack_is_sacked(const struct tcp_sack_board *sb, uint32_t seq);

/* Highest SACKed sequence number + 1, or snd_una if none. */
uint32_t tcp_sack_high(const struct tcp_sack_board *sb, uint32_t snd_una);

/* RFC 6675 IsLost(seq): DupThresh discontiguous SACKed ranges, or more
 * than (DupThresh - 1) * SMSS SACKed bytes, above seq. */
bool tcp_sack_is_lost(const struct tcp_sack_board *sb, uint32_t seq,
		      uint32_t mss);

/* RFC 6675 NextSeg(): rules 1-3. On LOST/RULE3 *seq and *len (<= mss)
 * give the hole to retransmit; high_rxt is one past the highest
 * retransmitted sequence number in this recovery (snd_una at its start). new_data tells whether rule 2
 * can be used (unsent data exists and the peer's window allows it). */
enum tcp_sack_next tcp_sack_next_seg(const struct tcp_sack_board *sb,
				     uint32_t snd_una, uint32_t snd_nxt,
				     uint32_t high_rxt, uint32_t mss,
				     bool new_data, uint32_t *seq,
				     uint32_t *len);

/* RFC 6675 SetPipe(): bytes estimated in flight. */
uint32_t tcp_sack_pipe(const struct tcp_sack_board *sb, uint32_t snd_una,
		       uint32_t snd_nxt, uint32_t high_rxt, uint32_t mss);

#endif
