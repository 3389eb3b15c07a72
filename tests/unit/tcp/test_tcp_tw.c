/* Compact TIME_WAIT (dataplane/tcp/tcp_tw.c) in virtual time: a scripted
 * peer closes connections the stack closed first, then probes the record
 * that replaced the TCB: retransmitted FIN, old duplicates, new SYNs by
 * timestamp and by sequence number, exact RST, expiry, overflow. */
#include "tcp_harness.h"

static struct tcp_stack *S;
static struct capture cap;
static struct app app;

#define VPORT 80
#define TW_NS (2 * SEC) /* the default time_wait_ns */

/* The peer's side of one connection. */
struct peer {
	uint16_t port;
	uint32_t snd_nxt, rcv_nxt, ts;
	bool ts_on;
};

static void seg(struct peer *p, uint8_t flags, uint32_t len, uint32_t seq,
		uint32_t tsval)
{
	struct peer_seg s = { .seq = seq,
			      .ack = p->rcv_nxt,
			      .flags = flags,
			      .wnd = 65535,
			      .len = len };

	if (p->ts_on) {
		s.ts = true;
		s.tsval = tsval;
		s.tsecr = 1;
	}
	tcp_input(S, build(IP_B, p->port, IP_A, VPORT, &s));
}

/* Sends from the peer's next sequence number with a fresh timestamp. */
static void next_seg(struct peer *p, uint8_t flags, uint32_t len)
{
	seg(p, flags, len, p->snd_nxt, ++p->ts);
	p->snd_nxt += len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
}

static void setup(uint32_t max_time_wait)
{
	struct tcp_config cfg;

	vnow = (vnow / MS + 1) * MS;
	memset(&app, 0, sizeof(app));
	app.auto_done = true;
	cap_clear(&cap);
	cap.bad_csum = 0;
	tcp_config_defaults(&cfg);
	cfg.max_conns = 64;
	cfg.max_time_wait = max_time_wait;
	S = h_stack("tw", &cap, &cfg);
	WT_CHECK(S != NULL);
	tcp_listen(S, IP_A, VPORT, app_accept, &app);
}

static void teardown(void)
{
	WT_CHECK_EQ(cap.bad_csum, 0);
	cap_clear(&cap);
	tcp_stack_free(S);
	S = NULL;
}

/* Opens from peer port `port`, the stack closes first, the peer ACKs our
 * FIN and sends its own: the connection is in TIME_WAIT. */
static struct peer to_time_wait(uint16_t port, bool ts)
{
	struct peer p = {
		.port = port, .snd_nxt = 1000u * port, .ts = 100, .ts_on = ts
	};
	struct peer_seg syn = { .seq = p.snd_nxt,
				.flags = TH_SYN,
				.wnd = 65535,
				.mss = true,
				.mss_val = 1460,
				.ts = ts,
				.tsval = p.ts };

	tcp_input(S, build(IP_B, port, IP_A, VPORT, &syn));
	p.snd_nxt++;
	WT_CHECK_EQ(cap.n, 1);
	p.rcv_nxt = cap_pkt(&cap, 0).seq + 1;
	cap_clear(&cap);
	next_seg(&p, TH_ACK, 0);
	WT_CHECK(app.conn != NULL);
	if (app.conn == NULL)
		return p;
	next_seg(&p, TH_ACK, 100); /* some data, so an old duplicate exists */
	tcp_close(app.conn);
	cap_clear(&cap);
	p.rcv_nxt++; /* our FIN */
	next_seg(&p, TH_ACK | TH_FIN, 0);
	WT_CHECK_EQ(cap.n, 1); /* the ACK of the peer's FIN */
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	cap_clear(&cap);
	return p;
}

static void test_tcb_freed_record_kept(void)
{
	setup(0);
	unsigned int free0 = tcp_tcb_free_count(S);

	to_time_wait(40000, true);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_tcb_free_count(S), free0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	WT_CHECK_EQ(S->stats.tw_entered, 1);
	/* the table's own size: 4 x max_conns by default */
	WT_CHECK_EQ(S->cfg.max_time_wait, 4 * 64);
	teardown();
}

/* RFC 9293 3.10.7.4: a retransmitted FIN is ACKed again and restarts the
 * 2MSL; the ACK echoes the FIN's timestamp. */
