/* weir-tcpbench: the client side of tools/bench, against weir-dp's test
 * applications or weir-kapp (the same apps on the Linux kernel).
 *
 *   weir-tcpbench rx  HOST PORT BYTES   connect to a source app, read to EOF,
 *                                       check every byte (i mod 251)
 *   weir-tcpbench tx  HOST PORT BYTES   send BYTES pattern bytes to a sink
 *                                       app, half-close, check its SHA-256
 *   weir-tcpbench cps HOST PORT [--conc N] [--duration S] [--count N]
 *                      [--source BYTES]
 *                                       N concurrent connections to an echo
 *                                       app, each: connect, write 16 bytes,
 *                                       read them back, close; --source:
 *                                       to a source app instead, each reads
 *                                       BYTES to EOF (the server closes
 *                                       first, so TIME_WAIT is the server's)
 *                                       and checks them; --count: stop after
 *                                       N connections instead of S seconds
 *   common: [--timeout S] (whole run, default 300 s)
 *
 * Prints one JSON line; exit status 0 when the run was correct (every byte
 * checked, or at least one connection completed and none corrupted), 1
 * otherwise, 2 for a usage error. Every wait is bounded by --timeout.
 *
 * rx/tx time runs from before connect() to EOF (rx) or to the SHA reply
 * (tx), so it includes the handshake and the close. cps counts connections
 * that completed (16 bytes echoed intact) within --duration; connections
 * still open at the deadline get 2 s to finish but are not counted. Closes
 * are graceful (FIN) by default; the client ends in TIME_WAIT, which
 * net.ipv4.tcp_tw_reuse=1 lets connect() reuse after 1 s. --rst closes
 * with SO_LINGER 0 (RST) instead. "refused" counts connections answered
 * with RST (ECONNREFUSED, ECONNRESET): a server out of TCBs. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "benchio.h"

#define ECHO_LEN 16
#define CONN_TIMEOUT 5.0 /* seconds, one cps connection */
#define MAX_CONC 8192
#define LAT_BUCKETS 2000 /* 50 us each: 0..100 ms, last = more */

static unsigned char iobuf[BENCH_IOBUF];
static double deadline;
static char cc_name[16] = "?";

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: weir-tcpbench rx HOST PORT BYTES [--timeout S]\n"
		"       weir-tcpbench tx HOST PORT BYTES [--timeout S]\n"
		"       weir-tcpbench cps HOST PORT [--conc N] [--duration S] [--count N]\n"
		"                     [--source BYTES] [--rst] [--timeout S]\n");
	exit(2);
}

static void fail(const char *mode, const char *what, int err)
{
	printf("{\"mode\":\"%s\",\"ok\":false,\"error\":\"%s%s%s\"}\n", mode,
	       what, err ? ": " : "", err ? strerror(err) : "");
	exit(1);
}

static int remaining_ms(void)
{
	double r = deadline - now();

	return r <= 0 ? 0 : (int)(r * 1000) + 1;
}

/* Blocks in poll() until fd is ready for ev, or the deadline. */
static bool wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	for (;;) {
		int ms = remaining_ms();
		int n;

		if (!ms)
			return false;
		n = poll(&p, 1, ms);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

static int connect_to(const char *mode, const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int err = 0;
	socklen_t l = sizeof(err);

	if (fd < 0)
		fail(mode, "socket", errno);
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) &&
	    errno != EINPROGRESS)
		fail(mode, "connect", errno);
	if (!wait_fd(fd, POLLOUT))
		fail(mode, "connect timed out", 0);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err)
		fail(mode, "connect", err);
	l = sizeof(cc_name);
	getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc_name, &l);
	cc_name[sizeof(cc_name) - 1] = 0;
	return fd;
}

static void report(const char *mode, uint64_t bytes, double secs, bool ok,
		   const char *extra)
{
	printf("{\"mode\":\"%s\",\"ok\":%s,\"bytes\":%llu,\"seconds\":%.4f,\"MBps\":%.2f,"
	       "\"Mbitps\":%.1f,\"cc\":\"%s\"%s}\n",
	       mode, ok ? "true" : "false", (unsigned long long)bytes, secs,
	       secs > 0 ? (double)bytes / secs / 1e6 : 0.0,
	       secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0, cc_name, extra);
}

