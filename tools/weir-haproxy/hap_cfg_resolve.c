/* hap_cfg_resolve: once every line is read, ties use_backend rules to
 * their ACLs (route prefix, gRPC application), names each backend's app,
 * finds the fallback and reads the router's Lua tables. Each check here is
 * a place where HAProxy and Weir would otherwise serve different things. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_cfg_int.h"

#define ERRL(c, line, ...) (hap_msg((c), (line), true, __VA_ARGS__), -EINVAL)

/* The ACL of kind k called name in the route's frontend. */
static const struct hap_acl *find_acl(const struct hap_parser *p,
				      const struct hap_route *r,
				      enum hap_acl_kind k)
{
	for (unsigned int i = 0; i < p->n_acls; i++)
		if (p->acls[i].kind == k && p->acls[i].fe == r->fe &&
		    !strcmp(p->acls[i].name, r->acl))
			return &p->acls[i];
	return NULL;
}

static int route_http(struct hap_parser *p, const struct hap_route *r,
		      struct hap_backend *be)
{
	const struct hap_acl *path = find_acl(p, r, ACL_PATH);
	const struct hap_acl *beg = find_acl(p, r, ACL_PATH_BEG);
	char want[HAP_PATH_MAX + 1];

	if (!path)
		return ERRL(
			p->cfg, r->line,
			"use_backend %s: acl '%s' has no 'path PREFIX' line",
			r->backend, r->acl);
	snprintf(want, sizeof(want), "%s%s", path->value,
		 strcmp(path->value, "/") ? "/" : "");
	if (beg && strcmp(beg->value, want))
		return ERRL(
			p->cfg, beg->line,
			"acl %s: path_beg '%s' is not prefix '%s' + '/': Weir matches a prefix as Ray does",
			r->acl, beg->value, path->value);
	if (path->value[0] != '/')
		return ERRL(p->cfg, path->line,
			    "acl %s: route prefix must start with '/'", r->acl);
	hap_copy(be->prefix, sizeof(be->prefix), path->value);
	be->proto = HAP_HTTP;
	return 0;
}

static int route_one(struct hap_parser *p, const struct hap_route *r)
{
	struct hap_backend *be = hap_cfg_backend(p->cfg, r->backend);
	const struct hap_acl *app;

	if (!be)
		return ERRL(p->cfg, r->line, "no backend '%s'", r->backend);
	if (r->proto == HAP_GRPC && !strcmp(r->acl, "is_list_applications"))
		return !strcmp(be->name, "grpc_fallback_backend") ?
			       0 :
			       ERRL(p->cfg, r->line,
				    "ListApplications goes to grpc_fallback_backend only");
	if (r->via_router || be->via_router)
		return r->via_router == be->via_router ?
			       0 :
			       ERRL(p->cfg, r->line,
				    "use_backend %s: router backends are selected only with the router's condition",
				    r->backend);
	if (r->is_default) {
		if (be->is_default || r->proto == HAP_GRPC)
			return 0;
		return ERRL(
			p->cfg, r->line,
			"default_backend %s: Weir answers unmatched paths with Ray's 404; a default backend of servers is not supported",
			r->backend);
	}
	if (be->routed)
		return ERRL(p->cfg, r->line,
			    "backend %s is selected by two rules", be->name);
	be->routed = true;
	if (r->proto == HAP_HTTP)
		return route_http(p, r, be);
	app = find_acl(p, r, ACL_APP_HEADER);
	if (!app)
		return ERRL(
			p->cfg, r->line,
			"use_backend %s: acl '%s' is not 'req.hdr(application) -m str APP'",
			r->backend, r->acl);
	be->proto = HAP_GRPC;
	return hap_copy(be->app, sizeof(be->app), app->value);
}

/* Weir orders routes longest prefix first, then alphabetically (Ray's
 * order); a config in another order would match differently. */
