/* Unit tests for dataplane/http/http_parser: vector tables of malformed and
 * valid requests and responses. Every vector is driven through the same
 * head + body loop the proxy uses (pipelining included), fed whole, one byte
 * at a time and in seeded random splits; all runs must give the same
 * transcript, and the whole-feed transcript must match the expectation. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parser.h"
#include "wtest.h"

/* ------------------------------------------------------------------------ */
/* The driver: bytes in, transcript out                                     */
/* ------------------------------------------------------------------------ */

#define MAX_MSGS 4
#define RANDOM_SPLITS 6

struct rec {
	char method[40];
	enum http_method m;
	char target[160];
	int minor;
	int status;
	char reason[40];
	enum http_framing framing;
	uint64_t cl;
	bool ka, expect, upgrade, host;
	char headers[600]; /* "name=value|name=value" */
	uint32_t head_len;
	uint64_t body_len;
};

struct outcome {
	int n;
	struct rec msgs[MAX_MSGS];
	enum http_result result; /* COMPLETE: idle; NEED_MORE: partial */
	enum http_error error;
	uint16_t status;
	bool ka_after_error; /* must be false: the connection closes */
	size_t consumed;
};

struct run_cfg {
	bool is_response;
	enum http_method req_method;
	bool eof; /* the peer closes after the input */
	uint32_t cap;
	struct http_limits lim;
};

static void copy_span(char *dst, size_t size, const struct http_head *h,
		      struct http_span s)
{
	size_t n = s.len < size - 1 ? s.len : size - 1;

	memcpy(dst, http_span_ptr(h, s), n);
	dst[n] = '\0';
}

static void record_head(struct rec *r, const struct http_head *h)
{
	const struct http_message *m = &h->msg;
	size_t used = 0;
	int i;

	memset(r, 0, sizeof(*r));
	copy_span(r->method, sizeof(r->method), h, m->method_span);
	r->m = m->method;
	copy_span(r->target, sizeof(r->target), h, m->target);
	copy_span(r->reason, sizeof(r->reason), h, m->reason);
	r->minor = m->version_minor;
	r->status = m->status;
	r->framing = m->framing;
	r->cl = m->content_length;
	r->ka = m->keep_alive;
	r->expect = m->expect_continue;
	r->upgrade = m->upgrade;
	r->host = m->host_present;
	r->head_len = m->head_len;
	for (i = 0; i < m->n_headers; i++) {
		const struct http_header *f = &m->headers[i];
		int w = snprintf(r->headers + used, sizeof(r->headers) - used,
				 "%s%.*s=%.*s", i ? "|" : "", (int)f->name.len,
				 http_span_ptr(h, f->name), (int)f->value.len,
				 http_span_ptr(h, f->value));

		if (w < 0 || (size_t)w >= sizeof(r->headers) - used)
			break;
		used += (size_t)w;
	}
}

struct driver {
	const struct run_cfg *cfg;
	struct http_head h;
	struct http_body b;
	char *buf;
	bool in_body;
	size_t since_msg; /* bytes taken since the last complete message */
	struct outcome *o;
};

static void driver_start_head(struct driver *d)
{
	if (d->cfg->is_response)
		http_response_init(&d->h, d->buf, d->cfg->cap, &d->cfg->lim,
				   d->cfg->req_method);
	else
		http_request_init(&d->h, d->buf, d->cfg->cap, &d->cfg->lim);
	d->in_body = false;
	d->since_msg = 0;
}

static void driver_error(struct driver *d, bool body)
{
	d->o->result = HTTP_ERROR;
	d->o->error = body ? http_body_error(&d->b) : http_head_error(&d->h);
	d->o->status = body ? http_body_error_status(&d->b) :
			      http_head_error_status(&d->h);
	d->o->ka_after_error = body ? false : d->h.msg.keep_alive;
}

/* Feeds one piece; returns false once the stream is in error. */
static bool driver_feed(struct driver *d, const char *p, size_t n)
{
	size_t off = 0, c;
	enum http_result r;

	for (;;) {
		if (!d->in_body) {
			if (off == n)
				return true;
			r = http_head_feed(&d->h, p + off, n - off, &c);
			off += c;
			d->o->consumed += c;
			d->since_msg += c;
			if (r == HTTP_ERROR) {
				driver_error(d, false);
				return false;
			}
			if (r == HTTP_NEED_MORE)
				return true;
			if (d->o->n < MAX_MSGS)
				record_head(&d->o->msgs[d->o->n], &d->h);
			http_body_init(&d->b, &d->h);
			d->in_body = true;
			continue;
		}
		r = http_body_feed(&d->b, p + off, n - off, &c);
		off += c;
		d->o->consumed += c;
		d->since_msg += c;
		if (d->o->n < MAX_MSGS)
			d->o->msgs[d->o->n].body_len += c;
		if (r == HTTP_ERROR) {
			driver_error(d, true);
			return false;
		}
		if (r == HTTP_NEED_MORE)
			return true;
		d->o->n++;
		driver_start_head(d);
	}
}

static void driver_end(struct driver *d)
{
	if (d->o->result == HTTP_ERROR)
		return;
	if (d->cfg->eof && d->in_body) {
		if (http_body_eof(&d->b) == HTTP_ERROR) {
			driver_error(d, true);
			return;
		}
		d->o->n++;
		d->since_msg = 0;
	}
	d->o->result = d->since_msg ? HTTP_NEED_MORE : HTTP_COMPLETE;
}

/* Runs `in` cut into pieces of the lengths in `cuts` (0-terminated; the
 * rest goes in one last piece). */
static void run(const struct run_cfg *cfg, const char *in, size_t len,
		const size_t *cuts, struct outcome *o)
{
	struct driver d = { .cfg = cfg, .o = o };
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	d.buf = malloc(cfg->cap ? cfg->cap : 1);
	driver_start_head(&d);
	for (; cuts && *cuts && off < len; cuts++) {
		size_t n = *cuts < len - off ? *cuts : len - off;

		if (!driver_feed(&d, in + off, n))
			break;
		off += n;
	}
	if (o->result != HTTP_ERROR && off <= len)
		driver_feed(&d, in + off, len - off);
	driver_end(&d);
	free(d.buf);
}

static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool rec_equal(const struct rec *a, const struct rec *b)
{
	return strcmp(a->method, b->method) == 0 && a->m == b->m &&
	       strcmp(a->target, b->target) == 0 && a->minor == b->minor &&
	       a->status == b->status && strcmp(a->reason, b->reason) == 0 &&
	       a->framing == b->framing && a->cl == b->cl && a->ka == b->ka &&
	       a->expect == b->expect && a->upgrade == b->upgrade &&
	       a->host == b->host && strcmp(a->headers, b->headers) == 0 &&
	       a->head_len == b->head_len && a->body_len == b->body_len;
}

static bool outcome_equal(const struct outcome *a, const struct outcome *b)
{
	int i;

	if (a->n != b->n || a->result != b->result || a->error != b->error ||
	    a->status != b->status || a->consumed != b->consumed ||
	    a->ka_after_error != b->ka_after_error)
		return false;
	for (i = 0; i < a->n && i < MAX_MSGS; i++)
		if (!rec_equal(&a->msgs[i], &b->msgs[i]))
			return false;
	return true;
}

static void outcome_print(const char *what, const struct outcome *o)
{
	printf("#     %s: n=%d result=%d error=%s status=%u consumed=%zu\n",
	       what, o->n, o->result, http_error_name(o->error), o->status,
	       o->consumed);
}

/* A broken invariant can fail thousands of mutants: report the first few. */
#define MAX_DIFF_REPORTS 20
static int diff_reports;

/* Runs whole, byte by byte and in seeded random splits; fails the case if
 * any run differs from the whole one, which is returned in `o`. */
static void run_all_splits(const struct run_cfg *cfg, const char *name,
			   const char *in, size_t len, struct outcome *o)
{
	static size_t cuts[70000];
	struct outcome other;
	size_t i, k;

	run(cfg, in, len, NULL, o);

	for (i = 0; i < len && i < sizeof(cuts) / sizeof(cuts[0]) - 1; i++)
		cuts[i] = 1;
	cuts[i] = 0;
	run(cfg, in, len, cuts, &other);
	if (!outcome_equal(o, &other)) {
		if (diff_reports++ < MAX_DIFF_REPORTS) {
			printf("#   %s: byte-at-a-time differs from whole\n",
			       name);
			outcome_print("whole", o);
			outcome_print("bytes", &other);
		}
		WT_CHECK(outcome_equal(o, &other));
	}

	rng_state = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len;
	for (k = 0; k < RANDOM_SPLITS; k++) {
		size_t left = len, j = 0;

		while (left > 0 && j < sizeof(cuts) / sizeof(cuts[0]) - 1) {
			size_t most = len < 24 ? len : 24;
			size_t n = 1 + (size_t)(rng_next() % most);

			if (n > left)
				n = left;
			cuts[j++] = n;
			left -= n;
		}
		cuts[j] = 0;
		run(cfg, in, len, cuts, &other);
		if (!outcome_equal(o, &other)) {
			if (diff_reports++ < MAX_DIFF_REPORTS) {
				printf("#   %s: random split %zu differs from "
				       "whole\n",
				       name, k);
				outcome_print("whole", o);
				outcome_print("split", &other);
			}
			WT_CHECK(outcome_equal(o, &other));
		}
	}
}

