/* Sequence arithmetic, including across the 2^32 wrap. */
#include "tcp/tcp_seq.h"
#include "wtest.h"

static void test_ordering_plain(void)
{
	WT_CHECK(tcp_seq_lt(1, 2));
	WT_CHECK(!tcp_seq_lt(2, 2));
	WT_CHECK(tcp_seq_leq(2, 2));
	WT_CHECK(tcp_seq_gt(3, 2));
	WT_CHECK(tcp_seq_geq(3, 3));
}

static void test_ordering_across_wrap(void)
{
	uint32_t hi = 0xfffffff0u, lo = 0x10u;

	WT_CHECK(tcp_seq_lt(hi, lo));
	WT_CHECK(tcp_seq_gt(lo, hi));
	WT_CHECK_EQ(tcp_seq_max(hi, lo), lo);
	WT_CHECK_EQ(tcp_seq_min(hi, lo), hi);
	WT_CHECK_EQ(lo - hi, 0x20);
	WT_CHECK(tcp_seq_in(0xffffffffu, hi, lo));
	WT_CHECK(tcp_seq_in(0u, hi, lo));
	WT_CHECK(!tcp_seq_in(lo, hi, lo));
	/* 2^31 - 1 ahead is still "after" */
	WT_CHECK(tcp_seq_gt(hi + 0x7fffffffu, hi));
}

static void test_acceptability(void)
{
	uint32_t nxt = 0xffffff00u;

	WT_CHECK(tcp_seq_acceptable(nxt, 0, nxt, 1000));
	WT_CHECK(tcp_seq_acceptable(nxt + 999, 1, nxt, 1000));
	WT_CHECK(!tcp_seq_acceptable(nxt + 1000, 1, nxt, 1000));
	WT_CHECK(tcp_seq_acceptable(nxt - 10, 20, nxt, 1000)); /* tail inside */
	WT_CHECK(!tcp_seq_acceptable(nxt - 10, 10, nxt, 1000));
	/* zero window: only an empty segment at rcv_nxt */
	WT_CHECK(tcp_seq_acceptable(nxt, 0, nxt, 0));
	WT_CHECK(!tcp_seq_acceptable(nxt, 1, nxt, 0));
	WT_CHECK(!tcp_seq_acceptable(nxt + 1, 0, nxt, 0));
}

int main(void)
{
	WT_RUN(test_ordering_plain);
	WT_RUN(test_ordering_across_wrap);
	WT_RUN(test_acceptability);
	return wt_done();
}
