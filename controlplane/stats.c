/* See stats.h. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"
#include "alog.h"

/* What one server (or backend, or the frontend) adds up to. */
struct agg {
	uint64_t scur, smax, stot, econ, eresp, wretr, idle, hrsp[6];
	uint64_t chkdown, chkup;
	unsigned int up, down, drain, maint; /* workers saying so */
};

/* Every worker's exported block, copied, and its entries by id. */
struct snap {
	uint32_t n;
	struct weir_ctl_wstats *w[WEIR_CTL_MAX_WORKERS]; /* NULL: unreadable */
	const struct weir_ctl_srv_stat **by_id[WEIR_CTL_MAX_WORKERS];
	uint32_t n_by_id[WEIR_CTL_MAX_WORKERS];
};

/* Copies worker i's block under its seqlock (it is odd while the worker
 * writes; a few tries, a short sleep between). */
static int copy_block(struct weir_ctl *c, uint32_t i,
		      struct weir_ctl_wstats *dst)
{
	struct weir_ctl_wstats *src = weir_ctl_wstats(c, i);

	for (int tries = 0; tries < 50; tries++) {
		uint64_t s1 = atomic_load_explicit(&src->seq,
						   memory_order_acquire),
			 s2;

		if (s1 & 1) {
			usleep(100);
			continue;
		}
		/* the counters, then only the server entries in use (the
		 * block holds room for WEIR_CTL_STAT_SERVERS of them) */
		memcpy((char *)dst + sizeof(dst->seq),
		       (const char *)src + sizeof(src->seq),
		       offsetof(struct weir_ctl_wstats, srv) -
			       sizeof(dst->seq));
		if (dst->n_srv > WEIR_CTL_STAT_SERVERS)
			dst->n_srv = WEIR_CTL_STAT_SERVERS;
		memcpy(dst->srv, src->srv, dst->n_srv * sizeof(dst->srv[0]));
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&src->seq, memory_order_relaxed);
		if (s1 == s2)
			return 0;
	}
	return -EAGAIN;
}

static int by_id_cmp(const void *a, const void *b)
{
	uint64_t x = (*(const struct weir_ctl_srv_stat *const *)a)->id;
	uint64_t y = (*(const struct weir_ctl_srv_stat *const *)b)->id;

	return (x > y) - (x < y);
}

static void snap_free(struct snap *sn)
{
	for (uint32_t i = 0; i < sn->n; i++) {
		free(sn->w[i]);
		free(sn->by_id[i]);
	}
	memset(sn, 0, sizeof(*sn));
}

static int snap_take(struct weir_ctl *c, struct snap *sn)
{
	memset(sn, 0, sizeof(*sn));
	sn->n = c->n_workers;
	for (uint32_t i = 0; i < sn->n; i++) {
		struct weir_ctl_wstats *w = malloc(sizeof(*w));
		uint32_t m = 0;

		if (!w || copy_block(c, i, w)) {
			free(w);
			continue;
		}
		sn->w[i] = w;
		sn->by_id[i] = calloc(w->n_srv + 1, sizeof(*sn->by_id[i]));
		if (!sn->by_id[i])
			return -ENOMEM;
		for (uint32_t k = 0; k < w->n_srv; k++)
			if (w->srv[k].id)
				sn->by_id[i][m++] = &w->srv[k];
		qsort(sn->by_id[i], m, sizeof(*sn->by_id[i]), by_id_cmp);
		sn->n_by_id[i] = m;
	}
	return 0;
}

