/* lb_health: fall/rise, re-probe cadence, admin states and the published
 * word, all in virtual time. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "lb/lb_health.h"
#include "wtest.h"

#define MS 1000000ull
#define SEC (1000 * MS)
#define T0 (1000 * MS) /* arbitrary non-zero start */

static struct lb_health h;

static void fresh(bool up)
{
	WT_CHECK_EQ(lb_health_init(&h, NULL, up, T0), 0);
}

static uint64_t went_down(void)
{
	return atomic_load(&h.went_down);
}

static uint64_t went_up(void)
{
	return atomic_load(&h.went_up);
}

static void test_defaults_and_validation(void)
{
	struct lb_health_cfg c;

	lb_health_cfg_default(&c);
	WT_CHECK_EQ(c.fall, 2);
	WT_CHECK_EQ(c.rise, 2);
	WT_CHECK_EQ(c.inter_ns, 5000 * MS);
	WT_CHECK_EQ(c.fastinter_ns, 250 * MS);
	WT_CHECK_EQ(c.downinter_ns, 250 * MS);
	WT_CHECK_EQ(lb_health_cfg_check(&c), 0);
	WT_CHECK_EQ(lb_health_cfg_check(NULL), -EINVAL);
	c.fall = 0;
	WT_CHECK_EQ(lb_health_cfg_check(&c), -EINVAL);
	lb_health_cfg_default(&c);
	c.rise = 0;
	WT_CHECK_EQ(lb_health_cfg_check(&c), -EINVAL);
	lb_health_cfg_default(&c);
	c.downinter_ns = 0;
	WT_CHECK_EQ(lb_health_init(&h, &c, true, T0), -EINVAL);
	WT_CHECK_EQ(lb_health_init(NULL, NULL, true, T0), -EINVAL);

	fresh(true);
	uint32_t w = lb_health_read(&h);
	WT_CHECK(lb_hs_up(w));
	WT_CHECK(lb_hs_usable(w));
	WT_CHECK_EQ(lb_hs_admin(w), LB_ADMIN_READY);
	WT_CHECK(!(w & LB_HS_TRANSITIONAL));
	WT_CHECK(!lb_health_due(&h, T0 + 3600000 * MS));
	WT_CHECK_EQ(lb_health_next_due(&h), LB_HEALTH_NEVER);
	WT_CHECK_EQ(lb_health_on_success(NULL, T0), -EINVAL);
	WT_CHECK_EQ(lb_health_on_failure(NULL, T0, LB_FAIL_RESET), -EINVAL);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, LB_FAIL__COUNT), -EINVAL);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, (enum lb_fail_reason) - 1),
		    -EINVAL);
	WT_CHECK(lb_hs_up(lb_health_read(&h)));
}

static void test_fall_two_in_a_row(void)
{
	fresh(true);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 1 * MS, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	uint32_t w = lb_health_read(&h);
	WT_CHECK(lb_hs_usable(w)); /* one failure: still UP */
	WT_CHECK(w & LB_HS_TRANSITIONAL); /* HAProxy's "UP 1/2" */
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2 * MS, LB_FAIL_RESET),
		    LB_HEALTH_WENT_DOWN);
	w = lb_health_read(&h);
	WT_CHECK(!lb_hs_up(w));
	WT_CHECK(!lb_hs_usable(w));
	WT_CHECK(!(w & LB_HS_TRANSITIONAL));
	WT_CHECK_EQ(went_down(), 1);
	WT_CHECK_EQ(went_up(), 0);
	WT_CHECK_EQ(atomic_load(&h.last_change_ns), T0 + 2 * MS);
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_CONNECT]), 1);
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_RESET]), 1);
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_TIMEOUT]), 0);
	WT_CHECK_EQ(lb_hs_status(w)[0], 'D');
}

