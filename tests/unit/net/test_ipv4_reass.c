/* ipv4_reass over DPDK's rte_ip_frag, with an EAL without hugepages and a
 * clock of our own: in-order and reversed sets reassembled into one linear
 * packet with a valid header, an overlapping set dropped whole, a stalled
 * set timed out, a datagram with too many pieces and a full table refused;
 * every case gives all its mbufs back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#include "net/csum.h"
#include "net/ipv4_reass.h"
#include "weir/stats.h"
#include "wtest.h"
#include "wtest_eal.h"

#define ETH 14
#define MS 1000000ull

static struct rte_mempool *pool;
static uint64_t ctr[WEIR_CTR_MAX];
static uint64_t now = 1000 * MS;

/* A frame: Ethernet header, IPv4 header, bytes [off, off+len) of a
 * datagram whose byte i is i mod 251. */
static struct rte_mbuf *frag(uint16_t id, uint32_t off, uint32_t len, bool mf)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(
				 m, (uint16_t)(ETH + 20 + len)) :
			 NULL;

	if (p == NULL) {
		printf("Bail out! pool exhausted\n");
		exit(1);
	}
	memset(p, 0, ETH);
	p[12] = 0x08;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(p + ETH);

	memset(ip, 0, 20);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + len));
	ip->packet_id = rte_cpu_to_be_16(id);
	ip->fragment_offset = rte_cpu_to_be_16(
		(uint16_t)(off / 8 | (mf ? RTE_IPV4_HDR_MF_FLAG : 0)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(0x0ac80001);
	ip->dst_addr = rte_cpu_to_be_32(0x0a4d000a);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	for (uint32_t i = 0; i < len; i++)
		p[ETH + 20 + i] = (uint8_t)((off + i) % 251);
	return m;
}

static struct ipv4_reass *make(uint32_t max_datagrams, uint8_t max_fragments)
{
	struct ipv4_reass_config c = { .max_datagrams = max_datagrams,
				       .timeout_ns = 500 * MS,
				       .max_fragments = max_fragments };

	memset(ctr, 0, sizeof(ctr));
	return ipv4_reass_create(&c, SOCKET_ID_ANY, "test_reass");
}

static struct rte_mbuf *in(struct ipv4_reass *r, struct rte_mbuf *m)
{
	return ipv4_reass_input(r, m, ETH, 20, now, ctr);
}

/* The reassembled datagram: one segment, no fragment bits, the right
 * length and checksum, every byte in place. */
static void check_whole(struct rte_mbuf *m, uint32_t len)
{
	WT_CHECK(m != NULL);
	if (m == NULL)
		return;
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct rte_ipv4_hdr *ip = (const void *)(p + ETH);
	uint32_t bad = 0;

	WT_CHECK_EQ(m->nb_segs, 1);
	WT_CHECK_EQ(rte_pktmbuf_pkt_len(m), ETH + 20 + len);
	WT_CHECK_EQ(rte_be_to_cpu_16(ip->total_length), 20 + len);
	WT_CHECK_EQ(rte_be_to_cpu_16(ip->fragment_offset) &
			    (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK),
		    0);
	WT_CHECK_EQ(csum_buf(ip, 20), 0);
	for (uint32_t i = 0; i < len; i++)
		bad += p[ETH + 20 + i] != i % 251;
	WT_CHECK_EQ(bad, 0);
	rte_pktmbuf_free(m);
}

static void test_in_order_and_reversed(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(64, 8);

	WT_CHECK(in(r, frag(1, 0, 24, true)) == NULL);
	check_whole(in(r, frag(1, 24, 40, false)), 64);
	/* the last first, then the middle, then the first */
	WT_CHECK(in(r, frag(2, 1000, 200, false)) == NULL);
	WT_CHECK(in(r, frag(2, 504, 496, true)) == NULL);
	check_whole(in(r, frag(2, 0, 504, true)), 1200);
	WT_CHECK_EQ(ctr[WEIR_CTR_ip_reassembled], 2);
	WT_CHECK_EQ(ctr[WEIR_CTR_ip_frags_in], 5);
	WT_CHECK_EQ(ipv4_reass_pending(r, now), 0);
	ipv4_reass_free(r);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
}

/* Overlapping pieces end the whole datagram, in either order. */
static void test_overlap_dropped(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(64, 8);

	WT_CHECK(in(r, frag(3, 0, 24, true)) == NULL);
	WT_CHECK(in(r, frag(3, 16, 24, false)) == NULL);
	WT_CHECK(in(r, frag(4, 16, 24, false)) == NULL);
	WT_CHECK(in(r, frag(4, 0, 24, true)) == NULL);
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_invalid], 2);
	WT_CHECK_EQ(ctr[WEIR_CTR_ip_reassembled], 0);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0); /* none held */
	WT_CHECK_EQ(ipv4_reass_pending(r, now), 0);
	/* the same ids start afresh afterwards */
	WT_CHECK(in(r, frag(3, 0, 24, true)) == NULL);
	check_whole(in(r, frag(3, 24, 16, false)), 40);
	ipv4_reass_free(r);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
}

