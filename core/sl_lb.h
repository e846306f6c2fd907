/* sl_lb: the balancer's decision for one decoded frame, shared by
 * frontend-dpdk (per lcore) and the cluster's flow splitter.
 *
 * hash (sl_flow) + rendezvous pick (sl_rdv) + the two things a plain hash
 * gets wrong:
 *  - IP fragments: a first fragment's worker is remembered under
 *    (src, dst, proto, IP id) for `frag_timeout_ns`; later fragments look it
 *    up. A fragment seen before its first fragment (out-of-order arrival) is
 *    HELD: the caller keeps the frame and its cookie; when the first fragment
 *    arrives the held frames are released to the same worker, so the whole
 *    datagram lands with its flow. A held frame whose first fragment does not
 *    come within `hold_ns` (packet time) is released by the 3-tuple hash of
 *    its layer and counted as an orphan. Held frames are bounded
 *    (`max_held`); past that a fragment is released at once as an orphan.
 *  - ICMP/ICMPv6 errors go to the worker of the flow they quote.
 * Non-IP frames go by the MAC pair.
 *
 * Which layer: the mode's (outermost, or innermost for inner-*). Fragments
 * are tracked on every fragmented layer at or above it, so in inner modes a
 * tunnel whose outer packets are fragmented (the non-first pieces carry no
 * inner header) still stays together: the outer first fragment's worker,
 * chosen by the inner flow, is remembered under the outer (src, dst, proto,
 * id). A first fragment carries the ports, so it goes exactly where the
 * unfragmented packets of its flow go. In sym3 and sym2 a fragment's own hash
 * already equals its flow's, so those two modes keep no table.
 *
 * An ICMP/ICMPv6 error (at the hashed layer) is hashed on the flow it quotes;
 * the hashes are symmetric, so the quote's direction does not matter.
 *
 * One sl_lb per thread: nothing here is locked.
 */
#ifndef SL_LB_H
#define SL_LB_H

#include <stdint.h>

#include "sl_flow.h"
#include "sl_pkt.h"
#include "sl_rdv.h"

struct sl_lb;

/* Why a frame went where it went (for counters). */
enum sl_lb_reason {
    SL_LB_FLOW = 0,      /* by its flow hash */
    SL_LB_NON_IP,        /* by MAC pair */
    SL_LB_FRAG_HIT,      /* later fragment, found in the fragment table */
    SL_LB_FRAG_ORPHAN,   /* fragment before its first fragment (3-tuple, remembered) */
    SL_LB_ICMP_ERR,      /* ICMP error steered to the quoted flow's worker */
    SL_LB_FRAG_HELD,     /* out-of-order fragment, held until its first fragment */
    SL_LB_FRAG_RELEASED, /* held fragment released to its first fragment's worker */
    SL_LB_NO_WORKER,     /* no live worker: the caller drops and counts it */
    SL_LB_REASON_MAX
};

struct sl_lb_conf {
    enum sl_hash_mode mode;
    unsigned frag_slots;      /* fragment table capacity (power of two), default 65536 */
    uint64_t frag_timeout_ns; /* how long a first fragment's choice is kept, default 5 min */
    uint64_t hold_ns;         /* how long an early fragment waits, default 100 ms */
    unsigned max_held;        /* early fragments held at most, default 4096 */
};

/* rdv is read (not copied) at every pick, so liveness changes made to it
 * take effect at once. Zero fields of conf take the defaults. Returns NULL
 * with errno set on failure. */
struct sl_lb *sl_lb_new(const struct sl_lb_conf *conf, const struct sl_rdv *rdv);
void sl_lb_free(struct sl_lb *lb);

/* From now on picks read t (NULL: compute over rdv again). t must be built
 * from rdv (sl_rdv_table_build) after every change to rdv; the choices are
 * the same, one load each. */
void sl_lb_set_table(struct sl_lb *lb, const struct sl_rdv_table *t);

#define SL_LB_HELD (-2)

