/* See table_check.h. */
#include <errno.h>
#include <string.h>

#include "common/table_check.h"

static int terminated(const char *s, size_t size)
{
	return memchr(s, 0, size) != NULL;
}

static int array_ok(const struct weir_table *t, uint32_t off, uint32_t n,
		    size_t elem)
{
	return off >= t->header_size && off % 8 == 0 &&
	       (uint64_t)off + (uint64_t)n * elem <= t->total_size;
}

static int check_backend(const struct weir_table *t,
			 const struct weir_table_backend *b, uint32_t i)
{
	uint64_t end = (uint64_t)b->first_server + b->n_servers + b->n_backups;

	if (!terminated(b->name, sizeof(b->name)) ||
	    !terminated(b->app_name, sizeof(b->app_name)) ||
	    !terminated(b->route_prefix, sizeof(b->route_prefix)) ||
	    !terminated(b->deployment, sizeof(b->deployment)) ||
	    !terminated(b->knobs.health.path, sizeof(b->knobs.health.path)))
		return 0;
	if (b->protocol !=
	    (i < t->n_http_backends ? WEIR_PROTO_HTTP : WEIR_PROTO_GRPC))
		return 0;
	return end <= t->n_servers &&
	       (uint64_t)b->first_router + b->n_routers <= t->n_servers;
}

int weir_table_check(const void *mem, size_t len)
{
	const struct weir_table *t = mem;
	const struct weir_table_route *r;
	const struct weir_table_backend *b;
	const struct weir_table_server *s;

	if (len < sizeof(*t) || t->magic != WEIR_TABLE_MAGIC ||
	    t->abi_version != WEIR_TABLE_ABI_VERSION ||
	    t->header_size != sizeof(*t))
		return -EPROTO;
	if (t->total_size > len || t->n_http_backends > t->n_backends ||
	    t->n_routes > t->n_http_backends ||
	    !array_ok(t, t->off_listeners, t->n_listeners,
		      sizeof(struct weir_table_listener)) ||
	    !array_ok(t, t->off_routes, t->n_routes, sizeof(*r)) ||
	    !array_ok(t, t->off_backends, t->n_backends, sizeof(*b)) ||
	    !array_ok(t, t->off_servers, t->n_servers, sizeof(*s)))
		return -EINVAL;
	r = weir_table_routes(t);
	b = weir_table_backends(t);
	s = weir_table_servers(t);
	for (uint32_t i = 0; i < t->n_routes; i++)
		if (r[i].prefix_len == 0 ||
		    r[i].prefix_len >= sizeof(r[i].prefix) ||
		    r[i].prefix[r[i].prefix_len] != 0 ||
		    strlen(r[i].prefix) != r[i].prefix_len ||
		    r[i].prefix[0] != '/' || r[i].backend >= t->n_http_backends)
			return -EINVAL;
	for (uint32_t i = 0; i < t->n_backends; i++)
		if (!check_backend(t, &b[i], i))
			return -EINVAL;
	for (uint32_t i = 0; i < t->n_servers; i++)
		if (s[i].backend >= t->n_backends || s[i].id == 0 ||
		    !terminated(s[i].name, sizeof(s[i].name)) ||
		    !terminated(s[i].replica_id, sizeof(s[i].replica_id)) ||
		    !terminated(s[i].instance_id, sizeof(s[i].instance_id)))
			return -EINVAL;
	return 0;
}
