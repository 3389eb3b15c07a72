/* Model -> snapshot: Ray's route order, backends and their server runs, the
 * fallback as a backup of every backend of its protocol, the knobs' Ray
 * defaults, stable server ids and byte-identical output whatever order Ray
 * lists things in, buffer sizing, and the snapshot passing the dataplane's
 * own check. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "lb/route.h"
#include "table_fixture.h"
#include "wtest.h"

#define T(ip, port, name)                    \
	"{\"ip\":\"" ip "\",\"port\":" #port \
	",\"instance_id\":\"n1\",\"name\":\"" name "\"}"
#define TR(ip, port, name, rid)                                               \
	"{\"ip\":\"" ip "\",\"port\":" #port                                  \
	",\"instance_id\":\"n1\",\"name\":\"" name "\",\"replica_id\":\"" rid \
	"\"}"
#define G(proto, prefix, app, targets)                           \
	"{\"protocol\":\"" proto "\",\"route_prefix\":\"" prefix \
	"\",\"app_name\":\"" app "\",\"targets\":[" targets "]}"

static struct weir_table *build(const char *json, uint64_t generation)
{
	return fixture_table(json, generation);
}

static const char six_routes[] = "{\"target_groups\":[" G("HTTP", "/", "root", "") "," G(
	"HTTP", "/b", "b",
	"") "," G("gRPC", "/g2", "zeta",
		  T("10.0.1.1", 40001,
		    "gz")) "," G("HTTP", "/zz", "zz",
				 "") "," G("HTTP", "/a/b", "ab",
					   "") "," G("HTTP", "/a", "a",
						     "") "," G("gRPC", "/g1",
							       "alpha",
							       T("10.0.1.2",
								 40002,
								 "ga")) "," G("HTTP",
									      "/ab",
									      "ab2",
									      "") "]}";

static void test_route_order(void)
{
	static const char *const want[] = { "/a/b", "/ab", "/zz",
					    "/a",   "/b",  "/" };
	struct weir_table *t = build(six_routes, 1);
	const struct weir_table_route *r;
	const struct weir_table_backend *b;

	WT_CHECK(t != NULL);
	if (!t)
		return;
	r = weir_table_routes(t);
	b = weir_table_backends(t);
	WT_CHECK_EQ(t->n_routes, 6);
	WT_CHECK_EQ(t->n_backends, 8);
	WT_CHECK_EQ(t->n_http_backends, 6);
	for (unsigned int i = 0; i < 6 && i < t->n_routes; i++) {
		WT_CHECK(!strcmp(r[i].prefix, want[i]));
		WT_CHECK_EQ(r[i].prefix_len, strlen(want[i]));
		WT_CHECK_EQ(r[i].backend, i);
		WT_CHECK(!strcmp(b[i].route_prefix, want[i]));
		WT_CHECK_EQ(b[i].protocol, WEIR_PROTO_HTTP);
	}
	WT_CHECK(!strcmp(b[0].name, "http-ab"));
	WT_CHECK(!strcmp(b[5].name, "http-root"));
	/* gRPC backends after HTTP, by app name */
	WT_CHECK(!strcmp(b[6].name, "grpc-alpha"));
	WT_CHECK(!strcmp(b[7].name, "grpc-zeta"));
	WT_CHECK_EQ(b[6].protocol, WEIR_PROTO_GRPC);
	WT_CHECK_EQ(t->generation, 1);
	free(t);
}

static const char ray_example[] =
	"{\"target_groups\": [{\"protocol\": \"HTTP\", \"route_prefix\": \"/llm\","
	" \"app_name\": \"llm\", \"ingress_router_fallback\": true,"
	" \"targets\": [" TR("10.0.0.22", 30001, "SERVE_REPLICA::llm#LLMServer#x2", "x2") "," TR(
		"10.0.0.21", 30000, "SERVE_REPLICA::llm#LLMServer#x1",
		"x1") "],"
		      " \"ingress_request_router_targets\": [" T("10.0.0.25", 30004, "SERVE_REPLICA::llm#Router#r1") "]}," G(
			      "HTTP", "/", "default",
			      "") "," G("gRPC", "/llm", "llm",
					T("10.0.0.21", 40000,
					  "SERVE_REPLICA::llm#LLMServer#x1")) "],"
									      " \"fallback_targets\": {\"HTTP\": " T(
										      "10.0.0.1",
										      8500,
										      "SERVE_PROXY_ACTOR-head") ","
														" \"gRPC\": " T(
															"10.0.0.1",
															9500,
															"SERVE_PROXY_ACTOR-head") "}}";

