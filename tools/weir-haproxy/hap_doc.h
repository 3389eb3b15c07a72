/* hap_doc: turns a parsed config (hap_cfg) into what weir-cp is told: the
 * target-group document of PUT /api/v1/target_groups, and the list of
 * knobs the config sets that this push cannot carry. Pure: builds text,
 * never talks to weir-cp. */
#ifndef WEIR_HAP_DOC_H
#define WEIR_HAP_DOC_H

#include "hap_cfg.h"

/* Ray's document {"target_groups": [...], "fallback_targets": {...}} as
 * malloc'd JSON text; NULL on ENOMEM. 127.0.0.0/8 addresses become
 * cfg->localhost when that is set (weir-dp cannot reach the host's
 * loopback). */
char *hap_doc_target_groups(const struct hap_cfg *cfg);

/* One line per knob the config sets that Weir parses but does not apply
 * from this push ("- KNOB VALUE: why"); malloc'd, "" when none; NULL on
 * ENOMEM. */
char *hap_doc_not_applied(const struct hap_cfg *cfg);

#endif
