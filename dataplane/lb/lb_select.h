/* lb_select: choose the server of a backend for a new request on one worker
 * (prefix lb_): least-connections (Ray's default), smooth weighted round
 * robin, or power of two random choices, all weighted; backup servers only
 * when no primary can take the request; servers already tried for this
 * request excluded, so a retry is redispatched elsewhere.
 * Share-nothing: each worker selects with its own connection counts and
 * rotation state, and reads the shared health words (lb_health.h) with one
 * atomic load each. It never allocates, never locks, never reads a clock,
 * never calls rand().
 *
 * Data model (nothing here points into a table snapshot that may be freed):
 *   server slot       a dense index the dataplane gives each stable table
 *                     id (weir_table_server.id, a 64-bit hash) for as long
 *                     as the id is known; it indexes the records below.
 *   struct lb_member  immutable per table version: slot, weight, backup
 *                     flag, maxconn. Pointer-free, built when a worker
 *                     adopts a snapshot (one per table server).
 *   struct lb_load    this worker's count of requests on one server, by
 *                     slot: survives table updates.
 *   struct lb_health  shared, by slot, one writer (lb_health.h).
 *   struct lb_sched   this worker's rotation state for one backend. */
#ifndef WEIR_LB_SELECT_H
#define WEIR_LB_SELECT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lb/lb_health.h"

/* Same values as enum weir_table_balance (include/weir/table.h), so the
 * table's byte converts with a cast. */
enum lb_algo {
	LB_ALGO_LEASTCONN = 0, /* default: `balance leastconn`, as Ray sets */
	LB_ALGO_ROUNDROBIN, /* smooth weighted round robin (nginx) */
	LB_ALGO_P2C, /* HAProxy `balance random(2)` */
	LB_ALGO__COUNT
};

#define LB_MEMBER_BACKUP 0x1u /* used only when no primary is usable */
#define LB_POOL_MAX 65535u /* members per backend (weights sum < 2^32) */
#define LB_EXCLUDE_MAX 8u /* servers remembered per request */

/* One server as a member of one backend, built from the snapshot. */
struct lb_member {
	uint32_t srv; /* server slot: index of its lb_load and lb_health */
	uint16_t weight; /* relative share; 0 takes no new requests */
	uint16_t flags; /* LB_MEMBER_* */
	uint32_t maxconn; /* this worker's share of the server's maxconn; 0 = none */
};

/* One server as this worker sees it. Single writer (the worker); plain
 * fields, read by stats readers as per-lcore counters are (one store old). */
struct lb_load {
	uint32_t active; /* requests assigned here and not yet released */
	uint64_t picks; /* times chosen */
};

/* xorshift64*: fast, seeded, per worker. Never 0 once seeded. */
struct lb_rng {
	uint64_t s;
};

/* Servers already tried for one request. Kept on the request. */
struct lb_exclude {
	uint8_t n; /* entries in use */
	uint8_t next; /* slot the next add overwrites once full */
	uint32_t srv[LB_EXCLUDE_MAX];
};

/* One worker's rotation state for one backend. `wrr` is caller-provided
 * storage for the smooth WRR current weights, one per member position; it
 * is zeroed whenever the pool's version or size changes (member positions
 * move on a table update; restarting the smooth sequence is harmless). */
struct lb_sched {
	uint64_t version; /* lb_pool.version the state belongs to */
	uint32_t n; /* member count it was sized for */
	uint32_t cursor; /* member position the next leastconn scan starts at */
	uint32_t cap; /* entries in wrr */
	int64_t *wrr;
};

/* One backend as seen by one selection. */
struct lb_pool {
	const struct lb_member *members;
	uint32_t n;
	enum lb_algo algo;
	uint64_t version; /* snapshot version: changes when positions may move */
};

/* One worker's selection context. The per-server records may be plain
 * arrays (lb_ctx_init) or embedded in the caller's own per-server struct
 * (lb_ctx_init_strided): record i is at base + i * stride. */
struct lb_ctx {
	char *load_base; /* struct lb_load: this worker's own */
	size_t load_stride;
	const char *health_base; /* struct lb_health: shared, read-only here */
	size_t health_stride;
	uint32_t nsrv; /* ids >= nsrv are never chosen */
	struct lb_rng rng;
};

static inline struct lb_load *lb_ctx_load(const struct lb_ctx *c, uint32_t srv)
{
	return (struct lb_load *)(void *)(c->load_base +
					  (size_t)srv * c->load_stride);
}

static inline const struct lb_health *lb_ctx_health(const struct lb_ctx *c,
						    uint32_t srv)
{
	return (const struct lb_health
			*)(const void *)(c->health_base +
					 (size_t)srv * c->health_stride);
}

/* Seeds r from any 64-bit value (splitmix64, so nearby seeds such as lcore
 * ids give unrelated streams). */
void lb_rng_seed(struct lb_rng *r, uint64_t seed);

