/* See ctl_dp.h. */
#include "ctl/ctl_dp.h"
#include "common/table_check.h"

void ctl_dp_bind(struct ctl_worker *w, struct weir_ctl *ctl, uint32_t id)
{
	w->ctl = ctl && id < ctl->n_workers ? ctl : NULL;
	w->id = id;
	w->seen = 0;
}

const struct weir_table *ctl_dp_fetch(struct ctl_worker *w, uint64_t cur)
{
	struct weir_ctl *c = w->ctl;
	struct weir_ctl_worker *me = &c->workers[w->id];
	uint32_t slot = WEIR_CTL_CUR_SLOT(cur);
	const struct weir_table *t;

	w->seen = cur;
	if (slot >= c->n_slots)
		goto refuse;
	t = weir_ctl_slot_mem(c, slot);
	/* The slot cannot change under us: weir-cp rewrites it only once our
	 * held_gen passes its generation, and we have not reported that. */
	if (weir_table_check(t, c->slots[slot].capacity) ||
	    t->generation != WEIR_CTL_CUR_GEN(cur))
		goto refuse;
	return t;
refuse:
	atomic_fetch_add_explicit(&me->refused, 1, memory_order_relaxed);
	return NULL;
}

void ctl_dp_held(struct ctl_worker *w, uint64_t gen, uint64_t now_ns)
{
	struct weir_ctl_worker *me;

	if (!w->ctl)
		return;
	me = &w->ctl->workers[w->id];
	atomic_store_explicit(&me->adopted_ns, now_ns, memory_order_relaxed);
	atomic_fetch_add_explicit(&me->adoptions, 1, memory_order_relaxed);
	/* release: every read of the old table happens before weir-cp sees
	 * that we moved past it */
	atomic_store_explicit(&me->held_gen, gen, memory_order_release);
}
