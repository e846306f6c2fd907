/* args: see args.h. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sl_topo.h"
#include "topo.h"

enum {
    OPT_WORKERS = 256,
    OPT_WORKER_MAC,
    OPT_HASH,
    OPT_OUTPUT,
    OPT_LINK_RATE,
    OPT_QUEUE_BYTES,
    OPT_PACE,
    OPT_WRITE_PCAPS,
    OPT_STATS_INTERVAL,
    OPT_IN_PORTS,
    OPT_OUT_PORTS,
    OPT_TOPOLOGY,
    OPT_CTL,
    OPT_DOWN,
    OPT_TIME,
    OPT_BURST,
    OPT_MBUFS,
    OPT_FRAG_HOLD,
    OPT_FRAG_TIMEOUT,
    OPT_MAX_HELD,
    OPT_NO_FLOW_COUNT,
    OPT_WAIT_START,
    OPT_HELP,
};

static const struct option long_opts[] = {
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"worker-mac", required_argument, NULL, OPT_WORKER_MAC},
    {"hash", required_argument, NULL, OPT_HASH},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"link-rate", required_argument, NULL, OPT_LINK_RATE},
    {"queue-bytes", required_argument, NULL, OPT_QUEUE_BYTES},
    {"pace", required_argument, NULL, OPT_PACE},
    {"write-pcaps", required_argument, NULL, OPT_WRITE_PCAPS},
    {"stats-interval", required_argument, NULL, OPT_STATS_INTERVAL},
    {"in-ports", required_argument, NULL, OPT_IN_PORTS},
    {"out-ports", required_argument, NULL, OPT_OUT_PORTS},
    {"topology", required_argument, NULL, OPT_TOPOLOGY},
    {"ctl", required_argument, NULL, OPT_CTL},
    {"down", required_argument, NULL, OPT_DOWN},
    {"time", required_argument, NULL, OPT_TIME},
    {"burst", required_argument, NULL, OPT_BURST},
    {"mbufs", required_argument, NULL, OPT_MBUFS},
    {"frag-hold-ms", required_argument, NULL, OPT_FRAG_HOLD},
    {"frag-timeout", required_argument, NULL, OPT_FRAG_TIMEOUT},
    {"max-held", required_argument, NULL, OPT_MAX_HELD},
    {"no-flow-count", no_argument, NULL, OPT_NO_FLOW_COUNT},
    {"wait-start", no_argument, NULL, OPT_WAIT_START},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

void fe_args_usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [EAL options] -- [options]\n"
            "\n"
            "A cPacket-style L2 flow balancer: decodes each frame, picks a worker by\n"
            "rendezvous hashing of its flow over the live workers, rewrites the\n"
            "destination MAC to that worker's and forwards it. Ports come from EAL\n"
            "(-a PCI, --vdev net_pcap0,rx_pcap=F / net_null / net_af_packet / ...).\n"
            "\n"
            "Workers\n"
            "  --workers N           number of workers (default 8, or the topology's)\n"
            "  --worker-mac M[,M..]  worker MACs (default 02:00:00:00:00:01..N)\n"
            "  --down K              start with worker K (1..N) marked down; repeatable\n"
            "  --topology FILE       INI topology: [frontend] and `type = worker` sections\n"
            "Balancing\n"
            "  --hash MODE           sym5 (default), sym3, sym2, inner-sym5, inner-sym3,\n"
            "                        inner-sym2, toeplitz\n"
            "  --frag-hold-ms MS     how long an early fragment waits for its first (100)\n"
            "  --frag-timeout S      how long a first fragment's worker is kept (300)\n"
            "  --max-held N          early fragments held at most (4096)\n"
            "Ports and output\n"
            "  --in-ports LIST       input ports, e.g. 0 or 0,1 (default 0)\n"
            "  --out-ports LIST      output ports (default: all the others)\n"
            "  --output switch|direct  switch: each worker MAC maps to an output port\n"
            "                        (topology port=, else round-robin); direct: all\n"
            "                        frames out the first output port\n"
            "  --write-pcaps DIR     write DIR/worker-K.pcap per worker (original\n"
            "                        timestamps) instead of sending; each worker is then\n"
            "                        its own egress link\n"
            "  --link-rate [ID=]RATE shape egress links (1G, 10G, 250M, ...): all links, or\n"
            "                        port ID (worker ID with --write-pcaps); repeatable.\n"
            "                        Rates count Ethernet L1 bytes (frame + FCS, min 64,\n"
            "                        + 20 preamble/IFG), as a real link does\n"
            "  --queue-bytes N       egress queue of a shaped link (default 262144)\n"
            "Replay\n"
            "  --pace 1x|<N>x|topspeed  pace pcap inputs by their timestamps (default\n"
            "                        topspeed)\n"
            "  --time S              stop after S seconds (default: at end of input or\n"
            "                        on SIGINT/SIGTERM)\n"
            "Reporting and control\n"
            "  --stats-interval S    a JSON stats line on stdout every S seconds\n"
            "  --ctl PATH            unix control socket: 'down K', 'up K', 'stats',\n"
            "                        'workers', 'start', 'stop'\n"
            "  --wait-start          set everything up, then wait for 'start' on --ctl\n"
            "  --no-flow-count       skip the per-worker distinct-flow estimate\n"
            "Tuning\n"
            "  --burst N             RX/TX burst (default 32)\n"
            "  --mbufs N             mbuf pool size (default: computed)\n"
            "\n"
            "The summary JSON is printed on stdout at exit; telemetry commands under\n"
            "/sluice/ (stats, workers, ports, worker_down,K, worker_up,K).\n",
            prog);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)*s))
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

int fe_parse_list(const char *s, uint16_t *ids, int max, unsigned limit)
{
    int n = 0;
    const char *p = s;
    if (s == NULL || *s == '\0')
        return -EINVAL;
    while (*p) {
        char *end;
        while (*p == ' ')
            p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        unsigned long a = strtoul(p, &end, 10), b = a;
        if (*end == '-') {
            if (!isdigit((unsigned char)end[1]))
                return -EINVAL;
            b = strtoul(end + 1, &end, 10);
        }
        if (a > b || b >= limit)
            return -EINVAL;
        for (unsigned long v = a; v <= b; v++) {
            for (int i = 0; i < n; i++)
                if (ids[i] == v)
                    return -EINVAL; /* listed twice */
            if (n >= max)
                return -EINVAL;
            ids[n++] = (uint16_t)v;
        }
        while (*end == ' ')
            end++;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -EINVAL;
        p = end;
    }
    return n;
}

