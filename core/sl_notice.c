/* sl_notice: notice.log records and exact (note, identifier) suppression. */
#include "sl_notice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sl_log_field notice_fields[SL_NOTICE_N_FIELDS] = {
    {"ts", SL_LT_TIME},
    {"uid", SL_LT_STRING},
    {"id.orig_h", SL_LT_ADDR},
    {"id.orig_p", SL_LT_PORT},
    {"id.resp_h", SL_LT_ADDR},
    {"id.resp_p", SL_LT_PORT},
    {"fuid", SL_LT_STRING},
    {"file_mime_type", SL_LT_STRING},
    {"file_desc", SL_LT_STRING},
    {"proto", SL_LT_ENUM},
    {"note", SL_LT_ENUM},
    {"msg", SL_LT_STRING},
    {"sub", SL_LT_STRING},
    {"src", SL_LT_ADDR},
    {"dst", SL_LT_ADDR},
    {"p", SL_LT_PORT},
    {"n", SL_LT_COUNT},
    {"peer_descr", SL_LT_STRING},
    {"actions", SL_LT_SET_ENUM},
    {"email_dest", SL_LT_SET_STRING},
    {"suppress_for", SL_LT_INTERVAL},
    {"remote_location.country_code", SL_LT_STRING},
    {"remote_location.region", SL_LT_STRING},
    {"remote_location.city", SL_LT_STRING},
    {"remote_location.latitude", SL_LT_DOUBLE},
    {"remote_location.longitude", SL_LT_DOUBLE},
};

const struct sl_log_schema sl_notice_schema = {"notice", SL_NOTICE_N_FIELDS, notice_fields};

struct entry {
    struct entry *next;
    uint64_t hash;
    double until;
    size_t note_len; /* key = note '\0' identifier '\0' */
    char key[];
};

struct type_iv {
    char *note;
    double interval;
};

struct sl_notice_ctx {
    struct sl_notice_cfg cfg;
    struct sl_notice_counters ctr;
    struct entry **b;
    size_t nb, n;
    struct type_iv *tiv;
    size_t n_tiv;
};

static uint64_t fnv(const char *a, const char *b)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = a; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull; /* separator no string contains */
    for (const char *p = b; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    return h;
}

struct sl_notice_ctx *sl_notice_new(const struct sl_notice_cfg *cfg)
{
    if (!cfg || cfg->default_suppression_interval < 0) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_notice_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    c->cfg = *cfg;
    if (!c->cfg.max_entries)
        c->cfg.max_entries = 1u << 20;
    c->nb = 64;
    c->b = calloc(c->nb, sizeof(*c->b));
    if (!c->b)
        goto oom;
    return c;
oom:
    free(c);
    errno = ENOMEM;
    return NULL;
}

void sl_notice_free(struct sl_notice_ctx *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nb; i++)
        for (struct entry *e = c->b[i], *nx; e; e = nx) {
            nx = e->next;
            free(e);
        }
    for (size_t i = 0; i < c->n_tiv; i++)
        free(c->tiv[i].note);
    free(c->tiv);
    free(c->b);
    free(c);
}

int sl_notice_set_type_interval(struct sl_notice_ctx *c, const char *note, double interval)
{
    if (!c || !note || interval < 0)
        return -EINVAL;
    for (size_t i = 0; i < c->n_tiv; i++)
        if (strcmp(c->tiv[i].note, note) == 0) {
            c->tiv[i].interval = interval;
            return 0;
        }
    struct type_iv *t = realloc(c->tiv, (c->n_tiv + 1) * sizeof(*t));
    if (!t)
        return -ENOMEM;
    c->tiv = t;
    if (!(t[c->n_tiv].note = strdup(note)))
        return -ENOMEM;
    t[c->n_tiv++].interval = interval;
    return 0;
}

/* The entry for (note, id); an expired one found on the way is dropped
 * (lookups are what makes the expiry exact, sweeps only free memory). */
