/* lb_select: leastconn, smooth WRR and P2C sequences and distributions,
 * redispatch exclusion, backups, admin states, maxconn, and a seeded
 * many-server property test against a straightforward reference. */
#include <errno.h>
#include <stdlib.h>

#include "lb/lb_select.h"
#include "wtest.h"

#define NSRV 64
#define T0 1000000000ull

static struct lb_health health[NSRV];
static struct lb_load load[NSRV];
static struct lb_member members[NSRV];
static int64_t wrr[NSRV];
static struct lb_ctx ctx;
static struct lb_sched sched;
static struct lb_pool pool;

/* n primaries of weight 1, all UP and READY, algorithm algo. */
static void setup(uint32_t n, enum lb_algo algo)
{
	for (uint32_t i = 0; i < NSRV; i++)
		WT_CHECK_EQ(lb_health_init(&health[i], NULL, true, T0), 0);
	WT_CHECK_EQ(lb_ctx_init(&ctx, load, health, NSRV, 42), 0);
	WT_CHECK_EQ(lb_sched_init(&sched, wrr, NSRV), 0);
	for (uint32_t i = 0; i < n; i++)
		members[i] = (struct lb_member){ .srv = i, .weight = 1 };
	pool = (struct lb_pool){
		.members = members, .n = n, .algo = algo, .version = 1
	};
}

static void set_down(uint32_t srv)
{
	lb_health_on_failure(&health[srv], T0, LB_FAIL_CONNECT);
	lb_health_on_failure(&health[srv], T0, LB_FAIL_CONNECT);
	WT_CHECK(!lb_hs_up(lb_health_read(&health[srv])));
}

static void set_up(uint32_t srv)
{
	WT_CHECK_EQ(lb_health_init(&health[srv], NULL, true, T0), 0);
}

/* Picks and immediately releases: a stream of short requests. */
static int pick_release(const struct lb_exclude *x)
{
	int i = lb_select(&ctx, &pool, &sched, x);
	if (i >= 0)
		WT_CHECK_EQ(lb_release(&ctx, members[i].srv), 0);
	return i;
}

static void test_leastconn_picks_least_loaded(void)
{
	setup(4, LB_ALGO_LEASTCONN);
	load[0].active = 3;
	load[1].active = 1;
	load[2].active = 2;
	load[3].active = 5;
	WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), 1);
	WT_CHECK_EQ(load[1].active, 2);
	WT_CHECK_EQ(load[1].picks, 1);
	/* Now 1 and 2 tie at 2; the cursor moved past 1, so 2 goes first. */
	WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), 2);
}

static void test_leastconn_rotates_ties(void)
{
	setup(3, LB_ALGO_LEASTCONN);
	int want[] = { 0, 1, 2, 0, 1, 2, 0, 1, 2 };
	for (unsigned int k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		WT_CHECK_EQ(pick_release(NULL), want[k]);
	/* Held connections: each takes one, then the turn goes round. */
	setup(3, LB_ALGO_LEASTCONN);
	for (int k = 0; k < 9; k++)
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), k % 3);
	WT_CHECK_EQ(load[0].active, 3);
	WT_CHECK_EQ(load[2].active, 3);
}

static void test_leastconn_weights_held(void)
{
	/* Held connections share out exactly as active/weight. */
	setup(3, LB_ALGO_LEASTCONN);
	members[0].weight = 3;
	members[1].weight = 1;
	members[2].weight = 2;
	for (int k = 0; k < 600; k++)
		WT_CHECK(lb_select(&ctx, &pool, &sched, NULL) >= 0);
	WT_CHECK_EQ(load[0].active, 300);
	WT_CHECK_EQ(load[1].active, 100);
	WT_CHECK_EQ(load[2].active, 200);
}

/* Connections that live a random while: a pick, then each open connection
 * ends with the same probability, so picks per server follow occupancy.
 * About 1000 stay open: with few, leastconn's whole-connection steps give
 * a weight-1 server a visibly larger share (one connection more out of ten
 * is 10%); that is the algorithm, not noise. */
