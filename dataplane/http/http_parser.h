/* http_parser: the strict, incremental HTTP/1.1 message parser (RFC 9110/9112)
 * used by the HTTP proxy for client requests and backend responses. It is fed
 * byte ranges as they arrive (segment by segment, in any split) and never
 * allocates, blocks, logs or looks at TCP, mbufs or DPDK: it only reads the
 * bytes it is given and writes into the buffers its caller provides.
 *
 * Why hand-written: we evaluated picohttpparser-style parsers. They re-parse
 * a contiguous head from the start on every call (so a head split across
 * segments must first be made contiguous and is scanned again and again),
 * they accept much that RFC 9112 tells an intermediary to refuse (obs-fold,
 * bare LF, CL together with TE, duplicate Host), and they report "error"
 * without the status the proxy must answer. A proxy in front of Ray Serve is
 * a request-smuggling target, so we want one byte-at-a-time state machine
 * that is resumable at any byte, refuses with an exact status and reason,
 * and copies the head into one bounded, caller-owned buffer. (Whole lines
 * that arrive in one piece take a fast path with the same effects: about
 * 0.5 us for a 460-byte browser head, see tests/unit/http/bench_*.c.)
 *
 * Contract, in one place:
 *  - Results are HTTP_NEED_MORE, HTTP_COMPLETE or HTTP_ERROR, and every feed
 *    reports how many input bytes it took. Bytes it did not take (a body, the
 *    next pipelined request) stay with the caller.
 *  - The result and the parsed fields depend only on the byte sequence, never
 *    on how it was split: feeding a message whole or one byte at a time gives
 *    the same answer (the unit tests check this for every vector).
 *  - After HTTP_ERROR the parser stays in error (further feeds return
 *    HTTP_ERROR and take nothing); the proxy answers the status given by
 *    http_head_error_status() (requests; 502 for backend responses) and then
 *    CLOSES the connection. Nothing after a framing error can be trusted.
 *
 * Choices where RFC 9112 leaves one (each is a refusal with status 400 unless
 * said otherwise, and each has its own reason for counters):
 *  - Content-Length together with Transfer-Encoding is refused (§6.1 allows
 *    either refusing or letting TE win and closing afterwards; forwarding or
 *    reinterpreting such a message is the classic request-smuggling vector,
 *    and no honest client sends both). In a response it is a 502.
 *  - Up to HTTP_MAX_LEADING_EMPTY_LINES empty lines (CRLF) before a request
 *    line are skipped (§2.2 says SHOULD ignore at least one: some clients
 *    send a stray CRLF after a POST body); more is refused. Responses get no
 *    such tolerance.
 *  - Whitespace before the first field line and obs-fold are refused (§2.2,
 *    §5.2); so are bare CR and bare LF anywhere in a head or chunk framing.
 *  - Only HTTP/1.0 and HTTP/1.1 are accepted; any other well-formed
 *    "HTTP/d.d" (including 1.2 and 2.0) is 505, anything else is 400.
 *  - The request-target may hold any VCHAR (0x21-0x7E); controls, DEL and
 *    bytes >= 0x80 are refused. Its form must fit the method: origin-form
 *    ("/..."), absolute-form ("scheme:..."), "*" only for OPTIONS, and
 *    authority-form only (and always) for CONNECT. An absolute-form target
 *    must be "http://" or "https://" with a non-empty authority of Host
 *    characters, no userinfo and no fragment (TARGET_AUTHORITY); its
 *    authority and origin-form rest are reported (§3.2.2: a proxy ignores
 *    the received Host then).
 *  - Host must be present once in HTTP/1.1 and may be empty only with an
 *    absolute-form target (HOST_EMPTY otherwise, §3.2).
 *  - chunk-size: at most 16 significant hex digits (64 bits), and at most
 *    HTTP_MAX_CHUNK_TOKEN digits counting leading zeros (stricter than
 *    HAProxy 2.6 on zeros, laxer on values: it caps them at 2^52).
 *    Trailer sections run the head's field-line rules and field count; a
 *    request's refuse Content-Length, Transfer-Encoding and Host (RFC 9110
 *    §6.5.1: framing and routing fields are never trailers).
 *  - Transfer-Encoding: codings are tokens without parameters; chunked,
 *    gzip, x-gzip, deflate, compress and x-compress are known, others are
 *    501 (requests). In a request the final coding must be chunked and
 *    chunked may appear once; HTTP/1.0 with TE is refused (§6.1).
 *  - Expect: 100-continue is reported; any other expectation is 417. In an
 *    HTTP/1.0 request Expect is ignored (RFC 9110 §10.1.1), as is Upgrade.
 *  - The status-line of a response may omit the SP before an empty reason
 *    (servers do; RFC 9112 §4 asks clients to be lenient there).
 */
