/* The table ABI between weir-cp and weir-dp: one immutable, versioned route
 * table snapshot. weir-cp compiles it (controlplane/compile.*), weir-dp's
 * workers only read it (dataplane/lb/route.*) and adopt a new one with a
 * single pointer swap between bursts.
 *
 * Layout rules, so a snapshot can live in shared memory mapped at different
 * addresses in the two processes: one contiguous block, a header first, then
 * flat arrays found by byte offsets from the header; every cross-reference is
 * an index, never a pointer; strings are fixed-size, NUL-terminated and
 * NUL-padded (weir-cp refuses longer input with an error naming the field).
 * The whole block is zeroed before it is filled, so equal input compiles to
 * equal bytes. Change anything here and bump WEIR_TABLE_ABI_VERSION: a peer
 * with another version must refuse the snapshot, not misread it.
 *
 * Dynamic per-server state (connections, queue, health) is NOT here: it is
 * keyed by weir_table_server.id, which is derived from the target's identity
 * (name, ip, port), so an update that keeps a server keeps its state. */
#ifndef WEIR_TABLE_H
#define WEIR_TABLE_H

#include <stdint.h>

#define WEIR_TABLE_MAGIC 0x3142415452494557ull /* "WEIRTAB1", little end. */
#define WEIR_TABLE_ABI_VERSION 3u

/* Sizes of the fixed string fields, NUL included (longest input is one
 * less). */
#define WEIR_TABLE_PREFIX_MAX 256 /* route_prefix */
#define WEIR_TABLE_APP_MAX 128 /* app_name */
#define WEIR_TABLE_BACKEND_NAME_MAX 136 /* "grpc-" + app name */
#define WEIR_TABLE_DEPLOYMENT_MAX 128 /* ingress_deployment_name */
#define WEIR_TABLE_SERVER_NAME_MAX 256 /* actor name (sanitised: same length) */
#define WEIR_TABLE_REPLICA_ID_MAX 64
#define WEIR_TABLE_INSTANCE_ID_MAX 64 /* cloud node id (Ray's is 56 hex) */
#define WEIR_TABLE_HEALTH_PATH_MAX 64

/* Counts a snapshot may hold (weir-cp refuses more). */
#define WEIR_TABLE_MAX_BACKENDS 4096
#define WEIR_TABLE_MAX_SERVERS 262144 /* replicas + backups + routers */

/* Every array starts on a cache line. */
#define WEIR_TABLE_ALIGN 64

enum weir_table_protocol {
	WEIR_PROTO_HTTP = 0,
	WEIR_PROTO_GRPC = 1,
	WEIR_PROTO_COUNT
};

enum weir_table_balance {
	WEIR_BALANCE_LEASTCONN = 0, /* Ray's default */
	WEIR_BALANCE_ROUNDROBIN = 1,
	WEIR_BALANCE_RANDOM = 2,
};

/* What a backend does when its ingress request router fails (seed 000). */
enum weir_table_router_failure {
	WEIR_ROUTER_FAIL_FALLTHROUGH = 0, /* normal balancing (default) */
	WEIR_ROUTER_FAIL_503 = 1, /* 503 "Ingress request router failed" */
};

/* Timeouts in milliseconds; 0 = none (Ray leaves connect/server unset). */
struct weir_table_timeouts {
	uint32_t connect_ms;
	uint32_t server_ms;
	uint32_t client_ms; /* default 3600 s */
	uint32_t http_request_ms;
	uint32_t queue_ms;
	uint32_t http_keep_alive_ms; /* default 90 s (keep_alive_timeout_s) */
	uint32_t tunnel_ms;
	uint32_t reserved;
};

/* Active HTTP check of each server: `GET path`, expect `expect_status`. */
struct weir_table_health {
	char path[WEIR_TABLE_HEALTH_PATH_MAX]; /* default "/-/healthz" */
	uint32_t inter_ms; /* 5000: between checks of a stable server */
	uint32_t fastinter_ms; /* 250: while going up or down */
	uint32_t downinter_ms; /* 250: while down */
	uint16_t fall; /* 2 failures: down */
	uint16_t rise; /* 2 successes: up */
	uint16_t expect_status; /* 200 */
	uint16_t reserved;
	uint32_t timeout_ms; /* 1000: a check not answered by then failed */
	uint32_t reserved2;
};

/* The knobs of one backend: the globals, with the group's own where it
 * gave them (health_check). */
struct weir_table_knobs {
	struct weir_table_timeouts timeouts;
	struct weir_table_health health;
	uint32_t retries; /* connection retries per request: 1 */
	uint32_t maxconn_per_server; /* 0 = unlimited */
	uint32_t router_timeout_ms; /* ingress request router call: 5000 */
	uint8_t balance; /* enum weir_table_balance */
	uint8_t router_failure; /* enum weir_table_router_failure */
	uint8_t reserved[2];
	uint32_t client_rps; /* requests per s per client address here; 0: any */
};

/* Room for the listeners (VIP:port, http or tcp); none yet: n_listeners 0. */
struct weir_table_listener {
	uint32_t vip; /* network order */
	uint16_t port; /* host order */
	uint8_t protocol;
	uint8_t kind; /* http / tcp passthrough, later */
	uint32_t reserved[6];
};

/* One HTTP route, in Ray's order: longest prefix first, then byte order.
 * The first route the path matches wins (dataplane/lb/route.h). */
struct weir_table_route {
	char prefix[WEIR_TABLE_PREFIX_MAX]; /* "/" or "/a/b", no trailing '/' */
	uint32_t prefix_len;
	uint32_t backend; /* index into the backends */
};

