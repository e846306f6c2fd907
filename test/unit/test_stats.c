/* Unit tests for sl_stats. Timing and fields from Zeek 8.0's
 * policy/misc/stats.zeek and capture-loss.zeek; the pkts_proc sequence of
 * Zeek's scripts.policy.misc.stats baseline (1 at the first packet, the
 * rest in a last record at the end) is the model for the first test. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_stats.h"

struct rec {
    char st[16][1024];
    int nst;
    char cl[16][256];
    int ncl;
    char notes[16][200];
    int nn;
};

static void on_stats(void *ctx, const struct sl_log_val *v)
{
    struct rec *r = ctx;
    ck_assert_int_lt(r->nst, 16);
    ck_assert_int_ge(sl_log_format_line(&sl_stats_schema, SL_LOG_TSV, v, r->st[r->nst++], 1024), 0);
}

static void on_loss(void *ctx, const struct sl_log_val *v)
{
    struct rec *r = ctx;
    ck_assert_int_lt(r->ncl, 16);
    ck_assert_int_ge(
        sl_log_format_line(&sl_capture_loss_schema, SL_LOG_TSV, v, r->cl[r->ncl++], 256), 0);
}

static void on_notice(void *ctx, const struct sl_notice *n)
{
    struct rec *r = ctx;
    ck_assert_int_lt(r->nn, 16);
    ck_assert_ptr_null(n->identifier);
    snprintf(r->notes[r->nn++], 200, "%s|%s", n->note, n->msg);
}

static struct sl_stats *mk(struct rec *r, const char *peer)
{
    struct sl_stats_cfg cfg;
    sl_stats_cfg_default(&cfg);
    cfg.peer = peer;
    cfg.ctx = r;
    cfg.stats_record = on_stats;
    cfg.loss_record = on_loss;
    cfg.notice = on_notice;
    memset(r, 0, sizeof(*r));
    struct sl_stats *s = sl_stats_new(&cfg);
    ck_assert_ptr_nonnull(s);
    return s;
}

START_TEST(stats_timing_and_fields)
{
    struct rec r;
    struct sl_stats *s = mk(&r, "zeek");
    struct sl_stats_snap c = {.pkts_recvd = 1, .bytes_recvd = 60, .mem_bytes = 50u << 20};

    ck_assert(sl_stats_due(s, 1000.0));
    sl_stats_tick(s, 1000.0, &c);
    ck_assert_int_eq(r.nst, 1);
    /* nothing sluice cannot count is invented: unset fields are '-' */
    ck_assert_str_eq(r.st[0], "1000.000000\tzeek\t50\t1\t60\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t"
                              "-\t-\t-\t-\t-\t-\t-\t-\t-\t-");
    c.pkts_recvd = 100;
    c.bytes_recvd = 6000;
    sl_stats_tick(s, 1299.9, &c);
    ck_assert_int_eq(r.nst, 1);
    ck_assert(!sl_stats_due(s, 1299.95)); /* next: stats at 1300, capture loss at 2199.9 */
    ck_assert(sl_stats_due(s, 1300.0));
    c.pkts_recvd = 135;
    c.bytes_recvd = 8100;
    c.has_conns = true;
    c.active_tcp = 3;
    c.total_tcp = 10;
    c.total_udp = 4;
    c.has_files = c.has_dns = true;
    sl_stats_tick(s, 1300.0, &c);
    ck_assert_int_eq(r.nst, 2);
    ck_assert_str_eq(r.st[1],
                     "1300.000000\tzeek\t50\t134\t8040\t-\t-\t-\t-\t-\t-\t3\t0\t0\t10\t4\t0\t"
                     "-\t-\t0\t0\t0\t0\t-\t-\t-\t-");
    /* the next one is due at 1600; the end of input writes a last one */
    c.pkts_recvd = 140;
    c.total_tcp = 12;
    sl_stats_finish(s, 1400.5, &c);
    ck_assert_int_eq(r.nst, 3);
    ck_assert_str_eq(r.st[2], "1400.500000\tzeek\t50\t5\t0\t-\t-\t-\t-\t-\t-\t3\t0\t0\t2\t0\t0\t"
                              "-\t-\t0\t0\t0\t0\t-\t-\t-\t-");
    sl_stats_free(s);
}
END_TEST

