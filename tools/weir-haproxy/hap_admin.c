/* hap_admin: see hap_admin.h. The commands (hap_admin_line) read weir-cp
 * through cpapi and render with hap_stat; the loop below only moves bytes.
 * Every weir-cp call is bounded by cpapi's timeout. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cpapi.h"
#include "hap_admin.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* GET path from weir-cp: the parsed reply, or NULL (err says why). */
static cJSON *cp_get(struct hap_admin *a, const char *path, char *err,
		     size_t errlen)
{
	char *reply = NULL;
	int status = 0;
	cJSON *j;

	if (cpapi_call(a->cfg->cp_socket, "GET", path, NULL, 0, &status, &reply,
		       err, errlen))
		return NULL;
	j = status == 200 ? cJSON_Parse(reply) : NULL;
	if (!j)
		snprintf(err, errlen, "weir-cp answered %d to %s", status,
			 path);
	free(reply);
	return j;
}

static const char help_text[] =
	"The following commands are valid at this level:\n"
	"  help                                    : list the commands\n"
	"  prompt                                  : toggle interactive mode with prompt\n"
	"  quit                                    : disconnect\n"
	"  show info                               : report information about the running process\n"
	"  show stat                               : report counters for each proxy and server (CSV)\n"
	"  show servers state [<backend>]          : dump volatile server information (version 1)\n"
	"  show version                            : show the version of the current process\n"
	"  set server <bk>/<srv> state ready|drain|maint : change a server's administrative state\n"
	"  set server <bk>/<srv> weight <0-256>    : change a server's weight\n"
	"  enable server <bk>/<srv>                : same as 'set server <bk>/<srv> state ready'\n"
	"  disable server <bk>/<srv>               : same as 'set server <bk>/<srv> state maint'\n";

static void cmd_show(struct hap_admin *a, char **w, int n, struct hap_out *o)
{
	char err[512] = "";
	cJSON *j;

	if (n == 2 && !strcmp(w[1], "version")) {
		hap_out_add(o, "%s\n\n", HAP_VERSION);
		return;
	}
	if (n == 2 && !strcmp(w[1], "info")) {
		j = cp_get(a, "/api/v1/info", err, sizeof(err));
		hap_show_info(o, j, a->cfg,
			      (now_ns() - a->start_ns) / 1000000000ull);
		cJSON_Delete(j);
		return;
	}
	if (n > 2 && !strcmp(w[1], "stat")) {
		hap_out_add(
			o,
			"Weir: 'show stat' takes no arguments here (the CSV form only).\n\n");
		return;
	}
	if ((n == 2 && !strcmp(w[1], "stat")) ||
	    (n >= 3 && n <= 4 && !strcmp(w[1], "servers") &&
	     !strcmp(w[2], "state"))) {
		j = cp_get(a, "/api/v1/stats", err, sizeof(err));
		if (!j)
			hap_out_add(o, "Weir: no stats from weir-cp: %s\n\n",
				    err);
		else if (w[1][0] == 's' && w[1][1] == 't')
			hap_show_stat(o, j, a->cfg);
		else if (hap_show_servers_state(o, j, a->cfg,
						n == 4 ? w[3] : NULL))
			hap_out_add(o, "Can't find backend.\n\n");
		cJSON_Delete(j);
		return;
	}
	hap_out_add(o, "Unknown command: 'show %s'\n\n%s\n", n > 1 ? w[1] : "",
		    help_text);
}

/* PUT /api/v1/servers/BK/SRV with body; weir-cp's refusal, HAProxy-worded
 * where HAProxy has a word for it. */
static void put_server(struct hap_admin *a, const char *target,
		       const char *body, struct hap_out *o)
{
	const char *slash = strchr(target, '/');
	char path[600], err[512] = "", *reply = NULL;
	int status = 0;

	if (!slash || slash == target || !slash[1] || strchr(slash + 1, '/') ||
	    strlen(target) > 400) {
		hap_out_add(o, "Require 'backend/server'.\n\n");
		return;
	}
	snprintf(path, sizeof(path), "/api/v1/servers/%s", target);
	if (cpapi_call(a->cfg->cp_socket, "PUT", path, body, strlen(body),
		       &status, &reply, err, sizeof(err)))
		hap_out_add(o, "Weir: %s\n\n", err);
	else if (status == 404)
		hap_out_add(o, "No such server.\n\n");
	else if (status != 200)
		hap_out_add(o, "Weir: weir-cp refused it (%d): %s\n\n", status,
			    reply ? reply : "");
	else
		hap_out_add(o, "\n");
	free(reply);
}

static void cmd_set_server(struct hap_admin *a, char **w, int n,
			   struct hap_out *o)
{
	char body[64];
	long v;
	char *end;

