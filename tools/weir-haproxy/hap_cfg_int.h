/* hap_cfg_int: what the pieces of hap_cfg (hap_cfg.c: reading and
 * tokens; hap_cfg_sections.c: global/defaults keywords; hap_cfg_rules.c:
 * frontend and backend lines; hap_cfg_resolve.c:
 * backends, routes and the router's Lua map) share. Not a public header:
 * only hap_cfg*.c and its unit test include it. */
#ifndef WEIR_HAP_CFG_INT_H
#define WEIR_HAP_CFG_INT_H

#include "hap_cfg.h"

#define HAP_MAX_TOKENS 64
#define HAP_MAX_LINE 8192
#define HAP_TIME_HELP \
	"want digits then us, ms, s, m, h or d (bare: ms), at most 2147483647ms"

enum hap_section {
	SEC_NONE,
	SEC_GLOBAL,
	SEC_DEFAULTS,
	SEC_FRONTEND,
	SEC_BACKEND,
	SEC_LISTEN
};

enum hap_frontend {
	FE_HTTP,
	FE_GRPC,
	FE_PROMETHEUS,
	FE_STATS
};

enum hap_acl_kind {
	ACL_PATH,
	ACL_PATH_BEG,
	ACL_APP_HEADER,
	ACL_FIXED /* one of Ray's fixed ACLs (healthcheck, routes, ...) */
};

struct hap_acl {
	char name[HAP_NAME_MAX];
	enum hap_acl_kind kind;
	char value[HAP_PATH_MAX];
	enum hap_frontend fe; /* ACLs are per proxy, as in HAProxy */
	int line;
};

/* One use_backend / default_backend rule. */
struct hap_route {
	char backend[HAP_NAME_MAX];
	char acl[HAP_NAME_MAX]; /* "" for default_backend */
	enum hap_proto proto;
	enum hap_frontend fe;
	bool via_router, is_default;
	int line;
};

struct hap_parser {
	struct hap_cfg *cfg;
	int line;
	enum hap_section sec;
	enum hap_frontend fe;
	int be; /* index into cfg->backends, -1 outside a backend */
	bool seen_global, seen_defaults, seen_fe[4];
	struct hap_acl *acls;
	unsigned int n_acls;
	struct hap_route *routes;
	unsigned int n_routes;
	char *routes_json; /* the string of "return ... if routes" (200) */
	int routes_line;
	bool health_up_rule; /* "... if healthcheck backend_X_server_up" */
	int health_line;
	char health_up_backends[16][HAP_NAME_MAX]; /* for the nbsrv check */
	unsigned int n_health_up;
};

void hap_msg(struct hap_cfg *cfg, int line, bool error, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int hap_parse_long(const char *s, long lo, long hi, long *out);
int hap_parse_addr(const char *s, char *ip, size_t iplen, uint16_t *port);
int hap_bind_port(const char *s);
int hap_copy(char *dst, size_t cap, const char *src);

/* One non-empty line, already split. Returns 0, -EINVAL (reported) or
 * -ENOMEM. */
int hap_parse_words(struct hap_parser *p, char **t, int n);

/* Lines of a frontend / listen section and of a backend
 * (hap_cfg_rules.c); defaults keywords (timeout, option, ...) that may
 * appear there too, *found saying whether t[0] was one. */
int hap_frontend_words(struct hap_parser *p, char **t, int n);
int hap_backend_words(struct hap_parser *p, char **t, int n);
int hap_defaults_words(struct hap_parser *p, char **t, int n, bool *found);

/* option httpchk and http-check lines (hap_cfg_check.c). */
int hap_httpchk(struct hap_parser *p, char **t, int n);
int hap_http_check(struct hap_parser *p, char **t, int n);

/* An app backend's health_check object from its lines (be->health). */
int hap_resolve_health(struct hap_cfg *c, struct hap_backend *be);

/* After the last line: routes -> backends, app names, checks across
 * lines. Frees the parser's own allocations. */
int hap_resolve(struct hap_parser *p);

/* Reads the ROUTERS and REPLICA_TARGETS tables of Ray's router Lua. */
int hap_lua_apply(struct hap_cfg *cfg, const char *lua);

#endif
