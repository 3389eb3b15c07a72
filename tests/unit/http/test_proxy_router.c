/* The ingress request router in virtual time (proxy_harness.h): a POST to
 * a group with router targets is pinned to the replica the router names,
 * its body byte-exact at the replica; every way the call can fail is
 * counted and falls through to normal balancing, or answers Ray's 503
 * with X-Serve-Reason; a refused router fails over to the next one and
 * one that keeps failing is skipped; a body over the buffer reaches the
 * router truncated (X-Body-Truncated) and the replica whole; a slow router
 * delays only the requests waiting on it; a GET is never routed. */
#include "proxy_harness.h"

#define HC_EXTRA                                                     \
	",\"health_check\":{\"inter_ms\":1000,\"fastinter_ms\":100," \
	"\"downinter_ms\":100,\"fall\":2,\"rise\":2,\"timeout_ms\":50}"
#define PIN_R1 "{\"replica_id\": \"r1\"}"

static struct ph_client *cur;

static bool cur_answered(void)
{
	return cur->n_answered == cur->n_exp;
}

/* Replicas r0, r1; routers: the rest (r2, and r3 with n 4). */
static void setup(unsigned int n, const char *extra,
		  const struct proxy_config *pc)
{
	ph_group_extra = extra;
	ph_router_mask = n == 4 ? 0xcu : 0x4u;
	ph_setup(n, pc);
	for (unsigned int i = 2; i < n; i++)
		ph_rep[i].router_answer = PIN_R1;
}

static void teardown(void)
{
	ph_teardown();
	ph_group_extra = "";
	ph_router_mask = 0;
	ph_router_failure = 0;
	ph_router_timeout_ms = 0;
}

/* One POST of body_len bytes on a fresh connection, answered; returns its
 * status. */
static int post(uint32_t id, uint32_t body_len)
{
	int st;

	cur = ph_connect();
	ph_request(cur,
		   &(struct ph_req){
			   .id = id, .resp_len = 10, .body_len = body_len },
		   0);
	WT_CHECK(ph_run_until(cur_answered, 10 * SEC, MS));
	st = cur->exp[0].status;
	ph_client_close(cur, false);
	ph_run(10 * MS);
	return st;
}

static bool route_body_ok(int r, uint32_t id, size_t want)
{
	const struct ph_buf *b = &ph_rep[r].route_body;

	if (b->len != want)
		return false;
	for (size_t i = 0; i < b->len; i++)
		if (b->p[i] != req_byte(id, i))
			return false;
	return true;
}

static void test_pinned(void)
{
	setup(3, "", NULL);
	for (uint32_t i = 1; i <= 6; i++)
		WT_CHECK_EQ(post(i, 100 + i), 200);
	WT_CHECK_EQ(ph_rep[1].requests, 6); /* all pinned to r1 */
	WT_CHECK_EQ(ph_rep[0].requests, 0);
	WT_CHECK_EQ(ph_rep[2].routes, 6);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 6);
	WT_CHECK_EQ(ph_answers_ok, 6); /* X-Id, body, X-Body checked */
	/* the router's call: HTTP/1.0, JSON, the body as sent */
	WT_CHECK(ph_rep[2].route_msg.http10);
	WT_CHECK(!strcmp(ph_rep[2].route_msg.method, "POST"));
	WT_CHECK(!strcmp(ph_rep[2].route_msg.ctype, "application/json"));
	WT_CHECK(ph_rep[2].route_msg.trunc[0] == '\0');
	WT_CHECK(route_body_ok(2, 6, 106));
	/* a GET is not routed */
	cur = ph_connect();
	ph_request(cur, &(struct ph_req){ .id = 20, .resp_len = 10 }, 0);
	ph_request(cur, &(struct ph_req){ .id = 21, .resp_len = 10 }, 0);
	WT_CHECK(ph_run_until(cur_answered, SEC, MS));
	WT_CHECK_EQ(ph_rep[2].routes, 6);
	WT_CHECK_EQ(ph_rep[0].requests + ph_rep[1].requests, 8);
	WT_CHECK_EQ(ph_rep[0].requests, 1); /* balanced as usual */
	teardown();
}

