#include "synth_build.h"

#include <errno.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void sl_sb_reset(struct sl_sb *b)
{
    b->len = 0;
    b->err = 0;
    b->n_layers = 0;
}

/* Reserves a header of n zeroed bytes as a new layer; returns its index. */
static int push(struct sl_sb *b, enum sl_sb_kind kind, size_t n, uint16_t next)
{
    if (b->err)
        return b->err;
    if (b->n_layers >= SL_SB_MAX_LAYERS || b->len + n > SL_SB_MAX) {
        b->err = -ENOSPC;
        return b->err;
    }
    struct sl_sb_layer *l = &b->layer[b->n_layers];
    l->kind = (uint8_t)kind;
    l->flags = 0;
    l->off = (uint16_t)b->len;
    l->hlen = (uint16_t)n;
    l->next = next;
    l->aux = 0;
    memset(b->buf + b->len, 0, n);
    b->len += n;
    return (int)b->n_layers++;
}

static inline uint8_t *hdr(struct sl_sb *b, int i)
{
    return b->buf + b->layer[i].off;
}

int sl_sb_eth(struct sl_sb *b, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    int i = push(b, SL_SB_ETH, 14, type);
    if (i < 0)
        return i;
    memcpy(hdr(b, i), dst, 6);
    memcpy(hdr(b, i) + 6, src, 6);
    return i;
}

int sl_sb_vlan(struct sl_sb *b, uint16_t tpid, uint16_t vid, uint8_t pcp, uint16_t type)
{
    int i = push(b, SL_SB_VLAN, 4, type);
    if (i < 0)
        return i;
    b->layer[i].aux = tpid;
    put16(hdr(b, i), (uint16_t)((pcp & 7) << 13 | (vid & 0xfff)));
    return i;
}

int sl_sb_mpls(struct sl_sb *b, uint32_t label, uint8_t tc, uint8_t ttl)
{
    int i = push(b, SL_SB_MPLS, 4, 0);
    if (i < 0)
        return i;
    put32(hdr(b, i), (label & 0xfffff) << 12 | (uint32_t)(tc & 7) << 9 | ttl);
    return i;
}

int sl_sb_pppoe(struct sl_sb *b, uint16_t session, uint16_t ppp_proto)
{
    int i = push(b, SL_SB_PPPOE, 8, ppp_proto);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    h[0] = 0x11; /* version 1, type 1; code 0 = session data */
    put16(h + 2, session);
    return i;
}

int sl_sb_ipv4(struct sl_sb *b, const struct sl_sb_ipv4 *ip)
{
    if (ip->opt_len > 40 || ip->opt_len % 4) {
        if (!b->err)
            b->err = -EINVAL;
        return -EINVAL;
    }
    int i = push(b, SL_SB_IPV4, 20u + ip->opt_len, ip->proto);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    h[0] = (uint8_t)(0x40 | (5 + ip->opt_len / 4));
    h[1] = ip->tos;
    put16(h + 4, ip->id);
    put16(h + 6, (uint16_t)((ip->df ? 0x4000 : 0) | (ip->mf ? 0x2000 : 0) |
                            ((ip->frag_off / 8) & 0x1fff)));
    h[8] = ip->ttl;
    memcpy(h + 12, ip->src, 4);
    memcpy(h + 16, ip->dst, 4);
    if (ip->opt_len) {
        if (ip->opt)
            memcpy(h + 20, ip->opt, ip->opt_len);
        else
            memset(h + 20, 1, ip->opt_len - 1u); /* NOPs, then EOL (0) */
    }
    return i;
}

int sl_sb_ipv6(struct sl_sb *b, const struct sl_sb_ipv6 *ip)
{
    int i = push(b, SL_SB_IPV6, 40, ip->next);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    put32(h, 6u << 28 | (uint32_t)ip->tclass << 20 | (ip->flow_label & 0xfffff));
    h[7] = ip->hlim;
    memcpy(h + 8, ip->src, 16);
    memcpy(h + 24, ip->dst, 16);
    return i;
}

