/* Malformed packets: a truncation or inconsistency at every layer. Each is a
 * valid packet first, then broken in one place, so a decoder's weird points
 * at exactly that place. Frames are not padded here: padding would hide a
 * truncation behind zero bytes. */
#include <errno.h>
#include <string.h>

#include "synth_int.h"

enum bad_case {
    B_ETH_SHORT,
    B_VLAN_TRUNC,
    B_QINQ_TRUNC,
    B_MPLS_TRUNC,
    B_PPPOE_TRUNC,
    B_IP4_TRUNC,
    B_IP6_TRUNC,
    B_IP4_IHL_SMALL,
    B_IP4_IHL_BIG,
    B_IP4_LEN_BIG,
    B_IP4_LEN_SMALL,
    B_IP4_CSUM,
    B_TCP_CSUM,
    B_UDP_CSUM,
    B_TCP_DOFF_SMALL,
    B_TCP_DOFF_BIG,
    B_TCP_TRUNC,
    B_UDP_TRUNC,
    B_UDP_LEN,
    B_ICMP_TRUNC,
    B_IP6_EXT_TRUNC,
    B_IP6_PLEN_BIG,
    B_GRE_TRUNC,
    B_VXLAN_TRUNC,
    B_VXLAN_INNER_TRUNC,
    B_GTPU_TRUNC,
    B_GENEVE_OPTLEN,
    B_IPIP_TRUNC,
    B_ETHERTYPE,
    B_IPPROTO,
    B_IP6_PROTO,
    B_SNAPLEN,
    B_IP_VERSION,
    B_FRAG_OVER,
    B_COUNT
};

void sl_syn_bad_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint16_t packets)
{
    (void)x;
    f->mach = M_BAD;
    f->u.bad.left = packets;
    f->u.bad.ipid = (uint16_t)sl_syn_rng_next(&f->rng);
}

static void eth(struct sl_syn_flow *f, struct sl_sb *b, uint16_t type)
{
    sl_sb_reset(b);
    sl_sb_eth(b, f->s.mac, f->c.mac, type);
}

static int ip4(struct sl_syn_flow *f, struct sl_sb *b, uint8_t proto)
{
    struct sl_sb_ipv4 ip = {
        .src = f->c.ip, .dst = f->s.ip, .ttl = 64, .proto = proto, .id = f->u.bad.ipid++, .df = 1};
    return sl_sb_ipv4(b, &ip);
}

static int ip6(struct sl_syn_flow *f, struct sl_sb *b, const struct sl_syn_ep *c,
               const struct sl_syn_ep *s)
{
    (void)f;
    struct sl_sb_ipv6 ip = {.src = c->ip, .dst = s->ip, .hlim = 64};
    return sl_sb_ipv6(b, &ip);
}

static int tcp(struct sl_syn_flow *f, struct sl_sb *b, uint32_t payload)
{
    /* Separate statements: the order of evaluation inside an initializer
     * list is unspecified, and the draws must come in one order. */
    uint32_t seq = (uint32_t)sl_syn_rng_next(&f->rng);
    uint32_t ack = (uint32_t)sl_syn_rng_next(&f->rng);
    struct sl_sb_tcp t = {
        .sport = f->cport, .dport = f->sport, .flags = 0x18, .seq = seq, .ack = ack, .win = 502};
    int i = sl_sb_tcp(b, &t);
    uint8_t *p = sl_sb_put(b, payload);
    if (p)
        memset(p, 'A', payload);
    return i;
}

static void payload(struct sl_sb *b, size_t n, uint64_t seed)
{
    uint8_t *p = sl_sb_put(b, n);
    for (size_t i = 0; p && i < n; i++)
        p[i] = (uint8_t)sl_syn_mix64(seed + i);
}