/* Each failure, on purpose: counted, and the request balanced as usual. */
static void test_fallthrough(void)
{
	setup(3, "", NULL);
	ph_rep[2].router_status = 500;
	WT_CHECK_EQ(post(1, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_status), 1);
	ph_rep[2].router_status = 0;
	ph_rep[2].router_answer = "not json {";
	WT_CHECK_EQ(post(2, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_json), 1);
	ph_rep[2].router_answer = "{\"replica\": \"r1\"}"; /* no replica_id */
	WT_CHECK_EQ(post(3, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_json), 2);
	ph_rep[2].router_answer = "{\"replica_id\": \"r9\"}";
	WT_CHECK_EQ(post(4, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_unknown), 1);
	WT_CHECK_EQ(ph_rep[2].routes, 4);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 0);
	WT_CHECK_EQ(ph_answers_ok, 4);
	WT_CHECK_EQ(ph_rep[0].requests + ph_rep[1].requests, 4);
	WT_CHECK(ph_rep[0].requests > 0); /* not pinned: balanced */
	/* no router listening: refused, no other router target */
	tcp_unlisten(ph_node[N_R2].stk, 0, PH_RPORT);
	WT_CHECK_EQ(post(5, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_connect), 1);
	WT_CHECK_EQ(ph_answers_ok, 5);
	teardown();
}

/* The access log says how each call went: the replica named, the outcome,
 * the call's time and whether the body was cut. */
static void test_in_access_log(void)
{
	const uint32_t n = 8;
	struct weir_ctl_log *ring =
		calloc(1, sizeof(*ring) + n * sizeof(ring->rec[0]));

	setup(3, "", NULL);
	proxy_set_log(&ph_px, ring, n, 0, 0);
	ph_rep[2].router_delay_ms = 20;
	WT_CHECK_EQ(post(1, 100), 200);
	ph_rep[2].router_answer = "{\"replica_id\": \"r9\"}";
	WT_CHECK_EQ(post(2, 100), 200);
	WT_CHECK_EQ(atomic_load(&ring->head), 2);
	WT_CHECK_EQ(ring->rec[0].router, WEIR_LOG_RT_OK);
	WT_CHECK(!strcmp(ring->rec[0].router_replica, "r1"));
	WT_CHECK(!strcmp(ring->rec[0].server, "r1")); /* pinned there */
	WT_CHECK(ring->rec[0].router_us >= 20000 &&
		 ring->rec[0].router_us < 1000000);
	WT_CHECK(!ring->rec[0].router_truncated);
	WT_CHECK_EQ(ring->rec[1].router, WEIR_LOG_RT_UNKNOWN);
	WT_CHECK(!strcmp(ring->rec[1].router_replica, "r9"));
	WT_CHECK_EQ(ring->rec[1].status, 200); /* balanced as usual */
	proxy_set_log(&ph_px, NULL, 0, 0, 0);
	teardown();
	free(ring);
}

/* maxconn 1 on the replica the router names: a second pinned request
 * waits for it in the queue (never spilling to another replica, never a
 * second one at r1 at once). */
static void test_pinned_respects_maxconn(void)
{
	struct ph_client *a, *b;

	setup(3, ",\"limits\":{\"maxconn_per_server\":1}", NULL);
	a = ph_connect();
	ph_request(a,
		   &(struct ph_req){ .id = 1,
				     .resp_len = 10,
				     .body_len = 50,
				     .delay_ms = 100 },
		   0);
	ph_run(20 * MS);
	b = ph_connect();
	cur = b;
	ph_request(b,
		   &(struct ph_req){ .id = 2,
				     .resp_len = 10,
				     .body_len = 50,
				     .delay_ms = 100 },
		   0);
	WT_CHECK(ph_run_until(cur_answered, 2 * SEC, MS));
	cur = a;
	WT_CHECK(ph_run_until(cur_answered, 2 * SEC, MS));
	WT_CHECK_EQ(a->exp[0].status, 200);
	WT_CHECK_EQ(b->exp[0].status, 200);
	WT_CHECK_EQ(ph_rep[1].requests, 2);
	WT_CHECK_EQ(ph_rep[0].requests, 0);
	WT_CHECK_EQ(ph_rep[1].busy_max, 1);
	WT_CHECK_EQ(ph_ctr(PX_CTR_queued), 1);
	teardown();
}

