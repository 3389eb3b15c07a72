/* Scripted segment exchanges in virtual time: a hand-driven peer talks to
 * one stack; every segment the stack emits is captured, decoded by the
 * test's own decoder, and checked (checksums included). */
#include "tcp/tcp_flow.h"
#include "tcp_harness.h"

static struct tcp_stack *S;
static struct capture cap;
static struct app app;

#define VPORT 80
#define PPORT 40000

/* The scripted peer's view of one connection. */
struct sp {
	uint16_t port, our_port;
	uint32_t snd_nxt; /* peer's next sequence number */
	uint32_t rcv_nxt; /* what the peer acknowledges */
	uint32_t ts;
	uint16_t wnd; /* peer's advertised window field */
	bool ts_on, sack_on, ws_on;
};

static void sp_seg(struct sp *p, uint8_t flags, uint32_t len,
		   const struct peer_seg *extra)
{
	struct peer_seg s = extra ? *extra : (struct peer_seg){ 0 };

	s.seq = extra && extra->seq ? extra->seq : p->snd_nxt;
	s.ack = p->rcv_nxt;
	s.flags = flags;
	s.wnd = extra && extra->wnd ? extra->wnd : p->wnd;
	s.len = len;
	if (p->ts_on) {
		s.ts = true;
		s.tsval = ++p->ts;
		s.tsecr = 1;
	}
	tcp_input(S, build(IP_B, p->port, IP_A, p->our_port, &s));
	if (!(extra && extra->seq))
		p->snd_nxt += len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
}

static void setup(const struct tcp_config *cfg)
{
	/* each case starts on a whole millisecond, so timer expiries and the
	 * test's 1 ms steps line up whatever the previous case did */
	vnow = (vnow / MS + 1) * MS;
	memset(&app, 0, sizeof(app));
	app.auto_done = true;
	cap_clear(&cap);
	cap.bad_csum = 0;
	S = h_stack("conn", &cap, cfg);
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

/* Peer opens to the listener with MSS, SACK, TS and WS; returns the peer. */
static struct sp open_passive(bool opts)
{
	struct sp p = { .port = PPORT,
			.our_port = VPORT,
			.snd_nxt = 0xfffffff0u,
			.wnd = 512,
			.ts = 100,
			.ts_on = opts,
			.sack_on = opts,
			.ws_on = opts };
	struct peer_seg syn = { .mss = true,
				.mss_val = 1460,
				.ws = opts,
				.ws_val = 7,
				.sack_perm = opts };

	if (!opts)
		p.wnd = 65535;
	syn.wnd = p.wnd;
	sp_seg(&p, TH_SYN, 0, &syn);
	WT_CHECK_EQ(cap.n, 1);
	struct pkt sa = cap_pkt(&cap, 0);

	WT_CHECK_EQ(sa.flags, TH_SYN | TH_ACK);
	WT_CHECK_EQ(sa.ack, 0xfffffff1u);
	p.rcv_nxt = sa.seq + 1;
	cap_clear(&cap);
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(app.accepts, 1);
	WT_CHECK(app.conn != NULL);
	if (app.conn)
		WT_CHECK_EQ(tcp_conn_state(app.conn), TCP_ESTABLISHED);
	return p;
}

static void test_passive_handshake(void)
{
	struct peer_seg syn = { .mss = true,
				.mss_val = 1400,
				.ws = true,
				.ws_val = 7,
				.sack_perm = true,
				.ts = true,
				.tsval = 77,
				.wnd = 1000 };
	struct sp p = { .port = PPORT,
			.our_port = VPORT,
			.snd_nxt = 5000,
			.wnd = 1000,
			.ts = 77 };

	setup(NULL);
	syn.tsval = 77;
	syn.seq = 0;
	tcp_input(S, build(IP_B, PPORT, IP_A, VPORT,
			   &(struct peer_seg){ .seq = 5000,
					       .flags = TH_SYN,
					       .wnd = 1000,
					       .mss = true,
					       .mss_val = 1400,
					       .ws = true,
					       .ws_val = 7,
					       .sack_perm = true,
					       .ts = true,
					       .tsval = 77 }));
	(void)syn;
	WT_CHECK_EQ(cap.n, 1);
	struct pkt sa = cap_pkt(&cap, 0);

	WT_CHECK_EQ(sa.flags, TH_SYN | TH_ACK);
	WT_CHECK_EQ(sa.ack, 5001);
	WT_CHECK(sa.has_mss && sa.mss == 1460);
	WT_CHECK(sa.has_ws && sa.ws == 3); /* 256 KiB needs a shift of 3 */
	WT_CHECK(sa.sack_perm);
	WT_CHECK(sa.has_ts && sa.tsecr == 77);
	WT_CHECK_EQ(sa.src, IP_A);
	WT_CHECK_EQ(sa.sport, VPORT);
	WT_CHECK_EQ(app.accepts, 0); /* not before the handshake completes */
	WT_CHECK_EQ(tcp_conn_count(S), 1);
	cap_clear(&cap);
	p.snd_nxt = 5001;
	p.rcv_nxt = sa.seq + 1;
	p.ts_on = true;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(app.accepts, 1);
	WT_CHECK_EQ(cap.n, 0); /* nothing to say */
	struct tcp_conn *c = app.conn;

	WT_CHECK_EQ(tcp_conn_state(c), TCP_ESTABLISHED);
	WT_CHECK_EQ(c->mss, 1400 - 12);
	WT_CHECK_EQ(c->snd_wnd, 1000u << 7);
	WT_CHECK(c->flags & TCP_F_SACK_OK);
	teardown();
}

static void test_active_handshake(void)
{
	int err = 1;

	setup(NULL);
	struct tcp_conn *c =
		tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app, &err);

	WT_CHECK(c != NULL);
	WT_CHECK_EQ(err, 0);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_SYN_SENT);
	WT_CHECK_EQ(cap.n, 1);
	struct pkt syn = cap_pkt(&cap, 0);

	WT_CHECK_EQ(syn.flags, TH_SYN);
	WT_CHECK(syn.has_mss && syn.has_ws && syn.sack_perm && syn.has_ts);
	WT_CHECK(syn.sport >= 10000 && syn.sport <= 59999);
	WT_CHECK_EQ(syn.dport, 8080);
	cap_clear(&cap);
	tcp_input(S, build(IP_B, 8080, IP_A, syn.sport,
			   &(struct peer_seg){ .seq = 900,
					       .ack = syn.seq + 1,
					       .flags = TH_SYN | TH_ACK,
					       .wnd = 2000,
					       .mss = true,
					       .mss_val = 1460,
					       .ws = true,
					       .ws_val = 2,
					       .sack_perm = true,
					       .ts = true,
					       .tsval = 5,
					       .tsecr = syn.tsval }));
	WT_CHECK_EQ(app.connected, 1);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_ESTABLISHED);
	WT_CHECK_EQ(cap.n, 1);
	struct pkt ack = cap_pkt(&cap, 0);

	WT_CHECK_EQ(ack.flags, TH_ACK);
	WT_CHECK_EQ(ack.ack, 901);
	WT_CHECK_EQ(ack.seq, syn.seq + 1);
	WT_CHECK_EQ(c->snd_wnd, 2000); /* SYN-ACK window is not scaled */
	teardown();
}

