/* sl_uid: see sl_uid.h. */
#include "sl_uid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "sl_rng.h"

void sl_uid_init(struct sl_uid_gen *g, uint64_t seed, uint64_t salt)
{
    uint64_t x = seed ^ (salt * 0xd1b54a32d192ed03ULL);
    for (int i = 0; i < 4; i++, x += 0x9e3779b97f4a7c15ULL)
        g->s[i] = sl_rng_mix64(x);
}

int sl_uid_init_random(struct sl_uid_gen *g)
{
    uint8_t *p = (uint8_t *)g->s;
    size_t got = 0;

    while (got < sizeof(g->s)) {
        ssize_t r = getrandom(p + got, sizeof(g->s) - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    /* xoshiro must not start from all zeros. */
    if (!(g->s[0] | g->s[1] | g->s[2] | g->s[3]))
        g->s[0] = 1;
    return 0;
}

uint64_t sl_uid_next64(struct sl_uid_gen *g)
{
    return sl_rng_next(g->s);
}

static size_t b62(uint64_t v, char *out)
{
    static const char dig[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    size_t i = 0;
    do {
        out[i++] = dig[v % 62];
        v /= 62;
    } while (v);
    return i;
}

char *sl_uid_format(char prefix, uint32_t hi, uint64_t lo, char *buf, size_t n)
{
    char tmp[SL_UID_LEN];
    size_t i = 0;

    tmp[i++] = prefix;
    i += b62(hi, tmp + i); /* at most 6 digits */
    i += b62(lo, tmp + i); /* at most 11 digits */
    tmp[i] = '\0';
    if (n) {
        strncpy(buf, tmp, n - 1);
        buf[n - 1] = '\0';
    }
    return buf;
}

char *sl_uid_make(struct sl_uid_gen *g, char prefix, char *buf, size_t n)
{
    uint32_t hi = (uint32_t)(sl_uid_next64(g) >> 32);
    uint64_t lo = sl_uid_next64(g);
    return sl_uid_format(prefix, hi, lo, buf, n);
}
