/* Target-group parsing: see targetgroup.h. Each level (document, group,
 * target) has its own small parser; the helpers check type, length and
 * range and write "<path>: <problem>". Unknown keys are skipped on purpose:
 * Ray adds fields between versions and an ingress must not refuse them.
 * Optional fields may be absent or null (pydantic's None). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "common/json_check.h"
#include "common/jsonfile.h"
#include "targetgroup.h"

#define PATH_MAX_LEN 96

const char *tg_protocol_name(enum tg_protocol proto)
{
	return proto == TG_GRPC ? "gRPC" : "HTTP";
}

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not one (overlong
 * forms, surrogates and code points above U+10FFFF included). */
static unsigned int utf8_seq(const unsigned char *s)
{
	unsigned int n, cp, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int utf8_valid(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	while (*u) {
		unsigned int n = utf8_seq(u);

		if (!n)
			return 0;
		u += n;
	}
	return 1;
}

/* The next character of *s in HAProxy's form; advances past it (a whole
 * UTF-8 character, or one stray byte). */
static char sanitized_next(const unsigned char **s)
{
	unsigned int len = utf8_seq(*s);
	char c = (char)**s;

	*s += len ? len : 1;
	if (c == '#')
		return '-';
	if (c == '/')
		return '.';
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')
		return c;
	return '_';
}

int tg_sanitize_name(const char *in, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)in;
	size_t n = 0;

	while (*u) {
		if (n + 1 >= outlen)
			return -ENOSPC;
		out[n++] = sanitized_next(&u);
	}
	if (n >= outlen)
		return -ENOSPC;
	out[n] = 0;
	return (int)n;
}

/* strcmp of the sanitised forms, without building them. */
static int sanitized_cmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x && *y) {
		unsigned char cx = (unsigned char)sanitized_next(&x);
		unsigned char cy = (unsigned char)sanitized_next(&y);

		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return (*x != 0) - (*y != 0);
}

/* A string field: absent/null -> *found 0 (an error if required); else
 * checked for type, UTF-8 and length (size includes the NUL) and copied. */
static int get_string(struct jc_ctx *p, const cJSON *obj, const char *key,
		      const char *path, int required, char *out, size_t size,
		      int *found)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	size_t len;

	if (found)
		*found = 0;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return jc_fail(p, "%s.%s: missing", path, key);
		return 0;
	}
	if (!cJSON_IsString(v))
		return jc_fail(p, "%s.%s: must be a string", path, key);
	len = strlen(v->valuestring);
	if (len >= size)
		return jc_fail(p, "%s.%s: %zu bytes is too long (at most %zu)",
			       path, key, len, size - 1);
	if (!utf8_valid(v->valuestring))
		return jc_fail(p, "%s.%s: not valid UTF-8", path, key);
	memcpy(out, v->valuestring, len + 1);
	if (found)
		*found = 1;
	return 0;
}

/* The target's "ip": required, a unicast IPv4 address. */
static int parse_ip(struct jc_ctx *p, const cJSON *obj, const char *path,
		    uint32_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "ip");
	char what[PATH_MAX_LEN + 72];

	snprintf(what, sizeof(what), "%s.ip", path);
	if (jc_absent(p, v))
		return jc_fail(p, "%s: missing", what);
	return jc_ipv4(p, v, what, out);
}

static int parse_port(struct jc_ctx *p, const cJSON *obj, const char *path,
		      uint16_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "port");
	double d;

	if (!v || cJSON_IsNull(v))
		return jc_fail(p, "%s.port: missing", path);
	if (!cJSON_IsNumber(v))
		return jc_fail(p, "%s.port: must be an integer (1-65535)",
			       path);
	d = v->valuedouble;
	if (d != (double)(long long)d)
		return jc_fail(p, "%s.port: %.15g is not an integer", path, d);
	if (d < 1 || d > 65535)
		return jc_fail(p, "%s.port: %.15g is out of range (1-65535)",
			       path, d);
	*out = (uint16_t)d;
	return 0;
}

