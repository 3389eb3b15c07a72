/* See publish.h. Memory order: the snapshot's bytes are written with
 * plain stores, then `current` is stored with release; a worker loads it
 * with acquire, so it sees the whole snapshot. A worker stores its
 * held_gen with release after its last read of the old table; we load it
 * with acquire before overwriting a slot. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "publish.h"

int pub_attach(struct cp_pub *p, const char *name, char *err, size_t errlen)
{
	int64_t other;
	int rc;

	memset(p, 0, sizeof(*p));
	rc = ctl_seg_attach(&p->seg, name, err, errlen);
	if (rc)
		return rc;
	other = atomic_load(&p->seg.ctl->cp_pid);
	if (other > 0 && other != (int64_t)getpid() &&
	    !(kill((pid_t)other, 0) && errno == ESRCH)) {
		snprintf(err, errlen,
			 "weir-dp \"%s\" is already driven by weir-cp pid %lld",
			 name, (long long)other);
		ctl_seg_unmap(&p->seg);
		return -EBUSY;
	}
	p->published = WEIR_CTL_CUR_GEN(pub_current(p));
	atomic_store(&p->seg.ctl->cp_pid, (int64_t)getpid());
	atomic_store(&p->seg.ctl->cp_attach_ns, ctl_realtime_ns());
	return 0;
}

void pub_detach(struct cp_pub *p)
{
	if (p->seg.ctl) {
		int64_t me = (int64_t)getpid();

		/* only if no newer weir-cp took over meanwhile */
		atomic_compare_exchange_strong(&p->seg.ctl->cp_pid, &me, 0);
	}
	ctl_seg_unmap(&p->seg);
}

uint64_t pub_current(const struct cp_pub *p)
{
	return atomic_load_explicit(&p->seg.ctl->current, memory_order_acquire);
}

const struct weir_table *pub_current_table(const struct cp_pub *p)
{
	uint64_t cur = pub_current(p);

	if (!cur)
		return NULL;
	return weir_ctl_slot_mem(p->seg.ctl, WEIR_CTL_CUR_SLOT(cur));
}

uint64_t pub_min_held(const struct cp_pub *p)
{
	const struct weir_ctl *c = p->seg.ctl;
	uint64_t min = UINT64_MAX;

	for (uint32_t i = 0; i < c->n_workers; i++) {
		uint64_t h = atomic_load_explicit(&c->workers[i].held_gen,
						  memory_order_acquire);

		if (h < min)
			min = h;
	}
	return min;
}

int pub_free_slot(const struct cp_pub *p)
{
	struct weir_ctl *c = p->seg.ctl;
	uint64_t cur = pub_current(p), min = pub_min_held(p);

	for (uint32_t i = 0; i < c->n_slots; i++) {
		uint64_t g = atomic_load_explicit(&c->slots[i].gen,
						  memory_order_relaxed);

		if (cur && i == WEIR_CTL_CUR_SLOT(cur))
			continue;
		/* never written, or every worker is past it */
		if (g == 0 || g < min)
			return (int)i;
	}
	return -1;
}

int64_t pub_publish(struct cp_pub *p, const struct weir_table *t)
{
	struct weir_ctl *c = p->seg.ctl;
	uint64_t gen = WEIR_CTL_CUR_GEN(pub_current(p)) + 1;
	struct weir_table *dst;
	int slot;

	if (t->total_size > c->slots[0].capacity)
		return -E2BIG;
	slot = pub_free_slot(p);
	if (slot < 0) {
		p->busy++;
		return -EAGAIN;
	}
	/* A seqlock for readers outside the epoch rule (weir-dp's telemetry
	 * thread copies the current table): gen 0 while the bytes change. */
	atomic_store_explicit(&c->slots[slot].gen, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	dst = weir_ctl_slot_mem(c, (uint32_t)slot);
	memcpy(dst, t, t->total_size);
	dst->generation = gen;
	atomic_store_explicit(&c->slots[slot].gen, gen, memory_order_release);
	atomic_store_explicit(&c->published_ns, ctl_realtime_ns(),
			      memory_order_relaxed);
	atomic_store_explicit(&c->current, WEIR_CTL_CUR(gen, slot),
			      memory_order_release);
	p->published = gen;
	p->publishes++;
	return (int64_t)gen;
}

bool pub_adopted(const struct cp_pub *p, uint64_t gen)
{
	return pub_min_held(p) >= gen;
}
