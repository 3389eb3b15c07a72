/* The access log's dataplane half in virtual time (proxy_harness.h): one
 * record per request in the worker's ring with what the client and the
 * replica saw (status, bytes both ways, route, replica, retries, flags),
 * local answers and refused requests included; nothing while the log is
 * off; a full ring drops and counts and never holds a request up. */
#include "proxy_harness.h"

static struct weir_ctl_log *ring;
static uint32_t ring_n;
static struct ph_client *cur;

static bool cur_answered(void)
{
	return cur->n_answered == cur->n_exp;
}

static void log_on(uint32_t n)
{
	free(ring);
	ring = calloc(1, sizeof(*ring) + n * sizeof(ring->rec[0]));
	ring_n = n;
	proxy_set_log(&ph_px, ring, n, 3, 1000);
}

static uint64_t log_len(void)
{
	return atomic_load(&ring->head) - atomic_load(&ring->tail);
}

static const struct weir_ctl_log_rec *rec(uint64_t i)
{
	return &ring->rec[(atomic_load(&ring->tail) + i) & (ring_n - 1)];
}

/* A request the proxy answers itself; returns its length. */
static size_t local(struct ph_client *cl, const char *req)
{
	cl->exp[cl->n_exp++] = (struct ph_expect){ .kind = K_LOCAL };
	ph_write(cl, req, strlen(req));
	return strlen(req);
}

static bool wait_answers(struct ph_client *cl)
{
	cur = cl;
	return ph_run_until(cur_answered, 5 * SEC, MS);
}

static void test_records(void)
{
	struct ph_client *a, *b;
	uint64_t rx0;
	uint16_t port;
	size_t len;

	ph_setup(1, NULL);
	log_on(64);
	a = ph_connect();
	len = ph_request(a,
			 &(struct ph_req){ .id = 7,
					   .resp_len = 3000,
					   .body_len = 1000,
					   .delay_ms = 20 },
			 0);
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(log_len(), 1);
	const struct weir_ctl_log_rec *r = rec(0);
	WT_CHECK_EQ(r->status, 200);
	WT_CHECK(!strcmp(r->method, "POST"));
	WT_CHECK(!strcmp(r->path, "/app/r")); /* the query stays out */
	WT_CHECK(!strcmp(r->backend, "http-app"));
	WT_CHECK(!strcmp(r->server, "r0"));
	WT_CHECK_EQ(r->tries, 1);
	WT_CHECK_EQ(r->flags, 0);
	WT_CHECK_EQ(r->worker, 3);
	WT_CHECK_EQ(r->bytes_in, len);
	WT_CHECK_EQ(r->bytes_out, a->rx_total);
	WT_CHECK(r->backend_us >= 20000 && r->backend_us < 100000);
	WT_CHECK(r->total_us >= r->backend_us);
	WT_CHECK_EQ(r->client_ip, rte_cpu_to_be_32(PH_IP(N_CLIENT)));
	WT_CHECK_EQ(r->client_port, tcp_conn_key(a->c)->local_port);
	WT_CHECK(r->end_ns > 1000);

	rx0 = a->rx_total;
	len = local(a, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(log_len(), 2);
	r = rec(1);
	WT_CHECK_EQ(r->status, 404);
	WT_CHECK(!strcmp(r->path, "/nope"));
	WT_CHECK_EQ(r->flags, WEIR_LOG_F_LOCAL);
	WT_CHECK_EQ(r->backend_us, UINT32_MAX);
	WT_CHECK_EQ(r->tries, 0);
	WT_CHECK(!strcmp(r->server, ""));
	WT_CHECK_EQ(r->bytes_in, len);
	WT_CHECK_EQ(r->bytes_out, a->rx_total - rx0);

	local(a, "GET /-/healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(log_len(), 3);
	WT_CHECK_EQ(rec(2)->status, 200);
	WT_CHECK_EQ(rec(2)->flags, WEIR_LOG_F_LOCAL);

	b = ph_connect(); /* refused before routing: a record all the same */
	port = tcp_conn_key(b->c)->local_port;
	ph_request(b, &(struct ph_req){ .id = 8, .kind = K_BAD }, 0);
	WT_CHECK(wait_answers(b));
	WT_CHECK_EQ(log_len(), 4);
	r = rec(3);
	WT_CHECK_EQ(r->status, 400);
	WT_CHECK_EQ(r->flags, WEIR_LOG_F_BADREQ | WEIR_LOG_F_LOCAL);
	WT_CHECK(r->bytes_in > 0);
	WT_CHECK_EQ(r->client_port, port);
	ph_teardown();
	WT_CHECK_EQ(log_len(), 4); /* closing idle connections logs nothing */
}

/* A replica that resets mid-response: the record says the exchange broke
 * off, with the status and the bytes the client got. */
static void test_aborted(void)
{
	struct ph_client *a;

	ph_setup(1, NULL);
	log_on(16);
	a = ph_connect();
	ph_request(a,
		   &(struct ph_req){ .id = 9,
				     .resp_len = 200000,
				     .rst = 5000,
				     .kind = K_RST },
		   0);
	ph_run(500 * MS);
	WT_CHECK_EQ(log_len(), 1);
	WT_CHECK_EQ(rec(0)->status, 200);
	WT_CHECK_EQ(rec(0)->flags, WEIR_LOG_F_ABORTED);
	WT_CHECK_EQ(rec(0)->bytes_out, a->rx_total);
	WT_CHECK(rec(0)->bytes_out < 200000);
	ph_teardown();
}

/* Off: no record. A full ring: the records that do not fit are counted
 * and every request is still answered at once; room again, logged again. */
static void test_off_and_full(void)
{
	struct ph_client *a;
	uint64_t b10;

	ph_setup(1, NULL);
	log_on(4);
	proxy_set_log(&ph_px, NULL, 0, 0, 0);
	a = ph_connect();
	ph_request(a, &(struct ph_req){ .id = 1, .resp_len = 10 }, 0);
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(atomic_load(&ring->head), 0);
	proxy_set_log(&ph_px, ring, 4, 0, 0);
	for (uint32_t i = 0; i < 10; i++)
		ph_request(a,
			   &(struct ph_req){ .id = 10 + i, .resp_len = 10 + i },
			   0);
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(ph_answers_ok, 11);
	WT_CHECK_EQ(atomic_load(&ring->head), 4);
	WT_CHECK_EQ(atomic_load(&ring->drops), 6);
	WT_CHECK_EQ(rec(3)->bytes_out - rec(0)->bytes_out, 3); /* the first 4 */
	b10 = rec(0)->bytes_out;
	atomic_store(&ring->tail, 4); /* weir-cp drained it */
	ph_request(a, &(struct ph_req){ .id = 30, .resp_len = 100 }, 0);
	WT_CHECK(wait_answers(a));
	WT_CHECK_EQ(atomic_load(&ring->head), 5);
	WT_CHECK(rec(0)->bytes_out >= b10 + 90); /* the new one, in slot 0 */
	ph_teardown();
}

int main(void)
{
	WT_RUN(test_records);
	WT_RUN(test_aborted);
	WT_RUN(test_off_and_full);
	free(ring);
	return wt_done();
}
