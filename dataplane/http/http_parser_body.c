/* http_parser_body: the body-framing machine: Content-Length, chunked
 * (size line, extensions, data, CRLF, trailers) and read-until-close, fed
 * any split of the bytes. It frames, it never copies or keeps payload:
 * the caller relays the bytes it reports as consumed. No allocation. */
#include "http/http_parser.h"

#include <string.h>

#include "http/http_parser_internal.h"

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
	b->chunk_lines++;
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
		/* 16 significant digits fill 64 bits: a 17th cannot fit, and
		 * a parser that wraps it instead reads another body length */
		if (b->chunk_size >> (4 * (HTTP_MAX_CHUNK_DIGITS - 1)))
			return body_fail(b, HTTP_ERR_CHUNK_SIZE_OVERFLOW);
		/* leading zeros are digits too: a bounded token leaves no
		 * parser behind us a corner case of its own (HAProxy 2.6
		 * takes any zero run but caps the value at 2^52) */
		if (b->line_len > HTTP_MAX_CHUNK_TOKEN)
			return body_fail(b, HTTP_ERR_CHUNK_SIZE_LONG);
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

/* RFC 9110 §6.5.1: framing (Content-Length, Transfer-Encoding) and
 * routing (Host) fields must not be trailers; a recipient that merges
 * trailers into the head would read another message than we framed. */
static bool trailer_name_refused(const struct http_body *b)
{
	static const char *const refused[] = { "content-length",
					       "transfer-encoding", "host" };
	size_t i;

	if (b->tname_len > sizeof(b->tname))
		return false; /* longer than any of them */
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (ieq(b->tname, b->tname_len, refused[i]))
			return true;
	return false;
}

/* The trailer section runs the head's field-line machine and limits (one
 * grammar, one field count), plus the rule above. */
static enum http_result trailer_step(struct http_body *b, uint8_t c)
{
	enum http_error err = HTTP_ERR_NONE;
	bool in_name = b->fstate == FS_NAME;

	if (++b->trailer_len > b->lim.max_trailer)
		return body_fail(b, HTTP_ERR_TRAILER_TOO_LARGE);
	switch (http_field_step(&b->fstate, false, c, &err)) {
	case FE_ERROR:
		return body_fail(b, err);
	case FE_BLOCK_END:
		b->state = BS_DONE;
		return HTTP_COMPLETE;
	case FE_NAME_START:
		if (++b->trailer_fields > b->lim.max_headers)
			return body_fail(b, HTTP_ERR_TOO_MANY_FIELDS);
		b->tname_len = 0;
		in_name = true;
		break;
	case FE_COLON: /* requests only: a replica's odd trailer is no 502 */
		if (!b->is_response && trailer_name_refused(b))
			return body_fail(b, HTTP_ERR_TRAILER_FIELD);
		return HTTP_NEED_MORE;
	default:
		break;
	}
	if (in_name && b->tname_len <= sizeof(b->tname)) {
		if (b->tname_len < sizeof(b->tname))
			b->tname[b->tname_len] = (char)c;
		b->tname_len++;
	}
	return HTTP_NEED_MORE;
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
