/* The heads the proxy sends on: the client's request toward a replica and
 * the replica's response toward the client, rebuilt from the parsed head
 * (http_parser.h) with the hop-by-hop fields removed (RFC 9110 7.6.1: the
 * Connection field, every field it names, Keep-Alive, Proxy-Connection,
 * TE) and Weir's own added: X-Forwarded-For, X-Forwarded-Proto, and
 * X-Request-Id when absent. Transfer-Encoding stays: the body is forwarded
 * with its chunked framing intact. A request's Content-Length goes once,
 * as the parsed number ("5, 5" becomes "5"), and an absolute-form target
 * goes in origin-form with its authority as Host (RFC 9112 §3.2.2). Pure
 * functions into a caller buffer. */
#ifndef WEIR_HTTP_REWRITE_H
#define WEIR_HTTP_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parser.h"

struct http_rw_request {
	uint32_t client_ip; /* network order, for X-Forwarded-For */
	const char *request_id; /* used when the request has none */
	bool upgrade; /* keep Upgrade, send Connection: Upgrade */
};

/* Writes the request head to send to a replica: the request line with the
 * client's version, the client's fields minus hop-by-hop ones, and ours.
 * An HTTP/1.0 client that asked for keep-alive keeps asking. Returns the
 * length, or 0 if it does not fit in cap. */
size_t http_rw_request(char *out, size_t cap, const struct http_head *req,
		       const struct http_rw_request *opt);

/* Writes the response head for the client: "HTTP/1.1 <status> <reason>",
 * the replica's fields minus hop-by-hop ones, and the connection fields
 * the client needs: "Connection: close" when close, "Connection:
 * keep-alive" for an HTTP/1.0 client kept open, "Connection: Upgrade" for
 * a 101. Returns the length, or 0 if it does not fit. */
size_t http_rw_response(char *out, size_t cap, const struct http_head *resp,
			uint8_t client_minor, bool close);

/* True when the field name (len bytes) is hop-by-hop in req/resp, i.e.
 * one of the fixed names or a token of its Connection field. */
bool http_rw_is_hop_by_hop(const struct http_head *h, const char *name,
			   size_t len);

#endif
