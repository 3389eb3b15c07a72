/* Limits and queues in virtual time (proxy_harness.h): a replica at its
 * maxconn is never sent more, the rest wait in order and get a 503 when
 * their timeout queue passes; the node's maxconn and connection rate
 * refuse new connections; a client over its request rate (the node's,
 * or its group's) gets 429 with Retry-After, and is served again the next
 * second. */
#include "proxy_harness.h"

static struct ph_client *cur;

static bool all_answered(void)
{
	for (int i = 0; i < PH_CLIENTS; i++)
		if (ph_cli[i].used && !ph_cli[i].gone &&
		    ph_cli[i].n_answered < ph_cli[i].n_exp)
			return false;
	return true;
}

static bool cur_gone(void)
{
	return cur->gone;
}

static void teardown(void)
{
	ph_teardown();
	ph_group_extra = "";
}

/* maxconn 1: five clients at once, each a 40 ms request: one at a time at
 * the replica, answered in the order they came. */
static void test_queue_in_order(void)
{
	struct ph_client *c[5];

	ph_group_extra = ",\"limits\":{\"maxconn_per_server\":1}";
	ph_setup(1, NULL);
	for (int i = 0; i < 5; i++) {
		c[i] = ph_connect();
		ph_request(c[i],
			   &(struct ph_req){ .id = 10 + (uint32_t)i,
					     .resp_len = 10,
					     .delay_ms = 40 },
			   0);
		ph_run(2 * MS); /* they arrive in this order */
	}
	WT_CHECK(ph_px.q_len >= 3);
	WT_CHECK(ph_run_until(all_answered, 2 * SEC, MS));
	WT_CHECK_EQ(ph_rep[0].busy_max, 1);
	WT_CHECK_EQ(ph_answers_ok, 5);
	for (int i = 1; i < 5; i++)
		WT_CHECK(c[i]->exp[0].seq > c[i - 1]->exp[0].seq);
	WT_CHECK_EQ(ph_ctr(PX_CTR_queued), 4);
	WT_CHECK_EQ(ph_px.q_len, 0);
	teardown();
}

/* timeout queue 100 ms behind a 500 ms request: 503, counted; the queue
 * empties and the first request still completes. */
static void test_queue_timeout(void)
{
	struct ph_client *a, *b;

	ph_group_extra = ",\"limits\":{\"maxconn_per_server\":1,"
			 "\"timeout_queue_ms\":100}";
	ph_setup(1, NULL);
	a = ph_connect();
	ph_request(a,
		   &(struct ph_req){ .id = 1, .resp_len = 10, .delay_ms = 500 },
		   0);
	ph_run(5 * MS);
	b = ph_connect();
	cur = b;
	ph_request(b, &(struct ph_req){ .id = 2, .resp_len = 10 }, 0);
	ph_run(90 * MS);
	WT_CHECK_EQ(b->n_answered, 0); /* still waiting */
	ph_run(30 * MS);
	WT_CHECK_EQ(b->exp[0].status, 503);
	WT_CHECK_EQ(ph_ctr(PX_CTR_queue_timeouts), 1);
	WT_CHECK_EQ(ph_px.q_len, 0);
	WT_CHECK(ph_run_until(all_answered, 2 * SEC, MS));
	WT_CHECK_EQ(a->exp[0].status, 200);
	WT_CHECK_EQ(ph_rep[0].requests, 1); /* the 503 never reached it */
	teardown();
}

/* A queued client that goes away leaves the queue (nothing leaks). */
static void test_queued_client_leaves(void)
{
	struct ph_client *a, *b;

	ph_group_extra = ",\"limits\":{\"maxconn_per_server\":1}";
	ph_setup(1, NULL);
	a = ph_connect();
	ph_request(a,
		   &(struct ph_req){ .id = 1, .resp_len = 10, .delay_ms = 200 },
		   0);
	ph_run(5 * MS);
	b = ph_connect();
	ph_request(b, &(struct ph_req){ .id = 2, .resp_len = 10 }, 0);
	ph_run(20 * MS);
	WT_CHECK_EQ(ph_px.q_len, 1);
	ph_client_close(b, true);
	ph_run(20 * MS);
	WT_CHECK_EQ(ph_px.q_len, 0);
	WT_CHECK(ph_run_until(all_answered, 2 * SEC, MS));
	WT_CHECK_EQ(ph_rep[0].requests, 1);
	teardown();
}

/* The node's maxconn 2: a third connection is refused; one closes, the
 * next is taken. */
