/* Neighbour cache in virtual time: resolution with held packets, retries,
 * failure, expiry and refresh, table deletion under collisions, and readers
 * that see only complete entries. No EAL, no mbufs: packets are tokens. */
#include <errno.h>
#include <stdlib.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "net/arp_cache.h"
#include "wtest.h"
#include "wtest_net.h"

#define IP WT_IP4
#define MS 1000000ull
#define SEC 1000000000ull

static struct arp_cache cache;
static int n_requests, n_released, n_dropped;
static uint32_t last_request_ip;
static void *released[64];

static void on_request(void *ctx, uint32_t ip)
{
	(void)ctx;
	n_requests++;
	last_request_ip = ip;
}
static void on_release(void *ctx, void *pkt, const struct rte_ether_addr *mac)
{
	(void)ctx;
	WT_CHECK_EQ(mac->addr_bytes[5], 0x21);
	released[n_released++ % 64] = pkt;
}
static void on_drop(void *ctx, void *pkt)
{
	(void)ctx;
	(void)pkt;
	n_dropped++;
}

static void reset(void)
{
	struct arp_params p;
	struct arp_cache_ops ops = { on_request, on_release, on_drop, NULL };

	arp_params_default(&p);
	arp_cache_init(&cache, &p, &ops);
	n_requests = n_released = n_dropped = 0;
}

static const struct rte_ether_addr mac21 = { { 0x02, 0, 0, 0, 0, 0x21 } };

static void test_resolve_hold_release(void)
{
	struct rte_ether_addr m;
	int tok[3];
	uint32_t ip = IP(10, 77, 0, 21);

	reset();
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), -ENOENT);
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok[0], 0, &m), 1);
	WT_CHECK_EQ(n_requests, 1);
	WT_CHECK(last_request_ip == ip);
	/* A second packet waits without a second request. */
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok[1], 10 * MS, &m), 1);
	WT_CHECK_EQ(n_requests, 1);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), -ENOENT);
	/* The answer releases both, in order, addressed to the MAC. */
	WT_CHECK_EQ(arp_cache_learn(&cache, ip, &mac21, false, 20 * MS), 0);
	WT_CHECK_EQ(n_released, 2);
	WT_CHECK(released[0] == &tok[0] && released[1] == &tok[1]);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), 0);
	WT_CHECK(rte_is_same_ether_addr(&m, &mac21));
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok[2], 30 * MS, &m), 0);
	WT_CHECK_EQ(n_dropped, 0);
}

static void test_hold_limit(void)
{
	struct rte_ether_addr m;
	int tok[ARP_HOLD_MAX + 1];
	uint32_t ip = IP(10, 77, 0, 22);

	reset();
	for (int i = 0; i < ARP_HOLD_MAX; i++)
		WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok[i], 0, &m), 1);
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok[ARP_HOLD_MAX], 0, &m),
		    -ENOBUFS);
}

static void test_retry_then_fail(void)
{
	struct rte_ether_addr m;
	int tok;
	uint32_t ip = IP(10, 77, 0, 23);

	reset();
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok, 0, &m), 1);
	arp_cache_tick(&cache, 999 * MS);
	WT_CHECK_EQ(n_requests, 1); /* not yet: retry is 1 s */
	arp_cache_tick(&cache, 1 * SEC);
	WT_CHECK_EQ(n_requests, 2);
	arp_cache_tick(&cache, 2 * SEC);
	WT_CHECK_EQ(n_requests, 3);
	WT_CHECK_EQ(n_dropped, 0);
	arp_cache_tick(&cache, 3 * SEC); /* third try unanswered: give up */
	WT_CHECK_EQ(n_requests, 3);
	WT_CHECK_EQ(n_dropped, 1);
	/* Remembered as failed: new packets are refused at once. */
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok, 4 * SEC, &m),
		    -EHOSTUNREACH);
	/* Forgotten after failed_ns: a new attempt starts. */
	arp_cache_tick(&cache, 6 * SEC);
	WT_CHECK_EQ(arp_cache_resolve(&cache, ip, &tok, 6 * SEC, &m), 1);
	WT_CHECK_EQ(n_requests, 4);
}

