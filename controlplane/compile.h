/* Validated target groups (targetgroup.h) -> one immutable route table
 * snapshot (include/weir/table.h). Deterministic: the same model and
 * options give the same bytes, whatever order Ray listed groups or targets
 * in. Routes follow Ray's order (longest route_prefix first, then byte
 * order); the fallback of a protocol becomes a backup server of every
 * backend of that protocol. Control plane only. */
#ifndef WEIR_CP_COMPILE_H
#define WEIR_CP_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "targetgroup.h"
#include "weir/table.h"

struct cp_compile_opts {
	uint64_t generation; /* written into the snapshot */
	uint32_t maxconn; /* frontend: 20000 */
	uint32_t maxconnrate, maxsessrate; /* per second; 0: no limit */
	uint32_t client_rps; /* requests per s per client address; 0: none */
	struct weir_table_knobs knobs; /* copied into every backend */
};

/* Ray Serve's HAProxy defaults: leastconn, GET /-/healthz expecting 200 with
 * inter 5 s, fastinter 250 ms, downinter 250 ms, fall 2, rise 2; timeout
 * client 3600 s, http-keep-alive 90 s, connect/server/queue/http-request
 * none; retries 1; per-server maxconn unlimited; router timeout 5 s with
 * fall-through on failure; frontend maxconn 20000; generation 0. */
void cp_compile_defaults(struct cp_compile_opts *o);

/* The stable id of a server: a 64-bit hash of (actor name, ip, port), never
 * 0. Equal in every snapshot and in both processes, so per-server state
 * keyed by it survives table updates. ip in network order. */
uint64_t cp_server_id(const char *name, uint32_t ip, uint16_t port);

/* Bytes the snapshot of m needs (header and arrays, aligned). */
size_t cp_compile_size(const struct tg_model *m);

/* Compiles m into buf (len bytes, 8-byte aligned; it is zeroed first).
 * Returns 0, -ENOSPC if len < cp_compile_size(m), -E2BIG if the model has
 * more servers or backends than the ABI allows, -EINVAL for a misaligned
 * buffer; err (may be NULL) then says why. */
int cp_compile(const struct tg_model *m, const struct cp_compile_opts *o,
	       void *buf, size_t len, char *err, size_t errlen);

/* Same, into one allocation of cp_compile_size(m) bytes (64-byte aligned;
 * release with free()). Returns NULL on error, with err set. */
struct weir_table *cp_compile_alloc(const struct tg_model *m,
				    const struct cp_compile_opts *o, char *err,
				    size_t errlen);

#endif
