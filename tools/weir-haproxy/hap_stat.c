/* hap_stat: see hap_stat.h. Column names and order are HAProxy's
 * (management.txt, "9.1. CSV format"), so csv.DictReader in Ray reads
 * pxname, svname, status, scur and qcur where it expects them. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hap_stat.h"

static const char *const columns[] = {
	"pxname",	"svname",     "qcur",
	"qmax",		"scur",	      "smax",
	"slim",		"stot",	      "bin",
	"bout",		"dreq",	      "dresp",
	"ereq",		"econ",	      "eresp",
	"wretr",	"wredis",     "status",
	"weight",	"act",	      "bck",
	"chkfail",	"chkdown",    "lastchg",
	"downtime",	"qlimit",     "pid",
	"iid",		"sid",	      "throttle",
	"lbtot",	"tracked",    "type",
	"rate",		"rate_lim",   "rate_max",
	"check_status", "check_code", "check_duration",
	"hrsp_1xx",	"hrsp_2xx",   "hrsp_3xx",
	"hrsp_4xx",	"hrsp_5xx",   "hrsp_other",
	"hanafail",	"req_rate",   "req_rate_max",
	"req_tot",	"cli_abrt",   "srv_abrt",
};
#define N_COLS (sizeof(columns) / sizeof(columns[0]))

void hap_out_add(struct hap_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->oom)
		return;
	for (;;) {
		size_t room = o->cap - o->len;

		va_start(ap, fmt);
		n = vsnprintf(o->p ? o->p + o->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->oom = true;
			return;
		}
		if ((size_t)n < room) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = o->cap ? o->cap * 2 : 4096;
		char *q;

		while (cap < o->len + (size_t)n + 1)
			cap *= 2;
		q = realloc(o->p, cap);
		if (!q) {
			o->oom = true;
			return;
		}
		o->p = q, o->cap = cap;
	}
}

void hap_out_free(struct hap_out *o)
{
	free(o->p);
	memset(o, 0, sizeof(*o));
}

struct row {
	char v[N_COLS][96];
};

static void set(struct row *r, const char *col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set(struct row *r, const char *col, const char *fmt, ...)
{
	va_list ap;

	for (size_t i = 0; i < N_COLS; i++) {
		if (strcmp(columns[i], col))
			continue;
		va_start(ap, fmt);
		vsnprintf(r->v[i], sizeof(r->v[i]), fmt, ap);
		va_end(ap);
		/* a CSV cell never carries a separator */
		for (char *c = r->v[i]; *c; c++)
			if (*c == ',' || *c == '"' || *c == '\n' || *c == '\r')
				*c = '_';
		return;
	}
}

static double num(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsNumber(v) && v->valuedouble >= 0 ? v->valuedouble : 0;
}

static const char *str(const cJSON *j, const char *k, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

/* Counters every row type carries. */
static void counters(struct row *r, const cJSON *j)
{
	static const char *const keys[] = {
		"qcur",	    "scur",	"smax",	    "stot",	  "econ",
		"eresp",    "wretr",	"chkdown",  "hrsp_1xx",	  "hrsp_2xx",
		"hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", NULL
	};

	for (int i = 0; keys[i]; i++)
		set(r, keys[i], "%.0f", num(j, keys[i]));
	set(r, "qmax", "0");
	set(r, "pid", "1");
}

static void emit(struct hap_out *o, const struct row *r)
{
	for (size_t i = 0; i < N_COLS; i++)
		hap_out_add(o, "%s,", r->v[i]);
	hap_out_add(o, "\n");
}

static void frontend_row(struct hap_out *o, const cJSON *fe,
			 const struct hap_cfg *cfg)
{
	struct row r = { 0 };

	counters(&r, fe);
	set(&r, "pxname", "http_frontend");
	set(&r, "svname", "FRONTEND");
	set(&r, "status", "OPEN");
	if (cfg && cfg->maxconn > 0)
		set(&r, "slim", "%ld", cfg->maxconn);
	set(&r, "ereq", "%.0f", num(fe, "ereq"));
	set(&r, "dreq", "%.0f", num(fe, "dcon"));
	set(&r, "req_tot", "%.0f", num(fe, "req_tot"));
	set(&r, "iid", "2");
	set(&r, "sid", "0");
	set(&r, "type", "0");
	emit(o, &r);
}

static void server_row(struct hap_out *o, const cJSON *s, const char *px,
		       int iid, int sid)
{
	struct row r = { 0 };
	bool backup =
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(s, "backup"));

	counters(&r, s);
	set(&r, "pxname", "%s", px);
	set(&r, "svname", "%s", str(s, "svname", "-"));
	set(&r, "status", "%s", str(s, "status", "no check"));
	set(&r, "weight", "%.0f", num(s, "weight"));
	set(&r, "act", "%d", !backup);
	set(&r, "bck", "%d", backup);
	set(&r, "lbtot", "%.0f", num(s, "stot"));
	set(&r, "iid", "%d", iid);
	set(&r, "sid", "%d", sid);
	set(&r, "type", "2");
	emit(o, &r);
}

