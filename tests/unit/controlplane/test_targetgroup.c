/* Target-group parsing: Ray's own example, the optional and forward-
 * compatible parts, and one refusal per rule, each checked for the field
 * path it names (the operator fixes the field the message names, so the
 * path is the contract). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "targetgroup.h"
#include "wtest.h"

/* The example on shared/ray-serve-interface.md, verbatim. */
static const char ray_example[] =
	"{\n"
	"  \"target_groups\": [\n"
	"    {\"protocol\": \"HTTP\", \"route_prefix\": \"/llm\", \"app_name\": \"llm\",\n"
	"     \"targets\": [{\"ip\": \"10.0.0.21\", \"port\": 30000, \"instance_id\": \"a1\", \"name\": \"SERVE_REPLICA::llm#LLMServer#x1\", \"replica_id\": \"x1\"}],\n"
	"     \"ingress_request_router_targets\": [{\"ip\": \"10.0.0.25\", \"port\": 30004, \"instance_id\": \"r1\", \"name\": \"SERVE_REPLICA::llm#Router#r1\"}]}\n"
	"  ],\n"
	"  \"fallback_targets\": {\"HTTP\": {\"ip\": \"10.0.0.1\", \"port\": 8500, \"instance_id\": \"head\", \"name\": \"SERVE_PROXY_ACTOR-head\"}}\n"
	"}\n";

#define T(ip, port, name)                    \
	"{\"ip\":\"" ip "\",\"port\":" #port \
	",\"instance_id\":\"\",\"name\":\"" name "\"}"
#define G(proto, prefix, app, targets)                           \
	"{\"protocol\":\"" proto "\",\"route_prefix\":\"" prefix \
	"\",\"app_name\":\"" app "\",\"targets\":[" targets "]}"
#define DOC(groups) "{\"target_groups\":[" groups "]}"

static int parse_ok(const char *json, struct tg_model *m)
{
	char err[512] = "";
	int rc = tg_parse(json, m, err, sizeof(err));

	if (rc)
		printf("#   unexpected error: %s\n", err);
	return rc;
}

static void test_ray_example(void)
{
	struct tg_model m;
	const struct tg_group *g;

	WT_CHECK_EQ(parse_ok(ray_example, &m), 0);
	WT_CHECK_EQ(m.n_groups, 1);
	if (m.n_groups != 1)
		return;
	g = &m.groups[0];
	WT_CHECK_EQ(g->protocol, TG_HTTP);
	WT_CHECK(!strcmp(g->route_prefix, "/llm"));
	WT_CHECK(!strcmp(g->app_name, "llm"));
	WT_CHECK_EQ(g->n_targets, 1);
	WT_CHECK(g->targets[0].ip == inet_addr("10.0.0.21"));
	WT_CHECK_EQ(g->targets[0].port, 30000);
	WT_CHECK(
		!strcmp(g->targets[0].name, "SERVE_REPLICA::llm#LLMServer#x1"));
	WT_CHECK(!strcmp(g->targets[0].replica_id, "x1"));
	WT_CHECK(!strcmp(g->targets[0].instance_id, "a1"));
	WT_CHECK_EQ(g->n_routers, 1);
	WT_CHECK_EQ(g->routers[0].port, 30004);
	WT_CHECK(!strcmp(g->routers[0].replica_id, ""));
	WT_CHECK(m.has_fallback[TG_HTTP] && !m.has_fallback[TG_GRPC]);
	WT_CHECK(m.fallback[TG_HTTP].ip == inet_addr("10.0.0.1"));
	WT_CHECK_EQ(m.fallback[TG_HTTP].port, 8500);
	WT_CHECK(!strcmp(m.fallback[TG_HTTP].name, "SERVE_PROXY_ACTOR-head"));
	WT_CHECK_EQ(tg_model_n_targets(&m), 1);
	tg_model_free(&m);
	WT_CHECK_EQ(m.n_groups, 0);
}

