/* libFuzzer target for sl_lb, the balancer's decision: the fragment table,
 * early fragments held and released, ICMP error steering, over runs of
 * frames in packet time.
 *
 * Input: one flags byte, then frames. Flags: low 3 bits the hash mode
 * (sym5 sym3 sym2 inner-sym5 inner-sym3 inner-sym2 toeplitz, 7 = sym5);
 * bit 3 worker 3 of 8 is down; bit 4 a tiny fragment table (8 slots) and
 * held pool (4), so that evictions and a full pool happen; bit 5 held
 * frames are collected after every frame instead of every 8th; bit 6 by a
 * rendezvous table (as frontend-dpdk picks) instead of the weights. The
 * frames (Ethernet), with their time steps, as fuzz_runs.h has them
 * (fuzz_seed --ana writes runs of pcap frames).
 *
 * Checked: every frame gets a live worker, -1 only when none is live, or is
 * held; every held frame comes back exactly once (at the latest when all
 * is released at the end) to a live worker; the counters keep
 * frag_held == frag_released + frag_held_orphaned + held_now at every step;
 * a plain flow goes where its hash says; and (outer modes) a later
 * fragment found in the table, or released once its first fragment came,
 * goes where that first fragment went. A second run over the same input
 * makes the same decisions. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "fuzz_runs.h"
#include "sl_lb.h"

#define MAX_FRAMES 8192
#define N_WORKERS  8
#define N_FIRSTS   64 /* first fragments remembered for the affinity check */

static const enum sl_hash_mode modes[8] = {
    SL_HASH_SYM5,       SL_HASH_SYM3,       SL_HASH_SYM2,     SL_HASH_INNER_SYM5,
    SL_HASH_INNER_SYM3, SL_HASH_INNER_SYM2, SL_HASH_TOEPLITZ, SL_HASH_SYM5,
};

struct dgram {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto;
    int worker;
};

struct run {
    struct sl_rdv rdv;
    struct sl_lb *lb;
    bool outer;                  /* the mode hashes the outermost layer */
    uint8_t state[MAX_FRAMES];   /* 0 not held, 1 held, 2 released */
    struct dgram dg[MAX_FRAMES]; /* a held frame's datagram (id set when known) */
    bool dg_known[MAX_FRAMES];
    unsigned held;
    struct dgram firsts[N_FIRSTS];
    unsigned n_firsts;
    uint64_t digest; /* of every decision, in order */
};

static struct run R;

static bool any_live(const struct sl_rdv *r)
{
    for (unsigned i = 0; i < N_WORKERS; i++)
        if (r->live[i])
            return true;
    return false;
}

static void check_worker(const struct run *r, int w)
{
    CHECK(w >= -1 && w < N_WORKERS);
    CHECK(w >= 0 ? r->rdv.live[w] : !any_live(&r->rdv));
}

/* The datagram of p's only IP layer when it is a fragment (outer modes). */
static bool dgram_of(const struct run *r, const struct sl_pkt *p, struct dgram *d)
{
    if (!r->outer || p->n_ip != 1 || !(p->ip[0].flags & SL_IPF_FRAG))
        return false;
    memcpy(d->src, p->ip[0].src, 16);
    memcpy(d->dst, p->ip[0].dst, 16);
    d->id = p->ip[0].frag_id;
    d->proto = p->ip[0].proto;
    return true;
}

static struct dgram *find_first(struct run *r, const struct dgram *d)
{
    for (unsigned i = 0; i < r->n_firsts; i++) {
        struct dgram *f = &r->firsts[i];
        if (f->id == d->id && f->proto == d->proto && !memcmp(f->src, d->src, 16) &&
            !memcmp(f->dst, d->dst, 16))
            return f;
    }
    return NULL;
}

/* A first fragment went to w: the latest choice for its datagram. */
static void note_first(struct run *r, const struct dgram *d, int w)
{
    struct dgram *f = find_first(r, d);
    if (f == NULL && r->n_firsts < N_FIRSTS)
        f = &r->firsts[r->n_firsts++];
    if (f == NULL)
        return;
    *f = *d;
    f->worker = w;
}

static void check_stats(const struct run *r)
{
    struct sl_lb_stats st;
    sl_lb_stats(r->lb, &st);
    CHECK(st.frag_held == st.frag_released + st.frag_held_orphaned + st.held_now);
    CHECK(st.held_now == r->held);
}

