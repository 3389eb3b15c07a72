/* Out-of-order queue: ordering, overlap trimming both ends, duplicates,
 * covering segments, the bound, SACK blocks, all across the wrap. Buffers
 * are fake (ints), released through a counting free function. */
#include "tcp/tcp_reass.h"
#include "wtest.h"

#define N 0xfffffc00u /* rcv_nxt: 1 KiB below the wrap */

static int freed;
static struct tcp_reass q;
static struct tcp_reass_seg segs[32];
static int bufs[64];

static void count_free(void *buf)
{
	(void)buf;
	freed++;
}

static void setup(unsigned int cap)
{
	freed = 0;
	tcp_reass_init(&q, count_free);
	tcp_reass_attach(&q, segs, (uint16_t)(cap ? cap : 32));
}

static enum tcp_reass_result ins(uint32_t s, uint32_t e, int id)
{
	return tcp_reass_insert(&q, N, N + s, e - s, &bufs[id], 0);
}

static void test_in_order_after_gap(void)
{
	struct tcp_reass_seg out;

	setup(0);
	WT_CHECK_EQ(ins(2000, 3000, 2), TCP_REASS_QUEUED);
	WT_CHECK_EQ(ins(1000, 2000, 1), TCP_REASS_QUEUED);
	WT_CHECK(!tcp_reass_pop(&q, N, &out)); /* gap [0,1000) */
	/* the gap fills (delivered by the caller directly) */
	WT_CHECK(tcp_reass_pop(&q, N + 1000, &out));
	WT_CHECK_EQ(out.seq, N + 1000);
	WT_CHECK(out.buf == &bufs[1]);
	WT_CHECK(tcp_reass_pop(&q, N + 2000, &out));
	WT_CHECK(out.buf == &bufs[2]);
	WT_CHECK_EQ(out.seq, 976u); /* wrapped: N + 2000 */
	WT_CHECK(tcp_reass_empty(&q));
	WT_CHECK_EQ(freed, 0);
}

static void test_overlap_trimming(void)
{
	struct tcp_reass_seg out;

	setup(0);
	ins(1000, 2000, 1);
	ins(3000, 4000, 3);
	/* [1500, 3500) overlaps both: only [2000, 3000) is kept */
	WT_CHECK_EQ(ins(1500, 3500, 2), TCP_REASS_QUEUED);
	WT_CHECK_EQ(q.n, 3);
	WT_CHECK_EQ(q.seg[1].seq, N + 2000);
	WT_CHECK_EQ(q.seg[1].len, 1000);
	WT_CHECK_EQ(q.seg[1].off, 500);
	WT_CHECK_EQ(q.bytes, 3000);
	/* a duplicate inside held data is released at once */
	WT_CHECK_EQ(ins(1200, 1800, 4), TCP_REASS_DUPLICATE);
	WT_CHECK_EQ(freed, 1);
	/* a segment covering held ones replaces them */
	WT_CHECK_EQ(ins(500, 4500, 5), TCP_REASS_QUEUED);
	WT_CHECK_EQ(freed, 4);
	WT_CHECK_EQ(q.n, 1);
	WT_CHECK_EQ(q.bytes, 4000);
	/* partial below rcv_nxt: trimmed at pop */
	WT_CHECK(tcp_reass_pop(&q, N + 700, &out));
	WT_CHECK_EQ(out.off, 200);
	WT_CHECK_EQ(out.len, 3800);
}

static void test_below_rcv_nxt(void)
{
	setup(0);
	WT_CHECK_EQ(tcp_reass_insert(&q, N, N - 100, 100, &bufs[0], 0),
		    TCP_REASS_DUPLICATE);
	WT_CHECK_EQ(tcp_reass_insert(&q, N, N - 100, 300, &bufs[1], 0),
		    TCP_REASS_QUEUED);
	WT_CHECK_EQ(q.seg[0].seq, N);
	WT_CHECK_EQ(q.seg[0].off, 100);
	WT_CHECK_EQ(freed, 1);
}

static void test_bound(void)
{
	setup(4);
	for (int i = 0; i < 4; i++)
		WT_CHECK_EQ(ins(1000 * (2 * i + 1), 1000 * (2 * i + 2), i),
			    TCP_REASS_QUEUED);
	WT_CHECK_EQ(ins(20000, 21000, 9), TCP_REASS_FULL);
	WT_CHECK_EQ(freed, 0); /* refused: caller still owns it */
	tcp_reass_purge(&q);
	WT_CHECK_EQ(freed, 4);
	WT_CHECK(tcp_reass_empty(&q));
	WT_CHECK_EQ(q.bytes, 0);
}

static void test_no_array_refuses(void)
{
	freed = 0;
	tcp_reass_init(&q, count_free);
	WT_CHECK_EQ(ins(1000, 2000, 1), TCP_REASS_FULL);
	tcp_reass_attach(&q, segs, 4);
	WT_CHECK_EQ(ins(1000, 2000, 1), TCP_REASS_QUEUED);
	WT_CHECK(tcp_reass_detach(&q) == NULL); /* not while holding data */
	tcp_reass_purge(&q);
	WT_CHECK(tcp_reass_detach(&q) == segs);
	WT_CHECK_EQ(q.cap, 0);
}

static void test_sack_blocks(void)
{
	struct tcp_sack_block b[4];

	setup(0);
	ins(1000, 2000, 1);
	ins(2000, 3000, 2); /* adjacent: one block */
	ins(5000, 6000, 3);
	ins(8000, 9000, 4); /* most recent */
	WT_CHECK_EQ(tcp_reass_sack_blocks(&q, b, 4), 3);
	WT_CHECK_EQ(b[0].start, N + 8000);
	WT_CHECK_EQ(b[1].start, N + 1000);
	WT_CHECK_EQ(b[1].end, N + 3000);
	WT_CHECK_EQ(b[2].start, N + 5000);
	WT_CHECK_EQ(tcp_reass_sack_blocks(&q, b, 2), 2);
	ins(3000, 4000, 5); /* extends the first run, which leads now */
	WT_CHECK_EQ(tcp_reass_sack_blocks(&q, b, 4), 3);
	WT_CHECK_EQ(b[0].start, N + 1000);
	WT_CHECK_EQ(b[0].end, N + 4000);
	tcp_reass_purge(&q);
}

int main(void)
{
	WT_RUN(test_in_order_after_gap);
	WT_RUN(test_overlap_trimming);
	WT_RUN(test_below_rcv_nxt);
	WT_RUN(test_bound);
	WT_RUN(test_no_array_refuses);
	WT_RUN(test_sack_blocks);
	return wt_done();
}
