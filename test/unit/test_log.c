/* Unit tests for sl_log: Zeek's TSV escaping, header, JSON typing. The
 * expected strings are written by hand from Zeek's Ascii/JSON formatter
 * rules (src/threading/formatters/Ascii.cc, JSON.cc, src/Desc.cc). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_log.h"

static const struct sl_log_field one_str_f[] = {{"s", SL_LT_STRING}};
static const struct sl_log_schema one_str = {"t", 1, one_str_f};

static const char *tsv1(const char *s)
{
    static char buf[512];
    struct sl_log_val v = {.present = true, .s = s};
    int n = sl_log_format_line(&one_str, SL_LOG_TSV, &v, buf, sizeof(buf));
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq((int)strlen(buf), n);
    return buf;
}

static const char *json1(const struct sl_log_schema *sc, const struct sl_log_val *v)
{
    static char buf[1024];
    int n = sl_log_format_line(sc, SL_LOG_JSON, v, buf, sizeof(buf));
    ck_assert_int_ge(n, 0);
    return buf;
}

START_TEST(tsv_plain_and_reserved)
{
    ck_assert_str_eq(tsv1("hello world"), "hello world");
    ck_assert_str_eq(tsv1(""), "(empty)");
    ck_assert_str_eq(tsv1("-"), "\\x2d");
    ck_assert_str_eq(tsv1("(empty)"), "\\x28empty)");
    /* Only an exact match is reserved. */
    ck_assert_str_eq(tsv1("--"), "--");
    ck_assert_str_eq(tsv1("(empty) x"), "(empty) x");
}
END_TEST

START_TEST(tsv_escapes)
{
    ck_assert_str_eq(tsv1("a\tb"), "a\\x09b");
    ck_assert_str_eq(tsv1("a\\b"), "a\\\\b");
    /* A comma is only special inside a container. */
    ck_assert_str_eq(tsv1("a,b"), "a,b");
    ck_assert_str_eq(tsv1("a\nb"), "a\\x0ab");
    ck_assert_str_eq(tsv1("a\x01"), "a\\x01");
    /* Valid UTF-8 stays as is. */
    ck_assert_str_eq(tsv1("caf\xc3\xa9"), "caf\xc3\xa9");
    /* A bad byte makes the whole segment hex-escaped, the valid
     * multibyte sequence included (Zeek's escape_utf8). */
    ck_assert_str_eq(tsv1("\xc3\xa9x\xff"), "\\xc3\\xa9x\\xff");
    /* ... but only within the segment up to the next separator. */
    ck_assert_str_eq(tsv1("\xc3\xa9\t\xff"), "\xc3\xa9\\x09\\xff");
    /* Overlong encoding and C1 control are not accepted. */
    ck_assert_str_eq(tsv1("\xc0\xaf"), "\\xc0\\xaf");
    ck_assert_str_eq(tsv1("\xc2\x85"), "\\xc2\\x85");
    /* Truncated sequence at the end. */
    ck_assert_str_eq(tsv1("ab\xe2\x82"), "ab\\xe2\\x82");
    /* A line that would look like a meta line. */
    ck_assert_str_eq(tsv1("#x"), "\\x23x");
}
END_TEST

static const struct sl_log_field mix_f[] = {
    {"ts", SL_LT_TIME},        {"n", SL_LT_COUNT},         {"b", SL_LT_BOOL},
    {"a", SL_LT_ADDR},         {"p", SL_LT_PORT},          {"e", SL_LT_ENUM},
    {"set", SL_LT_SET_STRING}, {"vi", SL_LT_VEC_INTERVAL}, {"u", SL_LT_STRING},
    {"d", SL_LT_INTERVAL},
};
static const struct sl_log_schema mix = {"mix", 10, mix_f};

START_TEST(tsv_record_and_containers)
{
    static const char *const items[] = {"x,y", "-", "", "z"};
    static const char *const ivs[] = {"1.500000", "2.000000"};
    struct sl_log_val v[10] = {
        {true, "1300475167.096535", NULL, 0},
        {true, "42", NULL, 0},
        {true, "T", NULL, 0},
        {true, "2001:db8::1", NULL, 0},
        {true, "80", NULL, 0},
        {true, "tcp", NULL, 0},
        {true, NULL, items, 4},
        {true, NULL, ivs, 2},
        {false, NULL, NULL, 0},
        {true, "0.000742", NULL, 0},
    };
    char buf[512];
    int n = sl_log_format_line(&mix, SL_LOG_TSV, v, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_str_eq(buf, "1300475167.096535\t42\tT\t2001:db8::1\t80\ttcp\t"
                          "x\\x2cy,\\x2d,(empty),z\t1.500000,2.000000\t-\t0.000742");

    /* A present but empty container is "(empty)". */
    v[6].n_items = 0;
    n = sl_log_format_line(&mix, SL_LOG_TSV, v, buf, sizeof(buf));
    ck_assert_int_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "\ttcp\t(empty)\t"));

    /* Too small a buffer is reported, not overrun. */
    char small[8];
    ck_assert_int_eq(sl_log_format_line(&mix, SL_LOG_TSV, v, small, sizeof(small)), -ENOSPC);
}
END_TEST