static int do_rx(const struct sockaddr_in *sin, uint64_t bytes)
{
	double t0 = now();
	int fd = connect_to("rx", sin);
	uint64_t got = 0, bad_at = UINT64_MAX;

	for (;;) {
		ssize_t r = recv(fd, iobuf, BENCH_IOBUF, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait_fd(fd, POLLIN))
					fail("rx", "timed out reading", 0);
				continue;
			}
			fail("rx", "recv", errno);
		}
		if (r == 0)
			break;
		if (bad_at == UINT64_MAX &&
		    !bench_pattern_matches(iobuf, (size_t)r, got)) {
			for (ssize_t i = 0; i < r; i++)
				if (!bench_pattern_matches(iobuf + i, 1,
							   got + (uint64_t)i)) {
					bad_at = got + (uint64_t)i;
					break;
				}
		}
		got += (uint64_t)r;
	}
	double secs = now() - t0;
	char extra[96];

	close(fd);
	snprintf(extra, sizeof(extra),
		 ",\"expected\":%llu,\"first_bad_byte\":%lld",
		 (unsigned long long)bytes,
		 bad_at == UINT64_MAX ? -1LL : (long long)bad_at);
	bool ok = got == bytes && bad_at == UINT64_MAX;
	report("rx", got, secs, ok, extra);
	return ok ? 0 : 1;
}

static int do_tx(const struct sockaddr_in *sin, uint64_t bytes)
{
	char want[BENCH_SHA_HEX_LEN + 1], reply[256];
	size_t rlen = 0;
	SHA256_CTX sha;
	uint64_t sent = 0;

	/* The digest of what we will send, before the clock starts. */
	SHA256_Init(&sha);
	for (uint64_t n = 0; n < bytes;) {
		size_t k;
		const unsigned char *b = bench_pattern_at(n, bytes - n, &k);

		SHA256_Update(&sha, b, k);
		n += k;
	}
	bench_sha_hex(&sha, want);

	double t0 = now();
	int fd = connect_to("tx", sin);

	while (sent < bytes) {
		size_t k;
		const unsigned char *b =
			bench_pattern_at(sent, bytes - sent, &k);
		ssize_t w = send(fd, b, k, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait_fd(fd, POLLOUT))
					fail("tx", "timed out sending", 0);
				continue;
			}
			fail("tx", "send", errno);
		}
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		ssize_t r = recv(fd, reply + rlen, sizeof(reply) - 1 - rlen, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!wait_fd(fd, POLLIN))
					fail("tx",
					     "timed out waiting for the SHA reply",
					     0);
				continue;
			}
			fail("tx", "recv", errno);
		}
		if (r == 0 || (rlen += (size_t)r) == sizeof(reply) - 1)
			break;
	}
	double secs = now() - t0;
	char extra[256];

	close(fd);
	reply[rlen] = 0;
	bool ok = !strcmp(reply, want);
	snprintf(extra, sizeof(extra), ",\"sha_ok\":%s,\"reply\":\"%.64s\"",
		 ok ? "true" : "false",
		 strspn(reply, "0123456789abcdef") ==
				 rlen - (rlen && reply[rlen - 1] == '\n') ?
			 reply :
			 "(not hex)");
	report("tx", sent, secs, ok, extra);
	return ok ? 0 : 1;
}

/* cps: a fixed set of slots, each running one connection after another. */
struct slot {
	int fd;
	int state; /* 0 idle, 1 connecting, 2 reading */
	double t0;
	size_t got;
	unsigned char buf[ECHO_LEN];
};

static struct {
	uint64_t completed, late, failed, timeouts, corrupt, started, refused;
	uint64_t lat[LAT_BUCKETS + 1];
	double lat_sum;
} cs;

static int ep;
static bool use_rst;
static uint64_t src_bytes; /* --source: bytes each connection reads */
static uint64_t max_count; /* --count: connections to start, 0 = time */

static const unsigned char msg[ECHO_LEN] = "weir-tcpbench-16";

