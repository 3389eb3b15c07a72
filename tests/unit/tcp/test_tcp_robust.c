/* Robustness in virtual time: tens of thousands of random, malformed and
 * hostile segments (random flags, sequence and ack numbers, garbage
 * options, bad header lengths, truncated packets, bad checksums) against a
 * listener and live connections, with the clock jumping. Run under ASan
 * and UBSan this is a small fuzzer: nothing may crash, leak or corrupt,
 * and every mbuf and TCB comes back. */
#include "tcp_harness.h"

static struct tcp_stack *S;
static struct capture cap;
static struct app app;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* A segment with raw option bytes and a chosen data offset. */
static struct rte_mbuf *raw_segment(uint16_t sport, uint16_t dport,
				    uint32_t seq, uint32_t ack, uint8_t flags,
				    const uint8_t *opt, unsigned int optlen,
				    unsigned int data_off_words,
				    unsigned int payload, bool good_csum)
{
	unsigned int total = 20 + 20 + optlen + payload;
	unsigned int shift =
		rnd() % 2 ? 2 : 0; /* as after a 14-byte Ethernet header */
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(
				 m, (uint16_t)(total + shift)) :
			 NULL;

	if (p != NULL && shift)
		p = (uint8_t *)rte_pktmbuf_adj(m, (uint16_t)shift);

	if (p == NULL) {
		printf("Bail out! test pool exhausted\n");
		exit(1);
	}
	memset(p, 0, 40);
	struct rte_ipv4_hdr *ip = (void *)p;
	struct rte_tcp_hdr *th = (void *)(p + 20);

	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(IP_B);
	ip->dst_addr = rte_cpu_to_be_32(IP_A);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)(data_off_words << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16((uint16_t)rnd());
	memcpy(p + 40, opt, optlen);
	for (unsigned int i = 0; i < payload; i++)
		p[40 + optlen + i] = (uint8_t)rnd();
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	if ((th->data_off >> 4) * 4u <= total - 20)
		th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	if (!good_csum)
		th->cksum ^= 0x1234;
	if (rnd() % 50 == 0) /* truncated behind the IP header's back */
		rte_pktmbuf_trim(m, (uint16_t)(rnd() % total));
	return m;
}

/* Mostly well-formed option lists, sometimes garbage. */
static unsigned int random_options(uint8_t *o)
{
	unsigned int n = 0, want = (rnd() % 11) * 4;

	if (rnd() % 4 == 0) {
		for (n = 0; n < want; n++)
			o[n] = (uint8_t)rnd();
		return want;
	}
	while (n + 10 <= want) {
		switch (rnd() % 5) {
		case 0:
			o[n++] = 2;
			o[n++] = 4;
			o[n++] = (uint8_t)rnd();
			o[n++] = (uint8_t)rnd();
			break;
		case 1:
			o[n++] = 1;
			o[n++] = 3;
			o[n++] = 3;
			o[n++] = (uint8_t)(rnd() % 20);
			break;
		case 2:
			o[n++] = 1;
			o[n++] = 1;
			o[n++] = 4;
			o[n++] = 2;
			break;
		case 3:
			o[n++] = 8;
			o[n++] = 10;
			for (int i = 0; i < 8; i++)
				o[n++] = (uint8_t)rnd();
			break;
		default:
			o[n++] = 5;
			o[n++] = 10;
			for (int i = 0; i < 8; i++)
				o[n++] = (uint8_t)rnd();
			break;
		}
	}
	while (n < want)
		o[n++] = 1;
	return n;
}

/* Sequence numbers near what the stack expects, so segments reach the
 * deep parts of the state machine instead of failing acceptability. */
static uint32_t near(uint32_t base)
{
	switch (rnd() % 4) {
	case 0:
		return base;
	case 1:
		return base + rnd() % 3000;
	case 2:
		return base - rnd() % 3000;
	default:
		return rnd();
	}
}