int sl_sb_ip6_ext(struct sl_sb *b, uint8_t type, uint8_t len8)
{
    size_t n = 8u * (1u + len8);
    int i = push(b, SL_SB_IP6_EXT, n, 0);
    if (i < 0)
        return i;
    b->layer[i].aux = type;
    uint8_t *h = hdr(b, i);
    h[1] = len8;
    /* One PadN option covering the 6 + 8 * len8 option bytes. */
    h[2] = 1;
    h[3] = (uint8_t)(n - 4);
    return i;
}

int sl_sb_ip6_frag(struct sl_sb *b, uint16_t offset, int more, uint32_t ident)
{
    int i = push(b, SL_SB_IP6_FRAG, 8, 0);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    put16(h + 2, (uint16_t)((offset & 0xfff8) | (more ? 1 : 0)));
    put32(h + 4, ident);
    return i;
}

int sl_sb_tcp(struct sl_sb *b, const struct sl_sb_tcp *t)
{
    size_t opt =
        (t->mss ? 4 : 0) + (t->ws_opt ? 4 : 0) + (t->sack_ok ? 4 : 0) + (t->ts_val ? 12 : 0);
    int i = push(b, SL_SB_TCP, 20 + opt, 0);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    put16(h, t->sport);
    put16(h + 2, t->dport);
    put32(h + 4, t->seq);
    put32(h + 8, t->ack);
    h[12] = (uint8_t)(((20 + opt) / 4) << 4);
    h[13] = t->flags;
    put16(h + 14, t->win);
    put16(h + 18, t->urg);
    uint8_t *o = h + 20;
    /* The order Linux uses on a SYN: MSS, SACK-permitted, timestamps, WS;
     * NOPs keep every option 4-byte aligned. */
    if (t->mss) {
        o[0] = 2, o[1] = 4;
        put16(o + 2, t->mss);
        o += 4;
    }
    if (t->sack_ok) {
        o[0] = 1, o[1] = 1, o[2] = 4, o[3] = 2;
        o += 4;
    }
    if (t->ts_val) {
        o[0] = 1, o[1] = 1, o[2] = 8, o[3] = 10;
        put32(o + 4, t->ts_val);
        put32(o + 8, t->ts_ecr);
        o += 12;
    }
    if (t->ws_opt) {
        o[0] = 1, o[1] = 3, o[2] = 3, o[3] = (uint8_t)(t->ws_opt - 1);
    }
    return i;
}

int sl_sb_udp(struct sl_sb *b, uint16_t sport, uint16_t dport)
{
    int i = push(b, SL_SB_UDP, 8, 0);
    if (i < 0)
        return i;
    put16(hdr(b, i), sport);
    put16(hdr(b, i) + 2, dport);
    return i;
}

static int icmp_any(struct sl_sb *b, enum sl_sb_kind kind, uint8_t type, uint8_t code,
                    uint32_t rest)
{
    int i = push(b, kind, 8, 0);
    if (i < 0)
        return i;
    hdr(b, i)[0] = type;
    hdr(b, i)[1] = code;
    put32(hdr(b, i) + 4, rest);
    return i;
}

int sl_sb_icmp(struct sl_sb *b, uint8_t type, uint8_t code, uint32_t rest)
{
    return icmp_any(b, SL_SB_ICMP, type, code, rest);
}

int sl_sb_icmp6(struct sl_sb *b, uint8_t type, uint8_t code, uint32_t rest)
{
    return icmp_any(b, SL_SB_ICMP6, type, code, rest);
}

int sl_sb_gre(struct sl_sb *b, uint16_t proto, int has_key, uint32_t key)
{
    int i = push(b, SL_SB_GRE, has_key ? 8 : 4, proto);
    if (i < 0)
        return i;
    if (has_key) {
        hdr(b, i)[0] = 0x20; /* K bit */
        put32(hdr(b, i) + 4, key);
    }
    return i;
}

int sl_sb_vxlan(struct sl_sb *b, uint32_t vni)
{
    int i = push(b, SL_SB_VXLAN, 8, 0);
    if (i < 0)
        return i;
    hdr(b, i)[0] = 0x08; /* I: the VNI is valid */
    put32(hdr(b, i) + 4, vni << 8);
    return i;
}

