/* sluice-node standalone: capture (a pcap/pcapng file or a live interface
 * through libpcap), analyse (sl_ana), write Zeek logs into a directory. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sl_ana.h"
#include "sl_ana_mods.h"
#include "sl_log.h"
#include "sl_net.h"
#include "node_common.h"
#include "sl_node.h"

#define MAX_STREAMS       32
#define DEFAULT_MAX_CONNS 1000000ULL
#define LIVE_WAIT_MS      100 /* longest a live capture waits before looking at the stop flag */

/* Protocol modules attached to every standalone analysis, in order. Other
 * helpers add a line here (as with the meson lists). */
static const struct sl_ana_module modules[] = {
    {"zeek", sl_ana_mods_attach, sl_ana_mods_detach},
};

struct opts {
    const char *read;
    const char *iface;
    const char *filter;
    const char *log_dir;
    const char *networks;
    const char *peer;
    enum sl_log_format fmt;
    bool ignore_checksums;
    bool private_local;
    bool seeded;
    uint64_t seed;
    uint64_t max_conns;
    int snaplen;
};

/* Log files, opened on their first record as Zeek's writers are. */
struct files {
    const char *dir;
    enum sl_log_format fmt;
    struct {
        const struct sl_log_schema *schema;
        struct sl_log_writer *w;
    } s[MAX_STREAMS];
    int n;
    int open_errno;
    const char *open_failed;
};

static volatile sig_atomic_t stop_flag;
static pcap_t *live_handle;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
    if (live_handle)
        pcap_breakloop(live_handle);
}

static int files_write(void *ctx, const struct sl_log_schema *schema, const struct sl_log_val *vals)
{
    struct files *f = ctx;
    int i;
    for (i = 0; i < f->n; i++)
        if (f->s[i].schema == schema || strcmp(f->s[i].schema->path, schema->path) == 0)
            break;
    if (i == f->n) {
        if (f->n == MAX_STREAMS)
            return -ENOSPC;
        struct sl_log_writer *w = sl_log_open(f->dir, schema, f->fmt, 0);
        if (!w) {
            if (!f->open_failed) {
                f->open_errno = errno;
                f->open_failed = schema->path;
            }
            return -errno;
        }
        f->s[f->n].schema = schema;
        f->s[f->n].w = w;
        f->n++;
    }
    return sl_log_write(f->s[i].w, vals);
}

static int files_close(struct files *f)
{
    int rc = 0;
    for (int i = 0; i < f->n; i++)
        if (sl_log_close(f->s[i].w, 0) < 0)
            rc = -EIO;
    f->n = 0;
    return rc;
}

