/* http_parser_internal: what the parser's files (http_parser.c,
 * http_parser_head.c, http_parser_fields.c, http_parser_body.c) share and
 * nobody else may include. Same rules as http_parser.h: no allocation, no
 * I/O, every decision on one byte with the state the previous one left. */
#ifndef WEIR_HTTP_PARSER_INTERNAL_H
#define WEIR_HTTP_PARSER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_parser.h"

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

extern const uint8_t http_ctype[256]; /* http_parser.c */

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
static inline bool ieq(const char *a, uint32_t alen, const char *b)
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
static inline bool list_next(const char *v, uint32_t len, uint32_t *pos,
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

static inline bool all_tchar(const char *s, uint32_t len)
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

/* http_parser.c: one byte of a field section (header or trailer).
 * `first` is true for the first line of a header section: whitespace there
 * is not obs-fold but "whitespace after the start-line" (§2.2). */
enum field_event http_field_step(uint8_t *fs, bool first, uint8_t c,
				 enum http_error *err);

/* ------------------------------------------------------------------------ */
/* Head parser: the state shared by http_parser_head.c (grammar) and      */
/* http_parser_fields.c (what the fields mean)                              */
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

static inline enum http_result head_fail(struct http_head *h, enum http_error e)
{
	h->error = e;
	h->state = HS_ERROR;
	h->msg.keep_alive = false;
	return HTTP_ERROR;
}

/* http_parser_fields.c: h->cur is a complete field line: keep it and note
 * what it means for framing. HTTP_NEED_MORE, or HTTP_ERROR (h failed). */
enum http_result http_head_end_field(struct http_head *h);

/* http_parser_fields.c: the empty line ended the head: decide framing and
 * persistence (RFC 9112 §6.3). HTTP_COMPLETE, or HTTP_ERROR (h failed). */
enum http_result http_head_finish(struct http_head *h);

#endif
