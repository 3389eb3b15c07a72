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
#define WEIR_CTL_ABI_VERSION 2u
#define WEIR_CTL_MAX_WORKERS 16
#define WEIR_CTL_SLOTS 4 /* published + adopting + being written + spare */
#define WEIR_CTL_NAME_MAX 64 /* "/weir-<name>", NUL included */
#define WEIR_CTL_COUNTERS 128 /* counters each worker exports */
#define WEIR_CTL_COUNTER_NAME 40 /* "dp_rx_frames", NUL included */
#define WEIR_CTL_STAT_SERVERS 4096 /* server slots each worker exports */

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

/* What worker i exports (worker i writes, every few hundred ms, under a
 * seqlock: seq is odd while it writes; readers copy and retry). */
struct weir_ctl_wstats {
	_Atomic uint64_t seq;
	uint64_t updated_ns; /* CLOCK_REALTIME of the last export */
	uint32_t n_srv; /* entries [0, n_srv) may be in use */
	uint32_t reserved0;
	uint64_t sessions_now; /* client connections open */
	uint64_t bconns_now; /* backend connections open (pooled included) */
	uint64_t reserved[3];
	uint64_t ctr[WEIR_CTL_COUNTERS]; /* named by weir_ctl.counter_names */
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
	uint64_t reserved1[4];

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
};

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

#endif