static const struct run_cfg req_cfg = {
	.cap = HTTP_HEAD_BUF_DEFAULT,
	.lim = HTTP_LIMITS_DEFAULT_INIT,
};

/* ------------------------------------------------------------------------ */
/* Malformed requests: each refused with its status and reason, then close */
/* ------------------------------------------------------------------------ */

struct bad_case {
	const char *name;
	const char *in;
	size_t len;
	uint16_t status;
	enum http_error reason;
};

#define BAD(nm, input, st, why)                                  \
	{                                                        \
		nm, input, sizeof(input) - 1, st, HTTP_ERR_##why \
	}
#define H11 " HTTP/1.1\r\nHost: a\r\n"
#define CHK "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

static const struct bad_case bad_requests[] = {
	/* line endings */
	BAD("bare LF ends request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400,
	    BARE_LF),
	BAD("bare LF ends field line", "GET /" H11 "X: b\n\r\n", 400, BARE_LF),
	BAD("bare LF ends head", "GET /" H11 "\n", 400, BARE_LF),
	BAD("bare LF before request", "\nGET /" H11 "\r\n", 400, BARE_LF),
	BAD("bare LF in method", "GE\nT /" H11 "\r\n", 400, BARE_LF),
	BAD("bare CR in value", "GET /" H11 "X: a\rb\r\n\r\n", 400, BARE_CR),
	BAD("bare CR after request line", "GET / HTTP/1.1\rHost: a\r\n\r\n",
	    400, BARE_CR),
	BAD("bare CR ends head", "GET /" H11 "\rX", 400, BARE_CR),
	BAD("bare CR before request", "\rGET /" H11 "\r\n", 400, BARE_CR),
	BAD("five empty lines first", "\r\n\r\n\r\n\r\n\r\nGET /" H11 "\r\n",
	    400, EMPTY_LINES),
	/* request line */
	BAD("method with @", "G@T /" H11 "\r\n", 400, METHOD),
	BAD("method with (", "GE(T /" H11 "\r\n", 400, METHOD),
	BAD("empty method", " /" H11 "\r\n", 400, METHOD),
	BAD("method 33 chars", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA /" H11 "\r\n",
	    400, METHOD),
	BAD("tab after method", "GET\t/" H11 "\r\n", 400, METHOD),
	BAD("double SP before target", "GET  /" H11 "\r\n", 400, REQUEST_LINE),
	BAD("method only", "GET\r\nHost: a\r\n\r\n", 400, REQUEST_LINE),
	BAD("SP SP CRLF", "GET \r\nHost: a\r\n\r\n", 400, REQUEST_LINE),
	BAD("no version", "GET /\r\nHost: a\r\n\r\n", 400, NO_VERSION),
	BAD("no version after SP", "GET / \r\nHost: a\r\n\r\n", 400,
	    NO_VERSION),
	BAD("double SP before version", "GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
	    400, BAD_VERSION),
	BAD("SP after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("version 1.10", "GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("version 11", "GET / HTTP/11\r\nHost: a\r\n\r\n", 400, BAD_VERSION),
	BAD("version HTTPS", "GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("version 1.x", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("version garbage", "GET / FOO\r\nHost: a\r\n\r\n", 400,
	    BAD_VERSION),
	BAD("version 2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505,
	    VERSION_UNSUPPORTED),
	BAD("version 1.2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505,
	    VERSION_UNSUPPORTED),
	BAD("version 0.9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505,
	    VERSION_UNSUPPORTED),
	BAD("version 3.0", "GET / HTTP/3.0\r\n\r\n", 505, VERSION_UNSUPPORTED),
	BAD("tab in target", "GET /a\tb" H11 "\r\n", 400, TARGET_CHAR),
	BAD("DEL in target", "GET /a\x7f" H11 "\r\n", 400, TARGET_CHAR),
	BAD("UTF-8 in target", "GET /caf\xc3\xa9" H11 "\r\n", 400, TARGET_CHAR),
	BAD("NUL in target", "GET /a\0b" H11 "\r\n", 400, TARGET_CHAR),
	BAD("relative target", "GET foo" H11 "\r\n", 400, TARGET_FORM),
	BAD("asterisk with GET", "GET *" H11 "\r\n", 400, TARGET_FORM),
	BAD("CONNECT with path", "CONNECT /" H11 "\r\n", 400, TARGET_FORM),
	BAD("scheme starting with digit", "GET 1http://x/" H11 "\r\n", 400,
	    TARGET_FORM),
	/* absolute-form (RFC 9112 §3.2.2) */
	BAD("absolute-form not http", "GET ftp://a/x" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form without //", "GET http:/x" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form empty authority", "GET http:///x" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form scheme only", "GET http://" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form userinfo", "GET http://u@a/x" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form fragment", "GET http://a/x#f" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	BAD("absolute-form bad authority char", "GET http://a\"b/" H11 "\r\n",
	    400, TARGET_AUTHORITY),
	BAD("absolute-form mailto", "GET mailto:a@b" H11 "\r\n", 400,
	    TARGET_AUTHORITY),
	/* Host with an origin-form target */
	BAD("empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, HOST_EMPTY),
	BAD("whitespace-only Host", "GET / HTTP/1.1\r\nHost: \t \r\n\r\n", 400,
	    HOST_EMPTY),
	BAD("empty Host, OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: \r\n\r\n",
	    400, HOST_EMPTY),
	BAD("empty Host, HTTP/1.0", "GET / HTTP/1.0\r\nHost:\r\n\r\n", 400,
	    HOST_EMPTY),
	BAD("absolute-form, two Hosts",
	    "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400,
	    HOST_DUPLICATE),
	BAD("absolute-form, HTTP/1.1 without Host",
	    "GET http://a/ HTTP/1.1\r\n\r\n", 400, HOST_MISSING),
	/* field lines */
	BAD("space before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
	    400, WS_BEFORE_FIELDS),
	BAD("obs-fold with SP", "GET /" H11 "X: b\r\n c\r\n\r\n", 400,
	    OBS_FOLD),
	BAD("obs-fold with HTAB", "GET /" H11 "X: b\r\n\tc\r\n\r\n", 400,
	    OBS_FOLD),
	BAD("SP before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400,
	    WS_BEFORE_COLON),
	BAD("HTAB before colon", "GET /" H11 "X\t: b\r\n\r\n", 400,
	    WS_BEFORE_COLON),
	BAD("SP inside name", "GET /" H11 "X Y: b\r\n\r\n", 400,
	    WS_BEFORE_COLON),
	BAD("no colon", "GET /" H11 "Xb\r\n\r\n", 400, NO_COLON),
	BAD("empty name", "GET /" H11 ": b\r\n\r\n", 400, FIELD_NAME),
	BAD("( in name", "GET /" H11 "X(: b\r\n\r\n", 400, FIELD_NAME),
	BAD("@ in name", "GET /" H11 "X@Y: b\r\n\r\n", 400, FIELD_NAME),
	BAD("high byte in name", "GET /" H11 "X\xff: b\r\n\r\n", 400,
	    FIELD_NAME),
	BAD("NUL in value", "GET /" H11 "X: a\0b\r\n\r\n", 400, FIELD_VALUE),
	BAD("SOH in value", "GET /" H11 "X: a\x01\r\n\r\n", 400, FIELD_VALUE),
	BAD("DEL in value", "GET /" H11 "X: \x7f\r\n\r\n", 400, FIELD_VALUE),
	BAD("ESC in value", "GET /" H11 "X: a \x1b[0m\r\n\r\n", 400,
	    FIELD_VALUE),
	/* Host */
	BAD("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400,
	    HOST_MISSING),
	BAD("two Hosts", "GET /" H11 "Host: b\r\n\r\n", 400, HOST_DUPLICATE),
	BAD("two identical Hosts", "GET /" H11 "host: a\r\n\r\n", 400,
	    HOST_DUPLICATE),
	BAD("Host with slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400,
	    HOST_INVALID),
	BAD("Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400,
	    HOST_INVALID),
	BAD("Host with inner SP", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400,
	    HOST_INVALID),
	/* Content-Length */
	BAD("CL letters", "POST /" H11 "Content-Length: abc\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL negative", "POST /" H11 "Content-Length: -1\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL plus sign", "POST /" H11 "Content-Length: +5\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL empty", "POST /" H11 "Content-Length:\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL inner SP", "POST /" H11 "Content-Length: 5 5\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL hex", "POST /" H11 "Content-Length: 0x10\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL decimal point", "POST /" H11 "Content-Length: 1.5\r\n\r\n", 400,
	    CL_INVALID),
	BAD("CL empty list element", "POST /" H11 "Content-Length: 5,\r\n\r\n",
	    400, CL_INVALID),
	BAD("CL 20 digits",
	    "POST /" H11 "Content-Length: 99999999999999999999\r\n\r\n", 400,
	    CL_OVERFLOW),
	BAD("CL 2^63",
	    "POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n", 400,
	    CL_OVERFLOW),
	BAD("CL differing fields",
	    "POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
	    400, CL_MISMATCH),
	BAD("CL differing list", "POST /" H11 "Content-Length: 5, 6\r\n\r\n",
	    400, CL_MISMATCH),
	BAD("CL then TE",
	    "POST /" H11
	    "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400, CL_AND_TE),
	BAD("TE then CL",
	    "POST /" H11
	    "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	    400, CL_AND_TE),
	/* Transfer-Encoding */
	BAD("TE gzip only", "POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", 400,
	    TE_NOT_CHUNKED),
	BAD("TE chunked then gzip",
	    "POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400,
	    TE_NOT_CHUNKED),
	BAD("TE chunked twice",
	    "POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 400,
	    TE_CHUNKED_TWICE),
	BAD("TE chunked in two fields",
	    "POST /" H11
	    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	    400, TE_CHUNKED_TWICE),
	BAD("TE unknown", "POST /" H11 "Transfer-Encoding: foo\r\n\r\n", 501,
	    TE_UNKNOWN),
	BAD("TE unknown then chunked",
	    "POST /" H11 "Transfer-Encoding: foo, chunked\r\n\r\n", 501,
	    TE_UNKNOWN),
	BAD("TE identity", "POST /" H11 "Transfer-Encoding: identity\r\n\r\n",
	    501, TE_UNKNOWN),
	BAD("TE empty", "POST /" H11 "Transfer-Encoding:\r\n\r\n", 400,
	    TE_INVALID),
	BAD("TE only commas", "POST /" H11 "Transfer-Encoding: , ,\r\n\r\n",
	    400, TE_INVALID),
	BAD("TE with parameter",
	    "POST /" H11 "Transfer-Encoding: chunked;q=1\r\n\r\n", 400,
	    TE_INVALID),
	BAD("TE with inner SP",
	    "POST /" H11 "Transfer-Encoding: chun ked\r\n\r\n", 400,
	    TE_INVALID),
	BAD("TE in HTTP/1.0",
	    "POST / HTTP/1.0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    400, TE_HTTP10),
	/* Connection, Expect */
	BAD("Connection with SP in option",
	    "GET /" H11 "Connection: keep alive\r\n\r\n", 400,
	    CONNECTION_INVALID),
	BAD("Connection with @", "GET /" H11 "Connection: close, @\r\n\r\n",
	    400, CONNECTION_INVALID),
	BAD("Expect other", "POST /" H11 "Expect: 200-ok\r\n\r\n", 417,
	    EXPECTATION),
	/* chunked body framing */
	BAD("chunk size not hex", CHK "X\r\n", 400, CHUNK_SIZE),
	BAD("chunk size empty", CHK "\r\n", 400, CHUNK_SIZE),
	BAD("chunk size negative", CHK "-1\r\n", 400, CHUNK_SIZE),
	BAD("chunk size 0x", CHK "0x5\r\nhello\r\n0\r\n\r\n", 400, CHUNK_SIZE),
	BAD("chunk size leading SP", CHK " 5\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_SIZE),
	BAD("chunk size overflow", CHK "fffffffffffffffff\r\n", 400,
	    CHUNK_SIZE_OVERFLOW),
	BAD("chunk size 17 significant digits", CHK "10000000000000000\r\n",
	    400, CHUNK_SIZE_OVERFLOW),
	BAD("chunk size 17 digits after zeros", CHK "000010000000000000000\r\n",
	    400, CHUNK_SIZE_OVERFLOW),
	BAD("chunk size 33 digits (leading zeros)",
	    CHK "000000000000000000000000000000005\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_SIZE_LONG),
	BAD("chunk size 35 zeros then 5",
	    CHK "000000000000000000000000000000000005\r\nhello\r\n0\r\n\r\n",
	    400, CHUNK_SIZE_LONG),
	BAD("last chunk of 33 zeros",
	    CHK "000000000000000000000000000000000\r\n\r\n", 400,
	    CHUNK_SIZE_LONG),
	BAD("chunk ext NUL", CHK "5;a\0\r\nhello\r\n0\r\n\r\n", 400, CHUNK_EXT),
	BAD("chunk ext bare value", CHK "5;=\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_EXT),
	BAD("trailer Content-Length", CHK "0\r\nContent-Length: 5\r\n\r\n", 400,
	    TRAILER_FIELD),
	BAD("trailer Transfer-Encoding",
	    CHK "0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, TRAILER_FIELD),
	BAD("trailer host (any case)", CHK "0\r\nX: 1\r\nhOsT: b\r\n\r\n", 400,
	    TRAILER_FIELD),
	BAD("trailer SP before colon", CHK "0\r\nA : x\r\n\r\n", 400,
	    WS_BEFORE_COLON),
	BAD("trailer without colon", CHK "0\r\nAx\r\n\r\n", 400, NO_COLON),
	BAD("trailer DEL in value", CHK "0\r\nA: \x7f\r\n\r\n", 400,
	    FIELD_VALUE),
	BAD("trailer bare CR", CHK "0\r\nA: x\ry\r\n\r\n", 400, BARE_CR),
	BAD("chunk size trailing SP", CHK "5 \r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_EXT),
	BAD("chunk ext empty", CHK "5;\r\nhello\r\n0\r\n\r\n", 400, CHUNK_EXT),
	BAD("chunk ext no name", CHK "5;=x\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_EXT),
	BAD("chunk ext open quote", CHK "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_EXT),
	BAD("chunk ext bad value", CHK "5;a=@\r\nhello\r\n0\r\n\r\n", 400,
	    CHUNK_EXT),
	BAD("chunk size bare LF", CHK "5\nhello\r\n0\r\n\r\n", 400, BARE_LF),
	BAD("chunk size bare CR", CHK "5\rhello\r\n0\r\n\r\n", 400, BARE_CR),
	BAD("chunk data too long", CHK "5\r\nhelloX\r\n0\r\n\r\n", 400,
	    CHUNK_DATA_CRLF),
	BAD("chunk data then LF", CHK "5\r\nhello\n0\r\n\r\n", 400, BARE_LF),
	BAD("chunk data then CR", CHK "5\r\nhello\rX0\r\n\r\n", 400, BARE_CR),
	BAD("trailer SP in name", CHK "0\r\nBad Name: x\r\n\r\n", 400,
	    WS_BEFORE_COLON),
	BAD("trailer obs-fold", CHK "0\r\nA: x\r\n y\r\n\r\n", 400, OBS_FOLD),
	BAD("trailer bare LF", CHK "0\r\nA: x\n\r\n", 400, BARE_LF),
	BAD("trailer NUL in value", CHK "0\r\nA: \0\r\n\r\n", 400, FIELD_VALUE),
};

static void test_malformed_requests(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
		const struct bad_case *c = &bad_requests[i];
		struct outcome o;

		run_all_splits(&req_cfg, c->name, c->in, c->len, &o);
		if (o.result != HTTP_ERROR || o.status != c->status ||
		    o.error != c->reason || o.ka_after_error) {
			printf("#   case '%s': got %d %u %s, want %u %s\n",
			       c->name, o.result, o.status,
			       http_error_name(o.error), c->status,
			       http_error_name(c->reason));
			WT_CHECK(o.result == HTTP_ERROR);
			WT_CHECK_EQ(o.status, c->status);
			WT_CHECK_EQ(o.error, c->reason);
			WT_CHECK(!o.ka_after_error);
		}
		WT_CHECK_EQ(http_error_status(c->reason), c->status);
	}
	printf("# %zu malformed request vectors\n", i);
	WT_CHECK(i >= 60);
}

/* ------------------------------------------------------------------------ */
/* Limits: 431, 414, 413 (vectors built at run time)                        */
/* ------------------------------------------------------------------------ */

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
	if (t->len + n + 1 > t->cap) {
		t->cap = (t->len + n + 1) * 2;
		t->p = realloc(t->p, t->cap);
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void text_str(struct text *t, const char *s)
{
	text_add(t, s, strlen(s));
}

static void text_rep(struct text *t, char c, size_t n)
{
	while (n--)
		text_add(t, &c, 1);
}

static void expect_error(const struct run_cfg *cfg, const char *name,
			 const struct text *t, uint16_t status,
			 enum http_error reason)
{
	struct outcome o;

	run_all_splits(cfg, name, t->p, t->len, &o);
	if (o.status != status || o.error != reason)
		printf("#   case '%s': got %u %s\n", name, o.status,
		       http_error_name(o.error));
	WT_CHECK(o.result == HTTP_ERROR);
	WT_CHECK_EQ(o.status, status);
	WT_CHECK_EQ(o.error, reason);
}

static void expect_ok(const struct run_cfg *cfg, const char *name,
		      const struct text *t, int n_msgs)
{
	struct outcome o;

	run_all_splits(cfg, name, t->p, t->len, &o);
	if (o.result != HTTP_COMPLETE)
		printf("#   case '%s': got %d %s\n", name, o.result,
		       http_error_name(o.error));
	WT_CHECK_EQ(o.result, HTTP_COMPLETE);
	WT_CHECK_EQ(o.n, n_msgs);
}

static void test_limits(void)
{
	struct text t = { 0 };
	struct run_cfg small = req_cfg;
	int i;

	/* a head of exactly 16 KiB fits; one byte more is 431 */
	text_str(&t, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	text_rep(&t, 'v', HTTP_HEAD_BUF_DEFAULT - t.len - 4);
	text_str(&t, "\r\n\r\n");
	WT_CHECK_EQ(t.len, HTTP_HEAD_BUF_DEFAULT);
	expect_ok(&req_cfg, "head of exactly 16 KiB", &t, 1);
	t.len = 0;
	text_str(&t, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	text_rep(&t, 'v', HTTP_HEAD_BUF_DEFAULT - t.len - 3);
	text_str(&t, "\r\n\r\n");
	expect_error(&req_cfg, "head of 16 KiB + 1", &t, 431,
		     HTTP_ERR_HEAD_TOO_LARGE);

	/* target of exactly max_target fits; one more byte is 414 */
	t.len = 0;
	text_str(&t, "GET /");
	text_rep(&t, 'a', HTTP_MAX_TARGET_DEFAULT - 1);
	text_str(&t, " HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_ok(&req_cfg, "target of 8 KiB", &t, 1);
	t.len = 0;
	text_str(&t, "GET /");
	text_rep(&t, 'a', HTTP_MAX_TARGET_DEFAULT);
	text_str(&t, " HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_error(&req_cfg, "target of 8 KiB + 1", &t, 414,
		     HTTP_ERR_TARGET_TOO_LONG);

	/* a target running past a small buffer is 414, a field 431 */
	small.cap = 64;
	t.len = 0;
	text_str(&t, "GET /");
	text_rep(&t, 'a', 100);
	text_str(&t, " HTTP/1.1\r\nHost: a\r\n\r\n");
	expect_error(&small, "target past a 64-byte buffer", &t, 414,
		     HTTP_ERR_TARGET_TOO_LONG);
	t.len = 0;
	text_str(&t, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	text_rep(&t, 'v', 100);
	text_str(&t, "\r\n\r\n");
	expect_error(&small, "field past a 64-byte buffer", &t, 431,
		     HTTP_ERR_HEAD_TOO_LARGE);

	/* 100 field lines fit; 101 is 431 */
	t.len = 0;
	text_str(&t, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < HTTP_MAX_HEADERS; i++)
		text_str(&t, "X: y\r\n");
	text_str(&t, "\r\n");
	expect_ok(&req_cfg, "100 field lines", &t, 1);
	t.len -= 2;
	text_str(&t, "X: y\r\n\r\n");
	expect_error(&req_cfg, "101 field lines", &t, 431,
		     HTTP_ERR_TOO_MANY_FIELDS);

	/* the largest Content-Length: 2^63-1 (the head completes) */
	t.len = 0;
	text_str(&t, "PUT / HTTP/1.1\r\nHost: a\r\n"
		     "Content-Length: 9223372036854775807\r\n\r\n");
	{
		struct outcome o;

		run_all_splits(&req_cfg, "CL 2^63-1", t.p, t.len, &o);
		WT_CHECK_EQ(o.result, HTTP_NEED_MORE); /* waiting for body */
		WT_CHECK_EQ(o.error, HTTP_ERR_NONE);
		WT_CHECK_EQ(o.msgs[0].framing, HTTP_FRAMING_LENGTH);
		WT_CHECK(o.msgs[0].cl == 9223372036854775807ULL);
	}

	/* body limit: CL over it is 413 at the head, chunked once over it */
	small = req_cfg;
	small.lim.max_body = 10;
	t.len = 0;
	text_str(&t, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
		     "0123456789");
	expect_ok(&small, "CL at the body limit", &t, 1);
	t.len = 0;
	text_str(&t, "POST / HTTP/1.1\r\nHost: a\r\n"
		     "Content-Length: 11\r\n\r\n");
	expect_error(&small, "CL over the body limit", &t, 413,
		     HTTP_ERR_BODY_TOO_LARGE);
	t.len = 0;
	text_str(&t, CHK "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n");
	expect_ok(&small, "chunked at the body limit", &t, 1);
	t.len = 0;
	text_str(&t, CHK "5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n");
	expect_error(&small, "chunked over the body limit", &t, 413,
		     HTTP_ERR_BODY_TOO_LARGE);

	/* chunk-size line and trailer section limits */
	t.len = 0;
	text_str(&t, CHK "5;a=");
	text_rep(&t, 'x', HTTP_MAX_CHUNK_LINE);
	text_str(&t, "\r\nhello\r\n0\r\n\r\n");
	expect_error(&req_cfg, "chunk line over its limit", &t, 400,
		     HTTP_ERR_CHUNK_LINE_TOO_LONG);
	t.len = 0;
	text_str(&t, CHK "0\r\nT: ");
	text_rep(&t, 'x', HTTP_MAX_TRAILER_DEFAULT);
	text_str(&t, "\r\n\r\n");
	expect_error(&req_cfg, "trailer over its limit", &t, 431,
		     HTTP_ERR_TRAILER_TOO_LARGE);

	/* trailers count their field lines as the head does: 100 fit */
	t.len = 0;
	text_str(&t, CHK "0\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		text_str(&t, "T: v\r\n");
	text_str(&t, "\r\n");
	expect_ok(&req_cfg, "100 trailer fields", &t, 1);
	t.len -= 2;
	text_str(&t, "T: v\r\n\r\n");
	expect_error(&req_cfg, "101 trailer fields", &t, 431,
		     HTTP_ERR_TOO_MANY_FIELDS);
	free(t.p);
}

/* ------------------------------------------------------------------------ */
/* Valid requests: parsed fields                                            */
/* ------------------------------------------------------------------------ */

struct good_case {
	const char *name;
	const char *in;
	size_t len;
	const char *method;
	enum http_method m;
	const char *target;
	int minor;
	enum http_framing framing;
	uint64_t cl;
	bool ka, expect, upgrade, host;
	const char *headers;
	uint64_t body_len;
};

#define GOOD(nm, input, ...)                              \
	{                                                 \
		nm, input, sizeof(input) - 1, __VA_ARGS__ \
	}
#define M(x) #x, HTTP_METHOD_##x
#define F(x) HTTP_FRAMING_##x

static const struct good_case good_requests[] = {
	GOOD("simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", M(GET), "/", 1,
	     F(NONE), 0, true, false, false, true, "Host=a", 0),
	GOOD("HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", M(GET), "/x",
	     0, F(NONE), 0, false, false, false, false, "", 0),
	GOOD("HTTP/1.0 keep-alive",
	     "GET / HTTP/1.0\r\n"
	     "Connection: Keep-Alive\r\n\r\n",
	     M(GET), "/", 0, F(NONE), 0, true, false, false, false,
	     "Connection=Keep-Alive", 0),
	GOOD("HTTP/1.1 close",
	     "GET / HTTP/1.1\r\nHost: a\r\n"
	     "Connection: close\r\n\r\n",
	     M(GET), "/", 1, F(NONE), 0, false, false, false, true,
	     "Host=a|Connection=close", 0),
	GOOD("close wins over keep-alive",
	     "GET / HTTP/1.0\r\n"
	     "Connection: keep-alive, CLOSE\r\n\r\n",
	     M(GET), "/", 0, F(NONE), 0, false, false, false, false,
	     "Connection=keep-alive, CLOSE", 0),
	GOOD("POST with CL",
	     "POST /api HTTP/1.1\r\nHost: a\r\n"
	     "Content-Length: 5\r\n\r\nhello",
	     M(POST), "/api", 1, F(LENGTH), 5, true, false, false, true,
	     "Host=a|Content-Length=5", 5),
	GOOD("CL 0", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	     M(POST), "/", 1, F(LENGTH), 0, true, false, false, true,
	     "Host=a|Content-Length=0", 0),
	GOOD("CL identical list",
	     "PUT / HTTP/1.1\r\nHost: a\r\n"
	     "Content-Length: 3, 3\r\n\r\nabc",
	     M(PUT), "/", 1, F(LENGTH), 3, true, false, false, true,
	     "Host=a|Content-Length=3, 3", 3),
	GOOD("CL identical fields",
	     "PUT / HTTP/1.1\r\nHost: a\r\n"
	     "Content-Length: 3\r\ncontent-length: 003\r\n\r\nabc",
	     M(PUT), "/", 1, F(LENGTH), 3, true, false, false, true,
	     "Host=a|Content-Length=3|content-length=003", 3),
	GOOD("chunked", CHK "5\r\nhello\r\n0\r\n\r\n", M(POST), "/u", 1,
	     F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 15),
	GOOD("chunked with extensions and trailers",
	     CHK "5;name=val;flag\r\nhello\r\n"
		 "A ; q=\"a \\\"b\\\" c\" ; r = s\r\n0123456789\r\n"
		 "00000;last\r\nTrailer-One: x\r\nT2:\r\n\r\n",
	     M(POST), "/u", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 98),
	GOOD("chunked uppercase hex",
	     CHK "1F\r\n0123456789abcdef0123456789abcde"
		 "\r\n0\r\n\r\n",
	     M(POST), "/u", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 42),
	GOOD("TE gzip, chunked",
	     "POST / HTTP/1.1\r\nHost: a\r\n"
	     "Transfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n",
	     M(POST), "/", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=gzip, Chunked", 5),
	GOOD("TE in two fields",
	     "POST / HTTP/1.1\r\nHost: a\r\n"
	     "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "0\r\n\r\n",
	     M(POST), "/", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=gzip|Transfer-Encoding=chunked", 5),
	GOOD("Expect 100-continue",
	     "POST / HTTP/1.1\r\nHost: a\r\n"
	     "Expect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
	     M(POST), "/", 1, F(LENGTH), 1, true, true, false, true,
	     "Host=a|Expect=100-Continue|Content-Length=1", 1),
	GOOD("Expect ignored in HTTP/1.0",
	     "POST / HTTP/1.0\r\n"
	     "Expect: 100-continue\r\nContent-Length: 1\r\n\r\nx",
	     M(POST), "/", 0, F(LENGTH), 1, false, false, false, false,
	     "Expect=100-continue|Content-Length=1", 1),
	GOOD("Upgrade websocket",
	     "GET /ws HTTP/1.1\r\nHost: a\r\n"
	     "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
	     M(GET), "/ws", 1, F(NONE), 0, true, false, true, true,
	     "Host=a|Connection=keep-alive, Upgrade|Upgrade=websocket", 0),
	GOOD("Upgrade without Connection token",
	     "GET / HTTP/1.1\r\nHost: a\r\n"
	     "Upgrade: websocket\r\n\r\n",
	     M(GET), "/", 1, F(NONE), 0, true, false, false, true,
	     "Host=a|Upgrade=websocket", 0),
	GOOD("OWS trimmed, empty value",
	     "GET / HTTP/1.1\r\nHost:  \t a \t\r\n"
	     "X-Empty:\r\nX-Blank:   \r\nX-In: a  b\r\n\r\n",
	     M(GET), "/", 1, F(NONE), 0, true, false, false, true,
	     "Host=a|X-Empty=|X-Blank=|X-In=a  b", 0),
	GOOD("four leading empty lines",
	     "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n"
	     "Host: a\r\n\r\n",
	     M(GET), "/", 1, F(NONE), 0, true, false, false, true, "Host=a", 0),
	GOOD("absolute-form",
	     "GET http://a:8000/p?q=1 HTTP/1.1\r\nHost: a\r\n"
	     "\r\n",
	     M(GET), "http://a:8000/p?q=1", 1, F(NONE), 0, true, false, false,
	     true, "Host=a", 0),
	GOOD("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", M(OPTIONS),
	     "*", 1, F(NONE), 0, true, false, false, true, "Host=a", 0),
	GOOD("CONNECT authority",
	     "CONNECT a.example:443 HTTP/1.1\r\n"
	     "Host: a.example:443\r\n\r\n",
	     M(CONNECT), "a.example:443", 1, F(NONE), 0, true, false, false,
	     true, "Host=a.example:443", 0),
	GOOD("unknown method", "PURGE /c HTTP/1.1\r\nHost: a\r\n\r\n", "PURGE",
	     HTTP_METHOD_OTHER, "/c", 1, F(NONE), 0, true, false, false, true,
	     "Host=a", 0),
	GOOD("methods are case-sensitive", "get / HTTP/1.1\r\nHost: a\r\n\r\n",
	     "get", HTTP_METHOD_OTHER, "/", 1, F(NONE), 0, true, false, false,
	     true, "Host=a", 0),
	GOOD("HEAD, DELETE-like token chars",
	     "HEAD /a?b=c&d=%20#x HTTP/1.1\r\n"
	     "Host: [::1]:8080\r\n\r\n",
	     M(HEAD), "/a?b=c&d=%20#x", 1, F(NONE), 0, true, false, false, true,
	     "Host=[::1]:8080", 0),
	GOOD("obs-text in value",
	     "GET / HTTP/1.1\r\nHost: a\r\n"
	     "X-Name: caf\xc3\xa9\r\n\r\n",
	     M(GET), "/", 1, F(NONE), 0, true, false, false, true,
	     "Host=a|X-Name=caf\xc3\xa9", 0),
	GOOD("absolute-form, empty Host",
	     "GET http://b.example/x HTTP/1.1\r\nHost:\r\n\r\n", M(GET),
	     "http://b.example/x", 1, F(NONE), 0, true, false, false, true,
	     "Host=", 0),
	GOOD("absolute-form HTTPS, no path, HTTP/1.0 without Host",
	     "GET HTTPS://B:1?q HTTP/1.0\r\n\r\n", M(GET), "HTTPS://B:1?q", 0,
	     F(NONE), 0, false, false, false, false, "", 0),
	GOOD("chunk-size token of 32 digits (leading zeros)",
	     CHK "00000000000000000000000000000005\r\nhello\r\n0\r\n\r\n",
	     M(POST), "/u", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 46),
	GOOD("last chunk of 32 zeros",
	     CHK "00000000000000000000000000000000\r\n\r\n", M(POST), "/u", 1,
	     F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 36),
	GOOD("trailers like a head",
	     CHK "0\r\nX-Sum: 42\r\nContent-Type-X: a\r\nHosts: y\r\n\r\n",
	     M(POST), "/u", 1, F(CHUNKED), 0, true, false, false, true,
	     "Host=a|Transfer-Encoding=chunked", 45),
	GOOD("token chars in names",
	     "DELETE /r HTTP/1.1\r\nhost: a\r\n"
	     "X-!#$%&'*+.^_`|~: v\r\n\r\n",
	     M(DELETE), "/r", 1, F(NONE), 0, true, false, false, true,
	     "host=a|X-!#$%&'*+.^_`|~=v", 0),
	GOOD("Connection with empty elements",
	     "PATCH / HTTP/1.1\r\nHost: a\r\n"
	     "Connection: , close ,\r\nContent-Length: 2\r\n\r\nok",
	     M(PATCH), "/", 1, F(LENGTH), 2, false, false, false, true,
	     "Host=a|Connection=, close ,|Content-Length=2", 2),
};

static void test_valid_requests(void)
{
	size_t i;

	for (i = 0; i < sizeof(good_requests) / sizeof(good_requests[0]); i++) {
		const struct good_case *c = &good_requests[i];
		struct outcome o;
		const struct rec *r = &o.msgs[0];
		int before = wt_case_failed;

		wt_case_failed = 0;
		run_all_splits(&req_cfg, c->name, c->in, c->len, &o);
		WT_CHECK_EQ(o.result, HTTP_COMPLETE);
		WT_CHECK_EQ(o.n, 1);
		WT_CHECK_EQ(o.consumed, c->len);
		WT_CHECK(strcmp(r->method, c->method) == 0);
		WT_CHECK_EQ(r->m, c->m);
		WT_CHECK(strcmp(r->target, c->target) == 0);
		WT_CHECK_EQ(r->minor, c->minor);
		WT_CHECK_EQ(r->framing, c->framing);
		WT_CHECK_EQ(r->cl, c->cl);
		WT_CHECK_EQ(r->ka, c->ka);
		WT_CHECK_EQ(r->expect, c->expect);
		WT_CHECK_EQ(r->upgrade, c->upgrade);
		WT_CHECK_EQ(r->host, c->host);
		WT_CHECK(strcmp(r->headers, c->headers) == 0);
		WT_CHECK_EQ(r->body_len, c->body_len);
		if (wt_case_failed)
			printf("#   case '%s' (error %s, headers '%s')\n",
			       c->name, http_error_name(o.error), r->headers);
		wt_case_failed |= before;
	}
	printf("# %zu valid request vectors\n", i);
}

/* ------------------------------------------------------------------------ */
/* Pipelining and the consumed count                                        */
/* ------------------------------------------------------------------------ */

static void test_pipelined_requests(void)
{
	static const char in[] =
		"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
		"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
		"\r\n" /* a stray CRLF after a body is skipped */
		"PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3\r\nxyz\r\n0\r\n\r\n"
		"GET /d HTTP/1.0\r\n\r\n";
	struct outcome o;

	run_all_splits(&req_cfg, "pipelined", in, sizeof(in) - 1, &o);
	WT_CHECK_EQ(o.result, HTTP_COMPLETE);
	WT_CHECK_EQ(o.n, 4);
	WT_CHECK_EQ(o.consumed, sizeof(in) - 1);
	WT_CHECK(strcmp(o.msgs[0].target, "/a") == 0);
	WT_CHECK_EQ(o.msgs[0].head_len, 28);
	WT_CHECK_EQ(o.msgs[0].body_len, 0);
	WT_CHECK(strcmp(o.msgs[1].target, "/b") == 0);
	WT_CHECK_EQ(o.msgs[1].body_len, 3);
	WT_CHECK(strcmp(o.msgs[2].target, "/c") == 0);
	WT_CHECK_EQ(o.msgs[2].framing, HTTP_FRAMING_CHUNKED);
	WT_CHECK_EQ(o.msgs[2].body_len, 13);
	WT_CHECK(strcmp(o.msgs[3].target, "/d") == 0);
	WT_CHECK_EQ(o.msgs[3].ka, false);
}

/* The head parser stops exactly at the end of the head and leaves the rest
 * (body, next request) to the caller; after COMPLETE it takes nothing more. */
static void test_consumed_exact(void)
{
	static const char two[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
				  "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
	char buf[256];
	struct http_head h;
	size_t c;

	http_request_init(&h, buf, sizeof(buf), NULL);
	WT_CHECK_EQ(http_head_feed(&h, two, sizeof(two) - 1, &c),
		    HTTP_COMPLETE);
	WT_CHECK_EQ(c, 28);
	WT_CHECK_EQ(h.msg.head_len, 28);
	WT_CHECK(memcmp(buf, two, 28) == 0);
	WT_CHECK_EQ(http_head_feed(&h, two + c, 10, &c), HTTP_COMPLETE);
	WT_CHECK_EQ(c, 0);

	http_head_reset(&h);
	WT_CHECK_EQ(http_head_feed(&h, two + 28, sizeof(two) - 1 - 28, &c),
		    HTTP_COMPLETE);
	WT_CHECK_EQ(c, 28);
	WT_CHECK_EQ(h.msg.target.len, 2);
	WT_CHECK(memcmp(http_span_ptr(&h, h.msg.target), "/2", 2) == 0);

	/* empty lines before a request are taken but not copied */
	http_head_reset(&h);
	WT_CHECK_EQ(http_head_feed(&h, "\r\n\r\nGET / HTTP/1.0\r\n\r\nX", 23,
				   &c),
		    HTTP_COMPLETE);
	WT_CHECK_EQ(c, 22);
	WT_CHECK_EQ(h.msg.head_len, 18);
	WT_CHECK(memcmp(buf, "GET ", 4) == 0);

	/* after an error: sticky, nothing taken, connection not kept */
	http_head_reset(&h);
	WT_CHECK_EQ(http_head_feed(&h, "GET / HTTP/1.1\r\nA b\r\n", 21, &c),
		    HTTP_ERROR);
	WT_CHECK_EQ(c, 18);
	WT_CHECK_EQ(http_head_error(&h), HTTP_ERR_WS_BEFORE_COLON);
	WT_CHECK_EQ(http_head_error_status(&h), 400);
	WT_CHECK(!h.msg.keep_alive);
	WT_CHECK_EQ(http_head_feed(&h, "\r\n", 2, &c), HTTP_ERROR);
	WT_CHECK_EQ(c, 0);

	/* NULL with zero length is allowed */
	http_head_reset(&h);
	WT_CHECK_EQ(http_head_feed(&h, NULL, 0, &c), HTTP_NEED_MORE);
	WT_CHECK_EQ(c, 0);
}

/* absolute-form: the authority and the origin-form rest, whole and split
 * (the fast request line and the byte machine must agree) */
static void check_absolute(const char *in, bool absolute, const char *auth,
			   const char *origin)
{
	static char buf[4096];
	size_t len = strlen(in), step, i, c;

	for (step = 1; step <= len; step = step == 1 ? len : len + 1) {
		struct http_head h;
		enum http_result r = HTTP_NEED_MORE;
		char got[200];

		http_request_init(&h, buf, sizeof(buf), NULL);
		for (i = 0; i < len && r == HTTP_NEED_MORE; i += step)
			r = http_head_feed(&h, in + i,
					   len - i < step ? len - i : step, &c);
		WT_CHECK_EQ(r, HTTP_COMPLETE);
		WT_CHECK_EQ(h.msg.absolute_form, absolute);
		if (!absolute)
			continue;
		copy_span(got, sizeof(got), &h, h.msg.authority);
		WT_CHECK(strcmp(got, auth) == 0);
		copy_span(got, sizeof(got), &h, h.msg.origin);
		WT_CHECK(strcmp(got, origin) == 0);
		if (wt_case_failed)
			printf("#   '%s' (step %zu): %s\n", in, step, got);
	}
}

static void test_absolute_form(void)
{
	check_absolute("GET http://a.example:8000/p/q?x=1 HTTP/1.1\r\n"
		       "Host: other\r\n\r\n",
		       true, "a.example:8000", "/p/q?x=1");
	check_absolute("GET https://[::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n",
		       true, "[::1]:443", "");
	check_absolute("GET hTtP://h?q=/x HTTP/1.1\r\nHost: h\r\n\r\n", true,
		       "h", "?q=/x");
	check_absolute("GET /http://a/ HTTP/1.1\r\nHost: h\r\n\r\n", false,
		       NULL, NULL);
	check_absolute("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", false, NULL,
		       NULL);
	check_absolute("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", false,
		       NULL, NULL);
}

static void test_header_find(void)
{
	static const char in[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Session-Id: 1"
				 "\r\nx-session-id: 2\r\nX-Session: 3\r\n\r\n";
	char buf[256];
	struct http_head h;
	size_t c;
	int i;

	http_request_init(&h, buf, sizeof(buf), NULL);
	WT_CHECK_EQ(http_head_feed(&h, in, sizeof(in) - 1, &c), HTTP_COMPLETE);
	i = http_header_find(&h, "x-session-id", 0);
	WT_CHECK_EQ(i, 1);
	WT_CHECK_EQ(http_header_find(&h, "X-SESSION-ID", (unsigned)i + 1), 2);
	WT_CHECK_EQ(http_header_find(&h, "x-session-id", 3), -ENOENT);
	WT_CHECK_EQ(http_header_find(&h, "x-session", 0), 3);
	WT_CHECK_EQ(http_header_find(&h, "host", 0), 0);
	WT_CHECK_EQ(http_header_find(&h, "hos", 0), -ENOENT);
	WT_CHECK_EQ(h.msg.headers[2].value.len, 1);
	WT_CHECK_EQ(*http_span_ptr(&h, h.msg.headers[2].value), '2');
}

/* ------------------------------------------------------------------------ */
/* Body decoder on its own                                                  */
/* ------------------------------------------------------------------------ */

static void test_body_decoder(void)
{
	static const char chunked[] = "4;x=1\r\nWiki\r\n0\r\nT: v\r\n\r\nNEXT";
	struct http_body b;
	size_t c, i, total = 0;
	enum http_result r = HTTP_NEED_MORE;

	/* chunked: message ends before NEXT; bytes are not de-chunked */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, chunked, sizeof(chunked) - 1, &c),
		    HTTP_COMPLETE);
	WT_CHECK_EQ(c, sizeof(chunked) - 1 - 4);
	WT_CHECK_EQ(http_body_feed(&b, "x", 1, &c), HTTP_COMPLETE);
	WT_CHECK_EQ(c, 0);
	WT_CHECK_EQ(http_body_eof(&b), HTTP_COMPLETE);

	/* same, one byte at a time */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	for (i = 0; i < sizeof(chunked) - 1 && r == HTTP_NEED_MORE; i++) {
		r = http_body_feed(&b, chunked + i, 1, &c);
		total += c;
	}
	WT_CHECK_EQ(r, HTTP_COMPLETE);
	WT_CHECK_EQ(total, sizeof(chunked) - 1 - 4);

	/* Content-Length: exactly N bytes, split */
	http_body_init_framing(&b, HTTP_FRAMING_LENGTH, 5, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "hel", 3, &c), HTTP_NEED_MORE);
	WT_CHECK_EQ(c, 3);
	WT_CHECK_EQ(http_body_eof(&b), HTTP_ERROR);
	WT_CHECK_EQ(http_body_error(&b), HTTP_ERR_TRUNCATED);
	WT_CHECK_EQ(http_body_error_status(&b), 400);
	http_body_init_framing(&b, HTTP_FRAMING_LENGTH, 5, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "hel", 3, &c), HTTP_NEED_MORE);
	WT_CHECK_EQ(http_body_feed(&b, "loGET", 5, &c), HTTP_COMPLETE);
	WT_CHECK_EQ(c, 2);

	/* no body: complete at once, nothing taken */
	http_body_init_framing(&b, HTTP_FRAMING_NONE, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "GET", 3, &c), HTTP_COMPLETE);
	WT_CHECK_EQ(c, 0);
	http_body_init_framing(&b, HTTP_FRAMING_LENGTH, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, NULL, 0, &c), HTTP_COMPLETE);

	/* close-delimited: everything until EOF */
	http_body_init_framing(&b, HTTP_FRAMING_CLOSE, 0, true, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "abc", 3, &c), HTTP_NEED_MORE);
	WT_CHECK_EQ(c, 3);
	WT_CHECK_EQ(http_body_eof(&b), HTTP_COMPLETE);

	/* response errors are 502 */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, true, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "zz\r\n", 4, &c), HTTP_ERROR);
	WT_CHECK_EQ(c, 1);
	WT_CHECK_EQ(http_body_error(&b), HTTP_ERR_CHUNK_SIZE);
	WT_CHECK_EQ(http_body_error_status(&b), 502);
	WT_CHECK_EQ(http_body_feed(&b, "0\r\n", 3, &c), HTTP_ERROR);
	WT_CHECK_EQ(c, 0);

	/* 16 significant hex digits: the largest size, 2^64 - 1, is taken
	 * (a 17th digit is refused: bad_requests[]) */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "0000ffffffffffffffff\r\nab", 24, &c),
		    HTTP_NEED_MORE);
	WT_CHECK_EQ(c, 24);
	WT_CHECK_EQ(b.remaining, UINT64_MAX - 2);
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "8000000000000000\r\n", 18, &c),
		    HTTP_NEED_MORE);
	WT_CHECK_EQ(b.remaining, 1ull << 63);
	/* 32 digits is the token bound; the 33rd byte is the refused one */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "0000000000000000000000000000000012", 34,
				   &c),
		    HTTP_ERROR);
	WT_CHECK_EQ(c, 33);
	WT_CHECK_EQ(http_body_error(&b), HTTP_ERR_CHUNK_SIZE_LONG);

	/* a truncated chunked body */
	http_body_init_framing(&b, HTTP_FRAMING_CHUNKED, 0, false, NULL);
	WT_CHECK_EQ(http_body_feed(&b, "5\r\nab", 5, &c), HTTP_NEED_MORE);
	WT_CHECK_EQ(http_body_eof(&b), HTTP_ERROR);
	WT_CHECK_EQ(http_body_error(&b), HTTP_ERR_TRUNCATED);
}

/* ------------------------------------------------------------------------ */
/* Responses                                                                */
/* ------------------------------------------------------------------------ */

struct resp_case {
	const char *name;
	const char *in;
	size_t len;
	enum http_method req_method;
	bool eof;
	int n_msgs;
	int status; /* of the last message */
	const char *reason;
	int minor;
	enum http_framing framing;
	uint64_t cl;
	bool ka, upgrade;
	uint64_t body_len; /* of the last message */
};

#define RESP(nm, input, ...)                              \
	{                                                 \
		nm, input, sizeof(input) - 1, __VA_ARGS__ \
	}
#define GET_ HTTP_METHOD_GET

static const struct resp_case good_responses[] = {
	RESP("200 with CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
	     GET_, false, 1, 200, "OK", 1, F(LENGTH), 5, true, false, 5),
	RESP("200 chunked",
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n",
	     GET_, false, 1, 200, "OK", 1, F(CHUNKED), 0, true, false, 27),
	/* a replica's framing field as a trailer is odd, not a 502 */
	RESP("200 chunked, Content-Length trailer",
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	     "\r\n0\r\nContent-Length: 5\r\n\r\n",
	     GET_, false, 1, 200, "OK", 1, F(CHUNKED), 0, true, false, 24),
	RESP("200 close-delimited",
	     "HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"
	     "all of this until EOF",
	     GET_, true, 1, 200, "OK", 1, F(CLOSE), 0, false, false, 21),
	RESP("HTTP/1.0 200 without CL", "HTTP/1.0 200 OK\r\n\r\nbody", GET_,
	     true, 1, 200, "OK", 0, F(CLOSE), 0, false, false, 4),
	RESP("HTTP/1.0 keep-alive with CL",
	     "HTTP/1.0 200 OK\r\n"
	     "Connection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
	     GET_, false, 1, 200, "OK", 0, F(LENGTH), 2, true, false, 2),
	RESP("Connection: close with CL",
	     "HTTP/1.1 200 OK\r\n"
	     "Connection: close\r\nContent-Length: 2\r\n\r\nok",
	     GET_, false, 1, 200, "OK", 1, F(LENGTH), 2, false, false, 2),
	RESP("HEAD response with CL",
	     "HTTP/1.1 200 OK\r\nContent-Length: 100"
	     "\r\n\r\n",
	     HTTP_METHOD_HEAD, false, 1, 200, "OK", 1, F(NONE), 0, true, false,
	     0),
	RESP("HEAD response chunked",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     HTTP_METHOD_HEAD, false, 1, 200, "OK", 1, F(NONE), 0, true, false,
	     0),
	RESP("204", "HTTP/1.1 204 No Content\r\n\r\n", GET_, false, 1, 204,
	     "No Content", 1, F(NONE), 0, true, false, 0),
	RESP("304 with CL",
	     "HTTP/1.1 304 Not Modified\r\nContent-Length: 10"
	     "\r\n\r\n",
	     GET_, false, 1, 304, "Not Modified", 1, F(NONE), 0, true, false,
	     0),
	RESP("100 then 200",
	     "HTTP/1.1 100 Continue\r\n\r\n"
	     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
	     HTTP_METHOD_POST, false, 2, 200, "OK", 1, F(LENGTH), 1, true,
	     false, 1),
	RESP("103 then 204",
	     "HTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
	     "HTTP/1.1 204 \r\n\r\n",
	     GET_, false, 2, 204, "", 1, F(NONE), 0, true, false, 0),
	RESP("101 switching",
	     "HTTP/1.1 101 Switching Protocols\r\n"
	     "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	     GET_, false, 1, 101, "Switching Protocols", 1, F(NONE), 0, false,
	     true, 0),
	RESP("empty reason with SP",
	     "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n", GET_, false, 1, 200,
	     "", 1, F(LENGTH), 0, true, false, 0),
	RESP("no SP before empty reason",
	     "HTTP/1.1 404\r\nContent-Length: 0"
	     "\r\n\r\n",
	     GET_, false, 1, 404, "", 1, F(LENGTH), 0, true, false, 0),
	RESP("reason with obs-text",
	     "HTTP/1.1 500 Erreur \xe9t\xe9\r\n"
	     "Content-Length: 0\r\n\r\n",
	     GET_, false, 1, 500, "Erreur \xe9t\xe9", 1, F(LENGTH), 0, true,
	     false, 0),
	RESP("TE gzip is close-delimited",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: gzip\r\n\r\nzzz",
	     GET_, true, 1, 200, "OK", 1, F(CLOSE), 0, false, false, 3),
	RESP("TE chunked then gzip is close-delimited",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: chunked, gzip\r\n\r\nzzz",
	     GET_, true, 1, 200, "OK", 1, F(CLOSE), 0, false, false, 3),
	RESP("unknown TE in a response",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: br, chunked\r\n\r\n0\r\n\r\n",
	     GET_, false, 1, 200, "OK", 1, F(CHUNKED), 0, true, false, 5),
	RESP("CONNECT 200 is a tunnel",
	     "HTTP/1.1 200 Connection established"
	     "\r\n\r\nTUNNELBYTES",
	     HTTP_METHOD_CONNECT, true, 1, 200, "Connection established", 1,
	     F(TUNNEL), 0, false, false, 11),
	RESP("two keep-alive responses",
	     "HTTP/1.1 200 OK\r\nContent-Length: 1"
	     "\r\n\r\naHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nbc",
	     GET_, false, 2, 201, "Created", 1, F(LENGTH), 2, true, false, 2),
};

static void test_valid_responses(void)
{
	size_t i;

	for (i = 0; i < sizeof(good_responses) / sizeof(good_responses[0]);
	     i++) {
		const struct resp_case *c = &good_responses[i];
		struct run_cfg cfg = req_cfg;
		struct outcome o;
		const struct rec *r;
		int before = wt_case_failed;

		cfg.is_response = true;
		cfg.req_method = c->req_method;
		cfg.eof = c->eof;
		wt_case_failed = 0;
		run_all_splits(&cfg, c->name, c->in, c->len, &o);
		r = &o.msgs[o.n > 0 ? o.n - 1 : 0];
		WT_CHECK_EQ(o.result, HTTP_COMPLETE);
		WT_CHECK_EQ(o.n, c->n_msgs);
		WT_CHECK_EQ(o.consumed, c->len);
		WT_CHECK_EQ(r->status, c->status);
		WT_CHECK(strcmp(r->reason, c->reason) == 0);
		WT_CHECK_EQ(r->minor, c->minor);
		WT_CHECK_EQ(r->framing, c->framing);
		WT_CHECK_EQ(r->cl, c->cl);
		WT_CHECK_EQ(r->ka, c->ka);
		WT_CHECK_EQ(r->upgrade, c->upgrade);
		WT_CHECK_EQ(r->body_len, c->body_len);
		if (wt_case_failed)
			printf("#   case '%s' (error %s)\n", c->name,
			       http_error_name(o.error));
		wt_case_failed |= before;
	}
	printf("# %zu valid response vectors\n", i);
}

struct bad_resp_case {
	const char *name;
	const char *in;
	size_t len;
	bool eof;
	enum http_error reason;
};

#define BADR(nm, input, eof, why)                                 \
	{                                                         \
		nm, input, sizeof(input) - 1, eof, HTTP_ERR_##why \
	}

static const struct bad_resp_case bad_responses[] = {
	BADR("2-digit status", "HTTP/1.1 20 OK\r\n\r\n", false, STATUS_CODE),
	BADR("4-digit status", "HTTP/1.1 2000 OK\r\n\r\n", false, STATUS_CODE),
	BADR("status 099", "HTTP/1.1 099 X\r\n\r\n", false, STATUS_CODE),
	BADR("status 600", "HTTP/1.1 600 X\r\n\r\n", false, STATUS_CODE),
	BADR("status with letter", "HTTP/1.1 2x0 X\r\n\r\n", false,
	     STATUS_CODE),
	BADR("double SP before status", "HTTP/1.1  200 OK\r\n\r\n", false,
	     STATUS_CODE),
	BADR("version 2.0", "HTTP/2.0 200 OK\r\n\r\n", false,
	     VERSION_UNSUPPORTED),
	BADR("version garbage", "HTTX/1.1 200 OK\r\n\r\n", false, BAD_VERSION),
	BADR("leading SP", " HTTP/1.1 200 OK\r\n\r\n", false, STATUS_LINE),
	BADR("leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n", false, STATUS_LINE),
	BADR("no status", "HTTP/1.1\r\n\r\n", false, STATUS_LINE),
	BADR("control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", false,
	     STATUS_LINE),
	BADR("bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", false,
	     BARE_LF),
	BADR("obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", false,
	     OBS_FOLD),
	BADR("CL and TE",
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     false, CL_AND_TE),
	BADR("differing CL",
	     "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	     "Content-Length: 4\r\n\r\n",
	     false, CL_MISMATCH),
	BADR("bad CL", "HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n", false,
	     CL_INVALID),
	BADR("chunked twice",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: chunked, chunked\r\n\r\n",
	     false, TE_CHUNKED_TWICE),
	BADR("TE in HTTP/1.0",
	     "HTTP/1.0 200 OK\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n",
	     false, TE_HTTP10),
	BADR("bad chunk size",
	     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
	     "\r\n\r\nzz\r\n",
	     false, CHUNK_SIZE),
	BADR("CL body cut by EOF",
	     "HTTP/1.1 200 OK\r\nContent-Length: 10"
	     "\r\n\r\nshort",
	     true, TRUNCATED),
	BADR("chunked body cut by EOF",
	     "HTTP/1.1 200 OK\r\n"
	     "Transfer-Encoding: chunked\r\n\r\n5\r\nhel",
	     true, TRUNCATED),
};

static void test_malformed_responses(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
		const struct bad_resp_case *c = &bad_responses[i];
		struct run_cfg cfg = req_cfg;
		struct outcome o;

		cfg.is_response = true;
		cfg.req_method = HTTP_METHOD_GET;
		cfg.eof = c->eof;
		run_all_splits(&cfg, c->name, c->in, c->len, &o);
		if (o.result != HTTP_ERROR || o.status != 502 ||
		    o.error != c->reason) {
			printf("#   case '%s': got %d %u %s, want 502 %s\n",
			       c->name, o.result, o.status,
			       http_error_name(o.error),
			       http_error_name(c->reason));
			WT_CHECK(o.result == HTTP_ERROR);
			WT_CHECK_EQ(o.status, 502);
			WT_CHECK_EQ(o.error, c->reason);
		}
		WT_CHECK(!o.ka_after_error);
	}
	printf("# %zu malformed response vectors\n", i);
}

/* ------------------------------------------------------------------------ */
/* Split invariance on mutated vectors (no expectations but agreement)      */
/* ------------------------------------------------------------------------ */

static void mutate_and_check(const struct run_cfg *cfg, const char *in,
			     size_t len, int rounds)
{
	static const char alphabet[] = " \t\r\n:;,=\"\\/0aZ9-\x7f\x80\xff";
	char buf[512], name[32];
	struct outcome o;
	int r, k;

	if (len == 0 || len > sizeof(buf) - 8)
		return;
	for (r = 0; r < rounds; r++) {
		size_t n = len;

		memcpy(buf, in, len);
		for (k = 0; k < 1 + (int)(rng_next() % 3); k++) {
			size_t at = (size_t)(rng_next() % n);
			char c = alphabet[rng_next() % (sizeof(alphabet) - 1)];

			switch (rng_next() % 3) {
			case 0: /* replace */
				buf[at] = c;
				break;
			case 1: /* insert */
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = c;
				n++;
				break;
			default: /* delete */
				if (n > 1) {
					memmove(buf + at, buf + at + 1,
						n - at - 1);
					n--;
				}
			}
		}
		snprintf(name, sizeof(name), "mutant %d", r);
		/* run_all_splits reseeds the generator: keep our own stream */
		{
			uint64_t saved = rng_state;

			run_all_splits(cfg, name, buf, n, &o);
			rng_state = saved;
		}
	}
}

static void test_mutants_split_invariant(void)
{
	struct run_cfg resp = req_cfg;
	size_t i;
	int before = wt_case_failed;

	wt_case_failed = 0;
	rng_state = 0x2545f4914f6cdd1dULL;
	for (i = 0; i < sizeof(good_requests) / sizeof(good_requests[0]); i++)
		mutate_and_check(&req_cfg, good_requests[i].in,
				 good_requests[i].len, 200);
	for (i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++)
		mutate_and_check(&req_cfg, bad_requests[i].in,
				 bad_requests[i].len, 50);
	resp.is_response = true;
	resp.req_method = HTTP_METHOD_GET;
	resp.eof = true;
	for (i = 0; i < sizeof(good_responses) / sizeof(good_responses[0]); i++)
		mutate_and_check(&resp, good_responses[i].in,
				 good_responses[i].len, 200);
	wt_case_failed |= before;
}

/* ------------------------------------------------------------------------ */
/* Every byte value against the RFC's character classes                     */
/* ------------------------------------------------------------------------ */

static bool rfc_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool rfc_tchar(int c) /* RFC 9110 §5.6.2 */
{
	return rfc_alnum(c) || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool rfc_field_byte(int c) /* field-vchar / SP / HTAB, §5.5 */
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool rfc_host_byte(int c) /* RFC 3986 reg-name, IP-literal, port */
{
	return rfc_alnum(c) || (c != 0 && strchr("-._~%!$&'()*+,;=:[]", c));
}

/* Accepted or not: one vector with byte `b` in the given slot. */
static bool accepts(const char *pre, int b, const char *post)
{
	struct text t = { 0 };
	struct outcome o;
	char c = (char)b;
	char name[64];

	text_str(&t, pre);
	text_add(&t, &c, 1);
	text_str(&t, post);
	snprintf(name, sizeof(name), "byte 0x%02x after '%.20s'", b, pre);
	run_all_splits(&req_cfg, name, t.p, t.len, &o);
	free(t.p);
	return o.result == HTTP_COMPLETE && o.n == 1;
}

static void test_byte_classes(void)
{
	int b, bad = 0;

	for (b = 0; b < 256; b++) {
		bool name = accepts("GET / HTTP/1.1\r\nHost: a\r\nX", b,
				    "Y: v\r\n\r\n");
		bool value = accepts("GET / HTTP/1.1\r\nHost: a\r\nX: a", b,
				     "z\r\n\r\n");
		bool target =
			accepts("GET /", b, " HTTP/1.1\r\nHost: a\r\n\r\n");
		bool host =
			accepts("GET / HTTP/1.1\r\nHost: a", b, "z\r\n\r\n");

		/* "X:Y: v" is a valid line: name X, value "Y: v" */
		if (name != (rfc_tchar(b) || b == ':') ||
		    value != rfc_field_byte(b) ||
		    target != (b > 0x20 && b < 0x7f) ||
		    host != rfc_host_byte(b)) {
			printf("#   byte 0x%02x: name %d value %d target %d "
			       "host %d\n",
			       b, name, value, target, host);
			bad++;
		}
	}
	WT_CHECK_EQ(bad, 0);
}

/* ------------------------------------------------------------------------ */
/* Names and statuses                                                       */
/* ------------------------------------------------------------------------ */

static void test_names(void)
{
	int e;

	WT_CHECK(strcmp(http_error_name(HTTP_ERR_BARE_LF), "BARE_LF") == 0);
	WT_CHECK(strcmp(http_error_name(HTTP_ERR_COUNT), "?") == 0);
	WT_CHECK(strcmp(http_method_name(HTTP_METHOD_PATCH), "PATCH") == 0);
	WT_CHECK(strcmp(http_framing_name(HTTP_FRAMING_CHUNKED), "chunked") ==
		 0);
	WT_CHECK_EQ(http_error_status(HTTP_ERR_NONE), 0);
	WT_CHECK_EQ(http_error_status(HTTP_ERR_HEAD_TOO_LARGE), 431);
	WT_CHECK_EQ(http_error_status(HTTP_ERR_TARGET_TOO_LONG), 414);
	WT_CHECK_EQ(http_error_status(HTTP_ERR_VERSION_UNSUPPORTED), 505);
	WT_CHECK_EQ(http_error_status(HTTP_ERR_TE_UNKNOWN), 501);
	for (e = 1; e < HTTP_ERR_COUNT; e++) {
		uint16_t st = http_error_status((enum http_error)e);

		WT_CHECK(st >= 400 && st <= 505);
		WT_CHECK(strlen(http_error_name((enum http_error)e)) > 0);
		WT_CHECK(strlen(http_error_help((enum http_error)e)) > 0);
	}
}

int main(void)
{
	WT_RUN(test_malformed_requests);
	WT_RUN(test_limits);
	WT_RUN(test_valid_requests);
	WT_RUN(test_pipelined_requests);
	WT_RUN(test_consumed_exact);
	WT_RUN(test_absolute_form);
	WT_RUN(test_header_find);
	WT_RUN(test_body_decoder);
	WT_RUN(test_valid_responses);
	WT_RUN(test_malformed_responses);
	WT_RUN(test_byte_classes);
	WT_RUN(test_mutants_split_invariant);
	WT_RUN(test_names);
	return wt_done();
}
