/* json_check: the typed field readers every JSON loader shares (weir-dp's
 * config, weir-cp's Ray target groups): each checks one field's type and
 * range and, on error, writes "<path>.<key>: <problem>" and returns
 * -EINVAL. Which keys exist and what they mean stays with each loader.
 * Start-up and control path only; never used per packet. */
#ifndef WEIR_JSON_CHECK_H
#define WEIR_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* Where a loader's error message goes, and how it reads JSON null: Ray's
 * pydantic models write null for "not set" (null_is_absent), weir-dp's own
 * config does not (null is a type error there). */
struct jc_ctx {
	char *err;
	size_t errlen;
	bool null_is_absent;
};

/* Formats the error into ctx->err; returns -EINVAL. */
int jc_fail(struct jc_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Is v absent for this loader (missing, or null where null means unset)? */
bool jc_absent(const struct jc_ctx *ctx, const cJSON *v);

/* obj.key as an integer in [min, max] into *out; absent leaves *out. */
int jc_get_uint(struct jc_ctx *ctx, const cJSON *obj, const char *key,
		const char *path, uint32_t min, uint32_t max, uint32_t *out);

/* obj.key as true/false into *out; absent leaves *out. */
int jc_get_bool(struct jc_ctx *ctx, const cJSON *obj, const char *key,
		const char *path, bool *out);

/* v (a present value named what) as a unicast IPv4 address, network order:
 * refuses non-strings, IPv6 (named as such: not supported yet), and the
 * unspecified, broadcast and multicast addresses, which no server, VIP or
 * gateway can be. */
int jc_ipv4(struct jc_ctx *ctx, const cJSON *v, const char *what,
	    uint32_t *out);

#endif
