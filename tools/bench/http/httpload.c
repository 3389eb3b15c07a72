/* weir-httpload: a constant-rate HTTP/1.1 load generator that measures each
 * request's latency from the time it was *meant* to be sent (no coordinated
 * omission, as wrk2). N keep-alive connections, one request in flight on
 * each; connection k sends request j at start + (k/N + j) * N/RATE. A
 * request that cannot leave on time (its connection still waits for the
 * previous answer) leaves as soon as it can, and its latency still counts
 * from its intended time, so a stalled server shows in the percentiles
 * instead of slowing the client down. Latencies go into a log-linear
 * histogram (128 sub-buckets per power of two: < 0.8 % error), reported as
 * the bucket's upper bound. One thread, epoll, timers with 1 us slack.
 *
 *   weir-httpload --host IP [--port 8000] [--path /] [--rate 1000]
 *                 [--conns 32] [--duration 10] [--warmup 1] [--timeout 5]
 *
 * Prints one JSON line on stdout: counts (2xx, non-2xx, errors, timeouts,
 * requests never sent in time), the achieved rate and p50/p90/p99/p99.9/max
 * in microseconds over the measured window (the warm-up is excluded).
 * Exit 0 if it ran (the numbers tell how well), 2 on usage or setup errors.
 * Plain Linux, no DPDK. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536
#define HEAD_MAX 16384

/* ---- histogram ---------------------------------------------------------- */

#define SUB_BITS 7
#define SUB (1u << SUB_BITS)
#define NBUCKETS (2 * SUB + 56 * SUB)

static uint64_t hist[NBUCKETS];
static uint64_t hist_n, hist_max;
static double hist_sum;

static unsigned int bucket_of(uint64_t v)
{
	if (v < 2 * SUB)
		return (unsigned int)v;
	unsigned int e =
		63u - (unsigned int)__builtin_clzll(v); /* >= SUB_BITS+1 */
	unsigned int shift = e - SUB_BITS;
	uint64_t m = v >> shift; /* SUB .. 2*SUB-1 */
	return 2 * SUB + (e - SUB_BITS - 1) * SUB + (unsigned int)(m - SUB);
}

static uint64_t bucket_top(unsigned int i)
{
	if (i < 2 * SUB)
		return i;
	unsigned int k = i - 2 * SUB;
	unsigned int shift = k / SUB + 1;
	uint64_t m = SUB + k % SUB;
	return ((m + 1) << shift) - 1;
}

static void hist_add(uint64_t ns)
{
	unsigned int b = bucket_of(ns);
	if (b >= NBUCKETS)
		b = NBUCKETS - 1;
	hist[b]++;
	hist_n++;
	hist_sum += (double)ns;
	if (ns > hist_max)
		hist_max = ns;
}

static double hist_pct_us(double p)
{
	if (!hist_n)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)hist_n), c = 0;
	if (want < 1)
		want = 1;
	for (unsigned int i = 0; i < NBUCKETS; i++) {
		c += hist[i];
		if (c >= want) {
			uint64_t t = bucket_top(i);
			return (double)(t < hist_max ? t : hist_max) / 1000.0;
		}
	}
	return (double)hist_max / 1000.0;
}

/* ---- connections -------------------------------------------------------- */

enum cstate {
	C_CONNECTING,
	C_IDLE,
	C_BUSY,
	C_DEAD
};
enum pstate {
	P_HEAD,
	P_BODY,
	P_CHUNK_SIZE,
	P_CHUNK_DATA,
	P_CHUNK_CRLF,
	P_TRAILER
};

struct conn {
	int fd;
	enum cstate st;
	uint64_t next_due; /* intended send time of the next request */
	uint64_t intended; /* of the request in flight */
	uint64_t sent_at; /* when it actually left (for the timeout) */
	size_t wsent; /* bytes of the request written */
	char rbuf[RBUF];
	size_t rlen;
	enum pstate ps;
	uint64_t remaining; /* body / chunk bytes left */
	int status;
	bool close_after;
	bool want_out;
};

