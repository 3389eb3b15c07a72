/* proxy: the HTTP/1.1 reverse proxy of one worker lcore: Ray Serve's
 * frontend (routing by prefix, /-/healthz, /-/routes, Ray's error bytes)
 * over our TCP. A client connection is a session; each request is routed,
 * a replica picked (least connections, backups only when no replica is up),
 * and the request streamed to it over a pooled keep-alive backend
 * connection, with back-pressure both ways (nothing is read from one side
 * faster than the other side takes it). Share-nothing: sessions, backend
 * connections and per-server state belong to this worker. Never blocks,
 * never allocates after init (sessions, backend connections and head
 * buffers come from mempools sized by the config).
 *
 * Explicit states (enum sess_state, enum bconn_state in proxy_internal.h,
 * which lists every transition and the event behind it):
 *   session:  HEAD -> (BODY ->) WAIT_RESPONSE -> HEAD ...
 *             | TUNNEL (after a 101)
 *             | LINGER (answered and half-closed, reading to the client's
 *               FIN before letting go)
 *   backend:  CONNECTING -> BUSY -> IDLE (pooled) -> BUSY ...
 *             | PROBE (an active health probe: connect, GET, close)
 *             | ROUTE (an ingress request router call: connect, POST
 *               /internal/route, answer, close)
 * Files: proxy.c (set-up, timers), proxy_session.c (client side),
 * proxy_relay.c (the response to the client), proxy_backend.c (pool,
 * dispatch, retries), proxy_health.c (server health across workers,
 * checks), proxy_router.c (the ingress request router callout),
 * proxy_table.c (table adoption), proxy_timeout.c, proxy_guard.c
 * (chunked bodies checked first), proxy_log.c (access-log records), segq.h
 * (segment FIFO).
 */
#ifndef WEIR_PROXY_H
#define WEIR_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_frontend.h"
#include "http/http_parser.h"
#include "lb/lb_health.h"
#include "lb/lb_select.h"
#include "timer/timer_wheel.h"
#include "weir/ctl.h"
#include "weir/table.h"

struct rte_mbuf;
struct rte_mempool;
struct tcp_conn;
struct tcp_stack;

/* ---- types -------------------------------------------------------------- */

/* Knobs, with Ray Serve's defaults (RAY_SERVE_HAPROXY_*; README maps them).
 * Times in ms; 0 = none. */
struct proxy_config {
	uint16_t port; /* 8000 */
	uint32_t max_sessions; /* client connections per worker: 4096 */
	uint32_t max_backend_conns; /* per worker: 4096 */
	uint32_t head_max; /* request/response head buffer: 16384 */
	uint32_t replay_max; /* request bytes kept for a retry: 16384 */
	uint32_t timeout_client_ms; /* inactivity of a client: 3600000 */
	uint32_t timeout_keep_alive_ms; /* between requests: 90000 */
	uint32_t timeout_http_request_ms; /* whole head: none (-> 408) */
	uint32_t timeout_connect_ms; /* none */
	uint32_t timeout_server_ms; /* waiting for the replica: none (-> 504) */
	uint32_t pool_idle_ms; /* below uvicorn's 5 s keep-alive: 4000 */
	uint32_t retries; /* redispatches per request: 1 */
	uint32_t router_buffer; /* body bytes sent to a router: 262144 */
	bool ray_500; /* 502/504 -> Ray's exact 500: true */
};

