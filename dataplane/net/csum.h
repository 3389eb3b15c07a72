/* Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 * af_xdp in DPDK 22.11 offloads no checksum, so every header we build or
 * answer is summed here in software; pure functions, no state. */
#ifndef WEIR_CSUM_H
#define WEIR_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Returns the 32-bit one's-complement partial sum of len bytes at buf added
 * to sum (an earlier partial sum, or 0). Byte-order neutral: fold it with
 * csum_fold() and store the result as is. An odd tail is padded with zero. */
uint32_t csum_partial(const void *buf, size_t len, uint32_t sum);

/* Folds a partial sum to 16 bits and complements it: the value to store in a
 * header checksum field. */
static inline uint16_t csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Returns the checksum of len bytes at buf: 0 stored in the field of a
 * correct header reads back as 0 when verified with this function. */
static inline uint16_t csum_buf(const void *buf, size_t len)
{
	return csum_fold(csum_partial(buf, len, 0));
}

/* RFC 1624 eqn. 3: returns the new checksum field after one 16-bit word of
 * the covered data changes from old_word to new_word (as loaded from the packet).
 * Used to turn an echo request into a reply without summing the payload. */
static inline uint16_t csum_update16(uint16_t check, uint16_t old_word,
				     uint16_t new_word)
{
	uint32_t sum = (uint16_t)~check;

	sum += (uint16_t)~old_word;
	sum += new_word;
	return csum_fold(sum);
}

#endif
