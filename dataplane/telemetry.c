/* Telemetry commands: see telemetry.h. */
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "telemetry.h"
#include "weir/version.h"

static struct dataplane *the_dp; /* telemetry callbacks take no context */

static void ip_str(uint32_t ip, char *buf)
{
	config_ip_str(ip, buf);
}

static int cmd_info(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct dataplane *dp = the_dp;
	struct rte_tel_data *vips = rte_tel_data_alloc();
	char buf[64];

	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "version", WEIR_VERSION_STRING);
	rte_tel_data_add_dict_string(d, "driver", dp->port.driver);
	rte_tel_data_add_dict_string(d, "iface", dp->cfg.port.iface);
	rte_ether_format_addr(buf, sizeof(buf), &dp->port.mac);
	rte_tel_data_add_dict_string(d, "mac", buf);
	if (vips) {
		rte_tel_data_start_array(vips, RTE_TEL_STRING_VAL);
		for (unsigned int i = 0; i < dp->iface.n_vips; i++) {
			ip_str(dp->iface.vips[i], buf);
			rte_tel_data_add_array_string(vips, buf);
		}
		rte_tel_data_add_dict_container(d, "vips", vips, 0);
	}
	ip_str(dp->iface.local_ip, buf);
	rte_tel_data_add_dict_string(d, "local_ip", buf);
	rte_tel_data_add_dict_int(d, "workers", (int)dp->n_workers);
	rte_tel_data_add_dict_int(d, "queues", dp->port.n_queues);
	rte_tel_data_add_dict_int(d, "mtu", dp->cfg.port.mtu);
	rte_tel_data_add_dict_string(d, "idle_policy",
				     dp->cfg.idle.policy == CFG_IDLE_BUSY ? "busy" : "backoff");
	rte_tel_data_add_dict_int(d, "rx_ipv4_cksum_offload", dp->port.rx_ipv4_cksum);
	rte_tel_data_add_dict_int(d, "rx_l4_cksum_offload", dp->port.rx_l4_cksum);
	rte_tel_data_add_dict_int(d, "tx_ipv4_cksum_offload", dp->port.tx_ipv4_cksum);
	rte_tel_data_add_dict_int(d, "tx_l4_cksum_offload", dp->port.tx_l4_cksum);
	rte_tel_data_add_dict_u64(d, "mbufs_total", dp->port.pool->size);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use",
				  rte_mempool_in_use_count(dp->port.pool));
	return 0;
}

static void add_counters(struct rte_tel_data *d, const struct weir_lcore_stats *s,
			 unsigned int n)
{
	for (unsigned int c = 0; c < WEIR_CTR_MAX; c++) {
		uint64_t sum = 0;

		for (unsigned int i = 0; i < n; i++)
			sum += s[i].c[c];
		rte_tel_data_add_dict_u64(d, weir_counter_name(c), sum);
	}
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	add_counters(d, the_dp->stats, the_dp->n_workers);
	return 0;
}

static int cmd_stats_lcores(const char *cmd, const char *params,
			    struct rte_tel_data *d)
{
	char key[24];

	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	for (unsigned int i = 0; i < the_dp->n_workers; i++) {
		struct rte_tel_data *one = rte_tel_data_alloc();

		if (!one)
			return -ENOMEM;
		rte_tel_data_start_dict(one);
		add_counters(one, &the_dp->stats[i], 1);
		snprintf(key, sizeof(key), "worker%u", i);
		rte_tel_data_add_dict_container(d, key, one, 0);
	}
	return 0;
}

/* Telemetry dict keys may not contain dots, so the neighbours are a list
 * of "ip mac state" strings. */
static int cmd_arp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct arp_entry e[64]; /* telemetry runs on one thread */
	unsigned int n = arp_cache_dump(the_dp->arp, e, RTE_DIM(e));
	char ip[16], mac[RTE_ETHER_ADDR_FMT_SIZE], val[64];

	(void)cmd, (void)params;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (unsigned int i = 0; i < n; i++) {
		ip_str(e[i].ip, ip);
		rte_ether_format_addr(mac, sizeof(mac), &e[i].mac);
		snprintf(val, sizeof(val), "%s %s %s", ip, mac,
			 arp_state_name((enum arp_state)e[i].state));
		rte_tel_data_add_array_string(d, val);
	}
	return 0;
}

int dp_telemetry_register(struct dataplane *dp)
{
	int rc;

	the_dp = dp;
	rc = rte_telemetry_register_cmd("/weir/info", cmd_info,
		"Weir dataplane: version, port, addresses, offloads, mbufs");
	rc = rc ? rc : rte_telemetry_register_cmd("/weir/stats", cmd_stats,
		"Weir counters summed over worker lcores");
	rc = rc ? rc : rte_telemetry_register_cmd("/weir/stats/lcores",
		cmd_stats_lcores, "Weir counters per worker lcore");
	rc = rc ? rc : rte_telemetry_register_cmd("/weir/arp", cmd_arp,
		"Weir neighbour cache: ip -> mac state (first 64)");
	return rc;
}
