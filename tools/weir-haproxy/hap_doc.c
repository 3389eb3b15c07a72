/* hap_doc: see hap_doc.h. The document has exactly the groups, targets
 * and fallback the config routes to; what it cannot carry is listed by
 * hap_doc_not_applied, never dropped silently. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_doc.h"

static cJSON *target_json(const struct hap_cfg *c, const struct hap_server *s)
{
	cJSON *t = cJSON_CreateObject();
	const char *ip = s->addr;

	if (c->localhost[0] && !strncmp(ip, "127.", 4))
		ip = c->localhost;
	cJSON_AddStringToObject(t, "ip", ip);
	cJSON_AddNumberToObject(t, "port", s->port);
	cJSON_AddStringToObject(t, "instance_id", "");
	cJSON_AddStringToObject(t, "name", s->name);
	if (s->replica_id[0])
		cJSON_AddStringToObject(t, "replica_id", s->replica_id);
	return t;
}

/* gRPC groups have no path in the config: the HTTP group of the same app
 * lends its prefix, else "/APP" (prefixes are unique per protocol). */
static void grpc_prefix(const struct hap_cfg *c, const struct hap_backend *g,
			char *out, size_t cap)
{
	for (unsigned int i = 0; i < c->n_backends; i++) {
		const struct hap_backend *h = &c->backends[i];

		if (hap_backend_is_app(h) && h->proto == HAP_HTTP &&
		    !strcmp(h->app, g->app)) {
			snprintf(out, cap, "%s", h->prefix);
			return;
		}
	}
	snprintf(out, cap, "/%s", g->app);
}

/* The backend's check lines, resolved (hap_cfg_check.c); path and
 * expect_status only when the config says them (else weir-cp's). */
static void health_json(cJSON *g, const struct hap_health *h)
{
	cJSON *o = cJSON_AddObjectToObject(g, "health_check");

	if (h->path[0])
		cJSON_AddStringToObject(o, "path", h->path);
	cJSON_AddNumberToObject(o, "inter_ms", (double)h->inter_ms);
	cJSON_AddNumberToObject(o, "fastinter_ms", (double)h->fastinter_ms);
	cJSON_AddNumberToObject(o, "downinter_ms", (double)h->downinter_ms);
	cJSON_AddNumberToObject(o, "rise", h->rise);
	cJSON_AddNumberToObject(o, "fall", h->fall);
	cJSON_AddNumberToObject(o, "timeout_ms", (double)h->timeout_ms);
	if (h->expect_status)
		cJSON_AddNumberToObject(o, "expect_status", h->expect_status);
}

/* The maxconn every (non-backup) server of be carries, -1 when none or
 * when they differ (then it is listed as not applied). */
static long servers_maxconn(const struct hap_backend *be)
{
	long mc = -2;

	for (unsigned int i = 0; i < be->n_servers; i++) {
		if (be->servers[i].backup)
			continue;
		if (mc != -2 && be->servers[i].maxconn != mc)
			return -1;
		mc = be->servers[i].maxconn;
	}
	return mc < 0 ? -1 : mc;
}

/* The backend's timeout queue, else the defaults' (-1: none). */
static long queue_timeout(const struct hap_cfg *c, const struct hap_backend *be)
{
	return be->timeout_ms[HAP_T_QUEUE] >= 0 ? be->timeout_ms[HAP_T_QUEUE] :
						  c->timeout_ms[HAP_T_QUEUE];
}

/* Per-server maxconn and timeout queue: the group's limits. */
static void limits_json(const struct hap_cfg *c, const struct hap_backend *be,
			cJSON *g)
{
	long mc = servers_maxconn(be), q = queue_timeout(c, be);
	cJSON *o;

	if (mc < 0 && q < 0)
		return;
	o = cJSON_AddObjectToObject(g, "limits");
	if (mc >= 0)
		cJSON_AddNumberToObject(o, "maxconn_per_server", (double)mc);
	if (q >= 0)
		cJSON_AddNumberToObject(o, "timeout_queue_ms",
					(double)(q > 3600000 ? 3600000 : q));
}

