/* Weighted rendezvous: minimal disruption, evenness, weights, liveness. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_flow.h"
#include "sl_rdv.h"

#define NFLOWS 100000

/* Check records every passing ck_assert (a write per call); loops over 100k
 * flows check with this instead, which calls into Check only on failure. */
#define QUICK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Flow hashes as the balancer makes them: sym5 of random TCP/UDP keys. */
static uint64_t *random_flows(unsigned n)
{
    uint64_t *h = malloc(n * sizeof(*h));
    ck_assert_ptr_nonnull(h);
    for (unsigned i = 0; i < n; i++) {
        struct sl_flow_key k;
        memset(&k, 0, sizeof(k));
        k.version = (i & 3) ? 4 : 6;
        uint64_t a = rnd(), b = rnd(), c = rnd();
        if (k.version == 4) {
            k.src[10] = k.src[11] = k.dst[10] = k.dst[11] = 0xff;
            memcpy(k.src + 12, &a, 4);
            memcpy(k.dst + 12, &b, 4);
        } else {
            memcpy(k.src, &a, 8);
            memcpy(k.src + 8, &c, 8);
            memcpy(k.dst, &b, 8);
            memcpy(k.dst + 8, &a, 8);
        }
        k.proto = (i & 1) ? 6 : 17;
        k.sport = (uint16_t)c;
        k.dport = (uint16_t)(c >> 16);
        h[i] = sl_hash_key(&k, SL_HASH_SYM5);
    }
    return h;
}

START_TEST(init_and_setters_validate)
{
    struct sl_rdv r;
    ck_assert_int_eq(sl_rdv_init(&r, 0), -EINVAL);
    ck_assert_int_eq(sl_rdv_init(&r, SL_RDV_MAX + 1), -EINVAL);
    ck_assert_int_eq(sl_rdv_init(&r, SL_RDV_MAX), 0);
    ck_assert_int_eq(sl_rdv_init(&r, 4), 0);
    ck_assert_uint_eq(r.n, 4);
    ck_assert_uint_eq(r.n_live, 4);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 4, 1.0), -EINVAL);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 0, 0.0), -EINVAL);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 0, -1.0), -EINVAL);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 0, NAN), -EINVAL);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 0, INFINITY), -EINVAL);
    ck_assert_int_eq(sl_rdv_set_live(&r, 4, false), -EINVAL);
    /* Setting the same state twice counts once. */
    ck_assert_int_eq(sl_rdv_set_live(&r, 1, false), 0);
    ck_assert_int_eq(sl_rdv_set_live(&r, 1, false), 0);
    ck_assert_uint_eq(r.n_live, 3);
    for (unsigned i = 0; i < 4; i++)
        sl_rdv_set_live(&r, i, false);
    ck_assert_uint_eq(r.n_live, 0);
    ck_assert_int_eq(sl_rdv_pick(&r, 12345), -1);
    sl_rdv_set_live(&r, 2, true);
    for (int i = 0; i < 1000; i++)
        QUICK(sl_rdv_pick(&r, rnd()) == 2, "only worker 2 is live");
}
END_TEST

/* Removing worker k moves exactly k's flows, spread over the others;
 * re-adding it restores the first mapping. */
static void check_minimal_disruption(struct sl_rdv *r, const uint64_t *h, unsigned nf)
{
    int *base = malloc(nf * sizeof(int));
    ck_assert_ptr_nonnull(base);
    for (unsigned i = 0; i < nf; i++) {
        base[i] = sl_rdv_pick(r, h[i]);
        QUICK(base[i] >= 0 && base[i] < (int)r->n, "flow %u: worker %d", i, base[i]);
    }
    for (unsigned k = 0; k < r->n; k++) {
        unsigned moved_to[SL_RDV_MAX] = {0}, owned = 0;
        ck_assert_int_eq(sl_rdv_set_live(r, k, false), 0);
        for (unsigned i = 0; i < nf; i++) {
            int w = sl_rdv_pick(r, h[i]);
            QUICK(w >= 0 && w != (int)k, "flow %u went to %d with %u down", i, w, k);
            if (base[i] == (int)k) {
                owned++;
                moved_to[w]++;
            } else {
                QUICK(w == base[i], "flow %u moved %d -> %d when %u went down", i, base[i], w, k);
            }
        }
        /* k's flows land evenly (by weight) on the rest: within 15%. */
        double wsum = 0;
        for (unsigned j = 0; j < r->n; j++)
            wsum += j == k ? 0 : r->weight[j];
        for (unsigned j = 0; j < r->n && owned >= 1000 * r->n; j++) {
            if (j == k)
                continue;
            double want = owned * r->weight[j] / wsum;
            ck_assert_msg(fabs(moved_to[j] - want) < 0.15 * want,
                          "removing %u: worker %u got %u of %u moved flows, want ~%.0f", k, j,
                          moved_to[j], owned, want);
        }
        ck_assert_int_eq(sl_rdv_set_live(r, k, true), 0);
        for (unsigned i = 0; i < nf; i++)
            QUICK(sl_rdv_pick(r, h[i]) == base[i], "flow %u not restored after %u came back", i, k);
    }
    free(base);
}