static void churn(int steps, uint32_t n, long open[], uint64_t *rng)
{
	static uint32_t conns[4096];
	uint32_t nconns = 0;

	for (int s = 0; s < steps; s++) {
		int i = lb_select(&ctx, &pool, &sched, NULL);
		WT_CHECK(i >= 0 && (uint32_t)i < n);
		if (i < 0)
			return;
		conns[nconns++] = members[i].srv;
		while (nconns > 1000) {
			*rng ^= *rng << 13;
			*rng ^= *rng >> 7;
			*rng ^= *rng << 17;
			uint32_t v = (uint32_t)(*rng % nconns);
			WT_CHECK_EQ(lb_release(&ctx, conns[v]), 0);
			conns[v] = conns[--nconns];
		}
	}
	for (uint32_t i = 0; i < n; i++)
		open[i] = load[i].active;
	while (nconns > 0)
		WT_CHECK_EQ(lb_release(&ctx, conns[--nconns]), 0);
}

static void check_share(const uint64_t *picks, const uint16_t *weights,
			uint32_t n, double tolerance)
{
	double total = 0, wsum = 0;

	for (uint32_t i = 0; i < n; i++) {
		total += (double)picks[i];
		wsum += weights[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		double want = total * weights[i] / wsum;
		double got = (double)picks[i];
		if (got < want * (1 - tolerance) ||
		    got > want * (1 + tolerance)) {
			printf("#   server %u: %.0f picks, want %.0f +- %.0f%%\n",
			       i, got, want, tolerance * 100);
			wt_case_failed = 1;
		}
	}
}

static void test_leastconn_weights_distribution(void)
{
	static const uint16_t w[5] = { 1, 2, 3, 4, 10 };
	long open[5];
	uint64_t picks[5], rng = 0x1234567ull;

	setup(5, LB_ALGO_LEASTCONN);
	for (int i = 0; i < 5; i++)
		members[i].weight = w[i];
	churn(200000, 5, open, &rng);
	for (int i = 0; i < 5; i++)
		picks[i] = load[i].picks;
	check_share(picks, w, 5, 0.05);
	/* At any moment the open connections are spread by weight too. */
	uint64_t o[5];
	for (int i = 0; i < 5; i++)
		o[i] = (uint64_t)open[i];
	check_share(o, w, 5, 0.05);
	for (int i = 0; i < 5; i++)
		WT_CHECK_EQ(load[i].active, 0);
}

static void expect_sequence(const char *want)
{
	for (const char *p = want; *p; p++) {
		int got = pick_release(NULL);
		if (got != *p - 'a') {
			printf("#   step %d: got %c, want %c (sequence %s)\n",
			       (int)(p - want), 'a' + got, *p, want);
			wt_case_failed = 1;
			return;
		}
	}
}

static void test_roundrobin_sequences(void)
{
	setup(3, LB_ALGO_ROUNDROBIN);
	expect_sequence("abcabcabc");
	/* nginx's documented smooth sequence for weights 5, 1, 1. */
	setup(3, LB_ALGO_ROUNDROBIN);
	members[0].weight = 5;
	expect_sequence("aabacaa"
			"aabacaa"
			"aabacaa");
	setup(2, LB_ALGO_ROUNDROBIN);
	members[0].weight = 2;
	expect_sequence("abaaba");
	setup(3, LB_ALGO_ROUNDROBIN);
	members[0].weight = 3;
	members[1].weight = 2;
	expect_sequence("abacba"
			"abacba");
	/* RR ignores load: held connections do not change the order. */
	setup(3, LB_ALGO_ROUNDROBIN);
	for (int k = 0; k < 6; k++)
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), k % 3);
}

static void test_roundrobin_skips_unusable(void)
{
	setup(3, LB_ALGO_ROUNDROBIN);
	set_down(1);
	expect_sequence("acacac");
	set_up(1);
	/* b comes back with a fresh current weight and takes its turns. */
	uint64_t before = load[1].picks;
	for (int k = 0; k < 30; k++)
		pick_release(NULL);
	WT_CHECK_EQ(load[1].picks - before, 10);
}

