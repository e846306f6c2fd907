/* shaper: see shaper.h. */
#include "shaper.h"

#include <errno.h>
#include <stdbool.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_meter.h>

/* The meter's bucket holds one maximal frame (64 KiB + L1 overhead), so any
 * frame can eventually leave; the queue is what buffers. */
#define SHAPER_CBS        (65536u + 24u)
#define SHAPER_MAX_FRAMES 4096u

struct fe_shaper {
    rte_spinlock_t lock;
    struct rte_meter_srtcm_profile prof;
    struct rte_meter_srtcm meter;
    uint64_t hz;
    uint64_t base_ns, last_cycles;
    bool started;
    uint32_t cap_bytes, bytes;
    uint32_t mask, head, tail; /* ring indexes, tail - head = frames queued */
    struct rte_mbuf **q;
    uint32_t *len;
};

unsigned fe_shaper_max_frames(uint32_t queue_bytes)
{
    unsigned n = queue_bytes / 84 + 1; /* a minimal frame is 84 L1 bytes */
    return n < SHAPER_MAX_FRAMES ? n : SHAPER_MAX_FRAMES;
}

struct fe_shaper *fe_shaper_new(uint64_t rate_bps, uint32_t queue_bytes, int socket)
{
    struct rte_meter_srtcm_params p = {.cir = rate_bps / 8, .cbs = SHAPER_CBS, .ebs = 0};
    struct fe_shaper *s = rte_zmalloc_socket("fe_shaper", sizeof(*s), RTE_CACHE_LINE_SIZE, socket);
    if (s == NULL)
        goto nomem;
    unsigned slots = rte_align32pow2(fe_shaper_max_frames(queue_bytes));
    s->q = rte_zmalloc_socket("fe_shaper_q", slots * sizeof(*s->q), 0, socket);
    s->len = rte_zmalloc_socket("fe_shaper_len", slots * sizeof(*s->len), 0, socket);
    if (s->q == NULL || s->len == NULL)
        goto nomem;
    s->mask = slots - 1;
    s->cap_bytes = queue_bytes;
    s->hz = rte_get_tsc_hz();
    rte_spinlock_init(&s->lock);
    if (p.cir == 0 || rte_meter_srtcm_profile_config(&s->prof, &p) != 0 ||
        rte_meter_srtcm_config(&s->meter, &s->prof) != 0) {
        fe_shaper_free(s);
        errno = EINVAL;
        return NULL;
    }
    return s;
nomem:
    fe_shaper_free(s);
    errno = ENOMEM;
    return NULL;
}

void fe_shaper_free(struct fe_shaper *s)
{
    if (s == NULL)
        return;
    rte_free(s->q);
    rte_free(s->len);
    rte_free(s);
}

rte_spinlock_t *fe_shaper_lock(struct fe_shaper *s)
{
    return &s->lock;
}

/* The meter counts time in TSC cycles from its own origin; ours is the first
 * frame time it sees. Time never goes back for the meter (inputs on several
 * lcores are not in one order). */
static uint64_t to_cycles(struct fe_shaper *s, uint64_t now_ns)
{
    if (!s->started) {
        s->started = true;
        s->base_ns = now_ns;
        s->meter.time = 0;
        s->meter.tc = s->prof.cbs;
        s->meter.te = 0;
    }
    uint64_t d = now_ns > s->base_ns ? now_ns - s->base_ns : 0;
    uint64_t c = (uint64_t)((unsigned __int128)d * s->hz / 1000000000u);
    if (c < s->last_cycles)
        c = s->last_cycles;
    s->last_cycles = c;
    return c;
}

unsigned fe_shaper_dequeue(struct fe_shaper *s, uint64_t now_ns, struct rte_mbuf **out,
                           unsigned max)
{
    unsigned n = 0;
    if (s->tail == s->head)
        return 0;
    uint64_t t = to_cycles(s, now_ns);
    while (n < max && s->tail != s->head) {
        uint32_t i = s->head & s->mask;
        if (rte_meter_srtcm_color_blind_check(&s->meter, &s->prof, t, s->len[i]) != RTE_COLOR_GREEN)
            break;
        out[n++] = s->q[i];
        s->bytes -= s->len[i];
        __atomic_store_n(&s->head, s->head + 1, __ATOMIC_RELAXED);
    }
    return n;
}

int fe_shaper_enqueue(struct fe_shaper *s, struct rte_mbuf *m, uint32_t l1)
{
    if (s->tail - s->head > s->mask || s->bytes + l1 > s->cap_bytes)
        return -ENOBUFS;
    uint32_t i = s->tail & s->mask;
    s->q[i] = m;
    s->len[i] = l1;
    s->bytes += l1;
    __atomic_store_n(&s->tail, s->tail + 1, __ATOMIC_RELAXED);
    return 0;
}

unsigned fe_shaper_flush(struct fe_shaper *s, struct rte_mbuf **out, unsigned max)
{
    unsigned n = 0;
    while (n < max && s->tail != s->head) {
        uint32_t i = s->head & s->mask;
        out[n++] = s->q[i];
        s->bytes -= s->len[i];
        __atomic_store_n(&s->head, s->head + 1, __ATOMIC_RELAXED);
    }
    return n;
}

unsigned fe_shaper_queued(const struct fe_shaper *s)
{
    return __atomic_load_n(&s->tail, __ATOMIC_RELAXED) -
           __atomic_load_n(&s->head, __ATOMIC_RELAXED);
}