static void test_empty_and_scaled_to_zero(void)
{
	struct tg_model m;

	WT_CHECK_EQ(parse_ok("{\"target_groups\": []}", &m), 0);
	WT_CHECK_EQ(m.n_groups, 0);
	WT_CHECK(!m.has_fallback[TG_HTTP]);
	tg_model_free(&m);
	/* Ray's get_target_groups() returns a bare list */
	WT_CHECK_EQ(parse_ok("[]", &m), 0);
	WT_CHECK_EQ(m.n_groups, 0);
	tg_model_free(&m);
	WT_CHECK_EQ(parse_ok(DOC(G("HTTP", "/a", "a", "")), &m), 0);
	WT_CHECK_EQ(m.n_groups, 1);
	WT_CHECK_EQ(m.groups[0].n_targets, 0);
	tg_model_free(&m);
	WT_CHECK_EQ(parse_ok("[" G("gRPC", "/a", "a",
				   T("10.0.0.1", 40000, "r")) "]",
			     &m),
		    0);
	WT_CHECK_EQ(m.n_groups, 1);
	WT_CHECK_EQ(m.groups[0].protocol, TG_GRPC);
	tg_model_free(&m);
}

static void test_unknown_fields_ignored(void)
{
	struct tg_model m;
	const char *j =
		"{\"version\": 7, \"target_groups\": [{\"protocol\": \"HTTP\","
		" \"route_prefix\": \"/\", \"app_name\": \"d\", \"future\": {\"x\": [1]},"
		" \"targets\": [{\"ip\": \"10.0.0.2\", \"port\": 30001, \"instance_id\": \"n\","
		" \"name\": \"r1\", \"zone\": \"us-west\", \"weight\": \"heavy\"}]}],"
		" \"fallback_targets\": {\"HTTP\": {\"ip\": \"10.0.0.1\", \"port\": 8500,"
		" \"instance_id\": \"\", \"name\": \"p\", \"extra\": null},"
		" \"HTTP3\": {\"anything\": true}}, \"trailing\": \"x\"}";

	WT_CHECK_EQ(parse_ok(j, &m), 0);
	WT_CHECK_EQ(m.n_groups, 1);
	WT_CHECK(m.has_fallback[TG_HTTP]);
	tg_model_free(&m);
}

static void test_optional_fields(void)
{
	struct tg_model m;
	const char *j =
		"{\"target_groups\": [{\"protocol\": \"http\", \"route_prefix\": \"/a/b\","
		" \"app_name\": null, \"ingress_request_router_targets\": null,"
		" \"ingress_router_fallback\": true, \"ingress_deployment_name\": \"Ingress\","
		" \"is_router_application\": false,"
		" \"targets\": [{\"ip\": \"10.0.0.2\", \"port\": 1, \"name\": \"r\", \"replica_id\": null}]},"
		" {\"protocol\": \"GRPC\", \"route_prefix\": \"/\", \"targets\": []}]}";

	WT_CHECK_EQ(parse_ok(j, &m), 0);
	if (m.n_groups != 2)
		return;
	/* no app_name (older Ray): named after the route, "default" for "/" */
	WT_CHECK(!strcmp(m.groups[0].app_name, "a/b"));
	WT_CHECK(!strcmp(m.groups[1].app_name, "default"));
	WT_CHECK(m.groups[0].router_fallback);
	WT_CHECK(!m.groups[0].is_router_application);
	WT_CHECK(!strcmp(m.groups[0].deployment, "Ingress"));
	WT_CHECK_EQ(m.groups[0].n_routers, 0);
	WT_CHECK(!strcmp(m.groups[0].targets[0].instance_id, ""));
	WT_CHECK_EQ(m.groups[1].protocol, TG_GRPC);
	tg_model_free(&m);
}

