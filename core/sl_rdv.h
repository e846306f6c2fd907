/* sl_rdv: weighted rendezvous (highest random weight) worker selection.
 *
 * Each flow hash is scored against every live worker; the highest score
 * wins. Removing a worker therefore moves only the flows it owned, and adding
 * it back restores exactly the first mapping. Weights scale a worker's share
 * (weight 2 takes about twice the flows of weight 1).
 *
 * Scores, all weights equal: 64-bit words y_j = mix(h ^ salt_j), one per
 * four workers; worker i scores the top 15 bits of 16-bit lane i%4 of
 * y_{i/4}; the highest score wins, ties going to the lower id (a fixed total
 * order per flow, so the removal property is exact). Two multiplies cover 8
 * workers, and with SSE4.1 one PHMINPOSUW finds the winner of 8 (~3 ns);
 * sl_rdv_pick_scalar is the same rule without SIMD. 15-bit scores tie for
 * the top in under 0.1% of flows, a negligible bias to lower ids.
 * Unequal weights: each live worker's 53-bit score u in (0,1) becomes
 * -w / ln(u), which gives worker i a share w_i / sum(w).
 * Both are deterministic across hosts, so two balancers with the same
 * workers pick alike.
 *
 * The fields are read-only outside sl_rdv.c: change them through the
 * setters. A picker running concurrently with a setter may see the old or the
 * new choice for a worker, never an out-of-range one.
 */
#ifndef SL_RDV_H
#define SL_RDV_H

#include <stdbool.h>
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
};

/* n workers, ids 0..n-1, weight 1, all live. Returns 0 or -EINVAL. */
int sl_rdv_init(struct sl_rdv *r, unsigned n);
/* weight must be finite and > 0. Returns 0 or -EINVAL. */
int sl_rdv_set_weight(struct sl_rdv *r, unsigned worker, double weight);
/* Returns 0 or -EINVAL (worker out of range). */
int sl_rdv_set_live(struct sl_rdv *r, unsigned worker, bool live);

/* Worker owning flow hash h among the live workers; -1 when none is live. */
int sl_rdv_pick(const struct sl_rdv *r, uint64_t h);

/* The equal-weights rule without SIMD: the reference the SIMD path is tested
 * against (and what sl_rdv_pick uses on CPUs without SSE4.1). */
int sl_rdv_pick_scalar(const struct sl_rdv *r, uint64_t h);

#endif
