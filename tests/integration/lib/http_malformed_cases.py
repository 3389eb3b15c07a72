"""The malformed requests test_http_malformed.py sends through weir-dp's
HTTP proxy: (name, bytes, expected status, parser reason, where).

The statuses and reasons are those of the parser's unit table
(tests/unit/http/test_http_parser.c, bad_requests[] and test_limits()),
which follow RFC 9112; a few cases are added for the proxy (smuggling
spellings, limits). `where` is "head" (refused before anything reaches a
replica: the reason is counted in /weir/http as refused_<REASON>) or "body"
(the head was valid and forwarded, the chunked framing of the body is bad:
the proxy must still answer the status and close both connections).
Every case expects: exactly one response with that status, "Connection:
close", then the connection closed by the proxy (EOF) and nothing more."""

H11 = b" HTTP/1.1\r\nHost: a\r\n"
CHK = b"POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"

HEAD_MAX = 16384    # HTTP_HEAD_BUF_DEFAULT (http.buffer_kb 16)
TARGET_MAX = 8192   # HTTP_MAX_TARGET_DEFAULT
MAX_FIELDS = 100    # HTTP_MAX_HEADERS
CHUNK_LINE_MAX = 4096
TRAILER_MAX = 16384


def _head_431():
    # the unit table's "head of 16 KiB + 1": one byte over the buffer
    h = b"GET / HTTP/1.1\r\nHost: a\r\nX: "
    return h + b"v" * (HEAD_MAX - len(h) - 3) + b"\r\n\r\n"


def _target_414():
    return b"GET /" + b"a" * TARGET_MAX + b" HTTP/1.1\r\nHost: a\r\n\r\n"


def _fields_431():
    return b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * MAX_FIELDS + b"\r\n"


