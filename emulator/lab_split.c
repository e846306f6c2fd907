/* lab_split: per-worker loads, split connections, and deliberate splits.
 * See lab_split.h. */
#include "lab_split.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "sl_flow.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

#define MASK_WORDS (LAB_SPLIT_MAX_WORKERS / 64)

struct fslot {
    struct sl_flow_key key;
    struct sl_flow_key val; /* fragment map: the datagram's connection */
    uint64_t mask[MASK_WORDS];
    uint64_t pkts;
    bool used;
};

struct ftab {
    struct fslot *s;
    size_t cap, n;
};

static uint64_t key_hash(const struct sl_flow_key *k)
{
    const uint8_t *b = (const uint8_t *)k;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < sizeof(*k); i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static int ft_grow(struct ftab *t);

static struct fslot *ft_get(struct ftab *t, const struct sl_flow_key *k, bool add)
{
    if (add && (t->n + 1) * 2 > t->cap && ft_grow(t) < 0)
        return NULL;
    if (!t->cap)
        return NULL;
    size_t i = key_hash(k) & (t->cap - 1);
    while (t->s[i].used && memcmp(&t->s[i].key, k, sizeof(*k)) != 0)
        i = (i + 1) & (t->cap - 1);
    if (!t->s[i].used) {
        if (!add)
            return NULL;
        memset(&t->s[i], 0, sizeof(t->s[i]));
        t->s[i].used = true;
        t->s[i].key = *k;
        t->n++;
    }
    return &t->s[i];
}

static int ft_grow(struct ftab *t)
{
    struct ftab nt = {.cap = t->cap ? 2 * t->cap : 4096};
    nt.s = calloc(nt.cap, sizeof(*nt.s));
    if (!nt.s)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->s[i].used)
            continue;
        size_t j = key_hash(&t->s[i].key) & (nt.cap - 1);
        while (nt.s[j].used)
            j = (j + 1) & (nt.cap - 1);
        nt.s[j] = t->s[i];
        nt.n++;
    }
    free(t->s);
    *t = nt;
    return 0;
}

/* The datagram of a fragment: addresses, protocol and IP id (marked in pad). */
static void dgram_key(struct sl_flow_key *k, const struct sl_pkt_ip *ip)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->src, ip->src, 16);
    memcpy(k->dst, ip->dst, 16);
    k->proto = ip->proto;
    k->version = ip->version;
    k->sport = (uint16_t)(ip->frag_id >> 16);
    k->dport = (uint16_t)ip->frag_id;
    k->pad[0] = 1;
}

static int open_pcap(const char *path, pcap_t **p, FILE *err)
{
    char eb[PCAP_ERRBUF_SIZE];
    *p = pcap_open_offline(path, eb);
    if (!*p) {
        fprintf(err, "sluicectl: %s: %s\n", path, eb);
        return -EINVAL;
    }
    return 0;
}

/* Pass 1: first fragments -> their connection. */
static int map_fragments(char *const *files, unsigned n, struct ftab *fm, FILE *err)
{
    for (unsigned w = 0; w < n; w++) {
        pcap_t *p;
        if (!files[w] || open_pcap(files[w], &p, err) < 0)
            continue;
        int dlt = pcap_datalink(p);
        struct pcap_pkthdr *h;
        const u_char *d;
        struct sl_pkt pk;
        while (pcap_next_ex(p, &h, &d) == 1) {
            sl_pkt_decode(&pk, d, h->caplen, dlt);
            const struct sl_pkt_ip *ip = sl_pkt_inner(&pk);
            if (!ip || !(ip->flags & SL_IPF_FIRST_FRAG) || !(ip->flags & SL_IPF_L4))
                continue;
            struct sl_flow_key dk;
            dgram_key(&dk, ip);
            struct fslot *s = ft_get(fm, &dk, true);
            if (!s) {
                pcap_close(p);
                return -ENOMEM;
            }
            sl_flow_key_from_ip(&s->val, ip);
            sl_flow_key_canon(&s->val);
        }
        pcap_close(p);
    }
    return 0;
}