static void test_timeout(void)
{
	uint64_t t0;

	ph_router_timeout_ms = 200;
	setup(3, "", NULL);
	ph_rep[2].router_delay_ms = 1000;
	t0 = vnow;
	WT_CHECK_EQ(post(1, 50), 200);
	WT_CHECK(vnow - t0 >= 200 * MS && vnow - t0 < 400 * MS);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_timeout), 1);
	WT_CHECK_EQ(ph_answers_ok, 1);
	teardown();
}

/* The router names a replica health checks took out. */
static void test_down_replica(void)
{
	setup(3, HC_EXTRA, NULL);
	ph_run(300 * MS);
	ph_rep[1].hz_status = 503;
	ph_run(1500 * MS);
	WT_CHECK_EQ(post(1, 50), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_down), 1);
	WT_CHECK_EQ(ph_rep[0].requests, 1);
	WT_CHECK_EQ(ph_rep[1].requests, 0);
	teardown();
}

/* 503 mode: Ray's bytes, the reason in X-Serve-Reason, no replica asked. */
static void test_503_mode(void)
{
	static const char want[] =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Content-Type: text/plain\r\nContent-Length: 49\r\n"
		"X-Serve-Reason: unknown replica_id\r\nConnection: close\r\n"
		"\r\nIngress request router failed: unknown replica_id";

	ph_router_failure = WEIR_ROUTER_FAIL_503;
	setup(3, "", NULL);
	ph_rep[2].router_answer = "{\"replica_id\": \"nobody\"}";
	WT_CHECK_EQ(post(1, 5000), 503);
	WT_CHECK(cur->last_len == sizeof(want) - 1 &&
		 !memcmp(cur->last, want, cur->last_len));
	if (memcmp(cur->last, want, cur->last_len))
		printf("# got %.*s\n", (int)cur->last_len, cur->last);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_unknown), 1);
	ph_rep[2].router_delay_ms = 6000; /* over the default 5 s */
	WT_CHECK_EQ(post(2, 10), 503);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_fail_timeout), 1);
	WT_CHECK_EQ(ph_rep[0].requests + ph_rep[1].requests, 0);
	teardown();
}

/* Two routers, the first refusing: the second answers every call, and the
 * first is skipped once its failures took it down (fall 2). */
static void test_failover(void)
{
	setup(4, "", NULL);
	tcp_unlisten(ph_node[N_R2].stk, 0, PH_RPORT);
	for (uint32_t i = 1; i <= 5; i++)
		WT_CHECK_EQ(post(i, 200), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 5);
	WT_CHECK_EQ(ph_rep[3].routes, 5);
	WT_CHECK_EQ(ph_rep[1].requests, 5);
	WT_CHECK(ph_ctr(PX_CTR_router_failover) >= 1);
	WT_CHECK(ph_ctr(PX_CTR_router_failover) <= 2);
	printf("# %llu failovers for 5 calls\n",
	       (unsigned long long)ph_ctr(PX_CTR_router_failover));
	teardown();
}

/* The pinned replica closed its pooled connection as the request picked
 * it: the request is retried on a new connection to the same replica. */
static void test_pinned_stale(void)
{
	setup(3, "", NULL);
	ph_rep[1].idle_close_ns = 1000 * MS;
	WT_CHECK_EQ(post(1, 100), 200);
	ph_hold[N_R1][N_PROXY] = true; /* its FIN waits */
	ph_run(1100 * MS);
	WT_CHECK(ph_rep[1].conns == NULL);
	cur = ph_connect();
	ph_request(cur,
		   &(struct ph_req){ .id = 2, .resp_len = 10, .body_len = 100 },
		   0);
	ph_run(5 * MS); /* routed, sent on the pooled connection */
	WT_CHECK_EQ(ph_ctr(PX_CTR_pool_reuse), 1);
	ph_hold[N_R1][N_PROXY] = false;
	WT_CHECK(ph_run_until(cur_answered, 2 * SEC, MS));
	WT_CHECK_EQ(ph_ctr(PX_CTR_pool_retry_stale), 1);
	WT_CHECK_EQ(ph_rep[1].requests, 2);
	WT_CHECK_EQ(ph_rep[0].requests, 0);
	WT_CHECK_EQ(ph_answers_ok, 2);
	teardown();
}