static const struct weir_ctl_srv_stat *find(const struct snap *sn, uint32_t w,
					    uint64_t id)
{
	size_t lo = 0, hi = sn->n_by_id[w];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint64_t m = sn->by_id[w][mid]->id;

		if (m == id)
			return sn->by_id[w][mid];
		if (m < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void agg_add(struct agg *a, const struct weir_ctl_srv_stat *e)
{
	a->scur += e->scur;
	a->smax += e->smax; /* per worker maxima: an upper bound */
	a->stot += e->stot;
	a->econ += e->econ;
	a->eresp += e->eresp;
	a->wretr += e->wretr;
	a->idle += e->idle;
	for (int k = 0; k < 6; k++)
		a->hrsp[k] += e->hrsp[k];
	a->chkdown += e->chkdown;
	a->chkup += e->chkup;
	a->maint += !strncmp(e->status, "MAINT", 5);
	a->drain += !strncmp(e->status, "DRAIN", 5);
	a->down += !strncmp(e->status, "DOWN", 4);
	a->up += !strncmp(e->status, "UP", 2);
}

/* Adds one aggregate to another (servers into their backend). */
static void agg_sum(struct agg *into, const struct agg *a)
{
	into->scur += a->scur, into->smax += a->smax, into->stot += a->stot;
	into->econ += a->econ, into->eresp += a->eresp;
	into->wretr += a->wretr, into->idle += a->idle;
	for (int k = 0; k < 6; k++)
		into->hrsp[k] += a->hrsp[k];
	into->chkdown += a->chkdown, into->chkup += a->chkup;
	into->up += a->up, into->down += a->down;
	into->drain += a->drain, into->maint += a->maint;
}

/* One status for a server the workers may see apart for a moment (the
 * owner decides, the others mirror it): the operator's state first, then
 * UP while any worker still sends it requests. */
static const char *agg_status(const struct agg *a)
{
	if (a->maint)
		return "MAINT";
	if (a->drain)
		return "DRAIN";
	if (a->up)
		return "UP";
	return a->down ? "DOWN" : "no check";
}

static void server_agg(const struct snap *sn, uint64_t id, struct agg *a)
{
	memset(a, 0, sizeof(*a));
	for (uint32_t w = 0; w < sn->n; w++) {
		const struct weir_ctl_srv_stat *e = sn->w[w] ? find(sn, w, id) :
							       NULL;

		if (e)
			agg_add(a, e);
	}
}

/* The sum over workers of the counter called name; 0 if none. */
static uint64_t counter(const struct weir_ctl *c, const struct snap *sn,
			const char *name)
{
	uint64_t sum = 0;

	for (uint32_t k = 0; k < c->n_counters; k++) {
		if (strncmp(c->counter_names[k], name, WEIR_CTL_COUNTER_NAME))
			continue;
		for (uint32_t w = 0; w < sn->n; w++)
			sum += sn->w[w] ? sn->w[w]->ctr[k] : 0;
		break;
	}
	return sum;
}

static uint64_t sessions_now(const struct snap *sn)
{
	uint64_t n = 0;

	for (uint32_t w = 0; w < sn->n; w++)
		n += sn->w[w] ? sn->w[w]->sessions_now : 0;
	return n;
}

/* ---- JSON ("show stat") ------------------------------------------------ */

static cJSON *row(const char *px, const char *sv, const char *status,
		  const struct agg *a)
{
	cJSON *r = cJSON_CreateObject();
	static const char *const hr[6] = {
		"hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
		"hrsp_4xx", "hrsp_5xx", "hrsp_other"
	};

	cJSON_AddStringToObject(r, "pxname", px);
	cJSON_AddStringToObject(r, "svname", sv);
	cJSON_AddStringToObject(r, "status", status);
	cJSON_AddNumberToObject(r, "scur", (double)a->scur);
	cJSON_AddNumberToObject(r, "smax", (double)a->smax);
	cJSON_AddNumberToObject(r, "stot", (double)a->stot);
	cJSON_AddNumberToObject(r, "qcur", 0);
	cJSON_AddNumberToObject(r, "econ", (double)a->econ);
	cJSON_AddNumberToObject(r, "eresp", (double)a->eresp);
	cJSON_AddNumberToObject(r, "wretr", (double)a->wretr);
	cJSON_AddNumberToObject(r, "idle", (double)a->idle);
	for (int k = 0; k < 6; k++)
		cJSON_AddNumberToObject(r, hr[k], (double)a->hrsp[k]);
	cJSON_AddNumberToObject(r, "chkdown", (double)a->chkdown);
	return r;
}

static cJSON *frontend_row(const struct weir_ctl *c, const struct snap *sn)
{
	static const char *const names[6] = { "http_resp_1xx", "http_resp_2xx",
					      "http_resp_3xx", "http_resp_4xx",
					      "http_resp_5xx", NULL };
	struct agg a = { .scur = sessions_now(sn),
			 .stot = counter(c, sn, "http_sessions") };
	cJSON *r;

	for (int k = 0; k < 5; k++)
		a.hrsp[k] = counter(c, sn, names[k]);
	r = row("http_frontend", "FRONTEND", "OPEN", &a);
	cJSON_AddNumberToObject(r, "ereq",
				(double)counter(c, sn, "http_err_parse"));
	cJSON_AddNumberToObject(r, "req_tot",
				(double)counter(c, sn, "http_requests"));
	cJSON_AddNumberToObject(
		r, "dcon", (double)counter(c, sn, "http_sessions_refused"));
	return r;
}

/* Requests waiting in the workers' queues for backend name (a worker
 * queues for a backend, not a server: every server was full). */
static uint64_t queued(const struct snap *sn, const char *name)
{
	uint64_t key = weir_table_name_key(name), n = 0;

	for (uint32_t w = 0; w < sn->n; w++) {
		const struct weir_ctl_wstats *ws = sn->w[w];

		for (uint32_t i = 0;
		     ws && i < ws->n_queues && i < WEIR_CTL_STAT_QUEUES; i++)
			if (ws->queue[i].key == key)
				n += ws->queue[i].qcur;
	}
	return n;
}

static cJSON *backend_rows(const struct weir_table *t, const struct snap *sn)
{
	const struct weir_table_backend *be = weir_table_backends(t);
	const struct weir_table_server *srv = weir_table_servers(t);
	cJSON *arr = cJSON_CreateArray();

	for (uint32_t b = 0; b < t->n_backends; b++) {
		uint32_t first = be[b].first_server,
			 n = be[b].n_servers + be[b].n_backups;
		struct agg tot = { 0 };
		cJSON *servers = cJSON_CreateArray(), *br;

		for (uint32_t i = first; i < first + n; i++) {
			struct agg a;
			cJSON *r;

			server_agg(sn, srv[i].id, &a);
			agg_sum(&tot, &a);
			r = row(be[b].name, srv[i].name, agg_status(&a), &a);
			cJSON_AddNumberToObject(r, "weight", srv[i].weight);
			cJSON_AddBoolToObject(r, "backup",
					      srv[i].flags &
						      WEIR_SERVER_F_BACKUP);
			cJSON_AddStringToObject(r, "replica_id",
						srv[i].replica_id);
			cJSON_AddItemToArray(servers, r);
		}
		br = row(be[b].name, "BACKEND", tot.up ? "UP" : "DOWN", &tot);
		cJSON_ReplaceItemInObject(
			br, "qcur",
			cJSON_CreateNumber((double)queued(sn, be[b].name)));
		cJSON_AddItemToObject(br, "servers", servers);
		cJSON_AddItemToArray(arr, br);
	}
	return arr;
}

static cJSON *worker_rows(const struct weir_ctl *c, const struct snap *sn)
{
	cJSON *arr = cJSON_CreateArray();
	uint64_t now = ctl_realtime_ns();

	for (uint32_t w = 0; w < sn->n; w++) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddNumberToObject(
			r, "held_generation",
			(double)atomic_load(&c->workers[w].held_gen));
		cJSON_AddNumberToObject(
			r, "adoptions",
			(double)atomic_load(&c->workers[w].adoptions));
		cJSON_AddNumberToObject(
			r, "refused",
			(double)atomic_load(&c->workers[w].refused));
		cJSON_AddNumberToObject(
			r, "stats_age_s",
			sn->w[w] ? (double)(now - sn->w[w]->updated_ns) / 1e9 :
				   -1);
		cJSON_AddItemToArray(arr, r);
	}
	return arr;
}

cJSON *cp_frontend_json(struct cp_state *s)
{
	struct weir_ctl *c = s->pub.seg.ctl;
	struct snap sn;
	cJSON *r = NULL;

	if (c && !snap_take(c, &sn))
		r = frontend_row(c, &sn);
	if (c)
		snap_free(&sn);
	return r;
}

cJSON *cp_drain_json(struct cp_state *s)
{
	struct weir_ctl *c = s->pub.seg.ctl;
	cJSON *j = cJSON_CreateObject();
	uint64_t sessions = 0, first = 0, now = ctl_realtime_ns();
	bool refusing = c != NULL, known = false;
	struct snap sn;

	cJSON_AddBoolToObject(j, "on", s->draining);
	cJSON_AddNumberToObject(j, "grace_ms", s->drain_grace_ms);
	if (c && !snap_take(c, &sn)) {
		known = true;
		for (uint32_t w = 0; w < sn.n; w++) {
			const struct weir_ctl_wstats *ws = sn.w[w];

			if (!ws) { /* unreadable now: not known to be done */
				refusing = false;
				continue;
			}
			sessions += ws->sessions_now;
			refusing &= ws->refusing != 0;
			if (ws->drain_ns && (!first || ws->drain_ns < first))
				first = ws->drain_ns;
		}
	}
	if (c)
		snap_free(&sn);
	cJSON_AddNumberToObject(
		j, "since_s",
		first && now > first ? (double)(now - first) / 1e9 : 0);
	cJSON_AddNumberToObject(j, "sessions", (double)sessions);
	cJSON_AddBoolToObject(j, "refusing", s->draining && refusing);
	cJSON_AddBoolToObject(j, "drained",
			      s->draining && known && refusing && !sessions);
	return j;
}

cJSON *cp_stats_json(struct cp_state *s)
{
	struct weir_ctl *c = s->pub.seg.ctl;
	const struct weir_table *t;
	cJSON *j, *ctr;
	struct snap sn;

	if (!c || snap_take(c, &sn)) {
		if (c)
			snap_free(&sn);
		return NULL;
	}
	t = pub_current_table(&s->pub);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_AddNumberToObject(j, "generation", t ? (double)t->generation : 0);
	cJSON_AddItemToObject(j, "frontend", frontend_row(c, &sn));
	cJSON_AddItemToObject(j, "backends",
			      t ? backend_rows(t, &sn) : cJSON_CreateArray());
	ctr = cJSON_AddObjectToObject(j, "counters");
	for (uint32_t k = 0; k < c->n_counters; k++) {
		char name[WEIR_CTL_COUNTER_NAME];

		snprintf(name, sizeof(name), "%s", c->counter_names[k]);
		cJSON_AddNumberToObject(ctr, name,
					(double)counter(c, &sn, name));
	}
	cJSON_AddItemToObject(j, "workers", worker_rows(c, &sn));
	snap_free(&sn);
	return j;
}

/* ---- Prometheus text ---------------------------------------------------- */

/* A label value, escaped as the text format wants (\\, \", \n). */
static void put_label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{proxy="px"[,server="sv"][,extra]} value */
static void sample(FILE *f, const char *name, const char *px, const char *sv,
		   const char *extra, uint64_t v)
{
	fprintf(f, "%s{proxy=\"", name);
	put_label(f, px);
	if (sv) {
		fputs("\",server=\"", f);
		put_label(f, sv);
	}
	fprintf(f, "\"%s%s} %llu\n", extra ? "," : "", extra ? extra : "",
		(unsigned long long)v);
}

/* The numbers every level has, one family each. */
enum metric {
	M_SCUR,
	M_SMAX,
	M_STOT,
	M_ECON,
	M_ERESP,
	M_WRETR,
	M_N
};

static const struct {
	const char *suffix, *type, *help;
} metrics[M_N] = {
	[M_SCUR] = { "current_sessions", "gauge", "Requests in flight." },
	[M_SMAX] = { "max_sessions", "gauge",
		     "Most requests in flight at once (summed over workers)." },
	[M_STOT] = { "sessions_total", "counter", "Requests sent." },
	[M_ECON] = { "connection_errors_total", "counter",
		     "Connections that could not be made." },
	[M_ERESP] = { "response_errors_total", "counter",
		      "Failures after the connection was made." },
	[M_WRETR] = { "retry_warnings_total", "counter",
		      "Requests redispatched to another server." },
};

static uint64_t metric_of(const struct agg *a, enum metric m)
{
	switch (m) {
	case M_SCUR:
		return a->scur;
	case M_SMAX:
		return a->smax;
	case M_STOT:
		return a->stot;
	case M_ECON:
		return a->econ;
	case M_ERESP:
		return a->eresp;
	default:
		return a->wretr;
	}
}

/* Per backend and server aggregates of the table, computed once. */
struct rows {
	const struct weir_table *t;
	struct agg *srv; /* per table server */
	struct agg *be; /* per backend */
};

static int rows_make(const struct weir_table *t, const struct snap *sn,
		     struct rows *r)
{
	const struct weir_table_server *srv = weir_table_servers(t);

	r->t = t;
	r->srv = calloc(t->n_servers + 1, sizeof(*r->srv));
	r->be = calloc(t->n_backends + 1, sizeof(*r->be));
	if (!r->srv || !r->be)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->n_servers; i++) {
		server_agg(sn, srv[i].id, &r->srv[i]);
		agg_sum(&r->be[srv[i].backend], &r->srv[i]);
	}
	return 0;
}

