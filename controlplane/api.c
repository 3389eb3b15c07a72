/* See api.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "api.h"
#include "stats.h"
#include "weir/version.h"

#define API_TIMEOUT_S 10 /* a client that stalls longer is cut */
#define WAIT_MAX_MS 5000

struct req {
	char *body;
	size_t len, cap;
	bool too_big;
};

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned int code,
				  cJSON *j)
{
	char *text = cJSON_PrintUnformatted(j);
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t n;

	cJSON_Delete(j);
	if (!text)
		return MHD_NO;
	n = strlen(text);
	text = realloc(text, n + 2);
	text[n++] = '\n';
	r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned int code,
				   const char *msg)
{
	cJSON *j = cJSON_CreateObject();

	cJSON_AddBoolToObject(j, "ok", 0);
	cJSON_AddStringToObject(j, "error", msg);
	return reply_json(c, code, j);
}

/* The active table as weir-dp's workers see it. */
static void add_table(cJSON *j, struct cp_api *a)
{
	struct cp_state *s = a->st;
	struct weir_ctl *ctl = s->pub.seg.ctl;
	cJSON *t = cJSON_AddObjectToObject(j, "table");
	uint64_t cur = ctl ? pub_current(&s->pub) : 0, pubns;

	cJSON_AddNumberToObject(t, "generation", (double)WEIR_CTL_CUR_GEN(cur));
	pubns = ctl ? atomic_load(&ctl->published_ns) : 0;
	cJSON_AddNumberToObject(
		t, "age_s",
		cur && pubns ? (double)(ctl_realtime_ns() - pubns) / 1e9 : 0);
	cJSON_AddBoolToObject(
		t, "live", cur && pub_adopted(&s->pub, WEIR_CTL_CUR_GEN(cur)));
	cJSON_AddBoolToObject(t, "pending", s->pending != NULL);
	cJSON_AddNumberToObject(t, "pushes", (double)s->pushes);
	cJSON_AddNumberToObject(t, "refused", (double)s->refused);
	cJSON_AddNumberToObject(t, "coalesced", (double)s->coalesced);
}

/* Connection totals from the workers' exported counters. */
static void add_connections(cJSON *j, struct cp_api *a)
{
	static const char *const keys[][2] = { { "current", "scur" },
					       { "total", "stot" },
					       { "requests", "req_tot" },
					       { "refused", "dcon" } };
	cJSON *fe = cp_frontend_json(a->st), *conn;

	if (!fe)
		return;
	conn = cJSON_AddObjectToObject(j, "connections");
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cJSON_AddItemToObject(
			conn, keys[i][0],
			cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(
						fe, keys[i][1]),
					1));
	cJSON_Delete(fe);
}

static cJSON *info(struct cp_api *a)
{
	struct weir_ctl *ctl = a->st->pub.seg.ctl;
	cJSON *j = cJSON_CreateObject(), *dp, *ws;

	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_AddStringToObject(j, "version", WEIR_VERSION_STRING);
	cJSON_AddNumberToObject(
		j, "uptime_s", (double)(ctl_realtime_ns() - a->start_ns) / 1e9);
	dp = cJSON_AddObjectToObject(j, "dataplane");
	cJSON_AddStringToObject(dp, "name", a->dp_name);
	cJSON_AddBoolToObject(dp, "attached", ctl != NULL);
	if (ctl) {
		cJSON_AddNumberToObject(dp, "pid", ctl->dp_pid);
		cJSON_AddNumberToObject(dp, "workers", ctl->n_workers);
		cJSON_AddNumberToObject(
			dp, "uptime_s",
			(double)(ctl_realtime_ns() - ctl->dp_start_ns) / 1e9);
		ws = cJSON_AddArrayToObject(dp, "worker_generations");
		for (uint32_t i = 0; i < ctl->n_workers; i++)
			cJSON_AddItemToArray(
				ws, cJSON_CreateNumber((double)atomic_load(
					    &ctl->workers[i].held_gen)));
	}
	add_table(j, a);
	cJSON_AddBoolToObject(j, "draining", a->st->draining);
	cJSON_AddItemToObject(j, "drain", cp_drain_json(a->st));
	add_connections(j, a);
	return j;
}

