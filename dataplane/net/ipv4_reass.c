/* IPv4 reassembly: see ipv4_reass.h. rte_ip_frag does the reassembly;
 * this file bounds it and tells why a fragment died. The library reports
 * nothing per call but the mbufs it gives up, on a "death row": this one
 * among them means it was refused (alone: no room; with others: its whole
 * set was invalid), only others means older datagrams timed out. */
/* rte_ip_frag_table_del_expired_entries is experimental in 22.11: the
 * build defines ALLOW_EXPERIMENTAL_API for the whole tree. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_ip_frag.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "net/ipv4_reass.h"
#include "weir/stats.h"

#define BUCKET_ENTRIES 16 /* rte_ip_frag's associativity (a power of 2) */
#define COUNT_PROBES 8

_Static_assert(IPV4_REASS_MAX_FRAGMENTS == RTE_LIBRTE_IP_FRAG_MAX_FRAG,
	       "DPDK's fragment limit changed");

/* Pieces seen per datagram in progress: rte_ip_frag's own limit is a
 * build constant, ours is the config's. Expired slots are free. */
struct frag_count {
	uint64_t expires; /* ns; 0 or past: free */
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto, n;
};

struct ipv4_reass {
	struct rte_ip_frag_tbl *tbl;
	struct ipv4_reass_config cfg;
	struct frag_count *counts;
	uint32_t count_mask;
	uint64_t next_expire;
	struct rte_ip_frag_death_row dr;
};

struct ipv4_reass *ipv4_reass_create(const struct ipv4_reass_config *cfg,
				     int socket, const char *name)
{
	struct ipv4_reass *r;
	uint32_t n;

	if (cfg == NULL || cfg->max_datagrams == 0 ||
	    cfg->max_datagrams > (1u << 20) || cfg->max_fragments < 2 ||
	    cfg->max_fragments > IPV4_REASS_MAX_FRAGMENTS ||
	    cfg->timeout_ns == 0)
		return NULL;
	r = rte_zmalloc_socket(name, sizeof(*r), RTE_CACHE_LINE_SIZE, socket);
	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	n = rte_align32pow2(2 * cfg->max_datagrams);
	r->count_mask = n - 1;
	r->counts = rte_zmalloc_socket(name, sizeof(*r->counts) * n,
				       RTE_CACHE_LINE_SIZE, socket);
	r->tbl = rte_ip_frag_table_create(
		(cfg->max_datagrams + BUCKET_ENTRIES - 1) / BUCKET_ENTRIES,
		BUCKET_ENTRIES, cfg->max_datagrams, cfg->timeout_ns, socket);
	if (r->counts == NULL || r->tbl == NULL) {
		ipv4_reass_free(r);
		return NULL;
	}
	return r;
}

void ipv4_reass_free(struct ipv4_reass *r)
{
	if (r == NULL)
		return;
	if (r->tbl != NULL)
		rte_ip_frag_table_destroy(r->tbl);
	rte_ip_frag_free_death_row(&r->dr, 0);
	rte_free(r->counts);
	rte_free(r);
}

/* The datagram's slot in the piece counter (claimed if new), or NULL
 * when its COUNT_PROBES slots are all live for other datagrams. */
static struct frag_count *
count_slot(struct ipv4_reass *r, const struct rte_ipv4_hdr *ip, uint64_t now)
{
	uint32_t h = rte_be_to_cpu_32(ip->src_addr) * 0x9e3779b1u ^
		     rte_be_to_cpu_32(ip->dst_addr) * 0x85ebca6bu ^
		     (uint32_t)ip->packet_id * 0xc2b2ae35u ^ ip->next_proto_id;
	struct frag_count *free_slot = NULL;

	h ^= h >> 15;
	for (uint32_t i = 0; i < COUNT_PROBES; i++) {
		struct frag_count *c = &r->counts[(h + i) & r->count_mask];

		if (c->expires <= now) {
			if (free_slot == NULL)
				free_slot = c;
			continue;
		}
		if (c->src == ip->src_addr && c->dst == ip->dst_addr &&
		    c->id == ip->packet_id && c->proto == ip->next_proto_id)
			return c;
	}
	if (free_slot != NULL)
		*free_slot = (struct frag_count){
			.expires = now + r->cfg.timeout_ns,
			.src = ip->src_addr,
			.dst = ip->dst_addr,
			.id = ip->packet_id,
			.proto = ip->next_proto_id,
		};
	return free_slot;
}