static void test_node_maxconn(void)
{
	struct ph_client *a, *b, *c;

	ph_setup(1, NULL);
	ph_table->maxconn = 2;
	a = ph_connect();
	b = ph_connect();
	ph_run(10 * MS);
	c = ph_connect();
	cur = c;
	WT_CHECK(ph_run_until(cur_gone, SEC, MS));
	WT_CHECK(c->reset);
	WT_CHECK_EQ(ph_ctr(PX_CTR_refused_maxconn), 1);
	ph_client_close(a, false);
	ph_run(100 * MS);
	c = ph_connect();
	cur = c;
	ph_request(c, &(struct ph_req){ .id = 3, .resp_len = 10 }, 0);
	WT_CHECK(ph_run_until(all_answered, SEC, MS));
	WT_CHECK_EQ(c->exp[0].status, 200);
	(void)b;
	teardown();
}

/* maxconnrate 3: a fourth connection in the same second is refused; the
 * next second takes new ones again. */
static void test_conn_rate(void)
{
	struct ph_client *c[4], *d;

	ph_setup(1, NULL);
	ph_table->maxconnrate = 3;
	ph_run(SEC - (vnow % SEC) + 10 * MS); /* the start of a second */
	for (int i = 0; i < 4; i++)
		c[i] = ph_connect();
	ph_run(50 * MS);
	WT_CHECK(!c[0]->reset && !c[1]->reset && !c[2]->reset);
	WT_CHECK(c[3]->reset);
	WT_CHECK_EQ(ph_ctr(PX_CTR_refused_connrate), 1);
	ph_run(SEC);
	d = ph_connect();
	ph_request(d, &(struct ph_req){ .id = 1, .resp_len = 10 }, 0);
	WT_CHECK(ph_run_until(all_answered, SEC, MS));
	WT_CHECK_EQ(d->exp[0].status, 200);
	teardown();
}

/* 5 requests per second per client: the sixth to eighth in the same
 * second get 429 with Retry-After on the same connection; the next second
 * is served. */
static void test_client_rate(void)
{
	struct ph_client *a;
	int ok = 0, limited = 0;

	ph_setup(1, NULL);
	ph_table->client_rps = 5;
	ph_run(SEC - (vnow % SEC) + 10 * MS);
	a = ph_connect();
	for (uint32_t i = 0; i < 8; i++)
		ph_request(a, &(struct ph_req){ .id = 1 + i, .resp_len = 10 },
			   0);
	WT_CHECK(ph_run_until(all_answered, 500 * MS, MS));
	for (int i = 0; i < 8; i++) {
		ok += a->exp[i].status == 200;
		limited += a->exp[i].status == 429;
	}
	WT_CHECK_EQ(ok, 5);
	WT_CHECK_EQ(limited, 3);
	WT_CHECK(strstr(a->last, "Retry-After: 1\r\n") != NULL);
	WT_CHECK_EQ(ph_ctr(PX_CTR_refused_client_rate), 3);
	WT_CHECK(!a->gone); /* the connection stays */
	ph_run(SEC);
	ph_request(a, &(struct ph_req){ .id = 20, .resp_len = 10 }, 0);
	WT_CHECK(ph_run_until(all_answered, SEC, MS));
	WT_CHECK_EQ(a->exp[8].status, 200);
	teardown();
}

/* A group's own rate (limits.client_rps 3): the 4th and 5th request of a
 * second to it get 429; the node's rate (none here) is not involved. */
static void test_group_client_rate(void)
{
	struct ph_client *a;
	int ok = 0;

	ph_group_extra = ",\"limits\":{\"client_rps\":3}";
	ph_setup(1, NULL);
	ph_run(SEC - (vnow % SEC) + 10 * MS);
	a = ph_connect();
	for (uint32_t i = 0; i < 5; i++)
		ph_request(a, &(struct ph_req){ .id = 1 + i, .resp_len = 10 },
			   0);
	WT_CHECK(ph_run_until(all_answered, 500 * MS, MS));
	for (int i = 0; i < 5; i++)
		ok += a->exp[i].status == 200;
	WT_CHECK_EQ(ok, 3);
	WT_CHECK_EQ(a->exp[3].status, 429);
	WT_CHECK_EQ(ph_ctr(PX_CTR_refused_client_rate), 2);
	teardown();
}

int main(void)
{
	WT_RUN(test_queue_in_order);
	WT_RUN(test_queue_timeout);
	WT_RUN(test_queued_client_leaves);
	WT_RUN(test_node_maxconn);
	WT_RUN(test_conn_rate);
	WT_RUN(test_client_rate);
	WT_RUN(test_group_client_rate);
	return wt_done();
}
