/* hap_cfg: the subset of HAProxy configuration Ray Serve's generator
 * writes (haproxy_templates.py), parsed into a model weir-haproxy can push
 * to weir-cp. Every line is either understood or reported with its number;
 * it must never guess: a directive, argument or rule it cannot map is an
 * error, so the stand-in never serves something other than the config. */
#ifndef WEIR_HAP_CFG_H
#define WEIR_HAP_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAP_NAME_MAX 128
#define HAP_PATH_MAX 256
#define HAP_DEFAULT_CP_SOCKET "/run/weir/weir.sock"

enum hap_proto {
	HAP_HTTP,
	HAP_GRPC
};

/* What the healthz rules of http_frontend say (Ray's HealthRouteInfo). */
enum hap_health_state {
	HAP_HEALTH_NONE, /* no rule: no backends, healthy */
	HAP_HEALTH_OK, /* 200 if a backend has a server up, else 503 */
	HAP_HEALTH_DRAINING, /* forced 503 "This node is being drained." */
	HAP_HEALTH_NOT_POPULATED, /* forced 503 "Route table is not ..." */
	HAP_HEALTH_FORCED /* forced 503 with another message */
};

/* Health-check timings and counts; -1 when the config does not set one. */
struct hap_check {
	long inter_ms, fastinter_ms, downinter_ms;
	int fall, rise;
};

/* HAProxy's own defaults for what a server line leaves unset (fastinter
 * and downinter default to inter), and weir-cp's limits on the group's
 * health_check object (controlplane/targetgroup.c parse_health). */
#define HAP_CHK_INTER_DEFAULT_MS 2000
#define HAP_CHK_RISE_DEFAULT 2
#define HAP_CHK_FALL_DEFAULT 3
#define HAP_CHK_INTER_MIN_MS 10
#define HAP_CHK_INTER_MAX_MS 3600000
#define HAP_CHK_TIMEOUT_MAX_MS 600000
#define HAP_CHK_PATH_MAX 64 /* WEIR_TABLE_HEALTH_PATH_MAX */

/* The group's health_check object, resolved from the backend's lines:
 * every field HAProxy would use, with HAProxy's defaults filled in.
 * path and expect_status are 0/"" when the config does not say one. */
struct hap_health {
	char path[HAP_CHK_PATH_MAX];
	long inter_ms, fastinter_ms, downinter_ms, timeout_ms;
	int fall, rise, expect_status;
};

/* Ray's drain (healthz forced to "This node is being drained.") is pushed
 * with hard-stop-after as weir-cp's drain grace; without it, Ray's default
 * HARD_STOP_AFTER_S. weir-cp takes at most an hour. */
#define HAP_DRAIN_GRACE_DEFAULT_MS 120000
#define HAP_DRAIN_GRACE_MAX_MS 3600000

struct hap_server {
	char name[HAP_NAME_MAX];
	char addr[16]; /* dotted IPv4 */
	uint16_t port;
	bool backup, check;
	struct hap_check chk; /* default-server's, then the line's own */
	long maxconn, weight; /* -1: not set */
	char replica_id[HAP_NAME_MAX]; /* from the router's Lua map, or "" */
	int line;
};

struct hap_backend {
	char name[HAP_NAME_MAX];
	enum hap_proto proto;
	bool via_router; /* NAME-via-ingress-request-router: no table entry */
	bool is_default; /* answers locally: default_backend and the like */
	char prefix[HAP_PATH_MAX]; /* from acl is_NAME path ... ("" none) */
	char app[HAP_NAME_MAX]; /* app name ("" until resolved) */
	bool routed; /* a use_backend rule selects it */
	struct hap_server *servers;
	unsigned int n_servers;
	struct hap_check check; /* default-server */
	char health_path[HAP_PATH_MAX]; /* option httpchk / http-check send */
	bool default_check; /* default-server ... check */
	bool httpchk, chk_get; /* option httpchk; the check's method is GET */
	int httpchk_line;
	long expect_status; /* http-check expect status N (-1: none) */
	bool tcp_check; /* option tcp-check: HAProxy only connects */
	struct hap_health health; /* resolved by hap_resolve (app backends) */
	long timeout_ms[8]; /* per-backend timeouts, HAP_T_* */
	int timeout_line[8];
	struct hap_server router; /* the router Ray's Lua calls (port 0: none) */
	int line;
};

