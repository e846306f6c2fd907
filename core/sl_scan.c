/* sl_scan: scan.zeek's failed-connection observations and its two
 * SumStats (unique victims per scanner+port, unique ports per
 * scanner+victim) with exact sets, epochs on a fixed grid, an LRU bound on
 * keys and a reorder heap for merging many workers. */
#include "sl_scan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- worker side ---- */

static bool has(const char *h, char c)
{
    return h && strchr(h, c);
}

/* Sr || ( (hR || ShR) && (data not sent in any direction) ) */
static bool is_failed(const struct sl_scan_conn *c)
{
    if (c->orig_state == SL_SCAN_TCP_SYN_SENT && c->resp_state == SL_SCAN_TCP_RESET)
        return true;
    bool hr = c->orig_state == SL_SCAN_TCP_RESET && c->resp_state == SL_SCAN_TCP_SYN_ACK_SENT;
    bool shr = c->orig_state == SL_SCAN_TCP_RESET && c->resp_state == SL_SCAN_TCP_ESTABLISHED &&
               has(c->history, 'S');
    return (hr || shr) && !has(c->history, 'D') && !has(c->history, 'd');
}

/* sR || ( (Hr || sHr) && (data not sent in any direction) ) */
static bool is_reverse_failed(const struct sl_scan_conn *c)
{
    if (c->resp_state == SL_SCAN_TCP_SYN_SENT && c->orig_state == SL_SCAN_TCP_RESET)
        return true;
    bool hr = c->resp_state == SL_SCAN_TCP_RESET && c->orig_state == SL_SCAN_TCP_SYN_ACK_SENT;
    bool shr = c->resp_state == SL_SCAN_TCP_RESET && c->orig_state == SL_SCAN_TCP_ESTABLISHED &&
               has(c->history, 's');
    return (hr || shr) && !has(c->history, 'D') && !has(c->history, 'd');
}

bool sl_scan_conn_obs(enum sl_scan_event ev, const struct sl_scan_conn *c, double ts,
                      struct sl_scan_obs *out)
{
    bool reverse;
    if (!c || !out)
        return false;
    switch (ev) {
    case SL_SCAN_EV_ATTEMPT:
        reverse = has(c->history, 'H');
        break;
    case SL_SCAN_EV_REJECTED:
        reverse = has(c->history, 's');
        break;
    case SL_SCAN_EV_RESET:
    case SL_SCAN_EV_PENDING:
        if (is_failed(c))
            reverse = false;
        else if (is_reverse_failed(c))
            reverse = true;
        else
            return false;
        break;
    default:
        return false;
    }
    memset(out, 0, sizeof(*out));
    out->ts = ts;
    memcpy(out->scanner, reverse ? c->resp_h : c->orig_h, 16);
    memcpy(out->victim, reverse ? c->orig_h : c->resp_h, 16);
    out->port = reverse ? c->orig_p : c->resp_p;
    out->proto = 6;
    return true;
}

/* ---- manager side ---- */

enum { ADDR = 0, PORT = 1 };

/* One SumStats key: (scanner, port) for ADDR, (scanner, victim) for PORT. */
struct key {
    struct key *hnext;         /* hash chain */
    struct key *lprev, *lnext; /* LRU order, least recent first */
    uint64_t hash;
    uint8_t host[16]; /* the scanner: key$host */
    uint8_t str[16];  /* ADDR: port in [0..1]; PORT: the victim */
    double begin, end;
    bool crossed; /* the threshold tracker: once per epoch */
    uint8_t n_vals, cap_vals;
    uint8_t (*vals)[16]; /* unique observation values */
};

struct stat {
    int kind;
    double interval;
    unsigned threshold;
    unsigned unique_max; /* threshold + 2 */
    int64_t epoch;       /* current epoch index on the grid */
    struct key **b;
    size_t nb, n;
    struct key *lru_head, *lru_tail;
};

struct pend {
    struct sl_scan_obs o;
    uint64_t seq;
};

struct sl_scan_agg {
    struct sl_scan_cfg cfg;
    struct sl_scan_counters ctr;
    bool started;
    double t0;
    struct stat st[2];
    struct pend *heap;
    size_t nh, caph;
    uint64_t seq;
};

