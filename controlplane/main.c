/* weir-cp: the control plane process. It is the only place that reads
 * Ray Serve target groups: it validates and compiles them into table
 * snapshots and publishes them into the control segment of a running
 * weir-dp (controlplane/publish.*), which adopts them without a restart.
 * It serves its API (controlplane/api.*) on a Unix socket and an optional
 * management address, re-attaches when weir-dp restarts, and can be killed
 * and restarted at any time: weir-dp keeps serving the table it has. Also
 * validates target-group files offline (--check). */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alog.h"
#include "api.h"
#include "common/jsonfile.h"
#include "compile.h"
#include "cpstate.h"
#include "common/table_check.h"
#include "targetgroup.h"
#include "weir/version.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir-cp run [--dp NAME] [--api PATH] [--mgmt IP:PORT]\n"
		"                   [--target-groups FILE] [--state-dir DIR]\n"
		"                   [--balance leastconn|roundrobin|random]\n"
		"                   [--access-log FILE|FIFO] [--maxconn N]\n"
		"                   [--maxconnrate N] [--maxsessrate N]\n"
		"                   [--client-rate RPS]\n"
		"                   [--maxconn-per-server N] [--timeout-queue-ms MS]\n"
		"                   [--router-timeout-ms MS]\n"
		"                   [--router-failure fallthrough|503]\n"
		"       weir-cp --check FILE          (Ray Serve target groups)\n"
		"       weir-cp --version\n"
		"  --dp NAME             weir-dp's --file-prefix (default weir)\n"
		"  --api PATH            API socket (default /run/weir/NAME.sock)\n"
		"  --mgmt IP:PORT        the API on a TCP address too\n"
		"  --target-groups FILE  first table, for a weir-dp that has none\n"
		"  --state-dir DIR       state file NAME.json (default /run/weir)\n"
		"  --balance ALGO        how every backend picks a replica (leastconn)\n"
		"  --access-log PATH     one JSON line per request (SIGHUP reopens)\n"
		"  --maxconn N           client connections at once, node-wide (20000)\n"
		"  --maxconnrate N       new client connections per second (0: any)\n"
		"  --maxsessrate N       new sessions per second (0: any)\n"
		"  --client-rate RPS     requests per second per client address\n"
		"                        (429 with Retry-After beyond; 0: off)\n"
		"  --maxconn-per-server N  requests at once per replica (0: any), the\n"
		"                        rest queued; a group's limits override it\n"
		"  --timeout-queue-ms MS how long a request may wait in the queue (503)\n"
		"  --router-timeout-ms MS  the ingress request router's answer (5000)\n"
		"  --router-failure F    when the router fails: fallthrough (normal\n"
		"                        balancing, default) or 503\n"
		"API: GET /api/v1/info, GET /api/v1/table, PUT /api/v1/target_groups,\n"
		"     PUT /api/v1/fallback_targets (?wait=MS): see controlplane/api.h\n");
}

/* One line: what the file holds and the routes in the order they match. */
static void print_summary(const char *path, const struct tg_model *m,
			  const struct weir_table *t)
{
	const struct weir_table_route *r = weir_table_routes(t);
	const struct weir_table_backend *b = weir_table_backends(t);
	unsigned int routers = 0;

	for (unsigned int i = 0; i < m->n_groups; i++)
		routers += m->groups[i].n_routers;
	printf("%s: ok: %u groups (%u HTTP, %u gRPC), %u targets, %u router targets, "
	       "fallback %s; routes:",
	       path, m->n_groups, t->n_http_backends,
	       t->n_backends - t->n_http_backends, tg_model_n_targets(m),
	       routers,
	       m->has_fallback[TG_HTTP] && m->has_fallback[TG_GRPC] ?
		       "HTTP+gRPC" :
	       m->has_fallback[TG_HTTP] ? "HTTP" :
	       m->has_fallback[TG_GRPC] ? "gRPC" :
					  "none");
	for (uint32_t i = 0; i < t->n_routes; i++)
		printf("%s %s -> %s", i ? "," : "", r[i].prefix,
		       b[r[i].backend].name);
	if (!t->n_routes)
		printf(" none (every path 404)");
	for (uint32_t i = t->n_http_backends; i < t->n_backends; i++)
		printf("%s %s", i == t->n_http_backends ? "; gRPC apps:" : ",",
		       b[i].name);
	printf("\n");
}

