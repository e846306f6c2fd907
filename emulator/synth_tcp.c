/* The TCP conversation machine: handshake (or a rejected / unanswered SYN),
 * request and response exchanges with consistent sequence and
 * acknowledgement numbers, slow-start bursts or steady pacing, an occasional
 * retransmission (same sequence number, same bytes, one RTO later), and a
 * FIN or RST close. */
#include <stdint.h>

#include "synth_int.h"

enum { P_SYN, P_SYNACK, P_HSACK, P_DATA, P_RETX, P_ACK, P_FIN1, P_FIN2, P_LAST, P_RST, P_REJECT };
enum { OPEN_OK, OPEN_REJECT, OPEN_SILENT };

#define NO_RETX 0xffff

void sl_syn_tcp_init(struct sl_syn_ctx *x, struct sl_syn_flow *f, enum sl_syn_app app)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_syn_rng *r = &f->rng;
    static const unsigned close_w[4] = {45, 35, 12, 8};

    f->mach = M_TCP;
    f->app = (uint8_t)app;
    t->isn[0] = (uint32_t)sl_syn_rng_next(r);
    t->isn[1] = (uint32_t)sl_syn_rng_next(r);
    t->n_exch = 1;
    if (app == APP_HTTP && sl_syn_rng_chance(r, 400))
        t->n_exch = (uint16_t)sl_syn_rng_range(r, 2, 6);
    if (app == APP_DNS && sl_syn_rng_chance(r, 300))
        t->n_exch = 2;
    t->close = (uint8_t)sl_syn_rng_pick(r, close_w, 4);
    t->retx_seg = sl_syn_rng_chance(r, 100) ? (uint16_t)sl_syn_rng_below(r, 3) : NO_RETX;
    unsigned hdr = f->path.v6 ? 60 : 40;
    unsigned mtu = x->sizes > 1500 ? (unsigned)x->sizes : 1500;
    t->mss = (uint16_t)(mtu - hdr - sl_syn_path_overhead(&f->path));
    t->cwnd = 10;
    if (sl_syn_rng_chance(r, 600))
        t->ts0 = (uint32_t)sl_syn_rng_next(r) | 1;
    t->phase = P_SYN;
}

/* The TCP timestamp clock of one side: a random origin plus milliseconds. */
static uint32_t ts_clock(const struct sl_syn_flow *f, int dir, uint64_t at)
{
    uint32_t base = dir ? (uint32_t)sl_syn_mix64(f->u.tcp.ts0) : f->u.tcp.ts0;
    uint64_t ms = at > f->t0 ? (at - f->t0) / 1000 : 0;
    return (base + (uint32_t)ms) | 1;
}

/* Builds and emits one segment. Returns sl_syn_emit()'s result. */
static int seg(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int dir, uint8_t flags,
               uint32_t seq, uint32_t ack, uint64_t off, uint32_t len)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_sb_tcp h = {
        .sport = dir ? f->sport : f->cport,
        .dport = dir ? f->cport : f->sport,
        .seq = seq,
        .ack = (flags & 0x10) ? ack : 0,
        .flags = flags,
        .win = dir ? 509 : 502, /* scaled by 2^7: ~64 KiB */
    };
    if (flags & 0x02) {
        h.win = dir ? 65160 : 64240;
        h.mss = t->big_segs ? 8960 : t->mss;
        h.sack_ok = 1;
        h.ws_opt = 1 + 7;
    }
    if (flags & 0x04)
        h.win = 0;
    if (t->ts0) {
        /* Echo what the peer last stamped: the client's packets were seen
         * an RTT before the server answers them; the server's just now. */
        h.ts_val = ts_clock(f, dir, f->ts);
        if (flags != 0x02)
            h.ts_ecr = ts_clock(f, !dir, dir && f->ts >= f->t0 + f->rtt ? f->ts - f->rtt : f->ts);
    }
    sl_sb_reset(b);
    int ipl = sl_syn_path_push(f, b, dir);
    if (ipl < 0)
        return ipl;
    sl_sb_tcp(b, &h);
    if (len) {
        uint8_t *p = sl_sb_put(b, len);
        if (!p)
            return b->err;
        sl_syn_app_fill(f, dir, t->exch, off, p, len);
    }
    return sl_syn_emit(x, f, b, dir, ipl);
}

static void msg_start(struct sl_syn_flow *f, int dir)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    t->dir = (uint8_t)dir;
    t->msg_len = sl_syn_app_len(f, dir, t->exch);
    t->msg_off = 0;
    t->unacked = 0;
    t->burst_left = t->cwnd;
}

