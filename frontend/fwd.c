/* fwd: see fwd.h. */
#include "fwd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "pcapr.h"
#include "pcapw.h"
#include "shaper.h"
#include "workers.h"

#define RELEASE_BATCH  64
#define LB_STATS_EVERY 64 /* bursts between copies of sl_lb's counters */

/* net_pcap's RX timestamp (microseconds), the fallback when pcapr lost track. */
static int ts_dynfield_off = -1;
static uint64_t ts_dynflag;

static void lookup_rx_timestamp(void)
{
    int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, NULL);
    ts_dynfield_off = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, NULL);
    ts_dynflag = bit >= 0 ? RTE_BIT64(bit) : 0;
}

/* ---- egress ---------------------------------------------------------------- */

static void drop(struct fe_lcore *lc, struct rte_mbuf *m, enum fe_drop why)
{
    FE_ADD(lc->st->drops[why], 1);
    rte_pktmbuf_free(m);
}

_Static_assert(FE_DROP_RUNT + (SL_KTX_VLAN_RUNT - SL_KTX_RUNT) == FE_DROP_VLAN_RUNT &&
                   FE_DROP_RUNT + (SL_KTX_OVERSIZE - SL_KTX_RUNT) == FE_DROP_OVERSIZE &&
                   FE_DROP_RUNT + (SL_KTX_SNAPPED - SL_KTX_RUNT) == FE_DROP_SNAPPED,
               "fe_drop follows sl_ktx_verdict");

/* The worker a frame the link did not send was meant for: the link's only
 * worker, else the one whose MAC it carries; -1 for a frame too short to
 * carry one (emit left it as it was) on a link several workers share. Off
 * the hot path: only dropped frames come here. */
static int unsent_worker(const struct fe_app *app, unsigned e, const struct rte_mbuf *m)
{
    if (app->egress[e].only_worker >= 0)
        return app->egress[e].only_worker;
    if (m->data_len < RTE_ETHER_ADDR_LEN)
        return -1;
    const uint8_t *d = rte_pktmbuf_mtod(m, const uint8_t *);
    for (unsigned w = 0; w < app->n_workers; w++)
        if (app->worker_egress[w] == (int)e && memcmp(d, app->mac[w], RTE_ETHER_ADDR_LEN) == 0)
            return (int)w;
    return -1;
}

static void count_unsent(struct fe_lcore *lc, unsigned e, const struct rte_mbuf *m)
{
    int w = unsent_worker(lc->app, e, m);
    if (w >= 0)
        FE_ADD(lc->st->w[w].dropped, 1);
    else
        FE_ADD(lc->st->e[e].unattributed, 1);
}

static __rte_noinline void ktx_drop(struct fe_lcore *lc, unsigned e, struct rte_mbuf *m,
                                    enum sl_ktx_verdict v)
{
    FE_ADD(lc->st->e[e].refused, 1);
    count_unsent(lc, e, m);
    drop(lc, m, (enum fe_drop)(FE_DROP_RUNT + (v - SL_KTX_RUNT)));
}

/* A kernel port loses some frames without a count anywhere we could see
 * (sl_ktx.h): drop and count those here, keeping the rest in order. Returns
 * how many are left in m[]. A few compares per frame on the common path. */
static unsigned ktx_filter(struct fe_lcore *lc, unsigned e, struct rte_mbuf **m, unsigned n)
{
    const struct fe_egress *eg = &lc->app->egress[e];
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *x = m[i];
        uint32_t len = rte_pktmbuf_pkt_len(x);
        const uint8_t *h = rte_pktmbuf_mtod(x, const uint8_t *);
        uint8_t hdr[SL_KTX_ETH_HLEN];
        if (unlikely(x->data_len < SL_KTX_ETH_HLEN && len >= SL_KTX_ETH_HLEN))
            h = rte_pktmbuf_read(x, 0, SL_KTX_ETH_HLEN, hdr);
        enum sl_ktx_verdict v =
            sl_ktx_check(&eg->ktx, eg->ktx_fast_max, h, len, fe_meta(x)->wire_len);
        if (likely(v == SL_KTX_OK))
            m[k++] = x;
        else
            ktx_drop(lc, e, x, v);
    }
    return k;
}

static uint64_t sum_bytes(struct rte_mbuf **m, unsigned n)
{
    uint64_t bytes = 0;
    for (unsigned i = 0; i < n; i++)
        bytes += rte_pktmbuf_pkt_len(m[i]);
    return bytes;
}

/* Hands frames to the link's sink: TX on the output port, or the worker's
 * pcap. bytes: their total length (the caller has it at hand). */