static enum MHD_Result get_table(struct MHD_Connection *c, struct cp_api *a)
{
	char *doc = cps_document(a->st);
	cJSON *j = cJSON_CreateObject(), *d = doc ? cJSON_Parse(doc) : NULL;

	free(doc);
	cJSON_AddBoolToObject(j, "ok", 1);
	add_table(j, a);
	cJSON_AddItemToObject(j, "document", d ? d : cJSON_CreateNull());
	return reply_json(c, 200, j);
}

/* Waits (lock released) until every worker holds gen, at most ms. */
static bool wait_live(struct cp_api *a, uint64_t gen, long ms)
{
	for (long waited = 0;; waited++) {
		bool live;

		pthread_mutex_lock(&a->lock);
		live = a->st->pub.seg.ctl && pub_adopted(&a->st->pub, gen);
		pthread_mutex_unlock(&a->lock);
		if (live || waited >= ms)
			return live;
		usleep(1000);
	}
}

static long wait_arg(struct MHD_Connection *c)
{
	const char *w =
		MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait");
	long ms = w ? strtol(w, NULL, 10) : 0;

	return ms > WAIT_MAX_MS ? WAIT_MAX_MS : ms;
}

/* What a change answers: its error, or the generation it was published
 * as (0 while pending) and, with ?wait=MS, whether it went live. */
static enum MHD_Result changed(struct MHD_Connection *c, struct cp_api *a,
			       int rc, const char *err)
{
	long wait_ms = wait_arg(c);
	uint64_t gen = 0;
	bool pending;
	cJSON *j;

	if (rc)
		return reply_error(c,
				   rc == -E2BIG	 ? 413 :
				   rc == -ENOENT ? 404 :
						   400,
				   err);
	pthread_mutex_lock(&a->lock);
	pending = a->st->pending != NULL;
	if (!pending && a->st->pub.seg.ctl)
		gen = a->st->pub.published;
	pthread_mutex_unlock(&a->lock);
	j = cJSON_CreateObject();
	cJSON_AddBoolToObject(j, "ok", 1);
	cJSON_AddNumberToObject(j, "generation", (double)gen);
	cJSON_AddBoolToObject(j, "pending", pending);
	if (wait_ms > 0 && gen)
		cJSON_AddBoolToObject(j, "live", wait_live(a, gen, wait_ms));
	return reply_json(c, 200, j);
}

static enum MHD_Result put(struct MHD_Connection *c, struct cp_api *a,
			   bool groups, struct req *r)
{
	char err[512] = "";
	int rc;

	if (r->too_big) {
		snprintf(err, sizeof(err),
			 "body over %u bytes: refused, nothing changed",
			 CPS_BODY_MAX);
		return reply_error(c, 413, err);
	}
	pthread_mutex_lock(&a->lock);
	rc = groups ? cps_set_groups(a->st, r->body ? r->body : "", err,
				     sizeof(err)) :
		      cps_set_fallback(a->st, r->body ? r->body : "", err,
				       sizeof(err));
	pthread_mutex_unlock(&a->lock);
	return changed(c, a, rc, err);
}

/* PUT /api/v1/servers/<backend>/<server> {"state", "weight"} */
static enum MHD_Result put_server(struct MHD_Connection *c, struct cp_api *a,
				  const char *path, struct req *r)
{
	char be[WEIR_TABLE_BACKEND_NAME_MAX], err[512] = "";
	const char *slash = strchr(path, '/');
	int rc;

	if (!slash || slash == path || !slash[1] || strchr(slash + 1, '/') ||
	    (size_t)(slash - path) >= sizeof(be))
		return reply_error(
			c, 404,
			"want /api/v1/servers/<backend>/<server> (names as in show stat)");
	memcpy(be, path, (size_t)(slash - path));
	be[slash - path] = 0;
	pthread_mutex_lock(&a->lock);
	rc = cps_set_server(a->st, be, slash + 1, r->body ? r->body : "", err,
			    sizeof(err));
	pthread_mutex_unlock(&a->lock);
	return changed(c, a, rc, err);
}

/* PUT /api/v1/drain {"drain": true|false[, "grace_ms": N]} */
static enum MHD_Result put_drain(struct MHD_Connection *c, struct cp_api *a,
				 struct req *r)
{
	cJSON *root = cJSON_Parse(r->body ? r->body : ""), *d, *g;
	char err[512] = "";
	int64_t grace = -1;
	int rc;