static void test_success_resets_failures(void)
{
	fresh(true);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, LB_FAIL_TIMEOUT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_success(&h, T0 + 1), LB_HEALTH_SAME);
	uint32_t w = lb_health_read(&h);
	WT_CHECK(lb_hs_usable(w));
	WT_CHECK(!(w & LB_HS_TRANSITIONAL));
	/* The count starts again: one more failure is not two in a row. */
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2, LB_FAIL_TIMEOUT),
		    LB_HEALTH_SAME);
	WT_CHECK(lb_hs_up(lb_health_read(&h)));
	WT_CHECK_EQ(lb_health_on_success(&h, T0 + 3), LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 4, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 5, LB_FAIL_CONNECT),
		    LB_HEALTH_WENT_DOWN);
	WT_CHECK_EQ(went_down(), 1);
}

static void test_success_on_healthy_server_writes_nothing(void)
{
	fresh(true);
	uint32_t before = lb_health_read(&h);
	for (int i = 0; i < 1000; i++)
		WT_CHECK_EQ(lb_health_on_success(&h, T0 + (uint64_t)i),
			    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_read(&h), before); /* not even the sequence */
}

static void go_down_at(uint64_t t)
{
	WT_CHECK_EQ(lb_health_on_failure(&h, t, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, t, LB_FAIL_CONNECT),
		    LB_HEALTH_WENT_DOWN);
}

static void test_probes_every_downinter(void)
{
	fresh(true);
	uint64_t t = T0 + 10 * MS;
	go_down_at(t);
	/* The first re-probe waits downinter after the failure that took the
	 * server down. */
	WT_CHECK(!lb_health_due(&h, t));
	WT_CHECK(!lb_health_due(&h, t + 250 * MS - 1));
	WT_CHECK_EQ(lb_health_next_due(&h), t + 250 * MS);
	for (int k = 1; k <= 20; k++) {
		uint64_t start = t + (uint64_t)k * 250 * MS;
		WT_CHECK(!lb_health_due(&h, start - 1));
		WT_CHECK(lb_health_due(&h, start));
		WT_CHECK_EQ(lb_health_probe_begin(&h, start), 0);
		WT_CHECK_EQ(lb_health_probe_begin(&h, start), -EBUSY);
		/* In flight: never due, whatever the time. */
		WT_CHECK(!lb_health_due(&h, start + 10000 * MS));
		WT_CHECK_EQ(lb_health_next_due(&h), LB_HEALTH_NEVER);
		WT_CHECK_EQ(lb_health_probe_failed(&h, start + 3 * MS,
						   LB_FAIL_CONNECT),
			    LB_HEALTH_SAME);
		WT_CHECK(!lb_hs_up(lb_health_read(&h)));
		/* The cadence is start to start, not end to start. */
		WT_CHECK_EQ(lb_health_next_due(&h), start + 250 * MS);
	}
	WT_CHECK_EQ(atomic_load(&h.probes), 20);
	WT_CHECK_EQ(went_down(), 1);
	WT_CHECK_EQ(went_up(), 0);
}

static void test_slow_probe_due_right_after(void)
{
	fresh(false);
	uint64_t t = T0 + 250 * MS;
	WT_CHECK(lb_health_due(&h, t));
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	/* Timed out after 1 s: the next one is already due. */
	WT_CHECK_EQ(lb_health_probe_failed(&h, t + 1000 * MS, LB_FAIL_TIMEOUT),
		    LB_HEALTH_SAME);
	WT_CHECK(lb_health_due(&h, t + 1000 * MS));
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_TIMEOUT]), 1);
}

