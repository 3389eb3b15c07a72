/* Ethernet classification, IPv4 validation and ICMP echo: one case per drop
 * reason, each built from a valid packet with one thing broken, so a check
 * that stopped working would let the broken packet through and fail here. */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "net/csum.h"
#include "net/eth.h"
#include "net/icmp.h"
#include "net/ipv4.h"
#include "weir/stats.h"
#include "wtest.h"
#include "wtest_net.h"

#define IP WT_IP4

static struct net_iface iface;

static void setup_iface(void)
{
	wt_test_iface(&iface);
}

/* A valid 84-byte ping (20 IP + 8 ICMP + 56 payload) to the VIP. */
static uint32_t make_ping(uint8_t *p)
{
	uint8_t *icmp = p + 20;

	icmp[0] = RTE_IP_ICMP_ECHO_REQUEST;
	icmp[1] = 0;
	icmp[2] = icmp[3] = 0;
	icmp[4] = 0x12, icmp[5] = 0x34, icmp[6] = 0, icmp[7] = 1;
	for (int i = 8; i < 64; i++)
		icmp[i] = (uint8_t)i;
	uint16_t c = csum_buf(icmp, 64);
	memcpy(icmp + 2, &c, 2);
	ipv4_build(p, IP(10, 77, 0, 2), IP(10, 77, 0, 10), IPPROTO_ICMP, 64, 7,
		   64);
	return 84;
}

static void refresh_ip_csum(uint8_t *p)
{
	uint32_t hl = (uint32_t)(p[0] & 0xf) * 4;

	p[10] = p[11] = 0;
	uint16_t c = csum_buf(p, hl);
	memcpy(p + 10, &c, 2);
}

static int validate(uint8_t *p, uint32_t len)
{
	struct ipv4_info info;
	return ipv4_validate(p, len, &iface, &info);
}

static void test_eth(void)
{
	uint8_t f[64] = { 0 };
	uint16_t et;
	uint32_t off;
	struct rte_ether_addr other = { { 0x02, 0, 0, 0, 0, 0x99 } };
	struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff } };
	struct rte_ether_addr mcast = { { 0x01, 0, 0x5e, 0, 0, 1 } };

	eth_build(f, &iface.mac, &other, RTE_ETHER_TYPE_IPV4);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off), 0);
	WT_CHECK_EQ(et, RTE_ETHER_TYPE_IPV4);
	WT_CHECK_EQ(off, 14);
	WT_CHECK_EQ(eth_classify(f, 13, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_runt);
	WT_CHECK_EQ(eth_classify(f, 0, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_runt);
	eth_build(f, &bcast, &other, RTE_ETHER_TYPE_ARP);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off), 0);
	eth_build(f, &other, &other, RTE_ETHER_TYPE_IPV4);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_not_for_us);
	eth_build(f, &iface.mac, &mcast, RTE_ETHER_TYPE_IPV4);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_bad_src);
	eth_build(f, &iface.mac, &other, RTE_ETHER_TYPE_IPV6);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_unknown_type);
	eth_build(f, &iface.mac, &other, RTE_ETHER_TYPE_VLAN);
	WT_CHECK_EQ(eth_classify(f, 60, &iface.mac, &et, &off),
		    WEIR_CTR_drop_eth_unknown_type);
}

static void test_ipv4_valid(void)
{
	uint8_t p[128];
	struct ipv4_info info;
	uint32_t n = make_ping(p);

	WT_CHECK_EQ(ipv4_validate(p, n, &iface, &info), 0);
	WT_CHECK_EQ(info.hdr_len, 20);
	WT_CHECK_EQ(info.total_len, 84);
	WT_CHECK_EQ(info.proto, IPPROTO_ICMP);
	WT_CHECK(info.src == IP(10, 77, 0, 2));
	/* Ethernet padding after total_length is allowed. */
	WT_CHECK_EQ(ipv4_validate(p, n + 10, &iface, &info), 0);
	WT_CHECK_EQ(info.total_len, 84);
	/* The local (backend-facing) address is ours as well. */
	memcpy(p + 16, &iface.local_ip, 4);
	refresh_ip_csum(p);
	WT_CHECK_EQ(validate(p, n), 0);
	/* Options are accepted and skipped (IHL 6). */
	uint8_t q[128];
	memcpy(q, p, 20);
	q[0] = 0x46;
	memset(q + 20, 1, 4); /* four NOP options */
	memcpy(q + 24, p + 20, 64);
	q[2] = 0, q[3] = 88;
	refresh_ip_csum(q);
	WT_CHECK_EQ(ipv4_validate(q, 88, &iface, &info), 0);
	WT_CHECK_EQ(info.hdr_len, 24);
}

