/* The control segment: the one piece of memory weir-dp and weir-cp share.
 * weir-dp creates it at start (POSIX shared memory, /dev/shm/weir-<name>)
 * and removes it at exit; weir-cp maps it, writes table snapshots
 * (include/weir/table.h) into its slots and publishes one; each worker
 * adopts the published snapshot between bursts and reports the generation
 * it now holds. A slot is written again only when every worker holds a
 * newer generation (an epoch scheme: generations only grow, so "every
 * worker has moved past g" is a comparison per worker).
 *
 * Why not a DPDK secondary process: DPDK 22.11's net_af_xdp refuses to
 * probe in a secondary (ENOTSUP, Bugzilla 805), weir-dp runs --in-memory
 * (no multi-process at all), and a secondary would tie weir-cp's lifetime
 * to EAL state weir-dp owns. A plain segment lets weir-cp be an ordinary
 * process that can be killed and restarted at any time: weir-dp never
 * waits for it and keeps serving the last table it adopted.
 *
 * Layout rules are table.h's: fixed offsets, no pointers, every field that
 * the other process changes is a C11 atomic on its own cache line, one
 * writer each (weir-cp: current, slots, cp_*; worker i: workers[i]).
 * Change anything here and bump WEIR_CTL_ABI_VERSION. */
#ifndef WEIR_CTL_H
#define WEIR_CTL_H

#include <stdatomic.h>
#include <stdint.h>

#define WEIR_CTL_MAGIC 0x314c544352494557ull /* "WEIRCTL1", little end. */
#define WEIR_CTL_ABI_VERSION 3u
#define WEIR_CTL_MAX_WORKERS 16
#define WEIR_CTL_SLOTS 4 /* published + adopting + being written + spare */
#define WEIR_CTL_NAME_MAX 64 /* "/weir-<name>", NUL included */
#define WEIR_CTL_COUNTERS 128 /* counters each worker exports */
#define WEIR_CTL_COUNTER_NAME 40 /* "dp_rx_frames", NUL included */
#define WEIR_CTL_STAT_SERVERS 4096 /* server slots each worker exports */
#define WEIR_CTL_LOG_RECS_MAX 65536 /* access-log records per worker ring */
#define WEIR_CTL_STAT_QUEUES 64 /* backends with a queue each worker exports */

/* current: the published snapshot, one word so a reader sees slot and
 * generation together: (generation << 8) | slot; 0 = nothing published. */
#define WEIR_CTL_CUR(gen, slot) (((uint64_t)(gen) << 8) | (uint64_t)(slot))
#define WEIR_CTL_CUR_GEN(cur) ((cur) >> 8)
#define WEIR_CTL_CUR_SLOT(cur) ((uint32_t)((cur)&0xff))

/* What worker i reports (worker i writes, weir-cp reads). */
struct weir_ctl_worker {
	_Atomic uint64_t held_gen; /* generation it uses now; 0 = none */
	_Atomic uint64_t adopted_ns; /* CLOCK_REALTIME when it adopted it */
	_Atomic uint64_t adoptions; /* tables adopted */
	_Atomic uint64_t refused; /* snapshots it refused (bad header) */
	uint64_t reserved[4];
} __attribute__((aligned(64)));

/* One table buffer (weir-cp writes). */
struct weir_ctl_slot {
	uint64_t offset; /* from the segment's first byte */
	uint64_t capacity; /* bytes */
	_Atomic uint64_t gen; /* generation it holds; 0 = never written */
	uint64_t reserved[5];
} __attribute__((aligned(64)));

/* One server slot of one worker, in HAProxy's stat vocabulary (the worker
 * exports it; weir-cp sums the workers by id and names it from the table). */
struct weir_ctl_srv_stat {
	uint64_t id; /* the table's stable server id; 0: slot unused */
	uint64_t scur; /* requests in flight now */
	uint64_t smax; /* most in flight at once */
	uint64_t stot; /* requests sent */
	uint64_t econ; /* connect failures */
	uint64_t eresp; /* failures after connecting (reset, timeout, garbage) */
	uint64_t wretr; /* requests redispatched away from it */
	uint64_t idle; /* pooled idle connections */
	uint64_t hrsp[6]; /* responses 1xx..5xx, then other */
	uint64_t chkdown, chkup; /* health transitions */
	char status[16]; /* "UP", "DOWN", "DRAIN", "MAINT" */
	uint64_t reserved[2];
};

