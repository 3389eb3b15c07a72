/* hap_cfg_sections: one handler per keyword of each section Ray's
 * template writes (global, defaults, frontend, backend, listen). A keyword
 * or argument outside that subset is an error with its line, never
 * skipped: see hap_cfg_int.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hap_cfg_int.h"

#define ERR(p, ...) (hap_msg((p)->cfg, (p)->line, true, __VA_ARGS__), -EINVAL)

typedef int (*kw_fn)(struct hap_parser *p, char **t, int n);

struct kw {
	const char *word;
	kw_fn fn;
};

static int kw_ignore(struct hap_parser *p, char **t, int n)
{
	(void)p, (void)t, (void)n;
	return 0;
}

static int want_args(struct hap_parser *p, char **t, int n, int want)
{
	if (n != want + 1)
		return ERR(p, "'%s' expects %d argument%s, got %d", t[0], want,
			   want == 1 ? "" : "s", n - 1);
	return 0;
}

static int set_long(struct hap_parser *p, char **t, int n, long lo, long hi,
		    long *out)
{
	if (want_args(p, t, n, 1))
		return -EINVAL;
	if (hap_parse_long(t[1], lo, hi, out))
		return ERR(p, "'%s %s': want an integer in %ld..%ld", t[0],
			   t[1], lo, hi);
	return 0;
}

static int set_path(struct hap_parser *p, char **t, int n, char *dst,
		    size_t cap)
{
	if (want_args(p, t, n, 1))
		return -EINVAL;
	if (!t[1][0] || hap_copy(dst, cap, t[1]))
		return ERR(p, "'%s': path empty or longer than %zu bytes", t[0],
			   cap - 1);
	return 0;
}

/* ---- global ----------------------------------------------------------- */

static int g_stats(struct hap_parser *p, char **t, int n)
{
	if (n == 3 && !strcmp(t[1], "timeout")) {
		long ms;

		if (hap_parse_time(t[2], &ms))
			return ERR(
				p,
				"'stats timeout %s': bad time: " HAP_TIME_HELP,
				t[2]);
		return 0;
	}
	if (n < 3 || strcmp(t[1], "socket"))
		return ERR(
			p,
			"'stats': only 'stats socket PATH ...' and 'stats timeout' are supported");
	if (strchr(t[2], ':') ||
	    hap_copy(p->cfg->stats_socket, sizeof(p->cfg->stats_socket), t[2]))
		return ERR(
			p,
			"'stats socket %s': want a Unix socket path under 108 bytes",
			t[2]);
	for (int i = 3; i < n; i++) {
		if ((!strcmp(t[i], "mode") || !strcmp(t[i], "level")) &&
		    i + 1 < n) {
			i++;
			continue;
		}
		if (!strcmp(t[i], "expose-fd") && i + 1 < n &&
		    !strcmp(t[i + 1], "listeners")) {
			i++;
			continue;
		}
		return ERR(p, "'stats socket': unsupported option '%s'", t[i]);
	}
	return 0;
}

static int g_maxconn(struct hap_parser *p, char **t, int n)
{
	return set_long(p, t, n, 1, 100000000, &p->cfg->maxconn);
}

static int g_nbthread(struct hap_parser *p, char **t, int n)
{
	return set_long(p, t, n, 1, 4096, &p->cfg->nbthread);
}

static int g_bufsize(struct hap_parser *p, char **t, int n)
{
	return set_long(p, t, n, 1024, 1L << 30, &p->cfg->bufsize);
}

static int g_tune_h2(struct hap_parser *p, char **t, int n)
{
	long v;

	return set_long(p, t, n, 0, 1L << 31, &v);
}

static int g_hard_stop(struct hap_parser *p, char **t, int n)
{
	if (want_args(p, t, n, 1))
		return -EINVAL;
	if (hap_parse_time(t[1], &p->cfg->hard_stop_after_ms))
		return ERR(p, "'hard-stop-after %s': bad time: " HAP_TIME_HELP,
			   t[1]);
	p->cfg->hard_stop_line = p->line;
	p->cfg->drain_grace_ms = p->cfg->hard_stop_after_ms;
	if (p->cfg->drain_grace_ms > HAP_DRAIN_GRACE_MAX_MS) {
		p->cfg->drain_grace_ms = HAP_DRAIN_GRACE_MAX_MS;
		hap_msg(p->cfg, p->line, false,
			"'hard-stop-after %s': a drain's grace is at most 1h in weir-cp: new connections are refused 1h into a drain",
			t[1]);
	}
	return 0;
}