static void test_data_both_ways(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	/* one full segment in: delivered, ACK delayed (the application holds
	 * the data, so no window update goes out either) */
	app.auto_done = false;
	sp_seg(&p, TH_ACK, c->mss, NULL);
	WT_CHECK_EQ(app.rx_bytes, c->mss);
	WT_CHECK_EQ(cap.n, 0);
	h_advance(S, 39 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 0);
	h_advance(S, 2 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	WT_CHECK_EQ(S->stats.delayed_acks, 1);
	cap_clear(&cap);
	/* two full segments: ACK at once on the second */
	sp_seg(&p, TH_ACK, c->mss, NULL);
	WT_CHECK_EQ(cap.n, 0);
	sp_seg(&p, TH_ACK, c->mss, NULL);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	cap_clear(&cap);
	/* a runt: ACK at once (a Nagle sender waits for it) */
	sp_seg(&p, TH_ACK, 1000, NULL);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	cap_clear(&cap);
	tcp_recv_done(c, app.rx_bytes);
	app.auto_done = true;
	cap_clear(&cap);
	/* 3000 bytes out, MSS 1448 (1460 minus timestamps) */
	WT_CHECK_EQ(tcp_send(c, h_data(3000, 0)), 0);
	WT_CHECK_EQ(cap.n, 3);
	uint32_t seq = p.rcv_nxt, total = 0;
	int pattern_ok = 1;

	for (unsigned int i = 0; i < cap.n; i++) {
		struct pkt d = cap_pkt(&cap, i);

		WT_CHECK_EQ(d.seq, seq);
		for (uint32_t b = 0; b < d.len; b++)
			pattern_ok &= d.payload[b] == 'a' + (total + b) % 26;
		seq += d.len;
		total += d.len;
	}
	WT_CHECK(pattern_ok);
	WT_CHECK_EQ(total, 3000);
	WT_CHECK_EQ(cap_pkt(&cap, 0).len, 1448);
	WT_CHECK_EQ(tcp_send_queued(c), 3000);
	cap_clear(&cap);
	p.rcv_nxt = seq;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(tcp_send_queued(c), 0);
	WT_CHECK_EQ(c->t_rexmit, 0);
	teardown();
}

static void test_rto_backoff(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.no_tlp = true; /* RTOs alone */
	setup(&cfg);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;
	uint64_t t0 = vnow;

	tcp_send(c, h_data(500, 0));
	WT_CHECK_EQ(cap.n, 1);
	cap_clear(&cap);
	/* the handshake's RTT was 0: RTO is the 200 ms floor */
	uint64_t expect = 200 * MS, at = t0;

	for (int k = 0; k < 4; k++) {
		at += expect;
		h_advance(S, at - vnow - 1 * MS, 1 * MS);
		WT_CHECK_EQ(cap.n, 0);
		h_advance(S, 2 * MS, 100 * US);
		WT_CHECK_EQ(cap.n, 1);
		if (cap.n) {
			struct pkt r = cap_pkt(&cap, 0);

			WT_CHECK_EQ(r.seq, p.rcv_nxt);
			WT_CHECK_EQ(r.len, 500);
		}
		cap_clear(&cap);
		expect *= 2;
	}
	WT_CHECK_EQ(S->stats.rto_fires, 4);
	WT_CHECK_EQ(c->cwnd, c->mss);
	/* an ACK clears the back-off */
	p.rcv_nxt += 500;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(c->rto.backoff, 0);
	WT_CHECK_EQ(c->t_rexmit, 0);
	teardown();
}

/* The last segments of a flight are lost: a tail loss probe resends the
 * last one after 2 SRTT, long before the RTO. */
static void test_tail_loss_probe(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;
	uint32_t mss = c->mss;

	/* an RTT of 5 ms: one segment, ACKed 5 ms later */
	tcp_send(c, h_data(100, 0));
	vnow += 5 * MS;
	p.rcv_nxt += 100;
	sp_seg(&p, TH_ACK, 0, NULL);
	cap_clear(&cap);
	uint32_t base = p.rcv_nxt;
	uint64_t t0 = vnow, pto = 2ull * c->rto.srtt_us * 1000;

	WT_CHECK(pto >= 1 * MS && pto < 20 * MS);
	tcp_send(c, h_data(4 * mss, 100));
	WT_CHECK_EQ(cap.n, 4);
	cap_clear(&cap);
	h_advance(S, pto - 200 * US, 100 * US);
	WT_CHECK_EQ(cap.n, 0);
	h_advance(S, 400 * US, 100 * US);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(S->stats.tlp_probes, 1);
	if (cap.n) {
		struct pkt probe = cap_pkt(&cap, 0);

		WT_CHECK_EQ(probe.seq, base + 3 * mss); /* the last segment */
		WT_CHECK_EQ(probe.len, mss);
	}
	WT_CHECK(vnow - t0 < 200 * MS);
	cap_clear(&cap);
	p.rcv_nxt = base + 4 * mss;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK(!(c->flags & TCP_F_TLP_OUT));
	h_advance(S, 1 * SEC, 10 * MS);
	WT_CHECK_EQ(S->stats.rto_fires, 0);
	WT_CHECK_EQ(S->stats.tlp_probes, 1);
	teardown();
}

static void test_fast_retransmit_sack(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;
	uint32_t base = p.rcv_nxt, mss = c->mss;

	tcp_send(c, h_data(8 * mss, 0));
	WT_CHECK_EQ(cap.n, 8);
	cap_clear(&cap);
	/* segment 0 lost: the peer SACKs 1..3 with three duplicate ACKs */
	for (uint32_t k = 1; k <= 3; k++) {
		struct peer_seg e = { .n_sack = 1 };

		e.sack[0].start = base + mss;
		e.sack[0].end = base + (k + 1) * mss;
		sp_seg(&p, TH_ACK, 0, &e);
	}
	WT_CHECK_EQ(S->stats.fast_recoveries, 1);
	WT_CHECK(c->flags & TCP_F_IN_RECOVERY);
	WT_CHECK(cap.n >= 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, base);
	WT_CHECK_EQ(cap_pkt(&cap, 0).len, mss);
	WT_CHECK_EQ(S->stats.rto_fires, 0);
	cap_clear(&cap);
	/* everything acknowledged: recovery ends */
	p.rcv_nxt = base + 8 * mss;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK(!(c->flags & TCP_F_IN_RECOVERY));
	WT_CHECK_EQ(tcp_send_queued(c), 0);
	/* recovery ends at ssthresh (half the flight at entry: 4 MSS), not at
	 * option 1's FlightSize + MSS, so the next loss still sees DupThresh */
	WT_CHECK_EQ(c->ssthresh, 4 * mss);
	WT_CHECK_EQ(c->cwnd, c->ssthresh);
	teardown();
}

/* The retransmission of segment 0 is lost as well: data sent after it
 * gets SACKed while segment 0 is not, and segment 0 goes again without
 * waiting for the RTO (RACK's idea, RFC 8985 2). */
static void test_lost_retransmission(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;
	uint32_t base = p.rcv_nxt, mss = c->mss;
	struct peer_seg e = { .n_sack = 1 };

	tcp_send(c, h_data(20 * mss, 0));
	WT_CHECK_EQ(cap.n, 10); /* initial window */
	cap_clear(&cap);
	e.sack[0].start = base + mss;
	for (uint32_t k = 1; k <= 9; k++) { /* SACKs for 1..9 */
		e.sack[0].end = base + (k + 1) * mss;
		sp_seg(&p, TH_ACK, 0, &e);
	}
	WT_CHECK_EQ(S->stats.fast_recoveries, 1);
	uint32_t resent = 0, highest = 0;

	for (unsigned int i = 0; i < cap.n; i++) {
		struct pkt d = cap_pkt(&cap, i);

		resent += d.seq == base;
		if (tcp_seq_gt(d.seq + d.len, highest))
			highest = d.seq + d.len;
	}
	WT_CHECK_EQ(resent, 1);
	WT_CHECK(tcp_seq_gt(highest, base + 10 * mss)); /* new data went out */
	cap_clear(&cap);
	/* segment 10, sent after the retransmission, is SACKed: the
	 * retransmission of 0 must have been lost */
	e.sack[0].end = base + 11 * mss;
	sp_seg(&p, TH_ACK, 0, &e);
	WT_CHECK_EQ(S->stats.lost_retransmits, 1);
	WT_CHECK(cap.n >= 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, base);
	WT_CHECK_EQ(S->stats.rto_fires, 0);
	teardown();
}

static void test_newreno_without_sack(void)
{
	setup(NULL);
	struct sp p = open_passive(false);
	struct tcp_conn *c = app.conn;
	uint32_t base = p.rcv_nxt, mss = c->mss;

	WT_CHECK_EQ(mss, 1460);
	tcp_send(c, h_data(6 * mss, 0));
	cap_clear(&cap);
	for (int k = 0; k < 3; k++)
		sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(S->stats.fast_recoveries, 1);
	WT_CHECK(cap.n >= 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, base);
	cap_clear(&cap);
	/* partial ACK: the next hole is resent at once (RFC 6582) */
	p.rcv_nxt = base + 2 * mss;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK(cap.n >= 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, base + 2 * mss);
	WT_CHECK(c->flags & TCP_F_IN_RECOVERY);
	cap_clear(&cap);
	p.rcv_nxt = base + 6 * mss;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK(!(c->flags & TCP_F_IN_RECOVERY));
	teardown();
}

static void test_challenge_ack_rst(void)
{
	setup(NULL);
	struct sp p = open_passive(true);

	/* in window but not exact: challenge ACK, connection stays */
	sp_seg(&p, TH_RST, 0, &(struct peer_seg){ .seq = p.snd_nxt + 100 });
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	WT_CHECK_EQ(S->stats.challenge_acks, 1);
	WT_CHECK_EQ(tcp_conn_state(app.conn), TCP_ESTABLISHED);
	cap_clear(&cap);
	/* outside the window: silently dropped */
	sp_seg(&p, TH_RST, 0,
	       &(struct peer_seg){ .seq = p.snd_nxt + 10000000 });
	WT_CHECK_EQ(cap.n, 0);
	WT_CHECK_EQ(app.errors, 0);
	/* exact: reset */
	sp_seg(&p, TH_RST, 0, NULL);
	WT_CHECK_EQ(app.errors, 1);
	WT_CHECK_EQ(app.last_err, TCP_ERR_RESET);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	teardown();
}

static void test_challenge_ack_syn(void)
{
	setup(NULL);
	struct sp p = open_passive(true);

	sp_seg(&p, TH_SYN, 0, &(struct peer_seg){ .seq = p.snd_nxt + 5 });
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK);
	WT_CHECK_EQ(S->stats.challenge_acks, 1);
	WT_CHECK_EQ(tcp_conn_state(app.conn), TCP_ESTABLISHED);
	/* the limit holds challenge ACKs per second */
	cap_clear(&cap);
	S->cfg.challenge_ack_limit = 3;
	for (int i = 0; i < 10; i++)
		sp_seg(&p, TH_SYN, 0,
		       &(struct peer_seg){ .seq = p.snd_nxt + 5 });
	WT_CHECK_EQ(cap.n, 2);
	WT_CHECK(S->stats.challenge_acks_limited >= 8);
	teardown();
}

