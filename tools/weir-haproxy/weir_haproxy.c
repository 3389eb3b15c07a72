/* weir-haproxy: what Ray Serve runs as "haproxy" (RAY_SERVE_HAPROXY_BINARY_
 * PATH). Each run parses Ray's config, pushes it to the running weir-cp,
 * takes over the admin socket and tells the previous stand-in (-sf) to
 * exit. It never starts, stops or restarts weir-dp or weir-cp. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hap_admin.h"
#include "hap_cfg.h"
#include "hap_doc.h"
#include "hap_push.h"

#define MAX_OLD_PIDS 64

struct opts {
	const char *cfg_file, *pid_file;
	bool check, quiet, print_doc;
	int version; /* 1: -v, 2: -vv */
	pid_t old[MAX_OLD_PIDS];
	int n_old, old_sig;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static void usage(const char *why)
{
	fprintf(stderr,
		"weir-haproxy: %s\n"
		"usage: weir-haproxy -f CFG [-c | --weir-doc] [-db] [-dR] [-q] [-p PIDFILE] [-x SOCK] [-sf|-st PID...]\n"
		"       weir-haproxy -v | -vv\n",
		why);
	exit(1);
}

static void version(int level)
{
	/* HAProxy 2.x's first line, "HAProxy version X DATE - ...": tools
	 * that read it get a 2.8 they know; the rest says what runs */
	printf("HAProxy version %s %s - weir-haproxy %s, Weir's stand-in for haproxy (not HAProxy): the config goes to weir-cp, traffic to weir-dp\n",
	       HAP_VERSION, HAP_RELEASE_DATE, HAP_WEIR_VERSION);
	if (level > 1)
		printf("Status: Weir stand-in; the dataplane is weir-dp.\n"
		       "Known options: -f -c -db -dR -q -p -x -sf -st -v -vv\n"
		       "Admin socket commands: show info, show stat, show servers state, set server, enable/disable server, prompt, help, quit\n");
}

/* -sf / -st take every following argument that is a pid. */
static int old_pids(struct opts *o, int argc, char **argv, int i)
{
	while (i + 1 < argc && argv[i + 1][0] != '-') {
		char *end;
		long v = strtol(argv[i + 1], &end, 10);

		if (*end || v <= 1 || o->n_old == MAX_OLD_PIDS)
			usage("-sf/-st: want process ids (more than 1)");
		o->old[o->n_old++] = (pid_t)v;
		i++;
	}
	return i;
}

static void parse_args(struct opts *o, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "-vv") || !strcmp(a, "-V"))
			o->version = a[2] == 'v' ? 2 : 1;
		else if (!strcmp(a, "-c"))
			o->check = true;
		else if (!strcmp(a, "--weir-doc"))
			o->check = o->print_doc = true;
		else if (!strcmp(a, "-q"))
			o->quiet = true;
		else if (!strcmp(a, "-db") || !strcmp(a, "-dR"))
			; /* always in the foreground; no listeners to share */
		else if (!strcmp(a, "-f") || !strcmp(a, "-p") ||
			 !strcmp(a, "-x")) {
			if (i + 1 >= argc)
				usage("an option needs its argument");
			if (a[1] == 'f' && o->cfg_file)
				usage("one -f only");
			if (a[1] == 'f')
				o->cfg_file = argv[i + 1];
			else if (a[1] == 'p')
				o->pid_file = argv[i + 1];
			i++; /* -x: nothing to take over but the socket path */
		} else if (!strcmp(a, "-sf") || !strcmp(a, "-st")) {
			o->old_sig = a[2] == 'f' ? SIGUSR1 : SIGTERM;
			i = old_pids(o, argc, argv, i);
		} else {
			fprintf(stderr, "weir-haproxy: unknown option '%s'\n",
				a);
			usage("see the options below");
		}
	}
}

static int load(const struct opts *o, struct hap_cfg *cfg)
{
	int rc = hap_cfg_load(cfg, o->cfg_file);

	if (cfg->msgs && (!o->quiet || rc))
		fputs(cfg->msgs, stderr);
	if (rc)
		fprintf(stderr,
			"[ALERT] weir-haproxy: fatal errors in configuration file '%s' (%u)\n",
			o->cfg_file, cfg->n_errors);
	return rc;
}

static void notes(const struct hap_cfg *cfg)
{
	char *na = hap_doc_not_applied(cfg);

	if (na && *na)
		fprintf(stderr,
			"[NOTICE] weir-haproxy: parsed, not applied by this push:\n%s",
			na);
	free(na);
}

/* Once we serve: output nobody may read (Ray keeps the pipes but reads
 * them only if we die at start-up) must never block us. */
static void detach_output(void)
{
	for (int fd = 1; fd <= 2; fd++) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

static void handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTTOU, SIG_IGN); /* HAProxy's "pause listeners" */
	signal(SIGTTIN, SIG_IGN);
}

static void write_pid_file(const char *path)
{
	FILE *f = path ? fopen(path, "w") : NULL;

	if (f) {
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
	}
}

static int serve(const struct opts *o, const struct hap_cfg *cfg)
{
	struct hap_admin adm;
	char err[512];
	int live, rc;

	handle_signals();
	rc = hap_push(cfg, 2000, &live, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "[ALERT] weir-haproxy: %s\n", err);
		return 1;
	}
	if (!live)
		fprintf(stderr,
			"[WARNING] weir-haproxy: weir-cp accepted the table; not every worker serves it yet\n");
	if (!o->quiet)
		notes(cfg);
	if (hap_admin_open(&adm, cfg, err, sizeof(err))) {
		fprintf(stderr, "[ALERT] weir-haproxy: %s\n", err);
		return 1;
	}
	for (int i = 0; i < o->n_old; i++)
		if (o->old[i] != getpid())
			kill(o->old[i], o->old_sig);
	write_pid_file(o->pid_file);
	detach_output();
	hap_admin_run(&adm, &stop_signal);
	hap_admin_close(&adm);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct hap_cfg cfg;
	int rc;

	parse_args(&o, argc, argv);
	if (o.version) {
		version(o.version);
		return 0;
	}
	if (!o.cfg_file)
		usage("no configuration file (-f CFG)");
	rc = load(&o, &cfg);
	if (!rc && o.print_doc) {
		char *doc = hap_doc_target_groups(&cfg);

		printf("%s\n", doc ? doc : "(out of memory)");
		free(doc);
	} else if (!rc && o.check) {
		printf("Configuration file is valid\n");
		if (!o.quiet)
			notes(&cfg);
	}
	if (!rc && !o.check)
		rc = serve(&o, &cfg);
	hap_cfg_free(&cfg);
	return rc ? 1 : 0;
}
