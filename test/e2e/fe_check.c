/* fe_check: checks what frontend-dpdk --write-pcaps wrote against its input.
 *
 *   fe_check --input IN.pcap --dir DIR --workers N --hash MODE
 *            [--worker-mac M1,M2,...] [--map FILE] [--no-ts]
 *
 * 1. Every record of DIR/worker-K.pcap is a record of IN.pcap, used once:
 *    same timestamp (to the nanosecond), same wire and captured length, same
 *    bytes except the destination MAC, which is worker K's (a record cut
 *    shorter than 6 bytes has no MAC and must be unchanged).
 * 2. Affinity, as the balancer promises it: group the frames into
 *    connections and check that each group reached one worker only.
 *    A connection is the symmetric 5-tuple of the mode's IP layer (the
 *    innermost in inner-* modes, else the outermost; ports only for TCP, UDP
 *    and SCTP). Fragments of a datagram join its connection through their
 *    (src, dst, proto, id) — on every fragmented layer at or above the mode's
 *    — so a datagram's pieces and its first fragment's flow are one group.
 *    An ICMP/ICMPv6 error at the mode's layer joins the connection it
 *    quotes. Non-IP frames group by MAC pair. A frame that carries no such
 *    key (an IP header cut short, a TCP/UDP header missing) cannot be tied to
 *    a connection by anyone and is only counted ("unattributed").
 *    The grouping is this program's own (from sl_pkt's decoded fields); it
 *    does not call the balancer's hash or its fragment table.
 * 3. Prints one JSON line: inputs, matched (= sent), dropped (= inputs not
 *    found in any output), per-worker counts, groups, split groups with up to
 *    5 examples. Exit 0 when nothing is unmatched and nothing split.
 *
 * --map FILE writes, per input record in order, the worker number it went to
 * (0: not written anywhere) — for comparing two runs (failover tests).
 * --no-ts matches records without their timestamps and wire lengths (for
 * frames captured from an output port by net_pcap's tx_pcap, which stamps
 * the time of sending and records only the bytes sent); records then match
 * in order among identical frames.
 */
#include <errno.h>
#include <getopt.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_flow.h"
#include "sl_pkt.h"

#define MAX_WORKERS 256

struct rec {
    uint64_t ts;
    uint32_t caplen, len;
    uint8_t *data;
    int worker; /* 0: not seen in any output */
    int next;   /* hash chain */
};

struct input {
    struct rec *r;
    size_t n, cap;
};

/* ---- small helpers ---------------------------------------------------------- */

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static bool use_ts = true;

static uint64_t rec_hash(uint64_t ts, uint32_t caplen, uint32_t len, const uint8_t *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (use_ts) {
        h = fnv(&ts, sizeof(ts), h);
        h = fnv(&len, sizeof(len), h);
    }
    h = fnv(&caplen, sizeof(caplen), h);
    if (caplen > 6)
        h = fnv(d + 6, caplen - 6, h);
    return h;
}

static int parse_mac(const char *s, uint8_t m[6])
{
    unsigned v[6];
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return -1;
    for (int i = 0; i < 6; i++)
        m[i] = (uint8_t)v[i];
    return 0;
}

static pcap_t *open_pcap(const char *path)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, eb);
    if (p == NULL)
        fprintf(stderr, "fe_check: %s\n", eb);
    return p;
}

static int load_input(const char *path, struct input *in)
{
    pcap_t *p = open_pcap(path);
    struct pcap_pkthdr *h;
    const u_char *d;
    if (p == NULL)
        return -1;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (in->n == in->cap) {
            in->cap = in->cap ? in->cap * 2 : 4096;
            struct rec *r = realloc(in->r, in->cap * sizeof(*r));
            if (r == NULL)
                return -1;
            in->r = r;
        }
        struct rec *r = &in->r[in->n++];
        r->ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        r->caplen = h->caplen;
        r->len = h->len;
        r->data = malloc(h->caplen ? h->caplen : 1);
        if (r->data == NULL)
            return -1;
        memcpy(r->data, d, h->caplen);
        r->worker = 0;
        r->next = -1;
    }
    pcap_close(p);
    return 0;
}

/* ---- output matching -------------------------------------------------------- */

struct index {
    int *head;
    size_t mask;
};

