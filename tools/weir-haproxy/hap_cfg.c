/* hap_cfg: see hap_cfg.h. A line-oriented reader of Ray Serve's HAProxy
 * config: tokenize, dispatch on the section's keyword table, then resolve
 * the backends (prefixes, app names, fallback) once every line is read.
 * It allocates and reports; it never touches weir-cp or the network. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_cfg.h"
#include "hap_cfg_int.h"

const char *const hap_timeout_names[HAP_T_COUNT] = {
	"connect",	   "client", "server", "http-request",
	"http-keep-alive", "queue",  "tunnel", "check"
};

void hap_msg(struct hap_cfg *cfg, int line, bool error, const char *fmt, ...)
{
	char buf[600];
	int n, k;
	va_list ap;

	n = snprintf(buf, sizeof(buf), "%s [%s:%d]: ",
		     error ? "[ALERT] parsing" : "[WARNING] parsing",
		     cfg->file ? cfg->file : "-", line);
	va_start(ap, fmt);
	k = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = k < 0 ? n :
		    (n + k < (int)sizeof(buf) - 1 ? n + k :
						    (int)sizeof(buf) - 2);
	buf[n++] = '\n';
	if (cfg->msgs_len + (size_t)n + 1 > cfg->msgs_cap) {
		size_t cap = cfg->msgs_cap ? cfg->msgs_cap * 2 : 4096;
		char *m;

		while (cap < cfg->msgs_len + (size_t)n + 1)
			cap *= 2;
		m = realloc(cfg->msgs, cap);
		if (!m)
			return;
		cfg->msgs = m;
		cfg->msgs_cap = cap;
	}
	memcpy(cfg->msgs + cfg->msgs_len, buf, (size_t)n);
	cfg->msgs_len += (size_t)n;
	cfg->msgs[cfg->msgs_len] = 0;
	if (error)
		cfg->n_errors++;
	else
		cfg->n_warnings++;
}

/* Splits line in place into tokens as HAProxy does: blanks separate,
 * '#' at a token start begins a comment, "..." (with \ escapes) and '...'
 * quote. Returns the count, or -1 with *why on an unterminated quote or
 * too many words. */
static int tokenize(char *line, char **tok, int max, const char **why)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (!*r || *r == '#')
			return n;
		if (n == max) {
			*why = "too many words on one line";
			return -1;
		}
		tok[n++] = w = r;
		while (*r && *r != ' ' && *r != '\t' && *r != '\r' &&
		       *r != '\n') {
			char q = *r;

			if (q != '"' && q != '\'') {
				if (q == '\\' && r[1])
					r++;
				*w++ = *r++;
				continue;
			}
			for (r++; *r && *r != q; r++) {
				if (q == '"' && *r == '\\' && r[1])
					r++;
				*w++ = *r;
			}
			if (!*r) {
				*why = "unterminated quoted string";
				return -1;
			}
			r++;
		}
		if (*r)
			r++;
		*w = 0;
	}
}

int hap_parse_time(const char *s, long *ms)
{
	static const struct {
		const char *unit;
		unsigned long long mul, div; /* ms = ceil(v * mul / div) */
	} units[] = { { "", 1, 1 },	   { "us", 1, 1000 },
		      { "ms", 1, 1 },	   { "s", 1000, 1 },
		      { "m", 60000, 1 },   { "h", 3600000, 1 },
		      { "d", 86400000, 1 } };
	unsigned long long v = 0, r;
	const char *c = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*c); c++) {
		v = v * 10 + (unsigned long long)(*c - '0');
		if (v > 1ULL << 42) /* over any unit's limit: no overflow */
			return -ERANGE;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(c, units[i].unit))
			continue;
		if (v > 2147483647ULL * units[i].div / units[i].mul + 1)
			return -ERANGE;
		r = (v * units[i].mul + units[i].div - 1) / units[i].div;
		if (r > 2147483647ULL)
			return -ERANGE;
		*ms = (long)r;
		return 0;
	}
	return -EINVAL;
}

int hap_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "IP:PORT" with a dotted IPv4 address. */
int hap_parse_addr(const char *s, char *ip, size_t iplen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char buf[64];
	struct in_addr a;
	long p;

	if (!colon || (size_t)(colon - s) >= sizeof(buf) ||
	    (size_t)(colon - s) >= iplen)
		return -EINVAL;
	memcpy(buf, s, (size_t)(colon - s));
	buf[colon - s] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1 ||
	    hap_parse_long(colon + 1, 1, 65535, &p))
		return -EINVAL;
	memcpy(ip, buf, (size_t)(colon - s) + 1);
	*port = (uint16_t)p;
	return 0;
}

/* ":PORT", "*:PORT" or "IP:PORT" of a bind line: the port, or -1. */
int hap_bind_port(const char *s)
{
	const char *colon = strrchr(s, ':');
	long p;

	if (!colon || hap_parse_long(colon + 1, 1, 65535, &p))
		return -1;
	return (int)p;
}

