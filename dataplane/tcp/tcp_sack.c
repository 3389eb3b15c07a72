/* SACK scoreboard and RFC 6675 queries; see tcp_sack.h. */
#include "tcp/tcp_sack.h"
#include "tcp/tcp_seq.h"

static void remove_at(struct tcp_sack_board *sb, unsigned int i)
{
	sb->sacked_bytes -= sb->r[i].end - sb->r[i].start;
	for (unsigned int j = i; j + 1 < sb->n; j++)
		sb->r[j] = sb->r[j + 1];
	sb->n--;
}

void tcp_sack_advance(struct tcp_sack_board *sb, uint32_t snd_una)
{
	while (sb->n > 0 && tcp_seq_leq(sb->r[0].start, snd_una)) {
		if (tcp_seq_leq(sb->r[0].end, snd_una)) {
			remove_at(sb, 0);
		} else {
			sb->sacked_bytes -= snd_una - sb->r[0].start;
			sb->r[0].start = snd_una;
			break;
		}
	}
}

/* Inserts [s, e) keeping the array sorted and disjoint; returns the bytes
 * it added. */
static uint32_t insert_range(struct tcp_sack_board *sb, uint32_t s, uint32_t e)
{
	unsigned int i = 0;
	uint32_t before = sb->sacked_bytes;

	while (i < sb->n && tcp_seq_lt(sb->r[i].end, s))
		i++;
	/* merge with every range that overlaps or touches [s, e) */
	while (i < sb->n && tcp_seq_leq(sb->r[i].start, e)) {
		s = tcp_seq_min(s, sb->r[i].start);
		e = tcp_seq_max(e, sb->r[i].end);
		remove_at(sb, i);
	}
	if (sb->n == TCP_SACK_MAX_RANGES) { /* full (so nothing merged) */
		if (i == sb->n)
			return 0; /* the new one is the highest: forget it */
		remove_at(sb, (unsigned int)(sb->n - 1));
	}
	for (unsigned int j = sb->n; j > i; j--)
		sb->r[j] = sb->r[j - 1];
	sb->r[i].start = s;
	sb->r[i].end = e;
	sb->n++;
	sb->sacked_bytes += e - s;
	return sb->sacked_bytes > before ? sb->sacked_bytes - before : 0;
}

uint32_t tcp_sack_update(struct tcp_sack_board *sb, uint32_t snd_una,
			 uint32_t snd_nxt, const struct tcp_sack_block *blk,
			 unsigned int n)
{
	uint32_t added = 0;

	tcp_sack_advance(sb, snd_una);
	for (unsigned int k = 0; k < n; k++) {
		uint32_t s = blk[k].start, e = blk[k].end;

		if (!tcp_seq_lt(s, e) || tcp_seq_leq(e, snd_una) ||
		    tcp_seq_gt(e, snd_nxt) || tcp_seq_lt(s, snd_una))
			continue; /* D-SACK, stale or bogus */
		added += insert_range(sb, s, e);
	}
	return added;
}

bool tcp_sack_is_sacked(const struct tcp_sack_board *sb, uint32_t seq)
{
	for (unsigned int i = 0; i < sb->n; i++)
		if (tcp_seq_in(seq, sb->r[i].start, sb->r[i].end))
			return true;
	return false;
}

uint32_t tcp_sack_high(const struct tcp_sack_board *sb, uint32_t snd_una)
{
	return sb->n ? sb->r[sb->n - 1].end : snd_una;
}

bool tcp_sack_is_lost(const struct tcp_sack_board *sb, uint32_t seq,
		      uint32_t mss)
{
	uint32_t bytes = 0;
	unsigned int ranges = 0;

	for (unsigned int i = sb->n; i-- > 0;) {
		if (tcp_seq_leq(sb->r[i].end, seq))
			break;
		uint32_t s = tcp_seq_max(sb->r[i].start, seq + 1);

		bytes += sb->r[i].end - s;
		ranges++;
	}
	return ranges >= TCP_SACK_DUPTHRESH ||
	       bytes > (TCP_SACK_DUPTHRESH - 1) * mss;
}

/* First unSACKed sequence number at or after seq. */
static uint32_t hole_start_after(const struct tcp_sack_board *sb, uint32_t seq)
{
	for (unsigned int i = 0; i < sb->n; i++)
		if (tcp_seq_in(seq, sb->r[i].start, sb->r[i].end))
			seq = sb->r[i].end;
	return seq;
}

/* End of the hole starting at seq: the next SACKed range, or `high`. */
static uint32_t hole_end_from(const struct tcp_sack_board *sb, uint32_t seq,
			      uint32_t high)
{
	for (unsigned int i = 0; i < sb->n; i++)
		if (tcp_seq_gt(sb->r[i].start, seq))
			return sb->r[i].start;
	return high;
}

enum tcp_sack_next tcp_sack_next_seg(const struct tcp_sack_board *sb,
				     uint32_t snd_una, uint32_t snd_nxt,
				     uint32_t high_rxt, uint32_t mss,
				     bool new_data, uint32_t *seq,
				     uint32_t *len)
{
	uint32_t high = tcp_sack_high(sb, snd_una);
	uint32_t s = hole_start_after(sb, tcp_seq_max(snd_una, high_rxt));
	bool hole = tcp_seq_lt(s, high) && tcp_seq_lt(s, snd_nxt);

	if (hole) {
		uint32_t room = hole_end_from(sb, s, high) - s;

		*seq = s;
		*len = room < mss ? room : mss;
	}
	/* rule 1: lost holes form a prefix (more is SACKed above a lower
	 * sequence number), so only the first hole above HighRxt matters */
	if (hole && tcp_sack_is_lost(sb, s, mss))
		return TCP_SACK_NEXT_LOST;
	if (new_data)
		return TCP_SACK_NEXT_NEW;
	if (hole)
		return TCP_SACK_NEXT_RULE3;
	return TCP_SACK_NEXT_NONE;
}

uint32_t tcp_sack_pipe(const struct tcp_sack_board *sb, uint32_t snd_una,
		       uint32_t snd_nxt, uint32_t high_rxt, uint32_t mss)
{
	uint32_t pipe = 0, seq = snd_una;
	unsigned int i = 0;

	/* walk the holes; a hole is [seq, next range start) */
	while (tcp_seq_lt(seq, snd_nxt)) {
		while (i < sb->n && tcp_seq_leq(sb->r[i].end, seq))
			i++;
		uint32_t hole_end = snd_nxt;

		if (i < sb->n) {
			if (tcp_seq_geq(seq, sb->r[i].start)) {
				seq = sb->r[i].end;
				continue;
			}
			hole_end = tcp_seq_min(sb->r[i].start, snd_nxt);
		}
		/* every octet of a hole has the same SACKed data above it,
		 * so IsLost holds for the whole hole or for none of it */
		bool lost = tcp_sack_is_lost(sb, seq, mss);
		uint32_t hole = hole_end - seq;

		if (!lost)
			pipe += hole;
		if (tcp_seq_gt(high_rxt, seq)) {
			uint32_t r_end = tcp_seq_min(high_rxt, hole_end);

			pipe += r_end - seq;
		}
		seq = hole_end;
	}
	return pipe;
}