static void test_fallback_forms(void)
{
	struct tg_model m;

	/* object keyed by protocol, both, as Ray sends it */
	WT_CHECK_EQ(parse_ok("{\"target_groups\": [], \"fallback_targets\": {"
			     "\"HTTP\": " T("10.0.0.1", 8500,
					    "proxy-h") ","
						       "\"gRPC\": " T(
							       "10.0.0.1", 9500,
							       "proxy-g") "}}",
			     &m),
		    0);
	WT_CHECK(m.has_fallback[TG_HTTP] && m.has_fallback[TG_GRPC]);
	WT_CHECK_EQ(m.fallback[TG_HTTP].port, 8500);
	WT_CHECK_EQ(m.fallback[TG_GRPC].port, 9500);
	tg_model_free(&m);
	/* a protocol mapped to null: no fallback for it */
	WT_CHECK_EQ(parse_ok("{\"target_groups\": [], \"fallback_targets\": {"
			     "\"HTTP\": null, \"gRPC\": " T("10.0.0.1", 9500,
							    "g") "}}",
			     &m),
		    0);
	WT_CHECK(!m.has_fallback[TG_HTTP] && m.has_fallback[TG_GRPC]);
	tg_model_free(&m);
	/* a list: HTTP unless the entry says otherwise */
	WT_CHECK_EQ(
		parse_ok(
			"{\"target_groups\": [], \"fallback_targets\": [" T(
				"10.0.0.1", 8500,
				"h") ","
				     "{\"protocol\": \"gRPC\", \"ip\": \"10.0.0.1\", \"port\": 9500, \"name\": \"g\"}]}",
			&m),
		0);
	WT_CHECK(m.has_fallback[TG_HTTP] && m.has_fallback[TG_GRPC]);
	WT_CHECK(!strcmp(m.fallback[TG_HTTP].name, "h"));
	WT_CHECK(!strcmp(m.fallback[TG_GRPC].name, "g"));
	tg_model_free(&m);
	WT_CHECK_EQ(
		parse_ok("{\"target_groups\": [], \"fallback_targets\": []}",
			 &m),
		0);
	WT_CHECK(!m.has_fallback[TG_HTTP]);
	tg_model_free(&m);
	WT_CHECK_EQ(
		parse_ok("{\"target_groups\": [], \"fallback_targets\": null}",
			 &m),
		0);
	tg_model_free(&m);
}

struct bad {
	const char *json;
	const char *want; /* must appear in the message */
};

#define LONG50 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define LONG200 LONG50 LONG50 LONG50 LONG50
#define GOOD_T T("10.0.0.1", 30000, "r1")
#define G1(rest)                                                                   \
	"{\"target_groups\":[{\"protocol\":\"HTTP\",\"route_prefix\":\"/a\"," rest \
	"}]}"
#define TG1(target) G1("\"targets\":[" target "]")