static void test_roundrobin_weights_distribution(void)
{
	static const uint16_t w[6] = { 1, 7, 3, 2, 9, 5 };
	uint64_t picks[6];

	setup(6, LB_ALGO_ROUNDROBIN);
	for (int i = 0; i < 6; i++)
		members[i].weight = w[i];
	/* Exact over whole periods, and never more than one off within. */
	for (int k = 0; k < 27 * 100; k++)
		pick_release(NULL);
	for (int i = 0; i < 6; i++)
		picks[i] = load[i].picks;
	for (int i = 0; i < 6; i++)
		WT_CHECK_EQ(picks[i], 100ull * w[i]);
	for (int k = 1; k < 27; k++) {
		pick_release(NULL);
		for (int i = 0; i < 6; i++) {
			double want = 100.0 * w[i] + (double)k * w[i] / 27;
			double got = (double)load[i].picks;
			WT_CHECK(got > want - 1.0 && got < want + 1.0);
		}
	}
}

static void test_version_change_restarts_wrr(void)
{
	setup(3, LB_ALGO_ROUNDROBIN);
	members[0].weight = 5;
	expect_sequence("aab");
	pool.version = 2; /* a table update may have moved the members */
	expect_sequence("aabacaa");
	/* A different member count resets even at the same version. */
	pool.n = 2;
	members[1].weight = 2;
	members[0].weight = 1;
	expect_sequence("babbab");
}

static void test_p2c_prefers_less_loaded(void)
{
	/* With two candidates both are always drawn (distinct draws), so the
	 * idle one always wins. */
	setup(2, LB_ALGO_P2C);
	load[0].active = 5;
	for (int k = 0; k < 1000; k++)
		WT_CHECK_EQ(pick_release(NULL), 1);
	/* Weighted load: 6 conns at weight 3 is lighter than 3 at weight 1. */
	setup(2, LB_ALGO_P2C);
	members[0].weight = 3;
	load[0].active = 6;
	load[1].active = 3;
	for (int k = 0; k < 1000; k++)
		WT_CHECK_EQ(pick_release(NULL), 0);
	/* One idle among three loaded: it wins whenever it is drawn, which
	 * is 2 draws in 3 (1 - P(both draws miss it) = 1 - 2/3 * 1/2). */
	setup(3, LB_ALGO_P2C);
	load[1].active = 10;
	load[2].active = 10;
	int idle = 0;
	for (int k = 0; k < 30000; k++)
		idle += pick_release(NULL) == 0;
	WT_CHECK(idle > 19500 && idle < 20500);
}

static void test_p2c_never_down_or_excluded(void)
{
	struct lb_exclude x;

	setup(10, LB_ALGO_P2C);
	set_down(2);
	set_down(5);
	set_down(7);
	lb_exclude_init(&x);
	lb_exclude_add(&x, 0);
	lb_exclude_add(&x, 9);
	uint64_t seen = 0;
	for (int k = 0; k < 20000; k++) {
		int i = lb_select(&ctx, &pool, &sched, &x);
		WT_CHECK(i >= 0);
		WT_CHECK(i != 0 && i != 2 && i != 5 && i != 7 && i != 9);
		seen |= 1ull << i;
		/* hold some, release some: loads vary */
		if (k % 3)
			lb_release(&ctx, members[i].srv);
	}
	WT_CHECK_EQ(seen,
		    (1u << 1) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 8));
}

static void test_p2c_weights_distribution(void)
{
	static const uint16_t w[4] = { 1, 2, 3, 4 };
	uint64_t picks[4];

	setup(4, LB_ALGO_P2C);
	for (int i = 0; i < 4; i++)
		members[i].weight = w[i];
	/* Idle servers tie, so the first draw decides: proportional. */
	for (int k = 0; k < 200000; k++)
		pick_release(NULL);
	for (int i = 0; i < 4; i++)
		picks[i] = load[i].picks;
	check_share(picks, w, 4, 0.03);
	/* Under churn the loads are balanced by weight as well. */
	long open[4];
	uint64_t rng = 0xabcdefull;
	setup(4, LB_ALGO_P2C);
	for (int i = 0; i < 4; i++)
		members[i].weight = w[i];
	churn(200000, 4, open, &rng);
	for (int i = 0; i < 4; i++)
		picks[i] = load[i].picks;
	check_share(picks, w, 4, 0.05);
}

