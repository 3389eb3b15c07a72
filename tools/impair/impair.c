/* weir-impair: a seeded, per-direction network impairment bridge.
 *
 * Forwards every Ethernet frame between two interfaces through AF_PACKET
 * sockets and applies loss, duplication, reordering, delay/jitter and a rate
 * limit, each decision drawn from one PRNG stream per direction, so the same
 * seed and the same frame sequence always give the same decisions. It must
 * never busy-spin (ppoll sleeps until the next frame or due time), never
 * allocate after start-up (a fixed pool of held frames per direction), and
 * never crash on a frame it receives. See README.md for the model.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>

#define IMPAIR_VERSION "0.1.0"
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define RX_BURST 64
#define VLAN_HLEN 4
/* Room above the MTU for the Ethernet header and up to two VLAN tags. */
#define L2_OVERHEAD (ETH_HLEN + 2 * VLAN_HLEN)
#define POOL_MEMORY_MAX (512ull << 20)
#define SOCK_BUF_BYTES (4 << 20)

/* ---- PRNG: xoshiro256** seeded through splitmix64 (no libc rand) ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 random bits: exact in IEEE double everywhere. */
static double rng_uniform(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- configuration ---- */

enum jitter_dist {
	JITTER_UNIFORM,
	JITTER_NORMAL
};

struct dir_conf {
	double loss;
	double dup;
	double reorder;
	uint32_t reorder_gap; /* release after this many later frames */
	uint64_t reorder_hold_ns; /* ... or after this long, whichever first */
	uint64_t delay_ns;
	uint64_t jitter_ns;
	enum jitter_dist dist;
	uint64_t rate_bps; /* 0: unlimited */
};

static const struct dir_conf conf_default = {
	.reorder_gap = 1,
	.reorder_hold_ns = 10 * NS_PER_MS,
	.dist = JITTER_UNIFORM,
};

enum field {
	F_LOSS,
	F_DUP,
	F_REORDER,
	F_REORDER_HOLD,
	F_DELAY,
	F_JITTER,
	F_JITTER_DIST,
	F_RATE,
	F_COUNT
};
enum scope {
	SCOPE_BOTH,
	SCOPE_A2B,
	SCOPE_B2A,
	SCOPE_COUNT
};

static const char *const field_names[F_COUNT] = {
	"loss",	 "dup",	   "reorder",	  "reorder-hold",
	"delay", "jitter", "jitter-dist", "rate",
};
static const char *const scope_prefix[SCOPE_COUNT] = { "", "a2b-", "b2a-" };

struct setting {
	enum field field;
	enum scope scope;
	const char *value;
};

struct options {
	const char *if_a;
	const char *if_b;
	uint64_t seed;
	uint32_t limit;
	const char *stats_path;
	struct setting *settings;
	int n_settings;
};

/* ---- per-direction state ---- */

struct counters {
	uint64_t in, out, bytes_in, bytes_out;
	uint64_t dropped, duplicated, reordered, reorder_timeouts, delayed;
	uint64_t overflow, oversize, runt, tx_errors, rx_errors;
	uint64_t csum_fixed, vlan_restored, kernel_drops;
};

/* A held frame: in the delay line (FIFO ring) or a reorder hold. */
struct slot {
	uint64_t due_ns; /* delay line: when it leaves */
	uint64_t deadline_ns; /* reorder hold: max hold time */
	int64_t jitter_ns; /* drawn on arrival, applied on entering the line */
	uint32_t len;
	uint32_t gap_left; /* reorder hold: later frames still to pass */
};

struct direction {
	const char *name;
	const char *in_if, *out_if;
	int in_fd, out_fd;
	int out_ifindex;
	struct dir_conf conf;
	struct rng rng;
	struct counters st;
	bool uses_line;
	bool warned_oversize, warned_tx, warned_down;

	/* Fixed pool shared by the delay line and the reorder holds. */
	uint32_t cap;
	size_t frame_cap;
	struct slot *slots;
	uint8_t *frames;
	uint32_t *free_list;
	uint32_t free_count;
	uint32_t *line; /* ring of slot indices, ordered by due_ns */
	uint32_t line_head, line_count;
	uint64_t line_tail_due, link_free_ns;
	uint32_t *holds; /* slot indices in hold order */
	uint32_t hold_count;
};

static volatile sig_atomic_t g_stop, g_report;
static int g_exit_code;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		g_report = 1;
	else
		g_stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- argument parsing ---- */

struct unit {
	const char *suffix; /* matched case-insensitively; "" is a bare number */
	double scale;
};

#define N_UNITS(u) (sizeof(u) / sizeof((u)[0]))

/* A number with a unit suffix, scaled and range-checked; 0 is always allowed. */
static int parse_scaled(const char *s, const struct unit *units, size_t n_units,
			double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno)
		return -EINVAL;
	for (size_t i = 0; i < n_units; i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		v *= units[i].scale;
		if (!(v == 0.0 ||
		      (v >= min && v <= max))) /* also rejects NaN */
			return -ERANGE;
		*out = v;
		return 0;
	}
	return -EINVAL;
}

