/* See cpstate.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common/jsonfile.h"
#include "cpstate.h"

void cps_init(struct cp_state *s, const char *state_path)
{
	memset(s, 0, sizeof(*s));
	cp_compile_defaults(&s->opts);
	s->state_path = state_path;
	s->fallback = strdup("null");
	s->drain_grace_ms = CPS_DRAIN_GRACE_MS;
}

void cps_fini(struct cp_state *s)
{
	if (s->pub.seg.ctl)
		pub_detach(&s->pub);
	free(s->groups);
	free(s->fallback);
	free(s->pending);
	cJSON_Delete(s->admin);
	memset(s, 0, sizeof(*s));
}

/* The operator's server states and the node drain, onto a compiled
 * table (weir-cp's own copy, before it is published). */
static void apply_admin(const struct cp_state *s, struct weir_table *t)
{
	struct weir_table_server *srv =
		(struct weir_table_server *)(void *)((char *)t +
						     t->off_servers);
	const struct weir_table_backend *be = weir_table_backends(t);
	char key[WEIR_TABLE_BACKEND_NAME_MAX + WEIR_TABLE_SERVER_NAME_MAX + 2];

	if (s->draining)
		t->flags |= WEIR_TABLE_F_DRAINING;
	t->drain_grace_ms = s->drain_grace_ms;
	for (uint32_t i = 0; s->admin && i < t->n_servers; i++) {
		const cJSON *a, *st, *w;

		snprintf(key, sizeof(key), "%s/%s", be[srv[i].backend].name,
			 srv[i].name);
		a = cJSON_GetObjectItemCaseSensitive(s->admin, key);
		if (!a)
			continue;
		st = cJSON_GetObjectItemCaseSensitive(a, "state");
		w = cJSON_GetObjectItemCaseSensitive(a, "weight");
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "drain"))
			srv[i].flags |= WEIR_SERVER_F_DRAIN;
		if (cJSON_IsString(st) && !strcmp(st->valuestring, "maint"))
			srv[i].flags |= WEIR_SERVER_F_MAINT;
		if (cJSON_IsNumber(w))
			srv[i].weight = (uint16_t)w->valueint;
	}
}

/* Ray's document from its two halves (malloc'd; NULL if out of memory). */
static char *document(const char *groups, const char *fallback)
{
	size_t n = strlen(groups) + strlen(fallback) + 64;
	char *doc = malloc(n);

	if (doc)
		snprintf(doc, n,
			 "{\"target_groups\":%s,\"fallback_targets\":%s}",
			 groups, fallback);
	return doc;
}

char *cps_document(const struct cp_state *s)
{
	return s->groups ? document(s->groups, s->fallback) : NULL;
}

/* Validates and compiles groups + fallback; on success they become the
 * state and their table the pending one. Takes ownership of both. */
