/* tcp_types: the data model of Weir's userspace TCP (configuration, TCB,
 * per-worker stack, counters), apart from the functions (HAProxy's -t.h
 * split). Every object here belongs to exactly one worker lcore: no field
 * is shared, locked or atomic. */
#ifndef WEIR_TCP_TYPES_H
#define WEIR_TCP_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_reass.h"
#include "tcp/tcp_rto.h"
#include "tcp/tcp_sack.h"
#include "timer/timer_wheel.h"

struct rte_mbuf;
struct rte_mempool;
struct rte_hash;
struct tcp_conn;
struct tcp_stack;

/* RFC 9293 3.3.2 states, named. */
enum tcp_state {
	TCP_CLOSED = 0,
	TCP_LISTEN,
	TCP_SYN_SENT,
	TCP_SYN_RCVD,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
	TCP_STATE_COUNT
};

/* Why a connection ended abnormally (tcp_conn_ops.on_error). */
enum tcp_error {
	TCP_ERR_RESET = 1, /* the peer sent an acceptable RST */
	TCP_ERR_TIMEOUT, /* retransmissions or connect attempts gave up */
	TCP_ERR_REFUSED, /* RST in answer to our SYN */
	TCP_ERR_NOMEM, /* no mbuf for a mandatory segment */
};

/* A connection's identity, host byte order, from the local side. */
struct tcp_flow_key {
	uint32_t local_ip;
	uint32_t remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
};

/* Knobs; zero fields take the defaults given (tcp_config_defaults()). */
struct tcp_config {
	uint32_t max_conns; /* TCB pool size (TIME_WAIT holds none); 1024 */
	uint32_t max_time_wait; /* compact TIME_WAIT records: 4 * max_conns */
	uint16_t mss; /* our MSS (IPv4 MTU 1500): 1460 */
	uint32_t rcv_buf; /* receive window budget, bytes: 256 KiB */
	uint16_t snd_mbufs; /* send queue per connection, mbufs: 128 */
	uint32_t reass_blocks; /* connections that may hold out-of-order
				      data at once (each may hold up to
				      TCP_REASS_BLOCK_SEGS segments):
				      max_conns / 4 + 8 */
	uint32_t mbuf_reserve; /* free pool mbufs kept for RX/ACKs: 256 */
	uint32_t rto_min_us; /* 200 ms */
	uint32_t rto_max_us; /* 60 s */
	uint8_t syn_retries; /* SYN retransmissions before TIMEOUT: 5 */
	uint8_t data_retries; /* RTO expiries before TIMEOUT: 8 */
	uint32_t delack_us; /* delayed-ACK timeout: 40 ms */
	uint64_t time_wait_ns; /* our short 2MSL: 2 s */
	uint64_t fin_wait2_ns; /* orphaned FIN_WAIT_2 limit: 30 s */
	uint64_t keepalive_ns; /* idle before the first probe; 0 = off */
	uint64_t keepalive_intvl_ns; /* between probes: 10 s */
	uint8_t keepalive_probes; /* unanswered probes before TIMEOUT: 5 */
	uint32_t challenge_ack_limit; /* per second per worker (RFC 5961 7): 1000 */
	uint64_t tick_ns; /* timing-wheel tick: 100 us */
	uint16_t port_lo, port_hi; /* local source ports of all workers:
				      10000..59999 */
	uint16_t worker_id, n_workers; /* this worker's slice: 0 of 1 */
	/* RSS NICs: with a key set, source ports are also chosen so that the
	 * backend's replies hash (rte_softrss, RETA round robin) to
	 * rss_queue; NULL (the default, and af_xdp) skips the check */
	const uint8_t *rss_key; /* 40 bytes, e.g. tcp_rss_symmetric_key */
	uint16_t rss_reta_size, rss_queue, rss_n_queues;
	bool no_sack, no_timestamps, no_wscale; /* switch options off */
	bool no_tlp; /* no tail loss probes (RFC 8985 7) */
};

/* Per-worker counters, single writer; readers sum them. */
struct tcp_stats {
	uint64_t active_opens, passive_opens, established;
	uint64_t closed, aborted, resets_rcvd, resets_sent;
	uint64_t conn_timeouts, refused;
	uint64_t nomem_tcb, nomem_mbuf, no_port;
	uint64_t segs_in, segs_out, bad_csum, bad_hdr, no_flow;
	uint64_t retransmits, rto_fires, fast_recoveries, persist_probes;
	uint64_t challenge_acks, challenge_acks_limited, paws_drops;
	uint64_t ooo_queued, ooo_dropped, delayed_acks, tw_reused;
	uint64_t lost_retransmits, tlp_probes, nomem_reass;
	uint64_t listen_syn_fin, listen_no_flags; /* dropped at a listener */
	/* compact TIME_WAIT (tcp_tw.c) */
	uint64_t tw_entered, tw_expired, tw_evicted; /* evicted: table full */
	uint64_t tw_fin_reacked, tw_old_dups, tw_killed; /* killed: exact RST */
};

