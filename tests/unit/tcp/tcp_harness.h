/* Virtual-time harness for the TCP core: an EAL without hugepages, a
 * virtual clock, an output hook that captures every segment (and checks
 * its checksums), a scripted peer that builds segments, and a "wire" that
 * connects two stacks with programmable loss. Header-only, one user per
 * test program. */
#ifndef WEIR_TEST_TCP_HARNESS_H
#define WEIR_TEST_TCP_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_tcp.h>

#include "tcp/tcp.h"
#include "tcp/tcp_internal.h"
#include "wtest.h"
#include "wtest_eal.h"

#define MS 1000000ull
#define US 1000ull
#define SEC 1000000000ull

#define IP_A 0x0a000001u /* 10.0.0.1: the stack under test */
#define IP_B 0x0a000002u /* 10.0.0.2: peer */

static uint64_t vnow = 1000 * SEC;
static struct rte_mempool *pool;

static inline uint64_t h_clock(void *ctx)
{
	(void)ctx;
	return vnow;
}

/* ---- captured output ---- */

#define CAP_MAX 4096
struct capture {
	struct rte_mbuf *m[CAP_MAX];
	unsigned int n;
	unsigned int bad_csum;
};

static inline void h_output(void *ctx, struct rte_mbuf *m)
{
	struct capture *cap = ctx;
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);

	if (rte_ipv4_cksum(ip) != 0 ||
	    rte_ipv4_udptcp_cksum_verify(ip, (uint8_t *)ip + 20) != 0)
		cap->bad_csum++;
	if (getenv("TCP_TRACE")) {
		const struct rte_tcp_hdr *th =
			(const void *)((uint8_t *)ip + 20);

		printf("# out %u -> %u seq %u ack %u flags %02x len %u\n",
		       rte_be_to_cpu_16(th->src_port),
		       rte_be_to_cpu_16(th->dst_port),
		       rte_be_to_cpu_32(th->sent_seq),
		       rte_be_to_cpu_32(th->recv_ack), th->tcp_flags,
		       rte_be_to_cpu_16(ip->total_length) - 20u -
			       (th->data_off >> 4) * 4u);
	}
	if (cap->n == CAP_MAX) {
		rte_pktmbuf_free(m);
		return;
	}
	cap->m[cap->n++] = m;
}

static inline void cap_clear(struct capture *cap)
{
	for (unsigned int i = 0; i < cap->n; i++)
		rte_pktmbuf_free(cap->m[i]);
	cap->n = 0;
}

/* A decoded segment. */
struct pkt {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t seq, ack, wnd, len;
	uint8_t flags;
	bool has_mss, has_ws, sack_perm, has_ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	unsigned int n_sack;
	struct tcp_sack_block sack[4];
	const uint8_t *payload;
};

static inline struct pkt decode(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	const struct rte_tcp_hdr *th = (const void *)((const uint8_t *)ip + 20);
	unsigned int thl = (th->data_off >> 4) * 4u;
	struct tcp_seg s = { 0 };
	struct pkt p = { 0 };
	const uint8_t *o = (const uint8_t *)th + 20;

	/* a decoder of our own rather than the stack's parser */
	for (unsigned int i = 0; i < thl - 20;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		uint8_t k = o[i], l = o[i + 1];
		const uint8_t *v = o + i + 2;

		if (k == 2) {
			s.has_mss = true;
			s.mss = (uint16_t)(v[0] << 8 | v[1]);
		}
		if (k == 3) {
			s.has_ws = true;
			s.ws = v[0];
		}
		if (k == 4)
			s.sack_perm = true;
		if (k == 8) {
			s.has_ts = true;
			s.tsval = (uint32_t)v[0] << 24 | v[1] << 16 |
				  v[2] << 8 | v[3];
			s.tsecr = (uint32_t)v[4] << 24 | v[5] << 16 |
				  v[6] << 8 | v[7];
		}
		if (k == 5)
			for (unsigned int b = 0; b < (l - 2u) / 8; b++) {
				const uint8_t *q = v + 8 * b;

				s.sack[b].start = (uint32_t)q[0] << 24 |
						  q[1] << 16 | q[2] << 8 | q[3];
				s.sack[b].end = (uint32_t)q[4] << 24 |
						q[5] << 16 | q[6] << 8 | q[7];
				s.n_sack = (uint8_t)(b + 1);
			}
		i += l;
	}
	p.src = rte_be_to_cpu_32(ip->src_addr);
	p.dst = rte_be_to_cpu_32(ip->dst_addr);
	p.sport = rte_be_to_cpu_16(th->src_port);
	p.dport = rte_be_to_cpu_16(th->dst_port);
	p.seq = rte_be_to_cpu_32(th->sent_seq);
	p.ack = rte_be_to_cpu_32(th->recv_ack);
	p.wnd = rte_be_to_cpu_16(th->rx_win);
	p.flags = th->tcp_flags;
	p.len = rte_be_to_cpu_16(ip->total_length) - 20 - thl;
	p.payload = (const uint8_t *)th + thl;
	p.has_mss = s.has_mss;
	p.mss = s.mss;
	p.has_ws = s.has_ws;
	p.ws = s.ws;
	p.sack_perm = s.sack_perm;
	p.has_ts = s.has_ts;
	p.tsval = s.tsval;
	p.tsecr = s.tsecr;
	p.n_sack = s.n_sack;
	memcpy(p.sack, s.sack, sizeof(p.sack));
	return p;
}