void sl_scan_cfg_default(struct sl_scan_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->addr_interval = 300.0;
    cfg->port_interval = 300.0;
    cfg->addr_threshold = 25;
    cfg->port_threshold = 15;
}

/* Bucket placement only (nothing depends on the order within a bucket):
 * eight bytes at a time, as the per-byte FNV showed in profiles. */
static uint64_t hash_key(const uint8_t host[16], const uint8_t str[16])
{
    uint64_t w[4], h = 0xcbf29ce484222325ull;
    memcpy(w, host, 16);
    memcpy(w + 2, str, 16);
    for (int i = 0; i < 4; i++) {
        h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h ^ (h >> 29);
}

static void lru_unlink(struct stat *s, struct key *k)
{
    if (k->lprev)
        k->lprev->lnext = k->lnext;
    else
        s->lru_head = k->lnext;
    if (k->lnext)
        k->lnext->lprev = k->lprev;
    else
        s->lru_tail = k->lprev;
    k->lprev = k->lnext = NULL;
}

static void lru_append(struct stat *s, struct key *k)
{
    k->lprev = s->lru_tail;
    k->lnext = NULL;
    if (s->lru_tail)
        s->lru_tail->lnext = k;
    else
        s->lru_head = k;
    s->lru_tail = k;
}

static void key_free(struct key *k)
{
    free(k->vals);
    free(k);
}

static void stat_remove(struct stat *s, struct key *k)
{
    struct key **pp = &s->b[k->hash & (s->nb - 1)];
    while (*pp != k)
        pp = &(*pp)->hnext;
    *pp = k->hnext;
    lru_unlink(s, k);
    s->n--;
    key_free(k);
}

static void stat_reset(struct stat *s)
{
    for (struct key *k = s->lru_head, *nx; k; k = nx) {
        nx = k->lnext;
        key_free(k);
    }
    memset(s->b, 0, s->nb * sizeof(*s->b));
    s->n = 0;
    s->lru_head = s->lru_tail = NULL;
}

static int stat_init(struct stat *s, int kind, double interval, unsigned threshold)
{
    s->kind = kind;
    s->interval = interval;
    s->threshold = threshold;
    s->unique_max = threshold + 2;
    s->nb = 1024;
    s->b = calloc(s->nb, sizeof(*s->b));
    return s->b ? 0 : -ENOMEM;
}

static void stat_grow(struct stat *s)
{
    size_t nb = s->nb * 2;
    struct key **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (struct key *k = s->lru_head; k; k = k->lnext) {
        k->hnext = b[k->hash & (nb - 1)];
        b[k->hash & (nb - 1)] = k;
    }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

struct sl_scan_agg *sl_scan_agg_new(const struct sl_scan_cfg *cfg)
{
    if (!cfg || !(cfg->addr_interval > 0) || !(cfg->port_interval > 0) ||
        cfg->addr_threshold == 0 || cfg->port_threshold == 0 || cfg->addr_threshold > 250 ||
        cfg->port_threshold > 250) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_scan_agg *a = calloc(1, sizeof(*a));
    if (!a)
        goto oom;
    a->cfg = *cfg;
    if (!a->cfg.max_keys)
        a->cfg.max_keys = 1u << 18;
    if (!a->cfg.max_pending)
        a->cfg.max_pending = 1u << 16;
    if (stat_init(&a->st[ADDR], ADDR, cfg->addr_interval, cfg->addr_threshold) ||
        stat_init(&a->st[PORT], PORT, cfg->port_interval, cfg->port_threshold))
        goto oom;
    return a;
oom:
    sl_scan_agg_free(a);
    errno = ENOMEM;
    return NULL;
}

void sl_scan_agg_free(struct sl_scan_agg *a)
{
    if (!a)
        return;
    for (int i = 0; i < 2; i++) {
        if (a->st[i].b)
            stat_reset(&a->st[i]);
        free(a->st[i].b);
    }
    free(a->heap);
    free(a);
}

int sl_scan_agg_start(struct sl_scan_agg *a, double t0)
{
    if (!a)
        return -EINVAL;
    if (a->started)
        return -EBUSY;
    a->started = true;
    a->t0 = t0;
    return 0;
}

void sl_scan_agg_advance(struct sl_scan_agg *a, double now)
{
    if (!a)
        return;
    if (!a->started)
        sl_scan_agg_start(a, now);
    for (int i = 0; i < 2; i++) {
        struct stat *s = &a->st[i];
        int64_t e = (int64_t)floor((now - a->t0) / s->interval);
        if (e > s->epoch) {
            stat_reset(s);
            s->epoch = e;
            a->ctr.epochs++;
        }
    }
}

static void fmt_addr(const uint8_t a[16], char *buf, size_t n)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4, 12) == 0)
        snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    else if (!inet_ntop(AF_INET6, a, buf, (socklen_t)n))
        snprintf(buf, n, "::");
}