static int add_macs(struct fe_conf *c, const char *list, char *err, size_t errlen)
{
    char *dup = strdup(list), *save = NULL;
    int rc = 0;
    if (dup == NULL)
        return -ENOMEM;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ')
            t++;
        if (c->n_macs >= FE_MAX_WORKERS) {
            rc = fail(err, errlen, "--worker-mac: more than %d MACs", FE_MAX_WORKERS);
            break;
        }
        if (sl_topo_mac_parse(t, c->mac[c->n_macs]) < 0) {
            rc = fail(err, errlen, "--worker-mac: bad MAC '%s' (want aa:bb:cc:dd:ee:ff)", t);
            break;
        }
        c->n_macs++;
    }
    free(dup);
    return rc;
}

static int add_rate(struct fe_conf *c, const char *arg, const char *what, char *err, size_t errlen)
{
    const char *eq = strchr(arg, '=');
    struct fe_rate r = {.id = -1};
    if (c->n_rates >= FE_MAX_RATES)
        return fail(err, errlen, "%s: too many link rates", what);
    if (eq != NULL) {
        char idbuf[16];
        uint64_t id;
        size_t n = (size_t)(eq - arg);
        if (n == 0 || n >= sizeof(idbuf))
            return fail(err, errlen, "%s: bad link id in '%s'", what, arg);
        memcpy(idbuf, arg, n);
        idbuf[n] = '\0';
        if (parse_u64(idbuf, 0, FE_MAX_WORKERS, &id) < 0)
            return fail(err, errlen, "%s: bad link id in '%s'", what, arg);
        r.id = (int)id;
        arg = eq + 1;
    }
    if (sl_topo_rate_parse(arg, &r.bps) < 0)
        return fail(err, errlen, "%s: bad rate '%s' (want e.g. 1G, 250M, 10G)", what, arg);
    c->rate[c->n_rates++] = r;
    return 0;
}

