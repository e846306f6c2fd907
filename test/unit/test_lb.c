/* The balancer decision on decoded hand-built frames: both directions,
 * fragments in and out of order, hold timeouts, ICMP errors, tunnels over
 * fragmented outer IP, liveness, counters. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frames.h"
#include "sl_flow.h"
#include "sl_lb.h"
#include "sl_pkt.h"
#include "sl_rdv.h"
#include "srcdir.h"

/* Calls into Check only on failure (a passing ck_assert costs a write). */
#define QUICK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

#define MS 1000000ull

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static struct taddr rnd_addr(int v)
{
    struct taddr t = {.v = v};
    for (int i = 0; i < 16; i++)
        t.b[i] = (uint8_t)rnd();
    if (v == 4) {
        memset(t.b + 4, 0, 12);
        t.b[0] = (uint8_t)(1 + t.b[0] % 223);
    } else {
        t.b[0] = 0x20;
    }
    return t;
}

/* A frame and its decoding. */
struct fr {
    uint8_t b[2048];
    size_t n;
    struct sl_pkt p;
};

static void dec(struct fr *f)
{
    sl_pkt_decode(&f->p, f->b, (uint32_t)f->n, SL_DLT_EN10MB);
    QUICK(f->p.n_ip > 0 || f->n < 34, "frame did not decode (%s)", f->p.weird ? f->p.weird : "-");
}

static struct fr *simple(const struct taddr *s, const struct taddr *d, uint8_t proto, uint16_t sp,
                         uint16_t dp)
{
    struct fr *f = calloc(1, sizeof(*f));
    f->n = build_simple(f->b, s, d, proto, sp, dp, 20);
    dec(f);
    return f;
}

/* A UDP/TCP datagram of `len` payload bytes cut into fragments of `mtu`
 * payload bytes (a multiple of 8). Returns how many (at most 8). */
static int fragments(struct fr **out, const struct taddr *s, const struct taddr *d, uint8_t proto,
                     uint16_t sp, uint16_t dp, size_t len, size_t mtu, uint32_t id)
{
    static uint8_t l4[8192];
    size_t n = build_l4(l4, s, d, proto, sp, dp, len);
    int k = 0;
    for (size_t off = 0; off < n && k < 8; off += mtu, k++) {
        size_t part = n - off < mtu ? n - off : mtu;
        out[k] = calloc(1, sizeof(struct fr));
        out[k]->n = build_frame(out[k]->b, s, d, proto, l4, off, part, off + part < n, id);
        dec(out[k]);
    }
    return k;
}

