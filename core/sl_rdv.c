/* Weighted rendezvous hashing. */
#include "sl_rdv.h"
#include "sl_rng.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <smmintrin.h>
#define SL_RDV_X86 1
#endif

#define MIX_MUL 0x9fb21c651e98df25ULL

/* 64x64->128 multiply folded; the salt sits in both operands, so words for
 * different salts are unrelated even for nearby h. */
static inline uint64_t mix(uint64_t h, uint64_t salt)
{
    __uint128_t r = (__uint128_t)(h ^ salt) * (salt ^ MIX_MUL);
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
    r->bucket_bits = SL_RDV_MIN_BUCKET_BITS;
    while ((1u << r->bucket_bits) < 4096u * n && r->bucket_bits < SL_RDV_MAX_BUCKET_BITS)
        r->bucket_bits++;
#ifdef SL_RDV_X86
    r->simd = __builtin_cpu_supports("sse4.1");
#endif
    /* Every salt is set, also past n: the SIMD path reads whole groups. */
    for (unsigned i = 0; i < SL_RDV_MAX; i++) {
        r->seed[i] = sl_rng_mix64(i);
        r->weight[i] = 1.0;
        r->live[i] = i < n;
        r->lane_off[i] = i < n ? 0 : 0xffff;
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
        r->lane_off[worker] = live ? 0 : 0xffff;
        r->n_live += live ? 1 : -1u;
    }
    return 0;
}

/* Out of line, so its float work does not crowd the integer path. */
__attribute__((noinline)) static int pick_weighted(const struct sl_rdv *r, uint64_t h)
{
    int best = -1;
    double best_k = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (!r->live[i])
            continue;
        /* u in (0,1): 53 bits of the worker's own word, centred so that
         * log(u) < 0. */
        double u = ((double)(mix(h, r->seed[i]) >> 11) + 0.5) * 0x1p-53;
        double k = -r->weight[i] / log(u);
        if (best < 0 || k > best_k) {
            best_k = k;
            best = (int)i;
        }
    }
    return best;
}

/* Worker i's equal-weights score: top 15 bits of lane i%4 of word i/4. */
static inline unsigned lane_score(uint64_t y, unsigned i)
{
    return (unsigned)(uint16_t)(y >> (16 * (i & 3))) >> 1;
}

static int scalar_bucket(const struct sl_rdv *r, uint64_t h)
{
    int best = -1;
    unsigned best_s = 0;
    uint64_t y = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if ((i & 3) == 0)
            y = mix(h, r->seed[i]);
        unsigned s = lane_score(y, i);
        if (r->live[i] && (best < 0 || s > best_s)) {
            best_s = s;
            best = (int)i;
        }
    }
    return best;
}

#ifdef SL_RDV_X86
/* Eight workers per step: their scores inverted (0x7fff - score) in eight
 * 16-bit lanes, dead and absent ones forced to 0xffff, then PHMINPOSUW
 * returns the smallest value and its lowest lane: the scalar rule exactly. */
__attribute__((target("sse4.1"))) static int pick_sse41(const struct sl_rdv *r, uint64_t h)
{
    unsigned best_v = 0xffff, best = 0;
    for (unsigned g = 0; g < r->n; g += 8) {
        __m128i y =
            _mm_set_epi64x((long long)mix(h, r->seed[g + 4]), (long long)mix(h, r->seed[g]));
        __m128i inv = _mm_srli_epi16(_mm_xor_si128(y, _mm_set1_epi32(-1)), 1);
        __m128i off = _mm_loadu_si128((const __m128i *)&r->lane_off[g]);
        __m128i m = _mm_minpos_epu16(_mm_or_si128(inv, off));
        unsigned v = (unsigned)_mm_extract_epi16(m, 0);
        if (v < best_v) {
            best_v = v;
            best = g + (unsigned)_mm_extract_epi16(m, 1);
        }
    }
    return best_v == 0xffff ? -1 : (int)best;
}
#endif

static int pick_bucket(const struct sl_rdv *r, uint64_t b)
{
    if (!r->uniform)
        return pick_weighted(r, b);
#ifdef SL_RDV_X86
    if (r->simd)
        return pick_sse41(r, b);
#endif
    return scalar_bucket(r, b);
}

/* A bucket id is a small integer; spread it over 64 bits before the
 * per-worker multiplies, whose score lanes would otherwise correlate. */
static inline uint64_t bucket_word(uint32_t b)
{
    return sl_rng_mix64(b);
}

int sl_rdv_pick(const struct sl_rdv *r, uint64_t h)
{
    return pick_bucket(r, bucket_word(sl_rdv_bucket(h, r->bucket_bits)));
}

int sl_rdv_pick_scalar(const struct sl_rdv *r, uint64_t h)
{
    return scalar_bucket(r, bucket_word(sl_rdv_bucket(h, r->bucket_bits)));
}

size_t sl_rdv_table_size(const struct sl_rdv *r)
{
    return sizeof(struct sl_rdv_table) + ((size_t)1 << r->bucket_bits);
}

int sl_rdv_table_build(struct sl_rdv_table *t, const struct sl_rdv *r)
{
    if (!t || !r || r->n == 0)
        return -EINVAL;
    t->bits = r->bucket_bits;
    t->any = r->n_live > 0;
    for (uint32_t b = 0; b < (1u << t->bits); b++) {
        int w = pick_bucket(r, bucket_word(b));
        t->w[b] = (uint8_t)(w < 0 ? 0 : w);
    }
    return 0;
}