static void egress_send(struct fe_lcore *lc, unsigned e, struct rte_mbuf **m, unsigned n,
                        uint64_t bytes)
{
    struct fe_app *app = lc->app;
    struct fe_egress *eg = &app->egress[e];
    struct fe_e_stats *es = &lc->st->e[e];
    if (n == 0)
        return;
    if (app->pcapw != NULL) {
        fe_pcapw_write(app->pcapw, (unsigned)eg->worker, m, n, lc->scratch);
        rte_pktmbuf_free_bulk(m, n);
        FE_ADD(es->pkts, n);
        FE_ADD(es->bytes, bytes);
        return;
    }
    if (eg->kernel) {
        unsigned k = ktx_filter(lc, e, m, n);
        if (k < n)
            bytes = sum_bytes(m, k);
        if ((n = k) == 0)
            return;
    }
    uint16_t port = (uint16_t)eg->port, q = lc->txq[port];
    unsigned sent = 0;
    if (eg->txq_shared)
        rte_spinlock_lock(&eg->txq_lock[q]);
    /* A few retries ride out a momentarily full ring; past that the port is
     * slower than its input and the frames are dropped, as a NIC would. */
    for (int tries = 0; sent < n && tries < 8; tries++)
        sent += rte_eth_tx_burst(port, q, m + sent, (uint16_t)(n - sent));
    if (eg->txq_shared)
        rte_spinlock_unlock(&eg->txq_lock[q]);
    if (unlikely(sent < n)) {
        for (unsigned i = sent; i < n; i++) {
            bytes -= rte_pktmbuf_pkt_len(m[i]);
            count_unsent(lc, e, m[i]);
        }
        rte_pktmbuf_free_bulk(m + sent, n - sent);
        FE_ADD(es->tx_drops, n - sent);
        FE_ADD(lc->st->drops[FE_DROP_TX_FULL], n - sent);
    }
    FE_ADD(es->pkts, sent);
    FE_ADD(es->bytes, bytes);
}

/* Drains what the shaper lets out by now_ns, sending it in bursts. */
static void shaper_drain(struct fe_lcore *lc, unsigned e, struct fe_shaper *sh, uint64_t now_ns)
{
    struct rte_mbuf *out[FE_MAX_BURST];
    unsigned k;
    while ((k = fe_shaper_dequeue(sh, now_ns, out, FE_MAX_BURST)) > 0) {
        egress_send(lc, e, out, k, sum_bytes(out, k));
        if (k < FE_MAX_BURST)
            break;
    }
}

static void shaped_flush(struct fe_lcore *lc, unsigned e, struct rte_mbuf **m, unsigned n)
{
    struct fe_shaper *sh = lc->app->egress[e].shaper;
    bool shared = lc->app->n_fwd > 1;
    if (shared)
        rte_spinlock_lock(fe_shaper_lock(sh));
    /* Per frame: the link sends what it can by the frame's arrival, takes
     * the frame (or drops it), and sends what it can at that same instant.
     * The same operations whatever the batching, so drops depend on the
     * frames alone (not on --pace or burst boundaries). */
    for (unsigned i = 0; i < n; i++) {
        const struct fe_meta *meta = fe_meta(m[i]);
        shaper_drain(lc, e, sh, meta->ts_ns);
        if (fe_shaper_enqueue(sh, m[i], fe_l1_bytes(meta->wire_len)) == 0) {
            shaper_drain(lc, e, sh, meta->ts_ns);
        } else {
            struct fe_e_stats *es = &lc->st->e[e];
            FE_ADD(es->shaper_drops, 1);
            FE_ADD(es->shaper_drop_bytes, rte_pktmbuf_pkt_len(m[i]));
            FE_ADD(lc->st->drops[FE_DROP_SHAPER], 1);
            rte_pktmbuf_free(m[i]);
        }
    }
    if (shared)
        rte_spinlock_unlock(fe_shaper_lock(sh));
}

static void egress_flush(struct fe_lcore *lc, unsigned e)
{
    struct fe_txbuf *b = &lc->txb[e];
    unsigned n = b->n;
    uint64_t bytes = b->bytes;
    b->n = 0;
    b->bytes = 0;
    if (n == 0)
        return;
    if (lc->app->egress[e].shaper != NULL)
        shaped_flush(lc, e, b->m, n);
    else
        egress_send(lc, e, b->m, n, bytes);
}

static void flush_dirty(struct fe_lcore *lc)
{
    for (unsigned k = 0; k < lc->n_dirty; k++) {
        unsigned e = lc->dirty[k];
        egress_flush(lc, e);
        lc->txb[e].dirty = false;
    }
    lc->n_dirty = 0;
}

/* Frames shaped on a wall-clock (live) or pacing clock leave as time passes. */
static void idle_drain(struct fe_lcore *lc, uint64_t now_ns)
{
    struct fe_app *app = lc->app;
    for (unsigned e = 0; e < app->n_egress; e++) {
        struct fe_shaper *sh = app->egress[e].shaper;
        if (sh == NULL || fe_shaper_queued(sh) == 0)
            continue;
        if (app->n_fwd > 1)
            rte_spinlock_lock(fe_shaper_lock(sh));
        shaper_drain(lc, e, sh, now_ns);
        if (app->n_fwd > 1)
            rte_spinlock_unlock(fe_shaper_lock(sh));
    }
}