static void free_all(struct fr **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

struct bal {
    struct sl_rdv rdv;
    struct sl_lb *lb;
};

static void bal_init(struct bal *b, enum sl_hash_mode m, unsigned workers,
                     const struct sl_lb_conf *c)
{
    ck_assert_int_eq(sl_rdv_init(&b->rdv, workers), 0);
    struct sl_lb_conf conf = {0};
    if (c)
        conf = *c;
    conf.mode = m;
    b->lb = sl_lb_new(&conf, &b->rdv);
    ck_assert_ptr_nonnull(b->lb);
}

static int pick(struct bal *b, const struct fr *f, uint64_t now, void *cookie,
                enum sl_lb_reason *why)
{
    enum sl_lb_reason w;
    int r = sl_lb_pick(b->lb, &f->p, now, cookie, &w);
    if (why)
        *why = w;
    return r;
}

/* ------------------------------------------------------------------------ */

START_TEST(new_validates)
{
    struct sl_rdv r;
    sl_rdv_init(&r, 2);
    errno = 0;
    ck_assert_ptr_null(sl_lb_new(NULL, &r));
    ck_assert_int_eq(errno, EINVAL);
    struct sl_lb_conf c = {.mode = SL_HASH_MAX};
    errno = 0;
    ck_assert_ptr_null(sl_lb_new(&c, &r));
    ck_assert_int_eq(errno, EINVAL);
    c.mode = SL_HASH_SYM5;
    ck_assert_ptr_null(sl_lb_new(&c, NULL));
    struct sl_lb *lb = sl_lb_new(&c, &r);
    ck_assert_ptr_nonnull(lb);
    sl_lb_free(lb);
    sl_lb_free(NULL);
}
END_TEST

START_TEST(both_directions_same_worker)
{
    static uint8_t l4[1600], inner[1600], up[1600];
    for (int m = 0; m < SL_HASH_MAX; m++) {
        struct bal b;
        bal_init(&b, (enum sl_hash_mode)m, 8, NULL);
        unsigned seen[8] = {0};
        for (int i = 0; i < 400; i++) {
            int v = (i & 1) ? 6 : 4;
            struct taddr a = rnd_addr(v), c = rnd_addr(v);
            uint16_t pa = (uint16_t)rnd(), pc = (uint16_t)rnd();
            struct fr *x = calloc(1, sizeof(*x)), *y = calloc(1, sizeof(*y));
            switch (i % 4) {
            case 0:
            case 1:
                x->n = build_simple(x->b, &a, &c, (i & 2) ? 6 : 17, pa, pc, 10);
                y->n = build_simple(y->b, &c, &a, (i & 2) ? 6 : 17, pc, pa, 10);
                break;
            case 2: /* ICMP echo request / reply */
                x->n = build_icmp(x->b, &a, &c, v == 4 ? 8 : 128, 0, 16);
                y->n = build_icmp(y->b, &c, &a, v == 4 ? 0 : 129, 0, 16);
                break;
            default: { /* a tunnelled flow, return traffic in the reverse tunnel */
                struct taddr ia = rnd_addr(4), ic = rnd_addr(4);
                size_t n4 = build_l4(l4, &ia, &ic, 6, pa, pc, 5);
                size_t ni = build_ip(inner, &ia, &ic, 6, l4, 0, n4, false, 1);
                size_t nu = build_gtpu(up, &a, &c, 1, inner, ni);
                x->n = build_frame(x->b, &a, &c, 17, up, 0, nu, false, 2);
                n4 = build_l4(l4, &ic, &ia, 6, pc, pa, 5);
                ni = build_ip(inner, &ic, &ia, 6, l4, 0, n4, false, 1);
                nu = build_gtpu(up, &c, &a, 2, inner, ni);
                y->n = build_frame(y->b, &c, &a, 17, up, 0, nu, false, 2);
            }
            }
            dec(x);
            dec(y);
            int wx = pick(&b, x, 0, NULL, NULL), wy = pick(&b, y, 0, NULL, NULL);
            QUICK(wx >= 0 && wx == wy, "mode %s flow %d: %d vs %d",
                  sl_hash_mode_name((enum sl_hash_mode)m), i, wx, wy);
            seen[wx]++;
            free(x);
            free(y);
        }
        for (int w = 0; w < 8; w++)
            ck_assert_msg(seen[w] > 0, "mode %s never used worker %d",
                          sl_hash_mode_name((enum sl_hash_mode)m), w);
        sl_lb_free(b.lb);
    }
}
END_TEST

/* A TCP packet whose header is too broken to analyse (data offset < 5) is
 * still filed by the analyzer under its connection's ports, so the balancer
 * must send it where the connection goes. */
START_TEST(broken_tcp_header_stays_with_connection)
{
    for (int m = 0; m < SL_HASH_MAX; m++) {
        struct bal b;
        bal_init(&b, (enum sl_hash_mode)m, 8, NULL);
        for (int i = 0; i < 200; i++) {
            int v = (i & 1) ? 6 : 4;
            struct taddr a = rnd_addr(v), c = rnd_addr(v);
            uint16_t pa = (uint16_t)rnd(), pc = (uint16_t)rnd();
            struct fr *good = simple(&a, &c, 6, pa, pc);
            struct fr *bad = calloc(1, sizeof(*bad));
            bad->n = build_simple(bad->b, &c, &a, 6, pc, pa, 20);
            bad->b[14 + (v == 4 ? 20 : 40) + 12] = 4 << 4;
            sl_pkt_decode(&bad->p, bad->b, (uint32_t)bad->n, SL_DLT_EN10MB);
            QUICK(bad->p.weird && !strcmp(bad->p.weird, "bad_TCP_header_len"), "weird %s",
                  bad->p.weird ? bad->p.weird : "-");
            int wg = pick(&b, good, 0, NULL, NULL), wb = pick(&b, bad, 0, NULL, NULL);
            QUICK(wg >= 0 && wg == wb, "mode %s flow %d: %d vs %d",
                  sl_hash_mode_name((enum sl_hash_mode)m), i, wg, wb);
            free(good);
            free(bad);
        }
        sl_lb_free(b.lb);
    }
}
END_TEST

START_TEST(non_ip_by_mac_pair)
{
    struct bal b;
    bal_init(&b, SL_HASH_SYM5, 8, NULL);
    unsigned seen[8] = {0};
    for (int i = 0; i < 200; i++) {
        struct fr x = {0}, y = {0};
        uint8_t m1 = (uint8_t)rnd(), m2 = (uint8_t)rnd();
        x.n = build_eth(x.b, m1, m2, 0x0806) + 28;
        y.n = build_eth(y.b, m2, m1, 0x0806) + 28;
        x.b[7] = y.b[1] = (uint8_t)i; /* more MAC variety */
        sl_pkt_decode(&x.p, x.b, (uint32_t)x.n, SL_DLT_EN10MB);
        sl_pkt_decode(&y.p, y.b, (uint32_t)y.n, SL_DLT_EN10MB);
        enum sl_lb_reason r1, r2;
        int w1 = pick(&b, &x, 0, NULL, &r1), w2 = pick(&b, &y, 0, NULL, &r2);
        QUICK(w1 >= 0 && w1 == w2, "ARP %d: %d vs %d", i, w1, w2);
        QUICK(r1 == SL_LB_NON_IP && r2 == SL_LB_NON_IP, "reason %d", r1);
        seen[w1]++;
    }
    for (int w = 0; w < 8; w++)
        ck_assert_uint_gt(seen[w], 0);
    sl_lb_free(b.lb);
}
END_TEST

/* Fragments in order follow their first fragment, which goes where the
 * flow's unfragmented packets go. Many flows, so the sym3 fallback (a
 * different worker 7 times in 8) cannot pass by luck. */
START_TEST(in_order_fragments_follow_first)
{
    for (int m = 0; m < SL_HASH_MAX; m++) {
        struct bal b;
        bal_init(&b, (enum sl_hash_mode)m, 8, NULL);
        for (int i = 0; i < 200; i++) {
            int v = (i & 1) ? 6 : 4;
            struct taddr a = rnd_addr(v), c = rnd_addr(v);
            uint16_t pa = (uint16_t)rnd(), pc = (uint16_t)rnd();
            uint8_t proto = (i & 2) ? 6 : 17;
            struct fr *fr[8];
            int nf = fragments(fr, &a, &c, proto, pa, pc, 3000, 1232, (uint32_t)rnd() & 0xffff);
            ck_assert_int_eq(nf, 3);
            QUICK(fr[0]->p.ip[0].flags & SL_IPF_FIRST_FRAG, "no first fragment flag");
            struct fr *plain = simple(&a, &c, proto, pa, pc);
            struct fr *back = simple(&c, &a, proto, pc, pa);
            int w = pick(&b, plain, 10, NULL, NULL);
            QUICK(pick(&b, back, 10, NULL, NULL) == w, "reverse differs");
            enum sl_lb_reason why;
            QUICK(pick(&b, fr[0], 11, NULL, &why) == w, "mode %s: first fragment left its flow",
                  sl_hash_mode_name((enum sl_hash_mode)m));
            QUICK(why == SL_LB_FLOW, "first fragment reason %d", why);
            for (int k = 1; k < nf; k++) {
                int wk = pick(&b, fr[k], 12, NULL, &why);
                QUICK(wk == w, "mode %s flow %d: fragment %d to %d, flow on %d",
                      sl_hash_mode_name((enum sl_hash_mode)m), i, k, wk, w);
                bool table = m != SL_HASH_SYM3 && m != SL_HASH_SYM2;
                QUICK(why == (table ? SL_LB_FRAG_HIT : SL_LB_FLOW), "reason %d", why);
            }
            free(plain);
            free(back);
            free_all(fr, nf);
        }
        struct sl_lb_stats st;
        sl_lb_stats(b.lb, &st);
        if (m != SL_HASH_SYM3 && m != SL_HASH_SYM2) {
            ck_assert_uint_eq(st.frag_inserted, 200);
            ck_assert_uint_eq(st.frag_hits, 400);
        }
        ck_assert_uint_eq(st.frag_held, 0);
        sl_lb_free(b.lb);
    }
}
END_TEST

START_TEST(out_of_order_held_and_released)
{
    const enum sl_hash_mode modes[] = {SL_HASH_SYM5, SL_HASH_INNER_SYM5, SL_HASH_TOEPLITZ};
    for (size_t mi = 0; mi < 3; mi++) {
        struct bal b;
        bal_init(&b, modes[mi], 8, NULL);
        for (int i = 0; i < 100; i++) {
            int v = (i & 1) ? 6 : 4;
            struct taddr a = rnd_addr(v), c = rnd_addr(v);
            uint16_t pa = (uint16_t)rnd(), pc = (uint16_t)rnd();
            struct fr *fr[8];
            int nf = fragments(fr, &a, &c, 17, pa, pc, 4000, 1400, (uint32_t)i + 1);
            ck_assert_int_eq(nf, 3);
            struct fr *plain = simple(&a, &c, 17, pa, pc);
            int w = pick(&b, plain, 0, NULL, NULL);
            enum sl_lb_reason why;
            uint64_t t = 1000 + (uint64_t)i * MS;
            QUICK(pick(&b, fr[2], t, fr[2], &why) == SL_LB_HELD, "last fragment not held");
            QUICK(why == SL_LB_FRAG_HELD, "reason %d", why);
            QUICK(pick(&b, fr[1], t + 1, fr[1], &why) == SL_LB_HELD, "middle fragment not held");
            struct sl_lb_released out[4];
            QUICK(sl_lb_release(b.lb, t + 2, out, 4) == 0, "released before the first");
            QUICK(pick(&b, fr[0], t + 3, NULL, &why) == w, "first fragment left its flow");
            unsigned n = sl_lb_release(b.lb, t + 3, out, 4);
            QUICK(n == 2, "released %u", n);
            /* arrival order, the flow's worker */
            QUICK(out[0].cookie == fr[2] && out[1].cookie == fr[1], "order/cookies");
            for (unsigned k = 0; k < n; k++)
                QUICK(out[k].worker == w && out[k].why == SL_LB_FRAG_RELEASED,
                      "held fragment went to %d (%d), flow on %d", out[k].worker, out[k].why, w);
            QUICK(sl_lb_release(b.lb, t + 3, out, 4) == 0, "released twice");
            free(plain);
            free_all(fr, nf);
        }
        struct sl_lb_stats st;
        sl_lb_stats(b.lb, &st);
        ck_assert_uint_eq(st.frag_held, 200);
        ck_assert_uint_eq(st.frag_released, 200);
        ck_assert_uint_eq(st.frag_orphans, 0);
        ck_assert_uint_eq(st.held_now, 0);
        sl_lb_free(b.lb);
    }
}
END_TEST

START_TEST(hold_timeout_orphans_by_3tuple)
{
    struct bal b, ref;
    struct sl_lb_conf c = {.hold_ns = 50 * MS};
    bal_init(&b, SL_HASH_SYM5, 8, &c);
    bal_init(&ref, SL_HASH_SYM3, 8, &c);
    unsigned differ = 0;
    for (int i = 0; i < 64; i++) {
        int v = (i & 1) ? 6 : 4;
        struct taddr a = rnd_addr(v), d = rnd_addr(v);
        uint16_t pa = (uint16_t)rnd(), pd = (uint16_t)rnd();
        struct fr *fr[8];
        int nf = fragments(fr, &a, &d, 17, pa, pd, 4000, 1400, 0x100 + (uint32_t)i);
        struct fr *plain = simple(&a, &d, 17, pa, pd);
        int w_flow = pick(&b, plain, 0, NULL, NULL);
        /* the 3-tuple worker: what a sym3 balancer picks for this flow */
        int w3 = pick(&ref, plain, 0, NULL, NULL);
        differ += w3 != w_flow;

        uint64_t t0 = (uint64_t)i * 1000 * MS;
        QUICK(pick(&b, fr[1], t0, fr[1], NULL) == SL_LB_HELD, "not held");
        struct sl_lb_released out[4];
        QUICK(sl_lb_release(b.lb, t0 + 50 * MS - 1, out, 4) == 0, "released early");
        QUICK(sl_lb_release(b.lb, t0 + 50 * MS, out, 4) == 1, "not released at hold_ns");
        QUICK(out[0].cookie == fr[1] && out[0].why == SL_LB_FRAG_ORPHAN && out[0].worker == w3,
              "orphan to %d (%d), 3-tuple worker %d", out[0].worker, out[0].why, w3);
        /* The datagram is now known as orphaned: its next piece goes at once. */
        enum sl_lb_reason why;
        QUICK(pick(&b, fr[2], t0 + 51 * MS, fr[2], &why) == w3 && why == SL_LB_FRAG_ORPHAN,
              "later piece of an orphaned datagram: reason %d", why);
        /* The first fragment, late, still goes with its flow, and from then on
         * the pieces follow it. */
        QUICK(pick(&b, fr[0], t0 + 52 * MS, NULL, &why) == w_flow && why == SL_LB_FLOW,
              "late first fragment");
        QUICK(pick(&b, fr[2], t0 + 53 * MS, NULL, &why) == w_flow && why == SL_LB_FRAG_HIT,
              "piece after late first fragment");
        free(plain);
        free_all(fr, nf);
    }
    ck_assert_uint_gt(differ, 32); /* the orphan worker was not the flow's by luck */
    struct sl_lb_stats st;
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(st.frag_held, 64);
    ck_assert_uint_eq(st.frag_held_orphaned, 64);
    ck_assert_uint_eq(st.frag_orphans, 128);
    ck_assert_uint_eq(st.frag_released, 0);
    ck_assert_uint_eq(st.frag_hits, 64);
    ck_assert_uint_eq(st.held_now, 0);
    sl_lb_free(b.lb);
    sl_lb_free(ref.lb);
}
END_TEST

START_TEST(held_frames_bounded)
{
    struct bal b;
    struct sl_lb_conf c = {.max_held = 2};
    bal_init(&b, SL_HASH_SYM5, 8, &c);
    struct taddr a = tv4(10, 1, 1, 1), d = tv4(10, 2, 2, 2);
    struct fr *f[3][8];
    enum sl_lb_reason why;
    for (int i = 0; i < 3; i++)
        fragments(f[i], &a, &d, 17, 1000, 2000, 3000, 1480, 10 + (uint32_t)i);
    ck_assert_int_eq(pick(&b, f[0][1], 0, f[0][1], &why), SL_LB_HELD);
    ck_assert_int_eq(pick(&b, f[1][1], 0, f[1][1], &why), SL_LB_HELD);
    int w = pick(&b, f[2][1], 0, f[2][1], &why);
    ck_assert_int_ge(w, 0);
    ck_assert_int_eq(why, SL_LB_FRAG_ORPHAN);
    struct sl_lb_stats st;
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(st.held_now, 2);
    ck_assert_uint_eq(st.frag_orphans, 1);
    /* End of input hands everything back. */
    struct sl_lb_released out[4];
    ck_assert_uint_eq(sl_lb_release(b.lb, UINT64_MAX, out, 4), 2);
    ck_assert_ptr_eq(out[0].cookie, f[0][1]);
    ck_assert_ptr_eq(out[1].cookie, f[1][1]);
    ck_assert_int_eq(out[0].why, SL_LB_FRAG_ORPHAN);
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(st.held_now, 0);
    ck_assert_uint_eq(st.frag_held, st.frag_released + st.frag_held_orphaned + st.held_now);
    for (int i = 0; i < 3; i++)
        free_all(f[i], 3);
    sl_lb_free(b.lb);
}
END_TEST

/* `out` must quote `q` (an IP packet built without Ethernet). */
static void icmp_err_case(int v, enum sl_hash_mode m)
{
    static uint8_t l4[256], q[512];
    struct bal b;
    bal_init(&b, m, 8, NULL);
    unsigned differ = 0;
    for (int i = 0; i < 200; i++) {
        struct taddr a = rnd_addr(v), d = rnd_addr(v), r = rnd_addr(v);
        uint16_t pa = (uint16_t)rnd(), pd = (uint16_t)rnd();
        uint8_t proto = (i & 1) ? 6 : 17;
        struct fr *flow = simple(&a, &d, proto, pa, pd);
        int w = pick(&b, flow, 0, NULL, NULL);

        /* Router r tells a that a's packet to d did not get through. */
        size_t n4 = build_l4(l4, &a, &d, proto, pa, pd, 30);
        size_t nq = build_ip(q, &a, &d, proto, l4, 0, n4, false, 5);
        size_t hl = v == 4 ? 20 : 40;
        struct fr *err = calloc(1, sizeof(*err));
        err->n = build_icmp_err(err->b, &r, &a, q, hl + 8 < nq ? hl + 8 : nq);
        dec(err);
        QUICK(err->p.ip[0].flags & SL_IPF_ICMP_ERR, "decoder did not see the quote");
        enum sl_lb_reason why;
        int we = pick(&b, err, 1, NULL, &why);
        QUICK(we == w && why == SL_LB_ICMP_ERR, "v%d %s: error to %d (%d), flow on %d", v,
              sl_hash_mode_name(m), we, why, w);

        /* ... and the same about d's reply to a (quote in the other direction). */
        n4 = build_l4(l4, &d, &a, proto, pd, pa, 30);
        nq = build_ip(q, &d, &a, proto, l4, 0, n4, false, 6);
        err->n = build_icmp_err(err->b, &r, &d, q, nq);
        dec(err);
        QUICK(pick(&b, err, 2, NULL, &why) == w, "reverse quote");

        /* Without steering it would mostly have gone elsewhere. */
        differ += sl_rdv_pick(&b.rdv, sl_hash_pkt(&err->p, m)) != w;
        free(flow);
        free(err);
    }
    ck_assert_uint_gt(differ, 100);
    struct sl_lb_stats st;
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(st.icmp_steered, 400);
    sl_lb_free(b.lb);
}

START_TEST(icmp_error_v4_to_quoted_flow)
{
    for (int m = 0; m < SL_HASH_MAX; m++)
        icmp_err_case(4, (enum sl_hash_mode)m);
}
END_TEST

START_TEST(icmp_error_v6_to_quoted_flow)
{
    for (int m = 0; m < SL_HASH_MAX; m++)
        icmp_err_case(6, (enum sl_hash_mode)m);
}
END_TEST

/* GTP-U whose outer IPv4 packets are fragmented: the non-first pieces carry
 * no inner header, yet in inner modes they reach the inner flow's worker. */
START_TEST(inner_mode_fragmented_outer_tunnel)
{
    static uint8_t l4[4096], inner[4096], up[4096];
    const enum sl_hash_mode modes[] = {SL_HASH_INNER_SYM5, SL_HASH_INNER_SYM3};
    for (size_t mi = 0; mi < 2; mi++) {
        struct bal b;
        bal_init(&b, modes[mi], 8, NULL);
        for (int i = 0; i < 100; i++) {
            struct taddr ta = rnd_addr(4), tb = rnd_addr(4);
            struct taddr ia = rnd_addr(4), ib = rnd_addr(4);
            uint16_t pa = (uint16_t)rnd(), pb = (uint16_t)rnd();
            /* the inner flow's worker, from a bare (untunnelled) packet of it */
            struct fr *bare = simple(&ib, &ia, 6, pb, pa);
            int w = pick(&b, bare, 0, NULL, NULL);

            size_t n4 = build_l4(l4, &ia, &ib, 6, pa, pb, 1800);
            size_t ni = build_ip(inner, &ia, &ib, 6, l4, 0, n4, false, 3);
            size_t nu = build_gtpu(up, &ta, &tb, 77, inner, ni);
            struct fr *f0 = calloc(1, sizeof(*f0)), *f1 = calloc(1, sizeof(*f1));
            f0->n = build_frame(f0->b, &ta, &tb, 17, up, 0, 1200, true, 500 + (uint32_t)i);
            f1->n = build_frame(f1->b, &ta, &tb, 17, up, 1200, nu - 1200, false, 500 + (uint32_t)i);
            dec(f0);
            dec(f1);
            QUICK(f0->p.n_ip == 2 && f1->p.n_ip == 1, "layers %u %u", f0->p.n_ip, f1->p.n_ip);
            enum sl_lb_reason why;
            uint64_t t = (uint64_t)i * MS;
            if (i & 1) {
                QUICK(pick(&b, f0, t, NULL, NULL) == w, "first outer fragment off the flow");
                QUICK(pick(&b, f1, t, NULL, &why) == w && why == SL_LB_FRAG_HIT,
                      "second outer fragment off the flow (%d)", why);
            } else {
                QUICK(pick(&b, f1, t, f1, NULL) == SL_LB_HELD, "early piece not held");
                QUICK(pick(&b, f0, t, NULL, NULL) == w, "first outer fragment off the flow");
                struct sl_lb_released out[2];
                QUICK(sl_lb_release(b.lb, t, out, 2) == 1 && out[0].worker == w &&
                          out[0].cookie == f1,
                      "held piece not released to the flow");
            }
            free(bare);
            free(f0);
            free(f1);
        }
        sl_lb_free(b.lb);
    }
}
END_TEST

START_TEST(liveness_moves_only_dead_workers_flows)
{
    enum { N = 3000 };
    struct bal b;
    bal_init(&b, SL_HASH_SYM5, 8, NULL);
    static struct fr *f[N];
    static int base[N];
    for (int i = 0; i < N; i++) {
        int v = (i & 1) ? 6 : 4;
        struct taddr a = rnd_addr(v), d = rnd_addr(v);
        f[i] = simple(&a, &d, 6, (uint16_t)rnd(), (uint16_t)rnd());
        base[i] = pick(&b, f[i], 0, NULL, NULL);
    }
    for (unsigned k = 0; k < 8; k++) {
        sl_rdv_set_live(&b.rdv, k, false); /* the lb reads rdv: no re-init */
        unsigned moved = 0;
        for (int i = 0; i < N; i++) {
            int w = pick(&b, f[i], 0, NULL, NULL);
            QUICK(w >= 0 && w != (int)k, "flow %d on dead %u", i, k);
            if (base[i] == (int)k)
                moved++;
            else
                QUICK(w == base[i], "flow %d moved %d -> %d", i, base[i], w);
        }
        ck_assert_uint_gt(moved, 0);
        sl_rdv_set_live(&b.rdv, k, true);
        for (int i = 0; i < N; i++)
            QUICK(pick(&b, f[i], 0, NULL, NULL) == base[i], "flow %d not restored", i);
    }

    /* A datagram whose first fragment came before the failure: its later
     * pieces follow the flow to where it moved. */
    struct taddr a = tv4(10, 9, 9, 9), d = tv4(10, 8, 8, 8);
    struct fr *fr[8];
    int nf = fragments(fr, &a, &d, 17, 4444, 53, 3000, 1480, 99);
    struct fr *plain = simple(&a, &d, 17, 4444, 53);
    int w = pick(&b, fr[0], 0, NULL, NULL);
    sl_rdv_set_live(&b.rdv, (unsigned)w, false);
    int w2 = pick(&b, plain, 1, NULL, NULL);
    ck_assert_int_ne(w2, w);
    ck_assert_int_eq(pick(&b, fr[1], 1, NULL, NULL), w2);
    /* No live worker at all. */
    for (unsigned k = 0; k < 8; k++)
        sl_rdv_set_live(&b.rdv, k, false);
    enum sl_lb_reason why;
    ck_assert_int_eq(pick(&b, plain, 2, NULL, &why), -1);
    ck_assert_int_eq(why, SL_LB_NO_WORKER);
    free(plain);
    free_all(fr, nf);
    for (int i = 0; i < N; i++)
        free(f[i]);
    sl_lb_free(b.lb);
}
END_TEST

START_TEST(fragment_table_evicts_and_expires)
{
    struct bal b;
    struct sl_lb_conf c = {.frag_slots = 4, .frag_timeout_ns = 1000 * MS};
    bal_init(&b, SL_HASH_SYM5, 8, &c);
    struct taddr a = tv4(10, 1, 1, 1), d = tv4(10, 2, 2, 2);
    struct fr *f[5][8];
    for (int i = 0; i < 5; i++) {
        fragments(f[i], &a, &d, 17, 1000, (uint16_t)(2000 + i), 2000, 1480, 40 + (uint32_t)i);
        pick(&b, f[i][0], (uint64_t)i, NULL, NULL); /* one bucket of 4: the 5th evicts */
    }
    struct sl_lb_stats st;
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(st.frag_inserted, 5);
    ck_assert_uint_eq(st.frag_evicted, 1);
    /* the least recently used (the first) was evicted; the others still hit */
    enum sl_lb_reason why;
    for (int i = 1; i < 5; i++) {
        pick(&b, f[i][1], 10, NULL, &why);
        ck_assert_int_eq(why, SL_LB_FRAG_HIT);
    }
    ck_assert_int_eq(pick(&b, f[0][1], 10, f[0][1], &why), SL_LB_HELD);
    /* Past frag_timeout_ns an entry is gone: a late piece waits again. */
    ck_assert_int_eq(pick(&b, f[2][1], 10 + 1001 * MS, f[2][1], &why), SL_LB_HELD);
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_ge(st.frag_expired, 1);
    struct sl_lb_released out[8];
    ck_assert_uint_eq(sl_lb_release(b.lb, UINT64_MAX, out, 8), 2);
    for (int i = 0; i < 5; i++)
        free_all(f[i], 2);
    sl_lb_free(b.lb);
}
END_TEST

/* A random mix, with every reason tallied from the caller's side. */
START_TEST(counters_add_up)
{
    struct bal b;
    struct sl_lb_conf c = {.hold_ns = 5 * MS, .max_held = 16};
    bal_init(&b, SL_HASH_INNER_SYM5, 8, &c);
    unsigned long reasons[SL_LB_REASON_MAX] = {0}, frames = 0, delivered = 0, held = 0;
    static char returned[20000];
    static struct fr *pool[20000];
    int npool = 0;
    uint64_t t = 0;
    for (int round = 0; round < 400; round++) {
        int v = (round & 1) ? 6 : 4;
        struct taddr a = rnd_addr(v), d = rnd_addr(v);
        struct fr *batch[8];
        int nb = 0;
        switch (rnd() % 4) {
        case 0:
            batch[nb++] = simple(&a, &d, 6, (uint16_t)rnd(), 80);
            break;
        case 1: { /* fragments, shuffled, sometimes without the first */
            nb = fragments(batch, &a, &d, 17, (uint16_t)rnd(), 53, 3000, 1024, (uint32_t)round);
            for (int k = nb - 1; k > 0; k--) {
                int j = (int)(rnd() % (uint64_t)(k + 1));
                struct fr *x = batch[k];
                batch[k] = batch[j];
                batch[j] = x;
            }
            if (rnd() % 3 == 0) {
                for (int k = 0; k < nb; k++)
                    if (batch[k]->p.ip[0].flags & SL_IPF_FIRST_FRAG) {
                        free(batch[k]);
                        batch[k] = batch[--nb];
                        break;
                    }
            }
            break;
        }
        case 2: {
            static uint8_t l4[256], q[512];
            size_t n4 = build_l4(l4, &a, &d, 17, 7, 9, 8);
            size_t nq = build_ip(q, &a, &d, 17, l4, 0, n4, false, 1);
            struct taddr r = rnd_addr(v);
            batch[0] = calloc(1, sizeof(struct fr));
            batch[0]->n = build_icmp_err(batch[0]->b, &r, &a, q, nq);
            dec(batch[0]);
            nb = 1;
            break;
        }
        default:
            batch[0] = calloc(1, sizeof(struct fr));
            batch[0]->n = build_eth(batch[0]->b, 1, (uint8_t)round, 0x88cc) + 40;
            sl_pkt_decode(&batch[0]->p, batch[0]->b, (uint32_t)batch[0]->n, SL_DLT_EN10MB);
            nb = 1;
        }
        for (int k = 0; k < nb; k++) {
            t += 100000; /* 0.1 ms apart */
            int idx = npool++;
            pool[idx] = batch[k];
            frames++;
            enum sl_lb_reason why;
            int w = pick(&b, batch[k], t, (void *)(intptr_t)(idx + 1), &why);
            reasons[why]++;
            if (w == SL_LB_HELD) {
                held++;
                continue;
            }
            QUICK(w >= 0 && why != SL_LB_FRAG_HELD, "bad pick %d/%d", w, why);
            delivered++;
        }
        struct sl_lb_released out[8];
        unsigned n;
        while ((n = sl_lb_release(b.lb, t, out, 8)) > 0) {
            for (unsigned k = 0; k < n; k++) {
                int idx = (int)(intptr_t)out[k].cookie - 1;
                QUICK(idx >= 0 && idx < npool && !returned[idx], "cookie %d", idx);
                returned[idx] = 1;
                reasons[out[k].why]++;
                delivered++;
            }
        }
    }
    struct sl_lb_released out[32];
    unsigned n;
    while ((n = sl_lb_release(b.lb, UINT64_MAX, out, 32)) > 0) {
        for (unsigned k = 0; k < n; k++) {
            int idx = (int)(intptr_t)out[k].cookie - 1;
            ck_assert(!returned[idx]);
            returned[idx] = 1;
            reasons[out[k].why]++;
            delivered++;
        }
    }
    struct sl_lb_stats st;
    sl_lb_stats(b.lb, &st);
    ck_assert_uint_eq(frames, delivered);
    ck_assert_uint_eq(held, st.frag_held);
    ck_assert_uint_eq(reasons[SL_LB_FRAG_HELD], st.frag_held);
    ck_assert_uint_eq(reasons[SL_LB_FRAG_HIT], st.frag_hits);
    ck_assert_uint_eq(reasons[SL_LB_FRAG_RELEASED], st.frag_released);
    ck_assert_uint_eq(reasons[SL_LB_FRAG_ORPHAN], st.frag_orphans);
    ck_assert_uint_eq(reasons[SL_LB_ICMP_ERR], st.icmp_steered);
    ck_assert_uint_eq(st.frag_held, st.frag_released + st.frag_held_orphaned + st.held_now);
    ck_assert_uint_eq(st.held_now, 0);
    /* the mix really exercised each path */
    ck_assert_uint_gt(st.frag_held, 0);
    ck_assert_uint_gt(st.frag_released, 0);
    ck_assert_uint_gt(st.frag_held_orphaned, 0);
    ck_assert_uint_gt(st.frag_hits, 0);
    ck_assert_uint_gt(reasons[SL_LB_NON_IP], 0);
    ck_assert_uint_gt(reasons[SL_LB_ICMP_ERR], 0);
    for (int i = 0; i < npool; i++)
        free(pool[i]);
    sl_lb_free(b.lb);
}
END_TEST

/* ---- the short paths: sl_pkt_fast_v4 (the decoder's own), sl_pkt_fast_tuple/flow
 * (frontend-dpdk's) + sl_hash_tuple + sl_lb_pick_flow / the rendezvous table ---- */

static const char *const all_modes[] = {"sym5",       "sym3",       "sym2",    "inner-sym5",
                                        "inner-sym3", "inner-sym2", "toeplitz"};
#define N_MODES (sizeof(all_modes) / sizeof(all_modes[0]))

struct fast_ctx {
    struct sl_rdv rdv;
    struct sl_rdv_table *tab; /* frontend-dpdk picks by the table */
    struct sl_lb *lb[N_MODES];
    enum sl_hash_mode mode[N_MODES];
    unsigned long taken, declined;
    /* sl_pkt_fast_flow: taken, and of those IPv6 / VLAN-stacked / MPLS / tunnelled */
    unsigned long flow_taken, flow_v6, flow_qinq, flow_mpls, flow_tunnel;
};

static void fast_ctx_init(struct fast_ctx *x)
{
    memset(x, 0, sizeof(*x));
    ck_assert_int_eq(sl_rdv_init(&x->rdv, 8), 0);
    ck_assert_int_eq(sl_rdv_set_live(&x->rdv, 5, false), 0);
    x->tab = malloc(sl_rdv_table_size(&x->rdv));
    ck_assert_ptr_nonnull(x->tab);
    ck_assert_int_eq(sl_rdv_table_build(x->tab, &x->rdv), 0);
    for (size_t m = 0; m < N_MODES; m++) {
        ck_assert_int_eq(sl_hash_mode_parse(all_modes[m], &x->mode[m]), 0);
        struct sl_lb_conf c = {.mode = x->mode[m]};
        x->lb[m] = sl_lb_new(&c, &x->rdv);
        ck_assert_ptr_nonnull(x->lb[m]);
    }
}

static void fast_ctx_free(struct fast_ctx *x)
{
    free(x->tab);
    for (size_t m = 0; m < N_MODES; m++)
        sl_lb_free(x->lb[m]);
}

/* In every mode the balancer picks by the short path's hash what it picks
 * for the decoded frame, and the table agrees. */
static void check_picks(struct fast_ctx *x, const struct sl_pkt *p, const uint64_t *h,
                        const char *what)
{
    for (size_t m = 0; m < N_MODES; m++) {
        ck_assert_msg(h[m] == sl_hash_pkt(p, x->mode[m]), "%s: %s hash differs", what,
                      all_modes[m]);
        enum sl_lb_reason why;
        int w = sl_lb_pick(x->lb[m], p, 0, NULL, &why);
        ck_assert_msg(why == SL_LB_FLOW && w == sl_lb_pick_flow(x->lb[m], h[m]),
                      "%s: %s pick differs", what, all_modes[m]);
        ck_assert_msg(w == sl_rdv_table_pick(x->tab, h[m]), "%s: %s table pick differs", what,
                      all_modes[m]);
        ck_assert(sl_lb_last_hash(x->lb[m]) == h[m]);
    }
}

/* When a short path takes a frame, the full decode must find exactly that
 * flow with nothing to report (nor anything frontend-dpdk counts: fragment,
 * ICMP error), and every mode must pick the same worker by the same hash. */
static void check_fast_flow(struct fast_ctx *x, const uint8_t *b, size_t n, const char *what)
{
    struct sl_flow_key k[2], want;
    memset(k, 0x5a, sizeof(k));
    bool took = sl_pkt_fast_flow(b, (uint32_t)n, false, &k[0]);
    ck_assert_msg(took == sl_pkt_fast_flow(b, (uint32_t)n, true, &k[1]),
                  "%s: fast_flow takes a frame for one layer only", what);
    struct sl_pkt_tuple t[2];
    if (!took) {
        ck_assert_msg(!sl_pkt_fast_tuple(b, (uint32_t)n, false, &t[0]),
                      "%s: fast_tuple took what fast_flow declined", what);
        return;
    }
    x->flow_taken++;
    struct sl_pkt p;
    int st = sl_pkt_decode(&p, b, (uint32_t)n, SL_DLT_EN10MB);
    ck_assert_msg(st == SL_STOP_L4 && p.weird == NULL && p.note == NULL &&
                      (p.n_ip == 1 || p.n_ip == 2),
                  "%s: fast_flow took a frame the decoder reports (%d, %s, %s, %u layers)", what,
                  st, p.weird ? p.weird : "-", p.note ? p.note : "-", p.n_ip);
    for (unsigned l = 0; l < p.n_ip; l++)
        ck_assert_msg(!(p.ip[l].flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_ICMP_ERR)),
                      "%s: fast_flow took a fragment or ICMP error", what);
    ck_assert_msg(p.ip[p.n_ip - 1].flags & SL_IPF_L4, "%s: fast_flow took a frame without L4",
                  what);
    for (int in = 0; in < 2; in++) {
        sl_flow_key_from_ip(&want, &p.ip[in ? p.n_ip - 1 : 0]);
        ck_assert_msg(memcmp(&k[in], &want, sizeof(want)) == 0,
                      "%s: fast_flow read another %s flow", what, in ? "inner" : "outer");
    }
    x->flow_v6 += p.ip[0].version == 6;
    x->flow_qinq += p.n_vlan >= 2;
    x->flow_mpls += p.n_mpls > 0;
    x->flow_tunnel += p.n_ip == 2;
    uint64_t h[N_MODES];
    for (int in = 0; in < 2; in++)
        ck_assert_msg(sl_pkt_fast_tuple(b, (uint32_t)n, in, &t[in]),
                      "%s: fast_tuple declined what fast_flow took", what);
    for (size_t m = 0; m < N_MODES; m++) {
        bool in = sl_hash_mode_inner(x->mode[m]);
        h[m] = sl_hash_key(&k[in], x->mode[m]);
        ck_assert_msg(sl_hash_tuple(&t[in], x->mode[m]) == h[m], "%s: %s tuple hash differs", what,
                      all_modes[m]);
    }
    check_picks(x, &p, h, what);
}