static int build_index(struct input *in, struct index *ix)
{
    size_t n = 1;
    while (n < in->n * 2)
        n <<= 1;
    ix->head = malloc(n * sizeof(int));
    if (ix->head == NULL)
        return -1;
    ix->mask = n - 1;
    for (size_t i = 0; i < n; i++)
        ix->head[i] = -1;
    for (size_t i = in->n; i-- > 0;) {
        struct rec *r = &in->r[i];
        size_t b = rec_hash(r->ts, r->caplen, r->len, r->data) & ix->mask;
        r->next = ix->head[b];
        ix->head[b] = (int)i;
    }
    return 0;
}

struct result {
    uint64_t matched, unmatched, bad_mac, per_worker[MAX_WORKERS + 1];
    char first_problem[8192];
};

static void problem(struct result *res, const char *fmt, const char *file, uint64_t k)
{
    if (res->first_problem[0] == '\0')
        snprintf(res->first_problem, sizeof(res->first_problem), fmt, file, (unsigned long long)k);
}

static int match_worker(struct input *in, struct index *ix, const char *path, int w,
                        const uint8_t mac[6], struct result *res)
{
    pcap_t *p = open_pcap(path);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t k = 0;
    if (p == NULL)
        return -1;
    if (pcap_datalink(p) != DLT_EN10MB) {
        fprintf(stderr, "fe_check: %s: not Ethernet\n", path);
        pcap_close(p);
        return -1;
    }
    while (pcap_next_ex(p, &h, &d) == 1) {
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
        k++;
        if (h->caplen >= 6 && memcmp(d, mac, 6) != 0) {
            res->bad_mac++;
            problem(res, "%s record %llu: destination MAC is not the worker's", path, k);
        }
        int found = -1;
        size_t b = rec_hash(ts, h->caplen, h->len, d) & ix->mask;
        for (int i = ix->head[b]; i >= 0; i = in->r[i].next) {
            struct rec *r = &in->r[i];
            if (r->worker == 0 && (!use_ts || (r->ts == ts && r->len == h->len)) &&
                r->caplen == h->caplen &&
                (h->caplen < 6 ? memcmp(r->data, d, h->caplen) == 0
                               : memcmp(r->data + 6, d + 6, h->caplen - 6) == 0)) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            res->unmatched++;
            problem(res, "%s record %llu: not an input frame (bytes, length or timestamp differ)",
                    path, k);
            continue;
        }
        in->r[found].worker = w;
        res->matched++;
        res->per_worker[w]++;
    }
    pcap_close(p);
    return 0;
}

/* ---- affinity groups -------------------------------------------------------- */

enum { K_CONN = 1, K_FRAG, K_MAC };

struct key {
    uint8_t type, version, proto, pad;
    uint32_t id;
    uint8_t a[16], b[16];
    uint16_t pa, pb;
};

struct keytab {
    struct key *k;
    int *parent;
    int *worker; /* per root after pass 2: first worker seen, -1 split */
    size_t n, cap;
    int *slot;
    size_t mask;
};

static int kt_grow(struct keytab *t);

static int kt_find(struct keytab *t, const struct key *k)
{
    if ((t->n + 1) * 2 > t->mask + 1 && kt_grow(t) < 0)
        return -1;
    size_t i = fnv(k, sizeof(*k), 0xcbf29ce484222325ull) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        int s = t->slot[i];
        if (s < 0)
            break;
        if (memcmp(&t->k[s], k, sizeof(*k)) == 0)
            return s;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        struct key *nk = realloc(t->k, cap * sizeof(*nk));
        int *np = nk ? realloc(t->parent, cap * sizeof(int)) : NULL;
        if (nk)
            t->k = nk;
        if (np == NULL)
            return -1;
        t->parent = np;
        t->cap = cap;
    }
    t->k[t->n] = *k;
    t->parent[t->n] = (int)t->n;
    t->slot[i] = (int)t->n;
    return (int)t->n++;
}

static int kt_grow(struct keytab *t)
{
    size_t n = (t->mask + 1) * 2;
    int *slot = malloc(n * sizeof(int));
    if (slot == NULL)
        return -1;
    for (size_t i = 0; i < n; i++)
        slot[i] = -1;
    for (size_t s = 0; s < t->n; s++) {
        size_t i = fnv(&t->k[s], sizeof(t->k[s]), 0xcbf29ce484222325ull) & (n - 1);
        while (slot[i] >= 0)
            i = (i + 1) & (n - 1);
        slot[i] = (int)s;
    }
    free(t->slot);
    t->slot = slot;
    t->mask = n - 1;
    return 0;
}

static int uf_root(struct keytab *t, int x)
{
    while (t->parent[x] != x) {
        t->parent[x] = t->parent[t->parent[x]];
        x = t->parent[x];
    }
    return x;
}

