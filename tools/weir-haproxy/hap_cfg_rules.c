/* hap_cfg_rules: the lines of Ray's frontends (bind, acl, http-request,
 * use_backend) and backends (server, default-server, ...). Routing-bearing
 * rules are recorded for hap_resolve; Ray's fixed rules are recognised by
 * shape; anything else is an error with its line, never skipped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_cfg_int.h"

#define ERR(p, ...) (hap_msg((p)->cfg, (p)->line, true, __VA_ARGS__), -EINVAL)

static int cond_at(char **t, int n)
{
	for (int i = 1; i < n; i++)
		if (!strcmp(t[i], "if") || !strcmp(t[i], "unless"))
			return i;
	return n;
}

static int add_acl(struct hap_parser *p, const char *name,
		   enum hap_acl_kind kind, const char *value)
{
	struct hap_acl *a = realloc(p->acls, (p->n_acls + 1) * sizeof(*a));

	if (!a)
		return -ENOMEM;
	p->acls = a;
	a = &p->acls[p->n_acls];
	memset(a, 0, sizeof(*a));
	if (hap_copy(a->name, sizeof(a->name), name) ||
	    hap_copy(a->value, sizeof(a->value), value))
		return ERR(p, "acl '%.40s': name or value too long", name);
	a->kind = kind;
	a->fe = p->fe;
	a->line = p->line;
	p->n_acls++;
	return 0;
}

static int fixed_path_acl(struct hap_parser *p, char **t, int n)
{
	static const char *const fixed[][2] = {
		{ "healthcheck", "/-/healthz" },
		{ "routes", "/-/routes" },
		{ "is_healthz", "/ray.serve.RayServeAPIService/Healthz" },
		{ "is_list_applications",
		  "/ray.serve.RayServeAPIService/ListApplications" },
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if (strcmp(t[1], fixed[i][0]))
			continue;
		if (strcmp(t[n - 1], fixed[i][1]))
			return ERR(p, "acl %s: Weir answers %s only, not '%s'",
				   t[1], fixed[i][1], t[n - 1]);
		return add_acl(p, t[1], ACL_FIXED, t[n - 1]);
	}
	return -ENOENT;
}

static int acl_line(struct hap_parser *p, char **t, int n)
{
	int rc;

	if (n < 4)
		return ERR(p, "'acl NAME CRITERION VALUE' expected");
	if (!strcmp(t[2], "path") || !strcmp(t[2], "path_beg")) {
		bool ci = n == 5 && !strcmp(t[3], "-i");

		if (n != 4 && !ci)
			return ERR(p, "acl %s: one path value expected", t[1]);
		if ((rc = fixed_path_acl(p, t, n)) != -ENOENT)
			return rc;
		if (ci)
			return ERR(
				p,
				"acl %s: Weir matches route prefixes case-sensitively (as Ray), not with -i",
				t[1]);
		return add_acl(p, t[1], t[2][4] ? ACL_PATH_BEG : ACL_PATH,
			       t[3]);
	}
	if (n == 6 && !strcmp(t[2], "req.hdr(application)") &&
	    !strcmp(t[3], "-m") && !strcmp(t[4], "str"))
		return add_acl(p, t[1], ACL_APP_HEADER, t[5]);
	if (n == 5 && !strcmp(t[3], "-m") && !strcmp(t[4], "found") &&
	    (!strcmp(t[2], "req.hdr(application)") ||
	     !strcmp(t[2], "var(txn.ingress_request_router_app)")))
		return add_acl(p, t[1], ACL_FIXED, t[2]);
	if (n == 5 && !strncmp(t[2], "nbsrv(", 6) && !strcmp(t[3], "ge") &&
	    !strcmp(t[4], "1")) {
		if (p->n_health_up < 16) {
			size_t len = strlen(t[2] + 6);

			snprintf(p->health_up_backends[p->n_health_up++],
				 HAP_NAME_MAX, "%.*s", (int)(len ? len - 1 : 0),
				 t[2] + 6);
		}
		return add_acl(p, t[1], ACL_FIXED, t[2]);
	}
	return ERR(p, "acl %s: criterion '%s' is not one Ray's config uses",
		   t[1], t[2]);
}

/* "return status S content-type T string|lf-string MSG [hdr N V]..." */
static int parse_return(struct hap_parser *p, char **t, int c, long *status,
			const char **msg)
{
	*status = 200;
	*msg = "";
	for (int i = 2; i < c; i += 2) {
		if (i + 1 >= c)
			return ERR(p, "'return': '%s' without a value", t[i]);
		if (!strcmp(t[i], "status")) {
			if (hap_parse_long(t[i + 1], 200, 599, status))
				return ERR(p, "'return status %s': bad status",
					   t[i + 1]);
		} else if (!strcmp(t[i], "string") ||
			   !strcmp(t[i], "lf-string")) {
			*msg = t[i + 1];
		} else if (!strcmp(t[i], "hdr")) {
			i++;
		} else if (strcmp(t[i], "content-type")) {
			return ERR(p, "'return': unsupported option '%s'",
				   t[i]);
		}
	}
	return 0;
}