static uint32_t small_delay(struct sl_syn_flow *f)
{
    return (uint32_t)sl_syn_rng_range(&f->rng, 20, 300);
}

static int start_close(struct sl_syn_flow *f)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_syn_rng *r = &f->rng;
    switch (t->close) {
    case CLOSE_FIN_C:
        t->phase = P_FIN1;
        f->ts += sl_syn_rng_logu(r, 1000, 5000000);
        break;
    case CLOSE_FIN_S:
        t->phase = P_FIN1;
        f->ts += small_delay(f);
        break;
    case CLOSE_RST_C:
        t->phase = P_RST;
        f->ts += sl_syn_rng_logu(r, 1000, 2000000);
        break;
    default:
        t->phase = P_RST;
        f->ts += small_delay(f);
        break;
    }
    return SL_SYN_MORE;
}

static uint32_t think(struct sl_syn_rng *r, uint32_t lo, uint32_t hi)
{
    return (uint32_t)sl_syn_rng_logu(r, lo, hi);
}

/* After a complete data segment (or its retransmission): what comes next. */
static int after_data(struct sl_syn_flow *f)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_syn_rng *r = &f->rng;
    int done = t->msg_off >= t->msg_len;
    uint32_t gap = sl_syn_ser_gap(r, t->seg_len + 54);

    if (t->dir == 1) { /* the client receives: it acks every second segment */
        if (t->unacked >= 2 || done) {
            t->phase = P_ACK;
            f->ts += small_delay(f) / 4 + 5;
        } else if (t->gap) {
            f->ts += t->gap + sl_syn_rng_below(r, t->gap / 8 + 1);
        } else if (!t->burst_left) {
            f->ts += f->rtt;
        } else {
            f->ts += gap;
        }
        return SL_SYN_MORE;
    }
    /* The server receives: its ACK is seen an RTT after the burst. */
    if (done && sl_syn_rng_chance(r, 500)) {
        /* ... or it answers at once, the response acknowledging the request. */
        msg_start(f, 1);
        t->phase = P_DATA;
        f->ts += f->rtt + think(r, 100, 20000);
        return SL_SYN_MORE;
    }
    if (done || !t->burst_left) {
        t->phase = P_ACK;
        f->ts += f->rtt;
        return SL_SYN_MORE;
    }
    f->ts += gap;
    return SL_SYN_MORE;
}

static void grow(struct sl_syn_tcp *t)
{
    t->cwnd = t->cwnd < 32 ? (uint16_t)(t->cwnd * 2) : 44;
    t->burst_left = t->cwnd;
}

/* The receiver's pure ACK; then more data, the response, another exchange
 * or the close. */
static int ack_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_syn_rng *r = &f->rng;
    int d = t->dir;
    int rc = seg(x, f, b, !d, 0x10, t->nxt[!d], t->nxt[d], 0, 0);
    if (rc < 0)
        return rc;
    t->unacked = 0;
    if (t->msg_off < t->msg_len) {
        t->phase = P_DATA;
        if (d == 1 && t->gap) {
            f->ts += t->gap;
        } else if (!t->burst_left) {
            grow(t);
            /* Near receiver: the next burst is clocked by ACKs an RTT away;
             * far receiver: the client sends on as soon as this ACK lands. */
            f->ts += d == 1 ? f->rtt : small_delay(f);
        } else {
            f->ts += sl_syn_ser_gap(r, 1514);
        }
        return SL_SYN_MORE;
    }
    if (d == 0) {
        msg_start(f, 1);
        t->phase = P_DATA;
        f->ts += think(r, 100, 30000);
        return SL_SYN_MORE;
    }
    if (++t->exch < t->n_exch) {
        msg_start(f, 0);
        t->phase = P_DATA;
        f->ts += think(r, 500, 2000000);
        return SL_SYN_MORE;
    }
    return start_close(f);
}

