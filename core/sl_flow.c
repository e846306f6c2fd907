/* Flow keys, symmetric balancing hashes, Toeplitz, community ID. */
#include "sl_flow.h"

#include <errno.h>
#include <string.h>

#include "sl_sha1.h"

#define IPPROTO_ICMP_  1
#define IPPROTO_ICMP6_ 58

/* Odd 64-bit constants (digits of pi / e); any fixed random values do. */
#define K0 SL_HASH_K0
#define K1 SL_HASH_K1
#define K2 0xa4093822299f31d1ULL
#define K3 0x082efa98ec4e6c89ULL
#define K4 SL_HASH_K4
#define K5 SL_HASH_K5
#define K6 0xc0ac29b7c97c50ddULL
#define K7 0x3f84d5b5b5470917ULL

const uint8_t sl_hash_rss_sym_key[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

static const char *const mode_names[SL_HASH_MAX] = {
    [SL_HASH_SYM5] = "sym5",
    [SL_HASH_SYM3] = "sym3",
    [SL_HASH_SYM2] = "sym2",
    [SL_HASH_INNER_SYM5] = "inner-sym5",
    [SL_HASH_INNER_SYM3] = "inner-sym3",
    [SL_HASH_INNER_SYM2] = "inner-sym2",
    [SL_HASH_TOEPLITZ] = "toeplitz",
};

int sl_hash_mode_parse(const char *s, enum sl_hash_mode *out)
{
    for (int m = 0; m < SL_HASH_MAX; m++) {
        if (s && strcmp(s, mode_names[m]) == 0) {
            *out = (enum sl_hash_mode)m;
            return 0;
        }
    }
    return -EINVAL;
}

const char *sl_hash_mode_name(enum sl_hash_mode m)
{
    return (unsigned)m < SL_HASH_MAX ? mode_names[m] : "unknown";
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* The core symmetric hash: endpoints (addr, port) are put in a fixed order
 * without branches (random flows would mispredict half the time), then the
 * five words go through three multiply-folds. */
static inline uint64_t hash_tuple(const uint8_t *src, const uint8_t *dst, uint32_t sp, uint32_t dp,
                                  uint32_t proto)
{
    uint64_t s0 = load64(src), s1 = load64(src + 8);
    uint64_t d0 = load64(dst), d1 = load64(dst + 8);
    uint64_t gt = (uint64_t)((s1 > d1) | ((s1 == d1) & ((s0 > d0) | ((s0 == d0) & (sp > dp)))));
    uint64_t m = 0 - gt, t;
    t = (s0 ^ d0) & m;
    s0 ^= t;
    d0 ^= t;
    t = (s1 ^ d1) & m;
    s1 ^= t;
    d1 ^= t;
    uint32_t tp = (sp ^ dp) & (uint32_t)m;
    sp ^= tp;
    dp ^= tp;
    uint64_t a = sl_hash_mum(s0 ^ K0, d0 ^ K1);
    uint64_t b = sl_hash_mum(s1 ^ K2, d1 ^ K3);
    uint64_t c = (uint64_t)sp << 24 | (uint64_t)dp << 8 | proto;
    return sl_hash_mum(a ^ c ^ K4, b ^ K5);
}

/* IPv4 needs only the last 4 bytes of each mapped address. Reading just
 * those also matters for speed: the decoder writes the mapped prefix and the
 * address as separate stores, and an 8-byte load spanning both cannot be
 * forwarded from the store buffer (a stall of ~10 ns right after decoding). */
static inline uint64_t hash_tuple4(const uint8_t *src, const uint8_t *dst, uint32_t sp, uint32_t dp,
                                   uint32_t proto)
{
    uint32_t s, d;
    memcpy(&s, src + 12, 4);
    memcpy(&d, dst + 12, 4);
    return sl_hash_v4(s, d, sp, dp, proto);
}

/* Always inlined into its three callers: once per frame on the balancer's
 * path, where the call and its spills showed in profiles. */
static inline __attribute__((always_inline)) uint64_t
hash_fields(const uint8_t *src, const uint8_t *dst, uint16_t sp, uint16_t dp, uint8_t proto,
            uint8_t version, enum sl_hash_mode m)
{
    sl_hash_mode_fields(m, &sp, &dp, &proto);
    if (version == 4)
        return hash_tuple4(src, dst, sp, dp, proto);
    return hash_tuple(src, dst, sp, dp, proto);
}

/* --- Toeplitz ------------------------------------------------------------ */

uint32_t sl_hash_toeplitz(const uint8_t *tuple, size_t len, const uint8_t *key)
{
    uint32_t ret = 0;
    for (size_t b = 0; b < len; b++) {
        if (!tuple[b])
            continue;
        /* The 32-bit key windows for the 8 bits of byte b start at key bit
         * 8b..8b+7, so key bytes b..b+4 cover them all. */
        uint64_t kw = (uint64_t)key[b] << 32 | (uint64_t)key[b + 1] << 24 |
                      (uint64_t)key[b + 2] << 16 | (uint64_t)key[b + 3] << 8 | key[b + 4];
        for (int j = 0; j < 8; j++)
            if (tuple[b] & (0x80 >> j))
                ret ^= (uint32_t)(kw >> (8 - j));
    }
    return ret;
}

/* With the 16-bit periodic 0x6d5a key, the key window of a tuple bit depends
 * only on the bit's position modulo 16, so Toeplitz over a 16-bit aligned
 * tuple equals Toeplitz of the XOR of all its 16-bit words. That is why it is
 * symmetric (swapping src/dst and sport/dport keeps the XOR) and why this is
 * a cheap exact shortcut. The test checks it against rte_softrss(). */
static inline uint32_t toeplitz_sym16(uint32_t w)
{
    const uint64_t k = 0x6d5a6d5a6d5a6d5aULL;
    uint32_t ret = 0;
    for (int i = 0; i < 16; i++)
        ret ^= (uint32_t)(k >> (32 - i)) & (0u - ((w >> (15 - i)) & 1));
    return ret;
}

static inline uint32_t fold16_be(const uint8_t *p, size_t n8)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n8; i++)
        x ^= load64(p + 8 * i);
    x ^= x >> 32;
    x ^= x >> 16;
    /* Little-endian lanes hold wire words byte-swapped. */
    uint32_t v = (uint32_t)x & 0xffff;
    return ((v & 0xff) << 8) | (v >> 8);
}

