/* Checksum: our csum_* against a straightforward RFC 1071 reference and
 * DPDK's rte_raw_cksum, on odd and even lengths, and RFC 1624 updates. */
#include <stdlib.h>

#include <rte_ip.h>

#include "net/csum.h"
#include "wtest.h"

/* RFC 1071 done the slow, obvious way: big-endian words, end-around carry. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i += 2) {
		uint16_t w = (uint16_t)(p[i] << 8 | (i + 1 < n ? p[i + 1] : 0));
		s += w;
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)~s; /* host-order value of the big-endian field */
}

static uint16_t field_value(uint16_t stored)
{
	const uint8_t *b = (const uint8_t *)&stored;
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_matches_reference_all_lengths(void)
{
	uint8_t buf[1600];

	srand(1);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (size_t n = 0; n <= sizeof(buf); n += (n < 64 ? 1 : 37)) {
		uint16_t ours = field_value(csum_buf(buf, n));
		WT_CHECK_EQ(ours, ref_csum(buf, n));
		/* DPDK's raw sum, folded, must agree too. */
		WT_CHECK_EQ(csum_buf(buf, n),
			    (uint16_t)~rte_raw_cksum(buf, n) & 0xffff);
	}
}

static void test_rfc1071_example(void)
{
	/* RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to ddf2 (before ~). */
	const uint8_t b[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	WT_CHECK_EQ(field_value(csum_buf(b, sizeof(b))), (uint16_t)~0xddf2);
}

static void test_partial_chaining(void)
{
	uint8_t buf[200];

	for (int i = 0; i < 200; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	/* Summing in two even-sized parts equals summing at once. */
	uint32_t s = csum_partial(buf, 100, 0);
	s = csum_partial(buf + 100, 100, s);
	WT_CHECK_EQ(csum_fold(s), csum_buf(buf, 200));
}

static void test_verify_zero(void)
{
	uint8_t pkt[64];

	for (int i = 0; i < 64; i++)
		pkt[i] = (uint8_t)(i * 13);
	pkt[10] = pkt[11] = 0;
	uint16_t c = csum_buf(pkt, sizeof(pkt));
	memcpy(pkt + 10, &c, 2);
	WT_CHECK_EQ(csum_buf(pkt, sizeof(pkt)), 0);
	pkt[20] ^= 1; /* a flipped bit is detected */
	WT_CHECK(csum_buf(pkt, sizeof(pkt)) != 0);
}

static void test_incremental_update(void)
{
	uint8_t pkt[48];

	srand(7);
	for (int round = 0; round < 500; round++) {
		for (int i = 0; i < 48; i++)
			pkt[i] = (uint8_t)rand();
		pkt[2] = pkt[3] = 0;
		uint16_t c = csum_buf(pkt, sizeof(pkt));
		memcpy(pkt + 2, &c, 2);
		int off = 4 + 2 * (rand() % 22);
		uint16_t oldw, neww = (uint16_t)rand();
		memcpy(&oldw, pkt + off, 2);
		memcpy(pkt + off, &neww, 2);
		uint16_t upd = csum_update16(c, oldw, neww);
		memcpy(pkt + 2, &upd, 2);
		/* RFC 1624: the updated field verifies like a full recompute. */
		WT_CHECK_EQ(csum_buf(pkt, sizeof(pkt)), 0);
	}
}

int main(void)
{
	WT_RUN(test_matches_reference_all_lengths);
	WT_RUN(test_rfc1071_example);
	WT_RUN(test_partial_chaining);
	WT_RUN(test_verify_zero);
	WT_RUN(test_incremental_update);
	return wt_done();
}
