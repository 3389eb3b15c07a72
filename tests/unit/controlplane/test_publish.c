/* The control segment end to end in one process: weir-cp's publisher
 * (controlplane/publish.*) and workers' pollers (dataplane/ctl/ctl_dp.*)
 * on a real /dev/shm segment (common/ctl_seg.*). The race test runs a
 * publisher thread against worker threads that keep each snapshot for a
 * while and check that its bytes did not change under them: a publisher
 * that reused a slot one worker still reads (early reclaim) fails it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ctl_seg.h"
#include "ctl/ctl_dp.h"
#include "publish.h"
#include "table_fixture.h"
#include "wtest.h"

#define SLOT_SIZE (64 * 1024)

static const char *json_a =
	"{\"target_groups\":[{\"protocol\":\"HTTP\",\"route_prefix\":\"/\","
	"\"app_name\":\"a\",\"targets\":[{\"ip\":\"10.0.0.5\",\"port\":8000,"
	"\"instance_id\":\"n\",\"name\":\"a1\"}]}]}";
static const char *json_b =
	"{\"target_groups\":[{\"protocol\":\"HTTP\",\"route_prefix\":\"/b\","
	"\"app_name\":\"b\",\"targets\":[{\"ip\":\"10.0.0.6\",\"port\":8001,"
	"\"instance_id\":\"n\",\"name\":\"b1\"},{\"ip\":\"10.0.0.7\","
	"\"port\":8001,\"instance_id\":\"n\",\"name\":\"b2\"}]}]}";

static char seg_name[32];

static void name_init(void)
{
	snprintf(seg_name, sizeof(seg_name), "wtpub%d", (int)getpid());
}

/* A 64-bit FNV-1a of the snapshot's bytes. */
static uint64_t digest(const struct weir_table *t)
{
	const unsigned char *p = (const void *)t;
	uint64_t h = 1469598103934665603ull;

	for (uint64_t i = 0; i < t->total_size; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void test_create_attach(void)
{
	struct ctl_seg dp, again;
	struct cp_pub cp;
	char err[256] = "";

	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 2, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	/* a second weir-dp under the same name is refused, named */
	WT_CHECK_EQ(ctl_seg_create(&again, seg_name, 2, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    -EBUSY);
	WT_CHECK(strstr(err, "running weir-dp") != NULL);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	WT_CHECK_EQ(cp.seg.ctl->n_workers, 2);
	WT_CHECK_EQ(pub_current(&cp), 0);
	WT_CHECK(pub_current_table(&cp) == NULL);
	WT_CHECK_EQ(atomic_load(&dp.ctl->cp_pid), getpid());
	WT_CHECK(ctl_seg_same(&cp.seg));
	pub_detach(&cp);
	WT_CHECK_EQ(atomic_load(&dp.ctl->cp_pid), 0);
	ctl_seg_destroy(&dp);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), -ENOENT);
	WT_CHECK(strstr(err, "no weir-dp") != NULL);
	WT_CHECK_EQ(ctl_seg_create(&dp, "", 2, SLOT_SIZE, 0, err, sizeof(err)),
		    -EINVAL);
	WT_CHECK_EQ(ctl_seg_create(&dp, "a/b", 2, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    -EINVAL);
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 0, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    -EINVAL);
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 2, 1000, 0, err, sizeof(err)),
		    -EINVAL);
}

/* A segment left by a weir-dp that died is replaced; one of another ABI
 * is refused by an attacher. */
