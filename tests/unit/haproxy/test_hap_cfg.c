/* test_hap_cfg: weir-haproxy's reading of Ray's HAProxy configs. Every
 * fixture in tests/fixtures/haproxy must become exactly the target groups
 * it routes to; every file in bad/ must fail with the line and message its
 * first line ("# expect LINE TEXT") names; no input may crash the parser. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_cfg.h"
#include "hap_cfg_int.h"
#include "hap_doc.h"
#include "hap_stat.h"
#include "wtest.h"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = 0;
	fclose(f);
	return buf;
}

/* The fixture's text with @DIR@ replaced by the fixture directory. */
static char *fixture_text(const char *rel)
{
	char path[512], *raw, *out, *w;
	const char *r;
	size_t dl = strlen(HAP_FIXTURES);

	snprintf(path, sizeof(path), "%s/%s", HAP_FIXTURES, rel);
	raw = slurp(path);
	if (!raw)
		return NULL;
	out = malloc(strlen(raw) * (dl + 1) + 1);
	for (r = raw, w = out; *r;) {
		if (!strncmp(r, "@DIR@", 5)) {
			memcpy(w, HAP_FIXTURES, dl);
			w += dl, r += 5;
		} else {
			*w++ = *r++;
		}
	}
	*w = 0;
	free(raw);
	return out;
}

static int parse_fixture(const char *rel, struct hap_cfg *c)
{
	char *text = fixture_text(rel);
	int rc;

	if (!text) {
		printf("#   cannot read %s\n", rel);
		memset(c, 0, sizeof(*c));
		return -ENOENT;
	}
	rc = hap_cfg_parse(c, rel, text);
	free(text);
	if (!rc && c->lua_path[0]) {
		char *lua = slurp(c->lua_path);

		rc = lua ? hap_lua_apply(c, lua) : -ENOENT;
		free(lua);
	}
	if (rc && c->msgs)
		printf("# %s", c->msgs);
	return rc;
}

static cJSON *doc_of(const struct hap_cfg *c)
{
	char *t = hap_doc_target_groups(c);
	cJSON *j = cJSON_Parse(t);

	free(t);
	return j;
}

static cJSON *group(cJSON *doc, int i)
{
	return cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(doc, "target_groups"), i);
}

static const char *gstr(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int n_targets(cJSON *g, const char *k)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(g, k));
}

static void test_one_app(void)
{
	struct hap_cfg c;
	cJSON *d, *g, *fb, *t;

	WT_CHECK_EQ(parse_fixture("ray_1app.cfg", &c), 0);
	WT_CHECK_EQ(c.n_errors, 0);
	WT_CHECK(!strcmp(c.stats_socket, "/tmp/weir-hap-fixture/admin.sock"));
	WT_CHECK_EQ(c.maxconn, 20000);
	WT_CHECK_EQ(c.nbthread, 4);
	WT_CHECK_EQ(c.bufsize, 16384);
	WT_CHECK_EQ(c.hard_stop_after_ms, 120000);
	WT_CHECK_EQ(c.timeout_ms[HAP_T_CLIENT], 3600000);
	WT_CHECK_EQ(c.timeout_ms[HAP_T_HTTP_KEEP_ALIVE], 90000);
	WT_CHECK_EQ(c.timeout_ms[HAP_T_SERVER], -1);
	WT_CHECK_EQ(c.http_port, 8000);
	WT_CHECK_EQ(c.metrics_port, 9101);
	WT_CHECK_EQ(c.health, HAP_HEALTH_OK);
	d = doc_of(&c);
	WT_CHECK_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
			    d, "target_groups")),
		    1);
	g = group(d, 0);
	WT_CHECK(!strcmp(gstr(g, "protocol"), "HTTP"));
	WT_CHECK(!strcmp(gstr(g, "route_prefix"), "/app"));
	WT_CHECK(!strcmp(gstr(g, "app_name"), "app"));
	WT_CHECK_EQ(n_targets(g, "targets"), 1);
	t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, "targets"),
			       0);
	WT_CHECK(!strcmp(gstr(t, "ip"), "10.0.0.21"));
	WT_CHECK(!strcmp(gstr(t, "name"), "SERVE_REPLICA_app-App-r1"));
	fb = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "fallback_targets"),
		"HTTP");
	WT_CHECK(!strcmp(gstr(fb, "name"), "SERVE_PROXY_ACTOR-head"));
	WT_CHECK_EQ(cJSON_GetObjectItemCaseSensitive(fb, "port")->valueint,
		    8500);
	cJSON_Delete(d);
	hap_cfg_free(&c);
}