static struct sockaddr_in dst;
static char req[1024];
static size_t req_len;
static int ep;
static struct conn *conns;
static unsigned int nconns;
static uint64_t interval_ns, t_start, t_measure, t_end, timeout_ns;

static struct {
	uint64_t sent, done, s2xx, snon2xx, errors, timeouts, reconnects,
		conn_fail, parse_err;
	uint64_t measured, unsent;
} ct;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void ep_mod(struct conn *c, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP |
					    (out ? EPOLLOUT : 0),
				  .data.ptr = c };
	c->want_out = out;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int conn_open(struct conn *c)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
	    one = 1;
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->st = C_CONNECTING;
	c->rlen = 0;
	c->ps = P_HEAD;
	c->wsent = 0;
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		c->fd = -1;
		c->st = C_DEAD;
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
				  .data.ptr = c };
	c->want_out = true;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	return 0;
}

/* conn_reset: the connection is gone (error, close, timeout); the request in
 * flight, if any, is lost; a new connection keeps the same schedule. */
static void conn_reset(struct conn *c, bool count_error)
{
	if (c->st == C_BUSY && count_error)
		ct.errors++;
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	ct.reconnects++;
	if (conn_open(c) < 0)
		ct.conn_fail++;
}

static void try_write(struct conn *c)
{
	while (c->wsent < req_len) {
		ssize_t n = send(c->fd, req + c->wsent, req_len - c->wsent,
				 MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (!c->want_out)
					ep_mod(c, true);
				return;
			}
			conn_reset(c, true);
			return;
		}
		c->wsent += (size_t)n;
	}
	if (c->want_out)
		ep_mod(c, false);
}

static void send_req(struct conn *c, uint64_t now)
{
	c->intended = c->next_due;
	c->next_due += interval_ns;
	c->sent_at = now;
	c->st = C_BUSY;
	c->wsent = 0;
	c->ps = P_HEAD;
	c->close_after = false;
	ct.sent++;
	try_write(c);
}

static void response_done(struct conn *c, uint64_t now)
{
	ct.done++;
	if (c->status >= 200 && c->status < 300)
		ct.s2xx++;
	else
		ct.snon2xx++;
	if (c->intended >= t_measure && c->intended < t_end) {
		hist_add(now - c->intended);
		ct.measured++;
	}
	c->st = C_IDLE;
	c->ps = P_HEAD;
	if (c->close_after)
		conn_reset(c, false);
}

static bool hdr_is(const char *line, size_t len, const char *name,
		   const char **val)
{
	size_t n = strlen(name);
	if (len <= n || strncasecmp(line, name, n) || line[n] != ':')
		return false;
	const char *v = line + n + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	*val = v;
	return true;
}

/* parse_head: status, framing. Returns head length, 0 if incomplete, -1 bad. */
static long parse_head(struct conn *c)
{
	char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
	if (!end)
		return c->rlen > HEAD_MAX ? -1 : 0;
	size_t hl = (size_t)(end - c->rbuf) + 4;
	if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.", 7))
		return -1;
	c->status = atoi(c->rbuf + 9);
	bool chunked = false, have_cl = false;
	uint64_t cl = 0;
	c->close_after = c->rbuf[7] == '0';
	char *p = memchr(c->rbuf, '\n', hl) + 1;
	while (p < c->rbuf + hl - 2) {
		char *nl = memchr(p, '\n', (size_t)(c->rbuf + hl - p));
		size_t len = (size_t)(nl - p);
		const char *v;
		if (hdr_is(p, len, "content-length", &v)) {
			cl = strtoull(v, NULL, 10);
			have_cl = true;
		} else if (hdr_is(p, len, "transfer-encoding", &v)) {
			chunked = !strncasecmp(v, "chunked", 7);
		} else if (hdr_is(p, len, "connection", &v)) {
			if (!strncasecmp(v, "close", 5))
				c->close_after = true;
			else if (!strncasecmp(v, "keep-alive", 10))
				c->close_after = false;
		}
		p = nl + 1;
	}
	if (c->status == 204 || c->status == 304 ||
	    (c->status >= 100 && c->status < 200)) {
		c->ps = P_BODY;
		c->remaining = 0;
	} else if (chunked) {
		c->ps = P_CHUNK_SIZE;
	} else if (have_cl) {
		c->ps = P_BODY;
		c->remaining = cl;
	} else {
		return -1; /* read-to-close framing: not for a benchmark */
	}
	return (long)hl;
}