static void level_metrics(FILE *f, const struct rows *r, bool servers)
{
	const struct weir_table_backend *be = weir_table_backends(r->t);
	const struct weir_table_server *srv = weir_table_servers(r->t);
	const char *lvl = servers ? "haproxy_server_" : "haproxy_backend_";
	static const char *const cls[6] = { "1xx", "2xx", "3xx",
					    "4xx", "5xx", "other" };
	char name[96], code[24];

	for (int m = 0; m < M_N; m++) {
		snprintf(name, sizeof(name), "%s%s", lvl, metrics[m].suffix);
		family(f, name, metrics[m].type, metrics[m].help);
		for (uint32_t i = 0; servers && i < r->t->n_servers; i++)
			sample(f, name, be[srv[i].backend].name, srv[i].name,
			       NULL, metric_of(&r->srv[i], (enum metric)m));
		for (uint32_t b = 0; !servers && b < r->t->n_backends; b++)
			sample(f, name, be[b].name, NULL, NULL,
			       metric_of(&r->be[b], (enum metric)m));
	}
	snprintf(name, sizeof(name), "%shttp_responses_total", lvl);
	family(f, name, "counter", "HTTP responses by class.");
	for (int k = 0; k < 6; k++) {
		snprintf(code, sizeof(code), "code=\"%s\"", cls[k]);
		for (uint32_t i = 0; servers && i < r->t->n_servers; i++)
			sample(f, name, be[srv[i].backend].name, srv[i].name,
			       code, r->srv[i].hrsp[k]);
		for (uint32_t b = 0; !servers && b < r->t->n_backends; b++)
			sample(f, name, be[b].name, NULL, code,
			       r->be[b].hrsp[k]);
	}
}