static void test_zero_apps(void)
{
	struct hap_cfg c;
	cJSON *d;

	WT_CHECK_EQ(parse_fixture("ray_0apps.cfg", &c), 0);
	WT_CHECK_EQ(c.health, HAP_HEALTH_NONE);
	d = doc_of(&c);
	WT_CHECK_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
			    d, "target_groups")),
		    0);
	WT_CHECK_EQ(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
			    d, "fallback_targets")),
		    0);
	cJSON_Delete(d);
	hap_cfg_free(&c);
	WT_CHECK_EQ(parse_fixture("ray_unpopulated.cfg", &c), 0);
	WT_CHECK_EQ(c.health, HAP_HEALTH_NOT_POPULATED);
	hap_cfg_free(&c);
	WT_CHECK_EQ(parse_fixture("ray_draining.cfg", &c), 0);
	WT_CHECK_EQ(c.health, HAP_HEALTH_DRAINING);
	WT_CHECK_EQ(c.backends[1].n_servers, 3);
	hap_cfg_free(&c);
}

static void test_three_apps(void)
{
	static const char *const want[3][2] = { { "/app2/v1", "deep" },
						{ "/app1", "app1" },
						{ "/", "root" } };
	static const int counts[3] = { 3, 2, 1 };
	struct hap_cfg c;
	cJSON *d;

	WT_CHECK_EQ(parse_fixture("ray_3apps.cfg", &c), 0);
	d = doc_of(&c);
	for (int i = 0; i < 3; i++) {
		cJSON *g = group(d, i);

		WT_CHECK(!strcmp(gstr(g, "route_prefix"), want[i][0]));
		WT_CHECK(!strcmp(gstr(g, "app_name"), want[i][1]));
		WT_CHECK_EQ(n_targets(g, "targets"), counts[i]);
	}
	WT_CHECK(group(d, 3) == NULL);
	cJSON_Delete(d);
	hap_cfg_free(&c);
}

static void test_scaled_to_zero(void)
{
	struct hap_cfg c;
	cJSON *d, *g;

	WT_CHECK_EQ(parse_fixture("ray_scaled_zero.cfg", &c), 0);
	d = doc_of(&c);
	g = group(d, 1);
	WT_CHECK(!strcmp(gstr(g, "route_prefix"), "/app"));
	WT_CHECK_EQ(n_targets(g, "targets"), 0); /* the fallback serves it */
	WT_CHECK(c.has_fallback[HAP_HTTP]);
	WT_CHECK(!strcmp(c.fallback[HAP_HTTP].addr, "10.0.0.1"));
	cJSON_Delete(d);
	hap_cfg_free(&c);
}

static void test_router(void)
{
	struct hap_cfg c;
	cJSON *d, *g, *r, *t;

	WT_CHECK_EQ(parse_fixture("ray_router.cfg", &c), 0);
	d = doc_of(&c);
	g = group(d, 0);
	WT_CHECK(!strcmp(gstr(g, "app_name"), "llm"));
	WT_CHECK_EQ(n_targets(g, "targets"), 2);
	WT_CHECK_EQ(n_targets(g, "ingress_request_router_targets"), 1);
	r = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(
				       g, "ingress_request_router_targets"),
			       0);
	WT_CHECK(!strcmp(gstr(r, "ip"), "10.0.0.25"));
	WT_CHECK_EQ(cJSON_GetObjectItemCaseSensitive(r, "port")->valueint,
		    30004);
	/* the router answers actor names: they are the replica ids */
	t = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(g, "targets"),
			       1);
	WT_CHECK(!strcmp(gstr(t, "replica_id"), "SERVE_REPLICA::llm#App#r2"));
	WT_CHECK(!strcmp(gstr(t, "name"), "SERVE_REPLICA_llm-App-r2"));
	WT_CHECK(group(d, 1) == NULL); /* the -via- backend is no group */
	cJSON_Delete(d);
	hap_cfg_free(&c);
}