static void uf_union(struct keytab *t, int a, int b)
{
    a = uf_root(t, a);
    b = uf_root(t, b);
    if (a != b)
        t->parent[a] = b;
}

static bool has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* Canonical (symmetric) connection key. */
static void conn_key(struct key *k, const uint8_t *s, const uint8_t *d, uint16_t sp, uint16_t dp,
                     uint8_t proto, uint8_t version)
{
    memset(k, 0, sizeof(*k));
    k->type = K_CONN;
    k->proto = proto;
    k->version = version;
    if (!has_ports(proto))
        sp = dp = 0;
    int c = memcmp(s, d, 16);
    if (c < 0 || (c == 0 && sp <= dp)) {
        memcpy(k->a, s, 16);
        memcpy(k->b, d, 16);
        k->pa = sp;
        k->pb = dp;
    } else {
        memcpy(k->a, d, 16);
        memcpy(k->b, s, 16);
        k->pa = dp;
        k->pb = sp;
    }
}

static void frag_key(struct key *k, const struct sl_pkt_ip *ip)
{
    memset(k, 0, sizeof(*k));
    k->type = K_FRAG;
    k->proto = ip->proto;
    k->version = ip->version;
    k->id = ip->frag_id;
    memcpy(k->a, ip->src, 16);
    memcpy(k->b, ip->dst, 16);
}

static void mac_key(struct key *k, const uint8_t *eth)
{
    memset(k, 0, sizeof(*k));
    k->type = K_MAC;
    bool lt = memcmp(eth, eth + 6, 6) <= 0;
    memcpy(k->a, lt ? eth : eth + 6, 6);
    memcpy(k->b, lt ? eth + 6 : eth, 6);
}

/* The group node of one frame, linking its fragment groups; -1 unattributed.
 * *flow: the node is the frame's own flow (a connection or MAC pair), the
 * one the frontend counts distinct flows by; not a fragment's datagram or
 * the connection an ICMP error quotes. */
static int frame_node(struct keytab *t, const struct rec *r, bool inner, uint64_t *unattr,
                      bool *flow)
{
    struct sl_pkt p;
    struct key k;
    *flow = false;
    sl_pkt_decode(&p, r->data, r->caplen, SL_DLT_EN10MB);
    if (p.n_ip == 0) {
        if (p.stop == SL_STOP_NON_IP && r->caplen >= 12) {
            mac_key(&k, r->data + p.eth_off);
            *flow = true;
            return kt_find(t, &k);
        }
        (*unattr)++;
        return -1;
    }
    unsigned L = inner ? p.n_ip - 1u : 0u;
    int node = -1;
    /* a non-first fragment at or above the mode's layer: its datagram is the key */
    for (unsigned j = 0; j <= L; j++) {
        const struct sl_pkt_ip *ip = &p.ip[j];
        if ((ip->flags & SL_IPF_FRAG) && !(ip->flags & SL_IPF_FIRST_FRAG)) {
            frag_key(&k, ip);
            return kt_find(t, &k);
        }
    }
    const struct sl_pkt_ip *ip = &p.ip[L];
    if (ip->flags & SL_IPF_ICMP_ERR) {
        const struct sl_pkt_quoted *q = &ip->quoted;
        conn_key(&k, q->src, q->dst, q->sport, q->dport, q->proto, q->version);
        node = kt_find(t, &k);
    } else if (has_ports(ip->proto) && !(ip->flags & SL_IPF_L4)) {
        (*unattr)++;
        return -1;
    } else {
        conn_key(&k, ip->src, ip->dst, ip->sport, ip->dport, ip->proto, ip->version);
        node = kt_find(t, &k);
        *flow = true;
    }
    if (node < 0)
        return -1;
    for (unsigned j = 0; j <= L; j++) {
        if (p.ip[j].flags & SL_IPF_FIRST_FRAG) {
            frag_key(&k, &p.ip[j]);
            int g = kt_find(t, &k);
            if (g >= 0)
                uf_union(t, g, node);
        }
    }
    return node;
}

static void print_key(FILE *f, const struct key *k)
{
    char a[64], b[64];
    if (k->type == K_MAC) {
        fprintf(f, "\"mac %02x:%02x:%02x:%02x:%02x:%02x-%02x:%02x:%02x:%02x:%02x:%02x\"", k->a[0],
                k->a[1], k->a[2], k->a[3], k->a[4], k->a[5], k->b[0], k->b[1], k->b[2], k->b[3],
                k->b[4], k->b[5]);
        return;
    }
    sl_pkt_addr_str(k->a, a, sizeof(a));
    sl_pkt_addr_str(k->b, b, sizeof(b));
    if (k->type == K_FRAG)
        fprintf(f, "\"frag %s>%s proto %u id %u\"", a, b, k->proto, k->id);
    else
        fprintf(f, "\"%s:%u-%s:%u proto %u\"", a, k->pa, b, k->pb, k->proto);
}