static cJSON *group_json(const struct hap_cfg *c, const struct hap_backend *be)
{
	cJSON *g = cJSON_CreateObject(), *targets;
	char prefix[HAP_PATH_MAX + 1];

	if (be->proto == HAP_GRPC)
		grpc_prefix(c, be, prefix, sizeof(prefix));
	else
		snprintf(prefix, sizeof(prefix), "%s", be->prefix);
	cJSON_AddStringToObject(g, "protocol",
				be->proto == HAP_GRPC ? "gRPC" : "HTTP");
	cJSON_AddStringToObject(g, "route_prefix", prefix);
	cJSON_AddStringToObject(g, "app_name", be->app);
	targets = cJSON_AddArrayToObject(g, "targets");
	for (unsigned int i = 0; i < be->n_servers; i++)
		if (!be->servers[i].backup)
			cJSON_AddItemToArray(targets,
					     target_json(c, &be->servers[i]));
	health_json(g, &be->health);
	limits_json(c, be, g);
	if (be->router.port) {
		cJSON *r = cJSON_AddArrayToObject(
			g, "ingress_request_router_targets");

		cJSON_AddItemToArray(r, target_json(c, &be->router));
	}
	return g;
}

char *hap_doc_target_groups(const struct hap_cfg *c)
{
	cJSON *doc = cJSON_CreateObject(), *groups, *fb;
	char *text;

	groups = cJSON_AddArrayToObject(doc, "target_groups");
	for (unsigned int i = 0; i < c->n_backends; i++)
		if (hap_backend_is_app(&c->backends[i]))
			cJSON_AddItemToArray(groups,
					     group_json(c, &c->backends[i]));
	fb = cJSON_AddObjectToObject(doc, "fallback_targets");
	if (c->has_fallback[HAP_HTTP])
		cJSON_AddItemToObject(fb, "HTTP",
				      target_json(c, &c->fallback[HAP_HTTP]));
	if (c->has_fallback[HAP_GRPC])
		cJSON_AddItemToObject(fb, "gRPC",
				      target_json(c, &c->fallback[HAP_GRPC]));
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return text;
}

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void say(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(struct sbuf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || b->oom)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	if (b->len + (size_t)n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 2048;
		char *q;

		while (cap < b->len + (size_t)n + 2)
			cap *= 2;
		q = realloc(b->p, cap);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q, b->cap = cap;
	}
	memcpy(b->p + b->len, line, (size_t)n);
	b->len += (size_t)n;
	b->p[b->len++] = '\n';
	b->p[b->len] = 0;
}

static void global_knobs(const struct hap_cfg *c, struct sbuf *b)
{
	static const char *const where[HAP_T_COUNT] = {
		"weir-dp http.timeout_connect_ms",
		"weir-dp http.timeout_client_ms",
		"weir-dp http.timeout_server_ms",
		"weir-dp http.timeout_http_request_ms",
		"weir-dp http.timeout_keep_alive_ms",
		NULL, /* queue: applied per group (limits.timeout_queue_ms) */
		"nothing yet (WebSocket tunnels use timeout client)",
		NULL /* check: applied per group (health_check.timeout_ms) */
	};

	if (c->maxconn >= 0)
		say(b,
		    "- maxconn %ld: weir-dp http.max_sessions / tcp.max_connections (per worker)",
		    c->maxconn);
	if (c->nbthread >= 0)
		say(b, "- nbthread %ld: weir-dp workers", c->nbthread);
	if (c->bufsize >= 0)
		say(b, "- tune.bufsize %ld: weir-dp http.buffer_kb",
		    c->bufsize);
	for (int i = 0; i < HAP_T_COUNT; i++)
		if (c->timeout_ms[i] >= 0 && where[i])
			say(b, "- timeout %s %ldms: %s", hap_timeout_names[i],
			    c->timeout_ms[i], where[i]);
	if (c->balance[0])
		say(b, "- balance %s: weir-cp run --balance", c->balance);
	if (c->retries >= 0 || c->redispatch)
		say(b,
		    "- retries/option redispatch: weir-dp http.retries (always to another replica)");
	if (c->sets_header)
		say(b,
		    "- http-request set-header (Ray's test-only reload id): Weir adds no header");
	if (c->router_fail_503)
		say(b,
		    "- http-request return 503 \"Ingress request router failed\": not applied (no router callout in weir-dp yet)");
	if (c->server_state_file[0])
		say(b,
		    "- server-state-file: weir-cp keeps server state itself (--state-dir)");
	if (c->http_port)
		say(b, "- bind :%d (http_frontend): weir-dp http.port",
		    c->http_port);
	if (c->metrics_port)
		say(b,
		    "- bind :%d (prometheus): weir-cp run --mgmt IP:PORT (/metrics)",
		    c->metrics_port);
	if (c->stats_port)
		say(b,
		    "- bind :%d (listen stats): no HTML stats page; show stat on the admin socket",
		    c->stats_port);
}

