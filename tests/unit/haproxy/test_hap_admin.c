/* test_hap_admin: weir-haproxy's admin socket without a weir-cp behind it.
 * The command layer (hap_admin_line) answers as HAProxy does where it can
 * without weir-cp, and the loop (a forked child serving a real Unix
 * socket) answers one command per connection, keeps prompt mode, refuses
 * malformed input with an error and is never blocked by an idle client. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hap_admin.h"
#include "wtest.h"

static struct hap_cfg cfg;
static struct hap_admin adm;

static void setup(const char *dir)
{
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.cp_socket, sizeof(cfg.cp_socket), "%s/no-weir-cp.sock",
		 dir);
	snprintf(cfg.stats_socket, sizeof(cfg.stats_socket), "%s/admin.sock",
		 dir);
	cfg.maxconn = 20000;
}

/* hap_admin_line on a fresh output; returns the text (static). */
static const char *line(const char *in, bool *prompt, bool *close)
{
	static char buf[16384];
	struct hap_out o = { 0 };

	*close = hap_admin_line(&adm, in, prompt, &o);
	snprintf(buf, sizeof(buf), "%s", o.p ? o.p : "");
	hap_out_free(&o);
	return buf;
}

static void test_commands(void)
{
	bool prompt = false, close;
	const char *r;

	r = line("frobnicate", &prompt, &close);
	WT_CHECK(!strncmp(r, "Unknown command: 'frobnicate'\n\n", 31));
	WT_CHECK(strstr(r, "show servers state") != NULL && close);
	r = line("set server nobackend state drain", &prompt, &close);
	WT_CHECK(!strcmp(r, "Require 'backend/server'.\n\n"));
	r = line("set server a/b state sleepy", &prompt, &close);
	WT_CHECK(strstr(r, "expects 'ready', 'drain' and 'maint'") != NULL);
	r = line("set server a/b weight 300", &prompt, &close);
	WT_CHECK(strstr(r, "between 0 and 256") != NULL);
	r = line("set server a/b state drain", &prompt, &close);
	WT_CHECK(!strncmp(r, "Weir: weir-cp is not running", 28));
	r = line("show stat", &prompt, &close);
	WT_CHECK(!strncmp(r, "Weir: no stats from weir-cp", 27));
	r = line("show info", &prompt, &close);
	WT_CHECK(!strncmp(r, "Name: HAProxy\n", 14) &&
		 strstr(r, "Weir_cp: unreachable\n") &&
		 strstr(r, "Maxconn: 20000\n"));
	r = line("show version;show bogus", &prompt, &close);
	WT_CHECK(!strncmp(r, HAP_VERSION "\n\nUnknown command: 'show bogus'",
			  strlen(HAP_VERSION) + 30));
	r = line("", &prompt, &close);
	WT_CHECK(!*r && close);
	r = line("quit", &prompt, &close);
	WT_CHECK(!*r && close);
}

static void test_prompt(void)
{
	bool prompt = false, close;
	const char *r;

	r = line("prompt", &prompt, &close);
	WT_CHECK(prompt && !close && !strcmp(r, "\n> "));
	r = line("help", &prompt, &close);
	WT_CHECK(!close && strstr(r, "valid at this level") &&
		 !strcmp(r + strlen(r) - 2, "> "));
	r = line("", &prompt, &close);
	WT_CHECK(!close && !strcmp(r, "> "));
	r = line("prompt", &prompt, &close); /* toggles it off: close after */
	WT_CHECK(!prompt && close);
	prompt = true;
	r = line("quit", &prompt, &close);
	WT_CHECK(close && !*r);
}

/* ---- the loop, in a child ------------------------------------------------ */

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = sig;
}

static pid_t serve(void)
{
	char err[256];
	pid_t pid;

	if (hap_admin_open(&adm, &cfg, err, sizeof(err))) {
		printf("#   %s\n", err);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		signal(SIGTERM, on_term);
		hap_admin_run(&adm, &stop);
		hap_admin_close(&adm);
		_exit(0);
	}
	close(adm.fd); /* the child serves it */
	return pid;
}

/* Sends in (n bytes), half-closes if shut, reads to EOF. */
static int exchange(const char *in, size_t n, bool shut, char *out, size_t cap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t got = 0;
	ssize_t k;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.stats_socket);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    send(fd, in, n, MSG_NOSIGNAL) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	while (got + 1 < cap && (k = recv(fd, out + got, cap - 1 - got, 0)) > 0)
		got += (size_t)k;
	out[got] = 0;
	close(fd);
	return k < 0 ? -2 : (int)got;
}

static void test_socket(void)
{
	static char big[HAP_ADMIN_LINE_MAX * 3], out[65536];
	pid_t pid = serve();
	int idle = socket(AF_UNIX, SOCK_STREAM, 0), st = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	WT_CHECK(pid > 0);
	if (pid <= 0)
		return;
	WT_CHECK(exchange("show info\n", 10, false, out, sizeof(out)) > 0 &&
		 !strncmp(out, "Name: HAProxy\n", 14));
	WT_CHECK(exchange("prompt\nhelp\nquit\n", 17, false, out, sizeof(out)) >
			 0 &&
		 !strncmp(out, "\n> The following", 16));
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\n';
	WT_CHECK(exchange(big, sizeof(big), false, out, sizeof(out)) > 0 &&
		 strstr(out, "Command line too long."));
	WT_CHECK(exchange("show\0info\n", 10, false, out, sizeof(out)) > 0 &&
		 strstr(out, "NUL byte"));
	WT_CHECK(exchange("show version", 12, true, out, sizeof(out)) > 0 &&
		 !strncmp(out, HAP_VERSION, strlen(HAP_VERSION)));
	/* an idle client holds a slot; the next one is served all the same */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", cfg.stats_socket);
	WT_CHECK(!connect(idle, (struct sockaddr *)&sa, sizeof(sa)));
	WT_CHECK(exchange("show version\n", 13, false, out, sizeof(out)) > 0);
	for (int i = 0; i < 3 * HAP_ADMIN_CLIENTS; i++)
		exchange("help\n", 5, false, out, sizeof(out));
	WT_CHECK(exchange("show version\n", 13, false, out, sizeof(out)) > 0);
	close(idle);
	kill(pid, SIGTERM);
	WT_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
		 WEXITSTATUS(st) == 0);
	WT_CHECK(access(cfg.stats_socket, F_OK) && errno == ENOENT);
}

int main(void)
{
	char dir[] = "/tmp/test_hap_admin.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	setup(dir);
	adm.cfg = &cfg;
	WT_RUN(test_commands);
	WT_RUN(test_prompt);
	WT_RUN(test_socket);
	rmdir(dir);
	return wt_done();
}
