/* Telemetry commands: see telemetry.h. */
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "common/table_check.h"
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
	rte_tel_data_add_dict_string(
		d, "idle_policy",
		dp->cfg.idle.policy == CFG_IDLE_BUSY ? "busy" : "backoff");
	rte_tel_data_add_dict_int(d, "rx_ipv4_cksum_offload",
				  dp->port.rx_ipv4_cksum);
	rte_tel_data_add_dict_int(d, "rx_l4_cksum_offload",
				  dp->port.rx_l4_cksum);
	rte_tel_data_add_dict_int(d, "tx_ipv4_cksum_offload",
				  dp->port.tx_ipv4_cksum);
	rte_tel_data_add_dict_int(d, "tx_l4_cksum_offload",
				  dp->port.tx_l4_cksum);
	rte_tel_data_add_dict_u64(d, "mbufs_total", dp->port.pool->size);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use",
				  rte_mempool_in_use_count(dp->port.pool));
	return 0;
}

static void add_counters(struct rte_tel_data *d,
			 const struct weir_lcore_stats *s, unsigned int n)
{
	for (unsigned int c = 0; c < WEIR_CTR_MAX; c++) {
		uint64_t sum = 0;

		for (unsigned int i = 0; i < n; i++)
			sum += s[i].c[c];
		rte_tel_data_add_dict_u64(d, weir_counter_name(c), sum);
	}
}

static int cmd_stats(const char *cmd, const char *params,
		     struct rte_tel_data *d)
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

#define FIELD(s, f)                       \
	{                                 \
#f, offsetof(struct s, f) \
	}
static const struct {
	const char *name;
	size_t off;
} tcp_fields[] = {
	FIELD(tcp_stats, active_opens), FIELD(tcp_stats, passive_opens),
	FIELD(tcp_stats, established), FIELD(tcp_stats, closed),
	FIELD(tcp_stats, aborted), FIELD(tcp_stats, resets_rcvd),
	FIELD(tcp_stats, resets_sent), FIELD(tcp_stats, conn_timeouts),
	FIELD(tcp_stats, refused), FIELD(tcp_stats, nomem_tcb),
	FIELD(tcp_stats, nomem_mbuf), FIELD(tcp_stats, no_port),
	FIELD(tcp_stats, segs_in), FIELD(tcp_stats, segs_out),
	FIELD(tcp_stats, bad_csum), FIELD(tcp_stats, bad_hdr),
	FIELD(tcp_stats, no_flow), FIELD(tcp_stats, retransmits),
	FIELD(tcp_stats, rto_fires), FIELD(tcp_stats, fast_recoveries),
	FIELD(tcp_stats, persist_probes), FIELD(tcp_stats, challenge_acks),
	FIELD(tcp_stats, challenge_acks_limited), FIELD(tcp_stats, paws_drops),
	FIELD(tcp_stats, ooo_queued), FIELD(tcp_stats, ooo_dropped),
	FIELD(tcp_stats, delayed_acks), FIELD(tcp_stats, tw_reused),
	FIELD(tcp_stats, lost_retransmits), FIELD(tcp_stats, tlp_probes),
	FIELD(tcp_stats, nomem_reass), FIELD(tcp_stats, listen_syn_fin),
	FIELD(tcp_stats, listen_no_flags), FIELD(tcp_stats, tw_entered),
	FIELD(tcp_stats, tw_expired), FIELD(tcp_stats, tw_evicted),
	FIELD(tcp_stats, tw_fin_reacked), FIELD(tcp_stats, tw_old_dups),
	FIELD(tcp_stats, tw_killed),
}, app_fields[] = {
	FIELD(testapp_stats, accepted), FIELD(testapp_stats, connected),
	FIELD(testapp_stats, completed), FIELD(testapp_stats, failed),
	FIELD(testapp_stats, refused), FIELD(testapp_stats, timeouts),
	FIELD(testapp_stats, bytes_in), FIELD(testapp_stats, bytes_out),
	FIELD(testapp_stats, sha_sent),
};

static uint64_t field_sum(size_t off, bool app)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < the_dp->n_workers; i++) {
		const struct worker *w = &the_dp->workers[i];
		const char *base = app ? (const char *)&w->app.stats :
					 (const char *)&w->tcp->stats;
		uint64_t v;

		memcpy(&v, base + off, sizeof(v));
		sum += v;
	}
	return sum;
}

/* TCP counters summed over workers, plus what a leak check needs: live
 * connections and free TCBs, and both tables' sizes: the TCB pool and the
 * compact TIME_WAIT records (#20). */