static int g_lua(struct hap_parser *p, char **t, int n)
{
	return set_path(p, t, n, p->cfg->lua_path, sizeof(p->cfg->lua_path));
}

static int g_state_file(struct hap_parser *p, char **t, int n)
{
	return set_path(p, t, n, p->cfg->server_state_file,
			sizeof(p->cfg->server_state_file));
}

static int g_state_base(struct hap_parser *p, char **t, int n)
{
	char dir[HAP_PATH_MAX];

	return set_path(p, t, n, dir, sizeof(dir));
}

static int g_cp_socket(struct hap_parser *p, char **t, int n)
{
	return set_path(p, t, n, p->cfg->cp_socket, sizeof(p->cfg->cp_socket));
}

static int g_localhost(struct hap_parser *p, char **t, int n)
{
	uint16_t port;
	char buf[64];

	if (want_args(p, t, n, 1))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s:1", t[1]);
	if (hap_parse_addr(buf, p->cfg->localhost, sizeof(p->cfg->localhost),
			   &port))
		return ERR(p, "'weir-localhost %s': want an IPv4 address",
			   t[1]);
	return 0;
}

static const struct kw global_kw[] = {
	{ "log", kw_ignore },
	{ "stats", g_stats },
	{ "maxconn", g_maxconn },
	{ "nbthread", g_nbthread },
	{ "tune.bufsize", g_bufsize },
	{ "tune.h2.max-frame-size", g_tune_h2 },
	{ "tune.h2.be.initial-window-size", g_tune_h2 },
	{ "tune.h2.be.max-concurrent-streams", g_tune_h2 },
	{ "tune.h2.fe.initial-window-size", g_tune_h2 },
	{ "tune.h2.fe.max-concurrent-streams", g_tune_h2 },
	{ "hard-stop-after", g_hard_stop },
	{ "lua-load-per-thread", g_lua },
	{ "server-state-file", g_state_file },
	{ "server-state-base", g_state_base },
	{ "weir-cp-socket", g_cp_socket },
	{ "weir-localhost", g_localhost },
	{ NULL, NULL }
};

/* ---- defaults (and what backends may override) ------------------------ */

static int d_mode(struct hap_parser *p, char **t, int n)
{
	if (want_args(p, t, n, 1))
		return -EINVAL;
	if (strcmp(t[1], "http"))
		return ERR(
			p,
			"'mode %s': Weir serves Ray's frontends in mode http only",
			t[1]);
	return 0;
}

static int d_option(struct hap_parser *p, char **t, int n)
{
	static const char *const known[] = {
		"log-health-checks",	  "httplog",
		"abortonclose",		  "splice-request",
		"splice-response",	  "http-no-delay",
		"idle-close-on-response", NULL
	};

	if (n == 2 && !strcmp(t[1], "redispatch")) {
		p->cfg->redispatch = true;
		return 0;
	}
	if (n >= 2 && !strcmp(t[1], "httpchk") && p->be >= 0)
		return hap_httpchk(p, t, n);
	if (n == 2 && !strcmp(t[1], "tcp-check") && p->be >= 0) {
		p->cfg->backends[p->be].tcp_check = true;
		return 0;
	}
	for (int i = 0; n == 2 && known[i]; i++)
		if (!strcmp(t[1], known[i]))
			return 0;
	return ERR(p, "'option%s%s': not one Weir knows", n > 1 ? " " : "",
		   n > 1 ? t[1] : "");
}

