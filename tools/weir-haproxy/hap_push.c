/* hap_push: see hap_push.h. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpapi.h"
#include "hap_doc.h"
#include "hap_push.h"

/* One call; a reply that is not {"ok": true} is an error quoting weir-cp. */
static int call(const char *sock, const char *method, const char *path,
		const char *body, cJSON **out, char *err, size_t errlen)
{
	char *reply = NULL;
	int status = 0, rc;
	cJSON *j, *ok, *e;

	rc = cpapi_call(sock, method, path, body, body ? strlen(body) : 0,
			&status, &reply, err, errlen);
	if (rc)
		return rc;
	j = cJSON_Parse(reply);
	ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	if (status != 200 || !cJSON_IsTrue(ok)) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		snprintf(err, errlen, "weir-cp refused %s %s (%d): %s", method,
			 path, status,
			 cJSON_IsString(e) ? e->valuestring : reply);
		cJSON_Delete(j);
		free(reply);
		return -EINVAL;
	}
	free(reply);
	if (out)
		*out = j;
	else
		cJSON_Delete(j);
	return 0;
}

/* The active table's generation (0: weir-dp never had one). */
static int cp_generation(const struct hap_cfg *cfg, double *gen, char *err,
			 size_t errlen)
{
	cJSON *info = NULL, *t, *g;
	int rc = call(cfg->cp_socket, "GET", "/api/v1/info", NULL, &info, err,
		      errlen);

	t = cJSON_GetObjectItemCaseSensitive(info, "table");
	g = cJSON_GetObjectItemCaseSensitive(t, "generation");
	*gen = cJSON_IsNumber(g) ? g->valuedouble : 0;
	cJSON_Delete(info);
	return rc;
}

/* Ray's drain keeps taking connections while Ray polls show stat until
 * the node is idle; weir-cp stops accepting once the grace has passed, so
 * the grace is hard-stop-after (Ray: HARD_STOP_AFTER_S), see hap_cfg.h. */
static int push_drain(const struct hap_cfg *cfg, char *err, size_t errlen)
{
	bool want = cfg->health == HAP_HEALTH_DRAINING;
	cJSON *info = NULL;
	int rc = call(cfg->cp_socket, "GET", "/api/v1/info", NULL, &info, err,
		      errlen);
	cJSON *d = cJSON_GetObjectItemCaseSensitive(info, "draining");
	cJSON *g = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(info, "drain"), "grace_ms");
	bool same = cJSON_IsBool(d) && cJSON_IsTrue(d) == want &&
		    (!want || (cJSON_IsNumber(g) &&
			       g->valuedouble == (double)cfg->drain_grace_ms));
	char body[80];

	snprintf(body, sizeof(body), "{\"drain\": true, \"grace_ms\": %ld}",
		 cfg->drain_grace_ms);
	if (!rc && !same)
		rc = call(cfg->cp_socket, "PUT", "/api/v1/drain",
			  want ? body : "{\"drain\": false}", NULL, err,
			  errlen);
	cJSON_Delete(info);
	return rc;
}

int hap_push(const struct hap_cfg *cfg, int wait_ms, int *live, char *err,
	     size_t errlen)
{
	char path[64], *doc;
	cJSON *r = NULL;
	bool apps = false;
	double gen = 0;
	int rc = 0;

	*live = 1;
	/* Before Ray has routes its config has no backends and a forced
	 * "not populated" healthz: a weir-cp that never had a table answers
	 * the same, and an empty push would turn it into "no apps". One that
	 * has a table (an earlier Ray session) gets the empty one: "no apps"
	 * is nearer the config than routing to replicas it no longer has. */
	for (unsigned int i = 0; i < cfg->n_backends; i++)
		apps |= hap_backend_is_app(&cfg->backends[i]);
	if (cfg->health == HAP_HEALTH_NOT_POPULATED && !apps &&
	    !(rc = cp_generation(cfg, &gen, err, errlen)) && gen == 0)
		return push_drain(cfg, err, errlen);
	if (rc)
		return rc;
	doc = hap_doc_target_groups(cfg);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "/api/v1/target_groups?wait=%d", wait_ms);
	rc = call(cfg->cp_socket, "PUT", path, doc, &r, err, errlen);
	free(doc);
	if (!rc && wait_ms > 0)
		*live = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(r, "live"));
	cJSON_Delete(r);
	return rc ? rc : push_drain(cfg, err, errlen);
}
