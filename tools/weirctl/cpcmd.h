/* cpcmd: weirctl's commands that talk to weir-cp (the control plane):
 * show info / stat / table, push, set server, drain. Each prints what a
 * person reads, or the JSON reply with json set, and returns the exit
 * code: 0, 1 (weir-cp refused or is not running; the reason on stderr),
 * 2 (bad arguments). */
#ifndef WEIRCTL_CPCMD_H
#define WEIRCTL_CPCMD_H

struct cpcmd_opts {
	const char *sock; /* weir-cp's API socket */
	int json;
};

int cpcmd_show_info(const struct cpcmd_opts *o);
int cpcmd_show_stat(const struct cpcmd_opts *o);
int cpcmd_show_table(const struct cpcmd_opts *o);

/* push FILE: the file is Ray's document (target groups, fallback). */
int cpcmd_push(const struct cpcmd_opts *o, const char *file, int fallback);

/* set server BACKEND/SERVER (state ready|drain|maint | weight N)... */
int cpcmd_set_server(const struct cpcmd_opts *o, int argc, char **argv);

/* drain on [--grace-ms N] | off (opt, val: the option, or NULL) */
int cpcmd_drain(const struct cpcmd_opts *o, const char *onoff, const char *opt,
		const char *val);

#endif