static inline uint64_t lb_rng_next(struct lb_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [0, n) without modulo bias (Lemire); 0 when n is 0. */
uint32_t lb_rng_below(struct lb_rng *r, uint32_t n);

static inline void lb_exclude_init(struct lb_exclude *x)
{
	x->n = 0;
	x->next = 0;
}

static inline bool lb_exclude_has(const struct lb_exclude *x, uint32_t srv)
{
	for (unsigned int i = 0; i < x->n; i++)
		if (x->srv[i] == srv)
			return true;
	return false;
}

/* Remembers srv as tried. Adding one already there does nothing; once
 * LB_EXCLUDE_MAX are held the oldest is forgotten (retries beyond that may
 * revisit a server, which beats failing the request). */
static inline void lb_exclude_add(struct lb_exclude *x, uint32_t srv)
{
	if (lb_exclude_has(x, srv))
		return;
	if (x->n < LB_EXCLUDE_MAX) {
		x->srv[x->n++] = srv;
		return;
	}
	x->srv[x->next] = srv;
	x->next = (uint8_t)((x->next + 1) % LB_EXCLUDE_MAX);
}

/* Sets up a worker's context over its own load array and the shared health
 * array, both of nsrv entries (load is zeroed here). Returns 0, or -EINVAL
 * for NULL arrays or nsrv 0. */
int lb_ctx_init(struct lb_ctx *c, struct lb_load *load,
		const struct lb_health *health, uint32_t nsrv, uint64_t seed);

/* The same over records embedded in the caller's per-server structs, e.g.
 * lb_ctx_init_strided(c, &srv[0].load, sizeof(srv[0]), &srv[0].health,
 * sizeof(srv[0]), n, seed). Nothing is zeroed: the caller owns the records.
 * Returns 0, or -EINVAL (NULL base, nsrv 0, stride smaller than a record). */
int lb_ctx_init_strided(struct lb_ctx *c, void *load_base, size_t load_stride,
			const void *health_base, size_t health_stride,
			uint32_t nsrv, uint64_t seed);

/* Sets up a backend's rotation state with room for `cap` members of smooth
 * WRR state (wrr may be NULL with cap 0 when the backend never uses
 * LB_ALGO_ROUNDROBIN). Returns 0, or -EINVAL. */
int lb_sched_init(struct lb_sched *s, int64_t *wrr, uint32_t cap);

/* Chooses a member of p for a new request and counts it: on success the
 * server's lb_load.active and .picks on this worker are incremented; call
 * lb_release() when the request ends, and also when its connect fails
 * before a retry. x (may be NULL) lists servers this request already tried.
 *
 * Candidates: members that are UP and READY (lb_hs_usable), weight > 0,
 * id < nsrv and not in x. A candidate at its maxconn is "full" and skipped
 * (HAProxy). Primaries are chosen by p->algo:
 *   LEASTCONN   least active / weight; ties go to the first one
 *               from the rotation cursor, which then moves past the choice,
 *               so equal servers take turns (as HAProxy's tree does).
 *   ROUNDROBIN  smooth weighted round robin (nginx): each pick adds every
 *               candidate's weight to its current weight, takes the largest
 *               (first in member order on a tie) and subtracts the total.
 *   P2C         two distinct candidates drawn with probability proportional
 *               to weight; the lower active / weight wins, the
 *               first drawn on a tie.
 * Backups are considered only when no primary is a candidate (full ones
 * count as candidates: then the request must wait, not spill); among
 * backups the first candidate in member order is chosen (HAProxy without
 * `option allbackups`; Ray has one backup, its fallback proxy).
 *
 * Returns the member's position in p->members (>= 0), or
 *   -ENOENT  no candidate at all (every server down, drained, in
 *            maintenance, weight 0 or excluded): answer 503;
 *   -EBUSY   candidates exist but all are full: queue the request;
 *   -ENOSPC  ROUNDROBIN with more members than s was sized for;
 *   -E2BIG   more than LB_POOL_MAX members;
 *   -EINVAL  NULL argument or unknown algorithm. */
int lb_select(struct lb_ctx *c, const struct lb_pool *p, struct lb_sched *s,
	      const struct lb_exclude *x);

/* The request counted by lb_select() on server srv has ended. Returns 0,
 * -EINVAL for an id out of range, -ERANGE if nothing was active there (a
 * caller bug; the count stays 0). */
static inline int lb_release(struct lb_ctx *c, uint32_t srv)
{
	if (srv >= c->nsrv)
		return -EINVAL;
	struct lb_load *l = lb_ctx_load(c, srv);
	if (l->active == 0)
		return -ERANGE;
	l->active--;
	return 0;
}

/* Counts a request on srv chosen without lb_select (a pinned one), as
 * lb_select counts its choice; lb_release() ends it. */
static inline void lb_take(struct lb_ctx *c, uint32_t srv)
{
	struct lb_load *l = lb_ctx_load(c, srv);

	l->active++;
	l->picks++;
}

/* HAProxy's nbsrv(): how many primaries of p could take a request now (UP,
 * READY, weight > 0, full ones included), or if none, how many backups
 * could. 0 means the backend is down (healthz, 503). */
uint32_t lb_pool_nbsrv(const struct lb_ctx *c, const struct lb_pool *p);

/* Parses a balance name: "leastconn", "roundrobin", "random", "random(2)"
 * or "p2c". Returns the enum lb_algo, or -EINVAL. */
int lb_algo_parse(const char *name);

/* The canonical name of an algorithm ("leastconn", "roundrobin", "random"),
 * or NULL when out of range. */
const char *lb_algo_name(enum lb_algo algo);

#endif
