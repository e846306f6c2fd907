/* Hosts, addresses, MACs and the encapsulation of each flow's packets. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "synth_int.h"

/* The first-hop router: the VRRP virtual MAC of group 1, as many real
 * gateways present. Every frame to or from an external host carries it. */
const uint8_t sl_syn_router_mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, 0x01};

/* Real vendor OUIs, so MACs look like a real LAN's. */
static const uint8_t ouis[][3] = {
    {0x3c, 0x22, 0xfb}, {0x00, 0x1b, 0x21}, {0xf4, 0x8e, 0x38}, {0x00, 0x50, 0x56},
    {0xa4, 0x83, 0xe7}, {0x00, 0x0c, 0x29}, {0xb8, 0x27, 0xeb}, {0xdc, 0xa6, 0x32},
};

static int is_internal(const uint8_t ip4[4])
{
    return ip4[0] == 10 || (ip4[0] == 172 && (ip4[1] & 0xf0) == 16) ||
           (ip4[0] == 192 && ip4[1] == 168) || (ip4[0] == 100 && (ip4[1] & 0xc0) == 64);
}

void sl_syn_mac_of(const uint8_t ip4[4], uint8_t mac[6])
{
    if (!is_internal(ip4)) {
        memcpy(mac, sl_syn_router_mac, 6);
        return;
    }
    uint64_t h = sl_syn_mix64((uint64_t)ip4[0] << 24 | ip4[1] << 16 | ip4[2] << 8 | ip4[3]);
    memcpy(mac, ouis[h % (sizeof(ouis) / sizeof(ouis[0]))], 3);
    mac[3] = (uint8_t)(h >> 24);
    mac[4] = (uint8_t)(h >> 32);
    mac[5] = (uint8_t)(h >> 40);
}

/* Internal hosts: 10.1.0.0/16 upwards (index 0 is 10.1.0.1), IPv6 by SLAAC
 * (EUI-64 of the MAC) in 2001:db8:0:1::/64. */
void sl_syn_ep_internal(uint32_t i, int v6, struct sl_syn_ep *e)
{
    uint32_t a = 0x0a010001u + i;
    uint8_t ip4[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};
    memset(e, 0, sizeof(*e));
    sl_syn_mac_of(ip4, e->mac);
    if (!v6) {
        memcpy(e->ip, ip4, 4);
        return;
    }
    static const uint8_t pfx[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1};
    memcpy(e->ip, pfx, 8);
    e->ip[8] = e->mac[0] ^ 0x02;
    e->ip[9] = e->mac[1];
    e->ip[10] = e->mac[2];
    e->ip[11] = 0xff;
    e->ip[12] = 0xfe;
    memcpy(e->ip + 13, e->mac + 3, 3);
}

/* External servers: 198.18.0.0/15 (the benchmarking range, never routed),
 * IPv6 2001:db8:f000::/36; all reached through the router. */
void sl_syn_ep_external(uint32_t j, int v6, struct sl_syn_ep *e)
{
    memset(e, 0, sizeof(*e));
    memcpy(e->mac, sl_syn_router_mac, 6);
    uint64_t h = sl_syn_mix64(j + 0x5e4e);
    if (!v6) {
        uint32_t a = 0xc6120000u | (uint32_t)(h & 0x1fe00) | (j & 0x1ff);
        if ((a & 0xff) == 0 || (a & 0xff) == 0xff)
            a ^= 0x11;
        e->ip[0] = (uint8_t)(a >> 24), e->ip[1] = (uint8_t)(a >> 16);
        e->ip[2] = (uint8_t)(a >> 8), e->ip[3] = (uint8_t)a;
        return;
    }
    static const uint8_t pfx[6] = {0x20, 0x01, 0x0d, 0xb8, 0xf0, 0x00};
    memcpy(e->ip, pfx, 6);
    e->ip[6] = (uint8_t)(h >> 8);
    e->ip[7] = (uint8_t)h;
    e->ip[14] = (uint8_t)(j >> 8);
    e->ip[15] = (uint8_t)(j | 1);
}