static int check_target_groups(const char *path)
{
	struct cp_compile_opts opts;
	struct weir_table *t;
	struct tg_model m;
	char err[512];

	if (tg_load(path, &m, err, sizeof(err))) {
		fprintf(stderr, "weir-cp: %s\n", err);
		return 1;
	}
	cp_compile_defaults(&opts);
	t = cp_compile_alloc(&m, &opts, err, sizeof(err));
	if (!t || weir_table_check(t, cp_compile_size(&m))) {
		fprintf(stderr, "weir-cp: %s: %s\n", path,
			t ? "compiled table fails its own check" : err);
		free(t);
		tg_model_free(&m);
		return 1;
	}
	print_summary(path, &m, t);
	free(t);
	tg_model_free(&m);
	return 0;
}

static volatile sig_atomic_t stop, reopen;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen = 1;
	else
		stop = 1;
}

struct cp_opts {
	const char *dp, *api, *mgmt, *tg, *state_dir, *access_log;
	int balance; /* enum weir_table_balance */
	uint32_t maxconn, maxconnrate, maxsessrate, client_rps;
	uint32_t maxconn_srv, queue_ms;
	uint32_t router_timeout_ms;
	int router_failure; /* enum weir_table_router_failure */
	char api_buf[108], state_buf[256];
};

/* The values of enum weir_table_balance (include/weir/table.h). */
static int parse_balance(const char *s)
{
	static const char *const algos[] = { "leastconn", "roundrobin",
					     "random" };

	for (int i = 0; i < 3; i++)
		if (!strcmp(s, algos[i]))
			return i;
	return -1;
}