/* ---- a scripted peer ---- */

struct peer_seg {
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t wnd;
	uint32_t len; /* payload bytes (filled with 'a' + seq % 26) */
	bool mss, ws, sack_perm, ts;
	uint16_t mss_val;
	uint8_t ws_val;
	uint32_t tsval, tsecr;
	unsigned int n_sack;
	struct tcp_sack_block sack[4];
};

static inline struct rte_mbuf *build(uint32_t src, uint16_t sport, uint32_t dst,
				     uint16_t dport, const struct peer_seg *ps)
{
	uint8_t opt[40];
	unsigned int ol = 0;

	if (ps->mss) {
		opt[ol++] = 2;
		opt[ol++] = 4;
		opt[ol++] = (uint8_t)(ps->mss_val >> 8);
		opt[ol++] = (uint8_t)ps->mss_val;
	}
	if (ps->sack_perm) {
		opt[ol++] = 1;
		opt[ol++] = 1;
		opt[ol++] = 4;
		opt[ol++] = 2;
	}
	if (ps->ts) {
		opt[ol++] = 1;
		opt[ol++] = 1;
		opt[ol++] = 8;
		opt[ol++] = 10;
		for (int i = 3; i >= 0; i--)
			opt[ol++] = (uint8_t)(ps->tsval >> (8 * i));
		for (int i = 3; i >= 0; i--)
			opt[ol++] = (uint8_t)(ps->tsecr >> (8 * i));
	}
	if (ps->ws) {
		opt[ol++] = 1;
		opt[ol++] = 3;
		opt[ol++] = 3;
		opt[ol++] = ps->ws_val;
	}
	if (ps->n_sack) {
		opt[ol++] = 1;
		opt[ol++] = 1;
		opt[ol++] = 5;
		opt[ol++] = (uint8_t)(2 + 8 * ps->n_sack);
		for (unsigned int b = 0; b < ps->n_sack; b++) {
			for (int i = 3; i >= 0; i--)
				opt[ol++] =
					(uint8_t)(ps->sack[b].start >> (8 * i));
			for (int i = 3; i >= 0; i--)
				opt[ol++] =
					(uint8_t)(ps->sack[b].end >> (8 * i));
		}
	}
	unsigned int thl = 20 + ol, total = 20 + thl + ps->len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)total) :
			 NULL;

	if (p == NULL) {
		printf("Bail out! test pool exhausted\n");
		exit(1);
	}
	struct rte_ipv4_hdr *ip = (void *)p;
	struct rte_tcp_hdr *th = (void *)(p + 20);

	memset(p, 0, 40);
	ip->version_ihl = 0x45;
	ip->total_length = rte_cpu_to_be_16((uint16_t)total);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(src);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	th->src_port = rte_cpu_to_be_16(sport);
	th->dst_port = rte_cpu_to_be_16(dport);
	th->sent_seq = rte_cpu_to_be_32(ps->seq);
	th->recv_ack = rte_cpu_to_be_32(ps->ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = ps->flags;
	th->rx_win = rte_cpu_to_be_16(ps->wnd);
	memcpy(p + 40, opt, ol);
	for (uint32_t i = 0; i < ps->len; i++)
		p[40 + ol + i] = (uint8_t)('a' + (ps->seq + i) % 26);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	return m;
}

/* ---- a counting application ---- */