static const struct bad bad_docs[] = {
	{ "{\"target_groups\": [", "not valid JSON" },
	{ "42", "the top level must be an object" },
	{ "{}", "target_groups: missing" },
	{ "{\"target_groups\": {}}", "target_groups: must be a list" },
	{ "{\"target_groups\": [1]}", "target_groups[0]: must be an object" },
	{ DOC("{\"route_prefix\":\"/\",\"targets\":[]}"),
	  "target_groups[0].protocol: missing" },
	{ DOC("{\"protocol\":\"HTTP2\",\"route_prefix\":\"/\",\"targets\":[]}"),
	  "target_groups[0].protocol: \"HTTP2\" is not \"HTTP\" or \"gRPC\"" },
	{ DOC("{\"protocol\":1,\"route_prefix\":\"/\",\"targets\":[]}"),
	  "target_groups[0].protocol: must be" },
	{ DOC("{\"protocol\":\"HTTP\",\"targets\":[]}"),
	  "target_groups[0].route_prefix: missing" },
	{ DOC("{\"protocol\":\"HTTP\",\"route_prefix\":5,\"targets\":[]}"),
	  "target_groups[0].route_prefix: must be a string" },
	{ DOC(G("HTTP", "app", "a", "")),
	  "target_groups[0].route_prefix: \"app\" must start with '/'" },
	{ DOC(G("HTTP", "", "a", "")),
	  "target_groups[0].route_prefix: \"\" must start with '/'" },
	{ DOC(G("HTTP", "/app/", "a", "")),
	  "target_groups[0].route_prefix: \"/app/\" must not end with '/'" },
	{ DOC(G("HTTP", "/a?b", "a", "")),
	  "target_groups[0].route_prefix: \"/a?b\" must not contain '?'" },
	{ DOC(G("HTTP", "/a#b", "a", "")), "must not contain '#'" },
	{ DOC(G("HTTP", "/a b", "a", "")),
	  "target_groups[0].route_prefix: \"/a b\" has a space" },
	{ DOC(G("HTTP", "/{id}", "a", "")),
	  "target_groups[0].route_prefix: \"/{id}\" must not contain '{'" },
	{ DOC(G("HTTP", "/" LONG200 LONG200, "a", "")),
	  "target_groups[0].route_prefix: 401 bytes is too long (at most 255)" },
	{ G1("\"app_name\":\"a\""), "target_groups[0].targets: missing" },
	{ G1("\"targets\":{}"),
	  "target_groups[0].targets: must be a list of targets" },
	{ TG1("7"), "target_groups[0].targets[0]: must be an object" },
	{ TG1("null"), "target_groups[0].targets[0]: must be an object" },
	{ TG1("{\"port\":1,\"name\":\"r\"}"),
	  "target_groups[0].targets[0].ip: missing" },
	{ TG1("{\"ip\":167772161,\"port\":1,\"name\":\"r\"}"),
	  "target_groups[0].targets[0].ip: must be a string" },
	{ TG1(T("10.0.0.300", 1, "r")),
	  "target_groups[0].targets[0].ip: \"10.0.0.300\" is not an IPv4 address" },
	{ TG1(T("node-1.local", 1, "r")),
	  "target_groups[0].targets[0].ip: \"node-1.local\" is not an IPv4" },
	{ TG1(T("fe80::1", 1, "r")),
	  "target_groups[0].targets[0].ip: \"fe80::1\" is IPv6" },
	{ TG1(T("0.0.0.0", 1, "r")),
	  "target_groups[0].targets[0].ip: 0.0.0.0 cannot be used" },
	{ TG1(T("224.0.0.1", 1, "r")),
	  "target_groups[0].targets[0].ip: 224.0.0.1 cannot" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"name\":\"r\"}"),
	  "target_groups[0].targets[0].port: missing" },
	{ DOC(G("HTTP", "/", "d", GOOD_T) "," G(
		  "HTTP", "/b", "b", GOOD_T "," T("10.0.0.2", 70000, "r2"))),
	  "target_groups[1].targets[1].port: 70000 is out of range (1-65535)" },
	{ TG1(T("10.0.0.1", 0, "r")),
	  "target_groups[0].targets[0].port: 0 is out of range (1-65535)" },
	{ TG1(T("10.0.0.1", -80, "r")),
	  "target_groups[0].targets[0].port: -80 is out of range" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":\"80\",\"name\":\"r\"}"),
	  "target_groups[0].targets[0].port: must be an integer (1-65535)" },
	{ TG1(T("10.0.0.1", 80.5, "r")),
	  "target_groups[0].targets[0].port: 80.5 is not an integer" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":1}"),
	  "target_groups[0].targets[0].name: missing" },
	{ TG1(T("10.0.0.1", 1, "")),
	  "target_groups[0].targets[0].name: must not be empty" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":1,\"name\":[\"r\"]}"),
	  "target_groups[0].targets[0].name: must be a string" },
	{ TG1(T("10.0.0.1", 1, "r\xff")),
	  "target_groups[0].targets[0].name: not valid UTF-8" },
	{ TG1(T("10.0.0.1", 1, LONG200 LONG200)),
	  "target_groups[0].targets[0].name: 400 bytes is too long (at most 255)" },
	{ TG1(GOOD_T "," T("10.0.0.2", 2, "r2") "," T("10.0.0.3", 3, "r1")),
	  "target_groups[0].targets[2].name: \"r1\" duplicates targets[0]" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":1,\"name\":\"a\",\"replica_id\":\"x\"},"
	      "{\"ip\":\"10.0.0.2\",\"port\":1,\"name\":\"b\",\"replica_id\":\"y\"},"
	      "{\"ip\":\"10.0.0.3\",\"port\":1,\"name\":\"c\",\"replica_id\":\"x\"}"),
	  "target_groups[0].targets[2].replica_id: \"x\" duplicates targets[0]" },
	{ TG1(T("10.0.0.2", 2, "a#b") "," T("10.0.0.3", 3, "a-b")),
	  "target_groups[0].targets[1].name: \"a-b\" is the same server name as targets[0] once sanitised" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":1,\"name\":\"r\",\"replica_id\":7}"),
	  "target_groups[0].targets[0].replica_id: must be a string" },
	{ TG1("{\"ip\":\"10.0.0.1\",\"port\":1,\"name\":\"r\",\"instance_id\":\"" LONG200
	      "\"}"),
	  "target_groups[0].targets[0].instance_id: 200 bytes is too long (at most 63)" },
	{ DOC(G("HTTP", "/a", "a", "") "," G("gRPC", "/a", "a",
					     "") "," G("HTTP", "/a", "b", "")),
	  "target_groups[2].route_prefix: \"/a\" is already used by target_groups[0] (HTTP)" },
	{ DOC(G("HTTP", "/a", "a", "") "," G("HTTP", "/b", "a", "")),
	  "target_groups[1].app_name: \"a\" is already used by target_groups[0] (HTTP)" },
	{ DOC(G("HTTP", "/a", "my app", "") "," G("HTTP", "/b", "my_app", "")),
	  "target_groups[1].app_name: \"my_app\" gives the same backend name as target_groups[0] (http-my_app)" },
	{ DOC(G("HTTP", "/a", "", "")),
	  "target_groups[0].app_name: must not be empty" },
	{ DOC(G("HTTP", "/a", LONG200, "")),
	  "target_groups[0].app_name: 200 bytes is too long (at most 127)" },
	{ G1("\"targets\":[],\"ingress_router_fallback\":\"yes\""),
	  "target_groups[0].ingress_router_fallback: must be true or false" },
	{ G1("\"targets\":[],\"is_router_application\":1"),
	  "target_groups[0].is_router_application: must be true or false" },
	{ G1("\"targets\":[],\"ingress_deployment_name\":false"),
	  "target_groups[0].ingress_deployment_name: must be a string" },
	{ G1("\"targets\":[],\"ingress_request_router_targets\":[" T(
		  "10.0.0.9", 99999, "rt") "]"),
	  "target_groups[0].ingress_request_router_targets[0].port: 99999 is out of range" },
	{ G1("\"targets\":[],\"ingress_request_router_targets\":\"10.0.0.9\""),
	  "target_groups[0].ingress_request_router_targets: must be a list" },
	{ "{\"target_groups\":[],\"fallback_targets\":5}",
	  "fallback_targets: must be an object keyed by protocol or a list" },
	{ "{\"target_groups\":[],\"fallback_targets\":{\"HTTP\":{\"ip\":\"10.0.0.1\",\"name\":\"p\"}}}",
	  "fallback_targets.HTTP.port: missing" },
	{ "{\"target_groups\":[],\"fallback_targets\":{\"gRPC\":\"10.0.0.1:9500\"}}",
	  "fallback_targets.gRPC: must be an object" },
	{ "{\"target_groups\":[],\"fallback_targets\":[" T(
		  "10.0.0.1", 1, "a") "," T("10.0.0.1", 2, "b") "]}",
	  "fallback_targets[1]: a HTTP fallback is already given" },
	{ "{\"target_groups\":[],\"fallback_targets\":[{\"protocol\":\"udp\",\"ip\":\"10.0.0.1\",\"port\":1,\"name\":\"p\"}]}",
	  "fallback_targets[0].protocol: \"udp\" is not" },
	{ "{\"target_groups\":[],\"fallback_targets\":[" T("10.0.0.1.1", 1,
							   "a") "]}",
	  "fallback_targets[0].ip: \"10.0.0.1.1\" is not an IPv4 address" },
};