static void test_backends_and_servers(void)
{
	struct weir_table *t = build(ray_example, 7);
	const struct weir_table_backend *b;
	const struct weir_table_server *s;
	const struct weir_table_server *fb;

	WT_CHECK(t != NULL);
	if (!t)
		return;
	b = weir_table_backends(t);
	s = weir_table_servers(t);
	WT_CHECK_EQ(t->n_backends, 3);
	/* 2 replicas + backup + router, backup only, replica + backup */
	WT_CHECK_EQ(t->n_servers, 4 + 1 + 2);
	WT_CHECK(!strcmp(b[0].name, "http-llm"));
	WT_CHECK(!strcmp(b[0].app_name, "llm"));
	WT_CHECK_EQ(b[0].first_server, 0);
	WT_CHECK_EQ(b[0].n_servers, 2);
	WT_CHECK_EQ(b[0].n_backups, 1);
	WT_CHECK_EQ(b[0].first_router, 3);
	WT_CHECK_EQ(b[0].n_routers, 1);
	WT_CHECK(b[0].flags & WEIR_BACKEND_F_ROUTER_FALLBACK);
	/* replicas by name, sanitised as HAProxy's config has them */
	WT_CHECK(!strcmp(s[0].name, "SERVE_REPLICA__llm-LLMServer-x1"));
	WT_CHECK(!strcmp(s[0].replica_id, "x1"));
	WT_CHECK(!strcmp(s[0].instance_id, "n1"));
	WT_CHECK(s[0].ip == inet_addr("10.0.0.21"));
	WT_CHECK_EQ(s[0].port, 30000);
	WT_CHECK_EQ(s[0].weight, 1);
	WT_CHECK_EQ(s[0].flags, 0);
	WT_CHECK_EQ(s[0].backend, 0);
	WT_CHECK(!strcmp(s[1].name, "SERVE_REPLICA__llm-LLMServer-x2"));
	fb = &s[2];
	WT_CHECK(!strcmp(fb->name, "SERVE_PROXY_ACTOR-head"));
	WT_CHECK_EQ(fb->flags, WEIR_SERVER_F_BACKUP);
	WT_CHECK_EQ(fb->port, 8500);
	WT_CHECK_EQ(s[3].flags, WEIR_SERVER_F_ROUTER);
	WT_CHECK(!strcmp(s[3].name, "SERVE_REPLICA__llm-Router-r1"));
	/* "/" scaled to zero: its only server is the backup */
	WT_CHECK(!strcmp(b[1].name, "http-default"));
	WT_CHECK_EQ(b[1].n_servers, 0);
	WT_CHECK_EQ(b[1].n_backups, 1);
	WT_CHECK_EQ(s[b[1].first_server].flags, WEIR_SERVER_F_BACKUP);
	/* the same fallback in two HTTP backends: one id, one shared state */
	WT_CHECK(s[b[1].first_server].id == fb->id);
	WT_CHECK_EQ(s[b[1].first_server].backend, 1);
	/* the gRPC fallback backs up the gRPC backend only */
	WT_CHECK(!strcmp(b[2].name, "grpc-llm"));
	WT_CHECK_EQ(b[2].n_servers, 1);
	WT_CHECK_EQ(b[2].n_backups, 1);
	WT_CHECK_EQ(s[b[2].first_server + 1].port, 9500);
	WT_CHECK(s[b[2].first_server + 1].id != fb->id); /* other port */
	/* same replica name and ip on its gRPC port: another server */
	WT_CHECK(s[b[2].first_server].id != s[0].id);
	free(t);
}

static void test_knob_defaults(void)
{
	struct weir_table *t = build(ray_example, 0);
	const struct weir_table_knobs *k;

	WT_CHECK(t != NULL);
	if (!t)
		return;
	k = &weir_table_backends(t)[0].knobs;
	WT_CHECK_EQ(t->maxconn, 20000);
	WT_CHECK_EQ(k->balance, WEIR_BALANCE_LEASTCONN);
	WT_CHECK(!strcmp(k->health.path, "/-/healthz"));
	WT_CHECK_EQ(k->health.inter_ms, 5000);
	WT_CHECK_EQ(k->health.fastinter_ms, 250);
	WT_CHECK_EQ(k->health.downinter_ms, 250);
	WT_CHECK_EQ(k->health.fall, 2);
	WT_CHECK_EQ(k->health.rise, 2);
	WT_CHECK_EQ(k->health.expect_status, 200);
	WT_CHECK_EQ(k->timeouts.client_ms, 3600000);
	WT_CHECK_EQ(k->timeouts.http_keep_alive_ms, 90000);
	WT_CHECK_EQ(k->timeouts.connect_ms, 0);
	WT_CHECK_EQ(k->timeouts.server_ms, 0);
	WT_CHECK_EQ(k->retries, 1);
	WT_CHECK_EQ(k->maxconn_per_server, 0);
	WT_CHECK_EQ(k->router_timeout_ms, 5000);
	WT_CHECK_EQ(k->router_failure, WEIR_ROUTER_FAIL_FALLTHROUGH);
	free(t);
}

