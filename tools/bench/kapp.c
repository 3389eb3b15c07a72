/* weir-kapp: weir-dp's four test applications served by the Linux kernel,
 * the baseline of tools/bench. One thread, epoll, non-blocking sockets,
 * the same semantics and ports as weir-dp's `test_apps`:
 *
 *   echo     send back what arrives; echo the half-close too
 *   discard  read and drop; close on the peer's FIN
 *   source   send BYTES bytes, byte i = i mod 251, then half-close
 *   sink     read to the peer's FIN, answer the lowercase hex SHA-256 of
 *            what arrived plus "\n", close
 *
 * usage: weir-kapp [--listen IP] --app PORT:MODE[:BYTES] ... [--verbose]
 *
 * Prints "weir-kapp: ready" once every port listens; on SIGINT/SIGTERM it
 * prints its counters as one JSON line and exits 0. Like weir-dp's apps,
 * echo stops reading while its replies wait for send space (back-pressure),
 * and source fills the socket only as it drains. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchio.h"

#define MAX_APPS 16
#define ECHO_BUF (64 * 1024)

enum mode {
	M_ECHO,
	M_DISCARD,
	M_SOURCE,
	M_SINK
};
static const char *const mode_names[] = { "echo", "discard", "source", "sink" };

struct app {
	int kind; /* 0: listener */
	int fd;
	uint16_t port;
	enum mode mode;
	uint64_t bytes;
};

struct conn {
	int kind; /* 1: connection */
	int fd;
	enum mode mode;
	bool peer_fin, wr_shut, want_out;
	uint64_t to_send, sent, received;
	size_t pend_off, pend_len; /* echo: bytes read, not yet written back */
	unsigned char *pend;
	SHA256_CTX sha;
};

static struct {
	uint64_t accepted, completed, failed, bytes_in, bytes_out, sha_sent;
} st;

static volatile sig_atomic_t stop;
static int ep;
static bool verbose;
static unsigned char iobuf[BENCH_IOBUF];

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "weir-kapp: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: weir-kapp [--listen IP] --app PORT:MODE[:BYTES] ... [--verbose]\n"
		"  MODE: echo, discard, source (BYTES required), sink\n");
	exit(2);
}

static void set_events(struct conn *c, bool in, bool out)
{
	struct epoll_event ev = { .events = (in ? EPOLLIN : 0) |
					    (out ? EPOLLOUT : 0),
				  .data.ptr = c };

	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
		die("epoll_ctl");
	c->want_out = out;
}

static void conn_close(struct conn *c, bool ok)
{
	if (ok)
		st.completed++;
	else
		st.failed++;
	if (verbose) {
		char cc[16] = "?";
		socklen_t l = sizeof(cc);

		getsockopt(c->fd, IPPROTO_TCP, TCP_CONGESTION, cc, &l);
		cc[sizeof(cc) - 1] = 0;
		fprintf(stderr,
			"weir-kapp: %s conn closed %s: in %llu out %llu cc %s\n",
			mode_names[c->mode], ok ? "ok" : "failed",
			(unsigned long long)c->received,
			(unsigned long long)c->sent, cc);
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->pend);
	free(c);
}

static void half_close(struct conn *c)
{
	if (!c->wr_shut) {
		shutdown(c->fd, SHUT_WR);
		c->wr_shut = true;
	}
}

/* Returns false when the connection is gone. */
static bool source_fill(struct conn *c)
{
	while (c->sent < c->to_send) {
		size_t n;
		const unsigned char *b =
			bench_pattern_at(c->sent, c->to_send - c->sent, &n);
		ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->want_out)
					set_events(c, true, true);
				return true;
			}
			if (errno == EINTR)
				continue;
			conn_close(c, false);
			return false;
		}
		c->sent += (uint64_t)w;
		st.bytes_out += (uint64_t)w;
	}
	half_close(c);
	if (c->want_out)
		set_events(c, true, false);
	if (c->peer_fin) {
		conn_close(c, true);
		return false;
	}
	return true;
}