/* The connection a decoded frame counts under; false for non-IP. */
static bool conn_key(const struct sl_pkt *pk, struct ftab *fm, struct sl_flow_key *k)
{
    const struct sl_pkt_ip *ip = sl_pkt_inner(pk);
    if (!ip)
        return false;
    if ((ip->flags & SL_IPF_FRAG) && !(ip->flags & SL_IPF_L4)) {
        dgram_key(k, ip);
        struct fslot *s = ft_get(fm, k, false);
        if (s)
            *k = s->val;
        return true;
    }
    sl_flow_key_from_ip(k, ip);
    sl_flow_key_canon(k);
    return true;
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
    switch (p) {
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 1:
        return "icmp";
    case 58:
        return "icmp6";
    case 132:
        return "sctp";
    default:
        snprintf(buf, len, "proto %u", p);
        return buf;
    }
}

static void describe(const struct sl_flow_key *k, char *buf, size_t len)
{
    char a[64], b[64], pn[16];
    sl_pkt_addr_str(k->src, a, sizeof(a));
    sl_pkt_addr_str(k->dst, b, sizeof(b));
    if (k->pad[0])
        snprintf(buf, len, "%s fragments %s <-> %s (IP id %u, first fragment never seen)",
                 proto_name(k->proto, pn, sizeof(pn)), a, b, (unsigned)k->sport << 16 | k->dport);
    else
        snprintf(buf, len, "%s %s:%u <-> %s:%u", proto_name(k->proto, pn, sizeof(pn)), a, k->sport,
                 b, k->dport);
}

static void add_example(struct lab_split *s, const struct fslot *f)
{
    /* keep the split connections with the most packets */
    unsigned at = s->n_ex;
    if (at == LAB_SPLIT_EXAMPLES) {
        if (f->pkts <= s->ex[at - 1].pkts)
            return;
        at--;
    } else {
        s->n_ex++;
    }
    while (at > 0 && s->ex[at - 1].pkts < f->pkts) {
        s->ex[at] = s->ex[at - 1];
        at--;
    }
    struct lab_split_example *e = &s->ex[at];
    describe(&f->key, e->conn, sizeof(e->conn));
    e->pkts = f->pkts;
    size_t o = 0;
    e->workers[0] = '\0';
    for (unsigned w = 0; w < s->n_workers && o < sizeof(e->workers); w++)
        if (f->mask[w / 64] >> (w % 64) & 1)
            o += (size_t)snprintf(e->workers + o, sizeof(e->workers) - o, "%s%u", o ? "," : "",
                                  w + 1);
}

int lab_split_scan(char *const *files, unsigned n, struct lab_split *s, FILE *err)
{
    struct ftab fm = {0}, ft = {0};
    int rc = 0;
    memset(s, 0, sizeof(*s));
    if (n > LAB_SPLIT_MAX_WORKERS)
        return -E2BIG;
    s->n_workers = n;
    if ((rc = map_fragments(files, n, &fm, err)) < 0)
        goto out;
    for (unsigned w = 0; w < n && rc == 0; w++) {
        pcap_t *p;
        if (!files[w] || access(files[w], F_OK) < 0)
            continue;
        if (open_pcap(files[w], &p, err) < 0) {
            s->unreadable++;
            continue;
        }
        int dlt = pcap_datalink(p);
        struct pcap_pkthdr *h;
        const u_char *d;
        struct sl_pkt pk;
        int r;
        while ((r = pcap_next_ex(p, &h, &d)) == 1) {
            s->w[w].pkts++;
            s->w[w].bytes += h->len;
            sl_pkt_decode(&pk, d, h->caplen, dlt);
            struct sl_flow_key k;
            if (!conn_key(&pk, &fm, &k)) {
                s->non_ip++;
                continue;
            }
            struct fslot *f = ft_get(&ft, &k, true);
            if (!f) {
                rc = -ENOMEM;
                break;
            }
            f->mask[w / 64] |= 1ULL << (w % 64);
            f->pkts++;
        }
        if (r == PCAP_ERROR) {
            fprintf(err, "sluicectl: %s: %s (truncated?)\n", files[w], pcap_geterr(p));
            s->unreadable++;
        }
        pcap_close(p);
    }
    for (size_t i = 0; i < ft.cap && rc == 0; i++) {
        const struct fslot *f = &ft.s[i];
        if (!f->used)
            continue;
        unsigned seen = 0;
        for (unsigned w = 0; w < n; w++) {
            if (f->mask[w / 64] >> (w % 64) & 1) {
                s->w[w].conns++;
                seen++;
            }
        }
        s->conns++;
        if (seen > 1) {
            s->split_conns++;
            add_example(s, f);
        }
    }
    for (unsigned w = 0; w < n; w++) {
        s->pkts += s->w[w].pkts;
        s->bytes += s->w[w].bytes;
    }
out:
    free(fm.s);
    free(ft.s);
    return rc;
}