	d = cJSON_IsObject(root) ?
		    cJSON_GetObjectItemCaseSensitive(root, "drain") :
		    NULL;
	g = cJSON_IsObject(root) ?
		    cJSON_GetObjectItemCaseSensitive(root, "grace_ms") :
		    NULL;
	if (!cJSON_IsBool(d)) {
		cJSON_Delete(root);
		return reply_error(c, 400,
				   "drain: want {\"drain\": true} or false");
	}
	if (g && (!cJSON_IsNumber(g) || g->valuedouble < 0 ||
		  g->valuedouble != (double)(int64_t)g->valuedouble ||
		  g->valuedouble > CPS_DRAIN_GRACE_MAX_MS)) {
		cJSON_Delete(root);
		return reply_error(c, 400,
				   "grace_ms: want an integer 0-3600000 (ms)");
	}
	if (g)
		grace = (int64_t)g->valuedouble;
	pthread_mutex_lock(&a->lock);
	rc = cps_set_drain(a->st, cJSON_IsTrue(d), grace, err, sizeof(err));
	pthread_mutex_unlock(&a->lock);
	cJSON_Delete(root);
	return changed(c, a, rc, err);
}

static enum MHD_Result get_stats(struct MHD_Connection *c, struct cp_api *a)
{
	cJSON *j;

	pthread_mutex_lock(&a->lock);
	j = cp_stats_json(a->st);
	pthread_mutex_unlock(&a->lock);
	if (!j)
		return reply_error(c, 503, "weir-dp is not attached: no stats");
	return reply_json(c, 200, j);
}

static enum MHD_Result get_metrics(struct MHD_Connection *c, struct cp_api *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *text;

	pthread_mutex_lock(&a->lock);
	text = cp_metrics_text(a->st);
	pthread_mutex_unlock(&a->lock);
	if (!text)
		return reply_error(c, 500, "out of memory");
	r = MHD_create_response_from_buffer(strlen(text), text,
					    MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type",
				"text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result route(struct MHD_Connection *c, struct cp_api *a,
			     const char *url, const char *method, struct req *r)
{
	bool get = !strcmp(method, "GET"),
	     put_ = !strcmp(method, "PUT") || !strcmp(method, "POST");
	enum MHD_Result ret;

	if (!strcmp(url, "/api/v1/info") && get) {
		pthread_mutex_lock(&a->lock);
		cJSON *j = info(a);
		pthread_mutex_unlock(&a->lock);
		return reply_json(c, 200, j);
	}
	if (!strcmp(url, "/api/v1/table") && get) {
		pthread_mutex_lock(&a->lock);
		ret = get_table(c, a);
		pthread_mutex_unlock(&a->lock);
		return ret;
	}
	if (!strcmp(url, "/api/v1/target_groups") && put_)
		return put(c, a, true, r);
	if (!strcmp(url, "/api/v1/fallback_targets") && put_)
		return put(c, a, false, r);
	if (!strcmp(url, "/api/v1/stats") && get)
		return get_stats(c, a);
	if (!strcmp(url, "/metrics") && get)
		return get_metrics(c, a);
	if (!strcmp(url, "/api/v1/drain") && put_)
		return put_drain(c, a, r);
	if (!strncmp(url, "/api/v1/servers/", 16) && put_)
		return put_server(c, a, url + 16, r);
	if (!strcmp(url, "/api/v1/info") || !strcmp(url, "/api/v1/table") ||
	    !strcmp(url, "/api/v1/target_groups") ||
	    !strcmp(url, "/api/v1/fallback_targets") ||
	    !strcmp(url, "/api/v1/stats") || !strcmp(url, "/metrics") ||
	    !strcmp(url, "/api/v1/drain") ||
	    !strncmp(url, "/api/v1/servers/", 16))
		return reply_error(c, 405, "method not allowed here");
	return reply_error(c, 404, "no such endpoint (see weir-cp --help)");
}

/* Collects the body (bounded), then routes. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *data,
			      size_t *size, void **ctx)
{
	struct req *r = *ctx;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		*ctx = r;
		return r ? MHD_YES : MHD_NO;
	}
	if (*size) {
		if (!r->too_big && r->len + *size + 1 > r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 4096;
			char *nb;

			while (cap < r->len + *size + 1)
				cap *= 2;
			nb = r->len + *size < CPS_BODY_MAX ?
				     realloc(r->body, cap) :
				     NULL;
			if (!nb) {
				r->too_big = true; /* keep reading, drop */
				free(r->body);
				r->body = NULL;
				r->len = r->cap = 0;
			} else {
				r->body = nb;
				r->cap = cap;
			}
		}
		if (!r->too_big) {
			memcpy(r->body + r->len, data, *size);
			r->len += *size;
			r->body[r->len] = 0;
		}
		*size = 0;
		return MHD_YES;
	}
	return route(c, cls, url, method, r);
}

