/* sl_known: known hosts and services, worker caches and authoritative sets. */
#include "sl_known.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sl_log_field kh_fields[SL_KH_N_FIELDS] = {
    {"ts", SL_LT_TIME},
    {"host", SL_LT_ADDR},
};
static const struct sl_log_field ks_fields[SL_KS_N_FIELDS] = {
    {"ts", SL_LT_TIME},         {"host", SL_LT_ADDR},          {"port_num", SL_LT_PORT},
    {"port_proto", SL_LT_ENUM}, {"service", SL_LT_SET_STRING},
};
const struct sl_log_schema sl_known_hosts_schema = {"known_hosts", SL_KH_N_FIELDS, kh_fields};
const struct sl_log_schema sl_known_services_schema = {"known_services", SL_KS_N_FIELDS, ks_fields};

/* ---- a set of keys with create-expiry, oldest first ---- */

struct kent {
    struct kent *hnext, *prev, *next;
    uint64_t hash;
    double until;
    struct sl_known_key key;
};

struct kset {
    struct kent **b;
    size_t nb, n, max;
    struct kent *head, *tail; /* insertion order */
    uint64_t evicted;
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

#define FNV0 0xcbf29ce484222325ull

/* The set's bucket hash (placement only: nothing depends on the order within
 * a bucket): eight bytes at a time, as the per-byte FNV showed in profiles. */
static uint64_t key_hash(const struct sl_known_key *k)
{
    const uint8_t *p = (const uint8_t *)k;
    uint64_t h = FNV0;
    size_t i = 0;
    for (; i + 8 <= sizeof(*k); i += 8) {
        uint64_t w;
        memcpy(&w, p + i, sizeof(w));
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return fnv(p + i, sizeof(*k) - i, h);
}

static int kset_init(struct kset *s, size_t max)
{
    s->nb = 256;
    s->max = max ? max : (1u << 20);
    s->b = calloc(s->nb, sizeof(*s->b));
    return s->b ? 0 : -ENOMEM;
}

static void kset_unlink(struct kset *s, struct kent *e)
{
    struct kent **pp = &s->b[e->hash & (s->nb - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        s->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        s->tail = e->prev;
    s->n--;
    free(e);
}

static void kset_clear(struct kset *s)
{
    for (struct kent *e = s->head, *nx; e; e = nx) {
        nx = e->next;
        free(e);
    }
    if (s->b)
        memset(s->b, 0, s->nb * sizeof(*s->b));
    s->head = s->tail = NULL;
    s->n = 0;
}

static void kset_free(struct kset *s)
{
    kset_clear(s);
    free(s->b);
    s->b = NULL;
}

/* The live entry for k at time t; an expired one is dropped. */
static struct kent *kset_find(struct kset *s, const struct sl_known_key *k, double t)
{
    uint64_t h = key_hash(k);
    for (struct kent *e = s->b[h & (s->nb - 1)]; e; e = e->hnext)
        if (e->hash == h && memcmp(&e->key, k, sizeof(*k)) == 0) {
            if (t < e->until)
                return e;
            kset_unlink(s, e);
            return NULL;
        }
    return NULL;
}

static void kset_grow(struct kset *s)
{
    size_t nb = s->nb * 2;
    struct kent **b = calloc(nb, sizeof(*b));
    if (!b)
        return;
    for (struct kent *e = s->head; e; e = e->next) {
        e->hnext = b[e->hash & (nb - 1)];
        b[e->hash & (nb - 1)] = e;
    }
    free(s->b);
    s->b = b;
    s->nb = nb;
}

/* Adds k (not present) living until `until`. */
static int kset_add(struct kset *s, const struct sl_known_key *k, double until, double now)
{
    /* free what has run out from the old end first, then evict if still full */
    while (s->head && s->head->until <= now)
        kset_unlink(s, s->head);
    if (s->n >= s->max && s->head) {
        kset_unlink(s, s->head);
        s->evicted++;
    }
    struct kent *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->key = *k;
    e->hash = key_hash(k);
    e->until = until;
    if (s->n + 1 > s->nb)
        kset_grow(s);
    e->hnext = s->b[e->hash & (s->nb - 1)];
    s->b[e->hash & (s->nb - 1)] = e;
    e->prev = s->tail;
    if (s->tail)
        s->tail->next = e;
    else
        s->head = e;
    s->tail = e;
    s->n++;
    return 0;
}

static void host_key(struct sl_known_key *k, const uint8_t host[16])
{
    memset(k, 0, sizeof(*k));
    k->kind = SL_KNOWN_K_HOST;
    memcpy(k->addr, host, 16);
}

static void row_key(struct sl_known_key *k, const uint8_t host[16], uint16_t port, uint8_t proto)
{
    memset(k, 0, sizeof(*k));
    k->kind = SL_KNOWN_K_ROW;
    memcpy(k->addr, host, 16);
    k->port = port;
    k->proto = proto;
}

static void svc_key(struct sl_known_key *k, const struct sl_known_service *s, unsigned i)
{
    row_key(k, s->host, s->port, s->proto);
    k->kind = SL_KNOWN_K_SVC;
    /* bytes past the NUL stay zero: keys compare as bytes */
    memcpy(k->svc, s->svc[i], strnlen(s->svc[i], SL_KNOWN_SVC_LEN - 1));
}

/* insert() for the three kinds; SVC keys take their row's lifetime. */
static int set_insert(struct kset *s, const struct sl_known_key *k, double ts, double expire)
{
    if (kset_find(s, k, ts))
        return 0;
    double until = ts + expire;
    if (k->kind == SL_KNOWN_K_SVC) {
        struct sl_known_key r;
        row_key(&r, k->addr, k->port, k->proto);
        struct kent *row = kset_find(s, &r, ts);
        if (!row) {
            int rc = kset_add(s, &r, until, ts);
            if (rc)
                return rc;
        } else {
            until = row->until;
        }
    }
    int rc = kset_add(s, k, until, ts);
    return rc ? rc : 1;
}

/* Known::check(): the row exists and holds every name. */
static bool set_check(struct kset *s, const struct sl_known_service *sv, double ts)
{
    struct sl_known_key k;
    row_key(&k, sv->host, sv->port, sv->proto);
    if (!kset_find(s, &k, ts))
        return false;
    for (unsigned i = 0; i < sv->n_svc; i++) {
        svc_key(&k, sv, i);
        if (!kset_find(s, &k, ts))
            return false;
    }
    return true;
}

/* known_service_add() on a set: fills *out with the names it added. */
static bool set_add_service(struct kset *s, const struct sl_known_service *sv, double ts,
                            double expire, struct sl_known_service *out)
{
    if (set_check(s, sv, ts))
        return false;
    struct sl_known_key k;
    row_key(&k, sv->host, sv->port, sv->proto);
    if (!kset_find(s, &k, ts))
        (void)set_insert(s, &k, ts, expire);
    if (out) {
        *out = *sv;
        out->n_svc = 0;
    }
    for (unsigned i = 0; i < sv->n_svc; i++) {
        svc_key(&k, sv, i);
        if (set_insert(s, &k, ts, expire) == 1 && out)
            memcpy(out->svc[out->n_svc++], sv->svc[i], SL_KNOWN_SVC_LEN);
    }
    return true;
}

/* ---- worker ---- */

struct deferred {
    double due;
    struct sl_known_service s;
};

struct sl_known {
    struct sl_known_cfg cfg;
    struct sl_known_counters ctr;
    struct kset cache;
    struct deferred *q; /* ring, due order (ts only grows) */
    size_t qh, qn, qcap;
};

void sl_known_cfg_default(struct sl_known_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->expire = 86400.0;
    cfg->defer = 300.0;
    cfg->udp_requires_response = true;
}

struct sl_known *sl_known_new(const struct sl_known_cfg *cfg)
{
    if (!cfg || !(cfg->expire > 0) || cfg->defer < 0) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_known *k = calloc(1, sizeof(*k));
    if (!k || kset_init(&k->cache, cfg->max_items)) {
        free(k);
        errno = ENOMEM;
        return NULL;
    }
    k->cfg = *cfg;
    if (!k->cfg.max_deferred)
        k->cfg.max_deferred = 1u << 16;
    return k;
}

void sl_known_free(struct sl_known *k)
{
    if (!k)
        return;
    kset_free(&k->cache);
    free(k->q);
    free(k);
}

static bool local(struct sl_known *k, const uint8_t a[16])
{
    return k->cfg.is_local && k->cfg.is_local(k->cfg.ctx, a);
}

/* Known::host_found on a worker. */
static void host_found(struct sl_known *k, double ts, const uint8_t host[16])
{
    struct sl_known_key key;
    host_key(&key, host);
    if (kset_find(&k->cache, &key, ts))
        return;
    uint64_t ev = k->cache.evicted;
    (void)set_insert(&k->cache, &key, ts, k->cfg.expire);
    k->ctr.evicted += k->cache.evicted - ev;
    k->ctr.hosts_found++;
    struct sl_known_host h = {.ts = ts};
    memcpy(h.host, host, 16);
    if (k->cfg.host_found)
        k->cfg.host_found(k->cfg.ctx, &h);
}

void sl_known_established(struct sl_known *k, double ts, const uint8_t orig_h[16],
                          const uint8_t resp_h[16], int orig_state, int resp_state)
{
    if (!k || orig_state != SL_KNOWN_TCP_ESTABLISHED || resp_state != SL_KNOWN_TCP_ESTABLISHED)
        return;
    if (local(k, orig_h))
        host_found(k, ts, orig_h);
    if (memcmp(orig_h, resp_h, 16) != 0 && local(k, resp_h))
        host_found(k, ts, resp_h);
}

/* service_info_commit on a worker. */
static void commit(struct sl_known *k, const struct sl_known_service *s, double now)
{
    if (set_check(&k->cache, s, now))
        return;
    uint64_t ev = k->cache.evicted;
    (void)set_add_service(&k->cache, s, now, k->cfg.expire, NULL);
    k->ctr.evicted += k->cache.evicted - ev;
    k->ctr.services_found++;
    if (k->cfg.service_found)
        k->cfg.service_found(k->cfg.ctx, s);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* has_active_service() */
static bool active(const struct sl_known *k, const struct sl_known_conn *c)
{
    switch (c->proto) {
    case 6:
        return c->resp_state == SL_KNOWN_TCP_ESTABLISHED || c->resp_state == SL_KNOWN_TCP_CLOSED ||
               c->resp_state == SL_KNOWN_TCP_PARTIAL || (c->history && strchr(c->history, 'h'));
    case 17:
        return !k->cfg.udp_requires_response || c->resp_state == SL_KNOWN_UDP_ACTIVE;
    default:
        return false;
    }
}

static void defer(struct sl_known *k, double due, const struct sl_known_service *s)
{
    if (k->qn >= k->cfg.max_deferred) {
        k->ctr.deferred_drop++;
        return;
    }
    if (k->qn == k->qcap) {
        size_t cap = k->qcap ? k->qcap * 2 : 16;
        struct deferred *q = malloc(cap * sizeof(*q));
        if (!q) {
            k->ctr.deferred_drop++;
            return;
        }
        for (size_t i = 0; i < k->qn; i++)
            q[i] = k->q[(k->qh + i) % k->qcap];
        free(k->q);
        k->q = q;
        k->qcap = cap;
        k->qh = 0;
    }
    k->q[(k->qh + k->qn) % k->qcap] = (struct deferred){due, *s};
    k->qn++;
}

/* known_services_done() */
static void services_done(struct sl_known *k, double ts, const struct sl_known_conn *c, bool *done)
{
    if (!local(k, c->resp_h))
        return;
    if (c->n_services == 1) {
        if (strcmp(c->services[0], "ftp-data") == 0)
            return;
        if (strcmp(c->services[0], "DNS") == 0 && c->resp_size == 0)
            return;
    }
    if (!active(k, c))
        return;
    if (done)
        *done = true;

    struct sl_known_service s;
    memset(&s, 0, sizeof(s));
    s.ts = ts;
    memcpy(s.host, c->resp_h, 16);
    s.port = c->resp_p;
    s.proto = c->proto;
    for (unsigned i = 0; i < c->n_services; i++) {
        const char *n = c->services[i];
        if (!n || n[0] == '-')
            continue;
        if (s.n_svc == SL_KNOWN_MAX_SVC || strlen(n) >= SL_KNOWN_SVC_LEN) {
            k->ctr.svc_truncated++;
            continue;
        }
        bool dup = false;
        for (unsigned j = 0; j < s.n_svc && !dup; j++)
            dup = strcmp(s.svc[j], n) == 0;
        if (!dup)
            snprintf(s.svc[s.n_svc++], SL_KNOWN_SVC_LEN, "%s", n);
    }
    qsort(s.svc, s.n_svc, SL_KNOWN_SVC_LEN, cmp_name);
    if (c->n_services == 0) {
        s.n_svc = 1; /* the empty name, "(empty)" in the log */
        defer(k, ts + k->cfg.defer, &s);
    } else {
        commit(k, &s, ts);
    }
}

void sl_known_confirmed(struct sl_known *k, double ts, const struct sl_known_conn *c, bool *done)
{
    if (k && c)
        services_done(k, ts, c, done);
}

void sl_known_removed(struct sl_known *k, double ts, const struct sl_known_conn *c, bool *done)
{
    if (k && c && !(done && *done))
        services_done(k, ts, c, done);
}

void sl_known_advance(struct sl_known *k, double now)
{
    while (k && k->qn && k->q[k->qh].due <= now) {
        struct deferred d = k->q[k->qh];
        k->qh = (k->qh + 1) % k->qcap;
        k->qn--;
        commit(k, &d.s, d.due);
    }
}

void sl_known_flush(struct sl_known *k)
{
    while (k && k->qn) {
        struct deferred d = k->q[k->qh];
        k->qh = (k->qh + 1) % k->qcap;
        k->qn--;
        commit(k, &d.s, d.due);
    }
}

void sl_known_learn_host(struct sl_known *k, const struct sl_known_host *h)
{
    if (!k || !h)
        return;
    struct sl_known_key key;
    host_key(&key, h->host);
    (void)set_insert(&k->cache, &key, h->ts, k->cfg.expire);
}

void sl_known_learn_service(struct sl_known *k, const struct sl_known_service *s)
{
    if (k && s)
        (void)set_add_service(&k->cache, s, s->ts, k->cfg.expire, NULL);
}

void sl_known_clear_cache(struct sl_known *k)
{
    if (k)
        kset_clear(&k->cache);
}

const struct sl_known_counters *sl_known_counters(const struct sl_known *k)
{
    return &k->ctr;
}

/* ---- authority ---- */

struct sl_known_auth {
    struct kset set;
    double expire;
};

struct sl_known_auth *sl_known_auth_new(double expire, size_t max_items)
{
    if (!(expire > 0)) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_known_auth *a = calloc(1, sizeof(*a));
    if (!a || kset_init(&a->set, max_items)) {
        free(a);
        errno = ENOMEM;
        return NULL;
    }
    a->expire = expire;
    return a;
}

void sl_known_auth_free(struct sl_known_auth *a)
{
    if (!a)
        return;
    kset_free(&a->set);
    free(a);
}

int sl_known_auth_insert(struct sl_known_auth *a, const struct sl_known_key *key, double ts)
{
    if (!a || !key || key->kind < SL_KNOWN_K_HOST || key->kind > SL_KNOWN_K_SVC)
        return -EINVAL;
    return set_insert(&a->set, key, ts, a->expire);
}

bool sl_known_auth_contains(struct sl_known_auth *a, const struct sl_known_key *key, double ts)
{
    return a && key && kset_find(&a->set, key, ts) != NULL;
}

bool sl_known_auth_host(struct sl_known_auth *a, const struct sl_known_host *h)
{
    if (!a || !h)
        return false;
    struct sl_known_key k;
    host_key(&k, h->host);
    return sl_known_auth_insert(a, &k, h->ts) == 1;
}

bool sl_known_auth_service(struct sl_known_auth *a, const struct sl_known_service *s,
                           struct sl_known_service *out)
{
    if (!a || !s || !out)
        return false;
    return set_add_service(&a->set, s, s->ts, a->expire, out);
}

size_t sl_known_auth_size(const struct sl_known_auth *a)
{
    return a ? a->set.n : 0;
}

uint64_t sl_known_auth_evicted(const struct sl_known_auth *a)
{
    return a ? a->set.evicted : 0;
}

/* ---- ownership and records ---- */

uint64_t sl_known_host_hash(const uint8_t host[16])
{
    return fnv(host, 16, FNV0);
}

uint64_t sl_known_service_hash(const uint8_t host[16], uint16_t port, uint8_t proto)
{
    uint8_t t[3] = {(uint8_t)(port >> 8), (uint8_t)port, proto};
    return fnv(t, sizeof(t), fnv(host, 16, FNV0));
}

static void fmt_addr(const uint8_t a[16], char *buf, size_t n)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4, 12) == 0)
        snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    else if (!inet_ntop(AF_INET6, a, buf, (socklen_t)n))
        snprintf(buf, n, "::");
}

void sl_known_host_record(const struct sl_known_host *h, struct sl_log_val *vals,
                          struct sl_known_recbuf *buf)
{
    memset(vals, 0, SL_KH_N_FIELDS * sizeof(*vals));
    fmt_addr(h->host, buf->host, sizeof(buf->host));
    vals[SL_KH_TS] = (struct sl_log_val){true, sl_log_fmt_time(h->ts, buf->ts, sizeof(buf->ts))};
    vals[SL_KH_HOST] = (struct sl_log_val){true, buf->host};
}

void sl_known_service_record(const struct sl_known_service *s, struct sl_log_val *vals,
                             struct sl_known_recbuf *buf)
{
    memset(vals, 0, SL_KS_N_FIELDS * sizeof(*vals));
    fmt_addr(s->host, buf->host, sizeof(buf->host));
    snprintf(buf->port, sizeof(buf->port), "%u", s->port);
    unsigned n = s->n_svc > SL_KNOWN_MAX_SVC ? SL_KNOWN_MAX_SVC : s->n_svc;
    for (unsigned i = 0; i < n; i++)
        buf->items[i] = s->svc[i];
    vals[SL_KS_TS] = (struct sl_log_val){true, sl_log_fmt_time(s->ts, buf->ts, sizeof(buf->ts))};
    vals[SL_KS_HOST] = (struct sl_log_val){true, buf->host};
    vals[SL_KS_PORT_NUM] = (struct sl_log_val){true, buf->port};
    vals[SL_KS_PORT_PROTO] = (struct sl_log_val){true, s->proto == 6    ? "tcp"
                                                       : s->proto == 17 ? "udp"
                                                                        : "unknown"};
    vals[SL_KS_SERVICE] = (struct sl_log_val){true, NULL, buf->items, n};
}