/* The threshold_crossed callback of the script's two SumStats. */
static void crossed(struct sl_scan_agg *a, struct stat *s, struct key *k, double ts)
{
    char scanner[48], victim[48], msg[256];
    /* duration_to_mins_secs(): whole seconds, truncated */
    double d = k->end - k->begin;
    unsigned long long secs = d > 0 ? (unsigned long long)d : 0;
    struct sl_notice n = {.ts = ts, .has_src = true};

    fmt_addr(k->host, scanner, sizeof(scanner));
    memcpy(n.src, k->host, 16);
    n.identifier = scanner;
    n.sub = a->cfg.is_local && a->cfg.is_local(a->cfg.ctx, k->host) ? "local" : "remote";
    if (s->kind == ADDR) {
        unsigned port = (unsigned)k->str[0] << 8 | k->str[1];
        snprintf(msg, sizeof(msg),
                 "%s scanned at least %u unique hosts on port %u/tcp in %llum%llus", scanner,
                 k->n_vals, port, secs / 60, secs % 60);
        n.note = "Scan::Address_Scan";
        n.has_p = true;
        n.p = (uint16_t)port;
        n.p_proto = 6;
    } else {
        fmt_addr(k->str, victim, sizeof(victim));
        snprintf(msg, sizeof(msg), "%s scanned at least %u unique ports of host %s in %llum%llus",
                 scanner, k->n_vals, victim, secs / 60, secs % 60);
        n.note = "Scan::Port_Scan";
        n.has_dst = true;
        memcpy(n.dst, k->str, 16);
    }
    n.msg = msg;
    a->ctr.notices++;
    if (a->cfg.notice)
        a->cfg.notice(a->cfg.ctx, &n);
}

static struct key *lookup(struct stat *s, const uint8_t host[16], const uint8_t str[16], uint64_t h)
{
    for (struct key *k = s->b[h & (s->nb - 1)]; k; k = k->hnext)
        if (k->hash == h && !memcmp(k->host, host, 16) && !memcmp(k->str, str, 16))
            return k;
    return NULL;
}

/* SumStats::observe() for one stream: a key (h = hash_key(host, str)) and an
 * observation value. */
static void observe(struct sl_scan_agg *a, struct stat *s, const uint8_t host[16],
                    const uint8_t str[16], const uint8_t val[16], double ts, uint64_t h)
{
    struct key *k = lookup(s, host, str, h);
    if (!k) {
        if (s->n >= a->cfg.max_keys && s->lru_head) {
            stat_remove(s, s->lru_head);
            a->ctr.evicted++;
        }
        k = calloc(1, sizeof(*k));
        if (!k)
            return;
        k->hash = h;
        memcpy(k->host, host, 16);
        memcpy(k->str, str, 16);
        k->begin = ts;
        if (s->n + 1 > s->nb)
            stat_grow(s);
        k->hnext = s->b[h & (s->nb - 1)];
        s->b[h & (s->nb - 1)] = k;
        s->n++;
    } else {
        lru_unlink(s, k);
    }
    lru_append(s, k);
    k->end = ts;

    bool seen = false;
    for (unsigned i = 0; i < k->n_vals && !seen; i++)
        seen = !memcmp(k->vals[i], val, 16);
    /* the UNIQUE plugin adds while |set| <= unique_max */
    if (!seen && k->n_vals <= s->unique_max) {
        if (k->n_vals == k->cap_vals) {
            unsigned cap = k->cap_vals ? k->cap_vals * 2u : 2u;
            if (cap > s->unique_max + 1)
                cap = s->unique_max + 1;
            uint8_t(*v)[16] = realloc(k->vals, cap * sizeof(*v));
            if (!v)
                return;
            k->vals = v;
            k->cap_vals = (uint8_t)cap;
        }
        memcpy(k->vals[k->n_vals++], val, 16);
    }
    if (!k->crossed && k->n_vals >= s->threshold) {
        k->crossed = true;
        crossed(a, s, k, ts);
    }
}

