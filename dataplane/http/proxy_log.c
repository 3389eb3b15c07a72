/* proxy_log: the access log's dataplane half. Each request's record is
 * filled in its session as the exchange goes (route, replica, status,
 * bytes) and, when it ends, copied into this worker's lossy ring in the
 * control segment (include/weir/ctl.h), which weir-cp drains and writes.
 * It must never wait: a full ring (weir-cp stopped, its output blocked)
 * drops the record and counts it. Nothing here runs while the log is off
 * but a pointer test. */
#include <string.h>

#include "http/proxy_internal.h"
#include "tcp/tcp.h"

void proxy_set_log(struct proxy *px, struct weir_ctl_log *ring, uint32_t n,
		   uint16_t worker, int64_t rt_off)
{
	px->log = ring && n && !(n & (n - 1)) ? ring : NULL;
	px->log_n = n;
	px->log_worker = worker;
	px->log_rt_off = rt_off;
}

/* The stack's clock at this entry point: fresher than px->now, which the
 * worker sets between bursts. */
static uint64_t plog_now(const struct px_sess *s)
{
	return s->px->tcp->now;
}

static void copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap) { /* cut, but not inside a UTF-8 sequence */
		len = cap - 1;
		while (len && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

void plog_begin(struct px_sess *s, const char *path, size_t plen)
{
	struct weir_ctl_log_rec *r = &s->lrec;
	const struct http_message *m = &s->req.msg;

	if (!s->px->log)
		return;
	s->lg_open = true;
	s->t_sent = 0;
	r->status = 0;
	r->tries = 0;
	r->flags = 0;
	r->backend_us = UINT32_MAX;
	r->backend[0] = r->server[0] = r->replica_id[0] = '\0';
	r->router = WEIR_LOG_RT_NONE;
	r->router_us = UINT32_MAX;
	r->router_truncated = 0;
	r->router_replica[0] = '\0';
	copy_str(r->method, sizeof(r->method),
		 http_span_ptr(&s->req, m->method_span), m->method_span.len);
	copy_str(r->path, sizeof(r->path), path, plen);
}

void plog_dispatch(struct px_sess *s, const char *backend,
		   const struct weir_table_server *t)
{
	struct weir_ctl_log_rec *r = &s->lrec;

	if (!s->lg_open)
		return;
	copy_str(r->backend, sizeof(r->backend), backend, strlen(backend));
	copy_str(r->server, sizeof(r->server), t->name, strlen(t->name));
	copy_str(r->replica_id, sizeof(r->replica_id), t->replica_id,
		 strlen(t->replica_id));
	r->tries = s->tries;
	s->t_sent = plog_now(s);
}

void plog_status(struct px_sess *s, uint16_t status, bool from_replica)
{
	if (!s->px->log)
		return;
	if (!s->lg_open) { /* refused before a head was understood */
		if (s->state != S_HEAD)
			return; /* the log came on mid-request */
		s->lg_open = true;
		memset(&s->lrec, 0,
		       offsetof(struct weir_ctl_log_rec, reserved));
		s->lrec.router_replica[0] = '\0';
		s->lrec.backend_us = s->lrec.router_us = UINT32_MAX;
		s->lrec.flags = WEIR_LOG_F_BADREQ;
		s->t_sent = 0;
	}
	if (status < 200 && status != 101)
		return; /* interim: the final status comes later */
	s->lrec.status = status;
	if (from_replica && s->t_sent)
		s->lrec.backend_us =
			(uint32_t)((plog_now(s) - s->t_sent) / 1000);
	else if (!from_replica)
		s->lrec.flags |= WEIR_LOG_F_LOCAL;
}

void plog_router(struct px_sess *s, uint8_t outcome, const char *id)
{
	struct weir_ctl_log_rec *r = &s->lrec;

	if (!s->lg_open)
		return;
	r->router = outcome;
	r->router_truncated = !s->rt_whole;
	r->router_us = s->rt_t0 ? (uint32_t)((plog_now(s) - s->rt_t0) / 1000) :
				  0;
	if (id)
		copy_str(r->router_replica, sizeof(r->router_replica), id,
			 strlen(id));
}

/* Copies the record into the ring (or counts a drop) and starts the next
 * request's counts. */
void plog_end(struct px_sess *s, uint8_t flags)
{
	struct proxy *px = s->px;
	struct weir_ctl_log_rec *r = &s->lrec, *slot;
	uint64_t now = plog_now(s);

	if (s->lg_open && px->log &&
	    (slot = weir_log_reserve(px->log, px->log_n))) {
		r->flags |= flags;
		r->end_ns = now + (uint64_t)px->log_rt_off;
		r->total_us =
			s->t_start ? (uint32_t)((now - s->t_start) / 1000) : 0;
		r->bytes_in = s->lg_in;
		r->bytes_out = s->lg_out;
		r->client_ip = s->client_ip;
		r->client_port = s->client_port;
		r->worker = px->log_worker;
		*slot = *r;
		weir_log_commit(px->log);
	}
	s->lg_open = false;
	s->t_start = 0;
	s->lg_in = s->lg_out = 0;
}
