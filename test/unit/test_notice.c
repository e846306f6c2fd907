/* Unit tests for sl_notice. Expected lines: Zeek 8.0's own baselines
 * (testing/btest/Baseline/core.pcap.filter-warning/notice.log and
 * scripts.base.frameworks.notice.cluster/manager.notice.log) and rules read
 * from base/frameworks/notice/main.zeek. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sl_notice.h"

struct rec {
    char line[16][1024];
    int n;
};

static void on_record(void *ctx, const struct sl_log_val *v)
{
    struct rec *r = ctx;
    ck_assert_int_lt(r->n, 16);
    ck_assert_int_ge(sl_log_format_line(&sl_notice_schema, SL_LOG_TSV, v, r->line[r->n], 1024), 0);
    r->n++;
}

static struct sl_notice_ctx *mk(struct rec *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    struct sl_notice_cfg cfg = {3600.0, max, r, on_record};
    struct sl_notice_ctx *c = sl_notice_new(&cfg);
    ck_assert_ptr_nonnull(c);
    return c;
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

START_TEST(baseline_lines)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 0);
    struct sl_notice n = {.ts = 0.0,
                          .note = "PacketFilter::Install_Failure",
                          .msg = "Installing packet filter failed",
                          .sub = "ip or not ip"};
    bool logged;
    ck_assert_int_eq(sl_notice_raise(c, &n, &logged), 0);
    ck_assert(logged);
    struct sl_notice w = {
        .ts = 12.5, .note = "Test_Notice", .msg = "test notice!", .peer_descr = "worker-1"};
    ck_assert_int_eq(sl_notice_raise(c, &w, NULL), 0);
    ck_assert_int_eq(r.n, 2);
    ck_assert_str_eq(r.line[0],
                     "0.000000\t-\t-\t-\t-\t-\t-\t-\t-\t-\tPacketFilter::Install_Failure\t"
                     "Installing packet filter failed\tip or not ip\t-\t-\t-\t-\t-\t"
                     "Notice::ACTION_LOG\t(empty)\t3600.000000\t-\t-\t-\t-\t-");
    ck_assert_str_eq(r.line[1],
                     "12.500000\t-\t-\t-\t-\t-\t-\t-\t-\t-\tTest_Notice\ttest notice!\t-\t"
                     "-\t-\t-\t-\tworker-1\tNotice::ACTION_LOG\t(empty)\t3600.000000\t-\t"
                     "-\t-\t-\t-");
    sl_notice_free(c);
}
END_TEST

START_TEST(policy_fills_from_conn_and_port)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 0);
    struct sl_notice n = {.ts = 5.0,
                          .note = "Scan::Address_Scan",
                          .msg = "m",
                          .sub = "remote",
                          .has_src = true,
                          .has_p = true,
                          .p = 22,
                          .p_proto = 6,
                          .identifier = "10.0.0.1"};
    v4(n.src, 10, 0, 0, 1);
    sl_notice_raise(c, &n, NULL);
    /* p given: proto from it (get_port_transport_proto) */
    ck_assert_str_eq(r.line[0], "5.000000\t-\t-\t-\t-\t-\t-\t-\t-\ttcp\tScan::Address_Scan\tm\t"
                                "remote\t10.0.0.1\t-\t22\t-\t-\tNotice::ACTION_LOG\t(empty)\t"
                                "3600.000000\t-\t-\t-\t-\t-");

    struct sl_notice k = {.ts = 6.0,
                          .note = "X::Y",
                          .uid = "Cabc",
                          .has_id = true,
                          .orig_p = 1234,
                          .resp_p = 53,
                          .id_proto = 17,
                          .has_n = true,
                          .n = 7};
    v4(k.orig_h, 1, 2, 3, 4);
    v4(k.resp_h, 5, 6, 7, 8);
    sl_notice_raise(c, &k, NULL);
    /* id given: src/dst/p from it */
    ck_assert_str_eq(r.line[1],
                     "6.000000\tCabc\t1.2.3.4\t1234\t5.6.7.8\t53\t-\t-\t-\tudp\tX::Y\t-\t"
                     "-\t1.2.3.4\t5.6.7.8\t53\t7\t-\tNotice::ACTION_LOG\t(empty)\t"
                     "3600.000000\t-\t-\t-\t-\t-");
    sl_notice_free(c);
}
END_TEST