/* Hash of the key as seen on the wire: no canonical order, so A->B and
 * B->A differ. Only for LAB_SPLIT_ASYM. */
static uint64_t asym_hash(const struct sl_pkt *pk)
{
    const struct sl_pkt_ip *ip = sl_pkt_inner(pk);
    struct sl_flow_key k;
    if (!ip) {
        memset(&k, 0, sizeof(k));
        if (pk->len >= 12)
            memcpy(k.src, pk->data, 12);
    } else {
        sl_flow_key_from_ip(&k, ip);
    }
    return key_hash(&k);
}

int lab_split_write(const char *pcap, const char *dir, unsigned n_workers, enum lab_split_how how,
                    const char *mode, FILE *err)
{
    enum sl_hash_mode hm = SL_HASH_SYM5;
    struct sl_rdv rdv;
    pcap_dumper_t *out[LAB_SPLIT_MAX_WORKERS] = {0};
    pcap_t *p;
    int rc = 0;
    if (n_workers == 0 || n_workers > LAB_SPLIT_MAX_WORKERS)
        return -EINVAL;
    if (how == LAB_SPLIT_HASH && mode && sl_hash_mode_parse(mode, &hm) < 0) {
        fprintf(err, "sluicectl: split: unknown hash mode '%s'\n", mode);
        return -EINVAL;
    }
    if ((rc = sl_rdv_init(&rdv, n_workers)) < 0)
        return rc;
    if (open_pcap(pcap, &p, err) < 0)
        return -EINVAL;
    for (unsigned w = 0; w < n_workers; w++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/worker-%u.pcap", dir, w + 1);
        if (!(out[w] = pcap_dump_open(p, path))) {
            fprintf(err, "sluicectl: split: %s: %s\n", path, pcap_geterr(p));
            rc = -EIO;
            goto out;
        }
    }
    int dlt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *d;
    struct sl_pkt pk;
    while (pcap_next_ex(p, &h, &d) == 1) {
        sl_pkt_decode(&pk, d, h->caplen, dlt);
        unsigned w;
        if (how == LAB_SPLIT_ASYM) {
            w = (unsigned)(asym_hash(&pk) % n_workers);
        } else {
            int k = sl_rdv_pick(&rdv, sl_hash_pkt(&pk, hm));
            w = k < 0 ? 0 : (unsigned)k;
        }
        pcap_dump((u_char *)out[w], h, d);
    }
out:
    for (unsigned w = 0; w < n_workers; w++)
        if (out[w])
            pcap_dump_close(out[w]);
    pcap_close(p);
    return rc;
}

/* ---- timeline --------------------------------------------------------------- */

struct tl_rec {
    double ts;
    uint32_t worker;
    uint32_t pad;
};

struct tl_head {
    pcap_t *p;
    struct pcap_pkthdr *h;
    const u_char *d;
    bool more;
};

struct tl_pend {
    struct pcap_pkthdr h;
    u_char *d;
};

#define TL_WINDOW 4096

static bool same_frame(const struct pcap_pkthdr *a, const u_char *da, const struct pcap_pkthdr *b,
                       const u_char *db)
{
    if (a->ts.tv_sec != b->ts.tv_sec || a->ts.tv_usec != b->ts.tv_usec || a->len != b->len ||
        a->caplen != b->caplen)
        return false;
    /* the frontend rewrote the destination MAC, nothing else */
    return a->caplen < 6 ? memcmp(da, db, a->caplen) == 0
                         : memcmp(da + 6, db + 6, a->caplen - 6) == 0;
}