struct ip_case {
	const char *name;
	void (*mutate)(uint8_t *p, uint32_t *len);
	int reason;
};

static void m_runt(uint8_t *p, uint32_t *len)
{
	(void)p;
	*len = 19;
}
static void m_version(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[0] = 0x65;
	refresh_ip_csum(p);
}
static void m_ihl(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[0] = 0x44;
}
static void m_totlen_small(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[2] = 0, p[3] = 12;
	refresh_ip_csum(p);
}
static void m_totlen_big(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[2] = 0x05, p[3] = 0xdc;
	refresh_ip_csum(p);
}
static void m_ihl_big(uint8_t *p, uint32_t *len)
{
	p[0] = 0x4f;
	*len = 40;
}
static void m_csum(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[10] ^= 0x5a;
}
static void m_mf(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[6] = 0x20;
	refresh_ip_csum(p);
}
static void m_offset(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[6] = 0x00, p[7] = 0x10;
	refresh_ip_csum(p);
}
static void m_frag_empty(uint8_t *p, uint32_t *len)
{
	p[2] = 0, p[3] = 20; /* header only */
	*len = 20;
	m_mf(p, len);
}
static void m_frag_unaligned(uint8_t *p, uint32_t *len)
{
	p[2] = 0, p[3] = 83; /* 63 data bytes, more to come */
	*len = 83;
	m_mf(p, len);
}
static void m_frag_past_64k(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[6] = 0x1f, p[7] = 0xf8; /* offset 65472 + 20 + 64 */
	refresh_ip_csum(p);
}
static void m_frag_last_64k(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[6] = 0x1f, p[7] = 0xf5; /* offset 65448 + 20 + 64 = 65532 */
	refresh_ip_csum(p);
}
static void m_ttl(uint8_t *p, uint32_t *len)
{
	(void)len;
	p[8] = 0;
	refresh_ip_csum(p);
}
static void set_src(uint8_t *p, uint32_t a)
{
	memcpy(p + 12, &a, 4);
	refresh_ip_csum(p);
}
static void m_src_zero(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, 0);
}
static void m_src_bcast(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(255, 255, 255, 255));
}
static void m_src_mcast(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(224, 0, 0, 1));
}
static void m_src_loop(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(127, 0, 0, 1));
}
static void m_src_ours(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(10, 77, 0, 10));
}
static void m_src_subnet_bcast(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(10, 77, 0, 255));
}
/* Off-link hosts whose last octet looks like a broadcast or network
 * address: ordinary clients behind the gateway (issue #20). */
static void m_src_offlink_255(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(10, 200, 1, 255));
}
static void m_src_offlink_0(uint8_t *p, uint32_t *len)
{
	(void)len;
	set_src(p, IP(10, 200, 1, 0));
}
static void m_dst(uint8_t *p, uint32_t *len)
{
	(void)len;
	uint32_t a = IP(10, 77, 0, 99);
	memcpy(p + 16, &a, 4);
	refresh_ip_csum(p);
}

static void test_ipv4_drops(void)
{
	static const struct ip_case cases[] = {
		{ "runt", m_runt, WEIR_CTR_drop_ip_runt },
		{ "version 6", m_version, WEIR_CTR_drop_ip_bad_version },
		{ "ihl 4", m_ihl, WEIR_CTR_drop_ip_bad_ihl },
		{ "total length < ihl", m_totlen_small,
		  WEIR_CTR_drop_ip_bad_totlen },
		{ "total length > frame", m_totlen_big,
		  WEIR_CTR_drop_ip_truncated },
		{ "ihl > frame", m_ihl_big, WEIR_CTR_drop_ip_truncated },
		{ "bad checksum", m_csum, WEIR_CTR_drop_ip_bad_csum },
		/* well-formed fragments pass, for reassembly */
		{ "more fragments", m_mf, 0 },
		{ "fragment offset", m_offset, 0 },
		{ "last fragment ending at 65532", m_frag_last_64k, 0 },
		{ "empty fragment", m_frag_empty, WEIR_CTR_drop_ip_frag_bad },
		{ "fragment not a multiple of 8", m_frag_unaligned,
		  WEIR_CTR_drop_ip_frag_bad },
		{ "fragment ending past 64 KiB", m_frag_past_64k,
		  WEIR_CTR_drop_ip_frag_bad },
		{ "ttl 0", m_ttl, WEIR_CTR_drop_ip_ttl_zero },
		{ "src 0", m_src_zero, WEIR_CTR_drop_ip_bad_src },
		{ "src broadcast", m_src_bcast, WEIR_CTR_drop_ip_bad_src },
		{ "src multicast", m_src_mcast, WEIR_CTR_drop_ip_bad_src },
		{ "src loopback", m_src_loop, WEIR_CTR_drop_ip_bad_src },
		{ "src is our vip", m_src_ours, WEIR_CTR_drop_ip_bad_src },
		{ "src subnet broadcast", m_src_subnet_bcast,
		  WEIR_CTR_drop_ip_bad_src },
		{ "src off-link .255 (behind the gateway)", m_src_offlink_255,
		  0 },
		{ "src off-link .0 (behind the gateway)", m_src_offlink_0, 0 },
		{ "dst not ours", m_dst, WEIR_CTR_drop_ip_not_for_us },
	};

	for (unsigned int i = 0; i < RTE_DIM(cases); i++) {
		uint8_t p[128];
		uint32_t len = make_ping(p);

		cases[i].mutate(p, &len);
		int got = validate(p, len);
		if (got != cases[i].reason)
			printf("#   case '%s': got %s, want %s\n",
			       cases[i].name,
			       got ? weir_counter_name((unsigned)got) :
				     "accept",
			       weir_counter_name((unsigned)cases[i].reason));
		WT_CHECK_EQ(got, cases[i].reason);
	}
}

