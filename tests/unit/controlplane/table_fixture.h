/* Test fixture shared by tests/unit/controlplane and tests/unit/lb: a route
 * table built from target-group JSON by weir-cp's own parser and compiler,
 * and checked as a worker would check it before adopting it. */
#ifndef WEIR_TEST_TABLE_FIXTURE_H
#define WEIR_TEST_TABLE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "compile.h"
#include "common/table_check.h"

/* Parses and compiles json with Ray's default knobs; NULL (and a TAP
 * diagnostic) on any error. Release with free(). */
static inline struct weir_table *fixture_table(const char *json,
					       uint64_t generation)
{
	struct cp_compile_opts o;
	struct weir_table *t;
	struct tg_model m;
	char err[512] = "";

	if (tg_parse(json, &m, err, sizeof(err))) {
		printf("#   parse: %s\n", err);
		return NULL;
	}
	cp_compile_defaults(&o);
	o.generation = generation;
	t = cp_compile_alloc(&m, &o, err, sizeof(err));
	if (!t)
		printf("#   compile: %s\n", err);
	else if (weir_table_check(t, (size_t)t->total_size))
		printf("#   compiled table fails weir_table_check\n");
	tg_model_free(&m);
	return t;
}

#endif
