/* Profiles: which kinds of flows a capture holds, in what proportion, and
 * how each kind of flow is set up (endpoints, path, machine). */
#include <string.h>

#include "synth_int.h"

enum kind {
    K_WEB,
    K_DNS,
    K_DNS_TCP,
    K_NTP,
    K_PING,
    K_UNREACH,
    K_SCAN_ADDR,
    K_SCAN_PORT,
    K_FRAG_UDP,
    K_FRAG_ICMP,
    K_FRAG_TCP,
    K_TUNNEL,
    K_VLAN,
    K_ELEPHANT,
    K_BULK,
    K_BAD,
    K_FLOOD,
    K_FLOOD_BURST,
    K_MAX
};

/* Heavy flows in a mix scale with the capture, so a small capture is not
 * one download and a large one still holds many. */
static uint64_t heavy_segs(const struct sl_syn_ctx *x)
{
    uint64_t n = x->packets / 40;
    return n < 60 ? 60 : n > 8000 ? 8000 : n;
}

/* Packets a flow of each kind emits on average (measured), to turn
 * --duration into a flow arrival rate. Endless kinds count 0. */
static uint32_t kind_pkts(const struct sl_syn_ctx *x, unsigned k, int big_scans)
{
    static const uint32_t fixed[K_MAX] = {
        [K_WEB] = 36,      [K_DNS] = 4,        [K_DNS_TCP] = 14,   [K_NTP] = 5,
        [K_PING] = 6,      [K_UNREACH] = 4,    [K_SCAN_ADDR] = 90, [K_SCAN_PORT] = 100,
        [K_FRAG_UDP] = 30, [K_FRAG_ICMP] = 14, [K_FRAG_TCP] = 60,  [K_TUNNEL] = 26,
        [K_VLAN] = 36,     [K_BAD] = 3,
    };
    if (k == K_BULK || k == K_FLOOD_BURST)
        return (uint32_t)(heavy_segs(x) * 3 / 4);
    if (big_scans && (k == K_SCAN_ADDR || k == K_SCAN_PORT))
        return 250;
    return fixed[k];
}

#define MAX_KINDS 20

struct sl_syn_profile {
    const char *name, *help;
    uint8_t lead[4]; /* the first flows, in order (K_MAX ends) */
    uint8_t n_lead;
    uint8_t share; /* percent of the packets left to the weighted kinds (endless leads) */
    uint8_t n;
    uint8_t kinds[MAX_KINDS];
    unsigned weights[MAX_KINDS];
};

