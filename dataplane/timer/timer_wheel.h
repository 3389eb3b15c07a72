/* timer_wheel: the per-worker hierarchical timing wheel (prefix tw_), driven
 * by an explicit clock in nanoseconds so it runs the same in virtual time
 * (tests) and on the TSC (weir-dp). Single owner: it never locks, never
 * allocates (entries are embedded in their owners), never reads a clock.
 *
 * Layout: 4 levels x 256 slots; level l holds timers 256^l..256^(l+1) ticks
 * away and is cascaded into the level below when the wheel reaches it, so
 * with the default 100 us tick one wheel spans 2^32 ticks (~119 h) and a
 * 3600 s idle timeout costs three cascades, not 36 M slot visits. Timers
 * further away are parked at the far edge and re-filed when reached.
 * Arm and cancel are O(1); tw_advance() skips empty stretches with per-level
 * occupancy bitmaps, so a long idle jump costs O(levels), not O(ticks).
 *
 * A timer never fires early: it fires on the first tw_advance(now) with
 * now >= its expiry, at most one tick late (plus the caller's poll gap). */
#ifndef WEIR_TIMER_WHEEL_H
#define WEIR_TIMER_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#define TW_LEVELS 4
#define TW_SLOT_BITS 8
#define TW_SLOTS (1u << TW_SLOT_BITS)
#define TW_DEFAULT_TICK_NS 100000ull /* 100 us: delayed ACK / RTO resolution */
#define TW_NEVER UINT64_MAX

struct tw_wheel;
struct tw_entry;

/* Called when an entry expires; the entry is already disarmed and may be
 * re-armed (or other entries armed/cancelled) from inside the callback.
 * `now` is the time passed to tw_advance(). Owners recover themselves from
 * the entry with container_of. */
typedef void (*tw_fn)(struct tw_wheel *w, struct tw_entry *e, uint64_t now);

/* Embed one in the owning object (one per connection); zero or
 * tw_entry_init() it before the first arm. */
struct tw_entry {
	struct tw_entry *next;
	struct tw_entry **pprev; /* NULL when not armed */
	uint64_t expires; /* absolute tick */
	tw_fn fn;
	uint16_t slot; /* level * TW_SLOTS + index while armed */
};

struct tw_wheel {
	uint64_t tick_ns;
	uint64_t cur; /* last tick processed */
	uint32_t count; /* armed entries */
	uint64_t fired; /* callbacks run (statistics) */
	uint64_t cascaded; /* entries moved down a level (statistics) */
	uint64_t occupied[TW_LEVELS][TW_SLOTS / 64];
	struct tw_entry *slots[TW_LEVELS * TW_SLOTS];
};

/* Initialises an empty wheel whose clock starts at now_ns. tick_ns 0 means
 * TW_DEFAULT_TICK_NS. Returns 0, or -EINVAL for a NULL wheel. */
int tw_init(struct tw_wheel *w, uint64_t tick_ns, uint64_t now_ns);

static inline void tw_entry_init(struct tw_entry *e, tw_fn fn)
{
	e->next = 0;
	e->pprev = 0;
	e->expires = 0;
	e->fn = fn;
	e->slot = 0;
}

static inline bool tw_armed(const struct tw_entry *e)
{
	return e->pprev != 0;
}

/* Arms (or re-arms) e to fire at expires_ns. A time already past fires on
 * the next tw_advance(). O(1). */
void tw_arm(struct tw_wheel *w, struct tw_entry *e, uint64_t expires_ns);

/* Lazy re-arm: makes sure e fires no later than expires_ns. If e is already
 * armed at or before that time nothing is touched (the owner re-checks its
 * own deadlines when it fires and re-arms for the next one); otherwise e is
 * moved earlier. This is how one entry serves all of a connection's timers. */
void tw_arm_earliest(struct tw_wheel *w, struct tw_entry *e,
		     uint64_t expires_ns);

/* Disarms e if armed; harmless otherwise. O(1). */
void tw_cancel(struct tw_wheel *w, struct tw_entry *e);

/* Expiry of an armed entry in ns (rounded up to its tick), TW_NEVER if not
 * armed. */
uint64_t tw_entry_expiry(const struct tw_wheel *w, const struct tw_entry *e);

/* Runs every entry due at or before now_ns. Returns how many fired. Time
 * going backwards is ignored. */
unsigned int tw_advance(struct tw_wheel *w, uint64_t now_ns);

/* Earliest time (ns) at which tw_advance() may have work: a lower bound of
 * the next expiry (it may be a cascade point slightly earlier, which only
 * wakes the caller early). TW_NEVER if the wheel is empty. The poll loop
 * sleeps no further than this. */
uint64_t tw_next_expiry(const struct tw_wheel *w);

static inline uint32_t tw_count(const struct tw_wheel *w)
{
	return w->count;
}

#endif