CASES = [
    # ---- line endings (RFC 9112 §2.2: bare CR/LF refused) ----
    ("bare LF ends request line", b"GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "BARE_LF", "head"),
    ("bare LF ends field line", b"GET /" + H11 + b"X: b\n\r\n", 400, "BARE_LF", "head"),
    ("bare LF ends head", b"GET /" + H11 + b"\n", 400, "BARE_LF", "head"),
    ("bare LF before request", b"\nGET /" + H11 + b"\r\n", 400, "BARE_LF", "head"),
    ("bare LF in method", b"GE\nT /" + H11 + b"\r\n", 400, "BARE_LF", "head"),
    ("bare CR in value", b"GET /" + H11 + b"X: a\rb\r\n\r\n", 400, "BARE_CR", "head"),
    ("bare CR after request line", b"GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "BARE_CR", "head"),
    ("bare CR ends head", b"GET /" + H11 + b"\rX", 400, "BARE_CR", "head"),
    ("bare CR before request", b"\rGET /" + H11 + b"\r\n", 400, "BARE_CR", "head"),
    ("five empty lines first", b"\r\n" * 5 + b"GET /" + H11 + b"\r\n", 400, "EMPTY_LINES", "head"),
    # ---- request line ----
    ("method with @", b"G@T /" + H11 + b"\r\n", 400, "METHOD", "head"),
    ("method with (", b"GE(T /" + H11 + b"\r\n", 400, "METHOD", "head"),
    ("empty method", b" /" + H11 + b"\r\n", 400, "METHOD", "head"),
    ("method 33 chars", b"A" * 33 + b" /" + H11 + b"\r\n", 400, "METHOD", "head"),
    ("tab after method", b"GET\t/" + H11 + b"\r\n", 400, "METHOD", "head"),
    ("double SP before target", b"GET  /" + H11 + b"\r\n", 400, "REQUEST_LINE", "head"),
    ("method only", b"GET\r\nHost: a\r\n\r\n", 400, "REQUEST_LINE", "head"),
    ("request line without version", b"GET /\r\nHost: a\r\n\r\n", 400, "NO_VERSION", "head"),
    ("no version after SP", b"GET / \r\nHost: a\r\n\r\n", 400, "NO_VERSION", "head"),
    ("SP after version", b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "BAD_VERSION", "head"),
    ("lowercase version", b"GET / http/1.1\r\nHost: a\r\n\r\n", 400, "BAD_VERSION", "head"),
    ("version 1.10", b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "BAD_VERSION", "head"),
    ("version HTTPS/1.1", b"GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400, "BAD_VERSION", "head"),
    ("version garbage", b"GET / FOO\r\nHost: a\r\n\r\n", 400, "BAD_VERSION", "head"),
    ("version HTTP/2.0", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "VERSION_UNSUPPORTED", "head"),
    ("version HTTP/1.2", b"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "VERSION_UNSUPPORTED", "head"),
    ("version HTTP/0.9", b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "VERSION_UNSUPPORTED", "head"),
    ("version HTTP/3.0", b"GET / HTTP/3.0\r\n\r\n", 505, "VERSION_UNSUPPORTED", "head"),
    ("tab in target", b"GET /a\tb" + H11 + b"\r\n", 400, "TARGET_CHAR", "head"),
    ("DEL in target", b"GET /a\x7f" + H11 + b"\r\n", 400, "TARGET_CHAR", "head"),
    ("UTF-8 in target", b"GET /caf\xc3\xa9" + H11 + b"\r\n", 400, "TARGET_CHAR", "head"),
    ("NUL in target", b"GET /a\x00b" + H11 + b"\r\n", 400, "TARGET_CHAR", "head"),
    ("relative target", b"GET foo" + H11 + b"\r\n", 400, "TARGET_FORM", "head"),
    ("asterisk with GET", b"GET *" + H11 + b"\r\n", 400, "TARGET_FORM", "head"),
    ("CONNECT with path", b"CONNECT /" + H11 + b"\r\n", 400, "TARGET_FORM", "head"),
    ("target over 8 KiB (414)", _target_414(), 414, "TARGET_TOO_LONG", "head"),
    # ---- field lines ----
    ("space before first field", b"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "WS_BEFORE_FIELDS", "head"),
    ("obs-fold with SP", b"GET /" + H11 + b"X: b\r\n c\r\n\r\n", 400, "OBS_FOLD", "head"),
    ("obs-fold with HTAB", b"GET /" + H11 + b"X: b\r\n\tc\r\n\r\n", 400, "OBS_FOLD", "head"),
    ("SP before colon (Host)", b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "WS_BEFORE_COLON", "head"),
    ("HTAB before colon", b"GET /" + H11 + b"X\t: b\r\n\r\n", 400, "WS_BEFORE_COLON", "head"),
    ("SP before colon (Transfer-Encoding)", b"POST /" + H11 +
     b"Content-Length: 5\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400, "WS_BEFORE_COLON", "head"),
    ("SP inside name", b"GET /" + H11 + b"X Y: b\r\n\r\n", 400, "WS_BEFORE_COLON", "head"),
    ("field line without colon", b"GET /" + H11 + b"Xb\r\n\r\n", 400, "NO_COLON", "head"),
    ("empty field name", b"GET /" + H11 + b": b\r\n\r\n", 400, "FIELD_NAME", "head"),
    ("( in name", b"GET /" + H11 + b"X(: b\r\n\r\n", 400, "FIELD_NAME", "head"),
    ("@ in name", b"GET /" + H11 + b"X@Y: b\r\n\r\n", 400, "FIELD_NAME", "head"),
    ("high byte in name", b"GET /" + H11 + b"X\xff: b\r\n\r\n", 400, "FIELD_NAME", "head"),
    ("NUL in name", b"GET /" + H11 + b"X\x00Y: b\r\n\r\n", 400, "FIELD_NAME", "head"),
    ("NUL in value", b"GET /" + H11 + b"X: a\x00b\r\n\r\n", 400, "FIELD_VALUE", "head"),
    ("SOH in value", b"GET /" + H11 + b"X: a\x01\r\n\r\n", 400, "FIELD_VALUE", "head"),
    ("DEL in value", b"GET /" + H11 + b"X: \x7f\r\n\r\n", 400, "FIELD_VALUE", "head"),
    ("ESC in value", b"GET /" + H11 + b"X: a \x1b[0m\r\n\r\n", 400, "FIELD_VALUE", "head"),
    ("header block over 16 KiB (431)", _head_431(), 431, "HEAD_TOO_LARGE", "head"),
    ("101 field lines (431)", _fields_431(), 431, "TOO_MANY_FIELDS", "head"),
    # ---- Host ----
    ("HTTP/1.1 without Host", b"GET / HTTP/1.1\r\n\r\n", 400, "HOST_MISSING", "head"),
    ("two different Hosts", b"GET /" + H11 + b"Host: b\r\n\r\n", 400, "HOST_DUPLICATE", "head"),
    ("two identical Hosts", b"GET /" + H11 + b"host: a\r\n\r\n", 400, "HOST_DUPLICATE", "head"),
    ("Host with slash", b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "HOST_INVALID", "head"),
    ("Host with userinfo", b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "HOST_INVALID", "head"),
    ("Host with inner SP", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "HOST_INVALID", "head"),
    ("empty Host", b"GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "HOST_EMPTY", "head"),
    ("whitespace-only Host", b"GET / HTTP/1.1\r\nHost:  \t \r\n\r\n", 400, "HOST_EMPTY", "head"),
    ("absolute-form ftp scheme", b"GET ftp://a/x" + H11 + b"\r\n", 400, "TARGET_AUTHORITY", "head"),
    ("absolute-form empty authority", b"GET http:///x" + H11 + b"\r\n", 400, "TARGET_AUTHORITY", "head"),
    ("absolute-form userinfo", b"GET http://u@a/x" + H11 + b"\r\n", 400, "TARGET_AUTHORITY", "head"),
    # ---- Content-Length ----
    ("CL letters", b"POST /" + H11 + b"Content-Length: abc\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL negative", b"POST /" + H11 + b"Content-Length: -1\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL plus sign", b"POST /" + H11 + b"Content-Length: +5\r\n\r\nhello", 400, "CL_INVALID", "head"),
    ("CL empty", b"POST /" + H11 + b"Content-Length:\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL inner SP", b"POST /" + H11 + b"Content-Length: 5 5\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL hex", b"POST /" + H11 + b"Content-Length: 0x10\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL decimal point", b"POST /" + H11 + b"Content-Length: 1.5\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL empty list element", b"POST /" + H11 + b"Content-Length: 5,\r\n\r\n", 400, "CL_INVALID", "head"),
    ("CL overflow 20 digits", b"POST /" + H11 + b"Content-Length: 99999999999999999999\r\n\r\n",
     400, "CL_OVERFLOW", "head"),
    ("CL overflow 2^63", b"POST /" + H11 + b"Content-Length: 9223372036854775808\r\n\r\n",
     400, "CL_OVERFLOW", "head"),
    ("differing duplicate CL fields", b"POST /" + H11 +
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400, "CL_MISMATCH", "head"),
    ("differing CL list", b"POST /" + H11 + b"Content-Length: 5, 6\r\n\r\n", 400, "CL_MISMATCH", "head"),
    ("CL 0 then CL 5 (smuggling)", b"POST /" + H11 +
     b"Content-Length: 0\r\nContent-Length: 5\r\n\r\nGET /", 400, "CL_MISMATCH", "head"),
    ("CL then TE", b"POST /" + H11 + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
     400, "CL_AND_TE", "head"),
    ("TE then CL", b"POST /" + H11 + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
     400, "CL_AND_TE", "head"),
    ("CL with TE and a smuggled request", b"POST /" + H11 +
     b"Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n",
     400, "CL_AND_TE", "head"),
    # ---- Transfer-Encoding ----
    ("TE gzip only (final not chunked)", b"POST /" + H11 + b"Transfer-Encoding: gzip\r\n\r\n",
     400, "TE_NOT_CHUNKED", "head"),
    ("TE chunked, gzip", b"POST /" + H11 + b"Transfer-Encoding: chunked, gzip\r\n\r\n",
     400, "TE_NOT_CHUNKED", "head"),
    ("TE chunked then gzip field", b"POST /" + H11 +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "TE_NOT_CHUNKED", "head"),
    ("TE chunked twice", b"POST /" + H11 + b"Transfer-Encoding: chunked, chunked\r\n\r\n",
     400, "TE_CHUNKED_TWICE", "head"),
    ("TE chunked in two fields", b"POST /" + H11 +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "TE_CHUNKED_TWICE", "head"),
    ("TE unknown coding (501)", b"POST /" + H11 + b"Transfer-Encoding: foo\r\n\r\n", 501, "TE_UNKNOWN", "head"),
    ("TE unknown then chunked (501)", b"POST /" + H11 + b"Transfer-Encoding: foo, chunked\r\n\r\n",
     501, "TE_UNKNOWN", "head"),
    ("TE identity (501)", b"POST /" + H11 + b"Transfer-Encoding: identity\r\n\r\n", 501, "TE_UNKNOWN", "head"),
    ("TE xchunked (501)", b"POST /" + H11 + b"Transfer-Encoding: xchunked\r\n\r\n", 501, "TE_UNKNOWN", "head"),
    ("TE empty", b"POST /" + H11 + b"Transfer-Encoding:\r\n\r\n", 400, "TE_INVALID", "head"),
    ("TE only commas", b"POST /" + H11 + b"Transfer-Encoding: , ,\r\n\r\n", 400, "TE_INVALID", "head"),
    ("TE with parameter", b"POST /" + H11 + b"Transfer-Encoding: chunked;q=1\r\n\r\n", 400, "TE_INVALID", "head"),
    ("TE with inner SP", b"POST /" + H11 + b"Transfer-Encoding: chun ked\r\n\r\n", 400, "TE_INVALID", "head"),
    ("HTTP/1.0 with TE", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     400, "TE_HTTP10", "head"),
    # ---- Connection, Expect ----
    ("Connection option with SP", b"GET /" + H11 + b"Connection: keep alive\r\n\r\n",
     400, "CONNECTION_INVALID", "head"),
    ("Connection option @", b"GET /" + H11 + b"Connection: close, @\r\n\r\n", 400, "CONNECTION_INVALID", "head"),
    ("Expect other than 100-continue (417)", b"POST /" + H11 + b"Expect: 200-ok\r\n\r\n",
     417, "EXPECTATION", "head"),
    # ---- chunked body framing: the head is valid and was forwarded ----
    ("chunk size not hex", CHK + b"X\r\n", 400, "CHUNK_SIZE", "body"),
    ("chunk size empty", CHK + b"\r\n", 400, "CHUNK_SIZE", "body"),
    ("chunk size negative", CHK + b"-1\r\n", 400, "CHUNK_SIZE", "body"),
    ("chunk size 0x5", CHK + b"0x5\r\nhello\r\n0\r\n\r\n", 400, "CHUNK_SIZE", "body"),
    ("chunk size leading SP", CHK + b" 5\r\nhello\r\n0\r\n\r\n", 400, "CHUNK_SIZE", "body"),
    ("chunk size overflow 17 hex digits", CHK + b"fffffffffffffffff\r\n", 400, "CHUNK_SIZE_OVERFLOW", "body"),
    ("chunk size 17 significant digits", CHK + b"10000000000000000\r\n", 400,
     "CHUNK_SIZE_OVERFLOW", "body"),
    ("chunk size 35 digits, leading zeros", CHK + b"0" * 34 + b"5\r\nhello\r\n0\r\n\r\n", 400,
     "CHUNK_SIZE_LONG", "body"),
    ("chunk ext with NUL", CHK + b"5;a\x00\r\nhello\r\n0\r\n\r\n", 400, "CHUNK_EXT", "body"),
    ("chunk size trailing SP", CHK + b"5 \r\nhello\r\n0\r\n\r\n", 400, "CHUNK_EXT", "body"),
    ("chunk ext empty", CHK + b"5;\r\nhello\r\n0\r\n\r\n", 400, "CHUNK_EXT", "body"),
    ("chunk ext open quote", CHK + b"5;a=\"x\r\nhello\r\n0\r\n\r\n", 400, "CHUNK_EXT", "body"),
    ("chunk line over 4 KiB", CHK + b"5;a=" + b"x" * CHUNK_LINE_MAX + b"\r\nhello\r\n0\r\n\r\n",
     400, "CHUNK_LINE_TOO_LONG", "body"),
    ("chunk size line bare LF", CHK + b"5\nhello\r\n0\r\n\r\n", 400, "BARE_LF", "body"),
    ("chunk size line bare CR", CHK + b"5\rhello\r\n0\r\n\r\n", 400, "BARE_CR", "body"),
    ("chunk data longer than size", CHK + b"5\r\nhelloX\r\n0\r\n\r\n", 400, "CHUNK_DATA_CRLF", "body"),
    ("chunk data then bare LF", CHK + b"5\r\nhello\n0\r\n\r\n", 400, "BARE_LF", "body"),
    ("trailer SP in name", CHK + b"0\r\nBad Name: x\r\n\r\n", 400, "WS_BEFORE_COLON", "body"),
    ("trailer obs-fold", CHK + b"0\r\nA: x\r\n y\r\n\r\n", 400, "OBS_FOLD", "body"),
    ("trailer NUL in value", CHK + b"0\r\nA: \x00\r\n\r\n", 400, "FIELD_VALUE", "body"),
    ("trailer Content-Length", CHK + b"0\r\nContent-Length: 5\r\n\r\n", 400, "TRAILER_FIELD", "body"),
    ("trailer Transfer-Encoding", CHK + b"0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "TRAILER_FIELD", "body"),
    ("trailer over 16 KiB (431)", CHK + b"0\r\nT: " + b"x" * TRAILER_MAX + b"\r\n\r\n",
     431, "TRAILER_TOO_LARGE", "body"),
]

# A valid GET goes on a new connection after every CONTROL_EVERY bad cases;
# it must get 200 from a replica.
CONTROL_EVERY = 8