static void test_grpc(void)
{
	struct hap_cfg c;
	cJSON *d, *g, *fb;

	WT_CHECK_EQ(parse_fixture("ray_grpc.cfg", &c), 0);
	WT_CHECK_EQ(c.grpc_port, 9000);
	d = doc_of(&c);
	g = group(d, 1);
	WT_CHECK(!strcmp(gstr(g, "protocol"), "gRPC"));
	WT_CHECK(!strcmp(gstr(g, "app_name"), "app"));
	WT_CHECK(!strcmp(gstr(g, "route_prefix"), "/app"));
	WT_CHECK_EQ(n_targets(g, "targets"), 2);
	fb = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(d, "fallback_targets"),
		"gRPC");
	WT_CHECK_EQ(cJSON_GetObjectItemCaseSensitive(fb, "port")->valueint,
		    9500);
	cJSON_Delete(d);
	hap_cfg_free(&c);
}

/* One bad/ file: its first line is "# expect LINE TEXT"; the parse must
 * fail with a message that carries "[FILE:LINE]: " and TEXT. */
static int check_bad(const char *rel)
{
	char *text = fixture_text(rel), *nl, where[400], sub[300] = "";
	struct hap_cfg c;
	int line = -1, off = 0, ok;

	if (!text || sscanf(text, "# expect %d %n", &line, &off) != 1 || !off ||
	    !(nl = strchr(text, '\n'))) {
		printf("#   %s: no '# expect LINE TEXT' first line\n", rel);
		free(text);
		return 0;
	}
	snprintf(sub, sizeof(sub), "%.*s", (int)(nl - text - off), text + off);
	snprintf(where, sizeof(where), "[%s:%d]: ", rel, line);
	ok = hap_cfg_parse(&c, rel, text) == -EINVAL && c.msgs &&
	     strstr(c.msgs, where) && strstr(c.msgs, sub);
	if (!ok)
		printf("#   %s: want %s...%s, got:\n# %s", rel, where, sub,
		       c.msgs ? c.msgs : "(nothing)\n");
	hap_cfg_free(&c);
	free(text);
	return ok;
}

static void test_bad_corpus(void)
{
	char dir[512], rel[300];
	DIR *dp;
	struct dirent *e;
	int seen = 0;

	snprintf(dir, sizeof(dir), "%s/bad", HAP_FIXTURES);
	dp = opendir(dir);
	WT_CHECK(dp != NULL);
	while (dp && (e = readdir(dp))) {
		if (!strstr(e->d_name, ".cfg"))
			continue;
		snprintf(rel, sizeof(rel), "bad/%s", e->d_name);
		WT_CHECK(check_bad(rel));
		seen++;
	}
	if (dp)
		closedir(dp);
	printf("# %d bad configs\n", seen);
	WT_CHECK(seen >= 20);
}

/* Ray writes 127.0.0.1 for replicas on its own node: WEIR_LOCALHOST
 * (or weir-localhost) says which address weir-dp reaches them at. */
static void test_localhost(void)
{
	char *text = fixture_text("bad/loopback.cfg");
	struct hap_cfg c;
	cJSON *d, *t;

	WT_CHECK(text != NULL);
	setenv("WEIR_LOCALHOST", "10.1.2.3", 1);
	WT_CHECK_EQ(hap_cfg_parse(&c, "lo", text), 0);
	d = doc_of(&c);
	t = cJSON_GetArrayItem(
		cJSON_GetObjectItemCaseSensitive(group(d, 0), "targets"), 0);
	WT_CHECK(!strcmp(gstr(t, "ip"), "10.1.2.3"));
	cJSON_Delete(d);
	hap_cfg_free(&c);
	setenv("WEIR_LOCALHOST", "not-an-ip", 1);
	WT_CHECK_EQ(hap_cfg_parse(&c, "lo", text), -EINVAL);
	WT_CHECK(c.msgs && strstr(c.msgs, "WEIR_LOCALHOST: want an IPv4"));
	hap_cfg_free(&c);
	unsetenv("WEIR_LOCALHOST");
	free(text);
}