/* Worker for decoded frame p seen at packet time now_ns; -1 when no worker
 * is live; SL_LB_HELD when the frame is an early fragment that the caller
 * must keep (it comes back through sl_lb_release with `cookie`).
 * *why (may be NULL) says how it was chosen. */
int sl_lb_pick(struct sl_lb *lb, const struct sl_pkt *p, uint64_t now_ns, void *cookie,
               enum sl_lb_reason *why);

/* A hint for a frame that sl_lb_pick will see soon: when the frame is an
 * IPv4 fragment, or an IPv6 one whose first extension header is the
 * fragment header, straight after its Ethernet header, the fragment-table
 * bucket its pick reads is prefetched, so that the table misses of a
 * burst's fragments overlap instead of following one another. Reads at
 * most len bytes of frame; anything else is left alone. Returns the bucket
 * prefetched, or -1 for none: for a frame that decodes without a weird,
 * what sl_lb_frag_bucket says of it, or -1. */
long sl_lb_prefetch(const struct sl_lb *lb, const uint8_t *frame, uint32_t len);

/* The fragment-table bucket sl_lb_pick reads for decoded frame p, -1 when
 * it reads none (not a fragment at the hashed layer, or no table). */
long sl_lb_frag_bucket(const struct sl_lb *lb, const struct sl_pkt *p);

/* The worker of a plain flow with hash h: what sl_lb_pick returns (reason
 * SL_LB_FLOW) for an IP frame that is neither a fragment nor an ICMP error,
 * e.g. one sl_pkt_fast_tuple() accepted, hashed with sl_hash_tuple(). Such frames
 * never touch the fragment table. -1 when no worker is live. */
int sl_lb_pick_flow(struct sl_lb *lb, uint64_t h);

/* The hash the last sl_lb_pick chose its worker by (undefined before the
 * first pick and after SL_LB_HELD): for SL_LB_FLOW and SL_LB_NON_IP it is
 * sl_hash_pkt(p, mode) of that frame, so a caller that also needs the flow
 * hash (frontend-dpdk's distinct-flow count) need not compute it again. */
uint64_t sl_lb_last_hash(const struct sl_lb *lb);

struct sl_lb_released {
    void *cookie;
    int worker;            /* -1 when no worker is live */
    enum sl_lb_reason why; /* SL_LB_FRAG_RELEASED or SL_LB_FRAG_ORPHAN */
};

/* Hands back up to `max` held frames whose worker is now known (their first
 * fragment came, or they waited past hold_ns at now_ns), in the order they
 * became known, arrival order within a datagram. Call it after each burst of
 * picks (a first fragment makes its held frames ready) and at least every
 * hold_ns of packet time. With now_ns == UINT64_MAX everything held is
 * released (end of input). Returns how many. */
unsigned sl_lb_release(struct sl_lb *lb, uint64_t now_ns, struct sl_lb_released *out, unsigned max);

/* Fragment table counters.
 *   frag_inserted  first fragments remembered
 *   frag_hits      later fragments that found their first fragment's choice
 *   frag_held      early fragments held (SL_LB_HELD)
 *   frag_released  held fragments released to their first fragment's worker
 *   frag_orphans   fragments sent by their own 3-tuple: held ones released
 *                  late (frag_held_orphaned) plus those sent at once (pool
 *                  full, or their datagram already orphaned)
 *   frag_evicted   table entries pushed out by a colliding datagram
 *   frag_expired   table entries found past frag_timeout_ns
 *   held_now       held frames not yet handed back by sl_lb_release
 * frag_held == frag_released + frag_held_orphaned + held_now, always. */
struct sl_lb_stats {
    uint64_t frag_inserted, frag_hits, frag_held, frag_released, frag_orphans, frag_evicted,
        frag_expired, icmp_steered;
    uint64_t frag_held_orphaned, held_now;
};
void sl_lb_stats(const struct sl_lb *lb, struct sl_lb_stats *st);

#endif
