/* weir-dp: the DPDK primary process. Start-up order: config (before EAL, so
 * a bad file fails fast and names the field), EAL with the lcore map the
 * config asks for, port, workers, telemetry; then the main lcore blocks
 * until SIGINT/SIGTERM while the workers poll, and everything is torn down
 * in reverse so no hugepage file or XDP program is left behind. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_memzone.h>

#include "common/ctl_seg.h"
#include "config/config.h"
#include "telemetry.h"
#include "weir/version.h"
#include "worker.h"

#define MAX_EAL_ARGS 64

static struct dataplane dp;

static void on_signal(int sig)
{
	(void)sig;
	dp.quit = true;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir-dp [EAL options] -- --config FILE\n"
		"       weir-dp --version | --check-config FILE\n"
		"EAL options are DPDK's; weir-dp adds --in-memory, --file-prefix=weir,\n"
		"--no-pci, --iova-mode=va and an --lcores map from the config's workers/cpus when they\n"
		"are not given. The interface is attached from the config's port section.\n"
		"Check a config without starting: weir-dp --check-config FILE\n");
}

static bool has_arg(int argc, char **argv, const char *const *names)
{
	for (int i = 1; i < argc; i++)
		for (const char *const *n = names; *n; n++)
			if (!strncmp(argv[i], *n, strlen(*n)))
				return true;
	return false;
}

/* Builds the EAL argv: the user's EAL options plus our defaults. */
static int build_eal_args(int argc, char **argv, const struct dp_config *cfg,
			  char **out, char *lcores, size_t lcores_len)
{
	static const char *const prefix[] = { "--file-prefix", NULL };
	static const char *const mem[] = { "--in-memory", "--huge-unlink",
					   NULL };
	static const char *const lc[] = { "-l", "-c", "--lcores", NULL };
	static const char *const pci[] = { "--no-pci", "-a", "--allow", "-b",
					   NULL };
	static const char *const iova[] = { "--iova-mode", NULL };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n = 0;

	for (int i = 0; i < argc && n < MAX_EAL_ARGS - 6; i++)
		out[n++] = argv[i];
	if (!has_arg(argc, argv, prefix))
		out[n++] = "--file-prefix=weir";
	if (!has_arg(argc, argv, mem))
		out[n++] = "--in-memory";
	if (!has_arg(argc, argv, pci))
		out[n++] = "--no-pci";
	/* af_xdp maps the mbuf pool as one UMEM: virtual contiguity is what
	 * it needs, and VA mode gives one chunk where PA would split it. */
	if (!has_arg(argc, argv, iova))
		out[n++] = "--iova-mode=va";
	if (!has_arg(argc, argv, lc)) {
		/* The main lcore only sleeps: it shares CPU 0. Worker k runs
		 * on cpus[k], by default on CPU (k+1) mod ncpu. */
		size_t len =
			(size_t)snprintf(lcores, lcores_len, "--lcores=0@0");
		for (unsigned int k = 0; k < cfg->workers; k++) {
			int cpu =
				cfg->cpus[k] >= 0 ?
					cfg->cpus[k] :
					(int)((k + 1) %
					      (unsigned long)(ncpu > 0 ? ncpu :
									 1));
			len += (size_t)snprintf(lcores + len, lcores_len - len,
						",%u@%d", k + 1, cpu);
		}
		out[n++] = lcores;
	}
	out[n] = NULL;
	return n;
}

static int parse_app_args(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		if (c == 'f') {
			*config = optarg;
		} else {
			usage(c == 'h' ? stdout : stderr);
			exit(c == 'h' ? 0 : 2);
		}
	}
	if (!*config || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* --version, --help and --check-config FILE run without EAL. */
static void maybe_offline(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--check-config")) {
		char err[512];

		if (config_load(argv[2], &dp.cfg, err, sizeof(err))) {
			fprintf(stderr, "weir-dp: %s\n", err);
			exit(1);
		}
		printf("%s: ok\n", argv[2]);
		exit(0);
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("weir-dp %s (DPDK %s)\n", WEIR_VERSION_STRING,
		       WEIR_DPDK_VERSION_BUILT);
		exit(0);
	}
	if (argc == 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		exit(0);
	}
}

static void fill_iface(struct dataplane *d)
{
	const struct dp_config *c = &d->cfg;

	d->iface.mac = d->port.mac;
	memcpy(d->iface.vips, c->vips, sizeof(c->vips));
	d->iface.n_vips = c->n_vips;
	d->iface.local_ip = c->local_ip;
	d->iface.netmask = htonl(~0u << (32 - c->prefix_len));
	d->iface.gateway = c->gateway;
	d->iface.mtu = c->port.mtu;
	d->steer.n_workers = d->n_workers;
	d->steer.local_ip = c->local_ip;
	d->steer.port_lo = 10000; /* the TCP stack's default slice range */
	d->steer.port_hi = 59999;
}

/* The control segment weir-cp publishes tables into, named after our
 * --file-prefix (the runtime dir's last component), so one weir-cp finds
 * one weir-dp by the name an operator already uses for it. */
