/* ctl_dp: a worker's side of the control segment (include/weir/ctl.h).
 * Between bursts a worker calls ctl_dp_poll(): one acquire load of a
 * cache line weir-cp writes only when it publishes, so it costs nothing
 * while the table is stable. A new snapshot is checked (weir_table_check)
 * before it is offered; after the worker has swapped to it and no longer
 * reads the old one, ctl_dp_held() reports the generation it holds, which
 * is what lets weir-cp reuse the old snapshot's slot. Never blocks, never
 * allocates, never writes anything weir-cp writes. */
#ifndef WEIR_CTL_DP_H
#define WEIR_CTL_DP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/ctl.h"
#include "weir/table.h"

struct ctl_worker {
	struct weir_ctl *ctl; /* NULL: no control segment (tests, apps only) */
	uint32_t id; /* index into ctl->workers */
	uint64_t seen; /* the last `current` word looked at */
};

/* Binds w to worker slot id of ctl (ctl may be NULL: polls find nothing). */
void ctl_dp_bind(struct ctl_worker *w, struct weir_ctl *ctl, uint32_t id);

/* The snapshot weir-cp published since the last call, checked, or NULL
 * (nothing new, or a snapshot that failed its check: counted in the
 * worker's `refused`, and the worker keeps the table it has). */
const struct weir_table *ctl_dp_fetch(struct ctl_worker *w, uint64_t cur);

static inline const struct weir_table *ctl_dp_poll(struct ctl_worker *w)
{
	uint64_t cur;

	if (!w->ctl)
		return NULL;
	cur = atomic_load_explicit(&w->ctl->current, memory_order_acquire);
	if (__builtin_expect(cur == w->seen, 1))
		return NULL;
	return ctl_dp_fetch(w, cur);
}

/* The worker now uses generation gen only (its previous table is no longer
 * read by anything): weir-cp may reuse every older slot. now_ns is
 * CLOCK_REALTIME (weir-cp measures publish-to-adopt with it). */
void ctl_dp_held(struct ctl_worker *w, uint64_t gen, uint64_t now_ns);

#endif