/* consume: run the response parser over the buffer. */
static void consume(struct conn *c, uint64_t now)
{
	size_t off = 0;
	for (;;) {
		if (c->st != C_BUSY) {
			if (c->rlen > off) { /* bytes nobody asked for */
				ct.parse_err++;
				conn_reset(c, false);
				return;
			}
			break;
		}
		if (c->ps == P_HEAD) {
			if (off) {
				memmove(c->rbuf, c->rbuf + off, c->rlen - off);
				c->rlen -= off;
				off = 0;
			}
			long hl = parse_head(c);
			if (hl < 0) {
				ct.parse_err++;
				conn_reset(c, true);
				return;
			}
			if (!hl)
				break;
			off = (size_t)hl;
			if (c->status >= 100 && c->status < 200 &&
			    c->status != 101) {
				c->ps = P_HEAD; /* interim answer: the final one follows */
				continue;
			}
			if (c->ps == P_BODY && c->remaining == 0) {
				response_done(c, now);
				if (c->fd < 0 || c->st == C_CONNECTING)
					return;
			}
			continue;
		}
		size_t avail = c->rlen - off;
		if (c->ps == P_BODY || c->ps == P_CHUNK_DATA ||
		    c->ps == P_CHUNK_CRLF) {
			uint64_t take = avail < c->remaining ? avail :
							       c->remaining;
			off += take;
			c->remaining -= take;
			if (c->remaining)
				break;
			if (c->ps == P_BODY) {
				response_done(c, now);
				if (c->fd < 0 || c->st == C_CONNECTING)
					return;
			} else if (c->ps == P_CHUNK_DATA) {
				c->ps = P_CHUNK_CRLF;
				c->remaining = 2;
			} else {
				c->ps = P_CHUNK_SIZE;
			}
			continue;
		}
		/* a line: chunk size or trailer */
		char *nl = memchr(c->rbuf + off, '\n', avail);
		if (!nl) {
			if (avail > 4096) {
				ct.parse_err++;
				conn_reset(c, true);
				return;
			}
			break;
		}
		size_t len = (size_t)(nl - (c->rbuf + off)) + 1;
		if (c->ps == P_CHUNK_SIZE) {
			uint64_t sz = strtoull(c->rbuf + off, NULL, 16);
			off += len;
			if (sz) {
				c->ps = P_CHUNK_DATA;
				c->remaining = sz;
			} else {
				c->ps = P_TRAILER;
			}
		} else { /* trailer: ends with an empty line */
			off += len;
			if (len <= 2) {
				response_done(c, now);
				if (c->fd < 0 || c->st == C_CONNECTING)
					return;
			}
		}
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
}

static void on_event(struct conn *c, uint32_t evs, uint64_t now)
{
	if (c->st == C_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof(err);
		if ((evs & (EPOLLERR | EPOLLHUP)) ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l) || err) {
			ct.conn_fail++;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			close(c->fd);
			c->fd = -1;
			c->st = C_DEAD; /* retried from the main loop */
			return;
		}
		if (!(evs & EPOLLOUT))
			return;
		c->st = C_IDLE;
		ep_mod(c, false);
		return;
	}
	if ((evs & EPOLLOUT) && c->st == C_BUSY) {
		try_write(c);
		if (c->st == C_CONNECTING || c->st == C_DEAD)
			return; /* reset: the new connection reports on its own */
	}
	if (evs & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			if (c->rlen == RBUF) { /* a head that never ends */
				ct.parse_err++;
				conn_reset(c, true);
				return;
			}
			ssize_t n = recv(c->fd, c->rbuf + c->rlen,
					 RBUF - c->rlen, 0);
			if (n > 0) {
				c->rlen += (size_t)n;
				consume(c, now);
				if (c->fd < 0 || c->st == C_CONNECTING)
					return;
				continue;
			}
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			/* closed by the peer or an error */
			conn_reset(c, true);
			return;
		}
	}
}