static void test_random_segments(void)
{
	unsigned int mbufs0 = rte_mempool_avail_count(pool);
	struct tcp_config cfg;

	tcp_config_defaults(&cfg);
	cfg.max_conns = 64;
	cfg.keepalive_ns = 3 * SEC;
	memset(&app, 0, sizeof(app));
	app.auto_done = true;
	S = h_stack("robust", &cap, &cfg);
	tcp_listen(S, IP_A, 80, app_accept, &app);
	uint32_t tcb0 = tcp_tcb_free_count(S);

	for (int it = 0; it < 60000; it++) {
		uint8_t opt[40];
		unsigned int ol = random_options(opt);
		uint16_t sport = (uint16_t)(40000 + rnd() % 24);
		uint32_t seq = rnd(), ack = rnd();
		struct tcp_flow_key k = { IP_A, IP_B, 80, sport };
		struct tcp_conn *c = tcp_flow_lookup(S, &k);

		if (c != NULL) {
			seq = near(c->rcv_nxt);
			ack = near(c->snd_nxt);
		}
		uint8_t flags =
			(uint8_t)(rnd() % 4 ?
					  (rnd() & 0x3f) :
					  (TH_ACK | (rnd() % 2 ? TH_FIN : 0)));
		unsigned int doff = rnd() % 20 ? 5 + ol / 4 : rnd() % 16;
		unsigned int payload = rnd() % 3 ? 0 : rnd() % 1400;

		tcp_input(S,
			  raw_segment(sport, rnd() % 10 ? 80 : (uint16_t)rnd(),
				      seq, ack, flags, opt, ol, doff, payload,
				      rnd() % 30 != 0));
		if (app.conn != NULL && rnd() % 7 == 0) {
			struct tcp_conn *a = app.conn;

			/* the contract: valid until on_error/on_closed */
			WT_CHECK(!(a->flags & TCP_F_DEAD));

			switch (rnd() % 6) {
			case 0: {
				struct rte_mbuf *m =
					h_data(1 + rnd() % 3000, 0);

				if (tcp_send(a, m) != 0)
					rte_pktmbuf_free(
						m); /* refused: still ours */
				break;
			}
			case 1:
				tcp_shutdown(a);
				break;
			case 2:
				tcp_close(a);
				app.conn = NULL;
				break;
			case 3:
				tcp_abort(a);
				app.conn = NULL;
				break;
			case 4:
				tcp_recv_done(a, rnd() % 5000);
				break;
			default:
				tcp_set_idle_timeout(a, rnd() % (5 * SEC));
				break;
			}
		}
		if (rnd() % 5 == 0) {
			vnow += rnd() % (rnd() % 2 ? 2 * MS : 900 * MS);
			tcp_timers_run(S);
		}
		cap_clear(&cap);
	}
	WT_CHECK(tcp_conn_count(S) <= 64);
	WT_CHECK(S->stats.bad_hdr + S->stats.bad_csum > 0);
	WT_CHECK(S->stats.passive_opens > 0);
	printf("# %lu segments: %lu bad headers, %lu bad checksums, %lu opens, "
	       "%lu established, %lu challenge ACKs, %lu RSTs sent\n",
	       (unsigned long)S->stats.segs_in, (unsigned long)S->stats.bad_hdr,
	       (unsigned long)S->stats.bad_csum,
	       (unsigned long)S->stats.passive_opens,
	       (unsigned long)S->stats.established,
	       (unsigned long)S->stats.challenge_acks,
	       (unsigned long)S->stats.resets_sent);
	/* let every timer run out: all connections end */
	for (int i = 0; i < 400; i++) {
		vnow += 1 * SEC;
		tcp_timers_run(S);
		cap_clear(&cap);
	}
	WT_CHECK_EQ(tcp_conn_count(S), 0);
	WT_CHECK_EQ(tcp_tcb_free_count(S), tcb0);
	tcp_stack_free(S);
	cap_clear(&cap);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), mbufs0);
}

int main(void)
{
	h_eal_init();
	WT_RUN(test_random_segments);
	int rc = wt_done();

	rte_eal_cleanup();
	return rc;
}