#ifndef WEIR_HTTP_PARSER_H
#define WEIR_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

/* Compile-time caps (runtime limits in struct http_limits may be lower). */
#define HTTP_MAX_HEADERS 100 /* field lines per head; more: 431 */
#define HTTP_HEAD_BUF_DEFAULT 16384 /* Ray's tune.bufsize: head buffer */
#define HTTP_MAX_TARGET_DEFAULT 8192 /* request-target bytes; more: 414 */
#define HTTP_MAX_TRAILER_DEFAULT 16384 /* trailer section bytes; more: 431 */
#define HTTP_MAX_METHOD_LEN 32 /* longer method token: 400 */
#define HTTP_MAX_LEADING_EMPTY_LINES 4 /* CRLFs skipped before a request */
#define HTTP_MAX_CHUNK_LINE 4096 /* chunk-size line with extensions */
#define HTTP_MAX_CHUNK_DIGITS 16 /* significant hex digits: 64 bits */
#define HTTP_MAX_CHUNK_TOKEN 32 /* chunk-size token, leading zeros too */

enum http_result {
	HTTP_NEED_MORE = 0, /* all input taken, message not finished yet */
	HTTP_COMPLETE = 1, /* message (head or body) finished */
	HTTP_ERROR = 2, /* refuse with the error status, then close */
};

/* Every refusal has a reason (for per-reason counters) and the status the
 * proxy answers a client with. A malformed backend response is always 502,
 * whatever its reason. X(name, request status, description). */
