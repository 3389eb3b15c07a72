/* Ray's frontend answers: see http_frontend.h. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_frontend.h"
#include "lb/route.h"

const char *http_fe_reason(uint16_t status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 101:
		return "Switching Protocols";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 413:
		return "Content Too Large";
	case 414:
		return "URI Too Long";
	case 417:
		return "Expectation Failed";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Unknown";
	}
}

size_t http_fe_response(char *buf, size_t cap, uint16_t status,
			const char *ctype, const char *body, size_t body_len,
			bool close, bool head_only)
{
	int n = snprintf(
		buf, cap,
		"HTTP/1.1 %u %s\r\n%s%s%sContent-Length: %zu\r\n%s\r\n", status,
		http_fe_reason(status), ctype ? "Content-Type: " : "",
		ctype ? ctype : "", ctype ? "\r\n" : "", body_len,
		close ? "Connection: close\r\n" : "");

	if (n < 0 || (size_t)n >= cap)
		return 0;
	if (head_only)
		return (size_t)n;
	if ((size_t)n + body_len > cap)
		return 0;
	memcpy(buf + n, body, body_len);
	return (size_t)n + body_len;
}

size_t http_fe_not_found(char *buf, size_t cap, const char *path,
			 size_t path_len, bool close, bool head_only)
{
	char body[2048];
	int n;

	/* Ray's config prints the path without query or fragment; the 414
	 * limit is larger than the body we keep, so cap it too. */
	path_len = route_path_len(path, path_len);
	if (path_len > 1900)
		path_len = 1900;
	n = snprintf(
		body, sizeof(body),
		"Path '%.*s' not found. Ping http://.../-/routes for available routes.",
		(int)path_len, path);
	if (n < 0)
		return 0;
	return http_fe_response(buf, cap, 404, "text/plain", body, (size_t)n,
				close, head_only);
}

static const char *health_text(enum http_fe_health st)
{
	switch (st) {
	case HTTP_FE_HEALTHY:
		return "success";
	case HTTP_FE_UNHEALTHY:
	case HTTP_FE_NO_APPS:
		return "Service Unavailable";
	case HTTP_FE_UNPOPULATED:
		return "Route table is not populated yet.";
	default:
		return "This node is being drained.";
	}
}

uint16_t http_fe_health_status(enum http_fe_health st, bool routes)
{
	return st == HTTP_FE_HEALTHY || (routes && st == HTTP_FE_NO_APPS) ?
		       200 :
		       503;
}

size_t http_fe_healthz(char *buf, size_t cap, enum http_fe_health st,
		       bool close, bool head_only)
{
	const char *t = health_text(st);

	return http_fe_response(buf, cap, http_fe_health_status(st, false),
				"text/plain", t, strlen(t), close, head_only);
}

size_t http_fe_routes(char *buf, size_t cap, enum http_fe_health st,
		      const char *routes_json, size_t json_len, bool close,
		      bool head_only)
{
	if (http_fe_health_status(st, true) != 200)
		return http_fe_healthz(buf, cap, st, close, head_only);
	return http_fe_response(buf, cap, 200, "application/json", routes_json,
				json_len, close, head_only);
}

size_t http_fe_error(char *buf, size_t cap, uint16_t status, bool ray_normalise,
		     bool close, bool head_only)
{
	char body[96];
	int n;

	if (ray_normalise && (status == 502 || status == 504)) {
		size_t len = sizeof(HTTP_FE_RAY_500) - 1;

		if (head_only)
			len -= 21;
		if (len > cap)
			return 0;
		memcpy(buf, HTTP_FE_RAY_500, len);
		return len;
	}
	n = snprintf(body, sizeof(body), "%s", http_fe_reason(status));
	return http_fe_response(buf, cap, status, "text/plain", body, (size_t)n,
				close, head_only);
}

bool http_fe_is_healthz(const char *path, size_t len)
{
	return len == 10 && !strncasecmp(path, "/-/healthz", 10);
}

bool http_fe_is_routes(const char *path, size_t len)
{
	return len == 9 && !strncasecmp(path, "/-/routes", 9);
}