static void test_rise_two_in_a_row(void)
{
	fresh(true);
	go_down_at(T0);
	uint64_t t = T0 + 250 * MS;
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + 1 * MS), LB_HEALTH_SAME);
	uint32_t w = lb_health_read(&h);
	WT_CHECK(!lb_hs_up(w)); /* one success: still DOWN */
	WT_CHECK(w & LB_HS_TRANSITIONAL); /* "DOWN 1/2" */
	WT_CHECK_EQ(lb_health_interval(&h), 250 * MS); /* fastinter */
	/* A failure in between restarts the count. */
	t += 250 * MS;
	WT_CHECK(lb_health_due(&h, t));
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, t + 1, LB_FAIL_STATUS),
		    LB_HEALTH_SAME);
	WT_CHECK(!(lb_health_read(&h) & LB_HS_TRANSITIONAL));
	t += 250 * MS;
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + 1), LB_HEALTH_SAME);
	t += 250 * MS;
	WT_CHECK(lb_health_due(&h, t));
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + 1), LB_HEALTH_WENT_UP);
	w = lb_health_read(&h);
	WT_CHECK(lb_hs_usable(w));
	WT_CHECK(!(w & LB_HS_TRANSITIONAL));
	WT_CHECK_EQ(went_up(), 1);
	WT_CHECK_EQ(went_down(), 1);
	WT_CHECK_EQ(atomic_load(&h.last_change_ns), t + 1);
	WT_CHECK(!lb_health_due(&h, t + 10000 * MS));
	WT_CHECK_EQ(lb_health_next_due(&h), LB_HEALTH_NEVER);
	/* Back UP, fall counts from zero again. */
	WT_CHECK_EQ(lb_health_on_failure(&h, t + 2, LB_FAIL_RESET),
		    LB_HEALTH_SAME);
	WT_CHECK(lb_hs_up(lb_health_read(&h)));
}

static void test_traffic_while_down_is_ignored(void)
{
	fresh(true);
	go_down_at(T0);
	for (int i = 0; i < 5; i++)
		WT_CHECK_EQ(lb_health_on_success(&h, T0 + 1), LB_HEALTH_SAME);
	WT_CHECK(!lb_hs_up(lb_health_read(&h)));
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2, LB_FAIL_RESET),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_CONNECT]), 2);
	WT_CHECK_EQ(atomic_load(&h.failures[LB_FAIL_RESET]), 1);
	WT_CHECK_EQ(went_down(), 1);
	/* And a late failure does not push the probe back. */
	WT_CHECK_EQ(lb_health_next_due(&h), T0 + 250 * MS);
}

static void test_transitions_counted(void)
{
	fresh(true);
	uint64_t t = T0;
	for (int cycle = 0; cycle < 5; cycle++) {
		go_down_at(t);
		for (int k = 0; k < 2; k++) {
			t += 250 * MS;
			WT_CHECK(lb_health_due(&h, t));
			WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
			WT_CHECK_EQ(lb_health_probe_ok(&h, t + 1),
				    k == 1 ? LB_HEALTH_WENT_UP :
					     LB_HEALTH_SAME);
		}
		t += 1000 * MS;
	}
	WT_CHECK_EQ(went_down(), 5);
	WT_CHECK_EQ(went_up(), 5);
	WT_CHECK(lb_hs_up(lb_health_read(&h)));
}

static void test_probe_failures_take_an_up_server_down(void)
{
	/* Active checks (later) feed the same machine while UP. */
	fresh(true);
	WT_CHECK_EQ(lb_health_interval(&h), 5000 * MS); /* inter */
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, T0 + 1, LB_FAIL_STATUS),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_interval(&h), 250 * MS); /* fastinter */
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 2), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, T0 + 3), LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_interval(&h), 5000 * MS);
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 4), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, T0 + 5, LB_FAIL_STATUS),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 6), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, T0 + 7, LB_FAIL_TIMEOUT),
		    LB_HEALTH_WENT_DOWN);
	WT_CHECK_EQ(lb_health_interval(&h), 250 * MS); /* downinter */
	WT_CHECK_EQ(lb_health_next_due(&h), T0 + 7 + 250 * MS);
}