static int adopt(struct cp_state *s, char *groups, char *fallback, bool publish,
		 char *err, size_t errlen)
{
	char *doc = groups && fallback ? document(groups, fallback) : NULL;
	struct weir_table *t;
	struct tg_model m;
	int rc;

	if (!doc) {
		free(doc), free(groups), free(fallback);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = tg_parse(doc, &m, err, errlen);
	free(doc);
	if (rc) {
		free(groups), free(fallback);
		s->refused++;
		return rc;
	}
	t = cp_compile_alloc(&m, &s->opts, err, errlen);
	tg_model_free(&m);
	if (!t || (s->pub.seg.ctl &&
		   t->total_size > s->pub.seg.ctl->slots[0].capacity)) {
		if (t)
			snprintf(
				err, errlen,
				"the table needs %llu bytes, weir-dp's slots hold %llu (control.table_kb)",
				(unsigned long long)t->total_size,
				(unsigned long long)s->pub.seg.ctl->slots[0]
					.capacity);
		free(t), free(groups), free(fallback);
		s->refused++;
		return t ? -E2BIG : -EINVAL;
	}
	free(s->groups), free(s->fallback);
	s->fallback = fallback;
	if (!publish) { /* validated; no table before the first groups */
		free(groups);
		free(t);
		s->groups = NULL;
		return 0;
	}
	apply_admin(s, t);
	s->groups = groups;
	s->pending_initial = false;
	if (s->pending)
		s->coalesced++;
	free(s->pending);
	s->pending = t;
	s->pushes++;
	s->last_push_ns = ctl_realtime_ns();
	cps_flush(s);
	return 0;
}

static char *print(const cJSON *v)
{
	return v ? cJSON_PrintUnformatted(v) : strdup("null");
}

/* The body as JSON, or NULL (counted) with err saying where it broke. */
static cJSON *parse_body(struct cp_state *s, const char *body, char *err,
			 size_t errlen)
{
	cJSON *root = cJSON_Parse(body);

	if (!root) {
		const char *at = cJSON_GetErrorPtr();

		snprintf(err, errlen, "not valid JSON near \"%.20s\"",
			 at ? at : "");
		s->refused++;
	}
	return root;
}

int cps_set_groups(struct cp_state *s, const char *body, char *err,
		   size_t errlen)
{
	cJSON *root = parse_body(s, body, err, errlen);
	const cJSON *g, *fb;
	char *groups, *fallback;

	if (!root)
		return -EINVAL;
	g = cJSON_IsArray(root) ?
		    root :
		    cJSON_GetObjectItemCaseSensitive(root, "target_groups");
	fb = cJSON_IsObject(root) ?
		     cJSON_GetObjectItemCaseSensitive(root,
						      "fallback_targets") :
		     NULL;
	if (!cJSON_IsArray(root) && !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(
			err, errlen,
			"the top level must be an object with target_groups, or a list of groups");
		s->refused++;
		return -EINVAL;
	}
	if (!g) {
		cJSON_Delete(root);
		snprintf(err, errlen, "target_groups: missing");
		s->refused++;
		return -EINVAL;
	}
	groups = print(g);
	fallback = fb ? print(fb) : strdup(s->fallback);
	cJSON_Delete(root);
	return adopt(s, groups, fallback, true, err, errlen);
}

int cps_initial(struct cp_state *s, const char *body, char *err, size_t errlen)
{
	int rc = cps_set_groups(s, body, err, errlen);

	if (rc == 0 && s->pending)
		s->pending_initial = true;
	return rc;
}

int cps_set_fallback(struct cp_state *s, const char *body, char *err,
		     size_t errlen)
{
	cJSON *root = parse_body(s, body, err, errlen);
	char *fallback;

	if (!root)
		return -EINVAL;
	fallback = print(root);
	cJSON_Delete(root);
	if (!s->groups) /* checked with no groups, kept for the first table */
		return adopt(s, strdup("[]"), fallback, false, err, errlen);
	return adopt(s, strdup(s->groups), fallback, true, err, errlen);
}

/* state file: {"generation": g, "target_groups": ..., "fallback_targets"} */
static void persist(const struct cp_state *s, uint64_t gen)
{
	char tmp[4200];
	char *doc = cps_document(s);
	FILE *f;

	if (!s->state_path || !doc) {
		free(doc);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->state_path);
	f = fopen(tmp, "w");
	if (f) {
		/* doc starts with '{': splice the generation in front */
		char *admin = s->admin ? cJSON_PrintUnformatted(s->admin) :
					 NULL;

		fprintf(f,
			"{\"generation\":%llu,\"draining\":%s,"
			"\"drain_grace_ms\":%u,\"admin\":%s,%s\n",
			(unsigned long long)gen, s->draining ? "true" : "false",
			s->drain_grace_ms, admin ? admin : "{}", doc + 1);
		free(admin);
		if (fclose(f) == 0)
			rename(tmp, s->state_path);
	}
	free(doc);
}

int64_t cps_flush(struct cp_state *s)
{
	int64_t g;

	if (!s->pending)
		return 0;
	if (!s->pub.seg.ctl)
		return -ENOTCONN;
	g = pub_publish(&s->pub, s->pending);
	if (g == -E2BIG) {
		free(s->pending); /* can never fit this weir-dp */
		s->pending = NULL;
		s->refused++;
	}
	if (g <= 0)
		return g;
	free(s->pending);
	s->pending = NULL;
	persist(s, (uint64_t)g);
	return g;
}

static void restore_grace(struct cp_state *s, const cJSON *root)
{
	const cJSON *g =
		cJSON_GetObjectItemCaseSensitive(root, "drain_grace_ms");

	if (cJSON_IsNumber(g) && g->valuedouble >= 0 &&
	    g->valuedouble <= CPS_DRAIN_GRACE_MAX_MS)
		s->drain_grace_ms = (uint32_t)g->valuedouble;
}

int cps_restore(struct cp_state *s, uint64_t gen)
{
	char err[256], *text;
	cJSON *root, *g;
	int rc = -ENOENT;

	if (!s->state_path || json_file_read(s->state_path, CPS_BODY_MAX, &text,
					     err, sizeof(err)))
		return -ENOENT;
	root = cJSON_Parse(text);
	free(text);
	g = root ? cJSON_GetObjectItemCaseSensitive(root, "generation") : NULL;
	if (cJSON_IsNumber(g) && (uint64_t)g->valuedouble == gen) {
		free(s->groups), free(s->fallback);
		s->groups = print(cJSON_GetObjectItemCaseSensitive(
			root, "target_groups"));
		s->fallback = print(cJSON_GetObjectItemCaseSensitive(
			root, "fallback_targets"));
		rc = s->groups && s->fallback ? 0 : -ENOMEM;
		s->draining = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(root, "draining"));
		restore_grace(s, root);
		cJSON_Delete(s->admin);
		s->admin =
			cJSON_DetachItemFromObjectCaseSensitive(root, "admin");
		if (s->admin && !cJSON_IsObject(s->admin)) {
			cJSON_Delete(s->admin);
			s->admin = NULL;
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* weir-dp restarted with no table: recompile ours for it. */
static void requeue(struct cp_state *s)
{
	char err[256];

	if (s->groups && !s->pending)
		adopt(s, strdup(s->groups), strdup(s->fallback), true, err,
		      sizeof(err));
}

int cps_attach(struct cp_state *s, const char *name)
{
	char err[256];
	uint64_t cur;

	if (s->pub.seg.ctl && ctl_seg_same(&s->pub.seg))
		return 1;
	if (s->pub.seg.ctl) {
		fprintf(stderr, "weir-cp: weir-dp \"%s\" went away\n", name);
		pub_detach(&s->pub);
	}
	if (pub_attach(&s->pub, name, err, sizeof(err)))
		return 0;
	cur = pub_current(&s->pub);
	fprintf(stderr,
		"weir-cp: attached to weir-dp \"%s\" (pid %d, %u workers, table generation %llu)\n",
		name, s->pub.seg.ctl->dp_pid, s->pub.seg.ctl->n_workers,
		(unsigned long long)WEIR_CTL_CUR_GEN(cur));
	if (cur && s->pending_initial) {
		/* weir-dp serves a table already: the start-up file is only
		 * for a weir-dp that has none */
		free(s->pending);
		s->pending = NULL;
		s->pending_initial = false;
		free(s->groups);
		s->groups = NULL;
	}
	if (!cur)
		requeue(s);
	else if (!s->pending && cps_restore(s, WEIR_CTL_CUR_GEN(cur)) == 0)
		fprintf(stderr,
			"weir-cp: carrying on with the groups of generation %llu\n",
			(unsigned long long)WEIR_CTL_CUR_GEN(cur));
	cps_flush(s);
	return 1;
}

/* Is there a server `server` in backend `backend` of the active table? */
static bool has_server(const struct cp_state *s, const char *backend,
		       const char *server)
{
	const struct weir_table *t = s->pending ? s->pending :
				     s->pub.seg.ctl ?
						  pub_current_table(&s->pub) :
						  NULL;
	const struct weir_table_backend *be;
	const struct weir_table_server *srv;

	if (!t)
		return false;
	be = weir_table_backends(t);
	srv = weir_table_servers(t);
	for (uint32_t i = 0; i < t->n_servers; i++)
		if (!strcmp(be[srv[i].backend].name, backend) &&
		    !strcmp(srv[i].name, server))
			return true;
	return false;
}

/* Compiles the groups again (with the operator's state) and publishes. */
static int republish(struct cp_state *s, char *err, size_t errlen)
{
	return adopt(s, strdup(s->groups), strdup(s->fallback), true, err,
		     errlen);
}

static int server_body(const char *body, cJSON **out, char *err, size_t errlen)
{
	cJSON *root = cJSON_Parse(body), *st, *w;

	*out = NULL;
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		snprintf(
			err, errlen,
			"the body must be an object: {\"state\": \"ready\"|\"drain\"|\"maint\", \"weight\": 0-256}");
		return -EINVAL;
	}
	st = cJSON_GetObjectItemCaseSensitive(root, "state");
	w = cJSON_GetObjectItemCaseSensitive(root, "weight");
	for (cJSON *it = root->child; it; it = it->next)
		if (strcmp(it->string, "state") &&
		    strcmp(it->string, "weight")) {
			snprintf(err, errlen, "%.60s: unknown key", it->string);
			cJSON_Delete(root);
			return -EINVAL;
		}
	if ((!st && !w) || (st && (!cJSON_IsString(st) ||
				   (strcmp(st->valuestring, "ready") &&
				    strcmp(st->valuestring, "drain") &&
				    strcmp(st->valuestring, "maint"))))) {
		snprintf(err, errlen,
			 "state: must be \"ready\", \"drain\" or \"maint\"");
		cJSON_Delete(root);
		return -EINVAL;
	}
	if (w && (!cJSON_IsNumber(w) || w->valuedouble < 0 ||
		  w->valuedouble > 256 || w->valuedouble != w->valueint)) {
		snprintf(err, errlen, "weight: must be an integer 0-256");
		cJSON_Delete(root);
		return -EINVAL;
	}
	*out = root;
	return 0;
}

int cps_set_server(struct cp_state *s, const char *backend, const char *server,
		   const char *body, char *err, size_t errlen)
{
	char key[WEIR_TABLE_BACKEND_NAME_MAX + WEIR_TABLE_SERVER_NAME_MAX + 2];
	cJSON *req, *old, *it;
	int rc;

	if (!s->groups || !has_server(s, backend, server)) {
		snprintf(
			err, errlen,
			"no server \"%.100s\" in backend \"%.100s\" of the active table",
			server, backend);
		return -ENOENT;
	}
	if ((rc = server_body(body, &req, err, errlen)))
		return rc;
	if (!s->admin)
		s->admin = cJSON_CreateObject();
	snprintf(key, sizeof(key), "%s/%s", backend, server);
	old = cJSON_GetObjectItemCaseSensitive(s->admin, key);
	if (old) /* a weight given before stays unless replaced */
		for (it = old->child; it; it = it->next)
			if (!cJSON_GetObjectItemCaseSensitive(req, it->string))
				cJSON_AddItemToObject(req, it->string,
						      cJSON_Duplicate(it,
								      true));
	cJSON_DeleteItemFromObjectCaseSensitive(s->admin, key);
	cJSON_AddItemToObject(s->admin, key, req);
	return republish(s, err, errlen);
}

int cps_set_drain(struct cp_state *s, bool on, int64_t grace_ms, char *err,
		  size_t errlen)
{
	if (!s->groups) {
		snprintf(err, errlen, "no table yet: nothing to drain");
		return -ENOENT;
	}
	if (grace_ms > (int64_t)CPS_DRAIN_GRACE_MAX_MS) {
		snprintf(err, errlen, "grace_ms: %lld is over %u",
			 (long long)grace_ms, CPS_DRAIN_GRACE_MAX_MS);
		return -EINVAL;
	}
	if (grace_ms >= 0)
		s->drain_grace_ms = (uint32_t)grace_ms;
	s->draining = on;
	return republish(s, err, errlen);
}