START_TEST(remove_moves_only_its_flows)
{
    static const unsigned ns[] = {2, 3, 5, 8, 13};
    uint64_t *h = random_flows(NFLOWS);
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        struct sl_rdv r;
        ck_assert_int_eq(sl_rdv_init(&r, ns[t]), 0);
        check_minimal_disruption(&r, h, NFLOWS);
    }
    free(h);
}
END_TEST

START_TEST(remove_moves_only_its_flows_weighted)
{
    uint64_t *h = random_flows(NFLOWS);
    struct sl_rdv r;
    ck_assert_int_eq(sl_rdv_init(&r, 6), 0);
    sl_rdv_set_weight(&r, 0, 2.0);
    sl_rdv_set_weight(&r, 3, 0.5);
    ck_assert(!r.uniform);
    check_minimal_disruption(&r, h, NFLOWS);
    free(h);
}
END_TEST

START_TEST(several_down_then_back)
{
    uint64_t *h = random_flows(NFLOWS);
    struct sl_rdv r;
    ck_assert_int_eq(sl_rdv_init(&r, 8), 0);
    int *base = malloc(NFLOWS * sizeof(int));
    for (unsigned i = 0; i < NFLOWS; i++)
        base[i] = sl_rdv_pick(&r, h[i]);
    sl_rdv_set_live(&r, 1, false);
    sl_rdv_set_live(&r, 6, false);
    for (unsigned i = 0; i < NFLOWS; i++) {
        int w = sl_rdv_pick(&r, h[i]);
        QUICK(w >= 0 && w != 1 && w != 6, "flow %u on dead worker %d", i, w);
        if (base[i] != 1 && base[i] != 6)
            QUICK(w == base[i], "flow %u moved %d -> %d", i, base[i], w);
    }
    sl_rdv_set_live(&r, 6, true);
    sl_rdv_set_live(&r, 1, true);
    for (unsigned i = 0; i < NFLOWS; i++)
        QUICK(sl_rdv_pick(&r, h[i]) == base[i], "flow %u not restored", i);
    free(base);
    free(h);
}
END_TEST

START_TEST(even_over_8_workers)
{
    uint64_t *h = random_flows(NFLOWS);
    struct sl_rdv r;
    ck_assert_int_eq(sl_rdv_init(&r, 8), 0);
    unsigned cnt[8] = {0};
    for (unsigned i = 0; i < NFLOWS; i++)
        cnt[sl_rdv_pick(&r, h[i])]++;
    double mean = NFLOWS / 8.0;
    for (int w = 0; w < 8; w++)
        ck_assert_msg(fabs(cnt[w] - mean) <= 0.05 * mean, "worker %d: %u flows, mean %.0f", w,
                      cnt[w], mean);
    free(h);
}
END_TEST

START_TEST(weight_two_gets_double)
{
    uint64_t *h = random_flows(NFLOWS);
    struct sl_rdv r;
    ck_assert_int_eq(sl_rdv_init(&r, 8), 0);
    ck_assert_int_eq(sl_rdv_set_weight(&r, 5, 2.0), 0);
    unsigned cnt[8] = {0};
    for (unsigned i = 0; i < NFLOWS; i++)
        cnt[sl_rdv_pick(&r, h[i])]++;
    /* shares 2/9 for worker 5, 1/9 each for the rest */
    for (int w = 0; w < 8; w++) {
        double want = NFLOWS * (w == 5 ? 2.0 : 1.0) / 9.0;
        ck_assert_msg(fabs(cnt[w] - want) <= 0.05 * want, "worker %d: %u flows, want %.0f", w,
                      cnt[w], want);
    }
    free(h);
}
END_TEST

START_TEST(equal_weights_keep_integer_path)
{
    /* All weights 3: still uniform, and the same mapping as weight 1. */
    uint64_t *h = random_flows(10000);
    struct sl_rdv a, b;
    sl_rdv_init(&a, 8);
    sl_rdv_init(&b, 8);
    for (unsigned i = 0; i < 8; i++)
        sl_rdv_set_weight(&b, i, 3.0);
    ck_assert(b.uniform);
    for (unsigned i = 0; i < 10000; i++)
        QUICK(sl_rdv_pick(&a, h[i]) == sl_rdv_pick(&b, h[i]), "flow %u differs", i);
    /* Back from unequal to equal weights returns to the same mapping. */
    sl_rdv_set_weight(&b, 2, 7.0);
    ck_assert(!b.uniform);
    sl_rdv_set_weight(&b, 2, 3.0);
    ck_assert(b.uniform);
    for (unsigned i = 0; i < 10000; i++)
        QUICK(sl_rdv_pick(&a, h[i]) == sl_rdv_pick(&b, h[i]), "flow %u differs", i);
    free(h);
}
END_TEST