#define HTTP_ERRORS(X)                                                        \
	X(NONE, 0, "no error")                                                \
	X(EMPTY_LINES, 400, "too many empty lines before the request line")   \
	X(BARE_LF, 400, "LF not preceded by CR")                              \
	X(BARE_CR, 400, "CR not followed by LF")                              \
	X(METHOD, 400, "method is not a token, empty or too long")            \
	X(REQUEST_LINE, 400, "malformed request line (separators)")           \
	X(TARGET_CHAR, 400, "invalid character in request-target")            \
	X(TARGET_FORM, 400, "request-target form does not fit the method")    \
	X(TARGET_TOO_LONG, 414, "request-target over its limit")              \
	X(NO_VERSION, 400, "request line without HTTP version")               \
	X(BAD_VERSION, 400, "malformed HTTP version")                         \
	X(VERSION_UNSUPPORTED, 505, "HTTP version other than 1.0/1.1")        \
	X(STATUS_LINE, 502, "malformed status line (responses)")              \
	X(STATUS_CODE, 502, "status code not 3 digits in 100-599")            \
	X(WS_BEFORE_FIELDS, 400, "whitespace before the first field line")    \
	X(OBS_FOLD, 400, "obsolete line folding")                             \
	X(FIELD_NAME, 400, "field name empty or not a token")                 \
	X(WS_BEFORE_COLON, 400, "whitespace between field name and colon")    \
	X(NO_COLON, 400, "field line without colon")                          \
	X(FIELD_VALUE, 400, "invalid character in field value")               \
	X(HEAD_TOO_LARGE, 431, "header section over the buffer size")         \
	X(TOO_MANY_FIELDS, 431, "more field lines than allowed")              \
	X(CL_INVALID, 400, "Content-Length not 1*DIGIT")                      \
	X(CL_OVERFLOW, 400, "Content-Length does not fit 63 bits")            \
	X(CL_MISMATCH, 400, "Content-Length values differ")                   \
	X(CL_AND_TE, 400, "both Content-Length and Transfer-Encoding")        \
	X(TE_INVALID, 400, "Transfer-Encoding empty, bad token or parameter") \
	X(TE_NOT_CHUNKED, 400, "final transfer coding is not chunked")        \
	X(TE_CHUNKED_TWICE, 400, "chunked applied more than once")            \
	X(TE_UNKNOWN, 501, "unknown transfer coding")                         \
	X(TE_HTTP10, 400, "Transfer-Encoding in an HTTP/1.0 message")         \
	X(HOST_MISSING, 400, "HTTP/1.1 request without Host")                 \
	X(HOST_DUPLICATE, 400, "more than one Host")                          \
	X(HOST_INVALID, 400, "invalid character in Host")                     \
	X(HOST_EMPTY, 400, "empty Host with a target that has no authority")  \
	X(TARGET_AUTHORITY, 400, "absolute-form: bad scheme or authority")    \
	X(CONNECTION_INVALID, 400, "Connection option is not a token")        \
	X(EXPECTATION, 417, "expectation other than 100-continue")            \
	X(BODY_TOO_LARGE, 413, "body over the configured limit")              \
	X(CHUNK_SIZE, 400, "chunk-size missing or not hex")                   \
	X(CHUNK_SIZE_OVERFLOW, 400, "chunk-size over 16 significant digits")  \
	X(CHUNK_SIZE_LONG, 400, "chunk-size token over 32 digits")            \
	X(CHUNK_EXT, 400, "malformed chunk extension")                        \
	X(CHUNK_LINE_TOO_LONG, 400, "chunk-size line over its limit")         \
	X(CHUNK_DATA_CRLF, 400, "chunk data not followed by CRLF")            \
	X(TRAILER_TOO_LARGE, 431, "trailer section over its limit")           \
	X(TRAILER_FIELD, 400, "framing or routing field in the trailers")     \
	X(TRUNCATED, 400, "connection closed before the message ended")

enum http_error {
#define HTTP_ERR_ENUM_(name, status, help) HTTP_ERR_##name,
	HTTP_ERRORS(HTTP_ERR_ENUM_)
#undef HTTP_ERR_ENUM_
	HTTP_ERR_COUNT
};

enum http_method {
	HTTP_METHOD_OTHER = 0, /* a valid token we do not know: forwarded */
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_PATCH,
	HTTP_METHOD_COUNT
};

/* How the message body is delimited (RFC 9112 §6.3). */
enum http_framing {
	HTTP_FRAMING_NONE = 0, /* no body (Content-Length: 0 is LENGTH) */
	HTTP_FRAMING_LENGTH, /* exactly content_length bytes */
	HTTP_FRAMING_CHUNKED, /* chunked, ends after the trailer section */
	HTTP_FRAMING_CLOSE, /* response: ends when the server closes */
	HTTP_FRAMING_TUNNEL, /* response: 2xx to CONNECT, then raw bytes */
};

/* A byte range inside the head buffer: offsets, so the buffer may move. */
struct http_span {
	uint32_t off;
	uint32_t len;
};

struct http_header {
	struct http_span name;
	struct http_span value; /* OWS trimmed on both sides */
};

struct http_limits {
	uint32_t max_target; /* request-target bytes; over -> 414 */
	uint32_t max_headers; /* <= HTTP_MAX_HEADERS; over -> 431 */
	uint32_t max_trailer; /* trailer section bytes; over -> 431 */
	uint64_t max_body; /* request body; 0 = no limit; over -> 413 */
};

/* Brace initializer (usable in static data) and compound literal. */
#define HTTP_LIMITS_DEFAULT_INIT                                       \
	{                                                              \
		.max_target = HTTP_MAX_TARGET_DEFAULT,                 \
		.max_headers = HTTP_MAX_HEADERS,                       \
		.max_trailer = HTTP_MAX_TRAILER_DEFAULT, .max_body = 0 \
	}
#define HTTP_LIMITS_DEFAULT ((struct http_limits)HTTP_LIMITS_DEFAULT_INIT)

