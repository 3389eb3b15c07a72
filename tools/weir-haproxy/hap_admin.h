/* hap_admin: HAProxy's admin socket ("stats socket PATH") for what Ray
 * Serve sends over it: show info, show stat, show servers state, set
 * server / enable / disable server, ';'-separated commands and prompt
 * mode. One thread, non-blocking sockets: a slow or malformed client gets
 * an error or is cut, never blocks the others or crashes the stand-in. */
#ifndef WEIR_HAP_ADMIN_H
#define WEIR_HAP_ADMIN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hap_cfg.h"
#include "hap_stat.h"

#define HAP_ADMIN_CLIENTS 32
#define HAP_ADMIN_LINE_MAX 4096
#define HAP_ADMIN_IDLE_MS 30000 /* HAProxy's "stats timeout 30s" */
#define HAP_ADMIN_LINGER_MS 2000 /* to the client's FIN after our answer */

struct hap_client {
	int fd; /* -1: free */
	char in[HAP_ADMIN_LINE_MAX];
	size_t in_len;
	bool prompt, closing, lingering;
	struct hap_out out;
	size_t out_off;
	uint64_t last_ns;
};

struct hap_admin {
	int fd;
	char path[108];
	dev_t dev;
	ino_t ino; /* the socket file we created: unlinked only if still ours */
	const struct hap_cfg *cfg;
	uint64_t start_ns;
	struct hap_client cl[HAP_ADMIN_CLIENTS];
};

/* Binds cfg->stats_socket: a new socket at a temporary name renamed over
 * the path, so a client always finds a listener (the old stand-in's until
 * the rename). Returns 0 or -errno with err. */
int hap_admin_open(struct hap_admin *a, const struct hap_cfg *cfg, char *err,
		   size_t errlen);

/* Serves until *stop is set (a signal), or until the socket path is no
 * longer ours (a newer stand-in took it over; checked every 500 ms). */
void hap_admin_run(struct hap_admin *a, volatile sig_atomic_t *stop);

/* Closes every connection; removes the socket file if it is still ours
 * (a newer stand-in may have renamed its own over it). */
void hap_admin_close(struct hap_admin *a);

/* Runs one input line (';'-separated commands) and appends the answers
 * to out. *prompt is the connection's interactive mode (in and out).
 * Returns true when the connection should close after out is sent. */
bool hap_admin_line(struct hap_admin *a, const char *line, bool *prompt,
		    struct hap_out *out);

#endif
