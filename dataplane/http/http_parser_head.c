/* http_parser_head: the head machine: start-line (request or status line)
 * and the header section, byte at a time, with a fast path that scans runs
 * of ordinary bytes. What a field means (framing, persistence) is
 * http_parser_fields.c's; this file only keeps the grammar. Never reads
 * past the bytes it is given, never allocates. */
#include "http/http_parser.h"

#include <errno.h>
#include <string.h>

#include "http/http_parser_internal.h"

/* ------------------------------------------------------------------------ */
/* Head parser                                                              */
/* ------------------------------------------------------------------------ */

static void head_init(struct http_head *h, char *buf, uint32_t cap,
		      const struct http_limits *lim, bool is_response,
		      enum http_method req_method)
{
	h->buf = buf;
	h->cap = cap;
	h->is_response = is_response;
	h->req_method = req_method;
	h->lim = lim ? *lim : HTTP_LIMITS_DEFAULT;
	if (h->lim.max_headers > HTTP_MAX_HEADERS)
		h->lim.max_headers = HTTP_MAX_HEADERS;
	http_head_reset(h);
}

void http_request_init(struct http_head *h, char *buf, uint32_t cap,
		       const struct http_limits *lim)
{
	head_init(h, buf, cap, lim, false, HTTP_METHOD_OTHER);
}

void http_response_init(struct http_head *h, char *buf, uint32_t cap,
			const struct http_limits *lim,
			enum http_method req_method)
{
	head_init(h, buf, cap, lim, true, req_method);
}

/* http_head_reset clears up to the header array, which must stay last. */
_Static_assert(offsetof(struct http_head, msg) + sizeof(struct http_message) ==
		       sizeof(struct http_head),
	       "msg must be the last member of struct http_head");

void http_head_reset(struct http_head *h)
{
	/* Everything from `len` on is per-message; the header array is only
	 * read up to n_headers, so it is not cleared (1.6 KB per request). */
	size_t from = offsetof(struct http_head, len);
	size_t to = offsetof(struct http_head, msg) +
		    offsetof(struct http_message, headers);

	memset((char *)h + from, 0, to - from);
	h->msg.method = h->is_response ? h->req_method : HTTP_METHOD_OTHER;
}

uint16_t http_head_error_status(const struct http_head *h)
{
	if (h->error == HTTP_ERR_NONE)
		return 0;
	return h->is_response ? 502 : http_error_status(h->error);
}

int http_header_find(const struct http_head *h, const char *name,
		     unsigned int from)
{
	unsigned int i;

	for (i = from; i < h->msg.n_headers; i++) {
		struct http_span n = h->msg.headers[i].name;

		if (ieq(http_span_ptr(h, n), n.len, name))
			return (int)i;
	}
	return -ENOENT;
}

static enum http_method method_lookup(const char *m, uint32_t len)
{
	enum http_method i;

	/* Methods are case-sensitive (RFC 9110 §9.1). */
	for (i = HTTP_METHOD_GET; i < HTTP_METHOD_COUNT; i++)
		if (strlen(http_method_name(i)) == len &&
		    memcmp(http_method_name(i), m, len) == 0)
			return i;
	return HTTP_METHOD_OTHER;
}

/* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 §2.3). */
static enum http_error version_check(const char *v, uint32_t len,
				     uint8_t *minor)
{
	if (len != 8 || memcmp(v, "HTTP/", 5) != 0 || !is_digit(v[5]) ||
	    v[6] != '.' || !is_digit(v[7]))
		return HTTP_ERR_BAD_VERSION;
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return HTTP_ERR_VERSION_UNSUPPORTED;
	*minor = (uint8_t)(v[7] - '0');
	return HTTP_ERR_NONE;
}

/* The request-target form must fit the method (RFC 9112 §3.2). */
static bool target_form_ok(enum http_method m, const char *t, uint32_t len)
{
	uint32_t i;

	if (m == HTTP_METHOD_CONNECT) /* authority-form: host:port */
		return t[0] != '/' && memchr(t, ':', len) != NULL &&
		       memchr(t, '/', len) == NULL;
	if (t[0] == '/')
		return true;
	if (len == 1 && t[0] == '*')
		return m == HTTP_METHOD_OPTIONS;
	/* absolute-form: scheme ":" ...; scheme = ALPHA *(ALPHA/DIGIT/+-.) */
	if (!is_alpha(t[0]))
		return false;
	for (i = 1; i < len; i++) {
		uint8_t c = (uint8_t)t[i];

		if (c == ':')
			return true;
		if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' &&
		    c != '.')
			return false;
	}
	return false;
}

