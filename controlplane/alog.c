/* See alog.h. Lines are written in batches of at most PIPE_BUF bytes, so
 * a write to a FIFO is all or nothing (POSIX): a batch the FIFO has no
 * room for (EAGAIN) is left in the rings and tried again on the next
 * drain; any other failure drops the batch and counts it, so a broken
 * output never stops the drain. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alog.h"

#define DRAIN_MAX 65536 /* records per ring and call: the loop goes on */

int alog_open(struct cp_alog *a, const char *path, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	a->fd = -1;
	if (!path || !*path || strlen(path) >= sizeof(a->path)) {
		snprintf(err, errlen, "--access-log: a file or FIFO path");
		return -EINVAL;
	}
	strcpy(a->path, path);
	if (alog_reopen(a)) {
		snprintf(err, errlen, "--access-log %s: %s", path,
			 strerror(a->last_errno));
		return -a->last_errno;
	}
	return 0;
}

int alog_reopen(struct cp_alog *a)
{
	/* O_RDWR: a FIFO opens at once with no reader (O_WRONLY would wait
	 * or fail) and never raises SIGPIPE; writes never block */
	int fd = open(a->path,
		      O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC,
		      0644);

	if (fd < 0) {
		a->last_errno = errno;
		return -errno;
	}
	if (a->fd >= 0)
		close(a->fd);
	a->fd = fd;
	return 0;
}