/* Per-worker counters (single writer; telemetry sums them). */
#define PROXY_COUNTERS(X)                                                   \
	X(sessions, "client connections accepted")                          \
	X(sessions_refused, "client connections refused: no session left")  \
	X(requests, "requests parsed")                                      \
	X(local_404, "404: no route")                                       \
	X(local_healthz, "/-/healthz answered")                             \
	X(local_routes, "/-/routes answered")                               \
	X(resp_1xx, "responses 1xx to clients")                             \
	X(resp_2xx, "responses 2xx")                                        \
	X(resp_3xx, "responses 3xx")                                        \
	X(resp_4xx, "responses 4xx")                                        \
	X(resp_5xx, "responses 5xx")                                        \
	X(err_parse, "requests refused by the parser")                      \
	X(err_503, "503: no server could take the request")                 \
	X(err_502, "502: replica failed or answered garbage")               \
	X(e502_closed, "502 cause: replica closed/reset before answering")  \
	X(e502_bad_head, "502 cause: replica's response head invalid")      \
	X(e502_send, "502 cause: request not taken by the backend conn")    \
	X(err_504, "504: replica timed out")                                \
	X(err_408, "408: request head too slow")                            \
	X(retries, "requests redispatched to another replica")              \
	X(pool_reuse, "requests sent on a pooled connection")               \
	X(pool_new, "requests that opened a backend connection")            \
	X(pool_retry_stale, "pooled connections found closed, retried")     \
	X(client_aborts, "clients gone mid-request (backend closed too)")   \
	X(backend_aborts, "backend connections lost mid-response")          \
	X(body_reset, "bodies refused mid-stream: backend conn reset")      \
	X(upgrades, "connections switched to a tunnel (101)")               \
	X(probes, "health checks started")                                  \
	X(hbus_resent, "health messages a full ring refused (sent again)")  \
	X(tables, "route tables adopted")                                   \
	X(backend_gone, "retries refused: the app left the table")          \
	X(refused_maxconn, "client connections refused: node maxconn")      \
	X(refused_connrate, "client connections refused: maxconnrate")      \
	X(refused_sessrate, "client connections refused: maxsessrate")      \
	X(refused_client_rate, "requests answered 429: per-client rate")    \
	X(queued, "requests queued: every server at its maxconn")           \
	X(queue_timeouts, "queued requests answered 503: timeout queue")    \
	X(router_ok, "requests pinned by the ingress request router")       \
	X(router_truncated, "router calls with the body truncated")         \
	X(router_failover, "router calls moved to the next router target")  \
	X(router_fail_connect, "router failed: no router target reachable") \
	X(router_fail_timeout, "router failed: no answer in time")          \
	X(router_fail_status, "router failed: not a 200 answer")            \
	X(router_fail_json, "router failed: bad JSON, no replica_id")       \
	X(router_fail_unknown, "router failed: replica_id unknown")         \
	X(router_fail_down, "router failed: its replica is not usable")     \
	X(nomem, "requests failed for lack of mbufs or objects")

enum proxy_counter {
#define PX_X_ENUM(n, h) PX_CTR_##n,
	PROXY_COUNTERS(PX_X_ENUM)
#undef PX_X_ENUM
	PX_CTR_MAX
};

/* Dynamic state of one server, keyed by the table's stable id, outside
 * the snapshot: a table update keeps it. Its index in proxy.servers is the
 * server's slot for lb_select (load and health are read from here). */
struct px_server {
	uint64_t id; /* 0: free slot */
	bool in_table; /* in the current table (else: finishing, then freed) */
	uint32_t refs; /* backend connections (and probes) using the slot */
	uint32_t ip; /* network order, from the latest table */
	uint16_t port;
	uint32_t n_idle; /* pooled connections */
	struct px_bconn *idle; /* the pool, most recently used first */
	struct lb_load load; /* this worker's requests in flight */
	uint64_t requests, resp[6], failures, retries_from;
	uint64_t econ; /* of the failures, connects that failed */
	uint32_t smax; /* most requests in flight at once */
	/* its active check, from the table (the first backend naming it) */
	char hc_path[WEIR_TABLE_HEALTH_PATH_MAX];
	uint16_t hc_expect;
	uint32_t hc_timeout_ms;
	uint64_t hc_gen; /* the table generation that set them */
	bool hb_dirty; /* owner: its state still to be sent to some worker */
	bool hb_sync; /* not owner: the owner's state still to be asked for */
	struct lb_health health; /* owner: the state; others: its mirror */
};