static void backend_rows(struct hap_out *o, const cJSON *be, int iid)
{
	const cJSON *servers = cJSON_GetObjectItemCaseSensitive(be, "servers");
	const char *px = str(be, "pxname", "-");
	const cJSON *s;
	double weight = 0;
	int sid = 0, act = 0, bck = 0;
	struct row r = { 0 };

	cJSON_ArrayForEach(s, servers)
	{
		bool up = !strcmp(str(s, "status", ""), "UP");
		bool backup = cJSON_IsTrue(
			cJSON_GetObjectItemCaseSensitive(s, "backup"));

		server_row(o, s, px, iid, ++sid);
		weight += up ? num(s, "weight") : 0;
		act += up && !backup, bck += up && backup;
	}
	counters(&r, be);
	set(&r, "pxname", "%s", px);
	set(&r, "svname", "BACKEND");
	set(&r, "status", "%s", str(be, "status", "DOWN"));
	set(&r, "weight", "%.0f", weight);
	set(&r, "act", "%d", act);
	set(&r, "bck", "%d", bck);
	set(&r, "lbtot", "%.0f", num(be, "stot"));
	set(&r, "iid", "%d", iid);
	set(&r, "sid", "0");
	set(&r, "type", "1");
	emit(o, &r);
}

void hap_show_stat(struct hap_out *o, const cJSON *stats,
		   const struct hap_cfg *cfg)
{
	const cJSON *fe = cJSON_GetObjectItemCaseSensitive(stats, "frontend");
	const cJSON *bes = cJSON_GetObjectItemCaseSensitive(stats, "backends");
	const cJSON *be;
	int iid = 3;

	hap_out_add(o, "# ");
	for (size_t i = 0; i < N_COLS; i++)
		hap_out_add(o, "%s,", columns[i]);
	hap_out_add(o, "\n");
	if (stats)
		frontend_row(o, fe, cfg);
	cJSON_ArrayForEach(be, bes)
	{
		backend_rows(o, be, iid++);
	}
	hap_out_add(o, "\n");
}

static void uptime(struct hap_out *o, uint64_t s)
{
	hap_out_add(o, "Uptime: %llud %lluh%02llum%02llus\n",
		    (unsigned long long)(s / 86400),
		    (unsigned long long)(s / 3600 % 24),
		    (unsigned long long)(s / 60 % 60),
		    (unsigned long long)(s % 60));
	hap_out_add(o, "Uptime_sec: %llu\n", (unsigned long long)s);
}