/* Echo: write back what waits; read more only when nothing waits. */
static bool echo_flush(struct conn *c)
{
	while (c->pend_len) {
		ssize_t w = send(c->fd, c->pend + c->pend_off, c->pend_len,
				 MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				set_events(
					c, false,
					true); /* stop reading: back-pressure */
				return true;
			}
			if (errno == EINTR)
				continue;
			conn_close(c, false);
			return false;
		}
		c->pend_off += (size_t)w;
		c->pend_len -= (size_t)w;
		c->sent += (uint64_t)w;
		st.bytes_out += (uint64_t)w;
	}
	c->pend_off = 0;
	if (c->peer_fin) {
		half_close(c);
		conn_close(c, true);
		return false;
	}
	if (c->want_out)
		set_events(c, true, false);
	return true;
}

static bool sink_answer(struct conn *c)
{
	char hex[BENCH_SHA_HEX_LEN + 1];

	bench_sha_hex(&c->sha, hex);
	/* 65 bytes into an empty send buffer: never short. */
	ssize_t w = send(c->fd, hex, BENCH_SHA_HEX_LEN, MSG_NOSIGNAL);
	if (w == BENCH_SHA_HEX_LEN) {
		st.sha_sent++;
		c->sent += (uint64_t)w;
		st.bytes_out += (uint64_t)w;
	}
	half_close(c);
	conn_close(c, w == BENCH_SHA_HEX_LEN);
	return false;
}

static void on_readable(struct conn *c)
{
	for (int rounds = 0; rounds < 16; rounds++) {
		unsigned char *buf = iobuf;
		size_t cap = BENCH_IOBUF;
		ssize_t r;

		if (c->mode == M_ECHO) {
			if (c->pend_len)
				return; /* wait for send space first */
			buf = c->pend;
			cap = ECHO_BUF;
		}
		r = recv(c->fd, buf, cap, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			if (errno == EINTR)
				continue;
			conn_close(c, false);
			return;
		}
		if (r == 0) {
			c->peer_fin = true;
			switch (c->mode) {
			case M_ECHO:
				echo_flush(c);
				return;
			case M_SINK:
				sink_answer(c);
				return;
			case M_SOURCE:
				if (c->sent == c->to_send)
					conn_close(c, true);
				else
					set_events(c, false,
						   true); /* keep sending */
				return;
			case M_DISCARD:
				conn_close(c, true);
				return;
			}
			return;
		}
		c->received += (uint64_t)r;
		st.bytes_in += (uint64_t)r;
		if (c->mode == M_SINK)
			SHA256_Update(&c->sha, buf, (size_t)r);
		else if (c->mode == M_ECHO) {
			c->pend_len = (size_t)r;
			c->pend_off = 0;
			if (!echo_flush(c))
				return;
		}
	}
}

static void on_accept(struct app *a)
{
	for (int i = 0; i < 256; i++) {
		int fd = accept4(a->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "weir-kapp: accept on %u: %s\n",
					a->port, strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c ||
		    (a->mode == M_ECHO && !(c->pend = malloc(ECHO_BUF)))) {
			free(c);
			close(fd);
			st.failed++;
			continue;
		}
		st.accepted++;
		c->kind = 1;
		c->fd = fd;
		c->mode = a->mode;
		c->to_send = a->mode == M_SOURCE ? a->bytes : 0;
		if (a->mode == M_SINK)
			SHA256_Init(&c->sha);
		if (a->mode == M_ECHO) {
			int one = 1;

			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
				   sizeof(one));
		}
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			die("epoll_ctl add");
		if (a->mode == M_SOURCE)
			source_fill(c);
	}
}