/* Finishes b and cuts the frame `keep` bytes into layer i. */
static int cut_after(struct sl_sb *b, int i, long keep)
{
    int rc = sl_sb_finish(b);
    if (rc < 0 || i < 0)
        return rc < 0 ? rc : -EINVAL;
    if (b->layer[i].off + (size_t)keep < b->len)
        return sl_sb_truncate(b, b->layer[i].off + (size_t)keep);
    return 0;
}

static int l2_cases(struct sl_syn_flow *f, struct sl_sb *b, enum bad_case c, struct sl_syn_rng *r)
{
    int i;
    switch (c) {
    case B_ETH_SHORT:
        eth(f, b, 0x0800);
        return cut_after(b, 0, (long)sl_syn_rng_range(r, 1, 13));
    case B_VLAN_TRUNC:
        eth(f, b, 0);
        i = sl_sb_vlan(b, 0x8100, 100, 0, 0x0800);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 0, 3));
    case B_QINQ_TRUNC:
        eth(f, b, 0);
        sl_sb_vlan(b, 0x88a8, 200, 0, 0);
        i = sl_sb_vlan(b, 0x8100, 300, 0, 0x0800);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 0, 3));
    case B_MPLS_TRUNC:
        eth(f, b, 0);
        i = sl_sb_mpls(b, 1000, 0, 64);
        ip4(f, b, 0);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 0, 3));
    case B_PPPOE_TRUNC:
        eth(f, b, 0);
        i = sl_sb_pppoe(b, 0x1234, 0);
        ip4(f, b, 0);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 0, 7));
    case B_ETHERTYPE: /* an unassigned / local experimental ethertype */
        eth(f, b, sl_syn_rng_chance(r, 500) ? 0x88b5 : 0x9999);
        payload(b, (size_t)sl_syn_rng_range(r, 46, 200), f->seed);
        return sl_sb_finish(b);
    default:
        return 1;
    }
}

static int ip_cases(struct sl_syn_flow *f, struct sl_sb *b, enum bad_case c, struct sl_syn_rng *r)
{
    int i;
    uint8_t *h;
    struct sl_syn_ep c6, s6; /* IPv6 ends for the IPv6 cases */
    sl_syn_ep_internal((uint32_t)(f->seed & 0xff), 1, &c6);
    sl_syn_ep_external((uint32_t)((f->seed >> 8) & 0xff), 1, &s6);
    eth(f, b, 0);
    switch (c) {
    case B_IP4_TRUNC:
        i = ip4(f, b, 0);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 19));
    case B_IP6_TRUNC:
        i = ip6(f, b, &c6, &s6);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 39));
    case B_IP4_IHL_SMALL:
    case B_IP4_IHL_BIG:
    case B_IP4_LEN_BIG:
    case B_IP4_LEN_SMALL:
    case B_IP_VERSION:
        i = ip4(f, b, 0);
        tcp(f, b, (uint32_t)sl_syn_rng_range(r, 0, 40));
        sl_sb_set_flags(b, i, SL_SB_F_KEEPLEN);
        h = sl_sb_hdr(b, i);
        sl_syn_put16(h + 2, (uint16_t)(b->len - b->layer[i].off));
        if (c == B_IP4_IHL_SMALL)
            h[0] = (uint8_t)(0x40 | sl_syn_rng_range(r, 0, 4));
        else if (c == B_IP4_IHL_BIG)
            h[0] = 0x4f; /* 60 bytes of header; options run into the TCP header */
        else if (c == B_IP4_LEN_BIG)
            sl_syn_put16(h + 2,
                         (uint16_t)(b->len - b->layer[i].off + sl_syn_rng_range(r, 1, 1000)));
        else if (c == B_IP4_LEN_SMALL)
            sl_syn_put16(h + 2, (uint16_t)sl_syn_rng_range(r, 0, 19));
        else
            h[0] = (uint8_t)(sl_syn_rng_chance(r, 500) ? 0x65 : 0x75); /* v6 / v7 nibble */
        /* The checksum is computed over the header as poked: only the
         * inconsistency is wrong. */
        return sl_sb_finish(b);
    case B_IP4_CSUM:
        i = ip4(f, b, 0);
        tcp(f, b, (uint32_t)sl_syn_rng_range(r, 0, 100));
        sl_sb_set_flags(b, i, SL_SB_F_BADSUM);
        return sl_sb_finish(b);
    case B_IP6_EXT_TRUNC: /* hop-by-hop header claiming 16 bytes, 4 present */
        i = ip6(f, b, &c6, &s6);
        i = sl_sb_ip6_ext(b, 0, 1);
        tcp(f, b, 0);
        return cut_after(b, i, 4);
    case B_IP6_PLEN_BIG:
        i = ip6(f, b, &c6, &s6);
        tcp(f, b, 10);
        sl_sb_set_flags(b, i, SL_SB_F_KEEPLEN);
        sl_syn_put16(sl_sb_hdr(b, i) + 4, (uint16_t)sl_syn_rng_range(r, 100, 1400));
        return sl_sb_finish(b);
    case B_IPPROTO: /* 253/254: reserved for experimentation (RFC 3692) */
        ip4(f, b, (uint8_t)sl_syn_rng_range(r, 253, 254));
        payload(b, (size_t)sl_syn_rng_range(r, 8, 120), f->seed);
        return sl_sb_finish(b);
    case B_IP6_PROTO:
        i = ip6(f, b, &c6, &s6);
        b->layer[i].next = 253;
        payload(b, (size_t)sl_syn_rng_range(r, 8, 120), f->seed);
        return sl_sb_finish(b);
    case B_FRAG_OVER: { /* a fragment reaching past 65535 bytes */
        struct sl_sb_ipv4 ip = {.src = f->c.ip,
                                .dst = f->s.ip,
                                .ttl = 64,
                                .proto = 17,
                                .id = f->u.bad.ipid++,
                                .frag_off = 65528,
                                .mf = 0};
        sl_sb_ipv4(b, &ip);
        payload(b, 200, f->seed);
        return sl_sb_finish(b);
    }
    default:
        return 1;
    }
}

