/* Timing wheel in virtual time: exact expiry (never early, at most a tick
 * late), cancel, lazy re-arm, cascades for long timeouts, callbacks that
 * re-arm or cancel, next-expiry, and a randomised comparison with a model. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "timer/timer_wheel.h"
#include "wtest.h"

#define MS 1000000ull
#define SEC 1000000000ull
#define TICK TW_DEFAULT_TICK_NS

struct item {
	struct tw_entry e;
	uint64_t due; /* requested ns */
	uint64_t fired_at; /* now passed to the callback, 0 = not fired */
	int fires;
};

static struct tw_wheel W;

static void on_fire(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	struct item *it = (struct item *)((char *)e - offsetof(struct item, e));

	(void)w;
	it->fired_at = now;
	it->fires++;
}

static void arm(struct item *it, uint64_t due)
{
	tw_entry_init(&it->e, on_fire);
	it->due = due;
	it->fired_at = 0;
	it->fires = 0;
	tw_arm(&W, &it->e, due);
}

static void test_exact_expiry(void)
{
	struct item a;

	tw_init(&W, 0, 1 * SEC);
	arm(&a, 1 * SEC + 40 * MS);
	WT_CHECK_EQ(tw_count(&W), 1);
	WT_CHECK_EQ(tw_advance(&W, 1 * SEC + 40 * MS - 1), 0);
	WT_CHECK_EQ(a.fires, 0);
	WT_CHECK_EQ(tw_advance(&W, 1 * SEC + 40 * MS), 1);
	WT_CHECK_EQ(a.fires, 1);
	WT_CHECK_EQ(a.fired_at, 1 * SEC + 40 * MS);
	WT_CHECK(!tw_armed(&a.e));
	WT_CHECK_EQ(tw_count(&W), 0);
	/* a due time that is not a tick multiple rounds up, never down */
	arm(&a, 2 * SEC + 1);
	tw_advance(&W, 2 * SEC);
	WT_CHECK_EQ(a.fires, 0);
	tw_advance(&W, 2 * SEC + TICK);
	WT_CHECK_EQ(a.fires, 1);
}

static void test_past_fires_next_advance(void)
{
	struct item a;

	tw_init(&W, 0, 5 * SEC);
	arm(&a, 1 * SEC);
	WT_CHECK_EQ(tw_advance(&W, 5 * SEC), 0); /* same tick: not yet */
	WT_CHECK(tw_next_expiry(&W) <= 5 * SEC + TICK);
	WT_CHECK_EQ(tw_advance(&W, 5 * SEC + TICK), 1);
}

static void test_cancel_and_rearm(void)
{
	struct item a, b;

	tw_init(&W, 0, 0);
	arm(&a, 10 * MS);
	arm(&b, 10 * MS);
	tw_cancel(&W, &a.e);
	tw_cancel(&W, &a.e); /* harmless twice */
	WT_CHECK_EQ(tw_count(&W), 1);
	tw_advance(&W, 20 * MS);
	WT_CHECK_EQ(a.fires, 0);
	WT_CHECK_EQ(b.fires, 1);
	/* re-arm later moves it */
	arm(&a, 30 * MS);
	tw_arm(&W, &a.e, 50 * MS);
	WT_CHECK_EQ(tw_count(&W), 1);
	tw_advance(&W, 40 * MS);
	WT_CHECK_EQ(a.fires, 0);
	tw_advance(&W, 50 * MS);
	WT_CHECK_EQ(a.fires, 1);
	WT_CHECK_EQ(tw_count(&W), 0);
	WT_CHECK_EQ(tw_next_expiry(&W), TW_NEVER);
}

static void test_arm_earliest_is_lazy(void)
{
	struct item a;

	tw_init(&W, 0, 0);
	arm(&a, 200 * MS);
	tw_arm_earliest(&W, &a.e, 900 * MS); /* later: untouched */
	WT_CHECK_EQ(tw_entry_expiry(&W, &a.e), 200 * MS);
	tw_arm_earliest(&W, &a.e, 40 * MS); /* earlier: moved */
	WT_CHECK_EQ(tw_entry_expiry(&W, &a.e), 40 * MS);
	tw_cancel(&W, &a.e);
	tw_arm_earliest(&W, &a.e, 70 * MS); /* unarmed: armed */
	WT_CHECK_EQ(tw_entry_expiry(&W, &a.e), 70 * MS);
	tw_advance(&W, 70 * MS);
	WT_CHECK_EQ(a.fires, 1);
}

static void test_long_timeout_cascades(void)
{
	struct item a, b;

	tw_init(&W, 0, 7 * SEC);
	arm(&a, 7 * SEC + 3600 * SEC);
	arm(&b, 7 * SEC + 3600 * SEC + 1 * MS);
	for (uint64_t t = 8 * SEC; t < 3607 * SEC; t += 1 * SEC)
		tw_advance(&W, t);
	WT_CHECK_EQ(a.fires, 0);
	tw_advance(&W, 3607 * SEC);
	WT_CHECK_EQ(a.fires, 1);
	WT_CHECK_EQ(a.fired_at, 3607 * SEC);
	WT_CHECK_EQ(b.fires, 0);
	tw_advance(&W, 3607 * SEC + 1 * MS);
	WT_CHECK_EQ(b.fires, 1);
	WT_CHECK(W.cascaded > 0);

	/* one big jump fires it too */
	tw_init(&W, 0, 0);
	arm(&a, 3600 * SEC);
	WT_CHECK_EQ(tw_advance(&W, 3599 * SEC), 0);
	WT_CHECK_EQ(tw_advance(&W, 4000 * SEC), 1);
	WT_CHECK_EQ(a.fired_at, 4000 * SEC);
}

