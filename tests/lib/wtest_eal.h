/* wtest_eal: an EAL for unit tests that need mbufs or rte_malloc: no
 * hugepages, no PCI, no files, one lcore, and one pktmbuf pool. */
#ifndef WEIR_WTEST_EAL_H
#define WEIR_WTEST_EAL_H

#include <stdio.h>
#include <stdlib.h>

#include <rte_eal.h>
#include <rte_mbuf.h>

/* Starts the EAL with mem_mb of ordinary memory and returns a pool of
 * n_mbufs default-sized mbufs; bails out (TAP) on failure. */
static inline struct rte_mempool *wt_eal_init(const char *mem_mb,
					      unsigned int n_mbufs)
{
	/* -m with --no-huge implies legacy memory, which --in-memory refuses;
	 * --no-shconf keeps the run free of files instead */
	char *argv[] = { "test",
			 "--no-huge",
			 "-m",
			 (char *)mem_mb,
			 "--no-pci",
			 "--no-shconf",
			 "--no-telemetry",
			 "--log-level=error",
			 "-l",
			 "0",
			 NULL };
	struct rte_mempool *pool;

	if (rte_eal_init(10, argv) < 0) {
		printf("Bail out! rte_eal_init failed\n");
		exit(1);
	}
	pool = rte_pktmbuf_pool_create("test_pool", n_mbufs, 0, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE,
				       SOCKET_ID_ANY);
	if (pool == NULL) {
		printf("Bail out! no mbuf pool\n");
		exit(1);
	}
	return pool;
}

#endif