static int d_timeout(struct hap_parser *p, char **t, int n)
{
	long *dst = p->be >= 0 ? p->cfg->backends[p->be].timeout_ms :
				 p->cfg->timeout_ms;

	if (want_args(p, t, n, 2))
		return -EINVAL;
	for (int i = 0; i < HAP_T_COUNT; i++) {
		if (strcmp(t[1], hap_timeout_names[i]))
			continue;
		if (hap_parse_time(t[2], &dst[i]))
			return ERR(p,
				   "'timeout %s %s': bad time: " HAP_TIME_HELP,
				   t[1], t[2]);
		(p->be >= 0 ? p->cfg->backends[p->be].timeout_line :
			      p->cfg->timeout_line)[i] = p->line;
		return 0;
	}
	return ERR(p, "'timeout %s': unknown timeout", t[1]);
}

static int d_log(struct hap_parser *p, char **t, int n)
{
	if (n == 2 && !strcmp(t[1], "global"))
		return 0;
	if (p->sec == SEC_FRONTEND && n >= 3)
		return 0; /* the router's rfc5424 metrics target */
	return ERR(p, "'log': only 'log global' is supported here");
}

static int d_errorfile(struct hap_parser *p, char **t, int n)
{
	int k;
	FILE *f;

	if (want_args(p, t, n, 2))
		return -EINVAL;
	k = !strcmp(t[1], "502") ? 0 : !strcmp(t[1], "504") ? 1 : -1;
	if (k < 0)
		return ERR(
			p,
			"'errorfile %s': Weir maps only 502 and 504 (to Ray's 500)",
			t[1]);
	if (hap_copy(p->cfg->errorfile[k], HAP_PATH_MAX, t[2]))
		return ERR(p, "'errorfile': path too long");
	f = fopen(t[2], "r");
	if (!f)
		return ERR(p, "'errorfile %s %s': cannot open it", t[1], t[2]);
	fclose(f);
	return 0;
}

static int d_state_from_file(struct hap_parser *p, char **t, int n)
{
	if (n != 2 || (strcmp(t[1], "global") && strcmp(t[1], "local") &&
		       strcmp(t[1], "none")))
		return ERR(
			p,
			"'load-server-state-from-file': want global, local or none");
	return 0;
}

static int d_balance(struct hap_parser *p, char **t, int n)
{
	if (want_args(p, t, n, 1))
		return -EINVAL;
	if (p->sec != SEC_DEFAULTS)
		return ERR(
			p,
			"'balance' outside defaults: Weir balances every backend alike (weir-cp run --balance)");
	if (strcmp(t[1], "leastconn") && strcmp(t[1], "roundrobin") &&
	    strcmp(t[1], "random"))
		return ERR(
			p,
			"'balance %s': Weir balances by leastconn, roundrobin or random",
			t[1]);
	return hap_copy(p->cfg->balance, sizeof(p->cfg->balance), t[1]);
}

static int d_retries(struct hap_parser *p, char **t, int n)
{
	long v;

	/* a backend's own (the router backend's RAY_SERVE_HAPROXY_INGRESS_
	 * RETRIES) is checked but is not the node's */
	return set_long(p, t, n, 0, 100, p->be >= 0 ? &v : &p->cfg->retries);
}

static int d_retry_on(struct hap_parser *p, char **t, int n)
{
	if (n < 2)
		return ERR(p, "'%s' needs at least one event", t[0]);
	return 0;
}

static const struct kw defaults_kw[] = { { "mode", d_mode },
					 { "option", d_option },
					 { "timeout", d_timeout },
					 { "log", d_log },
					 { "errorfile", d_errorfile },
					 { "load-server-state-from-file",
					   d_state_from_file },
					 { "balance", d_balance },
					 { "retries", d_retries },
					 { "retry-on", d_retry_on },
					 { NULL, NULL } };

/* ---- sections ---------------------------------------------------------- */

