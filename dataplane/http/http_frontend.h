/* Ray Serve's HTTP frontend, byte for byte (shared/ray-serve-interface.md):
 * the answers the proxy gives itself: the 404 for an unrouted path, the
 * /-/healthz and /-/routes states, Ray's normalised 500, and our own 503
 * and parser refusals. Pure functions that write a complete response into
 * a caller buffer; no allocation, no I/O. */
#ifndef WEIR_HTTP_FRONTEND_H
#define WEIR_HTTP_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Ray's exact 500, which replaces the proxy's own 502 and 504. */
#define HTTP_FE_RAY_500                                                      \
	"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n" \
	"Content-Length: 21\r\n\r\nInternal Server Error"

/* Node states the health endpoints report, in Ray's words. */
enum http_fe_health {
	HTTP_FE_HEALTHY, /* 200 "success" */
	HTTP_FE_UNHEALTHY, /* 503 "Service Unavailable": no server up */
	HTTP_FE_NO_APPS, /* a table with no HTTP app: healthz as UNHEALTHY,
			  * /-/routes 200 {} (Ray's "no apps") */
	HTTP_FE_UNPOPULATED, /* 503 "Route table is not populated yet." */
	HTTP_FE_DRAINING, /* 503 "This node is being drained." */
};

/* The status /-/healthz (routes false) or /-/routes answers in st. */
uint16_t http_fe_health_status(enum http_fe_health st, bool routes);

/* Writes "HTTP/1.1 <status> <reason>", Content-Type (if ctype), an exact
 * Content-Length, "Connection: close" when close is set, then the body.
 * A HEAD request gets the same head without the body (head_only).
 * Returns the length, or 0 if it does not fit in cap. */
size_t http_fe_response(char *buf, size_t cap, uint16_t status,
			const char *ctype, const char *body, size_t body_len,
			bool close, bool head_only);

/* The 404 for a path no route matches, the one copy of Ray's body:
 * "Path '<path>' not found. Ping http://.../-/routes for available routes."
 * (the "..." is literal), path cut at '?' or '#' and at 1900 bytes so the
 * body stays bounded. Returns the length, or 0 if it does not fit. */
size_t http_fe_not_found(char *buf, size_t cap, const char *path,
			 size_t path_len, bool close, bool head_only);

/* /-/healthz in the given state. */
size_t http_fe_healthz(char *buf, size_t cap, enum http_fe_health st,
		       bool close, bool head_only);

/* /-/routes: 200 with the JSON body routes_json when healthy or when
 * there are no apps (routes_json is then {}), else the same 503 as
 * healthz. */
size_t http_fe_routes(char *buf, size_t cap, enum http_fe_health st,
		      const char *routes_json, size_t json_len, bool close,
		      bool head_only);

/* An error the proxy itself produces (400, 408, 413, 414, 431, 501, 502,
 * 503, 504, 505). With ray_normalise, 502 and 504 become Ray's exact 500.
 * Other statuses carry a short text/plain body and "Connection: close"
 * when close is set. */
size_t http_fe_error(char *buf, size_t cap, uint16_t status, bool ray_normalise,
		     bool close, bool head_only);

/* True when the path (without query) is /-/healthz, compared without case
 * as Ray's config does (`path -i`); likewise /-/routes. */
bool http_fe_is_healthz(const char *path, size_t len);
bool http_fe_is_routes(const char *path, size_t len);

/* The standard reason phrase of status ("Unknown" if none). */
const char *http_fe_reason(uint16_t status);

#endif