	if (n == 5 && !strcmp(w[3], "state")) {
		if (strcmp(w[4], "ready") && strcmp(w[4], "drain") &&
		    strcmp(w[4], "maint")) {
			hap_out_add(
				o,
				"'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n");
			return;
		}
		snprintf(body, sizeof(body), "{\"state\": \"%s\"}", w[4]);
		put_server(a, w[2], body, o);
		return;
	}
	if (n == 5 && !strcmp(w[3], "weight")) {
		v = strtol(w[4], &end, 10);
		if (!w[4][0] || *end || v < 0 || v > 256) {
			hap_out_add(
				o,
				"Weight must be an integer between 0 and 256.\n\n");
			return;
		}
		snprintf(body, sizeof(body), "{\"weight\": %ld}", v);
		put_server(a, w[2], body, o);
		return;
	}
	hap_out_add(
		o,
		"'set server <srv>' only supports 'state' and 'weight' here: 'set server <bk>/<srv> state ready|drain|maint'.\n\n");
}

static int split_words(char *cmd, char **w, int max)
{
	char *save = NULL;
	int n = 0;

	for (char *tok = strtok_r(cmd, " \t\r", &save); tok;
	     tok = strtok_r(NULL, " \t\r", &save))
		if (n < max)
			w[n++] = tok;
		else
			return -1;
	return n;
}

/* One command; returns true for quit. */
static bool command(struct hap_admin *a, char *cmd, bool *prompt,
		    struct hap_out *o)
{
	char *w[8];
	int n = split_words(cmd, w, 8);

	if (n < 0) {
		hap_out_add(o, "Unknown command: too many words.\n\n%s\n",
			    help_text);
		return false;
	}
	if (n == 0)
		return !*prompt;
	if (!strcmp(w[0], "quit"))
		return true;
	if (!strcmp(w[0], "prompt"))
		*prompt = !*prompt;
	else if (!strcmp(w[0], "help"))
		hap_out_add(o, "%s\n", help_text);
	else if (!strcmp(w[0], "show"))
		cmd_show(a, w, n, o);
	else if (!strcmp(w[0], "set") && n >= 2 && !strcmp(w[1], "server"))
		cmd_set_server(a, w, n, o);
	else if ((!strcmp(w[0], "enable") || !strcmp(w[0], "disable")) &&
		 n == 3 && !strcmp(w[1], "server"))
		put_server(a, w[2],
			   w[0][0] == 'e' ? "{\"state\": \"ready\"}" :
					    "{\"state\": \"maint\"}",
			   o);
	else
		hap_out_add(o, "Unknown command: '%s'\n\n%s\n", w[0],
			    help_text);
	return false;
}

bool hap_admin_line(struct hap_admin *a, const char *line, bool *prompt,
		    struct hap_out *out)
{
	char buf[HAP_ADMIN_LINE_MAX + 1], *cmd, *save = NULL;
	bool was_prompt = *prompt, quit = false;

	snprintf(buf, sizeof(buf), "%s", line);
	if (!buf[strspn(buf, " \t\r")])
		quit = !*prompt;
	for (cmd = strtok_r(buf, ";", &save); cmd && !quit;
	     cmd = strtok_r(NULL, ";", &save))
		quit = command(a, cmd, prompt, out);
	if (*prompt && !quit)
		hap_out_add(out, was_prompt ? "> " : "\n> ");
	return quit || !*prompt;
}

/* ---- the socket -------------------------------------------------------- */

int hap_admin_open(struct hap_admin *a, const struct hap_cfg *cfg, char *err,
		   size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	struct stat st;
	int fd, n;

	memset(a, 0, sizeof(*a));
	a->fd = -1;
	a->cfg = cfg;
	a->start_ns = now_ns();
	for (int i = 0; i < HAP_ADMIN_CLIENTS; i++)
		a->cl[i].fd = -1;
	n = snprintf(tmp, sizeof(tmp), "%s.%d.tmp", cfg->stats_socket,
		     (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "stats socket %s: path too long",
			 cfg->stats_socket);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, tmp, (size_t)n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unlink(tmp);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(tmp, 0666) || listen(fd, 64) ||
	    rename(tmp, cfg->stats_socket) || stat(cfg->stats_socket, &st)) {
		int e = errno;

		snprintf(err, errlen, "stats socket %s: %s", cfg->stats_socket,
			 strerror(e));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -e;
	}
	a->fd = fd;
	a->dev = st.st_dev, a->ino = st.st_ino;
	snprintf(a->path, sizeof(a->path), "%s", cfg->stats_socket);
	return 0;
}

static void client_close(struct hap_client *c)
{
	close(c->fd);
	c->fd = -1;
	hap_out_free(&c->out);
}

