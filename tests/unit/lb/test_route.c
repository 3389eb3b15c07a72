/* Route lookup with Ray Serve's semantics (prefix or prefix + "/", "/"
 * matches all, case-sensitive, query and '#' cut, longest prefix wins), the
 * gRPC app lookup, request-target paths, the /-/routes and 404 bodies byte
 * for byte, and the snapshot check a worker runs before adopting a table.
 * Tables are built by weir-cp's own parser and compiler. */
#include <errno.h>
#include <stdlib.h>

#include "table_fixture.h"
#include "common/table_check.h"
#include "lb/route.h"
#include "wtest.h"

#define T(ip, port, name)                    \
	"{\"ip\":\"" ip "\",\"port\":" #port \
	",\"instance_id\":\"\",\"name\":\"" name "\"}"
#define G(proto, prefix, app)                                    \
	"{\"protocol\":\"" proto "\",\"route_prefix\":\"" prefix \
	"\",\"app_name\":\"" app                                 \
	"\",\"targets\":[" T("10.0.0.2", 30000, "r") "]}"

static struct weir_table *build(const char *json)
{
	return fixture_table(json, 1);
}

/* The app name of the backend path goes to, or "404". */
static const char *app_for(const struct weir_table *t, const char *path)
{
	int b = route_lookup(t, path, strlen(path));

	return b == ROUTE_NO_MATCH ? "404" : weir_table_backends(t)[b].app_name;
}

#define ROUTES(t, path, app)                                                 \
	do {                                                                 \
		const char *got_ = app_for(t, path);                         \
		if (strcmp(got_, app)) {                                     \
			printf("#   %s:%d: '%s' -> %s, want %s\n", __FILE__, \
			       __LINE__, path, got_, app);                   \
			wt_case_failed = 1;                                  \
		}                                                            \
	} while (0)

static void test_prefix_semantics(void)
{
	struct weir_table *t = build("[" G("HTTP", "/app", "app") "]");

	WT_CHECK(t != NULL);
	if (!t)
		return;
	ROUTES(t, "/app", "app");
	ROUTES(t, "/app/", "app");
	ROUTES(t, "/app/x", "app");
	ROUTES(t, "/app/x/y?z=1", "app");
	ROUTES(t, "/app?q=1", "app");
	ROUTES(t, "/app?", "app");
	ROUTES(t, "/app#frag", "app");
	ROUTES(t, "/app#/x", "app");
	ROUTES(t, "/apple", "404");
	ROUTES(t, "/app.json", "404");
	ROUTES(t, "/App", "404");
	ROUTES(t, "/APP/x", "404");
	ROUTES(t, "/ap", "404");
	ROUTES(t, "/", "404");
	ROUTES(t, "//app", "404");
	ROUTES(t, "/app%2Fx", "404"); /* no percent-decoding, like HAProxy */
	ROUTES(t, "/x/app", "404");
	ROUTES(t, "/apple?x=/app", "404");
	ROUTES(t, "?/app", "404");
	ROUTES(t, "app", "404");
	ROUTES(t, "*", "404");
	ROUTES(t, "", "404");
	/* length is honoured: the bytes after it are not part of the path */
	WT_CHECK_EQ(route_lookup(t, "/apple", 4), 0);
	WT_CHECK_EQ(route_lookup(t, "/app", 3), ROUTE_NO_MATCH);
	free(t);
}

static void test_root_matches_everything(void)
{
	struct weir_table *t = build("[" G("HTTP", "/", "root") "]");

	WT_CHECK(t != NULL);
	if (!t)
		return;
	ROUTES(t, "/", "root");
	ROUTES(t, "/anything/at/all", "root");
	ROUTES(t, "/?q", "root");
	ROUTES(t, "//x", "root");
	ROUTES(t, "/-/healthz", "root"); /* the frontend answers it first */
	ROUTES(t, "*", "404");
	ROUTES(t, "", "404");
	free(t);
}

