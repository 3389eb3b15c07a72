/* weir-dp's configuration file (JSON): parsed and validated in one place, by
 * weir-dp at start and by `weir-cp --check-config`, so both say the same.
 * Every error names the field (`port.iface: missing`). No DPDK here: this
 * runs before EAL init. Defaults are listed in README.md ("Configuration"). */
#ifndef WEIR_CONFIG_H
#define WEIR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CFG_MAX_VIPS 16
#define CFG_MAX_WORKERS 8
#define CFG_IFNAME_MAX 16

#define CFG_MAX_TEST_APPS 8

enum cfg_driver {
	CFG_DRIVER_AUTO,
	CFG_DRIVER_AF_XDP,
	CFG_DRIVER_AF_PACKET
};
/* Test-application modes (tests and benchmarks only; see dataplane/app). */
enum cfg_app_mode {
	APP_ECHO,
	APP_DISCARD,
	APP_SOURCE,
	APP_SINK,
	APP_MODE_COUNT
};
enum cfg_idle {
	CFG_IDLE_BACKOFF,
	CFG_IDLE_BUSY
};

struct dp_config {
	struct {
		enum cfg_driver driver;
		char iface[CFG_IFNAME_MAX];
		uint16_t queues; /* 0: as many as the device and workers allow */
		uint16_t mtu;
		bool rx_checksum_offload; /* used only if the port offers it */
		bool tx_checksum_offload;
	} port;
	uint32_t vips[CFG_MAX_VIPS]; /* network byte order */
	unsigned int n_vips;
	uint32_t local_ip; /* network order; source address toward backends */
	uint8_t prefix_len; /* of the on-link subnet */
	uint32_t gateway; /* network order; 0 = none */
	unsigned int workers;
	int cpus[CFG_MAX_WORKERS]; /* CPU of each worker lcore; -1 = auto */
	struct {
		enum cfg_idle policy;
		uint32_t spin_polls; /* empty polls before the first sleep */
		uint32_t max_sleep_us; /* longest sleep while recently busy */
		uint32_t deep_after_ms; /* idle this long: allow deep sleeps */
		uint32_t deep_sleep_us; /* longest sleep when long idle */
	} idle;
	struct {
		uint32_t mbufs; /* mbufs in the packet pool */
		uint32_t ring_size; /* each lcore-to-lcore hand-off ring */
	} memory;
	struct {
		uint32_t reachable_s, retry_ms, tries, failed_s;
	} arp;
	struct {
		uint32_t table_kb; /* each control-segment slot (ctl.h) */
		uint32_t access_log_records; /* per worker; 0: no access log */
	} control;
	struct {
		uint32_t max_connections; /* TCBs per worker (TIME_WAIT apart) */
		uint32_t max_time_wait; /* compact TIME_WAIT records per worker */
		uint32_t rto_min_ms;
		uint32_t time_wait_ms; /* our short 2MSL */
		uint32_t delack_ms;
		uint32_t rcv_buf_kb; /* receive window per connection */
		uint32_t snd_mbufs; /* send queue per connection */
		uint32_t syn_retries; /* SYN retransmissions before a timeout */
	} tcp;
	struct {
		uint32_t max_datagrams; /* per worker; 0: fragments dropped */
		uint32_t timeout_ms; /* first fragment to last */
		uint32_t max_fragments; /* per datagram, 2..8 */
		bool given; /* an "ip_reassembly" section was given */
	} reass;
	struct {
		bool enabled; /* an "http" section was given */
		uint16_t port; /* Ray's frontend port: 8000 */
		uint32_t retries; /* redispatches per request: 1 */
		bool ray_500; /* 502/504 become Ray's exact 500 */
		uint32_t timeout_client_ms, timeout_keep_alive_ms;
		uint32_t timeout_http_request_ms, timeout_connect_ms;
		uint32_t timeout_server_ms, pool_idle_ms;
		uint32_t max_sessions; /* client connections per worker */
		uint32_t buffer_kb; /* head buffer (Ray's tune.bufsize): 16 */
		uint32_t router_buffer_kb; /* body to the router: 256 */
	} http;
	struct {
		uint16_t port;
		enum cfg_app_mode mode;
		uint64_t bytes; /* APP_SOURCE: how much to send */
	} apps[CFG_MAX_TEST_APPS];
	unsigned int n_apps;
};

/* Returns "echo", "discard", "source" or "sink". */
const char *config_app_mode_name(enum cfg_app_mode m);

/* Parses a mode name; returns 0 or -EINVAL. */
int config_app_mode_parse(const char *name, enum cfg_app_mode *m);

/* Fills cfg with every default. */
void config_defaults(struct dp_config *cfg);

/* Parses the JSON text into cfg (defaults first, then the file's values).
 * Returns 0, or -EINVAL with a one-line message naming the field in err. */
int config_parse(const char *text, struct dp_config *cfg, char *err,
		 size_t errlen);

/* Reads and parses the file at path. Returns 0, -EINVAL (err set, with the
 * path) or -errno when the file cannot be read. */
int config_load(const char *path, struct dp_config *cfg, char *err,
		size_t errlen);

/* Writes a dotted-quad for a network-order address into buf (>= 16 bytes);
 * returns buf. */
const char *config_ip_str(uint32_t ip, char *buf);

#endif