static int cmd_tcp(const char *cmd, const char *params, struct rte_tel_data *d)
{
	uint64_t conns = 0, free_tcbs = 0, tw = 0, tw_max = 0, tw_bytes = 0;

	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < RTE_DIM(tcp_fields); i++)
		rte_tel_data_add_dict_u64(d, tcp_fields[i].name,
					  field_sum(tcp_fields[i].off, false));
	for (unsigned int i = 0; i < the_dp->n_workers; i++) {
		conns += tcp_conn_count(the_dp->workers[i].tcp);
		free_tcbs += tcp_tcb_free_count(the_dp->workers[i].tcp);
		tw += tcp_time_wait_count(the_dp->workers[i].tcp);
		tw_bytes += tcp_time_wait_bytes(the_dp->workers[i].tcp);
		tw_max += the_dp->workers[i].tcp->cfg.max_time_wait;
	}
	rte_tel_data_add_dict_u64(d, "connections", conns);
	rte_tel_data_add_dict_u64(d, "tcbs_free", free_tcbs);
	rte_tel_data_add_dict_u64(d, "tcbs_max",
				  (uint64_t)the_dp->cfg.tcp.max_connections *
					  the_dp->n_workers);
	rte_tel_data_add_dict_u64(d, "time_wait", tw);
	rte_tel_data_add_dict_u64(d, "time_wait_max", tw_max);
	rte_tel_data_add_dict_u64(d, "time_wait_bytes_per_record",
				  tw_max ? tw_bytes / tw_max : 0);
	rte_tel_data_add_dict_u64(d, "mbufs_in_use",
				  rte_mempool_in_use_count(the_dp->port.pool));
	return 0;
}

static int cmd_testapp(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	for (size_t i = 0; i < RTE_DIM(app_fields); i++)
		rte_tel_data_add_dict_u64(d, app_fields[i].name,
					  field_sum(app_fields[i].off, true));
	return 0;
}

/* /weir/testapp/connect,IP:PORT,MODE[,BYTES[,WORKER]]: an active open by
 * a test application (tests only). Answers the worker it was queued on. */
static int cmd_connect(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	static unsigned int next_worker;
	struct worker_cmd wc = { .op = WORKER_CMD_CONNECT };
	char ip[16], mode[16];
	unsigned int port, worker, a, b, c, e;
	unsigned long long bytes = 0;
	enum cfg_app_mode m;
	int n;

	(void)cmd;
	if (!params)
		return -EINVAL;
	n = sscanf(params, "%15[0-9.]:%u,%15[a-z],%llu,%u", ip, &port, mode,
		   &bytes, &worker);
	if (n < 3 || port == 0 || port > 65535 ||
	    sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &e) != 4 || a > 255 ||
	    b > 255 || c > 255 || e > 255 || config_app_mode_parse(mode, &m))
		return -EINVAL;
	if (n < 5)
		worker = next_worker++ % the_dp->n_workers;
	if (worker >= the_dp->n_workers)
		return -EINVAL;
	wc.mode = (uint8_t)m;
	wc.port = (uint16_t)port;
	wc.ip = a << 24 | b << 16 | c << 8 | e;
	wc.bytes = bytes;
	if (worker_post(&the_dp->workers[worker], &wc))
		return -ENOBUFS;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "worker", (int)worker);
	return 0;
}

/* HTTP proxy counters summed over workers, and the parser's refusals by
 * reason. */
static int cmd_http(const char *cmd, const char *params, struct rte_tel_data *d)
{
	(void)cmd, (void)params;
	rte_tel_data_start_dict(d);
	for (unsigned int c = 0; c < PX_CTR_MAX; c++) {
		uint64_t sum = 0;

		for (unsigned int i = 0; i < the_dp->n_workers; i++)
			if (the_dp->workers[i].px)
				sum += the_dp->workers[i].px->ctr[c];
		rte_tel_data_add_dict_u64(d, proxy_counter_name(c), sum);
	}
	for (unsigned int e = 1; e < HTTP_ERR_COUNT; e++) {
		uint64_t sum = 0;
		char key[64];

		for (unsigned int i = 0; i < the_dp->n_workers; i++)
			if (the_dp->workers[i].px)
				sum += the_dp->workers[i].px->parse_errors[e];
		if (!sum)
			continue;
		snprintf(key, sizeof(key), "refused_%s",
			 http_error_name((enum http_error)e));
		for (char *k = key; *k; k++) /* telemetry keys: [a-z0-9_] */
			if (*k >= 'A' && *k <= 'Z')
				*k = (char)(*k - 'A' + 'a');
			else if (!(*k == '_' || (*k >= 'a' && *k <= 'z') ||
				   (*k >= '0' && *k <= '9')))
				*k = '_';
		rte_tel_data_add_dict_u64(d, key, sum);
	}
	return 0;
}

