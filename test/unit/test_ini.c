/* sl_ini: sections, keys, values, comments, line numbers, every syntax error. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_ini.h"

static struct sl_ini *parse(const char *text, char *err, size_t errlen)
{
    return sl_ini_parse(text, strlen(text), "t.ini", err, errlen);
}

START_TEST(test_basic)
{
    char err[256] = "";
    struct sl_ini *ini = parse("# comment\n"
                               "; another\n"
                               "\n"
                               "[frontend]\n"
                               "  hash =  sym5  \n"
                               "link_rate=1G, 3=10M\n"
                               "empty =\n"
                               "[worker-1]\r\n"
                               "type = worker\r\n"
                               "cmd = a = b c\n",
                               err, sizeof(err));
    ck_assert_msg(ini != NULL, "%s", err);
    ck_assert_uint_eq(ini->n_sec, 2);
    const struct sl_ini_sec *fe = sl_ini_section(ini, "frontend");
    ck_assert_ptr_nonnull(fe);
    ck_assert_uint_eq(fe->line, 4);
    ck_assert_str_eq(sl_ini_get(fe, "hash"), "sym5");
    ck_assert_str_eq(sl_ini_get(fe, "link_rate"), "1G, 3=10M");
    ck_assert_str_eq(sl_ini_get(fe, "empty"), "");
    ck_assert_uint_eq(sl_ini_find(fe, "link_rate")->line, 6);
    ck_assert_ptr_null(sl_ini_get(fe, "nope"));
    const struct sl_ini_sec *w = &ini->sec[1];
    ck_assert_str_eq(w->name, "worker-1");
    ck_assert_str_eq(sl_ini_get(w, "type"), "worker");
    ck_assert_str_eq(sl_ini_get(w, "cmd"), "a = b c");
    ck_assert_ptr_null(sl_ini_section(ini, "lab"));
    ck_assert_ptr_null(sl_ini_get(NULL, "x"));
    sl_ini_free(ini);
}
END_TEST

START_TEST(test_no_trailing_newline)
{
    char err[256];
    struct sl_ini *ini = parse("[a]\nk = v", err, sizeof(err));
    ck_assert_ptr_nonnull(ini);
    ck_assert_str_eq(sl_ini_get(&ini->sec[0], "k"), "v");
    sl_ini_free(ini);
    ini = parse("", err, sizeof(err));
    ck_assert_ptr_nonnull(ini);
    ck_assert_uint_eq(ini->n_sec, 0);
    sl_ini_free(ini);
}
END_TEST

static const struct {
    const char *text, *msg;
} bad[] = {
    {"k = v\n", "t.ini:1: 'k' before any [section]"},
    {"[a\n", "t.ini:1: section header without closing ']'"},
    {"[]\n", "t.ini:1: bad section name ''"},
    {"[a b]\n", "t.ini:1: bad section name 'a b'"},
    {"[a]\n[b]\n[a]\n", "t.ini:3: duplicate section [a] (first at line 1)"},
    {"[a]\njust words\n", "t.ini:2: expected 'key = value' or '[section]'"},
    {"[a]\n = v\n", "t.ini:2: bad key ''"},
    {"[a]\nk$ = v\n", "t.ini:2: bad key 'k$'"},
    {"[a]\nk = 1\n\nk = 2\n", "t.ini:4: duplicate key 'k' in [a] (first at line 2)"},
};

START_TEST(test_errors)
{
    char err[256] = "";
    errno = 0;
    struct sl_ini *ini = parse(bad[_i].text, err, sizeof(err));
    ck_assert_ptr_null(ini);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_str_eq(err, bad[_i].msg);
}
END_TEST

START_TEST(test_nul_and_long_line)
{
    char err[256];
    static const char nul[] = "[a]\nk = v\0w\n";
    ck_assert_ptr_null(sl_ini_parse(nul, sizeof(nul) - 1, "t.ini", err, sizeof(err)));
    ck_assert_str_eq(err, "t.ini:2: NUL byte in line");
    size_t n = 5000;
    char *big = malloc(n + 8);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "[a]\nk=", 6);
    memset(big + 6, 'x', n);
    big[n + 6] = '\0';
    ck_assert_ptr_null(parse(big, err, sizeof(err)));
    ck_assert_str_eq(err, "t.ini:2: line longer than 4095 bytes");
    free(big);
}
END_TEST

START_TEST(test_load)
{
    char path[] = "/tmp/test_ini.XXXXXX", err[256];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char *text = "[lab]\nmode = offline\n";
    ck_assert_int_eq(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    struct sl_ini *ini = sl_ini_load(path, err, sizeof(err));
    ck_assert_msg(ini != NULL, "%s", err);
    ck_assert_str_eq(ini->path, path);
    ck_assert_str_eq(sl_ini_get(sl_ini_section(ini, "lab"), "mode"), "offline");
    sl_ini_free(ini);
    unlink(path);
    errno = 0;
    ck_assert_ptr_null(sl_ini_load(path, err, sizeof(err)));
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "No such file"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ini");
    TCase *tc = tcase_create("ini");
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_no_trailing_newline);
    tcase_add_loop_test(tc, test_errors, 0, sizeof(bad) / sizeof(bad[0]));
    tcase_add_test(tc, test_nul_and_long_line);
    tcase_add_test(tc, test_load);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
