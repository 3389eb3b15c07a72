/* Worker lcores: the run-to-completion loop (rx burst -> classify -> owner
 * check -> protocol -> tx burst), the lcore-to-lcore hand-off rings, and the
 * idle back-off. Share-nothing: a worker writes only its own state and
 * counters; the only shared writes are SP/SC rings and the neighbour cache
 * (whose single writer is worker 0). No locks, no syscalls except the idle
 * sleep, no malloc after start. */
#ifndef WEIR_WORKER_H
#define WEIR_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "app/testapp.h"
#include "common/ctl_seg.h"
#include "ctl/ctl_dp.h"
#include "config/config.h"
#include "http/proxy.h"
#include "net/arp_cache.h"
#include "net/ipv4_reass.h"
#include "net/net.h"
#include "port.h"
#include "steer.h"
#include "tcp/tcp.h"
#include "weir/stats.h"

#define BURST 32

struct dataplane; /* the whole process's shared, read-mostly state */

struct worker {
	unsigned int id; /* 0 .. n_workers-1 */
	unsigned int lcore_id; /* EAL lcore it runs on */
	int queue; /* port queue it polls and sends on, or -1 */
	unsigned int tx_via; /* worker whose queue sends for us */
	struct dataplane *dp;
	struct weir_lcore_stats *stats;
	/* rings[k][peer]: from this worker to peer (k = ring kind) */
	struct rte_ring *out[3][CFG_MAX_WORKERS];
	struct tcp_stack *tcp;
	struct testapp app;
	struct proxy *px; /* NULL without an "http" section */
	struct ipv4_reass *reass; /* NULL: fragments are dropped */
	struct rte_ring *ctl; /* commands from the telemetry thread (MP/SC) */
	struct ctl_worker ctlw; /* tables from weir-cp (ctl/ctl_dp.h) */
	struct rte_mbuf *txbuf[BURST];
	unsigned int n_tx;
	uint64_t next_arp_tick_ns;
	uint64_t next_export_ns; /* stats into the control segment */
	uint32_t idle_polls;
	uint32_t sleep_us;
	uint64_t idle_since; /* TSC of the first empty poll in a row */
	uint16_t ip_id;
} __rte_cache_aligned;

enum ring_kind {
	RING_RX, /* a received frame for its owner to process */
	RING_TX, /* a finished frame for the queue's lcore to send */
	RING_RESOLVE, /* an IPv4 frame that needs the ARP writer's help */
};

struct dataplane {
	struct dp_config cfg;
	struct port port;
	struct net_iface iface;
	struct steer steer;
	struct arp_cache *arp; /* written by worker 0 only */
	struct weir_lcore_stats *stats; /* one block per worker */
	struct ctl_seg seg; /* the control segment weir-cp publishes into */
	struct px_shared *px_shared; /* the proxies' node-wide limits */
	unsigned int n_workers;
	struct worker workers[CFG_MAX_WORKERS];
	uint64_t tsc_hz;
	volatile bool quit;
};

/* A command for a worker from outside the fast path (16 bytes). */
struct worker_cmd {
	uint8_t op; /* WORKER_CMD_* */
	uint8_t mode; /* enum cfg_app_mode */
	uint16_t port; /* host order */
	uint32_t ip; /* host order */
	uint64_t bytes;
};

#define WORKER_CMD_CONNECT 1 /* testapp_connect(ip, port, mode, bytes) */
#define WORKER_CMD_DRAIN 2 /* the proxy's drain flag := bytes (0/1) */
#define WORKER_CMD_HEALTH \
	3 /* proxy_health_msg: mode op, port from | why << 8,
			     * ip word, bytes server id */

/* Queues cmd for worker w; any thread. Returns 0 or -ENOBUFS. */
int worker_post(struct worker *w, const struct worker_cmd *cmd);

/* Creates the hand-off rings, the neighbour cache, each worker's TCP stack
 * and test applications, and fills the workers.
 * Returns 0 or a negative errno (message in err). Start-up only. */
int workers_init(struct dataplane *dp, char *err, size_t errlen);

/* The lcore entry point (arg: struct worker *). Returns when dp->quit. */
int worker_main(void *arg);

/* Frees rings, cache and any mbuf still in a ring. After the lcores ended. */
void workers_fini(struct dataplane *dp);

#endif