struct split_result {
    uint64_t groups, split, unattributed;
    uint64_t flows[MAX_WORKERS + 1]; /* distinct own flows of each worker's frames */
};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct (flow node, worker) pairs, counted per worker. */
static int count_flows(const struct input *in, const int *node, const bool *flow,
                       struct split_result *sr)
{
    uint64_t *pair = malloc((in->n ? in->n : 1) * sizeof(*pair));
    size_t np = 0;
    if (pair == NULL)
        return -1;
    for (size_t i = 0; i < in->n; i++)
        if (node[i] >= 0 && flow[i] && in->r[i].worker > 0)
            pair[np++] = (uint64_t)node[i] << 16 | (uint64_t)in->r[i].worker;
    qsort(pair, np, sizeof(*pair), cmp_u64);
    for (size_t i = 0; i < np; i++)
        if (i == 0 || pair[i] != pair[i - 1])
            sr->flows[pair[i] & 0xffff]++;
    free(pair);
    return 0;
}

/* What the decoder finds in the input, for comparing with the frontend's counters. */
struct in_stats {
    uint64_t no_ip, fragments, weird;
    unsigned n_names;
    const char *name[64];
    uint64_t count[64];
};

static void input_stats(const struct input *in, struct in_stats *st)
{
    struct sl_pkt p;
    for (size_t i = 0; i < in->n; i++) {
        sl_pkt_decode(&p, in->r[i].data, in->r[i].caplen, SL_DLT_EN10MB);
        st->no_ip += p.n_ip == 0;
        for (unsigned l = 0; l < p.n_ip; l++)
            if (p.ip[l].flags & SL_IPF_FRAG) {
                st->fragments++;
                break;
            }
        if (p.weird == NULL)
            continue;
        st->weird++;
        unsigned k = 0;
        while (k < st->n_names && strcmp(st->name[k], p.weird) != 0)
            k++;
        if (k == st->n_names && k < 64)
            st->name[st->n_names++] = p.weird;
        if (k < 64)
            st->count[k]++;
    }
}

static int check_affinity(struct input *in, bool inner, FILE *out, struct split_result *sr)
{
    struct keytab t = {0};
    int *node = malloc((in->n ? in->n : 1) * sizeof(int));
    bool *flow = malloc((in->n ? in->n : 1) * sizeof(bool));
    int rc = -1;
    t.mask = 1023;
    t.slot = malloc(1024 * sizeof(int));
    if (node == NULL || flow == NULL || t.slot == NULL)
        goto out;
    for (int i = 0; i < 1024; i++)
        t.slot[i] = -1;
    for (size_t i = 0; i < in->n; i++) {
        flow[i] = false;
        node[i] =
            in->r[i].worker ? frame_node(&t, &in->r[i], inner, &sr->unattributed, &flow[i]) : -1;
    }
    if (count_flows(in, node, flow, sr) < 0)
        goto out;
    t.worker = malloc((t.n ? t.n : 1) * sizeof(int));
    if (t.worker == NULL)
        goto out;
    for (size_t i = 0; i < t.n; i++)
        t.worker[i] = 0;
    unsigned examples = 0;
    fputs("\"split_examples\":[", out);
    for (size_t i = 0; i < in->n; i++) {
        if (node[i] < 0)
            continue;
        int root = uf_root(&t, node[i]);
        int w = in->r[i].worker;
        if (t.worker[root] == 0) {
            t.worker[root] = w;
        } else if (t.worker[root] > 0 && t.worker[root] != w) {
            if (examples < 5) {
                fputs(examples ? "," : "", out);
                fprintf(out, "{\"record\":%zu,\"workers\":[%d,%d],\"key\":", i + 1, t.worker[root],
                        w);
                print_key(out, &t.k[node[i]]);
                fputc('}', out);
                examples++;
            }
            t.worker[root] = -1;
            sr->split++;
        }
    }
    fputs("],", out);
    for (size_t i = 0; i < t.n; i++)
        sr->groups += uf_root(&t, (int)i) == (int)i;
    rc = 0;
out:
    free(node);
    free(flow);
    free(t.k);
    free(t.parent);
    free(t.worker);
    free(t.slot);
    return rc;
}