/* End of run: every queued frame goes out (the link would send them after
 * the last arrival). */
static void shapers_flush_all(struct fe_lcore *lc)
{
    struct fe_app *app = lc->app;
    struct rte_mbuf *out[FE_MAX_BURST];
    for (unsigned e = 0; e < app->n_egress; e++) {
        struct fe_shaper *sh = app->egress[e].shaper;
        unsigned k;
        if (sh == NULL)
            continue;
        if (app->n_fwd > 1)
            rte_spinlock_lock(fe_shaper_lock(sh));
        while ((k = fe_shaper_flush(sh, out, FE_MAX_BURST)) > 0)
            egress_send(lc, e, out, k, sum_bytes(out, k));
        if (app->n_fwd > 1)
            rte_spinlock_unlock(fe_shaper_lock(sh));
    }
}

/* ---- the balancer step ----------------------------------------------------- */

/* The flow hash remixed for the flow counters: the rendezvous pick already
 * used h, the registers must not depend on it. */
static inline uint64_t hll_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

/* Worker w's register minimum and its count, after the last register at
 * the old minimum went up. */
static __rte_noinline void hll_new_min(struct fe_lcore *lc, unsigned w)
{
    const uint8_t *r = &lc->hll[fe_hll_reg(w, 0)];
    uint8_t min = UINT8_MAX;
    uint16_t at = 0;
    for (unsigned i = 0; i < (1u << FE_HLL_BITS); i++) {
        if (r[i] < min) {
            min = r[i];
            at = 0;
        }
        at += r[i] == min;
    }
    lc->hll_min[w] = min;
    lc->hll_at_min[w] = at;
    uint8_t floor = UINT8_MAX;
    for (unsigned v = 0; v < lc->app->n_workers; v++)
        floor = lc->hll_min[v] < floor ? lc->hll_min[v] : floor;
    lc->hll_floor = floor;
}

/* A flow hash's register index (high bits) and rank (low 6 bits) in one
 * word: computed in a burst's first pass, off the chain that starts at the
 * worker pick. */
static inline uint16_t hll_code(uint64_t h)
{
    h = hll_mix(h);
    unsigned idx = (unsigned)(h >> (64 - FE_HLL_BITS));
    uint64_t rest = (h << FE_HLL_BITS) | (1ull << (FE_HLL_BITS - 1));
    unsigned rank = (unsigned)__builtin_clzll(rest) + 1;
    return (uint16_t)(idx << 6 | rank);
}
_Static_assert(FE_HLL_BITS + 6 <= 16 && 64 - FE_HLL_BITS + 1 < 64, "hll_code packs idx and rank");

/* hll_code, or 0 for a rank that can raise no register of any worker. */
static inline uint16_t hll_code_floored(const struct fe_lcore *lc, uint64_t h)
{
    uint16_t code = hll_code(h);
    return (code & 63) > lc->hll_floor ? code : 0;
}

static inline void hll_add(struct fe_lcore *lc, unsigned w, uint16_t code)
{
    uint8_t rank = code & 63;
    if (rank <= lc->hll_min[w])
        return;
    uint8_t *r = &lc->hll[fe_hll_reg(w, code >> 6)];
    uint8_t old = *r;
    if (rank <= old)
        return;
    __atomic_store_n(r, rank, __ATOMIC_RELAXED);
    if (old == lc->hll_min[w] && --lc->hll_at_min[w] == 0)
        hll_new_min(lc, w);
}

static inline void emit(struct fe_lcore *lc, int w, struct rte_mbuf *m)
{
    const struct fe_route *r = &lc->route[w];
    struct fe_w_stats *ws = &lc->st->w[w];
    /* A frame cut shorter than a MAC (a capture artefact) has none to rewrite;
     * it still goes to its worker, whose analysis reports it. */
    if (likely(m->data_len >= RTE_ETHER_ADDR_LEN))
        memcpy(rte_pktmbuf_mtod(m, uint8_t *), r->mac, RTE_ETHER_ADDR_LEN);
    uint32_t len = rte_pktmbuf_pkt_len(m);
    FE_ADD(ws->pkts, 1);
    FE_ADD(ws->bytes, len);
    struct fe_txbuf *b = r->b;
    if (!b->dirty) {
        b->dirty = true;
        lc->dirty[lc->n_dirty++] = r->e;
    }
    b->bytes += len;
    b->m[b->n++] = m;
    if (unlikely(b->n >= lc->burst))
        egress_flush(lc, r->e);
}