int sl_sb_geneve(struct sl_sb *b, uint32_t vni, uint16_t proto, uint8_t opt_len)
{
    if (opt_len % 4 || opt_len > 124 || (opt_len && opt_len < 4)) {
        if (!b->err)
            b->err = -EINVAL;
        return -EINVAL;
    }
    int i = push(b, SL_SB_GENEVE, 8u + opt_len, proto);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    h[0] = (uint8_t)(opt_len / 4); /* version 0 */
    put32(h + 4, vni << 8);
    if (opt_len) {
        /* One option of an experimental class (0xffff), type 0x01, filling
         * the option space: header 4 bytes + (opt_len - 4) bytes of data. */
        put16(h + 8, 0xffff);
        h[10] = 0x01;
        h[11] = (uint8_t)((opt_len - 4) / 4);
    }
    return i;
}

int sl_sb_gtpu(struct sl_sb *b, uint32_t teid)
{
    int i = push(b, SL_SB_GTPU, 8, 0);
    if (i < 0)
        return i;
    uint8_t *h = hdr(b, i);
    h[0] = 0x30; /* version 1, protocol type GTP, no optional fields */
    h[1] = 0xff; /* G-PDU */
    put32(h + 4, teid);
    return i;
}

uint8_t *sl_sb_put(struct sl_sb *b, size_t n)
{
    if (b->err)
        return NULL;
    if (b->len + n > SL_SB_MAX) {
        b->err = -ENOSPC;
        return NULL;
    }
    uint8_t *p = b->buf + b->len;
    memset(p, 0, n);
    b->len += n;
    return p;
}

int sl_sb_bytes(struct sl_sb *b, const void *p, size_t n)
{
    uint8_t *d = sl_sb_put(b, n);
    if (!d)
        return b->err;
    if (n)
        memcpy(d, p, n);
    return 0;
}

uint8_t *sl_sb_hdr(struct sl_sb *b, int i)
{
    if (i < 0 || (unsigned)i >= b->n_layers)
        return NULL;
    return hdr(b, i);
}

void sl_sb_set_flags(struct sl_sb *b, int i, uint8_t flags)
{
    if (i >= 0 && (unsigned)i < b->n_layers)
        b->layer[i].flags |= flags;
}

uint32_t sl_sb_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    uint64_t s = sum;
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < n)
        s += (uint32_t)p[i] << 8;
    while (s >> 32)
        s = (s & 0xffffffff) + (s >> 32);
    return (uint32_t)s;
}

uint16_t sl_sb_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* Next-protocol values a following layer implies in each kind of field. */
static uint16_t ethertype_of(const struct sl_sb_layer *n)
{
    switch (n->kind) {
    case SL_SB_VLAN:
        return n->aux;
    case SL_SB_MPLS:
        return 0x8847;
    case SL_SB_PPPOE:
        return 0x8864;
    case SL_SB_IPV4:
        return 0x0800;
    case SL_SB_IPV6:
        return 0x86dd;
    case SL_SB_ETH:
        return 0x6558;
    default:
        return 0;
    }
}

static uint16_t ipproto_of(const struct sl_sb_layer *n)
{
    switch (n->kind) {
    case SL_SB_IPV4:
        return 4;
    case SL_SB_IPV6:
        return 41;
    case SL_SB_IP6_EXT:
        return n->aux;
    case SL_SB_IP6_FRAG:
        return 44;
    case SL_SB_TCP:
        return 6;
    case SL_SB_UDP:
        return 17;
    case SL_SB_ICMP:
        return 1;
    case SL_SB_ICMP6:
        return 58;
    case SL_SB_GRE:
        return 47;
    default:
        return 0;
    }
}

static uint16_t ppp_of(const struct sl_sb_layer *n)
{
    return n->kind == SL_SB_IPV4 ? 0x0021 : n->kind == SL_SB_IPV6 ? 0x0057 : 0;
}

/* The value for layer i's next-protocol field: the caller's, else what the
 * following layer implies, else -1 (leave the bytes as they are). */
