/* ICMP: validates what arrives for us and answers echo requests in place.
 * Pure functions over bytes; never allocates. Other ICMP types are counted
 * and dropped (the TCP layer reads no ICMP yet; PMTU comes later). */
#ifndef WEIR_ICMP_H
#define WEIR_ICMP_H

#include <stdint.h>

/* Validates the ICMP message of len bytes at msg. Returns 0 when it is a
 * well-formed echo request, else a WEIR_CTR_drop_* counter id. */
int icmp_validate_echo(const uint8_t *msg, uint32_t len);

/* Turns the echo request at msg into an echo reply, in place: type 0 and the
 * checksum updated incrementally (RFC 1624), payload untouched. */
void icmp_echo_to_reply(uint8_t *msg);

#endif