static void test_nested_prefixes_longest_wins(void)
{
	/* listed shortest first: the table's order must fix it */
	struct weir_table *t =
		build("[" G("HTTP", "/", "root") "," G("HTTP", "/a", "a") "," G(
			"HTTP", "/a/b", "ab") "," G("gRPC", "/a/b/c", "g") "]");

	WT_CHECK(t != NULL);
	if (!t)
		return;
	ROUTES(t, "/a/b", "ab");
	ROUTES(t, "/a/b/", "ab");
	ROUTES(t, "/a/b/c", "ab"); /* gRPC groups are not HTTP routes */
	ROUTES(t, "/a/b?x", "ab");
	ROUTES(t, "/a/bc", "a");
	ROUTES(t, "/a/", "a");
	ROUTES(t, "/a", "a");
	ROUTES(t, "/a?b=/a/b", "a");
	ROUTES(t, "/ab", "root");
	ROUTES(t, "/b", "root");
	ROUTES(t, "/", "root");
	free(t);
}

static void test_same_length_alphabetical(void)
{
	struct weir_table *t = build("[" G("HTTP", "/bb", "bb") "," G(
		"HTTP", "/ab", "ab") "," G("HTTP", "/b", "b") "]");
	const struct weir_table_route *r;

	WT_CHECK(t != NULL);
	if (!t)
		return;
	r = weir_table_routes(t);
	WT_CHECK(!strcmp(r[0].prefix, "/ab"));
	WT_CHECK(!strcmp(r[1].prefix, "/bb"));
	WT_CHECK(!strcmp(r[2].prefix, "/b"));
	ROUTES(t, "/bb/x", "bb");
	ROUTES(t, "/b/b", "b");
	ROUTES(t, "/abc", "404");
	free(t);
}

static void test_no_groups_everything_404(void)
{
	struct weir_table *t = build("{\"target_groups\": []}");
	char body[64];

	WT_CHECK(t != NULL);
	if (!t)
		return;
	ROUTES(t, "/", "404");
	ROUTES(t, "/x", "404");
	WT_CHECK_EQ(route_routes_json(t, body, sizeof(body)), 2);
	WT_CHECK(!strcmp(body, "{}"));
	WT_CHECK_EQ(route_grpc_lookup(t, "x", 1), ROUTE_NO_MATCH);
	free(t);
}

static void test_routes_body_exact(void)
{
	struct weir_table *t =
		build("{\"target_groups\": [" G("HTTP", "/", "default") "," G(
			"HTTP", "/a/b",
			"ab") "," G("gRPC", "/g",
				    "grpc_only") "," G("HTTP", "/llm",
						       "llm") "," G("HTTP",
								    "/a",
								    "a") "]}");
	static const char want[] =
		"{\"/a/b\":\"ab\",\"/llm\":\"llm\",\"/a\":\"a\",\"/\":\"default\"}";
	char body[256], small[10];

	WT_CHECK(t != NULL);
	if (!t)
		return;
	WT_CHECK_EQ(route_routes_json(t, body, sizeof(body)), strlen(want));
	WT_CHECK(!strcmp(body, want));
	if (strcmp(body, want))
		printf("#   got  %s\n#   want %s\n", body, want);
	/* too small: the length it needs, a NUL-terminated prefix */
	WT_CHECK_EQ(route_routes_json(t, small, sizeof(small)), strlen(want));
	WT_CHECK(!strcmp(small, "{\"/a/b\":\""));
	WT_CHECK_EQ(route_routes_json(t, NULL, 0), strlen(want));
	free(t);
}

static void test_routes_body_escaping(void)
{
	/* as Python's json.dumps(ensure_ascii=True) writes it */
	struct weir_table *t =
		build("[{\"protocol\":\"HTTP\",\"route_prefix\":\"/q\\\"\\\\\","
		      "\"app_name\":\"caf\\u00e9 \\ud83d\\ude00\\t\\u0001\","
		      "\"targets\":[]}]");
	static const char want[] =
		"{\"/q\\\"\\\\\":\"caf\\u00e9 \\ud83d\\ude00\\t\\u0001\"}";
	char body[256];

	WT_CHECK(t != NULL);
	if (!t)
		return;
	WT_CHECK_EQ(route_routes_json(t, body, sizeof(body)), strlen(want));
	WT_CHECK(!strcmp(body, want));
	if (strcmp(body, want))
		printf("#   got  %s\n#   want %s\n", body, want);
	free(t);
}

