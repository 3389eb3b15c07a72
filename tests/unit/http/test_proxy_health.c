/* Active health checks in virtual time (proxy_harness.h): a replica whose
 * check fails is taken out within fall x fastinter + timeout of its first
 * failed check and gets no new request; rise successes bring it back; a
 * check answered too late fails; the group's own path is the one checked;
 * the fallback serves only while every replica is down, and /-/healthz
 * says 503 "Service Unavailable" once the fallback is down too. */
#include "proxy_harness.h"

#define HC_EXTRA                                                     \
	",\"health_check\":{\"inter_ms\":1000,\"fastinter_ms\":100," \
	"\"downinter_ms\":100,\"fall\":2,\"rise\":2,\"timeout_ms\":50}"

static struct ph_client *cur;

static bool cur_answered(void)
{
	return cur->n_answered == cur->n_exp;
}

static struct px_server *srv_of(int i)
{
	for (uint32_t k = 0; k < ph_px.servers_cap; k++)
		if (ph_px.servers[k].id &&
		    rte_be_to_cpu_32(ph_px.servers[k].ip) == PH_IP(N_R0 + i))
			return &ph_px.servers[k];
	return NULL;
}

static bool up(int i)
{
	return lb_hs_up(lb_health_read(&srv_of(i)->health));
}

static int watch;
static bool watched_down(void)
{
	return !up(watch);
}
static bool watched_up(void)
{
	return up(watch);
}

/* n requests on a fresh connection, one after another. */
static void requests(uint32_t n, uint32_t id0)
{
	cur = ph_connect();
	for (uint32_t i = 0; i < n; i++) {
		ph_request(cur,
			   &(struct ph_req){ .id = id0 + i, .resp_len = 10 },
			   0);
		WT_CHECK(ph_run_until(cur_answered, 2 * SEC, MS));
	}
	ph_client_close(cur, false);
}

static void setup(unsigned int n, bool fallback, const char *extra)
{
	ph_group_extra = extra;
	ph_last_is_fallback = fallback;
	ph_setup(n, NULL);
}

static void teardown(void)
{
	ph_teardown();
	ph_group_extra = "";
	ph_last_is_fallback = false;
	ph_hz_path = "/-/healthz";
}

static void test_down_and_back(void)
{
	uint64_t t_down;

	setup(2, false, HC_EXTRA);
	ph_run(1500 * MS); /* checks run: both stay up */
	WT_CHECK(ph_rep[0].healthz >= 2 && ph_rep[1].healthz >= 2);
	WT_CHECK(up(0) && up(1));
	ph_rep[0].hz_status = 503;
	watch = 0;
	WT_CHECK(ph_run_until(watched_down, 3 * SEC, MS));
	t_down = vnow;
	WT_CHECK(ph_rep[0].hz_first_bad > 0);
	/* fall 2 x fastinter 100 ms + timeout 50 ms, from the first failure */
	WT_CHECK(t_down - ph_rep[0].hz_first_bad <= 2 * 100 * MS + 50 * MS);
	printf("# down %llu ms after the first failed check\n",
	       (unsigned long long)((t_down - ph_rep[0].hz_first_bad) / MS));
	uint64_t before = ph_rep[0].requests;
	requests(10, 1);
	WT_CHECK_EQ(ph_rep[0].requests, before); /* none to the down one */
	WT_CHECK_EQ(ph_answers_ok, 10);
	ph_rep[0].hz_status = 0;
	WT_CHECK(ph_run_until(watched_up, 2 * SEC, MS));
	WT_CHECK(vnow - t_down < 500 * MS); /* rise 2 x downinter, and less */
	requests(10, 20);
	WT_CHECK(ph_rep[0].requests > before); /* back in the rotation */
	teardown();
}

/* A check not answered within timeout_ms fails like a bad status. */
static void test_check_timeout(void)
{
	setup(1, false, HC_EXTRA);
	ph_run(300 * MS);
	WT_CHECK(up(0));
	ph_rep[0].hz_delay_ms = 80; /* over the 50 ms timeout */
	watch = 0;
	WT_CHECK(ph_run_until(watched_down, 3 * SEC, MS));
	WT_CHECK(atomic_load(&srv_of(0)->health.failures[LB_FAIL_TIMEOUT]) >=
		 2);
	ph_rep[0].hz_delay_ms = 10; /* slow, but within it */
	WT_CHECK(ph_run_until(watched_up, 2 * SEC, MS));
	teardown();
}

/* The group's own path: the replicas answer it, and /-/healthz is never
 * asked for. */
static void test_custom_path(void)
{
	ph_hz_path = "/ready";
	setup(1, false,
	      ",\"health_check\":{\"path\":\"/ready\",\"inter_ms\":200}");
	ph_run(1000 * MS);
	WT_CHECK(ph_rep[0].healthz >= 4);
	WT_CHECK_EQ(ph_rep[0].requests, 0); /* /-/healthz would count here */
	WT_CHECK(up(0));
	ph_rep[0].hz_status = 500;
	watch = 0;
	WT_CHECK(ph_run_until(watched_down, 3 * SEC, MS));
	teardown();
}

/* Replica r0 and the fallback r1: the fallback takes requests only while
 * r0 is down; with both down /-/healthz answers 503 byte for byte. */
static void test_fallback_and_healthz(void)
{
	static const char ok[] = "GET /-/healthz HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char unavailable[] =
		"HTTP/1.1 503 Service Unavailable\r\n"
		"Content-Type: text/plain\r\nContent-Length: 19\r\n\r\n"
		"Service Unavailable";
	struct ph_client *a;

	setup(2, true, HC_EXTRA);
	ph_run(300 * MS);
	requests(5, 1);
	WT_CHECK_EQ(ph_rep[0].requests, 5);
	WT_CHECK_EQ(ph_rep[1].requests, 0);
	ph_rep[0].hz_status = 503;
	watch = 0;
	WT_CHECK(ph_run_until(watched_down, 3 * SEC, MS));
	requests(5, 10);
	WT_CHECK_EQ(ph_rep[0].requests, 5);
	WT_CHECK_EQ(ph_rep[1].requests, 5); /* the fallback serves */
	ph_rep[1].hz_status = 503;
	watch = 1;
	WT_CHECK(ph_run_until(watched_down, 3 * SEC, MS));
	a = ph_connect();
	cur = a;
	a->exp[a->n_exp++] = (struct ph_expect){ .kind = K_LOCAL };
	ph_write(a, ok, sizeof(ok) - 1);
	WT_CHECK(ph_run_until(cur_answered, SEC, MS));
	WT_CHECK_EQ(a->exp[0].status, 503);
	WT_CHECK(a->last_len == sizeof(unavailable) - 1 &&
		 !memcmp(a->last, unavailable, a->last_len));
	ph_rep[0].hz_status = 0;
	ph_rep[1].hz_status = 0;
	watch = 0;
	WT_CHECK(ph_run_until(watched_up, 2 * SEC, MS));
	requests(5, 30);
	WT_CHECK_EQ(ph_rep[0].requests, 10); /* r0 again, not the fallback */
	WT_CHECK_EQ(ph_rep[1].requests, 5);
	teardown();
}

int main(void)
{
	WT_RUN(test_down_and_back);
	WT_RUN(test_check_timeout);
	WT_RUN(test_custom_path);
	WT_RUN(test_fallback_and_healthz);
	return wt_done();
}
