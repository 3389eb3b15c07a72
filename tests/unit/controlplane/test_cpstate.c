/* weir-cp's state between pushes (controlplane/cpstate.*) against a real
 * control segment: groups and fallback replaced apart, invalid pushes
 * change nothing, bursts coalesce into the newest table while no slot is
 * free, the start-up file never replaces a newer table, and a restarted
 * weir-cp carries on with the groups behind the active table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/ctl_seg.h"
#include "cpstate.h"
#include "ctl/ctl_dp.h"
#include "wtest.h"

#define SLOT_SIZE (64 * 1024)

#define TGT(ip, name)                                             \
	"{\"ip\":\"" ip "\",\"port\":8000,\"instance_id\":\"n\"," \
	"\"name\":\"" name "\"}"
#define GROUP(prefix, app, targets)                               \
	"{\"protocol\":\"HTTP\",\"route_prefix\":\"" prefix "\"," \
	"\"app_name\":\"" app "\",\"targets\":[" targets "]}"

static const char *one =
	"{\"target_groups\":[" GROUP("/", "a", TGT("10.0.0.5", "a1")) "]}";
static const char *two = "[" GROUP(
	"/", "a",
	TGT("10.0.0.5", "a1") "," TGT(
		"10.0.0.6", "a2")) "," GROUP("/b", "b",
					     TGT("10.0.0.7", "b1")) "]";
static const char *fb = "{\"HTTP\":" TGT("10.0.0.9", "fallback") "}";

static char seg_name[32], state_path[64];

static void setup(struct ctl_seg *dp, uint32_t workers)
{
	char err[256];

	snprintf(seg_name, sizeof(seg_name), "wtcps%d", (int)getpid());
	snprintf(state_path, sizeof(state_path), "/tmp/wtcps%d.json",
		 (int)getpid());
	unlink(state_path);
	WT_CHECK_EQ(ctl_seg_create(dp, seg_name, workers, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
}

/* What the worker would see now (and it reports holding it). */
static const struct weir_table *adopt(struct ctl_worker *w)
{
	const struct weir_table *t = ctl_dp_poll(w);

	if (t)
		ctl_dp_held(w, t->generation, 1);
	return t;
}