static void test_persist_zero_window(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	p.wnd = 0;
	sp_seg(&p, TH_ACK, 0, &(struct peer_seg){ .wnd = 0 });
	WT_CHECK_EQ(c->snd_wnd, 0);
	cap_clear(&cap);
	tcp_send(c, h_data(1000, 0));
	WT_CHECK_EQ(cap.n, 0);
	WT_CHECK(c->t_persist != 0);
	h_advance(S, 201 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 1);
	struct pkt probe = cap_pkt(&cap, 0);

	WT_CHECK_EQ(probe.seq, p.rcv_nxt - 1);
	WT_CHECK_EQ(probe.len, 0);
	cap_clear(&cap);
	/* still zero: the next probe backs off (400 ms after the first) */
	sp_seg(&p, TH_ACK, 0, &(struct peer_seg){ .wnd = 0 });
	h_advance(S, 398 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 0);
	h_advance(S, 2 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(S->stats.persist_probes, 2);
	WT_CHECK_EQ(app.errors, 0); /* persist never gives up */
	cap_clear(&cap);
	/* the window opens: the data goes */
	p.wnd = 512;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).len, 1000);
	WT_CHECK_EQ(c->t_persist, 0);
	teardown();
}

static void test_half_close_passive(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
	WT_CHECK_EQ(app.peer_fin, 1);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_CLOSE_WAIT);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, p.snd_nxt);
	cap_clear(&cap);
	/* we may still send */
	WT_CHECK_EQ(tcp_send(c, h_data(100, 0)), 0);
	WT_CHECK_EQ(cap.n, 1);
	cap_clear(&cap);
	tcp_shutdown(c);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_LAST_ACK);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK | TH_FIN);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, p.rcv_nxt + 100);
	WT_CHECK_EQ(tcp_send(c, h_data(1, 0)), -EPIPE);
	p.rcv_nxt += 101;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(app.closed, 1);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	teardown();
}