/* Two routers, the first blackholed (its SYNs lost): each call gives up
 * connecting after 1 s and fails over, and the router is skipped once its
 * failures took it down (fall 2). */
static void test_blackholed(void)
{
	uint64_t t0 = vnow;

	setup(4, "", NULL);
	ph_blackhole_syn[N_R2] = true;
	WT_CHECK_EQ(post(1, 200), 200);
	WT_CHECK(vnow - t0 >= 1000 * MS && vnow - t0 < 1500 * MS);
	for (uint32_t i = 2; i <= 4; i++)
		WT_CHECK_EQ(post(i, 200), 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 4);
	WT_CHECK_EQ(ph_rep[3].routes, 4);
	WT_CHECK_EQ(ph_rep[1].requests, 4);
	WT_CHECK(ph_ctr(PX_CTR_router_failover) >= 1 &&
		 ph_ctr(PX_CTR_router_failover) <= 2);
	printf("# %llu failovers, %llu ms for 4 calls\n",
	       (unsigned long long)ph_ctr(PX_CTR_router_failover),
	       (unsigned long long)((vnow - t0) / MS));
	ph_blackhole_syn[N_R2] = false;
	teardown();
}

/* Over the buffer: the router gets its first router_buffer bytes and
 * X-Body-Truncated, the replica the whole body. */
static void test_truncated(void)
{
	struct proxy_config pc = ph_config();

	pc.router_buffer = 4096;
	setup(3, "", &pc);
	WT_CHECK_EQ(post(1, 20000), 200);
	WT_CHECK(!strcmp(ph_rep[2].route_msg.trunc, "4096/20000"));
	WT_CHECK_EQ(ph_rep[2].route_msg.clen, 4096);
	WT_CHECK(route_body_ok(2, 1, 4096));
	WT_CHECK_EQ(ph_rep[1].requests, 1);
	WT_CHECK_EQ(ph_answers_ok, 1);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_truncated), 1);
	teardown();
	/* the default buffer, 256 KiB, more than a send queue holds */
	setup(3, "", NULL);
	WT_CHECK_EQ(post(2, 300000), 200);
	WT_CHECK(!strcmp(ph_rep[2].route_msg.trunc, "262144/300000"));
	WT_CHECK(route_body_ok(2, 2, 262144));
	WT_CHECK_EQ(post(3, 262144), 200); /* exactly the buffer: whole */
	WT_CHECK(ph_rep[2].route_msg.trunc[0] == '\0');
	WT_CHECK(route_body_ok(2, 3, 262144));
	WT_CHECK_EQ(ph_rep[1].requests, 2);
	WT_CHECK_EQ(ph_answers_ok, 2);
	teardown();
}

/* A router slower than another request's whole exchange delays only the
 * requests waiting on it. */
static void test_slow_router(void)
{
	struct ph_client *a, *b;
	uint64_t t0;

	setup(3, "", NULL);
	ph_rep[2].router_delay_ms = 2000;
	t0 = vnow;
	a = ph_connect();
	ph_request(a,
		   &(struct ph_req){ .id = 1, .resp_len = 10, .body_len = 30 },
		   0);
	ph_run(50 * MS);
	b = ph_connect();
	ph_request(b, &(struct ph_req){ .id = 2, .resp_len = 10 }, 0);
	cur = b;
	WT_CHECK(ph_run_until(cur_answered, SEC, MS));
	WT_CHECK(vnow - t0 < 200 * MS);
	WT_CHECK_EQ(a->n_answered, 0);
	cur = a;
	WT_CHECK(ph_run_until(cur_answered, 3 * SEC, MS));
	WT_CHECK(vnow - t0 >= 2000 * MS);
	WT_CHECK_EQ(a->exp[0].status, 200);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 1);
	WT_CHECK_EQ(ph_answers_ok, 2);
	teardown();
}

/* Pipelined on one connection: two POSTs (one with an empty body), a GET
 * and a POST again, answered in order, the POSTs pinned. */
