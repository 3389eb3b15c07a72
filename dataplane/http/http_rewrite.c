/* Head rewriting: see http_rewrite.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/http_rewrite.h"

struct wbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->overflow || w->len + n > w->cap) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void puts_(struct wbuf *w, const char *s)
{
	put(w, s, strlen(s));
}

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && !strncasecmp(name, want, len);
}

/* True when the comma-separated list (value of a Connection field) holds
 * token, compared without case. */
static bool list_has(const char *v, size_t vlen, const char *tok, size_t tlen)
{
	size_t i = 0;

	while (i < vlen) {
		while (i < vlen && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vlen && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
			i++;
		if (i - s == tlen && !strncasecmp(v + s, tok, tlen))
			return true;
		while (i < vlen && v[i] != ',')
			i++;
	}
	return false;
}

bool http_rw_is_hop_by_hop(const struct http_head *h, const char *name,
			   size_t len)
{
	const struct http_message *m = &h->msg;

	if (name_is(name, len, "connection") ||
	    name_is(name, len, "keep-alive") ||
	    name_is(name, len, "proxy-connection") || name_is(name, len, "te"))
		return true;
	for (uint16_t i = 0; i < m->n_headers; i++) {
		const struct http_header *f = &m->headers[i];

		if (name_is(http_span_ptr(h, f->name), f->name.len,
			    "connection") &&
		    list_has(http_span_ptr(h, f->value), f->value.len, name,
			     len))
			return true;
	}
	return false;
}

/* What a request field becomes on its way to the replica. */
enum rw_field {
	RW_COPY,
	RW_DROP,
	RW_LENGTH,
	RW_AUTHORITY
};

/* Ours is the only X-Forwarded-Proto (HAProxy's set-header). Content-Length
 * goes once, as the number the parser framed by ("5, 5" and repeated equal
 * fields are one length: RFC 9112 §6.3 lets a recipient reduce them, and
 * a replica that reads only the first or the last then cannot differ).
 * With an absolute-form target, the target's authority replaces Host (RFC
 * 9112 §3.2.2). */
static enum rw_field request_field(const struct http_head *h, const char *name,
				   size_t len, bool *cl_done)
{
	if (name_is(name, len, "x-forwarded-proto"))
		return RW_DROP;
	if (name_is(name, len, "content-length")) {
		if (*cl_done)
			return RW_DROP;
		*cl_done = true;
		return RW_LENGTH;
	}
	if (h->msg.absolute_form && name_is(name, len, "host"))
		return RW_AUTHORITY;
	return RW_COPY;
}

/* Copies every field of h except hop-by-hop ones; for a request, each
 * field as request_field() says. */
static void copy_fields(struct wbuf *w, const struct http_head *h,
			bool is_request, bool keep_upgrade)
{
	const struct http_message *m = &h->msg;
	bool cl_done = false;
	char num[24];

	for (uint16_t i = 0; i < m->n_headers; i++) {
		const struct http_header *f = &m->headers[i];
		const char *name = http_span_ptr(h, f->name);
		struct http_span v = f->value;
		enum rw_field what = RW_COPY;

		if (http_rw_is_hop_by_hop(h, name, f->name.len) &&
		    !(keep_upgrade && name_is(name, f->name.len, "upgrade")))
			continue;
		if (is_request)
			what = request_field(h, name, f->name.len, &cl_done);
		if (what == RW_DROP)
			continue;
		if (what == RW_AUTHORITY)
			v = m->authority;
		put(w, name, f->name.len);
		put(w, ": ", 2);
		if (what == RW_LENGTH) {
			snprintf(num, sizeof(num), "%llu",
				 (unsigned long long)m->content_length);
			puts_(w, num);
		} else {
			put(w, http_span_ptr(h, v), v.len);
		}
		put(w, "\r\n", 2);
	}
}

/* The request line's target: origin-form as received, or the origin-form
 * part of an absolute-form target ("/" when its path is empty). */
static void put_target(struct wbuf *w, const struct http_head *req)
{
	const struct http_message *m = &req->msg;

	if (!m->absolute_form) {
		put(w, http_span_ptr(req, m->target), m->target.len);
		return;
	}
	if (m->origin.len == 0 || http_span_ptr(req, m->origin)[0] != '/')
		put(w, "/", 1);
	put(w, http_span_ptr(req, m->origin), m->origin.len);
}

size_t http_rw_request(char *out, size_t cap, const struct http_head *req,
		       const struct http_rw_request *opt)
{
	const struct http_message *m = &req->msg;
	struct wbuf w = { out, 0, cap, false };
	char ip[INET_ADDRSTRLEN];
	struct in_addr a = { .s_addr = opt->client_ip };

	put(&w, http_span_ptr(req, m->method_span), m->method_span.len);
	put(&w, " ", 1);
	put_target(&w, req);
	puts_(&w, m->version_minor ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
	if (m->absolute_form && !m->host_present) { /* HTTP/1.0 may omit it */
		puts_(&w, "Host: ");
		put(&w, http_span_ptr(req, m->authority), m->authority.len);
		puts_(&w, "\r\n");
	}
	copy_fields(&w, req, true, opt->upgrade);
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	puts_(&w, "X-Forwarded-For: ");
	puts_(&w, ip);
	puts_(&w, "\r\nX-Forwarded-Proto: http\r\n");
	if (http_header_find(req, "x-request-id", 0) < 0 && opt->request_id) {
		puts_(&w, "X-Request-Id: ");
		puts_(&w, opt->request_id);
		puts_(&w, "\r\n");
	}
	if (opt->upgrade)
		puts_(&w, "Connection: Upgrade\r\n");
	else if (!m->version_minor && m->keep_alive)
		puts_(&w, "Connection: keep-alive\r\n");
	puts_(&w, "\r\n");
	return w.overflow ? 0 : w.len;
}

size_t http_rw_response(char *out, size_t cap, const struct http_head *resp,
			uint8_t client_minor, bool close)
{
	const struct http_message *m = &resp->msg;
	struct wbuf w = { out, 0, cap, false };
	char line[32];
	bool upgrade = m->status == 101;

	snprintf(line, sizeof(line), "HTTP/1.1 %u ", m->status);
	puts_(&w, line);
	put(&w, http_span_ptr(resp, m->reason), m->reason.len);
	puts_(&w, "\r\n");
	copy_fields(&w, resp, false, upgrade);
	if (upgrade)
		puts_(&w, "Connection: Upgrade\r\n");
	else if (close)
		puts_(&w, "Connection: close\r\n");
	else if (!client_minor)
		puts_(&w, "Connection: keep-alive\r\n");
	puts_(&w, "\r\n");
	return w.overflow ? 0 : w.len;
}
