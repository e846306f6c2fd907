/* sl_rdv: weighted rendezvous (highest random weight) worker selection.
 *
 * Flow hashes fall into buckets (sl_rdv_bucket) and each bucket is scored
 * against every live worker; the highest score wins, so flows of one bucket
 * share a worker, as behind a hardware balancer's hash table. That lets a
 * caller precompute every bucket's worker (struct sl_rdv_table) and pick
 * with one load. The bucket count grows with the workers (2^16 up to 16
 * workers, at least 4096 buckets each beyond, 2^20 at most), so bucket
 * granularity keeps each worker's share within a few percent of its due.
 *
 * Scores, all weights equal, for the bucket's word b (its number through
 * splitmix64, so that small numbers spread over 64 bits): 64-bit words
 * y_j = mix(b ^ salt_j), one per four workers; worker i scores the top 15
 * bits of 16-bit lane i%4 of y_{i/4}; the highest score wins, ties going to the lower id (a fixed
 * total order per bucket, so the removal property is exact). Two multiplies cover 8 workers, and
 * with SSE4.1 one PHMINPOSUW finds the winner of 8 (~3 ns); sl_rdv_pick_scalar is the same rule
 * without SIMD. 15-bit scores tie for the top in under 0.1% of buckets, a negligible bias to lower
 * ids. Unequal weights: each live worker's 53-bit score u in (0,1) becomes -w / ln(u), which gives
 * worker i a share w_i / sum(w). Both are deterministic across hosts, so two balancers with the
 * same workers pick alike.
 *
 * The fields are read-only outside sl_rdv.c: change them through the
 * setters. A picker running concurrently with a setter may see the old or the
 * new choice for a worker, never an out-of-range one.
 */
#ifndef SL_RDV_H
#define SL_RDV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SL_RDV_MAX 256

struct sl_rdv {
    unsigned n; /* workers configured */
    unsigned n_live;
    uint64_t seed[SL_RDV_MAX]; /* per-worker salt, from its id */
    double weight[SL_RDV_MAX]; /* > 0 */
    bool live[SL_RDV_MAX];
    bool uniform;                  /* all weights equal: integer-only scoring */
    bool simd;                     /* the CPU has SSE4.1 */
    uint16_t lane_off[SL_RDV_MAX]; /* 0 for a live worker, 0xffff else */
    unsigned bucket_bits;          /* log2 of the bucket count, set by sl_rdv_init */
};

/* n workers, ids 0..n-1, weight 1, all live. Returns 0 or -EINVAL. */
int sl_rdv_init(struct sl_rdv *r, unsigned n);
/* weight must be finite and > 0. Returns 0 or -EINVAL. */
int sl_rdv_set_weight(struct sl_rdv *r, unsigned worker, double weight);
/* Returns 0 or -EINVAL (worker out of range). */
int sl_rdv_set_live(struct sl_rdv *r, unsigned worker, bool live);

#define SL_RDV_MIN_BUCKET_BITS 16
#define SL_RDV_MAX_BUCKET_BITS 20

/* The bucket of flow hash h among 2^bits: all 64 bits folded, then
 * Fibonacci hashing, so hashes with only low bits set (toeplitz) spread too. */
static inline uint32_t sl_rdv_bucket(uint64_t h, unsigned bits)
{
    uint32_t x = (uint32_t)(h ^ (h >> 32));
    return (x * 0x9e3779b1u) >> (32 - bits);
}

/* Worker owning flow hash h among the live workers; -1 when none is live. */
int sl_rdv_pick(const struct sl_rdv *r, uint64_t h);

/* The equal-weights rule without SIMD: the reference the SIMD path is tested
 * against (and what sl_rdv_pick uses on CPUs without SSE4.1). */
int sl_rdv_pick_scalar(const struct sl_rdv *r, uint64_t h);

/* Every bucket's worker, as sl_rdv_pick would choose it: build it after each
 * change to the sl_rdv, then a pick is one load. The caller allocates
 * sl_rdv_table_size(r) bytes (64 KiB up to 16 workers, 1 MiB at most); a
 * copy is a memcpy of that size. */
struct sl_rdv_table {
    unsigned bits;
    bool any; /* some worker is live */
    uint8_t w[];
};
_Static_assert(SL_RDV_MAX <= 256, "a table entry is one byte");

size_t sl_rdv_table_size(const struct sl_rdv *r);

/* Fills t (sl_rdv_table_size(r) bytes) from r. Returns 0 or -EINVAL. */
int sl_rdv_table_build(struct sl_rdv_table *t, const struct sl_rdv *r);

/* sl_rdv_pick(r, h) for the r that t was built from. */
static inline int sl_rdv_table_pick(const struct sl_rdv_table *t, uint64_t h)
{
    return t->any ? t->w[sl_rdv_bucket(h, t->bits)] : -1;
}

/* The table entry a pick of h reads: to prefetch it, and to pick with it
 * later (sl_rdv_table_pick_slot) while t stays unchanged. */
static inline const uint8_t *sl_rdv_table_slot(const struct sl_rdv_table *t, uint64_t h)
{
    return &t->w[sl_rdv_bucket(h, t->bits)];
}

/* sl_rdv_table_pick(t, h) given sl_rdv_table_slot(t, h). */
static inline int sl_rdv_table_pick_slot(const struct sl_rdv_table *t, const uint8_t *slot)
{
    return t->any ? *slot : -1;
}

#endif