static int l4_cases(struct sl_syn_flow *f, struct sl_sb *b, enum bad_case c, struct sl_syn_rng *r)
{
    int i;
    eth(f, b, 0);
    ip4(f, b, 0);
    switch (c) {
    case B_TCP_CSUM:
        i = tcp(f, b, (uint32_t)sl_syn_rng_range(r, 1, 200));
        sl_sb_set_flags(b, i, SL_SB_F_BADSUM);
        return sl_sb_finish(b);
    case B_UDP_CSUM:
        i = sl_sb_udp(b, f->cport, 53);
        payload(b, (size_t)sl_syn_rng_range(r, 12, 200), f->seed);
        sl_sb_set_flags(b, i, SL_SB_F_BADSUM);
        return sl_sb_finish(b);
    case B_TCP_DOFF_SMALL:
    case B_TCP_DOFF_BIG:
        i = tcp(f, b, c == B_TCP_DOFF_BIG ? 0 : 12);
        sl_sb_hdr(b, i)[12] =
            (uint8_t)((c == B_TCP_DOFF_BIG ? 15 : sl_syn_rng_range(r, 0, 4)) << 4);
        return sl_sb_finish(b);
    case B_TCP_TRUNC:
        b->layer[1].next = 6;
        payload(b, (size_t)sl_syn_rng_range(r, 1, 19), f->seed);
        return sl_sb_finish(b);
    case B_UDP_TRUNC:
        b->layer[1].next = 17;
        payload(b, (size_t)sl_syn_rng_range(r, 1, 7), f->seed);
        return sl_sb_finish(b);
    case B_ICMP_TRUNC:
        b->layer[1].next = 1;
        payload(b, (size_t)sl_syn_rng_range(r, 1, 7), f->seed);
        return sl_sb_finish(b);
    case B_UDP_LEN:
        i = sl_sb_udp(b, f->cport, 53);
        payload(b, 30, f->seed);
        sl_sb_set_flags(b, i, SL_SB_F_KEEPLEN);
        sl_syn_put16(sl_sb_hdr(b, i) + 4,
                     (uint16_t)(sl_syn_rng_chance(r, 500) ? sl_syn_rng_range(r, 0, 7)
                                                          : sl_syn_rng_range(r, 39, 1400)));
        return sl_sb_finish(b);
    default:
        return 1;
    }
}