static void release_held(struct fe_lcore *lc, uint64_t now_ns)
{
    struct sl_lb_released rel[RELEASE_BATCH];
    unsigned n;
    do {
        n = sl_lb_release(lc->lb, now_ns, rel, RELEASE_BATCH);
        for (unsigned i = 0; i < n; i++) {
            struct rte_mbuf *m = rel[i].cookie;
            struct fe_in_stats *is = &lc->st->in[fe_meta(m)->input];
            FE_ADD(lc->st->held, (uint64_t)-1);
            if (rel[i].why == SL_LB_FRAG_RELEASED)
                FE_ADD(is->frag_released, 1);
            else
                FE_ADD(is->frag_orphan, 1);
            if (rel[i].worker < 0)
                drop(lc, m, FE_DROP_NO_WORKER);
            else
                emit(lc, rel[i].worker, m);
        }
    } while (n == RELEASE_BATCH);
}

static void count_weird(struct fe_in_stats *is, const char *name)
{
    FE_ADD(is->weird, 1);
    for (unsigned k = 0; k < FE_MAX_WEIRDS; k++) {
        if (is->weirds[k].name == name) {
            FE_ADD(is->weirds[k].n, 1);
            return;
        }
        if (is->weirds[k].name == NULL) {
            FE_ADD(is->weirds[k].n, 1);
            __atomic_store_n(&is->weirds[k].name, name, __ATOMIC_RELEASE);
            return;
        }
    }
    FE_ADD(is->weird_other, 1);
}

static void count_decode(struct fe_in_stats *is, const struct sl_pkt *p)
{
    if (unlikely(p->weird != NULL))
        count_weird(is, p->weird);
    for (unsigned l = 0; l < p->n_ip; l++) {
        if (p->ip[l].flags & SL_IPF_FRAG) {
            FE_ADD(is->frag, 1);
            if (p->ip[l].flags & SL_IPF_FIRST_FRAG)
                FE_ADD(is->frag_first, 1);
            break;
        }
    }
}

static void count_reason(struct fe_in_stats *is, enum sl_lb_reason why)
{
    switch (why) {
    case SL_LB_NON_IP:
        FE_ADD(is->non_ip, 1);
        break;
    case SL_LB_FRAG_HIT:
        FE_ADD(is->frag_hit, 1);
        break;
    case SL_LB_FRAG_ORPHAN:
        FE_ADD(is->frag_orphan, 1);
        break;
    case SL_LB_ICMP_ERR:
        FE_ADD(is->icmp_steered, 1);
        break;
    case SL_LB_FRAG_HELD:
        FE_ADD(is->frag_held, 1);
        break;
    default:
        break;
    }
}

static bool first_fragment(const struct sl_pkt *p)
{
    for (unsigned l = 0; l < p->n_ip; l++)
        if (p->ip[l].flags & SL_IPF_FIRST_FRAG)
            return true;
    return false;
}

/* The common outcome (by flow hash) costs one compare; the rest is counted out of line. */
static inline void count_reason_fast(struct fe_in_stats *is, enum sl_lb_reason why)
{
    if (unlikely(why != SL_LB_FLOW))
        count_reason(is, why);
}

/* A frame of a plain flow (the short path below): slot, its entry in the
 * rendezvous table; hc, its hll_code, or 0 when its rank is at or below
 * lc->hll_floor (or flows are not counted). */
static inline void emit_flow(struct fe_lcore *lc, struct rte_mbuf *m, const uint8_t *slot,
                             uint16_t hc)
{
    int w = sl_rdv_table_pick_slot(lc->rdv_table, slot);
    if (unlikely(w < 0)) {
        drop(lc, m, FE_DROP_NO_WORKER);
        return;
    }
    if (hc != 0)
        hll_add(lc, (unsigned)w, hc);
    emit(lc, w, m);
}

/* Everything the short path declines: the full decode and sl_lb. */
static void dispatch_general(struct fe_lcore *lc, struct rte_mbuf *m, uint64_t ts_ns,
                             struct fe_in_stats *is)
{
    const uint8_t *data = rte_pktmbuf_mtod(m, const uint8_t *);
    uint32_t dlen = m->data_len;
    if (unlikely(m->nb_segs > 1)) {
        uint32_t len = rte_pktmbuf_pkt_len(m);
        dlen = len < FE_SCRATCH ? len : FE_SCRATCH;
        data = rte_pktmbuf_read(m, 0, dlen, lc->scratch);
    }
    sl_pkt_decode(&lc->pkt, data, dlen, SL_DLT_EN10MB);
    count_decode(is, &lc->pkt);
    enum sl_lb_reason why = SL_LB_FLOW;
    int w = sl_lb_pick(lc->lb, &lc->pkt, ts_ns, m, &why);
    count_reason_fast(is, why);
    if (unlikely(w < 0)) {
        if (w == SL_LB_HELD)
            FE_ADD(lc->st->held, 1);
        else
            drop(lc, m, FE_DROP_NO_WORKER);
        return;
    }
    /* The pick's own hash: for these two reasons it is sl_hash_pkt's. */
    if (lc->count_flows && (why == SL_LB_FLOW || why == SL_LB_NON_IP))
        hll_add(lc, (unsigned)w, hll_code(sl_lb_last_hash(lc->lb)));
    /* A first fragment makes the fragments held for it ready. They arrived
     * before it, so they leave before it too: the worker then sees the
     * datagram's pieces in their original order, and its reassembly completes
     * on the same packet (same ts) as a single box's would. */
    if (unlikely(lc->st->held > 0) && first_fragment(&lc->pkt))
        release_held(lc, lc->now_ns);
    emit(lc, w, m);
}

