/* weir-dp's read-only view for operators, over DPDK telemetry (the socket
 * dpdk-telemetry.py and weirctl read): /weir/info, /weir/stats (summed over
 * lcores), /weir/stats/lcores, /weir/arp. Callbacks run on the telemetry
 * thread and only read: counters (single-writer words) and the ARP cache
 * (seqlock readers). Until weir-cp exists this is the control surface. */
#ifndef WEIR_TELEMETRY_H
#define WEIR_TELEMETRY_H

#include "worker.h"

/* Registers the /weir/ commands for dp. Returns 0 or a negative errno. */
int dp_telemetry_register(struct dataplane *dp);

#endif
