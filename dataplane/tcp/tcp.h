/* tcp: Weir's userspace TCP, one share-nothing instance per worker lcore,
 * with a small socket-like API for the proxy, splice and health checks.
 * On the fast path it never blocks, locks, allocates from the heap or makes
 * a syscall: TCBs come from a mempool sized by the config, data waits in
 * mbufs, flows are found in a per-worker rte_hash, timers live on the
 * worker's timing wheel.
 *
 * Why hand-written: DPDK ships no TCP; F-Stack, mTCP and Seastar each bring
 * their own runtime (FreeBSD's stack and its threads, mTCP's per-core
 * threads, Seastar's reactor), which would own our lcores, memory and
 * timers. Weir needs the TCP to be a library driven by its own burst loop,
 * in virtual time for tests.
 *
 * Congestion control is NewReno (RFC 5681/6582) with SACK-based loss
 * recovery (RFC 6675), not CUBIC: Weir's paths are data-centre paths with
 * sub-millisecond RTTs, where CUBIC runs in its Reno-friendly region
 * (RFC 9438 4.3) anyway, so it would add state and code without changing
 * behaviour, and NewReno's arithmetic is simple to check in virtual time.
 *
 * Loss detection: RFC 6675 (DupThresh/IsLost on the SACK scoreboard) plus
 * RACK-TLP's ideas (RFC 8985) with sequence order standing in for send
 * times: a retransmission that is lost again is detected when SACKs arrive
 * for data sent after it (a "fence" per retransmission); a hole below
 * SACKed data that sees no progress for 2 SRTT (>= 2 ms) is presumed lost
 * (recovery starts, or a stalled recovery re-sends its first hole) even
 * with too few segments in flight for DupThresh; and a lost tail is
 * repaired by a probe after 2 SRTT. Why not RACK itself: its time-based
 * marking needs a send timestamp per segment, and our send queue holds the
 * application's mbufs, not per-segment records; sequence order is the same
 * as send order except for retransmissions, which the fences cover. Measured
 * through 5% loss, 10% reordering and 1% duplication: RTOs fell from 161 to
 * 4 per 20 MiB (tools/bench/tcp_impaired.sh).
 *
 * Time is read once per entry point from env.clock (ns). Segments leave
 * through env.output as IPv4+TCP packets with software checksums.
 *
 * Wiring in a worker: after the owner check (tcp_flow.h has the pure
 * ownership functions), hand each TCP packet to tcp_input() with its data
 * at the IPv4 header; call tcp_timers_run() between bursts and never sleep
 * past tcp_next_timer(); env.output receives IPv4 packets (l3_len/l4_len
 * set, RTE_PKTMBUF_HEADROOM free in front) to put an Ethernet header on.
 *
 * Memory: a connection's send queue is counted in mbufs (snd_mbufs);
 * out-of-order data is held in the mbufs it arrived in, at most
 * TCP_REASS_BLOCK_SEGS per connection, with descriptor blocks lent from a
 * per-worker pool (reass_blocks) only while a gap is open; in-order data
 * belongs to the application and is flow-controlled in bytes through
 * tcp_recv_done(). tcp_send() and out-of-order arrivals refuse to take a
 * pool below mbuf_reserve, so queued data never starves the ACKs that
 * free it. A full TCB pool answers SYNs with RST (counted). TIME_WAIT
 * takes no TCB: a connection entering it leaves a 48-byte record in a
 * table of its own (tcp_tw.c, sized by max_time_wait) and frees its TCB.
 *
 * Done: handshake both ways (and simultaneous open) with MSS, window
 * scale, timestamps (PAWS, RFC 7323 4.3 TS.Recent) and SACK-permitted;
 * data both ways; delayed ACKs (every second segment, 40 ms); bounded
 * reassembly with SACK blocks; RFC 6298 RTO with back-off, Karn and a
 * configurable floor; NewReno + RFC 6675 recovery; lost-retransmission
 * detection and tail loss probes after RFC 8985; persist; keepalive;
 * application idle timeout; FIN/half-close and every close path; RFC 5961
 * challenge ACKs (rate-limited); short, compact TIME_WAIT (no TCB) with
 * timestamp-based reuse (RFC 6191 for SYNs, tw_reuse-like for our own
 * connects); RFC 6528 ISNs;
 * RSS-aware source ports; D-SACK reporting (RFC 2883). Not done: RACK's
 * per-segment timestamps and adaptive reordering window, D-SACK undo,
 * urgent data (ignored),
 * SYN cookies, ICMP errors/PMTU, IPv6, an out-of-order FIN (dropped; the
 * peer resends it).
 */
#ifndef WEIR_TCP_H
#define WEIR_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp_types.h"

/* ---- stack lifecycle (start-up only: these allocate) ---- */

/* Fills *cfg with the defaults documented in tcp_types.h. */
void tcp_config_defaults(struct tcp_config *cfg);

