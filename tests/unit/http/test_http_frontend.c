/* Ray's frontend byte strings (shared/ray-serve-interface.md), asserted
 * byte for byte: Ray's own tests and users' scripts compare them. */
#include "http/http_frontend.h"
#include "wtest.h"

static char buf[4096];

#define CHECK_BYTES(len, want)                                          \
	do {                                                            \
		size_t want_len_ = sizeof(want) - 1;                    \
		WT_CHECK_EQ((len), want_len_);                          \
		WT_CHECK(memcmp(buf, want, want_len_) == 0);            \
		if ((len) != want_len_ || memcmp(buf, want, want_len_)) \
			printf("#   got: %.*s\n", (int)(len), buf);     \
	} while (0)

static void test_ray_500(void)
{
	size_t n = http_fe_error(buf, sizeof(buf), 502, true, false, false);

	CHECK_BYTES(
		n,
		"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
		"Content-Length: 21\r\n\r\nInternal Server Error");
	n = http_fe_error(buf, sizeof(buf), 504, true, false, false);
	CHECK_BYTES(n, HTTP_FE_RAY_500);
	/* The switch keeps the originals. */
	n = http_fe_error(buf, sizeof(buf), 504, false, false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain\r\n"
		"Content-Length: 15\r\n\r\nGateway Timeout");
	n = http_fe_error(buf, sizeof(buf), 503, true, true, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 19\r\nConnection: close\r\n\r\nService Unavailable");
}

static void test_not_found(void)
{
	size_t n =
		http_fe_not_found(buf, sizeof(buf), "/nope/x", 7, false, false);

	CHECK_BYTES(
		n,
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n\r\n"
		"Path '/nope/x' not found. Ping http://.../-/routes for available routes.");
	/* query and fragment are not part of the path Ray prints */
	n = http_fe_not_found(buf, sizeof(buf), "/nope/x?z=1", 11, false,
			      false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n\r\n"
		"Path '/nope/x' not found. Ping http://.../-/routes for available routes.");
	n = http_fe_not_found(buf, sizeof(buf), "/nope/x#f", 9, false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n\r\n"
		"Path '/nope/x' not found. Ping http://.../-/routes for available routes.");
	n = http_fe_not_found(buf, sizeof(buf), "/nope/x", 7, false, true);
	CHECK_BYTES(
		n,
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 72\r\n\r\n");
}

static void test_healthz_states(void)
{
	size_t n = http_fe_healthz(buf, sizeof(buf), HTTP_FE_HEALTHY, false,
				   false);

	CHECK_BYTES(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 7\r\n\r\nsuccess");
	n = http_fe_healthz(buf, sizeof(buf), HTTP_FE_UNHEALTHY, false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 19\r\n\r\nService Unavailable");
	n = http_fe_healthz(buf, sizeof(buf), HTTP_FE_UNPOPULATED, false,
			    false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 33\r\n\r\nRoute table is not populated yet.");
	n = http_fe_healthz(buf, sizeof(buf), HTTP_FE_DRAINING, false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 27\r\n\r\nThis node is being drained.");
}

static void test_routes(void)
{
	const char *j = "{\"/app1\":\"app1\",\"/\":\"default\"}";
	size_t n = http_fe_routes(buf, sizeof(buf), HTTP_FE_HEALTHY, j,
				  strlen(j), false, false);

	CHECK_BYTES(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"
		"{\"/app1\":\"app1\",\"/\":\"default\"}");
	n = http_fe_routes(buf, sizeof(buf), HTTP_FE_UNPOPULATED, j, strlen(j),
			   false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 33\r\n\r\nRoute table is not populated yet.");
	/* a table with no apps: Ray's "no apps", not "not populated" */
	n = http_fe_routes(buf, sizeof(buf), HTTP_FE_NO_APPS, "{}", 2, false,
			   false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
	n = http_fe_healthz(buf, sizeof(buf), HTTP_FE_NO_APPS, false, false);
	CHECK_BYTES(
		n,
		"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
		"Content-Length: 19\r\n\r\nService Unavailable");
	WT_CHECK_EQ(http_fe_health_status(HTTP_FE_NO_APPS, true), 200);
	WT_CHECK_EQ(http_fe_health_status(HTTP_FE_NO_APPS, false), 503);
}

static void test_paths_and_limits(void)
{
	WT_CHECK(http_fe_is_healthz("/-/healthz", 10));
	WT_CHECK(http_fe_is_healthz("/-/HealthZ", 10));
	WT_CHECK(!http_fe_is_healthz("/-/healthz/", 11));
	WT_CHECK(http_fe_is_routes("/-/routes", 9));
	WT_CHECK(http_fe_is_routes("/-/Routes", 9)); /* path -i, as healthz */
	WT_CHECK(http_fe_is_routes("/-/ROUTES", 9));
	WT_CHECK(!http_fe_is_routes("/-/routesx", 10));
	/* Does not fit: 0, never a truncated response. */
	WT_CHECK_EQ(http_fe_healthz(buf, 20, HTTP_FE_HEALTHY, false, false), 0);
	WT_CHECK_EQ(http_fe_error(buf, 10, 502, true, false, false), 0);
}

int main(void)
{
	WT_RUN(test_ray_500);
	WT_RUN(test_not_found);
	WT_RUN(test_healthz_states);
	WT_RUN(test_routes);
	WT_RUN(test_paths_and_limits);
	return wt_done();
}