/* The short path: plain TCP/UDP over IPv4 or IPv6, behind VLAN tags and
 * MPLS labels or inside one GRE, IP-in-IP, VXLAN, GENEVE or GTP-U tunnel
 * (sl_pkt_fast_tuple), most of any traffic, skips the full decode: the
 * decoder would report nothing for these frames, and sl_lb would pick by
 * this very hash (test_lb checks both on every test frame). Sets *h. */
static inline bool short_path(const struct fe_lcore *lc, const struct rte_mbuf *m, uint64_t *h)
{
    struct sl_pkt_tuple t;
    if (likely(m->nb_segs == 1) &&
        sl_pkt_fast_tuple(rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, lc->inner, &t)) {
        *h = sl_hash_tuple(&t, lc->hash);
        return true;
    }
    return false;
}

static inline void dispatch(struct fe_lcore *lc, struct rte_mbuf *m, uint64_t ts_ns,
                            struct fe_in_stats *is)
{
    uint64_t h;
    if (short_path(lc, m, &h))
        emit_flow(lc, m, sl_rdv_table_slot(lc->rdv_table, h), hll_code_floored(lc, h));
    else
        dispatch_general(lc, m, ts_ns, is);
}

/* ---- input ----------------------------------------------------------------- */

static uint64_t fallback_ts(struct fe_app *app, struct rte_mbuf *m, uint64_t tsc)
{
    if (ts_dynfield_off >= 0 && (m->ol_flags & ts_dynflag))
        return *RTE_MBUF_DYNFIELD(m, ts_dynfield_off, rte_mbuf_timestamp_t *) * 1000u;
    return fe_tsc_to_ns(app, tsc);
}

static inline void stamp(struct fe_lcore *lc, struct fe_rxq *rq, struct rte_mbuf *m,
                         struct fe_meta *meta, uint64_t live_ns)
{
    struct fe_app *app = lc->app;
    struct fe_input *in = &app->inputs[rq->input];
    meta->input = (uint16_t)rq->input;
    meta->wire_len = rte_pktmbuf_pkt_len(m);
    meta->ts_ns = live_ns;
    if (in->pcapr == NULL)
        return;
    uint64_t lost = 0;
    if (fe_pcapr_next(in->pcapr, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len,
                      rte_pktmbuf_pkt_len(m), &meta->ts_ns, &meta->wire_len, &lost) < 0) {
        meta->ts_ns = fallback_ts(app, m, rte_rdtsc());
        return;
    }
    if (unlikely(lost))
        FE_ADD(lc->st->in[rq->input].lost, lost);
}

static void take_snapshot(struct fe_lcore *lc, uint64_t req)
{
    struct fe_app *app = lc->app;
    memcpy(lc->snap, lc->st, sizeof(*lc->snap));
    for (unsigned e = 0; e < app->n_egress; e++) {
        struct fe_shaper *sh = app->egress[e].shaper;
        lc->snap->e[e].queued = sh ? fe_shaper_queued(sh) : 0;
    }
    __atomic_store_n(&lc->snap_done, req, __ATOMIC_RELEASE);
}

static inline void maybe_snapshot(struct fe_lcore *lc)
{
    uint64_t req = __atomic_load_n(&lc->snap_req, __ATOMIC_ACQUIRE);
    if (unlikely(req != lc->snap_done))
        take_snapshot(lc, req);
}

/* --pace: hold frame time ts until its place on the wall clock. */
static void pace_wait(struct fe_lcore *lc, uint64_t ts)
{
    struct fe_app *app = lc->app;
    uint64_t rel = ts > app->t0_ns ? ts - app->t0_ns : 0;
    uint64_t due = app->start_tsc + (uint64_t)((double)rel / app->conf->pace * app->tsc_per_ns);
    uint64_t now = rte_rdtsc();
    if (now >= due)
        return;
    flush_dirty(lc); /* what is due already goes out now, not after the wait */
    while ((now = rte_rdtsc()) < due && !__atomic_load_n(&app->stop, __ATOMIC_RELAXED)) {
        maybe_snapshot(lc);                 /* every frame so far is accounted for */
        if (due - now > app->tsc_hz / 5000) /* > 200 us: sleep, other work shares the core */
            rte_delay_us_sleep(100);
        else
            rte_pause();
    }
}

