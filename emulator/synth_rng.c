#include "synth_rng.h"

#include "sl_rng.h"

uint64_t sl_syn_mix64(uint64_t x)
{
    return sl_rng_mix64(x);
}

void sl_syn_rng_seed(struct sl_syn_rng *r, uint64_t seed)
{
    /* splitmix64 expansion never yields the all-zero state xoshiro forbids
     * in practice; guard anyway since the state would then be stuck. */
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ULL;
        r->s[i] = sl_syn_mix64(seed);
    }
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
        r->s[0] = 1;
}

uint64_t sl_syn_rng_next(struct sl_syn_rng *r)
{
    return sl_rng_next(r->s);
}

uint64_t sl_syn_rng_below(struct sl_syn_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Lemire's multiply-shift; the tiny bias is irrelevant for traffic. */
    return (uint64_t)(((unsigned __int128)sl_syn_rng_next(r) * n) >> 64);
}

uint64_t sl_syn_rng_range(struct sl_syn_rng *r, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + sl_syn_rng_below(r, hi - lo + 1);
}

int sl_syn_rng_chance(struct sl_syn_rng *r, unsigned per_mille)
{
    return sl_syn_rng_below(r, 1000) < per_mille;
}

/* -ln((i + 0.5) / 256) * 65536: inverse CDF of the unit exponential at the
 * centres of 256 equal-probability bins (computed once, offline). */
static const uint32_t exp_table[256] = {
    408835, 336836, 303359, 281308, 264838, 251686, 240738, 231360, 223157, 215868, 209309, 203347,
    197883, 192839, 188156, 183785, 179688, 175832, 172190, 168740, 165462, 162341, 159361, 156512,
    153781, 151159, 148638, 146210, 143869, 141609, 139425, 137310, 135262, 133276, 131348, 129476,
    127655, 125884, 124159, 122479, 120840, 119242, 117681, 116157, 114668, 113211, 111786, 110392,
    109027, 107689, 106378, 105093, 103833, 102596, 101383, 100191, 99021,  97871,  96741,  95630,
    94538,  93464,  92406,  91366,  90342,  89334,  88341,  87363,  86399,  85449,  84513,  83590,
    82680,  81782,  80896,  80022,  79160,  78309,  77469,  76639,  75820,  75011,  74212,  73422,
    72642,  71871,  71109,  70355,  69611,  68874,  68146,  67426,  66714,  66009,  65312,  64622,
    63939,  63264,  62595,  61933,  61277,  60629,  59986,  59350,  58720,  58095,  57477,  56865,
    56258,  55657,  55061,  54470,  53885,  53305,  52730,  52161,  51596,  51035,  50480,  49929,
    49383,  48842,  48304,  47772,  47243,  46719,  46199,  45683,  45171,  44663,  44158,  43658,
    43162,  42669,  42180,  41694,  41212,  40734,  40259,  39788,  39320,  38855,  38393,  37935,
    37480,  37028,  36579,  36133,  35690,  35251,  34814,  34380,  33948,  33520,  33095,  32672,
    32252,  31834,  31419,  31007,  30598,  30191,  29786,  29384,  28984,  28587,  28192,  27800,
    27410,  27022,  26637,  26253,  25872,  25493,  25117,  24742,  24370,  24000,  23632,  23265,
    22901,  22539,  22179,  21821,  21465,  21111,  20758,  20408,  20059,  19712,  19368,  19024,
    18683,  18344,  18006,  17670,  17335,  17003,  16672,  16342,  16015,  15689,  15364,  15041,
    14720,  14400,  14082,  13766,  13451,  13137,  12825,  12514,  12205,  11897,  11591,  11286,
    10983,  10681,  10380,  10081,  9783,   9487,   9191,   8898,   8605,   8314,   8024,   7735,
    7448,   7161,   6876,   6593,   6310,   6029,   5749,   5470,   5192,   4916,   4640,   4366,
    4093,   3821,   3550,   3281,   3012,   2745,   2478,   2213,   1949,   1685,   1423,   1162,
    902,    643,    385,    128,
};

uint64_t sl_syn_rng_exp(struct sl_syn_rng *r, uint64_t mean)
{
    uint64_t x = sl_syn_rng_next(r);
    uint64_t lo = exp_table[x & 255], hi = exp_table[(x & 255) == 255 ? 255 : (x & 255) + 1];
    /* Interpolate inside the bin with 16 more random bits so the result is
     * not confined to 256 discrete values. */
    uint64_t frac = (x >> 8) & 0xffff;
    uint64_t v = lo - (((lo - hi) * frac) >> 16);
    return (uint64_t)(((unsigned __int128)v * mean) >> 16);
}

uint64_t sl_syn_rng_logu(struct sl_syn_rng *r, uint64_t lo, uint64_t hi)
{
    if (lo < 1)
        lo = 1;
    if (hi <= lo)
        return lo;
    unsigned blo = 63 - __builtin_clzll(lo), bhi = 63 - __builtin_clzll(hi);
    for (;;) {
        unsigned b = (unsigned)sl_syn_rng_range(r, blo, bhi);
        uint64_t v = (1ULL << b) + sl_syn_rng_below(r, 1ULL << b);
        if (v >= lo && v <= hi)
            return v;
    }
}

unsigned sl_syn_rng_pick(struct sl_syn_rng *r, const unsigned *weights, unsigned n)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += weights[i];
    uint64_t x = sl_syn_rng_below(r, total);
    for (unsigned i = 0; i < n; i++) {
        if (x < weights[i])
            return i;
        x -= weights[i];
    }
    return n ? n - 1 : 0;
}
