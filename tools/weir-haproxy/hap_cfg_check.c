/* hap_cfg_check: a backend's health-check lines (option httpchk,
 * http-check send / expect, default-server and server check timings,
 * timeout check) become the group's health_check object for weir-cp
 * (controlplane/targetgroup.c parse_health). What HAProxy would do is
 * what is pushed, HAProxy's defaults included; what weir-cp cannot do is
 * an error with its line, never something else served instead. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hap_cfg_int.h"

#define ERR(p, ...) (hap_msg((p)->cfg, (p)->line, true, __VA_ARGS__), -EINVAL)
#define ERRL(c, line, ...) (hap_msg((c), (line), true, __VA_ARGS__), -EINVAL)

static int set_path(struct hap_parser *p, struct hap_backend *be,
		    const char *path)
{
	if (path[0] != '/')
		return ERR(p, "check path '%s': must start with '/'", path);
	for (const char *c = path; *c; c++)
		if (*c <= ' ' || *c >= 0x7f)
			return ERR(
				p,
				"check path: a space, control or non-ASCII byte at %zu",
				(size_t)(c - path));
	if (strlen(path) >= HAP_CHK_PATH_MAX ||
	    hap_copy(be->health_path, sizeof(be->health_path), path))
		return ERR(p,
			   "check path: longer than %d bytes (weir-cp's limit)",
			   HAP_CHK_PATH_MAX - 1);
	return 0;
}

/* option httpchk [GET URI [HTTP/1.x]] (bare: the method and URI of an
 * http-check send line, else HAProxy's OPTIONS /, which Weir cannot do). */
int hap_httpchk(struct hap_parser *p, char **t, int n)
{
	struct hap_backend *be = &p->cfg->backends[p->be];

	be->httpchk = true;
	be->httpchk_line = p->line;
	if (n == 2)
		return 0;
	if ((n != 4 && n != 5) || strcmp(t[2], "GET") ||
	    (n == 5 && strcmp(t[4], "HTTP/1.0") && strcmp(t[4], "HTTP/1.1")))
		return ERR(
			p,
			"'option httpchk': want 'GET /PATH [HTTP/1.x]' (weir-dp checks with GET)");
	be->chk_get = true;
	return set_path(p, be, t[3]);
}

static int check_send(struct hap_parser *p, struct hap_backend *be, char **t,
		      int n)
{
	for (int i = 2; i < n; i += 2) {
		if (i + 1 >= n)
			return ERR(p, "'http-check send': '%s' without a value",
				   t[i]);
		if (!strcmp(t[i], "meth")) {
			if (strcmp(t[i + 1], "GET"))
				return ERR(
					p,
					"'http-check send meth %s': weir-dp checks with GET",
					t[i + 1]);
			be->chk_get = true;
		} else if (!strcmp(t[i], "uri")) {
			if (set_path(p, be, t[i + 1]))
				return -EINVAL;
		} else if (strcmp(t[i], "ver") ||
			   (strcmp(t[i + 1], "HTTP/1.0") &&
			    strcmp(t[i + 1], "HTTP/1.1"))) {
			return ERR(
				p,
				"'http-check send %s': Weir sends GET PATH only (meth, uri, ver HTTP/1.x)",
				t[i]);
		}
	}
	return 0;
}

/* http-check send ... | http-check expect status N */
int hap_http_check(struct hap_parser *p, char **t, int n)
{
	struct hap_backend *be = &p->cfg->backends[p->be];

	if (n >= 2 && !strcmp(t[1], "send"))
		return check_send(p, be, t, n);
	if (n != 4 || strcmp(t[1], "expect") || strcmp(t[2], "status"))
		return ERR(
			p,
			"'http-check': only 'send meth GET uri PATH' and 'expect status N'");
	if (be->expect_status >= 0)
		return ERR(p, "a second 'http-check expect'");
	if (hap_parse_long(t[3], 100, 599, &be->expect_status)) {
		be->expect_status = -1;
		return ERR(
			p,
			"'http-check expect status %s': want one status 100..599",
			t[3]);
	}
	return 0;
}

