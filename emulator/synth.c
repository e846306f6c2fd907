/* The generator: flow arrivals and a min-heap of active flows keyed by the
 * time of their next packet (ties broken by creation order, so the output
 * does not depend on heap internals). Memory is a fixed pool of flows. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "synth_int.h"

struct sl_syn {
    struct sl_syn_ctx x;
    const struct sl_syn_profile *prof;
    uint64_t flows_max, started, emitted, last_ts;
    uint64_t next_arrival, mean_gap;
    uint32_t n_active;
    uint32_t heap[SL_SYN_MAX_ACTIVE]; /* indices into pool */
    uint32_t free_list[SL_SYN_MAX_ACTIVE];
    uint32_t n_free;
    struct sl_syn_stats st;
    struct sl_sb b;
    struct sl_syn_flow pool[SL_SYN_MAX_ACTIVE];
};

static int before(const struct sl_syn *s, uint32_t a, uint32_t b)
{
    const struct sl_syn_flow *fa = &s->pool[a], *fb = &s->pool[b];
    return fa->ts < fb->ts || (fa->ts == fb->ts && fa->id < fb->id);
}

static void sift_down(struct sl_syn *s, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < s->n_active && before(s, s->heap[l], s->heap[m]))
            m = l;
        if (l + 1 < s->n_active && before(s, s->heap[l + 1], s->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        uint32_t t = s->heap[i];
        s->heap[i] = s->heap[m];
        s->heap[m] = t;
        i = m;
    }
}

static void sift_up(struct sl_syn *s, uint32_t i)
{
    while (i && before(s, s->heap[i], s->heap[(i - 1) / 2])) {
        uint32_t p = (i - 1) / 2, t = s->heap[i];
        s->heap[i] = s->heap[p];
        s->heap[p] = t;
        i = p;
    }
}

static int valid_opts(const struct sl_syn_opts *o)
{
    return o->profile && sl_syn_profile_find(o->profile) && o->packets && o->hosts &&
           o->hosts <= 1000000 && o->duration_us &&
           (o->sizes == SL_SYN_SIZES_REAL || o->sizes == SL_SYN_SIZES_IMIX ||
            (o->sizes >= 28 && o->sizes <= 9000));
}

struct sl_syn *sl_syn_new(const struct sl_syn_opts *o)
{
    if (!o || !valid_opts(o)) {
        errno = EINVAL;
        return NULL;
    }
    struct sl_syn *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->prof = sl_syn_profile_find(o->profile);
    /* The profile's name is part of the seed: the same --seed in two
     * profiles gives unrelated flows. */
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = o->profile; *c; c++)
        h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
    s->x.seed = sl_syn_mix64(o->seed ^ h);
    sl_syn_rng_seed(&s->x.rng, s->x.seed);
    s->x.hosts = o->hosts;
    s->x.servers = o->hosts / 4 > 8 ? o->hosts / 4 : 8;
    s->x.sizes = o->sizes;
    s->x.packets = o->packets;
    s->x.duration_us = o->duration_us;
    s->x.start_us = o->start_us;
    s->flows_max = o->flows;
    uint64_t est = o->flows ? o->flows : o->packets / sl_syn_profile_avg_pkts(&s->x, s->prof);
    s->mean_gap = o->duration_us / (est ? est : 1);
    s->next_arrival = o->start_us;
    s->last_ts = o->start_us;
    for (uint32_t i = 0; i < SL_SYN_MAX_ACTIVE; i++)
        s->free_list[i] = SL_SYN_MAX_ACTIVE - 1 - i;
    s->n_free = SL_SYN_MAX_ACTIVE;
    return s;
}

void sl_syn_free(struct sl_syn *s)
{
    free(s);
}

void sl_syn_get_stats(const struct sl_syn *s, struct sl_syn_stats *st)
{
    *st = s->st;
}

static void start_flow(struct sl_syn *s)
{
    uint32_t slot = s->free_list[--s->n_free];
    struct sl_syn_flow *f = &s->pool[slot];
    memset(f, 0, sizeof(*f));
    f->id = s->started++;
    f->t0 = f->ts = s->next_arrival > s->last_ts ? s->next_arrival : s->last_ts;
    f->seed = sl_syn_rng_next(&s->x.rng);
    sl_syn_rng_seed(&f->rng, f->seed);
    f->ipid[0] = (uint16_t)sl_syn_rng_next(&f->rng);
    f->ipid[1] = (uint16_t)sl_syn_rng_next(&f->rng);
    sl_syn_flow_init(&s->x, s->prof, f);
    s->heap[s->n_active++] = slot;
    sift_up(s, s->n_active - 1);
    if (s->n_active > s->st.active_max)
        s->st.active_max = s->n_active;
    s->next_arrival += sl_syn_rng_exp(&s->x.rng, s->mean_gap);
}

static int step(struct sl_syn *s, struct sl_syn_flow *f)
{
    switch (f->mach) {
    case M_TCP:
        return sl_syn_tcp_step(&s->x, f, &s->b);
    case M_UDP:
        return sl_syn_udp_step(&s->x, f, &s->b);
    case M_ICMP:
        return sl_syn_icmp_step(&s->x, f, &s->b);
    case M_SCAN:
        return sl_syn_scan_step(&s->x, f, &s->b);
    case M_FLOOD:
        return sl_syn_flood_step(&s->x, f, &s->b);
    case M_BAD:
        return sl_syn_bad_step(&s->x, f, &s->b);
    default:
        return -EINVAL;
    }
}

int sl_syn_next(struct sl_syn *s, struct sl_syn_pkt *p)
{
    if (s->emitted >= s->x.packets)
        return -ENOENT;
    for (;;) {
        int can_start = (!s->flows_max || s->started < s->flows_max) && s->n_free;
        if (can_start && (!s->n_active || s->next_arrival <= s->pool[s->heap[0]].ts)) {
            start_flow(s);
            continue;
        }
        if (!s->n_active)
            return -ENOENT;
        break;
    }
    uint32_t slot = s->heap[0];
    struct sl_syn_flow *f = &s->pool[slot];
    uint64_t ts = f->ts;
    s->x.wire_len = s->x.cap_len = 0;
    int rc = step(s, f);
    if (rc < 0)
        return rc;
    if (rc == SL_SYN_DONE) {
        s->heap[0] = s->heap[--s->n_active];
        s->free_list[s->n_free++] = slot;
    } else if (f->ts <= ts) {
        f->ts = ts + 1; /* a flow never emits two packets in the same microsecond */
    }
    if (s->n_active)
        sift_down(s, 0);
    p->ts_us = ts;
    p->data = s->b.buf;
    p->caplen = s->x.cap_len ? s->x.cap_len : (uint32_t)s->b.len;
    p->len = s->x.wire_len ? s->x.wire_len : p->caplen;
    s->last_ts = ts;
    s->emitted++;
    s->st.packets++;
    s->st.bytes += p->len;
    s->st.flows = s->started;
    return 0;
}
