/* proxy_table: adopting a table snapshot: the servers' slots (dynamic
 * state keyed by stable id, kept across updates), lb_select's pools and
 * schedulers, and the /-/routes body. It builds the new arrays before
 * swapping them in, so a failure leaves the current table in force (only
 * server slots made or refreshed on the way stay); it never keeps a
 * pointer into a snapshot other than px->table. */
#include <errno.h>

#include <rte_malloc.h>

#include "http/proxy_internal.h"
#include "lb/route.h"

static struct px_server *server_slot(struct proxy *px, uint64_t id, bool create)
{
	uint32_t mask = px->servers_cap - 1;
	uint32_t i = (uint32_t)(id ^ id >> 29) & mask;

	while (px->servers[i].id && px->servers[i].id != id)
		i = (i + 1) & mask;
	if (px->servers[i].id == id)
		return &px->servers[i];
	if (!create || px->n_servers >= px->servers_cap * 3 / 4)
		return NULL;
	px->n_servers++;
	px->servers[i].id = id;
	/* Ray announces running replicas: they start UP. */
	lb_health_init(&px->servers[i].health, NULL, true, px->now);
	return &px->servers[i];
}

struct px_server *proxy_server(struct proxy *px, uint64_t id)
{
	return server_slot(px, id, false);
}

int proxy_set_table(struct proxy *px, const struct weir_table *t)
{
	struct lb_member *members = NULL;
	struct px_backend *bes = NULL;
	int64_t *wrr = NULL;

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
		const struct weir_table_server *ts = &weir_table_servers(t)[i];
		struct px_server *srv = server_slot(px, ts->id, true);

		if (!srv) {
			rte_free(members), rte_free(wrr), rte_free(bes);
			return -ENOSPC;
		}
		const struct weir_table_health *th =
			&weir_table_backends(t)[ts->backend].knobs.health;
		struct lb_health_cfg hc = {
			.fall = th->fall,
			.rise = th->rise,
			.inter_ns = th->inter_ms * NS_PER_MS,
			.fastinter_ns = th->fastinter_ms * NS_PER_MS,
			.downinter_ns = th->downinter_ms * NS_PER_MS,
		};

		srv->ip = ts->ip;
		srv->port = ts->port;
		if (lb_health_cfg_check(&hc) ==
		    0) /* the table's knobs, state kept */
			lb_health_set_config(&srv->health, &hc, px->now);
		members[i].srv = (uint32_t)(srv - px->servers);
		members[i].weight = ts->weight;
		members[i].flags =
			ts->flags & WEIR_SERVER_F_BACKUP ? LB_MEMBER_BACKUP : 0;
		members[i].maxconn = ts->maxconn;
	}
	for (uint32_t i = 0; t && i < t->n_backends; i++) {
		const struct weir_table_backend *be =
			&weir_table_backends(t)[i];

		bes[i].pool.members = &members[be->first_server];
		bes[i].pool.n = be->n_servers + be->n_backups;
		bes[i].pool.algo = (enum lb_algo)be->knobs.balance;
		bes[i].pool.version = t->generation;
		lb_sched_init(&bes[i].sched, &wrr[be->first_server],
			      bes[i].pool.n);
	}
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
	return 0;
}
