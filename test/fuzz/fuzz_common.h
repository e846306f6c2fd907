/* What every libFuzzer target here shares: the entry point's prototype, a
 * check that stops the fuzzer on a broken invariant (a trap, so it is
 * reported as a crash with the input), and a sink that makes the target
 * read every output field without the compiler dropping the reads. */
#ifndef SL_FUZZ_COMMON_H
#define SL_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

static volatile uint64_t sink;

/* Folds v into h (FNV-style), for the sink. */
static inline uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull;
}

#endif