/* What a complete head says. Spans point into the head buffer, which holds
 * the head exactly as received (minus skipped leading empty lines), so the
 * proxy can forward buf[0 .. head_len) as is. */
struct http_message {
	uint32_t head_len; /* bytes of the head in the buffer */
	uint8_t version_minor; /* 0 (HTTP/1.0) or 1 (HTTP/1.1) */
	enum http_method method; /* request: its own; response: the request's */
	struct http_span method_span;
	struct http_span target; /* request only */
	uint16_t status; /* response only: 100..599 */
	struct http_span reason; /* response only, may be empty */
	enum http_framing framing;
	uint64_t content_length; /* valid when framing == LENGTH */
	/* Persistence (RFC 9112 §9.3): 1.1 unless "close", 1.0 only with
	 * "keep-alive"; false for CLOSE/TUNNEL framing, 101, and errors. */
	bool keep_alive;
	bool expect_continue; /* HTTP/1.1 request, Expect: 100-continue */
	bool upgrade; /* request: HTTP/1.1 Upgrade + Connection:
			       * upgrade; response: status 101 */
	bool host_present; /* request with exactly one Host */
	struct http_span host; /* its value (OWS trimmed), when present */
	/* absolute-form target (RFC 9112 §3.2.2): "http(s)://" authority,
	 * then origin = path-abempty ["?" query] (may be empty: "/" is meant).
	 * A proxy uses the authority as Host and forwards origin-form. */
	bool absolute_form;
	struct http_span authority;
	struct http_span origin;
	uint16_t n_headers;
	struct http_header headers[HTTP_MAX_HEADERS]; /* keep last */
};

/* Head parser state. Opaque apart from `msg`, which is valid after
 * HTTP_COMPLETE; initialise with http_request_init()/http_response_init(). */
struct http_head {
	/* configuration */
	char *buf;
	uint32_t cap;
	bool is_response;
	enum http_method req_method; /* response: method of the request */
	struct http_limits lim;
	/* progress */
	uint32_t len; /* bytes copied into buf */
	uint8_t state;
	uint8_t fstate; /* field-line sub-state */
	uint8_t empty_lines;
	bool first_field;
	bool value_started;
	enum http_error error;
	uint32_t tok_off; /* start of the token being read */
	uint32_t value_end;
	struct http_header cur;
	/* facts gathered from fields */
	uint8_t host_count;
	bool cl_seen, te_seen, te_chunked_seen, te_final_chunked;
	bool conn_close, conn_keep_alive, conn_upgrade, upgrade_field;
	bool expect_100;
	uint64_t cl_value;
	struct http_message msg; /* keep last (see http_head_reset) */
};

/* Body decoder state; initialise with http_body_init(). */
struct http_body {
	enum http_framing framing;
	bool is_response;
	uint8_t state;
	uint8_t fstate; /* trailer field-line sub-state */
	enum http_error error;
	uint64_t remaining; /* bytes left in the body or current chunk */
	uint64_t chunk_size; /* chunk-size being read */
	uint64_t total; /* chunk data bytes so far */
	uint64_t chunk_lines; /* chunk-size lines complete (last one too) */
	uint32_t line_len; /* bytes of the current chunk-size line */
	uint32_t trailer_len;
	uint16_t trailer_fields; /* field lines in the trailer section */
	uint8_t tname_len; /* bytes of the trailer field name seen so far */
	char tname[18]; /* its first bytes: enough for the names refused */
	struct http_limits lim;
};

/* ------------------------------------------------------------------------ */
/* Functions                                                                */
/* ------------------------------------------------------------------------ */

/* Prepare `h` to parse one request head into `buf` (cap bytes; cap is the
 * head limit: a head that does not fit is 431, or 414 while in the target).
 * `lim` may be NULL for HTTP_LIMITS_DEFAULT; max_headers is clamped to
 * HTTP_MAX_HEADERS. Never fails. */
void http_request_init(struct http_head *h, char *buf, uint32_t cap,
		       const struct http_limits *lim);