static void test_retransmitted_fin_reacked(void)
{
	setup(0);
	struct peer p = to_time_wait(40001, true);

	h_advance(S, 1500 * MS, 10 * MS);
	seg(&p, TH_ACK | TH_FIN, 0, p.snd_nxt - 1, 5000);
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1) {
		struct pkt a = cap_pkt(&cap, 0);

		WT_CHECK_EQ(a.flags, TH_ACK);
		WT_CHECK_EQ(a.ack, p.snd_nxt);
		WT_CHECK_EQ(a.seq, p.rcv_nxt);
		WT_CHECK(a.has_ts);
		WT_CHECK_EQ(a.tsecr, 5000);
	}
	WT_CHECK_EQ(S->stats.tw_fin_reacked, 1);
	cap_clear(&cap);
	/* 2.5 s after entering, 1 s after the FIN: still there */
	h_advance(S, 1000 * MS, 10 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	h_advance(S, 1100 * MS, 10 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(S->stats.tw_expired, 1);
	teardown();
}

/* Old duplicates never reach anyone: with timestamps PAWS drops them, and
 * without, a segment below rcv_nxt is one; both are ACKed, nothing is
 * delivered, no TCB is taken, the record stays. */
static void test_old_duplicate_dropped(void)
{
	for (int ts = 0; ts < 2; ts++) {
		setup(0);
		struct peer p = to_time_wait(40002, ts);
		uint64_t rx = app.rx_bytes;

		/* the data segment of the old incarnation, again */
		seg(&p, TH_ACK, 100, p.snd_nxt - 101, 102);
		WT_CHECK_EQ(app.rx_bytes, rx);
		WT_CHECK_EQ(tcp_conn_count(S), 0);
		WT_CHECK_EQ(tcp_time_wait_count(S), 1);
		WT_CHECK_EQ(S->stats.tw_old_dups, 1);
		WT_CHECK_EQ(S->stats.paws_drops, ts ? 1 : 0);
		WT_CHECK_EQ(cap.n, 1);
		if (cap.n == 1) {
			WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK);
			WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
		}
		cap_clear(&cap);
		/* a bare ACK at rcv_nxt needs no answer */
		next_seg(&p, TH_ACK, 0);
		WT_CHECK_EQ(cap.n, 0);
		teardown();
	}
}

/* RFC 6191: a SYN whose timestamp is above TS.Recent reopens the tuple
 * (SYN-ACK, ISN above the old sequence space); one at or below it does not
 * (an ACK, the record stays). */
static void test_new_syn_by_timestamp(void)
{
	setup(0);
	struct peer p = to_time_wait(40003, true);
	struct peer_seg syn = { .seq = p.snd_nxt + 7,
				.flags = TH_SYN,
				.wnd = 65535,
				.ts = true,
				.tsval = 50 }; /* older than TS.Recent */

	tcp_input(S, build(IP_B, p.port, IP_A, VPORT, &syn));
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	cap_clear(&cap);
	syn.tsval = p.ts + 1000;
	syn.seq = 5; /* below rcv_nxt: the timestamp decides, not the seq */
	tcp_input(S, build(IP_B, p.port, IP_A, VPORT, &syn));
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1) {
		struct pkt sa = cap_pkt(&cap, 0);

		WT_CHECK_EQ(sa.flags, TH_SYN | TH_ACK);
		WT_CHECK_EQ(sa.ack, 6);
		WT_CHECK_EQ(sa.seq, p.rcv_nxt + 65537);
	}
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(tcp_conn_count(S), 1);
	WT_CHECK_EQ(S->stats.tw_reused, 1);
	teardown();
}

/* Without timestamps the sequence number decides. */
static void test_new_syn_by_sequence(void)
{
	setup(0);
	struct peer p = to_time_wait(40004, false);
	struct peer_seg syn = { .seq = p.snd_nxt - 50,
				.flags = TH_SYN,
				.wnd = 65535 };

	tcp_input(S, build(IP_B, p.port, IP_A, VPORT, &syn));
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	cap_clear(&cap);
	syn.seq = p.snd_nxt + 100000;
	tcp_input(S, build(IP_B, p.port, IP_A, VPORT, &syn));
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_SYN | TH_ACK);
	WT_CHECK_EQ(tcp_conn_count(S), 1);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	teardown();
}

