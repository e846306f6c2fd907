/* Weighted rendezvous hashing. */
#include "sl_rdv.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define SALT_MUL 0x9fb21c651e98df25ULL

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* Score of hash h for the worker with salt s. Both multiply operands depend
 * on the salt, so the scores of different workers for one h are unrelated. */
static inline uint64_t score(uint64_t h, uint64_t s)
{
    __uint128_t r = (__uint128_t)(h ^ s) * (s ^ SALT_MUL);
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

int sl_rdv_init(struct sl_rdv *r, unsigned n)
{
    if (!r || n == 0 || n > SL_RDV_MAX)
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->n_live = n;
    r->uniform = true;
    for (unsigned i = 0; i < n; i++) {
        r->seed[i] = splitmix64(i);
        r->weight[i] = 1.0;
        r->live[i] = true;
    }
    return 0;
}

int sl_rdv_set_weight(struct sl_rdv *r, unsigned worker, double weight)
{
    if (!r || worker >= r->n || !(weight > 0) || !isfinite(weight))
        return -EINVAL;
    r->weight[worker] = weight;
    bool uniform = true;
    for (unsigned i = 1; i < r->n; i++)
        uniform &= r->weight[i] == r->weight[0];
    r->uniform = uniform;
    return 0;
}

int sl_rdv_set_live(struct sl_rdv *r, unsigned worker, bool live)
{
    if (!r || worker >= r->n)
        return -EINVAL;
    if (r->live[worker] != live) {
        r->live[worker] = live;
        r->n_live += live ? 1 : -1u;
    }
    return 0;
}

static int pick_weighted(const struct sl_rdv *r, uint64_t h)
{
    int best = -1;
    double best_k = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (!r->live[i])
            continue;
        /* u in (0,1): 53 bits of the score, centred so log(u) < 0. */
        double u = ((double)(score(h, r->seed[i]) >> 11) + 0.5) * 0x1p-53;
        double k = -r->weight[i] / log(u);
        if (best < 0 || k > best_k) {
            best_k = k;
            best = (int)i;
        }
    }
    return best;
}

int sl_rdv_pick(const struct sl_rdv *r, uint64_t h)
{
    if (!r->uniform)
        return pick_weighted(r, h);
    /* Dead workers score 0 and live ones at least 1, so the loop needs no
     * branch besides the compare, which the compiler turns into cmovs. */
    uint64_t best_s = 0;
    int best = -1;
    for (unsigned i = 0; i < r->n; i++) {
        uint64_t s = (score(h, r->seed[i]) | 1) & (0 - (uint64_t)r->live[i]);
        if (s > best_s) {
            best_s = s;
            best = (int)i;
        }
    }
    return best;
}