static void test_pipelined(void)
{
	static const char empty[] = "POST /app/r?id=2&len=7 HTTP/1.1\r\n"
				    "Host: t\r\nX-Id: 2\r\n"
				    "Content-Length: 0\r\n\r\n";

	setup(3, "", NULL);
	cur = ph_connect();
	ph_request(
		cur,
		&(struct ph_req){ .id = 1, .resp_len = 10, .body_len = 3000 },
		0);
	cur->exp[cur->n_exp++] = (struct ph_expect){ .id = 2, .resp_len = 7 };
	ph_write(cur, empty, sizeof(empty) - 1);
	ph_request(cur, &(struct ph_req){ .id = 3, .resp_len = 10 }, 0);
	ph_request(cur,
		   &(struct ph_req){ .id = 4, .resp_len = 10, .body_len = 10 },
		   0);
	WT_CHECK(ph_run_until(cur_answered, 2 * SEC, MS));
	WT_CHECK_EQ(ph_answers_ok, 4);
	WT_CHECK(cur->exp[0].seq < cur->exp[1].seq &&
		 cur->exp[1].seq < cur->exp[2].seq &&
		 cur->exp[2].seq < cur->exp[3].seq);
	WT_CHECK_EQ(ph_rep[2].routes, 3);
	WT_CHECK_EQ(ph_ctr(PX_CTR_router_ok), 3);
	WT_CHECK_EQ(ph_rep[1].requests + ph_rep[0].requests, 4);
	WT_CHECK(ph_rep[1].requests >= 3);
	WT_CHECK(route_body_ok(2, 4, 10));
	teardown();
}

/* Expect: 100-continue: the body is not waited for (the client would wait
 * for the 100 first), the router gets none, the replica all of it. */
static void test_expect_continue(void)
{
	struct ph_buf b = { 0 };

	setup(3, "", NULL);
	buf_printf(&b, "POST /app/r?id=9&len=5 HTTP/1.1\r\nHost: t\r\n"
		       "X-Id: 9\r\nExpect: 100-continue\r\n"
		       "Content-Length: 40\r\n\r\n");
	for (size_t i = 0; i < 40; i++) {
		char ch = req_byte(9, i);

		buf_put(&b, &ch, 1);
	}
	cur = ph_connect();
	cur->exp[cur->n_exp++] =
		(struct ph_expect){ .id = 9, .resp_len = 5, .body_len = 40 };
	ph_write(cur, b.p, b.len);
	buf_free(&b);
	WT_CHECK(ph_run_until(cur_answered, SEC, MS));
	WT_CHECK_EQ(ph_answers_ok, 1);
	WT_CHECK_EQ(ph_rep[1].requests, 1);
	WT_CHECK(!strcmp(ph_rep[2].route_msg.trunc, "0/40"));
	WT_CHECK_EQ(ph_rep[2].route_body.len, 0);
	teardown();
}

/* A client that leaves while its request waits on the router. */
static void test_client_leaves(void)
{
	setup(3, "", NULL);
	ph_rep[2].router_delay_ms = 500;
	cur = ph_connect();
	ph_request(cur,
		   &(struct ph_req){ .id = 1, .resp_len = 10, .body_len = 30 },
		   0);
	ph_run(100 * MS);
	WT_CHECK_EQ(ph_rep[2].routes, 1);
	ph_client_close(cur, true);
	ph_run(SEC);
	WT_CHECK_EQ(ph_rep[0].requests + ph_rep[1].requests, 0);
	teardown();
}

int main(void)
{
	WT_RUN(test_pinned);
	WT_RUN(test_fallthrough);
	WT_RUN(test_in_access_log);
	WT_RUN(test_pinned_respects_maxconn);
	WT_RUN(test_timeout);
	WT_RUN(test_down_replica);
	WT_RUN(test_503_mode);
	WT_RUN(test_failover);
	WT_RUN(test_blackholed);
	WT_RUN(test_pinned_stale);
	WT_RUN(test_truncated);
	WT_RUN(test_slow_router);
	WT_RUN(test_pipelined);
	WT_RUN(test_expect_continue);
	WT_RUN(test_client_leaves);
	return wt_done();
}
