/* Hand-built frames for the flow and balancer tests: Ethernet, IPv4/IPv6
 * (with fragmentation), TCP/UDP with correct checksums, ICMP/ICMPv6 errors
 * quoting a packet, GTP-U. Written for the tests, independent of the
 * decoder, so a decoded field can be checked against what was put there. */
#ifndef SL_TEST_FRAMES_H
#define SL_TEST_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct taddr {
    int v;         /* 4 or 6 */
    uint8_t b[16]; /* IPv4 in b[0..3] */
};

static inline struct taddr tv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    struct taddr t = {.v = 4, .b = {a, b, c, d}};
    return t;
}

static inline struct taddr tv6(uint16_t w0, uint16_t w1, uint16_t w6, uint16_t w7)
{
    struct taddr t = {.v = 6};
    t.b[0] = (uint8_t)(w0 >> 8), t.b[1] = (uint8_t)w0;
    t.b[2] = (uint8_t)(w1 >> 8), t.b[3] = (uint8_t)w1;
    t.b[12] = (uint8_t)(w6 >> 8), t.b[13] = (uint8_t)w6;
    t.b[14] = (uint8_t)(w7 >> 8), t.b[15] = (uint8_t)w7;
    return t;
}

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

static inline uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static inline uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static inline uint32_t pseudo_sum(const struct taddr *s, const struct taddr *d, uint8_t proto,
                                  size_t len)
{
    int alen = s->v == 4 ? 4 : 16;
    uint32_t sum = csum_add(0, s->b, (size_t)alen);
    sum = csum_add(sum, d->b, (size_t)alen);
    return sum + proto + (uint32_t)(len & 0xffff) + (uint32_t)(len >> 16);
}

/* A transport segment (header + `paylen` pattern bytes) with its checksum.
 * proto 6 (TCP, SYN|ACK unless flags given) or 17 (UDP). */
static inline size_t build_l4(uint8_t *out, const struct taddr *s, const struct taddr *d,
                              uint8_t proto, uint16_t sport, uint16_t dport, size_t paylen)
{
    size_t hl = proto == 6 ? 20 : 8;
    memset(out, 0, hl);
    put16(out, sport);
    put16(out + 2, dport);
    for (size_t i = 0; i < paylen; i++)
        out[hl + i] = (uint8_t)(i * 7 + 1);
    if (proto == 6) {
        put32(out + 4, 1000);
        out[12] = 5 << 4;
        out[13] = 0x12;
        put16(out + 14, 8192);
        put16(out + 16, csum_fold(csum_add(pseudo_sum(s, d, 6, hl + paylen), out, hl + paylen)));
    } else {
        put16(out + 4, (uint16_t)(hl + paylen));
        uint16_t c = csum_fold(csum_add(pseudo_sum(s, d, 17, hl + paylen), out, hl + paylen));
        put16(out + 6, c ? c : 0xffff);
    }
    return hl + paylen;
}

/* An IP packet carrying bytes [off, off+n) of the upper-layer datagram
 * `up`. It is a fragment when off > 0 or mf; IPv6 then gets a fragment
 * header. Returns the packet length. */