static int parse_target(struct jc_ctx *p, const cJSON *v, const char *path,
			struct tg_target *t)
{
	int rc, found;

	memset(t, 0, sizeof(*t));
	if (!cJSON_IsObject(v))
		return jc_fail(p, "%s: must be an object", path);
	if ((rc = parse_ip(p, v, path, &t->ip)) ||
	    (rc = parse_port(p, v, path, &t->port)))
		return rc;
	if ((rc = get_string(p, v, "name", path, 1, t->name, sizeof(t->name),
			     &found)))
		return rc;
	if (!t->name[0])
		return jc_fail(p, "%s.name: must not be empty", path);
	/* Ray always sends instance_id (may be ""); we do not need it. */
	if ((rc = get_string(p, v, "instance_id", path, 0, t->instance_id,
			     sizeof(t->instance_id), NULL)))
		return rc;
	return get_string(p, v, "replica_id", path, 0, t->replica_id,
			  sizeof(t->replica_id), NULL);
}

/* For the duplicate-name check: targets sorted by sanitised name. */
struct name_ix {
	const char *name;
	unsigned int ix;
};

static int name_ix_cmp(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = sanitized_cmp(x->name, y->name);

	return c ? c : (x->ix > y->ix) - (x->ix < y->ix);
}

static int id_ix_cmp(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->ix > y->ix) - (x->ix < y->ix);
}

/* Sorts v[0, m) with sort (key, then index) and finds the target earliest
 * in document order whose key (compared with same) repeats an earlier
 * one: *dup, and that earlier one *first. Returns false if none does. */
static bool earliest_repeat(struct name_ix *v, unsigned int m,
			    int (*sort)(const void *, const void *),
			    int (*same)(const char *, const char *),
			    unsigned int *dup, unsigned int *first)
{
	bool found = false;

	qsort(v, m, sizeof(*v), sort);
	for (unsigned int i = 1, run = 0; i < m; i++) {
		if (same(v[i].name, v[run].name)) {
			run = i;
			continue;
		}
		if (!found || v[i].ix < *dup) {
			*dup = v[i].ix;
			*first = v[run].ix;
			found = true;
		}
	}
	return found;
}

/* Two targets of one list may not share a name, nor a sanitised name (they
 * would be one server to HAProxy-style tooling). Reports the first target
 * in document order that repeats an earlier one. */
static int check_names(struct jc_ctx *p, const struct tg_target *t,
		       unsigned int n, const char *path, const char *list)
{
	struct name_ix *v;
	unsigned int dup = 0, first = 0;
	bool found;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		v[i] = (struct name_ix){ t[i].name, i };
	found = earliest_repeat(v, n, name_ix_cmp, sanitized_cmp, &dup, &first);
	free(v);
	if (!found)
		return 0;
	if (!strcmp(t[dup].name, t[first].name))
		return jc_fail(p, "%s.%s[%u].name: \"%.80s\" duplicates %s[%u]",
			       path, list, dup, t[dup].name, list, first);
	return jc_fail(
		p,
		"%s.%s[%u].name: \"%.80s\" is the same server name as %s[%u] once sanitised",
		path, list, dup, t[dup].name, list, first);
}

/* Two targets of one list may not share a replica_id: the request router
 * answers with one, and it must name one replica. Empty ids are not
 * compared (Ray's fallback proxies have none). */