static void test_timeout(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(64, 8);

	WT_CHECK(in(r, frag(5, 0, 24, true)) == NULL);
	WT_CHECK(in(r, frag(5, 32, 8, false)) == NULL); /* [24,32) lost */
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0 - 2);
	now += 400 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_timeout], 0);
	now += 200 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_timeout], 2);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
	WT_CHECK_EQ(ipv4_reass_pending(r, now), 0);
	/* the lost piece, late: a datagram of its own, held and expired */
	WT_CHECK(in(r, frag(5, 24, 8, true)) == NULL);
	now += 1000 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
	ipv4_reass_free(r);
}

/* max_fragments 3: the fourth piece of a datagram is refused. */
static void test_too_many(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(64, 3);

	for (uint32_t i = 0; i < 4; i++)
		WT_CHECK(in(r, frag(6, 8 * i, 8, true)) == NULL);
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_too_many], 1);
	WT_CHECK(in(r, frag(6, 32, 8, false)) == NULL);
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_too_many], 2);
	WT_CHECK_EQ(ctr[WEIR_CTR_ip_reassembled], 0);
	/* within the limit a 3-piece datagram completes */
	WT_CHECK(in(r, frag(7, 0, 8, true)) == NULL);
	WT_CHECK(in(r, frag(7, 8, 8, true)) == NULL);
	check_whole(in(r, frag(7, 16, 8, false)), 24);
	now += 1000 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
	ipv4_reass_free(r);
}

/* A full table refuses new datagrams, not pieces of held ones. */
static void test_table_full(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(16, 8);
	unsigned int held = 0;

	for (uint16_t id = 100; id < 140; id++)
		held += in(r, frag(id, 0, 8, true)) == NULL;
	WT_CHECK_EQ(held, 40);
	WT_CHECK(ctr[WEIR_CTR_drop_ip_frag_table_full] >= 24);
	WT_CHECK(ipv4_reass_pending(r, now) <= 16);
	WT_CHECK_EQ(rte_mempool_avail_count(pool) + 40 -
			    ctr[WEIR_CTR_drop_ip_frag_table_full],
		    free0);
	/* the first one is held: its last piece completes it */
	check_whole(in(r, frag(100, 8, 8, false)), 16);
	ipv4_reass_free(r); /* frees what is still held */
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
}

/* A repeated piece: rte_ip_frag versions differ (22.11 drops the set,
 * later ones drop the copy and keep the set); either way it is counted,
 * nothing is merged twice and no mbuf stays behind. */
static void test_duplicate(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(64, 8);
	struct rte_mbuf *m;

	WT_CHECK(in(r, frag(8, 0, 16, true)) == NULL);
	WT_CHECK(in(r, frag(8, 0, 16, true)) == NULL);
	m = in(r, frag(8, 16, 8, false));
	WT_CHECK_EQ(ctr[WEIR_CTR_drop_ip_frag_duplicate] +
			    ctr[WEIR_CTR_drop_ip_frag_invalid],
		    1);
	if (ctr[WEIR_CTR_drop_ip_frag_duplicate])
		check_whole(m, 24);
	else
		WT_CHECK(m == NULL);
	now += 1000 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
	ipv4_reass_free(r);
}

/* Random pieces of a few datagrams (any offset, length, end flag) never
 * crash it; whatever completes is one whole, valid datagram, and after the
 * timeout every mbuf is back. */
static void test_random_pieces(void)
{
	unsigned int free0 = rte_mempool_avail_count(pool);
	struct ipv4_reass *r = make(32, 8);
	unsigned int whole = 0;

	srand(20);
	for (int i = 0; i < 20000; i++) {
		uint16_t id = (uint16_t)(rand() % 8);
		uint32_t off = 8u * (uint32_t)(rand() % 8);
		uint32_t len = 8u * (uint32_t)(1 + rand() % 4);
		bool mf = rand() % 3 != 0;
		struct rte_mbuf *m = in(r, frag(id, off, len, mf));

		if (m != NULL) {
			const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(
				m, const struct rte_ipv4_hdr *, ETH);
			uint32_t n = rte_be_to_cpu_16(ip->total_length) - 20u;

			check_whole(m, n);
			whole++;
		}
		if (i % 1000 == 999) {
			now += 300 * MS;
			ipv4_reass_expire(r, now, ctr);
		}
	}
	printf("# %u whole datagrams out of 20000 random pieces\n", whole);
	WT_CHECK(whole > 0);
	now += 1000 * MS;
	ipv4_reass_expire(r, now, ctr);
	WT_CHECK_EQ(rte_mempool_avail_count(pool), free0);
	ipv4_reass_free(r);
}

static void test_bad_config(void)
{
	WT_CHECK(make(0, 8) == NULL);
	WT_CHECK(make(64, 1) == NULL);
	WT_CHECK(make(64, 9) == NULL);
}

int main(void)
{
	pool = wt_eal_init("128", 1023);
	WT_RUN(test_in_order_and_reversed);
	WT_RUN(test_overlap_dropped);
	WT_RUN(test_timeout);
	WT_RUN(test_too_many);
	WT_RUN(test_table_full);
	WT_RUN(test_duplicate);
	WT_RUN(test_random_pieces);
	WT_RUN(test_bad_config);
	int rc = wt_done();

	rte_eal_cleanup();
	return rc;
}