static int parse_prob(const char *s, double *out)
{
	static const struct unit units[] = { { "", 1.0 }, { "%", 0.01 } };

	return parse_scaled(s, units, N_UNITS(units), 0.0, 1.0, out);
}

static int parse_duration(const char *s, uint64_t *out)
{
	static const struct unit units[] = { { "", 1e6 },
					     { "ns", 1.0 },
					     { "us", 1e3 },
					     { "ms", 1e6 },
					     { "s", 1e9 } };
	double v;
	int rc = parse_scaled(s, units, N_UNITS(units), 0.0, 60e9, &v);

	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

static int parse_rate(const char *s, uint64_t *out)
{
	static const struct unit units[] = { { "", 1.0 },
					     { "bit", 1.0 },
					     { "kbit", 1e3 },
					     { "mbit", 1e6 },
					     { "gbit", 1e9 } };
	double v;
	int rc = parse_scaled(s, units, N_UNITS(units), 1e3, 1e12, &v);

	if (rc == 0)
		*out = (uint64_t)v;
	return rc;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s == '-' || *s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0')
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* "P[:K]": hold with probability P, release after K later frames. */
static int parse_reorder(const char *s, struct dir_conf *c)
{
	char buf[64];
	char *colon;
	uint64_t gap = 1;
	int rc;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		rc = parse_u64(colon + 1, 1, 1000, &gap);
		if (rc)
			return rc;
	}
	rc = parse_prob(buf, &c->reorder);
	if (rc)
		return rc;
	c->reorder_gap = (uint32_t)gap;
	return 0;
}

static int apply_field(struct dir_conf *c, enum field f, const char *v)
{
	switch (f) {
	case F_LOSS:
		return parse_prob(v, &c->loss);
	case F_DUP:
		return parse_prob(v, &c->dup);
	case F_REORDER:
		return parse_reorder(v, c);
	case F_REORDER_HOLD:
		return parse_duration(v, &c->reorder_hold_ns);
	case F_DELAY:
		return parse_duration(v, &c->delay_ns);
	case F_JITTER:
		return parse_duration(v, &c->jitter_ns);
	case F_JITTER_DIST:
		if (strcmp(v, "uniform") == 0)
			c->dist = JITTER_UNIFORM;
		else if (strcmp(v, "normal") == 0)
			c->dist = JITTER_NORMAL;
		else
			return -EINVAL;
		return 0;
	case F_RATE:
		return parse_rate(v, &c->rate_bps);
	default:
		return -EINVAL;
	}
}

static const char *field_hint(enum field f)
{
	switch (f) {
	case F_LOSS:
	case F_DUP:
		return "a probability: 0..100% or 0..1";
	case F_REORDER:
		return "P[:K], P a probability (0..100% or 0..1), K in 1..1000";
	case F_REORDER_HOLD:
	case F_DELAY:
	case F_JITTER:
		return "a duration up to 60s: 250us, 2ms, 1.5s (bare number: ms)";
	case F_JITTER_DIST:
		return "uniform or normal";
	case F_RATE:
		return "0 (unlimited) or 1kbit..1000gbit: 10mbit, 1gbit";
	default:
		return "?";
	}
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: weir-impair --a IF --b IF [--seed N] [impairments] [--limit N] [--stats FILE]\n"
		"\n"
		"Bridges every frame between IF A and IF B with seeded impairments.\n"
		"Each impairment applies to both directions, or to one with a2b-/b2a-:\n"
		"  --loss P            drop probability (5%% or 0.05)          [0]\n"
		"  --dup P             duplicate probability                   [0]\n"
		"  --reorder P[:K]     hold a frame until K later frames pass  [0:1]\n"
		"  --reorder-hold T    max time a reorder hold lasts           [10ms]\n"
		"  --delay T           fixed delay (250us, 2ms, 1s)            [0]\n"
		"  --jitter T          jitter around the delay; FIFO is kept   [0]\n"
		"  --jitter-dist D     uniform (+-T) or normal (sigma T)       [uniform]\n"
		"  --rate R            link rate, frames queue (10mbit)        [0 = unlimited]\n"
		"  e.g. --a2b-loss 10%% --b2a-delay 5ms\n"
		"Other options:\n"
		"  --seed N            PRNG seed (one stream per direction)    [1]\n"
		"  --limit N           held frames per direction (pool size)   [1000]\n"
		"  --stats FILE        write counters (JSON) when ready, on SIGUSR1 and on exit\n"
		"  --help, --version\n"
		"Counters are printed as one JSON line on SIGUSR1 and on exit (SIGINT/SIGTERM).\n"
		"Turn off offloads on bridged interfaces: ethtool -K IF gro off gso off tso off\n");
}

#define OPT_A 'a'
#define OPT_B 'b'
#define OPT_SEED 's'
#define OPT_LIMIT 'l'
#define OPT_STATS 'S'
#define OPT_VERSION 'V'
#define OPT_FIELD_BASE 1000