static struct entry **find(struct sl_notice_ctx *c, const char *note, const char *id, uint64_t h,
                           double t)
{
    struct entry **pp = &c->b[h & (c->nb - 1)];
    while (*pp) {
        struct entry *e = *pp;
        if (e->hash == h && strcmp(e->key, note) == 0 &&
            strcmp(e->key + e->note_len + 1, id) == 0) {
            if (t < e->until)
                return pp;
            *pp = e->next;
            free(e);
            c->n--;
            c->ctr.expired++;
            return NULL;
        }
        pp = &e->next;
    }
    return NULL;
}

bool sl_notice_is_suppressed(struct sl_notice_ctx *c, const char *note, const char *identifier,
                             double t)
{
    if (!c || !note || !identifier)
        return false;
    return find(c, note, identifier, fnv(note, identifier), t) != NULL;
}

static void grow(struct sl_notice_ctx *c)
{
    size_t nb = c->nb * 2;
    struct entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* keep the longer chains */
    for (size_t i = 0; i < c->nb; i++)
        for (struct entry *e = c->b[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = b[e->hash & (nb - 1)];
            b[e->hash & (nb - 1)] = e;
        }
    free(c->b);
    c->b = b;
    c->nb = nb;
}

void sl_notice_expire(struct sl_notice_ctx *c, double now)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nb; i++) {
        struct entry **pp = &c->b[i];
        while (*pp) {
            struct entry *e = *pp;
            if (e->until <= now) {
                *pp = e->next;
                free(e);
                c->n--;
                c->ctr.expired++;
            } else {
                pp = &e->next;
            }
        }
    }
}

int sl_notice_suppress(struct sl_notice_ctx *c, const char *note, const char *identifier, double ts,
                       double suppress_for)
{
    if (!c || !note || !identifier)
        return -EINVAL;
    uint64_t h = fnv(note, identifier);
    if (find(c, note, identifier, h, ts))
        return 0;
    if (c->n >= c->cfg.max_entries) {
        sl_notice_expire(c, ts);
        if (c->n >= c->cfg.max_entries) {
            c->ctr.table_full++;
            return -ENOSPC;
        }
    }
    size_t ln = strlen(note), li = strlen(identifier);
    struct entry *e = malloc(sizeof(*e) + ln + li + 2);
    if (!e)
        return -ENOMEM;
    e->hash = h;
    e->until = ts + suppress_for;
    e->note_len = ln;
    memcpy(e->key, note, ln + 1);
    memcpy(e->key + ln + 1, identifier, li + 1);
    if (c->n + 1 > c->nb)
        grow(c);
    e->next = c->b[h & (c->nb - 1)];
    c->b[h & (c->nb - 1)] = e;
    c->n++;
    return 0;
}

static void fmt_addr(const uint8_t a[16], char *buf, size_t n)
{
    static const uint8_t v4[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, v4, 12) == 0)
        snprintf(buf, n, "%u.%u.%u.%u", a[12], a[13], a[14], a[15]);
    else if (!inet_ntop(AF_INET6, a, buf, (socklen_t)n))
        snprintf(buf, n, "::");
}

/* get_port_transport_proto() */
static const char *proto_name(uint8_t p)
{
    switch (p) {
    case 6:
        return "tcp";
    case 17:
        return "udp";
    case 1:
    case 58:
        return "icmp";
    default:
        return "unknown";
    }
}

