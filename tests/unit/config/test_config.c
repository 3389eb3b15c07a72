/* weir-dp's config parser: defaults, a full valid file, and one refusal per
 * rule, each checked for the field it names (an operator fixes the field
 * the message names, so the name is the contract). */
#include <arpa/inet.h>
#include <errno.h>

#include "config/config.h"
#include "wtest.h"

#define BASE                                                           \
	"\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.77.0.10\"], " \
	"\"local_ip\": \"10.77.0.11\""

static void test_defaults_and_minimal(void)
{
	struct dp_config c;
	char err[256] = "";

	WT_CHECK_EQ(config_parse("{" BASE "}", &c, err, sizeof(err)), 0);
	WT_CHECK(!strcmp(c.port.iface, "lb0"));
	WT_CHECK_EQ(c.port.driver, CFG_DRIVER_AUTO);
	WT_CHECK_EQ(c.port.mtu, 1500);
	WT_CHECK_EQ(c.workers, 1);
	WT_CHECK_EQ(c.prefix_len, 24);
	WT_CHECK_EQ(c.idle.policy, CFG_IDLE_BACKOFF);
	WT_CHECK_EQ(c.idle.max_sleep_us, 100);
	WT_CHECK_EQ(c.memory.mbufs, 16383);
	WT_CHECK_EQ(c.arp.tries, 3);
	WT_CHECK_EQ(c.n_vips, 1);
	WT_CHECK(c.vips[0] == inet_addr("10.77.0.10"));
	WT_CHECK(c.local_ip == inet_addr("10.77.0.11"));
	WT_CHECK(c.gateway == 0);
}

static void test_full(void)
{
	struct dp_config c;
	char err[256] = "";
	const char *j =
		"{\"port\": {\"iface\": \"eth1\", \"driver\": \"af_packet\","
		" \"queues\": 2, \"mtu\": 9000, \"rx_checksum_offload\": false},"
		" \"vips\": [\"10.0.0.1\", \"10.0.0.2\"], \"local_ip\": \"10.0.0.3\","
		" \"prefix_len\": 16, \"gateway\": \"10.0.255.254\", \"workers\": 4,"
		" \"cpus\": [1, 1, 0, 1], \"idle\": {\"policy\": \"busy\", "
		"\"spin_polls\": 5, \"max_sleep_us\": 50, \"deep_after_ms\": 10, "
		"\"deep_sleep_us\": 500}, \"memory\": {\"mbufs\": 4095, \"ring_size\": 256},"
		" \"arp\": {\"reachable_s\": 30, \"retry_ms\": 200, \"tries\": 5, \"failed_s\": 1}}";

	WT_CHECK_EQ(config_parse(j, &c, err, sizeof(err)), 0);
	if (err[0])
		printf("#   %s\n", err);
	WT_CHECK_EQ(c.port.driver, CFG_DRIVER_AF_PACKET);
	WT_CHECK_EQ(c.port.queues, 2);
	WT_CHECK_EQ(c.port.mtu, 9000);
	WT_CHECK(!c.port.rx_checksum_offload && c.port.tx_checksum_offload);
	WT_CHECK_EQ(c.n_vips, 2);
	WT_CHECK_EQ(c.workers, 4);
	WT_CHECK_EQ(c.cpus[2], 0);
	WT_CHECK_EQ(c.cpus[4], -1);
	WT_CHECK_EQ(c.idle.policy, CFG_IDLE_BUSY);
	WT_CHECK_EQ(c.idle.deep_sleep_us, 500);
	WT_CHECK_EQ(c.memory.ring_size, 256);
	WT_CHECK_EQ(c.arp.retry_ms, 200);
	WT_CHECK(c.gateway == inet_addr("10.0.255.254"));
	WT_CHECK_EQ(c.tcp.max_connections, 4096);
	WT_CHECK_EQ(c.tcp.rto_min_ms, 200);
	WT_CHECK_EQ(c.tcp.max_time_wait, 16384);

	const char *apps =
		"{" BASE
		", \"tcp\": {\"rto_min_ms\": 50, \"time_wait_ms\": 100,"
		" \"max_time_wait\": 100000},"
		" \"test_apps\": [{\"port\": 9000, \"mode\": \"echo\"},"
		" {\"port\": 9002, \"mode\": \"source\", \"bytes\": 10485760}]}";
	WT_CHECK_EQ(config_parse(apps, &c, err, sizeof(err)), 0);
	WT_CHECK_EQ(c.tcp.rto_min_ms, 50);
	WT_CHECK_EQ(c.tcp.time_wait_ms, 100);
	WT_CHECK_EQ(c.tcp.max_time_wait, 100000);
	WT_CHECK_EQ(c.reass.max_datagrams, 64); /* the default fits */
	WT_CHECK_EQ(c.reass.max_fragments, 8);
	WT_CHECK_EQ(c.reass.timeout_ms, 2000);
	WT_CHECK_EQ(c.n_apps, 2);
	WT_CHECK_EQ(c.apps[1].mode, APP_SOURCE);
	WT_CHECK_EQ(c.apps[1].bytes, 10485760);
	WT_CHECK(!strcmp(config_app_mode_name(c.apps[0].mode), "echo"));
	const char *re = "{" BASE ", \"ip_reassembly\": {\"max_datagrams\": 0,"
			 " \"timeout_ms\": 500, \"max_fragments\": 4}}";
	WT_CHECK_EQ(config_parse(re, &c, err, sizeof(err)), 0);
	WT_CHECK_EQ(c.reass.max_datagrams, 0); /* off */
	WT_CHECK_EQ(c.reass.timeout_ms, 500);
	WT_CHECK_EQ(c.reass.max_fragments, 4);
}