static int check_setting(const struct setting *s, const char *optname)
{
	struct dir_conf scratch = conf_default;

	if (apply_field(&scratch, s->field, s->value) == 0)
		return 0;
	fprintf(stderr, "weir-impair: --%s: bad value '%s' (want %s)\n",
		optname, s->value, field_hint(s->field));
	return -EINVAL;
}

/* --loss, --a2b-loss, --b2a-loss, ... for every field, then the fixed ones. */
static void build_longopts(struct option *longopts, char names[][32])
{
	int n = 0;

	for (int f = 0; f < F_COUNT; f++) {
		for (int s = 0; s < SCOPE_COUNT; s++) {
			int i = f * SCOPE_COUNT + s;

			snprintf(names[i], 32, "%s%s", scope_prefix[s],
				 field_names[f]);
			longopts[n++] =
				(struct option){ names[i], required_argument,
						 NULL, OPT_FIELD_BASE + i };
		}
	}
	longopts[n++] = (struct option){ "a", required_argument, NULL, OPT_A };
	longopts[n++] = (struct option){ "b", required_argument, NULL, OPT_B };
	longopts[n++] =
		(struct option){ "seed", required_argument, NULL, OPT_SEED };
	longopts[n++] =
		(struct option){ "limit", required_argument, NULL, OPT_LIMIT };
	longopts[n++] =
		(struct option){ "stats", required_argument, NULL, OPT_STATS };
	longopts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[n++] =
		(struct option){ "version", no_argument, NULL, OPT_VERSION };
	longopts[n] = (struct option){ NULL, 0, NULL, 0 };
}

