/* Two stacks wired back to back in virtual time: 1,000 connections opened
 * and closed with pools back to their baseline, a bulk transfer through a
 * lossy wire checked byte for byte, and a refused connect. */
#include "tcp_harness.h"

static struct tcp_stack *A, *B; /* A: client side (IP_A), B: server (IP_B) */
static struct capture capA, capB;
static unsigned int wire_count, drop_every; /* drop A->B data segments */
static unsigned int dropped;

static void wire_move(struct capture *from, struct tcp_stack *to, bool lossy)
{
	struct rte_mbuf *batch[CAP_MAX];
	unsigned int n = from->n;

	memcpy(batch, from->m, n * sizeof(batch[0]));
	from->n = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct pkt p = decode(batch[i]);

		if (lossy && drop_every && p.len > 0 &&
		    ++wire_count % drop_every == 0) {
			dropped++;
			rte_pktmbuf_free(batch[i]);
			continue;
		}
		tcp_input(to, batch[i]);
	}
}

/* A delay line: every segment arrives wire_delay after it was sent, in
 * order; losses are decided when it enters the line. */
#define LINE 65536
static struct {
	uint64_t due;
	struct rte_mbuf *m;
	bool to_b;
} line[LINE];
static unsigned int line_head, line_tail;
static uint64_t wire_delay;
static uint32_t twice_seq; /* a segment dropped twice: sent and resent */
static int twice_left;

static unsigned int dup_every, dup_count, reorder_every, reorder_count;

static void line_push(struct rte_mbuf *m, bool to_b)
{
	line[line_tail % LINE].due = vnow + wire_delay;
	line[line_tail % LINE].m = m;
	line[line_tail % LINE].to_b = to_b;
	line_tail++;
}

static void line_collect(struct capture *from, bool to_b)
{
	for (unsigned int i = 0; i < from->n; i++) {
		struct pkt p = decode(from->m[i]);

		if (to_b && twice_left > 0 && p.len > 0 &&
		    tcp_seq_leq(p.seq, twice_seq) &&
		    tcp_seq_lt(twice_seq, p.seq + p.len)) {
			twice_left--;
			dropped++;
			rte_pktmbuf_free(from->m[i]);
			continue;
		}
		if (to_b && drop_every && p.len > 0 &&
		    ++wire_count % drop_every == 0) {
			dropped++;
			rte_pktmbuf_free(from->m[i]);
			continue;
		}
		line_push(from->m[i], to_b);
		if (dup_every && ++dup_count % dup_every == 0) /* duplicated */
			line_push(rte_pktmbuf_copy(from->m[i], pool, 0,
						   UINT32_MAX),
				  to_b);
		/* reordered: swaps places with the segment before it */
		if (reorder_every && ++reorder_count % reorder_every == 0 &&
		    line_tail - line_head >= 2) {
			struct rte_mbuf *t = line[(line_tail - 1) % LINE].m;
			bool tb = line[(line_tail - 1) % LINE].to_b;

			line[(line_tail - 1) % LINE].m =
				line[(line_tail - 2) % LINE].m;
			line[(line_tail - 1) % LINE].to_b =
				line[(line_tail - 2) % LINE].to_b;
			line[(line_tail - 2) % LINE].m = t;
			line[(line_tail - 2) % LINE].to_b = tb;
		}
	}
	from->n = 0;
}

/* One 100 us step of a wire with latency. */
static void line_step(void)
{
	line_collect(&capA, true);
	line_collect(&capB, false);
	while (line_head != line_tail && line[line_head % LINE].due <= vnow) {
		unsigned int i = line_head++ % LINE;

		tcp_input(line[i].to_b ? B : A, line[i].m);
		line_collect(&capA, true);
		line_collect(&capB, false);
	}
	vnow += 100 * US;
	tcp_timers_run(A);
	tcp_timers_run(B);
}

static void pump(void)
{
	for (int r = 0; r < 100000 && (capA.n || capB.n); r++) {
		wire_move(&capA, B, true);
		wire_move(&capB, A, false);
	}
}

static void tick(uint64_t ns)
{
	vnow += ns;
	tcp_timers_run(A);
	tcp_timers_run(B);
	pump();
}

static struct app cli, srv;

static void srv_peer_fin(struct tcp_conn *c, void *u)
{
	((struct app *)u)->peer_fin++;
	tcp_close(c); /* close from inside a callback */
}

static const struct tcp_conn_ops srv_ops = {
	.on_recv = app_recv,
	.on_peer_fin = srv_peer_fin,
	.on_error = app_error,
	.on_closed = app_closed,
};

static int srv_accept(struct tcp_conn *c, void *ctx)
{
	struct app *a = ctx;

	a->accepts++;
	tcp_conn_set_ops(c, &srv_ops, a);
	return 0;
}

static uint32_t rcv_buf; /* 0: the default */