static int parse_pace(const char *s, double *pace)
{
    size_t n = strlen(s);
    if (strcmp(s, "topspeed") == 0) {
        *pace = 0;
        return 0;
    }
    if (n < 2 || (s[n - 1] != 'x' && s[n - 1] != 'X'))
        return -EINVAL;
    char buf[32];
    if (n - 1 >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, s, n - 1);
    buf[n - 1] = '\0';
    return parse_double(buf, 1e-3, 1e6, pace);
}

static void defaults(struct fe_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->n_workers = 8;
    for (unsigned i = 0; i < FE_MAX_WORKERS; i++) {
        c->worker_port[i] = -1;
        c->weight[i] = 1.0;
    }
    c->hash = SL_HASH_SYM5;
    c->output = FE_OUT_SWITCH;
    c->queue_bytes = 256 * 1024;
    c->n_in = c->n_out = -1;
    c->burst = 32;
    c->frag_hold_ns = 100ull * 1000 * 1000;
    c->frag_timeout_ns = 300ull * 1000 * 1000 * 1000;
    c->max_held = 4096;
    c->count_flows = true;
}

/* The options the topology can also set, shared by both sources. */
static int apply_shared(struct fe_conf *c, int opt, const char *arg, const char *what, char *err,
                        size_t errlen)
{
    uint64_t u;
    int n;
    switch (opt) {
    case OPT_WORKERS:
        if (parse_u64(arg, 1, FE_MAX_WORKERS, &u) < 0)
            return fail(err, errlen, "%s: bad worker count '%s' (1..%d)", what, arg,
                        FE_MAX_WORKERS);
        c->n_workers = (unsigned)u;
        c->workers_set = true;
        return 0;
    case OPT_HASH:
        if (sl_hash_mode_parse(arg, &c->hash) < 0)
            return fail(err, errlen,
                        "%s: unknown hash mode '%s' (sym5, sym3, sym2, inner-sym5, "
                        "inner-sym3, inner-sym2, toeplitz)",
                        what, arg);
        return 0;
    case OPT_OUTPUT:
        if (strcmp(arg, "switch") == 0)
            c->output = FE_OUT_SWITCH;
        else if (strcmp(arg, "direct") == 0)
            c->output = FE_OUT_DIRECT;
        else
            return fail(err, errlen, "%s: unknown output '%s' (switch or direct)", what, arg);
        return 0;
    case OPT_QUEUE_BYTES:
        if (parse_u64(arg, 2048, 1u << 30, &u) < 0)
            return fail(err, errlen, "%s: bad queue size '%s' (2048..2^30 bytes)", what, arg);
        c->queue_bytes = (uint32_t)u;
        return 0;
    case OPT_PACE:
        if (parse_pace(arg, &c->pace) < 0)
            return fail(err, errlen, "%s: bad pace '%s' (1x, 10x, 0.5x or topspeed)", what, arg);
        return 0;
    case OPT_STATS_INTERVAL:
        if (parse_double(arg, 0, 86400, &c->stats_interval) < 0)
            return fail(err, errlen, "%s: bad interval '%s' (seconds)", what, arg);
        return 0;
    case OPT_IN_PORTS:
        n = fe_parse_list(arg, c->in_ports, FE_MAX_PORTS, FE_MAX_PORTS);
        if (n <= 0)
            return fail(err, errlen, "%s: bad port list '%s' (e.g. 0 or 0,1 or 1-3)", what, arg);
        c->n_in = n;
        return 0;
    case OPT_OUT_PORTS:
        n = fe_parse_list(arg, c->out_ports, FE_MAX_PORTS, FE_MAX_PORTS);
        if (n <= 0)
            return fail(err, errlen, "%s: bad port list '%s' (e.g. 1 or 1,2 or 1-3)", what, arg);
        c->n_out = n;
        return 0;
    case OPT_LINK_RATE:
        return add_rate(c, arg, what, err, errlen);
    default:
        return fail(err, errlen, "internal: option %d", opt);
    }
}