static int check_interfaces(const struct options *o)
{
	if (!o->if_a || !o->if_b) {
		fprintf(stderr,
			"weir-impair: both --a IF and --b IF are required (try --help)\n");
		return -EINVAL;
	}
	if (strcmp(o->if_a, o->if_b) == 0) {
		fprintf(stderr,
			"weir-impair: --a and --b must be different interfaces\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static char names[F_COUNT * SCOPE_COUNT][32];
	struct option longopts[F_COUNT * SCOPE_COUNT + 8];
	uint64_t v;
	int opt;

	build_longopts(longopts, names);
	*o = (struct options){ .seed = 1, .limit = 1000 };
	o->settings = calloc((size_t)argc, sizeof(*o->settings));
	if (!o->settings)
		return -ENOMEM;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (opt >= OPT_FIELD_BASE &&
		    opt < OPT_FIELD_BASE + F_COUNT * SCOPE_COUNT) {
			int i = opt - OPT_FIELD_BASE;
			struct setting *s = &o->settings[o->n_settings++];

			*s = (struct setting){ (enum field)(i / SCOPE_COUNT),
					       (enum scope)(i % SCOPE_COUNT),
					       optarg };
			if (check_setting(s, names[i]))
				return -EINVAL;
			continue;
		}
		switch (opt) {
		case OPT_A:
			o->if_a = optarg;
			break;
		case OPT_B:
			o->if_b = optarg;
			break;
		case OPT_SEED:
			if (parse_u64(optarg, 0, UINT64_MAX, &o->seed)) {
				fprintf(stderr,
					"weir-impair: --seed: bad value '%s' (want an unsigned 64-bit integer)\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_LIMIT:
			if (parse_u64(optarg, 1, 65536, &v)) {
				fprintf(stderr,
					"weir-impair: --limit: bad value '%s' (want 1..65536)\n",
					optarg);
				return -EINVAL;
			}
			o->limit = (uint32_t)v;
			break;
		case OPT_STATS:
			if (*optarg == '\0') {
				fprintf(stderr,
					"weir-impair: --stats: empty file name\n");
				return -EINVAL;
			}
			o->stats_path = optarg;
			break;
		case 'h':
			usage(stdout);
			free(o->settings);
			exit(0);
		case OPT_VERSION:
			printf("weir-impair %s\n", IMPAIR_VERSION);
			free(o->settings);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "weir-impair: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return check_interfaces(o);
}

/* Settings for both directions first, then the direction's own: a2b-/b2a-
 * options override the two-way ones wherever they appear on the line. */
static void resolve_conf(const struct options *o, enum scope dir,
			 struct dir_conf *c)
{
	*c = conf_default;
	for (int pass = 0; pass < 2; pass++) {
		enum scope want = pass == 0 ? SCOPE_BOTH : dir;

		for (int i = 0; i < o->n_settings; i++)
			if (o->settings[i].scope == want)
				(void)apply_field(c, o->settings[i].field,
						  o->settings[i].value);
	}
}

/* ---- sockets ---- */

struct iface {
	const char *name;
	int ifindex;
	int mtu;
	int fd;
};

static int sock_opt(int fd, int level, int name, int value)
{
	return setsockopt(fd, level, name, &value, sizeof(value));
}

static int iface_query(int fd, struct iface *ifc)
{
	struct ifreq ifr;

	if (strlen(ifc->name) >= IFNAMSIZ) {
		fprintf(stderr,
			"weir-impair: interface name '%s' is too long\n",
			ifc->name);
		return -EINVAL;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, ifc->name);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0 ||
	    ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER) {
		fprintf(stderr,
			"weir-impair: interface '%s' is not an Ethernet interface\n",
			ifc->name);
		return -EINVAL;
	}
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
		fprintf(stderr, "weir-impair: %s: cannot read MTU: %s\n",
			ifc->name, strerror(errno));
		return -errno;
	}
	ifc->mtu = ifr.ifr_mtu;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP))
		fprintf(stderr,
			"weir-impair: warning: interface '%s' is down; frames flow once it is up\n",
			ifc->name);
	return 0;
}

/* Protocol 0 at socket() so nothing is queued before the bind to one ifindex. */
static int iface_open(struct iface *ifc)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd;

	ifc->ifindex = (int)if_nametoindex(ifc->name);
	if (ifc->ifindex == 0) {
		fprintf(stderr,
			"weir-impair: interface '%s' not found (see: ip link show)\n",
			ifc->name);
		return -ENODEV;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "weir-impair: AF_PACKET socket: %s%s\n",
			strerror(errno),
			errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
		return -errno;
	}
	ifc->fd = fd;
	if (iface_query(fd, ifc))
		return -EINVAL;
	/* vnet headers carry CHECKSUM_PARTIAL state so it can be completed here;
	 * auxdata carries VLAN tags the kernel took out of the frame. */
	if (sock_opt(fd, SOL_PACKET, PACKET_VNET_HDR, 1) ||
	    sock_opt(fd, SOL_PACKET, PACKET_AUXDATA, 1)) {
		fprintf(stderr, "weir-impair: %s: packet socket options: %s\n",
			ifc->name, strerror(errno));
		return -errno;
	}
	/* Best effort: the pkttype check in the rx path covers older kernels. */
	(void)sock_opt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1);
	(void)sock_opt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
	if (sock_opt(fd, SOL_SOCKET, SO_RCVBUFFORCE, SOCK_BUF_BYTES))
		(void)sock_opt(fd, SOL_SOCKET, SO_RCVBUF, SOCK_BUF_BYTES);
	if (sock_opt(fd, SOL_SOCKET, SO_SNDBUFFORCE, SOCK_BUF_BYTES))
		(void)sock_opt(fd, SOL_SOCKET, SO_SNDBUF, SOCK_BUF_BYTES);
	sll.sll_ifindex = ifc->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "weir-impair: bind to '%s': %s\n", ifc->name,
			strerror(errno));
		return -errno;
	}
	mr.mr_ifindex = ifc->ifindex;
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) <
	    0) {
		fprintf(stderr, "weir-impair: %s: promiscuous mode: %s\n",
			ifc->name, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- pool, delay line, reorder holds ---- */

static uint8_t *slot_data(struct direction *d, uint32_t idx)
{
	return d->frames + (size_t)idx * d->frame_cap;
}

static int direction_alloc(struct direction *d, uint32_t cap, size_t frame_cap)
{
	d->cap = cap;
	d->frame_cap = frame_cap;
	d->slots = calloc(cap, sizeof(*d->slots));
	d->frames = malloc((size_t)cap * frame_cap);
	d->free_list = malloc(cap * sizeof(uint32_t));
	d->line = malloc(cap * sizeof(uint32_t));
	d->holds = malloc(cap * sizeof(uint32_t));
	if (!d->slots || !d->frames || !d->free_list || !d->line || !d->holds)
		return -ENOMEM;
	for (uint32_t i = 0; i < cap; i++)
		d->free_list[i] = cap - 1 - i;
	d->free_count = cap;
	return 0;
}

static void direction_free(struct direction *d)
{
	free(d->slots);
	free(d->frames);
	free(d->free_list);
	free(d->line);
	free(d->holds);
}

static bool pool_get(struct direction *d, uint32_t *idx)
{
	if (d->free_count == 0)
		return false;
	*idx = d->free_list[--d->free_count];
	return true;
}

static void pool_put(struct direction *d, uint32_t idx)
{
	d->free_list[d->free_count++] = idx;
}

static void send_frame(struct direction *d, const uint8_t *frame, uint32_t len)
{
	struct virtio_net_hdr vnet = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_ifindex = d->out_ifindex };
	struct iovec iov[2] = { { &vnet, sizeof(vnet) },
				{ (void *)frame, len } };
	struct msghdr msg = { .msg_name = &sll,
			      .msg_namelen = sizeof(sll),
			      .msg_iov = iov,
			      .msg_iovlen = 2 };

	memcpy(&sll.sll_protocol, frame + 12, sizeof(sll.sll_protocol));
	if (sendmsg(d->out_fd, &msg, MSG_DONTWAIT) < 0) {
		d->st.tx_errors++;
		if (!d->warned_tx) {
			d->warned_tx = true;
			fprintf(stderr,
				"weir-impair: %s: send of %u bytes on %s failed: %s (counted as tx_errors)\n",
				d->name, len, d->out_if, strerror(errno));
		}
		return;
	}
	d->st.out++;
	d->st.bytes_out += len;
}

static uint64_t tx_time_ns(const struct direction *d, uint32_t len)
{
	return (uint64_t)len * 8u * NS_PER_S / d->conf.rate_bps;
}

/* Due times never go backwards, so the line stays FIFO: jitter delays but
 * never reorders (only --reorder does), and a rate-limited link serialises. */
static void line_push(struct direction *d, uint32_t idx, uint64_t now)
{
	struct slot *s = &d->slots[idx];
	int64_t ready = (int64_t)now + (int64_t)d->conf.delay_ns + s->jitter_ns;
	uint64_t due = ready < (int64_t)now ? now : (uint64_t)ready;

	if (due < d->line_tail_due)
		due = d->line_tail_due;
	if (d->conf.rate_bps) {
		uint64_t start = due > d->link_free_ns ? due : d->link_free_ns;

		due = start + tx_time_ns(d, s->len);
		d->link_free_ns = due;
	}
	s->due_ns = due;
	d->line_tail_due = due;
	d->line[(d->line_head + d->line_count) % d->cap] = idx;
	d->line_count++;
	d->st.delayed++;
}

static void line_release_due(struct direction *d, uint64_t now)
{
	while (d->line_count) {
		uint32_t idx = d->line[d->line_head];

		if (d->slots[idx].due_ns > now)
			return;
		send_frame(d, slot_data(d, idx), d->slots[idx].len);
		pool_put(d, idx);
		d->line_head = (d->line_head + 1) % d->cap;
		d->line_count--;
	}
}

/* A frame not in the pool goes to the line (copied into a slot) or out now. */
static void forward_frame(struct direction *d, const uint8_t *frame,
			  uint32_t len, int64_t jitter, uint64_t now)
{
	uint32_t idx;

	if (!d->uses_line) {
		send_frame(d, frame, len);
		return;
	}
	if (!pool_get(d, &idx)) {
		d->st.overflow++;
		return;
	}
	memcpy(slot_data(d, idx), frame, len);
	d->slots[idx].len = len;
	d->slots[idx].jitter_ns = jitter;
	line_push(d, idx, now);
}

static void forward_slot(struct direction *d, uint32_t idx, uint64_t now)
{
	if (d->uses_line) {
		line_push(d, idx, now);
		return;
	}
	send_frame(d, slot_data(d, idx), d->slots[idx].len);
	pool_put(d, idx);
}

static void hold_frame(struct direction *d, const uint8_t *frame, uint32_t len,
		       int64_t jitter, uint64_t now)
{
	uint32_t idx;
	struct slot *s;

	if (!pool_get(d, &idx)) {
		d->st.overflow++;
		return;
	}
	s = &d->slots[idx];
	memcpy(slot_data(d, idx), frame, len);
	s->len = len;
	s->jitter_ns = jitter;
	s->gap_left = d->conf.reorder_gap;
	s->deadline_ns = now + d->conf.reorder_hold_ns;
	d->holds[d->hold_count++] = idx;
	d->st.reordered++;
}

/* Release, in hold order, the holds that are done: by gap (a later frame just
 * passed) or by the max hold time (traffic stopped). */
static void holds_release(struct direction *d, uint64_t now, bool frame_passed)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < d->hold_count; i++) {
		uint32_t idx = d->holds[i];
		struct slot *s = &d->slots[idx];

		if (frame_passed && s->gap_left)
			s->gap_left--;
		if (s->gap_left == 0) {
			forward_slot(d, idx, now);
		} else if (s->deadline_ns <= now) {
			d->st.reorder_timeouts++;
			forward_slot(d, idx, now);
		} else {
			d->holds[kept++] = idx;
		}
	}
	d->hold_count = kept;
}