static int next_value(const struct sl_sb *b, unsigned i, uint16_t (*of)(const struct sl_sb_layer *))
{
    const struct sl_sb_layer *l = &b->layer[i];
    if (l->next)
        return l->next;
    if (i + 1 >= b->n_layers)
        return -1;
    uint16_t v = of(&b->layer[i + 1]);
    /* 0 is a real value only for an IPv6 hop-by-hop header. */
    if (!v && !(b->layer[i + 1].kind == SL_SB_IP6_EXT && of == ipproto_of))
        return -1;
    return v;
}

/* Pseudo-header sum for an upper-layer packet of `len` bytes at layer i. */
static int pseudo_sum(const struct sl_sb *b, unsigned i, uint8_t proto, size_t len, uint32_t *sum)
{
    for (unsigned j = i; j-- > 0;) {
        const struct sl_sb_layer *ip = &b->layer[j];
        const uint8_t *h = b->buf + ip->off;
        uint8_t tail[8] = {0};
        if (ip->kind == SL_SB_IPV4) {
            *sum = sl_sb_csum_add(0, h + 12, 8);
            tail[1] = proto;
            put16(tail + 2, (uint16_t)len);
            *sum = sl_sb_csum_add(*sum, tail, 4);
            return 0;
        }
        if (ip->kind == SL_SB_IPV6) {
            *sum = sl_sb_csum_add(0, h + 8, 32);
            put32(tail, (uint32_t)len);
            tail[7] = proto;
            *sum = sl_sb_csum_add(*sum, tail, 8);
            return 0;
        }
    }
    return -EINVAL;
}

static void write_sum(uint8_t *field, uint16_t sum, uint8_t flags, int udp)
{
    if (udp && sum == 0)
        sum = 0xffff; /* 0 means "no checksum" in UDP */
    if (flags & SL_SB_F_BADSUM) {
        uint16_t bad = sum ^ 0x1111;
        sum = bad ? bad : 0x2222;
    }
    put16(field, sum);
}

static int fix_l4(struct sl_sb *b, unsigned i, uint8_t proto, unsigned sum_at)
{
    struct sl_sb_layer *l = &b->layer[i];
    uint8_t *h = b->buf + l->off;
    size_t len = b->len - l->off;
    uint32_t sum = 0;

    if (l->flags & SL_SB_F_KEEPSUM)
        return 0;
    if (proto != 1 && pseudo_sum(b, i, proto, len, &sum) < 0)
        return -EINVAL;
    put16(h + sum_at, 0);
    sum = sl_sb_csum_add(sum, h, len);
    write_sum(h + sum_at, (uint16_t)~sl_sb_csum_fold(sum), l->flags, proto == 17);
    return 0;
}

static int fix_layer(struct sl_sb *b, unsigned i)
{
    struct sl_sb_layer *l = &b->layer[i];
    uint8_t *h = b->buf + l->off;
    size_t len = b->len - l->off;
    int keeplen = l->flags & SL_SB_F_KEEPLEN;
    int v;

    switch (l->kind) {
    case SL_SB_ETH:
        if ((v = next_value(b, i, ethertype_of)) >= 0)
            put16(h + 12, (uint16_t)v);
        return 0;
    case SL_SB_VLAN:
        if ((v = next_value(b, i, ethertype_of)) >= 0)
            put16(h + 2, (uint16_t)v);
        return 0;
    case SL_SB_MPLS:
        if (i + 1 < b->n_layers && b->layer[i + 1].kind == SL_SB_MPLS)
            h[2] &= (uint8_t)~1;
        else
            h[2] |= 1;
        return 0;
    case SL_SB_PPPOE:
        if (!keeplen)
            put16(h + 4, (uint16_t)(len - 6));
        if ((v = next_value(b, i, ppp_of)) >= 0)
            put16(h + 6, (uint16_t)v);
        return 0;
    case SL_SB_IPV4:
        if ((v = next_value(b, i, ipproto_of)) >= 0)
            h[9] = (uint8_t)v;
        if (!keeplen)
            put16(h + 2, (uint16_t)len);
        if (!(l->flags & SL_SB_F_KEEPSUM)) {
            put16(h + 10, 0);
            write_sum(h + 10, (uint16_t)~sl_sb_csum_fold(sl_sb_csum_add(0, h, l->hlen)), l->flags,
                      0);
        }
        return 0;
    case SL_SB_IPV6:
        if ((v = next_value(b, i, ipproto_of)) >= 0)
            h[6] = (uint8_t)v;
        if (!keeplen)
            put16(h + 4, (uint16_t)(len - 40));
        return 0;
    case SL_SB_IP6_EXT:
    case SL_SB_IP6_FRAG:
        if ((v = next_value(b, i, ipproto_of)) >= 0)
            h[0] = (uint8_t)v;
        return 0;
    case SL_SB_TCP:
        return fix_l4(b, i, 6, 16);
    case SL_SB_UDP:
        if (!keeplen)
            put16(h + 4, (uint16_t)len);
        return fix_l4(b, i, 17, 6);
    case SL_SB_ICMP:
        return fix_l4(b, i, 1, 2);
    case SL_SB_ICMP6:
        return fix_l4(b, i, 58, 2);
    case SL_SB_GRE:
    case SL_SB_GENEVE:
        if ((v = next_value(b, i, ethertype_of)) >= 0)
            put16(h + 2, (uint16_t)v);
        return 0;
    case SL_SB_GTPU:
        if (!keeplen)
            put16(h + 2, (uint16_t)(len - 8));
        return 0;
    default:
        return 0;
    }
}

