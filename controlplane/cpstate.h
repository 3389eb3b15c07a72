/* cpstate: what weir-cp holds between pushes: the last accepted Ray
 * target groups and fallback targets (Ray broadcasts them separately, so
 * each is replaced alone), the table compiled from both, and the one
 * table waiting to be published when no slot is free (a newer push
 * replaces it: bursts coalesce, nothing queues). A push is validated and
 * compiled completely before anything changes: an invalid one changes
 * nothing. Persisted to a state file after each publish, so a restarted
 * weir-cp carries on with the groups behind the active table. Control
 * path only; the caller serialises calls. */
#ifndef WEIR_CP_STATE_H
#define WEIR_CP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "compile.h"
#include "publish.h"

struct cp_alog;

/* Largest API body or state file. */
#define CPS_BODY_MAX (16u << 20)

struct cp_state {
	char *groups; /* JSON array text, NULL: none received yet */
	char *fallback; /* JSON text ("null" when none) */
	struct weir_table *pending; /* compiled, not yet published */
	bool pending_initial; /* it is the start-up file's (cps_initial) */
	struct cp_compile_opts opts;
	const char *state_path; /* NULL: not persisted */
	struct cp_pub pub; /* pub.seg.ctl NULL: not attached */
	struct cJSON *admin; /* "backend/server": {"state", "weight"} set */
	bool draining; /* the node drains (Ray's drain) */
	uint32_t drain_grace_ms; /* new connections taken that long: 30000 */
	uint64_t pushes, refused, coalesced;
	uint64_t last_push_ns; /* CLOCK_REALTIME */
	struct cp_alog *alog; /* the access log's writer; NULL: off */
};

void cps_init(struct cp_state *s, const char *state_path);
void cps_fini(struct cp_state *s);

/* Replaces the target groups with body: Ray's document ({"target_groups":
 * [...], "fallback_targets": ...}: a fallback given there replaces the
 * fallback too) or a bare list of groups. Returns 0 (the table is pending
 * or published) or -EINVAL with err naming the field. */
int cps_set_groups(struct cp_state *s, const char *body, char *err,
		   size_t errlen);

/* Replaces the fallback targets only (Ray's {"HTTP": {...}, "gRPC": ...}
 * or a list of targets, or null for none). Before any groups arrived it is
 * kept for the first table. Returns as cps_set_groups. */
int cps_set_fallback(struct cp_state *s, const char *body, char *err,
		     size_t errlen);

/* The start-up file's groups: published only to a weir-dp with no table
 * yet (a restarted weir-cp never replaces a newer push with it). */
int cps_initial(struct cp_state *s, const char *body, char *err, size_t errlen);

/* Publishes the pending table if a slot is free. Returns its generation,
 * 0 when nothing is pending, -EAGAIN (still pending), -ENOTCONN (no
 * weir-dp attached). */
int64_t cps_flush(struct cp_state *s);

/* Attaches to weir-dp instance name if not attached, or re-attaches when
 * it restarted (a new segment); a table the new weir-dp lacks is queued
 * again. Returns 1 when attached now, 0 when weir-dp is absent. */
int cps_attach(struct cp_state *s, const char *name);

/* The operator's state for server `server` of backend `backend` (their
 * names in the active table): body {"state": "ready"|"drain"|"maint",
 * "weight": 0-256}, either or both. It is compiled into every table from
 * now on and published at once. Returns 0, -ENOENT (no such server in the
 * active table) or -EINVAL, err saying why. */
int cps_set_server(struct cp_state *s, const char *backend, const char *server,
		   const char *body, char *err, size_t errlen);

/* Drains the node (on) or ends the drain: /-/healthz and /-/routes answer
 * 503 "This node is being drained." while every request is still served;
 * after grace_ms (< 0: keep the last one) the workers refuse new
 * connections. Published at once; -ENOENT before any table. */
int cps_set_drain(struct cp_state *s, bool on, int64_t grace_ms, char *err,
		  size_t errlen);

#define CPS_DRAIN_GRACE_MS 30000u /* Ray's drain floor */
#define CPS_DRAIN_GRACE_MAX_MS 3600000u

/* Loads the state file if it matches generation gen (a restart). */
int cps_restore(struct cp_state *s, uint64_t gen);

/* The document behind the active table: {"target_groups": ...,
 * "fallback_targets": ...} (malloc'd; NULL if none). */
char *cps_document(const struct cp_state *s);

#endif