static void check_fast(struct fast_ctx *x, const uint8_t *b, size_t n, const char *what)
{
    check_fast_flow(x, b, n, what);
    struct sl_pkt_v4 v;
    memset(&v, 0x5a, sizeof(v));
    if (!sl_pkt_fast_v4(b, (uint32_t)n, &v)) {
        x->declined++;
        return;
    }
    x->taken++;
    struct sl_flow_key k;
    ck_assert_msg(sl_pkt_fast_flow(b, (uint32_t)n, false, &k), "%s: fast_flow declined a v4 frame",
                  what);
    struct sl_pkt p;
    /* the general walk: the decoder's own fast path shares the test under check */
    int st = sl_pkt_decode_general(&p, b, (uint32_t)n, 0, SL_DLT_EN10MB);
    ck_assert_msg(st == SL_STOP_L4 && p.weird == NULL && p.note == NULL && p.n_ip == 1,
                  "%s: fast path took a frame the decoder reports (%d, %s)", what, st,
                  p.weird ? p.weird : "-");
    const struct sl_pkt_ip *ip = &p.ip[0];
    ck_assert_msg(ip->version == 4 && ip->proto == v.proto && ip->sport == v.sport &&
                      ip->dport == v.dport && !memcmp(ip->src + 12, v.src, 4) &&
                      !memcmp(ip->dst + 12, v.dst, 4),
                  "%s: fast path read another flow", what);
    ck_assert_msg(!(ip->flags & (SL_IPF_FRAG | SL_IPF_FIRST_FRAG | SL_IPF_ICMP_ERR)),
                  "%s: fast path took a fragment or ICMP error", what);
    uint64_t h[N_MODES];
    for (size_t m = 0; m < N_MODES; m++)
        h[m] = sl_hash_tuple(&(struct sl_pkt_tuple){v.src, v.dst, v.sport, v.dport, v.proto, 4},
                             x->mode[m]);
    check_picks(x, &p, h, what);
}

