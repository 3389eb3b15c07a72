/* lb_health: per-server passive health state machine. See lb_health.h.
 *
 * States and events, in one place:
 *   UP   + failure (traffic or probe) -> fails++; fails == fall -> DOWN
 *   UP   + success (traffic or probe) -> fails = 0
 *   DOWN + probe ok                   -> oks++;  oks == rise  -> UP
 *   DOWN + probe failure              -> oks = 0
 *   DOWN + traffic event              -> ignored (stats only)
 * "In a row" is literal: one success clears the count. (HAProxy's health
 * counter instead walks up and down between 0 and rise+fall-1; with Ray's
 * fall 2 / rise 2 both agree on every sequence that matters: one failure
 * then a success stays UP, two failures in a row go DOWN.) */
#include <errno.h>
#include <stddef.h>

#include "lb/lb_health.h"

void lb_health_cfg_default(struct lb_health_cfg *c)
{
	c->fall = LB_HEALTH_FALL_DEFAULT;
	c->rise = LB_HEALTH_RISE_DEFAULT;
	c->inter_ns = LB_HEALTH_INTER_DEFAULT_NS;
	c->fastinter_ns = LB_HEALTH_FASTINTER_DEFAULT_NS;
	c->downinter_ns = LB_HEALTH_DOWNINTER_DEFAULT_NS;
	c->active = false;
}

