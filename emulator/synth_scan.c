/* Hostile traffic: SYN scans (one scanner probing many hosts on one port,
 * or many ports of one host) and SYN floods from spoofed sources. */
#include <string.h>

#include "synth_int.h"

enum { S_PROBE, S_REPLY, S_RST };
enum { OUT_SILENT, OUT_OPEN, OUT_CLOSED };

static const uint16_t scan_ports[] = {22, 23, 445, 3389, 80, 8080, 5900, 1433};
static const uint16_t open_ports[] = {22, 80, 443, 25, 53, 3306, 8080, 5432};

void sl_syn_scan_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, int port_scan, uint16_t probes)
{
    struct sl_syn_scan *s = &f->u.scan;
    struct sl_syn_rng *r = &f->rng;
    f->mach = M_SCAN;
    s->mode = (uint8_t)port_scan;
    s->n = probes;
    s->gap = (uint32_t)sl_syn_rng_range(r, 3000, 150000); /* 7-330 probes a second */
    s->port = scan_ports[sl_syn_rng_below(r, sizeof(scan_ports) / sizeof(scan_ports[0]))];
    s->port0 = (uint16_t)(sl_syn_rng_chance(r, 500) ? 1 : sl_syn_rng_range(r, 1, 1000));
    /* Address scans sweep a /24 of the internal range from .1 upwards. */
    uint32_t nets = x->hosts / 254 + 1;
    s->base = (uint32_t)sl_syn_rng_below(r, nets) * 254;
    f->cport = sl_syn_ephemeral_port(r);
    f->rtt = (uint32_t)sl_syn_rng_range(r, 300, 3000);
    f->ttl[0] = 64;
    f->ttl[1] = 64;
    if (port_scan) /* the victim: one internal host that exists */
        sl_syn_ep_internal((uint32_t)sl_syn_rng_below(r, x->hosts), 0, &f->s);
}

/* What the probe's target does: hosts outside the pool do not answer; a
 * port is open on some hosts, closed (RST) on most, filtered on a few. */
static uint8_t outcome(struct sl_syn_ctx *x, uint32_t host, uint16_t port)
{
    if (host >= x->hosts)
        return OUT_SILENT;
    uint64_t h = sl_syn_mix64(x->seed ^ ((uint64_t)host << 16 | port));
    int likely = 0;
    for (unsigned i = 0; i < sizeof(open_ports) / sizeof(open_ports[0]); i++)
        likely |= open_ports[i] == port;
    if (h % 100 < (likely ? 40u : 2u))
        return OUT_OPEN;
    return h % 100 < 92 ? OUT_CLOSED : OUT_SILENT;
}

static int scan_seg(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir,
                    uint8_t flags, uint32_t seq, uint32_t ack)
{
    sl_sb_reset(b);
    int ipl = sl_syn_path_push(f, b, dir);
    if (ipl < 0)
        return ipl;
    struct sl_sb_tcp t = {
        .sport = dir ? f->sport : f->cport,
        .dport = dir ? f->cport : f->sport,
        .seq = seq,
        .ack = ack,
        .flags = flags,
        .win = (flags & 0x04) ? 0
               : dir          ? 64240
                              : 1024,
        .mss = (flags & 0x02) ? 1460 : 0,
    };
    sl_sb_tcp(b, &t);
    return sl_syn_emit(x, f, b, dir, ipl);
}

