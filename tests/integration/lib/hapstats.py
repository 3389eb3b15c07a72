"""hapstats: parsers for HAProxy's runtime API answers, written from
HAProxy's documented formats (doc/management.txt of HAProxy 2.8: "9.1. CSV
format", "show info", "show servers state"), not from weir-haproxy's code,
so a test that uses them checks the stand-in against HAProxy's contract.
Each raises ValueError with the offending line when the answer does not
follow the format."""

# management.txt 9.1: the field positions are fixed ("the order of the
# fields is guaranteed"); new fields are only ever appended.
STAT_FIELDS = ["pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
               "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight",
               "act", "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid",
               "sid", "throttle", "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max",
               "check_status", "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx",
               "hrsp_4xx", "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max",
               "req_tot", "cli_abrt", "srv_abrt"]
# 32. type: 0=frontend, 1=backend, 2=server, 3=socket/listener
STAT_TYPES = {"0": "frontend", "1": "backend", "2": "server", "3": "listener"}
# 17. status: the values the documentation lists for each row type
SERVER_STATUS = {"UP", "DOWN", "NOLB", "MAINT", "MAINT(via)", "MAINT(resolution)", "DRAIN",
                 "no check"}
SERVER_STATUS_PREFIX = ("UP ", "DOWN ", "NOLB ")  # "UP 1/3" while going down
PROXY_STATUS = {"OPEN", "UP", "DOWN", "FULL", "STOP"}
# numeric fields Ray and these tests read
STAT_NUMERIC = ["qcur", "scur", "stot", "type", "req_tot"]

# management.txt "show servers state", version 1
STATE_FIELDS = ["be_id", "be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state",
                "srv_admin_state", "srv_uweight", "srv_iweight", "srv_time_since_last_change",
                "srv_check_status", "srv_check_result", "srv_check_health", "srv_check_state",
                "srv_agent_state", "bk_f_forced_id", "srv_f_forced_id", "srv_fqdn", "srv_port",
                "srvrecord", "srv_use_ssl", "srv_check_port", "srv_check_addr", "srv_agent_addr",
                "srv_agent_port"]
STATE_NUMERIC = ["be_id", "srv_id", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight",
                 "srv_port"]
# srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping
OP_STATES = {0, 1, 2, 3}


def parse_info(text):
    """show info: one "Field: value" per line. {Field: value}."""
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if ": " not in line:
            raise ValueError("show info line %d is not 'Field: value': %r" % (n, line))
        k, v = line.split(": ", 1)
        if not k or " " in k or k in out:
            raise ValueError("show info line %d: bad or repeated field %r" % (n, k))
        out[k] = v
    for k in ("Name", "Version", "Pid", "Uptime_sec", "CurrConns"):
        if k not in out:
            raise ValueError("show info: no %s" % k)
    for k in ("Pid", "Uptime_sec", "CurrConns", "CumConns", "CumReq", "Maxconn"):
        if k in out and not out[k].isdigit():
            raise ValueError("show info: %s is not a number: %r" % (k, out[k]))
    return out


def parse_stat(text):
    """show stat: a "# " header naming the fields, then one CSV line per
    proxy/server, each ending with ','. [row dict] in answer order, each
    with "kind" (frontend/backend/server)."""
    lines = [l for l in text.split("\n") if l.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError("show stat: no '# ' header line: %r" % text[:80])
    hdr = lines[0][2:].rstrip(",").split(",")
    if hdr[:len(STAT_FIELDS)] != STAT_FIELDS[:len(hdr)] or len(hdr) < 33:
        raise ValueError("show stat: header fields not at HAProxy's positions: %r" % hdr[:40])
    rows = []
    for n, line in enumerate(lines[1:], 2):
        if not line.endswith(","):
            raise ValueError("show stat line %d does not end with ',': %r" % (n, line[:80]))
        cells = line[:-1].split(",")
        if len(cells) != len(hdr):
            raise ValueError("show stat line %d: %d fields, the header has %d" % (n, len(cells), len(hdr)))
        r = dict(zip(hdr, cells))
        for k in STAT_NUMERIC:
            if k in r and r[k] != "" and not r[k].isdigit():
                raise ValueError("show stat line %d: %s=%r is not a number" % (n, k, r[k]))
        kind = STAT_TYPES.get(r["type"])
        if kind is None:
            raise ValueError("show stat line %d: type %r" % (n, r["type"]))
        if (kind == "frontend") != (r["svname"] == "FRONTEND") or \
                (kind == "backend") != (r["svname"] == "BACKEND"):
            raise ValueError("show stat line %d: svname %r for a %s row" % (n, r["svname"], kind))
        ok = (r["status"] in SERVER_STATUS or r["status"].startswith(SERVER_STATUS_PREFIX)) \
            if kind == "server" else r["status"] in PROXY_STATUS
        if not ok:
            raise ValueError("show stat line %d: status %r for a %s row" % (n, r["status"], kind))
        r["kind"] = kind
        rows.append(r)
    return rows


def servers(rows, backend=None):
    """The server rows (of one backend)."""
    return [r for r in rows if r["kind"] == "server" and (backend is None or r["pxname"] == backend)]


def sum_field(rows, field):
    return sum(int(r[field] or 0) for r in rows)


def parse_servers_state(text):
    """show servers state: "1" (the version), a "# " header line naming
    the fields, then one space-separated line per server. [row dict]."""
    lines = text.split("\n")
    if not lines or lines[0] != "1":
        raise ValueError("show servers state: version line %r, want '1'" % lines[:1])
    if len(lines) < 2 or not lines[1].startswith("# "):
        raise ValueError("show servers state: no '# ' header line")
    hdr = lines[1][2:].split()
    if hdr[:len(STATE_FIELDS)] != STATE_FIELDS[:len(hdr)] or len(hdr) < 19:
        raise ValueError("show servers state: header %r is not version 1's" % hdr)
    rows = []
    for n, line in enumerate(lines[2:], 3):
        if not line.strip():
            continue
        cells = line.split()
        if len(cells) != len(hdr):
            raise ValueError("show servers state line %d: %d fields, the header has %d"
                             % (n, len(cells), len(hdr)))
        r = dict(zip(hdr, cells))
        for k in STATE_NUMERIC:
            if k in r and not r[k].isdigit():
                raise ValueError("show servers state line %d: %s=%r is not a number" % (n, k, r[k]))
        if int(r["srv_op_state"]) not in OP_STATES:
            raise ValueError("show servers state line %d: srv_op_state %s" % (n, r["srv_op_state"]))
        rows.append(r)
    return rows