static int health_rule(struct hap_parser *p, char **t, int n, int c,
		       long status, const char *msg)
{
	struct hap_cfg *cfg = p->cfg;

	if (n - c == 3 && !strncmp(t[c + 2], "backend_", 8)) {
		if (status != 200 || strcmp(msg, "success"))
			return ERR(
				p,
				"healthz: a backend-up rule must answer 200 \"success\" (Weir's answer)");
		p->health_up_rule = true;
		return 0;
	}
	if (n - c != 2)
		return ERR(p, "healthz: unsupported condition");
	if (p->health_up_rule && status == 503 &&
	    !strcmp(msg, "Service Unavailable"))
		return 0; /* the tail: no backend has a server up */
	if (cfg->health != HAP_HEALTH_NONE)
		return ERR(p, "healthz: a second forced answer");
	p->health_line = p->line;
	hap_copy(cfg->health_msg, sizeof(cfg->health_msg), msg);
	if (status == 503 && !strcmp(msg, "This node is being drained."))
		cfg->health = HAP_HEALTH_DRAINING;
	else if (status == 503 &&
		 !strcmp(msg, "Route table is not populated yet."))
		cfg->health = HAP_HEALTH_NOT_POPULATED;
	else
		cfg->health = HAP_HEALTH_FORCED;
	return 0;
}

static int fe_return(struct hap_parser *p, char **t, int n, int c)
{
	long status;
	const char *msg;

	if (parse_return(p, t, c, &status, &msg))
		return -EINVAL;
	if (c + 1 >= n)
		return ERR(
			p,
			"'http-request return' without a condition: Weir answers Ray's fixed paths only");
	if (!strcmp(t[c + 1], "healthcheck"))
		return health_rule(p, t, n, c, status, msg);
	if (!strcmp(t[c + 1], "routes") && n - c == 2) {
		if (p->routes_json)
			return ERR(p, "a second /-/routes answer");
		p->routes_line = p->line;
		p->cfg->has_routes_rule = true;
		if (status == 200 && !(p->routes_json = strdup(msg)))
			return -ENOMEM;
		return 0;
	}
	if (!strcmp(t[c + 1], "{")) {
		p->cfg->router_fail_503 = true; /* Ray's fail-loudly rule */
		return 0;
	}
	if (!strcmp(t[c + 1], "is_healthz") ||
	    !strcmp(t[c + 1], "is_list_applications"))
		return 0; /* gRPC healthz and ListApplications */
	return ERR(p,
		   "'http-request return ... if %s': not a rule Weir can serve",
		   t[c + 1]);
}

static int http_request(struct hap_parser *p, char **t, int n)
{
	static const char *const fixed[] = { "set-log-level", "wait-for-body",
					     "use-service", NULL };
	int c = cond_at(t, n);

	if (n < 2)
		return ERR(p, "'http-request' without an action");
	if (!strcmp(t[1], "return"))
		return p->sec == SEC_BACKEND ? 0 : fe_return(p, t, n, c);
	if (!strcmp(t[1], "set-header")) {
		p->cfg->sets_header = true; /* listed as not applied */
		return 0;
	}
	if (!strncmp(t[1], "set-var(txn.ingress_request_router", 34) ||
	    !strcmp(t[1], "lua.route_via_ingress_request_router"))
		return 0;
	for (int i = 0; fixed[i]; i++)
		if (!strcmp(t[1], fixed[i]))
			return 0;
	return ERR(p, "'http-request %s': not an action Weir can serve", t[1]);
}

