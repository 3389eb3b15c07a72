/* lb_health: the health of one backend server (prefix lb_health_), fed by
 * live traffic (passive) and by re-probes of a down server, with HAProxy's
 * knobs as Ray Serve sets them (fall 2, rise 2, downinter 250 ms). Time is
 * passed in as `now` in ns, so it runs the same in virtual time (tests) and
 * on the TSC (weir-dp). It never allocates, never locks, never reads a clock.
 *
 * Concurrency: one writer per server (the lcore that owns its checks), any
 * number of readers. Everything a reader needs to choose a server is in one
 * 32-bit word (`lb_health_read()`, one acquire load); the rest of the struct
 * is the writer's, except the statistics, which are relaxed atomics written
 * only by the writer so another lcore may read them without tearing.
 * Lives outside the table snapshot, keyed by the stable server id, so a
 * table update never resets it. */
#ifndef WEIR_LB_HEALTH_H
#define WEIR_LB_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LB_HEALTH_FALL_DEFAULT 2u
#define LB_HEALTH_RISE_DEFAULT 2u
#define LB_HEALTH_INTER_DEFAULT_NS 5000000000ull /* 5 s */
#define LB_HEALTH_FASTINTER_DEFAULT_NS 250000000ull /* 250 ms */
#define LB_HEALTH_DOWNINTER_DEFAULT_NS 250000000ull /* 250 ms */
#define LB_HEALTH_NEVER UINT64_MAX

/* Administrative state, set by the operator (or Ray's drain), orthogonal to
 * the operational UP/DOWN that the checks decide. */
enum lb_admin {
	LB_ADMIN_READY = 0, /* takes new requests when UP */
	LB_ADMIN_DRAIN = 1, /* no new requests; those in flight finish */
	LB_ADMIN_MAINT = 2, /* no requests at all (the proxy closes the rest) */
};

/* Why a request or probe failed. Every reason counts toward `fall`. */
enum lb_fail_reason {
	LB_FAIL_CONNECT = 0, /* connect refused, unreachable, or timed out */
	LB_FAIL_RESET, /* connection reset while the request was live */
	LB_FAIL_TIMEOUT, /* server (or probe) timed out */
	LB_FAIL_STATUS, /* a probe was answered, but not with 200 */
	LB_FAIL__COUNT
};

/* What an event did to the operational state. */
enum lb_health_change {
	LB_HEALTH_SAME = 0,
	LB_HEALTH_WENT_DOWN = 1,
	LB_HEALTH_WENT_UP = 2,
};

/* The published word. Bit 0: operational UP. Bits 1-2: enum lb_admin.
 * Bit 3: transitional (UP with failures counted toward `fall`, or DOWN
 * with successes counted toward `rise`: HAProxy's "UP 1/2", and the hint
 * that events seen by other workers are worth forwarding to the writer).
 * Bits 8-31: a change sequence, bumped on every change of the word, so a
 * reader can tell that something happened between two reads. */
#define LB_HS_UP 0x1u
#define LB_HS_ADMIN_SHIFT 1
#define LB_HS_ADMIN_MASK 0x6u
#define LB_HS_TRANSITIONAL 0x8u
#define LB_HS_SEQ_SHIFT 8

struct lb_health_cfg {
	uint16_t fall; /* consecutive failures that take a server DOWN */
	uint16_t rise; /* consecutive probe successes that bring it UP */
	bool active; /* UP servers are checked too (every inter, fastinter
		      * while transitional); false: only DOWN ones re-probed */
	uint64_t inter_ns; /* active checks of an UP server */
	uint64_t fastinter_ns; /* active checks while transitional */
	uint64_t downinter_ns; /* re-probes of a DOWN server */
};

struct lb_health {
	_Atomic uint32_t word; /* the only field selection reads */
	/* Writer-private. */
	uint16_t fails; /* consecutive failures (while UP) */
	uint16_t oks; /* consecutive probe successes (while DOWN) */
	bool probing; /* a probe is in flight */
	uint64_t next_probe_ns; /* DOWN: when the next re-probe is due */
	struct lb_health_cfg cfg;
	/* Statistics: single writer, relaxed atomics for other readers. */
	_Atomic uint64_t went_down; /* UP -> DOWN transitions */
	_Atomic uint64_t went_up; /* DOWN -> UP transitions */
	_Atomic uint64_t last_change_ns;
	_Atomic uint64_t probes; /* re-probes started */
	_Atomic uint64_t failures[LB_FAIL__COUNT];
} __attribute__((aligned(64)));

/* Fills c with Ray Serve's defaults: fall 2, rise 2, inter 5 s, fastinter
 * 250 ms, downinter 250 ms; passive only (active false). */
void lb_health_cfg_default(struct lb_health_cfg *c);

/* Returns 0 if c is usable, -EINVAL if c is NULL, fall or rise is 0, or an
 * interval is 0. */
int lb_health_cfg_check(const struct lb_health_cfg *c);