int lb_health_cfg_check(const struct lb_health_cfg *c)
{
	if (c == NULL || c->fall == 0 || c->rise == 0 || c->inter_ns == 0 ||
	    c->fastinter_ns == 0 || c->downinter_ns == 0)
		return -EINVAL;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Only the writer calls this: it owns the word, so a plain load of its own
 * last value plus a release store is enough (no read-modify-write). */
static void publish(struct lb_health *h, uint32_t bits)
{
	uint32_t old = atomic_load_explicit(&h->word, memory_order_relaxed);
	uint32_t low = (1u << LB_HS_SEQ_SHIFT) - 1;

	if ((old & low) == bits)
		return;
	uint32_t seq = (lb_hs_seq(old) + 1) << LB_HS_SEQ_SHIFT;
	atomic_store_explicit(&h->word, seq | bits, memory_order_release);
}

static bool is_up(const struct lb_health *h)
{
	return lb_hs_up(atomic_load_explicit(&h->word, memory_order_relaxed));
}

/* Recomputes the published bits from the writer's state. */
static void republish(struct lb_health *h, bool up)
{
	uint32_t word = atomic_load_explicit(&h->word, memory_order_relaxed);
	uint32_t bits = word & LB_HS_ADMIN_MASK;

	if (up)
		bits |= LB_HS_UP;
	if ((up && h->fails > 0) || (!up && h->oks > 0))
		bits |= LB_HS_TRANSITIONAL;
	publish(h, bits);
}

static void stat_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static int go_down(struct lb_health *h, uint64_t now)
{
	h->fails = 0;
	h->oks = 0;
	/* The failure that got us here is fresh evidence: wait downinter. */
	h->next_probe_ns = add_sat(now, h->cfg.downinter_ns);
	stat_inc(&h->went_down);
	atomic_store_explicit(&h->last_change_ns, now, memory_order_relaxed);
	republish(h, false);
	return LB_HEALTH_WENT_DOWN;
}

static int go_up(struct lb_health *h, uint64_t now)
{
	h->fails = 0;
	h->oks = 0;
	h->next_probe_ns = h->cfg.active ? add_sat(now, h->cfg.inter_ns) :
					   LB_HEALTH_NEVER;
	stat_inc(&h->went_up);
	atomic_store_explicit(&h->last_change_ns, now, memory_order_relaxed);
	republish(h, true);
	return LB_HEALTH_WENT_UP;
}

int lb_health_init(struct lb_health *h, const struct lb_health_cfg *cfg,
		   bool up, uint64_t now)
{
	struct lb_health_cfg def;

	if (h == NULL)
		return -EINVAL;
	if (cfg == NULL) {
		lb_health_cfg_default(&def);
		cfg = &def;
	}
	if (lb_health_cfg_check(cfg) < 0)
		return -EINVAL;
	/* Keep the sequence running if the slot is reused: a reader that
	 * remembers the old word still sees a change. */
	uint32_t seq =
		lb_hs_seq(atomic_load_explicit(&h->word, memory_order_relaxed));
	h->fails = 0;
	h->oks = 0;
	h->probing = false;
	h->cfg = *cfg;
	/* a new UP server gets its first check soon (fastinter): a table
	 * names replicas that are running, not ones known to answer */
	h->next_probe_ns = !up	       ? add_sat(now, cfg->downinter_ns) :
			   cfg->active ? add_sat(now, cfg->fastinter_ns) :
					 LB_HEALTH_NEVER;
	atomic_store_explicit(&h->went_down, 0, memory_order_relaxed);
	atomic_store_explicit(&h->went_up, 0, memory_order_relaxed);
	atomic_store_explicit(&h->last_change_ns, now, memory_order_relaxed);
	atomic_store_explicit(&h->probes, 0, memory_order_relaxed);
	for (int i = 0; i < LB_FAIL__COUNT; i++)
		atomic_store_explicit(&h->failures[i], 0, memory_order_relaxed);
	atomic_store_explicit(
		&h->word, ((seq + 1) << LB_HS_SEQ_SHIFT) | (up ? LB_HS_UP : 0),
		memory_order_release);
	return 0;
}

int lb_health_set_config(struct lb_health *h, const struct lb_health_cfg *cfg,
			 uint64_t now)
{
	if (h == NULL || lb_health_cfg_check(cfg) < 0)
		return -EINVAL;
	h->cfg = *cfg;
	if (h->fails >= cfg->fall)
		h->fails = cfg->fall - 1;
	if (h->oks >= cfg->rise)
		h->oks = cfg->rise - 1;
	if (!h->probing && (!is_up(h) || cfg->active)) {
		uint64_t latest = add_sat(now, lb_health_interval(h));
		if (h->next_probe_ns > latest)
			h->next_probe_ns = latest;
	} else if (is_up(h) && !cfg->active) {
		h->next_probe_ns = LB_HEALTH_NEVER;
	}
	republish(h, is_up(h));
	return 0;
}

static int count_failure(struct lb_health *h, uint64_t now)
{
	if (++h->fails >= h->cfg.fall)
		return go_down(h, now);
	republish(h, true);
	/* transitional: the next check comes fastinter after this failure */
	if (h->cfg.active && !h->probing &&
	    h->next_probe_ns > add_sat(now, h->cfg.fastinter_ns))
		h->next_probe_ns = add_sat(now, h->cfg.fastinter_ns);
	return LB_HEALTH_SAME;
}

int lb_health_on_success(struct lb_health *h, uint64_t now)
{
	(void)now;
	if (h == NULL)
		return -EINVAL;
	if (is_up(h) && h->fails > 0) {
		h->fails = 0;
		republish(h, true);
	}
	return LB_HEALTH_SAME;
}

int lb_health_on_failure(struct lb_health *h, uint64_t now,
			 enum lb_fail_reason why)
{
	if (h == NULL || (unsigned int)why >= LB_FAIL__COUNT)
		return -EINVAL;
	stat_inc(&h->failures[why]);
	if (!is_up(h))
		return LB_HEALTH_SAME;
	return count_failure(h, now);
}

bool lb_health_due(const struct lb_health *h, uint64_t now)
{
	return h != NULL && !h->probing && (!is_up(h) || h->cfg.active) &&
	       now >= h->next_probe_ns;
}

uint64_t lb_health_next_due(const struct lb_health *h)
{
	if (h == NULL || h->probing || (is_up(h) && !h->cfg.active))
		return LB_HEALTH_NEVER;
	return h->next_probe_ns;
}

int lb_health_probe_begin(struct lb_health *h, uint64_t now)
{
	if (h == NULL)
		return -EINVAL;
	if (h->probing)
		return -EBUSY;
	h->probing = true;
	h->next_probe_ns = add_sat(now, lb_health_interval(h));
	stat_inc(&h->probes);
	return 0;
}

int lb_health_probe_ok(struct lb_health *h, uint64_t now)
{
	if (h == NULL)
		return -EINVAL;
	h->probing = false;
	if (is_up(h))
		return lb_health_on_success(h, now);
	if (++h->oks >= h->cfg.rise)
		return go_up(h, now);
	republish(h, false);
	return LB_HEALTH_SAME;
}

int lb_health_probe_failed(struct lb_health *h, uint64_t now,
			   enum lb_fail_reason why)
{
	if (h == NULL || (unsigned int)why >= LB_FAIL__COUNT)
		return -EINVAL;
	h->probing = false;
	stat_inc(&h->failures[why]);
	if (is_up(h))
		return count_failure(h, now);
	h->oks = 0;
	republish(h, false);
	return LB_HEALTH_SAME;
}

int lb_health_set_admin(struct lb_health *h, enum lb_admin admin, uint64_t now)
{
	if (h == NULL || (admin != LB_ADMIN_READY && admin != LB_ADMIN_DRAIN &&
			  admin != LB_ADMIN_MAINT))
		return -EINVAL;
	uint32_t word = atomic_load_explicit(&h->word, memory_order_relaxed);
	uint32_t bits =
		(word & ((1u << LB_HS_SEQ_SHIFT) - 1) & ~LB_HS_ADMIN_MASK) |
		((uint32_t)admin << LB_HS_ADMIN_SHIFT);
	if (lb_hs_admin(word) != admin)
		atomic_store_explicit(&h->last_change_ns, now,
				      memory_order_relaxed);
	publish(h, bits);
	return 0;
}

bool lb_health_mirror(struct lb_health *h, uint32_t owner_word, uint64_t now)
{
	uint32_t word = atomic_load_explicit(&h->word, memory_order_relaxed);
	uint32_t op = LB_HS_UP | LB_HS_TRANSITIONAL;
	uint32_t bits = (word & LB_HS_ADMIN_MASK) | (owner_word & op);

	if ((word & ((1u << LB_HS_SEQ_SHIFT) - 1)) == bits)
		return false;
	if ((word ^ owner_word) & LB_HS_UP) /* counted by the owner only */
		atomic_store_explicit(&h->last_change_ns, now,
				      memory_order_relaxed);
	publish(h, bits);
	return true;
}

uint64_t lb_health_interval(const struct lb_health *h)
{
	uint32_t word = atomic_load_explicit(&h->word, memory_order_relaxed);

	if (word & LB_HS_TRANSITIONAL)
		return h->cfg.fastinter_ns;
	return lb_hs_up(word) ? h->cfg.inter_ns : h->cfg.downinter_ns;
}

const char *lb_hs_status(uint32_t word)
{
	if (lb_hs_admin(word) == LB_ADMIN_MAINT)
		return "MAINT";
	if (!lb_hs_up(word))
		return "DOWN";
	if (lb_hs_admin(word) == LB_ADMIN_DRAIN)
		return "DRAIN";
	return "UP";
}