/* The same apps, groups and targets listed in another order. */
static const char ray_example_shuffled[] = "{\"fallback_targets\": {\"gRPC\": " T(
	"10.0.0.1", 9500,
	"SERVE_PROXY_ACTOR-head") ","
				  " \"HTTP\": " T(
					  "10.0.0.1", 8500,
					  "SERVE_PROXY_ACTOR-head") "},"
								    " \"target_groups\": [" G(
									    "gRPC",
									    "/llm",
									    "llm",
									    T("10.0.0.21",
									      40000,
									      "SERVE_REPLICA::llm#LLMServer#x1")) ","
														  "{\"protocol\": \"HTTP\", \"route_prefix\": \"/llm\", \"app_name\": \"llm\","
														  " \"ingress_router_fallback\": true, \"new_field\": 1,"
														  " \"ingress_request_router_targets\": [" T(
															  "10.0.0.25",
															  30004,
															  "SERVE_REPLICA::llm#Router#r1") "],"
																			  " \"targets\": [" TR(
																				  "10.0.0.21",
																				  30000,
																				  "SERVE_REPLICA::llm#LLMServer#x1",
																				  "x1") "," TR("10.0.0.22",
																					       30001,
																					       "SERVE_REPLICA::llm#LLMServer#x2",
																					       "x2") "]}," G("HTTP",
																							     "/",
																							     "default",
																							     "") "]}";

static void test_stable_ids_and_determinism(void)
{
	struct weir_table *a = build(ray_example, 3),
			  *b = build(ray_example_shuffled, 3);
	const struct weir_table_server *sa, *sb;

	WT_CHECK(a && b);
	if (!a || !b)
		goto out;
	WT_CHECK_EQ(a->total_size, b->total_size);
	WT_CHECK_EQ(a->n_servers, b->n_servers);
	sa = weir_table_servers(a);
	sb = weir_table_servers(b);
	for (uint32_t i = 0; i < a->n_servers && i < b->n_servers; i++) {
		WT_CHECK(sa[i].id == sb[i].id);
		WT_CHECK(!strcmp(sa[i].name, sb[i].name));
	}
	/* whole snapshot byte-identical, padding included */
	WT_CHECK(a->total_size == b->total_size &&
		 !memcmp(a, b, (size_t)a->total_size));
	/* the id is the target's identity: name, ip and port */
	WT_CHECK(sa[0].id == cp_server_id("SERVE_REPLICA::llm#LLMServer#x1",
					  inet_addr("10.0.0.21"), 30000));
	WT_CHECK(cp_server_id("r", inet_addr("10.0.0.21"), 30000) !=
		 cp_server_id("r", inet_addr("10.0.0.21"), 30001));
	WT_CHECK(cp_server_id("r", inet_addr("10.0.0.21"), 30000) !=
		 cp_server_id("r", inet_addr("10.0.0.22"), 30000));
	WT_CHECK(cp_server_id("r", inet_addr("10.0.0.21"), 30000) !=
		 cp_server_id("s", inet_addr("10.0.0.21"), 30000));
	/* pinned: a weir-cp of another build or host must derive the same id
	 * for state weir-dp already holds */
	WT_CHECK(cp_server_id("r", inet_addr("10.0.0.21"), 30000) ==
		 0xcc757df6da6f5e14ull);
out:
	free(a);
	free(b);
}

static void test_id_survives_update(void)
{
	/* a replica added and another removed: the survivor keeps its id */
	struct weir_table *a =
		build("[" G("HTTP", "/", "d",
			    T("10.0.0.2", 30000,
			      "keep") "," T("10.0.0.3", 30000, "gone")) "]",
		      1);
	struct weir_table *b =
		build("[" G("HTTP", "/", "d",
			    T("10.0.0.4", 30000,
			      "aaa-new") "," T("10.0.0.2", 30000, "keep")) "]",
		      2);

	WT_CHECK(a && b);
	if (a && b) {
		const struct weir_table_server *sa = weir_table_servers(a);
		const struct weir_table_server *sb = weir_table_servers(b);

		/* by name: a = [gone, keep], b = [aaa-new, keep] */
		WT_CHECK(!strcmp(sa[1].name, "keep") &&
			 !strcmp(sb[1].name, "keep"));
		WT_CHECK(sa[1].id == sb[1].id);
		WT_CHECK(sb[0].id != sa[0].id);
		WT_CHECK_EQ(b->generation, 2);
	}
	free(a);
	free(b);
}

