/* sluice-synth: writes a synthesized capture (pcap, Ethernet, microsecond
 * timestamps), byte-identical for the same arguments. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

#define PROG "sluice-synth"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: " PROG " --profile NAME [--seed N] [--packets N] [--flows N] [--hosts N]\n"
            "                    [--duration S] [--sizes real|imix|64|1500|N] [--start EPOCH]\n"
            "                    [--stats] -w FILE\n"
            "\n"
            "Writes a synthesized pcap (Ethernet, microsecond timestamps). The same arguments\n"
            "always give the same bytes.\n"
            "\n"
            "  --profile NAME  kind of traffic (below)\n"
            "  --seed N        random seed (default 1)\n"
            "  --packets N     packets to write, exactly (default %d); flows are cut at the end\n"
            "  --flows N       start at most N flows (default: no bound); with a bound the\n"
            "                  capture may end early, when every flow has ended\n"
            "  --hosts N       internal client hosts in the address pool, 10.1.0.1 upwards\n"
            "                  (default %d); external servers number max(8, N/4)\n"
            "  --duration S    seconds over which flows start (default %llu; decimals allowed)\n"
            "  --sizes SPEC    IP size of data-carrying packets: real (default: full-MSS\n"
            "                  segments as a TCP stack sends), imix (40/576/1500 in 7:4:1),\n"
            "                  or a fixed size 28..9000 (64, 1500, ...; above 1500 = jumbo MTU)\n"
            "  --start EPOCH   Unix time of the first packet (default %llu)\n"
            "  --stats         print packets, bytes, flows on stderr at the end\n"
            "  -w FILE         output pcap ('-' for stdout)\n"
            "\n"
            "profiles:\n",
            SL_SYN_DEF_PACKETS, SL_SYN_DEF_HOSTS,
            (unsigned long long)(SL_SYN_DEF_DURATION / 1000000),
            (unsigned long long)(SL_SYN_DEF_START / 1000000));
    for (unsigned i = 0; sl_syn_profile_name(i); i++) {
        /* The description, word-wrapped to 80 columns after the name. */
        const char *h = sl_syn_profile_help(i);
        fprintf(out, "  %-10s", sl_syn_profile_name(i));
        int col = 13;
        while (*h) {
            int w = (int)strcspn(h, " ");
            if (col + 1 + w > 80) {
                fprintf(out, "\n%12s", "");
                col = 12;
            }
            fprintf(out, " %.*s", w, h);
            col += 1 + w;
            h += w;
            h += strspn(h, " ");
        }
        fputc('\n', out);
    }
}

/* One clear line on stderr; returns the exit status for bad usage. */
__attribute__((format(printf, 1, 2))) static int bad_arg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see --help)\n");
    va_end(ap);
    return 2;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

/* Seconds with up to 6 decimals, to microseconds, without floating point
 * (the same text must give the same value on every machine). */
static int parse_secs(const char *s, uint64_t lo_us, uint64_t hi_us, uint64_t *out)
{
    uint64_t whole = 0, frac = 0, scale = 1000000;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (uint64_t)(*p - '0');
        if (whole > hi_us / 1000000)
            return -EINVAL;
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (scale == 1)
                return -EINVAL;
            scale /= 10;
            frac += (uint64_t)(*p - '0') * scale;
        }
    }
    if (*p)
        return -EINVAL;
    *out = whole * 1000000 + frac;
    return *out >= lo_us && *out <= hi_us ? 0 : -EINVAL;
}

static int parse_sizes(const char *s, int *out)
{
    uint64_t v;
    if (!strcmp(s, "real"))
        *out = SL_SYN_SIZES_REAL;
    else if (!strcmp(s, "imix"))
        *out = SL_SYN_SIZES_IMIX;
    else if (parse_u64(s, 28, 9000, &v) == 0)
        *out = (int)v;
    else
        return -EINVAL;
    return 0;
}

enum {
    O_PROFILE = 256,
    O_SEED,
    O_PACKETS,
    O_FLOWS,
    O_HOSTS,
    O_DURATION,
    O_SIZES,
    O_START,
    O_STATS
};