static bool on_death_row(const struct rte_ip_frag_death_row *dr, uint32_t from,
			 const struct rte_mbuf *m)
{
	for (uint32_t i = from; i < dr->cnt; i++)
		if (dr->row[i] == m)
			return true;
	return false;
}

/* Counts what the library gave up during one call that started with
 * `before` mbufs on the death row; true if m itself was refused. */
static bool account(struct ipv4_reass *r, uint32_t before,
		    const struct rte_mbuf *m, struct frag_count *c,
		    uint64_t *ctr)
{
	uint32_t freed = r->dr.cnt - before;

	if (!on_death_row(&r->dr, before, m)) {
		ctr[WEIR_CTR_drop_ip_frag_timeout] += freed;
		return false;
	}
	if (freed == 1 && c->n == 1) {
		ctr[WEIR_CTR_drop_ip_frag_table_full]++;
	} else if (freed == 1) {
		ctr[WEIR_CTR_drop_ip_frag_duplicate]++;
		return true; /* the rest of the set is still held */
	} else {
		ctr[WEIR_CTR_drop_ip_frag_invalid]++; /* overlap, ends twice */
	}
	c->expires = 0;
	return true;
}

/* The whole datagram in one linear mbuf with a valid IPv4 header. */
static struct rte_mbuf *finish(struct rte_mbuf *m, uint32_t eth_len,
			       uint64_t *ctr)
{
	if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) != 0) {
		ctr[WEIR_CTR_drop_ip_reass_too_big]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, eth_len);

	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	ctr[WEIR_CTR_ip_reassembled]++;
	return m;
}

struct rte_mbuf *ipv4_reass_input(struct ipv4_reass *r, struct rte_mbuf *m,
				  uint32_t eth_len, uint32_t hdr_len,
				  uint64_t now_ns, uint64_t *ctr)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, eth_len);
	struct frag_count *c = count_slot(r, ip, now_ns);
	struct rte_mbuf *out;
	uint32_t before = r->dr.cnt;

	ctr[WEIR_CTR_ip_frags_in]++;
	if (c == NULL) {
		ctr[WEIR_CTR_drop_ip_frag_table_full]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	if (++c->n > r->cfg.max_fragments) {
		c->n = r->cfg.max_fragments + 1; /* the rest is dropped too */
		ctr[WEIR_CTR_drop_ip_frag_too_many]++;
		rte_pktmbuf_free(m);
		return NULL;
	}
	m->l2_len = eth_len;
	m->l3_len = hdr_len;
	out = rte_ipv4_frag_reassemble_packet(r->tbl, &r->dr, m, now_ns, ip);
	if (out == NULL)
		account(r, before, m, c, ctr);
	else
		c->expires = 0;
	rte_ip_frag_free_death_row(&r->dr, 0);
	return out == NULL ? NULL : finish(out, eth_len, ctr);
}

void ipv4_reass_expire(struct ipv4_reass *r, uint64_t now_ns, uint64_t *ctr)
{
	if (now_ns < r->next_expire)
		return;
	r->next_expire = now_ns + r->cfg.timeout_ns / 4;
	/* the library stops when its death row fills: a few rounds at most */
	for (int i = 0; i < 64; i++) {
		rte_ip_frag_table_del_expired_entries(r->tbl, &r->dr, now_ns);
		if (r->dr.cnt == 0)
			break;
		ctr[WEIR_CTR_drop_ip_frag_timeout] += r->dr.cnt;
		rte_ip_frag_free_death_row(&r->dr, 0);
	}
}

uint32_t ipv4_reass_pending(const struct ipv4_reass *r, uint64_t now_ns)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i <= r->count_mask; i++)
		n += r->counts[i].expires > now_ns;
	return n;
}