static uint64_t direction_next_deadline(const struct direction *d)
{
	uint64_t next = UINT64_MAX;

	if (d->line_count)
		next = d->slots[d->line[d->line_head]].due_ns;
	for (uint32_t i = 0; i < d->hold_count; i++)
		if (d->slots[d->holds[i]].deadline_ns < next)
			next = d->slots[d->holds[i]].deadline_ns;
	return next;
}

static void direction_service(struct direction *d, uint64_t now)
{
	if (d->hold_count)
		holds_release(d, now, false);
	line_release_due(d, now);
}

/* On exit nothing stays held: the line in order, then the holds. */
static void direction_flush(struct direction *d)
{
	line_release_due(d, UINT64_MAX);
	for (uint32_t i = 0; i < d->hold_count; i++) {
		send_frame(d, slot_data(d, d->holds[i]),
			   d->slots[d->holds[i]].len);
		pool_put(d, d->holds[i]);
	}
	d->hold_count = 0;
}

/* ---- the per-frame decision ---- */

static int64_t draw_jitter(struct direction *d)
{
	double j = (double)d->conf.jitter_ns;

	if (d->conf.dist == JITTER_UNIFORM)
		return (int64_t)((2.0 * rng_uniform(&d->rng) - 1.0) * j);
	/* Irwin-Hall: 12 uniforms minus 6 is N(0,1) within +-6 sigma, with no
	 * libm, so a seed gives the same draws on every machine. */
	double sum = -6.0;

	for (int i = 0; i < 12; i++)
		sum += rng_uniform(&d->rng);
	return (int64_t)(sum * j);
}

