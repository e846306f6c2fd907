/* sl_rng: the two small integer generators the modules share.
 *
 * sl_rng_mix64 is one splitmix64 step (Steele, Lea, Flood 2014): a strong
 * 64-bit mixer, used to expand a seed into generator state and to derive
 * per-object values (a worker's salt, a host's MAC) from an index.
 * sl_rng_next is xoshiro256** (Blackman, Vigna 2018) over four words of
 * state that must not be all zero: fast, and the same stream on every
 * machine and libc for the same state, which is what keeps the
 * synthesizer's pcaps byte-identical and seeded uids reproducible.
 * Integer-only on purpose: no libm whose rounding could differ by host.
 */
#ifndef SL_RNG_H
#define SL_RNG_H

#include <stdint.h>

static inline uint64_t sl_rng_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static inline uint64_t sl_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t sl_rng_next(uint64_t s[4])
{
    uint64_t result = sl_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sl_rng_rotl(s[3], 45);
    return result;
}

#endif