/* haproxy_*_status as promex writes it: a state set, 1 for the state. */
static void status_metrics(FILE *f, const struct rows *r)
{
	static const char *const srv_states[] = { "UP", "DOWN", "DRAIN",
						  "MAINT" };
	const struct weir_table_backend *be = weir_table_backends(r->t);
	const struct weir_table_server *srv = weir_table_servers(r->t);
	char extra[32];

	family(f, "haproxy_backend_status", "gauge",
	       "Current status of the backend (a state set).");
	for (uint32_t b = 0; b < r->t->n_backends; b++) {
		sample(f, "haproxy_backend_status", be[b].name, NULL,
		       "state=\"UP\"", r->be[b].up > 0);
		sample(f, "haproxy_backend_status", be[b].name, NULL,
		       "state=\"DOWN\"", r->be[b].up == 0);
	}
	family(f, "haproxy_server_status", "gauge",
	       "Current status of the server (a state set).");
	for (uint32_t i = 0; i < r->t->n_servers; i++)
		for (int k = 0; k < 4; k++) {
			snprintf(extra, sizeof(extra), "state=\"%s\"",
				 srv_states[k]);
			sample(f, "haproxy_server_status",
			       be[srv[i].backend].name, srv[i].name, extra,
			       !strcmp(agg_status(&r->srv[i]), srv_states[k]));
		}
	family(f, "haproxy_server_weight", "gauge", "Server weight.");
	for (uint32_t i = 0; i < r->t->n_servers; i++)
		sample(f, "haproxy_server_weight", be[srv[i].backend].name,
		       srv[i].name, NULL, srv[i].weight);
	family(f, "haproxy_server_check_up_down_total", "counter",
	       "Times the server went from UP to DOWN.");
	for (uint32_t i = 0; i < r->t->n_servers; i++)
		sample(f, "haproxy_server_check_up_down_total",
		       be[srv[i].backend].name, srv[i].name, NULL,
		       r->srv[i].chkdown);
	family(f, "haproxy_server_idle_connections_current", "gauge",
	       "Pooled idle connections to the server.");
	for (uint32_t i = 0; i < r->t->n_servers; i++)
		sample(f, "haproxy_server_idle_connections_current",
		       be[srv[i].backend].name, srv[i].name, NULL,
		       r->srv[i].idle);
}

