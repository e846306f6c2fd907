/* The input format of the fuzz targets that take runs of frames (fuzz_ana,
 * fuzz_lb; fuzz_seed --ana writes it from pcaps): after the target's flags
 * byte, frames, each a time step byte (low 7 bits, in milliseconds, or in
 * seconds with the top bit set, so that timeouts fire), a 2-byte big-endian
 * length (cut at the end of the input), then the frame's bytes. */
#ifndef FUZZ_RUNS_H
#define FUZZ_RUNS_H

#include <stdbool.h>
#include <stdint.h>

/* The next frame at *p (advancing it, and *now_ns by its time step), or
 * false at the end of the input. */
static inline bool fuzz_next_frame(const uint8_t **p, const uint8_t *end, uint64_t *now_ns,
                                   const uint8_t **frame, uint32_t *len)
{
    if (end - *p < 3)
        return false;
    uint8_t step = (*p)[0];
    uint32_t want = (uint32_t)(*p)[1] << 8 | (*p)[2];
    *p += 3;
    *now_ns += (uint64_t)(step & 0x7f) * (step & 0x80 ? 1000000000ull : 1000000ull);
    *len = want < (uint32_t)(end - *p) ? want : (uint32_t)(end - *p);
    *frame = *p;
    *p += *len;
    return true;
}

/* The time step byte for going from `from` to `to` seconds (the nearest
 * step, at most 127 s). */
static inline uint8_t fuzz_time_step(double from, double to)
{
    double d = to > from ? to - from : 0;
    if (d < 0.1275)
        return (uint8_t)(d * 1000 + 0.5);
    return (uint8_t)(0x80 | (d < 127 ? (unsigned)(d + 0.5) : 127u));
}

#endif
