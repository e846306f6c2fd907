/* sl_sha1: SHA-1 (FIPS 180-4), for Zeek's community ID.
 *
 * Community ID v1 is defined over SHA-1, and no Debian library the project
 * already depends on offers it, hence this small one. Not for security use.
 */
#ifndef SL_SHA1_H
#define SL_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SL_SHA1_LEN 20

struct sl_sha1 {
    uint32_t h[5];
    uint64_t nbytes; /* message bytes taken so far */
    uint8_t buf[64]; /* partial block */
    unsigned fill;   /* bytes in buf */
};

void sl_sha1_init(struct sl_sha1 *c);
void sl_sha1_update(struct sl_sha1 *c, const void *data, size_t len);
void sl_sha1_final(struct sl_sha1 *c, uint8_t out[SL_SHA1_LEN]);

/* One-shot digest of len bytes. */
void sl_sha1(const void *data, size_t len, uint8_t out[SL_SHA1_LEN]);

#endif