static const struct option longopts[] = {
    {"profile", required_argument, NULL, O_PROFILE},
    {"seed", required_argument, NULL, O_SEED},
    {"packets", required_argument, NULL, O_PACKETS},
    {"flows", required_argument, NULL, O_FLOWS},
    {"hosts", required_argument, NULL, O_HOSTS},
    {"duration", required_argument, NULL, O_DURATION},
    {"sizes", required_argument, NULL, O_SIZES},
    {"start", required_argument, NULL, O_START},
    {"stats", no_argument, NULL, O_STATS},
    {"write", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

struct args {
    struct sl_syn_opts o;
    const char *out;
    int stats;
};

/* Classic pcap stores 32-bit seconds: the capture must end before 2106. */
#define MAX_START_US    4000000000000000ULL
#define MAX_DURATION_US (10ULL * 365 * 86400 * 1000000)

/* One option into *a. Returns 0, or the exit status for a bad value. */
static int one_opt(int c, const char *v, struct args *a)
{
    uint64_t n;
    switch (c) {
    case O_PROFILE:
        for (unsigned i = 0; sl_syn_profile_name(i); i++)
            if (!strcmp(v, sl_syn_profile_name(i)))
                return a->o.profile = v, 0;
        return bad_arg("unknown profile '%s'", v);
    case O_SEED:
        if (parse_u64(v, 0, UINT64_MAX, &a->o.seed))
            return bad_arg("--seed: '%s' is not an unsigned 64-bit integer", v);
        return 0;
    case O_PACKETS:
    case O_FLOWS:
        if (parse_u64(v, 1, UINT64_MAX / 2, &n))
            return bad_arg("--%s: '%s' is not a positive integer",
                           c == O_PACKETS ? "packets" : "flows", v);
        *(c == O_PACKETS ? &a->o.packets : &a->o.flows) = n;
        return 0;
    case O_HOSTS:
        if (parse_u64(v, 1, 1000000, &n))
            return bad_arg("--hosts: '%s' is not an integer in 1..1000000", v);
        a->o.hosts = (uint32_t)n;
        return 0;
    case O_DURATION:
        if (parse_secs(v, 1, MAX_DURATION_US, &a->o.duration_us))
            return bad_arg("--duration: '%s' is not a number of seconds in 0.000001..315360000", v);
        return 0;
    case O_START:
        if (parse_secs(v, 0, MAX_START_US, &a->o.start_us))
            return bad_arg("--start: '%s' is not a Unix time in 0..4000000000", v);
        return 0;
    case O_SIZES:
        if (parse_sizes(v, &a->o.sizes))
            return bad_arg("--sizes: '%s' is not real, imix or an IP size in 28..9000", v);
        return 0;
    case O_STATS:
        a->stats = 1;
        return 0;
    case 'w':
        a->out = v;
        return 0;
    default:
        return 2;
    }
}

/* Returns 0 to go on, -1 after --help, or the exit status for bad usage. */
static int parse_args(int argc, char **argv, struct args *a)
{
    int c;
    opterr = 0; /* our own one-line messages */
    while ((c = getopt_long(argc, argv, ":w:h", longopts, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return -1;
        }
        if (c == '?') {
            if (optopt)
                return bad_arg("unknown option '-%c'", optopt);
            return bad_arg("unknown option '%s'", argv[optind - 1]);
        }
        if (c == ':')
            return bad_arg("option '%s' needs a value", argv[optind - 1]);
        int rc = one_opt(c, optarg, a);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return bad_arg("unexpected argument '%s'", argv[optind]);
    if (!a->o.profile)
        return bad_arg("--profile is required");
    if (!a->out)
        return bad_arg("-w FILE is required");
    return 0;
}

static void progress(uint64_t done, uint64_t total, int last)
{
    fprintf(stderr, "\r" PROG ": %" PRIu64 "/%" PRIu64 " packets (%" PRIu64 "%%)%s", done, total,
            done * 100 / total, last ? "\n" : "");
}

static int write_pcap(struct sl_syn *s, const struct args *a)
{
    int rc = 1;
    pcap_t *pd =
        pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_MICRO);
    pcap_dumper_t *d = NULL;
    if (!pd) {
        fprintf(stderr, PROG ": pcap_open_dead failed\n");
        return 1;
    }
    if (!(d = pcap_dump_open(pd, a->out))) {
        fprintf(stderr, PROG ": %s\n", pcap_geterr(pd));
        goto out;
    }
    int tty = a->o.packets >= 1000000 && isatty(STDERR_FILENO);
    uint64_t n = 0, every = a->o.packets / 100 + 1;
    struct sl_syn_pkt p;
    int err;
    while ((err = sl_syn_next(s, &p)) == 0) {
        struct pcap_pkthdr h = {
            .ts = {.tv_sec = (time_t)(p.ts_us / 1000000),
                   .tv_usec = (suseconds_t)(p.ts_us % 1000000)},
            .caplen = p.caplen,
            .len = p.len,
        };
        pcap_dump((u_char *)d, &h, p.data);
        if (tty && ++n % every == 0)
            progress(n, a->o.packets, 0);
    }
    if (err != -ENOENT) {
        fprintf(stderr, PROG ": internal error: %s\n", strerror(-err));
        goto out;
    }
    if (tty)
        progress(a->o.packets, a->o.packets, 1);
    if (pcap_dump_flush(d) || ferror(pcap_dump_file(d))) {
        fprintf(stderr, PROG ": %s: write failed\n", a->out);
        goto out;
    }
    rc = 0;
out:
    if (d)
        pcap_dump_close(d);
    pcap_close(pd);
    return rc;
}

int main(int argc, char **argv)
{
    struct args a = {.o = {
                         .seed = 1,
                         .packets = SL_SYN_DEF_PACKETS,
                         .hosts = SL_SYN_DEF_HOSTS,
                         .duration_us = SL_SYN_DEF_DURATION,
                         .start_us = SL_SYN_DEF_START,
                         .sizes = SL_SYN_SIZES_REAL,
                     }};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;
    struct sl_syn *s = sl_syn_new(&a.o);
    if (!s) {
        fprintf(stderr, PROG ": %s\n", strerror(errno));
        return errno == EINVAL ? 2 : 1;
    }
    rc = write_pcap(s, &a);
    struct sl_syn_stats st;
    sl_syn_get_stats(s, &st);
    if (!rc && st.packets < a.o.packets)
        fprintf(stderr,
                PROG ": note: every one of the %" PRIu64 " flows ended after %" PRIu64 " packets\n",
                st.flows, st.packets);
    if (!rc && a.stats)
        fprintf(stderr,
                "packets %" PRIu64 " bytes %" PRIu64 " flows %" PRIu64 " max_active %" PRIu64 "\n",
                st.packets, st.bytes, st.flows, st.active_max);
    sl_syn_free(s);
    return rc;
}
