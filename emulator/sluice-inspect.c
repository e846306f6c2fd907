/* sluice-inspect: what core/ finds in a capture, and how a balancer would
 * spread it. Reads a pcap/pcapng file, decodes every frame with sl_pkt,
 * counts flows, protocols, encapsulations and weirds, and runs the same
 * balancer decision frontend-dpdk makes (sl_lb: hash, rendezvous, fragment
 * table, ICMP-error steering) to show the per-worker load.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_flow.h"
#include "sl_lb.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

#define MAX_WORKERS 64
#define MAX_WEIRDS  64

/* A flow-key set: open addressing, grows at 50% load. Stores which workers
 * saw each flow, so a split flow (one the balancer sent to two workers) is
 * found. */
struct flowset {
    struct flow_slot {
        struct sl_flow_key key;
        uint64_t workers; /* bit per worker that saw it */
        uint8_t used;
    } * slots;
    size_t cap, n;
};

struct counts {
    uint64_t pkts, bytes, non_ip, frags, icmp_err, stop[8];
    uint64_t proto[256];
    uint64_t encap[SL_ENCAP_MAX];
    uint64_t vlan, qinq, mpls, pppoe;
    struct {
        const char *name;
        uint64_t n;
    } weird[MAX_WEIRDS];
    unsigned n_weird;
    uint64_t w_pkts[MAX_WORKERS], w_bytes[MAX_WORKERS], w_flows[MAX_WORKERS];
    uint64_t dropped_no_worker, held, orphans;
    double first_ts, last_ts;
};

static int flowset_grow(struct flowset *s);

static struct flow_slot *flowset_get(struct flowset *s, const struct sl_flow_key *k)
{
    if ((s->n + 1) * 2 > s->cap && flowset_grow(s) < 0)
        return NULL;
    size_t i = sl_hash_key(k, SL_HASH_SYM5) & (s->cap - 1);
    while (s->slots[i].used && memcmp(&s->slots[i].key, k, sizeof(*k)) != 0)
        i = (i + 1) & (s->cap - 1);
    if (!s->slots[i].used) {
        s->slots[i].used = 1;
        s->slots[i].key = *k;
        s->slots[i].workers = 0;
        s->n++;
    }
    return &s->slots[i];
}

static int flowset_grow(struct flowset *s)
{
    struct flowset bigger = {.cap = s->cap ? s->cap * 2 : 4096};
    bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
    if (!bigger.slots)
        return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slots[i].used)
            continue;
        struct flow_slot *d = flowset_get(&bigger, &s->slots[i].key);
        d->workers = s->slots[i].workers;
    }
    free(s->slots);
    *s = bigger;
    return 0;
}

static void count_weird(struct counts *c, const char *name)
{
    for (unsigned i = 0; i < c->n_weird; i++) {
        if (strcmp(c->weird[i].name, name) == 0) {
            c->weird[i].n++;
            return;
        }
    }
    if (c->n_weird < MAX_WEIRDS) {
        c->weird[c->n_weird].name = name;
        c->weird[c->n_weird++].n = 1;
    }
}

static void count_layers(struct counts *c, const struct sl_pkt *p)
{
    if (p->n_vlan == 1)
        c->vlan++;
    else if (p->n_vlan > 1)
        c->qinq++;
    if (p->n_mpls)
        c->mpls++;
    if (p->pppoe)
        c->pppoe++;
    for (unsigned i = 1; i < p->n_ip; i++)
        c->encap[p->ip[i].encap]++;
    if (p->stop < 8)
        c->stop[p->stop]++;
    if (p->weird)
        count_weird(c, p->weird);
    const struct sl_pkt_ip *in = sl_pkt_inner(p);
    if (!in) {
        c->non_ip++;
        return;
    }
    c->proto[in->proto]++;
    if (in->flags & SL_IPF_FRAG)
        c->frags++;
    if (in->flags & SL_IPF_ICMP_ERR)
        c->icmp_err++;
}

/* The flow a frame belongs to for the split check: the innermost layer in
 * inner modes, else the outermost; fragments and ICMP errors are left out
 * (they have no ports of their own; sl_lb's tests cover their steering). */