static int check_replica_ids(struct jc_ctx *p, const struct tg_target *t,
			     unsigned int n, const char *path, const char *list)
{
	struct name_ix *v;
	unsigned int m = 0, dup = 0, first = 0;
	bool found;

	if (n < 2)
		return 0;
	v = calloc(n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		if (t[i].replica_id[0])
			v[m++] = (struct name_ix){ t[i].replica_id, i };
	found = earliest_repeat(v, m, id_ix_cmp, strcmp, &dup, &first);
	free(v);
	if (!found)
		return 0;
	return jc_fail(p, "%s.%s[%u].replica_id: \"%.80s\" duplicates %s[%u]",
		       path, list, dup, t[dup].replica_id, list, first);
}

static int parse_target_list(struct jc_ctx *p, const cJSON *obj,
			     const char *key, const char *path, int required,
			     struct tg_target **out, unsigned int *n_out)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, key);
	const cJSON *v;
	char tpath[PATH_MAX_LEN + 64];
	unsigned int n = 0;
	int size, rc;

	*out = NULL;
	*n_out = 0;
	if (!arr || cJSON_IsNull(arr)) {
		if (required)
			return jc_fail(p, "%s.%s: missing", path, key);
		return 0;
	}
	if (!cJSON_IsArray(arr))
		return jc_fail(p, "%s.%s: must be a list of targets", path,
			       key);
	size = cJSON_GetArraySize(arr);
	if (size > WEIR_TABLE_MAX_SERVERS)
		return jc_fail(p, "%s.%s: at most %d targets", path, key,
			       WEIR_TABLE_MAX_SERVERS);
	if (size == 0)
		return 0;
	*out = calloc((size_t)size, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	cJSON_ArrayForEach(v, arr)
	{
		snprintf(tpath, sizeof(tpath), "%s.%s[%u]", path, key, n);
		if ((rc = parse_target(p, v, tpath, &(*out)[n])))
			return rc; /* the caller frees the group */
		*n_out = ++n;
	}
	if ((rc = check_names(p, *out, n, path, key)))
		return rc;
	return check_replica_ids(p, *out, n, path, key);
}

static int parse_protocol(struct jc_ctx *p, const cJSON *g, const char *path,
			  enum tg_protocol *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "protocol");

	if (!v || cJSON_IsNull(v))
		return jc_fail(p, "%s.protocol: missing", path);
	if (!cJSON_IsString(v))
		return jc_fail(p, "%s.protocol: must be \"HTTP\" or \"gRPC\"",
			       path);
	if (!strcasecmp(v->valuestring, "HTTP"))
		*out = TG_HTTP;
	else if (!strcasecmp(v->valuestring, "gRPC"))
		*out = TG_GRPC;
	else
		return jc_fail(
			p, "%s.protocol: \"%.32s\" is not \"HTTP\" or \"gRPC\"",
			path, v->valuestring);
	return 0;
}

/* Ray's own rules (serve's route_prefix validation): starts with '/', no
 * trailing '/' except the root, no wildcards; and what a request path can
 * hold at all: visible ASCII without '?' and '#' (they end a path). */
static int check_route_prefix(struct jc_ctx *p, const char *rp,
			      const char *path)
{
	size_t len = strlen(rp);

	if (rp[0] != '/')
		return jc_fail(p,
			       "%s.route_prefix: \"%.64s\" must start with '/'",
			       path, rp);
	if (len > 1 && rp[len - 1] == '/')
		return jc_fail(
			p, "%s.route_prefix: \"%.64s\" must not end with '/'",
			path, rp);
	for (const char *c = rp; *c; c++) {
		if (*c <= ' ' || *c >= 0x7f)
			return jc_fail(
				p,
				"%s.route_prefix: \"%.64s\" has a space, control or non-ASCII byte at %zu (percent-encode it)",
				path, rp, (size_t)(c - rp));
		if (strchr("?#{}", *c))
			return jc_fail(
				p,
				"%s.route_prefix: \"%.64s\" must not contain '%c'",
				path, rp, *c);
	}
	return 0;
}

/* "health_check": {"path", "inter_ms", "fastinter_ms", "downinter_ms",
 * "rise", "fall", "timeout_ms", "expect_status"}, each optional (HAProxy's
 * `option httpchk GET path`, `check inter .. fall ..`, `timeout check`,
 * `http-check expect status`). */