static void test_active_close_time_wait(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	tcp_shutdown(c);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_1);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_ACK | TH_FIN);
	cap_clear(&cap);
	p.rcv_nxt++;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_FIN_WAIT_2);
	/* half-closed: data still flows in */
	sp_seg(&p, TH_ACK, 300, NULL);
	WT_CHECK_EQ(app.rx_bytes, 300);
	sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
	WT_CHECK_EQ(app.closed, 1);
	WT_CHECK_EQ(cap.n >= 1, 1);
	WT_CHECK_EQ(cap_pkt(&cap, cap.n - 1).ack, p.snd_nxt);
	/* a compact record holds the tuple; the TCB is back in the pool */
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	cap_clear(&cap);
	/* a retransmitted FIN is ACKed again */
	sp_seg(&p, TH_ACK | TH_FIN, 0,
	       &(struct peer_seg){ .seq = p.snd_nxt - 1 });
	WT_CHECK_EQ(cap.n, 1);
	h_advance(S, 2 * SEC + 10 * MS, 10 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	teardown();
}

static void test_simultaneous_close(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	tcp_shutdown(c);
	cap_clear(&cap);
	/* the peer's FIN crosses ours (it does not ACK our FIN yet) */
	sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
	WT_CHECK_EQ(tcp_conn_state(c), TCP_CLOSING);
	p.rcv_nxt++;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(tcp_conn_count(S), 0); /* TIME_WAIT: a record, no TCB */
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	WT_CHECK_EQ(app.closed, 1);
	h_advance(S, 3 * SEC, 100 * MS);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	teardown();
}

