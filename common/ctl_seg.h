/* ctl_seg: creating, mapping and checking the control segment
 * (include/weir/ctl.h), for both processes: weir-dp creates and removes
 * it, weir-cp attaches to it. Plain POSIX shared memory, no DPDK. Start-up
 * and control path only (these make syscalls); never called per packet. */
#ifndef WEIR_CTL_SEG_H
#define WEIR_CTL_SEG_H

#include <stddef.h>
#include <stdint.h>

#include "weir/ctl.h"

/* A mapping of the segment. */
struct ctl_seg {
	struct weir_ctl *ctl;
	size_t size;
	char name[WEIR_CTL_NAME_MAX]; /* "/weir-<name>" */
	uint64_t dev, ino; /* of the object mapped: a new weir-dp has another */
};

/* The shm name of weir-dp instance name (its --file-prefix): "/weir-<name>".
 * Returns 0, or -ENAMETOOLONG / -EINVAL (empty, or a '/' in name). */
int ctl_seg_name(const char *name, char *out, size_t outlen);

/* weir-dp: creates the segment for n_workers workers, WEIR_CTL_SLOTS
 * slots of slot_size bytes each and an access-log ring of log_recs records
 * per worker (a power of two up to WEIR_CTL_LOG_RECS_MAX; 0: none), replacing a stale one of a weir-dp that
 * died (one whose dp_pid no longer runs); refuses (-EBUSY) while another
 * live weir-dp owns the name. Returns 0 or a negative errno, err says why. */
int ctl_seg_create(struct ctl_seg *s, const char *name, uint32_t n_workers,
		   uint64_t slot_size, uint32_t log_recs, char *err,
		   size_t errlen);

/* weir-cp: maps the segment of weir-dp instance name read-write and checks
 * its header (magic, ABI, sizes, slot bounds). Returns 0, -ENOENT when no
 * weir-dp runs under that name, -EPROTO for another ABI, -EINVAL for a
 * header that does not add up; err says why. */
int ctl_seg_attach(struct ctl_seg *s, const char *name, char *err,
		   size_t errlen);

/* Is the object now under s->name still the one s maps? (false after
 * weir-dp restarted, or exited and removed it) */
int ctl_seg_same(const struct ctl_seg *s);

/* CLOCK_REALTIME in ns: the clock both processes stamp the segment with. */
uint64_t ctl_realtime_ns(void);

/* For a reader outside the epoch rule (one that reports no held_gen, such
 * as weir-dp's telemetry thread): copies the published snapshot into buf
 * (cap bytes, at least a slot's capacity) under the slot's seqlock (its
 * gen is 0 while weir-cp rewrites it). Returns the generation copied, 0
 * when nothing is published, -EAGAIN when it kept changing. The copy's
 * bytes are consistent; checking them (weir_table_check) is the
 * caller's. */
int64_t ctl_seg_copy_current(struct weir_ctl *c, void *buf, size_t cap);

/* Unmaps (both sides). */
void ctl_seg_unmap(struct ctl_seg *s);

/* weir-dp at exit: unmaps and removes the name. */
void ctl_seg_destroy(struct ctl_seg *s);

#endif