/* Every frame consumes the same draws whatever the outcome, so changing one
 * probability never shifts the other decisions for the same seed. */
struct draws {
	double loss, dup;
	double reorder[2];
	int64_t jitter[2];
};

static void draw_all(struct direction *d, struct draws *r)
{
	r->loss = rng_uniform(&d->rng);
	r->dup = rng_uniform(&d->rng);
	for (int c = 0; c < 2; c++) {
		r->reorder[c] = rng_uniform(&d->rng);
		r->jitter[c] = draw_jitter(d);
	}
}

/* Complete a CHECKSUM_PARTIAL frame: the field holds the pseudo-header sum
 * and the sender's stack left the rest to "hardware" (here, us). */
static bool complete_checksum(uint8_t *frame, uint32_t len, uint32_t start,
			      uint32_t offset)
{
	uint32_t sum = 0, i;
	uint16_t folded;

	if (start >= len || offset + 2u > len - start)
		return false;
	for (i = start; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if (i < len)
		sum += (uint32_t)frame[i] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	folded = (uint16_t)~sum;
	frame[start + offset] = (uint8_t)(folded >> 8);
	frame[start + offset + 1] = (uint8_t)folded;
	return true;
}

static void process_copy(struct direction *d, const uint8_t *frame,
			 uint32_t len, const struct draws *r, int c,
			 uint64_t now)
{
	if (d->conf.reorder > 0.0 && r->reorder[c] < d->conf.reorder) {
		hold_frame(d, frame, len, r->jitter[c], now);
		return;
	}
	forward_frame(d, frame, len, r->jitter[c], now);
	if (d->hold_count)
		holds_release(d, now, true);
}

static void process_frame(struct direction *d, uint8_t *frame, uint32_t len,
			  const struct virtio_net_hdr *vnet,
			  uint32_t csum_shift, uint64_t now)
{
	struct draws r;
	int copies = 1;

	if (len < ETH_HLEN) {
		d->st.runt++;
		return;
	}
	draw_all(d, &r);
	if (r.loss < d->conf.loss) {
		d->st.dropped++;
		return;
	}
	if ((vnet->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    complete_checksum(frame, len, vnet->csum_start + csum_shift,
			      vnet->csum_offset))
		d->st.csum_fixed++;
	if (r.dup < d->conf.dup) {
		d->st.duplicated++;
		copies = 2;
	}
	for (int c = 0; c < copies; c++)
		process_copy(d, frame, len, &r, c, now);
}

/* ---- receive ---- */

struct rx_ctx {
	uint8_t *buf; /* VLAN_HLEN of headroom, then frame_cap bytes */
	size_t frame_cap;
};

/* The kernel strips a VLAN tag into metadata on some paths; put it back so
 * the frame leaves as it arrived. */
static uint32_t restore_vlan(uint8_t **frame, uint32_t len,
			     const struct tpacket_auxdata *aux)
{
	uint16_t tpid, tci;
	uint8_t *f;

	if (!(aux->tp_status & TP_STATUS_VLAN_VALID) || len < 12)
		return 0;
	tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
		       aux->tp_vlan_tpid :
		       ETH_P_8021Q;
	tci = aux->tp_vlan_tci;
	f = *frame - VLAN_HLEN;
	memmove(f, *frame, 12);
	f[12] = (uint8_t)(tpid >> 8);
	f[13] = (uint8_t)tpid;
	f[14] = (uint8_t)(tci >> 8);
	f[15] = (uint8_t)tci;
	*frame = f;
	return VLAN_HLEN;
}

static const struct tpacket_auxdata *find_auxdata(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c))
		if (c->cmsg_level == SOL_PACKET &&
		    c->cmsg_type == PACKET_AUXDATA &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata)))
			return (const struct tpacket_auxdata *)CMSG_DATA(c);
	return NULL;
}

static void on_rx_error(struct direction *d, int err)
{
	if (err != ENETDOWN) {
		d->st.rx_errors++;
		return;
	}
	if (if_nametoindex(d->in_if) == 0) {
		fprintf(stderr,
			"weir-impair: interface '%s' disappeared; exiting\n",
			d->in_if);
		g_exit_code = 1;
		g_stop = 1;
	} else if (!d->warned_down) {
		d->warned_down = true;
		fprintf(stderr,
			"weir-impair: warning: interface '%s' went down\n",
			d->in_if);
	}
}