static inline uint32_t toeplitz_sym(const uint8_t *src, const uint8_t *dst, uint16_t sp,
                                    uint16_t dp, uint8_t proto, uint8_t version)
{
    uint32_t w;
    if (!sl_hash_proto_has_ports(proto))
        sp = dp = 0; /* L3-only tuple, as a NIC hashes non-TCP/UDP/SCTP */
    if (version == 4) {
        uint32_t s, d;
        memcpy(&s, src + 12, 4);
        memcpy(&d, dst + 12, 4);
        uint32_t x = s ^ d;
        x ^= x >> 16;
        w = ((x & 0xff) << 8) | ((x >> 8) & 0xff);
    } else {
        w = fold16_be(src, 2) ^ fold16_be(dst, 2);
    }
    return toeplitz_sym16(w ^ sp ^ dp);
}

/* --- keys and packet hashes ------------------------------------------- */

void sl_flow_key_from_ip(struct sl_flow_key *k, const struct sl_pkt_ip *ip)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->src, ip->src, 16);
    memcpy(k->dst, ip->dst, 16);
    k->proto = ip->proto;
    k->version = ip->version;
    if (ip->flags & (SL_IPF_L4 | SL_IPF_PORTS)) {
        k->sport = ip->sport;
        k->dport = ip->dport;
    }
}

void sl_flow_key_canon(struct sl_flow_key *k)
{
    int c = memcmp(k->src, k->dst, 16);
    if (c > 0 || (c == 0 && k->sport > k->dport)) {
        uint8_t t[16];
        memcpy(t, k->src, 16);
        memcpy(k->src, k->dst, 16);
        memcpy(k->dst, t, 16);
        uint16_t tp = k->sport;
        k->sport = k->dport;
        k->dport = tp;
    }
}

