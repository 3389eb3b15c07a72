/* See cpcmd.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cpapi.h"
#include "cpcmd.h"

#define FILE_MAX (16u << 20) /* weir-cp's own body limit */

/* One call; on success *out is the parsed reply (ok true). */
static int call(const struct cpcmd_opts *o, const char *method,
		const char *path, const char *body, size_t len, cJSON **out)
{
	char err[512], *reply = NULL;
	int status = 0;
	cJSON *j, *e;

	*out = NULL;
	if (cpapi_call(o->sock, method, path, body, len, &status, &reply, err,
		       sizeof(err))) {
		fprintf(stderr, "weirctl: %s\n", err);
		return 1;
	}
	j = cJSON_Parse(reply);
	free(reply);
	if (!j) {
		fprintf(stderr, "weirctl: weir-cp answered %d, not JSON\n",
			status);
		return 1;
	}
	if (status != 200) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		fprintf(stderr, "weirctl: weir-cp refused (%d): %s\n", status,
			cJSON_IsString(e) ? e->valuestring : "?");
		cJSON_Delete(j);
		return 1;
	}
	*out = j;
	return 0;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static int is_true(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static int print_json(cJSON *j)
{
	char *s = cJSON_Print(j);

	puts(s ? s : "{}");
	free(s);
	cJSON_Delete(j);
	return 0;
}

/* drain off | on: refusing or not, sessions left, drained (measured). */
static void print_drain(const cJSON *d)
{
	if (!is_true(d, "on")) {
		printf("%-12s off\n", "drain");
		return;
	}
	printf("%-12s on for %.1f s, grace %.0f ms, %s, %.0f connections "
	       "open: %s\n",
	       "drain", num(d, "since_s"), num(d, "grace_ms"),
	       is_true(d, "refusing") ? "refusing new connections" :
					"still accepting",
	       num(d, "sessions"),
	       is_true(d, "drained") ? "drained" : "not drained");
}

int cpcmd_show_info(const struct cpcmd_opts *o)
{
	const cJSON *dp, *t, *c, *ws, *w;
	cJSON *j;

	if (call(o, "GET", "/api/v1/info", NULL, 0, &j))
		return 1;
	if (o->json)
		return print_json(j);
	dp = cJSON_GetObjectItemCaseSensitive(j, "dataplane");
	t = cJSON_GetObjectItemCaseSensitive(j, "table");
	c = cJSON_GetObjectItemCaseSensitive(j, "connections");
	printf("%-12s %s, up %.0f s, api %s\n", "weir-cp",
	       cJSON_GetObjectItemCaseSensitive(j, "version")->valuestring,
	       num(j, "uptime_s"), o->sock);
	if (is_true(dp, "attached"))
		printf("%-12s pid %.0f, %.0f workers, up %.0f s\n", "weir-dp",
		       num(dp, "pid"), num(dp, "workers"), num(dp, "uptime_s"));
	else
		printf("%-12s not attached (weir-dp not running?)\n",
		       "weir-dp");
	printf("%-12s generation %.0f, age %.1f s, %s%s; workers hold", "table",
	       num(t, "generation"), num(t, "age_s"),
	       is_true(t, "live") ? "live" : "not live yet",
	       is_true(t, "pending") ? ", one pending" : "");
	ws = cJSON_GetObjectItemCaseSensitive(dp, "worker_generations");
	cJSON_ArrayForEach(w, ws) printf(" %.0f", w->valuedouble);
	printf("\n%-12s %.0f accepted, %.0f refused, %.0f coalesced\n",
	       "pushes", num(t, "pushes"), num(t, "refused"),
	       num(t, "coalesced"));
	print_drain(cJSON_GetObjectItemCaseSensitive(j, "drain"));
	if (c)
		printf("%-12s %.0f open, %.0f accepted, %.0f requests, %.0f refused\n",
		       "connections", num(c, "current"), num(c, "total"),
		       num(c, "requests"), num(c, "refused"));
	cJSON_Delete(j);
	return 0;
}

/* One row in HAProxy's "show stat" column order. */
static void stat_row(const cJSON *r)
{
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(r, "weight");
	const cJSON *ereq = cJSON_GetObjectItemCaseSensitive(r, "ereq");

	printf("%s,%s,%s,",
	       cJSON_GetObjectItemCaseSensitive(r, "pxname")->valuestring,
	       cJSON_GetObjectItemCaseSensitive(r, "svname")->valuestring,
	       cJSON_GetObjectItemCaseSensitive(r, "status")->valuestring);
	if (cJSON_IsNumber(w))
		printf("%.0f", w->valuedouble);
	printf(",%.0f,%.0f,%.0f,%.0f,", num(r, "scur"), num(r, "smax"),
	       num(r, "stot"), num(r, "qcur"));
	if (cJSON_IsNumber(ereq))
		printf("%.0f", ereq->valuedouble);
	printf(",%.0f,%.0f,%.0f,%.0f,%.0f\n", num(r, "econ"), num(r, "eresp"),
	       num(r, "wretr"), num(r, "hrsp_2xx"), num(r, "hrsp_5xx"));
}

int cpcmd_show_stat(const struct cpcmd_opts *o)
{
	const cJSON *b, *s;
	cJSON *j;

	if (call(o, "GET", "/api/v1/stats", NULL, 0, &j))
		return 1;
	if (o->json)
		return print_json(j);
	printf("# pxname,svname,status,weight,scur,smax,stot,qcur,ereq,econ,eresp,wretr,hrsp_2xx,hrsp_5xx\n");
	stat_row(cJSON_GetObjectItemCaseSensitive(j, "frontend"));
	cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(j, "backends"))
	{
		cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(
					      b, "servers")) stat_row(s);
		stat_row(b);
	}
	cJSON_Delete(j);
	return 0;
}

