/* UDP request/response machines (DNS, NTP, opaque application datagrams,
 * a closed port answered by an ICMP error) and ICMP echo. Large datagrams
 * are fragmented by sl_syn_emit() when the flow asks for it. */
#include <string.h>

#include "synth_dns.h"
#include "synth_int.h"

enum { U_REQ, U_RESP };

void sl_syn_udp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_app app)
{
    struct sl_syn_udp *u = &f->u.udp;
    struct sl_syn_rng *r = &f->rng;
    (void)x;
    f->mach = M_UDP;
    f->app = (uint8_t)app;
    u->phase = U_REQ;
    switch (app) {
    case APP_DNS: /* a stub asks A and AAAA from one socket, sometimes more */
        u->n_exch = (uint16_t)(sl_syn_rng_chance(r, 400) ? sl_syn_rng_range(r, 2, 4) : 1);
        break;
    case APP_NTP:
        u->n_exch = (uint16_t)sl_syn_rng_range(r, 1, 4);
        break;
    case APP_UNREACH:
        u->n_exch = (uint16_t)sl_syn_rng_range(r, 1, 3);
        break;
    default:
        u->n_exch = (uint16_t)sl_syn_rng_range(r, 1, 12);
        break;
    }
}

/* NTP v4 packet: client mode 3, server mode 4 with stratum and timestamps
 * taken from the capture clock (NTP era 0: seconds since 1900). */
static void ntp_fill(const struct sl_syn_flow *f, int dir, uint8_t *p)
{
    uint64_t secs = f->ts / 1000000 + 2208988800ULL;
    uint32_t frac = (uint32_t)(((f->ts % 1000000) << 32) / 1000000);
    p[0] = (uint8_t)(4 << 3 | (dir ? 4 : 3));
    p[1] = dir ? 2 : 0;
    p[2] = 6;
    p[3] = 0xe9;
    if (dir) {
        sl_syn_put32(p + 12, 0xc0000201); /* reference id */
        sl_syn_put32(p + 16, (uint32_t)secs - 40);
        sl_syn_put32(p + 24, (uint32_t)secs); /* origin: the client's transmit */
        sl_syn_put32(p + 28, frac - f->rtt * 4295u);
        sl_syn_put32(p + 32, (uint32_t)secs);
        sl_syn_put32(p + 36, frac - f->rtt * 2147u);
    }
    sl_syn_put32(p + 40, (uint32_t)secs);
    sl_syn_put32(p + 44, frac);
}

static uint32_t generic_len(struct sl_syn_ctx *x, struct sl_syn_flow *f, int dir)
{
    struct sl_syn_udp *u = &f->u.udp;
    uint32_t hdrs = (f->path.v6 ? 40 : 20) + 8;
    if (u->big && dir) /* an NFS read reply, a media chunk: 2-8 KB, fragmented */
        return (uint32_t)sl_syn_rng_range(&f->rng, 1600, 6000);
    uint32_t max = dir ? 1472 - sl_syn_path_overhead(&f->path) : 200;
    if (x->sizes == SL_SYN_SIZES_REAL)
        return (uint32_t)sl_syn_rng_logu(&f->rng, 16, max);
    return sl_syn_payload_size(x, &f->rng, hdrs, max);
}

/* The application payload of this exchange's message in direction dir. */
static int udp_payload(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    struct sl_syn_udp *u = &f->u.udp;
    uint8_t msg[2048];
    size_t n;
    switch (f->app) {
    case APP_DNS: {
        struct sl_syn_dns_q q;
        sl_syn_dns_pick(&q, f->seed + u->exch, 0);
        n = dir ? sl_syn_dns_response(&q, msg, sizeof(msg))
                : sl_syn_dns_query(&q, msg, sizeof(msg));
        return sl_sb_bytes(b, msg, n);
    }
    case APP_NTP: {
        uint8_t *p = sl_sb_put(b, 48);
        if (!p)
            return b->err;
        ntp_fill(f, dir, p);
        return 0;
    }
    case APP_UNREACH: /* a traceroute-style probe: 32 bytes of '@' */
        memset(msg, 0x40, 32);
        return sl_sb_bytes(b, msg, 32);
    default: {
        /* The length is drawn once per datagram; its fragments rebuild the
         * same bytes. */
        if (!f->frag.busy)
            u->dlen = (uint16_t)generic_len(x, f, dir);
        uint8_t *p = sl_sb_put(b, u->dlen);
        if (!p)
            return b->err;
        uint64_t base = sl_syn_mix64(f->seed + u->exch * 2u + (unsigned)dir);
        for (uint32_t i = 0; i < u->dlen; i += 8) {
            uint64_t v = sl_syn_mix64(base + i);
            for (uint32_t k = 0; k < 8 && i + k < u->dlen; k++)
                p[i + k] = (uint8_t)(v >> (8 * k));
        }
        return 0;
    }
    }
}

static uint16_t udp_port(const struct sl_syn_flow *f, int dir, int src)
{
    return (uint16_t)((dir == 0) == (src != 0) ? f->cport : f->sport);
}

static int udp_pkt(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir)
{
    sl_sb_reset(b);
    int ipl = sl_syn_path_push(f, b, dir);
    if (ipl < 0)
        return ipl;
    sl_sb_udp(b, udp_port(f, dir, 1), udp_port(f, dir, 0));
    int rc = udp_payload(x, f, b, dir);
    if (rc < 0)
        return rc;
    return sl_syn_emit(x, f, b, dir, ipl);
}

