/* lb_select: server selection per worker. See lb_select.h.
 *
 * Every algorithm goes through one candidate filter (classify()); maxconn
 * queueing and future filters (same-node preference, multiplexed model
 * ids) slot in there. Scans are O(members): a backend is one Ray app's
 * replicas, tens to hundreds, and a linear pass over 12-byte members beats
 * keeping per-worker trees in step with table updates. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lb/lb_select.h"

enum cand {
	CAND_NO = 0, /* not eligible */
	CAND_FULL, /* eligible but at maxconn */
	CAND_OK,
};

void lb_rng_seed(struct lb_rng *r, uint64_t seed)
{
	/* splitmix64 finaliser */
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	r->s = z ? z : 0x9E3779B97F4A7C15ull;
}

uint32_t lb_rng_below(struct lb_rng *r, uint32_t n)
{
	if (n == 0)
		return 0;
	uint64_t m = (lb_rng_next(r) >> 32) * (uint64_t)n;
	uint32_t low = (uint32_t)m;
	if (low < n) {
		uint32_t floor = (uint32_t)(-n) % n;
		while (low < floor) {
			m = (lb_rng_next(r) >> 32) * (uint64_t)n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

int lb_ctx_init_strided(struct lb_ctx *c, void *load_base, size_t load_stride,
			const void *health_base, size_t health_stride,
			uint32_t nsrv, uint64_t seed)
{
	if (c == NULL || load_base == NULL || health_base == NULL ||
	    nsrv == 0 || load_stride < sizeof(struct lb_load) ||
	    health_stride < sizeof(struct lb_health))
		return -EINVAL;
	c->load_base = load_base;
	c->load_stride = load_stride;
	c->health_base = health_base;
	c->health_stride = health_stride;
	c->nsrv = nsrv;
	lb_rng_seed(&c->rng, seed);
	return 0;
}

int lb_ctx_init(struct lb_ctx *c, struct lb_load *load,
		const struct lb_health *health, uint32_t nsrv, uint64_t seed)
{
	int rc = lb_ctx_init_strided(c, load, sizeof(*load), health,
				     sizeof(*health), nsrv, seed);
	if (rc == 0)
		memset(load, 0, sizeof(*load) * nsrv);
	return rc;
}

int lb_sched_init(struct lb_sched *s, int64_t *wrr, uint32_t cap)
{
	if (s == NULL || (wrr == NULL && cap > 0))
		return -EINVAL;
	s->version = 0;
	s->n = 0;
	s->cursor = 0;
	s->cap = cap;
	s->wrr = wrr;
	if (cap > 0)
		memset(wrr, 0, sizeof(*wrr) * cap);
	return 0;
}

/* Member positions are only meaningful within one version of the pool. */
static void sched_adopt(struct lb_sched *s, const struct lb_pool *p)
{
	if (s->version == p->version && s->n == p->n)
		return;
	uint32_t k = p->n < s->cap ? p->n : s->cap;
	if (k > 0)
		memset(s->wrr, 0, sizeof(*s->wrr) * k);
	s->version = p->version;
	s->n = p->n;
	s->cursor = p->n ? s->cursor % p->n : 0;
}

static enum cand classify(const struct lb_ctx *c, const struct lb_member *m,
			  const struct lb_exclude *x)
{
	if (m->srv >= c->nsrv || m->weight == 0)
		return CAND_NO;
	if (!lb_hs_usable(lb_health_read(lb_ctx_health(c, m->srv))))
		return CAND_NO;
	if (x != NULL && lb_exclude_has(x, m->srv))
		return CAND_NO;
	if (m->maxconn != 0 && lb_ctx_load(c, m->srv)->active >= m->maxconn)
		return CAND_FULL;
	return CAND_OK;
}

static bool is_backup(const struct lb_member *m)
{
	return (m->flags & LB_MEMBER_BACKUP) != 0;
}

static uint64_t load_of(const struct lb_ctx *c, const struct lb_member *m)
{
	const struct lb_load *l = lb_ctx_load(c, m->srv);

	return l->active;
}

/* a/wa < b/wb without division (loads < 2^33, weights < 2^16). */
static bool lighter(uint64_t a, uint32_t wa, uint64_t b, uint32_t wb)
{
	return a * wb < b * wa;
}

static int pick_leastconn(const struct lb_ctx *c, const struct lb_pool *p,
			  struct lb_sched *s, const struct lb_exclude *x,
			  bool *busy)
{
	int best = -1;
	uint64_t best_load = 0;
	uint32_t best_w = 1;
	uint32_t idx = s->cursor;

	for (uint32_t k = 0; k < p->n;
	     k++, idx = idx + 1 == p->n ? 0 : idx + 1) {
		const struct lb_member *m = &p->members[idx];
		if (is_backup(m))
			continue;
		enum cand st = classify(c, m, x);
		if (st == CAND_FULL)
			*busy = true;
		if (st != CAND_OK)
			continue;
		uint64_t l = load_of(c, m);
		if (best < 0 || lighter(l, m->weight, best_load, best_w)) {
			best = (int)idx;
			best_load = l;
			best_w = m->weight;
		}
	}
	if (best >= 0)
		s->cursor = (uint32_t)best + 1 == p->n ? 0 : (uint32_t)best + 1;
	return best;
}

static int pick_smooth_wrr(const struct lb_ctx *c, const struct lb_pool *p,
			   struct lb_sched *s, const struct lb_exclude *x,
			   bool *busy)
{
	int best = -1;
	int64_t total = 0;

	for (uint32_t idx = 0; idx < p->n; idx++) {
		const struct lb_member *m = &p->members[idx];
		if (is_backup(m))
			continue;
		enum cand st = classify(c, m, x);
		if (st == CAND_FULL)
			*busy = true;
		if (st != CAND_OK)
			continue;
		s->wrr[idx] += m->weight;
		total += m->weight;
		if (best < 0 || s->wrr[idx] > s->wrr[best])
			best = (int)idx;
	}
	if (best >= 0)
		s->wrr[best] -= total;
	return best;
}

/* The candidate primary where the running weight sum passes r, skipping
 * `skip`. Health words may change under us between passes (another lcore
 * writes them), so if r is never reached the last candidate seen is
 * returned; -1 when there is none. */
static int weighted_nth(const struct lb_ctx *c, const struct lb_pool *p,
			const struct lb_exclude *x, uint32_t r, int skip)
{
	int last = -1;
	uint64_t sum = 0;

	for (uint32_t idx = 0; idx < p->n; idx++) {
		const struct lb_member *m = &p->members[idx];
		if ((int)idx == skip || is_backup(m) ||
		    classify(c, m, x) != CAND_OK)
			continue;
		last = (int)idx;
		sum += m->weight;
		if (sum > r)
			return last;
	}
	return last;
}

static int pick_p2c(struct lb_ctx *c, const struct lb_pool *p,
		    const struct lb_exclude *x, bool *busy)
{
	uint64_t total = 0;
	uint32_t count = 0;
	int only = -1;

	for (uint32_t idx = 0; idx < p->n; idx++) {
		const struct lb_member *m = &p->members[idx];
		if (is_backup(m))
			continue;
		enum cand st = classify(c, m, x);
		if (st == CAND_FULL)
			*busy = true;
		if (st != CAND_OK)
			continue;
		total += m->weight;
		count++;
		only = (int)idx;
	}
	if (count < 2)
		return only;
	int a = weighted_nth(c, p, x, lb_rng_below(&c->rng, (uint32_t)total),
			     -1);
	if (a < 0)
		return only;
	const struct lb_member *ma = &p->members[a];
	int b = weighted_nth(
		c, p, x, lb_rng_below(&c->rng, (uint32_t)(total - ma->weight)),
		a);
	if (b < 0)
		return a;
	const struct lb_member *mb = &p->members[b];
	return lighter(load_of(c, mb), mb->weight, load_of(c, ma), ma->weight) ?
		       b :
		       a;
}

static int pick_backup(const struct lb_ctx *c, const struct lb_pool *p,
		       const struct lb_exclude *x, bool *busy)
{
	for (uint32_t idx = 0; idx < p->n; idx++) {
		const struct lb_member *m = &p->members[idx];
		if (!is_backup(m))
			continue;
		enum cand st = classify(c, m, x);
		if (st == CAND_OK)
			return (int)idx;
		if (st == CAND_FULL)
			*busy = true;
	}
	return -1;
}

int lb_select(struct lb_ctx *c, const struct lb_pool *p, struct lb_sched *s,
	      const struct lb_exclude *x)
{
	bool busy = false;
	int idx;

	if (c == NULL || p == NULL || s == NULL ||
	    (p->members == NULL && p->n > 0))
		return -EINVAL;
	if (p->n > LB_POOL_MAX)
		return -E2BIG;
	sched_adopt(s, p);
	switch (p->algo) {
	case LB_ALGO_LEASTCONN:
		idx = pick_leastconn(c, p, s, x, &busy);
		break;
	case LB_ALGO_ROUNDROBIN:
		if (p->n > s->cap)
			return -ENOSPC;
		idx = pick_smooth_wrr(c, p, s, x, &busy);
		break;
	case LB_ALGO_P2C:
		idx = pick_p2c(c, p, x, &busy);
		break;
	default:
		return -EINVAL;
	}
	if (idx < 0 && !busy)
		idx = pick_backup(c, p, x, &busy);
	if (idx < 0)
		return busy ? -EBUSY : -ENOENT;
	struct lb_load *l = lb_ctx_load(c, p->members[idx].srv);
	l->active++;
	l->picks++;
	return idx;
}

uint32_t lb_pool_nbsrv(const struct lb_ctx *c, const struct lb_pool *p)
{
	uint32_t act = 0, bck = 0;

	if (c == NULL || p == NULL || p->members == NULL)
		return 0;
	for (uint32_t idx = 0; idx < p->n; idx++) {
		const struct lb_member *m = &p->members[idx];
		if (classify(c, m, NULL) == CAND_NO)
			continue;
		if (is_backup(m))
			bck++;
		else
			act++;
	}
	return act ? act : bck;
}

static const char *const algo_names[LB_ALGO__COUNT] = {
	[LB_ALGO_LEASTCONN] = "leastconn",
	[LB_ALGO_ROUNDROBIN] = "roundrobin",
	[LB_ALGO_P2C] = "random",
};

int lb_algo_parse(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (int i = 0; i < LB_ALGO__COUNT; i++)
		if (strcmp(name, algo_names[i]) == 0)
			return i;
	if (strcmp(name, "random(2)") == 0 || strcmp(name, "p2c") == 0)
		return LB_ALGO_P2C;
	return -EINVAL;
}

const char *lb_algo_name(enum lb_algo algo)
{
	if ((unsigned int)algo >= LB_ALGO__COUNT)
		return NULL;
	return algo_names[algo];
}