static int parse_health(struct jc_ctx *p, const cJSON *g, const char *path,
			struct weir_table_health *h)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "health_check");
	uint32_t rise = 0, fall = 0, expect = 0;
	char hp[160];
	int rc;

	if (jc_absent(p, v))
		return 0;
	if (!cJSON_IsObject(v))
		return jc_fail(p, "%s.health_check: must be an object", path);
	snprintf(hp, sizeof(hp), "%s.health_check", path);
	if ((rc = get_string(p, v, "path", hp, 0, h->path, sizeof(h->path),
			     NULL)))
		return rc;
	if (h->path[0] != '\0' && h->path[0] != '/')
		return jc_fail(p, "%s.path: \"%s\" must start with '/'", hp,
			       h->path);
	for (const char *c = h->path; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return jc_fail(
				p,
				"%s.path: a space, control or non-ASCII byte at %zu",
				hp, (size_t)(c - h->path));
	if ((rc = jc_get_uint(p, v, "inter_ms", hp, 10, 3600000,
			      &h->inter_ms)) ||
	    (rc = jc_get_uint(p, v, "fastinter_ms", hp, 10, 3600000,
			      &h->fastinter_ms)) ||
	    (rc = jc_get_uint(p, v, "downinter_ms", hp, 10, 3600000,
			      &h->downinter_ms)) ||
	    (rc = jc_get_uint(p, v, "timeout_ms", hp, 10, 600000,
			      &h->timeout_ms)) ||
	    (rc = jc_get_uint(p, v, "rise", hp, 1, 1000, &rise)) ||
	    (rc = jc_get_uint(p, v, "fall", hp, 1, 1000, &fall)) ||
	    (rc = jc_get_uint(p, v, "expect_status", hp, 100, 599, &expect)))
		return rc;
	h->rise = (uint16_t)rise;
	h->fall = (uint16_t)fall;
	h->expect_status = (uint16_t)expect;
	return 0;
}

/* "limits": {"maxconn_per_server": 1-1000000 (0: none),
 * "timeout_queue_ms": 0-3600000 (0: none), "client_rps": 0-65535 (0:
 * none)}, each optional. */
static int parse_limits(struct jc_ctx *p, const cJSON *g, const char *path,
			struct tg_group *grp)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(g, "limits");
	char lp[160];
	int rc;

	if (jc_absent(p, v))
		return 0;
	if (!cJSON_IsObject(v))
		return jc_fail(p, "%s.limits: must be an object", path);
	snprintf(lp, sizeof(lp), "%s.limits", path);
	grp->has_maxconn = !jc_absent(
		p, cJSON_GetObjectItemCaseSensitive(v, "maxconn_per_server"));
	grp->has_queue = !jc_absent(
		p, cJSON_GetObjectItemCaseSensitive(v, "timeout_queue_ms"));
	if ((rc = jc_get_uint(p, v, "maxconn_per_server", lp, 0, 1000000,
			      &grp->maxconn_per_server)) ||
	    (rc = jc_get_uint(p, v, "timeout_queue_ms", lp, 0, 3600000,
			      &grp->timeout_queue_ms)) ||
	    (rc = jc_get_uint(p, v, "client_rps", lp, 0, 65535,
			      &grp->client_rps)))
		return rc;
	return 0;
}

static int parse_group(struct jc_ctx *p, const cJSON *g, const char *path,
		       struct tg_group *grp)
{
	int rc, found;