static const struct sl_pkt_ip *flow_layer(const struct sl_pkt *p, enum sl_hash_mode m)
{
    const struct sl_pkt_ip *ip =
        (m >= SL_HASH_INNER_SYM5 && m <= SL_HASH_INNER_SYM2) ? sl_pkt_inner(p) : sl_pkt_outer(p);
    if (!ip || (ip->flags & (SL_IPF_FRAG | SL_IPF_ICMP_ERR)) || !(ip->flags & SL_IPF_L4))
        return NULL;
    return ip;
}

static void account(struct counts *c, struct flowset *fs, const struct sl_pkt *p,
                    enum sl_hash_mode m, int w, uint32_t wirelen)
{
    if (w < 0) {
        c->dropped_no_worker++;
        return;
    }
    c->w_pkts[w]++;
    c->w_bytes[w] += wirelen;
    const struct sl_pkt_ip *ip = flow_layer(p, m);
    if (!ip)
        return;
    struct sl_flow_key k;
    sl_flow_key_from_ip(&k, ip);
    sl_flow_key_canon(&k);
    struct flow_slot *s = flowset_get(fs, &k);
    if (s && !(s->workers & (1ull << w))) {
        s->workers |= 1ull << w;
        c->w_flows[w]++;
    }
}

static void drain_held(struct counts *c, struct sl_lb *lb, uint64_t now)
{
    struct sl_lb_released out[64];
    unsigned n;
    while ((n = sl_lb_release(lb, now, out, 64)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            uint32_t wirelen = (uint32_t)(uintptr_t)out[i].cookie;
            if (out[i].why == SL_LB_FRAG_ORPHAN)
                c->orphans++;
            if (out[i].worker < 0) {
                c->dropped_no_worker++;
                continue;
            }
            c->w_pkts[out[i].worker]++;
            c->w_bytes[out[i].worker] += wirelen;
        }
    }
}

static int run(const char *path, enum sl_hash_mode mode, unsigned n_workers, struct counts *c,
               struct flowset *fs, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc) {
        snprintf(err, errlen, "%s", ebuf);
        return -EINVAL;
    }
    int ret = 0;
    struct sl_rdv rdv;
    struct sl_lb *lb = NULL;
    struct sl_lb_conf conf = {.mode = mode};
    if (sl_rdv_init(&rdv, n_workers) < 0 || !(lb = sl_lb_new(&conf, &rdv))) {
        snprintf(err, errlen, "cannot set up the balancer: %s", strerror(errno));
        ret = -ENOMEM;
        goto out;
    }
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;
    struct sl_pkt p;
    while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
        uint64_t now = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        double ts = (double)now / 1e9;
        if (c->pkts == 0)
            c->first_ts = ts;
        c->last_ts = ts;
        c->pkts++;
        c->bytes += h->len;
        sl_pkt_decode(&p, data, h->caplen, dlt);
        count_layers(c, &p);
        int w = sl_lb_pick(lb, &p, now, (void *)(uintptr_t)h->len, NULL);
        if (w == SL_LB_HELD)
            c->held++;
        else
            account(c, fs, &p, mode, w, h->len);
        drain_held(c, lb, now);
    }
    if (rc == -1) {
        snprintf(err, errlen, "%s: %s", path, pcap_geterr(pc));
        ret = -EIO;
    }
    drain_held(c, lb, UINT64_MAX);
out:
    sl_lb_free(lb);
    pcap_close(pc);
    return ret;
}

