/* benchio: what weir-kapp (the kernel's side of tools/bench) and
 * weir-tcpbench (the client) must agree on: the byte pattern of a
 * stream (byte i = i mod 251, so a shifted or dropped byte shows), the
 * SHA-256 reply of a sink, and the process set-up both need. Plain Linux,
 * no DPDK; never used by weir-dp. */
#ifndef WEIR_BENCHIO_H
#define WEIR_BENCHIO_H

#define OPENSSL_API_COMPAT 10101
#include <stddef.h>
#include <stdint.h>

#include <openssl/sha.h>

#define BENCH_PERIOD 251
#define BENCH_IOBUF (256 * 1024) /* one read or write at most */
/* whole periods, so that BENCH_IOBUF bytes start at any phase */
#define BENCH_PATTERN_LEN (BENCH_PERIOD * (BENCH_IOBUF / BENCH_PERIOD + 2))
#define BENCH_SHA_HEX_LEN (2 * SHA256_DIGEST_LENGTH + 1) /* with '\n' */

/* Fills the pattern, raises RLIMIT_NOFILE's soft limit to the hard one
 * and ignores SIGPIPE. Returns the soft limit now in force. */
unsigned long bench_setup(void);

/* The pattern bytes of stream offset off, at most left of them: returns
 * the pointer, *n the count (> 0 when left > 0). */
const unsigned char *bench_pattern_at(uint64_t off, uint64_t left, size_t *n);

/* Does buf hold the pattern of stream offset off? */
int bench_pattern_matches(const unsigned char *buf, size_t len, uint64_t off);

/* The sink's answer for sha: lowercase hex digest + '\n' + NUL in out. */
void bench_sha_hex(SHA256_CTX *sha, char out[BENCH_SHA_HEX_LEN + 1]);

#endif