/* Expiry after time_wait_ns: then the tuple is unknown (RST to an ACK). */
static void test_expiry(void)
{
	setup(0);
	struct peer p = to_time_wait(40005, true);

	h_advance(S, TW_NS - 5 * MS, 1 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	h_advance(S, 6 * MS, 1 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(S->stats.tw_expired, 1);
	WT_CHECK_EQ(tcp_next_timer(S), UINT64_MAX); /* nothing left armed */
	next_seg(&p, TH_ACK, 0);
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_RST);
	teardown();
}

/* An exact RST ends the record (RFC 5961 3.2); an inexact one does not. */
static void test_rst(void)
{
	setup(0);
	struct peer p = to_time_wait(40006, true);

	seg(&p, TH_RST, 0, p.snd_nxt + 10, 0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	seg(&p, TH_RST, 0, p.snd_nxt, 0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(S->stats.tw_killed, 1);
	WT_CHECK_EQ(tcp_next_timer(S), UINT64_MAX);
	teardown();
}

/* A full table drops its oldest records (counted), never a new SYN. */
static void test_overflow_evicts_oldest(void)
{
	struct peer p[12];

	setup(8);
	for (unsigned int i = 0; i < 12; i++) {
		p[i] = to_time_wait((uint16_t)(41000 + i), true);
		vnow += 10 * MS;
	}
	WT_CHECK_EQ(tcp_time_wait_count(S), 8);
	WT_CHECK_EQ(S->stats.tw_evicted, 4);
	WT_CHECK_EQ(S->stats.tw_entered, 12);
	WT_CHECK_EQ(S->stats.nomem_tcb + S->stats.resets_sent, 0);
	/* the evicted are the four oldest: their FIN is unknown now (RST),
	 * the kept ones re-ACK it */
	for (unsigned int i = 0; i < 12; i++) {
		cap_clear(&cap);
		seg(&p[i], TH_ACK | TH_FIN, 0, p[i].snd_nxt - 1, p[i].ts + 1);
		WT_CHECK_EQ(cap.n, 1);
		if (cap.n == 1)
			WT_CHECK_EQ(cap_pkt(&cap, 0).flags,
				    i < 4 ? TH_RST : TH_ACK);
	}
	/* still full, still accepting: a new connection is opened */
	cap_clear(&cap);
	tcp_input(S, build(IP_B, 42000, IP_A, VPORT,
			   &(struct peer_seg){
				   .seq = 1, .flags = TH_SYN, .wnd = 65535 }));
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_SYN | TH_ACK);
	/* the expiry timer follows the oldest survivors: all gone in time */
	h_advance(S, TW_NS + 200 * MS, 10 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(S->stats.tw_expired, 8);
	teardown();
}

/* Many more closes than TCBs: the pool never runs dry for TIME_WAIT. */
static void test_closes_beyond_tcb_pool(void)
{
	setup(1024);
	for (unsigned int i = 0; i < 640; i++) /* 10 x max_conns */
		to_time_wait((uint16_t)(20000 + i), i % 2);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 640);
	WT_CHECK_EQ(S->stats.nomem_tcb, 0);
	WT_CHECK_EQ(app.accepts, 640);
	teardown();
}

/* Random segments (any flags, sequence numbers, timestamps) at tuples in
 * TIME_WAIT: nothing crashes, every record and TCB is accounted for, and
 * once all is expired or closed the pools are back where they started. */
static void test_random_segments(void)
{
	unsigned int mbufs0 = rte_mempool_avail_count(pool);
	struct peer p[16];

	setup(64);
	unsigned int free0 = tcp_tcb_free_count(S);

	for (unsigned int i = 0; i < 16; i++)
		p[i] = to_time_wait((uint16_t)(43000 + i), i % 2);
	srand(6191);
	for (int i = 0; i < 5000; i++) {
		struct peer *q = &p[rand() % 16];
		uint32_t near = q->snd_nxt + (uint32_t)(rand() % 200) - 100;
		uint32_t seq = rand() % 4 ? near : (uint32_t)rand();
		uint8_t flags = (uint8_t)(rand() & 0x3f);

		seg(q, flags, (uint32_t)(rand() % 3) * 50, seq,
		    q->ts + (uint32_t)(rand() % 40) - 20);
		cap_clear(&cap);
		if (i % 500 == 0)
			h_advance(S, 100 * MS, 10 * MS);
	}
	WT_CHECK(tcp_time_wait_count(S) <= 16);
	/* reopened connections get a RST; then everything runs out */
	for (unsigned int i = 0; i < 16; i++)
		tcp_input(S, build(IP_B, p[i].port, IP_A, VPORT,
				   &(struct peer_seg){ .flags = TH_RST,
						       .seq = 0 }));
	h_advance(S, 100 * SEC, 100 * MS);
	cap_clear(&cap);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	WT_CHECK_EQ(S->stats.tw_entered,
		    S->stats.tw_expired + S->stats.tw_evicted +
			    S->stats.tw_killed + S->stats.tw_reused);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_tcb_free_count(S), free0);
	teardown();
	WT_CHECK_EQ(rte_mempool_avail_count(pool), mbufs0);
}

/* What one record costs: the table's measured heap over its size. */
static void test_record_size(void)
{
	setup(16384);
	uint64_t per = tcp_time_wait_bytes(S) / 16384;

	printf("# TIME_WAIT record %zu bytes; table %llu bytes for %u "
	       "records (%llu per record, index included)\n",
	       sizeof(struct tcp_tw_rec),
	       (unsigned long long)tcp_time_wait_bytes(S), 16384u,
	       (unsigned long long)per);
	WT_CHECK_EQ(sizeof(struct tcp_tw_rec), 48);
	WT_CHECK(per >= 48 && per < 160);
	WT_CHECK(per * 10 < sizeof(struct tcp_conn));
	teardown();
}

int main(void)
{
	h_eal_init();
	WT_RUN(test_tcb_freed_record_kept);
	WT_RUN(test_retransmitted_fin_reacked);
	WT_RUN(test_old_duplicate_dropped);
	WT_RUN(test_new_syn_by_timestamp);
	WT_RUN(test_new_syn_by_sequence);
	WT_RUN(test_expiry);
	WT_RUN(test_rst);
	WT_RUN(test_overflow_evicts_oldest);
	WT_RUN(test_closes_beyond_tcb_pool);
	WT_RUN(test_random_segments);
	WT_RUN(test_record_size);
	int rc = wt_done();

	rte_eal_cleanup();
	return rc;
}