static void setup(unsigned int max_conns)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.max_conns = max_conns;
	if (rcv_buf)
		cfg.rcv_buf = rcv_buf;
	memset(&cli, 0, sizeof(cli));
	memset(&srv, 0, sizeof(srv));
	cli.auto_done = srv.auto_done = true;
	wire_count = dropped = drop_every = 0;
	A = h_stack("A", &capA, &cfg);
	B = h_stack("B", &capB, &cfg);
	WT_CHECK(A && B);
	tcp_listen(B, IP_B, 80, srv_accept, &srv);
}

static void teardown(void)
{
	WT_CHECK_EQ(capA.bad_csum + capB.bad_csum, 0);
	cap_clear(&capA);
	cap_clear(&capB);
	tcp_stack_free(A);
	tcp_stack_free(B);
}

#define NCONN 1000
static struct tcp_conn *conns[NCONN];

static void test_thousand_connections(void)
{
	unsigned int mbufs0 = rte_mempool_avail_count(pool);

	setup(2048);
	unsigned int tcbA = tcp_tcb_free_count(A), tcbB = tcp_tcb_free_count(B);

	for (int i = 0; i < NCONN; i++) {
		int err = 0;

		conns[i] = tcp_connect(A, IP_A, IP_B, 80, &app_ops, &cli, &err);
		WT_CHECK(conns[i] != NULL);
		pump();
	}
	WT_CHECK_EQ(cli.connected, NCONN);
	WT_CHECK_EQ(srv.accepts, NCONN);
	WT_CHECK_EQ(tcp_conn_count(A), NCONN);
	WT_CHECK_EQ(tcp_conn_count(B), NCONN);
	/* 104 = 4 * 26: every connection's pattern lines up with the
	 * shared counter the test application checks against */
	for (int i = 0; i < NCONN; i++)
		WT_CHECK_EQ(tcp_send(conns[i], h_data(104, 0)), 0);
	pump();
	tick(50 * MS); /* delayed ACKs */
	WT_CHECK_EQ(srv.rx_bytes, 104ull * NCONN);
	WT_CHECK_EQ(srv.rx_check, 104u * NCONN);
	for (int i = 0; i < NCONN; i++)
		tcp_close(conns[i]);
	pump();
	WT_CHECK_EQ(srv.peer_fin, NCONN);
	WT_CHECK_EQ(tcp_conn_count(B), 0);
	/* TIME_WAIT holds records, not TCBs */
	WT_CHECK_EQ(tcp_conn_count(A), 0);
	WT_CHECK_EQ(tcp_time_wait_count(A), NCONN);
	WT_CHECK_EQ(tcp_tcb_free_count(A), tcbA);
	for (int i = 0; i < 30; i++)
		tick(100 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(A), 0);
	WT_CHECK_EQ(A->stats.tw_expired, NCONN);
	WT_CHECK_EQ(tcp_tcb_free_count(A), tcbA);
	WT_CHECK_EQ(tcp_tcb_free_count(B), tcbB);
	WT_CHECK_EQ(A->stats.retransmits + B->stats.retransmits, 0);
	teardown();
	WT_CHECK_EQ(rte_mempool_avail_count(pool), mbufs0);
}

static void bulk(unsigned int loss_every, uint32_t total, bool sack,
		 uint64_t delay)
{
	unsigned int mbufs0 = rte_mempool_avail_count(pool);
	uint64_t t0 = vnow;

	setup(64);
	if (!sack)
		A->cfg.no_sack = B->cfg.no_sack = true;
	drop_every = loss_every;
	wire_delay = delay;
	struct tcp_conn *c =
		tcp_connect(A, IP_A, IP_B, 80, &app_ops, &cli, NULL);
	uint32_t sent = 0;

	for (int i = 0; i < 100 && !cli.connected; i++)
		line_step();
	WT_CHECK_EQ(cli.connected, 1);
	if (twice_left)
		twice_seq = c->iss + 1 + 100 * c->mss; /* in slow start */
	for (int round = 0; round < 200000 && srv.rx_bytes < total; round++) {
		while (sent < total && tcp_send_space(c) > 0) {
			uint32_t n = total - sent < 4000 ? total - sent : 4000;

			if (tcp_send(c, h_data(n, sent)) != 0)
				break;
			sent += n;
		}
		line_step();
	}
	WT_CHECK_EQ(srv.rx_bytes, total);
	WT_CHECK_EQ(srv.rx_check, total);
	if (twice_seq) {
		WT_CHECK(A->stats.lost_retransmits >= 1);
		WT_CHECK_EQ(A->stats.rto_fires, 0);
		twice_seq = 0;
	}
	if (loss_every) {
		WT_CHECK(dropped > 0);
		WT_CHECK(A->stats.retransmits >= dropped);
		WT_CHECK(A->stats.fast_recoveries > 0);
	}
	printf("# bulk %u bytes, loss 1/%u, sack %d: dropped %u, retransmits %lu, "
	       "fast recoveries %lu, lost retransmissions %lu, TLPs %lu, RTOs %lu, "
	       "virtual time %.3f s\n",
	       total, loss_every, sack, dropped,
	       (unsigned long)A->stats.retransmits,
	       (unsigned long)A->stats.fast_recoveries,
	       (unsigned long)A->stats.lost_retransmits,
	       (unsigned long)A->stats.tlp_probes,
	       (unsigned long)A->stats.rto_fires, (double)(vnow - t0) / SEC);
	tcp_close(c);
	for (int i = 0; i < 40000; i++)
		line_step();
	WT_CHECK_EQ(line_head, line_tail);
	WT_CHECK_EQ(tcp_conn_count(A) + tcp_conn_count(B), 0);
	teardown();
	WT_CHECK_EQ(rte_mempool_avail_count(pool), mbufs0);
}