START_TEST(suppression_exact)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 0);
    struct sl_notice n = {.note = "Scan::Port_Scan", .identifier = "10.0.0.1"};
    bool logged;
    const struct {
        double t;
        bool logged;
    } seq[] = {
        {1000.0, true},       {1000.0, false},
        {4599.999999, false}, {4600.0, true}, /* 1000 + 3600: the suppression has ended */
        {8199.9, false},      {8200.0, true},
    };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        n.ts = seq[i].t;
        sl_notice_raise(c, &n, &logged);
        ck_assert_msg(logged == seq[i].logged, "step %zu at %f", i, seq[i].t);
    }
    /* another identifier, and another note with the same identifier */
    n.ts = 8201.0;
    n.identifier = "10.0.0.2";
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    n.note = "Scan::Address_Scan";
    n.identifier = "10.0.0.1";
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    ck_assert(sl_notice_is_suppressed(c, "Scan::Port_Scan", "10.0.0.1", 8201.0));
    ck_assert(!sl_notice_is_suppressed(c, "Scan::Port_Scan", "10.0.0.1", 11800.0));
    const struct sl_notice_counters *k = sl_notice_counters(c);
    ck_assert_uint_eq(k->suppressed, 3);
    ck_assert_uint_eq(k->logged, 5);
    sl_notice_free(c);
}
END_TEST

START_TEST(no_identifier_never_suppressed)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 0);
    struct sl_notice n = {.ts = 1.0, .note = "CaptureLoss::Too_Little_Traffic", .msg = "x"};
    for (int i = 0; i < 5; i++) {
        bool logged;
        sl_notice_raise(c, &n, &logged);
        ck_assert(logged);
    }
    ck_assert_int_eq(r.n, 5);
    ck_assert_uint_eq(sl_notice_active(c), 0);
    sl_notice_free(c);
}
END_TEST

START_TEST(type_intervals_and_expiry)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 0);
    ck_assert_int_eq(sl_notice_set_type_interval(c, "A::Never", 0), 0);
    ck_assert_int_eq(sl_notice_set_type_interval(c, "A::Short", 10), 0);
    struct sl_notice n = {.ts = 1.0, .note = "A::Never", .identifier = "x"};
    bool logged;
    sl_notice_raise(c, &n, &logged);
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    n.note = "A::Short";
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    ck_assert(strstr(r.line[2], "\t10.000000\t"));
    n.ts = 10.9;
    sl_notice_raise(c, &n, &logged);
    ck_assert(!logged);
    n.ts = 11.0;
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    /* a suppression decided elsewhere */
    ck_assert_int_eq(sl_notice_suppress(c, "B::C", "y", 100.0, 50.0), 0);
    ck_assert(sl_notice_is_suppressed(c, "B::C", "y", 149.0));
    ck_assert_uint_eq(sl_notice_active(c), 2);
    sl_notice_expire(c, 150.0);
    ck_assert_uint_eq(sl_notice_active(c), 0);
    ck_assert(!sl_notice_is_suppressed(c, "B::C", "y", 120.0));
    ck_assert_int_eq(sl_notice_set_type_interval(c, "A::Short", -1), -EINVAL);
    sl_notice_free(c);
}
END_TEST

START_TEST(bounded_table)
{
    struct rec r;
    struct sl_notice_ctx *c = mk(&r, 2);
    struct sl_notice n = {.ts = 1.0, .note = "N"};
    const char *ids[] = {"a", "b", "c", "c", "a"};
    const bool want[] = {true, true, true, true, false};
    for (int i = 0; i < 5; i++) {
        bool logged;
        n.identifier = ids[i];
        sl_notice_raise(c, &n, &logged);
        ck_assert_msg(logged == want[i], "step %d", i);
    }
    ck_assert_uint_eq(sl_notice_counters(c)->table_full, 2);
    /* expired entries make room again */
    n.ts = 4000.0;
    n.identifier = "c";
    bool logged;
    sl_notice_raise(c, &n, &logged);
    ck_assert(logged);
    ck_assert(sl_notice_is_suppressed(c, "N", "c", 4001.0));
    /* many identifiers: the table grows */
    struct sl_notice_ctx *big = mk(&r, 0);
    char id[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "h%d", i);
        ck_assert_int_eq(sl_notice_suppress(big, "N", id, 1.0, 10.0), 0);
    }
    ck_assert_uint_eq(sl_notice_active(big), 5000);
    ck_assert(sl_notice_is_suppressed(big, "N", "h4321", 5.0));
    sl_notice_free(big);
    sl_notice_free(c);
    ck_assert_int_eq(sl_notice_raise(NULL, &n, NULL), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("notice");
    TCase *t = tcase_create("notice");
    tcase_add_test(t, baseline_lines);
    tcase_add_test(t, policy_fills_from_conn_and_port);
    tcase_add_test(t, suppression_exact);
    tcase_add_test(t, no_identifier_never_suppressed);
    tcase_add_test(t, type_intervals_and_expiry);
    tcase_add_test(t, bounded_table);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