#define WEIR_BACKEND_F_ROUTER_FALLBACK \
	0x1u /* group's ingress_router_fallback */
#define WEIR_BACKEND_F_ROUTER_APP 0x2u /* group's is_router_application */

/* One backend per target group (one per app per protocol). Its servers are
 * three consecutive runs of the server array: the replicas
 * [first_server, +n_servers), then the backups (the fallback proxy)
 * [first_server + n_servers, +n_backups); its ingress request router targets
 * are [first_router, +n_routers) (n_routers 0: no router). */
struct weir_table_backend {
	char name[WEIR_TABLE_BACKEND_NAME_MAX]; /* "http-<app>" / "grpc-<app>" */
	char app_name[WEIR_TABLE_APP_MAX]; /* as Ray sent it */
	char route_prefix[WEIR_TABLE_PREFIX_MAX];
	char deployment[WEIR_TABLE_DEPLOYMENT_MAX]; /* ingress_deployment_name */
	uint8_t protocol; /* enum weir_table_protocol */
	uint8_t reserved0[3];
	uint32_t flags; /* WEIR_BACKEND_F_* */
	uint32_t first_server, n_servers, n_backups;
	uint32_t first_router, n_routers;
	struct weir_table_knobs knobs;
};

#define WEIR_SERVER_F_BACKUP \
	0x1u /* the fallback: used only when no replica is up */
#define WEIR_SERVER_F_ROUTER 0x2u /* an ingress request router replica */
#define WEIR_SERVER_F_DRAIN \
	0x4u /* operator: no new requests; in flight and pooled finish */
#define WEIR_SERVER_F_MAINT \
	0x8u /* operator: out of service; idle connections closed */

/* One server of one backend. The same target in two backends (the fallback
 * is a backup of every backend of its protocol) appears twice with the same
 * id, so it shares one health state and one connection count. */
struct weir_table_server {
	uint64_t id; /* stable: hash of (actor name, ip, port); never 0 */
	char name[WEIR_TABLE_SERVER_NAME_MAX]; /* HAProxy-sanitised actor name */
	char replica_id[WEIR_TABLE_REPLICA_ID_MAX]; /* "" when Ray sent none */
	char instance_id[WEIR_TABLE_INSTANCE_ID_MAX]; /* node; may be "" */
	uint32_t ip; /* network order */
	uint16_t port; /* host order */
	uint16_t weight; /* 1 (Ray sends no weights) */
	uint32_t maxconn; /* 0 = unlimited */
	uint32_t backend; /* index of the backend it belongs to */
	uint32_t flags; /* WEIR_SERVER_F_* */
	uint32_t reserved;
};

#define WEIR_TABLE_F_DRAINING \
	0x1u /* the node drains: healthz and routes say so (Ray's drain) */

/* The snapshot header. Offsets are in bytes from the header's first byte,
 * multiples of WEIR_TABLE_ALIGN; an empty array has count 0 (its offset is
 * still in range). total_size covers header and arrays. */
struct weir_table {
	uint64_t magic; /* WEIR_TABLE_MAGIC */
	uint32_t abi_version; /* WEIR_TABLE_ABI_VERSION */
	uint32_t header_size; /* sizeof(struct weir_table) */
	uint64_t generation; /* grows with every snapshot weir-cp publishes */
	uint64_t total_size;
	uint32_t flags; /* WEIR_TABLE_F_* */
	uint32_t maxconn; /* whole frontend: 20000 */
	uint32_t n_listeners, off_listeners;
	uint32_t n_routes, off_routes;
	uint32_t n_backends, off_backends;
	uint32_t n_servers, off_servers;
	uint32_t n_http_backends; /* backends [0, n_http_backends) are HTTP */
	uint32_t drain_grace_ms; /* draining: new connections taken that long */
	uint32_t maxconnrate; /* new client connections per second; 0: any */
	uint32_t maxsessrate; /* new sessions (connections kept) per s; 0: any */
	uint32_t client_rps; /* requests per second per client address; 0: any */
	uint32_t reserved[9];
};

_Static_assert(sizeof(struct weir_table) == 128, "table header layout");
_Static_assert(sizeof(struct weir_table_route) % 8 == 0, "route layout");
_Static_assert(sizeof(struct weir_table_server) % 8 == 0, "server layout");
_Static_assert(sizeof(struct weir_table_backend) % 4 == 0, "backend layout");

/* FNV-1a of a backend's name: how a session finds its backend again in a
 * table that renumbered them, and how weir-cp matches what a worker
 * exports about a backend (its queue) to the backend's name. */
static inline uint64_t weir_table_name_key(const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 1099511628211ull;
	return h;
}

static inline const struct weir_table_route *
weir_table_routes(const struct weir_table *t)
{
	return (const struct weir_table_route *)(const void *)((const char *)t +
							       t->off_routes);
}

static inline const struct weir_table_backend *
weir_table_backends(const struct weir_table *t)
{
	return (const struct weir_table_backend
			*)(const void *)((const char *)t + t->off_backends);
}

static inline const struct weir_table_server *
weir_table_servers(const struct weir_table *t)
{
	return (const struct weir_table_server *)(const void *)((const char *)t +
								t->off_servers);
}

static inline const struct weir_table_listener *
weir_table_listeners(const struct weir_table *t)
{
	return (const struct weir_table_listener
			*)(const void *)((const char *)t + t->off_listeners);
}

#endif
