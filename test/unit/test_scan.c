/* Unit tests for sl_scan. Expected behaviour read from Zeek's
 * policy/misc/scan.zeek (last shipped in 6.0), SumStats' threshold and
 * UNIQUE plugin, and base/utils/time.zeek's duration_to_mins_secs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_scan.h"

struct nrec {
    char note[64][32];
    char msg[64][256];
    char ident[64][48];
    char sub[64][16];
    double ts[64];
    int p[64];
    bool has_dst[64];
    int n;
};

static void on_notice(void *ctx, const struct sl_notice *n)
{
    struct nrec *r = ctx;
    ck_assert_int_lt(r->n, 64);
    snprintf(r->note[r->n], 32, "%s", n->note);
    snprintf(r->msg[r->n], 256, "%s", n->msg);
    snprintf(r->ident[r->n], 48, "%s", n->identifier);
    snprintf(r->sub[r->n], 16, "%s", n->sub);
    r->ts[r->n] = n->ts;
    r->p[r->n] = n->has_p ? n->p : -1;
    r->has_dst[r->n] = n->has_dst;
    r->n++;
}

/* 10.0.0.0/8 is local */
static bool is_local(void *ctx, const uint8_t a[16])
{
    (void)ctx;
    return a[10] == 0xff && a[12] == 10;
}

static void v4(uint8_t a[16], unsigned x0, unsigned x1, unsigned x2, unsigned x3)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = (uint8_t)x0;
    a[13] = (uint8_t)x1;
    a[14] = (uint8_t)x2;
    a[15] = (uint8_t)x3;
}

static struct sl_scan_agg *mk(struct nrec *r)
{
    struct sl_scan_cfg cfg;
    sl_scan_cfg_default(&cfg);
    cfg.ctx = r;
    cfg.is_local = is_local;
    cfg.notice = on_notice;
    memset(r, 0, sizeof(*r));
    struct sl_scan_agg *a = sl_scan_agg_new(&cfg);
    ck_assert_ptr_nonnull(a);
    return a;
}

static struct sl_scan_obs obs(double ts, unsigned s3, unsigned v2, unsigned v3, uint16_t port)
{
    struct sl_scan_obs o;
    memset(&o, 0, sizeof(o));
    o.ts = ts;
    v4(o.scanner, 10, 0, 0, s3);
    v4(o.victim, 192, 168, v2, v3);
    o.port = port;
    o.proto = 6;
    return o;
}

/* ---- worker side ---- */

START_TEST(conn_decisions)
{
    struct sl_scan_conn c = {.orig_p = 40000, .resp_p = 22};
    struct sl_scan_obs o;
    v4(c.orig_h, 10, 0, 0, 1);
    v4(c.resp_h, 192, 168, 0, 1);

    c.history = "S";
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_ATTEMPT, &c, 5.0, &o));
    ck_assert_int_eq(o.port, 22);
    ck_assert_int_eq(o.scanner[12], 10);
    ck_assert(o.ts == 5.0);
    /* attempt with the responder's SYN-ACK in orig history ('H'): reverse */
    c.history = "H";
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_ATTEMPT, &c, 5.0, &o));
    ck_assert_int_eq(o.port, 40000);
    ck_assert_int_eq(o.scanner[12], 192);

    c.history = "Sr";
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_REJECTED, &c, 5.0, &o));
    ck_assert_int_eq(o.scanner[12], 10);
    c.history = "sR";
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_REJECTED, &c, 5.0, &o));
    ck_assert_int_eq(o.scanner[12], 192);

    /* reset: Sr */
    c.history = "Sr";
    c.orig_state = SL_SCAN_TCP_SYN_SENT;
    c.resp_state = SL_SCAN_TCP_RESET;
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_RESET, &c, 5.0, &o));
    ck_assert_int_eq(o.scanner[12], 10);
    /* hR without data */
    c.history = "ShR";
    c.orig_state = SL_SCAN_TCP_RESET;
    c.resp_state = SL_SCAN_TCP_SYN_ACK_SENT;
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_RESET, &c, 5.0, &o));
    /* ShR with the responder established, no data */
    c.resp_state = SL_SCAN_TCP_ESTABLISHED;
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_PENDING, &c, 5.0, &o));
    /* ... but with data it is a real connection */
    c.history = "ShADdR";
    ck_assert(!sl_scan_conn_obs(SL_SCAN_EV_RESET, &c, 5.0, &o));
    /* established without the 'S' is not one either */
    c.history = "hR";
    ck_assert(!sl_scan_conn_obs(SL_SCAN_EV_RESET, &c, 5.0, &o));
    /* reverse: sR */
    c.history = "sR";
    c.orig_state = SL_SCAN_TCP_RESET;
    c.resp_state = SL_SCAN_TCP_SYN_SENT;
    ck_assert(sl_scan_conn_obs(SL_SCAN_EV_RESET, &c, 5.0, &o));
    ck_assert_int_eq(o.scanner[12], 192);
    ck_assert_int_eq(o.port, 40000);
    /* an ordinary close */
    c.history = "ShADadFf";
    c.orig_state = c.resp_state = SL_SCAN_TCP_CLOSED;
    ck_assert(!sl_scan_conn_obs(SL_SCAN_EV_PENDING, &c, 5.0, &o));
}
END_TEST