/* Drives a fresh connection into `st` and sends an exact RST. */
static void rst_in_state(enum tcp_state st)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	switch (st) {
	case TCP_CLOSE_WAIT:
		sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
		break;
	case TCP_FIN_WAIT_1:
		tcp_shutdown(c);
		break;
	case TCP_FIN_WAIT_2:
		tcp_shutdown(c);
		p.rcv_nxt++;
		sp_seg(&p, TH_ACK, 0, NULL);
		break;
	case TCP_LAST_ACK:
		sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
		tcp_shutdown(c);
		break;
	case TCP_CLOSING:
		tcp_shutdown(c);
		sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
		break;
	case TCP_TIME_WAIT:
		tcp_shutdown(c);
		p.rcv_nxt++;
		sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
		break;
	default:
		break;
	}
	if (st == TCP_TIME_WAIT)
		WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	else
		WT_CHECK_EQ(tcp_conn_state(c), st);
	sp_seg(&p, TH_RST, 0, NULL);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	/* every state the application still holds reports the reset; in
	 * TIME_WAIT it was told on_closed already */
	WT_CHECK_EQ(app.errors, st == TCP_TIME_WAIT ? 0 : 1);
	WT_CHECK_EQ(app.closed, st == TCP_TIME_WAIT ? 1 : 0);
	teardown();
}

static void test_rst_in_each_state(void)
{
	enum tcp_state sts[] = { TCP_ESTABLISHED, TCP_CLOSE_WAIT,
				 TCP_FIN_WAIT_1,  TCP_FIN_WAIT_2,
				 TCP_LAST_ACK,	  TCP_CLOSING,
				 TCP_TIME_WAIT };

	for (unsigned int i = 0; i < sizeof(sts) / sizeof(sts[0]); i++)
		rst_in_state(sts[i]);
	/* SYN_RCVD: back to listening, nobody told */
	setup(NULL);
	tcp_input(S, build(IP_B, PPORT, IP_A, VPORT,
			   &(struct peer_seg){
				   .seq = 100, .flags = TH_SYN, .wnd = 1000 }));
	WT_CHECK_EQ(tcp_conn_count(S), 1);
	tcp_input(S, build(IP_B, PPORT, IP_A, VPORT,
			   &(struct peer_seg){
				   .seq = 101, .flags = TH_RST, .wnd = 1000 }));
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(app.accepts + app.errors, 0);
	teardown();
}

static void test_connect_refused(void)
{
	setup(NULL);
	struct tcp_conn *c =
		tcp_connect(S, IP_A, IP_B, 81, &app_ops, &app, NULL);
	struct pkt syn = cap_pkt(&cap, 0);

	(void)c;
	tcp_input(S, build(IP_B, 81, IP_A, syn.sport,
			   &(struct peer_seg){ .seq = 0,
					       .ack = syn.seq + 1,
					       .flags = TH_RST | TH_ACK }));
	WT_CHECK_EQ(app.errors, 1);
	WT_CHECK_EQ(app.last_err, TCP_ERR_REFUSED);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(S->stats.refused, 1);
	teardown();
}

static void test_connect_timeout(void)
{
	setup(NULL);
	tcp_connect(S, IP_A, IP_B, 82, &app_ops, &app, NULL);
	/* 1 + 5 retries, 1 s doubling: 1+2+4+8+16+32 = 63 s */
	h_advance(S, 62 * SEC, 10 * MS);
	WT_CHECK_EQ(cap.n, 6);
	WT_CHECK_EQ(app.errors, 0);
	h_advance(S, 2 * SEC, 10 * MS);
	WT_CHECK_EQ(app.errors, 1);
	WT_CHECK_EQ(app.last_err, TCP_ERR_TIMEOUT);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	for (unsigned int i = 0; i < cap.n; i++)
		WT_CHECK_EQ(cap_pkt(&cap, i).flags, TH_SYN);
	teardown();
}

static void test_closed_port_rst(void)
{
	setup(NULL);
	tcp_input(S, build(IP_B, PPORT, IP_A, 9,
			   &(struct peer_seg){
				   .seq = 700, .flags = TH_SYN, .wnd = 1000 }));
	WT_CHECK_EQ(cap.n, 1);
	struct pkt r = cap_pkt(&cap, 0);

	WT_CHECK_EQ(r.flags, TH_RST | TH_ACK);
	WT_CHECK_EQ(r.ack, 701);
	cap_clear(&cap);
	/* a stray ACK gets RST with seq = its ack; a RST gets nothing */
	tcp_input(S, build(IP_B, PPORT, IP_A, 9,
			   &(struct peer_seg){ .seq = 1,
					       .ack = 4242,
					       .flags = TH_ACK,
					       .wnd = 1000 }));
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_RST);
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, 4242);
	tcp_input(S, build(IP_B, PPORT, IP_A, 9,
			   &(struct peer_seg){ .seq = 1, .flags = TH_RST }));
	WT_CHECK_EQ(cap.n, 1);
	teardown();
}

/* #20: SYN+FIN and a flagless segment to a listening port are dropped
 * without an answer and take no TCB; the same flags to a closed port still
 * get the RST a closed port gives. */