static void test_p2c_seeded_is_deterministic(void)
{
	int first[64];

	setup(8, LB_ALGO_P2C);
	for (int k = 0; k < 64; k++)
		first[k] = pick_release(NULL);
	setup(8, LB_ALGO_P2C);
	for (int k = 0; k < 64; k++)
		WT_CHECK_EQ(pick_release(NULL), first[k]);
}

static void test_exclusion_redispatch(void)
{
	enum lb_algo algos[] = { LB_ALGO_LEASTCONN, LB_ALGO_ROUNDROBIN,
				 LB_ALGO_P2C };
	struct lb_exclude x;

	for (int a = 0; a < 3; a++) {
		for (int ex = 0; ex < 2; ex++) {
			setup(2, algos[a]);
			lb_exclude_init(&x);
			lb_exclude_add(&x, (uint32_t)ex);
			for (int k = 0; k < 100; k++)
				WT_CHECK_EQ(pick_release(&x), 1 - ex);
		}
		lb_exclude_add(&x, 0);
		lb_exclude_add(&x, 1);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, &x), -ENOENT);
		/* A retry after a failed connect: release, exclude, re-select. */
		setup(3, algos[a]);
		lb_exclude_init(&x);
		int first = lb_select(&ctx, &pool, &sched, &x);
		WT_CHECK(first >= 0);
		WT_CHECK_EQ(lb_release(&ctx, members[first].srv), 0);
		lb_exclude_add(&x, members[first].srv);
		int second = lb_select(&ctx, &pool, &sched, &x);
		WT_CHECK(second >= 0 && second != first);
		lb_release(&ctx, members[second].srv);
		lb_exclude_add(&x, members[second].srv);
		int third = lb_select(&ctx, &pool, &sched, &x);
		WT_CHECK(third >= 0 && third != first && third != second);
	}
}

static void test_exclude_set(void)
{
	struct lb_exclude x;

	lb_exclude_init(&x);
	WT_CHECK(!lb_exclude_has(&x, 0));
	for (uint32_t i = 0; i < LB_EXCLUDE_MAX; i++)
		lb_exclude_add(&x, i * 10);
	lb_exclude_add(&x, 0); /* already there: nothing moves */
	WT_CHECK_EQ(x.n, LB_EXCLUDE_MAX);
	for (uint32_t i = 0; i < LB_EXCLUDE_MAX; i++)
		WT_CHECK(lb_exclude_has(&x, i * 10));
	/* Full: the oldest is forgotten first. */
	lb_exclude_add(&x, 1000);
	WT_CHECK(lb_exclude_has(&x, 1000));
	WT_CHECK(!lb_exclude_has(&x, 0));
	WT_CHECK(lb_exclude_has(&x, 10));
	lb_exclude_add(&x, 1001);
	WT_CHECK(!lb_exclude_has(&x, 10));
	WT_CHECK(lb_exclude_has(&x, 1000));
	WT_CHECK(lb_exclude_has(&x, 1001));
}

static void add_backups(uint32_t first, uint32_t count)
{
	for (uint32_t i = first; i < first + count; i++)
		members[i] = (struct lb_member){ .srv = i,
						 .weight = 1,
						 .flags = LB_MEMBER_BACKUP };
	pool.n = first + count;
}