struct app {
	int connected, peer_fin, closed, writable, errors, accepts;
	enum tcp_error last_err;
	uint64_t rx_bytes;
	uint32_t rx_check; /* bytes that matched the 'a'.. pattern */
	uint32_t rx_base; /* stream offset of the pattern */
	bool auto_done; /* call tcp_recv_done at once */
	bool refuse; /* accept callback refuses */
	struct tcp_conn *conn; /* last accepted / connected */
};

static inline void app_connected(struct tcp_conn *c, void *u)
{
	struct app *a = u;

	a->connected++;
	a->conn = c;
}

static inline void app_recv(struct tcp_conn *c, void *u, struct rte_mbuf *m)
{
	struct app *a = u;
	uint32_t n = rte_pktmbuf_pkt_len(m);
	uint8_t buf[2048];

	/* the peer sends the 'a'.. pattern from stream offset 0 */
	for (uint32_t off = 0; off < n;) {
		uint32_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		const uint8_t *p = rte_pktmbuf_read(m, off, k, buf);

		for (uint32_t i = 0; i < k; i++)
			a->rx_check += p[i] ==
				       'a' + (a->rx_bytes + off + i) % 26;
		off += k;
	}
	a->rx_bytes += n;
	rte_pktmbuf_free(m);
	if (a->auto_done)
		tcp_recv_done(c, n);
}

static inline void app_writable(struct tcp_conn *c, void *u)
{
	(void)c;
	((struct app *)u)->writable++;
}

static inline void app_peer_fin(struct tcp_conn *c, void *u)
{
	(void)c;
	((struct app *)u)->peer_fin++;
}

static inline void app_error(struct tcp_conn *c, void *u, enum tcp_error e)
{
	struct app *a = u;

	(void)c;
	a->errors++;
	a->last_err = e;
	a->conn = NULL;
}

static inline void app_closed(struct tcp_conn *c, void *u)
{
	struct app *a = u;

	(void)c;
	a->closed++;
	a->conn = NULL;
}

static const struct tcp_conn_ops app_ops = {
	.on_connected = app_connected,
	.on_recv = app_recv,
	.on_writable = app_writable,
	.on_peer_fin = app_peer_fin,
	.on_error = app_error,
	.on_closed = app_closed,
};

static inline int app_accept(struct tcp_conn *c, void *ctx)
{
	struct app *a = ctx;

	if (a->refuse)
		return -1;
	a->accepts++;
	a->conn = c;
	tcp_conn_set_ops(c, &app_ops, a);
	return 0;
}

/* ---- set-up ---- */

static inline void h_eal_init(void)
{
	pool = wt_eal_init("256", 16383);
}

static inline struct tcp_stack *h_stack(const char *name, struct capture *cap,
					const struct tcp_config *cfg_in)
{
	struct tcp_config cfg;
	struct tcp_env env = { .output = h_output,
			       .output_ctx = cap,
			       .clock = h_clock,
			       .tx_pool = pool,
			       .socket_id = SOCKET_ID_ANY,
			       .name = name };

	if (cfg_in)
		cfg = *cfg_in;
	else
		tcp_config_defaults(&cfg);
	cfg.mbuf_reserve = 64;
	memset(env.isn_secret, 0x5a, sizeof(env.isn_secret));
	env.isn_secret[0] = (uint8_t)name[0];
	return tcp_stack_create(&cfg, &env);
}

/* Advances virtual time in steps, running the timers. */
static inline void h_advance(struct tcp_stack *s, uint64_t ns, uint64_t step)
{
	uint64_t end = vnow + ns;

	while (vnow < end) {
		vnow = vnow + step < end ? vnow + step : end;
		tcp_timers_run(s);
	}
}

static inline struct pkt cap_pkt(struct capture *cap, unsigned int i)
{
	return decode(cap->m[i]);
}

/* A payload-only mbuf (a chain past 2000 bytes) of n bytes with the
 * 'a'.. pattern starting at stream offset `offset`. */
static inline struct rte_mbuf *h_data(uint32_t n, uint32_t offset)
{
	struct rte_mbuf *head = NULL;

	while (n > 0) {
		uint32_t k = n > 2000 ? 2000 : n;
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint8_t *p = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)k) :
				 NULL;

		if (p == NULL) {
			printf("Bail out! test pool exhausted\n");
			exit(1);
		}
		for (uint32_t i = 0; i < k; i++)
			p[i] = (uint8_t)('a' + (offset + i) % 26);
		if (head == NULL)
			head = m;
		else
			rte_pktmbuf_chain(head, m);
		n -= k;
		offset += k;
	}
	return head;
}

#endif