int hap_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}

struct hap_backend *hap_cfg_backend(const struct hap_cfg *cfg, const char *name)
{
	for (unsigned int i = 0; i < cfg->n_backends; i++)
		if (!strcmp(cfg->backends[i].name, name))
			return &cfg->backends[i];
	return NULL;
}

static void cfg_init(struct hap_cfg *cfg, const char *file)
{
	const char *env = getenv("WEIR_CP_SOCKET");

	memset(cfg, 0, sizeof(*cfg));
	cfg->file = file;
	cfg->maxconn = cfg->nbthread = cfg->bufsize = -1;
	cfg->hard_stop_after_ms = cfg->retries = -1;
	for (int i = 0; i < HAP_T_COUNT; i++)
		cfg->timeout_ms[i] = -1;
	cfg->drain_grace_ms = HAP_DRAIN_GRACE_DEFAULT_MS;
	snprintf(cfg->cp_socket, sizeof(cfg->cp_socket), "%s",
		 env && *env ? env : HAP_DEFAULT_CP_SOCKET);
	env = getenv("WEIR_LOCALHOST");
	if (env && *env) {
		uint16_t port;
		char buf[32];

		/* checked again by the directive's rule: a bad one is reported
		 * by hap_resolve, never used */
		snprintf(buf, sizeof(buf), "%.15s:1", env);
		if (hap_parse_addr(buf, cfg->localhost, sizeof(cfg->localhost),
				   &port))
			snprintf(cfg->localhost, sizeof(cfg->localhost), "bad");
	}
}

static int parse_lines(struct hap_parser *p, char *text)
{
	char *line = text, *next, *tok[HAP_MAX_TOKENS];
	int lineno = 0;

	for (; line; line = next) {
		const char *why = NULL;
		int n;

		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		p->line = ++lineno;
		if (strlen(line) > HAP_MAX_LINE) {
			hap_msg(p->cfg, lineno, true, "line too long");
			continue;
		}
		n = tokenize(line, tok, HAP_MAX_TOKENS, &why);
		if (n < 0) {
			hap_msg(p->cfg, lineno, true, "%s", why);
			continue;
		}
		if (n > 0 && hap_parse_words(p, tok, n) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

int hap_cfg_parse(struct hap_cfg *cfg, const char *file, const char *text)
{
	struct hap_parser p = { .cfg = cfg };
	char *copy;
	int rc;

	cfg_init(cfg, file);
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	rc = parse_lines(&p, copy);
	free(copy);
	if (!rc)
		rc = hap_resolve(&p);
	if (!rc && !strcmp(cfg->localhost, "bad"))
		hap_msg(cfg, 0, true, "WEIR_LOCALHOST: want an IPv4 address");
	if (!rc && !cfg->stats_socket[0])
		hap_msg(cfg, 0, true,
			"global: no 'stats socket' (Ray's admin socket)");
	if (rc)
		return rc;
	return cfg->n_errors ? -EINVAL : 0;
}

static char *read_file(const char *path, size_t max, int *err)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		*err = -errno;
		return NULL;
	}
	buf = malloc(max + 1);
	n = buf ? fread(buf, 1, max + 1, f) : 0;
	if (buf && ferror(f)) { /* a directory, an I/O error */
		*err = errno ? -errno : -EIO;
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	if (!buf || n > max || memchr(buf, 0, n)) {
		*err = !buf ? -ENOMEM : n > max ? -EFBIG : -EINVAL;
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

int hap_cfg_load(struct hap_cfg *cfg, const char *file)
{
	int err = 0, rc;
	char *text = read_file(file, 16u << 20, &err);

	if (!text) {
		cfg_init(cfg, file);
		hap_msg(cfg, 0, true, "cannot read the file: %s",
			err == -EINVAL ? "it holds a NUL byte" :
					 strerror(-err));
		return err;
	}
	rc = hap_cfg_parse(cfg, file, text);
	free(text);
	if (rc != -ENOMEM && cfg->lua_path[0]) {
		char *lua = read_file(cfg->lua_path, 4u << 20, &err);

		if (!lua) {
			hap_msg(cfg, 0, true, "lua-load-per-thread %s: %s",
				cfg->lua_path, strerror(-err));
			return -EINVAL;
		}
		rc = hap_lua_apply(cfg, lua);
		free(lua);
		if (!rc && cfg->n_errors)
			rc = -EINVAL;
	}
	return rc;
}

void hap_cfg_free(struct hap_cfg *cfg)
{
	for (unsigned int i = 0; i < cfg->n_backends; i++)
		free(cfg->backends[i].servers);
	free(cfg->backends);
	free(cfg->msgs);
	cfg->backends = NULL;
	cfg->msgs = NULL;
	cfg->n_backends = 0;
}