static int check_order(struct hap_parser *p)
{
	const struct hap_backend *prev = NULL;

	for (unsigned int i = 0; i < p->n_routes; i++) {
		const struct hap_route *r = &p->routes[i];
		const struct hap_backend *be =
			hap_cfg_backend(p->cfg, r->backend);
		size_t a, b;

		if (!be || r->is_default || r->via_router ||
		    r->proto != HAP_HTTP)
			continue;
		if (prev) {
			a = strlen(prev->prefix), b = strlen(be->prefix);
			if (a < b ||
			    (a == b && strcmp(prev->prefix, be->prefix) > 0))
				return ERRL(
					p->cfg, r->line,
					"use_backend %s: prefix '%s' comes after '%s'; Weir matches the longest prefix first",
					be->name, be->prefix, prev->prefix);
		}
		prev = be;
	}
	return 0;
}

/* Weir sends every gRPC call to the one gRPC app when there is exactly
 * one (Ray's default_backend then); never to an app among several. */
static int check_grpc_default(struct hap_parser *p)
{
	unsigned int apps = 0;
	const struct hap_route *dflt = NULL;
	const struct hap_backend *to = NULL;

	for (unsigned int i = 0; i < p->n_routes; i++) {
		const struct hap_route *r = &p->routes[i];
		const struct hap_backend *be =
			hap_cfg_backend(p->cfg, r->backend);

		if (r->proto != HAP_GRPC || !be)
			continue;
		if (r->is_default && !be->is_default)
			dflt = r, to = be;
		else if (!r->is_default && be->proto == HAP_GRPC && be->routed)
			apps++;
	}
	if (dflt && (apps != 1 || to->proto != HAP_GRPC || !to->routed))
		return ERRL(
			p->cfg, dflt->line,
			"default_backend %s: Weir routes unmatched gRPC calls to the app only when it is the only one (here %u)",
			dflt->backend, apps);
	return 0;
}

static int routes_map(struct hap_parser *p)
{
	cJSON *j = cJSON_Parse(p->routes_json), *e, *obj;
	struct hap_cfg *c = p->cfg;
	int rc = 0;

	if (!cJSON_IsObject(j))
		rc = ERRL(c, p->routes_line,
			  "/-/routes: the answer is not a JSON object");
	obj = rc ? NULL : j;
	cJSON_ArrayForEach(e, obj)
	{
		struct hap_backend *be = NULL;

		for (unsigned int i = 0; i < c->n_backends && !be; i++)
			if (c->backends[i].routed &&
			    c->backends[i].proto == HAP_HTTP &&
			    !strcmp(c->backends[i].prefix, e->string))
				be = &c->backends[i];
		if (!be || !cJSON_IsString(e) || !e->valuestring[0]) {
			rc = ERRL(
				c, p->routes_line,
				"/-/routes: '%s' is not the prefix of a routed backend (Weir builds /-/routes from the backends)",
				e->string);
			break;
		}
		hap_copy(be->app, sizeof(be->app), e->valuestring);
	}
	cJSON_Delete(j);
	return rc;
}

static bool same_server(const struct hap_server *a, const struct hap_server *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->addr, b->addr) &&
	       a->port == b->port;
}

static int set_fallback(struct hap_cfg *c, enum hap_proto proto,
			const struct hap_server *s)
{
	if (c->has_fallback[proto] && !same_server(&c->fallback[proto], s))
		return ERRL(
			c, s->line,
			"backup server %s differs from %s: Weir has one fallback per protocol",
			s->name, c->fallback[proto].name);
	c->fallback[proto] = *s;
	c->has_fallback[proto] = true;
	return 0;
}

/* Ray writes 127.0.0.1 for a replica on its own node; weir-dp's own
 * TCP/IP stack cannot reach the host's loopback, so such a server needs
 * WEIR_LOCALHOST / weir-localhost (the node's address weir-dp reaches). */