static void slot_close(struct slot *s)
{
	if (use_rst) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	s->state = 0;
}

static void slot_start(struct slot *s, const struct sockaddr_in *sin)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };

	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		cs.failed++;
		return;
	}
	s->t0 = now();
	s->got = 0;
	cs.started++;
	if (connect(s->fd, (const struct sockaddr *)sin, sizeof(*sin)) &&
	    errno != EINPROGRESS) {
		cs.failed++;
		close(s->fd);
		s->fd = -1;
		return;
	}
	s->state = 1;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev)) {
		cs.failed++;
		close(s->fd);
		s->fd = -1;
		s->state = 0;
	}
}

static void slot_done(struct slot *s, double t_end)
{
	double t = now(), lat = t - s->t0;
	size_t b = (size_t)(lat / 50e-6);

	if (t <= t_end) {
		cs.completed++;
		cs.lat[b < LAT_BUCKETS ? b : LAT_BUCKETS]++;
		cs.lat_sum += lat;
	} else {
		cs.late++;
	}
}

/* --source: byte i of the stream is i mod 251 (the source app); the
 * server's FIN after exactly src_bytes completes the connection. */
static void source_read(struct slot *s, double t_end)
{
	for (;;) {
		ssize_t r = recv(s->fd, iobuf, sizeof(iobuf), 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r < 0) {
			if (errno == ECONNRESET || errno == ECONNREFUSED)
				cs.refused++;
			cs.failed++;
			break;
		}
		if (r == 0) {
			if (s->got == src_bytes)
				slot_done(s, t_end);
			else
				cs.corrupt++;
			break;
		}
		for (ssize_t i = 0; i < r; i++)
			if (iobuf[i] !=
			    (unsigned char)((s->got + (size_t)i) % 251)) {
				cs.corrupt++;
				slot_close(s);
				return;
			}
		s->got += (size_t)r;
		if (s->got > src_bytes) {
			cs.corrupt++;
			break;
		}
	}
	slot_close(s);
}

static void slot_event(struct slot *s, uint32_t e, double t_end)
{
	if (!s->state)
		return;
	if (s->state == 1) {
		int err = 0;
		socklen_t l = sizeof(err);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err || (e & EPOLLERR) ||
		    (!src_bytes &&
		     send(s->fd, msg, ECHO_LEN, MSG_NOSIGNAL) != ECHO_LEN)) {
			if (err == ECONNREFUSED || err == ECONNRESET)
				cs.refused++;
			cs.failed++;
			slot_close(s);
			return;
		}
		s->state = 2;
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		return;
	}
	if (src_bytes) {
		source_read(s, t_end);
		return;
	}
	ssize_t r = recv(s->fd, s->buf + s->got, ECHO_LEN - s->got, 0);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		cs.failed++;
		slot_close(s);
		return;
	}
	s->got += (size_t)r;
	if (s->got < ECHO_LEN)
		return;
	if (memcmp(s->buf, msg, ECHO_LEN))
		cs.corrupt++;
	else
		slot_done(s, t_end);
	slot_close(s);
}

static double lat_pct(double p)
{
	uint64_t want = (uint64_t)((double)cs.completed * p), acc = 0;

	for (size_t b = 0; b <= LAT_BUCKETS; b++) {
		acc += cs.lat[b];
		if (acc > want)
			return (double)(b + 1) *
			       50e-3; /* ms, bucket upper edge */
	}
	return 0;
}

