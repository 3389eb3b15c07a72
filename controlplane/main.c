/* weir-cp: the control plane process. Today it validates files offline
 * with exactly the code the running processes use: weir-dp's configuration
 * (--check-config, weir-dp's own parser) and Ray Serve target groups
 * (--check, the parser and compiler that build the route table); receiving
 * target groups and publishing tables to the workers come next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"
#include "config/config.h"
#include "lb/route.h"
#include "targetgroup.h"
#include "weir/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir-cp --check-config FILE   (weir-dp configuration)\n"
		"       weir-cp --check FILE          (Ray Serve target groups)\n"
		"       weir-cp --version\n");
}

/* One line: what the file holds and the routes in the order they match. */
static void print_summary(const char *path, const struct tg_model *m,
			  const struct weir_table *t)
{
	const struct weir_table_route *r = weir_table_routes(t);
	const struct weir_table_backend *b = weir_table_backends(t);
	unsigned int routers = 0;

	for (unsigned int i = 0; i < m->n_groups; i++)
		routers += m->groups[i].n_routers;
	printf("%s: ok: %u groups (%u HTTP, %u gRPC), %u targets, %u router targets, "
	       "fallback %s; routes:",
	       path, m->n_groups, t->n_http_backends,
	       t->n_backends - t->n_http_backends, tg_model_n_targets(m),
	       routers,
	       m->has_fallback[TG_HTTP] && m->has_fallback[TG_GRPC] ?
		       "HTTP+gRPC" :
	       m->has_fallback[TG_HTTP] ? "HTTP" :
	       m->has_fallback[TG_GRPC] ? "gRPC" :
					  "none");
	for (uint32_t i = 0; i < t->n_routes; i++)
		printf("%s %s -> %s", i ? "," : "", r[i].prefix,
		       b[r[i].backend].name);
	if (!t->n_routes)
		printf(" none (every path 404)");
	for (uint32_t i = t->n_http_backends; i < t->n_backends; i++)
		printf("%s %s", i == t->n_http_backends ? "; gRPC apps:" : ",",
		       b[i].name);
	printf("\n");
}

static int check_target_groups(const char *path)
{
	struct cp_compile_opts opts;
	struct weir_table *t;
	struct tg_model m;
	char err[512];

	if (tg_load(path, &m, err, sizeof(err))) {
		fprintf(stderr, "weir-cp: %s\n", err);
		return 1;
	}
	cp_compile_defaults(&opts);
	t = cp_compile_alloc(&m, &opts, err, sizeof(err));
	if (!t || route_table_check(t, cp_compile_size(&m))) {
		fprintf(stderr, "weir-cp: %s: %s\n", path,
			t ? "compiled table fails its own check" : err);
		free(t);
		tg_model_free(&m);
		return 1;
	}
	print_summary(path, &m, t);
	free(t);
	tg_model_free(&m);
	return 0;
}

int main(int argc, char **argv)
{
	struct dp_config cfg;
	char err[512];

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("weir-cp %s\n", WEIR_VERSION_STRING);
		return 0;
	}
	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check_target_groups(argv[2]);
	if (argc != 3 || strcmp(argv[1], "--check-config")) {
		usage(stderr);
		return 2;
	}
	if (config_load(argv[2], &cfg, err, sizeof(err))) {
		fprintf(stderr, "weir-cp: %s\n", err);
		return 1;
	}
	printf("%s: ok\n", argv[2]);
	return 0;
}
