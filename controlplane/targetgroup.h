/* Ray Serve target groups (the JSON the Serve controller broadcasts, see
 * shared/ray-serve-interface.md) -> a validated model that compile.* turns
 * into a route table. Unknown fields are ignored (forward compatibility with
 * newer Ray); everything Weir uses is checked, and every error names the
 * field with its path: `target_groups[1].targets[0].port: 70000 is out of
 * range (1-65535)`. Control plane only: allocates, never runs on a worker. */
#ifndef WEIR_CP_TARGETGROUP_H
#define WEIR_CP_TARGETGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/table.h"

/* Largest target-group file tg_load reads. */
#define TG_FILE_MAX (16u << 20)

enum tg_protocol {
	TG_HTTP = WEIR_PROTO_HTTP,
	TG_GRPC = WEIR_PROTO_GRPC
};

struct tg_target {
	char name[WEIR_TABLE_SERVER_NAME_MAX]; /* actor name, as sent */
	char replica_id[WEIR_TABLE_REPLICA_ID_MAX]; /* "" if absent */
	char instance_id[WEIR_TABLE_INSTANCE_ID_MAX];
	uint32_t ip; /* network order */
	uint16_t port; /* host order */
};

struct tg_group {
	enum tg_protocol protocol;
	char route_prefix[WEIR_TABLE_PREFIX_MAX];
	char app_name[WEIR_TABLE_APP_MAX]; /* "default" if absent */
	char deployment[WEIR_TABLE_DEPLOYMENT_MAX]; /* ingress_deployment_name */
	bool router_fallback; /* ingress_router_fallback */
	bool is_router_application;
	struct tg_target *targets; /* may be empty: app scaled to zero */
	unsigned int n_targets;
	struct tg_target *routers; /* ingress_request_router_targets (HTTP) */
	unsigned int n_routers;
	/* the group's "health_check" (a Weir extension); a field left 0 or
	 * "" takes the global default */
	struct weir_table_health health;
	/* its "limits" (a Weir extension): per-server maxconn (Serve's
	 * max_ongoing_requests), and how long a request may wait for one */
	uint32_t maxconn_per_server, timeout_queue_ms, client_rps;
	bool has_maxconn, has_queue;
	unsigned int index; /* position in the document, for messages */
};

struct tg_model {
	struct tg_group *groups; /* in document order */
	unsigned int n_groups;
	struct tg_target fallback[WEIR_PROTO_COUNT]; /* per protocol */
	bool has_fallback[WEIR_PROTO_COUNT];
};

/* Parses a target-group document: an object {"target_groups": [...],
 * "fallback_targets": {...} | [...]} (a bare list of groups is accepted
 * too). Returns 0 with *m filled (free with tg_model_free), or -EINVAL with
 * a one-line message naming the field in err (*m is then empty), -ENOMEM. */
int tg_parse(const char *text, struct tg_model *m, char *err, size_t errlen);

/* Reads and parses the file at path. Returns as tg_parse, with the path at
 * the start of the message, or -errno / -EFBIG when it cannot be read. */
int tg_load(const char *path, struct tg_model *m, char *err, size_t errlen);

/* Frees what tg_parse allocated and empties *m (safe on an empty model). */
void tg_model_free(struct tg_model *m);

/* Writes HAProxy's form of an actor name into out (outlen bytes, NUL
 * included): '#' -> '-', '/' -> '.', every other character outside
 * [A-Za-z0-9._-] -> '_' (one '_' per UTF-8 character). Returns the length
 * of the result, or -ENOSPC if it does not fit. */
int tg_sanitize_name(const char *in, char *out, size_t outlen);

/* "HTTP" or "gRPC". */
const char *tg_protocol_name(enum tg_protocol p);

/* Total targets of all groups (router targets and fallbacks excluded). */
unsigned int tg_model_n_targets(const struct tg_model *m);

#endif