static int do_cps(const struct sockaddr_in *sin, int conc, double duration)
{
	struct slot *slots = calloc((size_t)conc, sizeof(*slots));
	double t_start = now(), t_end = t_start + duration, t_stop;

	if (!slots)
		fail("cps", "calloc", errno);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		fail("cps", "epoll_create1", errno);
	if (t_end + 2 > deadline || max_count)
		t_end = deadline - 2;
	for (int i = 0; i < conc; i++) {
		slots[i].fd = -1;
		slot_start(&slots[i], sin);
	}
	for (;;) {
		struct epoll_event evs[512];
		double t = now();
		int open = 0;

		if (t >= t_end + 2)
			break;
		int n = epoll_wait(ep, evs, 512, 20);

		t = now();
		for (int i = 0; i < n; i++)
			slot_event(evs[i].data.ptr, evs[i].events, t_end);
		for (int i = 0; i < conc; i++) {
			struct slot *s = &slots[i];

			if (s->state && t - s->t0 > CONN_TIMEOUT) {
				cs.timeouts++;
				slot_close(s);
			}
			if (!s->state && t < t_end &&
			    (!max_count || cs.started < max_count))
				slot_start(s, sin);
			open += s->state != 0;
		}
		if ((t >= t_end || (max_count && cs.started >= max_count)) &&
		    !open)
			break;
	}
	t_stop = now();
	if (max_count) /* the run ended when the last connection did */
		t_end = t_stop;
	for (int i = 0; i < conc; i++)
		if (slots[i].state) {
			cs.timeouts++;
			slot_close(&slots[i]);
		}
	double secs = t_end - t_start;
	bool ok = cs.completed > 0 && !cs.corrupt;

	printf("{\"mode\":\"cps\",\"ok\":%s,\"cps\":%.1f,\"completed\":%llu,\"seconds\":%.3f,"
	       "\"concurrency\":%d,\"started\":%llu,\"late\":%llu,\"failed\":%llu,\"timeouts\":%llu,"
	       "\"corrupt\":%llu,\"lat_mean_ms\":%.3f,\"lat_p50_ms\":%.2f,\"lat_p99_ms\":%.2f,"
	       "\"drain_seconds\":%.3f,\"close\":\"%s\",\"refused\":%llu,"
	       "\"source_bytes\":%llu}\n",
	       ok ? "true" : "false", (double)cs.completed / secs,
	       (unsigned long long)cs.completed, secs, conc,
	       (unsigned long long)cs.started, (unsigned long long)cs.late,
	       (unsigned long long)cs.failed, (unsigned long long)cs.timeouts,
	       (unsigned long long)cs.corrupt,
	       cs.completed ? cs.lat_sum / (double)cs.completed * 1e3 : 0.0,
	       lat_pct(0.5), lat_pct(0.99), t_stop - t_end,
	       use_rst ? "rst" : "fin", (unsigned long long)cs.refused,
	       (unsigned long long)src_bytes);
	free(slots);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	double timeout = 300, duration = 10;
	int conc = 32, pos = 0;
	const char *mode = NULL, *host = NULL, *port = NULL, *bytes_s = NULL;
	uint64_t bytes = 0;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--duration") && i + 1 < argc)
			duration = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--conc") && i + 1 < argc)
			conc = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rst"))
			use_rst = true;
		else if (!strcmp(argv[i], "--source") && i + 1 < argc)
			src_bytes = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			max_count = strtoull(argv[++i], NULL, 10);
		else if (argv[i][0] == '-')
			usage();
		else if (pos == 0)
			mode = argv[i], pos++;
		else if (pos == 1)
			host = argv[i], pos++;
		else if (pos == 2)
			port = argv[i], pos++;
		else if (pos == 3)
			bytes_s = argv[i], pos++;
		else
			usage();
	}
	if (!mode || !host || !port ||
	    inet_pton(AF_INET, host, &sin.sin_addr) != 1)
		usage();
	sin.sin_port = htons((uint16_t)atoi(port));
	if (!(timeout > 0 && timeout <= 3600) ||
	    !(duration > 0 && duration <= 600) || conc < 1 || conc > MAX_CONC)
		usage();
	if (strcmp(mode, "cps")) {
		if (!bytes_s)
			usage();
		errno = 0;
		bytes = strtoull(bytes_s, &end, 10);
		if (*end || errno)
			usage();
	}
	if ((unsigned long)conc + 16 > bench_setup())
		fail(mode, "--conc is above RLIMIT_NOFILE", 0);
	deadline = now() + timeout;
	if (!strcmp(mode, "rx"))
		return do_rx(&sin, bytes);
	if (!strcmp(mode, "tx"))
		return do_tx(&sin, bytes);
	if (!strcmp(mode, "cps"))
		return do_cps(&sin, conc, duration);
	usage();
	return 2;
}