void sl_syn_ep_client(struct sl_syn_ctx *x, struct sl_syn_rng *r, int v6, struct sl_syn_ep *e)
{
    /* Skewed: low-numbered hosts are busier, as a few users are in reality. */
    uint64_t a = sl_syn_rng_below(r, x->hosts), b = sl_syn_rng_below(r, x->hosts);
    sl_syn_ep_internal((uint32_t)(a < b ? a : b), v6, e);
}

void sl_syn_ep_server(struct sl_syn_ctx *x, struct sl_syn_rng *r, int v6, struct sl_syn_ep *e)
{
    /* Popular servers get most connections (roughly Zipf-like). */
    uint64_t a = sl_syn_rng_below(r, x->servers);
    uint64_t j = a * sl_syn_rng_below(r, x->servers + 1) / (x->servers + 1);
    sl_syn_ep_external((uint32_t)j, v6, e);
}

uint16_t sl_syn_ephemeral_port(struct sl_syn_rng *r)
{
    /* Linux's default range most of the time, Windows' otherwise. */
    if (sl_syn_rng_chance(r, 700))
        return (uint16_t)sl_syn_rng_range(r, 32768, 60999);
    return (uint16_t)sl_syn_rng_range(r, 49152, 65535);
}

void sl_syn_path_tunnel(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_tun t,
                        uint32_t idx)
{
    struct sl_syn_path *p = &f->path;
    uint64_t h = sl_syn_mix64(x->seed ^ (0x7e11ULL << 32) ^ (t * 0x100000ULL + idx));
    p->tun = (uint8_t)t;
    /* Endpoints: 172.16.<idx>.<1|2>, one pair per tunnel. */
    for (int d = 0; d < 2; d++) {
        uint8_t *ip = p->tun_ip[d];
        ip[0] = 172, ip[1] = (uint8_t)(16 + t), ip[2] = (uint8_t)idx, ip[3] = (uint8_t)(1 + d);
        sl_syn_mac_of(ip, p->tun_mac[d]);
    }
    switch (t) {
    case TUN_GTPU:
        /* Each end allocates the TEID it receives on. */
        p->tun_id[0] = (uint32_t)h;
        p->tun_id[1] = (uint32_t)(h >> 32);
        break;
    case TUN_VXLAN:
    case TUN_GENEVE:
        p->tun_id[0] = p->tun_id[1] = (uint32_t)(1000 + (h % 15000));
        p->geneve_opt = t == TUN_GENEVE && (idx & 1) ? 8 : 0;
        break;
    case TUN_GRE:
    case TUN_GRE_TEB:
        p->gre_key = (idx & 1) != 0;
        p->tun_id[0] = p->tun_id[1] = (uint32_t)(h & 0xffff);
        break;
    default:
        break;
    }
    /* The VTEP hashes the inner flow into the source port; a symmetric hash
     * gives both directions the same one. */
    p->tun_sport = (uint16_t)(49152 + (sl_syn_mix64(f->seed) & 0x3fff));
    if (t == TUN_GTPU)
        p->tun_sport = 2152;
    p->tun_ipid[0] = (uint16_t)h;
    p->tun_ipid[1] = (uint16_t)(h >> 16);
}

void sl_syn_path_l2(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_l2 l2, uint32_t idx)
{
    struct sl_syn_path *p = &f->path;
    uint64_t h = sl_syn_mix64(x->seed ^ (0x12aeULL << 40) ^ (l2 * 0x10000ULL + idx));
    p->l2 = (uint8_t)l2;
    p->vid[0] = (uint16_t)(2 + h % 4000);
    p->vid[1] = (uint16_t)(2 + (h >> 16) % 4000);
    p->pppoe_sid = (uint16_t)(1 + (h >> 32) % 0xfffe);
    if (l2 == L2_MPLS) {
        p->n_tag = (uint8_t)(1 + idx % 3);
        for (int d = 0; d < 2; d++)
            for (int k = 0; k < 3; k++)
                p->label[d][k] = (uint32_t)(16 + sl_syn_mix64(h + (uint64_t)d * 3 + k) % 1048000);
    }
}

