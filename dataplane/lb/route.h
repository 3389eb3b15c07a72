/* The dataplane's reading of a route table snapshot (include/weir/table.h):
 * which backend a request path goes to, with Ray Serve's semantics exactly,
 * and the bodies the frontend answers by itself (/-/routes, the 404).
 * Runs on worker lcores: no allocation, no locks, no syscalls, no DPDK; the
 * snapshot is only read.
 *
 * Matching (as Ray's generated HAProxy config: `path_beg prefix/` or
 * `path prefix`, routes longest prefix first):
 *  - a route matches when the path equals its prefix or starts with
 *    prefix + "/"; prefix "/" matches every path that starts with '/';
 *  - byte-exact and case-sensitive, no percent-decoding, no prefix
 *    stripping ("/app%2Fx" does not match under "/app/");
 *  - the path ends at the first '?' (query) or '#'. A '#' never reaches us
 *    from a conforming client (fragments are not sent, RFC 9110 4.2.5;
 *    HAProxy >= 2.8.2 answers 400); if one does, it is cut there like the
 *    query so it can never extend a match;
 *  - a path that does not start with '/' ("*", "" or garbage) matches
 *    nothing: 404. Absolute-form targets go through route_target_path(). */
#ifndef WEIR_LB_ROUTE_H
#define WEIR_LB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "weir/table.h"

#define ROUTE_NO_MATCH (-1)

/* Length of the routing path in p[0..len): up to the first '?' or '#'. */
static inline size_t route_path_len(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] == '?' || p[i] == '#')
			return i;
	return len;
}

/* Does path (already cut by route_path_len) fall under prefix? */
static inline bool route_prefix_matches(const char *prefix, size_t plen,
					const char *path, size_t len)
{
	if (len == 0 || path[0] != '/')
		return false;
	if (plen == 1) /* "/": everything */
		return true;
	if (len < plen || memcmp(path, prefix, plen) != 0)
		return false;
	return len == plen || path[plen] == '/';
}

/* The backend index (into weir_table_backends(t); always an HTTP backend)
 * of the first route, in table order, that path[0..len) matches, or
 * ROUTE_NO_MATCH. The query and anything after '#' are ignored. */
int route_lookup(const struct weir_table *t, const char *path, size_t len);

/* The gRPC backend for a request's `application` metadata value: the one
 * gRPC backend if there is exactly one (whatever app is asked for, or
 * none: app may be NULL), else the backend whose app_name equals
 * app[0..len), else ROUTE_NO_MATCH. */
int route_grpc_lookup(const struct weir_table *t, const char *app, size_t len);

/* The routing path of an HTTP request-target: origin-form "/p?q" gives
 * "/p"; absolute-form "http://host/p?q" gives "/p" and "http://host" gives
 * "/" (RFC 9110 4.2.3). Anything else (asterisk-form, authority-form)
 * gives itself cut at '?' or '#', which then matches no route. Returns a
 * pointer into target (or to a static "/"), its length in *out_len. */
const char *route_target_path(const char *target, size_t len, size_t *out_len);

/* Writes the `/-/routes` body: the compact JSON object
 * {"<route_prefix>":"<app_name>",...} over the HTTP routes in table order,
 * strings escaped as Python's json.dumps does (ensure_ascii: non-ASCII as
 * \uXXXX), "{}" with no route. Like snprintf: returns the body length
 * (without the NUL); the body is complete and NUL-terminated only if that
 * is < cap. */
size_t route_routes_json(const struct weir_table *t, char *buf, size_t cap);

#endif
