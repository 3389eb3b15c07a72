/* Hierarchical timing wheel; see timer_wheel.h for the contract. The
 * cascade scheme is the classic one (Varghese & Lauck, scheme 7): an entry
 * sits at the lowest level whose span covers its distance from the wheel's
 * current tick, filed under the digit of its expiry at that level, and is
 * re-filed one level down when the wheel's lower digits roll over to it. */
#include <errno.h>
#include <stddef.h>

#include "timer/timer_wheel.h"

#define TW_MASK (TW_SLOTS - 1)
#define TW_SPAN_BITS (TW_SLOT_BITS * TW_LEVELS)
#define TW_MAX_DELTA ((1ull << TW_SPAN_BITS) - 1)
#define TW_DETACHED 0xffffu /* slot id while on a local firing list */
#define TW_WORDS (TW_SLOTS / 64)

int tw_init(struct tw_wheel *w, uint64_t tick_ns, uint64_t now_ns)
{
	if (w == NULL)
		return -EINVAL;
	w->tick_ns = tick_ns ? tick_ns : TW_DEFAULT_TICK_NS;
	w->cur = now_ns / w->tick_ns;
	w->count = 0;
	w->fired = 0;
	w->cascaded = 0;
	for (unsigned int l = 0; l < TW_LEVELS; l++)
		for (unsigned int i = 0; i < TW_WORDS; i++)
			w->occupied[l][i] = 0;
	for (unsigned int i = 0; i < TW_LEVELS * TW_SLOTS; i++)
		w->slots[i] = NULL;
	return 0;
}

static inline void bit_set(struct tw_wheel *w, unsigned int slot)
{
	w->occupied[slot / TW_SLOTS][(slot % TW_SLOTS) / 64] |= 1ull
								<< (slot % 64);
}

static inline void bit_clear(struct tw_wheel *w, unsigned int slot)
{
	w->occupied[slot / TW_SLOTS][(slot % TW_SLOTS) / 64] &=
		~(1ull << (slot % 64));
}

/* Files e (already counted, not linked) relative to w->cur. e->expires may
 * equal w->cur only during a cascade, where that slot is fired next. */
static void tw_file(struct tw_wheel *w, struct tw_entry *e)
{
	uint64_t place = e->expires;
	uint64_t delta = place - w->cur;
	unsigned int level = 0;

	if (delta > TW_MAX_DELTA) {
		/* Beyond the wheel: park at its far edge, re-filed when reached. */
		delta = TW_MAX_DELTA;
		place = w->cur + TW_MAX_DELTA;
	}
	while (level < TW_LEVELS - 1 &&
	       delta >= (1ull << (TW_SLOT_BITS * (level + 1))))
		level++;
	unsigned int slot =
		level * TW_SLOTS +
		(unsigned int)((place >> (TW_SLOT_BITS * level)) & TW_MASK);
	struct tw_entry **head = &w->slots[slot];

	e->slot = (uint16_t)slot;
	e->next = *head;
	if (e->next != NULL)
		e->next->pprev = &e->next;
	*head = e;
	e->pprev = head;
	bit_set(w, slot);
}

static void tw_unlink(struct tw_wheel *w, struct tw_entry *e)
{
	*e->pprev = e->next;
	if (e->next != NULL)
		e->next->pprev = e->pprev;
	if (e->slot != TW_DETACHED && w->slots[e->slot] == NULL)
		bit_clear(w, e->slot);
	e->next = NULL;
	e->pprev = NULL;
}

static uint64_t ns_to_tick_ceil(const struct tw_wheel *w, uint64_t ns)
{
	return ns / w->tick_ns + (ns % w->tick_ns != 0);
}

void tw_arm(struct tw_wheel *w, struct tw_entry *e, uint64_t expires_ns)
{
	uint64_t t = ns_to_tick_ceil(w, expires_ns);

	if (tw_armed(e))
		tw_unlink(w, e);
	else
		w->count++;
	e->expires = t > w->cur ? t : w->cur + 1;
	tw_file(w, e);
}

void tw_arm_earliest(struct tw_wheel *w, struct tw_entry *e,
		     uint64_t expires_ns)
{
	if (tw_armed(e) && e->expires <= ns_to_tick_ceil(w, expires_ns))
		return;
	tw_arm(w, e, expires_ns);
}

void tw_cancel(struct tw_wheel *w, struct tw_entry *e)
{
	if (!tw_armed(e))
		return;
	tw_unlink(w, e);
	w->count--;
}