/* --pace: one frame at a time, each held until its due time. */
static void rx_burst_paced(struct fe_lcore *lc, struct fe_rxq *rq, struct rte_mbuf **rx, unsigned n,
                           uint64_t live_ns)
{
    struct fe_in_stats *is = &lc->st->in[rq->input];
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        struct fe_meta *meta = fe_meta(m);
        stamp(lc, rq, m, meta, live_ns);
        pace_wait(lc, meta->ts_ns);
        if (meta->ts_ns > lc->now_ns)
            lc->now_ns = meta->ts_ns;
        FE_ADD(is->pkts, 1);
        FE_ADD(is->bytes, rte_pktmbuf_pkt_len(m));
        dispatch(lc, m, meta->ts_ns, is);
    }
}

/* In two passes, so that the table loads of a whole burst are in flight
 * together: first hash the short-path frames, prefetching their table
 * entries (and the fragment-table buckets of plain fragments); then
 * dispatch all in order. net_pcap's copy (and a NIC's DMA) has pushed the
 * mbufs out of L1 by now, so their headers are prefetched first of all.
 * stamp_all is a constant at each call: a pcap's frames take their times
 * from it, in order, as does any frame whose metadata is read past the
 * short path; otherwise every frame's time is live_ns, and only the frames
 * off the short path (sl_lb and a held fragment read their time) are
 * stamped, at their turn. */
static __rte_always_inline void burst_two_pass(struct fe_lcore *lc, struct fe_rxq *rq,
                                               struct rte_mbuf **rx, unsigned n, uint64_t live_ns,
                                               const bool stamp_all)
{
    struct fe_in_stats *is = &lc->st->in[rq->input];
    const int meta_off = fe_meta_off; /* a local: the calls below would make it a reload */
    uint64_t h, ts[FE_MAX_BURST];
    const uint8_t *slot[FE_MAX_BURST];
    uint16_t hc[FE_MAX_BURST];
    bool fast[FE_MAX_BURST];
    for (unsigned i = 0; i < n; i++)
        rte_prefetch0(rx[i]);
    /* Input counters are added per burst: a snapshot is taken between loop
     * iterations, never inside this function. */
    uint64_t bytes = 0;
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        if (i + 2 < n)
            rte_prefetch0(rte_pktmbuf_mtod(rx[i + 2], void *));
        bytes += rte_pktmbuf_pkt_len(m);
        fast[i] = short_path(lc, m, &h);
        if (stamp_all) {
            struct fe_meta *meta = RTE_MBUF_DYNFIELD(m, meta_off, struct fe_meta *);
            stamp(lc, rq, m, meta, live_ns);
            ts[i] = meta->ts_ns;
        }
        if (fast[i]) {
            slot[i] = sl_rdv_table_slot(lc->rdv_table, h);
            rte_prefetch0(slot[i]);
            hc[i] = hll_code_floored(lc, h);
        } else {
            sl_lb_prefetch(lc->lb, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len);
        }
    }
    FE_ADD(is->pkts, n);
    FE_ADD(is->bytes, bytes);
    if (!stamp_all && live_ns > lc->now_ns)
        lc->now_ns = live_ns;
    for (unsigned i = 0; i < n; i++) {
        if (stamp_all && ts[i] > lc->now_ns)
            lc->now_ns = ts[i];
        if (fast[i]) {
            emit_flow(lc, rx[i], slot[i], hc[i]);
        } else if (stamp_all) {
            dispatch_general(lc, rx[i], ts[i], is);
        } else {
            stamp(lc, rq, rx[i], RTE_MBUF_DYNFIELD(rx[i], meta_off, struct fe_meta *), live_ns);
            dispatch_general(lc, rx[i], live_ns, is);
        }
    }
}

static void rx_burst_process(struct fe_lcore *lc, struct fe_rxq *rq, struct rte_mbuf **rx,
                             unsigned n, uint64_t tsc)
{
    struct fe_app *app = lc->app;
    uint64_t live_ns = fe_tsc_to_ns(app, tsc);
    if (unlikely(app->conf->pace > 0 && app->inputs[rq->input].pcapr != NULL))
        rx_burst_paced(lc, rq, rx, n, live_ns);
    else if (lc->meta_always || app->inputs[rq->input].pcapr != NULL)
        burst_two_pass(lc, rq, rx, n, live_ns, true);
    else
        burst_two_pass(lc, rq, rx, n, live_ns, false);
}

