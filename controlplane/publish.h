/* publish: weir-cp's side of the control segment (include/weir/ctl.h):
 * writes a compiled snapshot into a free slot, stamps it with the next
 * generation and publishes it with one release store; a slot is free only
 * when it is not the published one and every worker holds a newer
 * generation than the one it contains (the epoch rule that makes early
 * reclaim impossible). Coalescing is the caller's: when no slot is free
 * (a worker has not moved on yet) pub_publish says -EAGAIN and the caller
 * keeps only its newest table to try again. Control path only; never
 * waits inside. */
#ifndef WEIR_CP_PUBLISH_H
#define WEIR_CP_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ctl_seg.h"
#include "weir/table.h"

struct cp_pub {
	struct ctl_seg seg;
	uint64_t published; /* generation of our last publish (0: none) */
	uint64_t publishes, busy; /* counters: done, refused for no slot */
};

/* Maps weir-dp instance name's segment and takes over publishing: the
 * next generation follows the one published now, so a restarted weir-cp
 * carries on. Refuses (-EBUSY) while another live weir-cp drives it: one
 * writer. Returns 0 or ctl_seg_attach's error. */
int pub_attach(struct cp_pub *p, const char *name, char *err, size_t errlen);

/* Unmaps; the published table stays in force. */
void pub_detach(struct cp_pub *p);

/* The published `current` word (WEIR_CTL_CUR_*), 0 if none. */
uint64_t pub_current(const struct cp_pub *p);

/* The published snapshot, NULL if none. */
const struct weir_table *pub_current_table(const struct cp_pub *p);

/* A slot the next snapshot may be written to, or -1 (none free now). */
int pub_free_slot(const struct cp_pub *p);

/* Copies t (t->total_size bytes) into a free slot as generation
 * pub_current gen + 1 and publishes it. Returns that generation (> 0),
 * -EAGAIN when no slot is free, -E2BIG when t exceeds a slot. */
int64_t pub_publish(struct cp_pub *p, const struct weir_table *t);

/* Do all workers hold generation gen or a newer one? */
bool pub_adopted(const struct cp_pub *p, uint64_t gen);

/* The oldest generation a worker holds (0: one holds nothing yet). */
uint64_t pub_min_held(const struct cp_pub *p);

#endif
