/* Throughput of the request-head parser on a few typical heads, fed whole
 * and in 64-byte segments. Not a pass/fail test: `meson test --benchmark`
 * prints ns per head so a change that slows the parser shows. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http/http_parser.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Returns 0, or 1 if the head did not parse. */
static int bench(const char *name, const char *req, size_t seg)
{
	static char buf[HTTP_HEAD_BUF_DEFAULT];
	const long rounds = 200000;
	size_t len = strlen(req);
	struct http_head h;
	double t0 = now_ns(), dt;
	long r;

	for (r = 0; r < rounds; r++) {
		enum http_result res = HTTP_NEED_MORE;
		size_t off = 0, c;

		http_request_init(&h, buf, sizeof(buf), NULL);
		while (off < len && res == HTTP_NEED_MORE) {
			size_t n = len - off < seg ? len - off : seg;

			res = http_head_feed(&h, req + off, n, &c);
			off += c;
		}
		if (res != HTTP_COMPLETE)
			return 1;
	}
	dt = (now_ns() - t0) / (double)rounds;
	printf("%-24s %5zu bytes, segments of %5zu: %7.0f ns/head, "
	       "%6.0f MB/s\n",
	       name, len, seg, dt, (double)len / dt * 1e3);
	return 0;
}

int main(void)
{
	static const char browser[] =
		"GET /api/v1/models/llama/generate?stream=true HTTP/1.1\r\n"
		"Host: serve.example.com:8000\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"
		" (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,"
		"*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
		"Accept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n"
		"Cookie: session=abcdef0123456789abcdef0123456789; theme=dark\r\n"
		"Content-Length: 0\r\nX-Session-Id: 42\r\n\r\n";
	static const char small[] =
		"POST /app1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json"
		"\r\nContent-Length: 17\r\n\r\n";
	int bad = 0;

	bad |= bench("small POST", small, 1 << 20);
	bad |= bench("browser GET", browser, 1 << 20);
	bad |= bench("browser GET", browser, 64);
	bad |= bench("browser GET", browser, 1);
	return bad;
}