static void test_listener_drops(void)
{
	static const uint8_t bad[] = {
		TH_SYN | TH_FIN, TH_SYN | TH_FIN | TH_ACK, 0, TH_FIN, TH_PSH,
		TH_URG
	};
	uint64_t opens, syn_fin, no_flags;

	setup(NULL);
	opens = S->stats.passive_opens;
	for (unsigned int i = 0; i < RTE_DIM(bad); i++)
		tcp_input(S, build(IP_B, PPORT + i, IP_A, VPORT,
				   &(struct peer_seg){ .seq = 700,
						       .ack = 1,
						       .flags = bad[i],
						       .wnd = 1000 }));
	syn_fin = S->stats.listen_syn_fin;
	no_flags = S->stats.listen_no_flags;
	WT_CHECK_EQ(cap.n, 1); /* only SYN+FIN+ACK: an ACK to LISTEN gets RST */
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_RST);
	WT_CHECK_EQ(S->stats.passive_opens, opens);
	WT_CHECK_EQ(app.accepts, 0);
	WT_CHECK_EQ(syn_fin, 1);
	WT_CHECK_EQ(no_flags, 4);
	/* a SYN after them still opens */
	cap_clear(&cap);
	tcp_input(S, build(IP_B, PPORT, IP_A, VPORT,
			   &(struct peer_seg){
				   .seq = 900, .flags = TH_SYN, .wnd = 1000 }));
	WT_CHECK_EQ(cap.n, 1);
	if (cap.n == 1)
		WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_SYN | TH_ACK);
	/* a closed port answers a flagless segment with RST+ACK as before */
	cap_clear(&cap);
	tcp_input(S, build(IP_B, PPORT, IP_A, 9,
			   &(struct peer_seg){ .seq = 5, .flags = 0 }));
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(S->stats.listen_no_flags, no_flags);
	teardown();
}

static void test_out_of_order_and_sack(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	uint32_t s0 = p.snd_nxt;

	/* second segment first: held, immediate ACK with a SACK block */
	sp_seg(&p, TH_ACK, 1000, &(struct peer_seg){ .seq = s0 + 1000 });
	WT_CHECK_EQ(app.rx_bytes, 0);
	WT_CHECK_EQ(cap.n, 1);
	struct pkt a = cap_pkt(&cap, 0);

	WT_CHECK_EQ(a.ack, s0);
	WT_CHECK_EQ(a.n_sack, 1);
	WT_CHECK_EQ(a.sack[0].start, s0 + 1000);
	WT_CHECK_EQ(a.sack[0].end, s0 + 2000);
	cap_clear(&cap);
	sp_seg(&p, TH_ACK, 1000, NULL);
	WT_CHECK_EQ(app.rx_bytes, 2000);
	WT_CHECK_EQ(cap.n, 1); /* gap filled: ACK at once */
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, s0 + 2000);
	WT_CHECK_EQ(cap_pkt(&cap, 0).n_sack, 0);
	teardown();
}

static void test_paws(void)
{
	setup(NULL);
	struct sp p = open_passive(true);

	p.ts -= 50; /* an old timestamp */
	sp_seg(&p, TH_ACK, 100, NULL);
	WT_CHECK_EQ(app.rx_bytes, 0);
	WT_CHECK_EQ(S->stats.paws_drops, 1);
	WT_CHECK_EQ(cap.n, 1); /* answered with an ACK */
	teardown();
}

static void test_tcb_exhaustion_refused(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.max_conns = 4;
	setup(&cfg);
	for (uint16_t i = 0; i < 5; i++)
		tcp_input(S, build(IP_B, (uint16_t)(PPORT + i), IP_A, VPORT,
				   &(struct peer_seg){ .seq = 1,
						       .flags = TH_SYN,
						       .wnd = 1000 }));
	WT_CHECK_EQ(tcp_conn_count(S), 4);
	WT_CHECK_EQ(S->stats.nomem_tcb, 1);
	WT_CHECK_EQ(cap.n, 5);
	WT_CHECK_EQ(cap_pkt(&cap, 4).flags, TH_RST | TH_ACK);
	teardown();
}

static void test_time_wait_reuse(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	tcp_shutdown(c);
	p.rcv_nxt++;
	sp_seg(&p, TH_ACK | TH_FIN, 0, NULL);
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	cap_clear(&cap);
	/* RFC 6191: a SYN with a newer timestamp takes the tuple over */
	sp_seg(&p, TH_SYN, 0,
	       &(struct peer_seg){ .seq = 12345,
				   .mss = true,
				   .mss_val = 1460,
				   .sack_perm = true });
	WT_CHECK_EQ(S->stats.tw_reused, 1);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).flags, TH_SYN | TH_ACK);
	WT_CHECK_EQ(cap_pkt(&cap, 0).ack, 12346);
	/* its ISN lies past the old incarnation's sequence space */
	WT_CHECK_EQ(cap_pkt(&cap, 0).seq, p.rcv_nxt + 65537);
	WT_CHECK_EQ(tcp_conn_count(S), 1);
	WT_CHECK_EQ(tcp_time_wait_count(S), 0);
	teardown();
}