static void test_custom_config(void)
{
	struct lb_health_cfg c;

	lb_health_cfg_default(&c);
	c.fall = 3;
	c.rise = 1;
	c.downinter_ns = 1000 * MS;
	c.fastinter_ns = 100 * MS;
	c.inter_ns = 2000 * MS;
	WT_CHECK_EQ(lb_health_init(&h, &c, true, T0), 0);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0, LB_FAIL_CONNECT),
		    LB_HEALTH_WENT_DOWN);
	WT_CHECK(!lb_health_due(&h, T0 + 999 * MS));
	WT_CHECK(lb_health_due(&h, T0 + 1000 * MS));
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 1000 * MS), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, T0 + 1001 * MS), LB_HEALTH_WENT_UP);

	/* A table update that lowers fall keeps the count but lets the next
	 * event decide; a shorter downinter pulls a pending probe in. */
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2000 * MS, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2000 * MS, LB_FAIL_CONNECT),
		    LB_HEALTH_SAME);
	c.fall = 2;
	WT_CHECK_EQ(lb_health_set_config(&h, &c, T0 + 2001 * MS), 0);
	WT_CHECK(lb_hs_up(lb_health_read(&h)));
	WT_CHECK_EQ(lb_health_on_failure(&h, T0 + 2002 * MS, LB_FAIL_CONNECT),
		    LB_HEALTH_WENT_DOWN);
	WT_CHECK_EQ(lb_health_next_due(&h), T0 + 3002 * MS);
	c.downinter_ns = 250 * MS;
	WT_CHECK_EQ(lb_health_set_config(&h, &c, T0 + 2100 * MS), 0);
	WT_CHECK_EQ(lb_health_next_due(&h), T0 + 2350 * MS);
	WT_CHECK_EQ(went_down(), 2);
	c.rise = 0;
	WT_CHECK_EQ(lb_health_set_config(&h, &c, T0), -EINVAL);
	WT_CHECK_EQ(h.cfg.rise, 1); /* unchanged */
}

/* Active checks (HAProxy's `check inter 5s fastinter 250ms downinter
 * 250ms fall 2 rise 2`): an UP server is checked every inter; a failed
 * check makes it transitional and the next comes fastinter later; fall
 * failures take it DOWN, re-probed every downinter; rise successes bring
 * it back and the cadence returns to inter. A live-traffic failure also
 * pulls the next check to fastinter. */
static void test_active_checks(void)
{
	struct lb_health_cfg c;
	uint64_t t;

	lb_health_cfg_default(&c);
	c.active = true;
	WT_CHECK_EQ(lb_health_init(&h, &c, true, T0), 0);
	WT_CHECK_EQ(lb_health_next_due(&h), T0 + 250 * MS); /* first: soon */
	WT_CHECK(!lb_health_due(&h, T0 + 249 * MS));
	t = T0 + 250 * MS;
	WT_CHECK(lb_health_due(&h, t));
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK(!lb_health_due(&h, t + 10 * SEC)); /* one at a time */
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + MS), LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_next_due(&h), t + 5 * SEC); /* stable: inter */
	t += 5 * SEC;
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, t + 2 * MS, LB_FAIL_STATUS),
		    LB_HEALTH_SAME);
	WT_CHECK(lb_health_read(&h) & LB_HS_TRANSITIONAL);
	WT_CHECK_EQ(lb_health_next_due(&h), t + 252 * MS); /* fastinter */
	t += 252 * MS;
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_failed(&h, t + 2 * MS, LB_FAIL_TIMEOUT),
		    LB_HEALTH_WENT_DOWN);
	WT_CHECK_EQ(lb_health_next_due(&h), t + 2 * MS + 250 * MS);
	t += 2 * MS + 250 * MS;
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + MS), LB_HEALTH_SAME);
	t += 250 * MS; /* transitional while DOWN: fastinter */
	WT_CHECK_EQ(lb_health_next_due(&h), t);
	WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, t + MS), LB_HEALTH_WENT_UP);
	WT_CHECK_EQ(lb_health_next_due(&h), t + MS + 5 * SEC);
	/* live traffic fails once: the next check comes fastinter later */
	WT_CHECK_EQ(lb_health_on_failure(&h, t + SEC, LB_FAIL_RESET),
		    LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_next_due(&h), t + SEC + 250 * MS);
	/* passive only again (a table turns checks off): no UP check */
	c.active = false;
	WT_CHECK_EQ(lb_health_set_config(&h, &c, t + SEC), 0);
	WT_CHECK_EQ(lb_health_next_due(&h), LB_HEALTH_NEVER);
}