static void frontend_metrics(FILE *f, const struct weir_ctl *c,
			     const struct snap *sn)
{
	static const char *const cls[5] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
	char name[40], extra[24];

	family(f, "haproxy_frontend_current_sessions", "gauge",
	       "Client connections open.");
	sample(f, "haproxy_frontend_current_sessions", "http_frontend", NULL,
	       NULL, sessions_now(sn));
	family(f, "haproxy_frontend_sessions_total", "counter",
	       "Client connections accepted.");
	sample(f, "haproxy_frontend_sessions_total", "http_frontend", NULL,
	       NULL, counter(c, sn, "http_sessions"));
	family(f, "haproxy_frontend_http_requests_total", "counter",
	       "HTTP requests received.");
	sample(f, "haproxy_frontend_http_requests_total", "http_frontend", NULL,
	       NULL, counter(c, sn, "http_requests"));
	family(f, "haproxy_frontend_request_errors_total", "counter",
	       "Requests refused as malformed.");
	sample(f, "haproxy_frontend_request_errors_total", "http_frontend",
	       NULL, NULL, counter(c, sn, "http_err_parse"));
	family(f, "haproxy_frontend_denied_connections_total", "counter",
	       "Client connections refused (no session left).");
	sample(f, "haproxy_frontend_denied_connections_total", "http_frontend",
	       NULL, NULL, counter(c, sn, "http_sessions_refused"));
	family(f, "haproxy_frontend_http_responses_total", "counter",
	       "HTTP responses to clients by class.");
	for (int k = 0; k < 5; k++) {
		snprintf(name, sizeof(name), "http_resp_%s", cls[k]);
		snprintf(extra, sizeof(extra), "code=\"%s\"", cls[k]);
		sample(f, "haproxy_frontend_http_responses_total",
		       "http_frontend", NULL, extra, counter(c, sn, name));
	}
}