static void test_idle_timeout_and_keepalive(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.keepalive_ns = 5 * SEC;
	cfg.keepalive_intvl_ns = 1 * SEC;
	cfg.keepalive_probes = 2;
	setup(&cfg);
	open_passive(true);
	/* keepalive: 2 probes then TIMEOUT with RST */
	h_advance(S, 5 * SEC + 1 * MS, 1 * MS);
	WT_CHECK_EQ(cap.n, 1);
	h_advance(S, 2 * SEC, 1 * MS);
	WT_CHECK_EQ(app.errors, 1);
	WT_CHECK_EQ(app.last_err, TCP_ERR_TIMEOUT);
	WT_CHECK_EQ(cap_pkt(&cap, cap.n - 1).flags, TH_RST | TH_ACK);
	teardown();

	setup(NULL);
	open_passive(true);
	tcp_set_idle_timeout(app.conn, 3600 * SEC);
	h_advance(S, 3599 * SEC, 1 * SEC);
	WT_CHECK_EQ(app.errors, 0);
	h_advance(S, 2 * SEC, 1 * SEC);
	WT_CHECK_EQ(app.errors, 1);
	WT_CHECK_EQ(app.last_err, TCP_ERR_TIMEOUT);
	teardown();
}

static void test_close_then_data_rst(void)
{
	setup(NULL);
	struct sp p = open_passive(true);

	tcp_close(app.conn);
	cap_clear(&cap);
	p.rcv_nxt++;
	sp_seg(&p, TH_ACK, 100, NULL);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK(cap_pkt(&cap, 0).flags & TH_RST);
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(app.errors + app.closed, 0); /* closed: nobody told */
	teardown();
}

/* One source port only: it is busy while the connection lives and while
 * it waits in TIME_WAIT, and is reused after a quiet second because the
 * connection used timestamps. */
static void test_port_exhaustion_and_tw_reuse(void)
{
	struct tcp_config cfg;
	int err = 0;

	tcp_config_defaults(&cfg);
	cfg.port_lo = cfg.port_hi = 20000;
	setup(&cfg);
	struct tcp_conn *c =
		tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app, &err);
	struct pkt syn = cap_pkt(&cap, 0);

	WT_CHECK_EQ(syn.sport, 20000);
	WT_CHECK(tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app, &err) ==
		 NULL);
	WT_CHECK_EQ(err, -EADDRNOTAVAIL);
	WT_CHECK_EQ(S->stats.no_port, 1);
	/* another destination may use the same port */
	WT_CHECK(tcp_connect(S, IP_A, IP_B, 8081, &app_ops, &app, &err) !=
		 NULL);
	tcp_input(S, build(IP_B, 8080, IP_A, 20000,
			   &(struct peer_seg){ .seq = 50,
					       .ack = syn.seq + 1,
					       .flags = TH_SYN | TH_ACK,
					       .wnd = 5000,
					       .mss = true,
					       .mss_val = 1460,
					       .ts = true,
					       .tsval = 10,
					       .tsecr = syn.tsval }));
	WT_CHECK_EQ(tcp_conn_state(c), TCP_ESTABLISHED);
	tcp_close(c);
	tcp_input(S, build(IP_B, 8080, IP_A, 20000,
			   &(struct peer_seg){ .seq = 51,
					       .ack = syn.seq + 2,
					       .flags = TH_FIN | TH_ACK,
					       .wnd = 5000,
					       .ts = true,
					       .tsval = 11,
					       .tsecr = 1 }));
	WT_CHECK_EQ(tcp_time_wait_count(S), 1);
	WT_CHECK(tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app, &err) ==
		 NULL);
	vnow += 1 * SEC;
	WT_CHECK(tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app, &err) !=
		 NULL);
	WT_CHECK_EQ(S->stats.tw_reused, 1);
	teardown();
}

/* On an RSS NIC every chosen source port sends the replies to our queue,
 * as rte_softrss computes it. */
static void test_rss_source_ports(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.rss_key = tcp_rss_symmetric_key;
	cfg.rss_n_queues = 4;
	cfg.rss_queue = 2;
	cfg.worker_id = 2;
	cfg.n_workers = 4;
	setup(&cfg);
	for (int i = 0; i < 20; i++)
		WT_CHECK(tcp_connect(S, IP_A, IP_B, 8080, &app_ops, &app,
				     NULL) != NULL);
	WT_CHECK_EQ(cap.n, 20);
	for (unsigned int i = 0; i < cap.n; i++) {
		struct pkt syn = cap_pkt(&cap, i);

		WT_CHECK_EQ(tcp_rss_queue(tcp_rss_symmetric_key, IP_B, IP_A,
					  8080, syn.sport, 128, 4),
			    2);
		WT_CHECK_EQ(tcp_owner_backend(syn.sport, 10000, 59999, 4), 2);
	}
	teardown();
}

/* A segment that arrives as a chain (headers and some payload in the
 * first mbuf, the rest in a second) is cut correctly for the application. */
static void test_chained_segment_delivery(void)
{
	setup(NULL);
	struct sp p = open_passive(true);

	/* 15 bytes take the peer's sequence to 0, where the payload pattern
	 * the test application checks starts */
	sp_seg(&p, TH_ACK, 15, NULL);
	WT_CHECK_EQ(p.snd_nxt, 0);
	app.rx_bytes = app.rx_check = 0;
	struct peer_seg ps = { .seq = p.snd_nxt,
			       .ack = p.rcv_nxt,
			       .flags = TH_ACK,
			       .wnd = 512,
			       .len = 1000,
			       .ts = true,
			       .tsval = p.ts + 1,
			       .tsecr = 1 };
	struct rte_mbuf *m = build(IP_B, PPORT, IP_A, VPORT, &ps);
	struct rte_mbuf *tail = rte_pktmbuf_alloc(pool);
	char *dst = rte_pktmbuf_append(tail, 600);

	memcpy(dst, rte_pktmbuf_mtod_offset(m, char *, m->data_len - 600), 600);
	rte_pktmbuf_trim(m, 600);
	rte_pktmbuf_chain(m, tail);
	WT_CHECK_EQ(m->nb_segs, 2);
	tcp_input(S, m);
	WT_CHECK_EQ(app.rx_bytes, 1000);
	WT_CHECK_EQ(app.rx_check, 1000);
	WT_CHECK_EQ(S->stats.bad_csum, 0);
	teardown();
}