/* A worker that does not own the checks mirrors the owner's word: its
 * operational bits follow, its admin bits stay its own, and its counts of
 * transitions stay 0 (the owner's are the ones exported). */
static void test_mirror(void)
{
	struct lb_health owner;
	uint32_t w;

	fresh(true);
	WT_CHECK_EQ(lb_health_init(&owner, NULL, true, T0), 0);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_DRAIN, T0), 0);
	WT_CHECK(!lb_health_mirror(&h, lb_health_read(&owner), T0));
	lb_health_on_failure(&owner, T0, LB_FAIL_CONNECT);
	lb_health_on_failure(&owner, T0, LB_FAIL_CONNECT);
	WT_CHECK(lb_health_mirror(&h, lb_health_read(&owner), T0 + 3));
	w = lb_health_read(&h);
	WT_CHECK(!lb_hs_up(w));
	WT_CHECK_EQ(lb_hs_admin(w), LB_ADMIN_DRAIN);
	WT_CHECK_EQ(atomic_load(&h.last_change_ns), T0 + 3);
	WT_CHECK_EQ(went_down(), 0);
	lb_health_probe_begin(&owner, T0 + SEC);
	lb_health_probe_ok(&owner, T0 + SEC);
	WT_CHECK(lb_health_mirror(&h, lb_health_read(&owner), T0 + SEC));
	WT_CHECK(lb_health_read(&h) & LB_HS_TRANSITIONAL);
	WT_CHECK(!lb_hs_up(lb_health_read(&h)));
}

static void test_admin_states(void)
{
	fresh(true);
	uint32_t w0 = lb_health_read(&h);
	WT_CHECK_EQ(strcmp(lb_hs_status(w0), "UP"), 0);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_DRAIN, T0 + 5), 0);
	uint32_t w = lb_health_read(&h);
	WT_CHECK(lb_hs_up(w));
	WT_CHECK(!lb_hs_usable(w));
	WT_CHECK_EQ(lb_hs_admin(w), LB_ADMIN_DRAIN);
	WT_CHECK_EQ(strcmp(lb_hs_status(w), "DRAIN"), 0);
	WT_CHECK_EQ(lb_hs_seq(w), lb_hs_seq(w0) + 1);
	WT_CHECK_EQ(atomic_load(&h.last_change_ns), T0 + 5);
	/* Setting the same state again changes nothing, not even the seq. */
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_DRAIN, T0 + 6), 0);
	WT_CHECK_EQ(lb_health_read(&h), w);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_MAINT, T0 + 7), 0);
	w = lb_health_read(&h);
	WT_CHECK(!lb_hs_usable(w));
	WT_CHECK_EQ(strcmp(lb_hs_status(w), "MAINT"), 0);
	/* Health keeps working under any admin state, and admin survives it. */
	go_down_at(T0 + 8);
	w = lb_health_read(&h);
	WT_CHECK_EQ(lb_hs_admin(w), LB_ADMIN_MAINT);
	WT_CHECK_EQ(strcmp(lb_hs_status(w), "MAINT"), 0);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_DRAIN, T0 + 9), 0);
	WT_CHECK_EQ(strcmp(lb_hs_status(lb_health_read(&h)), "DOWN"), 0);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_READY, T0 + 10), 0);
	w = lb_health_read(&h);
	WT_CHECK(!lb_hs_usable(w)); /* READY but DOWN */
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 300 * MS), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, T0 + 301 * MS), LB_HEALTH_SAME);
	WT_CHECK_EQ(lb_health_probe_begin(&h, T0 + 550 * MS), 0);
	WT_CHECK_EQ(lb_health_probe_ok(&h, T0 + 551 * MS), LB_HEALTH_WENT_UP);
	WT_CHECK(lb_hs_usable(lb_health_read(&h)));
	WT_CHECK_EQ(lb_health_set_admin(&h, (enum lb_admin)3, T0), -EINVAL);
	WT_CHECK_EQ(lb_health_set_admin(NULL, LB_ADMIN_READY, T0), -EINVAL);
	WT_CHECK(lb_hs_usable(lb_health_read(&h)));
}