/* What the application (proxy, splice, health check) is told. Every hook
 * is optional. A connection stays valid until on_error or on_closed has
 * returned, or until the application itself calls tcp_close/tcp_abort. */
struct tcp_conn_ops {
	/* Active open completed (SYN-ACK received). */
	void (*on_connected)(struct tcp_conn *c, void *user);
	/* In-order payload, headers stripped; the mbuf is now the
	 * application's. Call tcp_recv_done() once it is forwarded, to
	 * reopen the window. */
	void (*on_recv)(struct tcp_conn *c, void *user, struct rte_mbuf *m);
	/* Send-queue space came back after tcp_send() said -EAGAIN. */
	void (*on_writable)(struct tcp_conn *c, void *user);
	/* The peer finished sending (FIN): no more on_recv. */
	void (*on_peer_fin)(struct tcp_conn *c, void *user);
	/* Abnormal end; the connection is gone once this returns. */
	void (*on_error)(struct tcp_conn *c, void *user, enum tcp_error err);
	/* Both directions closed in order; gone once this returns. */
	void (*on_closed)(struct tcp_conn *c, void *user);
};

/* A listener accepts by returning 0 after tcp_conn_set_ops(); a negative
 * return refuses with RST. Called when the handshake completes. */
typedef int (*tcp_accept_fn)(struct tcp_conn *c, void *listen_ctx);

#define TCP_MAX_LISTENERS 64
/* Out-of-order segments one connection may hold: a 256 KiB window's worth
 * of full segments, so one loss does not make the receiver drop the rest
 * of the window. Lent from a per-worker pool only while needed. */
#define TCP_REASS_BLOCK_SEGS 256
#define TCP_RXT_LOG 8 /* retransmissions watched for loss per recovery */

/* One retransmission in the current recovery: [seq, end) went out again
 * when snd_max was `fence`. SACKs above the fence, while [seq, end) is
 * still missing, prove that copy was lost too. */
struct tcp_rxt_rec {
	uint32_t seq, end, fence;
};
#define TCP_SNDQ_MAX 256

struct tcp_listener {
	uint32_t ip;
	uint16_t port;
	bool used;
	tcp_accept_fn on_accept;
	void *ctx;
};

/* Connection flags. */
#define TCP_F_SACK_OK 0x0001u /* both sides sent SACK-permitted */
#define TCP_F_TS_OK 0x0002u /* both sides sent timestamps */
#define TCP_F_WS_OK 0x0004u /* both sides sent window scale */
#define TCP_F_FIN_QUEUED 0x0008u /* application shut down sending */
#define TCP_F_FIN_SENT 0x0010u
#define TCP_F_ACK_NOW 0x0020u /* send an ACK at the end of input */
#define TCP_F_CLOSED_APP 0x0040u /* orphan: application closed, no callbacks */
#define TCP_F_IN_RECOVERY 0x0080u
#define TCP_F_DEAD 0x0100u /* released at the end of this entry */
#define TCP_F_RTT_TIMING 0x0200u /* rtt_seq is being timed */
#define TCP_F_PEER_FIN 0x0400u /* FIN received and consumed */
#define TCP_F_PASSIVE 0x0800u /* created by a listener */
#define TCP_F_WANT_WRITE 0x1000u /* tcp_send() refused: call on_writable */
#define TCP_F_TLP_OUT 0x2000u /* a tail loss probe awaits its ACK */
#define TCP_F_TLP_RESCHED 0x4000u /* new data sent or acked: re-plan the PTO */
#define TCP_F_ISS_SET 0x8000u /* iss chosen before the handshake (TIME_WAIT) */

/* The TCB. Sequence variables follow RFC 9293 names. */
struct tcp_conn {
	struct tcp_stack *stk;
	struct tcp_flow_key key;
	enum tcp_state state;
	uint32_t flags;
	struct tw_entry timer; /* the one wheel entry (lazy re-arm) */
	struct tcp_conn *next_dead; /* deferred release list */
	const struct tcp_conn_ops *ops;
	void *user;
	struct tcp_listener *listener;

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max; /* snd_max: highest sent */
	uint32_t snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
	uint16_t mss; /* effective send MSS, options removed */
	uint16_t peer_mss;
	uint8_t snd_wscale, rcv_wscale;
	uint16_t sndq_head, sndq_n; /* ring of queued mbufs */
	uint32_t sndq_bytes; /* bytes queued, sent or not, unacked */
	uint32_t sndq_head_off; /* acked bytes of the head mbuf */

