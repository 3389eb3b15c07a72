/* proxy_table: adopting a table snapshot: the servers' slots (dynamic
 * state keyed by stable id, kept across updates), lb_select's pools and
 * schedulers, and the /-/routes body. It builds the new arrays before
 * swapping them in, so a failure leaves the current table in force (only
 * server slots made or refreshed on the way stay); it never keeps a
 * pointer into a snapshot other than px->table. */
#include <errno.h>
#include <string.h>

#include <rte_malloc.h>

#include "http/proxy_internal.h"
#include "lb/route.h"

static uint32_t id_hash(uint64_t id)
{
	return (uint32_t)(id ^ id >> 29 ^ id >> 47);
}

static void index_add(struct proxy *px, uint32_t slot)
{
	uint32_t i = id_hash(px->servers[slot].id) & px->srv_index_mask;

	while (px->srv_index[i])
		i = (i + 1) & px->srv_index_mask;
	px->srv_index[i] = slot + 1;
}

/* The index has twice the slots' entries, so a probe ends at an empty
 * one; the bound only guards a reader on another thread (telemetry). */
struct px_server *proxy_server(struct proxy *px, uint64_t id)
{
	uint32_t i = id_hash(id) & px->srv_index_mask;

	for (uint32_t n = 0; n <= px->srv_index_mask; n++) {
		uint32_t e = px->srv_index[i];

		if (!e || e > px->servers_cap)
			return NULL;
		if (px->servers[e - 1].id == id)
			return &px->servers[e - 1];
		i = (i + 1) & px->srv_index_mask;
	}
	return NULL;
}

/* A new slot for id (its dynamic state starts fresh), or NULL when all
 * are in use. */
static struct px_server *slot_new(struct proxy *px, uint64_t id,
				  const struct lb_health_cfg *hc)
{
	for (uint32_t n = 0; n < px->servers_cap; n++) {
		uint32_t i = (px->free_cursor + n) % px->servers_cap;
		struct px_server *srv = &px->servers[i];

		if (srv->id)
			continue;
		memset(srv, 0, sizeof(*srv));
		srv->id = id;
		/* Ray announces running replicas: they start UP. */
		lb_health_init(&srv->health, hc, true, px->now);
		health_new_server(px, srv);
		px->free_cursor = i + 1;
		px->n_servers++;
		index_add(px, i);
		return srv;
	}
	return NULL;
}

static struct px_server *server_slot(struct proxy *px, uint64_t id,
				     const struct lb_health_cfg *hc)
{
	struct px_server *srv = proxy_server(px, id);

	return srv ? srv : slot_new(px, id, hc);
}

/* After an adoption: servers the table dropped lose their idle pooled
 * connections, and their slots are freed once no connection uses them
 * (or at a later adoption); the index is rebuilt without them. */
static void retire_servers(struct proxy *px)
{
	bool freed = false;

	for (uint32_t i = 0; i < px->servers_cap; i++) {
		struct px_server *srv = &px->servers[i];

		if (srv->id && srv->in_table &&
		    lb_hs_admin(lb_health_read(&srv->health)) == LB_ADMIN_MAINT)
			pool_expire(srv, px->now, 0); /* maint: idle ones go */
		if (!srv->id || srv->in_table)
			continue;
		pool_expire(srv, px->now, 0);
		if (srv->refs || srv->load.active)
			continue;
		srv->id = 0;
		px->n_servers--;
		freed = true;
	}
	if (!freed)
		return;
	memset(px->srv_index, 0,
	       sizeof(*px->srv_index) * (px->srv_index_mask + 1));
	for (uint32_t i = 0; i < px->servers_cap; i++)
		if (px->servers[i].id)
			index_add(px, i);
}

/* This worker's share of a server's maxconn (0: none): the workers'
 * shares add up to it, and each has one at least (a maxconn below the
 * number of workers is rounded up to one per worker). */
static uint32_t maxconn_share(const struct proxy *px, uint32_t maxconn)
{
	uint32_t n = px->bus.n ? px->bus.n : 1, share;

	if (!maxconn)
		return 0;
	share = maxconn / n + (px->bus.self < maxconn % n);
	return share ? share : 1;
}

/* The check a backend asks for (path, expected status, timeout). */
static void set_check(struct px_server *srv, const struct weir_table_health *th)
{
	memcpy(srv->hc_path, th->path, sizeof(srv->hc_path));
	srv->hc_path[sizeof(srv->hc_path) - 1] = '\0';
	srv->hc_expect = th->expect_status ? th->expect_status : 200;
	srv->hc_timeout_ms = th->timeout_ms ? th->timeout_ms : 1000;
}

