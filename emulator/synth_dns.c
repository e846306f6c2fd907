#include "synth_dns.h"

#include <stdio.h>
#include <string.h>

#include "synth_rng.h"

static const char *const words[] = {
    "acme",     "globex",  "initech", "umbrella", "hooli",  "stark", "wayne",    "wonka",
    "tyrell",   "soylent", "oscorp",  "vandelay", "pied",   "piper", "nakatomi", "cyberdyne",
    "aperture", "blue",    "north",   "river",    "cloud",  "pixel", "orbit",    "nimbus",
    "zenith",   "quartz",  "maple",   "harbor",   "summit", "lumen", "vector",   "delta",
};
static const char *const tlds[] = {"com", "net", "org", "io", "de", "co.uk", "fr", "info"};
static const char *const subs[] = {"www",   "api",    "cdn", "static", "img",    "mail",
                                   "login", "assets", "m",   "video",  "update", "telemetry"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void domain(uint64_t h, char *buf, size_t cap)
{
    const char *w1 = words[h % N(words)], *w2 = words[(h >> 8) % N(words)];
    const char *tld = tlds[(h >> 16) % N(tlds)];
    if ((h >> 24) & 1)
        snprintf(buf, cap, "%s.%s", w1, tld);
    else
        snprintf(buf, cap, "%s%s.%s", w1, w2, tld);
}

void sl_syn_dns_hostname(uint64_t h, char *buf, size_t cap)
{
    char d[64];
    domain(h, d, sizeof(d));
    snprintf(buf, cap, "%s.%s", subs[(h >> 32) % N(subs)], d);
}

void sl_syn_dns_pick(struct sl_syn_dns_q *q, uint64_t seed, int many)
{
    struct sl_syn_rng r;
    static const unsigned type_w[6] = {50, 22, 8, 6, 6, 8}; /* A AAAA PTR MX TXT NX */
    static const uint16_t types[6] = {1, 28, 12, 15, 16, 1};

    sl_syn_rng_seed(&r, seed);
    memset(q, 0, sizeof(*q));
    q->seed = sl_syn_rng_next(&r);
    q->id = (uint16_t)sl_syn_rng_next(&r);
    unsigned k = sl_syn_rng_pick(&r, type_w, 6);
    q->qtype = types[k];
    q->edns = sl_syn_rng_chance(&r, 600);
    uint64_t h = sl_syn_rng_next(&r);
    if (k == 5) { /* a name that does not exist */
        char d[64];
        domain(h, d, sizeof(d));
        q->rcode = 3;
        snprintf(q->qname, sizeof(q->qname), "%s%u.%s", subs[(h >> 40) % N(subs)],
                 (unsigned)(h >> 48) % 100, d);
        return;
    }
    switch (q->qtype) {
    case 12: /* reverse lookup of an address */
        snprintf(q->qname, sizeof(q->qname), "%u.%u.%u.%u.in-addr.arpa", (unsigned)(h & 0xff),
                 (unsigned)((h >> 8) & 0xff), (unsigned)(18 + ((h >> 16) & 1)), 198u);
        q->n_ans = 1;
        break;
    case 15:
    case 16:
        domain(h, q->qname, sizeof(q->qname));
        break;
    default:
        sl_syn_dns_hostname(h, q->qname, sizeof(q->qname));
        q->cname = sl_syn_rng_chance(&r, 350);
        break;
    }
    if (!q->n_ans)
        q->n_ans = (uint8_t)(many ? sl_syn_rng_range(&r, 20, 60) : sl_syn_rng_range(&r, 1, 4));
    if (many && q->qtype == 12)
        q->qtype = 16; /* a long answer: TXT records */
}

/* A message writer with RFC 1035 name compression. */
struct w {
    uint8_t *buf;
    size_t cap, len;
    int err;
    unsigned n;
    struct {
        char name[128];
        uint16_t off;
    } seen[48];
};

static void bytes(struct w *w, const void *p, size_t n)
{
    if (w->err || w->len + n > w->cap) {
        w->err = 1;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void u16(struct w *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    bytes(w, b, 2);
}

static void u32(struct w *w, uint32_t v)
{
    u16(w, (uint16_t)(v >> 16));
    u16(w, (uint16_t)v);
}

/* Writes a dotted name: each suffix already written becomes a pointer to
 * it; each new suffix is remembered for later names. */
static void name(struct w *w, const char *s)
{
    while (*s) {
        for (unsigned i = 0; i < w->n; i++) {
            if (!strcmp(w->seen[i].name, s)) {
                u16(w, (uint16_t)(0xc000 | w->seen[i].off));
                return;
            }
        }
        if (w->n < N(w->seen) && w->len < 0x3fff) {
            snprintf(w->seen[w->n].name, sizeof(w->seen[0].name), "%s", s);
            w->seen[w->n++].off = (uint16_t)w->len;
        }
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        if (l > 63)
            l = 63;
        uint8_t lb = (uint8_t)l;
        bytes(w, &lb, 1);
        bytes(w, s, l);
        s = dot ? dot + 1 : s + strlen(s);
    }
    uint8_t z = 0;
    bytes(w, &z, 1);
}

/* Starts a resource record; returns where RDLENGTH goes. */
static size_t rr(struct w *w, const char *owner, uint16_t type, uint32_t ttl)
{
    name(w, owner);
    u16(w, type);
    u16(w, 1); /* IN */
    u32(w, ttl);
    size_t at = w->len;
    u16(w, 0);
    return at;
}

static void rr_end(struct w *w, size_t at)
{
    if (w->err)
        return;
    size_t n = w->len - at - 2;
    w->buf[at] = (uint8_t)(n >> 8);
    w->buf[at + 1] = (uint8_t)n;
}

static void header(struct w *w, const struct sl_syn_dns_q *q, int resp, uint16_t an, uint16_t ns)
{
    u16(w, q->id);
    u16(w, resp ? (uint16_t)(0x8180 | q->rcode) : 0x0100); /* RD (+ QR RA) */
    u16(w, 1);
    u16(w, an);
    u16(w, ns);
    u16(w, q->edns);
    name(w, q->qname);
    u16(w, q->qtype);
    u16(w, 1);
}

static void opt(struct w *w, const struct sl_syn_dns_q *q)
{
    if (!q->edns)
        return;
    uint8_t root = 0;
    bytes(w, &root, 1);
    u16(w, 41);
    u16(w, 1232); /* UDP payload size: the DNS flag day 2020 value */
    u32(w, 0);
    u16(w, 0);
}

size_t sl_syn_dns_query(const struct sl_syn_dns_q *q, uint8_t *buf, size_t cap)
{
    struct w w = {.buf = buf, .cap = cap};
    header(&w, q, 0, 0, 0);
    opt(&w, q);
    return w.err ? 0 : w.len;
}

/* The zone a name belongs to: its last two labels (three under co.uk). */
static const char *zone_of(const char *n)
{
    const char *p = n + strlen(n);
    int dots = strstr(n, ".co.uk") ? 3 : 2;
    while (p > n) {
        p--;
        if (*p == '.' && --dots == 0)
            return p + 1;
    }
    return n;
}

static void answer_records(struct w *w, const struct sl_syn_dns_q *q, struct sl_syn_rng *r)
{
    const char *owner = q->qname;
    char target[128], tmp[160];
    uint32_t ttl = (uint32_t)sl_syn_rng_logu(r, 30, 86400);

    if (q->cname) {
        char d[64];
        domain(sl_syn_rng_next(r), d, sizeof(d));
        snprintf(target, sizeof(target), "%s.edge.%s", zone_of(q->qname), d);
        size_t at = rr(w, owner, 5, ttl);
        name(w, target);
        rr_end(w, at);
        owner = target;
    }
    for (unsigned i = 0; i < q->n_ans; i++) {
        uint64_t h = sl_syn_rng_next(r);
        size_t at = rr(w, owner, q->qtype, ttl);
        switch (q->qtype) {
        case 1: {
            uint8_t a[4] = {198, (uint8_t)(18 + (h & 1)), (uint8_t)(h >> 8),
                            (uint8_t)(1 + (h >> 16) % 254)};
            bytes(w, a, 4);
            break;
        }
        case 28: {
            uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0xf0, 0x00};
            uint64_t h2 = sl_syn_mix64(h);
            for (int k = 6; k < 16; k++)
                a[k] = (uint8_t)(k < 14 ? h >> (8 * (k - 6)) : h2 >> (8 * (k - 14)));
            bytes(w, a, 16);
            break;
        }
        case 12:
            snprintf(tmp, sizeof(tmp), "host-%u-%u.%s", (unsigned)(h & 0xff),
                     (unsigned)((h >> 8) & 0xff), "dyn.example.net");
            name(w, tmp);
            break;
        case 15:
            u16(w, (uint16_t)(10 * (i + 1)));
            snprintf(tmp, sizeof(tmp), "mx%u.%s", i + 1, q->qname);
            name(w, tmp);
            break;
        default: { /* TXT: one character-string per record */
            static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            char s[80];
            int n = i == 0 ? snprintf(s, sizeof(s), "v=spf1 include:_spf.%s ~all", q->qname)
                           : snprintf(s, sizeof(s), "site-verification=");
            for (uint64_t v = h; n < 62; v = sl_syn_mix64(v))
                s[n++] = b64[v & 63];
            uint8_t l = (uint8_t)n;
            bytes(w, &l, 1);
            bytes(w, s, (size_t)n);
            break;
        }
        }
        rr_end(w, at);
    }
}

size_t sl_syn_dns_response(const struct sl_syn_dns_q *q, uint8_t *buf, size_t cap)
{
    struct w w = {.buf = buf, .cap = cap};
    struct sl_syn_rng r;
    sl_syn_rng_seed(&r, q->seed);

    if (q->rcode == 3) {
        const char *zone = zone_of(q->qname);
        char mname[140], rname[140];
        snprintf(mname, sizeof(mname), "ns1.%s", zone);
        snprintf(rname, sizeof(rname), "hostmaster.%s", zone);
        header(&w, q, 1, 0, 1);
        size_t at = rr(&w, zone, 6, 900);
        name(&w, mname);
        name(&w, rname);
        u32(&w, 2023110100u + (uint32_t)(q->seed % 99));
        u32(&w, 7200);
        u32(&w, 3600);
        u32(&w, 1209600);
        u32(&w, 300);
        rr_end(&w, at);
    } else {
        header(&w, q, 1, (uint16_t)(q->n_ans + (q->cname ? 1 : 0)), 0);
        answer_records(&w, q, &r);
    }
    opt(&w, q);
    return w.err ? 0 : w.len;
}