/* Pushes a 4-byte L2 header (a VLAN tag or an MPLS label) after the MACs of
 * frame b[0..n): `et` becomes the frame's ethertype, the old one follows
 * the tag (for a label, the bytes are a label instead). */
static size_t push_l2(uint8_t *b, size_t n, uint16_t et, uint32_t word)
{
    memmove(b + 16, b + 12, n - 12);
    put16(b + 12, et);
    put16(b + 14, (uint16_t)(word >> 16));
    put16(b + 16, (uint16_t)word);
    return n + 4;
}

/* A random L2 path in front of the IP packet of b: VLAN tags of every kind,
 * MPLS stacks (bottom of stack marked, or not: then the decoder reads the IP
 * header as a label), both, or plain Ethernet. */
static size_t rnd_l2(uint8_t *b, size_t n, size_t cap)
{
    static const uint16_t tags[] = {0x8100, 0x88a8, 0x9100, 0x9200, 0x9300};
    unsigned labels = (unsigned)(rnd() % 8), vlans = (unsigned)(rnd() % 7);
    labels = labels > 5 ? 0 : labels;
    vlans = vlans > 5 ? 0 : vlans;
    if (n + 4 * (labels + vlans) + 8 > cap || n < 14)
        return n;
    if (labels) {
        /* labels sit between the ethertype and the IP header */
        size_t l2 = 14;
        memmove(b + l2 + 4 * labels, b + l2, n - l2);
        for (unsigned i = 0; i < labels; i++) {
            uint32_t w = (uint32_t)rnd() & ~0x100u;
            if (i + 1 == labels && rnd() % 8)
                w |= 0x100u; /* bottom of stack */
            put16(b + l2 + 4 * i, (uint16_t)(w >> 16));
            put16(b + l2 + 4 * i + 2, (uint16_t)w);
        }
        put16(b + 12, rnd() % 2 ? 0x8847 : 0x8848);
        n += 4 * labels;
    }
    for (unsigned i = 0; i < vlans; i++) {
        /* the old ethertype moves into the new tag's second half */
        uint16_t inner = (uint16_t)(b[12] << 8 | b[13]);
        n = push_l2(b, n, tags[rnd() % 5], (uint32_t)(rnd() & 0xffff) << 16 | inner);
    }
    return n;
}