/* The operator's state for a server, as weir-cp compiled it in. */
static enum lb_admin admin_of(uint32_t flags)
{
	if (flags & WEIR_SERVER_F_MAINT)
		return LB_ADMIN_MAINT;
	return flags & WEIR_SERVER_F_DRAIN ? LB_ADMIN_DRAIN : LB_ADMIN_READY;
}

/* Server i of t: its slot (kept, or new) takes the table's address,
 * check, admin state and knobs; m becomes its member entry. Returns 0 or
 * -ENOSPC (no slot left). */
static int adopt_server(struct proxy *px, const struct weir_table *t,
			uint32_t i, struct lb_member *m)
{
	const struct weir_table_server *ts = &weir_table_servers(t)[i];
	const struct weir_table_health *th =
		&weir_table_backends(t)[ts->backend].knobs.health;
	struct lb_health_cfg hc = {
		.fall = th->fall,
		.rise = th->rise,
		.active = true,
		.inter_ns = th->inter_ms * NS_PER_MS,
		.fastinter_ns = th->fastinter_ms * NS_PER_MS,
		.downinter_ns = th->downinter_ms * NS_PER_MS,
	};
	bool ok = lb_health_cfg_check(&hc) == 0;
	struct px_server *srv = server_slot(px, ts->id, ok ? &hc : NULL);

	if (!srv)
		return -ENOSPC;
	srv->ip = ts->ip;
	srv->port = ts->port;
	if (srv->hc_gen != t->generation) { /* the first backend's check */
		srv->hc_gen = t->generation;
		set_check(srv, th);
	}
	lb_health_set_admin(&srv->health, admin_of(ts->flags), px->now);
	if (ok) /* the table's knobs, the state kept */
		lb_health_set_config(&srv->health, &hc, px->now);
	m->srv = (uint32_t)(srv - px->servers);
	m->weight = ts->weight;
	m->flags = ts->flags & WEIR_SERVER_F_BACKUP ? LB_MEMBER_BACKUP : 0;
	m->maxconn = maxconn_share(px, ts->maxconn);
	return 0;
}

int proxy_set_table(struct proxy *px, const struct weir_table *t)
{
	struct lb_member *members = NULL;
	struct px_backend *bes = NULL;
	int64_t *wrr = NULL;

	retire_servers(px); /* what finished since the last adoption */
	if (t && t->n_servers) {
		members = rte_zmalloc(NULL, sizeof(*members) * t->n_servers, 0);
		wrr = rte_zmalloc(NULL, sizeof(*wrr) * t->n_servers, 0);
	}
	if (t && t->n_backends)
		bes = rte_zmalloc(NULL, sizeof(*bes) * t->n_backends, 0);
	if (t &&
	    ((t->n_servers && (!members || !wrr)) || (t->n_backends && !bes))) {
		rte_free(members), rte_free(wrr), rte_free(bes);
		return -ENOMEM;
	}
	for (uint32_t i = 0; t && i < t->n_servers; i++) {
		if (adopt_server(px, t, i, &members[i])) {
			rte_free(members), rte_free(wrr), rte_free(bes);
			return -ENOSPC;
		}
	}
	for (uint32_t i = 0; t && i < t->n_backends; i++) {
		const struct weir_table_backend *be =
			&weir_table_backends(t)[i];

		bes[i].key = weir_table_name_key(be->name);
		bes[i].pool.members = &members[be->first_server];
		bes[i].pool.n = be->n_servers + be->n_backups;
		bes[i].pool.algo = (enum lb_algo)be->knobs.balance;
		bes[i].pool.version = t->generation;
		lb_sched_init(&bes[i].sched, &wrr[be->first_server],
			      bes[i].pool.n);
	}
	for (uint32_t i = 0; i < px->servers_cap; i++)
		px->servers[i].in_table = false;
	for (uint32_t i = 0; t && i < t->n_servers; i++)
		px->servers[members[i].srv].in_table = true;
	rte_free(px->members), rte_free(px->wrr), rte_free(px->backends);
	px->members = members;
	px->wrr = wrr;
	px->backends = bes;
	px->table = t;
	px->routes_json_len = 0;
	if (t) {
		size_t n = route_routes_json(t, px->routes_json, 65536);

		px->routes_json_len = n < 65536 ? (uint32_t)n : 0;
	}
	retire_servers(px);
	px->q_kick = true; /* servers may have room (or be gone) now */
	CNT(px, tables);
	return 0;
}