static void done(void *cls, struct MHD_Connection *c, void **ctx,
		 enum MHD_RequestTerminationCode code)
{
	struct req *r = *ctx;

	(void)cls, (void)c, (void)code;
	if (r) {
		free(r->body);
		free(r);
	}
	*ctx = NULL;
}

static struct MHD_Daemon *start(struct cp_api *a, int fd,
				const struct sockaddr *sa)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			     MHD_USE_ERROR_LOG;

	if (fd >= 0)
		return MHD_start_daemon(flags, 0, NULL, NULL, handle, a,
					MHD_OPTION_LISTEN_SOCKET, fd,
					MHD_OPTION_CONNECTION_TIMEOUT,
					(unsigned int)API_TIMEOUT_S,
					MHD_OPTION_NOTIFY_COMPLETED, done, a,
					MHD_OPTION_END);
	return MHD_start_daemon(
		flags, 0, NULL, NULL, handle, a, MHD_OPTION_SOCK_ADDR, sa,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_TIMEOUT_S,
		MHD_OPTION_NOTIFY_COMPLETED, done, a, MHD_OPTION_END);
}

static int start_unix(struct cp_api *a, const char *path, char *err,
		      size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--api %s: path too long", path);
		return -ENAMETOOLONG;
	}
	snprintf(a->unix_path, sizeof(a->unix_path), "%s", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	a->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	unlink(path);
	if (a->unix_fd < 0 ||
	    bind(a->unix_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0660) || listen(a->unix_fd, 64)) {
		snprintf(err, errlen, "--api %s: %s", path, strerror(errno));
		return -errno;
	}
	a->unix_d = start(a, a->unix_fd, NULL);
	if (!a->unix_d) {
		snprintf(err, errlen, "--api %s: libmicrohttpd did not start",
			 path);
		return -EIO;
	}
	return 0;
}

static int start_tcp(struct cp_api *a, const char *addr, char *err,
		     size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	char ip[64];
	const char *colon = strrchr(addr, ':');
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;

	if (!colon || (size_t)(colon - addr) >= sizeof(ip) || port < 1 ||
	    port > 65535) {
		snprintf(err, errlen, "--mgmt %s: want IP:PORT", addr);
		return -EINVAL;
	}
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = 0;
	if (inet_pton(AF_INET, ip, &sin.sin_addr) != 1) {
		snprintf(err, errlen,
			 "--mgmt %s: \"%s\" is not an IPv4 address", addr, ip);
		return -EINVAL;
	}
	sin.sin_port = htons((uint16_t)port);
	a->tcp_d = start(a, -1, (struct sockaddr *)&sin);
	if (!a->tcp_d) {
		snprintf(err, errlen, "--mgmt %s: cannot listen there", addr);
		return -EADDRINUSE;
	}
	return 0;
}

int api_start(struct cp_api *a, const char *unix_path, const char *tcp,
	      char *err, size_t errlen)
{
	int rc;

	a->unix_fd = -1;
	a->start_ns = ctl_realtime_ns();
	if ((rc = start_unix(a, unix_path, err, errlen)))
		return rc;
	if (tcp && (rc = start_tcp(a, tcp, err, errlen)))
		return rc;
	return 0;
}

void api_stop(struct cp_api *a)
{
	if (a->tcp_d)
		MHD_stop_daemon(a->tcp_d);
	if (a->unix_d)
		MHD_stop_daemon(a->unix_d);
	if (a->unix_fd >= 0)
		close(a->unix_fd);
	if (a->unix_path[0])
		unlink(a->unix_path);
	a->tcp_d = a->unix_d = NULL;
	a->unix_fd = -1;
}
