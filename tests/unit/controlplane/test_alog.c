/* weir-cp's access-log writer (controlplane/alog.*) on a real control
 * segment: each record becomes one JSON line that parses, with hostile
 * strings escaped; a FIFO nobody reads keeps the records in the ring (the
 * worker's side then drops and counts) and never blocks; a write that
 * fails drops the batch, counts it, and the drain goes on. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "alog.h"
#include "common/ctl_seg.h"
#include "wtest.h"

static char seg_name[64], fifo[128];

static void fill(struct weir_ctl_log_rec *r, uint32_t i)
{
	memset(r, 0, sizeof(*r));
	r->end_ns = 1765152000123456789ull; /* 2025-12-08T00:00:00.123456Z */
	r->bytes_in = 100 + i;
	r->bytes_out = 2000;
	r->total_us = 1500;
	r->backend_us = i % 2 ? UINT32_MAX : 1200;
	r->client_ip = htonl(0x0a000002);
	r->client_port = 40000;
	r->status = 200;
	r->tries = 2;
	r->flags = WEIR_LOG_F_ABORTED;
	r->worker = 1;
	strcpy(r->method, "GET");
	snprintf(r->path, sizeof(r->path), "/app/%u", i);
	strcpy(r->backend, "http-app");
	strcpy(r->replica_id, "abc");
}

static int produce(struct weir_ctl *c, uint32_t n, uint32_t from)
{
	int ok = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct weir_ctl_log_rec *r =
			weir_log_reserve(weir_ctl_log(c, 0), c->log_recs);

		if (!r)
			continue;
		fill(r, from + i);
		weir_log_commit(weir_ctl_log(c, 0));
		ok++;
	}
	return ok;
}

static void test_format(void)
{
	struct weir_ctl_log_rec r;
	char line[PIPE_BUF];
	size_t n;
	cJSON *j;

	fill(&r, 7);
	strcpy(r.path, "/a\"b\\c\n\x01");
	memset(r.server, 'x', sizeof(r.server)); /* no NUL */
	n = alog_format(&r, line, sizeof(line));
	WT_CHECK(n > 0 && line[n - 1] == '\n');
	WT_CHECK(memchr(line, '\n', n) == line + n - 1); /* one line */
	j = cJSON_ParseWithLength(line, n);
	WT_CHECK(j != NULL);
	if (!j)
		return;
	WT_CHECK(!strcmp(cJSON_GetObjectItem(j, "time")->valuestring,
			 "2025-12-08T00:00:00.123456Z"));
	WT_CHECK(!strcmp(cJSON_GetObjectItem(j, "client")->valuestring,
			 "10.0.0.2:40000"));
	WT_CHECK(!strcmp(cJSON_GetObjectItem(j, "path")->valuestring,
			 "/a\"b\\c\n\x01"));
	WT_CHECK_EQ(strlen(cJSON_GetObjectItem(j, "server")->valuestring),
		    sizeof(r.server));
	WT_CHECK_EQ(cJSON_GetObjectItem(j, "status")->valueint, 200);
	WT_CHECK_EQ(cJSON_GetObjectItem(j, "bytes_in")->valueint, 107);
	WT_CHECK_EQ(cJSON_GetObjectItem(j, "retries")->valueint, 1);
	WT_CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "backend_ms")));
	WT_CHECK(cJSON_GetObjectItem(j, "total_ms")->valuedouble == 1.5);
	WT_CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "aborted")));
	WT_CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "local")));
	WT_CHECK(!strcmp(cJSON_GetObjectItem(j, "replica_id")->valuestring,
			 "abc"));
	cJSON_Delete(j);
	WT_CHECK_EQ(alog_format(&r, line, 40), 0); /* does not fit */
}

/* Reads what the FIFO holds; returns the number of lines. */
static int read_lines(int fd)
{
	char buf[65536];
	int lines = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	return lines;
}