struct bad {
	const char *json;
	const char *names; /* the message must start with this */
};

static void test_refusals(void)
{
	static const struct bad cases[] = {
		{ "", "not valid JSON" },
		{ "{", "not valid JSON" },
		{ "[]", "the top level" },
		{ "{}", "port: missing" },
		{ "{\"port\": 1}", "port: must be an object" },
		{ "{\"port\": {}}", "port.iface: missing" },
		{ "{\"port\": {\"iface\": \"\"}}", "port.iface:" },
		{ "{\"port\": {\"iface\": \"a,b=c\"}}", "port.iface:" },
		{ "{\"port\": {\"iface\": \"averyveryverylongname\"}}",
		  "port.iface:" },
		{ "{\"port\": {\"iface\": \"lb0\", \"driver\": \"dpdk\"}}",
		  "port.driver:" },
		{ "{\"port\": {\"iface\": \"lb0\", \"mtu\": 100}}",
		  "port.mtu:" },
		{ "{\"port\": {\"iface\": \"lb0\", \"mtu\": \"1500\"}}",
		  "port.mtu: must be a number" },
		{ "{\"port\": {\"iface\": \"lb0\", \"mtu\": 1500.5}}",
		  "port.mtu:" },
		{ "{\"port\": {\"iface\": \"lb0\", \"ifce\": 1}}",
		  "port.ifce: unknown key" },
		{ "{\"port\": {\"iface\": \"lb0\"}}", "vips: missing" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": []}", "vips:" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.0.0.300\"]}",
		  "vips[0]:" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.0.0.1\", 7]}",
		  "vips[1]:" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.0.0.1\", \"10.0.0.1\"]}",
		  "vips[1]: duplicate" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"0.0.0.0\"]}",
		  "vips[0]:" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.77.0.10\"]}",
		  "local_ip: missing" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"10.77.0.10\"], \"local_ip\": \"10.77.0.10\"}",
		  "local_ip: must differ" },
		{ "{" BASE ", \"local_ip\": \"10.77.0.12\"}",
		  "local_ip: given twice" },
		{ "{" BASE ", \"prefix_len\": 31}", ".prefix_len:" },
		{ "{" BASE ", \"gateway\": \"10.78.0.1\"}", "gateway:" },
		{ "{" BASE ", \"workers\": 0}", ".workers:" },
		{ "{" BASE ", \"workers\": null}",
		  "workers: must be a number" },
		{ "{" BASE ", \"workers\": -1e300}",
		  "workers: must be an integer" },
		{ "{" BASE ", \"gateway\": \"224.0.0.1\"}",
		  "gateway: 224.0.0.1 cannot be used" },
		{ "{\"port\": {\"iface\": \"lb0\"}, \"vips\": [\"fe80::1\"]}",
		  "vips[0]: \"fe80::1\" is IPv6" },
		{ "{" BASE ", \"workers\": 9}", ".workers:" },
		{ "{" BASE ", \"tcp\": {\"max_time_wait\": 63}}",
		  "tcp.max_time_wait:" },
		{ "{" BASE ", \"ip_reassembly\": {\"max_fragments\": 9}}",
		  "ip_reassembly.max_fragments:" },
		{ "{" BASE ", \"ip_reassembly\": {\"timeout_ms\": 10}}",
		  "ip_reassembly.timeout_ms:" },
		{ "{" BASE ", \"ip_reassembly\": {\"max_datagrams\": 4096}}",
		  "ip_reassembly.max_datagrams: 4096 x max_fragments 8" },
		{ "{" BASE ", \"ip_reassembly\": {\"frags\": 1}}",
		  "ip_reassembly.frags: unknown key" },
		{ "{" BASE ", \"tcp\": {\"max_time_wait\": 4194305}}",
		  "tcp.max_time_wait:" },
		{ "{" BASE ", \"tcp\": {\"max_time_wait\": \"big\"}}",
		  "tcp.max_time_wait: must be a number" },
		{ "{" BASE ", \"cpus\": [\"0\"]}", "cpus[0]:" },
		{ "{" BASE ", \"idle\": {\"policy\": \"spin\"}}",
		  "idle.policy:" },
		{ "{" BASE ", \"idle\": {\"max_sleep_us\": 0}}",
		  "idle.max_sleep_us:" },
		{ "{" BASE
		  ", \"idle\": {\"max_sleep_us\": 500, \"deep_sleep_us\": 100}}",
		  "idle.deep_sleep_us:" },
		{ "{" BASE ", \"memory\": {\"ring_size\": 1000}}",
		  "memory.ring_size:" },
		{ "{" BASE ", \"memory\": {\"mbufs\": 10}}", "memory.mbufs:" },
		{ "{" BASE ", \"arp\": {\"tries\": 0}}", "arp.tries:" },
		{ "{" BASE ", \"arp\": 3}", "arp: must be an object" },
		{ "{\"port\": {\"iface\": \"lb0\", \"queues\": 2}, \"vips\": [\"10.77.0.10\"], \"local_ip\": \"10.77.0.11\"}",
		  "port.queues:" },
		{ "{" BASE ", \"wrokers\": 2}", "wrokers: unknown key" },
		{ "{" BASE ", \"tcp\": {\"rto_min_ms\": 0}}",
		  "tcp.rto_min_ms:" },
		{ "{" BASE ", \"tcp\": {\"max_conn\": 5}}",
		  "tcp.max_conn: unknown key" },
		{ "{" BASE ", \"test_apps\": {}}",
		  "test_apps: must be a list" },
		{ "{" BASE ", \"test_apps\": [{\"mode\": \"echo\"}]}",
		  "test_apps[0].port: missing" },
		{ "{" BASE
		  ", \"test_apps\": [{\"port\": 70000, \"mode\": \"echo\"}]}",
		  "test_apps[0].port:" },
		{ "{" BASE
		  ", \"test_apps\": [{\"port\": 9, \"mode\": \"chargen\"}]}",
		  "test_apps[0].mode:" },
		{ "{" BASE
		  ", \"test_apps\": [{\"port\": 9, \"mode\": \"source\"}]}",
		  "test_apps[0].bytes: missing" },
		{ "{" BASE
		  ", \"test_apps\": [{\"port\": 9, \"mode\": \"echo\"}, {\"port\": 9, \"mode\": \"sink\"}]}",
		  "test_apps[1].port:" },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_config c;
		char err[256] = "";
		int rc = config_parse(cases[i].json, &c, err, sizeof(err));
		int named = strstr(err, cases[i].names) == err ||
			    (cases[i].names[0] == '.' &&
			     strstr(err, cases[i].names + 1) == err);

		if (rc != -EINVAL || !named)
			printf("#   case %u: rc %d, message '%s', want '%s'\n",
			       i, rc, err, cases[i].names);
		WT_CHECK_EQ(rc, -EINVAL);
		WT_CHECK(named);
	}
}

static void test_load_errors(void)
{
	struct dp_config c;
	char err[256] = "";

	WT_CHECK_EQ(config_load("/nonexistent/weir.json", &c, err, sizeof(err)),
		    -ENOENT);
	WT_CHECK(strstr(err, "/nonexistent/weir.json") != NULL);
}

int main(void)
{
	WT_RUN(test_defaults_and_minimal);
	WT_RUN(test_full);
	WT_RUN(test_refusals);
	WT_RUN(test_load_errors);
	return wt_done();
}