int fe_args_set_key(struct fe_conf *c, const char *key, const char *val, const char *where,
                    char *err, size_t errlen)
{
    static const struct {
        const char *key;
        int opt;
    } keys[] = {
        {"workers", OPT_WORKERS},     {"hash", OPT_HASH},
        {"output", OPT_OUTPUT},       {"queue_bytes", OPT_QUEUE_BYTES},
        {"pace", OPT_PACE},           {"stats_interval", OPT_STATS_INTERVAL},
        {"in_ports", OPT_IN_PORTS},   {"out_ports", OPT_OUT_PORTS},
        {"link_rate", OPT_LINK_RATE},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcmp(keys[i].key, key) != 0)
            continue;
        if (keys[i].opt != OPT_LINK_RATE)
            return apply_shared(c, keys[i].opt, val, where, err, errlen);
        /* several rates, comma separated */
        char *dup = strdup(val), *save = NULL;
        int rc = 0;
        if (dup == NULL)
            return -ENOMEM;
        for (char *t = strtok_r(dup, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
            while (*t == ' ')
                t++;
            char *e = t + strlen(t);
            while (e > t && e[-1] == ' ')
                *--e = '\0';
            rc = apply_shared(c, OPT_LINK_RATE, t, where, err, errlen);
        }
        free(dup);
        return rc;
    }
    return -ENOENT;
}

static int apply_cli(struct fe_conf *c, int opt, const char *arg, char *err, size_t errlen)
{
    uint64_t u;
    double d;
    const char *name = NULL;
    for (const struct option *o = long_opts; o->name; o++)
        if (o->val == opt)
            name = o->name;
    char what[40];
    snprintf(what, sizeof(what), "--%s", name ? name : "?");

    switch (opt) {
    case OPT_WORKER_MAC:
        c->n_macs = 0; /* the command line replaces the topology's MACs */
        return add_macs(c, arg, err, errlen);
    case OPT_WRITE_PCAPS:
        if (*arg == '\0')
            return fail(err, errlen, "--write-pcaps: empty directory");
        c->write_pcaps = arg;
        return 0;
    case OPT_CTL:
        if (*arg == '\0' || strlen(arg) >= 108)
            return fail(err, errlen, "--ctl: socket path empty or longer than 107 bytes");
        c->ctl_path = arg;
        return 0;
    case OPT_DOWN:
        if (parse_u64(arg, 1, FE_MAX_WORKERS, &u) < 0)
            return fail(err, errlen, "--down: bad worker '%s' (1..N)", arg);
        c->down[u - 1] = true;
        return 0;
    case OPT_TIME:
        if (parse_double(arg, 0, 1e7, &d) < 0)
            return fail(err, errlen, "--time: bad duration '%s' (seconds)", arg);
        c->run_time = d;
        return 0;
    case OPT_BURST:
        if (parse_u64(arg, 1, 256, &u) < 0)
            return fail(err, errlen, "--burst: bad burst '%s' (1..256)", arg);
        c->burst = (unsigned)u;
        return 0;
    case OPT_MBUFS:
        if (parse_u64(arg, 1024, 1u << 26, &u) < 0)
            return fail(err, errlen, "--mbufs: bad count '%s' (1024..2^26)", arg);
        c->n_mbufs = (unsigned)u;
        return 0;
    case OPT_FRAG_HOLD:
        if (parse_double(arg, 0, 3600e3, &d) < 0)
            return fail(err, errlen, "--frag-hold-ms: bad time '%s'", arg);
        c->frag_hold_ns = (uint64_t)(d * 1e6);
        return 0;
    case OPT_FRAG_TIMEOUT:
        if (parse_double(arg, 0.001, 86400, &d) < 0)
            return fail(err, errlen, "--frag-timeout: bad time '%s' (seconds)", arg);
        c->frag_timeout_ns = (uint64_t)(d * 1e9);
        return 0;
    case OPT_MAX_HELD:
        if (parse_u64(arg, 0, 1u << 20, &u) < 0)
            return fail(err, errlen, "--max-held: bad count '%s'", arg);
        c->max_held = (unsigned)u;
        return 0;
    case OPT_NO_FLOW_COUNT:
        c->count_flows = false;
        return 0;
    case OPT_WAIT_START:
        c->wait_start = true;
        return 0;
    default:
        return apply_shared(c, opt, arg, what, err, errlen);
    }
}