/* 1 ms each way: an RTT of 2 ms, a 256 KiB window */
static void test_bulk_clean(void)
{
	bulk(0, 4000000, true, 1 * MS);
}

static void test_bulk_lossy_sack(void)
{
	bulk(37, 4000000, true, 1 * MS);
}

static void test_bulk_lossy_newreno(void)
{
	bulk(41, 2000000, false, 1 * MS);
}

/* A segment whose retransmission is lost too is sent a third time on
 * the evidence of later SACKs, without an RTO. The loss comes in slow
 * start, while the flight is well below the receiver's window, so new data
 * can follow the retransmission (with the window full instead, nothing
 * sent after the retransmission can be SACKed and only the RTO can tell,
 * for RACK as well). */
static void test_bulk_lost_retransmission(void)
{
	twice_left = 2;
	rcv_buf = 2 * 1024 * 1024;
	bulk(0, 4000000, true, 1 * MS);
	rcv_buf = 0;
	WT_CHECK_EQ(twice_left, 0);
}

/* Loss, duplication and reordering both ways at once: every byte still
 * arrives once, in order. */
static void test_bulk_messy_wire(void)
{
	dup_every = 17;
	reorder_every = 13;
	bulk(53, 3000000, true, 1 * MS);
	dup_every = reorder_every = 0;
}

static void test_bulk_lossy_no_latency(void)
{
	bulk(23, 1000000, true, 0);
}

/* Stacks torn down with connections alive (queued data, out-of-order
 * data, TIME_WAIT) give every mbuf back; a listener that refuses makes an
 * RST the client sees as a reset. */
static int refuse_accept(struct tcp_conn *c, void *ctx)
{
	(void)c;
	(void)ctx;
	return -1;
}

static void test_teardown_with_live_connections(void)
{
	unsigned int mbufs0 = rte_mempool_avail_count(pool);

	setup(64);
	tcp_listen(B, IP_B, 90, refuse_accept, NULL);
	struct tcp_conn *r =
		tcp_connect(A, IP_A, IP_B, 90, &app_ops, &cli, NULL);

	(void)r;
	pump();
	WT_CHECK_EQ(cli.connected, 1); /* the handshake itself completes */
	WT_CHECK_EQ(cli.errors, 1);
	WT_CHECK_EQ(cli.last_err, TCP_ERR_RESET);
	for (int i = 0; i < 10; i++) {
		struct tcp_conn *c =
			tcp_connect(A, IP_A, IP_B, 80, &app_ops, &cli, NULL);

		pump();
		tcp_send(c, h_data(5000, 0));
		/* half of them never see their data leave the wire */
		if (i % 2)
			pump();
		else
			cap_clear(&capA);
	}
	WT_CHECK_EQ(tcp_conn_count(A), 10);
	teardown();
	WT_CHECK_EQ(rte_mempool_avail_count(pool), mbufs0);
}

static void test_refused_between_stacks(void)
{
	setup(16);
	tcp_connect(A, IP_A, IP_B, 81, &app_ops, &cli, NULL);
	pump();
	WT_CHECK_EQ(cli.errors, 1);
	WT_CHECK_EQ(cli.last_err, TCP_ERR_REFUSED);
	WT_CHECK_EQ(tcp_conn_count(A), 0);
	teardown();
}

int main(void)
{
	h_eal_init();
	WT_RUN(test_thousand_connections);
	WT_RUN(test_bulk_clean);
	WT_RUN(test_bulk_lossy_sack);
	WT_RUN(test_bulk_lossy_newreno);
	WT_RUN(test_bulk_lossy_no_latency);
	WT_RUN(test_bulk_messy_wire);
	WT_RUN(test_bulk_lost_retransmission);
	WT_RUN(test_refused_between_stacks);
	WT_RUN(test_teardown_with_live_connections);
	int rc = wt_done();

	rte_eal_cleanup();
	return rc;
}