static void parse_app(const char *arg, struct app *a)
{
	char buf[64], *mode, *bytes, *end;
	unsigned long port;

	if (strlen(arg) >= sizeof(buf))
		usage();
	strcpy(buf, arg);
	mode = strchr(buf, ':');
	if (!mode)
		usage();
	*mode++ = 0;
	bytes = strchr(mode, ':');
	if (bytes)
		*bytes++ = 0;
	errno = 0;
	port = strtoul(buf, &end, 10);
	if (*end || port < 1 || port > 65535)
		usage();
	a->port = (uint16_t)port;
	for (int m = 0; m < 4; m++)
		if (!strcmp(mode, mode_names[m]))
			a->mode = (enum mode)m;
	if (strcmp(mode, mode_names[a->mode]))
		usage();
	if (a->mode == M_SOURCE) {
		if (!bytes)
			usage();
		a->bytes = strtoull(bytes, &end, 10);
		if (*end || errno)
			usage();
	}
}

int main(int argc, char **argv)
{
	struct app apps[MAX_APPS];
	struct in_addr listen_ip = { .s_addr = htonl(INADDR_ANY) };
	unsigned int n_apps = 0;
	struct sigaction sa = { .sa_handler = on_signal };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &listen_ip) != 1)
				usage();
		} else if (!strcmp(argv[i], "--app") && i + 1 < argc) {
			if (n_apps == MAX_APPS)
				usage();
			memset(&apps[n_apps], 0, sizeof(apps[0]));
			parse_app(argv[++i], &apps[n_apps++]);
		} else if (!strcmp(argv[i], "--verbose") ||
			   !strcmp(argv[i], "-v")) {
			verbose = true;
		} else {
			usage();
		}
	}
	if (!n_apps)
		usage();
	bench_setup();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1");
	for (unsigned int i = 0; i < n_apps; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr = listen_ip,
					   .sin_port = htons(apps[i].port) };
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.ptr = &apps[i] };
		int one = 1;

		apps[i].kind = 0;
		apps[i].fd = socket(
			AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (apps[i].fd < 0)
			die("socket");
		setsockopt(apps[i].fd, SOL_SOCKET, SO_REUSEADDR, &one,
			   sizeof(one));
		if (bind(apps[i].fd, (struct sockaddr *)&sin, sizeof(sin)))
			die("bind");
		if (listen(apps[i].fd, 4096))
			die("listen");
		if (epoll_ctl(ep, EPOLL_CTL_ADD, apps[i].fd, &ev))
			die("epoll_ctl");
	}
	printf("weir-kapp: ready: %u apps on %s\n", n_apps,
	       inet_ntoa(listen_ip));
	fflush(stdout);
	while (!stop) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 1000);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			int kind = *(int *)evs[i].data.ptr;

			if (kind == 0) {
				on_accept(evs[i].data.ptr);
				continue;
			}
			struct conn *c = evs[i].data.ptr;
			uint32_t e = evs[i].events;

			/* A connection closed while handling an earlier event
			 * of this batch cannot appear later in it: each fd is
			 * reported once per epoll_wait. */
			if (e & EPOLLERR) {
				conn_close(c, false);
				continue;
			}
			if (e & EPOLLOUT) {
				bool alive = c->mode == M_SOURCE ?
						     source_fill(c) :
					     c->mode == M_ECHO ? echo_flush(c) :
								 true;

				if (!alive)
					continue;
			}
			if ((e & EPOLLHUP) && c->peer_fin) {
				conn_close(
					c,
					false); /* reset while still sending */
				continue;
			}
			if (e & (EPOLLIN | EPOLLHUP))
				on_readable(c);
		}
	}
	printf("{\"accepted\":%llu,\"completed\":%llu,\"failed\":%llu,\"bytes_in\":%llu,"
	       "\"bytes_out\":%llu,\"sha_sent\":%llu}\n",
	       (unsigned long long)st.accepted,
	       (unsigned long long)st.completed, (unsigned long long)st.failed,
	       (unsigned long long)st.bytes_in,
	       (unsigned long long)st.bytes_out,
	       (unsigned long long)st.sha_sent);
	return 0;
}