static void test_fifo_full(void)
{
	struct ctl_seg dp;
	struct cp_alog a;
	struct weir_ctl_log *l;
	char err[256], junk[4096];
	int rd, wr, filled = 0;

	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, 65536, 64, err,
				   sizeof(err)),
		    0);
	l = weir_ctl_log(dp.ctl, 0);
	unlink(fifo);
	WT_CHECK_EQ(mkfifo(fifo, 0600), 0);
	WT_CHECK_EQ(alog_open(&a, fifo, err, sizeof(err)), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	WT_CHECK(rd >= 0);
	WT_CHECK_EQ(produce(dp.ctl, 10, 0), 10);
	WT_CHECK_EQ(alog_drain(&a, dp.ctl), 10);
	WT_CHECK_EQ(atomic_load(&l->tail), 10);
	WT_CHECK_EQ(read_lines(rd), 10);

	/* nobody reads: the FIFO fills, the drain returns at once */
	wr = open(fifo, O_WRONLY | O_NONBLOCK);
	memset(junk, 'j', sizeof(junk));
	while (write(wr, junk, sizeof(junk)) > 0)
		filled++;
	WT_CHECK(filled > 0 && errno == EAGAIN);
	WT_CHECK_EQ(produce(dp.ctl, 100, 10), 64); /* the ring: 64 */
	WT_CHECK_EQ(atomic_load(&l->drops), 36);
	WT_CHECK_EQ(alog_drain(&a, dp.ctl), 0);
	WT_CHECK_EQ(atomic_load(&l->tail), 10); /* kept in the ring */
	WT_CHECK_EQ(a.write_drops, 0);

	/* a reader again: everything the ring kept comes out */
	while (read(rd, junk, sizeof(junk)) > 0)
		;
	WT_CHECK_EQ(alog_drain(&a, dp.ctl), 64);
	WT_CHECK_EQ(read_lines(rd), 64);
	WT_CHECK_EQ(atomic_load(&l->tail), atomic_load(&l->head));
	WT_CHECK_EQ(a.lines, 74);
	close(wr);
	close(rd);
	alog_close(&a);
	unlink(fifo);
	ctl_seg_destroy(&dp);
}

/* /dev/full: every write fails with ENOSPC; the records are dropped and
 * counted, the ring drains. */
static void test_write_fails(void)
{
	struct ctl_seg dp;
	struct cp_alog a;
	char err[256];

	WT_CHECK_EQ(ctl_seg_create(&dp, seg_name, 1, 65536, 16, err,
				   sizeof(err)),
		    0);
	WT_CHECK_EQ(alog_open(&a, "/dev/full", err, sizeof(err)), 0);
	WT_CHECK_EQ(produce(dp.ctl, 12, 0), 12);
	WT_CHECK_EQ(alog_drain(&a, dp.ctl), 0);
	WT_CHECK_EQ(a.write_drops, 12);
	WT_CHECK_EQ(a.last_errno, ENOSPC);
	WT_CHECK_EQ(atomic_load(&weir_ctl_log(dp.ctl, 0)->tail), 12);
	alog_close(&a);
	ctl_seg_destroy(&dp);
	WT_CHECK(alog_open(&a, "/nonexistent/dir/log", err, sizeof(err)) < 0);
	WT_CHECK(strstr(err, "/nonexistent/dir/log") != NULL);
	WT_CHECK(alog_open(&a, "", err, sizeof(err)) < 0);
	/* a ring size that is not a power of two is refused */
	WT_CHECK(ctl_seg_create(&dp, seg_name, 1, 65536, 48, err, sizeof(err)) <
		 0);
}

int main(void)
{
	snprintf(seg_name, sizeof(seg_name), "walog%d", (int)getpid());
	snprintf(fifo, sizeof(fifo), "/tmp/weir-alog-%d.fifo", (int)getpid());
	WT_RUN(test_format);
	WT_RUN(test_fifo_full);
	WT_RUN(test_write_fails);
	return wt_done();
}