static int check_loopback(struct hap_cfg *c, const struct hap_server *s)
{
	if (strncmp(s->addr, "127.", 4) ||
	    (c->localhost[0] && strcmp(c->localhost, "bad")))
		return 0;
	return ERRL(
		c, s->line,
		"server %s %s: weir-dp cannot reach this host's loopback; set WEIR_LOCALHOST=IP (or 'weir-localhost IP' in global) to the node address replicas listen on",
		s->name, s->addr);
}

static int backend_servers(struct hap_cfg *c, struct hap_backend *be)
{
	unsigned int backups = 0;

	for (unsigned int i = 0; i < be->n_servers; i++) {
		struct hap_server *s = &be->servers[i];

		if (check_loopback(c, s))
			return -EINVAL;
		if (!s->backup)
			continue;
		if (++backups > 1)
			return ERRL(
				c, s->line,
				"backend %s: a second backup server; Weir has one fallback",
				be->name);
		if (set_fallback(c, be->proto, s))
			return -EINVAL;
	}
	return 0;
}

static int backend_one(struct hap_parser *p, struct hap_backend *be)
{
	struct hap_cfg *c = p->cfg;
	const char *dash;

	if (be->via_router) {
		char base[HAP_NAME_MAX];

		snprintf(base, sizeof(base), "%.*s",
			 (int)(strlen(be->name) - 27), be->name);
		if (!hap_cfg_backend(c, base))
			return ERRL(c, be->line,
				    "router backend %s: no backend '%s'",
				    be->name, base);
		return 0;
	}
	if (!strcmp(be->name, "grpc_fallback_backend")) {
		if (be->n_servers != 1)
			return ERRL(
				c, be->line,
				"grpc_fallback_backend: want exactly one server");
		if (check_loopback(c, &be->servers[0]))
			return -EINVAL;
		return set_fallback(c, HAP_GRPC, &be->servers[0]);
	}
	if (be->is_default)
		return be->n_servers ?
			       ERRL(c, be->line,
				    "backend %s answers locally and has servers",
				    be->name) :
			       0;
	if (!be->routed)
		return ERRL(
			c, be->line,
			"backend %s is not selected by any use_backend rule",
			be->name);
	dash = strchr(be->name, '-');
	if (!be->app[0])
		hap_copy(be->app, sizeof(be->app), dash ? dash + 1 : be->name);
	return backend_servers(c, be);
}

static int resolve_all(struct hap_parser *p)
{
	struct hap_cfg *c = p->cfg;
	int rc = 0;

	for (unsigned int i = 0; i < p->n_routes; i++)
		rc |= route_one(p, &p->routes[i]);
	rc |= check_order(p);
	rc |= check_grpc_default(p);
	if (p->routes_json)
		rc |= routes_map(p);
	for (unsigned int i = 0; i < c->n_backends; i++)
		rc |= backend_one(p, &c->backends[i]);
	for (unsigned int i = 0; i < c->n_backends && !rc; i++)
		if (hap_backend_is_app(&c->backends[i]))
			rc |= hap_resolve_health(c, &c->backends[i]);
	for (unsigned int i = 0; i < p->n_health_up; i++)
		if (!hap_cfg_backend(c, p->health_up_backends[i]))
			rc = ERRL(c, 0, "healthz: nbsrv(%s) names no backend",
				  p->health_up_backends[i]);
	if (c->health == HAP_HEALTH_NONE && p->health_up_rule)
		c->health = HAP_HEALTH_OK;
	if (c->health == HAP_HEALTH_FORCED)
		hap_msg(c, p->health_line, false,
			"healthz forced to \"%s\": Weir answers its own healthz (503 \"Service Unavailable\" without replicas)",
			c->health_msg);
	return rc ? -EINVAL : 0;
}

int hap_resolve(struct hap_parser *p)
{
	int rc = resolve_all(p);

	free(p->acls);
	free(p->routes);
	free(p->routes_json);
	p->acls = NULL;
	p->routes = NULL;
	p->routes_json = NULL;
	return rc == -ENOMEM ? rc : 0;
}

/* ---- the router's Lua (ingress_request_router.lua) ---------------------- */