/* Send back-pressure in mbufs: a full queue says -EAGAIN, and its
 * draining calls on_writable; a pool down to its reserve says -ENOBUFS. */
static void test_send_backpressure(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.snd_mbufs = 4;
	setup(&cfg);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;
	struct rte_mbuf *extra = h_data(10, 0);

	for (int i = 0; i < 4; i++)
		WT_CHECK_EQ(tcp_send(c, h_data(100, 0)), 0);
	WT_CHECK_EQ(tcp_send_space(c), 0);
	WT_CHECK_EQ(tcp_send(c, extra), -EAGAIN);
	p.rcv_nxt += 200;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(app.writable, 1);
	WT_CHECK_EQ(tcp_send_space(c), 2);
	WT_CHECK_EQ(tcp_send_queued(c), 200);
	S->cfg.mbuf_reserve = 1000000;
	WT_CHECK_EQ(tcp_send(c, extra), -ENOBUFS);
	rte_pktmbuf_free(extra);
	teardown();
}

/* The receive window follows what the application has not yet taken:
 * it closes, and tcp_recv_done() reopens it with a window update. */
static void test_receive_window(void)
{
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.rcv_buf = 8192;
	setup(&cfg);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	app.auto_done = false;
	WT_CHECK_EQ(tcp_rcv_window(c), 8192);
	for (int i = 0; i < 8; i++)
		sp_seg(&p, TH_ACK, 1024, NULL);
	WT_CHECK_EQ(app.rx_bytes, 8192);
	struct pkt last = cap_pkt(&cap, cap.n - 1);

	WT_CHECK_EQ(last.ack, p.snd_nxt);
	WT_CHECK_EQ(last.wnd, 0);
	/* beyond the window: dropped, answered with an ACK */
	cap_clear(&cap);
	sp_seg(&p, TH_ACK, 100, NULL);
	p.snd_nxt -= 100;
	WT_CHECK_EQ(app.rx_bytes, 8192);
	WT_CHECK_EQ(cap.n, 1);
	cap_clear(&cap);
	tcp_recv_done(c, 4096);
	WT_CHECK_EQ(cap.n, 1);
	WT_CHECK_EQ(cap_pkt(&cap, 0).wnd, 4096 >> c->rcv_wscale);
	teardown();
}

/* The peer closes its window with our data in flight: the RTO turns into
 * probing and never gives up while the peer answers. */
static void test_window_shrunk_under_data(void)
{
	setup(NULL);
	struct sp p = open_passive(true);
	struct tcp_conn *c = app.conn;

	tcp_send(c, h_data(1000, 0));
	p.wnd = 0;
	sp_seg(&p, TH_ACK, 0, NULL);
	WT_CHECK_EQ(c->snd_wnd, 0);
	for (int i = 0; i < 12; i++) {
		h_advance(S, 60 * SEC, 100 * MS);
		sp_seg(&p, TH_ACK, 0, NULL);
	}
	WT_CHECK_EQ(app.errors, 0);
	WT_CHECK(S->stats.persist_probes >= 10);
	p.wnd = 512;
	cap_clear(&cap);
	sp_seg(&p, TH_ACK, 0, NULL);
	h_advance(S, 60 * SEC, 100 * MS);
	bool resent = false;

	for (unsigned int i = 0; i < cap.n; i++)
		resent |= cap_pkt(&cap, i).len == 1000;
	WT_CHECK(resent);
	teardown();
}

int main(void)
{
	h_eal_init();
	WT_RUN(test_passive_handshake);
	WT_RUN(test_active_handshake);
	WT_RUN(test_data_both_ways);
	WT_RUN(test_rto_backoff);
	WT_RUN(test_tail_loss_probe);
	WT_RUN(test_fast_retransmit_sack);
	WT_RUN(test_lost_retransmission);
	WT_RUN(test_newreno_without_sack);
	WT_RUN(test_challenge_ack_rst);
	WT_RUN(test_challenge_ack_syn);
	WT_RUN(test_persist_zero_window);
	WT_RUN(test_half_close_passive);
	WT_RUN(test_active_close_time_wait);
	WT_RUN(test_simultaneous_close);
	WT_RUN(test_rst_in_each_state);
	WT_RUN(test_connect_refused);
	WT_RUN(test_connect_timeout);
	WT_RUN(test_closed_port_rst);
	WT_RUN(test_listener_drops);
	WT_RUN(test_out_of_order_and_sack);
	WT_RUN(test_paws);
	WT_RUN(test_tcb_exhaustion_refused);
	WT_RUN(test_time_wait_reuse);
	WT_RUN(test_idle_timeout_and_keepalive);
	WT_RUN(test_close_then_data_rst);
	WT_RUN(test_port_exhaustion_and_tw_reuse);
	WT_RUN(test_rss_source_ports);
	WT_RUN(test_chained_segment_delivery);
	WT_RUN(test_send_backpressure);
	WT_RUN(test_receive_window);
	WT_RUN(test_window_shrunk_under_data);
	int rc = wt_done();

	rte_eal_cleanup();
	return rc;
}
