/* See ctl_seg.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl_seg.h"
#include "weir/table.h"

static int seg_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seg_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

uint64_t ctl_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ctl_seg_name(const char *name, char *out, size_t outlen)
{
	int n;

	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	n = snprintf(out, outlen, "/weir-%s", name);
	return n < 0 || (size_t)n >= outlen || (size_t)n >= WEIR_CTL_NAME_MAX ?
		       -ENAMETOOLONG :
		       0;
}

static int map_fd(struct ctl_seg *s, int fd, size_t size)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st))
		return -errno;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	s->ctl = p;
	s->size = size;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	return 0;
}

/* An existing segment whose weir-dp is gone may be replaced. */
static int stale(const char *shm)
{
	int fd = shm_open(shm, O_RDONLY, 0);
	struct weir_ctl h;
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT;
	n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || h.magic != WEIR_CTL_MAGIC)
		return 1; /* half-written by a weir-dp that died at start */
	return h.dp_pid <= 0 || (kill(h.dp_pid, 0) && errno == ESRCH);
}

/* Bytes of one worker's access-log ring of recs records (0: none). */
static uint64_t log_stride(uint32_t recs)
{
	return recs ? sizeof(struct weir_ctl_log) +
			       (uint64_t)recs *
				       sizeof(struct weir_ctl_log_rec) :
		      0;
}

static void init_header(struct weir_ctl *c, size_t size, uint32_t n_workers,
			uint64_t slot_size, uint32_t log_recs)
{
	uint64_t off = sizeof(*c);

	c->abi_version = WEIR_CTL_ABI_VERSION;
	c->header_size = sizeof(*c);
	c->segment_size = size;
	c->n_workers = n_workers;
	c->n_slots = WEIR_CTL_SLOTS;
	c->dp_pid = (int32_t)getpid();
	c->table_abi = WEIR_TABLE_ABI_VERSION;
	c->dp_start_ns = ctl_realtime_ns();
	for (uint32_t i = 0; i < WEIR_CTL_SLOTS; i++) {
		c->slots[i].offset = off;
		c->slots[i].capacity = slot_size;
		off += slot_size;
	}
	c->stats_offset = off;
	c->stats_stride = sizeof(struct weir_ctl_wstats);
	c->log_offset = off + n_workers * c->stats_stride;
	c->log_stride = log_stride(log_recs);
	c->log_recs = log_recs;
	/* magic last: an attacher never sees a half-made header as valid */
	atomic_thread_fence(memory_order_release);
	c->magic = WEIR_CTL_MAGIC;
}

int ctl_seg_create(struct ctl_seg *s, const char *name, uint32_t n_workers,
		   uint64_t slot_size, uint32_t log_recs, char *err,
		   size_t errlen)
{
	size_t size;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	if (ctl_seg_name(name, s->name, sizeof(s->name)))
		return seg_fail(err, errlen, -EINVAL,
				"control segment: bad instance name \"%s\"",
				name ? name : "");
	if (n_workers == 0 || n_workers > WEIR_CTL_MAX_WORKERS ||
	    slot_size < 4096 || slot_size % 4096 ||
	    log_recs > WEIR_CTL_LOG_RECS_MAX || (log_recs & (log_recs - 1)))
		return seg_fail(
			err, errlen, -EINVAL,
			"control segment: %u workers, slot of %llu bytes, log ring of %u records",
			n_workers, (unsigned long long)slot_size, log_recs);
	if (!stale(s->name))
		return seg_fail(
			err, errlen, -EBUSY,
			"control segment /dev/shm%s belongs to a running weir-dp (another --file-prefix?)",
			s->name);
	shm_unlink(s->name);
	size = sizeof(struct weir_ctl) + WEIR_CTL_SLOTS * slot_size +
	       n_workers *
		       (sizeof(struct weir_ctl_wstats) + log_stride(log_recs));
	fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return seg_fail(err, errlen, -errno, "shm_open %s: %s", s->name,
				strerror(errno));
	if (ftruncate(fd, (off_t)size)) {
		rc = -errno;
		close(fd);
		shm_unlink(s->name);
		return seg_fail(err, errlen, rc, "ftruncate %s: %s", s->name,
				strerror(-rc));
	}
	rc = map_fd(s, fd, size);
	close(fd);
	if (rc) {
		shm_unlink(s->name);
		return seg_fail(err, errlen, rc, "mmap %s: %s", s->name,
				strerror(-rc));
	}
	init_header(s->ctl, size, n_workers, slot_size, log_recs);
	return 0;
}

