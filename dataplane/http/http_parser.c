/* http_parser: what the head and body machines share: error, method and
 * framing names, the byte-class table, and the field-line machine that
 * both header and trailer sections run. The machines themselves live in
 * http_parser_head.c and http_parser_body.c. Nothing here allocates, does
 * I/O or keeps state of its own. */
#include "http/http_parser.h"

#include "http/http_parser_internal.h"

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

/* Byte classes (RFC 9110 §5.6): see http_parser_internal.h for the bits. */
const uint8_t http_ctype[256] = {
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

/* ------------------------------------------------------------------------ */
/* Field lines: one machine for header and trailer sections (RFC 9112 §5)  */
/* ------------------------------------------------------------------------ */

/* `first` is true for the first line of a header section: whitespace there
 * is not obs-fold but "whitespace after the start-line" (§2.2). */
enum field_event http_field_step(uint8_t *fs, bool first, uint8_t c,
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
