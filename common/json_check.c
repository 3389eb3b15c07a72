/* See json_check.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "common/json_check.h"

int jc_fail(struct jc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->err, ctx->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool jc_absent(const struct jc_ctx *ctx, const cJSON *v)
{
	return !v || (ctx->null_is_absent && cJSON_IsNull(v));
}

int jc_get_uint(struct jc_ctx *ctx, const cJSON *obj, const char *key,
		const char *path, uint32_t min, uint32_t max, uint32_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	const char *dot = *path ? "." : "";
	double d;

	if (jc_absent(ctx, v))
		return 0;
	if (!cJSON_IsNumber(v))
		return jc_fail(ctx, "%s%s%s: must be a number", path, dot, key);
	d = v->valuedouble;
	/* the range test first: a huge double does not fit uint64_t */
	if (d < min || d > max || d != (double)(uint64_t)d)
		return jc_fail(ctx, "%s%s%s: must be an integer from %u to %u",
			       path, dot, key, min, max);
	*out = (uint32_t)d;
	return 0;
}

int jc_get_bool(struct jc_ctx *ctx, const cJSON *obj, const char *key,
		const char *path, bool *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (jc_absent(ctx, v))
		return 0;
	if (!cJSON_IsBool(v))
		return jc_fail(ctx, "%s%s%s: must be true or false", path,
			       *path ? "." : "", key);
	*out = cJSON_IsTrue(v);
	return 0;
}

int jc_ipv4(struct jc_ctx *ctx, const cJSON *v, const char *what, uint32_t *out)
{
	struct in6_addr a6;
	struct in_addr a;
	uint32_t h;

	if (!cJSON_IsString(v))
		return jc_fail(ctx, "%s: must be a string with an IPv4 address",
			       what);
	if (inet_pton(AF_INET, v->valuestring, &a) != 1) {
		if (inet_pton(AF_INET6, v->valuestring, &a6) == 1)
			return jc_fail(
				ctx, "%s: \"%.64s\" is IPv6, not supported yet",
				what, v->valuestring);
		return jc_fail(ctx, "%s: \"%.64s\" is not an IPv4 address",
			       what, v->valuestring);
	}
	h = ntohl(a.s_addr);
	if (h == 0 || h == 0xffffffffu || (h >> 28) == 0xe)
		return jc_fail(
			ctx,
			"%s: %s cannot be used (unspecified, broadcast or multicast)",
			what, v->valuestring);
	*out = a.s_addr;
	return 0;
}