static int data_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b, int retx)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    struct sl_syn_rng *r = &f->rng;
    int d = t->dir;

    if (!retx && !f->frag.busy) {
        uint64_t left = t->msg_len - t->msg_off;
        /* The timestamp option takes 12 bytes of every segment's MSS. */
        uint32_t max =
            t->big_segs ? (uint32_t)sl_syn_rng_range(r, 2000, 4000) : t->mss - (t->ts0 ? 12u : 0u);
        if (left < max)
            max = (uint32_t)left;
        uint32_t hdrs = (f->path.v6 ? 40 : 20) + (t->ts0 ? 32 : 20);
        t->seg_len = t->big_segs ? max : sl_syn_payload_size(x, r, hdrs, max);
        t->seg_seq = t->nxt[d];
        t->seg_off = t->msg_off;
    }
    uint8_t flags = 0x10 | (t->seg_off + t->seg_len >= t->msg_len ? 0x08 : 0);
    int rc = seg(x, f, b, d, flags, t->seg_seq, t->nxt[!d], t->seg_off, t->seg_len);
    if (rc < 0)
        return rc;
    if (rc == 0) { /* more fragments of this segment follow */
        f->ts += sl_syn_ser_gap(r, 1514);
        return SL_SYN_MORE;
    }
    if (retx) {
        t->retx_seg = NO_RETX;
        t->phase = P_DATA;
        return after_data(f);
    }
    t->nxt[d] += t->seg_len;
    t->msg_off += t->seg_len;
    t->unacked++;
    if (t->burst_left)
        t->burst_left--;
    if (t->seg_count++ == t->retx_seg) {
        t->phase = P_RETX;
        f->ts += 200000 + f->rtt + sl_syn_rng_below(r, 100000);
        return SL_SYN_MORE;
    }
    return after_data(f);
}

static int open_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    int rc;
    switch (t->phase) {
    case P_SYN:
        if ((rc = seg(x, f, b, 0, 0x02, t->isn[0], 0, 0, 0)) < 0)
            return rc;
        if (t->open == OPEN_REJECT) {
            t->phase = P_REJECT;
            f->ts += f->rtt;
        } else if (t->open == OPEN_SILENT) {
            if (++t->tries >= 3)
                return SL_SYN_DONE;
            f->ts += 1000000ULL << (t->tries - 1); /* the SYN retransmission timer */
        } else {
            t->phase = P_SYNACK;
            f->ts += f->rtt;
        }
        return SL_SYN_MORE;
    case P_REJECT:
        rc = seg(x, f, b, 1, 0x14, 0, t->isn[0] + 1, 0, 0);
        return rc < 0 ? rc : SL_SYN_DONE;
    case P_SYNACK:
        if ((rc = seg(x, f, b, 1, 0x12, t->isn[1], t->isn[0] + 1, 0, 0)) < 0)
            return rc;
        t->nxt[0] = t->isn[0] + 1;
        t->nxt[1] = t->isn[1] + 1;
        t->phase = P_HSACK;
        f->ts += small_delay(f);
        return SL_SYN_MORE;
    default: /* P_HSACK */
        if ((rc = seg(x, f, b, 0, 0x10, t->nxt[0], t->nxt[1], 0, 0)) < 0)
            return rc;
        msg_start(f, 0);
        t->phase = P_DATA;
        f->ts += think(&f->rng, 50, 3000);
        return SL_SYN_MORE;
    }
}

static int close_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    struct sl_syn_tcp *t = &f->u.tcp;
    int c = t->close == CLOSE_FIN_S || t->close == CLOSE_RST_S; /* who closes */
    int rc;
    switch (t->phase) {
    case P_RST:
        rc = seg(x, f, b, c, 0x14, t->nxt[c], t->nxt[!c], 0, 0);
        return rc < 0 ? rc : SL_SYN_DONE;
    case P_FIN1:
        if ((rc = seg(x, f, b, c, 0x11, t->nxt[c], t->nxt[!c], 0, 0)) < 0)
            return rc;
        t->nxt[c]++;
        t->phase = P_FIN2;
        f->ts += c == 0 ? f->rtt : small_delay(f);
        return SL_SYN_MORE;
    case P_FIN2:
        if ((rc = seg(x, f, b, !c, 0x11, t->nxt[!c], t->nxt[c], 0, 0)) < 0)
            return rc;
        t->nxt[!c]++;
        t->phase = P_LAST;
        f->ts += c == 0 ? small_delay(f) : f->rtt;
        return SL_SYN_MORE;
    default: /* P_LAST */
        rc = seg(x, f, b, c, 0x10, t->nxt[c], t->nxt[!c], 0, 0);
        return rc < 0 ? rc : SL_SYN_DONE;
    }
}

int sl_syn_tcp_step(struct sl_syn_ctx *x, struct sl_syn_flow *f, struct sl_sb *b)
{
    switch (f->u.tcp.phase) {
    case P_SYN:
    case P_REJECT:
    case P_SYNACK:
    case P_HSACK:
        return open_step(x, f, b);
    case P_DATA:
        return data_step(x, f, b, 0);
    case P_RETX:
        return data_step(x, f, b, 1);
    case P_ACK:
        return ack_step(x, f, b);
    default:
        return close_step(x, f, b);
    }
}