/* Whether a queue has delivered its whole pcap (see fwd.h). */
static void check_eof(struct fe_lcore *lc, struct fe_rxq *rq, uint64_t tsc)
{
    struct fe_app *app = lc->app;
    struct fe_input *in = &app->inputs[rq->input];
    if (in->pcapr == NULL)
        return;
    uint64_t total = fe_pcapr_total(in->pcapr), got = fe_pcapr_consumed(in->pcapr);
    if (fe_pcapr_aligned(in->pcapr) && got >= total) {
        rq->done = true;
        return;
    }
    if (tsc - rq->last_rx_tsc < FE_EOF_STALL_S * app->tsc_hz)
        return;
    fprintf(stderr,
            "frontend-dpdk: warning: %s queue %u delivered nothing for %d s with %llu of %llu "
            "records read; counting the rest lost\n",
            in->name, in->queue, FE_EOF_STALL_S, (unsigned long long)got,
            (unsigned long long)total);
    if (fe_pcapr_aligned(in->pcapr) && got < total)
        FE_ADD(lc->st->in[rq->input].lost, total - got);
    rq->done = true;
}

static void publish_lb_stats(struct fe_lcore *lc)
{
    struct sl_lb_stats s;
    struct sl_lb_stats *d = &lc->st->lb;
    sl_lb_stats(lc->lb, &s);
#define PUB(f) __atomic_store_n(&d->f, s.f, __ATOMIC_RELAXED)
    PUB(frag_inserted);
    PUB(frag_hits);
    PUB(frag_held);
    PUB(frag_released);
    PUB(frag_orphans);
    PUB(frag_evicted);
    PUB(frag_expired);
    PUB(icmp_steered);
    PUB(frag_held_orphaned);
    PUB(held_now);
#undef PUB
}

/* The clock shapers drain by when no frame arrives. In pcap time it stands
 * still between frames, at any --pace: shaping decisions then depend on the
 * pcap alone (a queued frame leaves when the next frame comes, or at the end). */
static uint64_t idle_clock(struct fe_lcore *lc, uint64_t tsc)
{
    struct fe_app *app = lc->app;
    if (!app->pcap_time)
        return fe_tsc_to_ns(app, tsc);
    return lc->now_ns;
}

static void drain_all(struct fe_lcore *lc)
{
    release_held(lc, UINT64_MAX);
    flush_dirty(lc);
    shapers_flush_all(lc);
    publish_lb_stats(lc);
}

int fe_fwd_main(void *arg)
{
    struct fe_lcore *lc = arg;
    struct fe_app *app = lc->app;
    struct rte_mbuf *rx[FE_MAX_BURST];
    const uint16_t burst = (uint16_t)app->conf->burst;
    lc->meta_always = app->pcapw != NULL; /* the egress links are set up by now */
    for (unsigned e = 0; e < app->n_egress; e++)
        lc->meta_always |= app->egress[e].shaper != NULL || app->egress[e].kernel;
    /* and so is each worker's egress link: its route here */
    for (unsigned w = 0; w < app->n_workers; w++) {
        lc->route[w].b = &lc->txb[app->worker_egress[w]];
        memcpy(lc->route[w].mac, app->mac[w], RTE_ETHER_ADDR_LEN);
        lc->route[w].e = (uint16_t)app->worker_egress[w];
    }
    lc->burst = app->conf->burst;
    uint64_t bursts = 0;
    uint64_t tsc = rte_rdtsc();
    for (unsigned r = 0; r < lc->n_rxq; r++)
        lc->rxq[r].last_rx_tsc = tsc;

    while (!__atomic_load_n(&app->stop, __ATOMIC_RELAXED)) {
        bool any = false, open = false;
        fe_workers_sync(app, &lc->rdv, lc->rdv_table, &lc->rdv_gen);
        tsc = rte_rdtsc();
        for (unsigned r = 0; r < lc->n_rxq; r++) {
            struct fe_rxq *rq = &lc->rxq[r];
            if (rq->done)
                continue;
            open = true;
            const struct fe_input *in = &app->inputs[rq->input];
            uint16_t n = rte_eth_rx_burst(in->port, in->queue, rx, burst);
            if (n == 0) {
                check_eof(lc, rq, tsc);
                continue;
            }
            any = true;
            rq->last_rx_tsc = tsc;
            rx_burst_process(lc, rq, rx, n, tsc);
        }
        flush_dirty(lc);
        if (lc->st->held > 0)
            release_held(lc, any ? lc->now_ns : idle_clock(lc, tsc));
        if (++bursts % LB_STATS_EVERY == 0)
            publish_lb_stats(lc);
        if (!any) {
            if (!open)
                break;
            idle_drain(lc, idle_clock(lc, tsc));
            FE_ADD(lc->st->idle_polls, 1);
            rte_pause();
        }
        maybe_snapshot(lc);
    }
    drain_all(lc);
    FE_ADD(lc->st->bursts, bursts);
    __atomic_store_n(&lc->finished, 1, __ATOMIC_RELEASE);
    return 0;
}

/* ---- setup ------------------------------------------------------------------ */

