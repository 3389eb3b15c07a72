/* cpapi: weirctl's client for weir-cp's API (controlplane/api.h): one
 * HTTP/1.1 request over the Unix socket, Connection: close, bounded by a
 * timeout so a wedged weir-cp is an error, never a hang. */
#ifndef WEIRCTL_CPAPI_H
#define WEIRCTL_CPAPI_H

#include <stddef.h>

/* Sends METHOD path (with body of len bytes, or none) to the API at sock.
 * Returns 0 with *status and *reply (the body, malloc'd, NUL-terminated)
 * or -errno when weir-cp could not be reached or answered nothing HTTP;
 * err says why in one line. */
int cpapi_call(const char *sock, const char *method, const char *path,
	       const char *body, size_t len, int *status, char **reply,
	       char *err, size_t errlen);

#endif