int cpcmd_show_table(const struct cpcmd_opts *o)
{
	cJSON *j;

	if (call(o, "GET", "/api/v1/table", NULL, 0, &j))
		return 1;
	return print_json(j);
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		fprintf(stderr, "weirctl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    (unsigned long)n > FILE_MAX || fseek(f, 0, SEEK_SET)) {
		fprintf(stderr,
			"weirctl: %s: not a readable file under 16 MiB\n",
			path);
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = (size_t)n;
	}
	return buf;
}

static int print_change(const struct cpcmd_opts *o, cJSON *j, const char *what)
{
	if (o->json)
		return print_json(j);
	printf("%s: generation %.0f%s\n", what, num(j, "generation"),
	       is_true(j, "pending") ? " (pending: a worker is busy)" :
	       !cJSON_GetObjectItemCaseSensitive(j, "live") ? "" :
	       is_true(j, "live") ? ", live on every worker" :
				    ", not live on every worker yet");
	cJSON_Delete(j);
	return 0;
}

int cpcmd_push(const struct cpcmd_opts *o, const char *file, int fallback)
{
	size_t len = 0;
	char *body = read_file(file, &len);
	cJSON *j;
	int rc;

	if (!body)
		return 1;
	rc = call(o, "PUT",
		  fallback ? "/api/v1/fallback_targets?wait=5000" :
			     "/api/v1/target_groups?wait=5000",
		  body, len, &j);
	free(body);
	return rc ? rc : print_change(o, j, file);
}

int cpcmd_set_server(const struct cpcmd_opts *o, int argc, char **argv)
{
	char path[600];
	cJSON *body = cJSON_CreateObject(), *j;
	char *text;
	int rc;

	if (argc < 3 || argc % 2 == 0 || !strchr(argv[0], '/')) {
		fprintf(stderr,
			"usage: weirctl set server BACKEND/SERVER state ready|drain|maint\n"
			"       weirctl set server BACKEND/SERVER weight 0-256\n");
		cJSON_Delete(body);
		return 2;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		char *end;
		long w;

		if (!strcmp(argv[i], "state")) {
			cJSON_AddStringToObject(body, "state", argv[i + 1]);
			continue;
		}
		w = strtol(argv[i + 1], &end, 10);
		if (strcmp(argv[i], "weight") || *end || end == argv[i + 1]) {
			fprintf(stderr,
				"weirctl: set server: '%s %s': want 'state ready|drain|maint' or 'weight N'\n",
				argv[i], argv[i + 1]);
			cJSON_Delete(body);
			return 2;
		}
		cJSON_AddNumberToObject(body, "weight", (double)w);
	}
	snprintf(path, sizeof(path), "/api/v1/servers/%s?wait=5000", argv[0]);
	text = cJSON_PrintUnformatted(body);
	cJSON_Delete(body);
	rc = call(o, "PUT", path, text, strlen(text), &j);
	free(text);
	return rc ? rc : print_change(o, j, argv[0]);
}

int cpcmd_drain(const struct cpcmd_opts *o, const char *onoff, const char *opt,
		const char *val)
{
	char body[64], *end = NULL;
	unsigned long grace = 0;
	cJSON *j;
	int rc;

	if (opt) {
		errno = 0;
		grace = val ? strtoul(val, &end, 10) : 0;
		if (strcmp(opt, "--grace-ms") || strcmp(onoff, "on") || !val ||
		    !*val || *end || errno || grace > 3600000 ||
		    val[0] == '-') {
			fprintf(stderr,
				"usage: weirctl drain on [--grace-ms 0-3600000] | off\n");
			return 2;
		}
	}
	if (!strcmp(onoff, "on") && opt)
		snprintf(body, sizeof(body),
			 "{\"drain\":true,\"grace_ms\":%lu}", grace);
	else if (!strcmp(onoff, "on"))
		snprintf(body, sizeof(body), "{\"drain\":true}");
	else if (!strcmp(onoff, "off"))
		snprintf(body, sizeof(body), "{\"drain\":false}");
	else {
		fprintf(stderr,
			"usage: weirctl drain on [--grace-ms 0-3600000] | off\n");
		return 2;
	}
	rc = call(o, "PUT", "/api/v1/drain?wait=5000", body, strlen(body), &j);
	return rc ? rc : print_change(o, j, "drain");
}