static void test_backup_only_when_primaries_gone(void)
{
	enum lb_algo algos[] = { LB_ALGO_LEASTCONN, LB_ALGO_ROUNDROBIN,
				 LB_ALGO_P2C };
	struct lb_exclude x;

	for (int a = 0; a < 3; a++) {
		setup(2, algos[a]);
		add_backups(2, 2); /* 0, 1 primaries; 2, 3 backups */
		for (int k = 0; k < 200; k++)
			WT_CHECK(pick_release(NULL) < 2);
		/* Backups stay out even when they are idle and primaries busy. */
		load[0].active = load[1].active = 1000;
		for (int k = 0; k < 50; k++)
			WT_CHECK(pick_release(NULL) < 2);
		load[0].active = load[1].active = 0;
		set_down(0);
		for (int k = 0; k < 50; k++)
			WT_CHECK_EQ(pick_release(NULL), 1);
		/* The last primary tried and failed: the fallback serves. */
		lb_exclude_init(&x);
		lb_exclude_add(&x, 1);
		WT_CHECK_EQ(pick_release(&x), 2);
		set_down(1);
		/* First usable backup in order, every time (no rotation). */
		for (int k = 0; k < 50; k++)
			WT_CHECK_EQ(pick_release(NULL), 2);
		set_down(2);
		WT_CHECK_EQ(pick_release(NULL), 3);
		lb_exclude_init(&x);
		lb_exclude_add(&x, 3);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, &x), -ENOENT);
		set_down(3);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -ENOENT);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 0);
		set_up(3);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 1);
		/* A primary returns: the backup is abandoned at once. */
		set_up(1);
		for (int k = 0; k < 50; k++)
			WT_CHECK_EQ(pick_release(NULL), 1);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 1);
		set_up(0);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 2);
		/* Weight 0 primaries do not count as up (HAProxy). */
		members[0].weight = members[1].weight = 0;
		WT_CHECK_EQ(pick_release(NULL), 3);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 1);
	}
	/* A backend of backups only (an app scaled to zero): the fallback. */
	setup(0, LB_ALGO_LEASTCONN);
	add_backups(0, 1);
	WT_CHECK_EQ(pick_release(NULL), 0);
}

static void test_drain_and_maint_not_chosen(void)
{
	enum lb_algo algos[] = { LB_ALGO_LEASTCONN, LB_ALGO_ROUNDROBIN,
				 LB_ALGO_P2C };

	for (int a = 0; a < 3; a++) {
		setup(3, algos[a]);
		add_backups(3, 1);
		WT_CHECK_EQ(lb_health_set_admin(&health[0], LB_ADMIN_DRAIN, T0),
			    0);
		WT_CHECK_EQ(lb_health_set_admin(&health[1], LB_ADMIN_MAINT, T0),
			    0);
		for (int k = 0; k < 100; k++)
			WT_CHECK_EQ(pick_release(NULL), 2);
		/* Draining means no new requests: the ones it has may finish. */
		load[0].active = 7;
		WT_CHECK_EQ(lb_release(&ctx, 0), 0);
		WT_CHECK_EQ(load[0].active, 6);
		WT_CHECK_EQ(lb_health_set_admin(&health[2], LB_ADMIN_DRAIN, T0),
			    0);
		WT_CHECK_EQ(pick_release(NULL), 3); /* all primaries out */
		WT_CHECK_EQ(lb_health_set_admin(&health[3], LB_ADMIN_MAINT, T0),
			    0);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -ENOENT);
		WT_CHECK_EQ(lb_health_set_admin(&health[1], LB_ADMIN_READY, T0),
			    0);
		WT_CHECK_EQ(pick_release(NULL), 1);
	}
}

static void test_maxconn_full_skipped_then_busy(void)
{
	enum lb_algo algos[] = { LB_ALGO_LEASTCONN, LB_ALGO_ROUNDROBIN,
				 LB_ALGO_P2C };

	for (int a = 0; a < 3; a++) {
		setup(2, algos[a]);
		add_backups(2, 1);
		members[0].maxconn = 1;
		members[1].maxconn = 2;
		members[2].maxconn = 1;
		int got[3] = { 0, 0, 0 };
		for (int k = 0; k < 3; k++) {
			int i = lb_select(&ctx, &pool, &sched, NULL);
			WT_CHECK(i >= 0 && i < 2);
			if (i >= 0)
				got[i]++;
		}
		WT_CHECK_EQ(got[0], 1);
		WT_CHECK_EQ(got[1], 2);
		/* All primaries full: queue, do not spill to the backup. */
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -EBUSY);
		WT_CHECK_EQ(lb_pool_nbsrv(&ctx, &pool), 2);
		lb_release(&ctx, 1);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), 1);
		/* Full primaries that the request already tried do not hold
		 * it back: the backup takes it, and when full, it waits. */
		struct lb_exclude x;
		lb_exclude_init(&x);
		lb_exclude_add(&x, 0);
		lb_exclude_add(&x, 1);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, &x), 2);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, &x), -EBUSY);
		/* Down primaries plus a full backup: still a queue, not a 503. */
		set_down(0);
		set_down(1);
		WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -EBUSY);
	}
}

