/* http_parser_fields: what the header fields of a head mean for the
 * message: Content-Length, Transfer-Encoding, Connection, Host, Expect,
 * Upgrade, and from them the framing and persistence of RFC 9112 §6.3.
 * Called by the head machine once per complete field line and once at the
 * end of the head; it never sees raw bytes and never allocates. */
#include "http/http_parser.h"

#include <string.h>

#include "http/http_parser_internal.h"

/* Content-Length = 1*DIGIT; a list of identical values is accepted and
 * repeated fields must agree (RFC 9112 §6.3 item 5). */
static enum http_error field_content_length(struct http_head *h, const char *v,
					    uint32_t len)
{
	uint32_t pos = 0, elen, i;
	const char *e;

	while (list_next(v, len, &pos, &e, &elen)) {
		uint64_t n = 0;

		if (elen == 0)
			return HTTP_ERR_CL_INVALID;
		for (i = 0; i < elen; i++) {
			uint64_t d;

			if (!is_digit(e[i]))
				return HTTP_ERR_CL_INVALID;
			d = (uint64_t)(e[i] - '0');
			if (n > ((uint64_t)INT64_MAX - d) / 10)
				return HTTP_ERR_CL_OVERFLOW;
			n = n * 10 + d;
		}
		if (h->cl_seen && n != h->cl_value)
			return HTTP_ERR_CL_MISMATCH;
		h->cl_seen = true;
		h->cl_value = n;
	}
	return HTTP_ERR_NONE;
}

static bool te_coding_known(const char *e, uint32_t len)
{
	static const char *const known[] = { "gzip", "x-gzip", "deflate",
					     "compress", "x-compress" };
	size_t i;

	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (ieq(e, len, known[i]))
			return true;
	return false;
}

/* Transfer-Encoding (RFC 9112 §6.1, §7): several fields form one list. */
static enum http_error field_transfer_encoding(struct http_head *h,
					       const char *v, uint32_t len)
{
	uint32_t pos = 0, elen, codings = 0;
	const char *e;

	if (h->msg.version_minor == 0)
		return HTTP_ERR_TE_HTTP10;
	h->te_seen = true;
	while (list_next(v, len, &pos, &e, &elen)) {
		bool chunked = ieq(e, elen, "chunked");

		if (elen == 0)
			continue;
		if (!all_tchar(e, elen))
			return HTTP_ERR_TE_INVALID;
		if (!chunked && !h->is_response && !te_coding_known(e, elen))
			return HTTP_ERR_TE_UNKNOWN;
		if (chunked && h->te_chunked_seen)
			return HTTP_ERR_TE_CHUNKED_TWICE;
		if (h->te_chunked_seen && !h->is_response)
			return HTTP_ERR_TE_NOT_CHUNKED;
		h->te_chunked_seen |= chunked;
		h->te_final_chunked = chunked;
		codings++;
	}
	return codings ? HTTP_ERR_NONE : HTTP_ERR_TE_INVALID;
}

static enum http_error field_connection(struct http_head *h, const char *v,
					uint32_t len)
{
	uint32_t pos = 0, elen;
	const char *e;

	while (list_next(v, len, &pos, &e, &elen)) {
		if (elen == 0)
			continue;
		if (!all_tchar(e, elen))
			return HTTP_ERR_CONNECTION_INVALID;
		if (ieq(e, elen, "close"))
			h->conn_close = true;
		else if (ieq(e, elen, "keep-alive"))
			h->conn_keep_alive = true;
		else if (ieq(e, elen, "upgrade"))
			h->conn_upgrade = true;
	}
	return HTTP_ERR_NONE;
}

static enum http_error field_host(struct http_head *h, const char *v,
				  uint32_t len)
{
	uint32_t i;

	if (++h->host_count > 1)
		return HTTP_ERR_HOST_DUPLICATE;
	h->msg.host = h->cur.value;
	for (i = 0; i < len; i++)
		if (!(http_ctype[(uint8_t)v[i]] & C_HOST))
			return HTTP_ERR_HOST_INVALID;
	return HTTP_ERR_NONE;
}

/* Expect (RFC 9110 §10.1.1): ignored in HTTP/1.0 requests. */
static enum http_error field_expect(struct http_head *h, const char *v,
				    uint32_t len)
{
	uint32_t pos = 0, elen;
	const char *e;

	if (h->msg.version_minor == 0)
		return HTTP_ERR_NONE;
	while (list_next(v, len, &pos, &e, &elen)) {
		if (elen == 0)
			continue;
		if (!ieq(e, elen, "100-continue"))
			return HTTP_ERR_EXPECTATION;
		h->expect_100 = true;
	}
	return HTTP_ERR_NONE;
}