static void emit(struct sl_notice_ctx *c, const struct sl_notice *n, double suppress_for)
{
    struct sl_log_val v[SL_NOTICE_N_FIELDS];
    char ts[32], oh[48], rh[48], op[8], rp[8], src[48], dst[48], p[8], cnt[24], sf[32];
    static const char *const actions[] = {"Notice::ACTION_LOG"};

    memset(v, 0, sizeof(v));
#define SET(f, str) (v[f].present = true, v[f].s = (str))
#define SETS(f, str)                                                                               \
    do {                                                                                           \
        if (str)                                                                                   \
            SET(f, str);                                                                           \
    } while (0)
    SET(SL_NOTICE_TS, sl_log_fmt_time(n->ts, ts, sizeof(ts)));
    SETS(SL_NOTICE_UID, n->uid);
    bool has_src = n->has_src, has_dst = n->has_dst, has_p = n->has_p;
    const uint8_t *s_a = n->src, *d_a = n->dst;
    uint16_t port = n->p;
    uint8_t pproto = n->p_proto;
    if (n->has_id) {
        fmt_addr(n->orig_h, oh, sizeof(oh));
        fmt_addr(n->resp_h, rh, sizeof(rh));
        snprintf(op, sizeof(op), "%u", n->orig_p);
        snprintf(rp, sizeof(rp), "%u", n->resp_p);
        SET(SL_NOTICE_ORIG_H, oh);
        SET(SL_NOTICE_ORIG_P, op);
        SET(SL_NOTICE_RESP_H, rh);
        SET(SL_NOTICE_RESP_P, rp);
        if (!has_src) {
            has_src = true;
            s_a = n->orig_h;
        }
        if (!has_dst) {
            has_dst = true;
            d_a = n->resp_h;
        }
        if (!has_p) {
            has_p = true;
            port = n->resp_p;
            pproto = n->id_proto;
        }
    }
    SETS(SL_NOTICE_FUID, n->fuid);
    SETS(SL_NOTICE_FILE_MIME_TYPE, n->file_mime_type);
    SETS(SL_NOTICE_FILE_DESC, n->file_desc);
    if (has_p)
        SET(SL_NOTICE_PROTO, proto_name(pproto));
    SET(SL_NOTICE_NOTE, n->note);
    SETS(SL_NOTICE_MSG, n->msg);
    SETS(SL_NOTICE_SUB, n->sub);
    if (has_src) {
        fmt_addr(s_a, src, sizeof(src));
        SET(SL_NOTICE_SRC, src);
    }
    if (has_dst) {
        fmt_addr(d_a, dst, sizeof(dst));
        SET(SL_NOTICE_DST, dst);
    }
    if (has_p) {
        snprintf(p, sizeof(p), "%u", port);
        SET(SL_NOTICE_P, p);
    }
    if (n->has_n) {
        snprintf(cnt, sizeof(cnt), "%llu", (unsigned long long)n->n);
        SET(SL_NOTICE_N, cnt);
    }
    SETS(SL_NOTICE_PEER_DESCR, n->peer_descr);
    v[SL_NOTICE_ACTIONS] = (struct sl_log_val){true, NULL, actions, 1};
    v[SL_NOTICE_EMAIL_DEST] = (struct sl_log_val){true, NULL, NULL, 0};
    SET(SL_NOTICE_SUPPRESS_FOR, sl_log_fmt_time(suppress_for, sf, sizeof(sf)));
#undef SETS
#undef SET
    c->ctr.logged++;
    if (c->cfg.record)
        c->cfg.record(c->cfg.ctx, v);
}

int sl_notice_raise(struct sl_notice_ctx *c, const struct sl_notice *n, bool *logged)
{
    if (logged)
        *logged = false;
    if (!c || !n || !n->note)
        return -EINVAL;
    c->ctr.raised++;
    if (n->identifier && sl_notice_is_suppressed(c, n->note, n->identifier, n->ts)) {
        c->ctr.suppressed++;
        return 0;
    }
    /* apply_policy: the notice's own interval, then the policy hook's
     * per-type table, then the default */
    double sf = n->has_suppress_for ? n->suppress_for : c->cfg.default_suppression_interval;
    for (size_t i = 0; i < c->n_tiv; i++)
        if (strcmp(c->tiv[i].note, n->note) == 0)
            sf = c->tiv[i].interval;
    emit(c, n, sf);
    if (logged)
        *logged = true;
    if (n->identifier && sf != 0)
        (void)sl_notice_suppress(c, n->note, n->identifier, n->ts, sf);
    return 0;
}

size_t sl_notice_active(const struct sl_notice_ctx *c)
{
    return c ? c->n : 0;
}

const struct sl_notice_counters *sl_notice_counters(const struct sl_notice_ctx *c)
{
    return &c->ctr;
}
