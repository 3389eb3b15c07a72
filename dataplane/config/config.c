/* Config parsing: see config.h. Each section has its own small parser; the
 * helpers below check type and range and write "<path>: <problem>" on error.
 * Unknown keys are refused, unlike in target groups: a typo in a knob must
 * not silently leave the default in force. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config/config.h"
#include "common/json_check.h"
#include "common/jsonfile.h"
#include "weir/ctl.h"

void config_defaults(struct dp_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port.driver = CFG_DRIVER_AUTO;
	cfg->port.mtu = 1500;
	cfg->port.rx_checksum_offload = true;
	cfg->port.tx_checksum_offload = true;
	cfg->prefix_len = 24;
	cfg->workers = 1;
	for (int i = 0; i < CFG_MAX_WORKERS; i++)
		cfg->cpus[i] = -1;
	cfg->idle.policy = CFG_IDLE_BACKOFF;
	cfg->idle.spin_polls = 200;
	cfg->idle.max_sleep_us = 100;
	cfg->idle.deep_after_ms = 50;
	cfg->idle.deep_sleep_us = 1000;
	cfg->memory.mbufs = 16383;
	cfg->memory.ring_size = 1024;
	cfg->control.table_kb = 4096;
	cfg->control.access_log_records = 4096;
	cfg->arp.reachable_s = 60;
	cfg->arp.retry_ms = 1000;
	cfg->arp.tries = 3;
	cfg->arp.failed_s = 3;
	cfg->tcp.max_connections = 4096;
	cfg->tcp.max_time_wait = 16384;
	cfg->tcp.rto_min_ms = 200;
	cfg->tcp.time_wait_ms = 2000;
	cfg->tcp.delack_ms = 40;
	cfg->tcp.rcv_buf_kb = 256;
	cfg->tcp.snd_mbufs = 128;
	cfg->tcp.syn_retries = 5;
	cfg->reass.max_datagrams = 64;
	cfg->reass.timeout_ms = 2000;
	cfg->reass.max_fragments = 8;
	cfg->http.port = 8000;
	cfg->http.retries = 1;
	cfg->http.ray_500 = true;
	cfg->http.timeout_client_ms = 3600000;
	cfg->http.timeout_keep_alive_ms = 90000;
	cfg->http.pool_idle_ms = 4000;
	cfg->http.max_sessions = 4096;
	cfg->http.buffer_kb = 16;
	cfg->http.router_buffer_kb = 256;
}

static const char *const app_modes[APP_MODE_COUNT] = { "echo", "discard",
						       "source", "sink" };

const char *config_app_mode_name(enum cfg_app_mode m)
{
	return (unsigned int)m < APP_MODE_COUNT ? app_modes[m] : "?";
}

int config_app_mode_parse(const char *name, enum cfg_app_mode *m)
{
	for (unsigned int i = 0; i < APP_MODE_COUNT; i++)
		if (!strcmp(name, app_modes[i])) {
			*m = (enum cfg_app_mode)i;
			return 0;
		}
	return -EINVAL;
}

const char *config_ip_str(uint32_t ip, char *buf)
{
	struct in_addr a = { .s_addr = ip };

	return inet_ntop(AF_INET, &a, buf, 16) ? buf : "?";
}

/* Refuses any member of obj not in the NULL-terminated list known, and a
 * key given twice (cJSON would silently keep the first). */
static int check_keys(struct jc_ctx *p, const cJSON *obj, const char *path,
		      const char *const *known)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, obj)
	{
		const char *const *k = known;

		while (*k && strcmp(*k, it->string) != 0)
			k++;
		if (!*k)
			return jc_fail(p, "%s%s%s: unknown key", path,
				       *path ? "." : "", it->string);
		for (const cJSON *o = obj->child; o != it; o = o->next)
			if (!strcmp(o->string, it->string))
				return jc_fail(p, "%s%s%s: given twice", path,
					       *path ? "." : "", it->string);
	}
	return 0;
}

static int parse_port(struct jc_ctx *p, const cJSON *port,
		      struct dp_config *cfg)
{
	static const char *const known[] = { "driver",
					     "iface",
					     "queues",
					     "mtu",
					     "rx_checksum_offload",
					     "tx_checksum_offload",
					     NULL };
	const cJSON *v;
	uint32_t u;
	int rc;