/* A private copy of the table weir-cp published (the workers' may be
 * reclaimed under us: this thread is outside the epoch rule), checked;
 * NULL if none. free() it. */
static struct weir_table *current_table(void)
{
	struct weir_ctl *c = the_dp->seg.ctl;
	size_t cap = c ? c->slots[0].capacity : 0;
	void *buf = cap ? malloc(cap) : NULL;

	if (buf && ctl_seg_copy_current(c, buf, cap) > 0 &&
	    !weir_table_check(buf, cap))
		return buf;
	free(buf);
	return NULL;
}

/* One line per server of the table, HAProxy "show stat" style:
 * "backend,server,status,scur,idle,requests,2xx,5xx,failures,retries,
 * downs,ups" (health transitions)
 * (counts summed over workers; status from the health word). */
static int cmd_servers(const char *cmd, const char *params,
		       struct rte_tel_data *d)
{
	struct weir_table *t = current_table();

	(void)cmd, (void)params;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (uint32_t i = 0; t && i < t->n_servers && i < 500; i++) {
		const struct weir_table_server *ts = &weir_table_servers(t)[i];
		const struct weir_table_backend *be =
			&weir_table_backends(t)[ts->backend];
		uint64_t cur = 0, idle = 0, req = 0, ok = 0, err5 = 0, fail = 0,
			 retr = 0;
		uint64_t downs = 0, ups = 0;
		const char *status = "UP";
		char line[RTE_TEL_MAX_STRING_LEN];

		for (unsigned int w = 0; w < the_dp->n_workers; w++) {
			struct proxy *px = the_dp->workers[w].px;
			struct px_server *s = px ? proxy_server(px, ts->id) :
						   NULL;

			if (!s)
				continue;
			cur += s->load.active;
			idle += s->n_idle;
			req += s->requests;
			ok += s->resp[2];
			err5 += s->resp[5];
			fail += s->failures;
			retr += s->retries_from;
			downs += atomic_load_explicit(&s->health.went_down,
						      memory_order_relaxed);
			ups += atomic_load_explicit(&s->health.went_up,
						    memory_order_relaxed);
			status = lb_hs_status(lb_health_read(&s->health));
		}
		snprintf(line, sizeof(line),
			 "%.24s,%.48s,%s,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu",
			 be->name, ts->name, status, cur, idle, req, ok, err5,
			 fail, retr, downs, ups);
		rte_tel_data_add_array_string(d, line);
	}
	free(t);
	return 0;
}

/* /weir/drain,on|off: Ray's drain. /-/healthz and /-/routes answer 503
 * "This node is being drained." so upstream balancers move away, while
 * every request keeps being served. Answers the new state. */
static int cmd_drain(const char *cmd, const char *params,
		     struct rte_tel_data *d)
{
	struct worker_cmd wc = { .op = WORKER_CMD_DRAIN };

	(void)cmd;
	if (!params || (strcmp(params, "on") && strcmp(params, "off")))
		return -EINVAL;
	wc.bytes = !strcmp(params, "on");
	for (unsigned int i = 0; i < the_dp->n_workers; i++)
		if (worker_post(&the_dp->workers[i], &wc))
			return -ENOBUFS;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "drain", params);
	return 0;
}

int dp_telemetry_register(struct dataplane *dp)
{
	int rc;

	the_dp = dp;
	rc = rte_telemetry_register_cmd(
		"/weir/info", cmd_info,
		"Weir dataplane: version, port, addresses, offloads, mbufs");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/stats", cmd_stats,
			  "Weir counters summed over worker lcores");
	rc = rc ? rc :
		  rte_telemetry_register_cmd("/weir/stats/lcores",
					     cmd_stats_lcores,
					     "Weir counters per worker lcore");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/arp", cmd_arp,
			  "Weir neighbour cache: ip -> mac state (first 64)");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/tcp", cmd_tcp,
			  "Weir TCP counters summed over workers, connections, free TCBs");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/http", cmd_http,
			  "Weir HTTP proxy counters summed over workers");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/servers", cmd_servers,
			  "Weir servers: backend,server,status,scur,idle,requests,2xx,5xx,failures,retries,downs,ups");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/drain", cmd_drain,
			  "Ray's drain: healthz/routes answer 503 draining, traffic still served. Params: on|off");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/testapp", cmd_testapp,
			  "Weir test applications' counters (tests only)");
	rc = rc ? rc :
		  rte_telemetry_register_cmd(
			  "/weir/testapp/connect", cmd_connect,
			  "Test app active open. Params: IP:PORT,MODE[,BYTES[,WORKER]]");
	return rc;
}