/* text with the first "from" replaced by "to" (from must be there). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	size_t n = strlen(text) + strlen(to) + 1;
	char *out = malloc(n);

	if (!at || !out) {
		printf("#   edit: '%s' not in the text\n", from);
		free(out);
		return NULL;
	}
	snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to,
		 at + strlen(from));
	return out;
}

static int line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);
	int line = 1;

	for (const char *c = text; at && c < at; c++)
		line += *c == '\n';
	return at ? line : -1;
}

static cJSON *hc_of(cJSON *doc, int i)
{
	return cJSON_GetObjectItemCaseSensitive(group(doc, i), "health_check");
}

static long hnum(cJSON *hc, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(hc, k);

	return cJSON_IsNumber(v) ? (long)v->valuedouble : -1;
}

/* Parses text after the given edits (pairs from, to); the group i's
 * health_check, or NULL with c->msgs holding why. */
static cJSON *health_after(const char *fixture, const char *const *ed, int n_ed,
			   struct hap_cfg *c, char **textp)
{
	char *text = fixture_text(fixture), *t;
	cJSON *d = NULL;

	for (int i = 0; text && i < n_ed; i++) {
		t = edit(text, ed[2 * i], ed[2 * i + 1]);
		free(text);
		text = t;
	}
	if (!text) {
		memset(c, 0, sizeof(*c));
		return NULL;
	}
	if (!hap_cfg_parse(c, "h.cfg", text))
		d = doc_of(c);
	else if (getenv("HAP_TEST_VERBOSE"))
		printf("# %s", c->msgs ? c->msgs : "?\n");
	*textp = text;
	return d;
}

/* The error of a parse of fixture after edits names line_needle's line
 * and carries msg. */
static int refused(const char *fixture, const char *const *ed, int n_ed,
		   const char *line_needle, const char *msg)
{
	struct hap_cfg c;
	char *text = NULL, where[64];
	cJSON *d = health_after(fixture, ed, n_ed, &c, &text);
	int ok;

	snprintf(where, sizeof(where),
		 "[h.cfg:%d]: ", text ? line_of(text, line_needle) : -2);
	ok = !d && c.msgs && strstr(c.msgs, where) && strstr(c.msgs, msg);
	if (!ok)
		printf("#   want %s...%s, got %s", where, msg,
		       c.msgs ? c.msgs : "(nothing)\n");
	cJSON_Delete(d);
	hap_cfg_free(&c);
	free(text);
	return ok;
}

/* Timings that disagree, out of weir-cp's range, or what weir-dp cannot
 * check with: refused with the line. */
static void test_health_refused(void)
{
	static const char *const differ[] = {
		"SERVE_REPLICA_deep-App-r2 10.0.0.22:30000 check",
		"SERVE_REPLICA_deep-App-r2 10.0.0.22:30000 check fall 3"
	};
	static const char *const fast[] = { "fastinter 250ms downinter",
					    "fastinter 5ms downinter" };
	static const char *const slow[] = { "inter 5s check",
					    "inter 2h check" };
	static const char *const fall0[] = { "fall 2 rise", "fall 0 rise" };
	static const char *const tcheck[] = {
		"    timeout client 3600s",
		"    timeout client 3600s\n    timeout check 10m"
	};
	static const char *const range[] = { "expect status 200",
					     "expect status 200-399" };
	static const char *const opt[] = { "option httpchk GET /-/healthz",
					   "option httpchk" };
	static const char *const meth[] = {
		"option httpchk GET /-/healthz",
		"option httpchk GET /-/healthz\n    http-check send meth HEAD"
	};
	static const char *const hdr[] = {
		"option httpchk GET /-/healthz",
		"option httpchk GET /-/healthz\n    http-check send hdr Host x"
	};
	static const char *const lng[] = {
		"GET /-/healthz", "GET /-/healthz/0123456789012345678901234567"
				  "890123456789012345678901234567890"
	};
	static const char *const hex[] = { "inter 5s", "inter 0x10" };

	WT_CHECK(refused("ray_3apps.cfg", differ, 1, "deep-App-r2",
			 "differ from server SERVE_REPLICA_deep-App-r1"));
	WT_CHECK(refused("ray_1app.cfg", fast, 1, "fastinter 5ms",
			 "out of range"));
	WT_CHECK(refused("ray_1app.cfg", slow, 1, "inter 2h", "out of range"));
	WT_CHECK(refused("ray_1app.cfg", fall0, 1, "fall 0", "want 1..1000"));
	WT_CHECK(refused("ray_1app.cfg", tcheck, 1, "timeout check 10m",
			 "a check may take 605000ms"));
	WT_CHECK(refused("ray_1app.cfg", range, 1, "status 200-399",
			 "want one status"));
	WT_CHECK(refused("ray_1app.cfg", opt, 1, "option httpchk",
			 "checks with OPTIONS"));
	WT_CHECK(refused("ray_1app.cfg", meth, 1, "meth HEAD",
			 "weir-dp checks with GET"));
	WT_CHECK(refused("ray_1app.cfg", hdr, 1, "send hdr", "GET PATH only"));
	WT_CHECK(refused("ray_1app.cfg", lng, 1, "GET /-/healthz/",
			 "longer than 63 bytes"));
	WT_CHECK(refused("ray_1app.cfg", hex, 1, "inter 0x10", "bad time"));
}