START_TEST(json_typing)
{
    static const char *const items[] = {"a\"b", "c"};
    static const char *const ivs[] = {"1.500000", "2.000000"};
    struct sl_log_val v[10] = {
        {true, "1300475167.096535", NULL, 0},
        {true, "42", NULL, 0},
        {true, "F", NULL, 0},
        {true, "10.0.0.1", NULL, 0},
        {true, "53", NULL, 0},
        {true, "udp", NULL, 0},
        {true, NULL, items, 2},
        {true, NULL, ivs, 2},
        {false, NULL, NULL, 0},
        {true, "0.000100", NULL, 0},
    };
    ck_assert_str_eq(json1(&mix, v),
                     "{\"ts\":1300475167.096535,\"n\":42,\"b\":false,\"a\":\"10.0.0.1\","
                     "\"p\":53,\"e\":\"udp\",\"set\":[\"a\\\"b\",\"c\"],\"vi\":[1.5,2.0],"
                     "\"d\":0.0001}");

    /* Empty container is [], unset is omitted; strings keep \t as a JSON
     * escape, and bad bytes become a literal \xNN (escaped backslash). */
    v[6].n_items = 0;
    v[8] = (struct sl_log_val){true, "t\tx\xff", NULL, 0};
    v[9] = (struct sl_log_val){true, "5.000000", NULL, 0};
    v[0].present = false;
    ck_assert_str_eq(json1(&mix, v),
                     "{\"n\":42,\"b\":false,\"a\":\"10.0.0.1\",\"p\":53,\"e\":\"udp\","
                     "\"set\":[],\"vi\":[1.5,2.0],\"u\":\"t\\tx\\\\xff\",\"d\":5.0}");
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(file_header_and_close)
{
    char dir[] = "/tmp/test_log_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    static const struct sl_log_field f[] = {{"ts", SL_LT_TIME},
                                            {"tunnel_parents", SL_LT_SET_STRING}};
    static const struct sl_log_schema sc = {"conn", 2, f};

    struct sl_log_writer *w = sl_log_open(dir, &sc, SL_LOG_TSV, 1700000000.0);
    ck_assert_ptr_nonnull(w);
    struct sl_log_val v[2] = {{true, "1.000000", NULL, 0}, {true, NULL, NULL, 0}};
    ck_assert_int_eq(sl_log_write(w, v), 0);
    ck_assert_int_eq(sl_log_write(w, v), 0);
    ck_assert_uint_eq(sl_log_count(w), 2);
    ck_assert_int_eq(sl_log_close(w, 1700000060.0), 0);

    char path[256];
    snprintf(path, sizeof(path), "%s/conn.log", dir);
    char *s = slurp(path);
    const char *want_head = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                            "#unset_field\t-\n#path\tconn\n#open\t";
    ck_assert_int_eq(strncmp(s, want_head, strlen(want_head)), 0);
    ck_assert_ptr_nonnull(strstr(s, "\n#fields\tts\ttunnel_parents\n#types\ttime\tset[string]\n"
                                    "1.000000\t(empty)\n1.000000\t(empty)\n#close\t"));
    /* #open is a local %Y-%m-%d-%H-%M-%S stamp: 19 characters. */
    const char *o = strstr(s, "#open\t") + 6;
    ck_assert_int_eq((int)(strchr(o, '\n') - o), 19);
    unlink(path);

    /* JSON: no header, no #close. */
    w = sl_log_open(dir, &sc, SL_LOG_JSON, 0);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(sl_log_write(w, v), 0);
    ck_assert_int_eq(sl_log_close(w, 0), 0);
    ck_assert_str_eq(slurp(path), "{\"ts\":1.0,\"tunnel_parents\":[]}\n");
    unlink(path);
    rmdir(dir);

    /* A directory that does not exist is an error with errno set. */
    errno = 0;
    ck_assert_ptr_null(sl_log_open("/nonexistent/dir", &sc, SL_LOG_TSV, 0));
    ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(fmt_helpers)
{
    char b[64];
    ck_assert_str_eq(sl_log_fmt_time(1.5, b, sizeof(b)), "1.500000");
    ck_assert_str_eq(sl_log_fmt_time(1300475167.0965349674, b, sizeof(b)), "1300475167.096535");
    ck_assert_str_eq(sl_log_fmt_u64(18446744073709551615ULL, b, sizeof(b)), "18446744073709551615");
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, tsv_plain_and_reserved);
    tcase_add_test(tc, tsv_escapes);
    tcase_add_test(tc, tsv_record_and_containers);
    tcase_add_test(tc, json_typing);
    tcase_add_test(tc, file_header_and_close);
    tcase_add_test(tc, fmt_helpers);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