	if (!cJSON_IsObject(port))
		return jc_fail(p, "port: must be an object");
	if ((rc = check_keys(p, port, "port", known)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(port, "iface");
	if (!v)
		return jc_fail(p, "port.iface: missing");
	if (!cJSON_IsString(v) || !v->valuestring[0] ||
	    strlen(v->valuestring) >= CFG_IFNAME_MAX ||
	    strpbrk(v->valuestring, ",=/ "))
		return jc_fail(
			p,
			"port.iface: must be an interface name (1-15 characters, no ',=/ ')");
	strcpy(cfg->port.iface, v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(port, "driver");
	if (v) {
		if (!cJSON_IsString(v))
			return jc_fail(p, "port.driver: must be a string");
		if (!strcmp(v->valuestring, "auto"))
			cfg->port.driver = CFG_DRIVER_AUTO;
		else if (!strcmp(v->valuestring, "af_xdp"))
			cfg->port.driver = CFG_DRIVER_AF_XDP;
		else if (!strcmp(v->valuestring, "af_packet"))
			cfg->port.driver = CFG_DRIVER_AF_PACKET;
		else
			return jc_fail(
				p,
				"port.driver: \"%s\" is not one of auto, af_xdp, af_packet",
				v->valuestring);
	}
	u = cfg->port.queues;
	if ((rc = jc_get_uint(p, port, "queues", "port", 0, CFG_MAX_WORKERS,
			      &u)))
		return rc;
	cfg->port.queues = (uint16_t)u;
	u = cfg->port.mtu;
	if ((rc = jc_get_uint(p, port, "mtu", "port", 576, 9000, &u)))
		return rc;
	cfg->port.mtu = (uint16_t)u;
	if ((rc = jc_get_bool(p, port, "rx_checksum_offload", "port",
			      &cfg->port.rx_checksum_offload)))
		return rc;
	return jc_get_bool(p, port, "tx_checksum_offload", "port",
			   &cfg->port.tx_checksum_offload);
}

static int parse_vips(struct jc_ctx *p, const cJSON *vips,
		      struct dp_config *cfg)
{
	const cJSON *v;
	char what[32];
	int rc;

	if (!cJSON_IsArray(vips) || cJSON_GetArraySize(vips) == 0)
		return jc_fail(
			p, "vips: must be a non-empty list of IPv4 addresses");
	if (cJSON_GetArraySize(vips) > CFG_MAX_VIPS)
		return jc_fail(p, "vips: at most %d addresses", CFG_MAX_VIPS);
	cJSON_ArrayForEach(v, vips)
	{
		snprintf(what, sizeof(what), "vips[%u]", cfg->n_vips);
		if ((rc = jc_ipv4(p, v, what, &cfg->vips[cfg->n_vips])))
			return rc;
		for (unsigned int i = 0; i < cfg->n_vips; i++)
			if (cfg->vips[i] == cfg->vips[cfg->n_vips])
				return jc_fail(p, "%s: duplicate of vips[%u]",
					       what, i);
		cfg->n_vips++;
	}
	return 0;
}

static int parse_cpus(struct jc_ctx *p, const cJSON *cpus,
		      struct dp_config *cfg)
{
	const cJSON *v;
	int i = 0;

	if (!cJSON_IsArray(cpus))
		return jc_fail(p, "cpus: must be a list of CPU numbers");
	if (cJSON_GetArraySize(cpus) > CFG_MAX_WORKERS)
		return jc_fail(p, "cpus: at most %d entries", CFG_MAX_WORKERS);
	cJSON_ArrayForEach(v, cpus)
	{
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > 1023 ||
		    v->valuedouble != (int)v->valuedouble)
			return jc_fail(
				p,
				"cpus[%d]: must be a CPU number from 0 to 1023",
				i);
		cfg->cpus[i++] = (int)v->valuedouble;
	}
	return 0;
}

static int parse_idle(struct jc_ctx *p, const cJSON *idle,
		      struct dp_config *cfg)
{
	static const char *const known[] = { "policy",	      "spin_polls",
					     "max_sleep_us",  "deep_after_ms",
					     "deep_sleep_us", NULL };
	const cJSON *v;
	int rc;

	if (!cJSON_IsObject(idle))
		return jc_fail(p, "idle: must be an object");
	if ((rc = check_keys(p, idle, "idle", known)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(idle, "policy");
	if (v) {
		if (cJSON_IsString(v) && !strcmp(v->valuestring, "backoff"))
			cfg->idle.policy = CFG_IDLE_BACKOFF;
		else if (cJSON_IsString(v) && !strcmp(v->valuestring, "busy"))
			cfg->idle.policy = CFG_IDLE_BUSY;
		else
			return jc_fail(
				p,
				"idle.policy: must be \"backoff\" or \"busy\"");
	}
	if ((rc = jc_get_uint(p, idle, "spin_polls", "idle", 0, 1000000,
			      &cfg->idle.spin_polls)))
		return rc;
	if ((rc = jc_get_uint(p, idle, "max_sleep_us", "idle", 1, 10000,
			      &cfg->idle.max_sleep_us)) ||
	    (rc = jc_get_uint(p, idle, "deep_after_ms", "idle", 0, 3600000,
			      &cfg->idle.deep_after_ms)) ||
	    (rc = jc_get_uint(p, idle, "deep_sleep_us", "idle", 1, 100000,
			      &cfg->idle.deep_sleep_us)))
		return rc;
	if (cfg->idle.deep_sleep_us < cfg->idle.max_sleep_us)
		return jc_fail(
			p, "idle.deep_sleep_us: must be >= idle.max_sleep_us");
	return 0;
}

static int parse_tcp(struct jc_ctx *p, const cJSON *tcp, struct dp_config *cfg)
{
	static const char *const known[] = {
		"max_connections", "rto_min_ms",    "time_wait_ms",
		"delack_ms",	   "rcv_buf_kb",    "snd_mbufs",
		"syn_retries",	   "max_time_wait", NULL
	};
	int rc;

	if (!cJSON_IsObject(tcp))
		return jc_fail(p, "tcp: must be an object");
	if ((rc = check_keys(p, tcp, "tcp", known)) ||
	    (rc = jc_get_uint(p, tcp, "max_connections", "tcp", 16, 1000000,
			      &cfg->tcp.max_connections)) ||
	    (rc = jc_get_uint(p, tcp, "max_time_wait", "tcp", 64, 4194304,
			      &cfg->tcp.max_time_wait)) ||
	    (rc = jc_get_uint(p, tcp, "rto_min_ms", "tcp", 1, 10000,
			      &cfg->tcp.rto_min_ms)) ||
	    (rc = jc_get_uint(p, tcp, "time_wait_ms", "tcp", 0, 240000,
			      &cfg->tcp.time_wait_ms)) ||
	    (rc = jc_get_uint(p, tcp, "delack_ms", "tcp", 1, 500,
			      &cfg->tcp.delack_ms)) ||
	    (rc = jc_get_uint(p, tcp, "rcv_buf_kb", "tcp", 16, 16384,
			      &cfg->tcp.rcv_buf_kb)) ||
	    (rc = jc_get_uint(p, tcp, "snd_mbufs", "tcp", 8, 256,
			      &cfg->tcp.snd_mbufs)) ||
	    (rc = jc_get_uint(p, tcp, "syn_retries", "tcp", 1, 10,
			      &cfg->tcp.syn_retries)))
		return rc;
	return 0;
}

/* Fragments hold mbufs until their datagram completes or times out:
 * bounded (check_consistency) so they never take more than half the pool. */
static int parse_reass(struct jc_ctx *p, const cJSON *r, struct dp_config *cfg)
{
	static const char *const known[] = { "max_datagrams", "timeout_ms",
					     "max_fragments", NULL };
	int rc;

	if (!cJSON_IsObject(r))
		return jc_fail(p, "ip_reassembly: must be an object");
	cfg->reass.given = true;
	if ((rc = check_keys(p, r, "ip_reassembly", known)) ||
	    (rc = jc_get_uint(p, r, "max_datagrams", "ip_reassembly", 0, 65536,
			      &cfg->reass.max_datagrams)) ||
	    (rc = jc_get_uint(p, r, "timeout_ms", "ip_reassembly", 100, 60000,
			      &cfg->reass.timeout_ms)) ||
	    (rc = jc_get_uint(p, r, "max_fragments", "ip_reassembly", 2, 8,
			      &cfg->reass.max_fragments)))
		return rc;
	return 0;
}

static int parse_http(struct jc_ctx *p, const cJSON *h, struct dp_config *cfg)
{
	static const char *const known[] = { "port",
					     "target_groups",
					     "retries",
					     "ray_500",
					     "timeout_client_ms",
					     "timeout_keep_alive_ms",
					     "timeout_http_request_ms",
					     "timeout_connect_ms",
					     "timeout_server_ms",
					     "pool_idle_ms",
					     "max_sessions",
					     "buffer_kb",
					     "router_buffer_kb",
					     "balance",
					     NULL };
	uint32_t u = cfg->http.port;
	int rc;

	if (!cJSON_IsObject(h))
		return jc_fail(p, "http: must be an object");
	if ((rc = check_keys(p, h, "http", known)))
		return rc;
	cfg->http.enabled = true;
	if ((rc = jc_get_uint(p, h, "port", "http", 1, 65535, &u)))
		return rc;
	cfg->http.port = (uint16_t)u;
	/* Tables are weir-cp's now (controlplane/): say where they went. */
	if (cJSON_GetObjectItemCaseSensitive(h, "target_groups"))
		return jc_fail(
			p,
			"http.target_groups: tables come from weir-cp now (weir-cp run --target-groups FILE)");
	if (cJSON_GetObjectItemCaseSensitive(h, "balance"))
		return jc_fail(
			p,
			"http.balance: the table carries it now (weir-cp run --balance ALGO)");
	if ((rc = jc_get_bool(p, h, "ray_500", "http", &cfg->http.ray_500)) ||
	    (rc = jc_get_uint(p, h, "retries", "http", 0, 10,
			      &cfg->http.retries)) ||
	    (rc = jc_get_uint(p, h, "timeout_client_ms", "http", 0, 86400000,
			      &cfg->http.timeout_client_ms)) ||
	    (rc = jc_get_uint(p, h, "timeout_keep_alive_ms", "http", 0,
			      86400000, &cfg->http.timeout_keep_alive_ms)) ||
	    (rc = jc_get_uint(p, h, "timeout_http_request_ms", "http", 0,
			      86400000, &cfg->http.timeout_http_request_ms)) ||
	    (rc = jc_get_uint(p, h, "timeout_connect_ms", "http", 0, 86400000,
			      &cfg->http.timeout_connect_ms)) ||
	    (rc = jc_get_uint(p, h, "timeout_server_ms", "http", 0, 86400000,
			      &cfg->http.timeout_server_ms)) ||
	    (rc = jc_get_uint(p, h, "pool_idle_ms", "http", 100, 3600000,
			      &cfg->http.pool_idle_ms)) ||
	    (rc = jc_get_uint(p, h, "max_sessions", "http", 16, 1000000,
			      &cfg->http.max_sessions)) ||
	    (rc = jc_get_uint(p, h, "buffer_kb", "http", 4, 1024,
			      &cfg->http.buffer_kb)) ||
	    (rc = jc_get_uint(p, h, "router_buffer_kb", "http", 1, 320,
			      &cfg->http.router_buffer_kb)))
		return rc;
	return 0;
}

static int parse_app(struct jc_ctx *p, const cJSON *app, unsigned int i,
		     struct dp_config *cfg)
{
	static const char *const known[] = { "port", "mode", "bytes", NULL };
	const cJSON *v;
	char path[24];
	uint32_t u = 0;
	int rc;

	snprintf(path, sizeof(path), "test_apps[%u]", i);
	if (!cJSON_IsObject(app))
		return jc_fail(p, "%s: must be an object", path);
	if ((rc = check_keys(p, app, path, known)))
		return rc;
	if (!cJSON_GetObjectItemCaseSensitive(app, "port"))
		return jc_fail(p, "%s.port: missing", path);
	if ((rc = jc_get_uint(p, app, "port", path, 1, 65535, &u)))
		return rc;
	cfg->apps[i].port = (uint16_t)u;
	for (unsigned int j = 0; j < i; j++)
		if (cfg->apps[j].port == cfg->apps[i].port)
			return jc_fail(p,
				       "%s.port: %u is used by test_apps[%u]",
				       path, u, j);
	v = cJSON_GetObjectItemCaseSensitive(app, "mode");
	if (!cJSON_IsString(v) ||
	    config_app_mode_parse(v->valuestring, &cfg->apps[i].mode))
		return jc_fail(
			p,
			"%s.mode: must be one of echo, discard, source, sink",
			path);
	v = cJSON_GetObjectItemCaseSensitive(app, "bytes");
	if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		  v->valuedouble > 1e15 ||
		  v->valuedouble != (double)(uint64_t)v->valuedouble))
		return jc_fail(p, "%s.bytes: must be a whole number of bytes",
			       path);
	if (cfg->apps[i].mode == APP_SOURCE && !v)
		return jc_fail(
			p,
			"%s.bytes: missing (source mode sends this many bytes)",
			path);
	cfg->apps[i].bytes = v ? (uint64_t)v->valuedouble : 0;
	return 0;
}

static int parse_apps(struct jc_ctx *p, const cJSON *apps,
		      struct dp_config *cfg)
{
	const cJSON *v;
	int rc;

	if (!cJSON_IsArray(apps))
		return jc_fail(p, "test_apps: must be a list");
	if (cJSON_GetArraySize(apps) > CFG_MAX_TEST_APPS)
		return jc_fail(p, "test_apps: at most %d", CFG_MAX_TEST_APPS);
	cJSON_ArrayForEach(v, apps)
	{
		if ((rc = parse_app(p, v, cfg->n_apps, cfg)))
			return rc;
		cfg->n_apps++;
	}
	return 0;
}

/* "memory": mbufs and ring size (a power of two). */
static int parse_memory(struct jc_ctx *p, const cJSON *v, struct dp_config *cfg)
{
	static const char *const mem_keys[] = { "mbufs", "ring_size", NULL };
	int rc;

	if (!cJSON_IsObject(v))
		return jc_fail(p, "memory: must be an object");
	if ((rc = check_keys(p, v, "memory", mem_keys)) ||
	    (rc = jc_get_uint(p, v, "mbufs", "memory", 1023, 4000000,
			      &cfg->memory.mbufs)) ||
	    (rc = jc_get_uint(p, v, "ring_size", "memory", 64, 65536,
			      &cfg->memory.ring_size)))
		return rc;
	if (cfg->memory.ring_size & (cfg->memory.ring_size - 1))
		return jc_fail(p, "memory.ring_size: must be a power of two");
	return 0;
}

/* "control": the control segment weir-cp publishes tables into. */
static int parse_control(struct jc_ctx *p, const cJSON *v,
			 struct dp_config *cfg)
{
	static const char *const keys[] = { "table_kb", "access_log_records",
					    NULL };
	uint32_t n;
	int rc;

	if (!cJSON_IsObject(v))
		return jc_fail(p, "control: must be an object");
	if ((rc = check_keys(p, v, "control", keys)) ||
	    (rc = jc_get_uint(p, v, "table_kb", "control", 64, 1048576,
			      &cfg->control.table_kb)) ||
	    (rc = jc_get_uint(p, v, "access_log_records", "control", 0,
			      WEIR_CTL_LOG_RECS_MAX,
			      &cfg->control.access_log_records)))
		return rc;
	n = cfg->control.access_log_records;
	if (n & (n - 1))
		return jc_fail(
			p,
			"control.access_log_records: %u is not a power of two (or 0: no access log)",
			n);
	return 0;
}

/* "arp": the neighbour cache's timers and tries. */
static int parse_arp(struct jc_ctx *p, const cJSON *v, struct dp_config *cfg)
{
	static const char *const arp_keys[] = { "reachable_s", "retry_ms",
						"tries", "failed_s", NULL };
	int rc;

	if (!cJSON_IsObject(v))
		return jc_fail(p, "arp: must be an object");
	if ((rc = check_keys(p, v, "arp", arp_keys)) ||
	    (rc = jc_get_uint(p, v, "reachable_s", "arp", 1, 86400,
			      &cfg->arp.reachable_s)) ||
	    (rc = jc_get_uint(p, v, "retry_ms", "arp", 10, 60000,
			      &cfg->arp.retry_ms)) ||
	    (rc = jc_get_uint(p, v, "tries", "arp", 1, 100, &cfg->arp.tries)) ||
	    (rc = jc_get_uint(p, v, "failed_s", "arp", 0, 3600,
			      &cfg->arp.failed_s)))
		return rc;
	return 0;
}

static int parse_sections(struct jc_ctx *p, const cJSON *root,
			  struct dp_config *cfg)
{
	static const char *const known[] = {
		"port",	   "vips",    "local_ip",      "prefix_len",
		"gateway", "workers", "cpus",	       "idle",
		"memory",  "arp",     "tcp",	       "test_apps",
		"http",	   "control", "ip_reassembly", NULL
	};
	const cJSON *v;
	uint32_t u;
	int rc;

	if ((rc = check_keys(p, root, "", known)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "port");
	if (!v)
		return jc_fail(p, "port: missing");
	if ((rc = parse_port(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "vips");
	if (!v)
		return jc_fail(p, "vips: missing");
	if ((rc = parse_vips(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "local_ip");
	if (!v)
		return jc_fail(p, "local_ip: missing");
	if ((rc = jc_ipv4(p, v, "local_ip", &cfg->local_ip)))
		return rc;
	u = cfg->prefix_len;
	if ((rc = jc_get_uint(p, root, "prefix_len", "", 8, 30, &u)))
		return rc;
	cfg->prefix_len = (uint8_t)u;
	v = cJSON_GetObjectItemCaseSensitive(root, "gateway");
	if (v && (rc = jc_ipv4(p, v, "gateway", &cfg->gateway)))
		return rc;
	if ((rc = jc_get_uint(p, root, "workers", "", 1, CFG_MAX_WORKERS,
			      &cfg->workers)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "cpus");
	if (v && (rc = parse_cpus(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "idle");
	if (v && (rc = parse_idle(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "memory");
	if (v && (rc = parse_memory(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "tcp");
	if (v && (rc = parse_tcp(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "http");
	if (v && (rc = parse_http(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "ip_reassembly");
	if (v && (rc = parse_reass(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "test_apps");
	if (v && (rc = parse_apps(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "arp");
	if (v && (rc = parse_arp(p, v, cfg)))
		return rc;
	v = cJSON_GetObjectItemCaseSensitive(root, "control");
	if (v && (rc = parse_control(p, v, cfg)))
		return rc;
	return 0;
}

/* Cross-field rules, checked once every field has its value. */
static int check_consistency(struct jc_ctx *p, const struct dp_config *cfg)
{
	uint32_t mask =
		htonl(cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0);
	char a[16];

	for (unsigned int i = 0; i < cfg->n_vips; i++)
		if (cfg->vips[i] == cfg->local_ip)
			return jc_fail(
				p, "local_ip: must differ from vips[%u] (%s)",
				i, config_ip_str(cfg->local_ip, a));
	if (cfg->gateway && (cfg->gateway & mask) != (cfg->local_ip & mask))
		return jc_fail(p, "gateway: %s is not in local_ip's /%u subnet",
			       config_ip_str(cfg->gateway, a), cfg->prefix_len);
	for (unsigned int i = 0; cfg->http.enabled && i < cfg->n_apps; i++)
		if (cfg->apps[i].port == cfg->http.port)
			return jc_fail(
				p, "test_apps[%u].port: %u is the http port", i,
				cfg->http.port);
	if (cfg->port.queues > cfg->workers)
		return jc_fail(p, "port.queues: %u is more than workers (%u)",
			       cfg->port.queues, cfg->workers);
	if ((uint64_t)cfg->reass.max_datagrams * cfg->reass.max_fragments *
		    cfg->workers >
	    cfg->memory.mbufs / 2)
		return jc_fail(
			p,
			"ip_reassembly.max_datagrams: %u x max_fragments %u x "
			"%u workers may hold more than half of "
			"memory.mbufs (%u)",
			cfg->reass.max_datagrams, cfg->reass.max_fragments,
			cfg->workers, cfg->memory.mbufs);
	return 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

int config_parse(const char *text, struct dp_config *cfg, char *err,
		 size_t errlen)
{
	struct jc_ctx p = { .err = err, .errlen = errlen };
	cJSON *root;
	int rc;

	config_defaults(cfg);
	root = cJSON_Parse(text);
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		return jc_fail(&p, "not valid JSON near \"%.20s\"",
			       at ? at : "");
	}
	if (!cJSON_IsObject(root))
		rc = jc_fail(&p, "the top level must be an object");
	else
		rc = parse_sections(&p, root, cfg);
	cJSON_Delete(root);
	if (!rc && !cfg->reass.given) /* the default shrinks to a small pool */
		cfg->reass.max_datagrams = min_u32(
			cfg->reass.max_datagrams,
			cfg->memory.mbufs / 2 /
				(cfg->workers * cfg->reass.max_fragments));
	return rc ? rc : check_consistency(&p, cfg);
}

int config_load(const char *path, struct dp_config *cfg, char *err,
		size_t errlen)
{
	char msg[256], *text;
	int rc = json_file_read(path, 1 << 20, &text, err, errlen);

	if (rc)
		return rc;
	rc = config_parse(text, cfg, msg, sizeof(msg));
	free(text);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}