static void help(FILE *out)
{
    fprintf(out,
            "usage: sluice-node standalone (-r PCAP | -i IFACE) [options]\n"
            "\n"
            "Analyses packets as one Zeek standalone node and writes Zeek logs\n"
            "(conn.log, weird.log, ...) into the log directory.\n"
            "\n"
            "  -r, --read PCAP        read a pcap or pcapng file\n"
            "  -i, --interface IFACE  capture live from IFACE (stop with SIGINT/SIGTERM)\n"
            "  -f, --filter FILTER    BPF filter, e.g. 'ether dst 02:00:00:00:00:03'\n"
            "  -C, --no-checksums     ignore IP/TCP/UDP/ICMP checksums (zeek -C)\n"
            "      --log-dir DIR      where logs go (default: current directory)\n"
            "      --log-format FMT   tsv (Zeek's ASCII writer, default) or json\n"
            "      --networks FILE    local networks, zeekctl networks.cfg format\n"
            "                         (one prefix per line; adds to private space)\n"
            "      --no-private-local private address space is not local by default\n"
            "                         (zeekctl PrivateAddressSpaceIsLocal=0)\n"
            "      --seed N           deterministic uids from seed N\n"
            "      --max-conns N      flow-table limit; beyond it the least recently\n"
            "                         active connection is evicted (default %llu, 0 =\n"
            "                         unlimited)\n"
            "      --peer NAME        node name for weird.log's peer column (default zeek)\n"
            "      --snaplen N        live capture snapshot length (default 65535)\n"
            "  -h, --help             this text\n"
            "\n"
            "At the end a one-line summary goes to stderr: packets, connections,\n"
            "weirds, and packets dropped by libpcap/the kernel.\n",
            (unsigned long long)DEFAULT_MAX_CONNS);
}

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "sluice-node standalone: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Returns -1 to go on, else an exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum { O_LOGDIR = 256, O_FMT, O_NETS, O_NOPRIV, O_SEED, O_MAXC, O_PEER, O_SNAP };
    static const struct option lo[] = {
        {"read", required_argument, NULL, 'r'},
        {"interface", required_argument, NULL, 'i'},
        {"filter", required_argument, NULL, 'f'},
        {"no-checksums", no_argument, NULL, 'C'},
        {"log-dir", required_argument, NULL, O_LOGDIR},
        {"log-format", required_argument, NULL, O_FMT},
        {"networks", required_argument, NULL, O_NETS},
        {"no-private-local", no_argument, NULL, O_NOPRIV},
        {"seed", required_argument, NULL, O_SEED},
        {"max-conns", required_argument, NULL, O_MAXC},
        {"peer", required_argument, NULL, O_PEER},
        {"snaplen", required_argument, NULL, O_SNAP},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v;
    int c;

    *o = (struct opts){.log_dir = ".",
                       .fmt = SL_LOG_TSV,
                       .private_local = true,
                       .max_conns = DEFAULT_MAX_CONNS,
                       .snaplen = 65535,
                       .peer = "zeek"};
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":r:i:f:Ch", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            o->read = optarg;
            break;
        case 'i':
            o->iface = optarg;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 'C':
            o->ignore_checksums = true;
            break;
        case O_LOGDIR:
            o->log_dir = optarg;
            break;
        case O_FMT:
            if (strcmp(optarg, "tsv") == 0)
                o->fmt = SL_LOG_TSV;
            else if (strcmp(optarg, "json") == 0)
                o->fmt = SL_LOG_JSON;
            else
                return fail("--log-format must be tsv or json, not '%s'", optarg);
            break;
        case O_NETS:
            o->networks = optarg;
            break;
        case O_NOPRIV:
            o->private_local = false;
            break;
        case O_SEED:
            if (!parse_u64(optarg, &o->seed))
                return fail("--seed needs a non-negative integer, not '%s'", optarg);
            o->seeded = true;
            break;
        case O_MAXC:
            if (!parse_u64(optarg, &o->max_conns))
                return fail("--max-conns needs a non-negative integer, not '%s'", optarg);
            break;
        case O_PEER:
            o->peer = optarg;
            break;
        case O_SNAP:
            if (!parse_u64(optarg, &v) || v < 64 || v > 262144)
                return fail("--snaplen needs an integer in 64..262144, not '%s'", optarg);
            o->snaplen = (int)v;
            break;
        case 'h':
            help(stdout);
            return 0;
        case ':':
            return fail("option %s needs an argument", argv[optind - 1]);
        default:
            return fail("unknown option '%s' (try --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return fail("unexpected argument '%s' (try --help)", argv[optind]);
    if (!o->read == !o->iface)
        return fail("%s", "give exactly one of -r PCAP or -i IFACE (try --help)");
    return -1;
}

static pcap_t *open_source(const struct opts *o)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p;

    if (o->read) {
        p = pcap_open_offline(o->read, err);
        if (!p) {
            fprintf(stderr, "sluice-node standalone: cannot read %s: %s\n", o->read, err);
            return NULL;
        }
    } else {
        p = pcap_create(o->iface, err);
        if (!p) {
            fprintf(stderr, "sluice-node standalone: cannot open %s: %s\n", o->iface, err);
            return NULL;
        }
        pcap_set_snaplen(p, o->snaplen);
        pcap_set_promisc(p, 1);
        pcap_set_timeout(p, 100);
        pcap_set_immediate_mode(p, 1);
        pcap_set_buffer_size(p, 64 << 20);
        int rc = pcap_activate(p);
        if (rc >= 0)
            rc = nc_pcap_live(p, err);
        else
            snprintf(err, sizeof(err), "%s", pcap_geterr(p));
        if (rc < 0) {
            fprintf(stderr, "sluice-node standalone: cannot capture on %s: %s\n", o->iface, err);
            pcap_close(p);
            return NULL;
        }
    }
    if (o->filter) {
        struct bpf_program prog;
        if (pcap_compile(p, &prog, o->filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
            pcap_setfilter(p, &prog) < 0) {
            fprintf(stderr, "sluice-node standalone: bad filter '%s': %s\n", o->filter,
                    pcap_geterr(p));
            pcap_close(p);
            return NULL;
        }
        pcap_freecode(&prog);
    }
    return p;
}

int sl_node_standalone(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;

    struct stat sb;
    if (stat(o.log_dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "sluice-node standalone: log directory %s: %s\n", o.log_dir,
                stat(o.log_dir, &sb) < 0 ? strerror(errno) : "not a directory");
        return 1;
    }

    struct sl_net *net = sl_net_new(o.private_local);
    if (!net) {
        fprintf(stderr, "sluice-node standalone: out of memory\n");
        return 1;
    }
    if (o.networks) {
        char err[512];
        if (sl_net_load(net, o.networks, err, sizeof(err)) < 0) {
            fprintf(stderr, "sluice-node standalone: %s\n", err);
            sl_net_free(net);
            return 1;
        }
    }

    pcap_t *p = open_source(&o);
    if (!p) {
        sl_net_free(net);
        return 1;
    }

    struct files files = {.dir = o.log_dir, .fmt = o.fmt};
    struct sl_ana_output out = {.ctx = &files, .write = files_write};
    struct sl_ana_cfg cfg = {
        .ignore_checksums = o.ignore_checksums,
        .max_conns = o.max_conns,
        .local = net,
        .seeded = o.seeded,
        .seed = o.seed,
        .peer = o.peer,
    };
    struct sl_ana *a = sl_ana_new(&cfg, &out);
    if (!a) {
        fprintf(stderr, "sluice-node standalone: cannot start the analysis: %s\n", strerror(errno));
        pcap_close(p);
        sl_net_free(net);
        return 1;
    }
    void *mod_state[sizeof(modules) / sizeof(modules[0])] = {0};
    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++) {
        if (!modules[i].attach)
            continue;
        int mr = modules[i].attach(a, &mod_state[i]);
        if (mr < 0) {
            fprintf(stderr, "sluice-node standalone: module %s: %s\n", modules[i].name,
                    strerror(-mr));
            rc = 1;
            goto done;
        }
    }

    if (o.iface) {
        live_handle = p;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
    int dlt = pcap_datalink(p);
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int r;
    rc = 0;
    while (!stop_flag && (r = nc_pcap_next(p, LIVE_WAIT_MS, &hdr, &data)) != PCAP_ERROR_BREAK) {
        if (r == 0)
            continue; /* nothing for a while, or a signal: look at the flag */
        if (r < 0) {
            fprintf(stderr, "sluice-node standalone: %s: %s\n", o.read ? o.read : o.iface,
                    pcap_geterr(p));
            rc = 1;
            break;
        }
        double ts = (double)hdr->ts.tv_sec + (double)hdr->ts.tv_usec / 1e6;
        sl_ana_packet(a, ts, data, hdr->caplen, hdr->len, dlt);
    }
    sl_ana_finish(a);

done:
    for (size_t i = 0; i < sizeof(modules) / sizeof(modules[0]); i++)
        if (modules[i].detach && mod_state[i])
            modules[i].detach(mod_state[i]);

    struct pcap_stat ps = {0};
    bool have_ps = o.iface && pcap_stats(p, &ps) == 0;
    struct sl_ana_stats st;
    sl_ana_get_stats(a, &st);
    if (files_close(&files) < 0 || st.write_errors) {
        fprintf(stderr, "sluice-node standalone: writing logs in %s failed%s%s%s\n", o.log_dir,
                files.open_failed ? " (" : "", files.open_failed ? files.open_failed : "",
                files.open_failed ? ".log)" : "");
        rc = 1;
    }
    fprintf(stderr,
            "sluice-node standalone: %" PRIu64 " packets, %" PRIu64 " connections (%" PRIu64
            " evicted), %" PRIu64 " weirds, %" PRIu64 " dropped by libpcap\n",
            st.packets, st.conns.total, st.conns.evicted, st.weirds,
            have_ps ? (uint64_t)ps.ps_drop + ps.ps_ifdrop : 0);
    sl_ana_free(a);
    pcap_close(p);
    live_handle = NULL;
    sl_net_free(net);
    return rc;
}
