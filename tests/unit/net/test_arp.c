/* ARP packet validation and building: every drop reason from a valid
 * request with one field broken; the frames we build parse back. */
#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>

#include "net/arp.h"
#include "weir/stats.h"
#include "wtest.h"
#include "wtest_net.h"

#define IP WT_IP4

static struct net_iface iface;
static const struct rte_ether_addr peer = { { 0x02, 0, 0, 0, 0, 0x02 } };

static void setup_iface(void)
{
	wt_test_iface(&iface);
}

/* A request from the peer for target, as a full frame; returns ARP body. */
static uint8_t *make_request(uint8_t *f, uint32_t target)
{
	arp_build(f, RTE_ARP_OP_REQUEST, &peer, IP(10, 77, 0, 2), NULL, target);
	return f + 14;
}

static void test_build_and_parse(void)
{
	uint8_t f[64];
	struct arp_info info;
	uint8_t *a = make_request(f, IP(10, 77, 0, 10));

	/* Broadcast destination, sender = peer, zero target MAC. */
	for (int i = 0; i < 6; i++)
		WT_CHECK_EQ(f[i], 0xff);
	WT_CHECK_EQ(f[12], 0x08);
	WT_CHECK_EQ(f[13], 0x06);
	WT_CHECK_EQ(arp_validate(a, ARP_PKT_LEN, &iface, &info), 0);
	WT_CHECK_EQ(info.op, RTE_ARP_OP_REQUEST);
	WT_CHECK(rte_is_same_ether_addr(&info.sha, &peer));
	WT_CHECK(info.spa == IP(10, 77, 0, 2));
	WT_CHECK(info.tpa == IP(10, 77, 0, 10));
	/* Asking for the local address works too. */
	a = make_request(f, IP(10, 77, 0, 11));
	WT_CHECK_EQ(arp_validate(a, ARP_PKT_LEN, &iface, &info), 0);
	/* A reply we build is unicast and carries our MAC. */
	arp_build(f, RTE_ARP_OP_REPLY, &iface.mac, iface.vips[0], &peer,
		  IP(10, 77, 0, 2));
	WT_CHECK(memcmp(f, &peer, 6) == 0);
	WT_CHECK(memcmp(f + 6, &iface.mac, 6) == 0);
	WT_CHECK_EQ(f[21], RTE_ARP_OP_REPLY);
	WT_CHECK(memcmp(f + 32, &peer, 6) == 0);
}

static void test_drops(void)
{
	uint8_t f[64];
	struct arp_info info;
	uint8_t *a;

	a = make_request(f, iface.vips[0]);
	WT_CHECK_EQ(arp_validate(a, 27, &iface, &info), WEIR_CTR_drop_arp_runt);
	a[1] = 6; /* IEEE 802 instead of Ethernet */
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_htype);
	a = make_request(f, iface.vips[0]);
	a[2] = 0x86, a[3] = 0xdd;
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_ptype);
	a = make_request(f, iface.vips[0]);
	a[4] = 8;
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_len);
	a = make_request(f, iface.vips[0]);
	a[5] = 16;
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_len);
	a = make_request(f, iface.vips[0]);
	a[7] = 3; /* RARP request */
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_op);
	a = make_request(f, iface.vips[0]);
	a[8] = 0x01; /* multicast sender MAC */
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_sender);
	a = make_request(f, iface.vips[0]);
	memset(a + 14, 0, 4); /* sender IP 0: a probe */
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_sender);
	a = make_request(f, iface.vips[0]);
	memcpy(a + 14, &iface.vips[0], 4); /* someone claims our VIP */
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_bad_sender);
	a = make_request(f, IP(10, 77, 0, 50));
	WT_CHECK_EQ(arp_validate(a, 28, &iface, &info),
		    WEIR_CTR_drop_arp_not_for_us);
}

int main(void)
{
	setup_iface();
	WT_RUN(test_build_and_parse);
	WT_RUN(test_drops);
	return wt_done();
}
