/* Route lookup and the frontend's own bodies: see route.h. A linear scan of
 * the routes in table order: Ray apps are few (tens), each step is one
 * length compare and at most one memcmp, and the first match is the
 * longest because the table is sorted longest first. */
#include <errno.h>
#include <string.h>

#include "lb/route.h"

int route_lookup(const struct weir_table *t, const char *path, size_t len)
{
	const struct weir_table_route *r = weir_table_routes(t);

	len = route_path_len(path, len);
	if (len == 0 || path[0] != '/')
		return ROUTE_NO_MATCH;
	for (uint32_t i = 0; i < t->n_routes; i++)
		if (route_prefix_matches(r[i].prefix, r[i].prefix_len, path,
					 len))
			return (int)r[i].backend;
	return ROUTE_NO_MATCH;
}

int route_grpc_lookup(const struct weir_table *t, const char *app, size_t len)
{
	const struct weir_table_backend *b = weir_table_backends(t);
	uint32_t first = t->n_http_backends, n = t->n_backends - first;

	if (n == 1)
		return (int)first;
	if (!app)
		return ROUTE_NO_MATCH;
	for (uint32_t i = first; i < t->n_backends; i++)
		if (strlen(b[i].app_name) == len &&
		    !memcmp(b[i].app_name, app, len))
			return (int)i;
	return ROUTE_NO_MATCH;
}

static int scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

const char *route_target_path(const char *target, size_t len, size_t *out_len)
{
	size_t i = 0;

	/* absolute-form: scheme "://" authority [path-abempty] [?query] */
	while (i < len && scheme_char(target[i]))
		i++;
	if (i > 0 && len - i >= 3 && !memcmp(target + i, "://", 3)) {
		for (i += 3; i < len && target[i] != '/' && target[i] != '?' &&
			     target[i] != '#';
		     i++)
			;
		if (i == len || target[i] != '/') {
			*out_len = 1;
			return "/";
		}
		target += i;
		len -= i;
	}
	*out_len = route_path_len(target, len);
	return target;
}

/* A bounded writer: counts everything, stores what fits (NUL kept). */
struct out {
	char *buf;
	size_t cap, n;
};

static void put(struct out *o, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++, o->n++)
		if (o->n + 1 < o->cap)
			o->buf[o->n] = s[i];
}

static void put_u16(struct out *o, unsigned int u)
{
	static const char hex[] = "0123456789abcdef";
	char e[6] = { '\\',
		      'u',
		      hex[u >> 12 & 15],
		      hex[u >> 8 & 15],
		      hex[u >> 4 & 15],
		      hex[u & 15] };

	put(o, e, sizeof(e));
}

/* Decodes one UTF-8 character at s (n bytes left) into *cp; returns its
 * length, or 1 with U+FFFD for a bad byte (weir-cp refuses those, but a
 * worker must not trust shared memory). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned int *cp)
{
	size_t len, i;
	unsigned int c;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07u;
	else
		goto bad;
	if (len > n)
		goto bad;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		c = c << 6 | (s[i] & 0x3fu);
	}
	if ((len == 3 && c < 0x800) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		goto bad;
	*cp = c;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it. */
static void put_json_string(struct out *o, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s);

	put(o, "\"", 1);
	while (n) {
		unsigned int cp;
		size_t len = 1;

		if (*u >= 0x80) {
			len = utf8_decode(u, n, &cp);
			if (cp >= 0x10000) {
				cp -= 0x10000;
				put_u16(o, 0xd800 | cp >> 10);
				put_u16(o, 0xdc00 | (cp & 0x3ff));
			} else {
				put_u16(o, cp);
			}
		} else if (*u == '"' || *u == '\\') {
			put(o, "\\", 1);
			put(o, (const char *)u, 1);
		} else if (*u < 0x20) {
			const char *esc = *u == '\n' ? "\\n" :
					  *u == '\r' ? "\\r" :
					  *u == '\t' ? "\\t" :
					  *u == '\b' ? "\\b" :
					  *u == '\f' ? "\\f" :
						       NULL;
			if (esc)
				put(o, esc, 2);
			else
				put_u16(o, *u);
		} else {
			put(o, (const char *)u, 1);
		}
		u += len;
		n -= len;
	}
	put(o, "\"", 1);
}

static size_t finish(struct out *o)
{
	if (o->cap)
		o->buf[o->n < o->cap ? o->n : o->cap - 1] = 0;
	return o->n;
}

size_t route_routes_json(const struct weir_table *t, char *buf, size_t cap)
{
	const struct weir_table_route *r = weir_table_routes(t);
	const struct weir_table_backend *b = weir_table_backends(t);
	struct out o = { buf, cap, 0 };

	put(&o, "{", 1);
	for (uint32_t i = 0; i < t->n_routes; i++) {
		if (i)
			put(&o, ",", 1);
		put_json_string(&o, r[i].prefix);
		put(&o, ":", 1);
		put_json_string(&o, b[r[i].backend].app_name);
	}
	put(&o, "}", 1);
	return finish(&o);
}
