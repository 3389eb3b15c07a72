/* alog: the access log's writer. The workers fill one lossy ring each in
 * the control segment (include/weir/ctl.h, dataplane/http/proxy_log.c);
 * weir-cp drains them and writes one JSON line per request to a file or
 * a FIFO. It never makes a worker wait: a FIFO is opened non-blocking, and
 * while nobody reads it the records stay in the rings, which then drop
 * (counted by the workers) instead of growing. Control path only: called
 * by weir-cp's main loop, which serialises the calls. */
#ifndef WEIR_CP_ALOG_H
#define WEIR_CP_ALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weir/ctl.h"

struct cp_alog {
	char path[4096];
	int fd; /* -1: closed */
	uint64_t lines; /* lines written */
	uint64_t write_drops; /* records lost to a failed write */
	int last_errno; /* of the last failed write or open, 0: none */
};

/* Opens path for appending (created 0644 if absent; a FIFO without a
 * reader is fine). Returns 0 or a negative errno, err saying why. */
int alog_open(struct cp_alog *a, const char *path, char *err, size_t errlen);

/* Closes and opens the path again (SIGHUP: after logrotate moved it). */
int alog_reopen(struct cp_alog *a);

/* Writes what the rings of c hold, as far as the output takes it.
 * Returns the lines written. */
unsigned int alog_drain(struct cp_alog *a, struct weir_ctl *c);

/* Tells weir-dp's workers whether to fill their rings. */
void alog_switch(struct weir_ctl *c, bool on);

/* Records the workers dropped because their ring was full. */
uint64_t alog_ring_drops(struct weir_ctl *c);

/* Formats one record as a JSON line (with its '\n'), at most cap bytes.
 * Returns the length, 0 if it did not fit. */
size_t alog_format(const struct weir_ctl_log_rec *r, char *out, size_t cap);

void alog_close(struct cp_alog *a);

#endif