START_TEST(stats_live_fields)
{
    struct rec r;
    struct sl_stats *s = mk(&r, "worker-1");
    struct sl_stats_snap c = {.pkts_recvd = 10,
                              .bytes_recvd = 1000,
                              .mem_bytes = 3u << 20,
                              .live = true,
                              .pkts_dropped = 2,
                              .pkts_link = 12,
                              .has_filtered = true,
                              .pkts_filtered = 1,
                              .pkt_lag = 0.25,
                              .has_timers = true,
                              .timers_total = 7,
                              .timers_active = 5,
                              .has_reassem = true,
                              .reassem_tcp = 1500};
    sl_stats_tick(s, 5.0, &c);
    ck_assert_str_eq(r.st[0], "5.000000\tworker-1\t3\t10\t1000\t2\t12\t0.250000\t1\t-\t-\t-\t-\t-\t"
                              "-\t-\t-\t7\t5\t-\t-\t-\t-\t1500\t0\t0\t0");
    sl_stats_free(s);
}
END_TEST

START_TEST(capture_loss_timing)
{
    struct rec r;
    struct sl_stats *s = mk(&r, "zeek");
    struct sl_stats_snap c = {.mem_bytes = 1};
    sl_stats_tick(s, 1000.0, &c); /* first packet: re-arm for 1060 */
    c.ack_events = 80;
    c.gap_events = 10;
    sl_stats_tick(s, 1059.0, &c);
    ck_assert_int_eq(r.ncl, 0);
    sl_stats_tick(s, 1060.5, &c);
    ck_assert_int_eq(r.ncl, 1);
    ck_assert_str_eq(r.cl[0], "1060.500000\t60.500000\tzeek\t10\t80\t12.5");
    ck_assert_int_eq(r.nn, 1);
    ck_assert_str_eq(r.notes[0], "CaptureLoss::Too_Much_Loss|The capture loss script detected an "
                                 "estimated loss rate above 12.500%");
    /* next: watch_interval (15 min) later */
    sl_stats_tick(s, 1900.0, &c);
    ck_assert_int_eq(r.ncl, 1);
    sl_stats_tick(s, 1960.5, &c);
    ck_assert_int_eq(r.ncl, 2);
    ck_assert_str_eq(r.cl[1], "1960.500000\t900.000000\tzeek\t0\t0\t0.0");
    ck_assert_int_eq(r.nn, 2);
    ck_assert_str_eq(r.notes[1], "CaptureLoss::Too_Little_Traffic|Only observed 0 TCP ACKs and was "
                                 "expecting at least 1.");
    c.ack_events = 180;
    sl_stats_finish(s, 2000.0, &c);
    ck_assert_int_eq(r.ncl, 3);
    ck_assert_str_eq(r.cl[2], "2000.000000\t39.500000\tzeek\t0\t100\t0.0");
    sl_stats_free(s);

    /* no packet at all: no capture_loss record (the timer only re-arms) */
    s = mk(&r, "zeek");
    sl_stats_finish(s, 0.0, &c);
    ck_assert_int_eq(r.ncl, 0);
    ck_assert_int_eq(r.nst, 1);
    sl_stats_free(s);
}
END_TEST

START_TEST(doubles_and_args)
{
    char b[64];
    ck_assert_str_eq(sl_stats_fmt_double(0.0, b, sizeof(b)), "0.0");
    ck_assert_str_eq(sl_stats_fmt_double(12.5, b, sizeof(b)), "12.5");
    ck_assert_str_eq(sl_stats_fmt_double(100.0, b, sizeof(b)), "100.0");
    ck_assert_str_eq(sl_stats_fmt_double(100.0 / 3.0, b, sizeof(b)), "33.333333");
    ck_assert_str_eq(sl_stats_fmt_double(0.1234567, b, sizeof(b)), "0.123457");
    ck_assert_uint_gt(sl_stats_rss(), 0);
    struct sl_stats_cfg cfg;
    sl_stats_cfg_default(&cfg);
    cfg.report_interval = 0;
    errno = 0;
    ck_assert_ptr_null(sl_stats_new(&cfg));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(sl_stats_schema.n_fields, 27);
    ck_assert_str_eq(sl_capture_loss_schema.fields[SL_CL_PERCENT_LOST].name, "percent_lost");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *t = tcase_create("stats");
    tcase_add_test(t, stats_timing_and_fields);
    tcase_add_test(t, stats_live_fields);
    tcase_add_test(t, capture_loss_timing);
    tcase_add_test(t, doubles_and_args);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