/* ---- main ------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr, "usage: fe_check --input IN.pcap --dir DIR --workers N --hash MODE "
                    "[--worker-mac M,...] [--map FILE] [--no-ts]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"dir", required_argument, NULL, 'd'},
        {"workers", required_argument, NULL, 'n'},
        {"hash", required_argument, NULL, 'H'},
        {"worker-mac", required_argument, NULL, 'm'},
        {"map", required_argument, NULL, 'M'},
        {"no-ts", no_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    const char *input = NULL, *dir = NULL, *macs = NULL, *map = NULL;
    enum sl_hash_mode mode = SL_HASH_SYM5;
    int n = 0, o;
    static uint8_t mac[MAX_WORKERS + 1][6];
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'i':
            input = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'n':
            n = atoi(optarg);
            break;
        case 'm':
            macs = optarg;
            break;
        case 'M':
            map = optarg;
            break;
        case 'T':
            use_ts = false;
            break;
        case 'H':
            if (sl_hash_mode_parse(optarg, &mode) < 0) {
                fprintf(stderr, "fe_check: bad hash mode %s\n", optarg);
                return 2;
            }
            break;
        default:
            usage();
            return 2;
        }
    }
    if (!input || !dir || n < 1 || n > MAX_WORKERS) {
        usage();
        return 2;
    }
    for (int w = 1; w <= n; w++) {
        uint8_t d[6] = {2, 0, 0, 0, (uint8_t)(w >> 8), (uint8_t)w};
        memcpy(mac[w], d, 6);
    }
    if (macs != NULL) {
        char *dup = strdup(macs), *save = NULL;
        int w = 1;
        for (char *t = strtok_r(dup, ",", &save); t && w <= n; t = strtok_r(NULL, ",", &save))
            if (parse_mac(t, mac[w++]) < 0) {
                fprintf(stderr, "fe_check: bad MAC %s\n", t);
                return 2;
            }
        free(dup);
    }

    struct input in = {0};
    struct index ix;
    static struct result res;
    if (load_input(input, &in) < 0 || build_index(&in, &ix) < 0)
        return 2;
    for (int w = 1; w <= n; w++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/worker-%d.pcap", dir, w);
        if (match_worker(&in, &ix, path, w, mac[w], &res) < 0)
            return 2;
    }
    bool inner =
        mode == SL_HASH_INNER_SYM5 || mode == SL_HASH_INNER_SYM3 || mode == SL_HASH_INNER_SYM2;
    struct split_result sr = {0};
    printf("{\"inputs\":%zu,\"matched\":%llu,\"dropped\":%llu,\"unmatched_outputs\":%llu,"
           "\"bad_mac\":%llu,",
           in.n, (unsigned long long)res.matched, (unsigned long long)(in.n - res.matched),
           (unsigned long long)res.unmatched, (unsigned long long)res.bad_mac);
    if (check_affinity(&in, inner, stdout, &sr) < 0)
        return 2;
    printf("\"groups\":%llu,\"split\":%llu,\"unattributed\":%llu,\"per_worker\":[",
           (unsigned long long)sr.groups, (unsigned long long)sr.split,
           (unsigned long long)sr.unattributed);
    for (int w = 1; w <= n; w++)
        printf("%s%llu", w > 1 ? "," : "", (unsigned long long)res.per_worker[w]);
    printf("],\"flows_per_worker\":[");
    for (int w = 1; w <= n; w++)
        printf("%s%llu", w > 1 ? "," : "", (unsigned long long)sr.flows[w]);
    struct in_stats ist = {0};
    input_stats(&in, &ist);
    printf("],\"input_no_ip\":%llu,\"input_fragments\":%llu,\"input_weird\":%llu,"
           "\"input_weirds\":{",
           (unsigned long long)ist.no_ip, (unsigned long long)ist.fragments,
           (unsigned long long)ist.weird);
    for (unsigned k = 0; k < ist.n_names; k++)
        printf("%s\"%s\":%llu", k ? "," : "", ist.name[k], (unsigned long long)ist.count[k]);
    printf("},\"first_problem\":\"%s\"}\n", res.first_problem);
    if (map != NULL) {
        FILE *f = fopen(map, "w");
        if (f == NULL)
            return 2;
        for (size_t i = 0; i < in.n; i++)
            fprintf(f, "%d\n", in.r[i].worker);
        fclose(f);
    }
    for (size_t i = 0; i < in.n; i++)
        free(in.r[i].data);
    free(in.r);
    free(ix.head);
    return res.unmatched == 0 && res.bad_mac == 0 && sr.split == 0 ? 0 : 1;
}