/* A server's own timings, timeout check, another status, http-check
 * send's path. */
static void test_health_own(void)
{
	struct hap_cfg c;
	char *text = NULL;
	cJSON *d, *h;

	{ /* a server's own timings, timeout check (+ min(connect, inter)),
	   * another status, http-check send's path, hard-stop-after */
		static const char *const ed[] = {
			"30000 check\n",
			"30000 check inter 3s fall 5\n",
			"    option httpchk GET /-/healthz",
			"    option httpchk\n    http-check send meth GET uri /ready ver HTTP/1.1",
			"expect status 200",
			"expect status 204",
			"    timeout client 3600s",
			"    timeout client 3600s\n    timeout check 1500ms\n    timeout connect 1s",
			"hard-stop-after 120s",
			"hard-stop-after 2m30s"
		};

		d = health_after("ray_1app.cfg", ed, 4, &c, &text);
		h = hc_of(d, 0);
		WT_CHECK(!strcmp(gstr(h, "path"), "/ready"));
		WT_CHECK_EQ(hnum(h, "inter_ms"), 3000);
		WT_CHECK_EQ(hnum(h, "fastinter_ms"), 250);
		WT_CHECK_EQ(hnum(h, "fall"), 5);
		WT_CHECK_EQ(hnum(h, "rise"), 2);
		WT_CHECK_EQ(hnum(h, "expect_status"), 204);
		WT_CHECK_EQ(hnum(h, "timeout_ms"), 2500); /* 1000 + 1500 */
		cJSON_Delete(d);
		hap_cfg_free(&c);
		free(text);
		/* "2m30s" is no HAProxy time */
		WT_CHECK(refused("ray_1app.cfg", ed, 5, "hard-stop-after",
				 "bad time"));
	}
}

/* A backend's per-server maxconn (equal on its servers) and timeout queue
 * become its group's limits; servers that differ leave it unapplied and
 * listed. */
static void test_limits(void)
{
	static const char *const ed[] = {
		"10.0.0.21:30000 check\n",
		"10.0.0.21:30000 check maxconn 5\n",
		"    timeout client 3600s",
		"    timeout client 3600s\n    timeout queue 2s",
	};
	struct hap_cfg c;
	char *text = NULL, *na;
	cJSON *d, *l;

	d = health_after("ray_1app.cfg", ed, 2, &c, &text);
	l = cJSON_GetObjectItemCaseSensitive(group(d, 0), "limits");
	WT_CHECK(l != NULL);
	WT_CHECK_EQ(hnum(l, "maxconn_per_server"), 5);
	WT_CHECK_EQ(hnum(l, "timeout_queue_ms"), 2000);
	na = hap_doc_not_applied(&c);
	WT_CHECK(!na || (!strstr(na, "queue") && !strstr(na, "maxconn that")));
	free(na);
	cJSON_Delete(d);
	hap_cfg_free(&c);
	free(text);
	d = health_after("ray_1app.cfg", ed + 2, 1, &c, &text); /* no maxconn */
	l = cJSON_GetObjectItemCaseSensitive(group(d, 0), "limits");
	WT_CHECK_EQ(hnum(l, "maxconn_per_server"), -1);
	WT_CHECK_EQ(hnum(l, "timeout_queue_ms"), 2000);
	cJSON_Delete(d);
	hap_cfg_free(&c);
	free(text);
}

