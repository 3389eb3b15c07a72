/* Reading a JSON document from a file, for every loader (weir-dp's config,
 * Ray target groups): bounded size, one message naming the path on error.
 * Start-up and control path only: it allocates. */
#ifndef WEIR_JSONFILE_H
#define WEIR_JSONFILE_H

#include <stddef.h>

/* Reads the whole file at path (at most max bytes) into a NUL-terminated
 * malloc'd *text (free() it). Returns 0, -errno when it cannot be opened
 * or read, -EFBIG when larger than max, -ENOMEM; err then says
 * "<path>: <why>". */
int json_file_read(const char *path, size_t max, char **text, char *err,
		   size_t errlen);

#endif