/* absolute-form (RFC 9112 §3.2.2): only "http" and "https" URIs, whose
 * authority must be a valid, non-empty Host (no userinfo: RFC 9110
 * §4.2.4) and which carry no fragment. The authority and the origin-form
 * rest are noted so the proxy can forward origin-form with the authority
 * as Host. Other forms are left alone (target_form_ok checked them). */
static enum http_error target_absolute(struct http_message *m, const char *buf,
				       struct http_span t)
{
	const char *p = buf + t.off;
	uint32_t i, s;

	if (p[0] == '/' || p[0] == '*' || m->method == HTTP_METHOD_CONNECT)
		return HTTP_ERR_NONE;
	if (t.len > 7 && ieq(p, 7, "http://"))
		s = 7;
	else if (t.len > 8 && ieq(p, 8, "https://"))
		s = 8;
	else
		return HTTP_ERR_TARGET_AUTHORITY;
	for (i = s; i < t.len && p[i] != '/' && p[i] != '?'; i++)
		if (!(http_ctype[(uint8_t)p[i]] & C_HOST))
			return HTTP_ERR_TARGET_AUTHORITY;
	if (i == s || memchr(p, '#', t.len))
		return HTTP_ERR_TARGET_AUTHORITY;
	m->absolute_form = true;
	m->authority = (struct http_span){ t.off + s, i - s };
	m->origin = (struct http_span){ t.off + i, t.len - i };
	return HTTP_ERR_NONE;
}

static enum http_result on_method(struct http_head *h, uint8_t c, uint32_t pos)
{
	uint32_t len = pos - h->tok_off;

	if (is_tchar(c))
		return len >= HTTP_MAX_METHOD_LEN ?
			       head_fail(h, HTTP_ERR_METHOD) :
			       HTTP_NEED_MORE;
	if (c == '\r' && len > 0)
		return head_fail(h, HTTP_ERR_REQUEST_LINE);
	if (c != ' ' || len == 0)
		return head_fail(h, HTTP_ERR_METHOD);
	h->msg.method_span = (struct http_span){ h->tok_off, len };
	h->msg.method = method_lookup(h->buf + h->tok_off, len);
	h->tok_off = pos + 1;
	h->state = HS_TARGET;
	return HTTP_NEED_MORE;
}

static enum http_result on_target(struct http_head *h, uint8_t c, uint32_t pos)
{
	uint32_t len = pos - h->tok_off;
	enum http_error e;

	if (c == ' ' || c == '\r') {
		if (len == 0)
			return head_fail(h, HTTP_ERR_REQUEST_LINE);
		if (c == '\r')
			return head_fail(h, HTTP_ERR_NO_VERSION);
		if (!target_form_ok(h->msg.method, h->buf + h->tok_off, len))
			return head_fail(h, HTTP_ERR_TARGET_FORM);
		h->msg.target = (struct http_span){ h->tok_off, len };
		e = target_absolute(&h->msg, h->buf, h->msg.target);
		if (e != HTTP_ERR_NONE)
			return head_fail(h, e);
		h->tok_off = pos + 1;
		h->state = HS_VERSION;
		return HTTP_NEED_MORE;
	}
	if (!(http_ctype[c] & C_TARGET))
		return head_fail(h, HTTP_ERR_TARGET_CHAR);
	if (len + 1 > h->lim.max_target)
		return head_fail(h, HTTP_ERR_TARGET_TOO_LONG);
	return HTTP_NEED_MORE;
}

static enum http_result on_version(struct http_head *h, uint8_t c, uint32_t pos)
{
	uint32_t len = pos - h->tok_off;
	enum http_error e;

