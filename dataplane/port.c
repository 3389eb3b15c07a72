/* Port set-up: see port.h. The vdev is attached after EAL init with
 * rte_dev_probe(), which is what makes the af_packet fallback possible
 * without restarting EAL. */
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "port.h"

#define RX_DESC 1024
#define TX_DESC 1024
#define MBUF_CACHE 256

static int attach(const char *drv, const struct dp_config *cfg, uint16_t q,
		  struct port *p)
{
	char args[160];
	int rc;

	snprintf(p->dev_name, sizeof(p->dev_name), "%s0", drv);
	if (!strcmp(drv, "net_af_xdp"))
		/* busy_budget=0: no syscall on every empty poll (we back off
		 * ourselves); copy mode is what a veth offers. */
		snprintf(
			args, sizeof(args),
			"%s,iface=%s,start_queue=0,queue_count=%u,busy_budget=0",
			p->dev_name, cfg->port.iface, q);
	else
		snprintf(args, sizeof(args),
			 "%s,iface=%s,qpairs=%u,qdisc_bypass=1", p->dev_name,
			 cfg->port.iface, q);
	rc = rte_dev_probe(args);
	if (rc)
		return rc;
	if (rte_eth_dev_get_port_by_name(p->dev_name, &p->port_id))
		return -ENODEV;
	snprintf(p->driver, sizeof(p->driver), "%s", drv);
	return 0;
}

/* Returns the interface's combined (or RX) channel count, 1 if unknown:
 * af_xdp refuses a queue_count above it (a veth has exactly one). */
static uint16_t iface_channels(const char *iface)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	uint32_t n = 1;

	if (fd < 0)
		return 1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", iface);
	ifr.ifr_data = (void *)&ch;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		n = ch.combined_count ? ch.combined_count : ch.rx_count;
	close(fd);
	return (uint16_t)(n ? n : 1);
}

static int attach_any(const struct dp_config *cfg, uint16_t q, struct port *p,
		      char *err, size_t errlen)
{
	int rc = -ENODEV;

	if (cfg->port.driver != CFG_DRIVER_AF_PACKET) {
		rc = attach("net_af_xdp", cfg,
			    RTE_MIN(q, iface_channels(cfg->port.iface)), p);
		if (!rc || cfg->port.driver == CFG_DRIVER_AF_XDP)
			goto out;
		fprintf(stderr,
			"weir-dp: net_af_xdp on %s failed (%s); "
			"falling back to net_af_packet\n",
			cfg->port.iface, strerror(-rc));
	}
	rc = attach("net_af_packet", cfg, q, p);
out:
	if (rc)
		snprintf(err, errlen, "port.iface: cannot attach %s (%s)",
			 cfg->port.iface, strerror(rc < 0 ? -rc : rc));
	return rc;
}

/* Uses a checksum offload only when the device offers it and the config
 * allows it: per-NIC offload bugs are the classic DPDK-stack complaint. */