static int add_route(struct hap_parser *p, char **t, int n)
{
	bool dflt = !strcmp(t[0], "default_backend");
	struct hap_route *r;
	static const char via[] = "-via-ingress-request-router";

	if (dflt ? n != 2 : (n < 4 || strcmp(t[2], "if")))
		return ERR(p, dflt ? "'default_backend NAME' expected" :
				     "'use_backend NAME if ACL' expected");
	r = realloc(p->routes, (p->n_routes + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	p->routes = r;
	r = &p->routes[p->n_routes++];
	memset(r, 0, sizeof(*r));
	r->line = p->line;
	r->is_default = dflt;
	r->proto = p->fe == FE_GRPC ? HAP_GRPC : HAP_HTTP;
	r->fe = p->fe;
	if (hap_copy(r->backend, sizeof(r->backend), t[1]) ||
	    (!dflt && hap_copy(r->acl, sizeof(r->acl), t[3])))
		return ERR(p, "'%s': name too long", t[0]);
	r->via_router = strlen(t[1]) > sizeof(via) - 1 &&
			strstr(t[1], via) ==
				t[1] + strlen(t[1]) - (sizeof(via) - 1);
	if (!dflt && n != 4 && !r->via_router)
		return ERR(
			p,
			"'use_backend %s if %s ...': Weir routes on one prefix or application ACL",
			t[1], t[3]);
	return 0;
}

static int fe_bind(struct hap_parser *p, char **t, int n)
{
	int port = n >= 2 ? hap_bind_port(t[1]) : -1;
	struct hap_cfg *c = p->cfg;
	int *dst[4] = { &c->http_port, &c->grpc_port, &c->metrics_port,
			&c->stats_port };

	if (port < 0)
		return ERR(p, "'bind': want [ADDR]:PORT");
	if (n == 4 && !strcmp(t[2], "proto") && !strcmp(t[3], "h2")) {
		if (p->fe != FE_GRPC)
			return ERR(
				p,
				"'bind ... proto h2': only on grpc_frontend");
	} else if (n != 2) {
		return ERR(p, "'bind': unsupported option '%s'", t[2]);
	}
	*dst[p->fe] = port;
	return 0;
}

static int listen_stats(struct hap_parser *p, char **t, int n)
{
	long ms;

	if (n == 2 && !strcmp(t[1], "enable"))
		return 0;
	if (n == 3 && !strcmp(t[1], "uri") && t[2][0] == '/')
		return 0;
	if (n == 3 && !strcmp(t[1], "refresh") && !hap_parse_time(t[2], &ms))
		return 0;
	return ERR(p, "'stats %s': not supported in listen stats",
		   n > 1 ? t[1] : "");
}

int hap_frontend_words(struct hap_parser *p, char **t, int n)
{
	bool found;
	int rc = hap_defaults_words(p, t, n, &found);

	if (found)
		return rc;
	if (!strcmp(t[0], "bind"))
		return fe_bind(p, t, n);
	if (p->sec == SEC_LISTEN)
		return !strcmp(t[0], "stats") ?
			       listen_stats(p, t, n) :
			       ERR(p, "unknown keyword '%s' in listen stats",
				   t[0]);
	if (!strcmp(t[0], "no") && n == 2 && !strcmp(t[1], "log"))
		return 0;
	if (!strcmp(t[0], "log-format-sd"))
		return 0;
	if (!strcmp(t[0], "acl"))
		return acl_line(p, t, n);
	if (!strcmp(t[0], "http-request"))
		return http_request(p, t, n);
	if (!strcmp(t[0], "use_backend") || !strcmp(t[0], "default_backend"))
		return add_route(p, t, n);
	return ERR(p, "unknown keyword '%s' in frontend section", t[0]);
}

/* ---- backends ---------------------------------------------------------- */

static int check_param(struct hap_parser *p, char **t, int n, int *i,
		       struct hap_check *c)
{
	const char *k = t[*i];
	long v;

	if (*i + 1 >= n)
		return ERR(p, "'%s' without a value", k);
	(*i)++;
	if (!strcmp(k, "fall") || !strcmp(k, "rise")) {
		if (hap_parse_long(t[*i], 1, 1000, &v))
			return ERR(p, "'%s %s': want 1..1000", k, t[*i]);
		*(k[0] == 'f' ? &c->fall : &c->rise) = (int)v;
		return 0;
	}
	if (hap_parse_time(t[*i], &v))
		return ERR(p, "'%s %s': bad time: " HAP_TIME_HELP, k, t[*i]);
	if (v < HAP_CHK_INTER_MIN_MS || v > HAP_CHK_INTER_MAX_MS)
		return ERR(
			p,
			"'%s %s': out of range: weir-cp checks every %dms..%dms",
			k, t[*i], HAP_CHK_INTER_MIN_MS, HAP_CHK_INTER_MAX_MS);
	if (!strcmp(k, "inter"))
		c->inter_ms = v;
	else if (!strcmp(k, "fastinter"))
		c->fastinter_ms = v;
	else
		c->downinter_ms = v;
	return 0;
}

static int server_param(struct hap_parser *p, char **t, int n, int *i,
			struct hap_server *s, struct hap_check *c)
{
	static const char *const timed[] = { "fall",	  "rise",      "inter",
					     "fastinter", "downinter", NULL };
	const char *k = t[*i];

	for (int j = 0; timed[j]; j++)
		if (!strcmp(k, timed[j]))
			return check_param(p, t, n, i, c);
	if (!strcmp(k, "check")) {
		*(s ? &s->check : &p->cfg->backends[p->be].default_check) =
			true;
		return 0;
	}
	if (s && !strcmp(k, "backup")) {
		s->backup = true;
		return 0;
	}
	if (*i + 1 < n && ((!strcmp(k, "proto") && !strcmp(t[*i + 1], "h2")) ||
			   (s && !strcmp(k, "track")))) {
		(*i)++;
		return 0;
	}
	if (s && *i + 1 < n &&
	    (!strcmp(k, "maxconn") || !strcmp(k, "weight"))) {
		long *dst = k[0] == 'm' ? &s->maxconn : &s->weight;

		(*i)++;
		if (hap_parse_long(t[*i], 0, k[0] == 'm' ? 1000000 : 256, dst))
			return ERR(p, "'%s %s': bad value", k, t[*i]);
		return 0;
	}
	return ERR(p, "%s: unsupported parameter '%s'", t[0], k);
}

static int be_server(struct hap_parser *p, struct hap_backend *be, char **t,
		     int n)
{
	struct hap_server *s;
	struct hap_check c = be->check;

	if (n < 3)
		return ERR(p, "'server NAME IP:PORT ...' expected");
	s = realloc(be->servers, (be->n_servers + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	be->servers = s;
	s = &be->servers[be->n_servers];
	memset(s, 0, sizeof(*s));
	s->maxconn = s->weight = -1;
	s->check = be->default_check;
	s->line = p->line;
	if (hap_copy(s->name, sizeof(s->name), t[1]))
		return ERR(p, "server name longer than %d bytes",
			   HAP_NAME_MAX - 1);
	for (unsigned int i = 0; i < be->n_servers; i++)
		if (!strcmp(be->servers[i].name, s->name))
			return ERR(
				p,
				"server '%s' is defined twice in backend '%s'",
				s->name, be->name);
	if (hap_parse_addr(t[2], s->addr, sizeof(s->addr), &s->port))
		return ERR(
			p,
			"server %s: '%s' is not IPv4:PORT (Weir needs an address, not a name)",
			t[1], t[2]);
	for (int i = 3; i < n; i++)
		if (server_param(p, t, n, &i, s, &c))
			return -EINVAL;
	s->chk = c; /* hap_resolve_health: a group's servers must agree */
	be->n_servers++;
	return 0;
}

static int be_misc(struct hap_parser *p, struct hap_backend *be, char **t,
		   int n)
{
	if (!strcmp(t[0], "http-reuse"))
		return n == 2 && !strcmp(t[1], "always") ?
			       0 :
			       ERR(p,
				   "'http-reuse': Weir always reuses ('always')");
	if (!strcmp(t[0], "http-check"))
		return hap_http_check(p, t, n);
	if (!strcmp(t[0], "use-server"))
		return be->via_router ?
			       0 :
			       ERR(p, "'use-server' outside a router backend");
	if (!strcmp(t[0], "http-request")) {
		be->is_default = true;
		return http_request(p, t, n);
	}
	if (!strcmp(t[0], "acl") && n == 5 &&
	    !strcmp(t[1], "has_application_header"))
		return 0;
	return ERR(p, "unknown keyword '%s' in backend section", t[0]);
}

int hap_backend_words(struct hap_parser *p, char **t, int n)
{
	struct hap_backend *be = &p->cfg->backends[p->be];
	bool found;
	int rc = hap_defaults_words(p, t, n, &found);

	if (found)
		return rc;
	if (!strcmp(t[0], "server"))
		return be_server(p, be, t, n);
	if (!strcmp(t[0], "default-server")) {
		for (int i = 1; i < n; i++)
			if (server_param(p, t, n, &i, NULL, &be->check))
				return -EINVAL;
		return 0;
	}
	return be_misc(p, be, t, n);
}
