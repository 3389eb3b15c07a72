/* weir-cp: the control plane process. Today it validates configuration
 * offline with exactly the parser weir-dp uses (so a file that passes here
 * starts there); receiving target groups and publishing tables to the
 * workers come with the control-plane issue. */
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "weir/version.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: weir-cp --check-config FILE\n"
		   "       weir-cp --version\n");
}

int main(int argc, char **argv)
{
	struct dp_config cfg;
	char err[512];

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("weir-cp %s\n", WEIR_VERSION_STRING);
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
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