static void test_buffer_sizes(void)
{
	struct cp_compile_opts o;
	struct tg_model m;
	char err[256] = "";
	size_t need;
	uint64_t *buf;

	WT_CHECK_EQ(tg_parse(ray_example, &m, err, sizeof(err)), 0);
	cp_compile_defaults(&o);
	need = cp_compile_size(&m);
	WT_CHECK_EQ(need % WEIR_TABLE_ALIGN, 0);
	WT_CHECK(need >= sizeof(struct weir_table) +
				 7 * sizeof(struct weir_table_server));
	buf = calloc(1, need + 64);
	WT_CHECK_EQ(cp_compile(&m, &o, buf, need - 1, err, sizeof(err)),
		    -ENOSPC);
	WT_CHECK(strstr(err, "too small") != NULL);
	WT_CHECK_EQ(cp_compile(&m, &o, (char *)buf + 4, need, err, sizeof(err)),
		    -EINVAL);
	WT_CHECK_EQ(cp_compile(&m, &o, buf, need, err, sizeof(err)), 0);
	WT_CHECK_EQ(((struct weir_table *)buf)->total_size, need);
	WT_CHECK_EQ(weir_table_check(buf, need), 0);
	WT_CHECK_EQ(weir_table_check(buf, need - 1), -EINVAL);
	free(buf);
	tg_model_free(&m);
}

static void test_empty_table(void)
{
	struct weir_table *t = build("{\"target_groups\": []}", 9);

	WT_CHECK(t != NULL);
	if (!t)
		return;
	WT_CHECK_EQ(t->magic, WEIR_TABLE_MAGIC);
	WT_CHECK_EQ(t->abi_version, WEIR_TABLE_ABI_VERSION);
	WT_CHECK_EQ(t->header_size, sizeof(struct weir_table));
	WT_CHECK_EQ(t->n_routes, 0);
	WT_CHECK_EQ(t->n_backends, 0);
	WT_CHECK_EQ(t->n_servers, 0);
	WT_CHECK_EQ(t->n_listeners, 0);
	WT_CHECK_EQ(t->total_size, 128);
	WT_CHECK_EQ(route_lookup(t, "/", 1), ROUTE_NO_MATCH);
	free(t);
}

/* Random byte edits of a good document: each is refused with a one-line
 * message, or compiles into a table that passes the dataplane's check and
 * routes within range. Run under ASan/UBSan by tools/test.sh. */
static void test_mutated_documents(void)
{
	static const char alphabet[] =
		"{}[]\",:0123456789.-e/#? \\tnulfrasHTPgRC\x80\xff";
	size_t len = strlen(ray_example);
	char *doc = malloc(len + 1);
	uint32_t seed = 12345;
	unsigned int accepted = 0, refused = 0;

	for (unsigned int it = 0; it < 4000; it++) {
		struct tg_model m;
		char err[512] = "";
		int rc;

		memcpy(doc, ray_example, len + 1);
		for (unsigned int k = 0; k < 1 + it % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			doc[(seed >> 8) % len] =
				alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
		}
		rc = tg_parse(doc, &m, err, sizeof(err));
		if (rc) {
			refused++;
			WT_CHECK_EQ(rc, -EINVAL);
			WT_CHECK(err[0] && !strchr(err, '\n'));
			continue;
		}
		accepted++;
		{
			struct cp_compile_opts o;
			struct weir_table *t;

			cp_compile_defaults(&o);
			t = cp_compile_alloc(&m, &o, err, sizeof(err));
			WT_CHECK(t != NULL);
			if (t) {
				int b = route_lookup(t, "/llm/x", 6);

				WT_CHECK_EQ(weir_table_check(
						    t, (size_t)t->total_size),
					    0);
				WT_CHECK(b == ROUTE_NO_MATCH ||
					 (b >= 0 &&
					  (uint32_t)b < t->n_http_backends));
			}
			free(t);
		}
		tg_model_free(&m);
	}
	printf("#   %u accepted, %u refused\n", accepted, refused);
	WT_CHECK(accepted > 0 && refused > 0);
	free(doc);
}

int main(void)
{
	WT_RUN(test_route_order);
	WT_RUN(test_backends_and_servers);
	WT_RUN(test_knob_defaults);
	WT_RUN(test_stable_ids_and_determinism);
	WT_RUN(test_id_survives_update);
	WT_RUN(test_buffer_sizes);
	WT_RUN(test_empty_table);
	WT_RUN(test_mutated_documents);
	return wt_done();
}