static void fmt_check(const struct hap_check *k, char *out, size_t cap)
{
	snprintf(out, cap,
		 "inter %ld fastinter %ld downinter %ld fall %d rise %d",
		 k->inter_ms, k->fastinter_ms, k->downinter_ms, k->fall,
		 k->rise);
}

/* The timings every (non-backup) server of be uses: they must agree, as
 * weir-cp checks a group's servers alike. *line: where they come from. */
static int agreed_timings(struct hap_cfg *c, const struct hap_backend *be,
			  struct hap_check *k, int *line)
{
	const struct hap_server *first = NULL;
	char a[160], b[160];

	*k = be->check;
	*line = be->line;
	for (unsigned int i = 0; i < be->n_servers; i++) {
		const struct hap_server *s = &be->servers[i];

		if (s->backup)
			continue;
		if (!first) {
			first = s;
			*k = s->chk;
			*line = s->line;
			continue;
		}
		if (!memcmp(&s->chk, &first->chk, sizeof(s->chk)))
			continue;
		fmt_check(&s->chk, a, sizeof(a));
		fmt_check(&first->chk, b, sizeof(b));
		return ERRL(
			c, s->line,
			"server %s: check timings (%s) differ from server %s's (line %d: %s): weir-cp checks a backend's servers alike",
			s->name, a, first->name, first->line, b);
	}
	return 0;
}

/* HAProxy: with "timeout check", a check may take min(timeout connect,
 * inter) to connect plus "timeout check" to answer; without it, inter
 * for both. weir-cp has one timeout for the whole check: their sum. */
static int check_timeout(struct hap_cfg *c, const struct hap_backend *be,
			 struct hap_health *h, int line)
{
	bool own = be->timeout_ms[HAP_T_CHECK] >= 0;
	long tc = own ? be->timeout_ms[HAP_T_CHECK] :
			c->timeout_ms[HAP_T_CHECK];
	long conn = be->timeout_ms[HAP_T_CONNECT] >= 0 ?
			    be->timeout_ms[HAP_T_CONNECT] :
			    c->timeout_ms[HAP_T_CONNECT];

	h->timeout_ms = h->inter_ms;
	if (tc > 0) { /* 0: no timeout check, as in HAProxy */
		line = own ? be->timeout_line[HAP_T_CHECK] :
			     c->timeout_line[HAP_T_CHECK];
		h->timeout_ms =
			tc +
			(conn > 0 && conn < h->inter_ms ? conn : h->inter_ms);
	}
	if (h->timeout_ms > HAP_CHK_TIMEOUT_MAX_MS)
		return ERRL(
			c, line,
			"backend %s: a check may take %ldms (%s): weir-cp times a check out after at most %dms",
			be->name, h->timeout_ms,
			tc > 0 ? "min(timeout connect, inter) + timeout check" :
				 "inter, without timeout check",
			HAP_CHK_TIMEOUT_MAX_MS);
	return 0;
}

int hap_resolve_health(struct hap_cfg *c, struct hap_backend *be)
{
	struct hap_health *h = &be->health;
	struct hap_check k;
	int line;

	memset(h, 0, sizeof(*h));
	if (agreed_timings(c, be, &k, &line))
		return -EINVAL;
	h->inter_ms = k.inter_ms >= 0 ? k.inter_ms : HAP_CHK_INTER_DEFAULT_MS;
	h->fastinter_ms = k.fastinter_ms >= 0 ? k.fastinter_ms : h->inter_ms;
	h->downinter_ms = k.downinter_ms >= 0 ? k.downinter_ms : h->inter_ms;
	h->rise = k.rise >= 0 ? k.rise : HAP_CHK_RISE_DEFAULT;
	h->fall = k.fall >= 0 ? k.fall : HAP_CHK_FALL_DEFAULT;
	h->expect_status = be->expect_status >= 0 ? (int)be->expect_status : 0;
	if (be->httpchk && !be->chk_get)
		return ERRL(
			c, be->httpchk_line,
			"backend %s: 'option httpchk' without GET (HAProxy checks with OPTIONS): weir-dp checks with GET",
			be->name);
	if (be->httpchk) /* set_path kept it under HAP_CHK_PATH_MAX */
		hap_copy(h->path, sizeof(h->path),
			 be->health_path[0] ? be->health_path : "/");
	return check_timeout(c, be, h, line);
}
