/* See jsonfile.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsonfile.h"

int json_file_read(const char *path, size_t max, char **text, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "r");
	long n;
	int rc;

	*text = NULL;
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || (size_t)n > max) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file under %zu KiB",
			 path, max >> 10);
		return -EFBIG;
	}
	rewind(f);
	*text = malloc((size_t)n + 1);
	if (!*text) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	(*text)[fread(*text, 1, (size_t)n, f)] = 0;
	fclose(f);
	return 0;
}
