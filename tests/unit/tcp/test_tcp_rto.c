/* RFC 6298 estimator: first sample, smoothing, min/max clamps, Karn,
 * exponential back-off and its reset. */
#include "tcp/tcp_rto.h"
#include "wtest.h"

static void test_initial(void)
{
	struct tcp_rto r;

	tcp_rto_init(&r, 0, 0, 100);
	WT_CHECK_EQ(tcp_rto_current(&r), 1000000); /* 1 s before a sample */
	WT_CHECK_EQ(r.min_us, TCP_RTO_MIN_DEFAULT_US);
}

static void test_first_and_later_samples(void)
{
	struct tcp_rto r;

	tcp_rto_init(&r, 1000, 0, 100);
	tcp_rto_sample(&r, 10000); /* 10 ms */
	WT_CHECK_EQ(r.srtt_us, 10000);
	WT_CHECK_EQ(r.rttvar_us, 5000);
	WT_CHECK_EQ(tcp_rto_current(&r), 10000 + 4 * 5000);
	tcp_rto_sample(&r, 18000);
	/* rttvar = 3/4*5000 + 1/4*8000 = 5750; srtt = 7/8*10000 + 18000/8 */
	WT_CHECK_EQ(r.rttvar_us, 5750);
	WT_CHECK_EQ(r.srtt_us, 11000);
	WT_CHECK_EQ(tcp_rto_current(&r), 11000 + 4 * 5750);
}

static void test_min_clamp_and_granularity(void)
{
	struct tcp_rto r;

	tcp_rto_init(&r, 0, 0, 100);
	for (int i = 0; i < 50; i++)
		tcp_rto_sample(&r, 100); /* 100 us LAN RTT */
	WT_CHECK_EQ(tcp_rto_current(&r), 200000); /* configurable floor */
	tcp_rto_init(&r, 1, 0, 1000);
	for (int i = 0; i < 200; i++)
		tcp_rto_sample(&r, 100);
	/* RTTVAR decays to ~0; K*RTTVAR is replaced by G (RFC 6298 2.3) */
	WT_CHECK(tcp_rto_current(&r) >= 1000);
	WT_CHECK(tcp_rto_current(&r) <= 1100 + 4);
}

static void test_backoff(void)
{
	struct tcp_rto r;

	tcp_rto_init(&r, 0, 10000000, 100);
	tcp_rto_sample(&r, 100000);
	uint32_t base = tcp_rto_current(&r);

	WT_CHECK_EQ(base, 100000 + 4 * 50000);
	tcp_rto_backoff(&r);
	WT_CHECK_EQ(tcp_rto_current(&r), 2 * base);
	tcp_rto_backoff(&r);
	WT_CHECK_EQ(tcp_rto_current(&r), 4 * base);
	for (int i = 0; i < 40; i++)
		tcp_rto_backoff(&r);
	WT_CHECK_EQ(tcp_rto_current(&r), 10000000); /* capped at max */
	WT_CHECK(r.backoff <= TCP_RTO_MAX_BACKOFF);
	tcp_rto_reset_backoff(&r);
	WT_CHECK_EQ(tcp_rto_current(&r), base);
}

static void test_karn(void)
{
	struct tcp_rto r;

	tcp_rto_init(&r, 1000, 0, 100);
	/* a retransmitted segment's ACK gives no sample */
	WT_CHECK(!tcp_rto_on_ack_segment(&r, 1000000, true, 9000000));
	WT_CHECK(!r.have_sample);
	WT_CHECK(tcp_rto_on_ack_segment(&r, 1000000, false, 3000000));
	WT_CHECK_EQ(r.srtt_us, 2000);
}

int main(void)
{
	WT_RUN(test_initial);
	WT_RUN(test_first_and_later_samples);
	WT_RUN(test_min_clamp_and_granularity);
	WT_RUN(test_backoff);
	WT_RUN(test_karn);
	return wt_done();
}