static int open_control(char *err, size_t errlen)
{
	const char *dir = rte_eal_get_runtime_dir(), *name = strrchr(dir, '/');

	unsigned int k = 0;
	int rc;

	name = name ? name + 1 : dir;
	rc = ctl_seg_create(
		&dp.seg, name, dp.n_workers,
		(uint64_t)dp.cfg.control.table_kb * 1024,
		dp.cfg.http.enabled ? dp.cfg.control.access_log_records : 0,
		err, errlen);
	if (rc)
		return rc;
	/* the order worker.c exports them in: packet counters, then HTTP */
	for (unsigned int c = 0; c < WEIR_CTR_MAX && k < WEIR_CTL_COUNTERS; c++)
		snprintf(dp.seg.ctl->counter_names[k++], WEIR_CTL_COUNTER_NAME,
			 "dp_%s", weir_counter_name(c));
	for (unsigned int c = 0;
	     dp.cfg.http.enabled && c < PX_CTR_MAX && k < WEIR_CTL_COUNTERS;
	     c++)
		snprintf(dp.seg.ctl->counter_names[k++], WEIR_CTL_COUNTER_NAME,
			 "http_%s", proxy_counter_name(c));
	dp.seg.ctl->n_counters = k;
	return 0;
}

static int start(char *err, size_t errlen)
{
	const struct rte_memzone *mz;
	unsigned int lcore;
	int rc;

	if (rte_lcore_count() < dp.cfg.workers + 1) {
		snprintf(err, errlen,
			 "workers: %u workers need %u lcores, EAL has %u",
			 dp.cfg.workers, dp.cfg.workers + 1, rte_lcore_count());
		return -EINVAL;
	}
	dp.n_workers = dp.cfg.workers;
	mz = rte_memzone_reserve_aligned(
		"weir_stats", sizeof(struct weir_lcore_stats) * WEIR_MAX_LCORES,
		SOCKET_ID_ANY, 0, RTE_CACHE_LINE_SIZE);
	if (!mz) {
		snprintf(err, errlen, "no hugepage memory for counters");
		return -ENOMEM;
	}
	memset(mz->addr, 0, mz->len);
	dp.stats = mz->addr;
	if ((rc = open_control(err, errlen)))
		return rc;
	if ((rc = port_open(&dp.cfg, &dp.port, err, errlen)))
		return rc;
	fill_iface(&dp);
	if ((rc = workers_init(&dp, err, errlen)))
		return rc;
	if (dp_telemetry_register(&dp))
		fprintf(stderr, "weir-dp: telemetry commands not registered\n");
	for (unsigned int i = 0; i < dp.n_workers; i++) {
		lcore = dp.workers[i].lcore_id;
		if ((rc = rte_eal_remote_launch(worker_main, &dp.workers[i],
						lcore))) {
			snprintf(err, errlen, "cannot launch worker %u", i);
			return rc;
		}
	}
	return 0;
}

/* With --in-memory the runtime dir holds only the telemetry socket, which
 * EAL leaves behind; remove both so a stopped weir-dp leaves nothing. rmdir
 * fails harmlessly if anything else is in there. */
static void remove_runtime_dir(const char *dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/dpdk_telemetry.v2", dir);
	unlink(path);
	rmdir(dir);
}

static void print_ready(void)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE], vip[16], loc[16];

	rte_ether_format_addr(mac, sizeof(mac), &dp.port.mac);
	printf("weir-dp: ready: %s on %s (%s), vip %s, local %s, %u workers, "
	       "%u queues, idle %s\n",
	       WEIR_VERSION_STRING, dp.cfg.port.iface, dp.port.driver,
	       config_ip_str(dp.cfg.vips[0], vip),
	       config_ip_str(dp.cfg.local_ip, loc), dp.n_workers,
	       dp.port.n_queues,
	       dp.cfg.idle.policy == CFG_IDLE_BUSY ? "busy-poll" : "back-off");
	printf("weir-dp: mac %s\n", mac);
	printf("weir-dp: control segment /dev/shm%s (tables from weir-cp run --dp %s)\n",
	       dp.seg.name, dp.seg.name + 6);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	char *eal_argv[MAX_EAL_ARGS], lcores[256], err[512], rundir[PATH_MAX];
	const char *config = NULL;
	int sep = argc, rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	maybe_offline(argc, argv);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			sep = i;
			break;
		}
	if (sep == argc) {
		usage(stderr);
		return 2;
	}
	if (parse_app_args(argc - sep, argv + sep, &config))
		return 2;
	if (config_load(config, &dp.cfg, err, sizeof(err))) {
		fprintf(stderr, "weir-dp: %s\n", err);
		return 1;
	}
	int n = build_eal_args(sep, argv, &dp.cfg, eal_argv, lcores,
			       sizeof(lcores));
	if (rte_eal_init(n, eal_argv) < 0) {
		fprintf(stderr, "weir-dp: EAL init failed: %s\n",
			rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = start(err, sizeof(err));
	if (rc) {
		fprintf(stderr, "weir-dp: %s\n", err);
		dp.quit = true;
	} else {
		print_ready();
	}
	while (!dp.quit)
		usleep(100000); /* the main lcore blocks; workers poll */
	rte_eal_mp_wait_lcore();
	port_close(&dp.port);
	workers_fini(&dp);
	if (dp.seg.ctl)
		ctl_seg_destroy(&dp.seg);
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	remove_runtime_dir(rundir);
	printf("weir-dp: stopped\n");
	return rc ? 1 : 0;
}