/* Fragments are told apart from whole datagrams, not refused. */
static void test_fragment_flag(void)
{
	struct ipv4_info info;
	uint8_t p[128];
	uint32_t len = make_ping(p);

	WT_CHECK_EQ(ipv4_validate(p, len, &iface, &info), 0);
	WT_CHECK(!info.fragment);
	m_mf(p, &len);
	WT_CHECK_EQ(ipv4_validate(p, len, &iface, &info), 0);
	WT_CHECK(info.fragment);
	len = make_ping(p);
	m_offset(p, &len);
	WT_CHECK_EQ(ipv4_validate(p, len, &iface, &info), 0);
	WT_CHECK(info.fragment);
}

static void test_icmp(void)
{
	uint8_t p[128];
	uint32_t n = make_ping(p);
	uint8_t *icmp = p + 20;

	WT_CHECK_EQ(icmp_validate_echo(icmp, n - 20), 0);
	icmp_echo_to_reply(icmp);
	WT_CHECK_EQ(icmp[0], RTE_IP_ICMP_ECHO_REPLY);
	WT_CHECK_EQ(csum_buf(icmp, n - 20), 0); /* still verifies */
	WT_CHECK_EQ(icmp[8], 8); /* payload untouched */
	/* A reply is not something we answer. */
	WT_CHECK_EQ(icmp_validate_echo(icmp, n - 20),
		    WEIR_CTR_drop_icmp_unhandled);

	n = make_ping(p);
	WT_CHECK_EQ(icmp_validate_echo(icmp, 7), WEIR_CTR_drop_icmp_runt);
	icmp[30] ^= 0xff;
	WT_CHECK_EQ(icmp_validate_echo(icmp, n - 20),
		    WEIR_CTR_drop_icmp_bad_csum);
	/* Echo request with a non-zero code is not a valid echo request. */
	n = make_ping(p);
	uint16_t oldw, neww;
	memcpy(&oldw, icmp, 2);
	icmp[1] = 3;
	memcpy(&neww, icmp, 2);
	uint16_t c;
	memcpy(&c, icmp + 2, 2);
	c = csum_update16(c, oldw, neww);
	memcpy(icmp + 2, &c, 2);
	WT_CHECK_EQ(icmp_validate_echo(icmp, n - 20),
		    WEIR_CTR_drop_icmp_unhandled);
}

static void test_next_hop(void)
{
	WT_CHECK(net_next_hop(&iface, IP(10, 77, 0, 21)) == IP(10, 77, 0, 21));
	WT_CHECK(net_next_hop(&iface, IP(10, 78, 0, 21)) == 0);
	iface.gateway = IP(10, 77, 0, 1);
	WT_CHECK(net_next_hop(&iface, IP(10, 78, 0, 21)) == IP(10, 77, 0, 1));
	iface.gateway = 0;
}

int main(void)
{
	setup_iface();
	WT_RUN(test_eth);
	WT_RUN(test_ipv4_valid);
	WT_RUN(test_ipv4_drops);
	WT_RUN(test_fragment_flag);
	WT_RUN(test_icmp);
	WT_RUN(test_next_hop);
	return wt_done();
}