/* Every cut of test frames of many kinds, and random mutations of them. */
START_TEST(fast_v4_agrees_with_full_decode)
{
    struct fast_ctx x;
    fast_ctx_init(&x);
    static const uint8_t protos[] = {6, 17, 1, 132};
    uint8_t b[2048];
    for (int it = 0; it < 4000; it++) {
        struct taddr s = rnd_addr((it & 3) ? 4 : 6), d = rnd_addr(s.v);
        uint8_t proto = protos[rnd() % 4];
        size_t n = build_simple(b, &s, &d, proto, (uint16_t)rnd(),
                                (uint16_t)(rnd() % 5 ? rnd() : 4789), (size_t)(rnd() % 300));
        if (it % 3 == 0 && n + 4 < sizeof(b)) { /* one 802.1Q tag */
            memmove(b + 16, b + 12, n - 12);
            put16(b + 12, 0x8100);
            put16(b + 14, (uint16_t)rnd());
            n += 4;
        } else if (it % 3 == 1) {
            n = rnd_l2(b, n, sizeof(b));
        }
        check_fast(&x, b, n, "built");
        check_fast(&x, b, (size_t)(rnd() % (n + 1)), "cut");
        for (int k = 0; k < 3; k++) /* mutated headers: the fast path must decline or agree */
            b[rnd() % (n < 64 ? n : 64)] = (uint8_t)rnd();
        check_fast(&x, b, n, "mutated");
    }
    ck_assert_msg(x.taken > 1000 && x.declined > 1000, "taken %lu declined %lu", x.taken,
                  x.declined);
    ck_assert_msg(x.flow_taken > x.taken + 1000 && x.flow_v6 > 500 && x.flow_qinq > 200 &&
                      x.flow_mpls > 200,
                  "fast_flow took %lu (v6 %lu, qinq %lu, mpls %lu)", x.flow_taken, x.flow_v6,
                  x.flow_qinq, x.flow_mpls);
    fast_ctx_free(&x);
}
END_TEST

