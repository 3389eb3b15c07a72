/* Ownership functions, the RSS source-port choice checked against
 * rte_softrss, SipHash against its reference vectors, RFC 6528 ISNs. */
#include <rte_thash.h>

#include "tcp/tcp_flow.h"
#include "wtest.h"

static void test_siphash_vectors(void)
{
	uint8_t key[16], msg[15];

	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		msg[i] = (uint8_t)i;
	/* reference outputs of the SipHash paper's test program */
	WT_CHECK(tcp_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ull);
	WT_CHECK(tcp_siphash24(key, msg, 15) == 0xa129ca6149be45e5ull);
}

static void test_client_owner(void)
{
	unsigned int hits[4] = { 0 };

	for (uint32_t i = 0; i < 40000; i++) {
		unsigned int w = tcp_owner_client(
			0x0a000000u + i / 100, (uint16_t)(30000 + i % 100), 4);

		WT_CHECK(w < 4);
		if (w < 4)
			hits[w]++;
		/* a pure function: same answer every time */
		WT_CHECK_EQ(w,
			    tcp_owner_client(0x0a000000u + i / 100,
					     (uint16_t)(30000 + i % 100), 4));
	}
	for (int w = 0; w < 4; w++)
		WT_CHECK(hits[w] > 9000 && hits[w] < 11000); /* balanced */
	WT_CHECK_EQ(tcp_owner_client(1, 2, 1), 0);
}

static void test_port_slices(void)
{
	uint16_t f, l, prev_last = 9999;

	for (unsigned int w = 0; w < 3; w++) {
		tcp_port_slice(10000, 59999, w, 3, &f, &l);
		WT_CHECK_EQ(f, prev_last + 1);
		WT_CHECK_EQ(tcp_owner_backend(f, 10000, 59999, 3), w);
		WT_CHECK_EQ(tcp_owner_backend(l, 10000, 59999, 3), w);
		prev_last = l;
	}
	WT_CHECK_EQ(prev_last, 59999);
	WT_CHECK_EQ(tcp_owner_backend(9999, 10000, 59999, 3), 3); /* not ours */
	WT_CHECK_EQ(tcp_owner_backend(60000, 10000, 59999, 3), 3);
}

static void test_rss_symmetric_and_pick(void)
{
	uint32_t local = 0x0a000001u, remote = 0x0a0000c8u;
	unsigned int nq = 4, reta = 128;

	/* the symmetric key hashes both directions alike */
	WT_CHECK_EQ(tcp_rss_queue(tcp_rss_symmetric_key, local, remote, 12345,
				  8000, reta, nq),
		    tcp_rss_queue(tcp_rss_symmetric_key, remote, local, 8000,
				  12345, reta, nq));
	for (unsigned int q = 0; q < nq; q++) {
		uint16_t f, l;

		tcp_port_slice(10000, 59999, q, nq, &f, &l);
		int p = tcp_rss_pick_port(tcp_rss_symmetric_key, local, remote,
					  8000, q, nq, reta, f, l, f);

		WT_CHECK(p >= f && p <= l);
		/* checked against rte_softrss directly: the reply lands on q */
		struct rte_ipv4_tuple t = { .src_addr = remote,
					    .dst_addr = local };

		t.sport = 8000;
		t.dport = (uint16_t)p;
		uint32_t h = rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN,
					 tcp_rss_symmetric_key);

		WT_CHECK_EQ((h % reta) % nq, q);
	}
	/* a one-port range that hashes elsewhere has no answer */
	int p = tcp_rss_pick_port(tcp_rss_symmetric_key, local, remote, 8000, 0,
				  nq, reta, 20000, 20000, 20000);
	unsigned int q = tcp_rss_queue(tcp_rss_symmetric_key, remote, local,
				       8000, 20000, reta, nq);

	WT_CHECK(q == 0 ? p == 20000 : p == -EADDRNOTAVAIL);
}

static void test_isn(void)
{
	uint8_t secret[16] = { 1, 2, 3 };
	struct tcp_flow_key k = { 0x0a000001u, 0x0a000002u, 80, 40000 };
	struct tcp_flow_key k2 = k;

	k2.remote_port = 40001;
	uint32_t a = tcp_isn(secret, &k, 1000000000ull);
	uint32_t b = tcp_isn(secret, &k, 1000004000ull);

	WT_CHECK_EQ(b - a, 1); /* the 4 us clock M */
	WT_CHECK(tcp_isn(secret, &k2, 1000000000ull) != a); /* F per tuple */
	secret[0] = 9;
	WT_CHECK(tcp_isn(secret, &k, 1000000000ull) != a); /* and per key */
}

int main(void)
{
	WT_RUN(test_siphash_vectors);
	WT_RUN(test_client_owner);
	WT_RUN(test_port_slices);
	WT_RUN(test_rss_symmetric_and_pick);
	WT_RUN(test_isn);
	return wt_done();
}