/* What of a backend's checks weir-dp does differently (the timings, path,
 * status and timeout are the group's health_check). */
static void check_knobs(const struct hap_backend *be, struct sbuf *b)
{
	bool unchecked = false;

	if (!hap_backend_is_app(be))
		return;
	for (unsigned int i = 0; i < be->n_servers; i++)
		unchecked |= !be->servers[i].backup && !be->servers[i].check;
	if (!be->httpchk)
		say(b,
		    "- %s: no option httpchk (HAProxy: %s): weir-dp checks with GET /-/healthz",
		    be->name,
		    be->tcp_check ? "tcp-check, a connect" : "a connect");
	else if (be->expect_status < 0)
		say(b,
		    "- %s: no http-check expect (HAProxy: any 2xx or 3xx): weir-dp expects 200",
		    be->name);
	if (unchecked)
		say(b,
		    "- %s: servers without 'check' (HAProxy never checks them): weir-dp checks every server",
		    be->name);
}

static void backend_knobs(const struct hap_backend *be, struct sbuf *b)
{
	bool maxconn = false, weight = false;
	long applied = -1;

	check_knobs(be, b);
	for (int i = 0; i < HAP_T_COUNT; i++)
		if (be->timeout_ms[i] >= 0 && i != HAP_T_CHECK &&
		    i != HAP_T_QUEUE)
			say(b,
			    "- %s: timeout %s %ldms: per-backend timeouts are not in Weir's table",
			    be->name, hap_timeout_names[i], be->timeout_ms[i]);
	for (unsigned int i = 0; i < be->n_servers; i++) {
		maxconn |= be->servers[i].maxconn >= 0;
		weight |= be->servers[i].weight >= 0;
	}
	if (hap_backend_is_app(be))
		applied = servers_maxconn(be);
	if (be->router.port)
		say(b,
		    "- %s: ingress request router %s:%u: pushed as ingress_request_router_targets (replica ids from the Lua map); weir-dp's router callout is a later issue, until then requests are balanced without it",
		    be->name, be->router.addr, be->router.port);
	if (maxconn && applied < 0)
		say(b,
		    "- %s: per-server maxconn that differs between its servers: Weir takes one per group (limits.maxconn_per_server), so none is applied",
		    be->name);
	if (weight)
		say(b,
		    "- %s: server weight: use 'set server B/S weight N' on the admin socket",
		    be->name);
}

char *hap_doc_not_applied(const struct hap_cfg *c)
{
	struct sbuf b = { 0 };

	global_knobs(c, &b);
	for (unsigned int i = 0; i < c->n_backends; i++)
		if (!c->backends[i].via_router && !c->backends[i].is_default)
			backend_knobs(&c->backends[i], &b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}