/* An inner TCP or UDP packet (IPv4 or IPv6) in b; returns its length. Its
 * ports are no tunnel's and a UDP payload is too short to be taken for
 * Teredo, so the decoder stops there. */
static size_t inner_packet(uint8_t *b, int v)
{
    uint8_t l4[256];
    struct taddr s = rnd_addr(v), d = rnd_addr(v);
    uint8_t proto = rnd() % 2 ? 6 : 17;
    size_t n = build_l4(l4, &s, &d, proto, (uint16_t)(1024 + rnd() % 1000),
                        (uint16_t)(1024 + rnd() % 1000), (size_t)(rnd() % (proto == 6 ? 100 : 30)));
    return build_ip(b, &s, &d, proto, l4, 0, n, false, (uint32_t)rnd());
}

/* A whole tunnel frame the decoder takes apart cleanly into two layers, L4
 * on the inner, nothing a balancer treats apart, must take the short path:
 * the forms sl_pkt_fast_flow promises are not declined for nothing. */
static void expect_taken(const uint8_t *b, size_t n, bool promised, const char *what)
{
    struct sl_pkt p;
    struct sl_flow_key k;
    int st = sl_pkt_decode(&p, b, (uint32_t)n, SL_DLT_EN10MB);
    bool clean = st == SL_STOP_L4 && !p.weird && !p.note && p.n_ip == 2 &&
                 (p.ip[1].proto == 6 || p.ip[1].proto == 17) && (p.ip[1].flags & SL_IPF_L4) &&
                 !((p.ip[0].flags | p.ip[1].flags) & (SL_IPF_FRAG | SL_IPF_OPTIONS));
    if (clean && promised)
        ck_assert_msg(sl_pkt_fast_flow(b, (uint32_t)n, false, &k),
                      "%s: clean frame declined (%02x %02x %02x %02x at %u, %zu bytes)", what,
                      b[p.ip[0].off + 20], b[p.ip[0].off + 21], b[p.ip[0].off + 22],
                      b[p.ip[0].off + 23], p.ip[1].off, n);
}

/* Checks frame b[0..n) whole and cut at every length. */
static void check_cuts(struct fast_ctx *x, const uint8_t *b, size_t n, const char *what)
{
    for (size_t c = 0; c <= n; c++)
        check_fast(x, b, c, what);
}

/* GRE with every flags/version word (the optional words its flags announce
 * present), over several payload types; VXLAN with every flags byte, on
 * either port, over several inner ethertypes; GENEVE with every first byte
 * (version, option length) over IP and Ethernet; GTP-U with every flags
 * byte, G-PDUs and others; IP in IP both ways. Tunnel
 * headers are where a short path that reads too little would go wrong. */