START_TEST(simd_matches_scalar_rule)
{
    /* sl_rdv_pick may take the SSE4.1 path; it must pick exactly what the
     * plain rule picks, whatever the worker count and liveness. */
    static const unsigned ns[] = {1, 3, 7, 8, 9, 16, 31, 200, SL_RDV_MAX};
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        struct sl_rdv r;
        ck_assert_int_eq(sl_rdv_init(&r, ns[t]), 0);
        for (int round = 0; round < 20; round++) {
            for (unsigned i = 0; i < r.n; i++)
                sl_rdv_set_live(&r, i, round == 0 || rnd() % 4 != 0);
            for (int k = 0; k < 2000; k++) {
                uint64_t h = rnd();
                int a = sl_rdv_pick(&r, h), b = sl_rdv_pick_scalar(&r, h);
                QUICK(a == b, "n %u round %d: pick %d, scalar rule %d", r.n, round, a, b);
                QUICK(r.n_live == 0 ? a == -1 : (a >= 0 && r.live[a]), "picked dead %d", a);
            }
        }
    }
    struct sl_rdv r;
    sl_rdv_init(&r, 8);
    if (!r.simd)
        printf("simd_matches_scalar_rule: this CPU has no SSE4.1, so only the scalar path ran\n");
}
END_TEST

/* The precomputed table picks what sl_rdv_pick picks, for any worker count,
 * liveness and weights, and says -1 when nobody is live. */
START_TEST(table_matches_pick)
{
    static const unsigned ns[] = {1, 3, 8, 16, 17, 33, 64, 200, SL_RDV_MAX};
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        struct sl_rdv r;
        ck_assert_int_eq(sl_rdv_init(&r, ns[t]), 0);
        struct sl_rdv_table *tab = malloc(sl_rdv_table_size(&r));
        ck_assert_ptr_nonnull(tab);
        for (int round = 0; round < 6; round++) {
            for (unsigned i = 0; i < r.n; i++) {
                sl_rdv_set_live(&r, i, round == 0 || (round < 5 && rnd() % 4 != 0));
                if (round == 3)
                    sl_rdv_set_weight(&r, i, 0.5 + (double)(rnd() % 8));
            }
            ck_assert_int_eq(sl_rdv_table_build(tab, &r), 0);
            ck_assert_uint_eq(tab->bits, r.bucket_bits);
            for (int k = 0; k < 20000; k++) {
                uint64_t h = rnd();
                int a = sl_rdv_pick(&r, h), b = sl_rdv_table_pick(tab, h);
                QUICK(a == b, "n %u round %d: pick %d, table %d", r.n, round, a, b);
            }
            if (round == 5)
                QUICK(sl_rdv_table_pick(tab, rnd()) == -1, "n %u: nobody live, table picks", r.n);
        }
        free(tab);
    }
    ck_assert_int_eq(sl_rdv_table_build(NULL, NULL), -EINVAL);
}
END_TEST

/* Flows of one bucket share a worker, so buckets are what gets balanced:
 * every worker owns its due share of them, within 6%, at every size. */
START_TEST(buckets_even_at_every_size)
{
    static const unsigned ns[] = {2, 8, 16, 64, SL_RDV_MAX};
    for (size_t t = 0; t < sizeof(ns) / sizeof(ns[0]); t++) {
        struct sl_rdv r;
        ck_assert_int_eq(sl_rdv_init(&r, ns[t]), 0);
        ck_assert_uint_ge(1u << r.bucket_bits, 4096u * (ns[t] < 16 ? 16 : ns[t]));
        struct sl_rdv_table *tab = malloc(sl_rdv_table_size(&r));
        ck_assert_ptr_nonnull(tab);
        ck_assert_int_eq(sl_rdv_table_build(tab, &r), 0);
        unsigned cnt[SL_RDV_MAX] = {0};
        for (uint32_t b = 0; b < (1u << tab->bits); b++)
            cnt[tab->w[b]]++;
        double mean = (double)(1u << tab->bits) / ns[t];
        for (unsigned w = 0; w < ns[t]; w++)
            ck_assert_msg(fabs(cnt[w] - mean) <= 0.06 * mean,
                          "%u workers: %u owns %u buckets of %.0f", ns[t], w, cnt[w], mean);
        free(tab);
    }
}
END_TEST

static Suite *rdv_suite(void)
{
    Suite *s = suite_create("rdv");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, init_and_setters_validate);
    tcase_add_test(tc, remove_moves_only_its_flows);
    tcase_add_test(tc, remove_moves_only_its_flows_weighted);
    tcase_add_test(tc, several_down_then_back);
    tcase_add_test(tc, even_over_8_workers);
    tcase_add_test(tc, weight_two_gets_double);
    tcase_add_test(tc, equal_weights_keep_integer_path);
    tcase_add_test(tc, simd_matches_scalar_rule);
    tcase_add_test(tc, table_matches_pick);
    tcase_add_test(tc, buckets_even_at_every_size);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(rdv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}