static void client_accept(struct hap_admin *a)
{
	for (;;) {
		int fd = accept4(a->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		int i;

		if (fd < 0)
			return;
		for (i = 0; i < HAP_ADMIN_CLIENTS && a->cl[i].fd >= 0; i++)
			;
		if (i == HAP_ADMIN_CLIENTS) {
			close(fd); /* full: the client retries */
			continue;
		}
		memset(&a->cl[i], 0, sizeof(a->cl[i]));
		a->cl[i].fd = fd;
		a->cl[i].last_ns = now_ns();
	}
}

/* Runs every complete line in c->in. */
static void client_lines(struct hap_admin *a, struct hap_client *c, bool eof)
{
	char *nl;

	while (!c->closing && (nl = memchr(c->in, '\n', c->in_len))) {
		size_t len = (size_t)(nl - c->in);

		*nl = 0;
		c->closing = hap_admin_line(a, c->in, &c->prompt, &c->out);
		memmove(c->in, nl + 1, c->in_len - len - 1);
		c->in_len -= len + 1;
	}
	if (c->closing)
		return;
	if (eof && c->in_len) {
		c->in[c->in_len] = 0;
		hap_admin_line(a, c->in, &c->prompt, &c->out);
	}
	if (eof) {
		c->closing = true;
	} else if (c->in_len >= sizeof(c->in) - 1) {
		hap_out_add(&c->out, "Command line too long.\n");
		c->closing = true;
	}
}

static void client_read(struct hap_admin *a, struct hap_client *c)
{
	ssize_t k = recv(c->fd, c->in + c->in_len,
			 sizeof(c->in) - 1 - c->in_len, 0);

	if (k < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (k < 0) {
		client_close(c);
		return;
	}
	c->in_len += (size_t)k;
	if (memchr(c->in + c->in_len - (size_t)k, 0, (size_t)k)) {
		hap_out_add(&c->out, "Weir: a NUL byte in the command.\n");
		c->in_len = 0;
		c->closing = true;
		return;
	}
	client_lines(a, c, k == 0);
}

/* Answered and closing: send our FIN, then read and drop what the
 * client still sends until its own FIN (closing with unread input would
 * reset the connection and lose our answer). */
static void client_linger(struct hap_client *c)
{
	char sink[4096];
	ssize_t k;

	if (!c->lingering) {
		shutdown(c->fd, SHUT_WR);
		c->lingering = true;
	}
	while ((k = recv(c->fd, sink, sizeof(sink), 0)) > 0)
		;
	if (k == 0 || (errno != EAGAIN && errno != EINTR))
		client_close(c);
}

static void client_write(struct hap_client *c)
{
	while (c->out_off < c->out.len) {
		ssize_t k = send(c->fd, c->out.p + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (k <= 0) {
			client_close(c);
			return;
		}
		c->out_off += (size_t)k;
	}
	c->out.len = c->out_off = 0;
	if (c->out.oom)
		client_close(c);
	else if (c->closing)
		client_linger(c);
}

static void client_event(struct hap_admin *a, struct hap_client *c, short rev)
{
	c->last_ns = now_ns();
	if (c->lingering) {
		client_linger(c);
		return;
	}
	if ((rev & POLLIN) && !c->closing)
		client_read(a, c);
	if (c->fd >= 0 && (rev & (POLLERR | POLLHUP | POLLNVAL)) &&
	    !(rev & POLLIN))
		client_close(c);
	if (c->fd >= 0)
		client_write(c);
}

/* A newer stand-in renamed its socket over ours (and its -sf signal may
 * not come: Ray's actor restarted, say): we serve nothing any more. */
static bool socket_is_ours(const struct hap_admin *a)
{
	struct stat st;

	return !stat(a->path, &st) && st.st_dev == a->dev &&
	       st.st_ino == a->ino;
}

void hap_admin_run(struct hap_admin *a, volatile sig_atomic_t *stop)
{
	struct pollfd pf[HAP_ADMIN_CLIENTS + 1];
	int map[HAP_ADMIN_CLIENTS + 1];
	uint64_t checked = now_ns();

	while (!*stop) {
		int n = 1;
		uint64_t now = now_ns();

		pf[0] = (struct pollfd){ .fd = a->fd, .events = POLLIN };
		for (int i = 0; i < HAP_ADMIN_CLIENTS; i++) {
			struct hap_client *c = &a->cl[i];

			if (c->fd < 0)
				continue;
			if (now - c->last_ns > (c->lingering ?
							HAP_ADMIN_LINGER_MS :
							HAP_ADMIN_IDLE_MS) *
						       1000000ull) {
				client_close(c);
				continue;
			}
			pf[n] = (struct pollfd){
				.fd = c->fd,
				.events = (short)((c->closing && !c->lingering ?
							   0 :
							   POLLIN) |
						  (c->out.len ? POLLOUT : 0))
			};
			map[n++] = i;
		}
		if (now - checked > 500000000ull) {
			if (!socket_is_ours(a))
				return;
			checked = now;
		}
		if (poll(pf, (nfds_t)n, 500) <= 0)
			continue;
		if (pf[0].revents & POLLIN)
			client_accept(a);
		for (int k = 1; k < n; k++)
			if (pf[k].revents)
				client_event(a, &a->cl[map[k]], pf[k].revents);
	}
}

void hap_admin_close(struct hap_admin *a)
{
	for (int i = 0; i < HAP_ADMIN_CLIENTS; i++)
		if (a->cl[i].fd >= 0)
			client_close(&a->cl[i]);
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
	if (a->path[0] && socket_is_ours(a))
		unlink(a->path);
}