/* Health between the workers' proxies (proxy_health.c). Each server's
 * checks and state belong to one worker, its owner (a function of the id,
 * so every worker knows it): the owner runs the checks and the state
 * machine and sends its state to the others, which mirror it; what their
 * own traffic sees (a connect failure, a reset, a timeout) they send to
 * the owner, which counts it toward fall. With one worker the bus is
 * empty and everything is local. */
enum px_hmsg_op {
	PX_HMSG_FAIL, /* live traffic failed (why): to the owner */
	PX_HMSG_OK, /* live traffic succeeded while transitional: to the owner */
	PX_HMSG_WORD, /* the owner's lb_health word: to a mirror */
	PX_HMSG_SYNC, /* a new mirror asks the owner for its word */
};

struct px_hmsg {
	uint64_t id; /* server id */
	uint32_t word;
	uint8_t op; /* enum px_hmsg_op */
	uint8_t why; /* enum lb_fail_reason (PX_HMSG_FAIL) */
	uint16_t from; /* the sending worker */
};

struct proxy_bus {
	uint16_t self, n; /* this worker, of n sharing the servers */
	/* queues m for worker `to`'s proxy_health_msg; 0 or -ENOBUFS. Never
	 * blocks. */
	int (*send)(void *ctx, uint16_t to, const struct px_hmsg *m);
	void *ctx;
};

/* A backend of the current table as lb_select sees it. */
struct px_backend {
	uint64_t key; /* hash of the backend's name: finds it in a new table */
	struct lb_pool pool;
	struct lb_sched sched;
};

/* What every worker's proxy shares (proxy_limits.c): the node's client
 * connections and this second's new ones, and each client address's
 * requests this second. Lock-free (atomics); one for all workers. */
#define PX_CLIENT_SLOTS 65536
struct px_shared {
	_Atomic uint32_t sessions; /* client connections open, node-wide */
	_Atomic uint64_t conn_window; /* (second << 32) | connections in it */
	_Atomic uint64_t sess_window; /* the same for sessions */
	_Atomic uint64_t client[PX_CLIENT_SLOTS]; /* (ip << 32) | (second &
						    * 0xffff) << 16 | requests */
};

struct proxy {
	struct proxy_config cfg;
	struct tcp_stack *tcp;
	struct rte_mempool *pkt_pool;
	struct rte_mempool *sess_pool, *bconn_pool, *buf_pool;
	const struct weir_table *table; /* NULL: not populated yet */
	struct px_backend *backends; /* one per table backend */
	struct lb_member *members; /* one per table server, table order */
	int64_t *wrr; /* smooth WRR state, one per member */
	char *routes_json; /* /-/routes body of the current table */
	uint32_t routes_json_len;
	char *scratch; /* heads we build, 64 KiB */
	bool draining; /* telemetry's /weir/drain (the table can say so too) */
	uint64_t drain_t0; /* stack clock it began to drain; 0: not draining */
	bool refusing; /* past the grace: not listening */
	struct px_sess *sessions; /* open client sessions, newest first */
	uint32_t n_sessions;
	struct px_shared *shared; /* the node's limits (own, or the workers') */
	bool own_shared;
	struct px_sess *q_head, *q_tail; /* requests waiting for a server */
	uint32_t q_len;
	bool q_kick; /* a server slot came free: try the queue */
	uint32_t local_ip; /* host order: source toward backends */
	uint32_t rt_cursor; /* the router target the next call tries first */
	struct tw_wheel wheel;
	struct tw_entry sweep; /* pool idle and health re-probes */
	uint64_t now;
	uint64_t req_id; /* X-Request-Id sequence */
	uint32_t req_id_salt;
	uint32_t n_servers, servers_cap;
	struct px_server *servers; /* slots; a slot never moves while used */
	uint32_t *srv_index; /* id -> slot + 1, open addressing, rebuilt */
	uint32_t srv_index_mask;
	uint32_t free_cursor; /* where the search for a free slot starts */
	struct lb_ctx lb;
	struct proxy_bus bus; /* n 1 (alone) until proxy_set_bus */
	uint64_t ctr[PX_CTR_MAX];
	uint64_t parse_errors[HTTP_ERR_COUNT]; /* by enum http_error */
	struct weir_ctl_log *log; /* access-log ring; NULL: the log is off */
	uint32_t log_n; /* its records (a power of two) */
	uint16_t log_worker;
	int64_t log_rt_off; /* CLOCK_REALTIME - the stack clock, ns */
};