static void test_release_and_errors(void)
{
	setup(3, LB_ALGO_LEASTCONN);
	WT_CHECK_EQ(lb_release(&ctx, 0), -ERANGE);
	WT_CHECK_EQ(load[0].active, 0);
	WT_CHECK_EQ(lb_release(&ctx, NSRV), -EINVAL);
	WT_CHECK_EQ(lb_select(NULL, &pool, &sched, NULL), -EINVAL);
	WT_CHECK_EQ(lb_select(&ctx, NULL, &sched, NULL), -EINVAL);
	WT_CHECK_EQ(lb_select(&ctx, &pool, NULL, NULL), -EINVAL);
	pool.algo = LB_ALGO__COUNT;
	WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -EINVAL);
	pool.algo = LB_ALGO_ROUNDROBIN;
	struct lb_sched small;
	int64_t two[2];
	WT_CHECK_EQ(lb_sched_init(&small, two, 2), 0);
	WT_CHECK_EQ(lb_select(&ctx, &pool, &small, NULL), -ENOSPC);
	WT_CHECK_EQ(lb_sched_init(&small, NULL, 0), 0);
	pool.algo = LB_ALGO_LEASTCONN;
	WT_CHECK(lb_select(&ctx, &pool, &small, NULL) >= 0); /* no WRR needed */
	WT_CHECK_EQ(lb_sched_init(&small, NULL, 1), -EINVAL);
	pool.n = LB_POOL_MAX + 1;
	WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -E2BIG);
	pool.n = 0;
	WT_CHECK_EQ(lb_select(&ctx, &pool, &sched, NULL), -ENOENT);
	/* A member whose slot is out of range is never chosen. */
	setup(2, LB_ALGO_LEASTCONN);
	members[0].srv = NSRV;
	for (int k = 0; k < 10; k++)
		WT_CHECK_EQ(pick_release(NULL), 1);
	WT_CHECK_EQ(lb_ctx_init(&ctx, NULL, health, NSRV, 1), -EINVAL);
	WT_CHECK_EQ(lb_ctx_init(&ctx, load, health, 0, 1), -EINVAL);
	WT_CHECK_EQ(lb_ctx_init_strided(&ctx, load, 1, health,
					sizeof(health[0]), NSRV, 1),
		    -EINVAL);
}

static void test_strided_records(void)
{
	/* The proxy's own per-server struct with both records embedded. */
	static struct my_server {
		uint64_t id;
		struct lb_load load;
		char other[40];
		struct lb_health health;
	} srv[4];
	struct lb_member m[4];
	struct lb_ctx c;
	struct lb_sched s;
	int64_t w[4];

	for (uint32_t i = 0; i < 4; i++) {
		WT_CHECK_EQ(lb_health_init(&srv[i].health, NULL, true, T0), 0);
		srv[i].load = (struct lb_load){ 0 };
		m[i] = (struct lb_member){ .srv = i, .weight = 1 };
	}
	WT_CHECK_EQ(lb_ctx_init_strided(&c, &srv[0].load, sizeof(srv[0]),
					&srv[0].health, sizeof(srv[0]), 4, 7),
		    0);
	WT_CHECK_EQ(lb_sched_init(&s, w, 4), 0);
	struct lb_pool p = { .members = m, .n = 4, .algo = LB_ALGO_LEASTCONN };
	srv[0].load.active = 2;
	srv[1].load.active = 1;
	srv[3].load.active = 1;
	lb_health_set_admin(&srv[2].health, LB_ADMIN_MAINT, T0);
	WT_CHECK_EQ(lb_select(&c, &p, &s, NULL), 1);
	WT_CHECK_EQ(srv[1].load.active, 2);
	WT_CHECK_EQ(lb_select(&c, &p, &s, NULL), 3);
	WT_CHECK_EQ(lb_release(&c, 3), 0);
	WT_CHECK_EQ(srv[3].load.active, 1);
	WT_CHECK_EQ(srv[3].load.picks, 1);
}