static void test_groups_and_fallback(void)
{
	struct ctl_seg dp;
	struct cp_state s;
	struct ctl_worker w;
	const struct weir_table *t;
	char err[512];
	char *doc;

	setup(&dp, 1);
	ctl_dp_bind(&w, dp.ctl, 0);
	cps_init(&s, state_path);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	/* fallback before any groups: checked and kept, no table yet */
	WT_CHECK_EQ(cps_set_fallback(&s, fb, err, sizeof(err)), 0);
	WT_CHECK(adopt(&w) == NULL);
	WT_CHECK_EQ(cps_set_groups(&s, one, err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 1 && t->n_backends == 1);
	/* one replica plus the fallback as its backup */
	WT_CHECK(t && t->n_servers == 2);
	/* groups replaced alone keep the fallback */
	WT_CHECK_EQ(cps_set_groups(&s, two, err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 2 && t->n_backends == 2 &&
		 t->n_servers == 5);
	/* fallback replaced alone keeps the groups */
	WT_CHECK_EQ(cps_set_fallback(&s, "null", err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 3 && t->n_servers == 3);
	/* invalid pushes change nothing and name the field */
	WT_CHECK_EQ(cps_set_groups(
			    &s, "[" GROUP("/", "a", TGT("10.0.0.300", "x")) "]",
			    err, sizeof(err)),
		    -EINVAL);
	WT_CHECK(strstr(err, "target_groups[0].targets[0].ip") != NULL);
	WT_CHECK_EQ(cps_set_groups(&s, "{\"target_groups\":", err, sizeof(err)),
		    -EINVAL);
	WT_CHECK(strstr(err, "not valid JSON") != NULL);
	WT_CHECK_EQ(cps_set_groups(&s, "{\"groups\":[]}", err, sizeof(err)),
		    -EINVAL);
	WT_CHECK(strstr(err, "target_groups: missing") != NULL);
	WT_CHECK_EQ(cps_set_groups(&s, "7", err, sizeof(err)), -EINVAL);
	WT_CHECK_EQ(cps_set_fallback(&s, "{\"HTTP\":{\"ip\":\"1.2.3.4\"}}", err,
				     sizeof(err)),
		    -EINVAL);
	WT_CHECK(strstr(err, "fallback_targets.HTTP") != NULL);
	WT_CHECK_EQ(s.refused, 5);
	WT_CHECK(adopt(&w) == NULL);
	WT_CHECK_EQ(WEIR_CTL_CUR_GEN(pub_current(&s.pub)), 3);
	doc = cps_document(&s);
	WT_CHECK(doc && strstr(doc, "\"fallback_targets\":null") &&
		 strstr(doc, "\"b1\""));
	free(doc);
	/* an empty list is a table too: "no apps" */
	WT_CHECK_EQ(cps_set_groups(&s, "[]", err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 4 && t->n_backends == 0);
	cps_fini(&s);
	ctl_seg_destroy(&dp);
	unlink(state_path);
}

/* No slot free (a worker that does not move on): pushes coalesce into
 * one pending table, the newest, published once the worker catches up. */
static void test_coalesce(void)
{
	struct ctl_seg dp;
	struct cp_state s;
	struct ctl_worker w;
	const struct weir_table *t;
	char err[512];

	setup(&dp, 1);
	ctl_dp_bind(&w, dp.ctl, 0);
	cps_init(&s, state_path);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	for (int i = 0; i < 10; i++)
		WT_CHECK_EQ(cps_set_groups(&s, i % 2 ? two : one, err,
					   sizeof(err)),
			    0);
	/* the worker held nothing: 4 slots took generations 1-4 */
	WT_CHECK_EQ(WEIR_CTL_CUR_GEN(pub_current(&s.pub)), 4);
	WT_CHECK(s.pending != NULL);
	WT_CHECK_EQ(s.coalesced, 5);
	WT_CHECK_EQ(cps_flush(&s), -EAGAIN);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 4);
	WT_CHECK_EQ(cps_flush(&s), 5);
	t = adopt(&w);
	/* the last push (i = 9: two) is what is live */
	WT_CHECK(t && t->generation == 5 && t->n_backends == 2);
	WT_CHECK_EQ(cps_flush(&s), 0);
	cps_fini(&s);
	ctl_seg_destroy(&dp);
	unlink(state_path);
}

/* A restarted weir-cp: the active table stays; the start-up file is not
 * re-published over it; the groups behind it come from the state file;
 * a restarted weir-dp (no table) gets ours again. */
static void test_restart(void)
{
	struct ctl_seg dp;
	struct cp_state s;
	struct ctl_worker w;
	const struct weir_table *t;
	char err[512];
	char *doc;

	setup(&dp, 1);
	ctl_dp_bind(&w, dp.ctl, 0);
	cps_init(&s, state_path);
	WT_CHECK_EQ(cps_initial(&s, one, err, sizeof(err)), 0);
	WT_CHECK(s.pending && s.pending_initial);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 1 && t->n_backends == 1);
	WT_CHECK_EQ(cps_set_groups(&s, two, err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 2);
	cps_fini(&s);
	/* weir-cp restarts with the same start-up file */
	cps_init(&s, state_path);
	WT_CHECK_EQ(cps_initial(&s, one, err, sizeof(err)), 0);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	WT_CHECK(s.pending == NULL);
	WT_CHECK(adopt(&w) == NULL);
	WT_CHECK_EQ(WEIR_CTL_CUR_GEN(pub_current(&s.pub)), 2);
	doc = cps_document(&s);
	WT_CHECK(doc && strstr(doc, "\"b1\"")); /* restored: two's groups */
	free(doc);
	/* replacing the fallback alone keeps the restored groups */
	WT_CHECK_EQ(cps_set_fallback(&s, fb, err, sizeof(err)), 0);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 3 && t->n_servers == 5);
	/* weir-dp restarts: a new, empty segment gets our table */
	ctl_seg_destroy(&dp);
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, SLOT_SIZE, 0, err,
				   sizeof(err)),
		    0);
	ctl_dp_bind(&w, dp.ctl, 0);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	t = adopt(&w);
	WT_CHECK(t && t->generation == 1 && t->n_servers == 5);
	cps_fini(&s);
	ctl_seg_destroy(&dp);
	/* no weir-dp: pushes are kept, flush says so */
	cps_init(&s, state_path);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 0);
	WT_CHECK_EQ(cps_set_groups(&s, one, err, sizeof(err)), 0);
	WT_CHECK_EQ(cps_flush(&s), -ENOTCONN);
	cps_fini(&s);
	unlink(state_path);
}

/* A table larger than weir-dp's slots is refused at push time. */
static void test_too_big(void)
{
	struct ctl_seg dp;
	struct cp_state s;
	char err[512], *big;
	size_t n = 0, cap = 1 << 20;

	snprintf(seg_name, sizeof(seg_name), "wtcps%d", (int)getpid());
	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, 8192, 0, err, sizeof(err)),
		    0);
	cps_init(&s, NULL);
	WT_CHECK_EQ(cps_attach(&s, seg_name), 1);
	big = malloc(cap);
	n += (size_t)snprintf(big + n, cap - n, "[");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(
			big + n, cap - n,
			"%s{\"protocol\":\"HTTP\",\"route_prefix\":\"/p%d\","
			"\"app_name\":\"app%d\",\"targets\":[]}",
			i ? "," : "", i, i);
	snprintf(big + n, cap - n, "]");
	WT_CHECK_EQ(cps_set_groups(&s, big, err, sizeof(err)), -E2BIG);
	WT_CHECK(strstr(err, "control.table_kb") != NULL);
	WT_CHECK_EQ(pub_current(&s.pub), 0);
	free(big);
	cps_fini(&s);
	ctl_seg_destroy(&dp);
}

int main(void)
{
	WT_RUN(test_groups_and_fallback);
	WT_RUN(test_coalesce);
	WT_RUN(test_restart);
	WT_RUN(test_too_big);
	return wt_done();
}