unsigned sl_syn_path_overhead(const struct sl_syn_path *p)
{
    unsigned o = p->l2 == L2_PPPOE ? 8 : 0;
    switch (p->tun) {
    case TUN_GRE:
        return o + 24 + (p->gre_key ? 4 : 0);
    case TUN_GRE_TEB:
        return o + 38 + (p->gre_key ? 4 : 0);
    case TUN_VXLAN:
        return o + 50;
    case TUN_GENEVE:
        return o + 50 + p->geneve_opt;
    case TUN_GTPU:
        return o + 36;
    case TUN_IPIP:
    case TUN_6IN4:
        return o + 20;
    default:
        return o;
    }
}

static int push_l2(struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    const struct sl_syn_path *p = &f->path;
    int rc = 0;
    switch (p->l2) {
    case L2_DOT1Q:
        rc = sl_sb_vlan(b, 0x8100, p->vid[0], (uint8_t)(p->vid[1] & 7), 0);
        break;
    case L2_QINQ:
        rc = sl_sb_vlan(b, 0x88a8, p->vid[0], 0, 0);
        if (rc >= 0)
            rc = sl_sb_vlan(b, 0x8100, p->vid[1], 0, 0);
        break;
    case L2_MPLS:
        for (int k = 0; k < p->n_tag && rc >= 0; k++)
            rc = sl_sb_mpls(b, p->label[dir][k], 0, (uint8_t)(64 - k));
        break;
    case L2_PPPOE:
        rc = sl_sb_pppoe(b, p->pppoe_sid, 0);
        break;
    default:
        break;
    }
    return rc < 0 ? rc : 0;
}

static int push_tunnel(struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    struct sl_syn_path *p = &f->path;
    int rc;
    struct sl_sb_ipv4 o = {
        .src = p->tun_ip[dir],
        .dst = p->tun_ip[!dir],
        .ttl = 64,
        .id = p->tun_ipid[dir],
        .df = p->tun != TUN_IPIP && p->tun != TUN_6IN4,
    };
    if ((rc = sl_sb_ipv4(b, &o)) < 0)
        return rc;
    switch (p->tun) {
    case TUN_GRE:
        return sl_sb_gre(b, 0, p->gre_key, p->tun_id[dir]);
    case TUN_GRE_TEB:
        rc = sl_sb_gre(b, 0, p->gre_key, p->tun_id[dir]);
        break;
    case TUN_VXLAN:
        if ((rc = sl_sb_udp(b, p->tun_sport, 4789)) >= 0)
            rc = sl_sb_vxlan(b, p->tun_id[dir]);
        break;
    case TUN_GENEVE:
        if ((rc = sl_sb_udp(b, p->tun_sport, 6081)) >= 0)
            rc = sl_sb_geneve(b, p->tun_id[dir], 0, p->geneve_opt);
        break;
    case TUN_GTPU:
        if ((rc = sl_sb_udp(b, 2152, 2152)) >= 0)
            rc = sl_sb_gtpu(b, p->tun_id[dir]);
        return rc;
    default:
        return 0; /* IP in IP: the inner header follows directly */
    }
    if (rc < 0)
        return rc;
    /* GRE-TEB, VXLAN and GENEVE carry the inner Ethernet frame. */
    const struct sl_syn_ep *src = dir ? &f->s : &f->c, *dst = dir ? &f->c : &f->s;
    return sl_sb_eth(b, dst->mac, src->mac, 0);
}

int sl_syn_path_push(struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    const struct sl_syn_ep *src = dir ? &f->s : &f->c, *dst = dir ? &f->c : &f->s;
    int rc;

    if (f->path.tun)
        rc = sl_sb_eth(b, f->path.tun_mac[!dir], f->path.tun_mac[dir], 0);
    else
        rc = sl_sb_eth(b, dst->mac, src->mac, 0);
    if (rc < 0 || (rc = push_l2(f, b, dir)) < 0)
        return rc;
    if (f->path.tun && (rc = push_tunnel(f, b, dir)) < 0)
        return rc;
    return sl_syn_path_ip(f, b, dir);
}