/* One TAP case per document, named by the message it must contain. */
static void run_malformed_documents(void)
{
	unsigned int n = sizeof(bad_docs) / sizeof(bad_docs[0]);

	for (unsigned int i = 0; i < n; i++) {
		struct tg_model m;
		char err[512] = "";
		int rc = tg_parse(bad_docs[i].json, &m, err, sizeof(err));

		wt_case_failed = 0;
		if (rc != -EINVAL || !strstr(err, bad_docs[i].want)) {
			printf("#   rc %d, message '%s'\n", rc, err);
			wt_case_failed = 1;
		}
		WT_CHECK_EQ(m.n_groups, 0); /* nothing half-built is left */
		WT_CHECK(m.groups == NULL);
		wt_cases++;
		if (wt_case_failed)
			wt_failed++;
		/* no '#' in a TAP description: it would start a directive */
		printf("%sok %d - malformed[%u] refused: ",
		       wt_case_failed ? "not " : "", wt_cases, i);
		for (const char *c = bad_docs[i].want; *c; c++)
			putchar(*c == '#' ? '*' : *c);
		putchar('\n');
	}
}

static void test_sanitize_name(void)
{
	char out[WEIR_TABLE_SERVER_NAME_MAX];

	WT_CHECK_EQ(tg_sanitize_name("SERVE_REPLICA::llm#LLMServer#x1", out,
				     sizeof(out)),
		    31);
	WT_CHECK(!strcmp(out, "SERVE_REPLICA__llm-LLMServer-x1"));
	tg_sanitize_name("app/v1#Dep loy@x:1", out, sizeof(out));
	WT_CHECK(!strcmp(out, "app.v1-Dep_loy_x_1"));
	tg_sanitize_name("a.b_c-D9", out, sizeof(out));
	WT_CHECK(!strcmp(out, "a.b_c-D9"));
	/* one '_' per character, not per byte: "é" is 2 bytes, "😀" is 4 */
	WT_CHECK_EQ(tg_sanitize_name("caf\xc3\xa9-\xf0\x9f\x98\x80", out,
				     sizeof(out)),
		    6);
	WT_CHECK(!strcmp(out, "caf_-_"));
	WT_CHECK_EQ(tg_sanitize_name("abcd", out, 4), -ENOSPC);
	WT_CHECK_EQ(tg_sanitize_name("abc", out, 4), 3);
}

