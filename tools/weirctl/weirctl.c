/* weirctl: the operator's CLI. Until weir-cp exists it reads weir-dp directly
 * over DPDK telemetry (the same socket dpdk-telemetry.py uses) and prints
 * what a person can read, or the raw JSON with --json. Read-only: it cannot
 * disturb the dataplane, and a missing or wedged weir-dp is a clear error
 * after a bounded wait, never a hang. */
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

#define REPLY_MAX (64 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weirctl [--prefix NAME] [--json] [--all] show info|stats|lcores|arp|tcp|http|servers|testapp\n"
		"  --prefix NAME  weir-dp's --file-prefix (default: weir)\n"
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const what[][2] = {
		{ "info", "/weir/info" },
		{ "stats", "/weir/stats" },
		{ "lcores", "/weir/stats/lcores" },
		{ "arp", "/weir/arp" },
		{ "tcp", "/weir/tcp" },
		{ "testapp", "/weir/testapp" },
		{ "http", "/weir/http" },
		{ "servers", "/weir/servers" },
	};
	const char *prefix = "weir", *sock = NULL, *cmd = NULL;
	char path[108];
	int json = 0, all = 0, c, rc;
	char *reply;

	while ((c = getopt_long(argc, argv, "p:s:jah", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			prefix = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = 1;
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
	if (argc - optind != 2 || strcmp(argv[optind], "show")) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
		if (!strcmp(argv[optind + 1], what[i][0]))
			cmd = what[i][1];
	if (!cmd) {
		fprintf(stderr,
			"weirctl: unknown object '%s' (info, stats, lcores, arp, tcp, http, servers, testapp)\n",
			argv[optind + 1]);
		return 2;
	}
	if (strchr(prefix, '/') || strlen(prefix) > 64) {
		fprintf(stderr,
			"weirctl: --prefix must be a name, not a path\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/var/run/dpdk/%s/dpdk_telemetry.v2",
		 prefix);
	reply = query(sock ? sock : path, cmd);
	if (!reply)
		return 1;
	rc = json ? (puts(reply), 0) : print_reply(reply, cmd, all);
	free(reply);
	return rc;
}