static void test_seq_counts_every_change(void)
{
	fresh(true);
	uint32_t s0 = lb_hs_seq(lb_health_read(&h));
	go_down_at(T0); /* UP 1/2, then DOWN: two changes */
	WT_CHECK_EQ(lb_hs_seq(lb_health_read(&h)), s0 + 2);
	/* Re-init of a reused slot keeps the sequence moving. */
	WT_CHECK_EQ(lb_health_init(&h, NULL, true, T0), 0);
	WT_CHECK_EQ(lb_hs_seq(lb_health_read(&h)), s0 + 3);
	WT_CHECK_EQ(went_down(), 0);
	/* The sequence wraps inside its 24 bits without touching the state. */
	atomic_store(&h.word, (0xffffffu << LB_HS_SEQ_SHIFT) | LB_HS_UP);
	WT_CHECK_EQ(lb_health_set_admin(&h, LB_ADMIN_DRAIN, T0), 0);
	uint32_t w = lb_health_read(&h);
	WT_CHECK_EQ(lb_hs_seq(w), 0);
	WT_CHECK(lb_hs_up(w));
	WT_CHECK_EQ(lb_hs_admin(w), LB_ADMIN_DRAIN);
}

/* Reference model: the state machine as the issue states it. */
struct model {
	bool up;
	int fails, oks;
	uint64_t down, upc;
};

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_random_against_model(void)
{
	struct lb_health_cfg c;
	uint64_t seed = 0x5eedf00dull;

	for (int round = 0; round < 50; round++) {
		lb_health_cfg_default(&c);
		c.fall = (uint16_t)(1 + xs(&seed) % 4);
		c.rise = (uint16_t)(1 + xs(&seed) % 4);
		WT_CHECK_EQ(lb_health_init(&h, &c, true, 0), 0);
		struct model m = { .up = true };
		uint64_t t = 0;
		for (int i = 0; i < 2000; i++) {
			t += xs(&seed) % (100 * MS);
			int ev = (int)(xs(&seed) % 4);
			int rc;
			int want = LB_HEALTH_SAME;
			if (ev == 0) { /* traffic ok */
				rc = lb_health_on_success(&h, t);
				if (m.up)
					m.fails = 0;
			} else if (ev == 1) { /* traffic failure */
				rc = lb_health_on_failure(&h, t, LB_FAIL_RESET);
				if (m.up && ++m.fails >= c.fall) {
					m.up = false;
					m.fails = m.oks = 0;
					m.down++;
					want = LB_HEALTH_WENT_DOWN;
				}
			} else if (!m.up && !lb_health_due(&h, t)) {
				continue; /* probes only when due */
			} else {
				WT_CHECK_EQ(lb_health_probe_begin(&h, t), 0);
				if (ev == 2) {
					rc = lb_health_probe_ok(&h, t + 1);
					if (m.up) {
						m.fails = 0;
					} else if (++m.oks >= c.rise) {
						m.up = true;
						m.fails = m.oks = 0;
						m.upc++;
						want = LB_HEALTH_WENT_UP;
					}
				} else {
					rc = lb_health_probe_failed(
						&h, t + 1, LB_FAIL_TIMEOUT);
					if (!m.up) {
						m.oks = 0;
					} else if (++m.fails >= c.fall) {
						m.up = false;
						m.fails = m.oks = 0;
						m.down++;
						want = LB_HEALTH_WENT_DOWN;
					}
				}
			}
			WT_CHECK_EQ(rc, want);
			uint32_t w = lb_health_read(&h);
			WT_CHECK_EQ(lb_hs_up(w), m.up);
			bool tr = (m.up && m.fails > 0) || (!m.up && m.oks > 0);
			WT_CHECK_EQ((w & LB_HS_TRANSITIONAL) != 0, tr);
			if (wt_case_failed)
				return;
		}
		WT_CHECK_EQ(went_down(), m.down);
		WT_CHECK_EQ(went_up(), m.upc);
	}
}