	if (c != '\r')
		return len >= 8 ? head_fail(h, HTTP_ERR_BAD_VERSION) :
				  HTTP_NEED_MORE;
	if (len == 0)
		return head_fail(h, HTTP_ERR_NO_VERSION);
	e = version_check(h->buf + h->tok_off, len, &h->msg.version_minor);
	if (e != HTTP_ERR_NONE)
		return head_fail(h, e);
	h->state = HS_LINE_CR;
	return HTTP_NEED_MORE;
}

static enum http_result on_resp_version(struct http_head *h, uint8_t c,
					uint32_t pos)
{
	uint32_t len = pos - h->tok_off;
	enum http_error e;

	if (c != ' ')
		return len >= 8 || c == '\r' ?
			       head_fail(h, HTTP_ERR_STATUS_LINE) :
			       HTTP_NEED_MORE;
	e = version_check(h->buf + h->tok_off, len, &h->msg.version_minor);
	if (e != HTTP_ERR_NONE)
		return head_fail(h, len == 0 ? HTTP_ERR_STATUS_LINE : e);
	h->tok_off = pos + 1;
	h->state = HS_STATUS;
	return HTTP_NEED_MORE;
}

static enum http_result on_status(struct http_head *h, uint8_t c, uint32_t pos)
{
	uint32_t len = pos - h->tok_off;

	if (is_digit(c) && len < 3) {
		h->msg.status = (uint16_t)(h->msg.status * 10 + (c - '0'));
		return HTTP_NEED_MORE;
	}
	if ((c != ' ' && c != '\r') || len != 3 || h->msg.status < 100 ||
	    h->msg.status > 599)
		return head_fail(h, HTTP_ERR_STATUS_CODE);
	h->msg.reason = (struct http_span){ pos, 0 };
	h->tok_off = pos + 1;
	h->state = c == ' ' ? HS_REASON : HS_LINE_CR;
	return HTTP_NEED_MORE;
}

static enum http_result on_reason(struct http_head *h, uint8_t c, uint32_t pos)
{
	if (c == '\r') {
		h->msg.reason =
			(struct http_span){ h->tok_off, pos - h->tok_off };
		h->state = HS_LINE_CR;
		return HTTP_NEED_MORE;
	}
	if (c != '\t' && (c < 0x20 || c == 0x7f))
		return head_fail(h, HTTP_ERR_STATUS_LINE);
	return HTTP_NEED_MORE;
}
static enum http_result on_field_byte(struct http_head *h, uint8_t c,
				      uint32_t pos)
{
	enum http_error err = HTTP_ERR_NONE;
	enum http_result r;

	switch (http_field_step(&h->fstate, h->first_field, c, &err)) {
	case FE_NONE:
		break;
	case FE_NAME_START:
		h->cur.name.off = pos;
		break;
	case FE_COLON:
		h->cur.name.len = pos - h->cur.name.off;
		h->value_started = false;
		break;
	case FE_VALUE_CHAR:
		if (!h->value_started)
			h->cur.value.off = pos;
		h->value_started = true;
		h->value_end = pos + 1;
		break;
	case FE_LINE_END:
		if (!h->value_started) /* empty value: an empty span at CR */
			h->cur.value = (struct http_span){ pos - 1, 0 };
		else
			h->cur.value.len = h->value_end - h->cur.value.off;
		h->first_field = false;
		return http_head_end_field(h);
	case FE_BLOCK_END:
		h->msg.head_len = h->len;
		r = http_head_finish(h);
		if (r == HTTP_COMPLETE)
			h->state = HS_DONE;
		return r;
	case FE_ERROR:
		return head_fail(h, err);
	}
	return HTTP_NEED_MORE;
}

static enum http_result head_step(struct http_head *h, uint8_t c)
{
	uint32_t pos;

	/* Before the start-line: skip a few empty lines (requests only). */
	if (h->state == HS_START_CR) {
		if (c != '\n')
			return head_fail(h, HTTP_ERR_BARE_CR);
		if (++h->empty_lines > HTTP_MAX_LEADING_EMPTY_LINES)
			return head_fail(h, HTTP_ERR_EMPTY_LINES);
		h->state = HS_START;
		return HTTP_NEED_MORE;
	}
	if (h->state == HS_START) {
		if (!h->is_response && c == '\r') {
			h->state = HS_START_CR;
			return HTTP_NEED_MORE;
		}
		h->state = h->is_response ? HS_RESP_VERSION : HS_METHOD;
	}

