/* http_parser: byte-at-a-time state machines for HTTP/1.1 heads (requests
 * and responses) and body framing. Every decision is taken on one byte with
 * the state left by the previous one, which is what makes the result
 * independent of how the input is split. No allocation, no I/O. */
#include "http/http_parser.h"

#include <errno.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Names and statuses                                                       */
/* ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *help;
	uint16_t status;
} http_error_info[HTTP_ERR_COUNT] = {
#define HTTP_ERR_INFO_(n, st, hl) [HTTP_ERR_##n] = { #n, hl, st },
	HTTP_ERRORS(HTTP_ERR_INFO_)
#undef HTTP_ERR_INFO_
};

static const char *const http_method_names[HTTP_METHOD_COUNT] = {
	[HTTP_METHOD_OTHER] = "OTHER",	   [HTTP_METHOD_GET] = "GET",
	[HTTP_METHOD_HEAD] = "HEAD",	   [HTTP_METHOD_POST] = "POST",
	[HTTP_METHOD_PUT] = "PUT",	   [HTTP_METHOD_DELETE] = "DELETE",
	[HTTP_METHOD_CONNECT] = "CONNECT", [HTTP_METHOD_OPTIONS] = "OPTIONS",
	[HTTP_METHOD_TRACE] = "TRACE",	   [HTTP_METHOD_PATCH] = "PATCH",
};

const char *http_error_name(enum http_error e)
{
	return (unsigned)e < HTTP_ERR_COUNT ? http_error_info[e].name : "?";
}

const char *http_error_help(enum http_error e)
{
	return (unsigned)e < HTTP_ERR_COUNT ? http_error_info[e].help : "?";
}

uint16_t http_error_status(enum http_error e)
{
	return (unsigned)e < HTTP_ERR_COUNT ? http_error_info[e].status : 400;
}

const char *http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD_COUNT ? http_method_names[m] : "?";
}

const char *http_framing_name(enum http_framing f)
{
	switch (f) {
	case HTTP_FRAMING_NONE:
		return "none";
	case HTTP_FRAMING_LENGTH:
		return "content-length";
	case HTTP_FRAMING_CHUNKED:
		return "chunked";
	case HTTP_FRAMING_CLOSE:
		return "close";
	case HTTP_FRAMING_TUNNEL:
		return "tunnel";
	}
	return "?";
}

/* ------------------------------------------------------------------------ */
/* Character classes (RFC 9110 §5.6)                                        */
/* ------------------------------------------------------------------------ */

