/* hap_push: tells weir-cp what a parsed config says, over its API
 * (tools/weirctl/cpapi.h): one PUT of the target-group document, then the
 * node's drain state when the config's healthz rules changed it. Never
 * restarts or signals weir-dp or weir-cp. */
#ifndef WEIR_HAP_PUSH_H
#define WEIR_HAP_PUSH_H

#include <stddef.h>

#include "hap_cfg.h"

/* Returns 0 once weir-cp accepted the change (and, within wait_ms, every
 * worker serves it; *live says whether they do), or -errno with a one-line
 * reason in err (weir-cp unreachable, or it refused the document). */
int hap_push(const struct hap_cfg *cfg, int wait_ms, int *live, char *err,
	     size_t errlen);

#endif