void hap_show_info(struct hap_out *o, const cJSON *info,
		   const struct hap_cfg *cfg, uint64_t up)
{
	const cJSON *conn =
		cJSON_GetObjectItemCaseSensitive(info, "connections");
	const cJSON *tab = cJSON_GetObjectItemCaseSensitive(info, "table");
	const cJSON *dp = cJSON_GetObjectItemCaseSensitive(info, "dataplane");
	char host[64] = "";

	gethostname(host, sizeof(host) - 1);
	hap_out_add(o, "Name: HAProxy\nVersion: %s\nRelease_date: %s\n",
		    HAP_VERSION, HAP_RELEASE_DATE);
	hap_out_add(o, "Nbthread: %.0f\nNbproc: 1\nProcess_num: 1\nPid: %d\n",
		    num(dp, "workers"), (int)getpid());
	uptime(o, up);
	hap_out_add(o, "Maxconn: %ld\nHard_maxconn: %ld\n",
		    cfg && cfg->maxconn > 0 ? cfg->maxconn : 0,
		    cfg && cfg->maxconn > 0 ? cfg->maxconn : 0);
	hap_out_add(o, "CurrConns: %.0f\nCumConns: %.0f\nCumReq: %.0f\n",
		    num(conn, "current"), num(conn, "total"),
		    num(conn, "requests"));
	hap_out_add(o, "Stopping: 0\nNode: %s\n", host);
	hap_out_add(
		o,
		"Description: Weir's haproxy stand-in (weir-haproxy %s); traffic is served by weir-dp\n",
		HAP_WEIR_VERSION);
	hap_out_add(o, "Weir_cp: %s\nWeir_cp_socket: %s\n",
		    info ? "up" : "unreachable", cfg ? cfg->cp_socket : "-");
	hap_out_add(
		o, "Weir_dataplane_attached: %d\n",
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dp, "attached")));
	hap_out_add(
		o, "Weir_table_generation: %.0f\nWeir_table_live: %d\n",
		num(tab, "generation"),
		cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tab, "live")));
	hap_out_add(o, "Weir_draining: %d\n\n",
		    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(info,
								  "draining")));
}

static const struct hap_server *cfg_server(const struct hap_cfg *cfg,
					   const char *be, const char *sv)
{
	const struct hap_backend *b = cfg ? hap_cfg_backend(cfg, be) : NULL;

	for (unsigned int i = 0; b && i < b->n_servers; i++)
		if (!strcmp(b->servers[i].name, sv))
			return &b->servers[i];
	return NULL;
}

/* srv_op_state 2 = running, 0 = stopped; srv_admin_state 0x01 = forced
 * maintenance, 0x08 = forced drain (HAProxy's SRV_ADMF_* bits). */
static void state_row(struct hap_out *o, int be_id, const char *px, int sid,
		      const cJSON *s, const struct hap_cfg *cfg)
{
	const char *st = str(s, "status", ""), *sv = str(s, "svname", "-");
	const struct hap_server *cs = cfg_server(cfg, px, sv);
	bool up = !strcmp(st, "UP") || !strcmp(st, "DRAIN");
	int admin = !strcmp(st, "MAINT") ? 0x01 :
		    !strcmp(st, "DRAIN") ? 0x08 :
					   0;
	int w = (int)num(s, "weight");

	hap_out_add(
		o,
		"%d %s %d %s %s %d %d %d %d 0 %d %d %d 6 0 0 0 - %u - 0 0 - - 0\n",
		be_id, px, sid, sv, cs ? cs->addr : "-", up ? 2 : 0, admin, w,
		w, up ? 6 : 8, up ? 3 : 1, up ? 3 : 0, cs ? cs->port : 0);
}

int hap_show_servers_state(struct hap_out *o, const cJSON *stats,
			   const struct hap_cfg *cfg, const char *backend)
{
	const cJSON *bes = cJSON_GetObjectItemCaseSensitive(stats, "backends");
	const cJSON *be, *s;
	int be_id = 3, found = 0;

	cJSON_ArrayForEach(be, bes)
	{
		found |= backend && !strcmp(str(be, "pxname", ""), backend);
	}
	if (backend && !found)
		return -ENOENT;
	hap_out_add(
		o,
		"1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
	cJSON_ArrayForEach(be, bes)
	{
		const char *px = str(be, "pxname", "-");
		int sid = 0;

		if (!backend || !strcmp(px, backend))
			cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(
						      be, "servers"))
			{
				state_row(o, be_id, px, ++sid, s, cfg);
			}
		be_id++;
	}
	hap_out_add(o, "\n");
	return 0;
}
