/* sl_syn_rng: the synthesizer's own pseudo-random numbers.
 *
 * xoshiro256** seeded through splitmix64: the same seed gives the same stream
 * on every machine and libc, which is what makes sluice-synth's output
 * byte-identical for the same arguments. Everything here is integer-only on
 * purpose (no libm): a transcendental function that rounds differently on
 * another libm would change a timestamp by a microsecond and break the
 * byte-identity of the committed pcaps.
 *
 * Callers draw at most once per expression (a ?: or && chain aside): C
 * leaves the order of evaluation of function arguments, operands and
 * initializer lists unspecified, so two draws in one expression may come in
 * another order under another compiler (gcc and clang do differ).
 */
#ifndef SL_SYN_RNG_H
#define SL_SYN_RNG_H

#include <stdint.h>

struct sl_syn_rng {
    uint64_t s[4];
};

/* One splitmix64 step: also a good 64-bit mixing function for deriving
 * per-object values (a host's MAC, a tunnel's VNI) from an index. */
uint64_t sl_syn_mix64(uint64_t x);

/* Seeds r; any seed (0 included) gives a valid, distinct stream. */
void sl_syn_rng_seed(struct sl_syn_rng *r, uint64_t seed);

/* Next 64 random bits. */
uint64_t sl_syn_rng_next(struct sl_syn_rng *r);

/* Uniform in [0, n) (n > 0; n == 0 returns 0). */
uint64_t sl_syn_rng_below(struct sl_syn_rng *r, uint64_t n);

/* Uniform in [lo, hi] inclusive. */
uint64_t sl_syn_rng_range(struct sl_syn_rng *r, uint64_t lo, uint64_t hi);

/* True with probability per_mille / 1000. */
int sl_syn_rng_chance(struct sl_syn_rng *r, unsigned per_mille);

/* Exponentially distributed with the given mean (tail cut at ~6.2 means). */
uint64_t sl_syn_rng_exp(struct sl_syn_rng *r, uint64_t mean);

/* Log-uniform in [lo, hi] (lo >= 1): as many values in 10..100 as in
 * 1000..10000, the shape of object and message sizes. */
uint64_t sl_syn_rng_logu(struct sl_syn_rng *r, uint64_t lo, uint64_t hi);

/* Index drawn with the given integer weights (n >= 1, some weight > 0). */
unsigned sl_syn_rng_pick(struct sl_syn_rng *r, const unsigned *weights, unsigned n);

#endif