static void test_beyond_span(void)
{
	struct item a;
	uint64_t due = 200ull * 3600 * SEC; /* 200 h > 2^32 ticks of 100 us */

	tw_init(&W, 0, 0);
	arm(&a, due);
	for (uint64_t t = 3600 * SEC; t < due; t += 3600 * SEC)
		tw_advance(&W, t);
	tw_advance(&W, due - 1);
	WT_CHECK_EQ(a.fires, 0);
	tw_advance(&W, due);
	WT_CHECK_EQ(a.fires, 1);
}

static struct item periodic, victim;

static void on_periodic(struct tw_wheel *w, struct tw_entry *e, uint64_t now)
{
	on_fire(w, e, now);
	tw_cancel(w, &victim.e); /* same slot, still on the firing list */
	if (periodic.fires < 5)
		tw_arm(w, e, now + 10 * MS);
}

static void test_callback_rearm_and_cancel(void)
{
	tw_init(&W, 0, 0);
	arm(&victim, 10 * MS);
	arm(&periodic, 10 * MS);
	periodic.e.fn = on_periodic;
	for (uint64_t t = 0; t <= 1 * SEC; t += 5 * MS)
		tw_advance(&W, t);
	WT_CHECK_EQ(periodic.fires, 5);
	WT_CHECK_EQ(victim.fires, 0);
	WT_CHECK_EQ(tw_count(&W), 0);
}

static void test_next_expiry(void)
{
	struct item a;

	tw_init(&W, 0, 0);
	WT_CHECK_EQ(tw_next_expiry(&W), TW_NEVER);
	arm(&a, 90 * SEC);
	/* sleeping until next_expiry repeatedly reaches the timer with a
	 * handful of wake-ups (cascade points), never past it */
	uint64_t now = 0;
	int wakeups = 0;

	while (a.fires == 0 && wakeups < 100) {
		uint64_t nx = tw_next_expiry(&W);

		WT_CHECK(nx > now);
		WT_CHECK(nx <= 90 * SEC);
		now = nx;
		tw_advance(&W, now);
		wakeups++;
	}
	WT_CHECK_EQ(a.fires, 1);
	WT_CHECK_EQ(a.fired_at, 90 * SEC);
	WT_CHECK(wakeups <= 4);
}

/* Randomised: many timers across all levels, advanced in random steps;
 * each must fire exactly once, at the first advance at or after its due
 * time. Some are cancelled or moved on the way. */
#define N_RAND 4000
static struct item items[N_RAND];

static void test_random_against_model(void)
{
	uint64_t now = 12345 * MS;
	uint64_t prev = now;
	int errors = 0;

	srand(7);
	tw_init(&W, 0, now);
	for (int i = 0; i < N_RAND; i++) {
		uint64_t span = (uint64_t[]){ 5 * MS, 300 * MS, 30 * SEC,
					      5000 * SEC }[i % 4];
		arm(&items[i], now + (uint64_t)rand() % span);
	}
	for (int i = 0; i < N_RAND; i += 10) {
		if (i % 20 == 0) {
			tw_cancel(&W, &items[i].e);
			items[i].due = TW_NEVER;
		} else {
			items[i].due = now + (uint64_t)rand() % (50 * SEC);
			tw_arm(&W, &items[i].e, items[i].due);
		}
	}
	while (tw_count(&W) > 0) {
		prev = now;
		now += (uint64_t)rand() % (rand() % 2 ? 3 * MS : 40 * SEC);
		tw_advance(&W, now);
		for (int i = 0; i < N_RAND; i++) {
			struct item *it = &items[i];
			uint64_t due_tick = (it->due + TICK - 1) / TICK * TICK;

			if (it->due == TW_NEVER || due_tick > now) {
				errors += it->fires != 0;
			} else if (due_tick > prev) {
				errors += it->fires != 1 || it->fired_at != now;
			}
		}
	}
	for (int i = 0; i < N_RAND; i++)
		errors += items[i].fires != (items[i].due != TW_NEVER);
	WT_CHECK_EQ(errors, 0);
}

int main(void)
{
	WT_RUN(test_exact_expiry);
	WT_RUN(test_past_fires_next_advance);
	WT_RUN(test_cancel_and_rearm);
	WT_RUN(test_arm_earliest_is_lazy);
	WT_RUN(test_long_timeout_cascades);
	WT_RUN(test_beyond_span);
	WT_RUN(test_callback_rearm_and_cancel);
	WT_RUN(test_next_expiry);
	WT_RUN(test_random_against_model);
	return wt_done();
}
