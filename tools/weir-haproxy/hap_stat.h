/* hap_stat: HAProxy's runtime-API answers (show info, show stat, show
 * servers state) rendered from weir-cp's JSON (GET /api/v1/info and
 * /api/v1/stats) and the config this stand-in pushed. Pure text building:
 * no sockets, so the unit tests feed it JSON; never fails on odd input
 * (a missing field reads as 0 or "-"). */
#ifndef WEIR_HAP_STAT_H
#define WEIR_HAP_STAT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hap_cfg.h"

#define HAP_VERSION "2.8.0-weir"
#define HAP_RELEASE_DATE "2026/12/08"
#define HAP_WEIR_VERSION "0.1.0"

/* A growing output buffer; oom makes every later append a no-op. */
struct hap_out {
	char *p;
	size_t len, cap;
	bool oom;
};

void hap_out_add(struct hap_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void hap_out_free(struct hap_out *o);

/* HAProxy's "show stat" CSV: the "# pxname,svname,..." header in
 * HAProxy's column order (through srv_abrt), the http_frontend row, then
 * per backend its servers and its BACKEND row; a blank line at the end.
 * stats is weir-cp's /api/v1/stats reply (NULL: header only). */
void hap_show_stat(struct hap_out *o, const cJSON *stats,
		   const struct hap_cfg *cfg);

/* "show info": Name:/Version:/Pid:/Uptime:... from this process and
 * weir-cp's /api/v1/info (NULL: weir-cp unreachable, said in a field). */
void hap_show_info(struct hap_out *o, const cJSON *info,
		   const struct hap_cfg *cfg, uint64_t uptime_s);

/* "show servers state [BACKEND]", version 1. Returns -ENOENT (nothing
 * written) when backend is given and unknown. */
int hap_show_servers_state(struct hap_out *o, const cJSON *stats,
			   const struct hap_cfg *cfg, const char *backend);

#endif