/* Timeouts, indexed like hap_timeout_names[]. */
enum {
	HAP_T_CONNECT,
	HAP_T_CLIENT,
	HAP_T_SERVER,
	HAP_T_HTTP_REQUEST,
	HAP_T_HTTP_KEEP_ALIVE,
	HAP_T_QUEUE,
	HAP_T_TUNNEL,
	HAP_T_CHECK,
	HAP_T_COUNT
};
_Static_assert(HAP_T_COUNT <= 8, "hap_backend.timeout_ms holds 8");
extern const char *const hap_timeout_names[HAP_T_COUNT];

struct hap_cfg {
	const char *file;
	char stats_socket[108];
	char cp_socket[108]; /* weir-cp-socket, else WEIR_CP_SOCKET, else default */
	char localhost[16]; /* weir-localhost / WEIR_LOCALHOST: 127.x's stand-in */
	char lua_path[HAP_PATH_MAX];
	char server_state_file[HAP_PATH_MAX];
	char errorfile[2][HAP_PATH_MAX]; /* 502, 504 */
	char balance[32];
	long maxconn, nbthread, bufsize, hard_stop_after_ms, retries;
	long timeout_ms[HAP_T_COUNT]; /* defaults section, -1 unset */
	int timeout_line[HAP_T_COUNT];
	long drain_grace_ms; /* pushed with a drain: see HAP_DRAIN_GRACE_* */
	int hard_stop_line;
	bool redispatch;
	int http_port, grpc_port, metrics_port, stats_port; /* 0: no bind */
	enum hap_health_state health;
	char health_msg[HAP_PATH_MAX];
	bool has_routes_rule;
	bool router_fail_503; /* "503 Ingress request router failed" rule */
	bool sets_header; /* http-request set-header (Ray's test reload id) */
	struct hap_server fallback[2]; /* the backup server, per protocol */
	bool has_fallback[2];
	struct hap_backend *backends; /* in config order */
	unsigned int n_backends;
	/* diagnostics: "file:line: message" lines */
	char *msgs;
	size_t msgs_len, msgs_cap;
	unsigned int n_errors, n_warnings;
};

/* Parses text (the contents of file, for messages). Returns 0 when the
 * config is valid, -EINVAL when cfg->n_errors > 0 (every problem is in
 * cfg->msgs with its line), -ENOMEM. Free with hap_cfg_free either way. */
int hap_cfg_parse(struct hap_cfg *cfg, const char *file, const char *text);

/* Reads and parses file (and the router's Lua file it names, if any). */
int hap_cfg_load(struct hap_cfg *cfg, const char *file);

void hap_cfg_free(struct hap_cfg *cfg);

/* Parses an HAProxy time into *ms exactly as HAProxy's parse_time_err
 * does for a millisecond setting: decimal digits only, then nothing (ms),
 * "us", "ms", "s", "m", "h" or "d"; a fraction of a millisecond rounds
 * up; over 2147483647 ms (HAProxy's "timer overflow") is an error.
 * Returns 0 or -EINVAL (-ERANGE for an overflow). */
int hap_parse_time(const char *s, long *ms);

/* Whether be is an app's backend: one target group of the document (not
 * a router, local-answer or fallback backend). */
static inline bool hap_backend_is_app(const struct hap_backend *be)
{
	return be->routed && !be->via_router && !be->is_default;
}

/* Finds a backend by name, or NULL. */
struct hap_backend *hap_cfg_backend(const struct hap_cfg *cfg,
				    const char *name);

#endif