uint64_t sl_hash_key(const struct sl_flow_key *k, enum sl_hash_mode m)
{
    if (m == SL_HASH_TOEPLITZ)
        return toeplitz_sym(k->src, k->dst, k->sport, k->dport, k->proto, k->version);
    return hash_fields(k->src, k->dst, k->sport, k->dport, k->proto, k->version, m);
}

uint64_t sl_hash_mac_pair(const uint8_t *frame, size_t len)
{
    uint8_t mac[12] = {0};
    memcpy(mac, frame, len < 12 ? len : 12);
    uint64_t a = 0, b = 0;
    memcpy(&a, mac, 6);
    memcpy(&b, mac + 6, 6);
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    return sl_hash_mum(lo ^ K6, hi ^ K7);
}

uint64_t sl_hash_layer(const struct sl_pkt_ip *ip, enum sl_hash_mode m)
{
    uint16_t sp = 0, dp = 0;
    if (ip->flags & (SL_IPF_L4 | SL_IPF_PORTS)) {
        sp = ip->sport;
        dp = ip->dport;
    }
    if (m == SL_HASH_TOEPLITZ)
        return toeplitz_sym(ip->src, ip->dst, sp, dp, ip->proto, ip->version);
    return hash_fields(ip->src, ip->dst, sp, dp, ip->proto, ip->version, m);
}

uint64_t sl_hash_tuple_any(const struct sl_pkt_tuple *t, enum sl_hash_mode m)
{
    uint8_t src4[16], dst4[16];
    const uint8_t *src = t->src, *dst = t->dst;
    if (t->version == 4) {
        /* hash_fields and toeplitz_sym read a v4 address from bytes 12..15
         * of its mapped form; the rest is never read. */
        memcpy(src4 + 12, t->src, 4);
        memcpy(dst4 + 12, t->dst, 4);
        src = src4;
        dst = dst4;
    }
    if (m == SL_HASH_TOEPLITZ)
        return toeplitz_sym(src, dst, t->sport, t->dport, t->proto, t->version);
    return hash_fields(src, dst, t->sport, t->dport, t->proto, t->version, m);
}

uint64_t sl_hash_quoted(const struct sl_pkt_quoted *q, enum sl_hash_mode m)
{
    if (m == SL_HASH_TOEPLITZ)
        return toeplitz_sym(q->src, q->dst, q->sport, q->dport, q->proto, q->version);
    return hash_fields(q->src, q->dst, q->sport, q->dport, q->proto, q->version, m);
}

uint64_t sl_hash_pkt_l2(const struct sl_pkt *p)
{
    /* Without an Ethernet header (raw IP link types carrying junk) the
     * first bytes stand in: deterministic, if not symmetric. */
    size_t off = p->has_mac ? p->eth_off : 0;
    return sl_hash_mac_pair(p->data + off, p->len > off ? p->len - off : 0);
}

const struct sl_pkt_ip *sl_hash_pick_layer(const struct sl_pkt *p, enum sl_hash_mode m)
{
    if (!p->n_ip)
        return NULL;
    if (sl_hash_mode_inner(m))
        return &p->ip[p->n_ip - 1];
    return &p->ip[0];
}

uint64_t sl_hash_pkt(const struct sl_pkt *p, enum sl_hash_mode m)
{
    const struct sl_pkt_ip *ip = sl_hash_pick_layer(p, m);
    if (!ip)
        return sl_hash_pkt_l2(p);
    return sl_hash_layer(ip, m);
}

/* --- community ID ------------------------------------------------------ */

/* Zeek's ICMP4_counterpart / ICMP6_counterpart (analyzer/protocol/icmp):
 * the "port" a reply uses, so request and reply form one flow. Types with
 * no counterpart are one-way and keep their code as the second port. */