int sl_syn_path_ip(struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    const struct sl_syn_ep *src = dir ? &f->s : &f->c, *dst = dir ? &f->c : &f->s;
    if (f->path.v6) {
        struct sl_sb_ipv6 ip = {.src = src->ip,
                                .dst = dst->ip,
                                .hlim = f->ttl[dir],
                                .flow_label = f->flabel ^ (dir ? 0x5a5a5 : 0)};
        return sl_sb_ipv6(b, &ip);
    }
    struct sl_sb_ipv4 ip = {.src = src->ip,
                            .dst = dst->ip,
                            .ttl = f->ttl[dir],
                            .id = f->ipid[dir],
                            .df = !f->frag.want};
    return sl_sb_ipv4(b, &ip);
}

static unsigned frag_piece(unsigned k, unsigned n, unsigned order)
{
    switch (order) {
    case 1:
        return n - 1 - k; /* last first, all reversed */
    case 2:               /* middle pair swapped */
        if (n >= 3 && (k == 1 || k == 2))
            return 3 - k;
        return k;
    case 3: /* the last first, then the rest in order */
        return k == 0 ? n - 1 : k - 1;
    default:
        return k;
    }
}

static void emitted(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    f->ipid[dir]++;
    f->path.tun_ipid[dir]++;
    sl_sb_pad(b, 60);
    x->wire_len = x->cap_len = (uint32_t)b->len;
}

int sl_syn_emit(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir, int ip_layer)
{
    int rc = sl_sb_finish(b);
    if (rc < 0)
        return rc;
    struct sl_syn_frag *fr = &f->frag;
    size_t ip_len = b->len - b->layer[ip_layer].off;
    if (!fr->busy && (!fr->want || ip_len <= fr->mtu)) {
        emitted(x, f, b, dir);
        return 1;
    }
    size_t hl = b->layer[ip_layer].hlen + (f->path.v6 ? 8 : 0);
    size_t chunk = (fr->mtu - hl) & ~(size_t)7;
    memcpy(&x->whole, b, offsetof(struct sl_sb, buf) + b->len);
    if (!fr->busy) {
        /* An index past the last piece only counts the pieces. */
        rc = sl_sb_fragment(&x->whole, (unsigned)ip_layer, chunk, 255, fr->ident, b);
        if (rc < 0 || rc > 255)
            return rc < 0 ? rc : -E2BIG;
        fr->busy = 1;
        fr->k = 0;
        fr->n = (uint8_t)rc;
    }
    rc = sl_sb_fragment(&x->whole, (unsigned)ip_layer, chunk, frag_piece(fr->k, fr->n, fr->order),
                        fr->ident, b);
    if (rc < 0)
        return rc;
    if (++fr->k < fr->n) {
        sl_sb_pad(b, 60);
        x->wire_len = x->cap_len = (uint32_t)b->len;
        return 0;
    }
    fr->busy = 0;
    fr->ident++;
    emitted(x, f, b, dir);
    return 1;
}

uint32_t sl_syn_ser_gap(struct sl_syn_rng *r, uint32_t bytes)
{
    /* 8 ns a byte at 1 Gbit/s, plus host jitter. */
    return 1 + bytes / 125 + (uint32_t)sl_syn_rng_below(r, 8);
}

uint32_t sl_syn_payload_size(struct sl_syn_ctx *x, struct sl_syn_rng *r, uint32_t hdrs,
                             uint32_t max)
{
    uint32_t ip;
    if (x->sizes == SL_SYN_SIZES_REAL)
        return max ? max : 1;
    if (x->sizes == SL_SYN_SIZES_IMIX) {
        static const unsigned w[3] = {7, 4, 1};
        static const uint32_t sz[3] = {40, 576, 1500};
        ip = sz[sl_syn_rng_pick(r, w, 3)];
    } else {
        ip = (uint32_t)x->sizes;
    }
    uint32_t n = ip > hdrs ? ip - hdrs : 1;
    if (max && n > max)
        n = max;
    return n ? n : 1;
}