	if (!cJSON_IsObject(g))
		return jc_fail(p, "%s: must be an object", path);
	if ((rc = parse_protocol(p, g, path, &grp->protocol)))
		return rc;
	if ((rc = get_string(p, g, "route_prefix", path, 1, grp->route_prefix,
			     sizeof(grp->route_prefix), NULL)) ||
	    (rc = check_route_prefix(p, grp->route_prefix, path)))
		return rc;
	if ((rc = get_string(p, g, "app_name", path, 0, grp->app_name,
			     sizeof(grp->app_name), &found)))
		return rc;
	if (found && !grp->app_name[0])
		return jc_fail(p, "%s.app_name: must not be empty", path);
	if (!found) /* older Ray: name the app after its route */
		snprintf(grp->app_name, sizeof(grp->app_name), "%s",
			 grp->route_prefix[1] ? grp->route_prefix + 1 :
						"default");
	if ((rc = get_string(p, g, "ingress_deployment_name", path, 0,
			     grp->deployment, sizeof(grp->deployment), NULL)) ||
	    (rc = jc_get_bool(p, g, "ingress_router_fallback", path,
			      &grp->router_fallback)) ||
	    (rc = jc_get_bool(p, g, "is_router_application", path,
			      &grp->is_router_application)))
		return rc;
	if ((rc = parse_health(p, g, path, &grp->health)) ||
	    (rc = parse_limits(p, g, path, grp)) ||
	    (rc = parse_target_list(p, g, "targets", path, 1, &grp->targets,
				    &grp->n_targets)))
		return rc;
	return parse_target_list(p, g, "ingress_request_router_targets", path,
				 0, &grp->routers, &grp->n_routers);
}

/* One backend per (protocol, route_prefix) and per (protocol, app name):
 * two would be ambiguous routes or two backends with one name. */
static int check_group_unique(struct jc_ctx *p, const struct tg_model *m,
			      unsigned int i)
{
	const struct tg_group *g = &m->groups[i];
	char a[WEIR_TABLE_APP_MAX];

	tg_sanitize_name(g->app_name, a, sizeof(a));
	for (unsigned int j = 0; j < i; j++) {
		const struct tg_group *o = &m->groups[j];

		if (o->protocol != g->protocol)
			continue;
		if (!strcmp(o->route_prefix, g->route_prefix))
			return jc_fail(
				p,
				"target_groups[%u].route_prefix: \"%.64s\" is already used by target_groups[%u] (%s)",
				i, g->route_prefix, j,
				tg_protocol_name(g->protocol));
		if (!strcmp(o->app_name, g->app_name))
			return jc_fail(
				p,
				"target_groups[%u].app_name: \"%.64s\" is already used by target_groups[%u] (%s)",
				i, g->app_name, j,
				tg_protocol_name(g->protocol));
		if (!sanitized_cmp(o->app_name, g->app_name))
			return jc_fail(
				p,
				"target_groups[%u].app_name: \"%.64s\" gives the same backend name as target_groups[%u] (%s-%s)",
				i, g->app_name, j,
				g->protocol == TG_GRPC ? "grpc" : "http", a);
	}
	return 0;
}

static int parse_groups(struct jc_ctx *p, const cJSON *arr, struct tg_model *m)
{
	const cJSON *g;
	char path[PATH_MAX_LEN];
	int size, rc;

	if (!cJSON_IsArray(arr))
		return jc_fail(p, "target_groups: must be a list");
	size = cJSON_GetArraySize(arr);
	if (size > WEIR_TABLE_MAX_BACKENDS)
		return jc_fail(p, "target_groups: at most %d groups (got %d)",
			       WEIR_TABLE_MAX_BACKENDS, size);
	if (size == 0)
		return 0;
	m->groups = calloc((size_t)size, sizeof(*m->groups));
	if (!m->groups)
		return -ENOMEM;
	cJSON_ArrayForEach(g, arr)
	{
		unsigned int i = m->n_groups;

		snprintf(path, sizeof(path), "target_groups[%u]", i);
		m->groups[i].index = i;
		m->n_groups++; /* counted first so tg_model_free sees it */
		if ((rc = parse_group(p, g, path, &m->groups[i])) ||
		    (rc = check_group_unique(p, m, i)))
			return rc;
	}
	return 0;
}

static int parse_fallback_one(struct jc_ctx *p, const cJSON *v,
			      const char *path, enum tg_protocol proto,
			      struct tg_model *m)
{
	int rc;

	if (m->has_fallback[proto])
		return jc_fail(p, "%s: a %s fallback is already given", path,
			       tg_protocol_name(proto));
	if ((rc = parse_target(p, v, path, &m->fallback[proto])))
		return rc;
	m->has_fallback[proto] = true;
	return 0;
}