static int new_backend(struct hap_parser *p, const char *name)
{
	struct hap_cfg *c = p->cfg;
	struct hap_backend *b;
	static const char via[] = "-via-ingress-request-router";
	size_t len = strlen(name);

	if (hap_cfg_backend(c, name))
		return ERR(p, "backend '%s' is defined twice", name);
	b = realloc(c->backends, (c->n_backends + 1) * sizeof(*b));
	if (!b)
		return -ENOMEM;
	c->backends = b;
	b = &c->backends[c->n_backends];
	memset(b, 0, sizeof(*b));
	if (hap_copy(b->name, sizeof(b->name), name)) {
		p->be = -1;
		return ERR(p, "backend name longer than %d bytes",
			   HAP_NAME_MAX - 1);
	}
	b->check = (struct hap_check){ -1, -1, -1, -1, -1 };
	b->expect_status = -1;
	for (int i = 0; i < HAP_T_COUNT; i++)
		b->timeout_ms[i] = -1;
	b->line = p->line;
	b->via_router = len > sizeof(via) - 1 &&
			!strcmp(name + len - (sizeof(via) - 1), via);
	p->be = (int)c->n_backends++;
	return 0;
}

static int open_frontend(struct hap_parser *p, const char *kind,
			 const char *name)
{
	static const char *const names[4] = { "http_frontend", "grpc_frontend",
					      "prometheus", "stats" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(name, names[i]) ||
		    (i == FE_STATS) != !strcmp(kind, "listen"))
			continue;
		if (p->seen_fe[i])
			return ERR(p, "%s '%s' is defined twice", kind, name);
		p->seen_fe[i] = true;
		p->fe = (enum hap_frontend)i;
		return 0;
	}
	return ERR(
		p,
		"%s '%s': Weir serves only Ray's frontends (http_frontend, grpc_frontend, prometheus, listen stats)",
		kind, name);
}

static int open_section(struct hap_parser *p, char **t, int n)
{
	const char *s = t[0];

	p->be = -1;
	p->sec = SEC_NONE;
	if (!strcmp(s, "global") || !strcmp(s, "defaults")) {
		bool *seen = s[0] == 'g' ? &p->seen_global : &p->seen_defaults;

		if (n != 1)
			return ERR(p, "'%s' takes no name here", s);
		if (*seen)
			return ERR(p, "a second '%s' section", s);
		*seen = true;
		p->sec = s[0] == 'g' ? SEC_GLOBAL : SEC_DEFAULTS;
		return 0;
	}
	if (n != 2)
		return ERR(p, "'%s' wants exactly one name", s);
	if (!strcmp(s, "backend")) {
		p->sec = SEC_BACKEND;
		return new_backend(p, t[1]);
	}
	p->sec = !strcmp(s, "frontend") ? SEC_FRONTEND : SEC_LISTEN;
	if (open_frontend(p, s, t[1])) {
		p->sec = SEC_NONE;
		return -EINVAL;
	}
	return 0;
}

static bool is_section(const char *w)
{
	return !strcmp(w, "global") || !strcmp(w, "defaults") ||
	       !strcmp(w, "frontend") || !strcmp(w, "backend") ||
	       !strcmp(w, "listen");
}

static int dispatch(struct hap_parser *p, const struct kw *kw, char **t, int n,
		    const char *where)
{
	for (int i = 0; kw[i].word; i++)
		if (!strcmp(t[0], kw[i].word))
			return kw[i].fn(p, t, n);
	return ERR(p, "unknown keyword '%s' in %s section", t[0], where);
}

int hap_parse_words(struct hap_parser *p, char **t, int n)
{
	if (is_section(t[0])) {
		int rc = open_section(p, t, n);

		return rc == -ENOMEM ? rc : 0;
	}
	switch (p->sec) {
	case SEC_GLOBAL:
		return dispatch(p, global_kw, t, n, "'global'");
	case SEC_DEFAULTS:
		return dispatch(p, defaults_kw, t, n, "'defaults'");
	case SEC_FRONTEND:
	case SEC_LISTEN:
		return hap_frontend_words(p, t, n);
	case SEC_BACKEND:
		return p->be < 0 ? 0 : hap_backend_words(p, t, n);
	default:
		return ERR(p, "'%s' outside any section", t[0]);
	}
}

/* Shared by frontends and backends. */
int hap_defaults_words(struct hap_parser *p, char **t, int n, bool *found)
{
	for (int i = 0; defaults_kw[i].word; i++) {
		if (strcmp(t[0], defaults_kw[i].word))
			continue;
		*found = true;
		return defaults_kw[i].fn(p, t, n);
	}
	*found = false;
	return 0;
}