static void test_algo_names_and_rng(void)
{
	WT_CHECK_EQ(lb_algo_parse("leastconn"), LB_ALGO_LEASTCONN);
	WT_CHECK_EQ(lb_algo_parse("roundrobin"), LB_ALGO_ROUNDROBIN);
	WT_CHECK_EQ(lb_algo_parse("random"), LB_ALGO_P2C);
	WT_CHECK_EQ(lb_algo_parse("random(2)"), LB_ALGO_P2C);
	WT_CHECK_EQ(lb_algo_parse("p2c"), LB_ALGO_P2C);
	WT_CHECK_EQ(lb_algo_parse("source"), -EINVAL);
	WT_CHECK_EQ(lb_algo_parse(NULL), -EINVAL);
	WT_CHECK_EQ(strcmp(lb_algo_name(LB_ALGO_LEASTCONN), "leastconn"), 0);
	WT_CHECK(lb_algo_name(LB_ALGO__COUNT) == NULL);

	struct lb_rng a, b;
	lb_rng_seed(&a, 0);
	WT_CHECK(a.s != 0);
	lb_rng_seed(&a, 5);
	lb_rng_seed(&b, 5);
	for (int k = 0; k < 100; k++)
		WT_CHECK_EQ(lb_rng_next(&a), lb_rng_next(&b));
	lb_rng_seed(&b, 6);
	WT_CHECK(lb_rng_next(&a) != lb_rng_next(&b));
	WT_CHECK_EQ(lb_rng_below(&a, 0), 0);
	WT_CHECK_EQ(lb_rng_below(&a, 1), 0);
	int hist[7] = { 0 };
	for (int k = 0; k < 70000; k++) {
		uint32_t v = lb_rng_below(&a, 7);
		WT_CHECK(v < 7);
		if (v < 7)
			hist[v]++;
	}
	for (int i = 0; i < 7; i++)
		WT_CHECK(hist[i] > 9500 && hist[i] < 10500);
	for (int k = 0; k < 1000; k++)
		WT_CHECK(lb_rng_below(&a, 0xffffffffu) < 0xffffffffu);
}

/* Many servers, random state, every algorithm: whatever lb_select returns
 * must agree with a direct reading of the rules. */
static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int classify_ref(uint32_t i, const struct lb_exclude *x)
{
	const struct lb_member *m = &members[i];
	if (m->weight == 0 || !lb_hs_usable(lb_health_read(&health[m->srv])) ||
	    lb_exclude_has(x, m->srv))
		return 0;
	if (m->maxconn && load[m->srv].active >= m->maxconn)
		return 1;
	return 2;
}