static void process(struct sl_scan_agg *a, const struct sl_scan_obs *o)
{
    sl_scan_agg_advance(a, o->ts);
    if (o->ts < a->t0 + (double)a->st[ADDR].epoch * a->st[ADDR].interval)
        a->ctr.late++;
    a->ctr.observations++;

    uint8_t port[16] = {0};
    port[0] = (uint8_t)(o->port >> 8);
    port[1] = (uint8_t)o->port;
    port[2] = o->proto;
    /* add_sumstats(): address scan first, then port scan */
    /* Both buckets are fetched before either is needed. */
    uint64_t ha = hash_key(o->scanner, port), hp = hash_key(o->scanner, o->victim);
    __builtin_prefetch(&a->st[ADDR].b[ha & (a->st[ADDR].nb - 1)]);
    __builtin_prefetch(&a->st[PORT].b[hp & (a->st[PORT].nb - 1)]);
    observe(a, &a->st[ADDR], o->scanner, port, o->victim, o->ts, ha);
    observe(a, &a->st[PORT], o->scanner, o->victim, port, o->ts, hp);
}

void sl_scan_agg_observe(struct sl_scan_agg *a, const struct sl_scan_obs *o)
{
    if (a && o)
        process(a, o);
}

/* ---- reorder heap: (ts, seq) min-heap ---- */

static bool before(const struct pend *x, const struct pend *y)
{
    return x->o.ts < y->o.ts || (x->o.ts == y->o.ts && x->seq < y->seq);
}

static void heap_pop(struct sl_scan_agg *a, struct pend *out)
{
    *out = a->heap[0];
    a->heap[0] = a->heap[--a->nh];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < a->nh && before(&a->heap[l], &a->heap[m]))
            m = l;
        if (r < a->nh && before(&a->heap[r], &a->heap[m]))
            m = r;
        if (m == i)
            break;
        struct pend t = a->heap[i];
        a->heap[i] = a->heap[m];
        a->heap[m] = t;
        i = m;
    }
}

int sl_scan_agg_submit(struct sl_scan_agg *a, const struct sl_scan_obs *o)
{
    if (!a || !o)
        return -EINVAL;
    if (a->nh >= a->cfg.max_pending) {
        struct pend p;
        heap_pop(a, &p);
        a->ctr.forced++;
        process(a, &p.o);
    }
    if (a->nh == a->caph) {
        size_t cap = a->caph ? a->caph * 2 : 64;
        struct pend *h = realloc(a->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        a->heap = h;
        a->caph = cap;
    }
    size_t i = a->nh++;
    a->heap[i] = (struct pend){*o, a->seq++};
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&a->heap[i], &a->heap[p]))
            break;
        struct pend t = a->heap[i];
        a->heap[i] = a->heap[p];
        a->heap[p] = t;
        i = p;
    }
    return 0;
}

void sl_scan_agg_release(struct sl_scan_agg *a, double watermark)
{
    if (!a)
        return;
    while (a->nh && a->heap[0].o.ts <= watermark) {
        struct pend p;
        heap_pop(a, &p);
        process(a, &p.o);
    }
    sl_scan_agg_advance(a, watermark);
}

void sl_scan_agg_flush(struct sl_scan_agg *a)
{
    if (!a)
        return;
    while (a->nh) {
        struct pend p;
        heap_pop(a, &p);
        process(a, &p.o);
    }
}

size_t sl_scan_agg_keys(const struct sl_scan_agg *a)
{
    return a ? a->st[ADDR].n + a->st[PORT].n : 0;
}

size_t sl_scan_agg_pending(const struct sl_scan_agg *a)
{
    return a ? a->nh : 0;
}

const struct sl_scan_counters *sl_scan_agg_counters(const struct sl_scan_agg *a)
{
    return &a->ctr;
}