	/* congestion control (tcp_cc.c) and loss recovery */
	uint32_t cwnd, ssthresh, recover, high_rxt;
	uint32_t bytes_acked; /* congestion-avoidance accumulator */
	uint8_t dupacks;
	uint8_t rxt_n; /* entries in rxt_log */
	struct tcp_rxt_rec rxt_log[TCP_RXT_LOG];
	struct tcp_sack_board sack;
	struct tcp_rto rto;
	uint32_t rtt_seq; /* Karn timing of one segment at a time */
	uint64_t rtt_start_ns;
	uint8_t retries; /* consecutive RTO expiries */
	uint8_t persist_backoff;

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
	uint32_t rcv_unread; /* bytes delivered, not yet recv_done */
	uint32_t last_ack_sent;
	uint16_t unacked_segs; /* full segments since our last ACK */
	struct tcp_reass reass;

	/* timestamps (RFC 7323) */
	uint32_t ts_recent, ts_offset;
	uint64_t ts_recent_ns; /* when ts_recent was stored */

	/* deadlines in ns on the stack clock, 0 = off */
	uint64_t t_rexmit, t_delack, t_persist, t_keepalive, t_2msl, t_idle;
	uint64_t t_tlp; /* tail loss probe (RFC 8985 7) */
	uint64_t last_rcv_ns;
	uint64_t idle_ns; /* application idle timeout */
	uint32_t dsack_start,
		dsack_end; /* RFC 2883: a duplicate to report once */
	uint8_t ka_probes;

	/* last: not cleared on allocation */
	struct rte_mbuf *sndq[TCP_SNDQ_MAX]; /* ring of queued mbufs */
};

/* A connection in TIME_WAIT once its TCB is gone (#20): what answering the
 * peer for 2MSL needs (RFC 9293 3.10.7.4: re-ACK a retransmitted FIN,
 * ACK old duplicates; RFC 6191: a newer SYN may reopen the 4-tuple), and
 * the links of the table's expiry list: 48 bytes, a TCB is 2,672. */
struct tcp_tw_rec {
	uint64_t expires; /* ns, stack clock */
	struct tcp_flow_key key;
	uint32_t snd_nxt; /* ours, past our FIN */
	uint32_t rcv_nxt; /* past the peer's FIN */
	uint32_t ts_recent; /* the peer's last TSval (RFC 7323) */
	uint32_t ts_offset; /* ours: our TSvals keep growing */
	uint32_t older, newer; /* expiry list, TCP_TW_NONE at the ends */
	uint16_t wnd; /* window field we advertise (scaled) */
	uint8_t rcv_wscale;
	uint8_t ts_ok; /* both sides sent timestamps */
};
_Static_assert(sizeof(struct tcp_tw_rec) == 48, "TIME_WAIT record grew");
#define TCP_TW_NONE UINT32_MAX

/* The compact TIME_WAIT records of one worker, sized apart from the TCB
 * pool (tcp_config.max_time_wait). Records enter with the same lifetime, so
 * the list from `oldest` is in expiry order: one wheel entry, armed for the
 * oldest, expires them all, and a full table drops the oldest (counted, as
 * Linux does when its time-wait buckets overflow), never a new SYN. */
struct tcp_tw_table {
	struct rte_hash *index; /* tcp_flow_key -> position in recs */
	struct tcp_tw_rec *recs; /* max entries, by hash position */
	uint32_t max, n;
	uint32_t oldest, newest;
	struct tw_entry timer;
	uint64_t mem_bytes; /* heap taken by recs and index, measured */
};

/* Where segments go and where time comes from: injected, so the same code
 * runs on a port (weir-dp) and in virtual time (tests). */
struct tcp_env {
	/* Takes one IPv4+TCP packet (headers built, checksums computed in
	 * software, data starting at the IPv4 header, Ethernet headroom
	 * left) and owns it afterwards. */
	void (*output)(void *ctx, struct rte_mbuf *m);
	void *output_ctx;
	uint64_t (*clock)(void *ctx); /* ns, monotonic */
	void *clock_ctx;
	struct rte_mempool *tx_pool; /* pktmbuf pool for segments we build */
	int socket_id;
	const char *name; /* unique per worker: names pools */
	uint8_t isn_secret[16]; /* RFC 6528 key; random per boot */
};

/* One worker's TCP. */
struct tcp_stack {
	struct tcp_config cfg;
	struct tcp_env env;
	uint64_t now; /* clock read at the current entry */
	struct rte_hash *flows; /* tcp_flow_key -> tcp_conn */
	struct rte_mempool *tcb_pool;
	struct rte_mempool
		*reass_pool; /* TCP_REASS_BLOCK_SEGS descriptors each */
	struct tw_wheel wheel;
	struct tcp_listener listeners[TCP_MAX_LISTENERS];
	struct tcp_tw_table tw;
	struct tcp_conn *dead; /* released when depth returns to 0 */
	struct tcp_conn *input_conn; /* the connection tcp_input is processing */
	unsigned int depth; /* nesting of entries (callbacks) */
	uint32_t n_conns;
	uint16_t next_port; /* ephemeral cursor in our slice */
	uint16_t slice_lo, slice_hi;
	uint32_t challenge_acks_this_sec;
	uint64_t challenge_sec;
	uint32_t ip_id;
	struct tcp_stats stats;
};

#endif