	if (h->state == HS_LINE_CR) {
		if (c != '\n')
			return head_fail(h, HTTP_ERR_BARE_CR);
	} else if (c == '\n' && h->state != HS_FIELDS) {
		return head_fail(h, HTTP_ERR_BARE_LF);
	}
	if (h->len == h->cap)
		return head_fail(h, h->state == HS_TARGET ?
					    HTTP_ERR_TARGET_TOO_LONG :
					    HTTP_ERR_HEAD_TOO_LARGE);
	pos = h->len;
	h->buf[h->len++] = (char)c;

	switch (h->state) {
	case HS_METHOD:
		return on_method(h, c, pos);
	case HS_TARGET:
		return on_target(h, c, pos);
	case HS_VERSION:
		return on_version(h, c, pos);
	case HS_LINE_CR:
		h->state = HS_FIELDS;
		h->fstate = FS_LINE_START;
		h->first_field = true;
		return HTTP_NEED_MORE;
	case HS_RESP_VERSION:
		return on_resp_version(h, c, pos);
	case HS_STATUS:
		return on_status(h, c, pos);
	case HS_REASON:
		return on_reason(h, c, pos);
	case HS_FIELDS:
		return on_field_byte(h, c, pos);
	default: /* HS_START*, HS_DONE, HS_ERROR never get here */
		return head_fail(h, HTTP_ERR_STATUS_LINE);
	}
}

/* Eight bytes, all in [lo, 0x7E]? (lo <= 0x80; SWAR tests "has a byte
 * less than lo" and "has a byte above 0x7E", exact for existence.) */
static inline bool all_in8(const uint8_t *p, uint8_t lo)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t x;

	memcpy(&x, p, sizeof(x));
	return (((x - ones * lo) & ~x) | ((x + ones) | x)) & highs ? false :
								     true;
}

/* Fast path: copy a run of bytes that cannot change the state (target,
 * field-name and field-value bytes) in one go. It stops before any byte
 * that needs head_step (a delimiter, an invalid byte, a full buffer, the
 * target limit), so the outcome is the same as stepping byte by byte. */
static size_t head_run(struct http_head *h, const uint8_t *p, size_t n)
{
	uint32_t room = h->cap - h->len;
	size_t max = n < room ? n : room, k = 0, last = 0;

	if (h->state == HS_TARGET) {
		uint32_t tlen = h->len - h->tok_off;

		if (tlen >= h->lim.max_target)
			return 0;
		if (max > h->lim.max_target - tlen)
			max = h->lim.max_target - tlen;
		while (max - k >= 8 && all_in8(p + k, 0x21))
			k += 8;
		while (k < max && (http_ctype[p[k]] & C_TARGET))
			k++;
	} else if (h->state == HS_FIELDS && h->fstate == FS_NAME) {
		while (k < max && (http_ctype[p[k]] & C_TCHAR))
			k++;
	} else if (h->state == HS_FIELDS && h->fstate == FS_VALUE) {
		while (max - k >= 8 && all_in8(p + k, 0x20))
			k += 8;
		while (k < max && (http_ctype[p[k]] & C_FIELD))
			k++;
		last = k; /* trailing OWS is not part of the value */
		while (last > 0 && is_ows(p[last - 1]))
			last--;
		if (last)
			h->value_end = h->len + (uint32_t)last;
	}
	memcpy(h->buf + h->len, p, k);
	h->len += (uint32_t)k;
	return k;
}

/* Fast path for a whole, plain field line "name:OWS value OWS CRLF" that is
 * all in `p` and fits the buffer: the same effects as stepping through it
 * byte by byte, without the per-byte dispatch. Anything unusual (a split
 * line, an invalid byte, a full buffer) declines with 0, before changing
 * anything, and head_step takes over from the same byte. */
static size_t head_line(struct http_head *h, const uint8_t *p, size_t n,
			enum http_result *r)
{
	size_t k = 0, colon, vstart, vend;
	uint32_t base = h->len;