/* Reads a JSON-style "..." string at *s into out; advances *s. */
static int lua_string(const char **s, char *out, size_t cap)
{
	const char *r = *s;
	size_t n = 0;

	while (*r && strchr(" \t[]=,", *r))
		r++;
	if (*r++ != '"')
		return -EINVAL;
	for (; *r && *r != '"'; r++) {
		if (*r == '\\' && r[1])
			r++;
		if (n + 1 >= cap)
			return -EINVAL;
		out[n++] = *r;
	}
	if (*r != '"')
		return -EINVAL;
	out[n] = 0;
	*s = r + 1;
	return 0;
}

static int lua_router(struct hap_cfg *c, const char *line, int lineno)
{
	char be_name[HAP_NAME_MAX], ip[16];
	const char *s = line, *h;
	struct hap_backend *be;
	int port = 0;

	if (lua_string(&s, be_name, sizeof(be_name)) ||
	    !(h = strstr(s, "host = ")) ||
	    sscanf(h, "host = \"%15[0-9.]\", port = %d", ip, &port) != 2 ||
	    port < 1 || port > 65535)
		return ERRL(c, lineno, "ROUTERS: cannot read this entry");
	be = hap_cfg_backend(c, be_name);
	if (!be)
		return ERRL(c, lineno, "ROUTERS: no backend '%s'", be_name);
	snprintf(be->router.name, sizeof(be->router.name), "router-%.100s",
		 be_name);
	memcpy(be->router.addr, ip, sizeof(ip));
	be->router.port = (uint16_t)port;
	be->router.line = lineno;
	return 0;
}

static int lua_target(struct hap_cfg *c, struct hap_backend *be,
		      const char *line, int lineno)
{
	char rid[HAP_NAME_MAX], sname[HAP_NAME_MAX];
	const char *s = line;

	if (lua_string(&s, rid, sizeof(rid)) ||
	    lua_string(&s, sname, sizeof(sname)))
		return ERRL(c, lineno,
			    "REPLICA_TARGETS: cannot read this entry");
	for (unsigned int i = 0; i < be->n_servers; i++) {
		if (strcmp(be->servers[i].name, sname))
			continue;
		memcpy(be->servers[i].replica_id, rid, sizeof(rid));
		return 0;
	}
	return ERRL(c, lineno, "REPLICA_TARGETS: no server '%s' in backend %s",
		    sname, be->name);
}

int hap_lua_apply(struct hap_cfg *c, const char *lua)
{
	const char *file = c->file, *line = lua;
	char buf[1024], name[HAP_NAME_MAX];
	enum {
		NONE,
		ROUTERS,
		TARGETS
	} mode = NONE;
	struct hap_backend *be = NULL;
	int lineno = 0, rc = 0;

	c->file = c->lua_path;
	for (; *line;
	     line += strcspn(line, "\n") + (line[strcspn(line, "\n")] != 0)) {
		const char *s = buf;

		snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(line, "\n"),
			 line);
		lineno++;
		s += strspn(s, " \t");
		if (!strncmp(s, "local ROUTERS = {", 17))
			mode = ROUTERS;
		else if (!strncmp(s, "local REPLICA_TARGETS = {", 25))
			mode = TARGETS;
		else if (mode != NONE && *s == '}')
			mode = be ? mode : NONE, be = NULL;
		else if (mode == ROUTERS && *s == '[')
			rc |= lua_router(c, s, lineno);
		else if (mode == TARGETS && *s == '[' && !be) {
			const char *q = s;

			if (lua_string(&q, name, sizeof(name)) ||
			    !(be = hap_cfg_backend(c, name)))
				rc |= ERRL(c, lineno,
					   "REPLICA_TARGETS: no backend '%s'",
					   name);
		} else if (mode == TARGETS && *s == '[')
			rc |= lua_target(c, be, s, lineno);
	}
	c->file = file;
	return rc ? -EINVAL : 0;
}