static void test_load_errors_name_the_file(void)
{
	struct tg_model m;
	char err[512] = "";
	char path[] = "/tmp/weir-tg-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;

	WT_CHECK_EQ(tg_load("/nonexistent/tg.json", &m, err, sizeof(err)),
		    -ENOENT);
	WT_CHECK(strstr(err, "/nonexistent/tg.json: No such file") != NULL);
	WT_CHECK(fd >= 0);
	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	fputs(DOC(G("HTTP", "/a", "a", T("10.0.0.1", 0, "r"))), f);
	fclose(f);
	WT_CHECK_EQ(tg_load(path, &m, err, sizeof(err)), -EINVAL);
	WT_CHECK(!strncmp(err, path, strlen(path)));
	WT_CHECK(
		strstr(err,
		       ": target_groups[0].targets[0].port: 0 is out of range") !=
		NULL);
	f = fopen(path, "w");
	fputs(ray_example, f);
	fclose(f);
	WT_CHECK_EQ(tg_load(path, &m, err, sizeof(err)), 0);
	WT_CHECK_EQ(m.n_groups, 1);
	tg_model_free(&m);
	unlink(path);
}

int main(void)
{
	WT_RUN(test_ray_example);
	WT_RUN(test_empty_and_scaled_to_zero);
	WT_RUN(test_unknown_fields_ignored);
	WT_RUN(test_optional_fields);
	WT_RUN(test_fallback_forms);
	run_malformed_documents();
	WT_RUN(test_sanitize_name);
	WT_RUN(test_load_errors_name_the_file);
	return wt_done();
}
