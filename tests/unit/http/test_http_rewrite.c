/* Head rewriting: hop-by-hop fields go, ours come, the rest is kept in
 * order, byte for byte. */
#include <arpa/inet.h>

#include "http/http_rewrite.h"
#include "wtest.h"

static char hbuf[16384], out[16384];
static struct http_head h;

static void parse_req(const char *raw)
{
	size_t used;

	http_request_init(&h, hbuf, sizeof(hbuf), NULL);
	WT_CHECK_EQ(http_head_feed(&h, raw, strlen(raw), &used), HTTP_COMPLETE);
}

static void parse_resp(const char *raw, enum http_method m)
{
	size_t used;

	http_response_init(&h, hbuf, sizeof(hbuf), NULL, m);
	WT_CHECK_EQ(http_head_feed(&h, raw, strlen(raw), &used), HTTP_COMPLETE);
}

#define CHECK_OUT(n, want)                                                  \
	do {                                                                \
		WT_CHECK_EQ((n), strlen(want));                             \
		WT_CHECK(memcmp(out, want, strlen(want)) == 0);             \
		if ((n) != strlen(want) || memcmp(out, want, strlen(want))) \
			printf("#   got: %.*s\n", (int)(n), out);           \
	} while (0)

static void test_request(void)
{
	struct http_rw_request o = { .client_ip = inet_addr("10.77.0.2"),
				     .request_id = "abc123" };
	size_t n;

	parse_req(
		"POST /app/x?q=1 HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\n"
		"X-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nX-Forwarded-Proto: https\r\n"
		"Content-Length: 3\r\nUpgrade: h2c\r\nUser-Agent: t\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(
		n,
		"POST /app/x?q=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nUpgrade: h2c\r\n"
		"User-Agent: t\r\nX-Forwarded-For: 10.77.0.2\r\nX-Forwarded-Proto: http\r\n"
		"X-Request-Id: abc123\r\n\r\n");
	/* Upgrade is hop-by-hop only when Connection names it. */
	parse_req(
		"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
		"X-Request-Id: keep-me\r\n\r\n");
	o.upgrade = true;
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(
		n,
		"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nX-Request-Id: keep-me\r\n"
		"X-Forwarded-For: 10.77.0.2\r\nX-Forwarded-Proto: http\r\nConnection: Upgrade\r\n\r\n");
	o.upgrade = false;
	/* An HTTP/1.0 keep-alive client keeps asking for it. */
	parse_req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(
		n,
		"GET / HTTP/1.0\r\nX-Forwarded-For: 10.77.0.2\r\nX-Forwarded-Proto: http\r\n"
		"X-Request-Id: abc123\r\nConnection: keep-alive\r\n\r\n");
	WT_CHECK_EQ(http_rw_request(out, 40, &h, &o), 0); /* does not fit */
}

static void test_response(void)
{
	size_t n;

	parse_resp(
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
		"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Replica-Id: r1\r\n\r\n",
		HTTP_METHOD_GET);
	n = http_rw_response(out, sizeof(out), &h, 1, false);
	CHECK_OUT(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
		"X-Replica-Id: r1\r\n\r\n");
	n = http_rw_response(out, sizeof(out), &h, 1, true);
	CHECK_OUT(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
		"X-Replica-Id: r1\r\nConnection: close\r\n\r\n");
	n = http_rw_response(out, sizeof(out), &h, 0, false);
	CHECK_OUT(
		n,
		"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
		"X-Replica-Id: r1\r\nConnection: keep-alive\r\n\r\n");
	parse_resp(
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Accept: x\r\n\r\n",
		HTTP_METHOD_GET);
	n = http_rw_response(out, sizeof(out), &h, 1, false);
	CHECK_OUT(
		n,
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\n"
		"Connection: Upgrade\r\n\r\n");
}

/* Content-Length goes once, as the framed number; absolute-form goes in
 * origin-form with its authority as Host (RFC 9112 §3.2.2, §6.3). */
static void test_normalise(void)
{
	struct http_rw_request o = { .client_ip = inet_addr("10.77.0.2"),
				     .request_id = "id" };
	size_t n;

	parse_req("POST /a HTTP/1.1\r\nHost: h\r\ncontent-length: 5, 5\r\n"
		  "X: 1\r\nContent-Length: 005\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(n, "POST /a HTTP/1.1\r\nHost: h\r\ncontent-length: 5\r\n"
		     "X: 1\r\nX-Forwarded-For: 10.77.0.2\r\n"
		     "X-Forwarded-Proto: http\r\nX-Request-Id: id\r\n\r\n");
	parse_req("GET http://auth.example:8000/p/q?x=1 HTTP/1.1\r\n"
		  "X: 1\r\nHost: ignored\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(n, "GET /p/q?x=1 HTTP/1.1\r\nX: 1\r\n"
		     "Host: auth.example:8000\r\nX-Forwarded-For: 10.77.0.2\r\n"
		     "X-Forwarded-Proto: http\r\nX-Request-Id: id\r\n\r\n");
	parse_req("GET https://a?q HTTP/1.1\r\nHost:\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(n, "GET /?q HTTP/1.1\r\nHost: a\r\n"
		     "X-Forwarded-For: 10.77.0.2\r\n"
		     "X-Forwarded-Proto: http\r\nX-Request-Id: id\r\n\r\n");
	parse_req("GET http://b:1 HTTP/1.0\r\n\r\n");
	n = http_rw_request(out, sizeof(out), &h, &o);
	CHECK_OUT(n, "GET / HTTP/1.0\r\nHost: b:1\r\n"
		     "X-Forwarded-For: 10.77.0.2\r\n"
		     "X-Forwarded-Proto: http\r\nX-Request-Id: id\r\n\r\n");
}

int main(void)
{
	WT_RUN(test_request);
	WT_RUN(test_normalise);
	WT_RUN(test_response);
	return wt_done();
}