/* The access log: on or off, lines written, records lost (a full ring in
 * a worker, or a write that failed). */
static void access_log_metrics(FILE *f, struct cp_state *s, struct weir_ctl *c)
{
	family(f, "weir_access_log_enabled", "gauge",
	       "1 when weir-cp writes the access log.");
	fprintf(f, "weir_access_log_enabled %d\n",
		s->alog != NULL && c->log_recs != 0);
	family(f, "weir_access_log_lines_total", "counter",
	       "Access-log lines written.");
	fprintf(f, "weir_access_log_lines_total %llu\n",
		(unsigned long long)(s->alog ? s->alog->lines : 0));
	family(f, "weir_access_log_dropped_total", "counter",
	       "Access-log records lost: a worker's ring was full "
	       "(dataplane) or a write failed (writer).");
	fprintf(f, "weir_access_log_dropped_total{stage=\"dataplane\"} %llu\n",
		(unsigned long long)alog_ring_drops(c));
	fprintf(f, "weir_access_log_dropped_total{stage=\"writer\"} %llu\n",
		(unsigned long long)(s->alog ? s->alog->write_drops : 0));
}

/* weir's own: the table, its update latency, and every worker counter. */
static void weir_metrics(FILE *f, struct cp_state *s, const struct snap *sn)
{
	struct weir_ctl *c = s->pub.seg.ctl;
	uint64_t cur = pub_current(&s->pub), gen = WEIR_CTL_CUR_GEN(cur);
	uint64_t pub_ns = atomic_load(&c->published_ns), last = 0;
	bool live = gen && pub_adopted(&s->pub, gen);

	for (uint32_t w = 0; w < c->n_workers; w++) {
		uint64_t a = atomic_load(&c->workers[w].adopted_ns);

		last = a > last ? a : last;
	}
	family(f, "weir_table_version", "gauge",
	       "Generation of the table weir-cp published last.");
	fprintf(f, "weir_table_version %llu\n", (unsigned long long)gen);
	family(f, "weir_table_live", "gauge",
	       "1 when every worker holds the published table.");
	fprintf(f, "weir_table_live %d\n", live);
	family(f, "weir_table_update_seconds", "gauge",
	       "From the last publish to the last worker adopting it.");
	fprintf(f, "weir_table_update_seconds %.6f\n",
		live && last > pub_ns ? (double)(last - pub_ns) / 1e9 : 0.0);
	family(f, "weir_table_pushes_total", "counter",
	       "Table pushes accepted by the API.");
	fprintf(f, "weir_table_pushes_total %llu\n",
		(unsigned long long)s->pushes);
	family(f, "weir_table_refused_total", "counter",
	       "Table pushes refused (invalid).");
	fprintf(f, "weir_table_refused_total %llu\n",
		(unsigned long long)s->refused);
	access_log_metrics(f, s, c);
	for (uint32_t k = 0; k < c->n_counters; k++) {
		char name[WEIR_CTL_COUNTER_NAME + 16];

		snprintf(name, sizeof(name), "weir_%.*s_total",
			 WEIR_CTL_COUNTER_NAME, c->counter_names[k]);
		family(f, name, "counter", "weir-dp worker counter.");
		for (uint32_t w = 0; w < sn->n; w++)
			if (sn->w[w])
				fprintf(f, "%s{worker=\"%u\"} %llu\n", name, w,
					(unsigned long long)sn->w[w]->ctr[k]);
	}
}

char *cp_metrics_text(struct cp_state *s)
{
	struct weir_ctl *c = s->pub.seg.ctl;
	const struct weir_table *t;
	struct rows r = { 0 };
	struct snap sn = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	family(f, "weir_dataplane_up", "gauge",
	       "1 when weir-cp is attached to a running weir-dp.");
	fprintf(f, "weir_dataplane_up %d\n", c != NULL);
	if (c && !snap_take(c, &sn)) {
		frontend_metrics(f, c, &sn);
		t = pub_current_table(&s->pub);
		if (t && !rows_make(t, &sn, &r)) {
			level_metrics(f, &r, false);
			level_metrics(f, &r, true);
			status_metrics(f, &r);
		}
		weir_metrics(f, s, &sn);
	}
	free(r.srv);
	free(r.be);
	if (c)
		snap_free(&sn);
	fclose(f);
	return buf;
}