/* {"HTTP": target|null, "gRPC": target|null} as Ray sends it (other keys are
 * ignored: a future protocol), or a list of targets, each with an optional
 * "protocol" (default HTTP). */
static int parse_fallback(struct jc_ctx *p, const cJSON *fb, struct tg_model *m)
{
	char path[PATH_MAX_LEN];
	const cJSON *v;
	unsigned int i = 0;
	int rc;

	if (!fb || cJSON_IsNull(fb))
		return 0;
	if (cJSON_IsObject(fb)) {
		cJSON_ArrayForEach(v, fb)
		{
			enum tg_protocol proto;

			if (!strcasecmp(v->string, "HTTP"))
				proto = TG_HTTP;
			else if (!strcasecmp(v->string, "gRPC"))
				proto = TG_GRPC;
			else
				continue;
			if (cJSON_IsNull(v))
				continue;
			snprintf(path, sizeof(path), "fallback_targets.%.32s",
				 v->string);
			if ((rc = parse_fallback_one(p, v, path, proto, m)))
				return rc;
		}
		return 0;
	}
	if (!cJSON_IsArray(fb))
		return jc_fail(
			p,
			"fallback_targets: must be an object keyed by protocol or a list of targets");
	cJSON_ArrayForEach(v, fb)
	{
		enum tg_protocol proto = TG_HTTP;

		snprintf(path, sizeof(path), "fallback_targets[%u]", i++);
		if (cJSON_IsObject(v) &&
		    cJSON_GetObjectItemCaseSensitive(v, "protocol") &&
		    !cJSON_IsNull(
			    cJSON_GetObjectItemCaseSensitive(v, "protocol")) &&
		    (rc = parse_protocol(p, v, path, &proto)))
			return rc;
		if ((rc = parse_fallback_one(p, v, path, proto, m)))
			return rc;
	}
	return 0;
}

void tg_model_free(struct tg_model *m)
{
	for (unsigned int i = 0; i < m->n_groups; i++) {
		free(m->groups[i].targets);
		free(m->groups[i].routers);
	}
	free(m->groups);
	memset(m, 0, sizeof(*m));
}

unsigned int tg_model_n_targets(const struct tg_model *m)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < m->n_groups; i++)
		n += m->groups[i].n_targets;
	return n;
}

int tg_parse(const char *text, struct tg_model *m, char *err, size_t errlen)
{
	struct jc_ctx p = { .err = err,
			    .errlen = errlen,
			    .null_is_absent = true };
	const cJSON *groups;
	cJSON *root;
	int rc;

	memset(m, 0, sizeof(*m));
	if (errlen)
		err[0] = 0;
	root = cJSON_Parse(text);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		return jc_fail(&p, "not valid JSON near \"%.20s\"",
			       at ? at : "");
	}
	if (cJSON_IsArray(root)) {
		rc = parse_groups(&p, root, m);
	} else if (!cJSON_IsObject(root)) {
		rc = jc_fail(
			&p,
			"the top level must be an object with target_groups");
	} else {
		groups =
			cJSON_GetObjectItemCaseSensitive(root, "target_groups");
		if (!groups)
			rc = jc_fail(&p, "target_groups: missing");
		else
			rc = parse_groups(&p, groups, m);
		if (!rc)
			rc = parse_fallback(&p,
					    cJSON_GetObjectItemCaseSensitive(
						    root, "fallback_targets"),
					    m);
	}
	cJSON_Delete(root);
	if (rc == -ENOMEM)
		jc_fail(&p, "out of memory");
	if (rc)
		tg_model_free(m);
	return rc;
}

int tg_load(const char *path, struct tg_model *m, char *err, size_t errlen)
{
	char msg[384], *text;
	int rc;

	memset(m, 0, sizeof(*m));
	rc = json_file_read(path, TG_FILE_MAX, &text, err, errlen);
	if (rc)
		return rc;
	rc = tg_parse(text, m, msg, sizeof(msg));
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}