static void test_expiry_and_refresh(void)
{
	struct rte_ether_addr m;
	uint32_t ip = IP(10, 77, 0, 24);

	reset();
	/* Unsolicited replies are not cached (RFC 826: merge only). */
	WT_CHECK_EQ(arp_cache_learn(&cache, ip, &mac21, false, 0), 0);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), -ENOENT);
	WT_CHECK_EQ(arp_cache_learn(&cache, ip, &mac21, true, 0), 0);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), 0);
	arp_cache_tick(&cache, 59 * SEC);
	WT_CHECK_EQ(n_requests, 0);
	arp_cache_tick(&cache, 60 * SEC);
	WT_CHECK_EQ(n_requests, 1); /* refresh asked, MAC still usable */
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), 0);
	/* An answer makes it reachable again for a full lifetime. */
	WT_CHECK_EQ(arp_cache_learn(&cache, ip, &mac21, false, 60 * SEC + MS),
		    0);
	arp_cache_tick(&cache, 119 * SEC);
	WT_CHECK_EQ(n_requests, 1);
	/* Never answered again: three refreshes, then gone. */
	arp_cache_tick(&cache, 121 * SEC);
	arp_cache_tick(&cache, 122 * SEC);
	arp_cache_tick(&cache, 123 * SEC);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), 0);
	arp_cache_tick(&cache, 124 * SEC);
	WT_CHECK_EQ(n_requests, 4);
	WT_CHECK_EQ(arp_cache_lookup(&cache, ip, &m), -ENOENT);
	WT_CHECK_EQ(cache.n_used, 0);
}

static void test_many_and_delete(void)
{
	struct rte_ether_addr m, mac;
	int n = ARP_CACHE_SLOTS * 3 / 4;

	reset();
	for (int i = 0; i < n; i++) {
		mac = mac21;
		mac.addr_bytes[4] = (uint8_t)i;
		WT_CHECK_EQ(arp_cache_learn(&cache, IP(10, 1, i >> 8, i & 255),
					    &mac, true, (uint64_t)i),
			    0);
	}
	/* Full at 3/4: the next is refused, not overwritten. */
	WT_CHECK_EQ(arp_cache_learn(&cache, IP(10, 2, 0, 1), &mac21, true, 0),
		    -ENOSPC);
	/* Expire every other one (by learning the odd ones later) and check
	 * that backward-shift deletion keeps all survivors reachable. */
	for (int i = 1; i < n; i += 2) {
		mac = mac21;
		mac.addr_bytes[4] = (uint8_t)i;
		arp_cache_learn(&cache, IP(10, 1, i >> 8, i & 255), &mac, false,
				30 * SEC);
	}
	for (int k = 0; k < 4; k++) /* refresh, 2 retries, removal */
		arp_cache_tick(&cache, 60 * SEC + MS + (uint64_t)k * SEC);
	WT_CHECK_EQ(cache.n_used, (uint32_t)(n / 2));
	int found = 0, bad = 0;
	for (int i = 0; i < n; i++) {
		int rc = arp_cache_lookup(&cache, IP(10, 1, i >> 8, i & 255),
					  &m);
		if (i % 2 == 1) {
			found += rc == 0;
			bad += rc == 0 && m.addr_bytes[4] != (uint8_t)i;
		} else {
			bad += rc == 0;
		}
	}
	WT_CHECK_EQ(found, n / 2);
	WT_CHECK_EQ(bad, 0);
	struct arp_entry dump[ARP_CACHE_SLOTS];
	WT_CHECK_EQ(arp_cache_dump(&cache, dump, ARP_CACHE_SLOTS),
		    (unsigned)(n / 2));
}

int main(void)
{
	WT_RUN(test_resolve_hold_release);
	WT_RUN(test_hold_limit);
	WT_RUN(test_retry_then_fail);
	WT_RUN(test_expiry_and_refresh);
	WT_RUN(test_many_and_delete);
	return wt_done();
}