/* ---- functions ---------------------------------------------------------- */

/* Fills c with the defaults above. */
void proxy_config_defaults(struct proxy_config *c);

/* Sets up px on tcp (its pools named after name) and listens on cfg->port
 * of every local address. Start-up only. Returns 0 or a negative errno. */
int proxy_init(struct proxy *px, const struct proxy_config *cfg,
	       struct tcp_stack *tcp, struct rte_mempool *pkt_pool,
	       uint32_t local_ip, const char *name, uint64_t now);

/* Adopts a new table snapshot (NULL: none). Server state of ids that stay
 * is kept; a server the table drops keeps serving the requests it has,
 * its idle pooled connections are closed, and its slot is freed once
 * nothing uses it. Returns 0, -ENOMEM, or -ENOSPC when no server slot is
 * left; on failure the previous table stays in force (server slots
 * already made or refreshed stay too). Once it returns, the proxy holds no
 * pointer into the previous snapshot; t must live until the next call.
 * A session in flight finds its backend again by name when it needs it
 * (a retry): the new table may have renumbered or removed it. Called by
 * the worker between bursts (worker.c), never from a callback. */
int proxy_set_table(struct proxy *px, const struct weir_table *t);

/* Runs the proxy's timers due at now (ns). */
void proxy_timers(struct proxy *px, uint64_t now);

/* Next time proxy_timers() has work (ns), TW_NEVER if none. */
uint64_t proxy_next_timer(const struct proxy *px);

/* Looks up the dynamic state of server id; NULL if unknown. */
struct px_server *proxy_server(struct proxy *px, uint64_t id);

/* Writes the dynamic state of server slots [0, cap) into out (HAProxy's
 * stat vocabulary, include/weir/ctl.h; an unused slot gets id 0) and
 * returns how many entries may be in use. The worker's stats export. */
uint32_t proxy_export(const struct proxy *px, struct weir_ctl_srv_stat *out,
		      uint32_t cap);

/* Turns the access log on (ring: this worker's ring of n records in the
 * control segment) or off (ring NULL). rt_off converts the stack clock to
 * CLOCK_REALTIME for the records' timestamps. Called between bursts; the
 * worker refreshes it as weir-cp switches the log (proxy_log.c). */
void proxy_set_log(struct proxy *px, struct weir_ctl_log *ring, uint32_t n,
		   uint16_t worker, int64_t rt_off);

/* Joins px to the other workers' proxies (before the first table). */
void proxy_set_bus(struct proxy *px, const struct proxy_bus *bus);

/* A message another worker's proxy sent over the bus. Between bursts. */
void proxy_health_msg(struct proxy *px, const struct px_hmsg *m);

/* Shares sh (one for all workers; the proxy's own until then) for the
 * node-wide limits. Start-up only. */
void proxy_set_shared(struct proxy *px, struct px_shared *sh);

/* Is the node draining (weir-cp's drain in the table, or telemetry's)? */
bool proxy_draining(const struct proxy *px);

/* Writes the queue of each backend that has one into out (at most cap)
 * and returns how many. The worker's stats export. */
uint32_t proxy_export_queues(const struct proxy *px,
			     struct weir_ctl_queue_stat *out, uint32_t cap);

/* The node's health as /-/healthz reports it. */
enum http_fe_health proxy_health(struct proxy *px);

/* Returns the name of a counter. */
const char *proxy_counter_name(unsigned int id);

/* Frees pools; the TCP stack must be gone first. */
void proxy_fini(struct proxy *px);

#endif