/* Another lcore reads while the writer flips the server: every word it
 * sees is well formed and the sequence never goes backwards. */
static atomic_bool stop_reader;
static atomic_int reader_bad;
static atomic_long reader_reads;

static void *reader(void *arg)
{
	(void)arg;
	uint32_t last = lb_hs_seq(lb_health_read(&h));
	while (!atomic_load_explicit(&stop_reader, memory_order_relaxed)) {
		uint32_t w = lb_health_read(&h);
		uint32_t seq = lb_hs_seq(w);
		if (lb_hs_admin(w) > LB_ADMIN_MAINT || (w & 0xf0u) != 0 ||
		    ((seq - last) & 0xffffffu) > 0x800000u)
			atomic_fetch_add(&reader_bad, 1);
		last = seq;
		atomic_fetch_add_explicit(&reader_reads, 1,
					  memory_order_relaxed);
	}
	return NULL;
}

static void test_concurrent_reader(void)
{
	pthread_t th;

	fresh(true);
	atomic_store(&stop_reader, false);
	atomic_store(&reader_reads, 0);
	WT_CHECK_EQ(pthread_create(&th, NULL, reader, NULL), 0);
	/* On a busy 2-CPU box the reader may start late: wait for it, then
	 * write until it has seen plenty (bounded, so a stuck reader fails). */
	while (atomic_load(&reader_reads) == 0)
		sched_yield();
	uint64_t t = T0;
	for (long i = 0; i < 200000 ||
			 (atomic_load(&reader_reads) < 100000 && i < 100000000);
	     i++) {
		t += MS;
		if (lb_hs_up(lb_health_read(&h))) {
			lb_health_on_failure(&h, t, LB_FAIL_CONNECT);
		} else if (lb_health_probe_begin(&h, t) == 0) {
			lb_health_probe_ok(&h, t);
		}
		if (i % 1000 == 0)
			lb_health_set_admin(&h, (enum lb_admin)((i / 1000) % 3),
					    t);
	}
	atomic_store(&stop_reader, true);
	WT_CHECK_EQ(pthread_join(th, NULL), 0);
	WT_CHECK_EQ(atomic_load(&reader_bad), 0);
	WT_CHECK(atomic_load(&reader_reads) >= 100000);
	WT_CHECK(went_down() > 1000);
}

int main(void)
{
	WT_RUN(test_defaults_and_validation);
	WT_RUN(test_fall_two_in_a_row);
	WT_RUN(test_success_resets_failures);
	WT_RUN(test_success_on_healthy_server_writes_nothing);
	WT_RUN(test_probes_every_downinter);
	WT_RUN(test_slow_probe_due_right_after);
	WT_RUN(test_rise_two_in_a_row);
	WT_RUN(test_traffic_while_down_is_ignored);
	WT_RUN(test_transitions_counted);
	WT_RUN(test_probe_failures_take_an_up_server_down);
	WT_RUN(test_custom_config);
	WT_RUN(test_admin_states);
	WT_RUN(test_seq_counts_every_change);
	WT_RUN(test_random_against_model);
	WT_RUN(test_concurrent_reader);
	WT_RUN(test_active_checks);
	WT_RUN(test_mirror);
	return wt_done();
}