int fe_args_parse(struct fe_conf *c, int argc, char **argv, char *err, size_t errlen)
{
    int opt, rc;
    const char *prog = argc > 0 ? argv[0] : "frontend-dpdk";
    defaults(c);

    /* Pass 1: --help and --topology, so the command line can override the file. */
    opterr = 0;
    optind = 0; /* 0: glibc re-initialises getopt completely */
    while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (opt == OPT_HELP || opt == 'h') {
            fe_args_usage(stdout, prog);
            return 1;
        }
        if (opt == OPT_TOPOLOGY) {
            free(c->topology);
            c->topology = strdup(optarg);
            if (c->topology == NULL)
                return fail(err, errlen, "out of memory");
        }
    }
    if (c->topology != NULL) {
        rc = fe_topo_apply(c, c->topology, err, errlen);
        if (rc < 0)
            return rc;
        c->n_topo_rates = c->n_rates;
    }

    optind = 0; /* 0: glibc re-initialises getopt completely */
    while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        if (opt == '?' || opt == ':') {
            const char *bad = argv[optind - 1];
            if (optopt != 0 && bad[0] == '-' && bad[1] == '-')
                return fail(err, errlen, "option %s needs a value", bad);
            return fail(err, errlen, "unknown option '%s' (see --help)", bad);
        }
        if (opt == OPT_TOPOLOGY)
            continue;
        rc = apply_cli(c, opt, optarg, err, errlen);
        if (rc < 0)
            return rc;
    }
    if (optind < argc)
        return fail(err, errlen, "unexpected argument '%s' (see --help)", argv[optind]);

    if (!c->workers_set && c->n_macs > 0)
        c->n_workers = c->n_macs;
    if (c->n_macs > 0 && c->n_workers > c->n_macs)
        return fail(err, errlen, "%u workers but only %u worker MACs", c->n_workers, c->n_macs);
    for (unsigned i = c->n_macs; i < c->n_workers; i++)
        sl_topo_default_mac(i + 1, c->mac[i]);
    for (unsigned i = 0; i < c->n_workers; i++)
        for (unsigned j = 0; j < i; j++)
            if (memcmp(c->mac[i], c->mac[j], 6) == 0)
                return fail(err, errlen, "workers %u and %u have the same MAC", j + 1, i + 1);
    for (unsigned i = c->n_workers; i < FE_MAX_WORKERS; i++)
        if (c->down[i])
            return fail(err, errlen, "--down %u: only %u workers", i + 1, c->n_workers);
    if (c->n_in == 0)
        return fail(err, errlen, "no input ports");
    if (c->wait_start && c->ctl_path == NULL)
        return fail(err, errlen, "--wait-start needs --ctl PATH (where 'start' comes from)");
    return 0;
}

void fe_conf_free(struct fe_conf *c)
{
    free(c->topology);
    c->topology = NULL;
}