/* A field line is complete: keep it and note what it means for framing. */
enum http_result http_head_end_field(struct http_head *h)
{
	const struct http_header *f = &h->cur;
	const char *n = http_span_ptr(h, f->name);
	const char *v = http_span_ptr(h, f->value);
	uint32_t nl = f->name.len, vl = f->value.len;
	enum http_error e = HTTP_ERR_NONE;

	if (h->msg.n_headers >= h->lim.max_headers)
		return head_fail(h, HTTP_ERR_TOO_MANY_FIELDS);
	h->msg.headers[h->msg.n_headers++] = *f;

	switch (nl) { /* the length picks the one name worth comparing */
	case 4:
		if (ieq(n, nl, "host") && !h->is_response)
			e = field_host(h, v, vl);
		break;
	case 6:
		if (ieq(n, nl, "expect") && !h->is_response)
			e = field_expect(h, v, vl);
		break;
	case 7:
		if (ieq(n, nl, "upgrade"))
			h->upgrade_field = vl > 0;
		break;
	case 10:
		if (ieq(n, nl, "connection"))
			e = field_connection(h, v, vl);
		break;
	case 14:
		if (ieq(n, nl, "content-length"))
			e = field_content_length(h, v, vl);
		break;
	case 17:
		if (ieq(n, nl, "transfer-encoding"))
			e = field_transfer_encoding(h, v, vl);
		break;
	}
	return e == HTTP_ERR_NONE ? HTTP_NEED_MORE : head_fail(h, e);
}

static bool keep_alive(const struct http_head *h)
{
	if (h->conn_close)
		return false;
	return h->msg.version_minor == 1 || h->conn_keep_alive;
}

/* Request framing (RFC 9112 §6.3 items 3-7). */
static enum http_result finish_request(struct http_head *h)
{
	struct http_message *m = &h->msg;
	bool v11 = m->version_minor == 1;

	if (v11 && h->host_count == 0)
		return head_fail(h, HTTP_ERR_HOST_MISSING);
	/* RFC 9112 §3.2: an empty Host is only for a target URI without an
	 * authority; origin-form and "*" always have one (HAProxy 2.6
	 * forwards it; we do not). An absolute-form's own authority replaces
	 * whatever Host says. */
	if (h->host_count == 1 && m->host.len == 0 && !m->absolute_form)
		return head_fail(h, HTTP_ERR_HOST_EMPTY);
	if (h->te_seen && h->cl_seen)
		return head_fail(h, HTTP_ERR_CL_AND_TE);
	if (h->te_seen && !h->te_final_chunked)
		return head_fail(h, HTTP_ERR_TE_NOT_CHUNKED);
	if (h->te_seen) {
		m->framing = HTTP_FRAMING_CHUNKED;
	} else if (h->cl_seen) {
		m->framing = HTTP_FRAMING_LENGTH;
		m->content_length = h->cl_value;
		if (h->lim.max_body && h->cl_value > h->lim.max_body)
			return head_fail(h, HTTP_ERR_BODY_TOO_LARGE);
	} else {
		m->framing = HTTP_FRAMING_NONE;
	}
	m->keep_alive = keep_alive(h);
	m->expect_continue = v11 && h->expect_100;
	m->upgrade = v11 && h->upgrade_field && h->conn_upgrade;
	m->host_present = h->host_count == 1;
	return HTTP_COMPLETE;
}

/* Response framing (RFC 9112 §6.3 items 1-2, 4-8). */
static enum http_result finish_response(struct http_head *h)
{
	struct http_message *m = &h->msg;
	uint16_t st = m->status;

	if (h->te_seen && h->cl_seen)
		return head_fail(h, HTTP_ERR_CL_AND_TE);
	if (h->req_method == HTTP_METHOD_HEAD || st < 200 || st == 204 ||
	    st == 304)
		m->framing = HTTP_FRAMING_NONE;
	else if (h->req_method == HTTP_METHOD_CONNECT && st < 300)
		m->framing = HTTP_FRAMING_TUNNEL;
	else if (h->te_seen)
		m->framing = h->te_final_chunked ? HTTP_FRAMING_CHUNKED :
						   HTTP_FRAMING_CLOSE;
	else if (h->cl_seen)
		m->framing = HTTP_FRAMING_LENGTH;
	else
		m->framing = HTTP_FRAMING_CLOSE;
	m->content_length = m->framing == HTTP_FRAMING_LENGTH ? h->cl_value : 0;
	m->upgrade = st == 101;
	m->keep_alive = keep_alive(h) && !m->upgrade &&
			m->framing != HTTP_FRAMING_CLOSE &&
			m->framing != HTTP_FRAMING_TUNNEL;
	return HTTP_COMPLETE;
}

enum http_result http_head_finish(struct http_head *h)
{
	return h->is_response ? finish_response(h) : finish_request(h);
}
