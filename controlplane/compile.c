/* Model -> snapshot: see compile.h. Two passes: count (cp_compile_size
 * lays out the arrays), then fill in a fixed order: HTTP backends in route
 * order, then gRPC backends by app name; inside a backend, replicas by
 * name, the backup, then router targets by name. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

struct layout {
	uint32_t n_routes, n_backends, n_http, n_servers;
	uint32_t off_routes, off_backends, off_servers;
	size_t total;
	int too_big;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void cp_compile_defaults(struct cp_compile_opts *o)
{
	struct weir_table_knobs *k = &o->knobs;

	memset(o, 0, sizeof(*o));
	o->maxconn = 20000;
	k->timeouts.client_ms = 3600 * 1000;
	k->timeouts.http_keep_alive_ms = 90 * 1000;
	snprintf(k->health.path, sizeof(k->health.path), "/-/healthz");
	k->health.inter_ms = 5000;
	k->health.fastinter_ms = 250;
	k->health.downinter_ms = 250;
	k->health.fall = 2;
	k->health.rise = 2;
	k->health.expect_status = 200;
	k->health.timeout_ms = 1000;
	k->retries = 1;
	k->maxconn_per_server = 0;
	k->router_timeout_ms = 5000;
	k->balance = WEIR_BALANCE_LEASTCONN;
	k->router_failure = WEIR_ROUTER_FAIL_FALLTHROUGH;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

uint64_t cp_server_id(const char *name, uint32_t ip, uint16_t port)
{
	/* ip as sent on the wire, port big-endian: the same bytes on any host */
	unsigned char tail[7] = { 0,
				  (unsigned char)(ip & 0xff),
				  (unsigned char)(ip >> 8 & 0xff),
				  (unsigned char)(ip >> 16 & 0xff),
				  (unsigned char)(ip >> 24),
				  (unsigned char)(port >> 8),
				  (unsigned char)(port & 0xff) };
	uint64_t h = fnv1a(0xcbf29ce484222325ull, name, strlen(name));

	h = fnv1a(h, tail, sizeof(tail));
	/* splitmix64's finaliser: FNV's low bits are weak for hash tables */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h ? h : 1;
}

static size_t align_up(size_t x)
{
	return (x + WEIR_TABLE_ALIGN - 1) & ~(size_t)(WEIR_TABLE_ALIGN - 1);
}

static uint32_t group_servers(const struct tg_model *m,
			      const struct tg_group *g)
{
	return g->n_targets + (m->has_fallback[g->protocol] ? 1u : 0u) +
	       g->n_routers;
}

static void plan(const struct tg_model *m, struct layout *l)
{
	uint64_t servers = 0;
	size_t off;

	memset(l, 0, sizeof(*l));
	for (unsigned int i = 0; i < m->n_groups; i++) {
		servers += group_servers(m, &m->groups[i]);
		if (m->groups[i].protocol == TG_HTTP)
			l->n_http++;
	}
	l->n_backends = m->n_groups;
	l->n_routes = l->n_http;
	l->too_big = servers > WEIR_TABLE_MAX_SERVERS ||
		     m->n_groups > WEIR_TABLE_MAX_BACKENDS;
	l->n_servers = l->too_big ? 0 : (uint32_t)servers;
	off = align_up(sizeof(struct weir_table));
	l->off_routes = (uint32_t)off;
	off = align_up(off +
		       (size_t)l->n_routes * sizeof(struct weir_table_route));
	l->off_backends = (uint32_t)off;
	off = align_up(off + (size_t)l->n_backends *
				     sizeof(struct weir_table_backend));
	l->off_servers = (uint32_t)off;
	off = align_up(off +
		       (size_t)l->n_servers * sizeof(struct weir_table_server));
	l->total = off;
}

size_t cp_compile_size(const struct tg_model *m)
{
	struct layout l;

	plan(m, &l);
	return l.total;
}

/* Ray's frontend order: HTTP before gRPC (so HTTP backends index the same
 * as their routes), longest prefix first, then byte order; gRPC by app. */
