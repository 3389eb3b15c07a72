/* Internet checksum: see csum.h. Words are loaded in host order: the
 * one's-complement sum is byte-order independent (RFC 1071 §2(B)), so the
 * folded result, stored as a host-order uint16_t, lands in the field as the
 * right network-order bytes. */
#include <string.h>

#include "net/csum.h"

uint32_t csum_partial(const void *buf, size_t len, uint32_t sum)
{
	const uint8_t *p = buf;
	uint64_t acc = sum;
	uint16_t w;

	while (len >= 2) {
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t tail[2] = { p[0], 0 };

		memcpy(&w, tail, 2);
		acc += w;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return (uint32_t)acc;
}