static inline bool is_alpha(uint8_t c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static inline uint8_t to_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

static inline bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_ows(uint8_t c)
{
	return c == ' ' || c == '\t';
}

/* Byte classes, one table lookup per byte on the fast path:
 *  C_TCHAR  tchar = "!#$%&'*+-.^_`|~" / DIGIT / ALPHA
 *  C_VALUE  field-value byte that is not whitespace: VCHAR / obs-text
 *  C_TARGET request-target byte we accept: VCHAR (0x21-0x7E)
 *  C_HOST   Host byte: unreserved / sub-delims / "%" / ":" / "[" / "]"
 *           (anything else, "/", "@", "?", SP..., lets two parsers
 *           disagree on the authority)
 *  C_FIELD  any field-value byte: C_VALUE / SP / HTAB
 * The unit tests check every byte value of each class against these
 * definitions. */
enum {
	C_TCHAR = 1,
	C_VALUE = 2,
	C_TARGET = 4,
	C_HOST = 8,
	C_FIELD = 16
};

static const uint8_t http_ctype[256] = {
	/* 00 */ 0,  0,	 0,  0,	 0,  0,	 0,  0,
	0,	     16, 0,  0,	 0,  0,	 0,  0,
	/* 10 */ 0,  0,	 0,  0,	 0,  0,	 0,  0,
	0,	     0,	 0,  0,	 0,  0,	 0,  0,
	/* 20 */ 16, 31, 22, 23, 31, 31, 31, 31,
	30,	     30, 31, 31, 30, 31, 31, 22,
	/* 30 */ 31, 31, 31, 31, 31, 31, 31, 31,
	31,	     31, 30, 30, 22, 30, 22, 22,
	/* 40 */ 22, 31, 31, 31, 31, 31, 31, 31,
	31,	     31, 31, 31, 31, 31, 31, 31,
	/* 50 */ 31, 31, 31, 31, 31, 31, 31, 31,
	31,	     31, 31, 30, 22, 30, 23, 31,
	/* 60 */ 23, 31, 31, 31, 31, 31, 31, 31,
	31,	     31, 31, 31, 31, 31, 31, 31,
	/* 70 */ 31, 31, 31, 31, 31, 31, 31, 31,
	31,	     31, 31, 22, 23, 22, 31, 0,
	/* 80 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* 90 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* a0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* b0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* c0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* d0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* e0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
	/* f0 */ 18, 18, 18, 18, 18, 18, 18, 18,
	18,	     18, 18, 18, 18, 18, 18, 18,
};

static inline bool is_tchar(uint8_t c)
{
	return http_ctype[c] & C_TCHAR;
}

static inline bool is_field_vchar(uint8_t c)
{
	return http_ctype[c] & C_VALUE;
}

static inline int hex_value(uint8_t c)
{
	if (is_digit(c))
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* `a` (alen bytes) equals the C string `b`, ASCII case-insensitively. */
static bool ieq(const char *a, uint32_t alen, const char *b)
{
	uint32_t i;

	for (i = 0; i < alen; i++)
		if (b[i] == '\0' ||
		    to_lower((uint8_t)a[i]) != to_lower((uint8_t)b[i]))
			return false;
	return b[i] == '\0';
}

/* Next element of a comma-separated list (RFC 9110 §5.6.1), OWS trimmed;
 * empty elements are returned as such. Returns false past the end. */
static bool list_next(const char *v, uint32_t len, uint32_t *pos,
		      const char **elem, uint32_t *elen)
{
	uint32_t start = *pos, end;

	if (start > len)
		return false;
	end = start;
	while (end < len && v[end] != ',')
		end++;
	*pos = end + 1;
	while (start < end && is_ows((uint8_t)v[start]))
		start++;
	while (end > start && is_ows((uint8_t)v[end - 1]))
		end--;
	*elem = v + start;
	*elen = end - start;
	return true;
}

static bool all_tchar(const char *s, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		if (!is_tchar((uint8_t)s[i]))
			return false;
	return len > 0;
}

/* ------------------------------------------------------------------------ */
/* Field lines: one machine for header and trailer sections (RFC 9112 §5)  */
/* ------------------------------------------------------------------------ */

enum field_state {
	FS_LINE_START = 0,
	FS_NAME,
	FS_VALUE_OWS,
	FS_VALUE,
	FS_VALUE_CR,
	FS_END_CR,
};

enum field_event {
	FE_NONE, /* byte taken, nothing to record */
	FE_NAME_START, /* first byte of a field name */
	FE_COLON, /* the colon ending the name */
	FE_VALUE_CHAR, /* a non-whitespace value byte */
	FE_LINE_END, /* LF ending a field line */
	FE_BLOCK_END, /* LF of the empty line ending the section */
	FE_ERROR,
};

/* `first` is true for the first line of a header section: whitespace there
 * is not obs-fold but "whitespace after the start-line" (§2.2). */
static enum field_event field_step(uint8_t *fs, bool first, uint8_t c,
				   enum http_error *err)
{
	if (c == '\n' && *fs != FS_VALUE_CR && *fs != FS_END_CR) {
		*err = HTTP_ERR_BARE_LF;
		return FE_ERROR;
	}
	switch (*fs) {
	case FS_LINE_START:
		if (c == '\r') {
			*fs = FS_END_CR;
			return FE_NONE;
		}
		if (is_tchar(c)) {
			*fs = FS_NAME;
			return FE_NAME_START;
		}
		if (!is_ows(c))
			*err = HTTP_ERR_FIELD_NAME;
		else if (first) /* §2.2: no line above to fold into */
			*err = HTTP_ERR_WS_BEFORE_FIELDS;
		else
			*err = HTTP_ERR_OBS_FOLD; /* §5.2 */
		return FE_ERROR;
	case FS_NAME:
		if (is_tchar(c))
			return FE_NONE;
		if (c == ':') {
			*fs = FS_VALUE_OWS;
			return FE_COLON;
		}
		if (is_ows(c))
			*err = HTTP_ERR_WS_BEFORE_COLON;
		else if (c == '\r')
			*err = HTTP_ERR_NO_COLON;
		else
			*err = HTTP_ERR_FIELD_NAME;
		return FE_ERROR;
	case FS_VALUE_OWS:
	case FS_VALUE:
		if (is_ows(c))
			return FE_NONE;
		if (c == '\r') {
			*fs = FS_VALUE_CR;
			return FE_NONE;
		}
		if (is_field_vchar(c)) {
			*fs = FS_VALUE;
			return FE_VALUE_CHAR;
		}
		*err = HTTP_ERR_FIELD_VALUE;
		return FE_ERROR;
	case FS_VALUE_CR:
	case FS_END_CR:
		if (c != '\n') {
			*err = HTTP_ERR_BARE_CR;
			return FE_ERROR;
		}
		if (*fs == FS_END_CR)
			return FE_BLOCK_END;
		*fs = FS_LINE_START;
		return FE_LINE_END;
	}
	*err = HTTP_ERR_FIELD_NAME;
	return FE_ERROR;
}

/* ------------------------------------------------------------------------ */
/* Head parser                                                              */
/* ------------------------------------------------------------------------ */

enum head_state {
	HS_START = 0, /* before the start-line (empty lines skipped) */
	HS_START_CR, /* CR of an empty line before the request line */
	HS_METHOD,
	HS_TARGET,
	HS_VERSION, /* request HTTP-version, up to CR */
	HS_LINE_CR, /* CR ending the start-line */
	HS_RESP_VERSION, /* response HTTP-version, up to SP */
	HS_STATUS,
	HS_REASON,
	HS_FIELDS,
	HS_DONE,
	HS_ERROR,
};

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

static enum http_result head_fail(struct http_head *h, enum http_error e)
{
	h->error = e;
	h->state = HS_ERROR;
	h->msg.keep_alive = false;
	return HTTP_ERROR;
}

static enum http_method method_lookup(const char *m, uint32_t len)
{
	enum http_method i;

	/* Methods are case-sensitive (RFC 9110 §9.1). */
	for (i = HTTP_METHOD_GET; i < HTTP_METHOD_COUNT; i++)
		if (strlen(http_method_names[i]) == len &&
		    memcmp(http_method_names[i], m, len) == 0)
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

	if (c == ' ' || c == '\r') {
		if (len == 0)
			return head_fail(h, HTTP_ERR_REQUEST_LINE);
		if (c == '\r')
			return head_fail(h, HTTP_ERR_NO_VERSION);
		if (!target_form_ok(h->msg.method, h->buf + h->tok_off, len))
			return head_fail(h, HTTP_ERR_TARGET_FORM);
		h->msg.target = (struct http_span){ h->tok_off, len };
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
static enum http_result end_field_line(struct http_head *h)
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

static enum http_result on_field_byte(struct http_head *h, uint8_t c,
				      uint32_t pos)
{
	enum http_error err = HTTP_ERR_NONE;
	enum http_result r;

	switch (field_step(&h->fstate, h->first_field, c, &err)) {
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
		return end_field_line(h);
	case FE_BLOCK_END:
		h->msg.head_len = h->len;
		r = h->is_response ? finish_response(h) : finish_request(h);
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
	*r = end_field_line(h);
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
	memcpy(h->buf, p, v + 10);
	h->len = (uint32_t)(v + 10);
	h->msg.method = method;
	h->msg.method_span = (struct http_span){ 0, (uint32_t)m };
	h->msg.target =
		(struct http_span){ (uint32_t)m + 1, (uint32_t)(t - m - 1) };
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

/* ------------------------------------------------------------------------ */
/* Body framing decoder                                                     */
/* ------------------------------------------------------------------------ */

enum body_state {
	BS_DONE = 0,
	BS_ERROR,
	BS_LENGTH, /* Content-Length bytes left */
	BS_CLOSE, /* everything until EOF */
	BS_SIZE_FIRST, /* first hex digit of a chunk-size */
	BS_SIZE,
	BS_BWS, /* BWS that must be followed by ";" */
	BS_EXT_NAME_PRE,
	BS_EXT_NAME,
	BS_EXT_AFTER_NAME,
	BS_EXT_VAL_PRE,
	BS_EXT_VAL_TOKEN,
	BS_EXT_QUOTED,
	BS_EXT_QPAIR,
	BS_EXT_AFTER_QUOTED,
	BS_SIZE_CR, /* CR ending the chunk-size line */
	BS_DATA,
	BS_DATA_CR,
	BS_DATA_LF,
	BS_TRAILER,
};

void http_body_init_framing(struct http_body *b, enum http_framing framing,
			    uint64_t length, bool is_response,
			    const struct http_limits *lim)
{
	memset(b, 0, sizeof(*b));
	b->framing = framing;
	b->is_response = is_response;
	b->lim = lim ? *lim : HTTP_LIMITS_DEFAULT;
	switch (framing) {
	case HTTP_FRAMING_LENGTH:
		b->remaining = length;
		b->state = length ? BS_LENGTH : BS_DONE;
		break;
	case HTTP_FRAMING_CHUNKED:
		b->state = BS_SIZE_FIRST;
		break;
	case HTTP_FRAMING_CLOSE:
	case HTTP_FRAMING_TUNNEL:
		b->state = BS_CLOSE;
		break;
	case HTTP_FRAMING_NONE:
	default:
		b->state = BS_DONE;
		break;
	}
}

void http_body_init(struct http_body *b, const struct http_head *h)
{
	http_body_init_framing(b, h->msg.framing, h->msg.content_length,
			       h->is_response, &h->lim);
}

uint16_t http_body_error_status(const struct http_body *b)
{
	if (b->error == HTTP_ERR_NONE)
		return 0;
	return b->is_response ? 502 : http_error_status(b->error);
}

static enum http_result body_fail(struct http_body *b, enum http_error e)
{
	b->error = e;
	b->state = BS_ERROR;
	return HTTP_ERROR;
}

/* The chunk-size line is complete: go to its data or to the trailers. */
static enum http_result chunk_line_end(struct http_body *b)
{
	uint64_t size = b->chunk_size;

	b->chunk_size = 0;
	b->line_len = 0;
	if (size == 0) {
		b->state = BS_TRAILER;
		b->fstate = FS_LINE_START;
		return HTTP_NEED_MORE;
	}
	if (b->total > UINT64_MAX - size)
		return body_fail(b, HTTP_ERR_CHUNK_SIZE_OVERFLOW);
	b->total += size;
	if (b->lim.max_body && b->total > b->lim.max_body)
		return body_fail(b, HTTP_ERR_BODY_TOO_LARGE);
	b->remaining = size;
	b->state = BS_DATA;
	return HTTP_NEED_MORE;
}

/* chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" BWS
 * ext-name [ BWS "=" BWS ( token / quoted-string ) ] ) (RFC 9112 §7.1). */
static enum body_state chunk_ext_next(enum body_state s, uint8_t c)
{
	switch (s) {
	case BS_BWS:
	case BS_EXT_AFTER_QUOTED:
		if (is_ows(c))
			return BS_BWS;
		return c == ';' ? BS_EXT_NAME_PRE : BS_ERROR;
	case BS_EXT_NAME_PRE:
		if (is_ows(c))
			return BS_EXT_NAME_PRE;
		return is_tchar(c) ? BS_EXT_NAME : BS_ERROR;
	case BS_EXT_NAME:
	case BS_EXT_AFTER_NAME:
		if (is_tchar(c) && s == BS_EXT_NAME)
			return BS_EXT_NAME;
		if (is_ows(c))
			return BS_EXT_AFTER_NAME;
		if (c == '=')
			return BS_EXT_VAL_PRE;
		return c == ';' ? BS_EXT_NAME_PRE : BS_ERROR;
	case BS_EXT_VAL_PRE:
		if (is_ows(c))
			return BS_EXT_VAL_PRE;
		if (c == '"')
			return BS_EXT_QUOTED;
		return is_tchar(c) ? BS_EXT_VAL_TOKEN : BS_ERROR;
	case BS_EXT_VAL_TOKEN:
		if (is_tchar(c))
			return BS_EXT_VAL_TOKEN;
		if (is_ows(c))
			return BS_BWS;
		return c == ';' ? BS_EXT_NAME_PRE : BS_ERROR;
	case BS_EXT_QUOTED: /* qdtext = HTAB / SP / VCHAR except " \ / obs */
		if (c == '"')
			return BS_EXT_AFTER_QUOTED;
		if (c == '\\')
			return BS_EXT_QPAIR;
		return c == '\t' || (c >= 0x20 && c != 0x7f) ? BS_EXT_QUOTED :
							       BS_ERROR;
	case BS_EXT_QPAIR:
		return c == '\t' || (c >= 0x20 && c != 0x7f) ? BS_EXT_QUOTED :
							       BS_ERROR;
	default:
		return BS_ERROR;
	}
}

/* One byte of a chunk-size line (size and extensions, up to its CR). */
static enum http_result chunk_line_step(struct http_body *b, uint8_t c)
{
	enum body_state s = (enum body_state)b->state;
	int d = hex_value(c);

	if (++b->line_len > HTTP_MAX_CHUNK_LINE)
		return body_fail(b, HTTP_ERR_CHUNK_LINE_TOO_LONG);
	if (c == '\n')
		return body_fail(b, HTTP_ERR_BARE_LF);
	if (s == BS_SIZE_FIRST || (s == BS_SIZE && d >= 0)) {
		if (d < 0)
			return body_fail(b, HTTP_ERR_CHUNK_SIZE);
		if (b->chunk_size >> 56) /* keep sizes below 2^60 */
			return body_fail(b, HTTP_ERR_CHUNK_SIZE_OVERFLOW);
		b->chunk_size = b->chunk_size * 16 + (uint64_t)d;
		b->state = BS_SIZE;
		return HTTP_NEED_MORE;
	}
	if (c == '\r') {
		/* CRLF may end the line after the size, a name or a value */
		if (s != BS_SIZE && s != BS_EXT_NAME && s != BS_EXT_VAL_TOKEN &&
		    s != BS_EXT_AFTER_QUOTED)
			return body_fail(b, HTTP_ERR_CHUNK_EXT);
		b->state = BS_SIZE_CR;
		return HTTP_NEED_MORE;
	}
	if (s == BS_SIZE) {
		if (c != ';' && !is_ows(c))
			return body_fail(b, HTTP_ERR_CHUNK_SIZE);
		s = BS_BWS; /* what follows the size is chunk-ext grammar */
	}
	s = chunk_ext_next(s, c);
	if (s == BS_ERROR)
		return body_fail(b, HTTP_ERR_CHUNK_EXT);
	b->state = (uint8_t)s;
	return HTTP_NEED_MORE;
}

static enum http_result trailer_step(struct http_body *b, uint8_t c)
{
	enum http_error err = HTTP_ERR_NONE;

	if (++b->trailer_len > b->lim.max_trailer)
		return body_fail(b, HTTP_ERR_TRAILER_TOO_LARGE);
	switch (field_step(&b->fstate, false, c, &err)) {
	case FE_ERROR:
		return body_fail(b, err);
	case FE_BLOCK_END:
		b->state = BS_DONE;
		return HTTP_COMPLETE;
	default:
		return HTTP_NEED_MORE;
	}
}

static enum http_result chunk_step(struct http_body *b, uint8_t c)
{
	switch (b->state) {
	case BS_SIZE_CR:
		if (c != '\n')
			return body_fail(b, HTTP_ERR_BARE_CR);
		return chunk_line_end(b);
	case BS_DATA_CR:
		if (c == '\r') {
			b->state = BS_DATA_LF;
			return HTTP_NEED_MORE;
		}
		return body_fail(b, c == '\n' ? HTTP_ERR_BARE_LF :
						HTTP_ERR_CHUNK_DATA_CRLF);
	case BS_DATA_LF:
		if (c != '\n')
			return body_fail(b, HTTP_ERR_BARE_CR);
		b->state = BS_SIZE_FIRST;
		return HTTP_NEED_MORE;
	case BS_TRAILER:
		return trailer_step(b, c);
	default:
		return chunk_line_step(b, c);
	}
}

enum http_result http_body_feed(struct http_body *b, const void *data,
				size_t len, size_t *consumed)
{
	const uint8_t *p = data;
	size_t i = 0;

	*consumed = 0;
	while (i < len || b->state == BS_DONE || b->state == BS_ERROR) {
		enum http_result r;
		uint64_t n;

		switch (b->state) {
		case BS_DONE:
			*consumed = i;
			return HTTP_COMPLETE;
		case BS_ERROR:
			*consumed = i;
			return HTTP_ERROR;
		case BS_CLOSE:
			i = len;
			break;
		case BS_LENGTH:
		case BS_DATA:
			n = len - i < b->remaining ? len - i : b->remaining;
			b->remaining -= n;
			i += n;
			if (b->remaining == 0)
				b->state = b->state == BS_LENGTH ? BS_DONE :
								   BS_DATA_CR;
			break;
		default:
			r = chunk_step(b, p[i++]);
			if (r != HTTP_NEED_MORE) {
				*consumed = i;
				return r;
			}
			break;
		}
	}
	*consumed = len;
	return HTTP_NEED_MORE;
}

enum http_result http_body_eof(struct http_body *b)
{
	switch (b->state) {
	case BS_DONE:
		return HTTP_COMPLETE;
	case BS_CLOSE:
		b->state = BS_DONE;
		return HTTP_COMPLETE;
	case BS_ERROR:
		return HTTP_ERROR;
	default:
		return body_fail(b, HTTP_ERR_TRUNCATED);
	}
}