static struct fe_lcore *lcore_new(struct fe_app *app, unsigned idx, unsigned lcore_id, char *err,
                                  size_t errlen)
{
    int socket = (int)rte_lcore_to_socket_id(lcore_id);
    struct fe_lcore *lc = rte_zmalloc_socket("fe_lcore", sizeof(*lc), RTE_CACHE_LINE_SIZE, socket);
    if (lc == NULL)
        goto nomem;
    lc->app = app;
    lc->idx = idx;
    lc->lcore_id = lcore_id;
    lc->st = rte_zmalloc_socket("fe_stats", sizeof(*lc->st), RTE_CACHE_LINE_SIZE, socket);
    lc->txb =
        rte_zmalloc_socket("fe_txb", sizeof(*lc->txb) * app->n_egress, RTE_CACHE_LINE_SIZE, socket);
    lc->hll = rte_zmalloc_socket("fe_hll", (size_t)app->n_workers << FE_HLL_BITS,
                                 RTE_CACHE_LINE_SIZE, socket);
    lc->route = rte_zmalloc_socket("fe_route", sizeof(*lc->route) * app->n_workers,
                                   RTE_CACHE_LINE_SIZE, socket);
    lc->scratch = rte_malloc_socket("fe_scratch", FE_SCRATCH, RTE_CACHE_LINE_SIZE, socket);
    lc->snap = rte_zmalloc_socket("fe_snap", sizeof(*lc->snap), RTE_CACHE_LINE_SIZE, socket);
    lc->rdv_table =
        rte_zmalloc_socket("fe_rdv_table", app->rdv_table_size, RTE_CACHE_LINE_SIZE, socket);
    if (!lc->st || !lc->txb || !lc->hll || !lc->route || !lc->scratch || !lc->snap ||
        !lc->rdv_table)
        goto nomem;
    fe_workers_sync(app, &lc->rdv, lc->rdv_table, &lc->rdv_gen);
    for (unsigned w = 0; w < app->n_workers; w++)
        lc->hll_at_min[w] = 1u << FE_HLL_BITS; /* all registers zero */
    struct sl_lb_conf lbc = {
        .mode = app->conf->hash,
        .frag_timeout_ns = app->conf->frag_timeout_ns,
        .hold_ns = app->conf->frag_hold_ns,
        .max_held = app->conf->max_held,
    };
    lc->lb = sl_lb_new(&lbc, &lc->rdv);
    if (lc->lb == NULL)
        goto nomem;
    sl_lb_set_table(lc->lb, lc->rdv_table);
    lc->inner = sl_hash_mode_inner(app->conf->hash);
    lc->count_flows = app->conf->count_flows;
    lc->hll_floor = lc->count_flows ? 0 : UINT8_MAX;
    lc->hash = app->conf->hash;
    for (unsigned p = 0; p < FE_MAX_PORTS; p++)
        lc->txq[p] = app->port_ntxq[p] ? (uint16_t)(idx % app->port_ntxq[p]) : 0;
    return lc;
nomem:
    snprintf(err, errlen, "out of memory setting up lcore %u (give EAL more memory: -m MB)",
             lcore_id);
    if (lc != NULL) {
        rte_free(lc->st);
        rte_free(lc->txb);
        rte_free(lc->hll);
        rte_free(lc->route);
        rte_free(lc->scratch);
        rte_free(lc->snap);
        rte_free(lc->rdv_table);
        rte_free(lc);
    }
    return NULL;
}

int fe_fwd_setup(struct fe_app *app, char *err, size_t errlen)
{
    unsigned lcore_id, idx = 0;
    lookup_rx_timestamp();
    RTE_LCORE_FOREACH_WORKER(lcore_id)
    {
        if (idx >= FE_MAX_LCORES)
            break;
        struct fe_lcore *lc = lcore_new(app, idx, lcore_id, err, errlen);
        if (lc == NULL)
            return -ENOMEM;
        app->fwd[idx++] = lc;
    }
    for (unsigned i = 0; i < app->n_inputs; i++) {
        struct fe_lcore *lc = app->fwd[app->inputs[i].lcore];
        lc->rxq[lc->n_rxq++].input = i;
    }
    for (unsigned j = 0; j < app->n_egress; j++) {
        struct fe_egress *eg = &app->egress[j];
        if (eg->port >= 0) {
            eg->n_txq = app->port_ntxq[eg->port];
            eg->txq_shared = eg->n_txq < app->n_fwd;
        }
    }
    return 0;
}

void fe_fwd_free(struct fe_app *app)
{
    for (unsigned i = 0; i < app->n_fwd; i++) {
        struct fe_lcore *lc = app->fwd[i];
        if (lc == NULL)
            continue;
        sl_lb_free(lc->lb);
        rte_free(lc->st);
        rte_free(lc->txb);
        rte_free(lc->hll);
        rte_free(lc->route);
        rte_free(lc->scratch);
        rte_free(lc->snap);
        rte_free(lc->rdv_table);
        rte_free(lc);
        app->fwd[i] = NULL;
    }
}