/* HAProxy's defaults; hard-stop-after absent or over 1 h */
static void test_health_defaults(void)
{
	struct hap_cfg c;
	char *text = NULL;
	cJSON *d, *h;

	{ /* HAProxy's defaults: inter 2s, fastinter/downinter = inter,
	   * rise 2, fall 3; hard-stop-after absent: 120 s; over 1 h: 1 h */
		static const char *const ed[] = {
			"    default-server fastinter 250ms downinter 250ms fall 2 rise 2 inter 5s check",
			"    default-server check",
			"    hard-stop-after 120s\n",
			"",
			"    timeout client 3600s",
			"    timeout client 3600s\n    timeout check 0"
		};
		static const char *const ed2[] = { "hard-stop-after 120s",
						   "hard-stop-after 2h" };

		d = health_after("ray_1app.cfg", ed, 3, &c, &text);
		h = hc_of(d, 0);
		WT_CHECK_EQ(hnum(h, "inter_ms"), 2000);
		WT_CHECK_EQ(hnum(h, "fastinter_ms"), 2000);
		WT_CHECK_EQ(hnum(h, "downinter_ms"), 2000);
		WT_CHECK_EQ(hnum(h, "rise"), 2);
		WT_CHECK_EQ(hnum(h, "fall"), 3);
		WT_CHECK_EQ(hnum(h, "timeout_ms"), 2000); /* check 0: unset */
		WT_CHECK_EQ(c.drain_grace_ms, HAP_DRAIN_GRACE_DEFAULT_MS);
		cJSON_Delete(d);
		hap_cfg_free(&c);
		free(text);
		d = health_after("ray_1app.cfg", ed2, 1, &c, &text);
		WT_CHECK(d != NULL);
		WT_CHECK_EQ(c.drain_grace_ms, 3600000);
		WT_CHECK(c.msgs && strstr(c.msgs, "at most 1h"));
		cJSON_Delete(d);
		hap_cfg_free(&c);
		free(text);
	}
}

/* servers that agree are taken; the backup's own do not count */
static void test_health_agree(void)
{
	struct hap_cfg c;
	char *text = NULL;
	cJSON *d, *h;

	{ /* servers that agree are taken; the backup's own don't count */
		static const char *const ed[] = {
			"app1-App-r1 10.0.0.21:30000 check",
			"app1-App-r1 10.0.0.21:30000 check inter 1s",
			"app1-App-r2 10.0.0.22:30000 check",
			"app1-App-r2 10.0.0.22:30000 inter 1000 check",
			"8500 check backup\nbackend http-root",
			"8500 check backup inter 9s\nbackend http-root"
		};

		d = health_after("ray_3apps.cfg", ed, 3, &c, &text);
		h = hc_of(d, 1); /* http-app1 */
		WT_CHECK(!strcmp(gstr(group(d, 1), "app_name"), "app1"));
		WT_CHECK_EQ(hnum(h, "inter_ms"), 1000);
		WT_CHECK_EQ(hnum(hc_of(d, 0), "inter_ms"), 5000);
		cJSON_Delete(d);
		hap_cfg_free(&c);
		free(text);
	}
}

/* Ray's backend lines (option httpchk GET /-/healthz, http-check expect
 * status 200, default-server fastinter 250ms downinter 250ms fall 2 rise
 * 2 inter 5s check) are the group's health_check; timeout check, server
 * lines' own timings and HAProxy's defaults as HAProxy applies them. */