/* Returns false when the socket has nothing more to read. */
static bool rx_one(struct direction *d, struct rx_ctx *rx)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		struct cmsghdr align;
	} cmsg;
	struct virtio_net_hdr vnet;
	struct sockaddr_ll from;
	uint8_t *frame = rx->buf + VLAN_HLEN;
	struct iovec iov[2] = { { &vnet, sizeof(vnet) },
				{ frame, rx->frame_cap } };
	struct msghdr msg = { .msg_name = &from,
			      .msg_namelen = sizeof(from),
			      .msg_iov = iov,
			      .msg_iovlen = 2,
			      .msg_control = cmsg.buf,
			      .msg_controllen = sizeof(cmsg.buf) };
	const struct tpacket_auxdata *aux;
	ssize_t n = recvmsg(d->in_fd, &msg, MSG_DONTWAIT | MSG_TRUNC);
	uint32_t len, shift = 0;
	int err = errno;

	if (n < 0) {
		if (err == EAGAIN || err == EWOULDBLOCK)
			return false;
		if (err == EINTR)
			return true;
		/* The error is consumed with the read; keep draining the burst. */
		on_rx_error(d, err);
		return !g_stop;
	}
	if (from.sll_pkttype == PACKET_OUTGOING)
		return true;
	if ((size_t)n < sizeof(vnet)) {
		d->st.rx_errors++;
		return true;
	}
	len = (uint32_t)((size_t)n - sizeof(vnet));
	d->st.in++;
	d->st.bytes_in += len;
	if (len > rx->frame_cap) {
		d->st.oversize++;
		if (!d->warned_oversize) {
			d->warned_oversize = true;
			fprintf(stderr,
				"weir-impair: %s: dropping a %u-byte frame above the %zu-byte limit (MTU + %d): "
				"turn off offloads: ethtool -K %s gro off gso off tso off\n",
				d->name, len, rx->frame_cap, L2_OVERHEAD,
				d->in_if);
		}
		return true;
	}
	aux = find_auxdata(&msg);
	if (aux && len >= 12) {
		shift = restore_vlan(&frame, len, aux);
		if (shift) {
			len += shift;
			d->st.bytes_in += shift;
			d->st.vlan_restored++;
		}
	}
	process_frame(d, frame, len, &vnet, shift, now_ns());
	return true;
}

static void rx_burst(struct direction *d, struct rx_ctx *rx)
{
	for (int i = 0; i < RX_BURST && !g_stop; i++)
		if (!rx_one(d, rx))
			return;
}

/* ---- stats ---- */

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void collect_kernel_drops(struct direction *d)
{
	struct tpacket_stats ks;
	socklen_t len = sizeof(ks);

	/* The kernel resets these on every read, so accumulate. */
	if (getsockopt(d->in_fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len) == 0)
		d->st.kernel_drops += ks.tp_drops;
}

static void json_direction(FILE *f, const struct direction *d)
{
	const struct counters *c = &d->st;

	fprintf(f,
		"{\"in\":%" PRIu64 ",\"out\":%" PRIu64 ",\"bytes_in\":%" PRIu64
		",\"bytes_out\":%" PRIu64 ",\"dropped\":%" PRIu64
		",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64
		",\"reorder_timeouts\":%" PRIu64 ",\"delayed\":%" PRIu64
		",\"overflow\":%" PRIu64 ",\"oversize\":%" PRIu64
		",\"runt\":%" PRIu64 ",\"tx_errors\":%" PRIu64
		",\"rx_errors\":%" PRIu64 ",\"csum_fixed\":%" PRIu64
		",\"vlan_restored\":%" PRIu64 ",\"kernel_drops\":%" PRIu64
		",\"held\":%" PRIu32 "}",
		c->in, c->out, c->bytes_in, c->bytes_out, c->dropped,
		c->duplicated, c->reordered, c->reorder_timeouts, c->delayed,
		c->overflow, c->oversize, c->runt, c->tx_errors, c->rx_errors,
		c->csum_fixed, c->vlan_restored, c->kernel_drops,
		d->line_count + d->hold_count);
}

static void json_stats(FILE *f, const struct options *o,
		       const struct direction dirs[2])
{
	fprintf(f, "{\"seed\":%" PRIu64 ",\"a\":", o->seed);
	json_string(f, o->if_a);
	fputs(",\"b\":", f);
	json_string(f, o->if_b);
	fputs(",\"a2b\":", f);
	json_direction(f, &dirs[0]);
	fputs(",\"b2a\":", f);
	json_direction(f, &dirs[1]);
	fputs("}\n", f);
}

/* Written to FILE.tmp and renamed, so a reader never sees half a file. */
static void write_stats_file(const struct options *o,
			     const struct direction dirs[2])
{
	char tmp[4096];
	FILE *f;

	if (!o->stats_path)
		return;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", o->stats_path) >=
	    sizeof(tmp)) {
		fprintf(stderr, "weir-impair: --stats path is too long\n");
		return;
	}
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "weir-impair: cannot write %s: %s\n", tmp,
			strerror(errno));
		return;
	}
	json_stats(f, o, dirs);
	if (fclose(f) != 0 || rename(tmp, o->stats_path) != 0)
		fprintf(stderr, "weir-impair: cannot write %s: %s\n",
			o->stats_path, strerror(errno));
}

static void report(const struct options *o, struct direction dirs[2])
{
	collect_kernel_drops(&dirs[0]);
	collect_kernel_drops(&dirs[1]);
	json_stats(stdout, o, dirs);
	fflush(stdout);
	write_stats_file(o, dirs);
}

/* ---- main loop ---- */