	while (k < n && (http_ctype[p[k]] & C_TCHAR))
		k++;
	if (k == 0 || k == n || p[k] != ':')
		return 0;
	colon = k++;
	while (k < n && is_ows(p[k]))
		k++;
	vstart = k;
	while (n - k >= 8 && all_in8(p + k, 0x20))
		k += 8;
	while (k < n && (http_ctype[p[k]] & C_FIELD))
		k++;
	if (n - k < 2 || p[k] != '\r' || p[k + 1] != '\n' ||
	    k + 2 > h->cap - base)
		return 0;
	for (vend = k; vend > vstart && is_ows(p[vend - 1]);)
		vend--;
	memcpy(h->buf + base, p, k + 2);
	h->len = base + (uint32_t)(k + 2);
	h->cur.name = (struct http_span){ base, (uint32_t)colon };
	if (vend > vstart) /* else an empty span at CR, as head_step does */
		h->cur.value = (struct http_span){ base + (uint32_t)vstart,
						   (uint32_t)(vend - vstart) };
	else
		h->cur.value = (struct http_span){ base + (uint32_t)k, 0 };
	h->first_field = false;
	*r = http_head_end_field(h);
	return k + 2;
}

/* Fast path for a whole, valid request line "method SP target SP version
 * CRLF" at the very start of a request: same effects as head_step, and
 * declines with 0 (changing nothing) for anything it does not accept. */
static size_t head_request_line(struct http_head *h, const uint8_t *p, size_t n)
{
	const char *c = (const char *)p;
	size_t m = 0, t, v;
	enum http_method method;
	uint8_t minor;

	while (m < n && m <= HTTP_MAX_METHOD_LEN &&
	       (http_ctype[p[m]] & C_TCHAR))
		m++;
	if (m == 0 || m > HTTP_MAX_METHOD_LEN || m == n || p[m] != ' ')
		return 0;
	t = m + 1;
	while (n - t >= 8 && all_in8(p + t, 0x21))
		t += 8;
	while (t < n && (http_ctype[p[t]] & C_TARGET))
		t++;
	v = t + 1; /* the version: 8 bytes, then CRLF */
	if (t == m + 1 || t - (m + 1) > h->lim.max_target || n < v + 10 ||
	    v + 10 > h->cap || p[t] != ' ' || p[v + 8] != '\r' ||
	    p[v + 9] != '\n' ||
	    version_check(c + v, 8, &minor) != HTTP_ERR_NONE)
		return 0;
	method = method_lookup(c, (uint32_t)m);
	if (!target_form_ok(method, c + m + 1, (uint32_t)(t - m - 1)))
		return 0;
	h->msg.method = method;
	h->msg.target =
		(struct http_span){ (uint32_t)m + 1, (uint32_t)(t - m - 1) };
	/* spans are offsets: checked on p, valid in buf once copied */
	if (target_absolute(&h->msg, c, h->msg.target) != HTTP_ERR_NONE) {
		h->msg.method = HTTP_METHOD_OTHER;
		h->msg.target = (struct http_span){ 0, 0 };
		return 0;
	}
	memcpy(h->buf, p, v + 10);
	h->len = (uint32_t)(v + 10);
	h->msg.method_span = (struct http_span){ 0, (uint32_t)m };
	h->msg.version_minor = minor;
	h->state = HS_FIELDS;
	h->fstate = FS_LINE_START;
	h->first_field = true;
	return v + 10;
}

enum http_result http_head_feed(struct http_head *h, const void *data,
				size_t len, size_t *consumed)
{
	const uint8_t *p = data;
	size_t i = 0, n;

	*consumed = 0;
	if (h->state == HS_DONE)
		return HTTP_COMPLETE;
	if (h->state == HS_ERROR)
		return HTTP_ERROR;
	while (i < len) {
		enum http_result r = HTTP_NEED_MORE;

		if (h->state == HS_FIELDS && h->fstate == FS_LINE_START &&
		    (n = head_line(h, p + i, len - i, &r)) > 0) {
			i += n;
		} else if (h->state == HS_START && !h->is_response &&
			   (n = head_request_line(h, p + i, len - i)) > 0) {
			i += n;
		} else {
			i += head_run(h, p + i, len - i);
			if (i == len)
				break;
			r = head_step(h, p[i++]);
		}
		if (r != HTTP_NEED_MORE) {
			*consumed = i;
			return r;
		}
	}
	*consumed = len;
	return HTTP_NEED_MORE;
}