/* A number in [min, max], the whole argument. */
static int number(const char *opt, const char *s, uint32_t min, uint32_t max,
		  uint32_t *out)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "weir-cp: --%s: \"%s\" is not a number %u-%u\n",
			opt, s, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* --maxconn and the other limits (c: the option's short code). */
static int parse_limit(struct cp_opts *o, int c, const char *arg)
{
	switch (c) {
	case 'M':
		return number("maxconn", arg, 1, 10000000, &o->maxconn);
	case 'C':
		return number("maxconnrate", arg, 0, 10000000, &o->maxconnrate);
	case 'S':
		return number("maxsessrate", arg, 0, 10000000, &o->maxsessrate);
	case 'P':
		return number("maxconn-per-server", arg, 0, 1000000,
			      &o->maxconn_srv);
	case 'Q':
		return number("timeout-queue-ms", arg, 0, 3600000,
			      &o->queue_ms);
	case 'T':
		return number("router-timeout-ms", arg, 1, 3600000,
			      &o->router_timeout_ms);
	default: /* 'R' */
		return number("client-rate", arg, 0, 65535, &o->client_rps);
	}
}

static int parse_opts(int argc, char **argv, struct cp_opts *o)
{
	static const struct option longs[] = {
		{ "dp", required_argument, NULL, 'd' },
		{ "api", required_argument, NULL, 'a' },
		{ "mgmt", required_argument, NULL, 'm' },
		{ "target-groups", required_argument, NULL, 't' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "balance", required_argument, NULL, 'b' },
		{ "access-log", required_argument, NULL, 'l' },
		{ "maxconn", required_argument, NULL, 'M' },
		{ "maxconnrate", required_argument, NULL, 'C' },
		{ "maxsessrate", required_argument, NULL, 'S' },
		{ "client-rate", required_argument, NULL, 'R' },
		{ "maxconn-per-server", required_argument, NULL, 'P' },
		{ "timeout-queue-ms", required_argument, NULL, 'Q' },
		{ "router-timeout-ms", required_argument, NULL, 'T' },
		{ "router-failure", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->dp = "weir";
	o->maxconn = 20000;
	o->router_timeout_ms = 5000;
	o->state_dir = "/run/weir";
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->dp = optarg;
			break;
		case 'a':
			o->api = optarg;
			break;
		case 'm':
			o->mgmt = optarg;
			break;
		case 't':
			o->tg = optarg;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'l':
			o->access_log = optarg;
			break;
		case 'M':
		case 'C':
		case 'S':
		case 'R':
		case 'P':
		case 'Q':
		case 'T':
			if (parse_limit(o, c, optarg))
				return -1;
			break;
		case 'F':
			o->router_failure = !strcmp(optarg, "503")	   ? 1 :
					    !strcmp(optarg, "fallthrough") ? 0 :
									     -1;
			if (o->router_failure < 0) {
				fprintf(stderr,
					"weir-cp: --router-failure: \"%s\" is not fallthrough or 503\n",
					optarg);
				return -1;
			}
			break;
		case 'b':
			o->balance = parse_balance(optarg);
			if (o->balance < 0) {
				fprintf(stderr,
					"weir-cp: --balance: \"%s\" is not leastconn, roundrobin or random\n",
					optarg);
				return -1;
			}
			break;
		default:
			return -1;
		}
	}
	if (optind != argc || !*o->dp || strchr(o->dp, '/'))
		return -1;
	if (!o->api) {
		snprintf(o->api_buf, sizeof(o->api_buf), "%s/%s.sock",
			 o->state_dir, o->dp);
		o->api = o->api_buf;
	}
	snprintf(o->state_buf, sizeof(o->state_buf), "%s/%s.json", o->state_dir,
		 o->dp);
	return 0;
}

/* The start-up file, if any, becomes the first table. */
static int load_initial(struct cp_state *st, const char *path)
{
	char err[512], msg[600], *text;

	if (!path)
		return 0;
	if (json_file_read(path, CPS_BODY_MAX, &text, err, sizeof(err))) {
		fprintf(stderr, "weir-cp: %s\n", err);
		return -1;
	}
	if (cps_initial(st, text, err, sizeof(err))) {
		snprintf(msg, sizeof(msg), "%s: %s", path, err);
		fprintf(stderr, "weir-cp: %s\n", msg);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

/* One turn of the main loop's access-log work: the workers fill their
 * rings only while a writer is attached (log_on), and what they filled is
 * written out. */
static void access_log_tick(struct cp_state *st)
{
	struct weir_ctl *c = st->pub.seg.ctl;

	if (reopen) {
		reopen = 0;
		if (st->alog && alog_reopen(st->alog))
			fprintf(stderr, "weir-cp: access log %s: %s\n",
				st->alog->path, strerror(st->alog->last_errno));
	}
	alog_switch(c, st->alog != NULL);
	if (st->alog)
		alog_drain(st->alog, c);
}

static int run(int argc, char **argv)
{
	static struct cp_state st;
	static struct cp_api api;
	static struct cp_alog alog;
	struct sigaction sa = { .sa_handler = on_signal };
	struct cp_opts o;
	char err[512];
	int attached = 0;

	if (parse_opts(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	mkdir(o.state_dir, 0755);
	cps_init(&st, o.state_buf);
	st.opts.knobs.balance = (uint8_t)o.balance;
	st.opts.maxconn = o.maxconn;
	st.opts.maxconnrate = o.maxconnrate;
	st.opts.maxsessrate = o.maxsessrate;
	st.opts.client_rps = o.client_rps;
	st.opts.knobs.maxconn_per_server = o.maxconn_srv;
	st.opts.knobs.timeouts.queue_ms = o.queue_ms;
	st.opts.knobs.router_timeout_ms = o.router_timeout_ms;
	st.opts.knobs.router_failure = (uint8_t)o.router_failure;
	if (load_initial(&st, o.tg))
		return 1;
	if (o.access_log) {
		if (alog_open(&alog, o.access_log, err, sizeof(err))) {
			fprintf(stderr, "weir-cp: %s\n", err);
			return 1;
		}
		st.alog = &alog;
	}
	api.st = &st;
	api.dp_name = o.dp;
	pthread_mutex_init(&api.lock, NULL);
	if (api_start(&api, o.api, o.mgmt, err, sizeof(err))) {
		fprintf(stderr, "weir-cp: %s\n", err);
		api_stop(&api);
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("weir-cp: ready (api %s%s%s, weir-dp \"%s\")\n", o.api,
	       o.mgmt ? ", mgmt " : "", o.mgmt ? o.mgmt : "", o.dp);
	fflush(stdout);
	while (!stop) {
		pthread_mutex_lock(&api.lock);
		int now = cps_attach(&st, o.dp);
		cps_flush(&st);
		access_log_tick(&st);
		pthread_mutex_unlock(&api.lock);
		if (now != attached && !now)
			fprintf(stderr, "weir-cp: waiting for weir-dp \"%s\"\n",
				o.dp);
		attached = now;
		usleep(attached && !st.pending ? 20000 : 2000);
	}
	api_stop(&api);
	pthread_mutex_lock(&api.lock);
	if (st.alog) { /* the workers stop filling; what they have is ours */
		alog_switch(st.pub.seg.ctl, false);
		alog_drain(st.alog, st.pub.seg.ctl);
		alog_close(st.alog);
	}
	cps_fini(&st);
	pthread_mutex_unlock(&api.lock);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("weir-cp %s\n", WEIR_VERSION_STRING);
		return 0;
	}
	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--check"))
		return check_target_groups(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return run(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "--check-config")) {
		/* weir-dp's own file is weir-dp's to check: no dataplane code
		 * in weir-cp */
		fprintf(stderr,
			"weir-cp: --check-config moved: run weir-dp --check-config FILE\n");
		return 2;
	}
	usage(stderr);
	return 2;
}
