/* The port: attaches the configured interface through a vdev (net_af_xdp,
 * falling back to net_af_packet), creates the packet mempool, probes the
 * offloads the device really has, and sets up queues. Start-up only; nothing
 * here runs on the fast path. */
#ifndef WEIR_PORT_H
#define WEIR_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "config/config.h"

struct port {
	uint16_t port_id;
	uint16_t n_queues;
	char driver[32]; /* "net_af_xdp" or "net_af_packet" */
	char dev_name[64];
	struct rte_ether_addr mac;
	struct rte_mempool *pool;
	bool rx_ipv4_cksum, rx_l4_cksum; /* offloads in use */
	bool tx_ipv4_cksum, tx_l4_cksum;
	uint64_t rx_offload_capa, tx_offload_capa; /* what the port offers */
};

/* Creates the mempool and attaches, configures and starts the port.
 * Returns 0, or a negative errno with a message in err. */
int port_open(const struct dp_config *cfg, struct port *p, char *err,
	      size_t errlen);

/* Stops and detaches the port and frees the pool. Safe after a failure. */
void port_close(struct port *p);

#endif