int sl_syn_scan_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_scan *s = &f->u.scan;
    struct sl_syn_rng *r = &f->rng;
    uint32_t seq = (uint32_t)sl_syn_mix64(f->seed + s->i); /* per probe, like nmap */
    uint32_t host = s->mode ? 0 : s->base + s->i;
    int rc;

    switch (s->phase) {
    case S_PROBE:
        f->sport = s->mode ? (uint16_t)(s->port0 + s->i) : s->port;
        if (!s->mode)
            sl_syn_ep_internal(host, 0, &f->s);
        if ((rc = scan_seg(x, f, b, 0, 0x02, seq, 0)) < 0)
            return rc;
        s->outcome = outcome(x, s->mode ? 0 : host, f->sport);
        if (s->outcome != OUT_SILENT) {
            s->phase = S_REPLY;
            f->ts += f->rtt;
            return SL_SYN_MORE;
        }
        break;
    case S_REPLY:
        if (s->outcome == OUT_OPEN) {
            rc = scan_seg(x, f, b, 1, 0x12, (uint32_t)sl_syn_rng_next(r), seq + 1);
            s->phase = S_RST;
            f->ts += (uint32_t)sl_syn_rng_range(r, 10, 80);
            return rc < 0 ? rc : SL_SYN_MORE;
        }
        if ((rc = scan_seg(x, f, b, 1, 0x14, 0, seq + 1)) < 0)
            return rc;
        break;
    default: /* the scanner's kernel resets the half-open connection */
        if ((rc = scan_seg(x, f, b, 0, 0x04, seq + 1, 0)) < 0)
            return rc;
        break;
    }
    s->phase = S_PROBE;
    if (++s->i >= s->n)
        return SL_SYN_DONE;
    f->ts += s->gap / 2 + sl_syn_rng_below(r, s->gap);
    return SL_SYN_MORE;
}

enum { F_SYN, F_SYNACK };

void sl_syn_flood_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint64_t syns)
{
    struct sl_syn_flood *fl = &f->u.flood;
    f->mach = M_FLOOD;
    fl->left = syns;
    /* The flood's SYN rate: unbounded floods fill ~85% of the capture. */
    uint64_t gap = syns == UINT64_MAX ? x->duration_us * 2 / (x->packets + 1)
                                      : (uint64_t)sl_syn_rng_range(&f->rng, 20, 400);
    fl->gap = (uint32_t)(gap ? gap : 1);
    f->sport = 80;
    f->ttl[1] = 64;
    f->rtt = 40;
}

/* A random unicast source outside the private ranges: what a flood tool
 * spoofs. */
static void spoof(struct sl_syn_rng *r, struct sl_syn_ep *e)
{
    uint32_t a;
    do
        a = (uint32_t)sl_syn_rng_next(r);
    while ((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 || (a >> 24) >= 224 ||
           (a >> 16) == 0xc0a8 || (a >> 20) == 0xac1);
    memset(e, 0, sizeof(*e));
    e->ip[0] = (uint8_t)(a >> 24), e->ip[1] = (uint8_t)(a >> 16);
    e->ip[2] = (uint8_t)(a >> 8), e->ip[3] = (uint8_t)a;
    sl_syn_mac_of(e->ip, e->mac);
}

int sl_syn_flood_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_flood *fl = &f->u.flood;
    struct sl_syn_rng *r = &f->rng;
    int rc;
    if (fl->phase == F_SYN) {
        spoof(r, &f->c);
        f->cport = (uint16_t)sl_syn_rng_range(r, 1024, 65535);
        f->ttl[0] = (uint8_t)sl_syn_rng_range(r, 40, 250);
        fl->seq = (uint32_t)sl_syn_rng_next(r);
        if ((rc = scan_seg(x, f, b, 0, 0x02, fl->seq, 0)) < 0)
            return rc;
        /* The server answers most SYNs (SYN cookies) until it drops some. */
        if (sl_syn_rng_chance(r, 700)) {
            fl->phase = F_SYNACK;
            f->ts += f->rtt;
            return SL_SYN_MORE;
        }
    } else {
        rc = scan_seg(x, f, b, 1, 0x12, (uint32_t)sl_syn_rng_next(r), fl->seq + 1);
        if (rc < 0)
            return rc;
        fl->phase = F_SYN;
    }
    if (fl->left != UINT64_MAX && --fl->left == 0)
        return SL_SYN_DONE;
    f->ts += fl->gap / 2 + sl_syn_rng_below(r, fl->gap);
    return SL_SYN_MORE;
}