static void test_target_path(void)
{
	static const struct {
		const char *target, *path;
	} v[] = {
		{ "/p?q=1", "/p" },
		{ "/p#f", "/p" },
		{ "/", "/" },
		{ "http://host:8000/app/x?y", "/app/x" },
		{ "https://h/a", "/a" },
		{ "http://host", "/" },
		{ "http://host?x=/a", "/" },
		{ "*", "*" },
		{ "host:443", "host:443" },
		{ "", "" },
	};

	for (unsigned int i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n;
		const char *p =
			route_target_path(v[i].target, strlen(v[i].target), &n);

		if (n != strlen(v[i].path) || memcmp(p, v[i].path, n)) {
			printf("#   '%s' -> '%.*s', want '%s'\n", v[i].target,
			       (int)n, p, v[i].path);
			wt_case_failed = 1;
		}
	}
}

static void test_grpc_lookup(void)
{
	struct weir_table *one = build(
		"[" G("HTTP", "/", "web") "," G("gRPC", "/g", "only") "]");
	struct weir_table *two = build(
		"[" G("gRPC", "/b", "beta") "," G("gRPC", "/a", "alpha") "]");

	WT_CHECK(one && two);
	if (!one || !two)
		goto out;
	/* exactly one gRPC app: everything goes there */
	WT_CHECK_EQ(route_grpc_lookup(one, NULL, 0), 1);
	WT_CHECK_EQ(route_grpc_lookup(one, "other", 5), 1);
	WT_CHECK_EQ(route_grpc_lookup(two, "alpha", 5), 0);
	WT_CHECK_EQ(route_grpc_lookup(two, "beta", 4), 1);
	WT_CHECK_EQ(route_grpc_lookup(two, "bet", 3), ROUTE_NO_MATCH);
	WT_CHECK_EQ(route_grpc_lookup(two, "Beta", 4), ROUTE_NO_MATCH);
	WT_CHECK_EQ(route_grpc_lookup(two, NULL, 0), ROUTE_NO_MATCH);
	WT_CHECK_EQ(route_lookup(two, "/a", 2), ROUTE_NO_MATCH);
out:
	free(one);
	free(two);
}

static void test_table_check(void)
{
	struct weir_table *t =
		build("[" G("HTTP", "/", "d") "," G("HTTP", "/a", "a") "]");
	size_t len;
	struct weir_table *c;

	WT_CHECK(t != NULL);
	if (!t)
		return;
	len = (size_t)t->total_size;
	c = malloc(len);
	WT_CHECK_EQ(weir_table_check(t, len), 0);
	WT_CHECK_EQ(weir_table_check(t, 64), -EPROTO);
#define CORRUPT(stmt, rc)                                  \
	do {                                               \
		memcpy(c, t, len);                         \
		stmt;                                      \
		WT_CHECK_EQ(weir_table_check(c, len), rc); \
	} while (0)
	CORRUPT(c->magic ^= 1, -EPROTO);
	CORRUPT(c->abi_version++, -EPROTO);
	CORRUPT(c->total_size = len + 1, -EINVAL);
	CORRUPT(c->off_servers = (uint32_t)len, -EINVAL);
	CORRUPT(c->n_routes = 3, -EINVAL);
	CORRUPT(((struct weir_table_route *)(void *)((char *)c +
						     c->off_routes))[1]
			.backend = 2,
		-EINVAL);
	CORRUPT(((struct weir_table_route *)(void *)((char *)c +
						     c->off_routes))[0]
			.prefix_len = 1,
		-EINVAL);
	CORRUPT(((struct weir_table_backend *)(void *)((char *)c +
						       c->off_backends))[0]
			.n_servers = 9,
		-EINVAL);
	CORRUPT(memset(((struct weir_table_server *)(void *)((char *)c +
							     c->off_servers))[0]
			       .name,
		       'x', WEIR_TABLE_SERVER_NAME_MAX),
		-EINVAL);
	free(c);
	free(t);
}

int main(void)
{
	WT_RUN(test_prefix_semantics);
	WT_RUN(test_root_matches_everything);
	WT_RUN(test_nested_prefixes_longest_wins);
	WT_RUN(test_same_length_alphabetical);
	WT_RUN(test_no_groups_everything_404);
	WT_RUN(test_routes_body_exact);
	WT_RUN(test_routes_body_escaping);
	WT_RUN(test_target_path);
	WT_RUN(test_grpc_lookup);
	WT_RUN(test_table_check);
	return wt_done();
}