static inline size_t build_ip(uint8_t *out, const struct taddr *s, const struct taddr *d,
                              uint8_t proto, const uint8_t *up, size_t off, size_t n, bool mf,
                              uint32_t id)
{
    bool frag = off > 0 || mf;
    if (s->v == 4) {
        memset(out, 0, 20);
        out[0] = 0x45;
        put16(out + 2, (uint16_t)(20 + n));
        put16(out + 4, (uint16_t)id);
        put16(out + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
        out[8] = 64;
        out[9] = proto;
        memcpy(out + 12, s->b, 4);
        memcpy(out + 16, d->b, 4);
        put16(out + 10, csum_fold(csum_add(0, out, 20)));
        memcpy(out + 20, up + off, n);
        return 20 + n;
    }
    size_t eh = frag ? 8 : 0;
    memset(out, 0, 40 + eh);
    out[0] = 0x60;
    put16(out + 4, (uint16_t)(eh + n));
    out[6] = frag ? 44 : proto;
    out[7] = 64;
    memcpy(out + 8, s->b, 16);
    memcpy(out + 24, d->b, 16);
    if (frag) {
        out[40] = proto;
        put16(out + 42, (uint16_t)(off | (mf ? 1 : 0)));
        put32(out + 44, id);
    }
    memcpy(out + 40 + eh, up + off, n);
    return 40 + eh + n;
}

/* Ethernet header in front of an IP packet (or any payload). */
static inline size_t build_eth(uint8_t *out, uint8_t dst_last, uint8_t src_last, uint16_t type)
{
    const uint8_t base[6] = {0x02, 0, 0, 0, 0, 0};
    memcpy(out, base, 6);
    memcpy(out + 6, base, 6);
    out[5] = dst_last;
    out[11] = src_last;
    put16(out + 12, type);
    return 14;
}

static inline size_t build_frame(uint8_t *out, const struct taddr *s, const struct taddr *d,
                                 uint8_t proto, const uint8_t *up, size_t off, size_t n, bool mf,
                                 uint32_t id)
{
    size_t e = build_eth(out, 2, 1, s->v == 4 ? 0x0800 : 0x86dd);
    return e + build_ip(out + e, s, d, proto, up, off, n, mf, id);
}

/* A whole unfragmented TCP/UDP frame. */
static inline size_t build_simple(uint8_t *out, const struct taddr *s, const struct taddr *d,
                                  uint8_t proto, uint16_t sport, uint16_t dport, size_t paylen)
{
    uint8_t l4[2048];
    size_t n = build_l4(l4, s, d, proto, sport, dport, paylen);
    return build_frame(out, s, d, proto, l4, 0, n, false, 0x1234);
}

/* An ICMP (v4: type 3 code 3) or ICMPv6 (type 1 code 4) error from router r
 * to host `to`, quoting the first `quote` bytes of IP packet q. */
static inline size_t build_icmp_err(uint8_t *out, const struct taddr *r, const struct taddr *to,
                                    const uint8_t *q, size_t quote)
{
    uint8_t msg[1600];
    memset(msg, 0, 8);
    uint8_t proto = r->v == 4 ? 1 : 58;
    msg[0] = r->v == 4 ? 3 : 1;
    msg[1] = r->v == 4 ? 3 : 4;
    memcpy(msg + 8, q, quote);
    uint32_t sum = r->v == 4 ? 0 : pseudo_sum(r, to, 58, 8 + quote);
    put16(msg + 2, csum_fold(csum_add(sum, msg, 8 + quote)));
    return build_frame(out, r, to, proto, msg, 0, 8 + quote, false, 0x4321);
}

/* An ICMP/ICMPv6 query (echo etc.): type, code, id, seq, `n` pattern bytes. */
static inline size_t build_icmp(uint8_t *out, const struct taddr *s, const struct taddr *d,
                                uint8_t type, uint8_t code, size_t n)
{
    uint8_t msg[1600];
    memset(msg, 0, 8);
    msg[0] = type;
    msg[1] = code;
    put16(msg + 4, 0x77);
    put16(msg + 6, 1);
    for (size_t i = 0; i < n; i++)
        msg[8 + i] = (uint8_t)i;
    uint8_t proto = s->v == 4 ? 1 : 58;
    uint32_t sum = s->v == 4 ? 0 : pseudo_sum(s, d, 58, 8 + n);
    put16(msg + 2, csum_fold(csum_add(sum, msg, 8 + n)));
    return build_frame(out, s, d, proto, msg, 0, 8 + n, false, 0x99);
}

/* UDP/2152 GTP-U (G-PDU) carrying IP packet `inner`, as an upper-layer
 * datagram (UDP header + GTP + inner) ready for build_ip/build_frame. */
static inline size_t build_gtpu(uint8_t *out, const struct taddr *s, const struct taddr *d,
                                uint32_t teid, const uint8_t *inner, size_t n)
{
    uint8_t *g = out + 8;
    g[0] = 0x30;
    g[1] = 0xff;
    put16(g + 2, (uint16_t)n);
    put32(g + 4, teid);
    memcpy(g + 8, inner, n);
    memset(out, 0, 8);
    put16(out, 2152);
    put16(out + 2, 2152);
    put16(out + 4, (uint16_t)(16 + n));
    uint16_t c = csum_fold(csum_add(pseudo_sum(s, d, 17, 16 + n), out, 16 + n));
    put16(out + 6, c ? c : 0xffff);
    return 16 + n;
}

#endif