/* Prepare `h` to parse one backend response head; `req_method` is the
 * method of the request it answers (HEAD and CONNECT change the framing).
 * After a 1xx other than 101 (msg.status < 200, framing NONE) the final
 * response follows: init again with the same method. Errors in a response
 * are reported with status 502. Never fails. */
void http_response_init(struct http_head *h, char *buf, uint32_t cap,
			const struct http_limits *lim,
			enum http_method req_method);

/* Start over for the next message on the same connection, keeping buffer,
 * limits and kind (for a response, pass the new request's method with
 * http_response_init instead). The previous message's spans become invalid. */
void http_head_reset(struct http_head *h);

/* Feed `len` bytes of the head. Sets *consumed to the bytes taken:
 *  HTTP_NEED_MORE - all `len` bytes taken, the head is not finished;
 *  HTTP_COMPLETE  - the head ended at data[*consumed - 1]; h->msg is valid;
 *                   the remaining bytes belong to the body or next message;
 *  HTTP_ERROR     - refused at data[*consumed - 1]; see http_head_error*().
 * Once COMPLETE or ERROR, further calls return the same result and take 0
 * bytes until reset. `data` may be NULL when len == 0. */
enum http_result http_head_feed(struct http_head *h, const void *data,
				size_t len, size_t *consumed);

/* The refusal reason, HTTP_ERR_NONE unless the last feed gave HTTP_ERROR. */
static inline enum http_error http_head_error(const struct http_head *h)
{
	return h->error;
}

/* The status to answer after HTTP_ERROR: the reason's status for a request
 * (400/413/414/417/431/501/505), 502 for a backend response; 0 if none. */
uint16_t http_head_error_status(const struct http_head *h);

/* Pointer to the first byte of a span of this head's buffer. */
static inline const char *http_span_ptr(const struct http_head *h,
					struct http_span s)
{
	return h->buf + s.off;
}

/* Index of the first header at or after `from` whose name equals `name`
 * (ASCII case-insensitive), or -ENOENT. Valid after HTTP_COMPLETE. */
int http_header_find(const struct http_head *h, const char *name,
		     unsigned int from);

/* Prepare `b` to delimit the body announced by a complete head `h`
 * (framing, length, limits, request or response). Never fails. */
void http_body_init(struct http_body *b, const struct http_head *h);

/* Same, from explicit framing (`length` used for HTTP_FRAMING_LENGTH). */
void http_body_init_framing(struct http_body *b, enum http_framing framing,
			    uint64_t length, bool is_response,
			    const struct http_limits *lim);

/* Feed body bytes exactly as received; the decoder only delimits, so the
 * caller forwards data[0 .. *consumed) unchanged (chunked framing kept).
 *  HTTP_NEED_MORE - all `len` bytes belong to this message, more to come;
 *  HTTP_COMPLETE  - the message ends at data[*consumed - 1] (0 bytes for
 *                   HTTP_FRAMING_NONE); the rest is the next message;
 *  HTTP_ERROR     - malformed chunk framing or a limit; status from
 *                   http_body_error_status(); close the connection.
 * CLOSE and TUNNEL framings take everything until http_body_eof(). */
enum http_result http_body_feed(struct http_body *b, const void *data,
				size_t len, size_t *consumed);

/* The peer closed its side: HTTP_COMPLETE if that ends the message (CLOSE
 * or TUNNEL framing, or already complete), else HTTP_ERROR with reason
 * HTTP_ERR_TRUNCATED. */
enum http_result http_body_eof(struct http_body *b);

static inline enum http_error http_body_error(const struct http_body *b)
{
	return b->error;
}

/* Status to answer after a body HTTP_ERROR (502 for responses), 0 if none. */
uint16_t http_body_error_status(const struct http_body *b);

/* Stable names for counters and logs: "BARE_LF", "GET", "chunked"...
 * Out-of-range values give "?". */
const char *http_error_name(enum http_error e);
const char *http_error_help(enum http_error e);
/* The status a request refused for `e` gets (0 for HTTP_ERR_NONE). */
uint16_t http_error_status(enum http_error e);
const char *http_method_name(enum http_method m);
const char *http_framing_name(enum http_framing f);

#endif