static void test_health_check(void)
{
	struct hap_cfg c;
	char *text = NULL, *na;
	cJSON *d, *h;

	d = health_after("ray_1app.cfg", NULL, 0, &c, &text);
	h = hc_of(d, 0);
	WT_CHECK(!strcmp(gstr(h, "path"), "/-/healthz"));
	WT_CHECK_EQ(hnum(h, "inter_ms"), 5000);
	WT_CHECK_EQ(hnum(h, "fastinter_ms"), 250);
	WT_CHECK_EQ(hnum(h, "downinter_ms"), 250);
	WT_CHECK_EQ(hnum(h, "rise"), 2);
	WT_CHECK_EQ(hnum(h, "fall"), 2);
	WT_CHECK_EQ(hnum(h, "timeout_ms"), 5000); /* no timeout check: inter */
	WT_CHECK_EQ(hnum(h, "expect_status"), 200);
	WT_CHECK_EQ(c.drain_grace_ms, 120000); /* hard-stop-after 120s */
	na = hap_doc_not_applied(&c);
	WT_CHECK(na && !strstr(na, "check") && !strstr(na, "hard-stop"));
	free(na);
	cJSON_Delete(d);
	hap_cfg_free(&c);
	free(text);
	test_health_own();
	test_health_defaults();
	test_health_agree();
	test_health_refused();
}

static void test_times(void)
{
	static const struct {
		const char *in;
		long ms;
		int rc;
	} v[] = { { "250ms", 250, 0 },
		  { "5s", 5000, 0 },
		  { "2m", 120000, 0 },
		  { "1h", 3600000, 0 },
		  { "100", 100, 0 },
		  { "1d", 86400000, 0 },
		  { "500us", 1, 0 },
		  { "5x", 0, -EINVAL },
		  { "", 0, -EINVAL },
		  { "-5s", 0, -EINVAL },
		  { "s", 0, -EINVAL },
		  { "1400us", 2, 0 },
		  { "0", 0, 0 },
		  { "1.5s", 0, -EINVAL },
		  { "0x10", 0, -EINVAL },
		  { "1e3", 0, -EINVAL },
		  { "5ss", 0, -EINVAL },
		  { " 5s", 0, -EINVAL },
		  { "2147483647", 2147483647, 0 },
		  { "2147483648", 0, -ERANGE },
		  { "24d", 2073600000, 0 },
		  { "25d", 0, -ERANGE },
		  { "99999999999999999999h", 0, -ERANGE } };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		long ms = 0;
		int rc = hap_parse_time(v[i].in, &ms);

		WT_CHECK_EQ(rc, v[i].rc);
		if (!rc)
			WT_CHECK_EQ(ms, v[i].ms);
	}
}

/* Every truncation and a few thousand seeded byte flips of a real config:
 * parsed or refused, never a crash (ASan builds check the memory). */
static void test_no_crash(void)
{
	char *text = fixture_text("ray_router.cfg");
	size_t len = text ? strlen(text) : 0;
	unsigned int seed = 15;

	WT_CHECK(text != NULL);
	for (size_t cut = 0; text && cut < len; cut += 7) {
		char *t = strndup(text, cut);
		struct hap_cfg c;

		hap_cfg_parse(&c, "cut", t);
		hap_cfg_free(&c);
		free(t);
	}
	for (int k = 0; text && k < 3000; k++) {
		char *t = strdup(text);
		struct hap_cfg c;

		for (int j = 0; j < 4; j++) {
			seed = seed * 1103515245u + 12345u;
			t[(seed >> 8) % len] = (char)(1 + (seed >> 20) % 255);
		}
		hap_cfg_parse(&c, "flip", t);
		hap_cfg_free(&c);
		free(t);
	}
	free(text);
}

static const char stats_json[] =
	"{\"ok\":true,\"frontend\":{\"pxname\":\"http_frontend\",\"scur\":3,"
	"\"stot\":10,\"req_tot\":12},\"backends\":[{\"pxname\":\"http-app\","
	"\"svname\":\"BACKEND\",\"status\":\"UP\",\"scur\":2,\"qcur\":0,"
	"\"servers\":[{\"svname\":\"r1\",\"status\":\"UP\",\"scur\":2,"
	"\"weight\":1,\"backup\":false},{\"svname\":\"r2\",\"status\":"
	"\"DRAIN\",\"scur\":0,\"weight\":1},{\"svname\":\"head\",\"status\":"
	"\"UP\",\"backup\":true,\"weight\":1}]}]}";

