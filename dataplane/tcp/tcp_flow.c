/* Ownership helpers, RSS port choice, ISNs, and the per-worker flow table
 * (rte_hash, single writer: the owning worker). */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_mempool.h>
#include <rte_thash.h>

#include "tcp/tcp_flow.h"
#include "tcp/tcp_internal.h"

const uint8_t tcp_rss_symmetric_key[40] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

unsigned int tcp_rss_queue(const uint8_t *rss_key, uint32_t src_ip,
			   uint32_t dst_ip, uint16_t sport, uint16_t dport,
			   unsigned int reta_size, unsigned int n_queues)
{
	struct rte_ipv4_tuple t = { .src_addr = src_ip, .dst_addr = dst_ip };

	t.sport = sport;
	t.dport = dport;
	uint32_t h = rte_softrss((uint32_t *)&t, RTE_THASH_V4_L4_LEN, rss_key);

	return (h % reta_size) % n_queues;
}

int tcp_rss_pick_port(const uint8_t *rss_key, uint32_t local_ip,
		      uint32_t remote_ip, uint16_t remote_port,
		      unsigned int queue, unsigned int n_queues,
		      unsigned int reta_size, uint16_t first, uint16_t last,
		      uint16_t start)
{
	unsigned int span = (unsigned int)last - first + 1;

	if (start < first || start > last)
		start = first;
	for (unsigned int i = 0; i < span; i++) {
		uint16_t p = (uint16_t)(first + (start - first + i) % span);

		if (tcp_rss_queue(rss_key, remote_ip, local_ip, remote_port, p,
				  reta_size, n_queues) == queue)
			return p;
	}
	return -EADDRNOTAVAIL;
}

#define ROTL64(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(v0, v1, v2, v3)     \
	do {                         \
		v0 += v1;            \
		v1 = ROTL64(v1, 13); \
		v1 ^= v0;            \
		v0 = ROTL64(v0, 32); \
		v2 += v3;            \
		v3 = ROTL64(v3, 16); \
		v3 ^= v2;            \
		v0 += v3;            \
		v3 = ROTL64(v3, 21); \
		v3 ^= v0;            \
		v2 += v1;            \
		v1 = ROTL64(v1, 17); \
		v1 ^= v2;            \
		v2 = ROTL64(v2, 32); \
	} while (0)

static uint64_t load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t tcp_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0,
		 v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0,
		 v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t m = load_le64(in + i);

		v3 ^= m;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_isn(const uint8_t secret[16], const struct tcp_flow_key *k,
		 uint64_t now_ns)
{
	uint8_t buf[12];

	memcpy(buf, &k->local_ip, 4);
	memcpy(buf + 4, &k->remote_ip, 4);
	memcpy(buf + 8, &k->local_port, 2);
	memcpy(buf + 10, &k->remote_port, 2);
	return (uint32_t)(now_ns / 4000) +
	       (uint32_t)tcp_siphash24(secret, buf, 12);
}

/* ---- the flow table ---- */

int tcp_flow_table_create(struct tcp_stack *stk)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = stk->cfg.max_conns < 8 ? 8 : stk->cfg.max_conns,
		.key_len = sizeof(struct tcp_flow_key),
		.hash_func = rte_hash_crc,
		.socket_id = stk->env.socket_id,
		/* extendable buckets: a full bucket never refuses a flow the
		 * TCB pool had room for */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "tcpf_%s", stk->env.name);
	stk->flows = rte_hash_create(&p);
	return stk->flows ? 0 : -rte_errno;
}

struct tcp_conn *tcp_flow_lookup(struct tcp_stack *stk,
				 const struct tcp_flow_key *k)
{
	void *data = NULL;

	if (rte_hash_lookup_data(stk->flows, k, &data) < 0)
		return NULL;
	return data;
}

int tcp_flow_add(struct tcp_stack *stk, struct tcp_conn *c)
{
	int rc = rte_hash_add_key_data(stk->flows, &c->key, c);

	return rc < 0 ? rc : 0;
}

void tcp_flow_del(struct tcp_stack *stk, struct tcp_conn *c)
{
	rte_hash_del_key(stk->flows, &c->key);
}

static bool rss_lands_here(const struct tcp_config *cfg,
			   const struct tcp_flow_key *k, uint16_t port)
{
	if (cfg->rss_key == NULL || cfg->rss_n_queues < 2)
		return true;
	return tcp_rss_queue(cfg->rss_key, k->remote_ip, k->local_ip,
			     k->remote_port, port, cfg->rss_reta_size,
			     cfg->rss_n_queues) == cfg->rss_queue;
}

/* An ephemeral port from this worker's slice not in use toward
 * remote_ip:remote_port (and, on RSS NICs, whose replies land on our
 * queue). A TIME_WAIT record holding it is reused when it used
 * timestamps and has been quiet for a second (tcp_tw_port_busy). */
int tcp_flow_pick_port(struct tcp_stack *stk, struct tcp_flow_key *k)
{
	unsigned int span = (unsigned int)stk->slice_hi - stk->slice_lo + 1;

	for (unsigned int i = 0; i < span; i++) {
		uint16_t p = stk->next_port;

		stk->next_port = p >= stk->slice_hi ? stk->slice_lo :
						      (uint16_t)(p + 1);
		if (!rss_lands_here(&stk->cfg, k, p))
			continue;
		k->local_port = p;
		if (tcp_flow_lookup(stk, k) == NULL &&
		    !tcp_tw_port_busy(stk, k))
			return p;
	}
	return -EADDRNOTAVAIL;
}