static int tunnel_cases(struct sl_syn_flow *f, struct sl_sb *b, enum bad_case c,
                        struct sl_syn_rng *r)
{
    int i;
    eth(f, b, 0);
    ip4(f, b, 0);
    switch (c) {
    case B_GRE_TRUNC:
        i = sl_sb_gre(b, 0, 1, 7);
        ip4(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 7));
    case B_VXLAN_TRUNC:
        sl_sb_udp(b, f->cport, 4789);
        i = sl_sb_vxlan(b, 5001);
        sl_sb_eth(b, f->s.mac, f->c.mac, 0);
        ip4(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 7));
    case B_VXLAN_INNER_TRUNC:
        sl_sb_udp(b, f->cport, 4789);
        sl_sb_vxlan(b, 5002);
        i = sl_sb_eth(b, f->s.mac, f->c.mac, 0);
        ip4(f, b, 0);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 30));
    case B_GTPU_TRUNC:
        sl_sb_udp(b, 2152, 2152);
        i = sl_sb_gtpu(b, 0x1000);
        ip4(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 7));
    case B_GENEVE_OPTLEN: /* options claiming more than the packet holds */
        sl_sb_udp(b, f->cport, 6081);
        i = sl_sb_geneve(b, 77, 0x6558, 0);
        sl_sb_hdr(b, i)[0] = 0x3f; /* 63 * 4 bytes of options */
        payload(b, 12, f->seed);
        return sl_sb_finish(b);
    case B_IPIP_TRUNC:
        i = ip4(f, b, 0);
        tcp(f, b, 0);
        return cut_after(b, i, (long)sl_syn_rng_range(r, 1, 19));
    default:
        return 1;
    }
}

static int snaplen_case(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b,
                        struct sl_syn_rng *r)
{
    eth(f, b, 0);
    ip4(f, b, 0);
    tcp(f, b, (uint32_t)sl_syn_rng_range(r, 100, 1400));
    int rc = sl_sb_finish(b);
    if (rc < 0)
        return rc;
    x->wire_len = (uint32_t)b->len;
    b->len = (size_t)sl_syn_rng_range(r, 14, 14 + 20 + 19); /* cut in IP or TCP header */
    x->cap_len = (uint32_t)b->len;
    return 0;
}

int sl_syn_bad_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_rng *r = &f->rng;
    /* The first B_COUNT malformed packets of a capture cover every case. */
    enum bad_case c = x->bad_seen < B_COUNT ? (enum bad_case)x->bad_seen
                                            : (enum bad_case)sl_syn_rng_below(r, B_COUNT);
    int rc;
    x->bad_seen++;
    x->wire_len = x->cap_len = 0;
    if (c == B_SNAPLEN)
        rc = snaplen_case(x, f, b, r);
    else if ((rc = l2_cases(f, b, c, r)) == 1 && (rc = ip_cases(f, b, c, r)) == 1 &&
             (rc = l4_cases(f, b, c, r)) == 1)
        rc = tunnel_cases(f, b, c, r);
    if (rc < 0)
        return rc;
    if (!x->wire_len)
        x->wire_len = x->cap_len = (uint32_t)b->len;
    if (--f->u.bad.left == 0)
        return SL_SYN_DONE;
    f->ts += sl_syn_rng_logu(r, 100, 500000);
    return SL_SYN_MORE;
}