static const struct sl_syn_profile profiles[] = {
    {"web",
     "HTTP/1.1 over TCP (v4, some v6): handshakes, GET/POST, FIN and RST closes, "
     "retransmissions, rejected and unanswered SYNs",
     {0},
     0,
     100,
     1,
     {K_WEB},
     {1}},
    {"dns",
     "DNS over UDP (A, AAAA, PTR, MX, TXT, NXDOMAIN, compressed answers) and over TCP; "
     "some queries to closed ports answered by ICMP port unreachable",
     {0},
     0,
     100,
     3,
     {K_DNS, K_DNS_TCP, K_UNREACH},
     {85, 12, 3}},
    {"scan",
     "SYN address scans (one port, a /24) and port scans (one host) among web traffic: "
     "open, closed and silent targets",
     {K_SCAN_ADDR, K_SCAN_PORT},
     2,
     100,
     3,
     {K_SCAN_ADDR, K_SCAN_PORT, K_WEB},
     {1, 1, 8}},
    {"fragments",
     "IPv4 and IPv6 fragmented UDP, ICMP echo and TCP, in order, reversed and "
     "shuffled, within otherwise unfragmented flows",
     {0},
     0,
     100,
     3,
     {K_FRAG_UDP, K_FRAG_ICMP, K_FRAG_TCP},
     {1, 1, 1}},
    {"tunnels",
     "TCP and UDP flows inside GRE, GRE-TEB, VXLAN, GENEVE, GTP-U, IP-in-IP and 6in4, "
     "several inner flows per tunnel",
     {0},
     0,
     100,
     1,
     {K_TUNNEL},
     {1}},
    {"vlan",
     "TCP and UDP flows under 802.1Q, QinQ (802.1ad), MPLS stacks of 1-3 labels and "
     "PPPoE sessions",
     {0},
     0,
     100,
     1,
     {K_VLAN},
     {1}},
    {"elephants",
     "three endless bulk TCP transfers (1500-byte segments, most of the bytes) "
     "among many small web and DNS flows",
     {K_ELEPHANT, K_ELEPHANT, K_ELEPHANT},
     3,
     40,
     2,
     {K_WEB, K_DNS},
     {70, 30}},
    {"malformed",
     "truncated headers at every layer, bad lengths, bad checksums, TCP data "
     "offset < 5, unknown ethertypes and IP protocols, snaplen-cut frames",
     {0},
     0,
     100,
     1,
     {K_BAD},
     {1}},
    {"synflood",
     "SYNs from random spoofed sources to one server (SYN/ACKs for most) amid "
     "a little legitimate web traffic",
     {K_FLOOD},
     1,
     15,
     1,
     {K_WEB},
     {1}},
    {"mix",
     "all of the above interleaved, web and DNS dominating as in real traffic",
     {0},
     0,
     100,
     16,
     {K_WEB, K_DNS, K_DNS_TCP, K_NTP, K_PING, K_UNREACH, K_TUNNEL, K_VLAN, K_FRAG_UDP, K_FRAG_ICMP,
      K_FRAG_TCP, K_BULK, K_SCAN_ADDR, K_SCAN_PORT, K_BAD, K_FLOOD_BURST},
     {420, 300, 20, 20, 20, 10, 60, 50, 10, 10, 10, 3, 3, 3, 20, 2}},
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const char *sl_syn_profile_name(unsigned i)
{
    return i < N_PROFILES ? profiles[i].name : NULL;
}

const char *sl_syn_profile_help(unsigned i)
{
    return i < N_PROFILES ? profiles[i].help : NULL;
}

const struct sl_syn_profile *sl_syn_profile_find(const char *name)
{
    for (unsigned i = 0; i < N_PROFILES; i++)
        if (!strcmp(profiles[i].name, name))
            return &profiles[i];
    return NULL;
}

uint32_t sl_syn_profile_avg_pkts(const struct sl_syn_ctx *x, const struct sl_syn_profile *p)
{
    uint64_t sum = 0, w = 0;
    for (unsigned i = 0; i < p->n; i++) {
        sum += (uint64_t)p->weights[i] * kind_pkts(x, p->kinds[i], !strcmp(p->name, "scan"));
        w += p->weights[i];
    }
    /* Leads that run to the end leave only `share` of the packets. */
    sum = sum * 100 / p->share;
    return w && sum / w ? (uint32_t)(sum / w) : 1;
}

/* Hop counts seen in TTLs: the server's packets arrive with its initial TTL
 * (64 Linux, 128 Windows, 255 network gear) minus the hops on the way. */
static uint8_t remote_ttl(struct sl_syn_rng *r)
{
    static const uint8_t init[3] = {64, 128, 255};
    static const unsigned w[3] = {70, 20, 10};
    uint8_t ttl = init[sl_syn_rng_pick(r, w, 3)];
    return (uint8_t)(ttl - sl_syn_rng_range(r, 6, 22));
}

/* A client talking to an external server over the plain path. */
static void client_server(struct sl_syn_ctx *x, struct sl_syn_flow *f, int v6, uint16_t port)
{
    struct sl_syn_rng *r = &f->rng;
    f->path.v6 = (uint8_t)v6;
    sl_syn_ep_client(x, r, v6, &f->c);
    sl_syn_ep_server(x, r, v6, &f->s);
    f->cport = sl_syn_ephemeral_port(r);
    f->sport = port;
    f->ttl[0] = 64;
    f->ttl[1] = remote_ttl(r);
    f->rtt = (uint32_t)sl_syn_rng_logu(r, 2000, 150000);
    f->flabel = (uint32_t)sl_syn_rng_next(r) & 0xfffff;
}

static void dns_ends(struct sl_syn_ctx *x, struct sl_syn_flow *f, int v6)
{
    struct sl_syn_rng *r = &f->rng;
    client_server(x, f, v6, 53);
    if (sl_syn_rng_chance(r, 700)) { /* the site's own resolver, on the LAN */
        sl_syn_ep_internal(0xfe52, v6, &f->s);
        f->ttl[1] = 64;
        f->rtt = (uint32_t)sl_syn_rng_range(r, 150, 2000);
    } else { /* a public resolver */
        sl_syn_ep_external(53, v6, &f->s);
        f->rtt = (uint32_t)sl_syn_rng_range(r, 5000, 40000);
    }
}

static void web(struct sl_syn_ctx *x, struct sl_syn_flow *f, int v6)
{
    struct sl_syn_rng *r = &f->rng;
    client_server(x, f, v6, sl_syn_rng_chance(r, 900) ? 80 : 8080);
    sl_syn_tcp_init(x, f, APP_HTTP);
    /* Some connections never open: refused (RST/ACK) or unanswered. */
    unsigned o = (unsigned)sl_syn_rng_below(r, 1000);
    f->u.tcp.open = o < 60 ? 1 : o < 100 ? 2 : 0;
}

/* Inner flows in a tunnel or on a trunk: TCP/HTTP or UDP/DNS. */
static void inner_app(struct sl_syn_ctx *x, struct sl_syn_flow *f)
{
    if (sl_syn_rng_chance(&f->rng, 600)) {
        f->sport = 80;
        sl_syn_tcp_init(x, f, APP_HTTP);
    } else {
        f->sport = 53;
        sl_syn_udp_init(x, f, APP_DNS);
    }
}

static void tunnel(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint32_t seen)
{
    struct sl_syn_rng *r = &f->rng;
    enum sl_syn_tun t = seen < TUN_MAX - 1 ? (enum sl_syn_tun)(seen + 1)
                                           : (enum sl_syn_tun)sl_syn_rng_range(r, 1, TUN_MAX - 1);
    int v6 = t == TUN_6IN4;
    client_server(x, f, v6, 80);
    /* Overlay tenants reuse private addresses; GTP-U carries a subscriber's
     * (CGNAT-range) address. */
    if (!v6) {
        uint32_t h = (uint32_t)sl_syn_rng_next(r);
        if (t == TUN_GTPU) {
            uint8_t ue[4] = {100, (uint8_t)(64 + (h & 63)), (uint8_t)(h >> 8), (uint8_t)(h >> 16)};
            memcpy(f->c.ip, ue, 4);
        } else {
            uint8_t ip[4] = {192, 168, (uint8_t)(h & 7), (uint8_t)(2 + (h >> 8) % 250)};
            memcpy(f->c.ip, ip, 4);
        }
        sl_syn_mac_of(f->c.ip, f->c.mac);
    }
    sl_syn_path_tunnel(x, f, t, (uint32_t)sl_syn_rng_below(r, 4));
    inner_app(x, f);
}

static void vlan(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint32_t seen)
{
    struct sl_syn_rng *r = &f->rng;
    /* The first five cover 802.1Q, QinQ, MPLS x1/x2 (then random), PPPoE. */
    static const uint8_t first[5] = {L2_DOT1Q, L2_QINQ, L2_MPLS, L2_PPPOE, L2_MPLS};
    enum sl_syn_l2 l2 = seen < 5 ? (enum sl_syn_l2)first[seen]
                                 : (enum sl_syn_l2)sl_syn_rng_range(r, L2_DOT1Q, L2_MAX - 1);
    client_server(x, f, sl_syn_rng_chance(r, 150), 80);
    sl_syn_path_l2(x, f, l2, seen < 5 ? seen : (uint32_t)sl_syn_rng_below(r, 6));
    inner_app(x, f);
}

static void fragments(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum kind k, uint32_t seen)
{
    struct sl_syn_rng *r = &f->rng;
    int v6 = seen < 8 ? (int)(seen & 1) : sl_syn_rng_chance(r, 500);
    f->frag.want = 1;
    f->frag.mtu = 1500;
    f->frag.order = (uint8_t)(seen < 8 ? (seen >> 1) & 3 : sl_syn_rng_below(r, 4));
    f->frag.ident = (uint32_t)sl_syn_rng_next(r);
    if (k == K_FRAG_UDP) {
        static const uint16_t ports[4] = {2049, 5001, 7000, 4172};
        client_server(x, f, v6, ports[sl_syn_rng_below(r, 4)]);
        sl_syn_udp_init(x, f, APP_GENERIC);
        f->u.udp.big = 1;
        f->u.udp.n_exch = (uint16_t)sl_syn_rng_range(r, 2, 5);
    } else if (k == K_FRAG_ICMP) {
        client_server(x, f, v6, 0);
        uint16_t size = (uint16_t)sl_syn_rng_range(r, 1500, 4500);
        sl_syn_icmp_init(x, f, size, (uint16_t)sl_syn_rng_range(r, 2, 5));
    } else {
        client_server(x, f, v6, 80);
        sl_syn_tcp_init(x, f, APP_HTTP);
        f->u.tcp.big_segs = 1;
        f->u.tcp.retx_seg = 0xffff;
    }
}

static void elephant(struct sl_syn_ctx *x, struct sl_syn_flow *f, int endless)
{
    struct sl_syn_rng *r = &f->rng;
    client_server(x, f, 0, 80);
    f->rtt = (uint32_t)sl_syn_rng_range(r, 10000, 60000);
    sl_syn_tcp_init(x, f, APP_BULK);
    f->u.tcp.retx_seg = 0xffff;
    f->u.tcp.close = 0;
    if (endless) {
        /* 3 elephants x (2 segments + 1 ACK) paced to fill ~60% of the
         * capture over --duration. */
        f->u.tcp.bulk = 4000000000ULL;
        uint64_t gap = x->duration_us * 15 / (x->packets * 2 + 1);
        f->u.tcp.gap = (uint32_t)(gap ? gap : 1);
    } else {
        uint64_t segs = heavy_segs(x);
        f->u.tcp.bulk = sl_syn_rng_range(r, segs / 2, segs) * 1460;
    }
}

/* Scans in the scan profile are full-size; in a mix, shorter. */
static void scanner(struct sl_syn_ctx *x, struct sl_syn_flow *f, int port_scan, int big)
{
    struct sl_syn_rng *r = &f->rng;
    if (sl_syn_rng_chance(r, 700))
        sl_syn_ep_external((uint32_t)sl_syn_rng_range(r, 60000, 65000), 0, &f->c);
    else
        sl_syn_ep_client(x, r, 0, &f->c);
    uint16_t n = port_scan ? (uint16_t)sl_syn_rng_range(r, 25, big ? 300 : 100)
                           : (uint16_t)sl_syn_rng_range(r, 40, big ? 254 : 80);
    sl_syn_scan_init(x, f, port_scan, n);
}

void sl_syn_flow_init(struct sl_syn_ctx *x, const struct sl_syn_profile *p, struct sl_syn_flow *f)
{
    struct sl_syn_rng *r = &f->rng;
    enum kind k;
    uint64_t nth = f->id;
    if (nth < p->n_lead)
        k = (enum kind)p->lead[nth];
    else if (nth - p->n_lead < p->n) /* then one of each kind, so small captures have all */
        k = (enum kind)p->kinds[nth - p->n_lead];
    else
        k = (enum kind)p->kinds[sl_syn_rng_pick(r, p->weights, p->n)];
    uint32_t seen = x->kind_seen[k]++;
    f->kind = (uint8_t)k;

    switch (k) {
    case K_WEB:
        web(x, f, sl_syn_rng_chance(r, 150));
        break;
    case K_DNS:
        dns_ends(x, f, sl_syn_rng_chance(r, 200));
        sl_syn_udp_init(x, f, APP_DNS);
        break;
    case K_DNS_TCP:
        dns_ends(x, f, sl_syn_rng_chance(r, 200));
        sl_syn_tcp_init(x, f, APP_DNS);
        break;
    case K_NTP:
        client_server(x, f, 0, 123);
        if (sl_syn_rng_chance(r, 400))
            f->cport = 123;
        sl_syn_udp_init(x, f, APP_NTP);
        break;
    case K_PING:
        client_server(x, f, sl_syn_rng_chance(r, 200), 0);
        sl_syn_icmp_init(x, f, 56, (uint16_t)sl_syn_rng_range(r, 1, 4));
        break;
    case K_UNREACH:
        client_server(x, f, seen & 1, (uint16_t)sl_syn_rng_range(r, 33434, 33534));
        sl_syn_udp_init(x, f, APP_UNREACH);
        break;
    case K_SCAN_ADDR:
    case K_SCAN_PORT:
        scanner(x, f, k == K_SCAN_PORT, !strcmp(p->name, "scan"));
        break;
    case K_FRAG_UDP:
    case K_FRAG_ICMP:
    case K_FRAG_TCP:
        fragments(x, f, k, seen);
        break;
    case K_TUNNEL:
        tunnel(x, f, seen);
        break;
    case K_VLAN:
        vlan(x, f, seen);
        break;
    case K_ELEPHANT:
        elephant(x, f, 1);
        break;
    case K_BULK:
        elephant(x, f, 0);
        break;
    case K_BAD:
        client_server(x, f, 0, 80);
        sl_syn_bad_init(x, f, (uint16_t)sl_syn_rng_range(r, 1, 4));
        break;
    case K_FLOOD:
    case K_FLOOD_BURST:
        sl_syn_ep_internal((uint32_t)sl_syn_rng_below(r, x->hosts), 0, &f->s);
        sl_syn_flood_init(x, f,
                          k == K_FLOOD ? UINT64_MAX
                                       : sl_syn_rng_range(r, heavy_segs(x) / 2, heavy_segs(x)));
        break;
    default:
        break;
    }
}
