/* stats: what weir-cp reports about the dataplane, read from the blocks
 * each worker exports into the control segment (include/weir/ctl.h) and
 * named from the active table: HAProxy's "show stat" rows (pxname svname
 * status scur smax stot qcur ereq econ eresp hrsp_2xx hrsp_5xx ...) as
 * JSON, and the same numbers as Prometheus text under HAProxy's promex
 * names, so dashboards built for Ray's HAProxy keep working. Workers are
 * summed by stable server id. Control path only: it copies each worker's
 * block under its seqlock and never makes a worker wait. */
#ifndef WEIR_CP_STATS_H
#define WEIR_CP_STATS_H

#include <cjson/cJSON.h>

#include "cpstate.h"

/* {"frontend": {...}, "backends": [{pxname, svname: "BACKEND", ...,
 * "servers": [{pxname, svname, status, weight, scur, ...}]}], "counters":
 * {name: sum}, "workers": [{"held_generation", "stats_age_s", ...}],
 * "sessions_now"} for weir-dp attached to s; NULL when not attached. */
cJSON *cp_stats_json(struct cp_state *s);

/* The FRONTEND row alone ({scur, stot, req_tot, dcon, ...}): what
 * /api/v1/info reports, without naming every server. NULL when not
 * attached. */
cJSON *cp_frontend_json(struct cp_state *s);

/* The Prometheus text exposition (version 0.0.4) of the same, plus
 * weir's own (weir_table_version, weir_table_update_seconds, per-worker
 * counters). malloc'd, NUL-terminated; NULL when out of memory. */
char *cp_metrics_text(struct cp_state *s);

/* The node drain as measured: {"on", "grace_ms", "since_s" (since the
 * first worker began), "sessions" (client connections open), "refusing"
 * (every worker past the grace), "drained" (on, refusing, and no session
 * left: measured, never a timer)}. */
cJSON *cp_drain_json(struct cp_state *s);

#endif
