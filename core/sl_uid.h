/* sl_uid: Zeek-style unique ids ("C" + base62 of 96 random bits).
 *
 * Zeek (src/UID.cc) builds a uid from two 64-bit words: the first shifted
 * down to 32 bits (96 = 32 + 64), each written in base 62 least significant
 * digit first with the alphabet 0-9a-zA-Z, no padding, after a one-letter
 * prefix ("C" for connections, "F" for files). A uid is therefore 3 to 18
 * characters long.
 *
 * The words come from a xoshiro256** generator. With a seed the sequence is
 * deterministic (tests, --seed); otherwise it is seeded from getrandom().
 * A generator belongs to one thread.
 */
#ifndef SL_UID_H
#define SL_UID_H

#include <stddef.h>
#include <stdint.h>

#define SL_UID_LEN 24 /* buffer size that holds any uid and its NUL */

struct sl_uid_gen {
    uint64_t s[4];
};

/* Deterministic generator: the same seed (and salt) gives the same uids.
 * `salt` separates generators sharing a seed (e.g. one per cluster node). */
void sl_uid_init(struct sl_uid_gen *g, uint64_t seed, uint64_t salt);

/* Generator seeded from the kernel's entropy. Returns 0 or -errno. */
int sl_uid_init_random(struct sl_uid_gen *g);

/* Next 64 random bits. */
uint64_t sl_uid_next64(struct sl_uid_gen *g);

/* Writes prefix + base62 of 96 fresh bits into buf (at least SL_UID_LEN
 * bytes). Returns buf. */
char *sl_uid_make(struct sl_uid_gen *g, char prefix, char *buf, size_t n);

/* The base62 rendering of a given 96-bit value (hi: upper 32 bits, lo:
 * lower 64), as Zeek's UID::Base62. Returns buf. */
char *sl_uid_format(char prefix, uint32_t hi, uint64_t lo, char *buf, size_t n);

#endif