static void test_stale_and_abi(void)
{
	struct ctl_seg dp, dp2;
	struct cp_pub cp;
	char err[256] = "";
	pid_t child = fork();

	if (child == 0) {
		struct ctl_seg s;

		_exit(ctl_seg_create(&s, seg_name, 1, SLOT_SIZE, 0, err,
				     sizeof(err)) ?
			      1 :
			      0); /* exits without removing it */
	}
	int st = 0;
	waitpid(child, &st, 0);
	WT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 2, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	WT_CHECK_EQ(dp.ctl->n_workers, 2);
	dp.ctl->abi_version = WEIR_CTL_ABI_VERSION + 1;
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), -EPROTO);
	WT_CHECK(strstr(err, "not a control segment of this version") != NULL);
	dp.ctl->abi_version = WEIR_CTL_ABI_VERSION;
	dp.ctl->slots[3].offset = dp.size; /* points past the end */
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), -EINVAL);
	dp.ctl->slots[3].offset = dp.ctl->slots[2].offset + SLOT_SIZE;
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	pub_detach(&cp);
	dp.ctl->slots[3].capacity = SLOT_SIZE / 2; /* unequal slots */
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), -EINVAL);
	ctl_seg_destroy(&dp);
	/* a restarted weir-dp's segment is a different object */
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	ctl_seg_destroy(&dp);
	WT_CHECK(!ctl_seg_same(&cp.seg));
	WT_CHECK_EQ(ctl_seg_create(&dp2, seg_name, 1, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	WT_CHECK(!ctl_seg_same(&cp.seg));
	pub_detach(&cp);
	ctl_seg_destroy(&dp2);
}

/* Publish, adopt, report; slots are reused only past every worker; a
 * restarted publisher carries on from the published generation. */
static void test_publish_adopt(void)
{
	struct weir_table *a = fixture_table(json_a, 77);
	struct weir_table *b = fixture_table(json_b, 0);
	struct ctl_worker w0, w1;
	struct ctl_seg dp;
	struct cp_pub cp;
	char err[256] = "";
	const struct weir_table *t;

	WT_CHECK(a && b);
	if (!a || !b)
		return;
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 2, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	ctl_dp_bind(&w0, dp.ctl, 0);
	ctl_dp_bind(&w1, dp.ctl, 1);
	WT_CHECK(ctl_dp_poll(&w0) == NULL);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	WT_CHECK_EQ(pub_publish(&cp, a), 1);
	t = ctl_dp_poll(&w0);
	WT_CHECK(t != NULL);
	WT_CHECK(t && t->generation == 1); /* stamped, not the compiled 77 */
	WT_CHECK(t && t->n_servers == a->n_servers);
	WT_CHECK(ctl_dp_poll(&w0) == NULL); /* nothing new */
	ctl_dp_held(&w0, 1, 5);
	WT_CHECK(!pub_adopted(&cp, 1)); /* worker 1 has not */
	/* generations 2 and 3 use the other slots; 4 finds none free while
	 * worker 1 holds nothing and the published slot is in use */
	WT_CHECK_EQ(pub_publish(&cp, b), 2);
	WT_CHECK_EQ(pub_publish(&cp, a), 3);
	WT_CHECK_EQ(pub_publish(&cp, b), 4);
	WT_CHECK_EQ(pub_publish(&cp, a), -EAGAIN);
	WT_CHECK_EQ(cp.busy, 1);
	t = ctl_dp_poll(&w1);
	WT_CHECK(t && t->generation == 4 && t->n_servers == b->n_servers);
	ctl_dp_held(&w1, 4, 6);
	WT_CHECK(!pub_adopted(&cp, 4));
	/* worker 0 still holds 1: generation 1's slot is not reused */
	WT_CHECK_EQ(pub_publish(&cp, a), -EAGAIN);
	t = ctl_dp_poll(&w0);
	WT_CHECK(t && t->generation == 4);
	ctl_dp_held(&w0, 4, 7);
	WT_CHECK(pub_adopted(&cp, 4));
	WT_CHECK_EQ(pub_publish(&cp, a), 5);
	WT_CHECK_EQ(atomic_load(&dp.ctl->workers[0].adoptions), 2);
	/* a restarted weir-cp reads the active version and carries on */
	pub_detach(&cp);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	WT_CHECK_EQ(WEIR_CTL_CUR_GEN(pub_current(&cp)), 5);
	WT_CHECK(pub_current_table(&cp) &&
		 pub_current_table(&cp)->generation == 5);
	t = ctl_dp_poll(&w0);
	ctl_dp_held(&w0, 5, 8);
	t = ctl_dp_poll(&w1);
	ctl_dp_held(&w1, 5, 8);
	WT_CHECK_EQ(pub_publish(&cp, b), 6);
	/* too big for a slot */
	a->total_size = SLOT_SIZE + 64;
	WT_CHECK_EQ(pub_publish(&cp, a), -E2BIG);
	pub_detach(&cp);
	ctl_seg_destroy(&dp);
	free(a);
	free(b);
}

/* A snapshot that fails the worker's check is refused and counted; the
 * worker keeps the table it has. */
static void test_refused(void)
{
	struct weir_table *a = fixture_table(json_a, 0);
	struct ctl_worker w;
	struct ctl_seg dp;
	struct cp_pub cp;
	char err[256] = "";
	uint64_t cur;

	if (!a)
		return;
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	ctl_dp_bind(&w, dp.ctl, 0);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	WT_CHECK_EQ(pub_publish(&cp, a), 1);
	WT_CHECK(ctl_dp_poll(&w) != NULL);
	ctl_dp_held(&w, 1, 1);
	a->magic ^= 1;
	WT_CHECK_EQ(pub_publish(&cp, a), 2);
	WT_CHECK(ctl_dp_poll(&w) == NULL);
	WT_CHECK_EQ(atomic_load(&dp.ctl->workers[0].refused), 1);
	WT_CHECK_EQ(atomic_load(&dp.ctl->workers[0].held_gen), 1);
	a->magic ^= 1;
	/* a current word naming a slot that does not exist */
	cur = WEIR_CTL_CUR(9, 200);
	atomic_store(&dp.ctl->current, cur);
	WT_CHECK(ctl_dp_poll(&w) == NULL);
	WT_CHECK_EQ(atomic_load(&dp.ctl->workers[0].refused), 2);
	/* unbound worker: never anything */
	ctl_dp_bind(&w, NULL, 0);
	WT_CHECK(ctl_dp_poll(&w) == NULL);
	ctl_dp_bind(&w, dp.ctl, 5); /* beyond n_workers */
	WT_CHECK(ctl_dp_poll(&w) == NULL);
	pub_detach(&cp);
	ctl_seg_destroy(&dp);
	free(a);
}

/* ---- the race ---------------------------------------------------------- */

#define RACE_WORKERS 3
#define RACE_PUBLISHES 20000

struct race {
	struct weir_ctl *ctl;
	struct weir_table *tables[3];
	atomic_int stop;
	atomic_ulong torn, adopted[RACE_WORKERS];
	atomic_ulong published;
	unsigned long busy;
};

struct race_worker {
	struct race *r;
	uint32_t id;
};

/* Holds each snapshot for a pseudo-random while, re-checking its bytes. */
static void *race_worker(void *arg)
{
	struct race_worker *rw = arg;
	struct race *r = rw->r;
	struct ctl_worker w;
	const struct weir_table *held = NULL;
	uint64_t held_digest = 0, held_gen = 0,
		 x = 88172645463325252ull + rw->id;

	ctl_dp_bind(&w, r->ctl, rw->id);
	while (!atomic_load(&r->stop) ||
	       held_gen < atomic_load(&r->published)) {
		const struct weir_table *t = ctl_dp_poll(&w);

		if (held && (held->generation != held_gen ||
			     digest(held) != held_digest))
			atomic_fetch_add(&r->torn, 1);
		if (!t) {
			sched_yield(); /* two CPUs: let the publisher run */
			continue;
		}
		/* the proxy would swap now; the old table is no longer read */
		held = t;
		held_gen = t->generation;
		held_digest = digest(t);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		for (unsigned int i = 0; i < (x & 31); i++)
			if (digest(held) != held_digest)
				atomic_fetch_add(&r->torn, 1);
		ctl_dp_held(&w, held_gen, 1);
		atomic_fetch_add(&r->adopted[rw->id], 1);
		if (atomic_load(&r->stop) &&
		    held_gen >= atomic_load(&r->published))
			break;
	}
	return NULL;
}

static void test_race_no_early_reclaim(void)
{
	static struct race r;
	struct race_worker rw[RACE_WORKERS];
	pthread_t th[RACE_WORKERS];
	struct ctl_seg dp;
	struct cp_pub cp;
	char err[256] = "";
	unsigned long tries = 0;

	r.tables[0] = fixture_table(json_a, 0);
	r.tables[1] = fixture_table(json_b, 0);
	r.tables[2] = fixture_table(json_a, 0);
	WT_CHECK(r.tables[0] && r.tables[1] && r.tables[2]);
	if (!r.tables[0] || !r.tables[1] || !r.tables[2])
		return;
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, RACE_WORKERS, SLOT_SIZE, 0,
				   err, sizeof(err)),
		    0);
	WT_CHECK_EQ(pub_attach(&cp, seg_name, err, sizeof(err)), 0);
	r.ctl = dp.ctl;
	for (uint32_t i = 0; i < RACE_WORKERS; i++) {
		rw[i] = (struct race_worker){ &r, i };
		pthread_create(&th[i], NULL, race_worker, &rw[i]);
	}
	/* bounded: the publisher gives up after 100x the publishes */
	while (atomic_load(&r.published) < RACE_PUBLISHES &&
	       tries++ < 100ul * RACE_PUBLISHES) {
		int64_t g = pub_publish(
			&cp, r.tables[atomic_load(&r.published) % 3]);

		if (g > 0)
			atomic_store(&r.published, (unsigned long)g);
		else
			sched_yield();
	}
	r.busy = cp.busy;
	atomic_store(&r.stop, 1);
	for (uint32_t i = 0; i < RACE_WORKERS; i++)
		pthread_join(th[i], NULL);
	printf("# %lu published, %lu refused for no free slot, adoptions %lu/%lu/%lu\n",
	       atomic_load(&r.published), r.busy, atomic_load(&r.adopted[0]),
	       atomic_load(&r.adopted[1]), atomic_load(&r.adopted[2]));
	WT_CHECK_EQ(atomic_load(&r.published), RACE_PUBLISHES);
	WT_CHECK_EQ(atomic_load(&r.torn), 0);
	WT_CHECK(pub_adopted(&cp, RACE_PUBLISHES));
	for (uint32_t i = 0; i < RACE_WORKERS; i++)
		WT_CHECK(atomic_load(&r.adopted[i]) > 0);
	pub_detach(&cp);
	ctl_seg_destroy(&dp);
	for (int i = 0; i < 3; i++)
		free(r.tables[i]);
}

int main(void)
{
	name_init();
	WT_RUN(test_create_attach);
	WT_RUN(test_stale_and_abi);
	WT_RUN(test_publish_adopt);
	WT_RUN(test_refused);
	WT_RUN(test_race_no_early_reclaim);
	return wt_done();
}