/* (Re)starts the state of a server that just got its id: UP or DOWN as
 * told, admin READY, counters zero. A server Ray announces is running, so
 * the proxy starts it UP; a DOWN start is re-probed after downinter.
 * cfg NULL means the defaults. Returns 0, or -EINVAL (NULL h, bad cfg). */
int lb_health_init(struct lb_health *h, const struct lb_health_cfg *cfg,
		   bool up, uint64_t now);

/* Applies new knobs from a table update without touching the state: the
 * consecutive counts are kept (clamped below the new thresholds, so the next
 * event decides) and a pending re-probe keeps its time if it is not later
 * than the new downinter allows. Returns 0, or -EINVAL. */
int lb_health_set_config(struct lb_health *h, const struct lb_health_cfg *cfg,
			 uint64_t now);

/* A request on live traffic succeeded (connected and got a response).
 * While UP it clears the consecutive failures. While DOWN it is ignored:
 * such a request was sent before the server went down, and only a fresh
 * probe may bring a server back (as HAProxy's `observe` never marks up).
 * Returns the lb_health_change, or -EINVAL for a NULL h. Writes nothing
 * when there is nothing to clear, so the common case dirties no line. */
int lb_health_on_success(struct lb_health *h, uint64_t now);

/* A request on live traffic failed for `why`. While UP it counts; the
 * `fall`-th failure in a row takes the server DOWN and schedules its first
 * re-probe downinter later. While DOWN it is only counted in the stats.
 * Returns the lb_health_change, or -EINVAL (NULL h, unknown reason). */
int lb_health_on_failure(struct lb_health *h, uint64_t now,
			 enum lb_fail_reason why);

/* True when a check is due now (`GET <path>`): no probe is in flight, the
 * server is DOWN (or cfg.active) and its interval has elapsed. With
 * cfg.active an UP server is checked every inter, and every fastinter
 * once a failure (a check's or live traffic's) counts toward fall. */
bool lb_health_due(const struct lb_health *h, uint64_t now);

/* When the next check is due (for arming a timer), LB_HEALTH_NEVER when
 * none is scheduled (UP and passive only) or a probe is in flight. */
uint64_t lb_health_next_due(const struct lb_health *h);

/* The caller starts a probe now. The next one becomes due one interval
 * after this start (lb_health_interval(): downinter while DOWN, fastinter
 * once a success counts toward rise, as HAProxy), so probes of a dead
 * server run every downinter even when each takes a while to fail. Returns 0, -EBUSY if
 * a probe is already in flight, -EINVAL for a NULL h. */
int lb_health_probe_begin(struct lb_health *h, uint64_t now);

/* The probe answered 200. Counts toward `rise` while DOWN (the `rise`-th
 * success in a row brings the server UP) and clears failures while UP.
 * Returns the lb_health_change, or -EINVAL. */
int lb_health_probe_ok(struct lb_health *h, uint64_t now);

/* The probe failed for `why` (any reason, including a non-200 answer).
 * Resets the successes counted toward `rise` while DOWN and counts toward
 * `fall` while UP. The caller enforces the probe's own timeout (reporting
 * LB_FAIL_TIMEOUT). Returns the lb_health_change, or -EINVAL. */
int lb_health_probe_failed(struct lb_health *h, uint64_t now,
			   enum lb_fail_reason why);

/* A worker that does not own the server's checks copies the owner's
 * operational bits (LB_HS_UP, LB_HS_TRANSITIONAL of the owner's word) into
 * its own copy, keeping its own admin bits (each worker applies the
 * table's). Its own writer is that worker. Returns whether it changed. */
bool lb_health_mirror(struct lb_health *h, uint32_t owner_word, uint64_t now);

/* Sets the administrative state (single writer: the owning lcore relays
 * the operator's command). Returns 0, or -EINVAL (NULL h, bad state). */
int lb_health_set_admin(struct lb_health *h, enum lb_admin admin, uint64_t now);

/* HAProxy's srv_getinter(): the interval the next active check should use:
 * downinter when fully DOWN, fastinter while transitional, inter when fully
 * UP. Kept for the scheduled active checks that come later. */
uint64_t lb_health_interval(const struct lb_health *h);

/* One atomic load of the published word, from any lcore. */
static inline uint32_t lb_health_read(const struct lb_health *h)
{
	return atomic_load_explicit(&h->word, memory_order_acquire);
}

static inline bool lb_hs_up(uint32_t word)
{
	return (word & LB_HS_UP) != 0;
}

static inline enum lb_admin lb_hs_admin(uint32_t word)
{
	return (enum lb_admin)((word & LB_HS_ADMIN_MASK) >> LB_HS_ADMIN_SHIFT);
}

/* May take new requests: UP and READY. */
static inline bool lb_hs_usable(uint32_t word)
{
	return (word & (LB_HS_UP | LB_HS_ADMIN_MASK)) == LB_HS_UP;
}

static inline uint32_t lb_hs_seq(uint32_t word)
{
	return word >> LB_HS_SEQ_SHIFT;
}

/* The status as HAProxy's `show stat` spells it (Ray reads it): "MAINT",
 * "DOWN", "DRAIN" or "UP", in that order of precedence. */
const char *lb_hs_status(uint32_t word);

#endif
