/* SACK scoreboard and RFC 6675 queries, at a base just below the 2^32 wrap
 * so every case also crosses it. */
#include "tcp/tcp_sack.h"
#include "wtest.h"

#define U 0xfffff000u /* snd_una: 4 KiB below the wrap */
#define MSS 1000u

static struct tcp_sack_board sb;

static uint32_t sack(uint32_t snd_nxt, uint32_t s, uint32_t e)
{
	struct tcp_sack_block b = { U + s, U + e };

	return tcp_sack_update(&sb, U, U + snd_nxt, &b, 1);
}

static void test_merge_and_count(void)
{
	tcp_sack_reset(&sb);
	WT_CHECK_EQ(sack(10000, 2000, 3000), 1000);
	WT_CHECK_EQ(sack(10000, 5000, 6000), 1000);
	WT_CHECK_EQ(sack(10000, 3000, 5000), 2000); /* bridges both */
	WT_CHECK_EQ(sb.n, 1);
	WT_CHECK_EQ(sb.r[0].start, U + 2000);
	WT_CHECK_EQ(sb.r[0].end, U + 6000);
	WT_CHECK_EQ(sack(10000, 2500, 5500), 0); /* nothing new */
	WT_CHECK_EQ(sack(10000, 1500, 2500), 500); /* extends the front */
	WT_CHECK_EQ(sb.sacked_bytes, 4500);
	WT_CHECK(tcp_sack_is_sacked(&sb, U + 1500));
	WT_CHECK(!tcp_sack_is_sacked(&sb, U + 1499));
	WT_CHECK_EQ(tcp_sack_high(&sb, U), U + 6000);
	/* the range spans the wrap (U + 8192 = 0) */
	WT_CHECK(sb.r[0].end < sb.r[0].start);
}

static void test_rejects_dsack_and_garbage(void)
{
	tcp_sack_reset(&sb);
	struct tcp_sack_block b[3] = {
		{ U - 1000, U }, /* D-SACK below snd_una */
		{ U + 9000, U + 12000 }, /* beyond snd_nxt */
		{ U + 3000, U + 2000 }, /* inverted */
	};
	WT_CHECK_EQ(tcp_sack_update(&sb, U, U + 10000, b, 3), 0);
	WT_CHECK_EQ(sb.n, 0);
}

static void test_advance_prunes(void)
{
	tcp_sack_reset(&sb);
	sack(10000, 1000, 2000);
	sack(10000, 3000, 5000);
	tcp_sack_advance(&sb, U + 4000);
	WT_CHECK_EQ(sb.n, 1);
	WT_CHECK_EQ(sb.r[0].start, U + 4000);
	WT_CHECK_EQ(sb.sacked_bytes, 1000);
	tcp_sack_advance(&sb, U + 5000);
	WT_CHECK_EQ(sb.n, 0);
	WT_CHECK_EQ(sb.sacked_bytes, 0);
}

static void test_is_lost(void)
{
	tcp_sack_reset(&sb);
	sack(10000, 1000, 3000); /* two segments above the first */
	WT_CHECK(!tcp_sack_is_lost(&sb, U, MSS));
	sack(10000, 3000, 4000); /* third: more than 2 * SMSS above */
	WT_CHECK(tcp_sack_is_lost(&sb, U, MSS));
	WT_CHECK(!tcp_sack_is_lost(&sb, U + 4000, MSS));
	/* three discontiguous small ranges also count */
	tcp_sack_reset(&sb);
	sack(10000, 100, 200);
	sack(10000, 300, 400);
	sack(10000, 500, 600);
	WT_CHECK(tcp_sack_is_lost(&sb, U, MSS));
	WT_CHECK(!tcp_sack_is_lost(&sb, U + 250, MSS));
}

static void test_next_seg_and_pipe(void)
{
	uint32_t seq = 0, len = 0;

	tcp_sack_reset(&sb);
	sack(10000, 1000, 4000);
	/* hole [0,1000) is lost; [4000,10000) above the highest SACK is in
	 * flight */
	WT_CHECK_EQ(tcp_sack_pipe(&sb, U, U + 10000, U, MSS), 6000);
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 10000, U, MSS, true, &seq,
				      &len),
		    TCP_SACK_NEXT_LOST);
	WT_CHECK_EQ(seq, U);
	WT_CHECK_EQ(len, 1000);
	/* after retransmitting it: counted again, and rule 2 is next */
	WT_CHECK_EQ(tcp_sack_pipe(&sb, U, U + 10000, U + 1000, MSS), 7000);
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 10000, U + 1000, MSS, true,
				      &seq, &len),
		    TCP_SACK_NEXT_NEW);
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 10000, U + 1000, MSS, false,
				      &seq, &len),
		    TCP_SACK_NEXT_NONE);
}

static void test_next_seg_rule3(void)
{
	uint32_t seq = 0, len = 0;

	tcp_sack_reset(&sb);
	sack(10000, 1000, 2000); /* one SACK: the hole is not yet lost */
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 10000, U, MSS, true, &seq,
				      &len),
		    TCP_SACK_NEXT_NEW);
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 10000, U, MSS, false, &seq,
				      &len),
		    TCP_SACK_NEXT_RULE3);
	WT_CHECK_EQ(seq, U);
	WT_CHECK_EQ(len, 1000);
	WT_CHECK_EQ(tcp_sack_pipe(&sb, U, U + 10000, U, MSS), 9000);
}

static void test_two_holes(void)
{
	uint32_t seq = 0, len = 0;

	tcp_sack_reset(&sb);
	sack(12000, 1000, 2000);
	sack(12000, 3000, 7000);
	/* both holes have > 2 SMSS SACKed above: lost, retransmit in order */
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 12000, U, MSS, false, &seq,
				      &len),
		    TCP_SACK_NEXT_LOST);
	WT_CHECK_EQ(seq, U);
	WT_CHECK_EQ(tcp_sack_next_seg(&sb, U, U + 12000, U + 1000, MSS, false,
				      &seq, &len),
		    TCP_SACK_NEXT_LOST);
	WT_CHECK_EQ(seq, U + 2000);
	WT_CHECK_EQ(len, 1000);
	WT_CHECK_EQ(tcp_sack_pipe(&sb, U, U + 12000, U, MSS), 5000);
}

static void test_capacity(void)
{
	tcp_sack_reset(&sb);
	for (uint32_t i = 0; i < 40; i++)
		sack(100000, 1000 * (2 * i + 1), 1000 * (2 * i + 2));
	WT_CHECK_EQ(sb.n, TCP_SACK_MAX_RANGES);
	WT_CHECK_EQ(sb.sacked_bytes, TCP_SACK_MAX_RANGES * 1000);
	WT_CHECK_EQ(sb.r[0].start, U + 1000); /* the lowest are kept */
}

int main(void)
{
	WT_RUN(test_merge_and_count);
	WT_RUN(test_rejects_dsack_and_garbage);
	WT_RUN(test_advance_prunes);
	WT_RUN(test_is_lost);
	WT_RUN(test_next_seg_and_pipe);
	WT_RUN(test_next_seg_rule3);
	WT_RUN(test_two_holes);
	WT_RUN(test_capacity);
	return wt_done();
}