static int group_cmp(const void *a, const void *b)
{
	const struct tg_group *x = *(const struct tg_group *const *)a;
	const struct tg_group *y = *(const struct tg_group *const *)b;
	size_t lx, ly;

	if (x->protocol != y->protocol)
		return x->protocol == TG_HTTP ? -1 : 1;
	if (x->protocol == TG_GRPC)
		return strcmp(x->app_name, y->app_name);
	lx = strlen(x->route_prefix);
	ly = strlen(y->route_prefix);
	if (lx != ly)
		return lx > ly ? -1 : 1;
	return strcmp(x->route_prefix, y->route_prefix);
}

static int target_cmp(const void *a, const void *b)
{
	const struct tg_target *x = *(const struct tg_target *const *)a;
	const struct tg_target *y = *(const struct tg_target *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return (x->port > y->port) - (x->port < y->port);
}

static void fill_server(struct weir_table_server *s, const struct tg_target *t,
			uint32_t backend, uint32_t flags, uint32_t maxconn)
{
	s->id = cp_server_id(t->name, t->ip, t->port);
	tg_sanitize_name(t->name, s->name, sizeof(s->name));
	memcpy(s->replica_id, t->replica_id, sizeof(s->replica_id));
	memcpy(s->instance_id, t->instance_id, sizeof(s->instance_id));
	s->ip = t->ip;
	s->port = t->port;
	s->weight = 1;
	s->maxconn = maxconn;
	s->backend = backend;
	s->flags = flags;
}

/* The group's health_check fields over the defaults (0 / "": not given). */
static void override_health(struct weir_table_health *h,
			    const struct weir_table_health *g)
{
	if (g->path[0])
		memcpy(h->path, g->path, sizeof(h->path));
	/* (the group's limits are applied in fill_backend) */
	h->inter_ms = g->inter_ms ? g->inter_ms : h->inter_ms;
	h->fastinter_ms = g->fastinter_ms ? g->fastinter_ms : h->fastinter_ms;
	h->downinter_ms = g->downinter_ms ? g->downinter_ms : h->downinter_ms;
	h->timeout_ms = g->timeout_ms ? g->timeout_ms : h->timeout_ms;
	h->rise = g->rise ? g->rise : h->rise;
	h->fall = g->fall ? g->fall : h->fall;
	h->expect_status = g->expect_status ? g->expect_status :
					      h->expect_status;
}

/* Appends targets (sorted through tmp, an array of n pointers) as servers
 * of backend b starting at *next. */
static void add_servers(struct weir_table_server *srv, uint32_t *next,
			const struct tg_target *t, unsigned int n,
			const struct tg_target **tmp, uint32_t b,
			uint32_t flags, uint32_t maxconn)
{
	for (unsigned int i = 0; i < n; i++)
		tmp[i] = &t[i];
	qsort(tmp, n, sizeof(*tmp), target_cmp);
	for (unsigned int i = 0; i < n; i++)
		fill_server(&srv[(*next)++], tmp[i], b, flags, maxconn);
}

static void fill_backend(struct weir_table_backend *be,
			 const struct tg_group *g,
			 const struct cp_compile_opts *o)
{
	char app[WEIR_TABLE_APP_MAX];

	tg_sanitize_name(g->app_name, app, sizeof(app));
	snprintf(be->name, sizeof(be->name), "%s-%s",
		 g->protocol == TG_GRPC ? "grpc" : "http", app);
	memcpy(be->app_name, g->app_name, sizeof(be->app_name));
	memcpy(be->route_prefix, g->route_prefix, sizeof(be->route_prefix));
	memcpy(be->deployment, g->deployment, sizeof(be->deployment));
	be->protocol = (uint8_t)g->protocol;
	be->flags = (g->router_fallback ? WEIR_BACKEND_F_ROUTER_FALLBACK : 0) |
		    (g->is_router_application ? WEIR_BACKEND_F_ROUTER_APP : 0);
	be->knobs = o->knobs;
	override_health(&be->knobs.health, &g->health);
	if (g->has_maxconn)
		be->knobs.maxconn_per_server = g->maxconn_per_server;
	if (g->has_queue)
		be->knobs.timeouts.queue_ms = g->timeout_queue_ms;
	be->knobs.client_rps = g->client_rps;
}

static unsigned int max_list(const struct tg_model *m)
{
	unsigned int n = 1;

	for (unsigned int i = 0; i < m->n_groups; i++) {
		if (m->groups[i].n_targets > n)
			n = m->groups[i].n_targets;
		if (m->groups[i].n_routers > n)
			n = m->groups[i].n_routers;
	}
	return n;
}

static void fill(const struct tg_model *m, const struct cp_compile_opts *o,
		 const struct layout *l, struct weir_table *t,
		 const struct tg_group **order, const struct tg_target **tmp)
{
	struct weir_table_route *routes = (void *)((char *)t + l->off_routes);
	struct weir_table_backend *bes = (void *)((char *)t + l->off_backends);
	struct weir_table_server *srv = (void *)((char *)t + l->off_servers);
	uint32_t mc = o->knobs.maxconn_per_server, next = 0;

	t->magic = WEIR_TABLE_MAGIC;
	t->abi_version = WEIR_TABLE_ABI_VERSION;
	t->header_size = sizeof(*t);
	t->generation = o->generation;
	t->total_size = l->total;
	t->maxconn = o->maxconn;
	t->maxconnrate = o->maxconnrate;
	t->maxsessrate = o->maxsessrate;
	t->client_rps = o->client_rps;
	t->off_listeners = l->off_routes; /* none yet: an empty array */
	t->n_routes = l->n_routes;
	t->off_routes = l->off_routes;
	t->n_backends = l->n_backends;
	t->off_backends = l->off_backends;
	t->n_servers = l->n_servers;
	t->off_servers = l->off_servers;
	t->n_http_backends = l->n_http;

	for (unsigned int i = 0; i < m->n_groups; i++)
		order[i] = &m->groups[i];
	qsort(order, m->n_groups, sizeof(*order), group_cmp);
	for (uint32_t b = 0; b < m->n_groups; b++) {
		const struct tg_group *g = order[b];
		struct weir_table_backend *be = &bes[b];

		fill_backend(be, g, o);
		if (g->protocol == TG_HTTP) {
			memcpy(routes[b].prefix, g->route_prefix,
			       sizeof(routes[b].prefix));
			routes[b].prefix_len =
				(uint32_t)strlen(g->route_prefix);
			routes[b].backend = b;
		}
		be->first_server = next;
		be->n_servers = g->n_targets;
		add_servers(srv, &next, g->targets, g->n_targets, tmp, b, 0,
			    be->knobs.maxconn_per_server); /* the group's */
		if (m->has_fallback[g->protocol]) {
			fill_server(&srv[next++], &m->fallback[g->protocol], b,
				    WEIR_SERVER_F_BACKUP, mc);
			be->n_backups = 1;
		}
		be->first_router = next;
		be->n_routers = g->n_routers;
		add_servers(srv, &next, g->routers, g->n_routers, tmp, b,
			    WEIR_SERVER_F_ROUTER, 0);
	}
}

int cp_compile(const struct tg_model *m, const struct cp_compile_opts *o,
	       void *buf, size_t len, char *err, size_t errlen)
{
	const struct tg_group **order;
	const struct tg_target **tmp;
	struct layout l;

	plan(m, &l);
	if (l.too_big) {
		set_err(err, errlen,
			"too many servers or backends for one table (at most %u servers, %u backends)",
			WEIR_TABLE_MAX_SERVERS, WEIR_TABLE_MAX_BACKENDS);
		return -E2BIG;
	}
	if ((uintptr_t)buf % 8) {
		set_err(err, errlen, "table buffer is not 8-byte aligned");
		return -EINVAL;
	}
	if (len < l.total) {
		set_err(err, errlen,
			"table buffer too small: %zu bytes, %zu needed", len,
			l.total);
		return -ENOSPC;
	}
	order = calloc(m->n_groups ? m->n_groups : 1, sizeof(*order));
	tmp = calloc(max_list(m), sizeof(*tmp));
	if (!order || !tmp) {
		free(order);
		free(tmp);
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(buf, 0, l.total);
	fill(m, o, &l, buf, order, tmp);
	free(order);
	free(tmp);
	return 0;
}

struct weir_table *cp_compile_alloc(const struct tg_model *m,
				    const struct cp_compile_opts *o, char *err,
				    size_t errlen)
{
	size_t size = cp_compile_size(m);
	void *buf = aligned_alloc(WEIR_TABLE_ALIGN, size);

	if (!buf) {
		set_err(err, errlen, "out of memory (%zu bytes)", size);
		return NULL;
	}
	if (cp_compile(m, o, buf, size, err, errlen)) {
		free(buf);
		return NULL;
	}
	return buf;
}
