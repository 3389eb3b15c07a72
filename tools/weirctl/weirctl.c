/* weirctl: the operator's CLI. It talks to weir-cp's API (cpcmd.c) for
 * the control plane: info, HAProxy-style stats, the table, pushes, server
 * states and the node drain; and reads weir-dp's own counters directly
 * over DPDK telemetry (the socket dpdk-telemetry.py uses), read-only. It
 * prints what a person can read, or the JSON with --json; a missing or
 * wedged process is a clear error after a bounded wait, never a hang. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cpcmd.h"

#define REPLY_MAX (64 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weirctl [--prefix NAME] [--cp PATH] [--json] [--all] COMMAND\n"
		"  show info       weir-cp and weir-dp at a glance\n"
		"  show stat       per backend and server, HAProxy's columns (weir-cp)\n"
		"  show table      the target groups behind the active table (weir-cp)\n"
		"  show stats|lcores|arp|tcp|http|servers|testapp   weir-dp's own counters\n"
		"  push FILE [--fallback]   replace the target groups (or the fallback)\n"
		"  set server BACKEND/SERVER state ready|drain|maint | weight N\n"
		"  drain on [--grace-ms N] | off\n"
		"                  drain the node (Ray's drain; new connections\n"
		"                  refused after the grace, 30 s) or end it\n"
		"  --prefix NAME  weir-dp's --file-prefix (default: weir)\n"
		"  --cp PATH      weir-cp's API socket (default /run/weir/NAME.sock)\n"
		"  --socket PATH  telemetry socket (default /var/run/dpdk/NAME/dpdk_telemetry.v2)\n"
		"  --json         print the JSON reply as is\n"
		"  --all          show counters that are zero too\n");
}

/* Sends cmd over the telemetry socket; returns the reply or NULL. */
static char *query(const char *path, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	char *buf = malloc(REPLY_MAX);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	ssize_t n;

	if (fd < 0 || !buf)
		goto fail;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	if (recv(fd, buf, REPLY_MAX - 1, 0) < 0) /* the greeting */
		goto fail;
	if (send(fd, cmd, strlen(cmd), 0) < 0)
		goto fail;
	n = recv(fd, buf, REPLY_MAX - 1, 0);
	if (n <= 0)
		goto fail;
	buf[n] = 0;
	close(fd);
	return buf;
fail:
	fprintf(stderr, "weirctl: cannot query weir-dp at %s: %s\n", path,
		errno ? strerror(errno) : "no reply");
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

static void print_value(const char *key, const cJSON *v, int all)
{
	if (cJSON_IsNumber(v)) {
		if (all || v->valuedouble != 0)
			printf("%-28s %.0f\n", key, v->valuedouble);
	} else if (cJSON_IsString(v)) {
		printf("%-28s %s\n", key, v->valuestring);
	} else {
		char *s = cJSON_PrintUnformatted(v);
		printf("%-28s %s\n", key, s ? s : "?");
		free(s);
	}
}

static int print_reply(const char *reply, const char *cmd, int all)
{
	cJSON *root = cJSON_Parse(reply), *body, *it;

	if (!root) {
		fprintf(stderr,
			"weirctl: weir-dp sent something that is not JSON\n");
		return 1;
	}
	body = cJSON_GetObjectItemCaseSensitive(root, cmd);
	if (!body || cJSON_IsNull(body)) {
		fprintf(stderr,
			"weirctl: weir-dp does not know %s (an older version?)\n",
			cmd);
		cJSON_Delete(root);
		return 1;
	}
	cJSON_ArrayForEach(it, body)
	{
		if (cJSON_IsObject(it)) { /* per-lcore blocks */
			const cJSON *c;

			printf("[%s]\n", it->string);
			cJSON_ArrayForEach(c, it)
				print_value(c->string, c, all);
		} else if (it->string) {
			print_value(it->string, it, all);
		} else {
			printf("%s\n",
			       cJSON_IsString(it) ? it->valuestring : "?");
		}
	}
	cJSON_Delete(root);
	return 0;
}

static const char *const tel_what[][2] = {
	{ "info", "/weir/info" },
	{ "stats", "/weir/stats" },
	{ "lcores", "/weir/stats/lcores" },
	{ "arp", "/weir/arp" },
	{ "tcp", "/weir/tcp" },
	{ "testapp", "/weir/testapp" },
	{ "http", "/weir/http" },
	{ "servers", "/weir/servers" },
};

/* show OBJECT over DPDK telemetry. */
static int show_dp(const char *sock, const char *obj, int json, int all)
{
	const char *cmd = NULL;
	char *reply;
	int rc;

	for (size_t i = 0; i < sizeof(tel_what) / sizeof(tel_what[0]); i++)
		if (!strcmp(obj, tel_what[i][0]))
			cmd = tel_what[i][1];
	if (!cmd) {
		fprintf(stderr,
			"weirctl: unknown object '%s' (info, stat, table, stats, lcores, arp, tcp, http, servers, testapp)\n",
			obj);
		return 2;
	}
	reply = query(sock, cmd);
	if (!reply)
		return 1;
	rc = json ? (puts(reply), 0) : print_reply(reply, cmd, all);
	free(reply);
	return rc;
}

/* show info: weir-cp's view, then weir-dp's. weir-cp may be absent (a
 * dataplane serving its last table): then weir-dp alone, with a note,
 * unless --cp named the socket. */
static int show_info(const struct cpcmd_opts *o, int cp_given, const char *tel,
		     int all)
{
	int cp = cpcmd_show_info(o);

	if (cp && cp_given)
		return 1;
	if (cp)
		fprintf(stderr, "weirctl: showing weir-dp alone\n");
	if (!o->json)
		printf("[weir-dp]\n");
	return show_dp(tel, "info", o->json, all);
}

static int run_command(int argc, char **argv, const struct cpcmd_opts *o,
		       int cp_given, const char *tel, int all)
{
	if (argc == 2 && !strcmp(argv[0], "show")) {
		if (!strcmp(argv[1], "info"))
			return show_info(o, cp_given, tel, all);
		if (!strcmp(argv[1], "stat"))
			return cpcmd_show_stat(o);
		if (!strcmp(argv[1], "table"))
			return cpcmd_show_table(o);
		return show_dp(tel, argv[1], o->json, all);
	}
	if ((argc == 2 || argc == 3) && !strcmp(argv[0], "push")) {
		if (argc == 3 && strcmp(argv[2], "--fallback")) {
			usage(stderr);
			return 2;
		}
		return cpcmd_push(o, argv[1], argc == 3);
	}
	if (argc >= 2 && !strcmp(argv[0], "set") && !strcmp(argv[1], "server"))
		return cpcmd_set_server(o, argc - 2, argv + 2);
	if ((argc == 2 || argc == 4) && !strcmp(argv[0], "drain"))
		return cpcmd_drain(o, argv[1], argc == 4 ? argv[2] : NULL,
				   argc == 4 ? argv[3] : NULL);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "cp", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = "weir", *sock = NULL, *cp = NULL;
	char path[108], cp_path[108];
	struct cpcmd_opts o = { 0 };
	int all = 0, c;

	/* "+": options end at the command (push FILE --fallback) */
	while ((c = getopt_long(argc, argv, "+p:s:c:jah", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			prefix = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'c':
			cp = optarg;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'a':
			all = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (strchr(prefix, '/') || strlen(prefix) > 64) {
		fprintf(stderr,
			"weirctl: --prefix must be a name, not a path\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/var/run/dpdk/%s/dpdk_telemetry.v2",
		 prefix);
	snprintf(cp_path, sizeof(cp_path), "/run/weir/%s.sock", prefix);
	o.sock = cp ? cp : cp_path;
	return run_command(argc - optind, argv + optind, &o, cp != NULL,
			   sock ? sock : path, all);
}