static int icmp4_counterpart(int type, int code, bool *one_way)
{
    *one_way = false;
    switch (type) {
    case 8: /* echo */
        return 0;
    case 0:
        return 8;
    case 13: /* timestamp */
        return 14;
    case 14:
        return 13;
    case 15: /* information */
        return 16;
    case 16:
        return 15;
    case 10: /* router solicitation */
        return 9;
    case 9:
        return 10;
    case 17: /* address mask */
        return 18;
    case 18:
        return 17;
    default:
        *one_way = true;
        return code;
    }
}

static int icmp6_counterpart(int type, int code, bool *one_way)
{
    *one_way = false;
    switch (type) {
    case 128: /* echo */
        return 129;
    case 129:
        return 128;
    case 133: /* router solicitation / advertisement */
        return 134;
    case 134:
        return 133;
    case 135: /* neighbor solicitation / advertisement */
        return 136;
    case 136:
        return 135;
    case 130: /* MLD query / report */
        return 131;
    case 131:
        return 130;
    case 139: /* node information query / response */
        return 140;
    case 140:
        return 139;
    case 144: /* home agent address discovery */
        return 145;
    case 145:
        return 144;
    default:
        *one_way = true;
        return code;
    }
}

static void base64_encode(const uint8_t *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        *out++ = tbl[v >> 18];
        *out++ = tbl[(v >> 12) & 63];
        *out++ = tbl[(v >> 6) & 63];
        *out++ = tbl[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        *out++ = tbl[v >> 18];
        *out++ = tbl[(v >> 12) & 63];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        *out++ = tbl[v >> 18];
        *out++ = tbl[(v >> 12) & 63];
        *out++ = tbl[(v >> 6) & 63];
        *out++ = '=';
    }
    *out = '\0';
}

int sl_flow_community_id(const struct sl_pkt_ip *ip, uint16_t seed, char *buf, size_t buflen)
{
    if (buflen < SL_FLOW_CID_LEN)
        return -ENOSPC;

    const int alen = ip->version == 4 ? 4 : 16;
    const uint8_t *sa = ip->version == 4 ? ip->src + 12 : ip->src;
    const uint8_t *da = ip->version == 4 ? ip->dst + 12 : ip->dst;
    const uint8_t proto = ip->proto;
    bool ports = (ip->flags & SL_IPF_L4) && (sl_hash_proto_has_ports(proto) ||
                                             proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMP6_);
    int sp = ports ? ip->sport : 0, dp = ports ? ip->dport : 0;
    bool one_way = false;
    if (ports && proto == IPPROTO_ICMP_)
        dp = icmp4_counterpart(ip->icmp_type, ip->icmp_code, &one_way), sp = ip->icmp_type;
    else if (ports && proto == IPPROTO_ICMP6_)
        dp = icmp6_counterpart(ip->icmp_type, ip->icmp_code, &one_way), sp = ip->icmp_type;

    /* The spec's ordering: smaller (address, port) endpoint first, except
     * that one-way ICMP keeps the packet's own direction. */
    int c = memcmp(sa, da, (size_t)alen);
    bool keep = one_way || c < 0 || (c == 0 && sp < dp);
    if (!keep) {
        const uint8_t *t = sa;
        sa = da;
        da = t;
        int tp = sp;
        sp = dp;
        dp = tp;
    }

    uint8_t in[2 + 16 + 16 + 2 + 4];
    size_t n = 0;
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, sa, (size_t)alen);
    n += (size_t)alen;
    memcpy(in + n, da, (size_t)alen);
    n += (size_t)alen;
    in[n++] = proto;
    in[n++] = 0;
    if (ports) {
        in[n++] = (uint8_t)(sp >> 8);
        in[n++] = (uint8_t)sp;
        in[n++] = (uint8_t)(dp >> 8);
        in[n++] = (uint8_t)dp;
    }
    uint8_t dig[SL_SHA1_LEN];
    sl_sha1(in, n, dig);
    buf[0] = '1';
    buf[1] = ':';
    base64_encode(dig, sizeof(dig), buf + 2);
    return 0;
}