static void tl_advance(struct tl_head *w)
{
    w->more = pcap_next_ex(w->p, &w->h, &w->d) == 1;
}

static int tl_emit(FILE *out, struct tl_head *w, unsigned k, int64_t *n)
{
    struct tl_rec r = {.ts = (double)w->h->ts.tv_sec + (double)w->h->ts.tv_usec / 1e6, .worker = k};
    if (fwrite(&r, sizeof(r), 1, out) != 1)
        return -EIO;
    (*n)++;
    tl_advance(w);
    return 0;
}

/* Matches one input frame with a worker file's next frame; emits it. */
static int tl_match(FILE *out, struct tl_head *w, unsigned n, const struct pcap_pkthdr *h,
                    const u_char *d, int64_t *count)
{
    for (unsigned k = 0; k < n; k++)
        if (w[k].more && same_frame(w[k].h, w[k].d, h, d))
            return tl_emit(out, &w[k], k, count) < 0 ? -EIO : 1;
    return 0;
}

int64_t lab_split_timeline(const char *pcap, char *const *files, unsigned n, const char *out,
                           FILE *err)
{
    struct tl_head *w = calloc(n ? n : 1, sizeof(*w));
    struct tl_pend *pend = calloc(TL_WINDOW, sizeof(*pend));
    size_t n_pend = 0;
    int64_t count = 0;
    int rc = 0;
    pcap_t *in = NULL;
    FILE *f = NULL;
    if (!w || !pend) {
        rc = -ENOMEM;
        goto out;
    }
    for (unsigned k = 0; k < n; k++) {
        char eb[PCAP_ERRBUF_SIZE];
        if (files[k] && access(files[k], F_OK) == 0 &&
            !(w[k].p = pcap_open_offline(files[k], eb))) {
            fprintf(err, "sluicectl: %s: %s\n", files[k], eb);
            rc = -EINVAL;
            goto out;
        }
        if (w[k].p)
            tl_advance(&w[k]);
    }
    if (open_pcap(pcap, &in, err) < 0 || !(f = fopen(out, "wb"))) {
        rc = in ? -errno : -EINVAL;
        goto out;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    while (rc == 0 && pcap_next_ex(in, &h, &d) == 1) {
        int m = tl_match(f, w, n, h, d, &count);
        if (m < 0) {
            rc = m;
            break;
        }
        if (m == 0) { /* held back by the frontend, or dropped: wait a while */
            if (n_pend == TL_WINDOW) {
                free(pend[0].d);
                memmove(pend, pend + 1, (TL_WINDOW - 1) * sizeof(*pend));
                n_pend--;
            }
            pend[n_pend].h = *h;
            if (!(pend[n_pend].d = malloc(h->caplen ? h->caplen : 1))) {
                rc = -ENOMEM;
                break;
            }
            memcpy(pend[n_pend].d, d, h->caplen);
            n_pend++;
            continue;
        }
        /* a frame matched: frames waiting may be next in some file now */
        for (size_t i = 0; i < n_pend && rc == 0;) {
            int pm = tl_match(f, w, n, &pend[i].h, pend[i].d, &count);
            if (pm < 0)
                rc = pm;
            if (pm > 0) {
                free(pend[i].d);
                memmove(pend + i, pend + i + 1, (n_pend - i - 1) * sizeof(*pend));
                n_pend--;
                i = 0;
            } else {
                i++;
            }
        }
    }
    /* what is left in the files came in an order we could not follow: by time */
    for (;;) {
        int best = -1;
        for (unsigned k = 0; k < n; k++)
            if (w[k].more && (best < 0 || timercmp(&w[k].h->ts, &w[best].h->ts, <)))
                best = (int)k;
        if (best < 0 || rc < 0)
            break;
        rc = tl_emit(f, &w[best], (unsigned)best, &count);
    }
out:
    for (size_t i = 0; i < n_pend; i++)
        free(pend[i].d);
    free(pend);
    for (unsigned k = 0; w && k < n; k++)
        if (w[k].p)
            pcap_close(w[k].p);
    free(w);
    if (in)
        pcap_close(in);
    if (f && fclose(f) != 0 && rc == 0)
        rc = -EIO;
    return rc < 0 ? rc : count;
}