START_TEST(fast_flow_agrees_on_tunnel_headers)
{
    struct fast_ctx x;
    fast_ctx_init(&x);
    uint8_t up[1024], in[512], b[2048];
    struct taddr s = rnd_addr(4), d = rnd_addr(4);
    for (uint32_t fv = 0; fv < 65536; fv++) {
        int v = rnd() % 2 ? 4 : 6;
        size_t in_n = inner_packet(in, v), hl = 4;
        uint16_t pt = v == 4 ? 0x0800 : 0x86dd;
        unsigned kind = (unsigned)(rnd() % 8); /* 0-1: TEB, 2: another payload type */
        if (kind < 2)
            pt = 0x6558;
        else if (kind == 2)
            pt = (uint16_t[]){0x8847, 0x880b, 0x88be, 0x0806}[rnd() % 4];
        put16(up, (uint16_t)fv);
        put16(up + 2, pt);
        for (uint16_t bit = 0x8000; bit >= 0x0080; bit >>= 1)
            if ((fv & bit) && (bit == 0x8000 || bit == 0x2000 || bit == 0x1000 || bit == 0x0080)) {
                put32(up + hl, (uint32_t)rnd());
                hl += 4;
            }
        if (pt == 0x6558) /* the inner frame's Ethernet header, now and then not IP */
            hl += build_eth(up + hl, 5, 6,
                            rnd() % 8 ? (v == 4 ? 0x0800 : 0x86dd) : (uint16_t)(rnd() % 0x9000));
        memcpy(up + hl, in, in_n);
        size_t n = build_frame(b, &s, &d, 47, up, 0, hl + in_n, false, 7);
        check_fast(&x, b, n, "gre");
        expect_taken(b, n, kind != 2, "gre");
        if (fv % 1024 == 0)
            check_cuts(&x, b, n, "gre cut");
    }
    for (unsigned f = 0; f < 256 * 4; f++) {
        static const uint16_t ets[] = {0x0800, 0x86dd, 0x8100, 0x0806, 0x6558};
        int v = rnd() % 2 ? 4 : 6;
        size_t in_n = inner_packet(in, v);
        uint8_t *vx = up + 8;
        memset(vx, 0, 8);
        vx[0] = (uint8_t)f;
        put32(vx + 4, (uint32_t)rnd() << 8);
        uint16_t et = f % 5 == 4 ? ets[rnd() % 5] : (v == 4 ? 0x0800 : 0x86dd);
        build_eth(vx + 8, 9, 8, et);
        memcpy(vx + 22, in, in_n);
        uint16_t ports[2] = {(uint16_t)(1024 + rnd() % 60000), 4789};
        if (f & 256) { /* VXLAN on the source port, another (or no) tunnel on the other */
            ports[0] = 4789;
            ports[1] = (f & 512) ? 2152 : (uint16_t)(1024 + rnd() % 3000);
        }
        put16(up, ports[0]);
        put16(up + 2, ports[1]);
        put16(up + 4, (uint16_t)(8 + 8 + 14 + in_n));
        put16(up + 6, 0);
        size_t n = build_frame(b, &s, &d, 17, up, 0, 8 + 8 + 14 + in_n, false, 9);
        check_fast(&x, b, n, "vxlan");
        expect_taken(b, n, true, "vxlan");
        if (f % 64 == 0)
            check_cuts(&x, b, n, "vxlan cut");
    }
    unsigned long before = x.flow_tunnel;
    for (unsigned f = 0; f < 256 * 4; f++) { /* GENEVE: every first byte (version, options) */
        int v = rnd() % 2 ? 4 : 6;
        size_t in_n = inner_packet(in, v), gl = 8 + (f & 0x3f) * 4u;
        uint8_t *g = up + 8;
        for (size_t i = 0; i < gl; i++)
            g[i] = (uint8_t)rnd();
        g[0] = (uint8_t)f;
        unsigned kind =
            (unsigned)(rnd() % 4); /* 0: IP, 1: Ethernet/IP, 2: Ethernet/other, 3: other */
        uint16_t ip_et = v == 4 ? 0x0800 : 0x86dd;
        put16(g + 2, kind == 0 ? ip_et : kind < 3 ? 0x6558 : (uint16_t)(rnd() % 0x9000));
        size_t hl = 8 + gl;
        if (kind == 1 || kind == 2)
            hl += build_eth(up + hl, 7, 8, kind == 1 ? ip_et : 0x0806);
        memcpy(up + hl, in, in_n);
        put16(up, (uint16_t)(1024 + rnd() % 60000));
        put16(up + 2, 6081);
        put16(up + 4, (uint16_t)(hl + in_n));
        put16(up + 6, 0);
        size_t n = build_frame(b, &s, &d, 17, up, 0, hl + in_n, false, 11);
        check_fast(&x, b, n, "geneve");
        expect_taken(b, n, true, "geneve");
        if (f % 64 == 0)
            check_cuts(&x, b, n, "geneve cut");
    }
    ck_assert_msg(x.flow_tunnel - before > 50, "GENEVE: %lu taken", x.flow_tunnel - before);
    before = x.flow_tunnel;
    for (unsigned f = 0; f < 256 * 4; f++) { /* GTP-U: every flags byte, G-PDU or not */
        int v = rnd() % 2 ? 4 : 6;
        size_t in_n = inner_packet(in, v);
        uint8_t *g = up + 8;
        g[0] = (uint8_t)f;
        g[1] = f & 256 ? (uint8_t)rnd() : 0xff;
        put16(g + 2, (uint16_t)in_n);
        put32(g + 4, (uint32_t)rnd());
        size_t hl = 8 + 8;
        if (f & 7) { /* sequence number, N-PDU number, next extension type */
            put32(g + 8, (uint32_t)rnd() & 0xffffff00u);
            if (f & 512)
                g[11] = (uint8_t)rnd(); /* an extension header the short path declines */
            hl += 4;
        }
        memcpy(up + hl, in, in_n);
        put16(up, 2152);
        put16(up + 2, f & 512 ? (uint16_t)(1024 + rnd() % 60000) : 2152);
        put16(up + 4, (uint16_t)(hl + in_n));
        put16(up + 6, 0);
        size_t n = build_frame(b, &s, &d, 17, up, 0, hl + in_n, false, 13);
        check_fast(&x, b, n, "gtpu");
        expect_taken(b, n, !(f & 4), "gtpu");
        if (f % 64 == 0)
            check_cuts(&x, b, n, "gtpu cut");
    }
    ck_assert_msg(x.flow_tunnel - before > 5, "GTP-U: %lu taken", x.flow_tunnel - before);
    for (int i = 0; i < 400; i++) {
        struct taddr os = rnd_addr(i % 2 ? 4 : 6), od = rnd_addr(os.v);
        size_t in_n = inner_packet(in, rnd() % 2 ? 4 : 6);
        size_t n = build_frame(b, &os, &od, rnd() % 2 ? 4 : 41, in, 0, in_n, false, 3);
        check_fast(&x, b, n, "ipip");
        expect_taken(b, n, true, "ipip");
        if (i % 40 == 0)
            check_cuts(&x, b, n, "ipip cut");
    }
    printf("fast_flow_agrees_on_tunnel_headers: took %lu tunnelled frames of %lu\n", x.flow_tunnel,
           x.flow_taken);
    ck_assert_msg(x.flow_tunnel > 1000 && x.flow_tunnel < x.declined,
                  "fast_flow took %lu tunnelled frames", x.flow_tunnel);
    fast_ctx_free(&x);
}
END_TEST

/* ICMP and ICMPv6 messages of every type: the decoder and the short path
 * agree on each (and on cuts of them), an error is never taken (it goes
 * where the flow it quotes goes), and every other message the decoder finds
 * clean is taken, as sl_pkt_fast_flow promises. Inside an IP-in-IP tunnel
 * too. */
START_TEST(fast_flow_takes_icmp_messages)
{
    struct fast_ctx x;
    fast_ctx_init(&x);
    uint8_t b[2048], in[512], t[2048];
    unsigned long taken = 0, errors = 0;
    for (int i = 0; i < 4 * 256; i++) {
        int v = i & 1 ? 6 : 4;
        bool tunnelled = i & 2;
        uint8_t type = (uint8_t)(i >> 2);
        struct taddr s = rnd_addr(v), d = rnd_addr(v);
        size_t n = build_icmp(b, &s, &d, type, (uint8_t)(rnd() % 4), (size_t)(rnd() % 64));
        if (tunnelled) { /* the IP packet of b, inside another */
            size_t in_n = n - 14;
            memcpy(in, b + 14, in_n);
            struct taddr os = rnd_addr(4), od = rnd_addr(4);
            n = build_frame(t, &os, &od, v == 4 ? 4 : 41, in, 0, in_n, false, 3);
            memcpy(b, t, n);
        }
        check_fast(&x, b, n, "icmp");
        check_cuts(&x, b, n, "icmp cut");
        struct sl_pkt p;
        struct sl_flow_key k;
        int st = sl_pkt_decode(&p, b, (uint32_t)n, SL_DLT_EN10MB);
        const struct sl_pkt_ip *last = &p.ip[p.n_ip - 1];
        /* error types (RFC 792, 4443) whose quote is too short to steer by
         * reach sl_lb as plain messages; the short path leaves them all to it */
        bool error_type = v == 4 ? type == 3 || type == 4 || type == 5 || type == 11 || type == 12
                                 : type >= 1 && type <= 4;
        bool clean = st == SL_STOP_L4 && !p.weird && !p.note && (last->flags & SL_IPF_L4) &&
                     !error_type && p.n_ip == (tunnelled ? 2u : 1u);
        bool took = sl_pkt_fast_flow(b, (uint32_t)n, false, &k);
        ck_assert_msg(took == clean, "icmp v%d type %u%s: %s", v, type,
                      tunnelled ? " tunnelled" : "", took ? "taken" : "declined");
        taken += took;
        errors += error_type;
    }
    /* 5 ICMPv4 and 4 ICMPv6 error types, each plain and tunnelled */
    ck_assert_msg(errors == 18 && taken == 4 * 256 - errors, "icmp: %lu taken, %lu errors", taken,
                  errors);
    fast_ctx_free(&x);
}
END_TEST