/* ---- thresholds ---- */

START_TEST(address_scan_24_25)
{
    struct nrec r;
    struct sl_scan_agg *a = mk(&r);
    sl_scan_agg_start(a, 1000.0);
    /* 24 distinct hosts on port 22, plus repeats: nothing */
    for (unsigned i = 1; i <= 24; i++) {
        struct sl_scan_obs o = obs(1000.0 + i, 1, 0, i, 22);
        sl_scan_agg_observe(a, &o);
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(r.n, 0);
    /* the 25th distinct host, 125 s after the first observation */
    struct sl_scan_obs o = obs(1126.0, 1, 0, 25, 22);
    sl_scan_agg_observe(a, &o);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.note[0], "Scan::Address_Scan");
    ck_assert_str_eq(r.msg[0], "10.0.0.1 scanned at least 25 unique hosts on port 22/tcp in 2m5s");
    ck_assert_str_eq(r.ident[0], "10.0.0.1");
    ck_assert_str_eq(r.sub[0], "local");
    ck_assert_int_eq(r.p[0], 22);
    ck_assert(r.ts[0] == 1126.0);
    /* more hosts in the same epoch: no second notice */
    for (unsigned i = 26; i <= 60; i++) {
        o = obs(1130.0 + i, 1, 0, i, 22);
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(r.n, 1);
    sl_scan_agg_free(a);
}
END_TEST

START_TEST(port_scan_14_15)
{
    struct nrec r;
    struct sl_scan_agg *a = mk(&r);
    for (unsigned p = 1; p <= 14; p++) {
        struct sl_scan_obs o = obs(50.0 + p * 0.5, 7, 9, 9, (uint16_t)(1000 + p));
        o.scanner[12] = 8; /* 8.0.0.7: remote */
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(r.n, 0);
    struct sl_scan_obs o = obs(59.9, 7, 9, 9, 2000);
    o.scanner[12] = 8;
    sl_scan_agg_observe(a, &o);
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.note[0], "Scan::Port_Scan");
    ck_assert_str_eq(r.msg[0],
                     "8.0.0.7 scanned at least 15 unique ports of host 192.168.9.9 in 0m9s");
    ck_assert_str_eq(r.sub[0], "remote");
    ck_assert(r.has_dst[0]);
    ck_assert_int_eq(r.p[0], -1);
    sl_scan_agg_free(a);
}
END_TEST

/* The epoch is 5 minutes: 24 hosts in one and the 25th in the next
 * do not make a scan; 25 in the next epoch do, once. */
START_TEST(five_minute_window)
{
    struct nrec r;
    struct sl_scan_agg *a = mk(&r);
    sl_scan_agg_start(a, 0.0);
    for (unsigned i = 1; i <= 24; i++) {
        struct sl_scan_obs o = obs(10.0 * i, 1, 0, i, 80);
        sl_scan_agg_observe(a, &o);
    }
    struct sl_scan_obs o = obs(300.0, 1, 0, 25, 80); /* epoch 1 starts at 300 */
    sl_scan_agg_observe(a, &o);
    ck_assert_int_eq(r.n, 0);
    ck_assert_uint_eq(sl_scan_agg_counters(a)->epochs, 2); /* both SumStats */
    for (unsigned i = 1; i <= 24; i++) {
        o = obs(300.0 + i, 1, 1, i, 80);
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.msg[0], "10.0.0.1 scanned at least 25 unique hosts on port 80/tcp in 0m24s");
    /* time passing alone ends the epoch and frees the keys */
    sl_scan_agg_advance(a, 1000.0);
    ck_assert_uint_eq(sl_scan_agg_keys(a), 0);
    sl_scan_agg_free(a);
}
END_TEST

/* Both detectors on the same stream; with sl_notice the second epoch's
 * notice for the same scanner is suppressed (identifier = scanner). */
static void raise_cb(void *ctx, const struct sl_notice *n)
{
    bool logged;
    sl_notice_raise(ctx, n, &logged);
}

static int nlines;
static void count_rec(void *ctx, const struct sl_log_val *v)
{
    (void)ctx;
    (void)v;
    nlines++;
}

START_TEST(with_notice_suppression)
{
    struct sl_notice_cfg ncfg = {3600.0, 0, NULL, count_rec};
    struct sl_notice_ctx *nc = sl_notice_new(&ncfg);
    struct sl_scan_cfg cfg;
    sl_scan_cfg_default(&cfg);
    cfg.ctx = nc;
    cfg.notice = raise_cb;
    struct sl_scan_agg *a = sl_scan_agg_new(&cfg);
    nlines = 0;
    for (int epoch = 0; epoch < 2; epoch++)
        for (unsigned i = 1; i <= 25; i++) {
            /* one host per port and one port per host: both stats grow */
            struct sl_scan_obs o =
                obs(epoch * 300.0 + i, 3, 5, (unsigned)epoch * 100 + i, (uint16_t)(100 + i));
            sl_scan_agg_observe(a, &o);
        }
    /* epoch 0: neither crosses (one host per port, one port per host) */
    ck_assert_int_eq(nlines, 0);
    /* 25 hosts on one port and 15 ports on one host */
    for (unsigned i = 1; i <= 25; i++) {
        struct sl_scan_obs o = obs(700.0 + i, 3, 7, i, 443);
        sl_scan_agg_observe(a, &o);
        o = obs(700.0 + i, 3, 8, 1, (uint16_t)(5000 + i));
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(nlines, 2);
    ck_assert_uint_eq(sl_scan_agg_counters(a)->notices, 2);
    /* the next epoch crosses again; suppressed for the hour */
    for (unsigned i = 1; i <= 25; i++) {
        struct sl_scan_obs o = obs(1000.0 + i, 3, 9, i, 443);
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_uint_eq(sl_scan_agg_counters(a)->notices, 3);
    ck_assert_int_eq(nlines, 2);
    ck_assert_uint_eq(sl_notice_counters(nc)->suppressed, 1);
    sl_scan_agg_free(a);
    sl_notice_free(nc);
}
END_TEST

/* ---- many workers ---- */

START_TEST(many_workers_merge)
{
    /* three workers each see a third of the scanner's connections (round
     * robin by victim), at interleaved times; plus background noise */
    enum { N = 90 };
    struct sl_scan_obs all[N + 30];
    int n = 0;
    for (unsigned i = 0; i < N; i++)
        all[n++] = obs(100.0 + i * 0.37, 1, (i / 200) & 0xff, 1 + i, 445);
    for (unsigned i = 0; i < 30; i++)
        all[n++] = obs(100.0 + i * 1.1, 2 + (i % 3), 50, 1 + i, (uint16_t)(i % 4 + 1));

    /* reference: one process, everything in time order */
    struct nrec ref;
    struct sl_scan_agg *a = mk(&ref);
    struct sl_scan_obs sorted[N + 30];
    memcpy(sorted, all, sizeof(all));
    for (int i = 1; i < n; i++) /* insertion sort by ts, stable */
        for (int j = i; j > 0 && sorted[j].ts < sorted[j - 1].ts; j--) {
            struct sl_scan_obs t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    for (int i = 0; i < n; i++)
        sl_scan_agg_observe(a, &sorted[i]);
    sl_scan_agg_free(a);
    ck_assert_int_eq(ref.n, 1);
    ck_assert_str_eq(ref.msg[0],
                     "10.0.0.1 scanned at least 25 unique hosts on port 445/tcp in 0m8s");

    /* cluster: per-worker streams (each in order), arriving in batches of
     * 7 from worker 0, then 1, then 2, ...; watermark = min last ts */
    struct sl_scan_obs w[3][N + 30];
    int wn[3] = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        int k = (int)(sorted[i].victim[15] % 3);
        w[k][wn[k]++] = sorted[i];
    }
    struct nrec got;
    a = mk(&got);
    int pos[3] = {0, 0, 0};
    double last[3] = {0, 0, 0};
    while (pos[0] < wn[0] || pos[1] < wn[1] || pos[2] < wn[2]) {
        for (int k = 0; k < 3; k++) {
            for (int b = 0; b < 7 && pos[k] < wn[k]; b++) {
                ck_assert_int_eq(sl_scan_agg_submit(a, &w[k][pos[k]]), 0);
                last[k] = w[k][pos[k]++].ts;
            }
            if (pos[k] == wn[k])
                last[k] = 1e18; /* this worker is done */
        }
        double wm = last[0];
        for (int k = 1; k < 3; k++)
            wm = last[k] < wm ? last[k] : wm;
        if (wm < 1e18)
            sl_scan_agg_release(a, wm);
    }
    sl_scan_agg_flush(a);
    ck_assert_uint_eq(sl_scan_agg_pending(a), 0);
    ck_assert_int_eq(got.n, ref.n);
    ck_assert_str_eq(got.msg[0], ref.msg[0]);
    ck_assert(got.ts[0] == ref.ts[0]);
    ck_assert_uint_eq(sl_scan_agg_counters(a)->late, 0);
    sl_scan_agg_free(a);

    /* without ordering (observations as they arrive), the duration or the
     * crossing observation can differ: this is why submit/release exist */
}
END_TEST

START_TEST(bounds)
{
    struct nrec r;
    struct sl_scan_cfg cfg;
    sl_scan_cfg_default(&cfg);
    cfg.ctx = &r;
    cfg.notice = on_notice;
    cfg.max_keys = 100;
    cfg.max_pending = 10;
    memset(&r, 0, sizeof(r));
    struct sl_scan_agg *a = sl_scan_agg_new(&cfg);
    /* a SYN flood from random sources: keys stay bounded */
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        struct sl_scan_obs o = obs(1.0 + i * 0.001, 1, 1, 1, 80);
        memcpy(o.scanner + 12, &x, 4);
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_uint_le(sl_scan_agg_keys(a), 200);
    ck_assert_uint_gt(sl_scan_agg_counters(a)->evicted, 0);
    /* a full reorder buffer releases its earliest early */
    for (int i = 0; i < 15; i++) {
        struct sl_scan_obs o = obs(100.0 + i, 1, 2, (unsigned)i, 80);
        ck_assert_int_eq(sl_scan_agg_submit(a, &o), 0);
    }
    ck_assert_uint_eq(sl_scan_agg_pending(a), 10);
    ck_assert_uint_eq(sl_scan_agg_counters(a)->forced, 5);
    sl_scan_agg_flush(a);
    ck_assert_uint_eq(sl_scan_agg_pending(a), 0);
    ck_assert_int_eq(sl_scan_agg_start(a, 0), -EBUSY);
    sl_scan_agg_free(a);

    cfg.addr_threshold = 0;
    errno = 0;
    ck_assert_ptr_null(sl_scan_agg_new(&cfg));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(ipv6_scanner)
{
    struct nrec r;
    struct sl_scan_agg *a = mk(&r);
    for (unsigned i = 0; i < 15; i++) {
        struct sl_scan_obs o;
        memset(&o, 0, sizeof(o));
        o.ts = 10.0 + i;
        o.scanner[0] = 0x20;
        o.scanner[1] = 0x01;
        o.scanner[2] = 0x0d;
        o.scanner[3] = 0xb8;
        o.scanner[15] = 1;
        memcpy(o.victim, o.scanner, 16);
        o.victim[15] = 2;
        o.port = (uint16_t)(i + 1);
        o.proto = 6;
        sl_scan_agg_observe(a, &o);
    }
    ck_assert_int_eq(r.n, 1);
    ck_assert_str_eq(r.msg[0],
                     "2001:db8::1 scanned at least 15 unique ports of host 2001:db8::2 in 0m14s");
    ck_assert_str_eq(r.ident[0], "2001:db8::1");
    sl_scan_agg_free(a);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scan");
    TCase *t = tcase_create("scan");
    tcase_add_test(t, conn_decisions);
    tcase_add_test(t, address_scan_24_25);
    tcase_add_test(t, port_scan_14_15);
    tcase_add_test(t, five_minute_window);
    tcase_add_test(t, with_notice_suppression);
    tcase_add_test(t, many_workers_merge);
    tcase_add_test(t, bounds);
    tcase_add_test(t, ipv6_scanner);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
