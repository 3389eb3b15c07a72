/* api: weir-cp's HTTP/JSON API (libmicrohttpd) on a Unix socket and,
 * when configured, a management TCP address:
 *
 *   GET  /api/v1/info               versions, weir-dp, table generation/age
 *   GET  /api/v1/table              the groups behind the active table
 *   PUT  /api/v1/target_groups      replace the groups (Ray's document)
 *   PUT  /api/v1/fallback_targets   replace the fallback targets only
 *   GET  /api/v1/stats              per backend and server, HAProxy's columns
 *   PUT  /api/v1/servers/<be>/<sv>  {"state": ready|drain|maint, "weight"}
 *   PUT  /api/v1/drain              {"drain": true|false}: the whole node
 *   GET  /metrics                   Prometheus text (HAProxy promex names)
 *
 * POST is accepted wherever PUT is. ?wait=MS on a PUT waits (at most 5 s)
 * until every worker serves the new table. Replies are JSON: {"ok": true,
 * ...} or {"ok": false, "error": "<field>: <problem>"} with 400 (invalid),
 * 404 (no such endpoint or server), 405, 413 (over CPS_BODY_MAX) or 503
 * (weir-dp not attached, for stats).
 * An invalid request changes nothing. A client that stalls is cut after
 * the connection timeout; others are served meanwhile (one polling thread,
 * non-blocking). Never touches weir-dp's memory except through cpstate. */
#ifndef WEIR_CP_API_H
#define WEIR_CP_API_H

#include <pthread.h>
#include <stdint.h>

#include "cpstate.h"

struct cp_api {
	struct cp_state *st;
	pthread_mutex_t lock; /* over st: the API threads and the main loop */
	const char *dp_name;
	uint64_t start_ns;
	struct MHD_Daemon *unix_d, *tcp_d;
	int unix_fd;
	char unix_path[108];
};

/* Starts the API on unix_path (replacing a stale socket) and, if tcp is
 * not NULL ("IP:PORT"), on that address too. Returns 0 or -errno; err
 * says why. */
int api_start(struct cp_api *a, const char *unix_path, const char *tcp,
	      char *err, size_t errlen);

/* Stops both listeners and removes the socket file. */
void api_stop(struct cp_api *a);

#endif