/* Creates one worker's stack: TCB mempool and flow table sized by
 * cfg->max_conns, on env->socket_id. Zero config fields take defaults.
 * Returns NULL with rte_errno set (EINVAL, ENOMEM, EEXIST for a name
 * already used). */
struct tcp_stack *tcp_stack_create(const struct tcp_config *cfg,
				   const struct tcp_env *env);

/* Aborts every connection silently (no RST), frees pools and the table. */
void tcp_stack_free(struct tcp_stack *stk);

/* ---- driving the stack from the worker loop ---- */

/* Takes one received IPv4 packet carrying TCP (data at the IPv4 header)
 * that this worker owns. Always consumes m. Returns 0 if a connection
 * or listener took it, -ENOENT if answered with RST / dropped for lack of
 * a flow, -EINVAL for a malformed or badly checksummed packet. */
int tcp_input(struct tcp_stack *stk, struct rte_mbuf *m);

/* Runs the timers due now. Call between bursts. */
void tcp_timers_run(struct tcp_stack *stk);

/* When tcp_timers_run() next has work (ns, stack clock); UINT64_MAX if
 * none. The idle back-off never sleeps past it. */
uint64_t tcp_next_timer(const struct tcp_stack *stk);

/* ---- listening ---- */

/* Accepts connections to ip:port (host order; ip 0 = any local address).
 * Returns 0, -EEXIST if already listening, -ENOSPC if the listener table
 * is full. */
int tcp_listen(struct tcp_stack *stk, uint32_t ip, uint16_t port,
	       tcp_accept_fn on_accept, void *ctx);

/* Stops accepting; established connections are untouched. 0 or -ENOENT. */
int tcp_unlisten(struct tcp_stack *stk, uint32_t ip, uint16_t port);

/* ---- connections ---- */

/* Opens toward remote_ip:remote_port from local_ip with a source port
 * from this worker's slice. The result is valid immediately (SYN_SENT);
 * on_connected or on_error(REFUSED / TIMEOUT) follows. Returns NULL with
 * *err = -ENOMEM (no TCB: counted), -EADDRNOTAVAIL (slice exhausted). */
struct tcp_conn *tcp_connect(struct tcp_stack *stk, uint32_t local_ip,
			     uint32_t remote_ip, uint16_t remote_port,
			     const struct tcp_conn_ops *ops, void *user,
			     int *err);

/* Sets the hooks and their argument (in an accept callback, or to hand a
 * connection over). */
void tcp_conn_set_ops(struct tcp_conn *c, const struct tcp_conn_ops *ops,
		      void *user);

/* Queues m's payload (data_off onwards, all segments) for sending. On 0
 * the stack owns m. -EAGAIN: the send queue is full (tcp_send_space() is
 * 0) — keep m, on_writable will follow; -ENOBUFS: the mbuf pool is down to
 * its RX reserve; -EPIPE: shut down or not connected; -EINVAL: empty. */
int tcp_send(struct tcp_conn *c, struct rte_mbuf *m);

/* How many more mbufs tcp_send() will take now (back-pressure). */
uint32_t tcp_send_space(const struct tcp_conn *c);

/* Bytes queued and not yet acknowledged. */
uint32_t tcp_send_queued(const struct tcp_conn *c);

/* The application has forwarded `bytes` of received data: the receive
 * window opens again by that much. */
void tcp_recv_done(struct tcp_conn *c, uint32_t bytes);

/* Half-close: FIN after the queued data; receiving goes on. 0, -EPIPE. */
int tcp_shutdown(struct tcp_conn *c);

/* Orderly close: like tcp_shutdown, and the application lets go: no more
 * callbacks, c must not be used again. Data that still arrives is
 * answered with RST (RFC 9293 3.10.7.4). */
void tcp_close(struct tcp_conn *c);

/* Abortive close: RST now, queued data dropped, c released at once. No
 * callbacks. */
void tcp_abort(struct tcp_conn *c);

/* Application idle timeout: if nothing is received for `ns`, the
 * connection is aborted with on_error(TIMEOUT). 0 disables. */
void tcp_set_idle_timeout(struct tcp_conn *c, uint64_t ns);

static inline enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
	return c->state;
}

static inline const struct tcp_flow_key *tcp_conn_key(const struct tcp_conn *c)
{
	return &c->key;
}

/* Connections holding a TCB (TIME_WAIT holds none), and free TCBs. */
uint32_t tcp_conn_count(const struct tcp_stack *stk);
unsigned int tcp_tcb_free_count(const struct tcp_stack *stk);

/* Compact TIME_WAIT records held, and the heap their table took at
 * creation (records and index, measured). */
uint32_t tcp_time_wait_count(const struct tcp_stack *stk);
uint64_t tcp_time_wait_bytes(const struct tcp_stack *stk);

const char *tcp_state_name(enum tcp_state s);

#endif