static int header_ok(const struct weir_ctl *c, size_t size)
{
	if (c->n_workers == 0 || c->n_workers > WEIR_CTL_MAX_WORKERS ||
	    c->n_slots != WEIR_CTL_SLOTS || c->segment_size != size)
		return 0;
	for (uint32_t i = 0; i < WEIR_CTL_SLOTS; i++) {
		const struct weir_ctl_slot *sl = &c->slots[i];

		/* equal slots: a table that fits one fits any (publish.c) */
		if (sl->offset < sizeof(*c) || sl->offset % 64 ||
		    sl->capacity != c->slots[0].capacity ||
		    sl->capacity > size || sl->offset > size - sl->capacity)
			return 0;
	}
	if (c->stats_stride != sizeof(struct weir_ctl_wstats) ||
	    c->stats_offset % 64 || c->stats_offset > size ||
	    (size - c->stats_offset) / c->stats_stride < c->n_workers ||
	    c->n_counters > WEIR_CTL_COUNTERS)
		return 0;
	if (c->log_recs > WEIR_CTL_LOG_RECS_MAX ||
	    (c->log_recs & (c->log_recs - 1)) ||
	    c->log_stride != log_stride(c->log_recs) || c->log_offset % 64 ||
	    c->log_offset > size ||
	    (c->log_stride &&
	     (size - c->log_offset) / c->log_stride < c->n_workers))
		return 0;
	return 1;
}

int ctl_seg_attach(struct ctl_seg *s, const char *name, char *err,
		   size_t errlen)
{
	struct stat st;
	int fd, rc;

	memset(s, 0, sizeof(*s));
	if (ctl_seg_name(name, s->name, sizeof(s->name)))
		return seg_fail(err, errlen, -EINVAL,
				"bad weir-dp instance name \"%s\"",
				name ? name : "");
	fd = shm_open(s->name, O_RDWR, 0);
	if (fd < 0)
		return seg_fail(err, errlen, -errno,
				"no weir-dp \"%s\" (/dev/shm%s: %s)", name,
				s->name, strerror(errno));
	if (fstat(fd, &st) || (size_t)st.st_size < sizeof(struct weir_ctl)) {
		close(fd);
		return seg_fail(err, errlen, -EINVAL,
				"/dev/shm%s: too small for a control segment",
				s->name);
	}
	rc = map_fd(s, fd, (size_t)st.st_size);
	close(fd);
	if (rc)
		return seg_fail(err, errlen, rc, "mmap %s: %s", s->name,
				strerror(-rc));
	if (s->ctl->magic != WEIR_CTL_MAGIC ||
	    s->ctl->abi_version != WEIR_CTL_ABI_VERSION ||
	    s->ctl->header_size != sizeof(struct weir_ctl) ||
	    s->ctl->table_abi != WEIR_TABLE_ABI_VERSION) {
		unsigned int abi = s->ctl->magic == WEIR_CTL_MAGIC ?
					   s->ctl->abi_version :
					   0;

		ctl_seg_unmap(s);
		return seg_fail(
			err, errlen, -EPROTO,
			"/dev/shm%s: not a control segment of this version (ABI %u, want %u)",
			s->name, abi, WEIR_CTL_ABI_VERSION);
	}
	atomic_thread_fence(memory_order_acquire);
	if (!header_ok(s->ctl, s->size)) {
		ctl_seg_unmap(s);
		return seg_fail(
			err, errlen, -EINVAL,
			"/dev/shm%s: control segment header does not add up",
			s->name);
	}
	return 0;
}

int ctl_seg_same(const struct ctl_seg *s)
{
	int fd = shm_open(s->name, O_RDONLY, 0);
	struct stat st;
	int same;

	if (fd < 0)
		return 0;
	same = !fstat(fd, &st) && (uint64_t)st.st_dev == s->dev &&
	       (uint64_t)st.st_ino == s->ino;
	close(fd);
	return same;
}

int64_t ctl_seg_copy_current(struct weir_ctl *c, void *buf, size_t cap)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t cur =
			atomic_load_explicit(&c->current, memory_order_acquire);
		uint32_t slot = WEIR_CTL_CUR_SLOT(cur);
		uint64_t g1, g2, len;

		if (!cur)
			return 0;
		if (slot >= c->n_slots)
			return -EINVAL;
		len = c->slots[slot].capacity;
		if (len > cap)
			return -E2BIG;
		g1 = atomic_load_explicit(&c->slots[slot].gen,
					  memory_order_acquire);
		if (g1 != WEIR_CTL_CUR_GEN(cur))
			continue; /* rewritten since current was read */
		memcpy(buf, weir_ctl_slot_mem(c, slot), len);
		atomic_thread_fence(memory_order_acquire);
		g2 = atomic_load_explicit(&c->slots[slot].gen,
					  memory_order_relaxed);
		if (g1 == g2)
			return (int64_t)g1;
	}
	return -EAGAIN;
}

void ctl_seg_unmap(struct ctl_seg *s)
{
	if (s->ctl)
		munmap(s->ctl, s->size);
	s->ctl = NULL;
	s->size = 0;
}

void ctl_seg_destroy(struct ctl_seg *s)
{
	ctl_seg_unmap(s);
	if (s->name[0])
		shm_unlink(s->name);
	s->name[0] = 0;
}