/* The closed port's answer: ICMP(v6) port unreachable quoting the probe
 * (its IP header as sent, the UDP header and payload). */
static int unreach_pkt(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_sb *q = &x->whole;
    sl_sb_reset(q);
    f->ipid[0]--; /* quote the probe with the IP id it was sent with */
    int rc = sl_syn_path_ip(f, q, 0);
    f->ipid[0]++;
    if (rc < 0)
        return rc;
    sl_sb_udp(q, f->cport, f->sport);
    if ((rc = udp_payload(x, f, q, 0)) < 0 || (rc = sl_sb_finish(q)) < 0)
        return rc;
    /* The router in between decremented the TTL the target saw. */
    q->buf[f->path.v6 ? 7 : 8] = (uint8_t)(q->buf[f->path.v6 ? 7 : 8] - 1);
    if (!f->path.v6) {
        q->buf[10] = q->buf[11] = 0;
        uint16_t s = (uint16_t)~sl_sb_csum_fold(sl_sb_csum_add(0, q->buf, 20));
        sl_syn_put16(q->buf + 10, s);
    }
    sl_sb_reset(b);
    int ipl = sl_syn_path_push(f, b, 1);
    if (ipl < 0)
        return ipl;
    if (f->path.v6)
        sl_sb_icmp6(b, 1, 4, 0);
    else
        sl_sb_icmp(b, 3, 3, 0);
    if ((rc = sl_sb_bytes(b, q->buf, q->len)) < 0)
        return rc;
    return sl_syn_emit(x, f, b, 1, ipl);
}

int sl_syn_udp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_udp *u = &f->u.udp;
    struct sl_syn_rng *r = &f->rng;
    int dir = u->phase == U_RESP;
    int rc = dir && f->app == APP_UNREACH ? unreach_pkt(x, f, b) : udp_pkt(x, f, b, dir);
    if (rc < 0)
        return rc;
    if (rc == 0) { /* more fragments of this datagram */
        f->ts += sl_syn_ser_gap(r, 1514);
        return SL_SYN_MORE;
    }
    if (!dir) {
        /* Now and then a query goes unanswered and the stub asks again. */
        if (f->app == APP_DNS && u->tries < 2 && sl_syn_rng_chance(r, 30)) {
            u->tries++;
            f->ts += 1000000 + sl_syn_rng_below(r, 1000000);
            return SL_SYN_MORE;
        }
        u->phase = U_RESP;
        f->ts += f->rtt + sl_syn_rng_logu(r, 50, f->app == APP_DNS ? 30000 : 2000);
        return SL_SYN_MORE;
    }
    u->tries = 0;
    if (++u->exch >= u->n_exch)
        return SL_SYN_DONE;
    u->phase = U_REQ;
    f->ts += f->app == APP_NTP ? sl_syn_rng_range(r, 1000000, 16000000)
                               : sl_syn_rng_logu(r, 100, 200000);
    return SL_SYN_MORE;
}

/* ICMP echo: a small first ping, then the flow's size (fragmented when
 * large), one a second, each answered an RTT later. */
enum { I_REQ, I_REPLY };

void sl_syn_icmp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, uint16_t size, uint16_t count)
{
    (void)x;
    f->mach = M_ICMP;
    f->u.icmp.id = (uint16_t)sl_syn_rng_next(&f->rng);
    f->u.icmp.size = size;
    f->u.icmp.n = count;
    f->u.icmp.phase = I_REQ;
}

int sl_syn_icmp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_icmp *e = &f->u.icmp;
    int dir = e->phase == I_REPLY;
    uint16_t size = e->seq == 0 ? 56 : e->size;

    sl_sb_reset(b);
    int ipl = sl_syn_path_push(f, b, dir);
    if (ipl < 0)
        return ipl;
    uint32_t rest = (uint32_t)e->id << 16 | (uint16_t)(e->seq + 1);
    if (f->path.v6)
        sl_sb_icmp6(b, dir ? 129 : 128, 0, rest);
    else
        sl_sb_icmp(b, dir ? 0 : 8, 0, rest);
    uint8_t *p = sl_sb_put(b, size);
    if (!p)
        return b->err;
    /* Like iputils ping: the send time (little-endian timeval), then the
     * byte pattern 0x10, 0x11, ... */
    uint64_t sent = f->t0 + (uint64_t)e->seq * 1000000;
    for (unsigned i = 0; i < size; i++)
        p[i] = (uint8_t)(i < 8    ? (sent / 1000000) >> (8 * i)
                         : i < 16 ? (sent % 1000000) >> (8 * (i - 8))
                                  : i);
    int rc = sl_syn_emit(x, f, b, dir, ipl);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        f->ts += sl_syn_ser_gap(&f->rng, 1514);
        return SL_SYN_MORE;
    }
    if (!dir) {
        e->phase = I_REPLY;
        f->ts += f->rtt;
        return SL_SYN_MORE;
    }
    if (++e->seq >= e->n)
        return SL_SYN_DONE;
    e->phase = I_REQ;
    uint64_t next = f->t0 + (uint64_t)e->seq * 1000000;
    f->ts = next > f->ts ? next : f->ts + 1;
    return SL_SYN_MORE;
}