int sl_sb_finish(struct sl_sb *b)
{
    if (b->err)
        return b->err;
    for (unsigned i = b->n_layers; i-- > 0;) {
        int rc = fix_layer(b, i);
        if (rc < 0)
            return b->err = rc;
    }
    return 0;
}

int sl_sb_truncate(struct sl_sb *b, size_t new_len)
{
    if (b->err || new_len > b->len)
        return -EINVAL;
    unsigned keep = 0;
    while (keep < b->n_layers && b->layer[keep].off + (size_t)b->layer[keep].hlen <= new_len)
        keep++;
    b->len = new_len;
    b->n_layers = keep;
    return sl_sb_finish(b);
}

void sl_sb_pad(struct sl_sb *b, size_t min_len)
{
    if (b->len < min_len && min_len <= SL_SB_MAX) {
        memset(b->buf + b->len, 0, min_len - b->len);
        b->len = min_len;
    }
}

int sl_sb_fragment(const struct sl_sb *whole, unsigned ip_layer, size_t chunk, unsigned idx,
                   uint32_t ident, struct sl_sb *out)
{
    if (ip_layer >= whole->n_layers || whole->err)
        return -EINVAL;
    const struct sl_sb_layer *ip = &whole->layer[ip_layer];
    if (ip->kind != SL_SB_IPV4 && ip->kind != SL_SB_IPV6)
        return -EINVAL;
    size_t data_at = (size_t)ip->off + ip->hlen;
    size_t total = whole->len - data_at;
    chunk &= ~(size_t)7;
    if (!chunk || total == 0)
        return -EINVAL;
    unsigned n = (unsigned)((total + chunk - 1) / chunk);
    if (idx >= n)
        return (int)n;
    size_t off = (size_t)idx * chunk;
    size_t take = total - off < chunk ? total - off : chunk;
    int more = idx + 1 < n;

    sl_sb_reset(out);
    memcpy(out->buf, whole->buf, data_at);
    memcpy(out->layer, whole->layer, sizeof(out->layer[0]) * (ip_layer + 1));
    out->n_layers = ip_layer + 1;
    out->len = data_at;
    uint8_t *h = out->buf + ip->off;
    if (ip->kind == SL_SB_IPV4) {
        uint16_t ff = get16(h + 6) & 0x4000; /* keep DF (a router may still fragment) */
        put16(h + 6, (uint16_t)(ff | (more ? 0x2000 : 0) | (off / 8)));
    } else {
        uint8_t inner_next = h[6];
        out->layer[ip_layer].next = 0; /* becomes 44 (fragment) */
        int f = sl_sb_ip6_frag(out, (uint16_t)off, more, ident);
        if (f < 0)
            return f;
        out->buf[out->layer[f].off] = inner_next;
    }
    if (sl_sb_bytes(out, whole->buf + data_at + off, take) < 0)
        return out->err;
    int rc = sl_sb_finish(out);
    return rc < 0 ? rc : (int)n;
}