void alog_close(struct cp_alog *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

void alog_switch(struct weir_ctl *c, bool on)
{
	if (c && atomic_load_explicit(&c->log_on, memory_order_relaxed) != on)
		atomic_store_explicit(&c->log_on, on, memory_order_relaxed);
}

uint64_t alog_ring_drops(struct weir_ctl *c)
{
	uint64_t n = 0;

	for (uint32_t w = 0; c && c->log_recs && w < c->n_workers; w++)
		n += atomic_load_explicit(&weir_ctl_log(c, w)->drops,
					  memory_order_relaxed);
	return n;
}

/* ---- one line ------------------------------------------------------------ */

struct out {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* "key":"value" from a field of the segment: its NUL may be missing (a
 * worker is not trusted to have written one), control bytes and quotes
 * are escaped. */
static void put_str(struct out *o, const char *key, const char *v, size_t cap)
{
	size_t n = strnlen(v, cap);

	put(o, ",\"%s\":\"", key);
	for (size_t i = 0; i < n && !o->full; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '"' || ch == '\\')
			put(o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			put(o, "\\u%04x", ch);
		else
			put(o, "%c", ch);
	}
	put(o, "\"");
}

static void put_time(struct out *o, uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[32];

	gmtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	put(o, "{\"time\":\"%s.%06uZ\"", buf,
	    (unsigned int)(ns % 1000000000u / 1000));
}

/* "router": null, or how the ingress request router call went. */
static void put_router(struct out *o, const struct weir_ctl_log_rec *r)
{
	static const char *const outcome[] = { NULL,	   "ok",      "connect",
					       "timeout",  "status",  "json",
					       "no_field", "unknown", "down" };

	if (r->router == WEIR_LOG_RT_NONE ||
	    r->router >= sizeof(outcome) / sizeof(outcome[0])) {
		put(o, ",\"router\":null");
		return;
	}
	put(o, ",\"router\":{\"outcome\":\"%s\"", outcome[r->router]);
	put_str(o, "replica", r->router_replica, sizeof(r->router_replica));
	if (r->router_us == UINT32_MAX)
		put(o, ",\"ms\":null");
	else
		put(o, ",\"ms\":%.3f", r->router_us / 1000.0);
	put(o, ",\"truncated\":%s}", r->router_truncated ? "true" : "false");
}

size_t alog_format(const struct weir_ctl_log_rec *r, char *buf, size_t cap)
{
	struct out o = { buf, 0, cap, false };
	uint32_t ip = r->client_ip; /* network order: bytes as they are */
	const unsigned char *b = (const unsigned char *)&ip;

	put_time(&o, r->end_ns);
	put(&o, ",\"worker\":%u,\"client\":\"%u.%u.%u.%u:%u\"", r->worker, b[0],
	    b[1], b[2], b[3], r->client_port);
	put_str(&o, "method", r->method, sizeof(r->method));
	put_str(&o, "path", r->path, sizeof(r->path));
	put(&o, ",\"status\":%u,\"bytes_in\":%llu,\"bytes_out\":%llu",
	    r->status, (unsigned long long)r->bytes_in,
	    (unsigned long long)r->bytes_out);
	put(&o, ",\"total_ms\":%.3f", r->total_us / 1000.0);
	if (r->backend_us == UINT32_MAX)
		put(&o, ",\"backend_ms\":null");
	else
		put(&o, ",\"backend_ms\":%.3f", r->backend_us / 1000.0);
	put_str(&o, "backend", r->backend, sizeof(r->backend));
	put_str(&o, "server", r->server, sizeof(r->server));
	put_str(&o, "replica_id", r->replica_id, sizeof(r->replica_id));
	put(&o, ",\"retries\":%u", r->tries ? r->tries - 1u : 0u);
	put_router(&o, r);
	put(&o, ",\"local\":%s,\"aborted\":%s,\"bad_request\":%s}\n",
	    r->flags & WEIR_LOG_F_LOCAL ? "true" : "false",
	    r->flags & WEIR_LOG_F_ABORTED ? "true" : "false",
	    r->flags & WEIR_LOG_F_BADREQ ? "true" : "false");
	return o.full ? 0 : o.len;
}

/* ---- the drain ----------------------------------------------------------- */

/* Writes a batch. Returns 1 written, 0 not now (EAGAIN: keep it), -1
 * failed (drop it). */
static int flush(struct cp_alog *a, const char *buf, size_t len)
{
	ssize_t n;

	if (!len)
		return 1;
	do
		n = write(a->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	a->last_errno = n < 0 ? errno : EIO; /* a short write: disk full */
	return -1;
}

/* Writes a batch of cnt lines and counts them. Returns as flush. */
static int flush_batch(struct cp_alog *a, const char *buf, size_t len,
		       uint64_t cnt, unsigned int *lines)
{
	int rc = flush(a, buf, len);

	if (rc < 0)
		a->write_drops += cnt;
	else if (rc > 0) {
		a->lines += cnt;
		*lines += (unsigned int)cnt;
	}
	return rc;
}

/* Drains one ring: [tail, head) in batches; a batch is consumed (tail
 * moves past it) once written or dropped. Returns false when the output
 * takes no more now. */
static bool drain_ring(struct cp_alog *a, struct weir_ctl_log *l, uint32_t n,
		       unsigned int *lines)
{
	uint64_t head = atomic_load_explicit(&l->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&l->tail, memory_order_relaxed);
	uint64_t i, start, end;
	char buf[PIPE_BUF], line[PIPE_BUF];
	size_t len = 0;
	int rc = 1;

	if (head - tail > n) /* a ring that does not add up: skip ahead */
		tail = head - n;
	end = head - tail > DRAIN_MAX ? tail + DRAIN_MAX : head;
	for (i = start = tail; i < end; i++) {
		struct weir_ctl_log_rec r = l->rec[i & (n - 1)];
		size_t k = alog_format(&r, line, sizeof(line));

		if (len + k > sizeof(buf)) {
			rc = flush_batch(a, buf, len, i - start, lines);
			if (rc == 0)
				break; /* the output is full: keep the batch */
			start = i;
			len = 0;
		}
		memcpy(buf + len, line, k);
		len += k;
	}
	if (rc != 0 &&
	    (!len || (rc = flush_batch(a, buf, len, i - start, lines)) != 0))
		start = i;
	atomic_store_explicit(&l->tail, start, memory_order_release);
	return rc != 0;
}

unsigned int alog_drain(struct cp_alog *a, struct weir_ctl *c)
{
	unsigned int lines = 0;

	if (!c || !c->log_recs || a->fd < 0)
		return 0;
	for (uint32_t w = 0; w < c->n_workers; w++)
		if (!drain_ring(a, weir_ctl_log(c, w), c->log_recs, &lines))
			break; /* the output is full: the rings hold the rest */
	return lines;
}