/* A backend's queue on one worker (requests waiting: every server full). */
struct weir_ctl_queue_stat {
	uint64_t key; /* weir_table_name_key(backend name) */
	uint32_t qcur; /* requests waiting now */
	uint32_t reserved;
};

/* What worker i exports (worker i writes, every few hundred ms, under a
 * seqlock: seq is odd while it writes; readers copy and retry). */
struct weir_ctl_wstats {
	_Atomic uint64_t seq;
	uint64_t updated_ns; /* CLOCK_REALTIME of the last export */
	uint32_t n_srv; /* entries [0, n_srv) may be in use */
	uint32_t reserved0;
	uint64_t sessions_now; /* client connections open */
	uint64_t bconns_now; /* backend connections open (pooled included) */
	uint64_t drain_ns; /* CLOCK_REALTIME it began to drain; 0: it does not */
	uint32_t refusing; /* 1: draining past the grace, new connections refused */
	uint32_t reserved1;
	uint64_t reserved[1];
	uint64_t ctr[WEIR_CTL_COUNTERS]; /* named by weir_ctl.counter_names */
	uint32_t n_queues; /* entries [0, n_queues) of queue[] */
	uint32_t reserved2;
	struct weir_ctl_queue_stat queue[WEIR_CTL_STAT_QUEUES];
	struct weir_ctl_srv_stat srv[WEIR_CTL_STAT_SERVERS];
} __attribute__((aligned(64)));

struct weir_ctl {
	/* written once by weir-dp before anyone maps the segment */
	uint64_t magic; /* WEIR_CTL_MAGIC */
	uint32_t abi_version; /* WEIR_CTL_ABI_VERSION */
	uint32_t header_size; /* sizeof(struct weir_ctl) */
	uint64_t segment_size;
	uint32_t n_workers;
	uint32_t n_slots;
	int32_t dp_pid;
	uint32_t table_abi; /* WEIR_TABLE_ABI_VERSION weir-dp reads */
	uint64_t dp_start_ns; /* CLOCK_REALTIME */
	uint64_t reserved0[2];

	/* weir-cp: what is published */
	_Atomic uint64_t current __attribute__((aligned(64)));
	_Atomic uint64_t published_ns; /* CLOCK_REALTIME of the last publish */
	_Atomic int64_t cp_pid; /* the weir-cp attached now; 0 = none */
	_Atomic uint64_t cp_attach_ns;
	_Atomic uint64_t log_on; /* 1: a weir-cp writes the access log */
	uint64_t reserved1[3];

	struct weir_ctl_worker workers[WEIR_CTL_MAX_WORKERS];
	struct weir_ctl_slot slots[WEIR_CTL_SLOTS];

	/* written once by weir-dp at start: where the exported stats are
	 * (n_workers blocks of stats_stride bytes) and what the counters are
	 * called ("dp_*": the worker's packet counters, "http_*": its proxy's) */
	uint64_t stats_offset;
	uint64_t stats_stride;
	uint32_t n_counters;
	uint32_t reserved2;
	char counter_names[WEIR_CTL_COUNTERS][WEIR_CTL_COUNTER_NAME];

	/* written once by weir-dp at start: the access-log rings (n_workers
	 * blocks of log_stride bytes, log_recs records each, a power of two;
	 * 0: no rings, the log is off) */
	uint64_t log_offset;
	uint64_t log_stride;
	uint32_t log_recs;
	uint32_t reserved3;
};

/* ---- the access log: one lossy ring per worker ------------------------- */

/* One request as the worker saw it; weir-cp turns it into a JSON line.
 * Strings are NUL-terminated (cut to fit). */
#define WEIR_LOG_F_LOCAL 0x1u /* answered by the proxy (404, healthz, 503) */
#define WEIR_LOG_F_ABORTED 0x2u /* the exchange broke off (either side) */
#define WEIR_LOG_F_BADREQ 0x4u /* refused before its head was understood */

