/* The per-lcore counter layout shared by weir-dp (the only writer: each lcore
 * writes its own cache-aligned block) and its readers (telemetry, weirctl,
 * later weir-cp). Readers sum the blocks; nothing on the fast path locks.
 * Every drop has its own reason here, so an operator can tell why a packet
 * died without a capture. */
#ifndef WEIR_STATS_H
#define WEIR_STATS_H

#include <stdint.h>

#include "weir/version.h"

/* X(name, help). Names are stable: tests and dashboards read them. */
#define WEIR_COUNTERS(X)                                                      \
	X(rx_frames, "frames received from the port or a hand-off ring")      \
	X(rx_bytes, "bytes received")                                         \
	X(tx_frames, "frames handed to the port")                             \
	X(tx_bytes, "bytes handed to the port")                               \
	X(handoff_out, "frames passed to their owner lcore")                  \
	X(handoff_in, "frames received from another lcore")                   \
	X(drop_handoff_full, "hand-off ring to the owner was full")           \
	X(drop_tx_full, "port TX queue or TX ring was full")                  \
	X(drop_eth_runt, "frame shorter than an Ethernet header")             \
	X(drop_eth_not_for_us, "destination MAC neither ours nor broadcast")  \
	X(drop_eth_bad_src, "source MAC multicast/broadcast")                 \
	X(drop_eth_unknown_type, "EtherType not ARP or IPv4")                 \
	X(drop_arp_runt, "ARP packet too short")                              \
	X(drop_arp_bad_htype, "ARP hardware type not Ethernet")               \
	X(drop_arp_bad_ptype, "ARP protocol type not IPv4")                   \
	X(drop_arp_bad_len, "ARP hlen/plen not 6/4")                          \
	X(drop_arp_bad_op, "ARP opcode neither request nor reply")            \
	X(drop_arp_bad_sender,                                                \
	  "ARP sender address invalid (0/bcast/mcast/ours)")                  \
	X(drop_arp_not_for_us, "ARP target is not one of our addresses")      \
	X(drop_ip_runt, "IPv4 packet shorter than 20 bytes")                  \
	X(drop_ip_bad_version, "IP version is not 4")                         \
	X(drop_ip_bad_ihl, "IPv4 IHL below 5")                                \
	X(drop_ip_bad_totlen, "IPv4 total length below header length")        \
	X(drop_ip_truncated, "IPv4 total length or IHL beyond the frame")     \
	X(drop_ip_bad_csum, "IPv4 header checksum wrong")                     \
	X(drop_ip_ttl_zero, "IPv4 TTL is zero")                               \
	X(drop_ip_fragment, "IPv4 fragment, reassembly off")                  \
	X(drop_ip_frag_bad,                                                   \
	  "IPv4 fragment empty, not 8-byte aligned or ending past 64 KiB")    \
	X(drop_ip_frag_invalid,                                               \
	  "IPv4 fragment set dropped whole: overlapping or ends twice")       \
	X(drop_ip_frag_duplicate, "IPv4 fragment repeated (set kept)")        \
	X(drop_ip_frag_too_many,                                              \
	  "IPv4 fragment beyond ip_reassembly.max_fragments of its datagram") \
	X(drop_ip_frag_table_full,                                            \
	  "IPv4 fragment of a new datagram: reassembly table full")           \
	X(drop_ip_frag_timeout,                                               \
	  "IPv4 fragments dropped: their datagram timed out incomplete")      \
	X(drop_ip_reass_too_big,                                              \
	  "reassembled IPv4 datagram larger than one mbuf")                   \
	X(drop_ip_bad_src,                                                    \
	  "IPv4 source is 0, broadcast, multicast, loopback or ours")         \
	X(drop_ip_not_for_us, "IPv4 destination is not one of our addresses") \
	X(drop_ip_unknown_proto, "IPv4 protocol we do not serve")             \
	X(drop_icmp_runt, "ICMP message too short")                           \
	X(drop_icmp_bad_csum, "ICMP checksum wrong")                          \
	X(drop_icmp_unhandled, "ICMP type we do not answer")                  \
	X(drop_arp_hold_full,                                                 \
	  "packet waiting for ARP dropped: hold queue full")                  \
	X(drop_arp_failed, "packet dropped: neighbour did not answer ARP")    \
	X(drop_no_route, "no next hop for the destination")                   \
	X(drop_nombuf, "mbuf allocation failed")                              \
	X(arp_requests_rx, "ARP requests answered")                           \
	X(arp_replies_rx, "ARP replies learned")                              \
	X(arp_requests_tx, "ARP requests sent (resolution and retries)")      \
	X(icmp_echo_replies, "ICMP echo replies sent")                        \
	X(tcp_segments_in, "TCP segments passed to the owner's stack")        \
	X(ip_frags_in, "IPv4 fragments taken for reassembly")                 \
	X(ip_reassembled, "IPv4 datagrams reassembled from fragments")        \
	X(poll_busy_cycles, "TSC cycles in polls that found work")            \
	X(poll_idle_cycles, "TSC cycles in polls that found nothing")         \
	X(idle_sleeps, "times the idle back-off slept")                       \
	X(table_adopt_failed,                                                 \
	  "tables from weir-cp not adopted (no memory or server slot)")

enum weir_counter {
#define WEIR_X_ENUM(name, help) WEIR_CTR_##name,
	WEIR_COUNTERS(WEIR_X_ENUM)
#undef WEIR_X_ENUM
	WEIR_CTR_MAX
};

#define WEIR_MAX_LCORES 16

/* One block per lcore, alone on its cache lines: single writer, no atomics
 * needed on x86-64 for aligned 64-bit stores; readers may see a value one
 * update old, never a torn one. */
struct weir_lcore_stats {
	uint64_t c[WEIR_CTR_MAX];
} __attribute__((aligned(64)));

/* Returns the stable name of a counter, or NULL when out of range. */
static inline const char *weir_counter_name(unsigned int id)
{
	static const char *const names[] = {
#define WEIR_X_NAME(name, help) #name,
		WEIR_COUNTERS(WEIR_X_NAME)
#undef WEIR_X_NAME
	};
	return id < WEIR_CTR_MAX ? names[id] : NULL;
}

/* Returns the one-line help of a counter, or NULL when out of range. */
static inline const char *weir_counter_help(unsigned int id)
{
	static const char *const helps[] = {
#define WEIR_X_HELP(name, help) help,
		WEIR_COUNTERS(WEIR_X_HELP)
#undef WEIR_X_HELP
	};
	return id < WEIR_CTR_MAX ? helps[id] : NULL;
}

#endif
