/* tcp_internal: what the TCP core's files (tcp.c, tcp_input.c,
 * tcp_output.c, tcp_timer.c, tcp_cc.c, tcp_flow.c) share and nobody else
 * may use. Same rules as tcp.h: no blocking, locking or heap on these
 * paths. */
#ifndef WEIR_TCP_INTERNAL_H
#define WEIR_TCP_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp/tcp.h"
#include "tcp/tcp_seq.h"

/* TCP header flags */
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_PSH 0x08
#define TH_ACK 0x10
#define TH_URG 0x20

#define TCP_TS_HZ_NS 1000000ull /* timestamp clock: 1 ms (RFC 7323 5.4) */
#define TCP_PAWS_IDLE_NS (24ull * 86400 * 1000000000ull) /* RFC 7323 5.5 */
#define TCP_DEFAULT_PEER_MSS 536 /* RFC 9293 3.7.1 without the option */
#define TCP_MAX_WSCALE 14
#define TCP_TLP_MIN_NS 1000000ull /* tail-loss-probe floor: 1 ms */

/* The window-scale shift that lets rcv_buf be advertised (RFC 7323 2.3). */
static inline uint8_t tcp_wscale_for(uint32_t rcv_buf)
{
	uint8_t s = 0;

	while (s < TCP_MAX_WSCALE && (rcv_buf >> s) > 65535)
		s++;
	return s;
}

/* A received segment, parsed. */
struct tcp_seg {
	uint32_t seq, ack, wnd; /* wnd not yet scaled */
	uint32_t len; /* payload bytes */
	uint32_t payload_off; /* from the start of the IPv4 header */
	uint8_t flags;
	bool has_mss, has_ws, sack_perm, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t n_sack;
	struct tcp_sack_block sack[TCP_SACK_MAX_BLOCKS];
};

/* tcp.c: lifecycle and callbacks */
struct tcp_conn *tcp_conn_alloc(struct tcp_stack *stk,
				const struct tcp_flow_key *k);
void tcp_conn_release(struct tcp_conn *c); /* deferred to entry exit */
void tcp_conn_error(struct tcp_conn *c, enum tcp_error err); /* + release */
void tcp_conn_closed(struct tcp_conn *c); /* on_closed + release */
void tcp_enter_time_wait(struct tcp_conn *c);
void tcp_stack_enter(struct tcp_stack *stk);
void tcp_stack_leave(struct tcp_stack *stk);
void tcp_sndq_drop_acked(struct tcp_conn *c, uint32_t acked);
/* out-of-order descriptors, lent while data is held out of order */
bool tcp_reass_block_get(struct tcp_conn *c);
void tcp_reass_block_put(struct tcp_conn *c); /* only if empty */
/* ISN, timestamp offset, first SYN or SYN-ACK and its timer (both opens) */
void tcp_start_handshake(struct tcp_conn *c);

/* tcp_flow.c: the table */
int tcp_flow_table_create(struct tcp_stack *stk);
struct tcp_conn *tcp_flow_lookup(struct tcp_stack *stk,
				 const struct tcp_flow_key *k);
int tcp_flow_add(struct tcp_stack *stk, struct tcp_conn *c);
void tcp_flow_del(struct tcp_stack *stk, struct tcp_conn *c);
int tcp_flow_pick_port(struct tcp_stack *stk, struct tcp_flow_key *k);

/* tcp_output.c */
void tcp_output(struct tcp_conn *c); /* send what may be sent */
void tcp_send_ack(struct tcp_conn *c);
void tcp_send_syn(struct tcp_conn *c); /* SYN or SYN-ACK by state */
void tcp_send_rst(struct tcp_conn *c); /* RST from the TCB */
void tcp_send_keepalive(struct tcp_conn *c);
void tcp_send_persist_probe(struct tcp_conn *c);
int tcp_retransmit(struct tcp_conn *c, uint32_t seq, uint32_t len);
/* RST answering a segment that has no connection (RFC 9293 3.10.7.1) */
void tcp_reply_rst(struct tcp_stack *stk, const struct tcp_flow_key *k,
		   const struct tcp_seg *seg);
uint32_t tcp_rcv_window(const struct tcp_conn *c);
uint32_t tcp_ts_now(const struct tcp_conn *c);
uint32_t tcp_flight(const struct tcp_conn *c); /* snd_max - snd_una */

/* tcp_tw.c: compact TIME_WAIT records (no TCB) */
enum tcp_tw_verdict {
	TCP_TW_DROP, /* nothing to send */
	TCP_TW_ACK, /* ACK, within the challenge-ACK budget */
	TCP_TW_ACK_NOW, /* ACK a retransmitted FIN, always */
	TCP_TW_REOPEN, /* a newer SYN: remove the record, open anew */
};
int tcp_tw_create(struct tcp_stack *stk); /* start-up: 0 or -errno */
void tcp_tw_free(struct tcp_stack *stk);
/* Records c (entering TIME_WAIT); the caller then releases the TCB. A full
 * table drops its oldest record first (tw_evicted). */
void tcp_tw_add(struct tcp_conn *c);
struct tcp_tw_rec *tcp_tw_lookup(struct tcp_stack *stk,
				 const struct tcp_flow_key *k);
void tcp_tw_remove(struct tcp_stack *stk, struct tcp_tw_rec *r);
/* What a segment for record r calls for; may remove r (exact RST). */
enum tcp_tw_verdict tcp_tw_input(struct tcp_stack *stk, struct tcp_tw_rec *r,
				 const struct tcp_seg *s);
/* True if an active open must not take k's port: a record holds it and
 * may not be reused yet (one that may is removed, tw_reused). */
bool tcp_tw_port_busy(struct tcp_stack *stk, const struct tcp_flow_key *k);
void tcp_tw_send_ack(struct tcp_stack *stk,
		     const struct tcp_tw_rec *r); /* tcp_output.c */

/* tcp_timer.c */
void tcp_timer_fire(struct tw_wheel *w, struct tw_entry *e, uint64_t now);
void tcp_timer_update(struct tcp_conn *c); /* re-arm for earliest deadline */
void tcp_rexmit_restart(struct tcp_conn *c); /* RFC 6298 5.1/5.3 */
void tcp_delack_arm(struct tcp_conn *c);
void tcp_keepalive_reset(struct tcp_conn *c);
void tcp_tlp_schedule(struct tcp_conn *c); /* after output, if re-planned */

/* tcp_cc.c: NewReno + RFC 6675 */
void tcp_cc_init(struct tcp_conn *c);
void tcp_cc_on_ack(struct tcp_conn *c, uint32_t acked);
void tcp_cc_enter_recovery(struct tcp_conn *c);
void tcp_cc_exit_recovery(struct tcp_conn *c);
void tcp_cc_on_rto(struct tcp_conn *c);
/* Bytes that may be sent now (cwnd minus pipe), recovery-aware. */
uint32_t tcp_cc_send_allowance(const struct tcp_conn *c);

#endif