struct weir_ctl_log_rec {
	uint64_t end_ns; /* CLOCK_REALTIME when the exchange ended */
	uint64_t bytes_in; /* request bytes from the client (head + body) */
	uint64_t bytes_out; /* response bytes to the client */
	uint32_t total_us; /* first request byte to the end */
	uint32_t backend_us; /* sent to the replica -> its head; UINT32_MAX:
			      * no replica answered */
	uint32_t client_ip; /* network order */
	uint16_t client_port; /* host order */
	uint16_t status; /* sent to the client; 0: none */
	uint8_t tries; /* replicas tried (1 + retries); 0: none */
	uint8_t flags; /* WEIR_LOG_F_* */
	uint16_t worker;
	char method[16];
	char path[128];
	char backend[136]; /* "http-<app>" */
	char server[120]; /* the last replica tried (actor name) */
	char replica_id[64];
	uint32_t router_us; /* the router call; UINT32_MAX: none */
	uint8_t router; /* WEIR_LOG_RT_*: how the router call went */
	uint8_t router_truncated; /* the router got part of the body */
	uint8_t reserved[2];
	char router_replica[64]; /* the replica the router named; "": none */
	uint8_t reserved2[60];
};

/* A request's router call (weir_ctl_log_rec.router). */
enum weir_log_router {
	WEIR_LOG_RT_NONE = 0, /* not routed */
	WEIR_LOG_RT_OK, /* pinned to the replica it named */
	WEIR_LOG_RT_CONNECT, /* no router took the call */
	WEIR_LOG_RT_TIMEOUT,
	WEIR_LOG_RT_STATUS, /* it answered, not 200 */
	WEIR_LOG_RT_JSON, /* not JSON */
	WEIR_LOG_RT_NO_FIELD, /* no replica_id */
	WEIR_LOG_RT_UNKNOWN, /* named no replica of the app */
	WEIR_LOG_RT_DOWN, /* named one that is down */
};

/* A single-producer (the worker) single-consumer (weir-cp) ring. The
 * worker writes rec[head % n] and then publishes head + 1; weir-cp reads
 * [tail, head) and then publishes tail. When head - tail == n the worker
 * counts a drop and goes on: it never waits for weir-cp (a log nobody
 * reads must never stall traffic). */
struct weir_ctl_log {
	_Atomic uint64_t head; /* worker */
	_Atomic uint64_t drops; /* worker: records lost to a full ring */
	uint64_t reserved0[6];
	_Atomic uint64_t tail __attribute__((aligned(64))); /* weir-cp */
	uint64_t reserved1[7];
	struct weir_ctl_log_rec rec[];
};

_Static_assert(sizeof(struct weir_ctl_log_rec) == 640, "ctl log rec layout");
_Static_assert(sizeof(struct weir_ctl_log) == 128, "ctl log layout");
_Static_assert(sizeof(struct weir_ctl_worker) == 64, "ctl worker layout");
_Static_assert(sizeof(struct weir_ctl_slot) == 64, "ctl slot layout");
_Static_assert(sizeof(struct weir_ctl_srv_stat) == 160, "ctl srv stat layout");

static inline void *weir_ctl_slot_mem(struct weir_ctl *c, uint32_t slot)
{
	return (char *)c + c->slots[slot].offset;
}

static inline struct weir_ctl_wstats *weir_ctl_wstats(struct weir_ctl *c,
						      uint32_t worker)
{
	return (struct weir_ctl_wstats *)(void *)((char *)c + c->stats_offset +
						  worker * c->stats_stride);
}

static inline struct weir_ctl_log *weir_ctl_log(struct weir_ctl *c,
						uint32_t worker)
{
	return (struct weir_ctl_log *)(void *)((char *)c + c->log_offset +
					       worker * c->log_stride);
}

/* The worker's side: a record to fill, or NULL (a drop, counted) when the
 * ring is full; weir_log_commit publishes it. n: the ring's log_recs. */
static inline struct weir_ctl_log_rec *weir_log_reserve(struct weir_ctl_log *l,
							uint32_t n)
{
	uint64_t head = atomic_load_explicit(&l->head, memory_order_relaxed);
	uint64_t tail = atomic_load_explicit(&l->tail, memory_order_acquire);

	if (head - tail >= n) {
		atomic_store_explicit(
			&l->drops,
			atomic_load_explicit(&l->drops, memory_order_relaxed) +
				1,
			memory_order_relaxed);
		return NULL;
	}
	return &l->rec[head & (n - 1)];
}

static inline void weir_log_commit(struct weir_ctl_log *l)
{
	uint64_t head = atomic_load_explicit(&l->head, memory_order_relaxed);

	atomic_store_explicit(&l->head, head + 1, memory_order_release);
}

#endif
