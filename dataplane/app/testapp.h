/* Test applications on weir-dp's own TCP (tests and benchmarks only, never
 * in front of users): echo, discard, source N bytes, and sink, which
 * answers the SHA-256 of what it received once the peer half-closes. They
 * listen on the configured ports of every worker (passive open) and can be
 * told to connect out (active open). The source pattern is byte i of the
 * stream = i mod 251, so a peer can check order and content cheaply.
 * Runs on one worker lcore; no locks; connection state from a mempool. */
#ifndef WEIR_TESTAPP_H
#define WEIR_TESTAPP_H

#include <stdint.h>

#include "config/config.h"

struct rte_mempool;
struct tcp_stack;

#define TESTAPP_PATTERN_PERIOD 251

struct testapp_stats {
	uint64_t accepted, connected, completed, failed, refused, timeouts;
	uint64_t bytes_in, bytes_out, sha_sent;
};

struct testapp_listener {
	struct testapp *app;
	enum cfg_app_mode mode;
	uint64_t bytes;
};

struct testapp {
	struct tcp_stack *tcp;
	struct rte_mempool *conns; /* struct testapp_conn */
	struct rte_mempool *pkt_pool; /* for the data we send */
	uint32_t local_ip; /* host order, source of active opens */
	struct testapp_listener listeners[CFG_MAX_TEST_APPS];
	unsigned int n_listeners;
	struct testapp_stats stats;
};

/* Sets up a's connection pool (max_conns entries, named after name) and
 * listens on every configured test port. Returns 0 or a negative errno. */
int testapp_init(struct testapp *a, struct tcp_stack *tcp,
		 struct rte_mempool *pkt_pool, const struct dp_config *cfg,
		 const char *name);

/* Opens a connection to ip:port (host order) that runs mode (bytes: what a
 * source sends). Returns 0, or a negative errno (no TCB, no port, no
 * state). The outcome is counted in a->stats. */
int testapp_connect(struct testapp *a, uint32_t ip, uint16_t port,
		    enum cfg_app_mode mode, uint64_t bytes);

/* Frees the pool; the TCP stack must already be gone. */
void testapp_fini(struct testapp *a);

#endif