static int col(const char *header, const char *name)
{
	char buf[2048], *save = NULL;
	int i = 0;

	snprintf(buf, sizeof(buf), "%s", header + 2);
	for (char *t = strtok_r(buf, ",\n", &save); t;
	     t = strtok_r(NULL, ",\n", &save), i++)
		if (!strcmp(t, name))
			return i;
	return -1;
}

static void test_show_stat(void)
{
	cJSON *j = cJSON_Parse(stats_json);
	struct hap_out o = { 0 };

	hap_show_stat(&o, j, NULL);
	WT_CHECK(o.p && !strncmp(o.p,
				 "# pxname,svname,qcur,qmax,scur,smax,"
				 "slim,stot,bin,bout,dreq,dresp,ereq,",
				 60));
	WT_CHECK_EQ(col(o.p, "status"), 17);
	WT_CHECK_EQ(col(o.p, "scur"), 4);
	WT_CHECK_EQ(col(o.p, "qcur"), 2);
	WT_CHECK_EQ(col(o.p, "type"), 32);
	WT_CHECK_EQ(col(o.p, "hrsp_2xx"), 40);
	WT_CHECK_EQ(col(o.p, "req_tot"), 48);
	WT_CHECK(strstr(o.p, "\nhttp_frontend,FRONTEND,0,0,3,") != NULL);
	WT_CHECK(strstr(o.p, "\nhttp-app,r1,0,0,2,") != NULL);
	WT_CHECK(strstr(o.p, ",DRAIN,1,1,0,") != NULL);
	WT_CHECK(strstr(o.p, "\nhttp-app,BACKEND,0,0,2,") != NULL);
	WT_CHECK(o.len > 2 && !strcmp(o.p + o.len - 2, "\n\n"));
	hap_out_free(&o);
	hap_show_stat(&o, NULL, NULL); /* weir-cp down: the header only */
	WT_CHECK(o.p && !strchr(strchr(o.p, '\n') + 1, ','));
	hap_out_free(&o);
	cJSON_Delete(j);
}

static void test_show_servers_state(void)
{
	cJSON *j = cJSON_Parse(stats_json);
	struct hap_out o = { 0 };

	WT_CHECK_EQ(hap_show_servers_state(&o, j, NULL, NULL), 0);
	WT_CHECK(o.p && !strncmp(o.p,
				 "1\n# be_id be_name srv_id srv_name "
				 "srv_addr srv_op_state srv_admin_state",
				 70));
	WT_CHECK(strstr(o.p, "\n3 http-app 1 r1 - 2 0 1 1 ") != NULL);
	WT_CHECK(strstr(o.p, "\n3 http-app 2 r2 - 2 8 1 1 ") != NULL);
	hap_out_free(&o);
	WT_CHECK_EQ(hap_show_servers_state(&o, j, NULL, "nope"), -ENOENT);
	hap_out_free(&o);
	cJSON_Delete(j);
}

static void test_show_info(void)
{
	struct hap_out o = { 0 };

	hap_show_info(&o, NULL, NULL, 3725);
	WT_CHECK(o.p && !strncmp(o.p, "Name: HAProxy\nVersion: ", 23));
	WT_CHECK(strstr(o.p, "\nPid: ") != NULL);
	WT_CHECK(strstr(o.p, "\nUptime: 0d 1h02m05s\n") != NULL);
	WT_CHECK(strstr(o.p, "\nUptime_sec: 3725\n") != NULL);
	WT_CHECK(strstr(o.p, "\nWeir_cp: unreachable\n") != NULL);
	hap_out_free(&o);
}

int main(void)
{
	WT_RUN(test_one_app);
	WT_RUN(test_zero_apps);
	WT_RUN(test_three_apps);
	WT_RUN(test_scaled_to_zero);
	WT_RUN(test_router);
	WT_RUN(test_grpc);
	WT_RUN(test_bad_corpus);
	WT_RUN(test_localhost);
	WT_RUN(test_times);
	WT_RUN(test_health_check);
	WT_RUN(test_limits);
	WT_RUN(test_no_crash);
	WT_RUN(test_show_stat);
	WT_RUN(test_show_servers_state);
	WT_RUN(test_show_info);
	return wt_done();
}