static const char *proto_name(unsigned p)
{
    switch (p) {
    case 1:
        return "icmp";
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 58:
        return "icmp6";
    case 132:
        return "sctp";
    default:
        return NULL;
    }
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void report(const char *path, const struct counts *c, const struct flowset *fs,
                   enum sl_hash_mode mode, unsigned n_workers)
{
    printf("capture     %s\n", path);
    printf("packets     %" PRIu64 "  bytes %" PRIu64 "  duration %.3f s\n", c->pkts, c->bytes,
           c->pkts ? c->last_ts - c->first_ts : 0.0);
    printf("flows       %zu (5-tuples of the %s layer)\n", fs->n,
           mode >= SL_HASH_INNER_SYM5 && mode <= SL_HASH_INNER_SYM2 ? "innermost" : "outer");
    printf("protocols  ");
    for (unsigned i = 0; i < 256; i++) {
        if (!c->proto[i])
            continue;
        const char *n = proto_name(i);
        if (n)
            printf(" %s %" PRIu64 " (%.1f%%)", n, c->proto[i], pct(c->proto[i], c->pkts));
        else
            printf(" ip-proto-%u %" PRIu64, i, c->proto[i]);
    }
    printf("\n            non-IP %" PRIu64 ", IP fragments %" PRIu64 ", ICMP errors %" PRIu64 "\n",
           c->non_ip, c->frags, c->icmp_err);
    printf("layers      802.1Q %" PRIu64 ", QinQ %" PRIu64 ", MPLS %" PRIu64 ", PPPoE %" PRIu64,
           c->vlan, c->qinq, c->mpls, c->pppoe);
    for (unsigned e = 1; e < SL_ENCAP_MAX; e++)
        if (c->encap[e])
            printf(", %s %" PRIu64, sl_pkt_encap_name(e), c->encap[e]);
    printf("\nweirds     ");
    if (!c->n_weird)
        printf(" none");
    for (unsigned i = 0; i < c->n_weird; i++)
        printf(" %s %" PRIu64 "%s", c->weird[i].name, c->weird[i].n, i + 1 < c->n_weird ? "," : "");
    printf("\n\nbalance     %s hash, rendezvous over %u workers\n", sl_hash_mode_name(mode),
           n_workers);
    uint64_t max = 0, sum = 0;
    for (unsigned w = 0; w < n_workers; w++) {
        printf("  worker %-3u 02:00:00:00:00:%02x  packets %9" PRIu64 " (%5.1f%%)  bytes %11" PRIu64
               "  flows %7" PRIu64 "\n",
               w + 1, w + 1, c->w_pkts[w], pct(c->w_pkts[w], c->pkts), c->w_bytes[w],
               c->w_flows[w]);
        sum += c->w_pkts[w];
        if (c->w_pkts[w] > max)
            max = c->w_pkts[w];
    }
    size_t split = 0;
    for (size_t i = 0; i < fs->cap; i++)
        if (fs->slots[i].used && __builtin_popcountll(fs->slots[i].workers) > 1)
            split++;
    printf("  imbalance (max/mean packets) %.3f\n",
           sum ? (double)max * n_workers / (double)sum : 0.0);
    printf("  split flows %zu, early fragments held %" PRIu64 " (orphaned %" PRIu64
           "), no live worker %" PRIu64 "\n",
           split, c->held, c->orphans, c->dropped_no_worker);
    printf("  accounted %" PRIu64 " of %" PRIu64 " packets\n", sum + c->dropped_no_worker, c->pkts);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: sluice-inspect [--hash MODE] [--workers N] FILE\n"
               "\n"
               "Decodes every frame of a pcap/pcapng FILE with sluice's core library and\n"
               "prints flows, protocols, encapsulations and weirds, then how a balancer in\n"
               "hash MODE would spread it over N workers by rendezvous (default sym5, 8).\n"
               "Modes: sym5 sym3 sym2 inner-sym5 inner-sym3 inner-sym2 toeplitz.\n"
               "Exit status: 0, or 1 when a frame is unaccounted, 2 on bad usage or input.\n");
}

int main(int argc, char **argv)
{
    enum sl_hash_mode mode = SL_HASH_SYM5;
    unsigned n_workers = 8;
    static const struct option opts[] = {{"hash", required_argument, NULL, 'H'},
                                         {"workers", required_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "H:w:h", opts, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'H':
            if (sl_hash_mode_parse(optarg, &mode) < 0) {
                fprintf(stderr, "sluice-inspect: unknown hash mode '%s'\n", optarg);
                return 2;
            }
            break;
        case 'w':
            n_workers = (unsigned)strtoul(optarg, &end, 10);
            if (*end || n_workers < 1 || n_workers > MAX_WORKERS) {
                fprintf(stderr, "sluice-inspect: --workers takes 1..%d\n", MAX_WORKERS);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    struct counts *c = calloc(1, sizeof(*c));
    struct flowset fs = {0};
    char err[512];
    if (!c) {
        fprintf(stderr, "sluice-inspect: out of memory\n");
        return 2;
    }
    int ret = run(argv[optind], mode, n_workers, c, &fs, err, sizeof(err));
    if (ret < 0) {
        fprintf(stderr, "sluice-inspect: %s\n", err);
        ret = 2;
    } else {
        report(argv[optind], c, &fs, mode, n_workers);
        uint64_t sum = c->dropped_no_worker;
        for (unsigned w = 0; w < n_workers; w++)
            sum += c->w_pkts[w];
        ret = sum == c->pkts ? 0 : 1;
    }
    free(fs.slots);
    free(c);
    return ret;
}