/* The source tree's pcaps/. */
static bool pcaps_dir(char *buf, size_t n)
{
    return test_src_path("pcaps/mix.pcap", "/pcaps", buf, n);
}

/* pcaps/NAME.pcap under dir, opened (the test fails if it cannot be). */
static pcap_t *open_bundled(const char *dir, const char *name)
{
    char path[PATH_MAX + 64], err[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
    pcap_t *pc = pcap_open_offline(path, err);
    ck_assert_msg(pc != NULL, "%s", err);
    return pc;
}

/* Every frame of the project's own captures (all profiles, malformed too). */
START_TEST(fast_v4_agrees_on_bundled_pcaps)
{
    static const char *const names[] = {"web",  "dns",       "scan",      "fragments", "tunnels",
                                        "vlan", "elephants", "malformed", "synflood",  "mix"};
    char dir[PATH_MAX];
    ck_assert_msg(pcaps_dir(dir, sizeof(dir)), "pcaps/ not found above the test binary");
    struct fast_ctx x;
    fast_ctx_init(&x);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        pcap_t *pc = open_bundled(dir, names[i]);
        struct pcap_pkthdr *h;
        const u_char *d;
        uint8_t b[2048];
        while (pcap_next_ex(pc, &h, &d) == 1) {
            check_fast(&x, d, h->caplen, names[i]);
            /* cut and mutated: the short paths must decline or agree */
            size_t n = h->caplen < sizeof(b) ? h->caplen : sizeof(b);
            memcpy(b, d, n);
            check_fast(&x, b, (size_t)(rnd() % (n + 1)), "cut");
            for (int k = 0; k < 2; k++)
                b[rnd() % (n < 96 ? n : 96)] = (uint8_t)rnd();
            check_fast(&x, b, n, "mutated");
        }
        pcap_close(pc);
    }
    printf("fast_v4_agrees_on_bundled_pcaps: fast path took %lu frames, declined %lu; "
           "fast_flow took %lu (IPv6 %lu, 2+ VLAN tags %lu, MPLS %lu, tunnelled %lu)\n",
           x.taken, x.declined, x.flow_taken, x.flow_v6, x.flow_qinq, x.flow_mpls, x.flow_tunnel);
    ck_assert_msg(x.taken > 1000 && x.declined > 100, "taken %lu declined %lu", x.taken,
                  x.declined);
    ck_assert_msg(x.flow_taken > x.taken && x.flow_v6 > 0 && x.flow_qinq > 0 && x.flow_mpls > 0 &&
                      x.flow_tunnel > 0,
                  "fast_flow took %lu (v6 %lu, qinq %lu, mpls %lu, tunnels %lu)", x.flow_taken,
                  x.flow_v6, x.flow_qinq, x.flow_mpls, x.flow_tunnel);
    fast_ctx_free(&x);
}
END_TEST

static uint64_t table_touches(const struct sl_lb *lb)
{
    struct sl_lb_stats st;
    sl_lb_stats(lb, &st);
    return st.frag_inserted + st.frag_hits + st.frag_orphans + st.frag_held;
}

/* Whether sl_lb_prefetch promises a hint for frame d: a fragment right
 * after the Ethernet header, IPv4, or IPv6 with the fragment header first
 * and (for a first fragment) no extension header after it. */
static bool hint_promised(const uint8_t *d, size_t n, const struct sl_pkt *p, long bucket)
{
    if (bucket < 0 || p->n_ip != 1 || n < 14 + 48)
        return false;
    if (d[12] == 0x08 && d[13] == 0x00)
        return p->ip[0].version == 4;
    if (!(d[12] == 0x86 && d[13] == 0xdd) || d[14 + 6] != 44)
        return false;
    uint8_t next = d[14 + 40];
    bool first = (p->ip[0].flags & SL_IPF_FIRST_FRAG) != 0;
    return !first || !sl_pkt_ip6_ext(next);
}

/* sl_lb_prefetch names the bucket sl_lb_pick then reads (sl_lb_frag_bucket,
 * itself checked against the pick's fragment counters) or none, on every
 * frame of the bundled captures, cut and mutated too, in outer and inner
 * modes; and it hints every frame it promises to. */
START_TEST(prefetch_names_the_bucket_pick_reads)
{
    static const char *const names[] = {"fragments", "tunnels", "vlan", "malformed", "mix"};
    static const enum sl_hash_mode modes[] = {SL_HASH_SYM5, SL_HASH_INNER_SYM5, SL_HASH_SYM3};
    char dir[PATH_MAX];
    ck_assert_msg(pcaps_dir(dir, sizeof(dir)), "pcaps/ not found above the test binary");
    unsigned long hinted = 0, promised = 0, touched = 0;
    for (size_t mi = 0; mi < sizeof(modes) / sizeof(modes[0]); mi++) {
        struct bal b;
        bal_init(&b, modes[mi], 8, NULL);
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            pcap_t *pc = open_bundled(dir, names[i]);
            struct pcap_pkthdr *h;
            const u_char *d;
            uint8_t buf[2048];
            struct sl_pkt p;
            uint64_t now = 1;
            while (pcap_next_ex(pc, &h, &d) == 1) {
                size_t n = h->caplen < sizeof(buf) ? h->caplen : sizeof(buf);
                for (int variant = 0; variant < 3; variant++) {
                    memcpy(buf, d, n);
                    size_t len = variant == 1 ? (size_t)(rnd() % (n + 1)) : n;
                    if (variant == 2)
                        buf[14 + rnd() % 48 < n ? 14 + rnd() % 48 : 0] = (uint8_t)rnd();
                    sl_pkt_decode(&p, buf, (uint32_t)len, SL_DLT_EN10MB);
                    long want = sl_lb_frag_bucket(b.lb, &p);
                    long got = sl_lb_prefetch(b.lb, buf, (uint32_t)len);
                    /* a frame the decoder stops in may get a useless hint */
                    QUICK(got == -1 || got == want || p.weird != NULL,
                          "%s frame %u variant %d: hint %ld, pick reads %ld", names[i],
                          (unsigned)h->caplen, variant, got, want);
                    bool promise = hint_promised(buf, len, &p, want);
                    QUICK(!promise || got == want, "%s: a promised hint missing", names[i]);
                    hinted += got >= 0;
                    promised += promise;
                    uint64_t before = table_touches(b.lb);
                    int w = sl_lb_pick(b.lb, &p, now++, NULL, NULL);
                    (void)w;
                    bool read = table_touches(b.lb) != before;
                    QUICK(read == (want >= 0), "%s: pick %s the table, frag_bucket %ld", names[i],
                          read ? "read" : "did not read", want);
                    touched += read;
                    struct sl_lb_released out[64];
                    while (sl_lb_release(b.lb, now, out, 64) > 0)
                        ;
                }
            }
            pcap_close(pc);
        }
        sl_lb_free(b.lb);
    }
    printf("prefetch_names_the_bucket_pick_reads: %lu picks read the table, %lu hinted (%lu "
           "promised)\n",
           touched, hinted, promised);
    ck_assert_msg(promised > 100 && hinted >= promised && touched > hinted, "%lu %lu %lu", touched,
                  hinted, promised);
}
END_TEST

static Suite *lb_suite(void)
{
    Suite *s = suite_create("lb");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, new_validates);
    tcase_add_test(tc, both_directions_same_worker);
    tcase_add_test(tc, non_ip_by_mac_pair);
    tcase_add_test(tc, broken_tcp_header_stays_with_connection);
    tcase_add_test(tc, in_order_fragments_follow_first);
    tcase_add_test(tc, out_of_order_held_and_released);
    tcase_add_test(tc, hold_timeout_orphans_by_3tuple);
    tcase_add_test(tc, held_frames_bounded);
    tcase_add_test(tc, icmp_error_v4_to_quoted_flow);
    tcase_add_test(tc, icmp_error_v6_to_quoted_flow);
    tcase_add_test(tc, inner_mode_fragmented_outer_tunnel);
    tcase_add_test(tc, liveness_moves_only_dead_workers_flows);
    tcase_add_test(tc, fragment_table_evicts_and_expires);
    tcase_add_test(tc, counters_add_up);
    tcase_add_test(tc, fast_v4_agrees_with_full_decode);
    tcase_add_test(tc, fast_v4_agrees_on_bundled_pcaps);
    tcase_add_test(tc, fast_flow_agrees_on_tunnel_headers);
    tcase_add_test(tc, fast_flow_takes_icmp_messages);
    tcase_add_test(tc, prefetch_names_the_bucket_pick_reads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(lb_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