static void collect(struct run *r, uint64_t now)
{
    struct sl_lb_released out[16];
    unsigned n;
    do {
        n = sl_lb_release(r->lb, now, out, 16);
        CHECK(n <= 16);
        for (unsigned i = 0; i < n; i++) {
            uintptr_t c = (uintptr_t)out[i].cookie;
            CHECK(c >= 1 && c <= MAX_FRAMES && r->state[c - 1] == 1);
            r->state[c - 1] = 2;
            r->held--;
            r->digest = mix(r->digest, c << 16 ^ (uint64_t)(out[i].worker + 1) << 8 ^ out[i].why);
            check_worker(r, out[i].worker);
            CHECK(out[i].why == SL_LB_FRAG_RELEASED || out[i].why == SL_LB_FRAG_ORPHAN);
            const struct dgram *f = r->dg_known[c - 1] ? find_first(r, &r->dg[c - 1]) : NULL;
            if (out[i].why == SL_LB_FRAG_RELEASED && f != NULL)
                CHECK(out[i].worker == f->worker);
        }
    } while (n == 16);
    check_stats(r);
}

static void pick_one(struct run *r, const uint8_t *frame, uint32_t len, uint64_t now, unsigned i,
                     enum sl_hash_mode mode, const struct sl_rdv_table *tab)
{
    struct sl_pkt p;
    enum sl_lb_reason why = SL_LB_REASON_MAX;
    sl_pkt_decode(&p, frame, len, SL_DLT_EN10MB);
    int w = sl_lb_pick(r->lb, &p, now, (void *)(uintptr_t)(i + 1), &why);
    CHECK(why < SL_LB_REASON_MAX);
    r->digest = mix(r->digest, (uint64_t)(w + 2) << 8 ^ why);
    struct dgram d;
    bool frag = dgram_of(r, &p, &d);
    if (w == SL_LB_HELD) {
        CHECK(why == SL_LB_FRAG_HELD);
        r->state[i] = 1;
        r->held++;
        r->dg_known[i] = frag;
        if (frag)
            r->dg[i] = d;
        return;
    }
    check_worker(r, w);
    if (why == SL_LB_FLOW && w >= 0) {
        uint64_t h = sl_hash_pkt(&p, mode);
        CHECK(h == sl_lb_last_hash(r->lb));
        CHECK(w == (tab ? sl_rdv_table_pick(tab, h) : sl_rdv_pick(&r->rdv, h)));
        CHECK(w == sl_lb_pick_flow(r->lb, h));
    }
    if (!frag)
        return;
    if (p.ip[0].flags & SL_IPF_FIRST_FRAG) {
        if (why == SL_LB_FLOW)
            note_first(r, &d, w);
    } else if (why == SL_LB_FRAG_HIT) {
        const struct dgram *f = find_first(r, &d);
        if (f != NULL)
            CHECK(w == f->worker);
    }
}

/* One run of the balancer over the whole input; the digest of its decisions. */
static uint64_t balance(const uint8_t *data, size_t size)
{
    const uint8_t flags = data[0];
    const enum sl_hash_mode mode = modes[flags & 7];
    struct sl_rdv_table *tab = NULL;
    memset(&R, 0, sizeof(R));
    CHECK(sl_rdv_init(&R.rdv, N_WORKERS) == 0);
    if (flags & 8)
        CHECK(sl_rdv_set_live(&R.rdv, 3, false) == 0);
    struct sl_lb_conf c = {.mode = mode};
    if (flags & 16) {
        c.frag_slots = 8;
        c.max_held = 4;
    }
    R.outer = !sl_hash_mode_inner(mode);
    R.lb = sl_lb_new(&c, &R.rdv);
    CHECK(R.lb != NULL);
    if (flags & 64) {
        tab = malloc(sl_rdv_table_size(&R.rdv));
        CHECK(tab != NULL && sl_rdv_table_build(tab, &R.rdv) == 0);
        sl_lb_set_table(R.lb, tab);
    }

    const uint8_t *p = data + 1, *end = data + size, *frame;
    uint64_t now = 1600000000ull * 1000000000ull;
    uint32_t len;
    unsigned i = 0;
    for (; i < MAX_FRAMES && fuzz_next_frame(&p, end, &now, &frame, &len); i++) {
        sl_lb_prefetch(R.lb, frame, len);
        pick_one(&R, frame, len, now, i, mode, tab);
        if ((flags & 32) || i % 8 == 7)
            collect(&R, now);
    }
    collect(&R, now);
    collect(&R, UINT64_MAX);
    CHECK(R.held == 0);
    for (unsigned k = 0; k < i; k++)
        CHECK(R.state[k] != 1);
    sl_lb_free(R.lb);
    free(tab);
    return R.digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* twice: the same frames in the same order get the same decisions */
    uint64_t first = balance(data, size);
    CHECK(balance(data, size) == first);
    return 0;
}