static volatile sig_atomic_t stop;
static void on_sig(int s)
{
	(void)s;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: weir-httpload --host IP [--port 8000] [--path /] [--rate R] "
		"[--conns N] [--duration S] [--warmup S] [--timeout S] [--hostname H]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *host = NULL, *path = "/", *hostname = NULL;
	unsigned int port = 8000;
	double rate = 1000, duration = 10, warmup = 1, timeout = 5;
	nconns = 32;
	static const struct option opts[] = {
		{ "host", 1, 0, 'h' },	   { "port", 1, 0, 'p' },
		{ "path", 1, 0, 'P' },	   { "rate", 1, 0, 'r' },
		{ "conns", 1, 0, 'c' },	   { "duration", 1, 0, 'd' },
		{ "warmup", 1, 0, 'w' },   { "timeout", 1, 0, 't' },
		{ "hostname", 1, 0, 'H' }, { 0, 0, 0, 0 }
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = (unsigned int)atoi(optarg);
			break;
		case 'P':
			path = optarg;
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'c':
			nconns = (unsigned int)atoi(optarg);
			break;
		case 'd':
			duration = atof(optarg);
			break;
		case 'w':
			warmup = atof(optarg);
			break;
		case 't':
			timeout = atof(optarg);
			break;
		case 'H':
			hostname = optarg;
			break;
		default:
			usage();
		}
	}
	if (!host || !port || port > 65535 || rate <= 0 || rate > 1e7 ||
	    nconns < 1 || nconns > 10000 || duration <= 0 || warmup < 0 ||
	    warmup >= duration || timeout <= 0)
		usage();
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		usage();
	int rl = snprintf(
		req, sizeof(req),
		"GET %s HTTP/1.1\r\nHost: %s:%u\r\nUser-Agent: weir-httpload\r\n\r\n",
		path, hostname ? hostname : host, port);
	if (rl < 0 || (size_t)rl >= sizeof(req))
		usage();
	req_len = (size_t)rl;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	prctl(PR_SET_TIMERSLACK, 1000UL);

	ep = epoll_create1(EPOLL_CLOEXEC);
	conns = calloc(nconns, sizeof(*conns));
	if (ep < 0 || !conns) {
		perror("weir-httpload");
		return 2;
	}
	for (unsigned int i = 0; i < nconns; i++)
		if (conn_open(&conns[i]) < 0) {
			perror("weir-httpload: socket");
			return 2;
		}
	/* Every connection up (3 s at most) before the clock starts. */
	struct epoll_event evs[256];
	uint64_t t0 = now_ns();
	for (;;) {
		unsigned int up = 0;
		for (unsigned int i = 0; i < nconns; i++) {
			if (conns[i].st == C_DEAD && conn_open(&conns[i]) < 0)
				ct.conn_fail++;
			up += conns[i].st == C_IDLE;
		}
		if (up == nconns || stop)
			break;
		if (now_ns() - t0 > 3000000000ull) {
			printf("{\"ok\":false,\"error\":\"only %u of %u connections opened\",\"conn_fail\":%lu}\n",
			       up, nconns, (unsigned long)ct.conn_fail);
			return 1;
		}
		int n = epoll_wait(ep, evs, 256, 10);
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events, now_ns());
		if (ct.conn_fail > 10ull * nconns)
			usleep(10000);
	}
	ct.conn_fail = 0;

	interval_ns = (uint64_t)((double)nconns * 1e9 / rate);
	timeout_ns = (uint64_t)(timeout * 1e9);
	t_start = now_ns() + 1000000; /* 1 ms from now */
	t_measure = t_start + (uint64_t)(warmup * 1e9);
	t_end = t_start + (uint64_t)(duration * 1e9);
	for (unsigned int i = 0; i < nconns; i++)
		conns[i].next_due =
			t_start + (uint64_t)i * interval_ns / nconns;

	uint64_t drain_until = t_end + timeout_ns;
	while (!stop) {
		uint64_t now = now_ns();
		/* at most 100 ms asleep, and awake at the end of the schedule */
		uint64_t next = now + 100000000ull;
		if (now < t_end && t_end < next)
			next = t_end;
		unsigned int busy = 0;
		for (unsigned int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			if (c->st == C_DEAD) {
				if (conn_open(c) < 0)
					ct.conn_fail++;
				continue;
			}
			if (c->st == C_BUSY) {
				busy++;
				if (now - c->sent_at > timeout_ns) {
					ct.timeouts++;
					conn_reset(c, false);
				}
				continue;
			}
			if (c->st != C_IDLE || c->next_due >= t_end)
				continue;
			if (c->next_due <= now) {
				send_req(c, now);
				busy++;
			} else if (c->next_due < next) {
				next = c->next_due;
			}
		}
		if (now >= t_end && (busy == 0 || now >= drain_until))
			break;
		now = now_ns();
		struct timespec ts = { 0, 0 };
		if (next > now) {
			uint64_t d = next - now;
			ts.tv_sec = (time_t)(d / 1000000000ull);
			ts.tv_nsec = (long)(d % 1000000000ull);
		}
		int n = epoll_pwait2(ep, evs, 256, &ts, NULL);
		now = now_ns();
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events, now);
	}
	uint64_t t_stop = now_ns();
	/* What is still in flight is a timeout; what never left is 'unsent'. */
	for (unsigned int i = 0; i < nconns; i++) {
		struct conn *c = &conns[i];
		if (c->st == C_BUSY)
			ct.timeouts++;
		if (c->next_due < t_end)
			ct.unsent += (t_end - c->next_due + interval_ns - 1) /
				     interval_ns;
	}
	double window = (double)(t_end - t_measure) / 1e9;
	printf("{\"ok\":true,\"rate\":%.0f,\"conns\":%u,\"duration\":%.3f,\"warmup\":%.3f,"
	       "\"sent\":%lu,\"responses\":%lu,\"status_2xx\":%lu,\"non_2xx\":%lu,"
	       "\"errors\":%lu,\"timeouts\":%lu,\"unsent\":%lu,\"parse_errors\":%lu,"
	       "\"reconnects\":%lu,\"conn_fail\":%lu,\"measured\":%lu,\"achieved_rps\":%.1f,"
	       "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
	       "\"max_us\":%.1f,\"mean_us\":%.1f,\"drain_s\":%.3f}\n",
	       rate, nconns, duration, warmup, (unsigned long)ct.sent,
	       (unsigned long)ct.done, (unsigned long)ct.s2xx,
	       (unsigned long)ct.snon2xx, (unsigned long)ct.errors,
	       (unsigned long)ct.timeouts, (unsigned long)ct.unsent,
	       (unsigned long)ct.parse_err, (unsigned long)ct.reconnects,
	       (unsigned long)ct.conn_fail, (unsigned long)ct.measured,
	       (double)ct.measured / window, hist_pct_us(50), hist_pct_us(90),
	       hist_pct_us(99), hist_pct_us(99.9), (double)hist_max / 1000.0,
	       hist_n ? hist_sum / (double)hist_n / 1000.0 : 0.0,
	       t_stop > t_end ? (double)(t_stop - t_end) / 1e9 : 0.0);
	return 0;
}
