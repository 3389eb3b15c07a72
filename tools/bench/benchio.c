/* See benchio.h. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "benchio.h"

static unsigned char pattern[BENCH_PATTERN_LEN];

unsigned long bench_setup(void)
{
	struct rlimit rl;

	for (size_t i = 0; i < BENCH_PATTERN_LEN; i++)
		pattern[i] = (unsigned char)(i % BENCH_PERIOD);
	signal(SIGPIPE, SIG_IGN);
	/* The hard limit (20000 on the test machines) is what we may use. */
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (unsigned long)rl.rlim_cur;
}

const unsigned char *bench_pattern_at(uint64_t off, uint64_t left, size_t *n)
{
	const size_t most = BENCH_PATTERN_LEN - BENCH_PERIOD;

	*n = left < most ? (size_t)left : most;
	return pattern + off % BENCH_PERIOD;
}

int bench_pattern_matches(const unsigned char *buf, size_t len, uint64_t off)
{
	size_t n;

	while (len) {
		const unsigned char *p = bench_pattern_at(off, len, &n);

		if (memcmp(buf, p, n))
			return 0;
		buf += n;
		len -= n;
		off += n;
	}
	return 1;
}

void bench_sha_hex(SHA256_CTX *sha, char out[BENCH_SHA_HEX_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	SHA256_Final(d, sha);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	out[BENCH_SHA_HEX_LEN - 1] = '\n';
	out[BENCH_SHA_HEX_LEN] = 0;
}