static void choose_offloads(const struct dp_config *cfg,
			    const struct rte_eth_dev_info *info, struct port *p,
			    struct rte_eth_conf *conf)
{
	p->rx_offload_capa = info->rx_offload_capa;
	p->tx_offload_capa = info->tx_offload_capa;
	p->rx_ipv4_cksum =
		cfg->port.rx_checksum_offload &&
		(info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM);
	p->rx_l4_cksum = cfg->port.rx_checksum_offload &&
			 (info->rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
	p->tx_ipv4_cksum =
		cfg->port.tx_checksum_offload &&
		(info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM);
	p->tx_l4_cksum = cfg->port.tx_checksum_offload &&
			 (info->tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
	if (p->rx_ipv4_cksum)
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
	if (p->rx_l4_cksum)
		conf->rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
	if (p->tx_ipv4_cksum)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
	if (p->tx_l4_cksum)
		conf->txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM;
}

static int create_pool(const struct dp_config *cfg, struct port *p, char *err,
		       size_t errlen)
{
	unsigned int n = cfg->memory.mbufs;
	double mib =
		(double)n * (RTE_MBUF_DEFAULT_BUF_SIZE + 128 + 64) / 1048576.0;

	printf("weir-dp: memory budget: %u mbufs of %u bytes = %.1f MiB of hugepages\n",
	       n, RTE_MBUF_DEFAULT_BUF_SIZE, mib);
	p->pool = rte_pktmbuf_pool_create("weir_mbufs", n, MBUF_CACHE, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_socket_id());
	if (!p->pool) {
		snprintf(err, errlen,
			 "memory.mbufs: %u mbufs (%.1f MiB) do not "
			 "fit in the free hugepages (%s)",
			 n, mib, rte_strerror(rte_errno));
		return -ENOMEM;
	}
	/* af_xdp maps the pool as its UMEM: it must be one virtual range. */
	if (p->pool->nb_mem_chunks != 1) {
		snprintf(
			err, errlen,
			"memory.mbufs: the mbuf pool is split in %u "
			"chunks; net_af_xdp needs one (use fewer mbufs or 1 GiB pages)",
			p->pool->nb_mem_chunks);
		return -ENOMEM;
	}
	return 0;
}

static int setup_queues(struct port *p, const struct rte_eth_dev_info *info,
			const struct rte_eth_conf *conf, char *err,
			size_t errlen)
{
	struct rte_eth_txconf txc = info->default_txconf;
	int rc;

	rc = rte_eth_dev_configure(p->port_id, p->n_queues, p->n_queues, conf);
	if (rc) {
		snprintf(err, errlen, "port: configure failed (%s)",
			 strerror(-rc));
		return rc;
	}
	txc.offloads = conf->txmode.offloads;
	for (uint16_t q = 0; q < p->n_queues; q++) {
		rc = rte_eth_rx_queue_setup(p->port_id, q, RX_DESC,
					    rte_socket_id(), NULL, p->pool);
		if (!rc)
			rc = rte_eth_tx_queue_setup(p->port_id, q, TX_DESC,
						    rte_socket_id(), &txc);
		if (rc) {
			snprintf(err, errlen,
				 "port: queue %u setup failed (%s)", q,
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int port_open(const struct dp_config *cfg, struct port *p, char *err,
	      size_t errlen)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	uint16_t want = cfg->port.queues ? cfg->port.queues :
					   (uint16_t)cfg->workers;
	int rc;

	memset(p, 0, sizeof(*p));
	p->port_id = RTE_MAX_ETHPORTS;
	if ((rc = create_pool(cfg, p, err, errlen)))
		return rc;
	if ((rc = attach_any(cfg, want, p, err, errlen)))
		return rc;
	if ((rc = rte_eth_dev_info_get(p->port_id, &info))) {
		snprintf(err, errlen, "port: no device info (%s)",
			 strerror(-rc));
		return rc;
	}
	p->n_queues =
		RTE_MIN(want, RTE_MIN(info.max_rx_queues, info.max_tx_queues));
	choose_offloads(cfg, &info, p, &conf);
	if ((rc = setup_queues(p, &info, &conf, err, errlen)))
		return rc;
	rc = rte_eth_dev_set_mtu(p->port_id, cfg->port.mtu);
	if (rc && rc != -ENOTSUP) {
		snprintf(err, errlen, "port.mtu: %u refused by %s (%s)",
			 cfg->port.mtu, p->driver, strerror(-rc));
		return rc;
	}
	if ((rc = rte_eth_dev_start(p->port_id))) {
		snprintf(err, errlen, "port: start failed (%s)", strerror(-rc));
		return rc;
	}
	rte_eth_macaddr_get(p->port_id, &p->mac);
	return 0;
}

void port_close(struct port *p)
{
	if (p->port_id < RTE_MAX_ETHPORTS) {
		rte_eth_dev_stop(p->port_id);
		/* Removing the vdev closes the port and gives the interface
		 * back to the kernel (af_xdp unloads its XDP program). */
		rte_eal_hotplug_remove("vdev", p->dev_name);
		p->port_id = RTE_MAX_ETHPORTS;
	}
	if (p->pool) {
		rte_mempool_free(p->pool);
		p->pool = NULL;
	}
}