static struct timespec *poll_timeout(const struct direction dirs[2],
				     uint64_t now, struct timespec *ts)
{
	uint64_t next = direction_next_deadline(&dirs[0]);
	uint64_t other = direction_next_deadline(&dirs[1]);
	uint64_t wait;

	if (other < next)
		next = other;
	if (next == UINT64_MAX)
		return NULL;
	wait = next > now ? next - now : 0;
	ts->tv_sec = (time_t)(wait / NS_PER_S);
	ts->tv_nsec = (long)(wait % NS_PER_S);
	return ts;
}

static int run(const struct options *o, struct direction dirs[2],
	       struct rx_ctx *rx, const sigset_t *waitmask)
{
	struct pollfd pfd[2] = { { .fd = dirs[0].in_fd, .events = POLLIN },
				 { .fd = dirs[1].in_fd, .events = POLLIN } };

	while (!g_stop) {
		uint64_t now = now_ns();
		struct timespec ts;

		direction_service(&dirs[0], now);
		direction_service(&dirs[1], now);
		if (g_report) {
			g_report = 0;
			report(o, dirs);
		}
		if (ppoll(pfd, 2, poll_timeout(dirs, now, &ts), waitmask) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "weir-impair: ppoll: %s\n",
				strerror(errno));
			return 1;
		}
		for (int i = 0; i < 2; i++)
			if (pfd[i].revents & (POLLIN | POLLERR))
				rx_burst(&dirs[i], rx);
	}
	return g_exit_code;
}

static int setup_signals(sigset_t *waitmask)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;
	const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1 };

	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(&block, sigs[i]);
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -errno;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Signals are only delivered inside ppoll: no lost wake-up. */
	return sigprocmask(SIG_BLOCK, &block, waitmask) < 0 ? -errno : 0;
}

static void direction_init(struct direction *d, const char *name,
			   const struct iface *in, const struct iface *out,
			   const struct options *o, enum scope scope)
{
	d->name = name;
	d->in_if = in->name;
	d->out_if = out->name;
	d->in_fd = in->fd;
	d->out_fd = out->fd;
	d->out_ifindex = out->ifindex;
	resolve_conf(o, scope, &d->conf);
	d->uses_line = d->conf.delay_ns || d->conf.jitter_ns ||
		       d->conf.rate_bps;
}

/* One splitmix64 chain from the seed: a2b takes the first four words, b2a
 * the next four, so the streams are independent and fixed per seed. */
static void seed_directions(struct direction dirs[2], uint64_t seed)
{
	uint64_t x = seed;

	for (int d = 0; d < 2; d++)
		for (int i = 0; i < 4; i++)
			dirs[d].rng.s[i] = splitmix64(&x);
}

int main(int argc, char **argv)
{
	struct options o;
	struct iface ia = { .fd = -1 }, ib = { .fd = -1 };
	struct direction dirs[2];
	struct rx_ctx rx = { 0 };
	sigset_t waitmask;
	size_t frame_cap;
	int rc = 1;

	memset(dirs, 0, sizeof(dirs));
	if (parse_args(argc, argv, &o)) {
		free(o.settings);
		return 2;
	}
	ia.name = o.if_a;
	ib.name = o.if_b;
	if (setup_signals(&waitmask) || iface_open(&ia) || iface_open(&ib))
		goto out;
	frame_cap = (size_t)(ia.mtu > ib.mtu ? ia.mtu : ib.mtu) + L2_OVERHEAD;
	if ((uint64_t)o.limit * (frame_cap + VLAN_HLEN) * 2 > POOL_MEMORY_MAX) {
		fprintf(stderr,
			"weir-impair: --limit %u with %zu-byte frames needs more than %llu MiB; lower --limit\n",
			o.limit, frame_cap, POOL_MEMORY_MAX >> 20);
		goto out;
	}
	direction_init(&dirs[0], "a2b", &ia, &ib, &o, SCOPE_A2B);
	direction_init(&dirs[1], "b2a", &ib, &ia, &o, SCOPE_B2A);
	seed_directions(dirs, o.seed);
	rx.frame_cap = frame_cap;
	rx.buf = malloc(frame_cap + VLAN_HLEN);
	/* Pool slots leave room for a restored VLAN tag. */
	if (!rx.buf ||
	    direction_alloc(&dirs[0], o.limit, frame_cap + VLAN_HLEN) ||
	    direction_alloc(&dirs[1], o.limit, frame_cap + VLAN_HLEN)) {
		fprintf(stderr,
			"weir-impair: out of memory for a pool of %u frames\n",
			o.limit);
		goto out;
	}
	write_stats_file(&o, dirs);
	fprintf(stderr,
		"weir-impair: bridging %s <-> %s (seed %" PRIu64
		", frames up to %zu bytes)\n",
		ia.name, ib.name, o.seed, frame_cap);
	rc = run(&o, dirs, &rx, &waitmask);
	direction_flush(&dirs[0]);
	direction_flush(&dirs[1]);
	report(&o, dirs);
out:
	direction_free(&dirs[0]);
	direction_free(&dirs[1]);
	free(rx.buf);
	free(o.settings);
	if (ia.fd >= 0)
		close(ia.fd);
	if (ib.fd >= 0)
		close(ib.fd);
	return rc;
}