uint64_t tw_entry_expiry(const struct tw_wheel *w, const struct tw_entry *e)
{
	return tw_armed(e) ? e->expires * w->tick_ns : TW_NEVER;
}

/* Distance d in [0, TW_SLOTS) from `from` to the first occupied index at
 * or after it (circularly) in one level's bitmap, or -1 if none. */
static int scan_level(const uint64_t *bm, unsigned int from)
{
	unsigned int word = from / 64;
	uint64_t first = bm[word] & (~0ull << (from % 64));

	if (first != 0)
		return (int)(word * 64 + (unsigned int)__builtin_ctzll(first) -
			     from);
	for (unsigned int n = 1; n <= TW_WORDS; n++) {
		unsigned int wi = (word + n) % TW_WORDS;
		uint64_t bits = bm[wi];

		if (n == TW_WORDS) /* back to the first word: bits below from */
			bits &= (from % 64) ? ~(~0ull << (from % 64)) : 0;
		if (bits != 0) {
			unsigned int idx =
				wi * 64 + (unsigned int)__builtin_ctzll(bits);
			return (int)((idx - from) & TW_MASK);
		}
	}
	return -1;
}

/* The first tick after w->cur at which a level-0 slot fires or a non-empty
 * upper slot must be cascaded; TW_NEVER if nothing is armed. */
static uint64_t next_event_tick(const struct tw_wheel *w)
{
	uint64_t best = TW_NEVER;

	if (w->count == 0)
		return best;
	for (unsigned int l = 0; l < TW_LEVELS; l++) {
		unsigned int shift = TW_SLOT_BITS * l;
		uint64_t base = w->cur >> shift;
		unsigned int from = (unsigned int)((base + 1) & TW_MASK);
		int d = scan_level(w->occupied[l], from);

		if (d < 0)
			continue;
		uint64_t t = l == 0 ? w->cur + 1 + (uint64_t)d :
				      (base + 1 + (uint64_t)d) << shift;
		if (t < best)
			best = t;
	}
	return best;
}

uint64_t tw_next_expiry(const struct tw_wheel *w)
{
	uint64_t t = next_event_tick(w);

	return t == TW_NEVER ? TW_NEVER : t * w->tick_ns;
}

static void cascade(struct tw_wheel *w, unsigned int slot)
{
	struct tw_entry *e = w->slots[slot];

	w->slots[slot] = NULL;
	bit_clear(w, slot);
	while (e != NULL) {
		struct tw_entry *next = e->next;

		w->cascaded++;
		tw_file(w, e);
		e = next;
	}
}

/* Fires level-0 slot `slot` for tick w->cur. Entries are moved to a local
 * list first so callbacks may arm or cancel anything, including entries
 * still waiting on that list. */
static unsigned int fire_slot(struct tw_wheel *w, unsigned int slot,
			      uint64_t now_ns)
{
	struct tw_entry *local = w->slots[slot];
	unsigned int fired = 0;

	if (local == NULL)
		return 0;
	w->slots[slot] = NULL;
	bit_clear(w, slot);
	local->pprev = &local;
	for (struct tw_entry *e = local; e != NULL; e = e->next)
		e->slot = TW_DETACHED;
	while (local != NULL) {
		struct tw_entry *e = local;

		tw_unlink(w, e);
		if (e->expires > w->cur) { /* parked beyond the wheel's span */
			tw_file(w, e);
			continue;
		}
		w->count--;
		w->fired++;
		fired++;
		e->fn(w, e, now_ns);
	}
	return fired;
}

static unsigned int process_tick(struct tw_wheel *w, uint64_t now_ns)
{
	uint64_t t = w->cur;

	if ((t & TW_MASK) == 0) {
		for (unsigned int l = 1; l < TW_LEVELS; l++) {
			unsigned int idx =
				(unsigned int)((t >> (TW_SLOT_BITS * l)) &
					       TW_MASK);

			cascade(w, l * TW_SLOTS + idx);
			if (idx != 0)
				break;
		}
	}
	return fire_slot(w, (unsigned int)(t & TW_MASK), now_ns);
}

unsigned int tw_advance(struct tw_wheel *w, uint64_t now_ns)
{
	uint64_t target = now_ns / w->tick_ns;
	unsigned int fired = 0;

	while (w->cur < target) {
		uint64_t next = next_event_tick(w);

		if (next > target) {
			w->cur = target;
			break;
		}
		w->cur = next;
		fired += process_tick(w, now_ns);
	}
	return fired;
}