static void test_random_property(void)
{
	uint64_t seed = 0xfeedbeefull;
	struct lb_exclude x;
	long results[3][4] = {
		{ 0 }
	}; /* per algo: ok primary, ok backup, busy, noent */

	for (int round = 0; round < 3000; round++) {
		enum lb_algo algo = (enum lb_algo)(round % 3);
		uint32_t n = 1 + (uint32_t)(xs(&seed) % NSRV);
		setup(n, algo);
		for (uint32_t i = 0; i < n; i++) {
			members[i].weight = (uint16_t)(xs(&seed) % 6);
			members[i].flags =
				xs(&seed) % 8 == 0 ? LB_MEMBER_BACKUP : 0;
			members[i].maxconn =
				xs(&seed) % 4 == 0 ?
					1 + (uint32_t)(xs(&seed) % 4) :
					0;
			load[i].active = (uint32_t)(xs(&seed) % 6);
			uint64_t r = xs(&seed) % 10;
			if (r == 0)
				set_down(i);
			else if (r == 1)
				lb_health_set_admin(&health[i], LB_ADMIN_DRAIN,
						    T0);
			else if (r == 2)
				lb_health_set_admin(&health[i], LB_ADMIN_MAINT,
						    T0);
		}
		lb_exclude_init(&x);
		for (int e = (int)(xs(&seed) % 4); e > 0; e--)
			lb_exclude_add(&x, (uint32_t)(xs(&seed) % n));
		for (int step = 0; step < 20; step++) {
			int prim_ok = 0, prim_full = 0, bck_ok = 0,
			    bck_full = 0;
			int first_backup = -1;
			uint64_t min_l = 0;
			uint32_t min_w = 1;
			for (uint32_t i = 0; i < n; i++) {
				int c = classify_ref(i, &x);
				bool bck = members[i].flags & LB_MEMBER_BACKUP;
				if (c == 2 && bck && first_backup < 0)
					first_backup = (int)i;
				if (c == 2 && !bck) {
					uint64_t l = load[i].active;
					if (prim_ok == 0 ||
					    l * min_w <
						    min_l * members[i].weight) {
						min_l = l;
						min_w = members[i].weight;
					}
				}
				int *ok = bck ? &bck_ok : &prim_ok;
				int *full = bck ? &bck_full : &prim_full;
				if (c == 2)
					(*ok)++;
				else if (c == 1)
					(*full)++;
			}
			uint32_t before[NSRV];
			for (uint32_t i = 0; i < n; i++)
				before[i] = load[i].active;
			int got = lb_select(&ctx, &pool, &sched, &x);
			if (prim_ok) {
				WT_CHECK(got >= 0 && !(members[got].flags &
						       LB_MEMBER_BACKUP));
				if (got >= 0)
					WT_CHECK_EQ(classify_ref((uint32_t)got,
								 &x),
						    2 - (before[got] + 1 ==
							 members[got].maxconn));
				if (algo == LB_ALGO_LEASTCONN && got >= 0)
					WT_CHECK(before[got] * min_w ==
						 min_l * members[got].weight);
				results[algo][0]++;
			} else if (prim_full) {
				WT_CHECK_EQ(got, -EBUSY);
				results[algo][2]++;
			} else if (bck_ok) {
				WT_CHECK_EQ(got, first_backup);
				results[algo][1]++;
			} else if (bck_full) {
				WT_CHECK_EQ(got, -EBUSY);
				results[algo][2]++;
			} else {
				WT_CHECK_EQ(got, -ENOENT);
				results[algo][3]++;
			}
			/* Exactly the chosen server's count moved. */
			for (uint32_t i = 0; i < n; i++)
				WT_CHECK_EQ(load[i].active,
					    before[i] + (got == (int)i));
			if (wt_case_failed) {
				printf("#   round %d step %d algo %d n %u got %d\n",
				       round, step, algo, n, got);
				return;
			}
			/* Move things along: releases, a health flip, a retry. */
			if (got >= 0 && xs(&seed) % 2)
				lb_release(&ctx, members[got].srv);
			if (xs(&seed) % 5 == 0) {
				uint32_t i = (uint32_t)(xs(&seed) % n);
				if (lb_hs_up(lb_health_read(&health[i])))
					set_down(i);
				else
					set_up(i);
			}
			if (got >= 0 && xs(&seed) % 4 == 0)
				lb_exclude_add(&x, members[got].srv);
		}
	}
	/* The generator reached every outcome for every algorithm. */
	for (int a = 0; a < 3; a++)
		for (int o = 0; o < 4; o++)
			WT_CHECK(results[a][o] > 20);
}

int main(void)
{
	WT_RUN(test_leastconn_picks_least_loaded);
	WT_RUN(test_leastconn_rotates_ties);
	WT_RUN(test_leastconn_weights_held);
	WT_RUN(test_leastconn_weights_distribution);
	WT_RUN(test_roundrobin_sequences);
	WT_RUN(test_roundrobin_skips_unusable);
	WT_RUN(test_roundrobin_weights_distribution);
	WT_RUN(test_version_change_restarts_wrr);
	WT_RUN(test_p2c_prefers_less_loaded);
	WT_RUN(test_p2c_never_down_or_excluded);
	WT_RUN(test_p2c_weights_distribution);
	WT_RUN(test_p2c_seeded_is_deterministic);
	WT_RUN(test_exclusion_redispatch);
	WT_RUN(test_exclude_set);
	WT_RUN(test_backup_only_when_primaries_gone);
	WT_RUN(test_drain_and_maint_not_chosen);
	WT_RUN(test_maxconn_full_skipped_then_busy);
	WT_RUN(test_release_and_errors);
	WT_RUN(test_strided_records);
	WT_RUN(test_algo_names_and_rng);
	WT_RUN(test_random_property);
	return wt_done();
}
