/* Unit tests for sl_log's number helpers: sl_log_fmt_time must print exactly
 * what snprintf's "%.6f" prints and sl_log_fmt_u64 what "%llu" prints (the
 * logs are compared byte for byte with Zeek's). The reference is the C
 * library's own snprintf, over hand-picked edge values (exact ties, carries
 * into the integer part, powers of two, the ends of the exact range) and
 * millions of pseudo-random ones of every magnitude. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sl_log.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: fixed seed, so a failure reproduces. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static double rnd_unit(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* Compares one value at the given buffer size; returns 1 on a mismatch. */
static int check_time_n(double t, size_t n)
{
    char want[400], got[400];
    memset(got, 'x', sizeof(got));
    snprintf(want, n, "%.6f", t);
    char *r = sl_log_fmt_time(t, got, n);
    if (r != got || strcmp(want, got) != 0) {
        fprintf(stderr, "fmt_time(%a, n=%zu): got '%s', want '%s'\n", t, n, got, want);
        return 1;
    }
    return 0;
}

static int check_time(double t)
{
    return check_time_n(t, 64);
}

START_TEST(time_edges)
{
    static const double v[] = {
        0.0,
        -0.0,
        1.0,
        0.5,
        0.0000005,
        0.0000015,
        0.0000025,
        0.0000004999999,
        0.0078125,  /* 7812.5 us: an exact tie, rounds to even (down) */
        0.0234375,  /* 23437.5 us: an exact tie, rounds to even (up) */
        0x1p-7 * 5, /* another exact tie */
        0.9999995,  /* carries into the integer part, or not */
        0.99999949999,
        0.99999950001,
        9.9999999,
        1700000055.364857,
        1700000087.873380,
        1700000000.0000005,
        1699999999.9999995,
        4294967295.999999,
        0x1p-100,
        0x1p-101,
        0x1p-47,
        0x1p-20,
        0x1p-21 * 3,
        0x1p52,
        0x1p53,
        0x1p53 + 2,
        0x1p62,
        0x1p63,
        0x1p63 - 1024,
        0x1p64,
        1e15,
        1e16,
        1e20,
        1e300,
        DBL_MAX,
        DBL_MIN,
        DBL_TRUE_MIN,
        DBL_EPSILON,
        -1.5,
        -0.0000001,
        -1700000000.25,
        300.0,
        60.0,
        5.0,
        0.1,
        0.2,
        0.3,
        123456.7890125,
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        bad += check_time(v[i]);
    bad += check_time(INFINITY) + check_time(-INFINITY) + check_time(NAN);
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* Every value k / 2^s with small k, around each microsecond tie. */
START_TEST(time_ties)
{
    int bad = 0;
    for (int s = 1; s <= 30; s++)
        for (uint32_t k = 1; k < 4096; k += 1 + (k >> 6))
            bad += check_time(ldexp((double)k, -s)) + check_time(1e9 + ldexp((double)k, -s));
    /* Neighbours of x.yyyyyy5 decimal points. */
    for (int i = 0; i < 200000; i++) {
        double base = (double)(rnd() % 4000000000ull) + (double)(rnd() % 1000000) / 1e6 + 5e-7;
        bad +=
            check_time(base) + check_time(nextafter(base, 0)) + check_time(nextafter(base, 1e30));
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

START_TEST(time_random)
{
    int bad = 0;
    for (int i = 0; i < 300000 && bad < 10; i++) {
        /* Timestamps around now, with microseconds and with full precision. */
        double ts = 1.6e9 + rnd_unit() * 2e8;
        bad += check_time(ts);
        bad += check_time(floor(ts * 1e6) / 1e6);
        /* Intervals from nanoseconds to days. */
        bad += check_time(ldexp(rnd_unit(), (int)(rnd() % 60) - 40));
        /* Any bit pattern, any exponent, either sign. */
        uint64_t bits = rnd();
        double any;
        memcpy(&any, &bits, sizeof(any));
        bad += check_time(any);
        /* Moderate magnitudes with random mantissas. */
        bad += check_time(ldexp(1.0 + rnd_unit(), (int)(rnd() % 170) - 110));
    }
    ck_assert_int_eq(bad, 0);
}
END_TEST

/* A buffer too short truncates as snprintf does. */
START_TEST(time_short_buffers)
{
    static const double v[] = {0.0, 1.5, 1700000055.364857, 0.0078125, 1e20, -3.25};
    int bad = 0;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (size_t n = 1; n <= 40; n++)
            bad += check_time_n(v[i], n);
    ck_assert_int_eq(bad, 0);
}
END_TEST

static int check_u64_n(uint64_t x, size_t n)
{
    char want[32], got[32];
    memset(got, 'x', sizeof(got));
    snprintf(want, n, "%llu", (unsigned long long)x);
    char *r = sl_log_fmt_u64(x, got, n);
    if (r != got || strcmp(want, got) != 0) {
        fprintf(stderr, "fmt_u64(%llu, n=%zu): got '%s', want '%s'\n", (unsigned long long)x, n,
                got, want);
        return 1;
    }
    return 0;
}

START_TEST(u64_values)
{
    int bad = 0;
    static const uint64_t v[] = {0,
                                 1,
                                 9,
                                 10,
                                 99,
                                 100,
                                 65535,
                                 4294967295ull,
                                 4294967296ull,
                                 999999999999ull,
                                 UINT64_MAX - 1,
                                 UINT64_MAX};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (size_t n = 1; n <= 24; n++)
            bad += check_u64_n(v[i], n);
    for (int i = 0; i < 200000; i++)
        bad += check_u64_n(rnd() >> (rnd() % 64), 24);
    ck_assert_int_eq(bad, 0);
}
END_TEST

static Suite *log_fmt_suite(void)
{
    Suite *s = suite_create("log_fmt");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, time_edges);
    tcase_add_test(tc, time_ties);
    tcase_add_test(tc, time_random);
    tcase_add_test(tc, time_short_buffers);
    tcase_add_test(tc, u64_values);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_fmt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
